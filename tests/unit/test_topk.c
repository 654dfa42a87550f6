/* test_topk.c -- Space-Saving top-k: exact answers when the heavy keys are
 * clear, the error bounds, growth of the slot array, merging, serialisation
 * and hostile input. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/arena.h"
#include "prim/topk.h"
#include "unit.h"

static hf_pool *pool;

static double key_number(const hf_topk_item *it)
{
    double v;
    memcpy(&v, it->key, 8);
    return v;
}

static void addr4(uint8_t out[16], uint8_t last)
{
    static const uint8_t base[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 0};
    memcpy(out, base, 16);
    out[15] = last;
}

/* A skewed stream: key i (1..heavy) weighs 1000 * (heavy + 1 - i), then
 * `noise` light keys weigh 1 each, interleaved pseudo-randomly. */
static void skewed_stream(hf_topk *t, int heavy, int noise, unsigned seed, hf_arena *a)
{
    srand(seed);
    int left[64];
    for (int i = 1; i <= heavy; i++) left[i] = 1000 * (heavy + 1 - i);
    int total = 0;
    for (int i = 1; i <= heavy; i++) total += left[i];
    int light = noise;
    while (total > 0 || light > 0) {
        if (light > 0 && rand() % 4 == 0) {
            hf_topk_add_number(t, 100000 + light--, 1.0, a);
            continue;
        }
        if (total == 0) continue;
        int i = 1 + rand() % heavy;
        if (left[i] == 0) continue;
        int w = left[i] < 10 ? left[i] : 10;
        hf_topk_add_number(t, i, w, a);
        left[i] -= w;
        total -= w;
    }
}

/* ------------------------------------------------------------------------
 * Adding and reading
 * --------------------------------------------------------------------- */

TEST(empty_summary_is_all_zero)
{
    hf_topk t;
    memset(&t, 0, sizeof t);
    CHECK_EQ_INT(sizeof(hf_topk), 16);
    hf_topk_item out[4];
    CHECK_EQ_INT(hf_topk_items(&t, out, 4), 0);
    CHECK_EQ_INT(hf_topk_mem_bytes(&t), 0);
}

TEST(exact_when_keys_fit)
{
    hf_arena *a = hf_arena_new(pool);
    hf_topk t = {0};
    t.k = 3;
    hf_topk_add_number(&t, 80, 5, a);
    hf_topk_add_number(&t, 443, 7, a);
    hf_topk_add_number(&t, 22, 1, a);
    hf_topk_add_number(&t, 80, 3, a);
    hf_topk_add_number(&t, 53, 8, a);
    hf_topk_add_number(&t, -0.0, 2, a);              /* -0 is 0 */
    hf_topk_add_number(&t, 0.0, 6, a);
    hf_topk_item out[5];
    int n = hf_topk_items(&t, out, 5);
    CHECK_EQ_INT(n, 3);                              /* at most k */
    /* 0: 8, 53: 8, 80: 8 (ties: smaller key first), then 443: 7 */
    CHECK(key_number(&out[0]) == 0 && out[0].count == 8);
    CHECK(key_number(&out[1]) == 53 && out[1].count == 8);
    CHECK(key_number(&out[2]) == 80 && out[2].count == 8);
    for (int i = 0; i < n; i++) CHECK(out[i].error == 0 && out[i].kind == HF_KEY_NUMBER);
    CHECK_EQ_INT(hf_topk_items(&t, out, 1), 1);
    CHECK(key_number(&out[0]) == 0);
    hf_arena_free(a);
}

TEST(ignores_bad_weights_and_kinds)
{
    hf_arena *a = hf_arena_new(pool);
    hf_topk t = {0};
    hf_topk_add_number(&t, 1, 0, a);
    hf_topk_add_number(&t, 1, -3, a);
    hf_topk_add_number(&t, 1, NAN, a);
    hf_topk_add_number(&t, 1, INFINITY, a);
    uint8_t key[16] = {1};
    hf_topk_add(&t, key, 5, 1.0, a);
    CHECK_EQ_INT(t.n, 0);
    hf_arena_free(a);
}

