/* test_group.c -- the keyed primitive: per key a value of its own schema,
 * at most max keys (the heaviest kept), merging, memory, serialisation and
 * hostile input, alone and inside a state. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/arena.h"
#include "prim/distinct.h"
#include "prim/group.h"
#include "prim/state.h"
#include "prim/topk.h"
#include "unit.h"

static hf_pool *pool;

/* The value of a vertical-scan group: per destination, probe flows and the
 * distinct ports. */
typedef struct value {
    uint32_t    flows;   /* COUNT32 */
    hf_distinct ports;   /* DISTINCT */
} value;

static hf_field value_fields[] = {
    {offsetof(value, flows), HF_FIELD_COUNT32, 0},
    {offsetof(value, ports), HF_FIELD_DISTINCT, 0},
};
static const hf_schema of = {value_fields, 2, sizeof(value)};

/* A state holding a counter and a group of at most 4 keys. */
typedef struct row {
    double   total;
    hf_group targets;
} row;

static hf_field row_fields[] = {
    {offsetof(row, total), HF_FIELD_SUM, 0},
    {offsetof(row, targets), HF_FIELD_GROUP, 4},
    {sizeof(value), HF_FIELD_OF, 2},
    {offsetof(value, flows), HF_FIELD_COUNT32, 0},
    {offsetof(value, ports), HF_FIELD_DISTINCT, 0},
};
static const hf_schema schema = {row_fields, 5, sizeof(row)};

static void addr(uint8_t out[16], uint32_t v4)
{
    memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    out[12] = (uint8_t)(v4 >> 24); out[13] = (uint8_t)(v4 >> 16);
    out[14] = (uint8_t)(v4 >> 8);  out[15] = (uint8_t)v4;
}

/* One probe of dst:port, as the vertical scan analysis counts it. */
static void probe(hf_group *g, uint32_t dst, uint16_t port, hf_arena *a)
{
    uint8_t k[16];
    addr(k, dst);
    value *v = (value *)(void *)hf_group_at(g, &of, &hf_state_ops, k, HF_KEY_INET, a);
    v->flows++;
    hf_distinct_add_u16(&v->ports, port, a);
}

static const value *get(const hf_group *g, uint32_t dst)
{
    uint8_t k[16];
    addr(k, dst);
    return (const value *)(const void *)hf_group_find(g, &of, &hf_state_ops, k, HF_KEY_INET);
}

static hf_group fresh(uint16_t max)
{
    hf_group g;
    memset(&g, 0, sizeof g);
    g.max = max;
    return g;
}

/* ------------------------------------------------------------------------
 * Adding
 * --------------------------------------------------------------------- */

TEST(an_empty_group_holds_nothing)
{
    hf_group g = fresh(0);
    CHECK_EQ_INT(sizeof(hf_group), 16);
    CHECK_EQ_INT(sizeof(hf_group_entry), 32);
    CHECK(hf_group_find(&g, &of, &hf_state_ops, (const uint8_t *)"0123456789abcdef", HF_KEY_INET6) == NULL);
    CHECK_EQ_INT(hf_group_mem_bytes(&g, &of, &hf_state_ops), 0);
    CHECK(hf_group_entry_at(&g, &of, 0) == NULL);
}

TEST(each_key_has_a_value_of_its_own)
{
    hf_arena *a = hf_arena_new(pool);
    hf_group g = fresh(64);
    for (uint16_t p = 1; p <= 30; p++) probe(&g, 7, p, a);
    for (uint16_t p = 1; p <= 3; p++) probe(&g, 8, p, a);
    CHECK_EQ_INT(g.n, 2);
    CHECK_EQ_INT(get(&g, 7)->flows, 30);
    CHECK_EQ_INT(hf_distinct_count(&get(&g, 7)->ports), 30);
    CHECK_EQ_INT(hf_distinct_count(&get(&g, 8)->ports), 3);
    CHECK(get(&g, 9) == NULL);
    CHECK_EQ_INT(hf_group_entry_at(&g, &of, 0)->weight, 30);
    CHECK_EQ_INT(hf_group_entry_at(&g, &of, 1)->error, 0);
    hf_arena_free(a);
}

