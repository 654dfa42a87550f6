/* group.c -- per-key states below the host, the heaviest `max` kept
 * (Space-Saving), mergeable and serialisable (see group.h).
 *
 * How it works
 * ------------
 *
 * A group is an array of entries, scanned linearly: a detection asks a
 * group for a key once per flow it counts, and a group holds a few dozen
 * keys (64 by default), so a scan of 16-byte keys beats keeping an index.
 * An add of key k:
 *
 *   - k held:              weight += 1
 *   - a slot is free:      new entry, weight = 1, error = 0, value initialised
 *   - otherwise:           the entry of least weight (the first on a tie) is
 *                          taken over: its value's memory is given back and
 *                          the value initialised again, error = its weight,
 *                          weight += 1, key = k
 *
 * Unlike topk, whose counters are the whole state, an entry's value (a set
 * of ports, say) belongs to its key: an evicted key's value is dropped, not
 * inherited, so a value only ever holds its own key's data, and the weight
 * says how much of it may be missing (at most `error` adds).
 *
 * The array starts at 2 entries (most groups of a window hold one or two
 * keys) and doubles up to max; each entry is the
 * 32-byte head and the value rounded up to 8 bytes.  Values hold pointers
 * into the arena (sets) and move with their entry when the array grows,
 * which is why a value is valid only until the next add.
 *
 * Merging (Agarwal et al., "Mergeable Summaries", as topk.c): weights and
 * errors are summed over the union of keys, a key missing from a group that
 * is full being charged that group's least weight; values of a key held by
 * both are merged by their schema.  When the union has more than max keys,
 * the heaviest max are kept (ties: the key that sorts first), the others'
 * values given back.
 *
 * Number keys are canonical as in topk.c: a double in the first 8 bytes
 * (-0 made +0, every NaN one quiet NaN), the last 8 bytes zero.
 *
 * Serialised form (version 1, little-endian)
 * ------------------------------------------
 *
 *   u8 version=1 | u8 0 | u16 max | u16 n | u16 0 |
 *   n x ( u8 kind | u8 key[16] | u32 weight | u32 error | u32 len | value: len bytes )
 *
 * the value in the form of state.h (hf_state_serialize with the group's
 * schema).  Entries are written in slot order, so a group read back evicts
 * exactly as the original would.  The reader checks 1 <= max <=
 * HF_GROUP_MAX_KEYS, n <= max, kinds, canonical number keys, 1 <= weight,
 * error <= weight, distinct keys, each value read exactly to its length,
 * and every length before it reads. */
#include "prim/group.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prim/topk.h"   /* the key kinds */

/* ------------------------------------------------------------------------
 * Constants and small helpers
 * --------------------------------------------------------------------- */

#define MIN_CAP        2
#define FORMAT_VERSION 1
#define HDR_BYTES      8
#define ENTRY_HDR      (1 + 16 + 4 + 4 + 4)

static const uint64_t canonical_nan = 0x7ff8000000000000ULL;

static inline uint32_t eff_max(const hf_group *g)
{
    uint32_t m = g->max ? g->max : HF_GROUP_DEFAULT_MAX;
    return m > HF_GROUP_MAX_KEYS ? HF_GROUP_MAX_KEYS : m;
}

/* Bytes of one entry: the head, then the value rounded up to 8. */
static inline size_t stride_of(const hf_schema *of)
{
    return sizeof(hf_group_entry) + ((of->size + 7) & ~(size_t)7);
}

static inline hf_group_entry *entry(const hf_group *g, size_t stride, uint32_t i)
{
    return (hf_group_entry *)(void *)((uint8_t *)g->mem + stride * i);
}

static inline hf_arena *arena_or_current(hf_arena *a)
{
    return a ? a : hf_arena_current();
}

static inline int valid_kind(uint8_t kind)
{
    return kind == HF_KEY_NUMBER || kind == HF_KEY_INET || kind == HF_KEY_INET6;
}

