/* bench_buf.c -- hf_buf_put_number(): the same text as snprintf, faster.
 *
 *   build/tools/bench_buf [N]
 *
 * First a check: N (default 2,000,000) values of each kind below are
 * written by hf_buf_put_number() and by the reference it replaced
 * ("%.15g", or "%.17g" when that does not read back, NaN and infinities as
 * null, integers below 2^53 as integers), and the texts must be identical:
 *
 *   random     random bits of doubles with |v| in [1e-6, 1e17]
 *   averages   i / j / 1000 (how avg_flow_duration divides)
 *   decimals   short decimals (0.1, 1.234, ...) and their neighbours,
 *              averages of up to 8 flows, decimals of 4 to 8 places and
 *              the values around 1e9, where the short decimals' path ends
 *   ties       dyadic values m / 2^k whose 15th or 17th digit is a tie
 *   powers     powers of two and their neighbours
 *
 * Then the time per call of both on the averages, in this thread's CPU
 * time, and of integers.  Exits 1 when any text differs (a benchmark that
 * also guards its own optimisation; tests/bench/run.sh runs it). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t next(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return rng;
}

/* The reference: what hf_buf_put_number wrote before it was optimised. */
static size_t reference(double v, char *out)
{
    if (!isfinite(v)) return (size_t)sprintf(out, "null");
    if (v == floor(v) && fabs(v) < 9007199254740992.0) return (size_t)sprintf(out, "%lld", (long long)v);
    int n = snprintf(out, 32, "%.15g", v);
    if (strtod(out, NULL) != v) n = snprintf(out, 32, "%.17g", v);
    return (size_t)n;
}

static uint64_t p10(int d)
{
    uint64_t r = 1;
    while (d-- > 0) r *= 10;
    return r;
}

static long checked, failed;

static void check(double v)
{
    char want[40];
    size_t n = reference(v, want);
    hf_buf b = {0};
    hf_buf_put_number(&b, v);
    checked++;
    if (b.len != n || memcmp(b.data, want, n) != 0) {
        if (failed++ < 10)
            printf("MISMATCH %.17g (%a): got \"%.*s\", want \"%s\"\n", v, v, (int)b.len, b.data, want);
    }
    hf_buf_release(&b);
}

static void check_both(double v)
{
    check(v);
    check(-v);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    if (n < 1000) n = 1000;

    for (long i = 0; i < n; i++) {                    /* random */
        double v = ldexp((double)(next() >> 11), -53);          /* [0, 1) */
        v = (1 + v) * pow(10, (double)(int)(next() % 24) - 6);  /* 1e-6 .. 1e17 */
        check_both(v);
    }
    for (long i = 0; i < n; i++) {                    /* averages */
        double ms = (double)(next() % 3000000), flows = (double)(1 + next() % 5000);
        check(ms / flows / 1000);
    }
    for (long i = 0; i < n / 4; i++) {                /* short decimals and neighbours */
        int digits = 1 + (int)(next() % 17);
        double v = (double)(next() % p10(digits)) / pow(10, (double)(next() % 19));
        check_both(v);
        check_both(nextafter(v, INFINITY));
        check_both(nextafter(v, 0));
    }
    for (int k = 1; k < 70; k++)                      /* ties: m / 2^k */
        for (long i = 0; i < n / 70; i++) check_both(ldexp((double)(next() % 100000 + 1), -k));
    for (int k = -20; k < 52; k++) {                  /* powers of two */
        double v = ldexp(1, k);
        for (int j = 0; j < 64; j++) {
            check_both(v);
            v = nextafter(v, INFINITY);
        }
        v = ldexp(1, k);
        for (int j = 0; j < 64; j++) {
            v = nextafter(v, 0);
            check_both(v);
        }
    }
    for (long i = 0; i < n / 2; i++) {                /* averages of a few flows: short decimals */
        double ms = (double)(next() % 3000000000ULL), flows = (double)(1 + next() % 8);
        check_both(ms / flows / 1000);
    }
    for (int places = 4; places <= 8; places++)       /* decimals of 4 to 8 places, up to 16 digits */
        for (long i = 0; i < n / 20; i++) {
            double m = (double)(next() % p10(9 + (int)(next() % 8)));
            check_both(m / (double)p10(places));
            check_both(nextafter(m / (double)p10(places), 0));
        }
    double v = 1e9;                                   /* around the upper end of the short decimals */
    for (int i = 0; i < 100000; i++) v = nextafter(v, 0);
    for (int i = 0; i < 200000; i++, v = nextafter(v, INFINITY)) check_both(v);
    for (long i = 0; i < 100000; i++) check_both(999999999.0 + (double)(i % 1000000) / 1e6);
    v = 1e-4;                                         /* around the lower end of the fast range */
    for (int i = 0; i < 100000; i++) v = nextafter(v, 0);
    for (int i = 0; i < 200000; i++, v = nextafter(v, 1)) check_both(v);
    check_both(0.1); check_both(1.234); check_both(123456.789); check_both(1.0 / 3);
    check_both(999999999999999.5); check_both(99999999999999.99); check_both(0.00099999999999999999);
    printf("hf_buf_put_number: %ld values checked against snprintf, %ld differ\n", checked, failed);

    /* timing: averages, then integers */
    enum { M = 1 << 16 };
    static double avg[M], ints[M];
    for (int i = 0; i < M; i++) {
        avg[i] = (double)(next() % 3000000) / (double)(1 + next() % 50) / 1000;
        ints[i] = (double)(next() % 10000000);
    }
    hf_buf b;
    hf_buf_init(&b, 1 << 22);
    char tmp[40];
    double best_new = 1e9, best_ref = 1e9, best_int = 1e9;
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        for (int i = 0; i < M; i++) hf_buf_put_number(&b, avg[i]);
        double t1 = now();
        size_t sum = 0;
        for (int i = 0; i < M; i++) sum += reference(avg[i], tmp);
        double t2 = now();
        b.len = 0;
        for (int i = 0; i < M; i++) hf_buf_put_number(&b, ints[i]);
        double t3 = now();
        b.len = sum & 0;
        if (t1 - t0 < best_new) best_new = t1 - t0;
        if (t2 - t1 < best_ref) best_ref = t2 - t1;
        if (t3 - t2 < best_int) best_int = t3 - t2;
    }
    hf_buf_release(&b);
    printf("averages: %.1f ns per number (snprintf + strtod: %.1f ns, %.1fx); integers: %.1f ns\n",
           best_new * 1e9 / M, best_ref * 1e9 / M, best_ref / best_new, best_int * 1e9 / M);
    printf("{\"bench\":\"buf\",\"checked\":%ld,\"differ\":%ld,\"fraction_ns\":%.2f,\"snprintf_ns\":%.2f,"
           "\"integer_ns\":%.2f}\n", checked, failed, best_new * 1e9 / M, best_ref * 1e9 / M,
           best_int * 1e9 / M);
    return failed ? 1 : 0;
}