TEST(number_keys_are_canonical)
{
    hf_arena *a = hf_arena_new(pool);
    hf_group g = fresh(8);
    value *x = (value *)(void *)hf_group_at_number(&g, &of, &hf_state_ops, 0.0, a);
    value *y = (value *)(void *)hf_group_at_number(&g, &of, &hf_state_ops, -0.0, a);
    CHECK(x == y);
    hf_group_at_number(&g, &of, &hf_state_ops, NAN, a);
    hf_group_at_number(&g, &of, &hf_state_ops, -NAN, a);
    CHECK_EQ_INT(g.n, 2);
    CHECK(hf_group_find_number(&g, &of, &hf_state_ops, 0.0) != NULL);
    CHECK(hf_group_find_number(&g, &of, &hf_state_ops, 80) == NULL);
    uint8_t bad[16] = {0};
    CHECK(hf_group_at(&g, &of, &hf_state_ops, bad, 99, a) == NULL);
    hf_arena_free(a);
}

TEST(at_most_max_keys_are_kept_and_the_heavy_ones_survive)
{
    hf_arena *a = hf_arena_new(pool);
    hf_group g = fresh(8);
    /* one heavy destination among 1,000 light ones, interleaved */
    for (uint32_t i = 0; i < 1000; i++) {
        probe(&g, 1000 + i, (uint16_t)i, a);
        if (i % 2 == 0) probe(&g, 7, (uint16_t)i, a);   /* 500 of 1,500 > 1,500 / 8 */
        CHECK(g.n <= 8);
    }
    CHECK_EQ_INT(g.n, 8);
    CHECK(get(&g, 7) != NULL);
    const value *v = get(&g, 7);
    CHECK(v && v->flows > 400);                      /* lost at most its first few */
    for (uint32_t i = 0; i < g.n; i++) {
        const hf_group_entry *e = hf_group_entry_at(&g, &of, i);
        CHECK(e->error <= e->weight);
        CHECK(e->weight >= ((const value *)(const void *)hf_group_value((hf_group_entry *)e))->flows);
        CHECK(e->weight - e->error <= ((const value *)(const void *)hf_group_value((hf_group_entry *)e))->flows);
    }
    hf_arena_free(a);
}

TEST(evicted_values_give_their_memory_back)
{
    hf_arena *a = hf_arena_new(pool);
    hf_group g = fresh(4);
    for (uint32_t i = 0; i < 4; i++)
        for (uint16_t p = 0; p < 20; p++) probe(&g, i, p, a);
    size_t full = hf_group_mem_bytes(&g, &of, &hf_state_ops);
    size_t before = hf_arena_bytes(a);
    /* 100,000 new keys, each taking over the lightest entry */
    for (uint32_t i = 0; i < 100000; i++)
        for (uint16_t p = 0; p < 20; p++) probe(&g, 100 + i, p, a);
    CHECK_EQ_INT(g.n, 4);
    CHECK(hf_group_mem_bytes(&g, &of, &hf_state_ops) <= full);
    CHECK(hf_arena_bytes(a) <= before + HF_ARENA_BLOCK);   /* reused, not grown */
    hf_group_release(&g, &of, &hf_state_ops, a);
    CHECK_EQ_INT(g.n, 0);
    CHECK_EQ_INT(hf_group_mem_bytes(&g, &of, &hf_state_ops), 0);
    CHECK_EQ_INT(g.max, 4);
    hf_arena_free(a);
}

/* ------------------------------------------------------------------------
 * Merging
 * --------------------------------------------------------------------- */

TEST(merge_unites_keys_and_merges_their_values)
{
    hf_arena *a = hf_arena_new(pool);
    hf_group x = fresh(16), y = fresh(16);
    for (uint16_t p = 0; p < 10; p++) probe(&x, 7, p, a);
    for (uint16_t p = 5; p < 25; p++) probe(&y, 7, p, a);
    probe(&y, 8, 22, a);
    hf_group_merge(&x, &y, &of, &hf_state_ops, a);
    CHECK_EQ_INT(x.n, 2);
    CHECK_EQ_INT(get(&x, 7)->flows, 30);
    CHECK_EQ_INT(hf_distinct_count(&get(&x, 7)->ports), 25);
    CHECK_EQ_INT(get(&x, 8)->flows, 1);
    /* the same as one group fed both streams */
    hf_group z = fresh(16);
    for (uint16_t p = 0; p < 10; p++) probe(&z, 7, p, a);
    for (uint16_t p = 5; p < 25; p++) probe(&z, 7, p, a);
    probe(&z, 8, 22, a);
    uint8_t b1[4096], b2[4096];
    size_t n1 = hf_group_serialize(&x, &of, &hf_state_ops, b1, sizeof b1), n2 = hf_group_serialize(&z, &of, &hf_state_ops, b2, sizeof b2);
    CHECK(n1 == n2 && memcmp(b1, b2, n1) == 0);
    hf_group_merge(&x, &x, &of, &hf_state_ops, a);              /* with itself: weights double */
    CHECK_EQ_INT(hf_group_entry_at(&x, &of, 0)->weight, 60);
    CHECK_EQ_INT(get(&x, 7)->flows, 60);
    hf_arena_free(a);
}

