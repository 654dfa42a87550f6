/* view.c -- bounded snapshots of the records for the HTTP view and --top.
 *
 * Layout (see view.h for what it is for):
 *
 *   slots[] ───────────▶ vhost { addr, alert_until, profile,
 *   (open addressing:             rings[g] ─▶ start[cap]   oldest at head
 *    hash and host)                          vals[cap * stride] }
 *   hosts[]   every vhost, in arrival order (the walks over all hosts)
 *   wins[g]   the window starts seen at g, ascending, at most `history`
 *   alerts[]  latest alert records, oldest first, replaced by id
 *
 * A ring holds a host's windows at one granularity in start order: a record
 * for a window it holds replaces it (a repeat after a restart has the same
 * id), a newer one is appended, an older one that is not held is skipped and
 * counted.  A ring starts with room for 4 windows and doubles up to
 * `history` while the memory bound allows; full, it drops its oldest.  A
 * ring's stride is the number of statistics known when it was laid out; a
 * statistic registered later lays it out again, wider.  Missing values are
 * NaN and written as null.
 *
 * Records are read where they are written, in the workers' threads
 * (hf_view_pack), in one pass that builds nothing (recscan.c: the members
 * the view needs, by path), into a compact form that waits for the one
 * thread that stores (hf_view_store: under the lock, once per batch,
 * fetching host slots a few records ahead: the table is far bigger than a
 * cache).  Statistic names are registered while reading, under a lock of
 * their own; readers need none (nstats counts a name once it is written). */
#include "io/view.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "base/addr.h"
#include "base/alloc.h"
#include "base/hash.h"
#include "conf/config.h"
#include "io/recscan.h"

#define RING_MIN     4
#define MAX_PROFILE  (64 * 1024)   /* a larger profile record is not kept */
#define MAX_DEPTH    3             /* stats.a.b.c: deeper numbers are not shown */
#define PREFETCH     16            /* records ahead whose host slot is fetched (hf_view_apply) */

typedef unsigned __int128 u128;

typedef struct ring {
    int64_t  *start;
    double   *vals;
    uint32_t  cap, n, head;        /* head: the slot of the oldest window */
    uint32_t  stride;
} ring;

typedef struct vhost {
    uint8_t   addr[16];
    uint8_t   family;
    int64_t   alert_until;         /* an alert is open while event time is before this */
    char     *profile;
    uint32_t  profile_len;
    ring      rings[];             /* one per granularity */
} vhost;

typedef struct hslot {           /* the host table: open addressing, linear probing */
    uint64_t  hash;                /* hf_hash_addr of its address */
    vhost    *h;                   /* NULL: empty */
} hslot;

typedef struct valert {
    char     *id;
    char     *json;
    uint32_t  json_len;
    uint8_t   addr[16];
    int64_t   end_ms;
    int64_t   until;               /* open while event time is before this */
    char      rule[48];            /* for a terminal's line (hf_view_alert_lines) */
    double    observed, expected;
} valert;

typedef struct winlist {           /* window starts seen, ascending */
    int64_t  *start;
    int       n;
} winlist;

struct hf_view {
    hf_view_limits    lim;
    pthread_rwlock_t  lock;

    vhost           **hosts;
    size_t            nhosts, hosts_cap;
    hslot            *slots;
    size_t            nslots;      /* a power of two, at least 2 * nhosts */

    char              names[HF_VIEW_MAX_STATS][HF_VIEW_STAT_NAME];
    uint8_t           name_len[HF_VIEW_MAX_STATS];
    atomic_int        nstats;

    winlist           wins[HF_VIEW_MAX_GRANS];
    int64_t           shown_until[HF_VIEW_MAX_GRANS];
    int64_t           event_end;   /* the latest window end of any record */
    int               autopub;

    valert           *alerts;
    int               nalerts;

    hf_view_counters  c;

    pthread_mutex_t   names_lock;  /* registering a statistic (readers of names need none) */

    /* the writer's scratch: the records of a packed batch */
    const struct packed **scratch;
    size_t            scratch_cap;
};

/* One record while it is read (hf_view_pack, on the caller's stack). */
typedef struct parsed {
    uint8_t   type;                /* enum hf_record_type, or 0xff: not understood */
    uint8_t   family;
    uint8_t   alert_flag;          /* a host record that says its host has an open alert */
    uint8_t   addr[16];
    int       g;
    int64_t   start, end;
    int       nv;
    int       refused;             /* values of statistics past HF_VIEW_MAX_STATS */
    uint8_t   idx[HF_VIEW_MAX_STATS];
    double    val[HF_VIEW_MAX_STATS];
    char      rule[48];            /* alerts: its rule, observed and expected values */
    double    observed, expected;
} parsed;

/* A record as it waits to be stored (hf_view_pack -> hf_view_store): this
 * head, nv values, their statistics' indices; an alert's rule and figures;
 * an alert's or a profile's text, an alert's id; padded to 8 bytes.  A
 * host record of 14 statistics takes 192 bytes, its text about 450. */
typedef struct packed {
    uint32_t  size;                /* bytes, head included, a multiple of 8 */
    uint8_t   type, family, alert_flag, nv;
    int16_t   g;
    uint16_t  refused;
    uint16_t  key_len;
    uint16_t  pad;
    uint32_t  text_len;
    uint8_t   addr[16];
    int64_t   start, end;
    uint64_t  hash;                /* hf_hash_addr(addr) */
} packed;

typedef struct alert_tail {
    double    observed, expected;
    char      rule[48];
} alert_tail;

#define ALIGN8(n) (((n) + 7) & ~(size_t)7)

static inline const double *packed_vals(const packed *h)
{
    return (const double *)(h + 1);
}

static inline const uint8_t *packed_idx(const packed *h)
{
    return (const uint8_t *)(packed_vals(h) + h->nv);
}

static inline const alert_tail *packed_alert(const packed *h)
{
    return (const alert_tail *)(packed_idx(h) + ALIGN8(h->nv));
}

static inline const char *packed_text(const packed *h)
{
    return (const char *)packed_alert(h) + (h->type == HF_RECORD_ALERT ? sizeof(alert_tail) : 0);
}

/* ------------------------------------------------------------------------
 * Addresses and blocks
 * --------------------------------------------------------------------- */

static u128 to_u128(const uint8_t a[16])
{
    u128 x = 0;
    for (int i = 0; i < 16; i++) x = (x << 8) | a[i];
    return x;
}

static void from_u128(u128 x, uint8_t a[16])
{
    for (int i = 15; i >= 0; i--) {
        a[i] = (uint8_t)x;
        x >>= 8;
    }
}

