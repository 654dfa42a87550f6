/* alerts.c -- open alerts: a ring in opening order, indexed by host (see
 * alerts.h for what is raised when).
 *
 *   ring   [ e0 | e1 | e2 | ... ]     entries in the order they were opened;
 *            ^head                    the oldest leaves first (expiry, or
 *                                     eviction when the ring is full)
 *   table  slot = ring index + 1      open addressing on the hash of the
 *                                     address alone, linear probing, so the
 *                                     entries of one host (one per rule)
 *                                     lie in one probe run; deletion shifts
 *                                     the run back (no tombstones)
 *
 * An entry whose hold has passed is closed: a raise of its (host, rule)
 * opens it again in place, as a new alert.  Rule names are interned into
 * a small table per worker (an entry holds one byte). */
#include "engine/alerts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/addr.h"
#include "base/alloc.h"
#include "base/hash.h"
#include "base/timefmt.h"
#include "stream/flow.h"

typedef struct entry {
    uint8_t  addr[16];
    uint8_t  v6;
    uint8_t  rule;          /* index into rules */
    uint16_t pad;
    uint32_t updates;       /* update records written */
    int64_t  first_ms;      /* start of the window it opened in: its id */
    int64_t  g_ms;          /* that window's granularity */
    int64_t  until_ms;      /* open for windows starting before this */
    double   reported;      /* observed, as last written */
} entry;

struct hf_alerts {
    int64_t        hold_ms, linger_ms;
    uint32_t       cap;     /* max_open */
    entry         *ring;    /* cap entries, made at the first raise */
    uint32_t       head, count;
    uint32_t      *table;
    uint32_t       mask;
    char           rules[HF_ALERT_RULES][HF_ALERT_RULE_MAX];
    int            nrules;
    hf_alert_stats st;
};

/* ------------------------------------------------------------------------
 * API
 * --------------------------------------------------------------------- */

hf_alerts *hf_alerts_new(int64_t hold_ms, uint32_t max_open, int64_t linger_ms)
{
    hf_alerts *a = hf_calloc(1, sizeof *a);
    a->hold_ms = hold_ms > 0 ? hold_ms : 0;
    a->linger_ms = linger_ms > 0 ? linger_ms : 0;
    a->cap = max_open ? max_open : 1;
    return a;
}

void hf_alerts_free(hf_alerts *a)
{
    if (!a) return;
    hf_free(a->ring);
    hf_free(a->table);
    hf_free(a);
}

