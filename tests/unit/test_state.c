/* test_state.c -- per-host state driven by a schema with every kind of
 * field: start values, merging, memory, serialisation against the schema
 * and hostile input. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "prim/distinct.h"
#include "prim/state.h"
#include "prim/topk.h"
#include "unit.h"

static hf_pool *pool;

/* The state of an analysis that keeps one of everything. */
typedef struct row {
    double      flows;      /* SUM */
    double      first;      /* MIN */
    double      last;       /* MAX */
    hf_distinct peers;      /* DISTINCT, limit 16 */
    hf_topk     ports;      /* TOPK, k 3 */
    hf_distinct dports;     /* DISTINCT, default limit */
    uint32_t    syns;       /* COUNT32 */
} row;

static hf_field fields[] = {
    {offsetof(row, flows),  HF_FIELD_SUM,      0},
    {offsetof(row, first),  HF_FIELD_MIN,      0},
    {offsetof(row, last),   HF_FIELD_MAX,      0},
    {offsetof(row, peers),  HF_FIELD_DISTINCT, 16},
    {offsetof(row, ports),  HF_FIELD_TOPK,     3},
    {offsetof(row, dports), HF_FIELD_DISTINCT, 0},
    {offsetof(row, syns),   HF_FIELD_COUNT32,  0},
};
static const hf_schema schema = {fields, 7, sizeof(row)};

/* One flow's worth of updates, as an analysis would make them. */
static void update(row *r, double t, uint64_t peer, double port, hf_arena *a)
{
    r->flows += 1;
    if (t < r->first) r->first = t;
    if (t > r->last) r->last = t;
    hf_distinct_add_u64(&r->peers, 0x0a000000u + peer, a);      /* an IPv4 address */
    hf_topk_add_number(&r->ports, port, 1, a);
    hf_distinct_add_u64(&r->dports, (uint64_t)port, a);
    r->syns += port == 443;
}

/* ------------------------------------------------------------------------
 * Init and merge
 * --------------------------------------------------------------------- */

TEST(init_sets_start_values_and_parameters)
{
    row r;
    memset(&r, 0xa5, sizeof r);
    hf_state_init(&schema, (uint8_t *)&r);
    CHECK(r.flows == 0.0);
    CHECK(isinf(r.first) && r.first > 0);
    CHECK(isinf(r.last) && r.last < 0);
    CHECK(r.peers.limit == 16 && r.peers.n == 0 && r.peers.form == 0 && r.peers.mem == NULL);
    CHECK(r.ports.k == 3 && r.ports.n == 0 && r.ports.items == NULL);
    CHECK(r.dports.limit == 0);
    CHECK(r.syns == 0);
    CHECK_EQ_INT(hf_state_mem_bytes(&schema, (const uint8_t *)&r), 0);
}

TEST(init_clamps_parameters)
{
    hf_field f[] = {{0, HF_FIELD_DISTINCT, 100000}, {16, HF_FIELD_TOPK, 5000}};
    hf_schema s = {f, 2, 32};
    uint8_t st[32];
    hf_state_init(&s, st);
    CHECK_EQ_INT(((hf_distinct *)(void *)st)->limit, HF_DISTINCT_MAX_LIMIT);
    CHECK_EQ_INT(((hf_topk *)(void *)(st + 16))->k, HF_TOPK_MAX_K);
}