static u128 mask_of(int len)
{
    return len <= 0 ? 0 : len >= 128 ? ~(u128)0 : ~(u128)0 << (128 - len);
}

static int in_block(const hf_view_block *b, const uint8_t a[16])
{
    return ((to_u128(a) ^ to_u128(b->addr)) & mask_of(b->len)) == 0;
}

static int is_v4(const uint8_t a[16])
{
    static const uint8_t pre[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a, pre, 12) == 0;
}

int hf_view_block_parse(const char *s, hf_view_block *b, char *err, size_t errlen)
{
    size_t n = strlen(s);
    const char *slash = memchr(s, '/', n);
    size_t alen = slash ? (size_t)(slash - s) : n;
    uint8_t fam;
    if (n > 64 || hf_addr_parse(s, alen, b->addr, &fam) < 0) {
        snprintf(err, errlen, "bad CIDR block \"%.64s\": expected an address and a prefix "
                 "length such as 10.0.0.0/8 or 2001:db8::/32", s);
        return -1;
    }
    int max = fam == 4 ? 32 : 128, len = max;
    if (slash) {
        const char *d = slash + 1;
        len = 0;
        size_t nd = strlen(d);
        if (nd == 0 || nd > 3 || (nd > 1 && d[0] == '0') || strspn(d, "0123456789") != nd ||
            (len = atoi(d)) > max) {
            snprintf(err, errlen, "bad CIDR block \"%.64s\": prefix length must be 0 to %d",
                     s, max);
            return -1;
        }
    }
    b->family = fam;
    b->len = fam == 4 ? len + 96 : len;
    from_u128(to_u128(b->addr) & mask_of(b->len), b->addr);
    return 0;
}

/* "10.0.0.0/8" or, for a whole host, "10.0.0.1". */
static void put_block(hf_buf *out, const uint8_t a[16], int len, int family)
{
    char s[HF_ADDR_STRLEN + 8];
    size_t n = hf_addr_format(a, family, s);
    int l = family == 4 ? len - 96 : len;
    if (len < 128) n += (size_t)snprintf(s + n, sizeof s - n, "/%d", l);
    hf_buf_put_string(out, s, n);
}

static void put_addr(hf_buf *out, const uint8_t a[16], int family)
{
    char s[HF_ADDR_STRLEN];
    hf_buf_put_string(out, s, hf_addr_format(a, family, s));
}

/* ------------------------------------------------------------------------
 * Set-up
 * --------------------------------------------------------------------- */

hf_view *hf_view_new(const hf_view_limits *lim)
{
    hf_view *v = hf_calloc(1, sizeof *v);
    v->lim = *lim;
    if (v->lim.history < 2) v->lim.history = 2;
    if (v->lim.ngrans > HF_VIEW_MAX_GRANS) v->lim.ngrans = HF_VIEW_MAX_GRANS;
    if (v->lim.max_alerts < 1) v->lim.max_alerts = 1;
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&v->lock, &a);
    pthread_mutex_init(&v->names_lock, NULL);
    pthread_rwlockattr_destroy(&a);
    v->nslots = 1024;
    v->slots = hf_calloc(v->nslots, sizeof *v->slots);
    v->alerts = hf_calloc((size_t)v->lim.max_alerts, sizeof *v->alerts);
    for (int g = 0; g < HF_VIEW_MAX_GRANS; g++) {
        v->shown_until[g] = INT64_MIN;
        v->wins[g].start = hf_calloc((size_t)v->lim.history, sizeof(int64_t));
    }
    v->event_end = INT64_MIN;
    return v;
}

static void alert_clear(valert *a)
{
    hf_free(a->id);
    hf_free(a->json);
    memset(a, 0, sizeof *a);
}

void hf_view_free(hf_view *v)
{
    if (!v) return;
    for (size_t i = 0; i < v->nhosts; i++) {
        vhost *h = v->hosts[i];
        for (int g = 0; g < v->lim.ngrans; g++) {
            hf_free(h->rings[g].start);
            hf_free(h->rings[g].vals);
        }
        hf_free(h->profile);
        hf_free(h);
    }
    for (int i = 0; i < v->nalerts; i++) alert_clear(&v->alerts[i]);
    for (int g = 0; g < HF_VIEW_MAX_GRANS; g++) hf_free(v->wins[g].start);
    hf_free(v->alerts);
    hf_free(v->hosts);
    hf_free(v->slots);
    hf_free(v->scratch);
    pthread_rwlock_destroy(&v->lock);
    pthread_mutex_destroy(&v->names_lock);
    hf_free(v);
}

/* ------------------------------------------------------------------------
 * Parsing records (the writer, outside the lock)
 * --------------------------------------------------------------------- */

/* The index of a statistic among the first n, or -1.  hint: records list
 * their statistics in the same order, so try the next one first. */
static int stat_find(const hf_view *v, int n, const char *name, size_t len, int *hint)
{
    if (*hint < n && v->name_len[*hint] == len && memcmp(v->names[*hint], name, len) == 0)
        return (*hint)++;
    for (int i = 0; i < n; i++)
        if (v->name_len[i] == len && memcmp(v->names[i], name, len) == 0) {
            *hint = i + 1;
            return i;
        }
    return -1;
}

/* The index of a statistic, registering it when new; -1 when full.  Any
 * thread: names are only added, each written before nstats counts it. */
static int stat_index(hf_view *v, const char *name, size_t len, int *hint)
{
    int n = atomic_load_explicit(&v->nstats, memory_order_acquire);
    int i = stat_find(v, n, name, len, hint);
    if (i >= 0) return i;
    pthread_mutex_lock(&v->names_lock);
    n = atomic_load_explicit(&v->nstats, memory_order_relaxed);
    i = stat_find(v, n, name, len, hint);
    if (i < 0 && n < HF_VIEW_MAX_STATS) {
        memcpy(v->names[n], name, len);
        v->names[n][len] = '\0';
        v->name_len[n] = (uint8_t)len;
        atomic_store_explicit(&v->nstats, n + 1, memory_order_release);
        *hint = n + 1;
        i = n;
    }
    pthread_mutex_unlock(&v->names_lock);
    return i;
}

/* The members of one record, as the scanner hands them over. */
typedef struct scan {
    hf_view *v;
    parsed  *p;
    int     *hint;
    int      type;                 /* the record's enum hf_record_type */
    int      has_ip, has_stats, has_start, has_end;
    double   gran_s;               /* NaN until seen */
} scan;

#define IS(it, lit) hf_recscan_is(it, lit, sizeof lit - 1)