TEST(heavy_keys_found_among_noise)
{
    hf_arena *a = hf_arena_new(pool);
    for (unsigned seed = 1; seed <= 20; seed++) {
        hf_topk t = {0};
        t.k = 5;
        skewed_stream(&t, 5, 3000, seed, a);      /* 15000 heavy, 3000 light */
        hf_topk_item out[5];
        CHECK_EQ_INT(hf_topk_items(&t, out, 5), 5);
        for (int i = 0; i < 5; i++) {
            CHECK(key_number(&out[i]) == i + 1);
            double truth = 1000.0 * (5 - i);
            CHECK(out[i].count >= truth);
            CHECK(out[i].count - out[i].error <= truth);
        }
    }
    hf_arena_free(a);
}

TEST(addresses_and_numbers_are_different_keys)
{
    hf_arena *a = hf_arena_new(pool);
    hf_topk t = {0};
    uint8_t k[16];
    for (int i = 0; i < 4; i++) {
        addr4(k, (uint8_t)i);
        hf_topk_add(&t, k, HF_KEY_INET, 10 + i, a);
    }
    memset(k, 0, 16);                    /* the number 0.0 and the address :: */
    hf_topk_add(&t, k, HF_KEY_INET6, 1, a);
    hf_topk_add_number(&t, 0, 2, a);
    CHECK_EQ_INT(t.n, 6);
    hf_topk_item out[10];
    CHECK_EQ_INT(hf_topk_items(&t, out, 10), 6);
    CHECK(out[0].kind == HF_KEY_INET && out[0].key[15] == 3 && out[0].count == 13);
    hf_arena_free(a);
}

TEST(slots_grow_with_use)
{
    hf_arena *a = hf_arena_new(pool);
    hf_topk t = {0};                     /* k 10: 30 slots */
    hf_topk_add_number(&t, 1, 1, a);
    CHECK_EQ_INT(hf_topk_mem_bytes(&t), 4 * sizeof(hf_topk_item));
    for (int i = 0; i < 5; i++) hf_topk_add_number(&t, i, 1, a);
    CHECK_EQ_INT(hf_topk_mem_bytes(&t), 8 * sizeof(hf_topk_item));
    for (int i = 0; i < 1000; i++) hf_topk_add_number(&t, i, 1, a);
    CHECK_EQ_INT(t.n, HF_TOPK_SLOTS(10));
    CHECK_EQ_INT(hf_topk_mem_bytes(&t), HF_TOPK_SLOTS(10) * sizeof(hf_topk_item));
    hf_arena_free(a);
}

TEST(space_saving_bounds_hold)
{
    /* Every item: count - error <= truth <= count; and the sum of counts
     * equals the stream's total weight. */
    hf_arena *a = hf_arena_new(pool);
    hf_topk t = {0};
    t.k = 4;
    static double truth[200];
    double total = 0;
    srand(5);
    for (int i = 0; i < 20000; i++) {
        int key = rand() % 200;
        key = key * key / 200;           /* skew towards small keys */
        double w = 1 + rand() % 3;
        truth[key] += w;
        total += w;
        hf_topk_add_number(&t, key, w, a);
    }
    double sum = 0;
    for (int i = 0; i < t.n; i++) {
        const hf_topk_item *it = &t.items[i];
        double tr = truth[(int)key_number(it)];
        CHECK(it->count >= tr);
        CHECK(it->count - it->error <= tr);
        sum += it->count;
    }
    CHECK(sum == total);
    hf_arena_free(a);
}

/* ------------------------------------------------------------------------
 * Merging
 * --------------------------------------------------------------------- */

