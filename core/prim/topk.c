/* topk.c -- the k heaviest keys of a weighted stream: Space-Saving
 * (Metwally, Agrawal, El Abbadi 2005), mergeable and serialisable.
 *
 * How it works
 * ------------
 *
 * A summary watches at most S = HF_TOPK_SLOTS(k) keys.  An add of (key, w):
 *
 *   - key watched:          count += w
 *   - a slot is free:       new item, count = w, error = 0
 *   - otherwise:            the item of least count (the first one, on a
 *                           tie) is taken over: error = its count,
 *                           count += w, key = the new key
 *
 * so for every watched key  count - error <= true weight <= count, and every
 * unwatched key weighs at most the least count (0 while slots are free).
 * Slots are scanned linearly: S is a few dozen for the k an analysis asks
 * for, and a scan of 30 items is cheaper than keeping a heap or an index.
 *
 *   hf_topk (16 bytes)            items (arena), cap grows 4, 8, 16 ... S
 *   +----+----+-----+-------+     +------------------------------------+
 *   | k  | n  | cap | items-+---> | key[16] | count | error | kind |pad | x cap
 *   +----+----+-----+-------+     +------------------------------------+
 *                                  40 bytes each, unused slots beyond n
 *
 * The array starts at 4 slots and doubles up to S, so a host that shows
 * three ports costs 160 bytes, not the 1200 of a full k = 10 summary.
 *
 * Merging (Agarwal et al., "Mergeable Summaries", 2012, in the Space-Saving
 * form): counts and errors are summed over the union of keys, a key missing
 * from a summary that is full being charged that summary's least count (its
 * upper bound there), then the S heaviest are kept.  The bounds above hold
 * for the merged stream, and merging is as exact as adding both streams to
 * one summary whenever neither summary ever had to evict.  Keys are matched
 * by scanning while n1 * n2 <= 4096 (k up to about 20), by sorting beyond.
 *
 * Number keys are canonical: a double in the first 8 bytes (-0 made +0,
 * every NaN one quiet NaN), the last 8 bytes zero, so equal numbers are
 * equal keys.
 *
 * Serialised form (version 1, little-endian)
 * ------------------------------------------
 *
 *   u8 version=1 | u8 0 | u16 k | u16 n | u16 0 |
 *   n x ( u8 kind | u8 key[16] | f64 count | f64 error )      (33 bytes each)
 *
 * Items are written in slot order, so a summary read back evicts exactly as
 * the original would.  The reader checks 1 <= k <= HF_TOPK_MAX_K, n <= S,
 * kinds, canonical number keys, 0 <= error <= count, count > 0 and finite,
 * distinct keys, and every length before it reads. */
#include "prim/topk.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Constants and small helpers
 * --------------------------------------------------------------------- */

#define DEFAULT_K      10
#define MIN_CAP        4
#define FORMAT_VERSION 1
#define HDR_BYTES      8
#define ITEM_BYTES     33
#define MATCH_SCAN_MAX 4096   /* merge: match keys by scanning up to n1 * n2 this */

static const uint64_t canonical_nan = 0x7ff8000000000000ULL;

static inline uint32_t eff_k(const hf_topk *t)
{
    uint32_t k = t->k ? t->k : DEFAULT_K;
    return k > HF_TOPK_MAX_K ? HF_TOPK_MAX_K : k;
}

static inline uint32_t slots_of(const hf_topk *t) { return HF_TOPK_SLOTS(eff_k(t)); }

/* The slots allocated for n items when grown one add at a time. */
static uint32_t cap_for(uint32_t n, uint32_t slots)
{
    uint32_t c = MIN_CAP;
    while (c < n) c *= 2;
    return c < slots ? c : slots;
}

static inline hf_arena *arena_or_current(hf_arena *a)
{
    return a ? a : hf_arena_current();
}

static inline int valid_kind(uint8_t kind)
{
    return kind == HF_KEY_NUMBER || kind == HF_KEY_INET || kind == HF_KEY_INET6;
}

/* Make a number key canonical in place. */
static void canonical_number(uint8_t key[16])
{
    double v;
    memcpy(&v, key, 8);
    if (v == 0.0) v = 0.0;
    if (isnan(v)) memcpy(&v, &canonical_nan, 8);
    memcpy(key, &v, 8);
    memset(key + 8, 0, 8);
}

static inline int key_eq(const hf_topk_item *it, const uint8_t key[16], uint8_t kind)
{
    uint64_t a0, a1, b0, b1;
    memcpy(&a0, it->key, 8); memcpy(&a1, it->key + 8, 8);
    memcpy(&b0, key, 8);     memcpy(&b1, key + 8, 8);
    return a0 == b0 && a1 == b1 && it->kind == kind;
}