TEST(merge_of_full_groups_keeps_the_heaviest_within_max)
{
    hf_arena *a = hf_arena_new(pool);
    hf_group x = fresh(4), y = fresh(4);
    for (uint32_t d = 0; d < 4; d++)
        for (uint32_t k = 0; k <= d; k++) probe(&x, d, (uint16_t)k, a);      /* weights 1..4 */
    for (uint32_t d = 10; d < 13; d++)
        for (uint32_t k = 0; k < d; k++) probe(&y, d, (uint16_t)k, a);      /* weights 10..12, not full */
    hf_group_merge(&x, &y, &of, &hf_state_ops, a);
    CHECK_EQ_INT(x.n, 4);
    for (uint32_t d = 10; d < 13; d++) {
        CHECK(get(&x, d) != NULL);
        CHECK_EQ_INT(hf_group_entry_at(&x, &of, 0)->error, 0);            /* x's 3: y lacks it, not full */
    }
    CHECK(get(&x, 3) != NULL);                      /* x's heaviest of 1..4 */
    for (uint32_t d = 0; d < 3; d++) CHECK(get(&x, d) == NULL);
    for (uint32_t i = 1; i < x.n; i++) {
        const hf_group_entry *e = hf_group_entry_at(&x, &of, i);
        CHECK_EQ_INT(e->error, 1);                /* y's keys, charged x's least weight */
        CHECK(e->error <= e->weight);
    }
    CHECK_EQ_INT(get(&x, 12)->flows, 12);
    hf_arena_free(a);
}

/* ------------------------------------------------------------------------
 * Serialisation
 * --------------------------------------------------------------------- */

TEST(serialisation_round_trips_and_is_canonical)
{
    hf_arena *a = hf_arena_new(pool);
    hf_group g = fresh(8);
    for (uint32_t i = 0; i < 20; i++) probe(&g, i % 11, (uint16_t)(i * 7), a);
    size_t n = hf_group_serialize(&g, &of, &hf_state_ops, NULL, 0);
    uint8_t *b = malloc(n), *c = malloc(n);
    CHECK_EQ_INT(hf_group_serialize(&g, &of, &hf_state_ops, b, n), n);
    CHECK_EQ_INT(hf_group_serialize(&g, &of, &hf_state_ops, b, n - 1), n);   /* too small: nothing written */
    hf_group h;
    CHECK_EQ_INT(hf_group_deserialize(&h, &of, &hf_state_ops, b, n, a), (long)n);
    CHECK_EQ_INT(h.n, g.n);
    CHECK_EQ_INT(hf_group_serialize(&h, &of, &hf_state_ops, c, n), n);
    CHECK(memcmp(b, c, n) == 0);
    CHECK_EQ_INT(hf_group_mem_bytes(&h, &of, &hf_state_ops), hf_group_mem_bytes(&g, &of, &hf_state_ops));
    /* every truncation is refused and leaves an empty group */
    for (size_t k = 0; k < n; k++) {
        CHECK(hf_group_deserialize(&h, &of, &hf_state_ops, b, k, a) == -1);
        CHECK(h.n == 0 && h.mem == NULL);
    }
    free(b);
    free(c);
    hf_arena_free(a);
}