TEST(merge_without_eviction_is_exact)
{
    hf_arena *a = hf_arena_new(pool);
    hf_topk x = {0}, y = {0}, all = {0};
    x.k = y.k = all.k = 4;
    for (int i = 0; i < 8; i++) {
        hf_topk_add_number(&x, i, i + 1, a);
        hf_topk_add_number(&all, i, i + 1, a);
    }
    for (int i = 4; i < 12; i++) {
        hf_topk_add_number(&y, i, 2 * i, a);
        hf_topk_add_number(&all, i, 2 * i, a);
    }
    hf_topk_merge(&x, &y, a);
    hf_topk_item got[4], want[4];
    CHECK_EQ_INT(hf_topk_items(&x, got, 4), 4);
    CHECK_EQ_INT(hf_topk_items(&all, want, 4), 4);
    for (int i = 0; i < 4; i++) {
        CHECK(key_number(&got[i]) == key_number(&want[i]));
        CHECK(got[i].count == want[i].count);
        CHECK(got[i].error == 0);
    }
    CHECK_EQ_INT(y.n, 8);                /* src untouched */
    hf_arena_free(a);
}

TEST(merge_of_large_summaries_without_eviction_is_exact)
{
    /* 100 x 100 items: keys are matched by sorting, not scanning. */
    hf_arena *a = hf_arena_new(pool);
    hf_topk x = {0}, y = {0}, all = {0};
    x.k = y.k = all.k = 50;                  /* 150 slots */
    for (int i = 0; i < 100; i++) {
        hf_topk_add_number(&x, i, 1 + i % 13, a);
        hf_topk_add_number(&all, i, 1 + i % 13, a);
        hf_topk_add_number(&y, 50 + i, 1 + i % 5, a);
        hf_topk_add_number(&all, 50 + i, 1 + i % 5, a);
    }
    hf_topk_merge(&x, &y, a);
    CHECK_EQ_INT(x.n, 150);
    static hf_topk_item got[50], want[50];
    CHECK_EQ_INT(hf_topk_items(&x, got, 50), 50);
    CHECK_EQ_INT(hf_topk_items(&all, want, 50), 50);
    for (int i = 0; i < 50; i++)
        CHECK(key_number(&got[i]) == key_number(&want[i]) && got[i].count == want[i].count &&
              got[i].error == 0);
    hf_arena_free(a);
}

TEST(merge_of_streams_finds_the_heavy_keys)
{
    /* Two halves of a skewed stream, each with evictions: the merged
     * summary still names the heavy keys in order, within its bounds. */
    hf_arena *a = hf_arena_new(pool);
    hf_topk x = {0}, y = {0};
    x.k = y.k = 5;
    skewed_stream(&x, 5, 3000, 1, a);
    skewed_stream(&y, 5, 3000, 2, a);
    hf_topk_merge(&x, &y, a);
    hf_topk_item out[5];
    CHECK_EQ_INT(hf_topk_items(&x, out, 5), 5);
    for (int i = 0; i < 5; i++) {
        double truth = 2 * 1000.0 * (5 - i);
        CHECK(key_number(&out[i]) == i + 1);
        CHECK(out[i].count >= truth);
        CHECK(out[i].count - out[i].error <= truth);
    }
    CHECK(x.n <= HF_TOPK_SLOTS(5));
    hf_arena_free(a);
}

TEST(merge_charges_missing_keys_of_full_summaries)
{
    hf_arena *a = hf_arena_new(pool);
    hf_topk x = {0}, y = {0};
    x.k = y.k = 1;                       /* 3 slots */
    for (int i = 1; i <= 4; i++) hf_topk_add_number(&x, i, 10 * i, a);   /* full, evicted */
    hf_topk_add_number(&y, 99, 5, a);                                    /* not full */
    double xmin = INFINITY;
    for (int i = 0; i < x.n; i++) xmin = fmin(xmin, x.items[i].count);
    hf_topk_merge(&y, &x, a);
    /* 99 is missing from the full x: charged x's least count. */
    int found = 0;
    for (int i = 0; i < y.n; i++) {
        if (key_number(&y.items[i]) == 99) {
            found = 1;
            CHECK(y.items[i].count == 5 + xmin);
            CHECK(y.items[i].error == xmin);
        }
    }
    CHECK(found);                        /* 25 beats 20: kept */
    CHECK_EQ_INT(y.n, 3);
    hf_topk empty = {0};
    hf_topk_merge(&y, &empty, a);
    CHECK_EQ_INT(y.n, 3);
    hf_topk_merge(&empty, &y, a);
    CHECK_EQ_INT(empty.n, 3);
    hf_arena_free(a);
}