/* A total order on keys: by kind, then by number (NaN last) or address bytes. */
static int key_cmp(const hf_topk_item *x, const hf_topk_item *y)
{
    if (x->kind != y->kind) return x->kind < y->kind ? -1 : 1;
    if (x->kind == HF_KEY_NUMBER) {
        double a, b;
        memcpy(&a, x->key, 8);
        memcpy(&b, y->key, 8);
        if (isnan(a) || isnan(b)) return isnan(a) - isnan(b);
        return (a > b) - (a < b);
    }
    return memcmp(x->key, y->key, 16);
}

/* The order of hf_topk_items(): count descending, then key ascending. */
static int rank_cmp(const hf_topk_item *x, const hf_topk_item *y)
{
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return key_cmp(x, y);
}

static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static void putf64(uint8_t *p, double d) { uint64_t v; memcpy(&v, &d, 8); put64(p, v); }
static double getf64(const uint8_t *p) { uint64_t v = get64(p); double d; memcpy(&d, &v, 8); return d; }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* x + y for counts: saturates at DBL_MAX, so a count stays finite (and a
 * summary stays serialisable) whatever weights and merges it has seen. */
static inline double sat_add(double x, double y)
{
    double s = x + y;
    return s <= DBL_MAX ? s : DBL_MAX;
}

/* ------------------------------------------------------------------------
 * Internals
 * --------------------------------------------------------------------- */

/* Give the summary room for at least want items (at most its slots). */
static void reserve(hf_topk *t, uint32_t want, hf_arena *a)
{
    if (want <= t->cap) return;
    uint32_t cap = cap_for(want, slots_of(t));
    if (cap < want) cap = want;
    hf_topk_item *items = hf_arena_calloc(a, (size_t)cap * sizeof *items);
    if (t->n) memcpy(items, t->items, (size_t)t->n * sizeof *items);
    hf_arena_release(a, t->items, (size_t)t->cap * sizeof *items);
    t->items = items;
    t->cap = cap;
}

/* Add weight w (> 0, finite) to a canonical key.  One pass over the n
 * items. */
static void add_item(hf_topk *t, const uint8_t key[16], uint8_t kind, double w, hf_arena *a)
{
    hf_topk_item *it = t->items;
    uint32_t n = t->n, m = 0;
    for (uint32_t i = 0; i < n; i++) {      /* find the key, note the least count */
        if (key_eq(&it[i], key, kind)) {
            it[i].count = sat_add(it[i].count, w);
            return;
        }
        if (it[i].count < it[m].count) m = i;
    }
    if (n < slots_of(t)) {
        if (n == t->cap) reserve(t, n + 1, arena_or_current(a));
        it = &t->items[t->n++];
        memset(it, 0, sizeof *it);
        memcpy(it->key, key, 16);
        it->kind = kind;
        it->count = w;
        return;
    }
    memcpy(it[m].key, key, 16);
    it[m].kind = kind;
    it[m].error = it[m].count;
    it[m].count = sat_add(it[m].count, w);
}

/* The least count of a full summary, else 0: the bound on unwatched keys. */
static double unwatched_bound(const hf_topk *t)
{
    if (t->n < slots_of(t) || t->n == 0) return 0.0;
    double m = t->items[0].count;
    for (uint32_t i = 1; i < t->n; i++)
        if (t->items[i].count < m) m = t->items[i].count;
    return m;
}

/* ------------------------------------------------------------------------
 * API: adding and reading
 * --------------------------------------------------------------------- */

/* Add weight to a key of kind HF_KEY_*.  Weights that are not positive and
 * finite, and unknown kinds, are ignored.  O(HF_TOPK_SLOTS(k)). */
void hf_topk_add(hf_topk *t, const uint8_t key[16], uint8_t kind, double weight, hf_arena *a)
{
    if (!(weight > 0.0 && weight <= DBL_MAX) || !valid_kind(kind)) return;
    if (kind == HF_KEY_NUMBER) {
        uint8_t k[16];
        memcpy(k, key, 16);
        canonical_number(k);
        add_item(t, k, kind, weight, a);
    } else {
        add_item(t, key, kind, weight, a);
    }
}

/* Add weight to the number key. */
void hf_topk_add_number(hf_topk *t, double key, double weight, hf_arena *a)
{
    uint8_t k[16];
    memcpy(k, &key, 8);
    memset(k + 8, 0, 8);
    canonical_number(k);
    if (!(weight > 0.0 && weight <= DBL_MAX)) return;
    add_item(t, k, HF_KEY_NUMBER, weight, a);
}