static inline uint32_t sat_add(uint32_t x, uint32_t y)
{
    return x > UINT32_MAX - y ? UINT32_MAX : x + y;
}

static void number_key(double v, uint8_t key[16])
{
    if (v == 0.0) v = 0.0;
    if (isnan(v)) memcpy(&v, &canonical_nan, 8);
    memcpy(key, &v, 8);
    memset(key + 8, 0, 8);
}

static inline int key_eq(const hf_group_entry *e, const uint8_t key[16], uint8_t kind)
{
    uint64_t a0, a1, b0, b1;
    memcpy(&a0, e->key, 8); memcpy(&a1, e->key + 8, 8);
    memcpy(&b0, key, 8);    memcpy(&b1, key + 8, 8);
    return a0 == b0 && a1 == b1 && e->kind == kind;
}

/* A total order on keys: kind, then the bytes. */
static int key_cmp(const uint8_t *k1, uint8_t kind1, const uint8_t *k2, uint8_t kind2)
{
    if (kind1 != kind2) return kind1 < kind2 ? -1 : 1;
    return memcmp(k1, k2, 16);
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ------------------------------------------------------------------------
 * Internals
 * --------------------------------------------------------------------- */

/* Room for at least want entries (at most max), doubling from MIN_CAP. */
static void reserve(hf_group *g, size_t stride, uint32_t want, hf_arena *a)
{
    if (want <= g->cap) return;
    uint32_t max = eff_max(g), cap = g->cap ? g->cap : MIN_CAP;
    while (cap < want) cap *= 2;
    if (cap > max) cap = max < want ? want : max;
    uint8_t *mem = hf_arena_alloc(a, stride * cap);
    if (g->n) memcpy(mem, g->mem, stride * g->n);
    if (g->cap) hf_arena_release(a, g->mem, stride * g->cap);
    g->mem = mem;
    g->cap = (uint16_t)cap;
}

/* Index of the key in g, or -1. */
static long find(const hf_group *g, size_t stride, const uint8_t key[16], uint8_t kind)
{
    for (uint32_t i = 0; i < g->n; i++)
        if (key_eq(entry(g, stride, i), key, kind)) return (long)i;
    return -1;
}

/* The least weight of a full group, else 0: the bound on keys it lacks. */
static uint32_t unheld_bound(const hf_group *g, size_t stride)
{
    if (g->n == 0 || g->n < eff_max(g)) return 0;
    uint32_t m = UINT32_MAX;
    for (uint32_t i = 0; i < g->n; i++)
        if (entry(g, stride, i)->weight < m) m = entry(g, stride, i)->weight;
    return m;
}

/* A new entry at slot i (within cap) for key, its value initialised. */
static hf_group_entry *place(hf_group *g, const hf_schema *of, const hf_value_ops *ops,
                             size_t stride, uint32_t i,
                             const uint8_t key[16], uint8_t kind, uint32_t weight, uint32_t error)
{
    hf_group_entry *e = entry(g, stride, i);
    memset(e, 0, sizeof *e);
    memcpy(e->key, key, 16);
    e->kind = kind;
    e->weight = weight;
    e->error = error;
    ops->init(of, hf_group_value(e));
    return e;
}

/* ------------------------------------------------------------------------
 * API: adding and reading
 * --------------------------------------------------------------------- */

static uint8_t *at(hf_group *g, const hf_schema *of, const hf_value_ops *ops, const uint8_t key[16],
                   uint8_t kind, hf_arena *a)
{
    size_t stride = stride_of(of);
    uint32_t n = g->n;
    uint8_t *p = g->mem;
    for (uint32_t i = 0; i < n; i++, p += stride) {   /* the key: most adds find it */
        hf_group_entry *e = (hf_group_entry *)(void *)p;
        if (key_eq(e, key, kind)) {
            e->weight = sat_add(e->weight, 1);
            return hf_group_value(e);
        }
    }
    a = arena_or_current(a);
    if (n < eff_max(g)) {
        reserve(g, stride, n + 1, a);
        g->n++;
        return hf_group_value(place(g, of, ops, stride, n, key, kind, 1, 0));
    }
    uint32_t m = 0;                                      /* Space-Saving: take over the lightest */
    for (uint32_t i = 1; i < n; i++)
        if (entry(g, stride, i)->weight < entry(g, stride, m)->weight) m = i;
    hf_group_entry *e = entry(g, stride, m);
    uint32_t w = e->weight;
    ops->release(of, hf_group_value(e), a);
    return hf_group_value(place(g, of, ops, stride, m, key, kind, sat_add(w, 1), w));
}

uint8_t *hf_group_at(hf_group *g, const hf_schema *of, const hf_value_ops *ops, const uint8_t key[16],
                     uint8_t kind, hf_arena *a)
{
    if (!valid_kind(kind)) return NULL;
    if (kind == HF_KEY_NUMBER) {
        double v;
        uint8_t k[16];
        memcpy(&v, key, 8);
        number_key(v, k);
        return at(g, of, ops, k, kind, a);
    }
    return at(g, of, ops, key, kind, a);
}

uint8_t *hf_group_at_number(hf_group *g, const hf_schema *of, const hf_value_ops *ops, double key,
                            hf_arena *a)
{
    uint8_t k[16];
    number_key(key, k);
    return at(g, of, ops, k, HF_KEY_NUMBER, a);
}

uint8_t *hf_group_find(const hf_group *g, const hf_schema *of, const hf_value_ops *ops,
                       const uint8_t key[16], uint8_t kind)
{
    size_t stride = stride_of(of);
    uint8_t k[16];
    if (kind == HF_KEY_NUMBER) {
        double v;
        memcpy(&v, key, 8);
        number_key(v, k);
        key = k;
    }
    long i = find(g, stride, key, kind);
    return i < 0 ? NULL : hf_group_value(entry(g, stride, (uint32_t)i));
}

uint8_t *hf_group_find_number(const hf_group *g, const hf_schema *of, const hf_value_ops *ops,
                              double key)
{
    uint8_t k[16];
    number_key(key, k);
    return hf_group_find(g, of, ops, k, HF_KEY_NUMBER);
}

hf_group_entry *hf_group_entry_at(const hf_group *g, const hf_schema *of, uint32_t i)
{
    return i < g->n ? entry(g, stride_of(of), i) : NULL;
}

size_t hf_group_mem_bytes(const hf_group *g, const hf_schema *of, const hf_value_ops *ops)
{
    size_t stride = stride_of(of), n = (size_t)g->cap * stride;
    for (uint32_t i = 0; i < g->n; i++) n += ops->mem_bytes(of, hf_group_value(entry(g, stride, i)));
    return n;
}

void hf_group_release(hf_group *g, const hf_schema *of, const hf_value_ops *ops, hf_arena *a)
{
    size_t stride = stride_of(of);
    a = arena_or_current(a);
    for (uint32_t i = 0; i < g->n; i++) ops->release(of, hf_group_value(entry(g, stride, i)), a);
    if (g->cap) hf_arena_release(a, g->mem, stride * g->cap);
    g->mem = NULL;
    g->n = g->cap = 0;
}

/* ------------------------------------------------------------------------
 * API: merging
 * --------------------------------------------------------------------- */

typedef struct cand {
    const uint8_t *key;
    uint32_t weight;
    uint8_t  kind;
    uint8_t  from_src;   /* 0: dst's entry idx, 1: src's entry idx */
    uint32_t idx;
} cand;

static int cand_cmp(const void *x, const void *y)
{
    const cand *a = x, *b = y;
    if (a->weight != b->weight) return a->weight > b->weight ? -1 : 1;
    return key_cmp(a->key, a->kind, b->key, b->kind);
}

/* A group merged with itself: every weight and error doubles. */
static void merge_self(hf_group *g, const hf_schema *of, const hf_value_ops *ops, hf_arena *a)
{
    size_t stride = stride_of(of);
    for (uint32_t i = 0; i < g->n; i++) {
        hf_group_entry *e = entry(g, stride, i);
        e->weight = sat_add(e->weight, e->weight);
        e->error = sat_add(e->error, e->error);
        ops->merge(of, hf_group_value(e), hf_group_value(e), a);
    }
}

void hf_group_merge(hf_group *dst, const hf_group *src, const hf_schema *of, const hf_value_ops *ops,
                    hf_arena *a)
{
    if (src->n == 0) return;
    a = arena_or_current(a);
    if (dst == src) {
        merge_self(dst, of, ops, a);
        return;
    }
    size_t stride = stride_of(of);
    uint32_t max = eff_max(dst), n1 = dst->n;
    uint32_t m1 = unheld_bound(dst, stride), m2 = unheld_bound(src, stride);

    /* keys of both: add up; note src's keys that dst lacks */
    size_t tmp_bytes = (size_t)(n1 + src->n) * (sizeof(cand) + 1);
    uint8_t *tmp = hf_arena_alloc(a, tmp_bytes);
    cand *c = (cand *)(void *)tmp;
    uint8_t *matched = tmp + (size_t)(n1 + src->n) * sizeof(cand);
    memset(matched, 0, n1);
    uint32_t k = 0;                               /* src-only keys, first in c */
    for (uint32_t j = 0; j < src->n; j++) {
        const hf_group_entry *s = entry(src, stride, j);
        long i = find(dst, stride, s->key, s->kind);
        if (i >= 0) {
            hf_group_entry *d = entry(dst, stride, (uint32_t)i);
            d->weight = sat_add(d->weight, s->weight);
            d->error = sat_add(d->error, s->error);
            ops->merge(of, hf_group_value(d), hf_group_value((hf_group_entry *)s), a);
            matched[i] = 1;
        } else {
            c[k++] = (cand){s->key, sat_add(s->weight, m1), s->kind, 1, j};
        }
    }
    for (uint32_t i = 0; i < n1; i++) {
        if (matched[i]) continue;
        hf_group_entry *d = entry(dst, stride, i);
        d->weight = sat_add(d->weight, m2);
        d->error = sat_add(d->error, m2);
    }

    if (n1 + k > max) {                           /* keep the heaviest max of the union */
        uint32_t nc = k;
        for (uint32_t i = 0; i < n1; i++) {
            hf_group_entry *d = entry(dst, stride, i);
            c[nc++] = (cand){d->key, d->weight, d->kind, 0, i};
        }
        qsort(c, nc, sizeof *c, cand_cmp);
        /* dst's entries not kept give their slots to src's that are */
        memset(matched, 0, n1);                   /* now: kept */
        uint32_t kept_src = 0;
        for (uint32_t i = 0; i < max; i++) {
            if (c[i].from_src) c[kept_src++] = c[i];   /* compacts in place: kept_src <= i */
            else matched[c[i].idx] = 1;
        }
        k = kept_src;
        uint32_t hole = 0, w = 0;
        for (uint32_t i = 0; i < n1; i++) {       /* drop the others, keeping slot order */
            hf_group_entry *d = entry(dst, stride, i);
            if (!matched[i]) {
                ops->release(of, hf_group_value(d), a);
                hole++;
                continue;
            }
            if (w != i) memcpy(entry(dst, stride, w), d, stride);
            w++;
        }
        dst->n = (uint16_t)w;
        (void)hole;
    }
    reserve(dst, stride, dst->n + k, a);
    for (uint32_t j = 0; j < k; j++) {            /* src's keys dst lacked, in src's slot order */
        const hf_group_entry *s = entry(src, stride, c[j].idx);
        uint32_t charge = c[j].weight - s->weight;
        hf_group_entry *d = place(dst, of, ops, stride, dst->n++, s->key, s->kind, c[j].weight,
                                  sat_add(s->error, charge));
        ops->merge(of, hf_group_value(d), hf_group_value((hf_group_entry *)s), a);
    }
    hf_arena_release(a, tmp, tmp_bytes);
}

/* ------------------------------------------------------------------------
 * API: serialisation
 * --------------------------------------------------------------------- */

size_t hf_group_serialize(const hf_group *g, const hf_schema *of, const hf_value_ops *ops,
                          uint8_t *out, size_t cap)
{
    size_t stride = stride_of(of), need = HDR_BYTES;
    for (uint32_t i = 0; i < g->n; i++)
        need += ENTRY_HDR + ops->serialize(of, hf_group_value(entry(g, stride, i)), NULL, 0);
    if (need > cap || !out) return need;
    out[0] = FORMAT_VERSION;
    out[1] = 0;
    put16(out + 2, (uint16_t)eff_max(g));
    put16(out + 4, g->n);
    put16(out + 6, 0);
    uint8_t *p = out + HDR_BYTES;
    for (uint32_t i = 0; i < g->n; i++) {
        hf_group_entry *e = entry(g, stride, i);
        size_t len = ops->serialize(of, hf_group_value(e), NULL, 0);
        p[0] = e->kind;
        memcpy(p + 1, e->key, 16);
        put32(p + 17, e->weight);
        put32(p + 21, e->error);
        put32(p + 25, (uint32_t)len);
        ops->serialize(of, hf_group_value(e), p + ENTRY_HDR, len);
        p += ENTRY_HDR + len;
    }
    return need;
}

long hf_group_deserialize(hf_group *g, const hf_schema *of, const hf_value_ops *ops,
                          const uint8_t *in, size_t len, hf_arena *a)
{
    memset(g, 0, sizeof *g);
    if (!in || len < HDR_BYTES || in[0] != FORMAT_VERSION || in[1] != 0 || get16(in + 6) != 0)
        return -1;
    uint32_t max = get16(in + 2), n = get16(in + 4);
    if (max == 0 || max > HF_GROUP_MAX_KEYS || n > max) return -1;
    /* the heads first: kinds, keys, weights and lengths, before any memory */
    size_t pos = HDR_BYTES;
    for (uint32_t i = 0; i < n; i++) {
        if (len - pos < ENTRY_HDR) return -1;
        const uint8_t *p = in + pos;
        uint32_t w = get32(p + 17), err = get32(p + 21), vlen = get32(p + 25);
        if (!valid_kind(p[0]) || w == 0 || err > w) return -1;
        if (p[0] == HF_KEY_NUMBER) {
            double v;
            uint8_t k[16];
            memcpy(&v, p + 1, 8);
            number_key(v, k);
            if (memcmp(k, p + 1, 16) != 0) return -1;
        }
        if (len - pos - ENTRY_HDR < vlen) return -1;
        for (size_t q = HDR_BYTES; q < pos;) {    /* keys distinct */
            if (in[q] == p[0] && memcmp(in + q + 1, p + 1, 16) == 0) return -1;
            q += ENTRY_HDR + get32(in + q + 25);
        }
        pos += ENTRY_HDR + vlen;
    }
    g->max = (uint16_t)max;
    if (n == 0) return (long)pos;
    a = arena_or_current(a);
    size_t stride = stride_of(of);
    reserve(g, stride, n, a);
    pos = HDR_BYTES;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p = in + pos;
        uint32_t vlen = get32(p + 25);
        hf_group_entry *e = place(g, of, ops, stride, i, p + 1, p[0], get32(p + 17), get32(p + 21));
        g->n = (uint16_t)(i + 1);
        if (ops->deserialize(of, hf_group_value(e), p + ENTRY_HDR, vlen, a) != (long)vlen) {
            hf_group_release(g, of, ops, a);
            memset(g, 0, sizeof *g);
            return -1;
        }
        pos += ENTRY_HDR + vlen;
    }
    return (long)pos;
}