TEST(merge_with_itself_doubles)
{
    hf_arena *a = hf_arena_new(pool);
    hf_topk x = {0};
    hf_topk_add_number(&x, 7, 3, a);
    hf_topk_add_number(&x, 8, 1, a);
    hf_topk_merge(&x, &x, a);
    hf_topk_item out[2];
    CHECK_EQ_INT(hf_topk_items(&x, out, 2), 2);
    CHECK(key_number(&out[0]) == 7 && out[0].count == 6);
    CHECK(key_number(&out[1]) == 8 && out[1].count == 2);
    hf_arena_free(a);
}

TEST(counts_saturate_and_stay_serialisable)
{
    hf_arena *a = hf_arena_new(pool);
    hf_topk t = {0};
    hf_topk_add_number(&t, 1, DBL_MAX, a);
    hf_topk_add_number(&t, 1, DBL_MAX, a);
    CHECK(t.items[0].count == DBL_MAX);
    hf_topk_merge(&t, &t, a);
    CHECK(t.items[0].count == DBL_MAX && t.items[0].error == 0);
    uint8_t buf[64];
    size_t n = hf_topk_serialize(&t, buf, sizeof buf);
    hf_topk u;
    CHECK_EQ_INT(hf_topk_deserialize(&u, buf, n, a), n);
    hf_arena_free(a);
}

/* ------------------------------------------------------------------------
 * Serialisation
 * --------------------------------------------------------------------- */

static void round_trip(const hf_topk *t, hf_arena *a)
{
    static uint8_t b1[8 + 33 * 3 * HF_TOPK_MAX_K], b2[sizeof b1];
    size_t n = hf_topk_serialize(t, NULL, 0);
    CHECK_EQ_INT(hf_topk_serialize(t, b1, sizeof b1), n);
    hf_topk u;
    CHECK_EQ_INT(hf_topk_deserialize(&u, b1, n, a), n);
    CHECK_EQ_INT(u.n, t->n);
    CHECK_EQ_INT(hf_topk_serialize(&u, b2, sizeof b2), n);
    CHECK(memcmp(b1, b2, n) == 0);
    hf_topk_item x[16], y[16];
    int nx = hf_topk_items(t, x, 16);
    CHECK_EQ_INT(hf_topk_items(&u, y, 16), nx);
    for (int i = 0; i < nx; i++)
        CHECK(memcmp(x[i].key, y[i].key, 16) == 0 && x[i].count == y[i].count &&
              x[i].error == y[i].error && x[i].kind == y[i].kind);
    for (size_t cut = 0; cut < n; cut += 1 + cut / 8)
        CHECK(hf_topk_deserialize(&u, b1, cut, a) == -1);
}

TEST(serialise_round_trips)
{
    hf_arena *a = hf_arena_new(pool);
    hf_topk t = {0};
    round_trip(&t, a);
    hf_topk_add_number(&t, 1.5, 2, a);
    hf_topk_add_number(&t, NAN, 1, a);
    uint8_t k[16];
    addr4(k, 9);
    hf_topk_add(&t, k, HF_KEY_INET, 4, a);
    round_trip(&t, a);
    skewed_stream(&t, 5, 500, 3, a);
    round_trip(&t, a);
    hf_topk big = {0};
    big.k = HF_TOPK_MAX_K;
    for (int i = 0; i < 5000; i++) hf_topk_add_number(&big, i % 3500, 1 + i % 7, a);
    round_trip(&big, a);
    hf_arena_free(a);
}

static void refused(const uint8_t *in, size_t len, hf_arena *a)
{
    hf_topk t;
    memset(&t, 0x5a, sizeof t);
    CHECK(hf_topk_deserialize(&t, in, len, a) == -1);
    CHECK(t.n == 0 && t.k == 0 && t.cap == 0 && t.items == NULL);
}