/* Copy the min(max, k) heaviest items into out, heaviest first, ties by
 * smaller key.  Returns the number copied.  O(n * min(max, k)), no memory. */
int hf_topk_items(const hf_topk *t, hf_topk_item *out, int max)
{
    if (max <= 0 || t->n == 0) return 0;
    uint32_t m = eff_k(t) < (uint32_t)max ? eff_k(t) : (uint32_t)max, got = 0;
    for (uint32_t i = 0; i < t->n; i++) {
        const hf_topk_item *x = &t->items[i];
        uint32_t j;
        if (got < m) j = got++;
        else if (rank_cmp(x, &out[m - 1]) < 0) j = m - 1;
        else continue;
        while (j > 0 && rank_cmp(x, &out[j - 1]) < 0) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = *x;
    }
    return (int)got;
}

/* Bytes of the items array in the arena. */
size_t hf_topk_mem_bytes(const hf_topk *t)
{
    return (size_t)t->cap * sizeof(hf_topk_item);
}

void hf_topk_release(hf_topk *t, hf_arena *a)
{
    if (t->cap) hf_arena_release(arena_or_current(a), t->items, (size_t)t->cap * sizeof(hf_topk_item));
    t->items = NULL;
    t->cap = 0;
    t->n = 0;
}

/* ------------------------------------------------------------------------
 * API: merging
 * --------------------------------------------------------------------- */

typedef struct tagged {
    hf_topk_item it;
    int from;                 /* 1: dst only, 2: src only, 3: both */
} tagged;

static int tagged_key_cmp(const void *x, const void *y)
{
    return key_cmp(&((const tagged *)x)->it, &((const tagged *)y)->it);
}

static int tagged_rank_cmp(const void *x, const void *y)
{
    return rank_cmp(&((const tagged *)x)->it, &((const tagged *)y)->it);
}

/* Combine the items of dst and src into tmp (room for n1 + n2): one entry
 * per key, counts and errors summed where both have it.  Returns the number
 * of entries.  Small summaries match keys by scanning (n1 * n2 key
 * compares), large ones by sorting on the key. */
static uint32_t merge_union(tagged *tmp, const hf_topk *dst, const hf_topk *src)
{
    uint32_t n1 = dst->n, n2 = src->n, u;
    for (uint32_t i = 0; i < n1; i++) { tmp[i].it = dst->items[i]; tmp[i].from = 1; }
    if ((size_t)n1 * n2 <= MATCH_SCAN_MAX) {
        u = n1;
        for (uint32_t j = 0; j < n2; j++) {
            const hf_topk_item *x = &src->items[j];
            uint32_t i = 0;
            while (i < n1 && !(tmp[i].from == 1 && key_eq(&tmp[i].it, x->key, x->kind))) i++;
            if (i < n1) {
                tmp[i].it.count = sat_add(tmp[i].it.count, x->count);
                tmp[i].it.error = sat_add(tmp[i].it.error, x->error);
                tmp[i].from = 3;
            } else {
                tmp[u].it = *x;
                tmp[u++].from = 2;
            }
        }
        return u;
    }
    for (uint32_t i = 0; i < n2; i++) { tmp[n1 + i].it = src->items[i]; tmp[n1 + i].from = 2; }
    qsort(tmp, n1 + n2, sizeof *tmp, tagged_key_cmp);
    u = 0;
    for (uint32_t i = 0; i < n1 + n2; i++) {
        if (u && tmp[u - 1].from != tmp[i].from && tmp[u - 1].from != 3 &&
            key_cmp(&tmp[u - 1].it, &tmp[i].it) == 0) {
            tmp[u - 1].it.count = sat_add(tmp[u - 1].it.count, tmp[i].it.count);
            tmp[u - 1].it.error = sat_add(tmp[u - 1].it.error, tmp[i].it.error);
            tmp[u - 1].from = 3;
        } else {
            tmp[u++] = tmp[i];
        }
    }
    return u;
}

/* dst := dst merged with src (dst's k applies): sum over the union, a key
 * missing from a full summary charged its least count, keep the heaviest
 * HF_TOPK_SLOTS(k).  O(n1 n2) for small summaries, O(n log n) for large
 * ones; temporary arena memory. */
