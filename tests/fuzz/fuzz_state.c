/* fuzz_state.c -- libFuzzer target for the readers of serialised primitives:
 * hf_distinct_deserialize, hf_topk_deserialize, hf_group_deserialize and
 * hf_state_deserialize.
 *
 * Every input goes to all four readers.  Whatever a reader accepts must be
 * canonical (serialising it gives back exactly the bytes it consumed), and
 * must survive use: the input's remainder is read as a second object, the
 * two are merged both ways, values are added, items and counts read, and
 * every result must serialise, read back and serialise to the same bytes.
 * For distinct sets of equal limits, a ∪ b and b ∪ a must be the same bytes,
 * values added as 16-bit numbers must give the bytes of the same values
 * added as 64-bit ones, alone and in merges, and so must IPv4 addresses and
 * the numbers of their 32 bits; adds of narrow and wide values on top of
 * what was read widen, grow and turn sets into sketches from any shape.
 * A profile's state (bytes kept in place) is read too: accepted bytes are
 * canonical, a refused input leaves it zero, a merge leaves its bytes be.
 * Any broken property aborts with a message; ASan and UBSan watch the rest.
 *
 * Build: make build/fuzz/fuzz_state.  Seeds: tests/fuzz/seeds/state/. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "prim/distinct.h"
#include "prim/group.h"
#include "prim/state.h"
#include "prim/topk.h"

/* the largest serialised state of the schema below: a full top-k and two
 * exact sets of 8-byte keys at the largest limit */
#define BUF (8 + 33 * HF_TOPK_SLOTS(HF_TOPK_MAX_K) + 2 * (8 + 8 * HF_DISTINCT_MAX_LIMIT) + 64)

static uint8_t b1[BUF], b2[BUF], b3[BUF];

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_state: %s\n", what);
    abort();
}

/* ------------------------------------------------------------------------
 * distinct
 * --------------------------------------------------------------------- */

/* ser(d) read back and serialised again gives the same bytes. */
static void distinct_stable(const hf_distinct *d, hf_arena *a)
{
    size_t n = hf_distinct_serialize(d, b1, sizeof b1);
    if (n > sizeof b1) fail("distinct: serialised size");
    hf_distinct e;
    if (hf_distinct_deserialize(&e, b1, n, a) != (long)n) fail("distinct: own bytes refused");
    if (hf_distinct_serialize(&e, b2, sizeof b2) != n || memcmp(b1, b2, n) != 0)
        fail("distinct: round trip not stable");
    if (hf_distinct_count(&e) != hf_distinct_count(d)) fail("distinct: count changed");
}

/* x and y serialise to the same bytes: the same set. */
static void distinct_same(const hf_distinct *x, const hf_distinct *y, const char *what)
{
    size_t n1 = hf_distinct_serialize(x, b1, sizeof b1), n2 = hf_distinct_serialize(y, b2, sizeof b2);
    if (n1 != n2 || n1 > sizeof b1 || memcmp(b1, b2, n1) != 0) fail(what);
}

static void distinct_check(const hf_distinct *d)
{
    double c = hf_distinct_count(d);
    if (!(c >= 0 && c <= 18446744073709551616.0)) fail("distinct: count out of range");
    if (!hf_distinct_is_sketch(d) && c != d->n) fail("distinct: exact count is not n");
}