static void on_member(void *ctx, const hf_recscan_item *it)
{
    scan *s = ctx;
    parsed *p = s->p;
    size_t fl = sizeof HF_VIEW_ALERT_FIELD - 1;
    if (it->pathlen >= fl && memcmp(it->path, HF_VIEW_ALERT_FIELD, fl) == 0 &&
        (it->pathlen == fl || it->path[fl] == '.')) {      /* the flag, and what it holds */
        if (it->pathlen == fl && s->type == HF_RECORD_STATS)
            p->alert_flag = it->kind == HF_RECSCAN_TRUE ||
                            (it->kind == HF_RECSCAN_NUMBER && it->num != 0) ||
                            ((it->kind == HF_RECSCAN_OBJECT || it->kind == HF_RECSCAN_ARRAY) &&
                             it->nonempty);
        return;
    }
    if (it->depth == 1) {
        if (IS(it, "src_ip") && it->kind == HF_RECSCAN_STRING)
            s->has_ip = hf_addr_parse(it->str, it->len, p->addr, &p->family) == 0;
        else if (IS(it, "stats") && it->kind == HF_RECSCAN_OBJECT)
            s->has_stats = 1;
        else if (s->type == HF_RECORD_ALERT && IS(it, "rule") && it->kind == HF_RECSCAN_STRING)
            snprintf(p->rule, sizeof p->rule, "%.*s", (int)it->len, it->str);
        else if (s->type == HF_RECORD_ALERT && IS(it, "observed") && it->kind == HF_RECSCAN_NUMBER)
            p->observed = it->num;
        else if (s->type == HF_RECORD_ALERT && IS(it, "expected") && it->kind == HF_RECSCAN_NUMBER)
            p->expected = it->num;
        return;
    }
    if (it->pathlen > 7 && memcmp(it->path, "window.", 7) == 0) {
        if (it->kind != HF_RECSCAN_NUMBER) return;
        if (IS(it, "window.start_ms")) p->start = (int64_t)it->num, s->has_start = 1;
        else if (IS(it, "window.end_ms")) p->end = (int64_t)it->num, s->has_end = 1;
        else if (IS(it, "window.granularity_s")) s->gran_s = it->num;
        return;
    }
    if (s->type != HF_RECORD_STATS || it->pathlen <= 6 || memcmp(it->path, "stats.", 6) != 0)
        return;
    if (it->kind != HF_RECSCAN_NUMBER) return;
    size_t len = it->pathlen - 6;
    if (len >= HF_VIEW_STAT_NAME) return;
    int i = stat_index(s->v, it->path + 6, len, s->hint);
    if (i < 0 || p->nv >= HF_VIEW_MAX_STATS) {
        p->refused++;
    } else {
        p->idx[p->nv] = (uint8_t)i;
        p->val[p->nv++] = it->num;
    }
}

/* The granularity's index, or -1. */
static int gran_index(const hf_view *v, double gran_s)
{
    for (int g = 0; g < v->lim.ngrans; g++)
        if ((double)v->lim.gran_ms[g] == gran_s * 1000.0) return g;
    return -1;
}

static void parse_one(hf_view *v, const hf_records *b, size_t i, parsed *p, int *hint)
{
    const hf_record *r = &b->recs[i];
    memset(p, 0, offsetof(parsed, idx));
    p->type = 0xff;
    p->rule[0] = '\0';
    p->observed = p->expected = NAN;
    scan s = {v, p, hint, r->type, 0, 0, 0, 0, NAN};
    if (hf_recscan_walk(b->text + r->off, r->len, 1 + MAX_DEPTH, on_member, &s) < 0 || !s.has_ip)
        return;
    int window = s.has_start && s.has_end && !isnan(s.gran_s);
    p->g = window ? gran_index(v, s.gran_s) : -1;
    if (r->type == HF_RECORD_STATS) {
        if (!window || p->g < 0 || !s.has_stats) return;
        p->type = HF_RECORD_STATS;
    } else if (r->type == HF_RECORD_ALERT) {
        if (!window) return;
        p->type = HF_RECORD_ALERT;
    } else if (r->type == HF_RECORD_PROFILE) {
        p->type = HF_RECORD_PROFILE;
    }
}

/* Append record i of b, read into p, to out in its packed form. */
static void pack_one(const hf_records *b, size_t i, const parsed *p, hf_buf *out)
{
    const hf_record *r = &b->recs[i];
    int alert = p->type == HF_RECORD_ALERT;
    size_t text = alert || p->type == HF_RECORD_PROFILE ? r->len : 0;
    size_t key = alert ? r->key_len : 0;
    size_t size = ALIGN8(sizeof(packed) + (size_t)p->nv * sizeof(double) + ALIGN8(p->nv) +
                         (alert ? sizeof(alert_tail) : 0) + text + key);
    hf_buf_reserve(out, size);
    char *at = out->data + out->len;
    memset(at, 0, size);
    packed *h = (packed *)at;
    h->size = (uint32_t)size;
    h->type = p->type;
    h->family = p->family;
    h->alert_flag = p->alert_flag;
    h->nv = (uint8_t)p->nv;
    h->g = (int16_t)p->g;
    h->refused = (uint16_t)(p->refused < 65535 ? p->refused : 65535);
    h->key_len = (uint16_t)key;
    h->text_len = (uint32_t)text;
    memcpy(h->addr, p->addr, 16);
    h->start = p->start;
    h->end = p->end;
    h->hash = hf_hash_addr(p->addr);
    memcpy((double *)packed_vals(h), p->val, (size_t)p->nv * sizeof(double));
    memcpy((uint8_t *)packed_idx(h), p->idx, (size_t)p->nv);
    if (alert) {
        alert_tail *t = (alert_tail *)packed_alert(h);
        t->observed = p->observed;
        t->expected = p->expected;
        memcpy(t->rule, p->rule, sizeof t->rule);
    }
    memcpy((char *)packed_text(h), b->text + r->off, text);
    memcpy((char *)packed_text(h) + text, b->text + r->key_off, key);
    out->len += size;
}

void hf_view_pack(hf_view *v, const hf_records *b, hf_buf *out)
{
    int hint = 0;
    parsed p;
    for (size_t i = 0; i < b->n; i++) {
        parse_one(v, b, i, &p, &hint);
        pack_one(b, i, &p, out);
    }
}

/* ------------------------------------------------------------------------
 * Storing (the writer, under the lock)
 * --------------------------------------------------------------------- */

static size_t host_bytes(const hf_view *v)
{
    return sizeof(vhost) + (size_t)v->lim.ngrans * sizeof(ring) + 2 * sizeof(hslot) +
           sizeof(vhost *);
}

static size_t ring_bytes(uint32_t cap, uint32_t stride)
{
    return (size_t)cap * (sizeof(int64_t) + stride * sizeof(double));
}

