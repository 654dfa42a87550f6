/* distinct_error.c -- the error of hf_distinct's counts, measured: exact
 * answers up to the limit, the sketch's error above it, over many seeds.
 *
 *   build/tools/distinct_error [-t TRIALS] [-n N,N,...]
 *
 * For each cardinality N (default 1024, 2000, 10000, 100000, 1000000) and
 * each kind of value (IPv4 addresses, narrow; random IPv6 addresses, wide),
 * TRIALS sets (default 1000) are each fed N distinct values drawn from the
 * trial's own seed, through hf_distinct_add_addr as peer_number feeds them,
 * and the count is compared with N.  Prints one line per (N, kind) with the
 * mean error (the bias), the root mean square error (the measured relative
 * standard error), the mean, 99th percentile and largest |error|, and how
 * many counts were exact; then the same as JSON lines.  These are the
 * README's numbers; tests/unit/test_distinct checks a lighter sample of the
 * same in every test run.  A measurement, never a test: 10^9 adds or so
 * (a minute on one core at the defaults). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "prim/distinct.h"

static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* The relative error of one set of n values of a kind (0 IPv4, 1 IPv6). */
static double one_trial(hf_pool *pool, uint32_t n, int kind, uint64_t seed)
{
    hf_arena *a = hf_arena_new(pool);
    hf_distinct d = {0};
    uint8_t addr[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    uint64_t r = seed;
    uint32_t base = (uint32_t)next(&r), step = (uint32_t)next(&r) | 1;   /* odd: distinct */
    for (uint32_t i = 0; i < n; i++) {
        if (kind == 0) {
            uint32_t v = base + i * step;
            addr[12] = (uint8_t)(v >> 24); addr[13] = (uint8_t)(v >> 16);
            addr[14] = (uint8_t)(v >> 8);  addr[15] = (uint8_t)v;
        } else {
            uint64_t hi = next(&r), lo = next(&r);
            memcpy(addr, &hi, 8);
            memcpy(addr + 8, &lo, 8);
            addr[0] = 0x20;                        /* never IPv4-mapped */
        }
        hf_distinct_add_addr(&d, addr, a);
    }
    double e = (hf_distinct_count(&d) - n) / n;
    hf_arena_free(a);
    return e;
}

int main(int argc, char **argv)
{
    int trials = 1000;
    uint32_t ns[16] = {1024, 2000, 10000, 100000, 1000000};
    int nn = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-t") && i + 1 < argc) {
            trials = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            nn = 0;
            for (char *p = argv[++i]; *p && nn < 16; p++) {
                ns[nn++] = (uint32_t)strtoul(p, &p, 10);
                if (!*p) break;
            }
        } else {
            fprintf(stderr, "usage: distinct_error [-t TRIALS] [-n N,N,...]\n");
            return 2;
        }
    }
    if (trials < 1 || nn < 1) return 2;
    hf_pool *pool = hf_pool_new(0);
    double *abs_err = malloc(sizeof *abs_err * (size_t)trials);
    char json[16][2][256];
    printf("%-10s %-5s %7s %9s %8s %10s %9s %9s %7s\n", "values", "kind", "trials", "mean err",
           "rms err", "mean |err|", "p99 |err|", "max |err|", "exact");
    for (int c = 0; c < nn; c++) {
        for (int kind = 0; kind < 2; kind++) {
            double sum = 0, sq = 0, sabs = 0;
            int exact = 0;
            for (int t = 0; t < trials; t++) {
                double e = one_trial(pool, ns[c], kind, (uint64_t)c << 40 | (uint64_t)kind << 32 | (uint64_t)t);
                sum += e;
                sq += e * e;
                sabs += fabs(e);
                abs_err[t] = fabs(e);
                exact += e == 0;
            }
            qsort(abs_err, (size_t)trials, sizeof *abs_err, cmp_double);
            int i99 = (int)ceil(0.99 * trials) - 1;
            double mean = sum / trials, rms = sqrt(sq / trials), mabs = sabs / trials;
            double p99 = abs_err[i99 < 0 ? 0 : i99], mx = abs_err[trials - 1];
            printf("%-10u %-5s %7d %+8.3f%% %7.3f%% %9.3f%% %8.3f%% %8.3f%% %7d\n", ns[c],
                   kind ? "IPv6" : "IPv4", trials, 100 * mean, 100 * rms, 100 * mabs, 100 * p99, 100 * mx,
                   exact);
            fflush(stdout);
            snprintf(json[c][kind], sizeof json[c][kind],
                     "{\"values\":%u,\"kind\":\"%s\",\"trials\":%d,\"mean\":%.6f,\"rms\":%.6f,"
                     "\"mean_abs\":%.6f,\"p99_abs\":%.6f,\"max_abs\":%.6f,\"exact\":%d}",
                     ns[c], kind ? "IPv6" : "IPv4", trials, mean, rms, mabs, p99, mx, exact);
        }
    }
    for (int c = 0; c < nn; c++)
        for (int kind = 0; kind < 2; kind++) printf("%s\n", json[c][kind]);
    free(abs_err);
    hf_pool_free(pool);
    return 0;
}