TEST(hostile_input_is_refused)
{
    hf_arena *a = hf_arena_new(pool);
    hf_group g = fresh(8), h;
    probe(&g, 1, 22, a);
    probe(&g, 2, 23, a);
    uint8_t b[512], t[512];
    size_t n = hf_group_serialize(&g, &of, &hf_state_ops, b, sizeof b);
    size_t e1 = 8, e2 = 8 + 29 + b[8 + 25];        /* the two entries' heads */
    struct { size_t at; uint8_t v; } cases[] = {
        {0, 2},          /* version */
        {1, 1},          /* reserved */
        {2, 0},          /* max 0 (low byte; high is 0) */
        {4, 9},          /* n > max */
        {e1, 5},         /* kind */
        {e1 + 17, 0},    /* weight 0 (low byte of 1) */
        {e1 + 21, 2},    /* error > weight */
        {e1 + 25, 0},    /* the value's length */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(t, b, n);
        t[cases[i].at] = cases[i].v;
        CHECK(hf_group_deserialize(&h, &of, &hf_state_ops, t, n, a) == -1);
    }
    memcpy(t, b, n);                                /* a duplicate key */
    memcpy(t + e2 + 1, t + e1 + 1, 16);
    CHECK(hf_group_deserialize(&h, &of, &hf_state_ops, t, n, a) == -1);
    memcpy(t, b, n);                                /* a number key not canonical */
    t[e1] = HF_KEY_NUMBER;
    CHECK(hf_group_deserialize(&h, &of, &hf_state_ops, t, n, a) == -1);
    hf_arena_free(a);
}

/* ------------------------------------------------------------------------
 * Inside a state
 * --------------------------------------------------------------------- */

TEST(a_state_with_a_group_inits_merges_and_travels)
{
    hf_arena *a = hf_arena_new(pool);
    row x, y, z;
    hf_state_init(&schema, (uint8_t *)&x);
    hf_state_init(&schema, (uint8_t *)&y);
    CHECK_EQ_INT(x.targets.max, 4);
    CHECK(x.targets.mem == NULL);
    CHECK_EQ_INT(hf_state_mem_bytes(&schema, (uint8_t *)&x), 0);
    hf_schema sub = hf_state_group_of(&schema, 1);
    CHECK_EQ_INT(sub.nfields, 2);
    CHECK_EQ_INT(sub.size, sizeof(value));
    x.total = 3;
    y.total = 4;
    probe(&x.targets, 7, 22, a);
    probe(&y.targets, 7, 23, a);
    probe(&y.targets, 9, 23, a);
    hf_state_merge(&schema, (uint8_t *)&x, (uint8_t *)&y, a);
    CHECK(x.total == 7);
    CHECK_EQ_INT(x.targets.n, 2);
    CHECK_EQ_INT(hf_distinct_count(&get(&x.targets, 7)->ports), 2);
    CHECK(hf_state_mem_bytes(&schema, (uint8_t *)&x) > 0);

    uint8_t b1[1024], b2[1024];
    size_t n = hf_state_serialize(&schema, (uint8_t *)&x, b1, sizeof b1);
    CHECK(n < sizeof b1);
    CHECK_EQ_INT(hf_state_deserialize(&schema, (uint8_t *)&z, b1, n, a), (long)n);
    CHECK_EQ_INT(hf_state_serialize(&schema, (uint8_t *)&z, b2, sizeof b2), n);
    CHECK(memcmp(b1, b2, n) == 0);
    CHECK(hf_state_deserialize(&schema, (uint8_t *)&z, b1, n - 1, a) == -1);
    CHECK(z.targets.n == 0 && z.targets.max == 4);

    hf_state_release(&schema, (uint8_t *)&x, a);
    CHECK(x.total == 0 && x.targets.n == 0);
    CHECK_EQ_INT(hf_state_mem_bytes(&schema, (uint8_t *)&x), 0);
    hf_arena_free(a);
}

int main(void)
{
    pool = hf_pool_new(0);
    RUN(an_empty_group_holds_nothing);
    RUN(each_key_has_a_value_of_its_own);
    RUN(number_keys_are_canonical);
    RUN(at_most_max_keys_are_kept_and_the_heavy_ones_survive);
    RUN(evicted_values_give_their_memory_back);
    RUN(merge_unites_keys_and_merges_their_values);
    RUN(merge_of_full_groups_keeps_the_heaviest_within_max);
    RUN(serialisation_round_trips_and_is_canonical);
    RUN(hostile_input_is_refused);
    RUN(a_state_with_a_group_inits_merges_and_travels);
    hf_pool_free(pool);
    return UNIT_END();
}
