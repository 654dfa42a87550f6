/* record.c -- the host record and the batches records travel in.
 *
 * A host record is written straight into a batch's text, never through a
 * JSON tree: the core writes its head (hf_record_host_head, below: type,
 * time, id, address and window, up to and including "stats":{), the
 * analyses' fragments follow (worker.c stitches them in, each under its
 * name), then "}}".  While writing the head the core notes where the id
 * lies, so an output finds the key of every record without searching. */
#include "engine/record.h"

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

void hf_record_host_head(hf_record_batch *rb, const hf_window *win, const hf_host *h)
{
    hf_buf *b = &rb->text;
    hf_record_begin(rb, HF_RECORD_STATS, win->start_ms);
    char addr[HF_ADDR_STRLEN], ts[32];
    size_t alen = hf_addr_format(h->addr, h->v6 ? HF_AF_INET6 : HF_AF_INET, addr);
    hf_time_format_iso(win->start_ms, ts);
    hf_buf_puts(b, "{\"@type\":\"host_stats\",\"@timestamp\":\"");
    hf_buf_puts(b, ts);
    hf_buf_puts(b, "\",\"id\":\"");
    size_t key = b->len;
    hf_buf_put(b, addr, alen);
    hf_buf_putc(b, '/');
    hf_buf_put_int(b, win->g_ms / 1000);
    hf_buf_putc(b, '/');
    hf_buf_put_int(b, win->start_ms);
    hf_record_key(rb, key, b->len - key);
    hf_buf_puts(b, "\",\"src_ip\":\"");
    hf_buf_put(b, addr, alen);
    hf_buf_puts(b, "\",\"window\":{\"start_ms\":");
    hf_buf_put_int(b, win->start_ms);
    hf_buf_puts(b, ",\"end_ms\":");
    hf_buf_put_int(b, win->start_ms + win->g_ms);
    hf_buf_puts(b, ",\"granularity_s\":");
    hf_buf_put_int(b, win->g_ms / 1000);
    hf_buf_puts(b, "},\"stats\":{");
}