static void put_f64(uint8_t *p, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

TEST(hostile_input_is_refused)
{
    hf_arena *a = hf_arena_new(pool);
    /* k 1, two items: number 3 (count 5, error 1), address (count 2) */
    uint8_t ok[8 + 66] = {1, 0, 1, 0, 2, 0, 0, 0};
    uint8_t *i0 = ok + 8, *i1 = ok + 8 + 33;
    double three = 3;
    i0[0] = HF_KEY_NUMBER; memcpy(i0 + 1, &three, 8); put_f64(i0 + 17, 5); put_f64(i0 + 25, 1);
    i1[0] = HF_KEY_INET6;  i1[1] = 0x20;               put_f64(i1 + 17, 2); put_f64(i1 + 25, 0);
    hf_topk t;
    CHECK_EQ_INT(hf_topk_deserialize(&t, ok, sizeof ok, a), sizeof ok);
    uint8_t b[sizeof ok];
#define WITH(stmt) do { memcpy(b, ok, sizeof ok); stmt; refused(b, sizeof b, a); } while (0)
    WITH(b[0] = 2);                                /* version */
    WITH(b[1] = 1);                                /* reserved */
    WITH(b[6] = 1);                                /* reserved */
    WITH(b[2] = 0);                                /* k 0 */
    WITH((b[2] = 0x01, b[3] = 0x04));              /* k 1025 */
    WITH(b[4] = 4);                                /* n 4 > 3 slots */
    WITH(b[4] = 3);                                /* n 3: truncated */
    WITH(b[8] = 5);                                /* unknown kind */
    WITH(b[8 + 9] = 1);                            /* number key, upper bytes set */
    WITH(put_f64(b + 8 + 1, -0.0));                /* -0 is not canonical */
    WITH(put_f64(b + 8 + 17, 0));                  /* count 0 */
    WITH(put_f64(b + 8 + 17, -1));                 /* count < 0 */
    WITH(put_f64(b + 8 + 17, NAN));                /* count NaN */
    WITH(put_f64(b + 8 + 17, INFINITY));           /* count inf */
    WITH(put_f64(b + 8 + 25, 6));                  /* error > count */
    WITH(put_f64(b + 8 + 25, -1));                 /* error < 0 */
    WITH(put_f64(b + 8 + 25, NAN));                /* error NaN */
    WITH(memcpy(b + 8 + 33, b + 8, 33));           /* duplicate key */
#undef WITH
    refused(ok, sizeof ok - 1, a);
    refused(ok, 7, a);
    refused(NULL, 0, a);
    /* Random bytes after a plausible header. */
    srand(3);
    for (int i = 0; i < 20000; i++) {
        uint8_t r[8 + 33 * 3];
        for (size_t j = 0; j < sizeof r; j++) r[j] = (uint8_t)rand();
        r[0] = 1; r[1] = 0; r[2] = 1; r[3] = 0; r[4] = (uint8_t)(rand() % 4); r[5] = 0; r[6] = r[7] = 0;
        size_t len = (size_t)rand() % (sizeof r + 1);
        long used = hf_topk_deserialize(&t, r, len, a);
        CHECK(used == -1 || (used >= 8 && (size_t)used <= len));
    }
    hf_arena_free(a);
}

int main(void)
{
    pool = hf_pool_new(0);
    RUN(empty_summary_is_all_zero);
    RUN(exact_when_keys_fit);
    RUN(ignores_bad_weights_and_kinds);
    RUN(heavy_keys_found_among_noise);
    RUN(addresses_and_numbers_are_different_keys);
    RUN(slots_grow_with_use);
    RUN(space_saving_bounds_hold);
    RUN(merge_without_eviction_is_exact);
    RUN(merge_of_large_summaries_without_eviction_is_exact);
    RUN(merge_of_streams_finds_the_heavy_keys);
    RUN(merge_charges_missing_keys_of_full_summaries);
    RUN(merge_with_itself_doubles);
    RUN(counts_saturate_and_stay_serialisable);
    RUN(serialise_round_trips);
    RUN(hostile_input_is_refused);
    hf_pool_free(pool);
    return UNIT_END();
}
