/* record.c -- the host record and the batches records travel in.
 *
 * A host record is written straight into a batch's text, never through a
 * JSON tree: the core writes its head (hf_record_host_head, below: type,
 * time, id, address and window, up to and including "stats":{), the
 * analyses' fragments follow (worker.c stitches them in, each under its
 * name), then "}}".  While writing the head the core notes where the id
 * lies, so an output finds the key of every record without searching.
 *
 * A window's records are written one after the other, and all of a head
 * but the host's address is the same for the whole window, so that text is
 * made once per window (hf_record_head) in three pieces around the address:
 *
 *   {"@type":"host_stats","@timestamp":"2026-11-26T14:00:10.000Z","id":"   pre
 *   192.0.2.10                                                          the address
 *   /10/1764165610000","src_ip":"                                        mid (the id's end first)
 *   192.0.2.10                                                          the address again
 *   ","window":{"start_ms":...,"end_ms":...,"granularity_s":10},"stats":{  win
 *
 * and a head is three copies of whole pieces (fixed sizes, so each is a few
 * vector moves; the room reserved covers them) and two of the address. */
#include "engine/record.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/addr.h"
#include "base/alloc.h"
#include "base/timefmt.h"
#include "engine/window.h"
#include "stream/flow.h"

const char *hf_record_type_name(int type)
{
    static const char *const names[HF_RECORD_TYPES] = {"host_stats", "host_alert", "host_profile",
                                                         "flow", "partial", "progress"};
    return type >= 0 && type < HF_RECORD_TYPES ? names[type] : "unknown";
}

/* ------------------------------------------------------------------------
 * Batches
 * --------------------------------------------------------------------- */

void hf_record_batch_init(hf_record_batch *b)
{
    memset(b, 0, sizeof *b);
    hf_buf_init(&b->text, 1 << 16);
}

void hf_record_batch_release(hf_record_batch *b)
{
    hf_buf_release(&b->text);
    hf_free(b->recs);
    memset(b, 0, sizeof *b);
}

void hf_record_batch_reset(hf_record_batch *b)
{
    b->text.len = 0;
    b->n = 0;
}

void hf_record_batch_view(const hf_record_batch *b, hf_records *out)
{
    out->text = b->text.data;
    out->len = b->text.len;
    out->recs = b->recs;
    out->n = b->n;
}

void hf_record_begin(hf_record_batch *b, int type, int64_t time_ms)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 1024;
        b->recs = hf_realloc(b->recs, sizeof *b->recs * b->cap);
    }
    hf_record *r = &b->recs[b->n];
    memset(r, 0, sizeof *r);
    r->off = (uint32_t)b->text.len;
    r->type = (uint8_t)type;
    r->time_ms = time_ms;
}

void hf_record_key(hf_record_batch *b, size_t off, size_t len)
{
    hf_record *r = &b->recs[b->n];
    r->key_off = (uint32_t)off;
    r->key_len = (uint16_t)len;
}

void hf_record_end(hf_record_batch *b)
{
    hf_record *r = &b->recs[b->n++];
    r->len = (uint32_t)(b->text.len - r->off);
    hf_buf_putc(&b->text, '\n');
}

void hf_record_cancel(hf_record_batch *b)
{
    b->text.len = b->recs[b->n].off;
}

/* ------------------------------------------------------------------------
 * The host record
 * --------------------------------------------------------------------- */

/* Make the window's pieces of the head (once per window: snprintf is fine
 * here).  The numbers are those hf_buf_put_int writes: plain decimals. */
static void head_make(hf_record_head *hd, const hf_window *win)
{
    char ts[32];
    int64_t g_s = win->g_ms / 1000;
    hf_time_format_iso(win->start_ms, ts);
    int n = snprintf(hd->pre, sizeof hd->pre, "{\"@type\":\"host_stats\",\"@timestamp\":\"%s\",\"id\":\"", ts);
    hd->pre_len = (uint8_t)n;
    n = snprintf(hd->mid, sizeof hd->mid, "/%" PRId64 "/%" PRId64, g_s, win->start_ms);
    hd->key_len = (uint8_t)n;
    n += snprintf(hd->mid + n, sizeof hd->mid - (size_t)n, "\",\"src_ip\":\"");
    hd->mid_len = (uint8_t)n;
    n = snprintf(hd->win, sizeof hd->win,
                 "\",\"window\":{\"start_ms\":%" PRId64 ",\"end_ms\":%" PRId64
                 ",\"granularity_s\":%" PRId64 "},\"stats\":{",
                 win->start_ms, win->start_ms + win->g_ms, g_s);
    hd->win_len = (uint8_t)n;
    hd->start_ms = win->start_ms;
    hd->g_ms = win->g_ms;
}

/* The head, its last `stop` bytes of the window's piece left out. */
static void head_write(hf_record_batch *rb, const hf_window *win, const hf_host *h, size_t stop)
{
    hf_record_head *hd = &rb->head;
    if (hd->start_ms != win->start_ms || hd->g_ms != win->g_ms) head_make(hd, win);
    hf_record_begin(rb, HF_RECORD_STATS, win->start_ms);
    char addr[HF_ADDR_STRLEN];
    size_t alen = hf_addr_format(h->addr, h->v6 ? HF_AF_INET6 : HF_AF_INET, addr);
    hf_buf *b = &rb->text;
    char *o = hf_buf_room(b, sizeof hd->pre + sizeof addr + sizeof hd->mid + sizeof addr +
                             sizeof hd->win);
    char *start = o;
    memcpy(o, hd->pre, sizeof hd->pre);
    o += hd->pre_len;
    size_t key = b->len + (size_t)(o - start);
    memcpy(o, addr, sizeof addr);
    o += alen;
    memcpy(o, hd->mid, sizeof hd->mid);
    o += hd->mid_len;
    memcpy(o, addr, sizeof addr);
    o += alen;
    memcpy(o, hd->win, sizeof hd->win);
    o += hd->win_len - stop;
    hf_record_key(rb, key, alen + hd->key_len);
    b->len += (size_t)(o - start);
}

void hf_record_host_head(hf_record_batch *rb, const hf_window *win, const hf_host *h)
{
    head_write(rb, win, h, 0);
}

void hf_record_host_begin(hf_record_batch *rb, const hf_window *win, const hf_host *h)
{
    head_write(rb, win, h, sizeof HF_RECORD_STATS_OPEN - 1);     /* up to "window":{...}, */
}