/* The host of address a (hash: hf_hash_addr(a)), or NULL.  A slot holds the
 * hash beside the host, so a probe past another host's slot does not touch
 * that host. */
static vhost *host_find(const hf_view *v, const uint8_t a[16], uint64_t hash)
{
    size_t mask = v->nslots - 1;
    for (size_t s = hash & mask;; s = (s + 1) & mask) {
        const hslot *e = &v->slots[s];
        if (!e->h) return NULL;
        if (e->hash == hash && memcmp(e->h->addr, a, 16) == 0) return e->h;
    }
}

static void slot_put(hf_view *v, vhost *h, uint64_t hash)
{
    size_t mask = v->nslots - 1;
    size_t s = hash & mask;
    while (v->slots[s].h) s = (s + 1) & mask;
    v->slots[s] = (hslot){hash, h};
}

/* The host's entry, made when new; NULL past max_hosts (counted). */
static vhost *host_get(hf_view *v, const uint8_t a[16], uint8_t family, uint64_t hash)
{
    vhost *h = host_find(v, a, hash);
    if (h) return h;
    if (v->nhosts >= v->lim.max_hosts) {
        v->c.hosts_refused++;
        return NULL;
    }
    if (2 * (v->nhosts + 1) > v->nslots) {
        hslot *old = v->slots;
        size_t nold = v->nslots;
        v->nslots *= 2;
        v->slots = hf_calloc(v->nslots, sizeof *v->slots);
        for (size_t k = 0; k < nold; k++)
            if (old[k].h) slot_put(v, old[k].h, old[k].hash);
        hf_free(old);
    }
    if (v->nhosts == v->hosts_cap) {
        v->hosts_cap = v->hosts_cap ? 2 * v->hosts_cap : 256;
        v->hosts = hf_realloc(v->hosts, v->hosts_cap * sizeof *v->hosts);
    }
    h = hf_calloc(1, sizeof *h + (size_t)v->lim.ngrans * sizeof(ring));
    memcpy(h->addr, a, 16);
    h->family = family;
    h->alert_until = INT64_MIN;
    v->hosts[v->nhosts++] = h;
    slot_put(v, h, hash);
    v->c.memory += host_bytes(v);
    return h;
}

/* Logical window k (0: oldest) of a ring: its slot. */
static inline uint32_t ring_slot(const ring *r, uint32_t k)
{
    return (r->head + k) % r->cap;
}

/* Lay the ring out again with room for cap windows and stride values each. */
static void ring_relayout(hf_view *v, ring *r, uint32_t cap, uint32_t stride)
{
    int64_t *st = hf_malloc(cap * sizeof *st);
    double *vals = hf_malloc((size_t)cap * stride * sizeof *vals);
    for (size_t k = 0; k < (size_t)cap * stride; k++) vals[k] = NAN;
    uint32_t keep = r->n < cap ? r->n : cap, skip = r->n - keep;
    for (uint32_t k = 0; k < keep; k++) {
        uint32_t s = ring_slot(r, skip + k);
        st[k] = r->start[s];
        memcpy(vals + (size_t)k * stride, r->vals + (size_t)s * r->stride,
               r->stride * sizeof *vals);
    }
    v->c.memory += ring_bytes(cap, stride);
    v->c.memory -= ring_bytes(r->cap, r->stride);
    hf_free(r->start);
    hf_free(r->vals);
    r->start = st;
    r->vals = vals;
    r->cap = cap;
    r->n = keep;
    r->head = 0;
    r->stride = stride;
}