TEST(merge_combines_each_kind)
{
    hf_arena *a = hf_arena_new(pool);
    row x, y, all;
    hf_state_init(&schema, (uint8_t *)&x);
    hf_state_init(&schema, (uint8_t *)&y);
    hf_state_init(&schema, (uint8_t *)&all);
    for (int i = 0; i < 10; i++) {
        update(&x, 100 + i, (uint64_t)i, 80, a);
        update(&all, 100 + i, (uint64_t)i, 80, a);
    }
    for (int i = 0; i < 6; i++) {
        update(&y, 50 + 100 * i, (uint64_t)(i + 8), 443, a);
        update(&all, 50 + 100 * i, (uint64_t)(i + 8), 443, a);
    }
    hf_state_merge(&schema, (uint8_t *)&x, (const uint8_t *)&y, a);
    CHECK(x.flows == 16);
    CHECK(x.first == 50);
    CHECK(x.last == 550);
    CHECK(hf_distinct_count(&x.peers) == 14);
    CHECK(hf_distinct_count(&x.dports) == 2);
    CHECK(x.syns == 6);
    hf_topk_item got[3], want[3];
    CHECK_EQ_INT(hf_topk_items(&x.ports, got, 3), 2);
    CHECK_EQ_INT(hf_topk_items(&all.ports, want, 3), 2);
    for (int i = 0; i < 2; i++) CHECK(got[i].count == want[i].count);
    CHECK(hf_state_mem_bytes(&schema, (const uint8_t *)&x) ==
          hf_distinct_mem_bytes(&x.peers) + hf_topk_mem_bytes(&x.ports) + hf_distinct_mem_bytes(&x.dports));

    /* Merging an initial state changes nothing. */
    row e;
    hf_state_init(&schema, (uint8_t *)&e);
    hf_state_merge(&schema, (uint8_t *)&x, (const uint8_t *)&e, a);
    CHECK(x.flows == 16 && x.first == 50 && x.last == 550);
    /* Merging into an initial state copies. */
    hf_state_merge(&schema, (uint8_t *)&e, (const uint8_t *)&x, a);
    CHECK(e.flows == 16 && e.first == 50 && e.last == 550);
    CHECK(hf_distinct_count(&e.peers) == 14);
    hf_arena_free(a);
}

TEST(merge_of_counts_stops_at_the_top)
{
    row x, y;
    hf_state_init(&schema, (uint8_t *)&x);
    hf_state_init(&schema, (uint8_t *)&y);
    x.syns = UINT32_MAX - 5;
    y.syns = 5;
    hf_state_merge(&schema, (uint8_t *)&x, (const uint8_t *)&y, NULL);
    CHECK(x.syns == UINT32_MAX);                       /* exactly the top */
    hf_state_merge(&schema, (uint8_t *)&x, (const uint8_t *)&y, NULL);
    CHECK(x.syns == UINT32_MAX);                       /* past it: stays, never wraps */
    y.syns = UINT32_MAX;
    hf_state_merge(&schema, (uint8_t *)&y, (const uint8_t *)&x, NULL);
    CHECK(y.syns == UINT32_MAX);
}

TEST(merge_turns_peers_into_a_sketch_past_the_limit)
{
    hf_arena *a = hf_arena_new(pool);
    row x, y;
    hf_state_init(&schema, (uint8_t *)&x);
    hf_state_init(&schema, (uint8_t *)&y);
    for (int i = 0; i < 10; i++) update(&x, i, (uint64_t)i, 1, a);
    for (int i = 10; i < 20; i++) update(&y, i, (uint64_t)i, 1, a);
    hf_state_merge(&schema, (uint8_t *)&x, (const uint8_t *)&y, a);
    CHECK(hf_distinct_is_sketch(&x.peers));           /* 20 > limit 16 */
    CHECK(fabs(hf_distinct_count(&x.peers) - 20) < 1.5);
    hf_arena_free(a);
}

/* ------------------------------------------------------------------------
 * Rows
 * --------------------------------------------------------------------- */

/* A second analysis: runs of every scalar kind. */
typedef struct scalars {
    uint32_t c[3];          /* COUNT32 x 3 */
    uint32_t pad;
    double   s[4];          /* SUM x 4 */
    double   lo[2], hi[2];  /* MIN x 2, MAX x 2 */
} scalars;

static hf_field scalar_fields[] = {
    {offsetof(scalars, c[0]), HF_FIELD_COUNT32, 0}, {offsetof(scalars, c[1]), HF_FIELD_COUNT32, 0},
    {offsetof(scalars, c[2]), HF_FIELD_COUNT32, 0}, {offsetof(scalars, s[0]), HF_FIELD_SUM, 0},
    {offsetof(scalars, s[1]), HF_FIELD_SUM, 0},     {offsetof(scalars, s[2]), HF_FIELD_SUM, 0},
    {offsetof(scalars, s[3]), HF_FIELD_SUM, 0},     {offsetof(scalars, lo[0]), HF_FIELD_MIN, 0},
    {offsetof(scalars, lo[1]), HF_FIELD_MIN, 0},    {offsetof(scalars, hi[0]), HF_FIELD_MAX, 0},
    {offsetof(scalars, hi[1]), HF_FIELD_MAX, 0},
};
static const hf_schema scalar_schema = {scalar_fields, 11, sizeof(scalars)};

