/* bench_prefix.c -- how fast are address parsing and prefix lookup?
 *
 * Prints, for the hot-path primitives of core/addr.c and core/prefix.c:
 *
 *   - hf_addr_parse against copy + inet_pton, on IPv4 and IPv6 texts;
 *   - hf_addr_format against inet_ntop;
 *   - hf_prefixes_match with 10 and 1000 random prefixes (IPv4 and IPv6 sets,
 *     a third nested: of each prefix's addresses one in three excluded again)
 *     against a linear scan over the same prefixes with precomputed masks;
 *   - the time to build a set of 1000 IPv4 prefixes.
 *
 * Lookup addresses are random, half of them drawn inside a prefix so that
 * walks go deep; 4096 of them, reused, so that they sit in cache as a freshly
 * decoded batch would.  Numbers are millions of operations per second, best of 5
 * runs of thread CPU time.  This is a tool, never a timed test:
 *     build/tools/bench_prefix [N]                (N operations a row) */
#include "base/addr.h"
#include "stream/prefix.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng_state = 0x853c49e6748fea9bULL;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    return rng_state = x;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);     /* a shared machine: count our CPU only */
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile uint64_t sink;

/* ---- the linear scan --------------------------------------------------- */

typedef struct {
    uint64_t hi, lo, mhi, mlo;  /* key and mask, host order */
    unsigned len;
    int include;
} scan_prefix;