/* The logical index of window start in the ring, or -1. */
static long ring_find(const ring *r, int64_t start)
{
    long lo = 0, hi = (long)r->n - 1;
    while (lo <= hi) {
        long mid = (lo + hi) / 2;
        int64_t s = r->start[ring_slot(r, (uint32_t)mid)];
        if (s == start) return mid;
        if (s < start) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

static void ring_put(hf_view *v, ring *r, const packed *p)
{
    const uint8_t *idx = packed_idx(p);
    const double *val = packed_vals(p);
    uint32_t need = 0;
    for (int k = 0; k < p->nv; k++)
        if (idx[k] + 1u > need) need = idx[k] + 1u;
    uint32_t nstats = (uint32_t)atomic_load_explicit(&v->nstats, memory_order_relaxed);
    if (!r->cap) ring_relayout(v, r, RING_MIN, nstats);
    else if (need > r->stride) ring_relayout(v, r, r->cap, nstats);
    long at;
    if (r->n && r->start[ring_slot(r, r->n - 1)] >= p->start) {
        at = ring_find(r, p->start);
        if (at < 0) {
            v->c.out_of_order++;
            return;
        }
    } else {
        if (r->n == r->cap) {
            uint32_t cap = r->cap * 2 > (uint32_t)v->lim.history ? (uint32_t)v->lim.history
                                                                 : r->cap * 2;
            if (cap > r->cap &&
                v->c.memory + ring_bytes(cap, r->stride) - ring_bytes(r->cap, r->stride) <=
                    v->lim.memory) {
                ring_relayout(v, r, cap, r->stride);
            } else {
                if (r->cap < (uint32_t)v->lim.history) v->c.history_cut++;
                r->head = (r->head + 1) % r->cap;
                r->n--;
            }
        }
        at = r->n++;
        r->start[ring_slot(r, (uint32_t)at)] = p->start;
    }
    double *row = r->vals + (size_t)ring_slot(r, (uint32_t)at) * r->stride;
    for (uint32_t k = 0; k < r->stride; k++) row[k] = NAN;
    for (int k = 0; k < p->nv; k++) row[idx[k]] = val[k];
}

/* Note window start as seen at g (the list keeps the latest `history`). */
static void win_seen(hf_view *v, int g, int64_t start)
{
    winlist *w = &v->wins[g];
    int i = w->n;
    while (i > 0 && w->start[i - 1] > start) i--;
    if (i > 0 && w->start[i - 1] == start) return;
    if (w->n == v->lim.history) {
        if (i == 0) return;                /* older than all kept */
        memmove(w->start, w->start + 1, (size_t)(w->n - 1) * sizeof(int64_t));
        w->n--;
        i--;
    }
    memmove(w->start + i + 1, w->start + i, (size_t)(w->n - i) * sizeof(int64_t));
    w->start[i] = start;
    w->n++;
    if (v->autopub && w->start[w->n - 1] > v->shown_until[g])
        v->shown_until[g] = w->start[w->n - 1];   /* the ones before it are complete */
}

static void alert_put(hf_view *v, const packed *p)
{
    const alert_tail *t = packed_alert(p);
    const char *text = packed_text(p), *key = text + p->text_len;
    int i = 0;
    while (i < v->nalerts && (strlen(v->alerts[i].id) != p->key_len ||
                              memcmp(v->alerts[i].id, key, p->key_len) != 0))
        i++;
    if (i == v->nalerts && v->nalerts == v->lim.max_alerts) {   /* drop the oldest */
        v->c.memory -= v->alerts[0].json_len + 64;
        alert_clear(&v->alerts[0]);
        memmove(v->alerts, v->alerts + 1, (size_t)(v->nalerts - 1) * sizeof *v->alerts);
        i = --v->nalerts;
        memset(&v->alerts[i], 0, sizeof v->alerts[i]);
    }
    valert *a = &v->alerts[i];
    if (i == v->nalerts) v->nalerts++;
    else v->c.memory -= a->json_len + 64;
    alert_clear(a);
    a->id = hf_strndup(key, p->key_len);
    a->json = hf_strndup(text, p->text_len);
    a->json_len = p->text_len;
    memcpy(a->addr, p->addr, 16);
    a->end_ms = p->end;
    a->until = p->end + v->lim.alert_hold_ms;
    memcpy(a->rule, t->rule, sizeof a->rule);
    a->observed = t->observed;
    a->expected = t->expected;
    v->c.memory += a->json_len + 64;
    vhost *h = host_get(v, p->addr, p->family, p->hash);
    if (h && a->until > h->alert_until) h->alert_until = a->until;
}

static void store(hf_view *v, const packed *p)
{
    if (p->type == 0xff) {
        v->c.bad_records++;
        return;
    }
    v->c.records++;
    v->c.stats_refused += p->refused;
    if (p->type == HF_RECORD_ALERT) {
        v->c.alerts++;
        alert_put(v, p);
        return;
    }
    vhost *h = host_get(v, p->addr, p->family, p->hash);
    if (!h) return;
    if (p->type == HF_RECORD_PROFILE) {
        v->c.profiles++;
        v->c.memory -= h->profile_len;
        hf_free(h->profile);
        h->profile = NULL;
        h->profile_len = 0;
        if (p->text_len <= MAX_PROFILE && v->c.memory + p->text_len <= v->lim.memory) {
            h->profile = hf_strndup(packed_text(p), p->text_len);
            h->profile_len = p->text_len;
            v->c.memory += p->text_len;
        }
        return;
    }
    if (p->end > v->event_end) v->event_end = p->end;
    ring_put(v, &h->rings[p->g], p);
    win_seen(v, p->g, p->start);
    if (p->alert_flag && p->end + v->lim.gran_ms[p->g] > h->alert_until)
        h->alert_until = p->end + v->lim.gran_ms[p->g];
}

size_t hf_view_store(hf_view *v, const void *data, size_t len)
{
    size_t n = 0;
    const char *at = data, *end = at + len;
    for (; end - at >= (ptrdiff_t)sizeof(packed); at += ((const packed *)at)->size) {
        if (n == v->scratch_cap) {
            v->scratch_cap = v->scratch_cap ? 2 * v->scratch_cap : 4096;
            v->scratch = hf_realloc(v->scratch, v->scratch_cap * sizeof *v->scratch);
        }
        v->scratch[n++] = (const packed *)at;
    }
    const packed **r = v->scratch;
    pthread_rwlock_wrlock(&v->lock);
    uint64_t bad = v->c.bad_records;
    for (size_t i = 0; i < n; i++) {
        /* the host table is far bigger than a cache: ask for the slot of
         * the record PREFETCH ahead, and for the host of the one half as
         * far ahead, whose slot is there by now */
        if (i + PREFETCH < n) __builtin_prefetch(&v->slots[r[i + PREFETCH]->hash & (v->nslots - 1)]);
        if (i + PREFETCH / 2 < n) {
            const packed *q = r[i + PREFETCH / 2];
            const hslot *e = &v->slots[q->hash & (v->nslots - 1)];
            if (e->h && e->hash == q->hash) {
                __builtin_prefetch(e->h);
                if (q->type == HF_RECORD_STATS) __builtin_prefetch(&e->h->rings[q->g]);
            }
        }
        store(v, r[i]);
    }
    bad = v->c.bad_records - bad;
    pthread_rwlock_unlock(&v->lock);
    return (size_t)bad;
}

size_t hf_view_apply(hf_view *v, const hf_records *b)
{
    hf_buf out;
    hf_buf_init(&out, b->n * 256 + 64);
    hf_view_pack(v, b, &out);
    size_t bad = hf_view_store(v, out.data, out.len);
    hf_buf_release(&out);
    return bad;
}

void hf_view_publish(hf_view *v, int64_t until_ms)
{
    pthread_rwlock_wrlock(&v->lock);
    for (int g = 0; g < v->lim.ngrans; g++)
        if (until_ms > v->shown_until[g]) v->shown_until[g] = until_ms;
    pthread_rwlock_unlock(&v->lock);
}

void hf_view_publish_auto(hf_view *v, int on)
{
    pthread_rwlock_wrlock(&v->lock);
    v->autopub = on;
    pthread_rwlock_unlock(&v->lock);
}

static int open_alerts(const hf_view *v)
{
    int n = 0;
    for (int i = 0; i < v->nalerts; i++) n += v->alerts[i].until > v->event_end;
    return n;
}

void hf_view_counters_get(hf_view *v, hf_view_counters *c)
{
    pthread_rwlock_rdlock(&v->lock);
    *c = v->c;
    c->hosts = v->nhosts;
    c->nstats = atomic_load(&v->nstats);
    c->alerts_open = open_alerts(v);
    pthread_rwlock_unlock(&v->lock);
}

/* ------------------------------------------------------------------------
 * Queries (readers, under the read lock)
 * --------------------------------------------------------------------- */

int hf_view_gran(hf_view *v, const char *s, char *err, size_t errlen)
{
    int64_t ms = -1;
    if (strlen(s) <= 16 && hf_config_parse_duration_ms(s, &ms) == 0) {
        if (strspn(s, "0123456789") == strlen(s)) ms = atoll(s) * 1000;   /* "10": seconds */
        for (int g = 0; g < v->lim.ngrans; g++)
            if (v->lim.gran_ms[g] == ms) return g;
    }
    int n = snprintf(err, errlen, "unknown granularity \"%.32s\"; hostflow keeps", s);
    for (int g = 0; g < v->lim.ngrans && n > 0 && (size_t)n < errlen; g++)
        n += snprintf(err + n, errlen - (size_t)n, "%s %llds", g ? "," : "",
                      (long long)(v->lim.gran_ms[g] / 1000));
    return -1;
}

int hf_view_stat(hf_view *v, const char *name, char *err, size_t errlen)
{
    int n = atomic_load_explicit(&v->nstats, memory_order_acquire);
    for (int i = 0; i < n; i++)
        if (strcmp(v->names[i], name) == 0) return i;
    int k = snprintf(err, errlen, "unknown statistic \"%.64s\"; known:", name);
    for (int i = 0; i < n && k > 0 && (size_t)k < errlen; i++)
        k += snprintf(err + k, errlen - (size_t)k, "%s %s", i ? "," : "", v->names[i]);
    if (n == 0) snprintf(err + k, errlen - (size_t)k, " none yet (no record has arrived)");
    return -1;
}

/* The latest shown window of g (lock held). */
static int64_t latest(const hf_view *v, int g)
{
    const winlist *w = &v->wins[g];
    for (int i = w->n - 1; i >= 0; i--)
        if (w->start[i] + v->lim.gran_ms[g] <= v->shown_until[g]) return w->start[i];
    return INT64_MIN;
}

int64_t hf_view_latest(hf_view *v, int g)
{
    pthread_rwlock_rdlock(&v->lock);
    int64_t s = latest(v, g);
    pthread_rwlock_unlock(&v->lock);
    return s;
}

int hf_view_grans(hf_view *v, int64_t gran_ms[HF_VIEW_MAX_GRANS])
{
    memcpy(gran_ms, v->lim.gran_ms, (size_t)v->lim.ngrans * sizeof(int64_t));
    return v->lim.ngrans;
}

size_t hf_view_hosts_in(hf_view *v, int g)
{
    size_t n = 0;
    pthread_rwlock_rdlock(&v->lock);
    int64_t start = latest(v, g);
    for (size_t i = 0; i < v->nhosts && start != INT64_MIN; i++) {
        const ring *r = &v->hosts[i]->rings[g];
        n += r->n && (r->start[ring_slot(r, r->n - 1)] == start || ring_find(r, start) >= 0);
    }
    pthread_rwlock_unlock(&v->lock);
    return n;
}

/* Resolve the window asked for (INT64_MIN: the latest shown); 0, or 404. */
static int window_of(const hf_view *v, int g, int64_t *start, char *err, size_t errlen)
{
    int64_t gm = v->lim.gran_ms[g];
    if (*start == INT64_MIN) {
        *start = latest(v, g);
        return 0;                          /* INT64_MIN still: none shown yet */
    }
    if (*start % gm != 0 || *start + gm > v->shown_until[g]) {
        snprintf(err, errlen, "no closed %llds window starts at %lld (windows start at "
                 "multiples of %lld ms; the latest closed starts at %lld)",
                 (long long)(gm / 1000), (long long)*start, (long long)gm,
                 (long long)latest(v, g));
        return 404;
    }
    return 0;
}

/* The value of stat for host h in window start of g: 1 and *val, or 0. */
static int value_of(const vhost *h, int g, int64_t start, int stat, double *val)
{
    const ring *r = &h->rings[g];
    if (!r->n || (uint32_t)stat >= r->stride) return 0;
    long k = r->start[ring_slot(r, r->n - 1)] == start ? (long)r->n - 1 : ring_find(r, start);
    if (k < 0) return 0;
    double x = r->vals[(size_t)ring_slot(r, (uint32_t)k) * r->stride + (size_t)stat];
    if (isnan(x)) return 0;
    *val = x;
    return 1;
}

static void put_window(hf_buf *out, int64_t start, int64_t gm)
{
    if (start == INT64_MIN) {
        hf_buf_puts(out, "null");
        return;
    }
    hf_buf_puts(out, "{\"start_ms\":");
    hf_buf_put_int(out, start);
    hf_buf_puts(out, ",\"end_ms\":");
    hf_buf_put_int(out, start + gm);
    hf_buf_puts(out, "}");
}

static const char *agg_name(int agg)
{
    static const char *n[] = {"sum", "max", "mean", "hosts"};
    return agg >= 0 && agg <= HF_VIEW_HOSTS ? n[agg] : "sum";
}

int hf_view_heatmap(hf_view *v, const hf_view_block *blk, int bits, int g, int64_t start,
                    int stat, int agg, hf_buf *out, char *err, size_t errlen)
{
    if (bits > 8) bits = 8;
    if (bits > 128 - blk->len) bits = 128 - blk->len;
    if (bits < 1) {
        snprintf(err, errlen, "a single host has no sub-blocks: ask /api/v1/host");
        return 400;
    }
    int ncells = 1 << bits;
    double val[HF_VIEW_MAX_CELLS];
    uint32_t hosts[HF_VIEW_MAX_CELLS], alerts[HF_VIEW_MAX_CELLS];
    memset(hosts, 0, sizeof hosts);
    memset(alerts, 0, sizeof alerts);
    for (int i = 0; i < ncells; i++) val[i] = agg == HF_VIEW_MAX ? -INFINITY : 0;
    pthread_rwlock_rdlock(&v->lock);
    int rc = window_of(v, g, &start, err, errlen);
    if (rc) goto out;
    int shift = 128 - blk->len - bits;
    uint32_t nhosts = 0;
    for (size_t i = 0; i < v->nhosts && start != INT64_MIN; i++) {
        const vhost *h = v->hosts[i];
        double x;
        if (!in_block(blk, h->addr) || !value_of(h, g, start, stat, &x)) continue;
        int c = (int)((to_u128(h->addr) >> shift) & (u128)(ncells - 1));
        hosts[c]++;
        nhosts++;
        alerts[c] += h->alert_until > v->event_end;
        if (agg == HF_VIEW_MAX) val[c] = x > val[c] ? x : val[c];
        else val[c] += x;
    }
    int64_t gm = v->lim.gran_ms[g];
    int64_t shown = v->shown_until[g];
    pthread_rwlock_unlock(&v->lock);
    (void)shown;

    double lo = INFINITY, hi = -INFINITY;
    for (int c = 0; c < ncells; c++) {
        if (!hosts[c]) continue;
        if (agg == HF_VIEW_MEAN) val[c] /= hosts[c];
        if (agg == HF_VIEW_HOSTS) val[c] = hosts[c];
        if (val[c] < lo) lo = val[c];
        if (val[c] > hi) hi = val[c];
    }
    hf_buf_puts(out, "{\"block\":");
    put_block(out, blk->addr, blk->len, blk->family);
    hf_buf_puts(out, ",\"granularity_s\":");
    hf_buf_put_int(out, gm / 1000);
    hf_buf_puts(out, ",\"window\":");
    put_window(out, start, gm);
    hf_buf_puts(out, ",\"stat\":");
    hf_buf_put_string(out, v->names[stat], strlen(v->names[stat]));
    hf_buf_puts(out, ",\"agg\":\"");
    hf_buf_puts(out, agg_name(agg));
    hf_buf_puts(out, "\",\"bits\":");
    hf_buf_put_int(out, bits);
    hf_buf_puts(out, ",\"child_prefix\":");
    hf_buf_put_int(out, blk->len + bits - (blk->family == 4 ? 96 : 0));
    hf_buf_puts(out, ",\"cells\":");
    hf_buf_put_int(out, ncells);
    hf_buf_puts(out, ",\"hosts\":");
    hf_buf_put_int(out, nhosts);
    hf_buf_puts(out, ",\"min\":");
    hf_buf_put_number(out, nhosts ? lo : NAN);
    hf_buf_puts(out, ",\"max\":");
    hf_buf_put_number(out, nhosts ? hi : NAN);
    hf_buf_puts(out, ",\"children\":[");
    int first = 1;
    u128 base = to_u128(blk->addr);
    for (int c = 0; c < ncells; c++) {
        if (!hosts[c]) continue;
        if (!first) hf_buf_putc(out, ',');
        first = 0;
        uint8_t a[16];
        from_u128(base | ((u128)c << shift), a);
        hf_buf_puts(out, "{\"i\":");
        hf_buf_put_int(out, c);
        hf_buf_puts(out, ",\"block\":");
        put_block(out, a, blk->len + bits, blk->family);
        hf_buf_puts(out, ",\"value\":");
        hf_buf_put_number(out, val[c]);
        hf_buf_puts(out, ",\"hosts\":");
        hf_buf_put_int(out, hosts[c]);
        hf_buf_puts(out, ",\"alerts\":");
        hf_buf_put_int(out, alerts[c]);
        hf_buf_putc(out, '}');
    }
    hf_buf_puts(out, "]}");
    return 0;
out:
    pthread_rwlock_unlock(&v->lock);
    return rc;
}

typedef struct topent {
    double  val;
    size_t  host;
} topent;

/* A min-heap of the n best so far: the root is the one to beat. */
static void heap_down(topent *h, int n, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && h[l].val < h[m].val) m = l;
        if (r < n && h[r].val < h[m].val) m = r;
        if (m == i) return;
        topent t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static int by_value_desc(const void *a, const void *b)
{
    const topent *x = a, *y = b;
    return x->val < y->val ? 1 : x->val > y->val ? -1 : 0;
}

int hf_view_top(hf_view *v, const hf_view_block *blk, int g, int64_t start, int stat,
                int n, hf_buf *out, char *err, size_t errlen)
{
    if (n < 1 || n > HF_VIEW_MAX_TOP) {
        snprintf(err, errlen, "n must be 1 to %d, got %d", HF_VIEW_MAX_TOP, n);
        return 400;
    }
    topent *heap = hf_malloc((size_t)n * sizeof *heap);
    int k = 0;
    pthread_rwlock_rdlock(&v->lock);
    int rc = window_of(v, g, &start, err, errlen);
    if (rc) {
        pthread_rwlock_unlock(&v->lock);
        hf_free(heap);
        return rc;
    }
    for (size_t i = 0; i < v->nhosts && start != INT64_MIN; i++) {
        const vhost *h = v->hosts[i];
        double x;
        if ((blk && !in_block(blk, h->addr)) || !value_of(h, g, start, stat, &x)) continue;
        if (k < n) {
            heap[k++] = (topent){x, i};
            if (k == n)
                for (int j = n / 2 - 1; j >= 0; j--) heap_down(heap, n, j);
        } else if (x > heap[0].val) {
            heap[0] = (topent){x, i};
            heap_down(heap, n, 0);
        }
    }
    qsort(heap, (size_t)k, sizeof *heap, by_value_desc);
    int64_t gm = v->lim.gran_ms[g];
    hf_buf_puts(out, "{\"granularity_s\":");
    hf_buf_put_int(out, gm / 1000);
    hf_buf_puts(out, ",\"window\":");
    put_window(out, start, gm);
    hf_buf_puts(out, ",\"stat\":");
    hf_buf_put_string(out, v->names[stat], strlen(v->names[stat]));
    if (blk) {
        hf_buf_puts(out, ",\"block\":");
        put_block(out, blk->addr, blk->len, blk->family);
    }
    hf_buf_puts(out, ",\"hosts\":[");
    for (int i = 0; i < k; i++) {
        const vhost *h = v->hosts[heap[i].host];
        if (i) hf_buf_putc(out, ',');
        hf_buf_puts(out, "{\"ip\":");
        put_addr(out, h->addr, h->family);
        hf_buf_puts(out, ",\"value\":");
        hf_buf_put_number(out, heap[i].val);
        hf_buf_puts(out, h->alert_until > v->event_end ? ",\"alert\":true}" : ",\"alert\":false}");
    }
    hf_buf_puts(out, "]}");
    pthread_rwlock_unlock(&v->lock);
    hf_free(heap);
    return 0;
}

/* The alerts of one host (addr) or all, open ones unless all; newest first. */
static void put_alerts(const hf_view *v, const uint8_t *addr, int all, hf_buf *out)
{
    hf_buf_putc(out, '[');
    int first = 1;
    for (int i = v->nalerts - 1; i >= 0; i--) {
        const valert *a = &v->alerts[i];
        int open = a->until > v->event_end;
        if ((addr && memcmp(a->addr, addr, 16) != 0) || (!all && !open)) continue;
        if (!first) hf_buf_putc(out, ',');
        first = 0;
        hf_buf_puts(out, open ? "{\"open\":true,\"record\":" : "{\"open\":false,\"record\":");
        hf_buf_put(out, a->json, a->json_len);
        hf_buf_putc(out, '}');
    }
    hf_buf_putc(out, ']');
}

int hf_view_host(hf_view *v, const uint8_t addr[16], int g, hf_buf *out,
                 char *err, size_t errlen)
{
    pthread_rwlock_rdlock(&v->lock);
    const vhost *h = host_find(v, addr, hf_hash_addr(addr));
    if (!h) {
        pthread_rwlock_unlock(&v->lock);
        char s[HF_ADDR_STRLEN];
        hf_addr_format(addr, is_v4(addr) ? 4 : 6, s);
        snprintf(err, errlen, "no record of host %s is held", s);
        return 404;
    }
    int nstats = atomic_load_explicit(&v->nstats, memory_order_acquire);
    hf_buf_puts(out, "{\"ip\":");
    put_addr(out, h->addr, h->family);
    hf_buf_puts(out, h->alert_until > v->event_end ? ",\"alert\":true" : ",\"alert\":false");
    hf_buf_puts(out, ",\"granularities\":[");
    int first = 1;
    for (int k = 0; k < v->lim.ngrans; k++) {
        if (g >= 0 && k != g) continue;
        const ring *r = &h->rings[k];
        int64_t gm = v->lim.gran_ms[k];
        uint32_t n = 0;                    /* shown windows: the oldest n */
        while (n < r->n && r->start[ring_slot(r, n)] + gm <= v->shown_until[k]) n++;
        if (!first) hf_buf_putc(out, ',');
        first = 0;
        hf_buf_puts(out, "{\"s\":");
        hf_buf_put_int(out, gm / 1000);
        hf_buf_puts(out, ",\"windows\":[");
        for (uint32_t w = 0; w < n; w++) {
            if (w) hf_buf_putc(out, ',');
            hf_buf_put_int(out, r->start[ring_slot(r, w)]);
        }
        hf_buf_puts(out, "],\"stats\":{");
        int sfirst = 1;
        for (int s = 0; s < nstats; s++) {
            if (!sfirst) hf_buf_putc(out, ',');
            sfirst = 0;
            hf_buf_put_string(out, v->names[s], strlen(v->names[s]));
            hf_buf_puts(out, ":[");
            for (uint32_t w = 0; w < n; w++) {
                if (w) hf_buf_putc(out, ',');
                double x = (uint32_t)s < r->stride
                               ? r->vals[(size_t)ring_slot(r, w) * r->stride + (size_t)s] : NAN;
                hf_buf_put_number(out, x);
            }
            hf_buf_putc(out, ']');
        }
        hf_buf_puts(out, "}}");
    }
    hf_buf_puts(out, "],\"profile\":");
    if (h->profile) hf_buf_put(out, h->profile, h->profile_len);
    else hf_buf_puts(out, "null");
    hf_buf_puts(out, ",\"alerts\":");
    put_alerts(v, h->addr, 1, out);
    hf_buf_putc(out, '}');
    pthread_rwlock_unlock(&v->lock);
    return 0;
}

int hf_view_alerts(hf_view *v, const uint8_t *addr, int all, hf_buf *out)
{
    pthread_rwlock_rdlock(&v->lock);
    hf_buf_puts(out, "{\"open\":");
    hf_buf_put_int(out, open_alerts(v));
    hf_buf_puts(out, ",\"alerts\":");
    put_alerts(v, addr, all, out);
    hf_buf_putc(out, '}');
    pthread_rwlock_unlock(&v->lock);
    return 0;
}

int hf_view_status(hf_view *v, hf_buf *out)
{
    pthread_rwlock_rdlock(&v->lock);
    int nstats = atomic_load_explicit(&v->nstats, memory_order_acquire);
    hf_buf_puts(out, "{\"granularities\":[");
    for (int g = 0; g < v->lim.ngrans; g++) {
        int64_t gm = v->lim.gran_ms[g];
        if (g) hf_buf_putc(out, ',');
        hf_buf_puts(out, "{\"s\":");
        hf_buf_put_int(out, gm / 1000);
        hf_buf_puts(out, ",\"latest\":");
        put_window(out, latest(v, g), gm);
        hf_buf_puts(out, ",\"history\":");
        hf_buf_put_int(out, v->lim.history);
        hf_buf_putc(out, '}');
    }
    hf_buf_puts(out, "],\"stats\":[");
    for (int s = 0; s < nstats; s++) {
        if (s) hf_buf_putc(out, ',');
        hf_buf_put_string(out, v->names[s], strlen(v->names[s]));
    }
    hf_buf_puts(out, "],\"hosts\":");
    hf_buf_put_int(out, (int64_t)v->nhosts);
    hf_buf_puts(out, ",\"alerts_open\":");
    hf_buf_put_int(out, open_alerts(v));
    hf_buf_puts(out, ",\"event_time_ms\":");
    if (v->event_end == INT64_MIN) hf_buf_puts(out, "null");
    else hf_buf_put_int(out, v->event_end);
    hf_buf_putc(out, '}');
    pthread_rwlock_unlock(&v->lock);
    return 0;
}

/* ------------------------------------------------------------------------
 * Rows for a terminal (out_top.c)
 * --------------------------------------------------------------------- */

int hf_view_rows(hf_view *v, int g, int stat, const int *cols, int ncols, int n,
                 hf_view_row *rows, int64_t *start, size_t *hosts)
{
    *hosts = 0;
    if (stat < 0 || n < 1) {
        *start = hf_view_latest(v, g);
        return 0;
    }
    if (n > HF_VIEW_MAX_TOP) n = HF_VIEW_MAX_TOP;
    topent *heap = hf_malloc((size_t)n * sizeof *heap);
    int k = 0;
    pthread_rwlock_rdlock(&v->lock);
    int64_t w = latest(v, g);
    *start = w;
    for (size_t i = 0; i < v->nhosts && w != INT64_MIN; i++) {
        double x;
        if (!value_of(v->hosts[i], g, w, stat, &x)) continue;
        (*hosts)++;
        if (k < n) {
            heap[k++] = (topent){x, i};
            if (k == n)
                for (int j = n / 2 - 1; j >= 0; j--) heap_down(heap, n, j);
        } else if (x > heap[0].val) {
            heap[0] = (topent){x, i};
            heap_down(heap, n, 0);
        }
    }
    qsort(heap, (size_t)k, sizeof *heap, by_value_desc);
    for (int r = 0; r < k; r++) {
        const vhost *h = v->hosts[heap[r].host];
        hf_addr_format(h->addr, h->family, rows[r].ip);
        for (int c = 0; c < ncols && c < HF_VIEW_ROW_COLS; c++)
            if (cols[c] < 0 || !value_of(h, g, w, cols[c], &rows[r].v[c])) rows[r].v[c] = NAN;
        rows[r].alert = h->alert_until > v->event_end;
    }
    pthread_rwlock_unlock(&v->lock);
    hf_free(heap);
    return k;
}

int hf_view_alert_lines(hf_view *v, int n, char (*lines)[160])
{
    int k = 0;
    pthread_rwlock_rdlock(&v->lock);
    for (int i = v->nalerts - 1; i >= 0 && k < n; i--) {
        const valert *a = &v->alerts[i];
        if (a->until <= v->event_end) continue;
        char ip[HF_ADDR_STRLEN];
        hf_addr_format(a->addr, is_v4(a->addr) ? 4 : 6, ip);
        snprintf(lines[k++], 160, "%-39s %-24s observed %g, expected %g", ip,
                 a->rule[0] ? a->rule : "?", a->observed, a->expected);
    }
    pthread_rwlock_unlock(&v->lock);
    return k;
}