void hf_topk_merge(hf_topk *dst, const hf_topk *src, hf_arena *a)
{
    if (src->n == 0) return;
    a = arena_or_current(a);
    uint32_t slots = slots_of(dst);
    double m1 = unwatched_bound(dst), m2 = unwatched_bound(src);
    size_t tmp_bytes = (size_t)(dst->n + src->n) * sizeof(tagged);
    tagged *tmp = hf_arena_alloc(a, tmp_bytes);
    uint32_t u = merge_union(tmp, dst, src);
    for (uint32_t i = 0; i < u; i++) {
        double charge = tmp[i].from == 1 ? m2 : tmp[i].from == 2 ? m1 : 0.0;
        tmp[i].it.count = sat_add(tmp[i].it.count, charge);
        tmp[i].it.error = sat_add(tmp[i].it.error, charge);
    }
    if (u > slots) qsort(tmp, u, sizeof *tmp, tagged_rank_cmp);   /* keep the heaviest */

    uint32_t keep = u < slots ? u : slots;
    reserve(dst, keep, a);
    for (uint32_t i = 0; i < keep; i++) dst->items[i] = tmp[i].it;
    dst->n = (uint16_t)keep;
    hf_arena_release(a, tmp, tmp_bytes);
}

/* ------------------------------------------------------------------------
 * API: serialisation
 * --------------------------------------------------------------------- */

/* Serialise into out (cap bytes): 8 + 33 n bytes.  Returns the size needed;
 * writes nothing unless it fits. */
size_t hf_topk_serialize(const hf_topk *t, uint8_t *out, size_t cap)
{
    size_t need = HDR_BYTES + (size_t)t->n * ITEM_BYTES;
    if (need > cap || !out) return need;
    out[0] = FORMAT_VERSION;
    out[1] = 0;
    put16(out + 2, (uint16_t)eff_k(t));
    put16(out + 4, t->n);
    put16(out + 6, 0);
    uint8_t *p = out + HDR_BYTES;
    for (uint32_t i = 0; i < t->n; i++, p += ITEM_BYTES) {
        const hf_topk_item *it = &t->items[i];
        p[0] = it->kind;
        memcpy(p + 1, it->key, 16);
        putf64(p + 17, it->count);
        putf64(p + 25, it->error);
    }
    return need;
}

/* Read a serialised summary into *t.  Returns the bytes consumed, or -1
 * (and *t empty) on truncated or invalid input.  O(n log n); allocates only
 * for input that passed the field checks. */
long hf_topk_deserialize(hf_topk *t, const uint8_t *in, size_t len, hf_arena *a)
{
    memset(t, 0, sizeof *t);
    if (!in || len < HDR_BYTES || in[0] != FORMAT_VERSION || in[1] != 0 || get16(in + 6) != 0)
        return -1;
    uint32_t k = get16(in + 2), n = get16(in + 4);
    if (k == 0 || k > HF_TOPK_MAX_K || n > HF_TOPK_SLOTS(k)) return -1;
    if (len - HDR_BYTES < (size_t)n * ITEM_BYTES) return -1;

    const uint8_t *p = in + HDR_BYTES;
    for (uint32_t i = 0; i < n; i++, p += ITEM_BYTES) {
        double count = getf64(p + 17), error = getf64(p + 25);
        if (!valid_kind(p[0])) return -1;
        if (!(count > 0.0 && count <= DBL_MAX)) return -1;
        if (!(error >= 0.0 && error <= count)) return -1;
        if (p[0] == HF_KEY_NUMBER) {
            uint8_t key[16];
            memcpy(key, p + 1, 16);
            canonical_number(key);
            if (memcmp(key, p + 1, 16) != 0) return -1;
        }
    }

    t->k = (uint16_t)k;
    if (n == 0) return HDR_BYTES;
    a = arena_or_current(a);
    reserve(t, n, a);
    p = in + HDR_BYTES;
    for (uint32_t i = 0; i < n; i++, p += ITEM_BYTES) {
        hf_topk_item *it = &t->items[i];
        it->kind = p[0];
        memcpy(it->key, p + 1, 16);
        it->count = getf64(p + 17);
        it->error = getf64(p + 25);
    }
    t->n = (uint16_t)n;

    /* Keys must be distinct: sort a copy by key and compare neighbours. */
    size_t tmp_bytes = (size_t)n * sizeof(tagged);
    tagged *tmp = hf_arena_alloc(a, tmp_bytes);
    for (uint32_t i = 0; i < n; i++) { tmp[i].it = t->items[i]; tmp[i].from = 0; }
    qsort(tmp, n, sizeof *tmp, tagged_key_cmp);
    int dup = 0;
    for (uint32_t i = 1; i < n && !dup; i++) dup = key_cmp(&tmp[i - 1].it, &tmp[i].it) == 0;
    hf_arena_release(a, tmp, tmp_bytes);
    if (dup) {
        hf_arena_release(a, t->items, (size_t)t->cap * sizeof(hf_topk_item));
        memset(t, 0, sizeof *t);
        return -1;
    }
    return (long)(HDR_BYTES + (size_t)n * ITEM_BYTES);
}
