/* flowgen.c -- a fast, deterministic generator of IP flow records (NDJSON).
 *
 * flowgen writes the input hostflow reads: one JSON flow per line in the three
 * key families of DESIGN.md (IPFIXcol as used by Stream4Flow, IPFIXcol2,
 * nfdump -o json), and, on request, the truth an independent checker needs
 * (tests/integration/e2e_check.py): every accepted, in-time flow in
 * normalised form, and the lines hostflow must reject, filter or count late.
 *
 * The world it simulates:
 *
 *   monitored hosts   N = --hosts, in 10.0.0.0/8 (IPv4) and 2001:db8::/32
 *                     (a share --ipv6 of the hosts and of the flows).  Host
 *                     activity is Zipf (s = 1.1); a sweep makes every host
 *                     appear at least once when there are enough flows.
 *   peers             a few dozen per host (lognormal), each with a service
 *                     port per protocol (443, 80, 53, 22, ...); some hosts
 *                     are servers and answer from their service port to
 *                     ephemeral client ports.
 *   scanners          --scanners hosts that probe thousands of addresses and
 *                     ports (each --scan-share of the lines).
 *   outside sources   --outside of the flows come from 198.51.100.0/24,
 *                     203.0.113.0/24 or 3fff::/20: hostflow's filter drops them.
 *   flow sizes        packets Pareto (heavy tail), bytes = packets x a size
 *                     drawn per protocol; TCP 70 %, UDP 25 %, ICMP 5 %.
 *   event time        line i ends near start + i / rate, up to --jitter-ms
 *                     earlier (out of order, never late); --late flows end at
 *                     least 10 min before the latest end seen so far and carry
 *                     "_late":true; --malformed lines are garbage of a kind
 *                     whose reject reason is known (one defect per line).
 *   spelling          each family as its exporter writes it (IPFIXcol2 times
 *                     as ISO text or ms, flags as ".AP.S." or a number; nfdump
 *                     times "2026-11-26T14:00:00.123" in UTC, flags "...AP.S.");
 *                     --variety lines are valid but unusual (key order,
 *                     whitespace, nested and escaped unknown keys, CRLF, IPv6
 *                     in upper case or in full, ISO zone offsets).
 *
 * Determinism: one xoshiro256** stream seeded by splitmix64 drives everything,
 * and nothing depends on the clock, the locale or the C library's rand().  The
 * same seed and options give the same bytes (on one machine: libm's exp/log
 * are used for the heavy tails).
 *
 * Speed: every line is assembled by hand (no printf per field) into a large
 * buffer written with fwrite: about 3.5 million lines/s of CPU (-O2, one core
 * of the 2-core test machine), 2.5 million/s writing ~440 bytes a line to a
 * file through the page cache. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FG_DEFAULT_SEED     20261126ULL
#define FG_DEFAULT_START_MS 1795701600000LL /* 2026-11-26T14:00:00Z */
#define FG_LATE_MIN_MS      (10 * 60 * 1000) /* late flows: >= 10 min behind */
#define FG_LATE_SPREAD_MS   (5 * 60 * 1000)
#define FG_MAX_DURATION_MS  300000           /* an exporter's active timeout */
#define FG_MAX_PACKETS      50000000ULL
#define FG_TOO_LONG_MIN     (3 * 1024 * 1024 / 2) /* too_long lines: 1.5 .. 3.5 MiB */
#define FG_TOO_LONG_SPREAD  (2 * 1024 * 1024)
#define FG_OUTBUF           (4 * 1024 * 1024)
#define FG_LINE_MAX         4096             /* every line but too_long fits */
#define FG_MAX_SCANNERS     64
#define FG_V4_HOSTS         (65536ULL * 254)  /* 10.a.b.1 .. 10.a.b.254 */

/* ======================== options ======================== */

enum { FAM_IPFIX, FAM_IPFIX2, FAM_NFDUMP, FAM_MIXED };

typedef struct opts {
    uint64_t seed;
    uint64_t flows;       /* lines written */
    uint64_t hosts;       /* monitored source hosts (population) */
    int64_t  start_ms;
    double   rate;        /* lines per second of event time */
    int      family;      /* FAM_* */
    double   ipv6;
    int      scanners;
    double   scan_share;  /* of the lines, per scanner */
    double   outside;
    double   late;
    double   malformed;
    double   variety;
    double   string_numbers;
    int64_t  jitter_ms;
    const char *truth;
    const char *out;
    /* simulated days (--days): the profiles' world (days.c's part below) */
    double   days;
    int64_t  day_ms;
    double   minute_flows;
    double   noise;
    int      ndev;
    struct { uint64_t host; int64_t at_ms, for_ms; double factor; } dev[8];
    int      nnew;
    struct { uint64_t host; int64_t at_ms; uint16_t port; } newport[8];
} opts;

static const char *const family_names[] = {"ipfix", "ipfix2", "nfdump", "mixed"};

/* ======================== PRNG: xoshiro256** seeded by splitmix64 ======================== */

typedef struct rng { uint64_t s[4]; } rng;

static inline uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* splitmix64: advances *x and returns a well-mixed value. */
static inline uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* A stateless 64-bit hash (the splitmix64 finaliser): host and peer traits. */
static inline uint64_t mix64(uint64_t x)
{
    return splitmix64(&x);
}

