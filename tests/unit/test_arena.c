/* test_arena.c -- the per-window arena and its pool: allocation, alignment,
 * reuse through the free lists, byte accounting, the limit, block recycling
 * and several arenas of one pool on one thread. */
#include <stdint.h>
#include <stdlib.h>

#include "base/arena.h"
#include "unit.h"

/* ------------------------------------------------------------------------
 * Allocation
 * --------------------------------------------------------------------- */

TEST(alloc_is_aligned_and_writable)
{
    hf_pool *p = hf_pool_new(0);
    hf_arena *a = hf_arena_new(p);
    for (size_t size = 0; size <= 5000; size += 7) {
        uint8_t *x = hf_arena_alloc(a, size);
        CHECK(x != NULL);
        CHECK(((uintptr_t)x & 7) == 0);
        memset(x, 0xab, size);
    }
    hf_arena_free(a);
    hf_pool_free(p);
}

TEST(calloc_zeroes_reused_memory)
{
    hf_pool *p = hf_pool_new(0);
    hf_arena *a = hf_arena_new(p);
    uint8_t *x = hf_arena_alloc(a, 100);
    memset(x, 0xff, 100);
    hf_arena_release(a, x, 100);
    uint8_t *y = hf_arena_calloc(a, 100);
    CHECK(y == x);                          /* same class: reused */
    int zero = 1;
    for (int i = 0; i < 100; i++) zero &= y[i] == 0;
    CHECK(zero);
    hf_arena_free(a);
    hf_pool_free(p);
}

TEST(allocations_do_not_overlap)
{
    hf_pool *p = hf_pool_new(0);
    hf_arena *a = hf_arena_new(p);
    enum { N = 3000 };
    static uint8_t *ptr[N];
    static size_t len[N];
    srand(7);
    for (int i = 0; i < N; i++) {
        len[i] = 1 + (size_t)(rand() % 600);
        ptr[i] = hf_arena_alloc(a, len[i]);
        memset(ptr[i], (uint8_t)i, len[i]);
    }
    int ok = 1;
    for (int i = 0; i < N; i++)
        for (size_t j = 0; j < len[i]; j++) ok &= ptr[i][j] == (uint8_t)i;
    CHECK(ok);
    hf_arena_free(a);
    hf_pool_free(p);
}

/* ------------------------------------------------------------------------
 * Release and reuse
 * --------------------------------------------------------------------- */

TEST(release_is_reused_by_same_class)
{
    hf_pool *p = hf_pool_new(0);
    hf_arena *a = hf_arena_new(p);
    void *x = hf_arena_alloc(a, 40);
    void *keep = hf_arena_alloc(a, 40);
    hf_arena_release(a, x, 40);
    CHECK(hf_arena_alloc(a, 33) == x);      /* 33 and 40 share the 48 class */
    void *big = hf_arena_alloc(a, 4096);
    hf_arena_release(a, big, 4096);
    CHECK(hf_arena_alloc(a, 4000) == big);
    CHECK(keep != x);
    hf_arena_free(a);
    hf_pool_free(p);
}

TEST(growing_arrays_do_not_grow_the_arena)
{
    /* The pattern of a distinct set: allocate 2n, release n, over and over. */
    hf_pool *p = hf_pool_new(0);
    hf_arena *a = hf_arena_new(p);
    for (int round = 0; round < 2000; round++) {
        size_t n = 16;
        void *x = hf_arena_alloc(a, n);
        while (n < 4096) {
            void *y = hf_arena_alloc(a, n * 2);
            hf_arena_release(a, x, n);
            x = y;
            n *= 2;
        }
        hf_arena_release(a, x, n);
    }
    CHECK_EQ_INT(hf_arena_bytes(a), HF_ARENA_BLOCK);
    hf_arena_free(a);
    hf_pool_free(p);
}

TEST(large_allocations_are_counted_and_released)
{
    hf_pool *p = hf_pool_new(0);
    hf_arena *a = hf_arena_new(p);
    size_t base = hf_arena_bytes(a);
    void *x = hf_arena_alloc(a, 100000);
    memset(x, 1, 100000);
    void *y = hf_arena_alloc(a, 5000);
    CHECK(hf_arena_bytes(a) >= base + 105000);
    CHECK_EQ_INT(hf_pool_bytes(p), hf_arena_bytes(a));
    hf_arena_release(a, x, 100000);
    CHECK(hf_arena_bytes(a) < base + 6000);
    CHECK_EQ_INT(hf_pool_bytes(p), hf_arena_bytes(a));
    (void)y;                                /* freed by hf_arena_free */
    hf_arena_free(a);
    CHECK_EQ_INT(hf_pool_bytes(p), 0);
    hf_pool_free(p);
}