/* A row as a window lays it out: 24 bytes of host, the scalars, then the
 * analysis with one of everything, then the scalars again right after it
 * (so runs of one state never join the other's). */
typedef struct wide_row {
    uint8_t host[24];
    scalars a;
    row     b;
    scalars c;
} wide_row;

static void scalars_fill(scalars *x, uint64_t *seed)
{
    for (int i = 0; i < 3; i++) {
        *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
        x->c[i] = (uint32_t)(*seed >> 40) % 3 == 0 ? UINT32_MAX - (uint32_t)(*seed >> 60)
                                                    : (uint32_t)(*seed >> 33);
    }
    const double odd[] = {NAN, INFINITY, -INFINITY, -0.0, 1e300, 0.1};
    for (int i = 0; i < 4; i++) {
        *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
        x->s[i] = (*seed >> 61) == 0 ? odd[(*seed >> 20) % 6] : (double)(int64_t)(*seed >> 12) / 1024;
    }
    for (int i = 0; i < 2; i++) {
        *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
        x->lo[i] = (*seed >> 62) == 0 ? odd[(*seed >> 20) % 6] : (double)(*seed >> 40);
        x->hi[i] = (*seed >> 61) == 0 ? odd[(*seed >> 24) % 6] : (double)(*seed >> 44);
    }
}

TEST(a_row_merges_as_each_of_its_states_does)
{
    hf_state_row r;
    hf_state_row_init(&r);
    hf_state_row_add(&r, &scalar_schema, offsetof(wide_row, a));
    hf_state_row_add(&r, &schema, offsetof(wide_row, b));
    hf_state_row_add(&r, &scalar_schema, offsetof(wide_row, c));
    /* runs: a's counts, sums, mins, maxes; b's seven fields; c's four */
    CHECK_EQ_INT(r.nruns, 4 + 7 + 4);
    CHECK_EQ_INT(r.runs[1].kind, HF_FIELD_SUM);
    CHECK_EQ_INT(r.runs[1].n, 4);
    uint64_t seed = 7;
    for (int round = 0; round < 200; round++) {
        hf_arena *a = hf_arena_new(pool);
        wide_row x, y, z;
        memset(&x, 0, sizeof x);
        memset(&y, 0, sizeof y);
        hf_state_init(&schema, (uint8_t *)&x.b);
        hf_state_init(&schema, (uint8_t *)&y.b);
        scalars_fill(&x.a, &seed);
        scalars_fill(&x.c, &seed);
        scalars_fill(&y.a, &seed);
        scalars_fill(&y.c, &seed);
        for (int i = 0; i < round % 23; i++) update(&x.b, i, (uint64_t)(i * 3), i % 5, a);
        for (int i = 0; i < round % 17; i++) update(&y.b, 100 - i, (uint64_t)(i * 5), i % 7, a);
        /* z: x merged state by state; x: merged as a row */
        hf_state_row_prefetch(&r, (const uint8_t *)&x);
        z = x;
        memset(&z.b, 0, sizeof z.b);
        hf_state_init(&schema, (uint8_t *)&z.b);
        hf_state_merge(&schema, (uint8_t *)&z.b, (const uint8_t *)&x.b, a);    /* a copy of x.b's sets */
        hf_state_merge(&scalar_schema, (uint8_t *)&z.a, (const uint8_t *)&y.a, a);
        hf_state_merge(&schema, (uint8_t *)&z.b, (const uint8_t *)&y.b, a);
        hf_state_merge(&scalar_schema, (uint8_t *)&z.c, (const uint8_t *)&y.c, a);
        hf_state_row_merge(&r, (uint8_t *)&x, (const uint8_t *)&y, a);
        CHECK(memcmp(&x.a, &z.a, sizeof x.a) == 0);
        CHECK(memcmp(&x.c, &z.c, sizeof x.c) == 0);
        static uint8_t sx[1 << 16], sz[1 << 16];
        size_t nx = hf_state_serialize(&schema, (const uint8_t *)&x.b, sx, sizeof sx);
        size_t nz = hf_state_serialize(&schema, (const uint8_t *)&z.b, sz, sizeof sz);
        CHECK(nx == nz && nx <= sizeof sx && memcmp(sx, sz, nx) == 0);
        hf_arena_free(a);
    }
    hf_state_row_release(&r);
}

