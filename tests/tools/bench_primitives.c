/* bench_primitives.c -- throughput and memory of the hash-reduce primitives.
 *
 *   build/tools/bench_primitives [scale]
 *
 * Prints one line per measurement: distinct adds per second for a typical
 * stream (at most 30 distinct values per set: one hot set, and 10^5 sets
 * hit in random order as a worker's hosts are, with narrow values as IPv4
 * peers and wide ones as IPv6 peers), for a heavy stream (10^5
 * distinct values, a sketch), memory per set at 8, 30 and 64 values, merges
 * per second (exact, mixed, sketch), sketch counts per second, top-k adds
 * and merges per second, per second of this thread's CPU time.  Each
 * figure is the best of three runs.  `scale` (default 1) multiplies the
 * work.  A benchmark, never a timed test. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "prim/distinct.h"
#include "base/hash.h"
#include "prim/topk.h"

static double scale = 1.0;
static volatile double sink;

/* CPU time of this thread: on a shared machine, wall time measures the
 * neighbours as much as the code. */
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void report(const char *what, double per_s, const char *unit)
{
    printf("%-52s %10.1f M%s/s\n", what, per_s / 1e6, unit);
}

/* 16 bytes of an IPv4 address mapped into IPv6. */
static void inet4(uint8_t out[16], uint32_t v4)
{
    memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    out[12] = (uint8_t)(v4 >> 24); out[13] = (uint8_t)(v4 >> 16);
    out[14] = (uint8_t)(v4 >> 8);  out[15] = (uint8_t)v4;
}

/* ------------------------------------------------------------------------
 * distinct: adds
 * --------------------------------------------------------------------- */

/* One set, `distinct` peers (addresses) cycling: the hot-cache case. */
static double adds_one_set(long n, uint32_t distinct)
{
    static uint8_t addr[256][16];
    for (uint32_t i = 0; i < distinct && i < 256; i++) inet4(addr[i], 0x0a000000u + i * 7919);
    double best = 0;
    hf_pool *p = hf_pool_new(0);
    for (int run = 0; run < 3; run++) {
        hf_arena *a = hf_arena_new(p);
        hf_distinct d = {0};
        double t = now();
        for (long i = 0; i < n; i++) hf_distinct_add_addr(&d, addr[(uint32_t)i % distinct], a);
        t = now() - t;
        sink += hf_distinct_count(&d);
        if (n / t > best) best = n / t;
        hf_arena_free(a);
    }
    hf_pool_free(p);
    return best;
}

/* `hosts` sets hit in random order, each with `distinct` values: every add
 * misses the cache, as with a worker's host table.  Narrow values (below
 * 2^32, as IPv4 peers are: 4 bytes each) or wide ones (as IPv6 peers: 8). */
static double adds_many_sets(long n, uint32_t hosts, uint32_t distinct, int wide)
{
    uint32_t *host = malloc(sizeof *host * (size_t)n);
    uint64_t *val = malloc(sizeof *val * (size_t)n);
    for (long i = 0; i < n; i++) {
        uint64_t r = hf_hash_u64((uint64_t)i + 12345);
        host[i] = (uint32_t)(r % hosts);
        val[i] = 0x0a000000u + (uint64_t)host[i] * 64 + (r >> 40) % distinct;
        if (wide) val[i] = hf_hash_u64(val[i]);
    }
    double best = 0;
    hf_pool *p = hf_pool_new(0);
    for (int run = 0; run < 3; run++) {
        hf_arena *a = hf_arena_new(p);
        hf_distinct *sets = hf_arena_calloc(a, sizeof *sets * hosts);
        double t = now();
        if (wide)
            for (long i = 0; i < n; i++) hf_distinct_add_hash(&sets[host[i]], val[i], a);
        else
            for (long i = 0; i < n; i++) hf_distinct_add_u64(&sets[host[i]], val[i], a);
        t = now() - t;
        sink += hf_distinct_count(&sets[0]);
        if (n / t > best) best = n / t;
        hf_arena_free(a);
    }
    hf_pool_free(p);
    free(host);
    free(val);
    return best;
}

/* One set fed `distinct` different values over n adds (a sketch beyond the exact limit). */
static double adds_heavy(long n, uint64_t distinct)
{
    double best = 0;
    hf_pool *p = hf_pool_new(0);
    for (int run = 0; run < 3; run++) {
        hf_arena *a = hf_arena_new(p);
        hf_distinct d = {0};
        double t = now();
        for (long i = 0; i < n; i++) hf_distinct_add_u64(&d, (uint64_t)i % distinct, a);
        t = now() - t;
        sink += hf_distinct_count(&d);
        if (n / t > best) best = n / t;
        hf_arena_free(a);
    }
    hf_pool_free(p);
    return best;
}

/* ------------------------------------------------------------------------
 * distinct: memory, merges, counts
 * --------------------------------------------------------------------- */

/* Arena bytes per set for 10^5 sets of `values` values, struct included. */
static void memory_per_set(uint32_t values)
{
    enum { SETS = 100000 };
    hf_pool *p = hf_pool_new(0);
    hf_arena *a = hf_arena_new(p);
    size_t before = hf_arena_bytes(a);
    hf_distinct *sets = hf_arena_calloc(a, sizeof *sets * SETS);
    for (uint32_t s = 0; s < SETS; s++)
        for (uint32_t v = 0; v < values; v++) hf_distinct_add_u64(&sets[s], 0x0a000000u + s * 64 + v, a);
    double arena = (double)(hf_arena_bytes(a) - before) / SETS;
    printf("%-52s %6zu B + 16 B struct (arena: %.1f B/set)\n",
           values == 8 ? "memory per set, 8 values" : values == 30 ? "memory per set, 30 values"
                                                               : "memory per set, 64 values",
           hf_distinct_mem_bytes(&sets[0]), arena);
    hf_arena_free(a);
    hf_pool_free(p);
}