/* ------------------------------------------------------------------------
 * Accounting, limit, recycling
 * --------------------------------------------------------------------- */

TEST(pool_counts_blocks_and_peak)
{
    hf_pool *p = hf_pool_new(0);
    CHECK_EQ_INT(hf_pool_bytes(p), 0);
    hf_arena *a = hf_arena_new(p);
    CHECK_EQ_INT(hf_pool_bytes(p), HF_ARENA_BLOCK);
    for (int i = 0; i < 100; i++) hf_arena_alloc(a, 4096);   /* ~7 blocks */
    size_t held = hf_pool_bytes(p);
    CHECK(held >= 100 * 4096);
    CHECK(held % HF_ARENA_BLOCK == 0);
    CHECK_EQ_INT(held, hf_arena_bytes(a));
    hf_arena_free(a);
    CHECK_EQ_INT(hf_pool_bytes(p), 0);
    CHECK_EQ_INT(hf_pool_peak(p), held);
    hf_pool_free(p);
}

TEST(limit_makes_pool_full)
{
    hf_pool *p = hf_pool_new(4 * HF_ARENA_BLOCK);
    hf_arena *a = hf_arena_new(p);
    CHECK(!hf_pool_full(p));
    int n = 0;
    while (!hf_pool_full(p) && n < 1000) {
        hf_arena_alloc(a, 1000);
        n++;
    }
    CHECK(hf_pool_full(p));
    CHECK_EQ_INT(hf_pool_bytes(p), 4 * HF_ARENA_BLOCK);
    /* Allocation never fails: the pool only counts. */
    void *x = hf_arena_alloc(a, 60000);
    CHECK(x != NULL);
    hf_arena_free(a);
    CHECK(!hf_pool_full(p));
    hf_pool_free(p);
}

TEST(freed_blocks_are_recycled)
{
    hf_pool *p = hf_pool_new(0);
    hf_arena *a = hf_arena_new(p);
    void *first = hf_arena_alloc(a, 16);
    hf_arena_free(a);
    /* A new arena takes the recycled block: same memory, same first chunk. */
    hf_arena *b = hf_arena_new(p);
    CHECK(hf_arena_alloc(b, 16) == first);
    hf_arena_free(b);
    hf_pool_free(p);
}

TEST(many_arenas_of_one_pool)
{
    enum { N = 50 };
    hf_pool *p = hf_pool_new(0);
    hf_arena *ar[N];
    size_t sum = 0;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            ar[i] = hf_arena_new(p);
            for (int j = 0; j <= i; j++) hf_arena_alloc(ar[i], 3000);
            if (i % 7 == 0) hf_arena_alloc(ar[i], 70000);
        }
        sum = 0;
        for (int i = 0; i < N; i++) sum += hf_arena_bytes(ar[i]);
        CHECK_EQ_INT(hf_pool_bytes(p), sum);
        /* Close every other window, then the rest: the count follows. */
        for (int i = 0; i < N; i += 2) {
            sum -= hf_arena_bytes(ar[i]);
            hf_arena_free(ar[i]);
        }
        CHECK_EQ_INT(hf_pool_bytes(p), sum);
        for (int i = 1; i < N; i += 2) hf_arena_free(ar[i]);
        CHECK_EQ_INT(hf_pool_bytes(p), 0);
    }
    CHECK(hf_pool_peak(p) >= (size_t)N * HF_ARENA_BLOCK);
    hf_pool_free(p);
}

TEST(current_arena_is_per_thread_and_cleared_on_free)
{
    hf_pool *p = hf_pool_new(0);
    hf_arena *a = hf_arena_new(p);
    CHECK(hf_arena_current() == NULL);
    hf_arena_set_current(a);
    CHECK(hf_arena_current() == a);
    hf_arena_free(a);
    CHECK(hf_arena_current() == NULL);
    hf_pool_free(p);
}

int main(void)
{
    RUN(alloc_is_aligned_and_writable);
    RUN(calloc_zeroes_reused_memory);
    RUN(allocations_do_not_overlap);
    RUN(release_is_reused_by_same_class);
    RUN(growing_arrays_do_not_grow_the_arena);
    RUN(large_allocations_are_counted_and_released);
    RUN(pool_counts_blocks_and_peak);
    RUN(limit_makes_pool_full);
    RUN(freed_blocks_are_recycled);
    RUN(many_arenas_of_one_pool);
    RUN(current_arena_is_per_thread_and_cleared_on_free);
    return UNIT_END();
}