/* ------------------------------------------------------------------------
 * Serialisation
 * --------------------------------------------------------------------- */

static size_t serialise(const row *r, uint8_t *out, size_t cap)
{
    return hf_state_serialize(&schema, (const uint8_t *)r, out, cap);
}

TEST(serialise_round_trips)
{
    hf_arena *a = hf_arena_new(pool);
    static uint8_t b1[65536], b2[65536];
    for (int round = 0; round < 3; round++) {
        row x, y;
        hf_state_init(&schema, (uint8_t *)&x);
        int n = round == 0 ? 0 : round == 1 ? 7 : 200;       /* empty, exact, sketch */
        for (int i = 0; i < n; i++) update(&x, i * 0.5, (uint64_t)i * 31, i % 9, a);
        size_t need = serialise(&x, NULL, 0);
        CHECK(need <= sizeof b1);
        CHECK_EQ_INT(serialise(&x, b1, sizeof b1), need);
        CHECK_EQ_INT(hf_state_deserialize(&schema, (uint8_t *)&y, b1, need, a), need);
        CHECK(y.flows == x.flows && y.first == x.first && y.last == x.last);
        CHECK(y.syns == x.syns);
        CHECK(hf_distinct_count(&y.peers) == hf_distinct_count(&x.peers));
        CHECK(hf_distinct_count(&y.dports) == hf_distinct_count(&x.dports));
        CHECK_EQ_INT(y.ports.n, x.ports.n);
        CHECK_EQ_INT(serialise(&y, b2, sizeof b2), need);
        CHECK(memcmp(b1, b2, need) == 0);
        /* Short buffer: size returned, nothing written. */
        memset(b2, 0xee, sizeof b2);
        CHECK_EQ_INT(serialise(&x, b2, need - 1), need);
        CHECK(b2[0] == 0xee && b2[need - 2] == 0xee);
        /* Truncated anywhere: refused, state back to its start values. */
        for (size_t cut = 0; cut < need; cut += 1 + cut / 32) {
            CHECK(hf_state_deserialize(&schema, (uint8_t *)&y, b1, cut, a) == -1);
            CHECK(y.flows == 0 && isinf(y.first) && y.peers.n == 0 && y.peers.limit == 16);
        }
    }
    hf_arena_free(a);
}

TEST(another_schema_is_refused)
{
    hf_arena *a = hf_arena_new(pool);
    row x, y;
    hf_state_init(&schema, (uint8_t *)&x);
    update(&x, 1, 2, 3, a);
    uint8_t buf[4096];
    size_t n = serialise(&x, buf, sizeof buf);
    CHECK(n <= sizeof buf);

    /* Fewer fields. */
    hf_schema fewer = {fields, 5, sizeof(row)};
    CHECK(hf_state_deserialize(&fewer, (uint8_t *)&y, buf, n, a) == -1);
    /* Same count, a kind differs (MIN where MAX was). */
    hf_field swapped[7];
    memcpy(swapped, fields, sizeof swapped);
    swapped[2].kind = HF_FIELD_MIN;
    hf_schema other = {swapped, 7, sizeof(row)};
    CHECK(hf_state_deserialize(&other, (uint8_t *)&y, buf, n, a) == -1);
    /* DISTINCT where TOPK was. */
    memcpy(swapped, fields, sizeof swapped);
    swapped[4].kind = HF_FIELD_DISTINCT;
    CHECK(hf_state_deserialize(&other, (uint8_t *)&y, buf, n, a) == -1);
    /* SUM where COUNT32 was: 8 bytes where 4 are. */
    memcpy(swapped, fields, sizeof swapped);
    swapped[6].kind = HF_FIELD_SUM;
    CHECK(hf_state_deserialize(&other, (uint8_t *)&y, buf, n, a) == -1);
    /* The right schema still reads it. */
    CHECK_EQ_INT(hf_state_deserialize(&schema, (uint8_t *)&y, buf, n, a), n);
    hf_arena_free(a);
}