static void fill(hf_distinct *d, uint64_t from, uint64_t to, hf_arena *a)
{
    for (uint64_t v = from; v < to; v++) hf_distinct_add_u64(d, v, a);
}

/* Merges per second of src into fresh copies of dst (the copy is part of
 * the measured work, as a window merge starts from an empty coarser row). */
static double merges(uint64_t dst_n, uint64_t src_n, long n)
{
    double best = 0;
    hf_pool *p = hf_pool_new(0);
    for (int run = 0; run < 3; run++) {
        hf_arena *a = hf_arena_new(p);
        hf_distinct src = {0}, base = {0};
        fill(&src, 1000000, 1000000 + src_n, a);
        fill(&base, 1000000 + src_n / 2, 1000000 + src_n / 2 + dst_n, a);
        double t = now();
        for (long i = 0; i < n; i++) {
            hf_distinct d = {0};
            hf_distinct_merge(&d, &base, a);
            hf_distinct_merge(&d, &src, a);
            sink += d.n;
            hf_arena_release(a, d.mem, hf_distinct_mem_bytes(&d));
        }
        t = now() - t;
        if (n / t > best) best = n / t;
        hf_arena_free(a);
    }
    hf_pool_free(p);
    return best;
}

static double sketch_counts(long n)
{
    hf_pool *p = hf_pool_new(0);
    hf_arena *a = hf_arena_new(p);
    hf_distinct d = {0};
    fill(&d, 0, 100000, a);
    double best = 0;
    for (int run = 0; run < 3; run++) {
        double t = now();
        for (long i = 0; i < n; i++) sink += hf_distinct_count(&d);
        t = now() - t;
        if (n / t > best) best = n / t;
    }
    hf_arena_free(a);
    hf_pool_free(p);
    return best;
}

/* ------------------------------------------------------------------------
 * topk
 * --------------------------------------------------------------------- */

static double topk_adds(long n, uint32_t keys)
{
    double best = 0;
    hf_pool *p = hf_pool_new(0);
    for (int run = 0; run < 3; run++) {
        hf_arena *a = hf_arena_new(p);
        hf_topk t = {0};
        double t0 = now();
        for (long i = 0; i < n; i++) {
            uint64_t r = hf_hash_u64((uint64_t)i);
            uint32_t key = (uint32_t)((r % keys) * (r % keys) / keys);   /* skewed */
            hf_topk_add_number(&t, key, 1.0, a);
        }
        t0 = now() - t0;
        sink += t.n;
        if (n / t0 > best) best = n / t0;
        hf_arena_free(a);
    }
    hf_pool_free(p);
    return best;
}

static double topk_merges(long n)
{
    double best = 0;
    hf_pool *p = hf_pool_new(0);
    for (int run = 0; run < 3; run++) {
        hf_arena *a = hf_arena_new(p);
        hf_topk x = {0}, y = {0};
        for (int i = 0; i < 1000; i++) {
            hf_topk_add_number(&x, i % 50, 1, a);
            hf_topk_add_number(&y, (i * 7) % 60, 1, a);
        }
        double t = now();
        for (long i = 0; i < n; i++) {
            hf_topk d = {0};
            hf_topk_merge(&d, &x, a);
            hf_topk_merge(&d, &y, a);
            sink += d.n;
            hf_arena_release(a, d.items, hf_topk_mem_bytes(&d));
        }
        t = now() - t;
        if (n / t > best) best = n / t;
        hf_arena_free(a);
    }
    hf_pool_free(p);
    return best;
}

int main(int argc, char **argv)
{
    if (argc > 1) scale = atof(argv[1]);
    if (!(scale > 0)) scale = 1;
    long n = (long)(2e7 * scale);

    report("distinct add, 1 set, 8 addresses", adds_one_set(n, 8), "adds");
    report("distinct add, 1 set, 30 addresses", adds_one_set(n, 30), "adds");
    report("distinct add, 1 set, 64 addresses", adds_one_set(n, 64), "adds");
    report("distinct add, 1e5 sets x 30 values, random order", adds_many_sets(n, 100000, 30, 0), "adds");
    report("distinct add, 1e6 sets x 30 values, random order", adds_many_sets(n, 1000000, 30, 0), "adds");
    report("distinct add, 1e5 sets x 30 wide values (IPv6)", adds_many_sets(n, 100000, 30, 1), "adds");
    report("distinct add, heavy: 1e5 distinct (sketch)", adds_heavy(n, 100000), "adds");
    memory_per_set(8);
    memory_per_set(30);
    memory_per_set(64);
    long m = (long)(1e6 * scale);
    report("distinct merge, exact 30 + exact 30 (45 distinct)", merges(30, 30, m), "merges");
    report("distinct merge, exact 8 + exact 8", merges(8, 8, m), "merges");
    report("distinct merge, exact 30 + sketch", merges(30, 100000, m / 4), "merges");
    report("distinct merge, sketch + sketch", merges(100000, 100000, m / 4), "merges");
    report("distinct count, sketch", sketch_counts(m / 4), "counts");
    report("topk add, k 10, 200 skewed keys", topk_adds(n / 4, 200), "adds");
    report("topk add, k 10, 8 keys", topk_adds(n / 4, 8), "adds");
    report("topk merge, k 10, full + full", topk_merges(m / 4), "merges");
    return sink < 0;
}