static void rng_seed(rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

/* Uniform in [0, 1). */
static inline double rng_unit(rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

/* Uniform in (0, 1]. */
static inline double rng_open(rng *r) { return (double)((rng_next(r) >> 11) + 1) * 0x1.0p-53; }

/* Uniform in [0, n) (multiply-high; the bias is below 2^-32 for our n). */
static inline uint32_t rng_below(rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* ======================== Zipf sampling ======================== */

/* Samples a rank k in 0..n-1 with P(k) ~ (k+1)^-s, s > 0 and s != 1.  Up to
 * ZIPF_TABLE_MAX ranks, the cumulative distribution with a guide table
 * (Chen & Asau): one look-up and a step or two per sample.  Beyond, the
 * rejection-inversion method of Hoermann & Derflinger (as in Apache Commons'
 * RejectionInversionZipfSampler), O(1) memory, a few exp/log per sample. */
#ifndef ZIPF_TABLE_MAX
#define ZIPF_TABLE_MAX (1u << 21)
#endif

typedef struct zipf {
    double s;
    uint64_t n;
    double hx1, hn, sq;   /* rejection-inversion */
    double *cdf;          /* table: cdf[k] = P(rank <= k), n entries */
    uint32_t *guide;      /* guide[i] = first k with cdf[k] >= i / n */
} zipf;

static double zipf_h(const zipf *z, double x) { return exp(-z->s * log(x)); }
static double zipf_helper1(double x) { return fabs(x) > 1e-8 ? log1p(x) / x : 1 - x * (0.5 - x * (1.0 / 3 - 0.25 * x)); }
static double zipf_helper2(double x) { return fabs(x) > 1e-8 ? expm1(x) / x : 1 + x * 0.5 * (1 + x / 3 * (1 + 0.25 * x)); }
static double zipf_H(const zipf *z, double x) { double lx = log(x); return zipf_helper2((1 - z->s) * lx) * lx; }
static double zipf_Hinv(const zipf *z, double x)
{
    double t = x * (1 - z->s);
    if (t < -1) t = -1;
    return exp(zipf_helper1(t) * x);
}

static void zipf_init(zipf *z, uint64_t n, double s)
{
    memset(z, 0, sizeof *z);
    z->s = s; z->n = n;
    if (n < 2) return;
    if (n <= ZIPF_TABLE_MAX) {
        z->cdf = malloc(n * sizeof *z->cdf);
        z->guide = malloc(n * sizeof *z->guide);
        if (!z->cdf || !z->guide) { fprintf(stderr, "flowgen: out of memory\n"); exit(2); }
        double sum = 0;
        for (uint64_t k = 0; k < n; k++) sum += exp(-s * log((double)(k + 1)));
        double acc = 0;
        for (uint64_t k = 0; k < n; k++) {
            acc += exp(-s * log((double)(k + 1))) / sum;
            z->cdf[k] = acc;
        }
        z->cdf[n - 1] = 1.0;
        uint64_t k = 0;
        for (uint64_t i = 0; i < n; i++) {
            while (z->cdf[k] < (double)i / (double)n) k++;
            z->guide[i] = (uint32_t)k;
        }
        return;
    }
    z->hx1 = zipf_H(z, 1.5) - 1;
    z->hn = zipf_H(z, (double)n + 0.5);
    z->sq = 2 - zipf_Hinv(z, zipf_H(z, 2.5) - zipf_h(z, 2));
}

static void zipf_free(zipf *z)
{
    free(z->cdf);
    free(z->guide);
}

/* Returns a rank in 0 .. n-1 (0 the most active). */
static uint64_t zipf_sample(const zipf *z, rng *r)
{
    if (z->n < 2) return 0;
    if (z->cdf) {
        double u = rng_unit(r);
        uint64_t k = z->guide[(uint64_t)(u * (double)z->n)];
        while (z->cdf[k] < u) k++;
        return k;
    }
    for (;;) {
        double u = z->hn + rng_unit(r) * (z->hx1 - z->hn);
        double x = zipf_Hinv(z, u);
        double kd = floor(x + 0.5);
        if (kd < 1) kd = 1;
        else if (kd > (double)z->n) kd = (double)z->n;
        if (kd - x <= z->sq || u >= zipf_H(z, kd + 0.5) - zipf_h(z, kd))
            return (uint64_t)kd - 1;
    }
}

/* ======================== output buffers and hand formatting ======================== */

typedef struct outbuf {
    FILE *f;
    const char *path;
    char *buf;
    size_t len;
} outbuf;

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "flowgen: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(2);
}

static void ob_flush(outbuf *o)
{
    if (o->len && fwrite(o->buf, 1, o->len, o->f) != o->len)
        die("write to %s failed", o->path);
    o->len = 0;
}

/* A pointer with room for at least FG_LINE_MAX bytes; ob_done() commits. */
static inline char *ob_room(outbuf *o)
{
    if (o->len + FG_LINE_MAX > FG_OUTBUF) ob_flush(o);
    return o->buf + o->len;
}

static inline void ob_done(outbuf *o, char *end) { o->len = (size_t)(end - o->buf); }

static void ob_open(outbuf *o, const char *path, int allow_stdout)
{
    o->path = path;
    if (allow_stdout && (!path || strcmp(path, "-") == 0)) {
        o->f = stdout;
        o->path = "stdout";
    } else if (!(o->f = fopen(path, "wb"))) {
        fprintf(stderr, "flowgen: cannot open %s: %s\n", path, strerror(errno));
        exit(2);
    }
    if (!(o->buf = malloc(FG_OUTBUF))) die("out of memory%s", "");
    o->len = 0;
}

static void ob_close(outbuf *o)
{
    ob_flush(o);
    if (fflush(o->f) != 0 || (o->f != stdout && fclose(o->f) != 0))
        die("write to %s failed", o->path);
    free(o->buf);
}

static const char digits2[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static inline int ndigits(uint64_t v)
{
    int n = 1;
    while (v >= 10000) { v /= 10000; n += 4; }
    return n + (v >= 10) + (v >= 100) + (v >= 1000);
}

static inline char *put_u64(char *p, uint64_t v)
{
    char *e = p + ndigits(v), *q = e;
    while (v >= 100) {
        unsigned d = (unsigned)(v % 100) * 2;
        v /= 100;
        q -= 2; q[0] = digits2[d]; q[1] = digits2[d + 1];
    }
    if (v >= 10) { unsigned d = (unsigned)v * 2; q[-2] = digits2[d]; q[-1] = digits2[d + 1]; }
    else q[-1] = (char)('0' + v);
    return e;
}

static inline char *put_i64(char *p, int64_t v)
{
    if (v < 0) { *p++ = '-'; return put_u64(p, (uint64_t)0 - (uint64_t)v); }
    return put_u64(p, (uint64_t)v);
}

static inline char *put_mem(char *p, const char *s, size_t n) { memcpy(p, s, n); return p + n; }
#define PUT_LIT(p, s) put_mem((p), (s), sizeof(s) - 1)

static inline char *put_2d(char *p, unsigned v) { p[0] = digits2[v * 2]; p[1] = digits2[v * 2 + 1]; return p + 2; }

/* "0." .. "255." with their lengths (the dot included), for put_ip4. */
static char octet_text[256][4];
static uint8_t octet_len[256];

static void octets_init(void)
{
    for (unsigned i = 0; i < 256; i++) {
        char *e = put_u64(octet_text[i], i);
        *e++ = '.';
        octet_len[i] = (uint8_t)(e - octet_text[i]);
    }
}

/* Dotted quad; writes up to 16 bytes, returns the end of the 7..15 used. */
static inline char *put_ip4(char *p, uint32_t a)
{
    for (int sh = 24; sh >= 0; sh -= 8) {
        unsigned o = (a >> sh) & 255;
        memcpy(p, octet_text[o], 4);
        p += octet_len[o];
    }
    return p - 1; /* no dot after the last */
}

static const char hexlower[] = "0123456789abcdef";
static const char hexupper[] = "0123456789ABCDEF";

static char *put_hex16(char *p, unsigned v, const char *hex, int pad)
{
    int started = pad;
    for (int sh = 12; sh >= 0; sh -= 4) {
        unsigned d = (v >> sh) & 15;
        if (d || started || sh == 0) { *p++ = hex[d]; started = 1; }
    }
    return p;
}

/* IPv6 text: style 0 is RFC 5952 (lower case, the longest run of two or more
 * zero groups -- the first on a tie -- as "::"); 1 the same in upper case;
 * 2 the full form with every group padded to four digits. */
static char *put_ip6(char *p, const uint16_t g[8], int style)
{
    if (style == 2) {
        for (int i = 0; i < 8; i++) {
            if (i) *p++ = ':';
            p = put_hex16(p, g[i], hexlower, 1);
        }
        return p;
    }
    const char *hex = style == 1 ? hexupper : hexlower;
    int best = -1, bestlen = 1;
    for (int i = 0; i < 8;) {
        if (g[i]) { i++; continue; }
        int j = i;
        while (j < 8 && !g[j]) j++;
        if (j - i > bestlen) { best = i; bestlen = j - i; }
        i = j;
    }
    for (int i = 0; i < 8;) {
        if (i == best) { *p++ = ':'; *p++ = ':'; i += bestlen; continue; }
        if (i > 0 && i != best + bestlen) *p++ = ':';
        p = put_hex16(p, g[i], hex, 0);
        i++;
    }
    return p;
}

/* ISO 8601 time of ms since the epoch.  zone: 0 none ("...00.123", nfdump),
 * 1 "Z", 2 "+01:00", 3 "-05:30"; sep is 'T' or ' '.  The date of the last
 * day formatted is cached. */
static int64_t iso_day = INT64_MIN;
static char iso_date[11];

static char *put_iso(char *p, int64_t ms, int zone, char sep)
{
    if (zone == 2) ms += 3600000;
    else if (zone == 3) ms -= 19800000;
    int64_t day = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    int64_t rem = ms - day * 86400000;
    if (day != iso_day) {
        /* civil_from_days (H. Hinnant) */
        int64_t z = day + 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t y = yoe + era * 400;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        unsigned d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
        unsigned m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
        y += m <= 2;
        char *q = iso_date;
        q = put_2d(q, (unsigned)(y / 100) % 100); q = put_2d(q, (unsigned)(y % 100));
        *q++ = '-'; q = put_2d(q, m); *q++ = '-'; put_2d(q, d);
        iso_day = day;
    }
    p = put_mem(p, iso_date, 10);
    *p++ = sep;
    unsigned s = (unsigned)(rem / 1000), msec = (unsigned)(rem % 1000);
    p = put_2d(p, s / 3600); *p++ = ':';
    p = put_2d(p, s / 60 % 60); *p++ = ':';
    p = put_2d(p, s % 60); *p++ = '.';
    *p++ = (char)('0' + msec / 100);
    p = put_2d(p, msec % 100);
    switch (zone) {
    case 1: *p++ = 'Z'; break;
    case 2: p = PUT_LIT(p, "+01:00"); break;
    case 3: p = PUT_LIT(p, "-05:30"); break;
    default: break;
    }
    return p;
}

/* ======================== the world: hosts, peers, services ======================== */

typedef struct addr {
    uint8_t  fam;   /* 4 or 6 */
    uint32_t v4;
    uint16_t g[8];
} addr;

typedef struct world {
    const opts *o;
    uint64_t key;               /* seed-derived key of every trait hash */
    uint64_t n4, n6;            /* population per family */
    zipf z4, z6;
    uint64_t cover4, cover6;    /* the coverage sweep: next unseen rank */
    double normq[1024];         /* standard normal quantiles */
    uint16_t peers_of[256];     /* peers per host: lognormal quantiles */
    uint16_t tcp_port[256], udp_port[256]; /* service ports by weight */
    uint32_t scan_net[FG_MAX_SCANNERS];
} world;

/* Acklam's rational approximation of the standard normal quantile. */
static double norm_quantile(double p)
{
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                               1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                               6.680131188771972e+01, -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                               -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
    if (p < 0.02425) {
        double q = sqrt(-2 * log(p));
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
               ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    if (p > 1 - 0.02425) return -norm_quantile(1 - p);
    double q = p - 0.5, r = q * q;
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
           (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

static void fill_ports(uint16_t *table, const uint16_t *ports, const uint16_t *weights, size_t n)
{
    size_t at = 0;
    for (size_t i = 0; i < n && at < 256; i++)
        for (unsigned w = 0; w < weights[i] && at < 256; w++) table[at++] = ports[i];
    while (at < 256) table[at++] = 0; /* 0: a random registered port */
}

static void world_init(world *w, const opts *o)
{
    memset(w, 0, sizeof *w);
    w->o = o;
    w->key = mix64(o->seed ^ 0x666c6f7767656eULL);
    w->n6 = (uint64_t)llround((double)o->hosts * o->ipv6);
    if (o->ipv6 > 0 && w->n6 == 0 && o->hosts > 1) w->n6 = 1;
    if (w->n6 > o->hosts) w->n6 = o->hosts;
    w->n4 = o->hosts - w->n6;
    if (w->n4 == 0 && o->ipv6 < 1 && o->hosts > 1) { w->n4 = 1; w->n6--; }
    zipf_init(&w->z4, w->n4, 1.1);
    zipf_init(&w->z6, w->n6, 1.1);
    for (int i = 0; i < 1024; i++) w->normq[i] = norm_quantile((i + 0.5) / 1024);
    for (int i = 0; i < 256; i++) {
        double k = exp(log(24.0) + 0.9 * norm_quantile((i + 0.5) / 256));
        w->peers_of[i] = (uint16_t)(k < 2 ? 2 : k > 600 ? 600 : k);
    }
    static const uint16_t tp[] = {443, 80, 22, 8080, 25, 993, 3389, 445, 8443, 3306, 5222, 1883, 587, 143};
    static const uint16_t tw[] = {100, 34, 12, 8, 5, 8, 5, 8, 6, 4, 3, 3, 3, 3};
    static const uint16_t up[] = {53, 443, 123, 5353, 1900, 161, 514, 4500, 3478, 137};
    static const uint16_t uw[] = {100, 45, 25, 8, 6, 6, 5, 5, 6, 4};
    fill_ports(w->tcp_port, tp, tw, sizeof tp / sizeof tp[0]);
    fill_ports(w->udp_port, up, uw, sizeof up / sizeof up[0]);
    for (int k = 0; k < FG_MAX_SCANNERS; k++)
        w->scan_net[k] = (uint32_t)(mix64(w->key ^ 0x5ca11e5ULL ^ (uint64_t)k) & 0xffff);
}

/* A bijection of [0, 2^bits): distinct ranks get distinct addresses. */
static uint64_t permute(uint64_t x, int bits, uint64_t key)
{
    uint64_t mask = (bits == 64 ? ~0ULL : (1ULL << bits) - 1);
    x = (x + key) & mask;
    x = (x * 0x9E3779B97F4A7C15ULL) & mask;
    x ^= x >> (bits / 2);
    x = (x * 0xBF58476D1CE4E5B9ULL) & mask;
    x ^= x >> (bits / 2 + 1);
    x = (x + (key >> 17)) & mask;
    return x;
}

/* The address of monitored host rank (of family fam).  IPv4 hosts are
 * 10.a.b.1 .. 10.a.b.254 (FG_V4_HOSTS of them), rank mapped by a bijection
 * (permute, cycle-walked into range). */
static void host_addr(const world *w, int fam, uint64_t rank, addr *a)
{
    a->fam = (uint8_t)fam;
    if (fam == 4) {
        uint64_t x = rank;
        do x = permute(x, 24, w->key); while (x >= FG_V4_HOSTS);
        a->v4 = 0x0a000000u | (uint32_t)(x / 254) << 8 | (uint32_t)(1 + x % 254);
        return;
    }
    uint64_t h = mix64(w->key ^ 0x6666ULL ^ rank);
    uint32_t iid = (uint32_t)permute(rank, 32, w->key);
    a->g[0] = 0x2001; a->g[1] = 0x0db8;
    a->g[2] = (uint16_t)(h & 7);               /* 0 .. 7: single zero groups appear */
    a->g[3] = (uint16_t)((h >> 8) & 0x1ff);
    if ((h >> 20) & 1) {                       /* SLAAC-like interface id */
        a->g[4] = (uint16_t)(h >> 24); a->g[5] = (uint16_t)(h >> 40);
    } else {                                   /* a numbered one: zero runs */
        a->g[4] = 0; a->g[5] = 0;
    }
    a->g[6] = (uint16_t)(iid >> 16); a->g[7] = (uint16_t)iid;
}

/* A scanner's address: outside the population's ranks, so never shared. */
static void scanner_addr(const world *w, int k, addr *a)
{
    int fam = (k % 4 == 3 && w->n6) ? 6 : 4;
    host_addr(w, fam, (fam == 4 ? w->n4 : w->n6) + (uint64_t)k, a);
}

static const uint8_t public_v4[] = {8, 13, 23, 31, 34, 35, 37, 45, 52, 54, 64, 66, 74, 77, 80, 81,
                                    91, 93, 104, 130, 142, 147, 151, 157, 176, 185, 195, 212, 213, 216};

/* A remote (peer or client) address from 64 bits of entropy h. */
static void remote_addr(int fam, uint64_t h, addr *a)
{
    a->fam = (uint8_t)fam;
    if (fam == 4) {
        if ((h & 3) == 0)
            a->v4 = 0x0a000000u | (uint32_t)((h >> 8) & 0xffff) << 8 | (uint32_t)(1 + (h >> 24) % 254);
        else                                                          /* above: an internal server */
            a->v4 = (uint32_t)public_v4[(h >> 2) % sizeof public_v4] << 24 |
                    (uint32_t)((h >> 16) & 0xffff) << 8 | (uint32_t)(1 + (h >> 32) % 254);
        return;
    }
    memset(a->g, 0, sizeof a->g);
    switch (h & 3) {
    case 0: a->g[0] = 0x2001; a->g[1] = 0x0db8; a->g[3] = (uint16_t)(h >> 8 & 0xff);
            a->g[7] = (uint16_t)(h >> 16); break;                      /* internal */
    case 1: a->g[0] = 0x2a00; a->g[1] = 0x1450; a->g[2] = 0x4001; a->g[3] = (uint16_t)(h >> 8 & 0xfff);
            a->g[7] = (uint16_t)(h >> 20 & 0xfff); break;
    case 2: a->g[0] = 0x2606; a->g[1] = 0x4700; a->g[6] = (uint16_t)(h >> 8 & 0xff);
            a->g[7] = (uint16_t)(h >> 24); break;
    default: a->g[0] = 0x2a02; a->g[1] = (uint16_t)(h >> 8 & 0xfff); a->g[2] = (uint16_t)(h >> 20);
             a->g[4] = (uint16_t)(h >> 36); a->g[5] = (uint16_t)(h >> 52); a->g[6] = (uint16_t)(h >> 40);
             a->g[7] = (uint16_t)(h >> 24); break;
    }
}

/* A source outside the monitored networks. */
static void outside_addr(int fam, uint64_t h, addr *a)
{
    a->fam = (uint8_t)fam;
    if (fam == 4) {
        a->v4 = ((h & 1) ? 0xc6336400u : 0xcb007100u) | (uint32_t)(1 + (h >> 8) % 254);
        return;
    }
    memset(a->g, 0, sizeof a->g);
    a->g[0] = 0x3fff; a->g[1] = (uint16_t)(h >> 8 & 0xfff); a->g[7] = (uint16_t)(h >> 24);
}

/* ======================== flows ======================== */

typedef struct gflow {
    addr     src, dst;
    uint8_t  proto, flags;
    uint16_t sport, dport;
    uint64_t packets, bytes;
    int64_t  start_ms, end_ms;
} gflow;

static inline uint16_t ephemeral(rng *r)
{
    return (uint16_t)(rng_below(r, 2) ? 32768 + rng_below(r, 28232) : 49152 + rng_below(r, 16384));
}

static uint16_t service_port(const world *w, int proto, uint64_t h)
{
    uint16_t p = (proto == 6 ? w->tcp_port : w->udp_port)[h & 255];
    return p ? p : (uint16_t)(1024 + (h >> 8) % 48128);
}

static uint8_t tcp_flags_for(rng *r, uint64_t packets)
{
    uint32_t u = rng_below(r, 1000);
    if (packets == 1) {
        if (u < 400) return 0x02;             /* SYN, unanswered */
        if (u < 650) return 0x14;             /* RST ACK */
        if (u < 900) return 0x10;             /* ACK */
        if (u < 950) return 0xC2;             /* SYN ECE CWR */
        return 0x01 | 0x10;                   /* FIN ACK */
    }
    if (packets <= 3) {
        if (u < 400) return 0x12;             /* SYN ACK */
        if (u < 700) return 0x02;
        if (u < 900) return 0x16;             /* SYN RST ACK */
        return 0x11;                          /* FIN ACK */
    }
    if (u < 700) return 0x1B;                 /* FIN SYN PSH ACK: a whole connection */
    if (u < 850) return 0x1A;                 /* still open */
    if (u < 930) return 0x1F;                 /* ... and reset */
    if (u < 975) return 0x18;                 /* PSH ACK: the middle of a long one */
    if (u < 990) return 0x3A;                 /* with URG */
    return 0xDB;                              /* with ECE CWR */
}

/* Packets, bytes, duration and flags for a flow of proto to service port. */
static void flow_sizes(const world *w, rng *r, gflow *f)
{
    double u = rng_open(r);
    uint64_t pk;
    unsigned size;
    if (f->proto == 6) {
        /* 1 flow in 7 is a lone packet (refused, reset, keep-alive); the
         * rest Pareto from 2 packets on (alpha 1.1: a heavy tail) */
        pk = rng_below(r, 7) == 0 ? 1 : (uint64_t)(2 * pow(u, -1 / 1.1));
        if (pk > FG_MAX_PACKETS) pk = FG_MAX_PACKETS;
        if (pk <= 2) size = 40 + rng_below(r, 40);
        else size = rng_below(r, 2) ? 52 + rng_below(r, 150) : 600 + rng_below(r, 901);
        f->flags = tcp_flags_for(r, pk);
    } else if (f->proto == 17) {
        if (f->dport == 53 || f->sport == 53 || f->dport == 123) {
            pk = 1 + (u < 0.2);
            size = 60 + rng_below(r, 300);
        } else {
            pk = (uint64_t)pow(u, -1 / 1.3);
            if (pk > FG_MAX_PACKETS) pk = FG_MAX_PACKETS;
            if (pk < 1) pk = 1;
            size = 100 + rng_below(r, 1301);
        }
        f->flags = 0;
    } else {
        pk = 1 + rng_below(r, 8);
        size = 64 + rng_below(r, 35);
        f->flags = 0;
    }
    f->packets = pk;
    f->bytes = pk * size;
    int64_t dur = 0;
    if (pk > 1 || rng_below(r, 10) == 0) {
        double z = w->normq[rng_next(r) & 1023];
        double d = exp(5.3 + 0.45 * log((double)pk) + 1.1 * z);
        dur = d > FG_MAX_DURATION_MS ? FG_MAX_DURATION_MS : (int64_t)d;
    }
    f->end_ms = 0;
    f->start_ms = -dur; /* the caller adds the end time */
}

static inline int pick_proto(rng *r, int fam)
{
    uint32_t u = rng_below(r, 100);
    return u < 70 ? 6 : u < 95 ? 17 : (fam == 6 ? 58 : 1);
}

/* A flow of monitored host (fam, rank) ending at end_ms. */
static void gen_host_flow(const world *w, rng *r, int fam, uint64_t rank, int64_t end_ms, gflow *f)
{
    uint64_t hk = mix64(w->key ^ ((uint64_t)fam << 40) ^ rank);
    host_addr(w, fam, rank, &f->src);
    f->proto = (uint8_t)pick_proto(r, fam);
    int server = ((hk >> 8) & 15) == 0;                    /* 1 host in 16 serves */
    int as_server = rng_below(r, 100) < (server ? 60u : 4u);
    if (as_server) {
        remote_addr(fam, rng_next(r) | 1, &f->dst);       /* an external client */
        f->sport = f->proto == 6 || f->proto == 17 ? service_port(w, f->proto, hk >> 16) : 0;
        f->dport = f->proto == 6 || f->proto == 17 ? ephemeral(r) : 0;
    } else {
        uint32_t npeers = w->peers_of[hk & 255];
        double u = rng_unit(r);
        uint64_t idx = (uint64_t)(npeers * u * u);
        uint64_t pk = mix64(hk ^ (idx * 0x9E3779B97F4A7C15ULL) ^ 0xabcULL);
        remote_addr(fam, pk, &f->dst);
        if (f->proto == 6 || f->proto == 17) {
            f->sport = ephemeral(r);
            f->dport = service_port(w, f->proto, (pk >> 24) ^ (uint64_t)f->proto);
        } else {
            f->sport = f->dport = 0;
        }
    }
    flow_sizes(w, r, f);
    f->end_ms = end_ms;
    f->start_ms += end_ms;
}

/* A probe of scanner k: SYNs (and some UDP) to many addresses and ports. */
static void gen_scan_flow(const world *w, rng *r, int k, int64_t end_ms, gflow *f)
{
    scanner_addr(w, k, &f->src);
    uint64_t h = rng_next(r);
    if (f->src.fam == 4) {
        f->dst.fam = 4;
        /* a /16 of its own, and a third of the probes inside */
        f->dst.v4 = (uint32_t)public_v4[k % sizeof public_v4] << 24 | (w->scan_net[k] & 0xff) << 16 |
                    (uint32_t)(h & 0xffff);
        if ((h >> 8) % 3 == 0) f->dst.v4 = 0x0a000000u | (uint32_t)((h >> 8) & 0xffffff); /* inside, too */
    } else {
        f->dst.fam = 6;
        memset(f->dst.g, 0, sizeof f->dst.g);
        f->dst.g[0] = 0x2001; f->dst.g[1] = 0x0db8; f->dst.g[3] = (uint16_t)(h >> 40 & 0xff);
        f->dst.g[7] = (uint16_t)h;
    }
    f->sport = (uint16_t)(40000 + (k * 7919) % 20000 + (h >> 60));
    if (rng_below(r, 10) == 0) {
        static const uint16_t probes[] = {53, 123, 161, 1900, 11211, 5353, 137, 500};
        f->proto = 17;
        f->dport = rng_below(r, 2) ? probes[rng_below(r, 8)] : (uint16_t)(1 + rng_below(r, 65535));
        f->packets = 1;
        f->bytes = 28 + rng_below(r, 72);
        f->flags = 0;
    } else {
        f->proto = 6;
        f->dport = (uint16_t)(rng_below(r, 10) < 7 ? 1 + rng_below(r, 1024) : 1 + rng_below(r, 65535));
        f->packets = 1 + (rng_below(r, 5) == 0);
        f->bytes = f->packets * (rng_below(r, 2) ? 44 : 60);
        f->flags = rng_below(r, 20) ? 0x02 : 0x14;
    }
    f->end_ms = end_ms;
    f->start_ms = end_ms - (f->packets > 1 ? (int64_t)rng_below(r, 3000) : 0);
}

/* A flow from outside the monitored networks to a monitored host. */
static void gen_outside_flow(const world *w, rng *r, int fam, int64_t end_ms, gflow *f)
{
    outside_addr(fam, rng_next(r), &f->src);
    const zipf *z = fam == 4 ? &w->z4 : &w->z6;
    host_addr(w, fam, zipf_sample(z, r), &f->dst);
    f->proto = (uint8_t)pick_proto(r, fam);
    if (f->proto == 6 || f->proto == 17) {
        f->sport = ephemeral(r);
        f->dport = service_port(w, f->proto, rng_next(r));
    } else {
        f->sport = f->dport = 0;
    }
    flow_sizes(w, r, f);
    f->end_ms = end_ms;
    f->start_ms += end_ms;
}

/* ======================== JSON lines ======================== */

/* The semantic fields of a flow line; the key of each per family. */
enum { S_SRC, S_DST, S_SPORT, S_DPORT, S_PROTO, S_PKTS, S_BYTES, S_START, S_END, S_FLAGS, S_N };

/* A key; the fixed-size array lets the writer copy it in a few stores. */
typedef struct fkey { char s[48]; uint8_t n; } fkey;
#define K(s) {s, sizeof(s) - 1}

/* keys[family][field], addresses as [.][S_SRC/S_DST] for IPv4, keys6 for IPv6 */
static const fkey keys[3][S_N] = {
    {K("ipfix.sourceIPv4Address"), K("ipfix.destinationIPv4Address"), K("ipfix.sourceTransportPort"),
     K("ipfix.destinationTransportPort"), K("ipfix.protocolIdentifier"), K("ipfix.packetDeltaCount"),
     K("ipfix.octetDeltaCount"), K("ipfix.flowStartMilliseconds"), K("ipfix.flowEndMilliseconds"),
     K("ipfix.tcpControlBits")},
    {K("iana:sourceIPv4Address"), K("iana:destinationIPv4Address"), K("iana:sourceTransportPort"),
     K("iana:destinationTransportPort"), K("iana:protocolIdentifier"), K("iana:packetDeltaCount"),
     K("iana:octetDeltaCount"), K("iana:flowStartMilliseconds"), K("iana:flowEndMilliseconds"),
     K("iana:tcpControlBits")},
    {K("src4_addr"), K("dst4_addr"), K("src_port"), K("dst_port"), K("proto"), K("in_packets"),
     K("in_bytes"), K("first"), K("last"), K("tcp_flags")},
};
static const fkey keys6[3][2] = {
    {K("ipfix.sourceIPv6Address"), K("ipfix.destinationIPv6Address")},
    {K("iana:sourceIPv6Address"), K("iana:destinationIPv6Address")},
    {K("src6_addr"), K("dst6_addr")},
};

#define JL_MAXF 40

typedef struct jstyle { char kv[4]; uint8_t kvn; char sep[4]; uint8_t sepn; } jstyle;
static const jstyle styles[3] = {
    {": ", 2, ", ", 2},   /* ipfixcol */
    {":", 1, ",", 1},     /* ipfixcol2 */
    {" : ", 3, ", ", 2},  /* nfdump, one object per line */
};

/* One JSON object under construction.  The fields are written at once as the
 * final text ("key": value, ...) in the family's style, so that an ordinary
 * line is a single copy; their offsets let jl_emit rebuild the object in
 * another order or spacing, or with a field spoilt or removed. */
typedef struct jline {
    int n;
    int dirty;              /* a field was replaced or removed: rebuild */
    const jstyle *st;
    const fkey *key[JL_MAXF]; /* static keys only */
    uint16_t voff[JL_MAXF], vlen[JL_MAXF];
    int sem[S_N];           /* field index of each semantic field, -1 absent */
    size_t vn;
    char v[3072];
} jline;

static void jl_reset(jline *j, const jstyle *st)
{
    j->n = 0; j->vn = 0; j->dirty = 0; j->st = st;
    for (int i = 0; i < S_N; i++) j->sem[i] = -1;
}

/* Start field k; returns where its value goes. */
static inline char *jl_begin(jline *j, const fkey *k)
{
    char *p = j->v + j->vn;
    if (j->n) { memcpy(p, j->st->sep, 4); p += j->st->sepn; }
    *p++ = '"';
    memcpy(p, k->s, sizeof k->s);   /* j->v keeps room past every line */
    p += k->n;
    *p++ = '"';
    memcpy(p, j->st->kv, 4);
    p += j->st->kvn;
    j->key[j->n] = k;
    j->voff[j->n] = (uint16_t)(p - j->v);
    return p;
}

/* End the field begun last; end is past its value. */
static inline void jl_end(jline *j, char *end)
{
    size_t off = j->voff[j->n];
    j->vlen[j->n] = (uint16_t)((size_t)(end - j->v) - off);
    j->vn = (size_t)(end - j->v);
    j->n++;
}

static void jl_raw(jline *j, const fkey *k, const char *s, size_t n)
{
    char *p = jl_begin(j, k);
    jl_end(j, put_mem(p, s, n));
}
/* An extra field of constant text; the key lives in a static object, since
 * the line keeps a pointer to it. */
#define JL_RAW(j, key, lit) \
    do { static const fkey k_ = K(key); jl_raw((j), &k_, (lit), sizeof(lit) - 1); } while (0)

/* Replace the value of field i by text s (used to spoil one field). */
static void jl_replace(jline *j, int i, const char *s, size_t n)
{
    char *p = j->v + j->vn;
    memcpy(p, s, n);
    j->voff[i] = (uint16_t)j->vn;
    j->vlen[i] = (uint16_t)n;
    j->vn += n;
    j->dirty = 1;
}

/* Remove field i. */
static void jl_remove(jline *j, int i)
{
    for (int k = i; k + 1 < j->n; k++) {
        j->key[k] = j->key[k + 1]; j->voff[k] = j->voff[k + 1]; j->vlen[k] = j->vlen[k + 1];
    }
    j->n--;
    j->dirty = 1;
    for (int s = 0; s < S_N; s++) {
        if (j->sem[s] == i) j->sem[s] = -1;
        else if (j->sem[s] > i) j->sem[s]--;
    }
}

static char *put_ws(char *p, rng *r)
{
    static const char *const ws[] = {"", " ", "\t", "  ", " \t "};
    const char *s = ws[rng_below(r, 5)];
    return put_mem(p, s, strlen(s));
}

/* Write the object; order (or NULL) permutes the fields; r (or NULL) puts
 * random whitespace between every two tokens. */
static char *jl_emit(const jline *j, char *p, const int *order, rng *r)
{
    const jstyle *st = j->st;
    if (!order && !r && !j->dirty) {
        *p++ = '{';
        p = put_mem(p, j->v, j->vn);
        *p++ = '}';
        return p;
    }
    if (r) p = put_ws(p, r);
    *p++ = '{';
    for (int k = 0; k < j->n; k++) {
        int i = order ? order[k] : k;
        if (k) {
            if (r) { p = put_ws(p, r); *p++ = ','; p = put_ws(p, r); }
            else p = put_mem(p, st->sep, st->sepn);
        }
        *p++ = '"';
        p = put_mem(p, j->key[i]->s, j->key[i]->n);
        *p++ = '"';
        if (r) { p = put_ws(p, r); *p++ = ':'; p = put_ws(p, r); }
        else p = put_mem(p, st->kv, st->kvn);
        p = put_mem(p, j->v + j->voff[i], j->vlen[i]);
    }
    if (r) p = put_ws(p, r);
    *p++ = '}';
    if (r) p = put_ws(p, r);
    return p;
}

/* How one line is written, beyond its family. */
enum {
    V_SHUFFLE = 1 << 0,  /* keys in a random order */
    V_SPACES  = 1 << 1,  /* random whitespace between tokens */
    V_NESTED  = 1 << 2,  /* an unknown key holding objects and arrays */
    V_ESCAPES = 1 << 3,  /* an unknown string full of escapes */
    V_CRLF    = 1 << 4,  /* "\r\n" line end */
    V_IP6TEXT = 1 << 5,  /* IPv6 in upper case or in full */
    V_ISOZONE = 1 << 6,  /* ISO times with a zone offset or a space for T */
    V_SCALARS = 1 << 7,  /* unknown keys of every scalar type */
    V_STRNUM  = 1 << 8,  /* numbers written as JSON strings */
    V_ISO     = 1 << 9,  /* ipfix2: times as ISO text (not a variety: a choice) */
    V_FLAGTXT = 1 << 10, /* ipfix2: flags as text */
};

static char *put_addr(char *p, const addr *a, int style)
{
    return a->fam == 4 ? put_ip4(p, a->v4) : put_ip6(p, a->g, style);
}

static void jl_addr(jline *j, int fam, int sem, const addr *a, int style)
{
    const fkey *k = a->fam == 4 ? &keys[fam][sem] : &keys6[fam][sem];
    char *p = jl_begin(j, k);
    *p++ = '"';
    p = put_addr(p, a, style);
    *p++ = '"';
    j->sem[sem] = j->n;
    jl_end(j, p);
}

static void jl_num(jline *j, int fam, int sem, uint64_t v, int as_string)
{
    char *p = jl_begin(j, &keys[fam][sem]);
    if (as_string) *p++ = '"';
    p = put_u64(p, v);
    if (as_string) *p++ = '"';
    j->sem[sem] = j->n;
    jl_end(j, p);
}

static void jl_time(jline *j, int fam, int sem, int64_t ms, unsigned v, int zone_variant)
{
    char *p = jl_begin(j, &keys[fam][sem]);
    if (fam == FAM_NFDUMP || (fam == FAM_IPFIX2 && (v & V_ISO))) {
        int zone = fam == FAM_NFDUMP ? 0 : 1;
        char sep = 'T';
        if (v & V_ISOZONE) {
            switch (zone_variant & 3) {
            case 0: zone = 2; break;
            case 1: zone = 3; break;
            case 2: sep = ' '; break;
            default: zone = 1; break;
            }
        }
        *p++ = '"';
        p = put_iso(p, ms, zone, sep);
        *p++ = '"';
    } else {
        if (v & V_STRNUM) *p++ = '"';
        p = put_i64(p, ms);
        if (v & V_STRNUM) *p++ = '"';
    }
    j->sem[sem] = j->n;
    jl_end(j, p);
}

/* Flags as text: 6 letters "UAPRSF" (ipfixcol2) or 8 "CEUAPRSF" (nfdump). */
static char *put_flags_text(char *p, unsigned flags, int eight)
{
    static const char letters[] = "CEUAPRSF";
    *p++ = '"';
    for (int bit = eight ? 7 : 5; bit >= 0; bit--)
        *p++ = (flags >> bit) & 1 ? letters[7 - bit] : '.';
    *p++ = '"';
    return p;
}

/* The fields of flow f in family fam, as an exporter of that family writes
 * them (field order, extra keys). */
static void build_flow(jline *j, int fam, const gflow *f, unsigned v, rng *r)
{
    int strnum = (v & V_STRNUM) != 0;
    int ip6style = (v & V_IP6TEXT) ? 1 + (int)rng_below(r, 2) : 0;
    int zv = (int)rng_below(r, 4);
    int tcp = f->proto == 6;
    jl_reset(j, &styles[fam]);
    switch (fam) {
    case FAM_IPFIX:
    case FAM_IPFIX2:
        JL_RAW(j, "@type", "\"ipfix.entry\"");
        jl_num(j, fam, S_BYTES, f->bytes, strnum);
        jl_num(j, fam, S_PKTS, f->packets, strnum);
        jl_time(j, fam, S_START, f->start_ms, v, zv);
        jl_time(j, fam, S_END, f->end_ms, v, zv);
        jl_num(j, fam, S_SPORT, f->sport, strnum);
        jl_addr(j, fam, S_SRC, &f->src, ip6style);
        jl_num(j, fam, S_DPORT, f->dport, strnum);
        jl_addr(j, fam, S_DST, &f->dst, ip6style);
        jl_num(j, fam, S_PROTO, f->proto, strnum);
        if (tcp) {
            if (fam == FAM_IPFIX2 && (v & V_FLAGTXT) && f->flags < 0x40) {
                char *p = jl_begin(j, &keys[fam][S_FLAGS]);
                j->sem[S_FLAGS] = j->n;
                jl_end(j, put_flags_text(p, f->flags, 0));
            } else {
                jl_num(j, fam, S_FLAGS, f->flags, strnum);
            }
        }
        if (fam == FAM_IPFIX) {
            if (f->src.fam == 4) JL_RAW(j, "ipfix.ipVersion", "4"); else JL_RAW(j, "ipfix.ipVersion", "6");
            JL_RAW(j, "ipfix.ingressInterface", "1");
            JL_RAW(j, "ipfix.egressInterface", "2");
        } else {
            if (f->src.fam == 4) JL_RAW(j, "iana:ipVersion", "4"); else JL_RAW(j, "iana:ipVersion", "6");
            JL_RAW(j, "iana:ingressInterface", "1");
            JL_RAW(j, "iana:flowEndReason", "1");
        }
        break;
    default: {
        JL_RAW(j, "type", "\"FLOW\"");
        JL_RAW(j, "export_sysid", "1");
        jl_time(j, fam, S_START, f->start_ms, v, zv);
        jl_time(j, fam, S_END, f->end_ms, v, zv);
        jl_num(j, fam, S_PKTS, f->packets, strnum);
        jl_num(j, fam, S_BYTES, f->bytes, strnum);
        jl_num(j, fam, S_PROTO, f->proto, strnum);
        char *p = jl_begin(j, &keys[fam][S_FLAGS]);
        j->sem[S_FLAGS] = j->n;
        jl_end(j, put_flags_text(p, tcp ? f->flags : 0, 1));
        jl_num(j, fam, S_SPORT, f->sport, strnum);
        jl_num(j, fam, S_DPORT, f->dport, strnum);
        JL_RAW(j, "fwd_status", "0");
        JL_RAW(j, "src_tos", "0");
        jl_addr(j, fam, S_SRC, &f->src, ip6style);
        jl_addr(j, fam, S_DST, &f->dst, ip6style);
        JL_RAW(j, "ip4_router", "\"192.0.2.254\"");
        break;
    }
    }
    if (v & V_NESTED)
        JL_RAW(j, "_meta", "{\"exporter\": {\"ip\": \"192.0.2.1\", \"odid\": [1, 2, {\"x\": null, \"y\": [[], {}]}]},"
                           " \"tags\": [\"a\", \"b}c\", \"d]\\\"e\"]}");
    if (v & V_ESCAPES)
        JL_RAW(j, "_comment", "\"quote \\\" backslash \\\\ slash \\/ \\u00e9\\ud83d\\ude00 \\t\\n \\\"}\\\\\"");
    if (v & V_SCALARS) {
        JL_RAW(j, "_ratio", "-1.5e-3");
        JL_RAW(j, "_on", "true");
        JL_RAW(j, "_off", "false");
        JL_RAW(j, "_none", "null");
        JL_RAW(j, "_big", "123456789012345678901234567890");
    }
}

/* Write the line for j (with its variety) and a newline. */
static char *emit_line(const jline *j, char *p, unsigned v, rng *r)
{
    int order[JL_MAXF];
    const int *ord = NULL;
    if (v & V_SHUFFLE) {
        for (int i = 0; i < j->n; i++) order[i] = i;
        for (int i = j->n - 1; i > 0; i--) {
            int k = (int)rng_below(r, (uint32_t)i + 1), t = order[i];
            order[i] = order[k]; order[k] = t;
        }
        ord = order;
    }
    p = jl_emit(j, p, ord, (v & V_SPACES) ? r : NULL);
    if (v & V_CRLF) *p++ = '\r';
    *p++ = '\n';
    return p;
}

/* ======================== malformed lines ======================== */

enum { M_TRUNC, M_TRAIL, M_BINARY, M_NOTOBJ, M_MISSING, M_BADADDR, M_BADNUM, M_BADTIME, M_EBS, M_TOOLONG, M_N };
static const char *const m_reason[M_N] = {
    "malformed_json", "malformed_json", "malformed_json", "not_object", "missing_field",
    "bad_address", "bad_number", "bad_time", "end_before_start", "too_long",
};
/* weights in 1/1000; too_long is rare (and forced once, see main) */
static const unsigned m_weight[M_N] = {190, 60, 100, 60, 150, 110, 150, 80, 98, 2};

enum { R_MALFORMED_JSON, R_NOT_OBJECT, R_MISSING_FIELD, R_BAD_ADDRESS, R_BAD_NUMBER, R_BAD_TIME,
       R_END_BEFORE_START, R_TOO_LONG, R_N };
static const char *const r_names[R_N] = {
    "malformed_json", "not_object", "missing_field", "bad_address", "bad_number", "bad_time",
    "end_before_start", "too_long",
};

static int reason_index(const char *name)
{
    for (int i = 0; i < R_N; i++)
        if (strcmp(r_names[i], name) == 0) return i;
    return 0;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Write one too_long line: a flow whose unknown "_padding" string holds
 * 1.5 .. 3.5 MiB, so that the line must be skipped as a whole. */
static void write_too_long(outbuf *ob, const jline *base, rng *r)
{
    size_t pad = FG_TOO_LONG_MIN + rng_below(r, FG_TOO_LONG_SPREAD);
    char *p = ob_room(ob);
    p = jl_emit(base, p, NULL, NULL);
    p--;                                     /* reopen the object */
    p = PUT_LIT(p, ", \"_padding\": \"");
    ob_done(ob, p);
    static char chunk[65536];
    if (!chunk[0])
        for (size_t i = 0; i < sizeof chunk; i++) chunk[i] = (char)('a' + (i * 7 + i / 26) % 26);
    while (pad) {
        size_t n = pad < sizeof chunk ? pad : sizeof chunk;
        ob_flush(ob);
        if (fwrite(chunk, 1, n, ob->f) != n) die("write to %s failed", ob->path);
        pad -= n;
    }
    p = ob_room(ob);
    p = PUT_LIT(p, "\"}\n");
    ob_done(ob, p);
}

/* Spoil the line in j in the way `kind`; returns the end of the written line
 * (too_long lines are written directly). */
static char *write_malformed(outbuf *ob, int kind, jline *j, const gflow *f, rng *r)
{
    char *p = ob_room(ob);
    switch (kind) {
    case M_TRUNC: {
        char *e = emit_line(j, p, 0, r);
        size_t len = (size_t)(e - p) - 1;            /* without '\n' */
        size_t cut = 1 + rng_below(r, (uint32_t)(len - 2));
        p += cut;
        break;
    }
    case M_TRAIL: {
        static const char *const trail[] = {" x", "}", ",", " {\"a\": 1}", "]", "\"", " 0", "{"};
        p = jl_emit(j, p, NULL, NULL);
        const char *t = trail[rng_below(r, NELEM(trail))];
        p = put_mem(p, t, strlen(t));
        break;
    }
    case M_BINARY: {
        static const unsigned char first[] = {0x01, 0x02, 0x07, 0x08, 0x1b, 0x7f, 0x80, 0x9c, 0xc3,
                                              0xef, 0xfe, 0xff, '#', '<', ')', '}', ',', ':', 'x', '@'};
        uint32_t n = 4 + rng_below(r, 300);
        *p++ = (char)first[rng_below(r, NELEM(first))];
        for (uint32_t i = 1; i < n; i++) {
            unsigned char c = (unsigned char)rng_below(r, 256);
            if (c == '\n' || c == '\r') c = 0xa0;
            *p++ = (char)c;
        }
        break;
    }
    case M_NOTOBJ: {
        static const char *const notobj[] = {
            "[1, 2, 3]", "\"flow\"", "42", "null", "true", "false", "-0.5", "[]",
            "[{\"ipfix.sourceIPv4Address\": \"10.0.0.1\"}]", "\"{\\\"a\\\": 1}\"",
        };
        const char *s = notobj[rng_below(r, NELEM(notobj))];
        p = put_mem(p, s, strlen(s));
        break;
    }
    case M_MISSING: {
        static const int req[] = {S_SRC, S_DST, S_PROTO, S_PKTS, S_BYTES, S_START, S_END};
        jl_remove(j, j->sem[req[rng_below(r, NELEM(req))]]);
        p = jl_emit(j, p, NULL, NULL);
        break;
    }
    case M_BADADDR: {
        static const char *const bad4[] = {
            "\"256.1.2.3\"", "\"10.0.0\"", "\"10.0.0.1.5\"", "\"10.0.-1.1\"", "\"ten.0.0.1\"", "\"\"",
            "\"2001:db8::1\"", "\"10.0.0.1/8\"", "\"1O.0.0.1\"",
        };
        static const char *const bad6[] = {
            "\"2001:db8::g1\"", "\"1:2:3:4:5:6:7:8:9\"", "\"2001:db8:::1\"", "\"10.0.0.1\"",
            "\"::ffff:999.0.0.1\"", "\"\"", "\"2001:db8::1::2\"", "\"12345::1\"",
        };
        int sem = rng_below(r, 2) ? S_SRC : S_DST;
        const char *s = (sem == S_SRC ? f->src.fam : f->dst.fam) == 4 ? bad4[rng_below(r, NELEM(bad4))]
                                                                       : bad6[rng_below(r, NELEM(bad6))];
        jl_replace(j, j->sem[sem], s, strlen(s));
        p = jl_emit(j, p, NULL, NULL);
        break;
    }
    case M_BADNUM: {
        static const int sems[] = {S_PKTS, S_BYTES, S_SPORT, S_DPORT, S_PROTO};
        static const char *const counter[] = {
            "-5", "-1", "1.5", "100000000000000000000", "9007199254740993", "\"abc\"", "true", "[1]", "{}",
        };
        static const char *const port[] = {"70000", "65536", "-1", "80.5", "\"http\""};
        static const char *const proto[] = {"256", "-6", "6.5", "1000"};
        int sem = sems[rng_below(r, NELEM(sems))];
        const char *s = sem == S_PKTS || sem == S_BYTES ? counter[rng_below(r, NELEM(counter))]
                      : sem == S_PROTO ? proto[rng_below(r, NELEM(proto))]
                                       : port[rng_below(r, NELEM(port))];
        jl_replace(j, j->sem[sem], s, strlen(s));
        p = jl_emit(j, p, NULL, NULL);
        break;
    }
    case M_BADTIME: {
        static const char *const bad[] = {
            "\"2026-13-26T14:00:00.000\"", "\"2026-11-26T25:00:00.000\"", "\"2026-11-26T14:61:00.000\"",
            "\"yesterday\"", "\"\"", "\"1969-12-31T23:59:59.000\"", "\"2026-11-26X14:00:00\"",
            "\"2026-11-00T14:00:00.000\"",
        };
        const char *s = bad[rng_below(r, NELEM(bad))];
        jl_replace(j, j->sem[rng_below(r, 2) ? S_START : S_END], s, strlen(s));
        p = jl_emit(j, p, NULL, NULL);
        break;
    }
    case M_EBS:
    default:
        p = jl_emit(j, p, NULL, NULL);
        break;
    }
    *p++ = '\n';
    return p;
}

/* ======================== truth ======================== */

static char *put_truth(char *p, const gflow *f)
{
    p = put_addr(p, &f->src, 0); *p++ = ',';
    p = put_addr(p, &f->dst, 0); *p++ = ',';
    *p++ = (char)('0' + f->src.fam); *p++ = ',';
    p = put_u64(p, f->sport); *p++ = ',';
    p = put_u64(p, f->dport); *p++ = ',';
    p = put_u64(p, f->proto); *p++ = ',';
    p = put_u64(p, f->packets); *p++ = ',';
    p = put_u64(p, f->bytes); *p++ = ',';
    p = put_i64(p, f->start_ms); *p++ = ',';
    p = put_i64(p, f->end_ms); *p++ = ',';
    p = put_u64(p, f->proto == 6 ? f->flags : 0);
    *p++ = '\n';
    return p;
}

/* ======================== command line ======================== */

static void usage(FILE *to)
{
    fprintf(to,
"usage: flowgen [options]   (writes NDJSON flow records)\n"
"\n"
"  --seed N          PRNG seed (default %llu); same seed + options = same bytes\n"
"  --flows N         lines to write, all kinds included (default 1000000)\n"
"  --hosts N         monitored source hosts, 10.0.0.0/8 and 2001:db8::/32 (default 10000);\n"
"                    Zipf activity (s = 1.1), each host seen at least once if flows allow\n"
"  --start-ms T      event time of the first line, ms since the epoch\n"
"                    (default %lld = 2026-11-26T14:00:00Z)\n"
"  --rate R          lines per second of event time (default 10000): the stream\n"
"                    spans flows / rate seconds\n"
"  --family F        ipfix | ipfix2 | nfdump | mixed (default mixed: 40/30/30 %%)\n"
"  --ipv6 F          share of IPv6 hosts and flows (default 0.1)\n"
"  --scanners N      scanning hosts (beside --hosts) with thousands of peers and\n"
"                    ports (default 2, max %d)\n"
"  --scan-share F    share of the lines from each scanner (default 0.02)\n"
"  --outside F       share of flows whose source is outside the monitored networks\n"
"                    (198.51.100.0/24, 203.0.113.0/24, 3fff::/20) (default 0.05)\n"
"  --late F          share of flows ending >= 10 min before the latest end so far,\n"
"                    marked \"_late\":true (default 0.001)\n"
"  --malformed F     share of garbage lines, each of a known reject reason (default 0.001)\n"
"  --jitter-ms J     end times up to J ms out of order; keep J < hostflow's\n"
"                    allowed lateness (default 2000)\n"
"  --variety F       share of lines written unusually but validly: shuffled keys,\n"
"                    whitespace, nested/escaped unknown keys, CRLF, IPv6 in upper case\n"
"                    or in full, ISO times with zone offsets (default 0.02)\n"
"  --string-numbers F  share of lines whose numbers are JSON strings (\"42\") (default 0.005)\n"
"  --truth FILE      CSV of every accepted, in-time flow (normalised):\n"
"                    src,dst,family,sport,dport,proto,packets,bytes,start_ms,end_ms,tcp_flags\n"
"                    and FILE.rejects (CSV kind,key,value): expected counters by reject\n"
"                    reason, late, filtered, accepted, lines; and each rejected or late\n"
"                    line's number with its reason\n"
"  --out FILE        output (default stdout)\n"
"  --help            this text\n"
"\n"
"Simulated days (the world of host profiles; --flows, --rate, --scanners and\n"
"the other mixes do not apply):\n"
"  --days D          D days of traffic from --start-ms (align it to midnight):\n"
"                    --hosts hosts (10.20.0.1, 10.20.0.2, ...; every 8th 2001:db8:20::N),\n"
"                    each with a daily rhythm of its own (a peak hour, a depth of\n"
"                    night), its own peers (6 .. 24), destination ports (2 .. 5 of\n"
"                    443 80 53 22 25 993 123 8443) and flow size; minute by minute\n"
"                    it sends its flows, peers and bytes at the day's level, each\n"
"                    off by at most --noise, in end-time order\n"
"  --day-ms L        the length of a day in event time (default 86400000); shorter\n"
"                    days compress time: a profile's hour is then L / 24\n"
"  --minute-flows F  flows a host sends in a minute at its peak, on average (default 6)\n"
"  --noise N         the largest relative deviation of a minute from its level (default 0.1)\n"
"  --deviate H,AT,FOR,X  host H (its number from 0) sends X times its flows, to X times\n"
"                    its peers (new ones beyond its own), from AT ms after the start for\n"
"                    FOR ms (repeatable, up to 8)\n"
"  --new-port H,AT,P  host H sends one flow to port P at AT ms after the start (repeatable)\n"
"  With --truth FILE: one CSV line per host (host,peak_hour,flows,peers,ports,bytes\n"
"  per flow): the traits of the world.\n"
"\n"
"Run hostflow on it with -n 10.0.0.0/8,2001:db8::/32.  The bundled sample\n"
"contrib/sample-flows.ndjson.gz (50,000 lines over 6 minutes; 60,000 would not\n"
"fit in 2 MB gzipped) is\n"
"  flowgen --seed 20261126 --flows 50000 --rate 139 --hosts 400 --family mixed \\\n"
"          --ipv6 0.1 --scanners 3 --scan-share 0.02 --late 0.002 --malformed 0.003 \\\n"
"    | gzip -9n > contrib/sample-flows.ndjson.gz\n",
            (unsigned long long)FG_DEFAULT_SEED, (long long)FG_DEFAULT_START_MS, FG_MAX_SCANNERS);
}

static uint64_t arg_u64(const char *name, const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-') die("--%s wants a whole number >= 0", name);
    return v;
}

static double arg_share(const char *name, const char *s, double max)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0 && v <= max)) {
        fprintf(stderr, "flowgen: --%s wants a number in 0 .. %g\n", name, max);
        exit(2);
    }
    return v;
}

static void parse_args(int argc, char **argv, opts *o)
{
    static const struct option lo[] = {
        {"seed", required_argument, 0, 's'}, {"flows", required_argument, 0, 'n'},
        {"hosts", required_argument, 0, 'H'}, {"start-ms", required_argument, 0, 'T'},
        {"rate", required_argument, 0, 'r'}, {"family", required_argument, 0, 'f'},
        {"ipv6", required_argument, 0, '6'}, {"scanners", required_argument, 0, 'S'},
        {"scan-share", required_argument, 0, 'x'}, {"outside", required_argument, 0, 'O'},
        {"late", required_argument, 0, 'L'}, {"malformed", required_argument, 0, 'M'},
        {"jitter-ms", required_argument, 0, 'j'}, {"variety", required_argument, 0, 'V'},
        {"string-numbers", required_argument, 0, 'N'}, {"truth", required_argument, 0, 't'},
        {"out", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'},
        {"days", required_argument, 0, 'D'}, {"day-ms", required_argument, 0, 'Y'},
        {"minute-flows", required_argument, 0, 'F'}, {"noise", required_argument, 0, 'Z'},
        {"deviate", required_argument, 0, 'E'}, {"new-port", required_argument, 0, 'P'},
        {0, 0, 0, 0},
    };
    *o = (opts){.seed = FG_DEFAULT_SEED, .flows = 1000000, .hosts = 10000, .start_ms = FG_DEFAULT_START_MS,
                .rate = 10000, .family = FAM_MIXED, .ipv6 = 0.1, .scanners = 2, .scan_share = 0.02,
                .outside = 0.05, .late = 0.001, .malformed = 0.001, .variety = 0.02,
                .string_numbers = 0.005, .jitter_ms = 2000, .day_ms = 86400000, .minute_flows = 6,
                .noise = 0.1};
    int c, li;
    while ((c = getopt_long(argc, argv, "h", lo, &li)) != -1) {
        switch (c) {
        case 's': o->seed = arg_u64("seed", optarg); break;
        case 'n': o->flows = arg_u64("flows", optarg); break;
        case 'H': o->hosts = arg_u64("hosts", optarg); break;
        case 'T': o->start_ms = (int64_t)arg_u64("start-ms", optarg); break;
        case 'r': o->rate = arg_share("rate", optarg, 1e9); break;
        case 'f': {
            int k = -1;
            for (int i = 0; i < 4; i++)
                if (strcmp(optarg, family_names[i]) == 0) k = i;
            if (k < 0) die("--family wants ipfix, ipfix2, nfdump or mixed, not %s", optarg);
            o->family = k;
            break;
        }
        case '6': o->ipv6 = arg_share("ipv6", optarg, 1); break;
        case 'S': o->scanners = (int)arg_u64("scanners", optarg); break;
        case 'x': o->scan_share = arg_share("scan-share", optarg, 1); break;
        case 'O': o->outside = arg_share("outside", optarg, 1); break;
        case 'L': o->late = arg_share("late", optarg, 1); break;
        case 'M': o->malformed = arg_share("malformed", optarg, 1); break;
        case 'j': o->jitter_ms = (int64_t)arg_u64("jitter-ms", optarg); break;
        case 'V': o->variety = arg_share("variety", optarg, 1); break;
        case 'N': o->string_numbers = arg_share("string-numbers", optarg, 1); break;
        case 't': o->truth = optarg; break;
        case 'o': o->out = optarg; break;
        case 'D': o->days = arg_share("days", optarg, 3660); break;
        case 'Y': o->day_ms = (int64_t)arg_u64("day-ms", optarg); break;
        case 'F': o->minute_flows = arg_share("minute-flows", optarg, 100000); break;
        case 'Z': o->noise = arg_share("noise", optarg, 0.9); break;
        case 'E': {
            unsigned long long h;
            long long at, dur;
            double f;
            if (o->ndev == 8 || sscanf(optarg, "%llu,%lld,%lld,%lf", &h, &at, &dur, &f) != 4 || at < 0 ||
                dur <= 0 || !(f > 0))
                die("--deviate wants HOST,AT_MS,FOR_MS,FACTOR (at most 8), not %s", optarg);
            o->dev[o->ndev].host = h;
            o->dev[o->ndev].at_ms = at;
            o->dev[o->ndev].for_ms = dur;
            o->dev[o->ndev++].factor = f;
            break;
        }
        case 'P': {
            unsigned long long h;
            long long at;
            unsigned port;
            if (o->nnew == 8 || sscanf(optarg, "%llu,%lld,%u", &h, &at, &port) != 3 || at < 0 || port > 65535)
                die("--new-port wants HOST,AT_MS,PORT (at most 8), not %s", optarg);
            o->newport[o->nnew].host = h;
            o->newport[o->nnew].at_ms = at;
            o->newport[o->nnew++].port = (uint16_t)port;
            break;
        }
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind < argc) die("unexpected argument %s (see --help)", argv[optind]);
    if (o->hosts < 1) die("--hosts wants at least 1%s", "");
    if (!(o->rate > 0)) die("--rate wants a number > 0%s", "");
    if (o->scanners > FG_MAX_SCANNERS) die("--scanners: at most 64%s", "");
    if (o->jitter_ms > 3600000) die("--jitter-ms: at most an hour (3600000)%s", "");
    if (o->scanners * o->scan_share > 0.5) die("--scanners x --scan-share: at most 0.5 of the lines%s", "");
    if ((double)o->hosts * (1 - o->ipv6) > (double)(FG_V4_HOSTS - FG_MAX_SCANNERS))
        die("--hosts: at most 16,646,080 IPv4 hosts (10.a.b.1 .. 10.a.b.254)%s", "");
}

/* ======================== main ======================== */

typedef struct counts {
    uint64_t reason[R_N];
    uint64_t late, filtered, accepted, lines;
} counts;

static void write_rejects_counts(outbuf *rj, const counts *c)
{
    char *p = ob_room(rj);
    for (int i = 0; i < R_N; i++) {
        p = PUT_LIT(p, "count,");
        p = put_mem(p, r_names[i], strlen(r_names[i]));
        *p++ = ',';
        p = put_u64(p, c->reason[i]);
        *p++ = '\n';
    }
    p = PUT_LIT(p, "count,late,"); p = put_u64(p, c->late); *p++ = '\n';
    p = PUT_LIT(p, "count,filtered,"); p = put_u64(p, c->filtered); *p++ = '\n';
    p = PUT_LIT(p, "count,accepted,"); p = put_u64(p, c->accepted); *p++ = '\n';
    p = PUT_LIT(p, "count,lines,"); p = put_u64(p, c->lines); *p++ = '\n';
    ob_done(rj, p);
}

static void note_line(outbuf *rj, uint64_t lineno, const char *what)
{
    if (!rj) return;
    char *p = ob_room(rj);
    p = PUT_LIT(p, "line,");
    p = put_u64(p, lineno);
    *p++ = ',';
    p = put_mem(p, what, strlen(what));
    *p++ = '\n';
    ob_done(rj, p);
}

static unsigned pick_variety(const opts *o, rng *r, int fam)
{
    unsigned v = 0;
    if (fam == FAM_IPFIX2) {
        if (rng_below(r, 2)) v |= V_ISO;
        if (rng_below(r, 2)) v |= V_FLAGTXT;
    }
    if (o->variety > 0 && rng_unit(r) < o->variety) {
        static const unsigned kinds[] = {V_SHUFFLE, V_SPACES, V_NESTED, V_ESCAPES, V_CRLF,
                                         V_IP6TEXT, V_ISOZONE, V_SCALARS};
        v |= kinds[rng_below(r, NELEM(kinds))];
        if (rng_below(r, 4) == 0) v |= kinds[rng_below(r, NELEM(kinds))];
    }
    if (o->string_numbers > 0 && rng_unit(r) < o->string_numbers) v |= V_STRNUM;
    return v;
}

/* ======================== simulated days ======================== */

/* One host of the days world: its address and traits. */
typedef struct dhost {
    addr     a;
    double   flows;          /* flows a minute at the peak */
    double   peak_h;         /* the hour of its peak (0 .. 24) */
    double   depth;          /* night: 1 - depth of the peak */
    int      npeers, nports;
    uint16_t ports[5];
    unsigned size;           /* bytes a flow */
    uint64_t key;
} dhost;

static void days_host(const opts *o, uint64_t r, dhost *h)
{
    static const uint16_t pool[] = {443, 80, 53, 22, 25, 993, 123, 8443};
    uint64_t k = mix64(o->seed ^ 0xda75ULL ^ (r * 0x9E3779B97F4A7C15ULL));
    memset(h, 0, sizeof *h);
    h->key = k;
    if (r % 8 == 7) {
        h->a.fam = 6;
        h->a.g[0] = 0x2001; h->a.g[1] = 0x0db8; h->a.g[2] = 0x20; h->a.g[7] = (uint16_t)(r + 1);
    } else {
        h->a.fam = 4;
        h->a.v4 = 0x0a140000u | (uint32_t)(r / 250) << 8 | (uint32_t)(1 + r % 250);
    }
    h->flows = o->minute_flows * (0.5 + 1.5 * (double)(k & 0xffff) / 65536.0);
    h->peak_h = (double)((k >> 16) % 24000) / 1000.0;
    h->depth = 0.4 + 0.5 * (double)((k >> 32) & 0xff) / 256.0;
    h->npeers = 6 + (int)((k >> 40) % 19);
    h->nports = 2 + (int)((k >> 48) % 4);
    uint64_t used = 0;
    for (int i = 0; i < h->nports; i++) {
        int j = (int)((k >> (52 + 2 * i)) % 8);
        while (used >> j & 1) j = (j + 1) % 8;
        used |= 1ULL << j;
        h->ports[i] = pool[j];
    }
    h->size = 500 + (unsigned)((k >> 8) % 4500);
}

/* The host's level at time t (0 .. 1): a day of o->day_ms, 24 "hours". */
static double days_level(const opts *o, const dhost *h, int64_t t)
{
    double hour = (double)((t - o->start_ms) % o->day_ms) * 24.0 / (double)o->day_ms;
    return 1 - h->depth * (0.5 + 0.5 * cos(2 * M_PI * (hour - h->peak_h) / 24.0));
}

static int by_end(const void *x, const void *y)
{
    const gflow *a = x, *b = y;
    return a->end_ms < b->end_ms ? -1 : a->end_ms > b->end_ms;
}

/* A value off its level by at most the noise. */
static double days_noisy(const opts *o, rng *r, double v)
{
    return v * (1 - o->noise + 2 * o->noise * rng_unit(r));
}

static int days_main(const opts *o)
{
    rng r;
    rng_seed(&r, o->seed);
    dhost *hosts = calloc(o->hosts, sizeof *hosts);
    if (!hosts) die("out of memory%s", "");
    for (uint64_t i = 0; i < o->hosts; i++) days_host(o, i, &hosts[i]);
    outbuf out;
    ob_open(&out, o->out, 1);
    if (o->truth) {
        outbuf t;
        ob_open(&t, o->truth, 0);
        char *p = ob_room(&t);
        p = PUT_LIT(p, "host,peak_hour,flows,peers,ports,bytes_per_flow\n");
        ob_done(&t, p);
        for (uint64_t i = 0; i < o->hosts; i++) {
            const dhost *h = &hosts[i];
            p = ob_room(&t);
            p = put_addr(p, &h->a, 0);
            p += sprintf(p, ",%.3f,%.3f,%d,%d,%u\n", h->peak_h, h->flows, h->npeers, h->nports, h->size);
            ob_done(&t, p);
        }
        ob_close(&t);
    }
    size_t cap = 4096, n = 0;
    gflow *fl = malloc(cap * sizeof *fl);
    if (!fl) die("out of memory%s", "");
    static jline jl;
    int64_t minutes = (int64_t)(o->days * (double)o->day_ms / 60000.0);
    for (int64_t m = 0; m < minutes; m++) {
        int64_t t = o->start_ms + m * 60000;
        n = 0;
        for (uint64_t hi = 0; hi < o->hosts; hi++) {
            const dhost *h = &hosts[hi];
            double level = days_level(o, h, t), factor = 1;
            for (int d = 0; d < o->ndev; d++)
                if (o->dev[d].host == hi && t - o->start_ms >= o->dev[d].at_ms &&
                    t - o->start_ms < o->dev[d].at_ms + o->dev[d].for_ms)
                    factor = o->dev[d].factor;
            int nf = (int)llround(days_noisy(o, &r, h->flows * level) * factor);
            if (nf < 1) nf = 1;
            int np = (int)llround(days_noisy(o, &r, h->npeers * level) * factor);
            if (np < 1) np = 1;
            if (np > nf) np = nf;
            int extra = 0;
            for (int d = 0; d < o->nnew; d++)
                if (o->newport[d].host == hi && t - o->start_ms <= o->newport[d].at_ms &&
                    o->newport[d].at_ms < t - o->start_ms + 60000)
                    extra++;
            for (int j = 0; j < nf + extra; j++) {
                if (n == cap && !(fl = realloc(fl, (cap *= 2) * sizeof *fl))) die("out of memory%s", "");
                gflow *f = &fl[n++];
                memset(f, 0, sizeof *f);
                f->src = h->a;
                int peer = j < nf ? j % np : 0;
                /* the host's own peers, then (a deviation) ones never seen */
                uint64_t pk = peer < h->npeers ? mix64(h->key ^ (uint64_t)peer * 0x51ed27ULL)
                                               : mix64(h->key ^ (uint64_t)peer ^ ((uint64_t)m << 20));
                remote_addr(h->a.fam, pk | 1, &f->dst);   /* (pk | 1) & 3: a public address */
                f->dport = j < nf ? h->ports[peer % h->nports] : 0;
                if (j >= nf)
                    for (int d = 0, e = 0; d < o->nnew; d++)
                        if (o->newport[d].host == hi && t - o->start_ms <= o->newport[d].at_ms &&
                            o->newport[d].at_ms < t - o->start_ms + 60000 && e++ == j - nf)
                            f->dport = o->newport[d].port;
                f->proto = (uint8_t)(f->dport == 53 || f->dport == 123 ? 17 : 6);
                f->sport = ephemeral(&r);
                f->bytes = (uint64_t)llround(days_noisy(o, &r, h->size));
                f->packets = 1 + f->bytes / 700;
                f->flags = f->proto == 6 ? 0x1B : 0;
                f->end_ms = t + (int64_t)rng_below(&r, 60000);
                f->start_ms = f->end_ms - (int64_t)rng_below(&r, 3000);
            }
        }
        qsort(fl, n, sizeof *fl, by_end);
        for (size_t i = 0; i < n; i++) {
            int fam = o->family == FAM_MIXED ? (int)(i % 3) : o->family;
            unsigned v = pick_variety(o, &r, fam);
            build_flow(&jl, fam, &fl[i], v, &r);
            ob_done(&out, emit_line(&jl, ob_room(&out), v, &r));
        }
    }
    ob_close(&out);
    free(fl);
    free(hosts);
    return 0;
}

int main(int argc, char **argv)
{
    opts o;
    parse_args(argc, argv, &o);
    octets_init();
    if (o.days > 0) return days_main(&o);
    static world w;
    world_init(&w, &o);
    rng r;
    rng_seed(&r, o.seed);

    outbuf out, truth, rejects;
    ob_open(&out, o.out, 1);
    char *rejects_path = NULL;
    if (o.truth) {
        ob_open(&truth, o.truth, 0);
        size_t n = strlen(o.truth);
        if (!(rejects_path = malloc(n + 9))) die("out of memory%s", "");
        memcpy(rejects_path, o.truth, n);
        memcpy(rejects_path + n, ".rejects", 9);
        ob_open(&rejects, rejects_path, 0);
        char *p = ob_room(&truth);
        p = PUT_LIT(p, "src,dst,family,sport,dport,proto,packets,bytes,start_ms,end_ms,tcp_flags\n");
        ob_done(&truth, p);
        p = ob_room(&rejects);
        p = PUT_LIT(p, "kind,key,value\n");
        ob_done(&rejects, p);
    }
    outbuf *rj = o.truth ? &rejects : NULL;

    counts c;
    memset(&c, 0, sizeof c);
    double ms_per_line = 1000.0 / o.rate;
    double scan_total = o.scanners * o.scan_share;
    double p_normal = (1 - o.malformed) * (1 - o.outside) * (1 - o.late) * (1 - scan_total);
    int64_t cur_max = INT64_MIN;             /* latest end of a monitored in-time flow */
    uint64_t malformed_seen = 0;
    int too_long_seen = 0;
    unsigned m_total = 0;
    for (int k = 0; k < M_N; k++) m_total += m_weight[k];
    static jline jl;
    gflow f;

    for (uint64_t i = 0; i < o.flows; i++) {
        uint64_t lineno = i + 1;
        int64_t t = o.start_ms + (int64_t)((double)i * ms_per_line);
        int64_t end = t - (o.jitter_ms > 0 ? (int64_t)rng_below(&r, (uint32_t)o.jitter_ms) : 0);
        int fam = o.family == FAM_MIXED ? (int)(rng_below(&r, 10) < 4 ? FAM_IPFIX : rng_below(&r, 2) ? FAM_IPFIX2
                                                                                                     : FAM_NFDUMP)
                                        : o.family;
        int ipfam = (w.n6 && (!w.n4 || rng_unit(&r) < o.ipv6)) ? 6 : 4;
        c.lines++;

        if (o.malformed > 0 && rng_unit(&r) < o.malformed) {
            /* garbage: a flow of a monitored host, spoiled in one way */
            malformed_seen++;
            int kind = M_N - 1;
            unsigned u = rng_below(&r, m_total);
            for (int k = 0; k < M_N; k++) {
                if (u < m_weight[k]) { kind = k; break; }
                u -= m_weight[k];
            }
            if (!too_long_seen && malformed_seen == 50) kind = M_TOOLONG;
            if (kind == M_BADTIME && fam == FAM_IPFIX) fam = rng_below(&r, 2) ? FAM_IPFIX2 : FAM_NFDUMP;
            const zipf *z = ipfam == 4 ? &w.z4 : &w.z6;
            gen_host_flow(&w, &r, ipfam, zipf_sample(z, &r), end, &f);
            if (kind == M_EBS) { f.end_ms = f.start_ms - 1001 - rng_below(&r, 5000); }   /* beyond max_clock_skew */
            build_flow(&jl, fam, &f, kind == M_BADTIME ? V_ISO : 0, &r);
            const char *why = m_reason[kind];
            if (kind == M_TOOLONG) {
                too_long_seen = 1;
                write_too_long(&out, &jl, &r);
            } else {
                ob_done(&out, write_malformed(&out, kind, &jl, &f, &r));
            }
            c.reason[reason_index(why)]++;
            note_line(rj, lineno, why);
            continue;
        }

        unsigned v = pick_variety(&o, &r, fam);
        int late = 0, accepted = 0;
        if (o.outside > 0 && rng_unit(&r) < o.outside) {
            gen_outside_flow(&w, &r, ipfam, end, &f);
            c.filtered++;
        } else if (cur_max != INT64_MIN && o.late > 0 && rng_unit(&r) < o.late) {
            const zipf *z = ipfam == 4 ? &w.z4 : &w.z6;
            int64_t old = cur_max - FG_LATE_MIN_MS - (int64_t)rng_below(&r, FG_LATE_SPREAD_MS);
            gen_host_flow(&w, &r, ipfam, zipf_sample(z, &r), old, &f);
            late = 1;
            c.late++;
            note_line(rj, lineno, "late");
        } else if (o.scanners > 0 && rng_unit(&r) < scan_total) {
            gen_scan_flow(&w, &r, (int)rng_below(&r, (uint32_t)o.scanners), end, &f);
            accepted = 1;
        } else {
            /* the sweep first shows every host once, then Zipf */
            uint64_t uncovered = (w.n4 - w.cover4) + (w.n6 - w.cover6);
            double left = (double)(o.flows - i) * p_normal;
            uint64_t rank;
            if (uncovered && rng_unit(&r) * left < 1.25 * (double)uncovered) {
                if ((uint64_t)rng_below(&r, (uint32_t)(uncovered > 0xffffffffu ? 0xffffffffu : uncovered)) <
                    w.n4 - w.cover4) {
                    ipfam = 4; rank = w.cover4++;
                } else {
                    ipfam = 6; rank = w.cover6++;
                }
            } else {
                rank = zipf_sample(ipfam == 4 ? &w.z4 : &w.z6, &r);
            }
            gen_host_flow(&w, &r, ipfam, rank, end, &f);
            accepted = 1;
        }
        if (accepted) {
            c.accepted++;
            if (f.end_ms > cur_max) cur_max = f.end_ms;
        }

        build_flow(&jl, fam, &f, v, &r);
        if (late) JL_RAW(&jl, "_late", "true");
        char *p = emit_line(&jl, ob_room(&out), v, &r);
        ob_done(&out, p);
        if (accepted && o.truth) ob_done(&truth, put_truth(ob_room(&truth), &f));
    }

    ob_close(&out);
    zipf_free(&w.z4);
    zipf_free(&w.z6);
    if (o.truth) {
        write_rejects_counts(&rejects, &c);
        ob_close(&truth);
        ob_close(&rejects);
        free(rejects_path);
    }
    return 0;
}