static uint64_t be64(const uint8_t *b)
{
    uint64_t v;
    memcpy(&v, b, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static int scan_match(const scan_prefix *s, size_t n, const uint8_t addr[16])
{
    uint64_t hi = be64(addr), lo = be64(addr + 8);
    int best = -1, verdict = n == 0;
    for (size_t k = 0; k < n; k++)
        if ((int)s[k].len >= best && ((hi ^ s[k].hi) & s[k].mhi) == 0 && ((lo ^ s[k].lo) & s[k].mlo) == 0) {
            best = (int)s[k].len;
            verdict = s[k].include;
        }
    return verdict;
}

/* ---- workloads --------------------------------------------------------- */

typedef struct {
    hf_prefixes *trie;
    scan_prefix *scan;
    size_t n;
    uint8_t (*addrs)[16];
    size_t naddrs;
} workload;

static void random_v4(uint8_t a[16])
{
    memset(a, 0, 10);
    a[10] = a[11] = 0xff;
    uint32_t v = (uint32_t)rnd();
    memcpy(a + 12, &v, 4);
}

static void random_v6(uint8_t a[16])
{
    uint64_t r1 = rnd(), r2 = rnd();
    memcpy(a, &r1, 8);
    memcpy(a + 8, &r2, 8);
    a[0] = (uint8_t)(0x20 | (a[0] & 0x1f));     /* global unicast, 2000::/3 */
}

/* Build nprefixes random prefixes of one family and naddrs lookup addresses. */
static void workload_make(workload *w, int v6, size_t nprefixes, size_t naddrs)
{
    w->trie = hf_prefixes_new();
    w->scan = calloc(nprefixes, sizeof *w->scan);
    w->n = 0;
    uint8_t (*keys)[16] = calloc(nprefixes, 16);
    while (w->n < nprefixes) {
        uint8_t a[16], fam = v6 ? 6 : 4;
        unsigned len;
        if (w->n && rnd() % 3 == 0) {           /* nest inside an earlier one */
            size_t k = (size_t)(rnd() % w->n);
            memcpy(a, keys[k], 16);
            unsigned base = w->scan[k].len - (v6 ? 0 : 96), max = v6 ? 128 : 32;
            if (base >= max) continue;
            len = base + 1 + (unsigned)(rnd() % (max - base));
            for (unsigned b = base; b < max; b++)
                if (rnd() & 1) a[(b + (v6 ? 0 : 96)) / 8] ^= (uint8_t)(0x80 >> (b % 8));
        } else if (v6) {
            random_v6(a);
            len = 16 + (unsigned)(rnd() % 49);          /* /16 .. /64 */
        } else {
            random_v4(a);
            len = 8 + (unsigned)(rnd() % 25);           /* /8 .. /32 */
        }
        char text[80], addr[HF_ADDR_STRLEN], err[128];
        int include = rnd() % 3 != 0;
        hf_addr_format(a, fam, addr);
        snprintf(text, sizeof text, "%s%s/%u", include ? "" : "!", addr, len);
        if (hf_prefixes_add(w->trie, text, err, sizeof err) != 0) {
            fprintf(stderr, "bench_prefix: %s: %s\n", text, err);
            exit(1);
        }
        scan_prefix *s = &w->scan[w->n];
        s->len = v6 ? len : len + 96;
        s->mhi = s->len == 0 ? 0 : s->len >= 64 ? ~0ULL : ~0ULL << (64 - s->len);
        s->mlo = s->len <= 64 ? 0 : s->len == 128 ? ~0ULL : ~0ULL << (128 - s->len);
        s->hi = be64(a) & s->mhi;
        s->lo = be64(a + 8) & s->mlo;
        s->include = include;
        memcpy(keys[w->n], a, 16);
        w->n++;
    }
    w->naddrs = naddrs;
    w->addrs = malloc(naddrs * 16);
    for (size_t i = 0; i < naddrs; i++) {
        uint8_t *a = w->addrs[i];
        if (v6) random_v6(a); else random_v4(a);
        if (i & 1) {                            /* inside some prefix */
            const scan_prefix *s = &w->scan[rnd() % w->n];
            uint64_t hi = be64(a), lo = be64(a + 8);
            hi = (hi & ~s->mhi) | s->hi;
            lo = (lo & ~s->mlo) | s->lo;
            for (int k = 0; k < 8; k++) {
                a[k] = (uint8_t)(hi >> (56 - 8 * k));
                a[8 + k] = (uint8_t)(lo >> (56 - 8 * k));
            }
        }
    }
    /* The two must agree, or the numbers mean nothing. */
    for (size_t i = 0; i < naddrs; i++)
        if (hf_prefixes_match(w->trie, w->addrs[i]) != scan_match(w->scan, w->n, w->addrs[i])) {
            fprintf(stderr, "bench_prefix: trie and scan disagree\n");
            exit(1);
        }
    free(keys);
}

static void workload_free(workload *w)
{
    hf_prefixes_free(w->trie);
    free(w->scan);
    free(w->addrs);
}

/* Best of 5 runs of ops lookups; returns millions per second. */
static double time_trie(const workload *w, size_t ops)
{
    double best = 0;
    for (int run = 0; run < 5; run++) {
        uint64_t hits = 0;
        double t = now();
        for (size_t i = 0; i < ops; i++) hits += (uint64_t)hf_prefixes_match(w->trie, w->addrs[i % w->naddrs]);
        t = now() - t;
        sink += hits;
        if (ops / t / 1e6 > best) best = ops / t / 1e6;
    }
    return best;
}

static double time_scan(const workload *w, size_t ops)
{
    double best = 0;
    for (int run = 0; run < 5; run++) {
        uint64_t hits = 0;
        double t = now();
        for (size_t i = 0; i < ops; i++) hits += (uint64_t)scan_match(w->scan, w->n, w->addrs[i % w->naddrs]);
        t = now() - t;
        sink += hits;
        if (ops / t / 1e6 > best) best = ops / t / 1e6;
    }
    return best;
}

/* ---- parse and format -------------------------------------------------- */

static int pton_copy(const char *s, size_t len, uint8_t out[16], uint8_t *family)
{
    char z[HF_ADDR_STRLEN];
    if (len == 0 || len >= sizeof z) return -1;
    memcpy(z, s, len);
    z[len] = '\0';
    if (memchr(s, ':', len)) { *family = 6; return inet_pton(AF_INET6, z, out) == 1 ? 0 : -1; }
    memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    *family = 4;
    return inet_pton(AF_INET, z, out + 12) == 1 ? 0 : -1;
}

typedef int (*parse_fn)(const char *, size_t, uint8_t *, uint8_t *);

static double time_parse(parse_fn fn, char (*texts)[HF_ADDR_STRLEN], const size_t *lens, size_t n, size_t ops)
{
    double best = 0;
    for (int run = 0; run < 5; run++) {
        uint64_t acc = 0;
        double t = now();
        for (size_t i = 0; i < ops; i++) {
            uint8_t a[16], f;
            size_t k = i % n;
            if (fn(texts[k], lens[k], a, &f) == 0) acc += a[15] + f;
        }
        t = now() - t;
        sink += acc;
        if (ops / t / 1e6 > best) best = ops / t / 1e6;
    }
    return best;
}

static double time_format(int libc, uint8_t (*addrs)[16], uint8_t fam, size_t n, size_t ops)
{
    double best = 0;
    for (int run = 0; run < 5; run++) {
        uint64_t acc = 0;
        double t = now();
        for (size_t i = 0; i < ops; i++) {
            char buf[INET6_ADDRSTRLEN];
            const uint8_t *a = addrs[i % n];
            if (libc) {
                inet_ntop(fam == 4 ? AF_INET : AF_INET6, fam == 4 ? a + 12 : a, buf, sizeof buf);
                acc += (uint64_t)buf[1];
            } else {
                acc += hf_addr_format(a, fam, buf);
            }
        }
        t = now() - t;
        sink += acc;
        if (ops / t / 1e6 > best) best = ops / t / 1e6;
    }
    return best;
}

int main(int argc, char **argv)
{
    size_t ops = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
    enum { NADDRS = 1 << 12 };     /* 64 KB of addresses: in cache, as a batch is */

    printf("address text (M ops/s, best of 5, %zu ops)\n", ops);
    printf("%-26s %12s %12s %8s\n", "", "hf_addr", "libc", "ratio");
    for (int v6 = 0; v6 <= 1; v6++) {
        static char texts[NADDRS][HF_ADDR_STRLEN];
        static size_t lens[NADDRS];
        static uint8_t addrs[NADDRS][16];
        for (size_t i = 0; i < NADDRS; i++) {
            if (v6) {
                random_v6(addrs[i]);
                if (i & 1) memset(addrs[i] + 4, 0, 2 * (i % 5));        /* some "::" */
            } else {
                random_v4(addrs[i]);
            }
            lens[i] = hf_addr_format(addrs[i], v6 ? 6 : 4, texts[i]);
        }
        double mine = time_parse(hf_addr_parse, texts, lens, NADDRS, ops);
        double libc = time_parse(pton_copy, texts, lens, NADDRS, ops);
        printf("parse  %-19s %12.1f %12.1f %7.2fx\n", v6 ? "IPv6" : "IPv4", mine, libc, mine / libc);
        mine = time_format(0, addrs, v6 ? 6 : 4, NADDRS, ops);
        libc = time_format(1, addrs, v6 ? 6 : 4, NADDRS, ops);
        printf("format %-19s %12.1f %12.1f %7.2fx\n", v6 ? "IPv6" : "IPv4", mine, libc, mine / libc);
    }

    printf("\nprefix lookup (M lookups/s, best of 5, %zu lookups)\n", ops);
    printf("%-26s %12s %12s %8s\n", "", "trie", "linear", "ratio");
    static const size_t sizes[] = { 10, 1000 };
    for (int v6 = 0; v6 <= 1; v6++)
        for (size_t si = 0; si < 2; si++) {
            workload w;
            workload_make(&w, v6, sizes[si], NADDRS);
            double t = time_trie(&w, ops), s = time_scan(&w, sizes[si] > 100 ? ops / 20 : ops);
            printf("%-4s %5zu prefixes %9s %12.1f %12.2f %7.1fx\n", v6 ? "IPv6" : "IPv4",
                   sizes[si], "", t, s, t / s);
            workload_free(&w);
        }
    /* Adds: a short IPv4 prefix refills up to 4096 jump-table slots. */
    printf("\nbuilding a set (ms for 1000 adds, best of 5)\n");
    static const struct { const char *what; unsigned minlen, maxlen; } builds[] = {
        { "IPv4 /8../32", 8, 32 }, { "IPv4 /0../11 (refill-heavy)", 0, 11 },
    };
    for (size_t bi = 0; bi < 2; bi++) {
        static char texts[1000][40];
        for (size_t k = 0; k < 1000; k++) {
            uint32_t v = (uint32_t)rnd();
            unsigned len = builds[bi].minlen + (unsigned)(rnd() % (builds[bi].maxlen - builds[bi].minlen + 1));
            snprintf(texts[k], sizeof texts[k], "%s%u.%u.%u.%u/%u", rnd() % 3 ? "" : "!",
                     v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255, len);
        }
        double best = 1e9;
        for (int run = 0; run < 5; run++) {
            char err[128];
            double t = now();
            hf_prefixes *set = hf_prefixes_new();
            for (size_t k = 0; k < 1000; k++) hf_prefixes_add(set, texts[k], err, sizeof err);
            sink += hf_prefixes_count(set);
            hf_prefixes_free(set);
            t = now() - t;
            if (t < best) best = t;
        }
        printf("%-30s %8.2f\n", builds[bi].what, best * 1e3);
    }

    hf_prefixes *empty = hf_prefixes_new();
    workload w;
    workload_make(&w, 0, 1, NADDRS);
    hf_prefixes_free(w.trie);
    w.trie = empty;
    printf("\n%-26s %12.1f M lookups/s\n", "no prefixes (match all)", time_trie(&w, ops));
    workload_free(&w);
    return 0;
}