TEST(hostile_input_is_refused)
{
    hf_arena *a = hf_arena_new(pool);
    row x, y;
    hf_state_init(&schema, (uint8_t *)&x);
    update(&x, 1, 2, 3, a);
    uint8_t ok[4096], b[4096];
    size_t n = serialise(&x, ok, sizeof ok);
#define WITH(stmt) do { memcpy(b, ok, n); stmt; \
        CHECK(hf_state_deserialize(&schema, (uint8_t *)&y, b, n, a) == -1); \
        CHECK(y.flows == 0 && y.peers.limit == 16 && y.ports.k == 3); } while (0)
    WITH(b[0] = 0);                                   /* version */
    WITH(b[1] = 1);                                   /* reserved */
    WITH(b[2] = 8);                                   /* field count */
    WITH(b[3] = 1);
    WITH(b[4] = HF_FIELD_MAX);                        /* first kind */
    WITH(b[n - 5] = HF_FIELD_SUM);                    /* the count's kind */
#undef WITH
    /* Any 32-bit count travels; one cut short is refused. */
    memcpy(b, ok, n);
    memset(b + n - 4, 0xff, 4);
    CHECK_EQ_INT(hf_state_deserialize(&schema, (uint8_t *)&y, b, n, a), n);
    CHECK(y.syns == UINT32_MAX);
    CHECK(hf_state_deserialize(&schema, (uint8_t *)&y, b, n - 1, a) == -1);
    CHECK(y.syns == 0);
    /* Any double travels, NaN included, bit for bit. */
    memcpy(b, ok, n);
    b[5 + 7] = 0x7f; b[5 + 6] = 0xf8; b[5] = 0x2a;    /* a NaN with a payload */
    CHECK_EQ_INT(hf_state_deserialize(&schema, (uint8_t *)&y, b, n, a), n);
    CHECK(isnan(y.flows));
    uint8_t back[4096];
    CHECK_EQ_INT(serialise(&y, back, sizeof back), n);
    CHECK(memcmp(back, b, n) == 0);
    CHECK_EQ_INT(hf_state_deserialize(&schema, (uint8_t *)&y, ok, n, a), n);
    /* Random mutations of a valid state: refused or accepted, never a crash;
     * what is accepted serialises to the bytes it was read from. */
    srand(9);
    for (int i = 0; i < 20000; i++) {
        memcpy(b, ok, n);
        int flips = 1 + rand() % 3;
        for (int f = 0; f < flips; f++) b[rand() % n] = (uint8_t)rand();
        size_t len = rand() % 4 ? n : (size_t)rand() % (n + 1);
        long used = hf_state_deserialize(&schema, (uint8_t *)&y, b, len, a);
        if (used < 0) continue;
        uint8_t again[4096];
        CHECK_EQ_INT(serialise(&y, again, sizeof again), used);
        CHECK(memcmp(again, b, (size_t)used) == 0);
    }
    hf_arena_free(a);
}

int main(void)
{
    pool = hf_pool_new(0);
    RUN(init_sets_start_values_and_parameters);
    RUN(init_clamps_parameters);
    RUN(merge_combines_each_kind);
    RUN(merge_of_counts_stops_at_the_top);
    RUN(merge_turns_peers_into_a_sketch_past_the_limit);
    RUN(a_row_merges_as_each_of_its_states_does);
    RUN(serialise_round_trips);
    RUN(another_schema_is_refused);
    RUN(hostile_input_is_refused);
    hf_pool_free(pool);
    return UNIT_END();
}