static void fuzz_distinct(const uint8_t *data, size_t size, hf_arena *a)
{
    hf_distinct x;
    long u = hf_distinct_deserialize(&x, data, size, a);
    if (u < 0) return;
    if ((size_t)u > size) fail("distinct: consumed more than given");
    size_t n = hf_distinct_serialize(&x, b1, sizeof b1);
    if (n != (size_t)u || memcmp(b1, data, n) != 0) fail("distinct: accepted bytes not canonical");
    distinct_check(&x);
    distinct_stable(&x, a);

    /* A second set from the rest, or a few values from the input. */
    hf_distinct y;
    if (hf_distinct_deserialize(&y, data + u, size - (size_t)u, a) < 0) {
        memset(&y, 0, sizeof y);
        y.limit = x.limit;
        for (size_t i = (size_t)u; i + 2 <= size; i += 2)
            hf_distinct_add_u64(&y, (uint64_t)data[i] << 8 | data[i + 1], a);
    }
    distinct_check(&y);

    /* x ∪ y and y ∪ x, each from fresh copies. */
    hf_distinct xy, yx, yc;
    if (hf_distinct_deserialize(&xy, data, (size_t)u, a) != u) fail("distinct: second read differs");
    size_t yn = hf_distinct_serialize(&y, b3, sizeof b3);
    if (hf_distinct_deserialize(&yx, b3, yn, a) != (long)yn) fail("distinct: y refused");
    if (hf_distinct_deserialize(&yc, b3, yn, a) != (long)yn) fail("distinct: y refused");
    hf_distinct_merge(&xy, &yc, a);
    hf_distinct_merge(&yx, &x, a);
    distinct_check(&xy);
    distinct_check(&yx);
    distinct_stable(&xy, a);
    distinct_stable(&yx, a);
    if (x.limit == y.limit) {
        size_t n1 = hf_distinct_serialize(&xy, b1, sizeof b1);
        size_t n2 = hf_distinct_serialize(&yx, b2, sizeof b2);
        if (n1 != n2 || memcmp(b1, b2, n1) != 0) fail("distinct: merge not commutative");
    }
    if (!hf_distinct_is_sketch(&xy) && !hf_distinct_is_sketch(&x) &&
        (xy.n < x.n || xy.n > x.n + y.n))
        fail("distinct: exact union size");

    /* The same values as 16-bit numbers: the same set, alone and merged
     * both ways with what was read. */
    hf_distinct v16 = {0}, v64 = {0};
    v16.limit = v64.limit = y.limit;
    for (size_t i = (size_t)u; i + 2 <= size && i < (size_t)u + 200; i += 2) {
        uint16_t v = (uint16_t)(data[i] << 8 | data[i + 1]);
        hf_distinct_add_u16(&v16, v, a);
        hf_distinct_add_u64(&v64, v, a);
    }
    distinct_same(&v16, &v64, "distinct: 16-bit values differ from the same 64-bit ones");
    hf_distinct v4 = {0}, n32 = {0};
    v4.limit = n32.limit = y.limit;
    for (size_t i = (size_t)u; i + 4 <= size && i < (size_t)u + 400; i += 4) {
        uint8_t addr[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        memcpy(addr + 12, data + i, 4);
        hf_distinct_add_addr(&v4, addr, a);
        hf_distinct_add_u64(&n32, (uint64_t)data[i] << 24 | (uint64_t)data[i + 1] << 16 |
                                  (uint64_t)data[i + 2] << 8 | data[i + 3], a);
    }
    distinct_same(&v4, &n32, "distinct: IPv4 addresses differ from their numbers");
    hf_distinct p, q;
    if (hf_distinct_deserialize(&p, data, (size_t)u, a) != u ||
        hf_distinct_deserialize(&q, data, (size_t)u, a) != u)
        fail("distinct: third read differs");
    hf_distinct_merge(&p, &v16, a);
    hf_distinct_merge(&q, &v64, a);
    distinct_same(&p, &q, "distinct: 16-bit values merge otherwise than 64-bit ones");
    hf_distinct_merge(&v16, &x, a);
    hf_distinct_merge(&v64, &x, a);
    distinct_same(&v16, &v64, "distinct: merged into 16-bit values otherwise than into 64-bit ones");

    /* Adds on top of what was read (growth from any deserialised shape). */
    for (size_t i = 0; i < size && i < 300; i++) {
        if (i % 7 == 6) hf_distinct_add_hash(&x, (uint64_t)data[i] * 0x9e3779b97f4a7c15ULL + i, a);
        else hf_distinct_add_u64(&x, i % 3 ? data[i] * 977u + i : (uint64_t)data[i] << 20 | i, a);
    }
    distinct_check(&x);
    distinct_stable(&x, a);
    hf_distinct_merge(&x, &x, a);
    distinct_stable(&x, a);
}

/* ------------------------------------------------------------------------
 * topk
 * --------------------------------------------------------------------- */

static void topk_check(const hf_topk *t)
{
    uint32_t k = t->k ? t->k : 10;
    if (t->n > HF_TOPK_SLOTS(k) || t->n > t->cap) fail("topk: n beyond slots");
    for (uint32_t i = 0; i < t->n; i++) {
        const hf_topk_item *it = &t->items[i];
        if (!(it->count > 0 && isfinite(it->count))) fail("topk: count out of range");
        if (!(it->error >= 0 && it->error <= it->count)) fail("topk: error out of range");
    }
    static hf_topk_item out[HF_TOPK_MAX_K];
    int m = hf_topk_items(t, out, HF_TOPK_MAX_K);
    if (m < 0 || (uint32_t)m > k || (uint32_t)m > t->n) fail("topk: items count");
    for (int i = 1; i < m; i++)
        if (out[i].count > out[i - 1].count) fail("topk: items not heaviest first");
}

static void topk_stable(const hf_topk *t, hf_arena *a)
{
    size_t n = hf_topk_serialize(t, b1, sizeof b1);
    if (n > sizeof b1) fail("topk: serialised size");
    hf_topk u;
    if (hf_topk_deserialize(&u, b1, n, a) != (long)n) fail("topk: own bytes refused");
    if (hf_topk_serialize(&u, b2, sizeof b2) != n || memcmp(b1, b2, n) != 0)
        fail("topk: round trip not stable");
}

static void fuzz_topk(const uint8_t *data, size_t size, hf_arena *a)
{
    hf_topk x;
    long u = hf_topk_deserialize(&x, data, size, a);
    if (u < 0) return;
    if ((size_t)u > size) fail("topk: consumed more than given");
    size_t n = hf_topk_serialize(&x, b1, sizeof b1);
    if (n != (size_t)u || memcmp(b1, data, n) != 0) fail("topk: accepted bytes not canonical");
    topk_check(&x);
    topk_stable(&x, a);

    hf_topk y;
    if (hf_topk_deserialize(&y, data + u, size - (size_t)u, a) < 0) {
        memset(&y, 0, sizeof y);
        y.k = x.k;
        for (size_t i = (size_t)u; i + 2 <= size; i += 2)
            hf_topk_add_number(&y, data[i] % 16, 1 + data[i + 1], a);
    }
    topk_check(&y);

    hf_topk xy;
    if (hf_topk_deserialize(&xy, data, (size_t)u, a) != u) fail("topk: second read differs");
    hf_topk_merge(&xy, &y, a);
    topk_check(&xy);
    topk_stable(&xy, a);
    hf_topk_merge(&y, &x, a);
    topk_check(&y);
    topk_stable(&y, a);

    for (size_t i = 0; i < size && i < 300; i++) {
        if (i % 3 == 0) {
            uint8_t key[16] = {0};
            key[15] = data[i];
            hf_topk_add(&x, key, HF_KEY_INET6, 1 + i % 5, a);
        } else {
            hf_topk_add_number(&x, data[i] % 32, (double)(i % 7) + 0.5, a);
        }
    }
    topk_check(&x);
    topk_stable(&x, a);
    hf_topk_merge(&x, &x, a);
    topk_check(&x);
    topk_stable(&x, a);
}

/* ------------------------------------------------------------------------
 * group (values of a count and a set: a vertical scan's)
 * --------------------------------------------------------------------- */

typedef struct gvalue {
    uint32_t    flows;
    hf_distinct ports;
} gvalue;

static hf_field gfields[] = {
    {offsetof(gvalue, flows), HF_FIELD_COUNT32, 0},
    {offsetof(gvalue, ports), HF_FIELD_DISTINCT, 0},
};
static const hf_schema gof = {gfields, 2, sizeof(gvalue)};

static void group_check(const hf_group *g)
{
    uint32_t max = g->max ? g->max : HF_GROUP_DEFAULT_MAX;
    if (g->n > max || g->n > g->cap) fail("group: n beyond max");
    for (uint32_t i = 0; i < g->n; i++) {
        const hf_group_entry *e = hf_group_entry_at(g, &gof, i);
        if (e->weight == 0 || e->error > e->weight) fail("group: weight or error out of range");
        for (uint32_t j = 0; j < i; j++)
            if (memcmp(hf_group_entry_at(g, &gof, j)->key, e->key, 16) == 0 &&
                hf_group_entry_at(g, &gof, j)->kind == e->kind)
                fail("group: a key twice");
        distinct_check(&((const gvalue *)(const void *)hf_group_value((hf_group_entry *)e))->ports);
    }
}

static void group_stable(const hf_group *g, hf_arena *a)
{
    size_t n = hf_group_serialize(g, &gof, &hf_state_ops, b1, sizeof b1);
    if (n > sizeof b1) return;               /* larger than the buffers: not compared */
    hf_group h;
    if (hf_group_deserialize(&h, &gof, &hf_state_ops, b1, n, a) != (long)n) fail("group: own bytes refused");
    if (hf_group_serialize(&h, &gof, &hf_state_ops, b2, sizeof b2) != n || memcmp(b1, b2, n) != 0)
        fail("group: round trip not stable");
}

static void fuzz_group(const uint8_t *data, size_t size, hf_arena *a)
{
    hf_group x;
    long u = hf_group_deserialize(&x, &gof, &hf_state_ops, data, size, a);
    if (u < 0) {
        if (x.n || x.mem) fail("group: refused input left entries behind");
        return;
    }
    if ((size_t)u > size) fail("group: consumed more than given");
    size_t n = hf_group_serialize(&x, &gof, &hf_state_ops, b1, sizeof b1);
    if (n != (size_t)u || memcmp(b1, data, n) != 0) fail("group: accepted bytes not canonical");
    group_check(&x);
    group_stable(&x, a);

    hf_group y;
    if (hf_group_deserialize(&y, &gof, &hf_state_ops, data + u, size - (size_t)u, a) < 0) {
        memset(&y, 0, sizeof y);
        y.max = (uint16_t)(1 + (size ? data[0] % 8 : 0));
        for (size_t i = (size_t)u; i + 2 <= size; i += 2) {
            gvalue *v = (gvalue *)(void *)hf_group_at_number(&y, &gof, &hf_state_ops, data[i] % 16, a);
            v->flows++;
            hf_distinct_add_u16(&v->ports, data[i + 1], a);
        }
    }
    group_check(&y);
    hf_group_merge(&x, &y, &gof, &hf_state_ops, a);
    group_check(&x);
    group_stable(&x, a);
    hf_group_merge(&y, &x, &gof, &hf_state_ops, a);
    group_check(&y);
    hf_group_merge(&x, &x, &gof, &hf_state_ops, a);
    group_check(&x);
    for (size_t i = 0; i < size && i < 300; i++) {
        uint8_t key[16] = {0};
        key[15] = data[i] % 24;
        gvalue *v = (gvalue *)(void *)hf_group_at(&x, &gof, &hf_state_ops, key, HF_KEY_INET6, a);
        v->flows++;
        hf_distinct_add_u64(&v->ports, i, a);
    }
    group_check(&x);
    group_stable(&x, a);
    hf_group_release(&x, &gof, &hf_state_ops, a);
    if (x.n || hf_group_mem_bytes(&x, &gof, &hf_state_ops)) fail("group: release left bytes");
}

/* ------------------------------------------------------------------------
 * state (a fixed schema with every kind)
 * --------------------------------------------------------------------- */

typedef struct row {
    double      sum, min, max;
    hf_distinct peers;
    hf_topk     ports;
    hf_distinct other;
    uint32_t    count;
} row;

static hf_field fields[] = {
    {offsetof(row, sum),   HF_FIELD_SUM,      0},
    {offsetof(row, min),   HF_FIELD_MIN,      0},
    {offsetof(row, max),   HF_FIELD_MAX,      0},
    {offsetof(row, peers), HF_FIELD_DISTINCT, 8},
    {offsetof(row, ports), HF_FIELD_TOPK,     2},
    {offsetof(row, other), HF_FIELD_DISTINCT, 0},
    {offsetof(row, count), HF_FIELD_COUNT32,  0},
};
static const hf_schema schema = {fields, 7, sizeof(row)};

static void state_stable(const row *r, hf_arena *a)
{
    size_t n = hf_state_serialize(&schema, (const uint8_t *)r, b1, sizeof b1);
    if (n > sizeof b1) fail("state: serialised size");
    row s;
    if (hf_state_deserialize(&schema, (uint8_t *)&s, b1, n, a) != (long)n) fail("state: own bytes refused");
    if (hf_state_serialize(&schema, (const uint8_t *)&s, b2, sizeof b2) != n || memcmp(b1, b2, n) != 0)
        fail("state: round trip not stable");
}

static void fuzz_state(const uint8_t *data, size_t size, hf_arena *a)
{
    row x, y;
    long u = hf_state_deserialize(&schema, (uint8_t *)&x, data, size, a);
    if (u < 0) {
        /* Refused: the state must be as hf_state_init leaves it. */
        if (x.sum != 0 || x.peers.n || x.peers.mem || x.ports.n || x.ports.items || x.peers.limit != 8 ||
            x.count != 0)
            fail("state: refused input left state behind");
        return;
    }
    if ((size_t)u > size) fail("state: consumed more than given");
    size_t n = hf_state_serialize(&schema, (const uint8_t *)&x, b1, sizeof b1);
    if (n != (size_t)u || memcmp(b1, data, n) != 0) fail("state: accepted bytes not canonical");
    distinct_check(&x.peers);
    distinct_check(&x.other);
    topk_check(&x.ports);
    state_stable(&x, a);
    (void)hf_state_mem_bytes(&schema, (const uint8_t *)&x);

    if (hf_state_deserialize(&schema, (uint8_t *)&y, data + u, size - (size_t)u, a) < 0)
        hf_state_init(&schema, (uint8_t *)&y);
    uint64_t sum = (uint64_t)x.count + y.count;
    hf_state_merge(&schema, (uint8_t *)&x, (const uint8_t *)&y, a);
    if (x.count != (sum > UINT32_MAX ? UINT32_MAX : sum)) fail("state: counts not added up to the top");
    state_stable(&x, a);
    hf_state_merge(&schema, (uint8_t *)&x, (const uint8_t *)&x, a);
    state_stable(&x, a);
}

/* ------------------------------------------------------------------------
 * a profile's state: bytes kept in place (HF_FIELD_BYTES), never merged
 * --------------------------------------------------------------------- */

typedef struct prow {
    double   n;
    uint8_t  set[6];
    uint32_t count;
} prow;

static hf_field pfields[] = {
    {offsetof(prow, n),     HF_FIELD_SUM,     0},
    {offsetof(prow, set),   HF_FIELD_BYTES,   6},
    {offsetof(prow, count), HF_FIELD_COUNT32, 0},
};
static const hf_schema pschema = {pfields, 3, sizeof(prow)};

static void fuzz_bytes(const uint8_t *data, size_t size, hf_arena *a)
{
    prow x, y;
    static const uint8_t zero[6];
    long u = hf_state_deserialize(&pschema, (uint8_t *)&x, data, size, a);
    if (u < 0) {
        if (x.n != 0 || memcmp(x.set, zero, 6) != 0 || x.count != 0) fail("bytes: refused input left state behind");
        return;
    }
    size_t n = hf_state_serialize(&pschema, (const uint8_t *)&x, b1, sizeof b1);
    if (n != (size_t)u || memcmp(b1, data, n) != 0) fail("bytes: accepted bytes not canonical");
    hf_state_init(&pschema, (uint8_t *)&y);
    memset(y.set, 0xab, 6);
    uint8_t keep[6];
    memcpy(keep, x.set, 6);
    hf_state_merge(&pschema, (uint8_t *)&x, (const uint8_t *)&y, a);
    if (memcmp(x.set, keep, 6) != 0) fail("bytes: merged, when they never are");
}

/* ------------------------------------------------------------------------
 * Entry point
 * --------------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hf_pool *pool;
    if (!pool) pool = hf_pool_new(0);
    hf_arena *a = hf_arena_new(pool);
    fuzz_distinct(data, size, a);
    fuzz_topk(data, size, a);
    fuzz_group(data, size, a);
    fuzz_state(data, size, a);
    fuzz_bytes(data, size, a);
    hf_arena_free(a);
    if (hf_pool_bytes(pool) != 0) fail("pool: bytes held after the arena was freed");
    return 0;
}