int hf_alerts_rule_ok(const char *rule, size_t len)
{
    if (!rule || len == 0 || len >= HF_ALERT_RULE_MAX) return 0;
    if (!((rule[0] >= 'a' && rule[0] <= 'z') || (rule[0] >= 'A' && rule[0] <= 'Z'))) return 0;
    for (size_t i = 1; i < len; i++) {
        char c = rule[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

int hf_alerts_any(const hf_alerts *a)
{
    return a->count > 0;
}

void hf_alerts_stats(const hf_alerts *a, hf_alert_stats *st)
{
    *st = a->st;
    st->open = a->count;
}

/* ------------------------------------------------------------------------
 * Internals: rules, the table, the ring
 * --------------------------------------------------------------------- */

/* The index of a rule name, interned on first use; -1 when it is not a
 * valid name or the table is full. */
static int rule_index(hf_alerts *a, const char *rule, size_t len)
{
    for (int i = 0; i < a->nrules; i++)
        if (strncmp(a->rules[i], rule, len) == 0 && a->rules[i][len] == '\0') return i;
    if (!hf_alerts_rule_ok(rule, len) || a->nrules == HF_ALERT_RULES) return -1;
    memcpy(a->rules[a->nrules], rule, len);
    a->rules[a->nrules][len] = '\0';
    return a->nrules++;
}

static int rule_find(const hf_alerts *a, const char *rule, size_t len)
{
    for (int i = 0; i < a->nrules; i++)
        if (strncmp(a->rules[i], rule, len) == 0 && a->rules[i][len] == '\0') return i;
    return -1;
}

static uint32_t home(const hf_alerts *a, const uint8_t addr[16])
{
    return (uint32_t)hf_hash_addr(addr) & a->mask;
}

/* The ring and a table of at least twice its size (load <= 1/2). */
static void make_room(hf_alerts *a)
{
    uint32_t size = 16;
    while (size < 2 * (uint64_t)a->cap) size *= 2;
    a->ring = hf_calloc(a->cap, sizeof *a->ring);
    a->table = hf_calloc(size, sizeof *a->table);
    a->mask = size - 1;
}

/* The entry of (addr, rule), or NULL. */
static entry *find(const hf_alerts *a, const uint8_t addr[16], int rule)
{
    if (!a->table) return NULL;
    for (uint32_t j = home(a, addr); a->table[j]; j = (j + 1) & a->mask) {
        entry *e = &a->ring[a->table[j] - 1];
        if (e->rule == rule && memcmp(e->addr, addr, 16) == 0) return e;
    }
    return NULL;
}

/* Remove ring entry k from the table, shifting its probe run back. */
static void table_delete(hf_alerts *a, uint32_t k)
{
    uint32_t i = home(a, a->ring[k].addr);
    while (a->table[i] != k + 1) i = (i + 1) & a->mask;
    a->table[i] = 0;
    for (uint32_t j = (i + 1) & a->mask; a->table[j]; j = (j + 1) & a->mask) {
        uint32_t h = home(a, a->ring[a->table[j] - 1].addr);
        /* the entry at j may move to the hole at i unless its home lies
         * cyclically in (i, j] */
        int stays = i <= j ? (h > i && h <= j) : (h > i || h <= j);
        if (!stays) {
            a->table[i] = a->table[j];
            a->table[j] = 0;
            i = j;
        }
    }
}

static void pop_head(hf_alerts *a)
{
    table_delete(a, a->head);
    a->head = (a->head + 1) % a->cap;
    a->count--;
}

/* A new entry at the ring's tail (the oldest is evicted when it is full),
 * in the table. */
static entry *push(hf_alerts *a, const uint8_t addr[16], int rule, int64_t now_ms)
{
    if (!a->ring) make_room(a);
    if (a->count == a->cap) {
        if (a->ring[a->head].until_ms > now_ms) a->st.evicted++;
        pop_head(a);
    }
    uint32_t k = (a->head + a->count) % a->cap;
    a->count++;
    entry *e = &a->ring[k];
    memset(e, 0, sizeof *e);
    memcpy(e->addr, addr, 16);
    e->rule = (uint8_t)rule;
    uint32_t j = home(a, addr);
    while (a->table[j]) j = (j + 1) & a->mask;
    a->table[j] = k + 1;
    return e;
}

/* The span of windows an entry flags: its hold, and at least its own
 * window (a hold of 0 still flags the window that raised it). */
static int64_t span_end(const entry *e)
{
    return e->until_ms > e->first_ms + e->g_ms ? e->until_ms : e->first_ms + e->g_ms;
}

void hf_alerts_expire(hf_alerts *a, int64_t now_ms)
{
    while (a->count && span_end(&a->ring[a->head]) + a->linger_ms <= now_ms) pop_head(a);
}

/* ------------------------------------------------------------------------
 * Records
 * --------------------------------------------------------------------- */

/* The host_alert record of entry e, raised as in. */
static void write_record(hf_alerts *a, const entry *e, const hf_alert *in, double increment,
                         hf_record_batch *rb)
{
    hf_buf *b = &rb->text;
    char addr[HF_ADDR_STRLEN], ts[32];
    size_t alen = hf_addr_format(e->addr, e->v6 ? HF_AF_INET6 : HF_AF_INET, addr);
    const char *rule = a->rules[e->rule];
    hf_record_begin(rb, HF_RECORD_ALERT, e->first_ms);
    hf_time_format_iso(e->first_ms, ts);
    hf_buf_puts(b, "{\"@type\":\"host_alert\",\"@timestamp\":\"");
    hf_buf_puts(b, ts);
    hf_buf_puts(b, "\",\"id\":\"");
    size_t key = b->len;
    hf_buf_put(b, addr, alen);
    hf_buf_putc(b, '/');
    hf_buf_puts(b, rule);
    hf_buf_putc(b, '/');
    hf_buf_put_int(b, e->first_ms);
    hf_record_key(rb, key, b->len - key);
    hf_buf_puts(b, "\",\"src_ip\":\"");
    hf_buf_put(b, addr, alen);
    hf_buf_puts(b, "\",\"rule\":\"");
    hf_buf_puts(b, rule);
    hf_buf_puts(b, "\",\"window\":{\"start_ms\":");
    hf_buf_put_int(b, in->start_ms);
    hf_buf_puts(b, ",\"end_ms\":");
    hf_buf_put_int(b, in->start_ms + in->g_ms);
    hf_buf_puts(b, ",\"granularity_s\":");
    hf_buf_put_int(b, in->g_ms / 1000);
    hf_buf_puts(b, "},\"observed\":");
    hf_buf_put_number(b, in->observed);
    hf_buf_puts(b, ",\"expected\":");
    hf_buf_put_number(b, in->expected);
    hf_buf_puts(b, ",\"score\":");
    hf_buf_put_number(b, in->score);
    hf_buf_puts(b, ",\"details\":");
    if (in->details && in->details_len) hf_buf_put(b, in->details, in->details_len);
    else hf_buf_puts(b, "{}");
    if (e->updates) {
        hf_buf_puts(b, ",\"update\":");
        hf_buf_put_int(b, e->updates);
        hf_buf_puts(b, ",\"increment\":");
        hf_buf_put_number(b, increment);
    }
    hf_buf_putc(b, '}');
    hf_record_end(rb);
}

int hf_alerts_raise(hf_alerts *a, const hf_alert *in, hf_record_batch *out)
{
    int rule = rule_index(a, in->rule, in->rule_len);
    if (rule < 0) return HF_ALERT_BAD;
    entry *e = find(a, in->addr, rule);
    if (e && in->start_ms < e->until_ms) {          /* open */
        if (!(in->observed > e->reported)) {
            a->st.held++;
            return HF_ALERT_HELD;
        }
        double increment = in->observed - e->reported;
        e->updates++;
        e->reported = in->observed;
        write_record(a, e, in, increment, out);
        a->st.updated++;
        return HF_ALERT_UPDATE;
    }
    if (!e) e = push(a, in->addr, rule, in->start_ms);   /* else: closed, opened again in place */
    e->v6 = in->v6 ? 1 : 0;
    e->first_ms = in->start_ms;
    e->g_ms = in->g_ms;
    e->until_ms = in->start_ms + a->hold_ms;
    e->reported = in->observed;
    e->updates = 0;
    write_record(a, e, in, 0, out);
    a->st.raised++;
    return HF_ALERT_NEW;
}

double hf_alerts_reported(hf_alerts *a, const uint8_t addr[16], const char *rule, size_t len,
                          int64_t at_ms)
{
    int r = rule_find(a, rule, len);
    const entry *e = r < 0 ? NULL : find(a, addr, r);
    return e && at_ms < e->until_ms ? e->reported : NAN;
}

static int by_name(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

int hf_alerts_flag(hf_alerts *a, const uint8_t addr[16], int64_t start_ms, int64_t end_ms,
                   hf_buf *out)
{
    if (!a->count) return 0;
    const char *names[HF_ALERT_RULES];
    int n = 0;
    for (uint32_t j = home(a, addr); a->table[j]; j = (j + 1) & a->mask) {
        const entry *e = &a->ring[a->table[j] - 1];
        if (memcmp(e->addr, addr, 16) == 0 && e->first_ms < end_ms && start_ms < span_end(e))
            names[n++] = a->rules[e->rule];
    }
    if (!n) return 0;
    qsort(names, (size_t)n, sizeof names[0], by_name);
    hf_buf_puts(out, "\"alert\":[");
    for (int i = 0; i < n; i++) {
        if (i) hf_buf_putc(out, ',');
        hf_buf_putc(out, '"');
        hf_buf_puts(out, names[i]);
        hf_buf_putc(out, '"');
    }
    hf_buf_puts(out, "],");
    return n;
}
