/* bench_decode.c -- how fast is hf_decode_flow() against the cJSON decoder?
 *
 *   build/tools/bench_decode [-n PASSES] [-g LINES] [-w OUT] [FILE|-]
 *
 * Reads an NDJSON file (or stdin) into memory, splits it into lines, and
 * times PASSES passes (default 10) of each decoder over all of them, after
 * one untimed warm-up pass, keeping the fastest pass (in thread CPU time).  Without a file it generates LINES (default
 * 100000) synthetic records: the three key families in turn, one in five
 * IPv6, with the extra members the collectors write (-w OUT writes them to
 * OUT and stops, to make a sample file).  Prints flows/s and
 * MB/s of each decoder and their ratio, then one JSON line for scripts:
 *
 *   {"bench":"decode","lines":...,"bytes":...,"passes":...,"ok":...,
 *    "fast_flows_per_s":...,"cjson_flows_per_s":...,"ratio":...}
 *
 * A benchmark, never a test: when the decoders accept different numbers of
 * lines it says so on stderr (cJSON rounds numbers to doubles and is laxer
 * about JSON, see decode_cjson.c), and still exits 0. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "stream/decode.h"
#include "support/decode_cjson.h"

typedef struct line {
    const char *p;
    size_t len;
} line;

/* ------------------------------------------------------------------------
 * Input
 * --------------------------------------------------------------------- */

/* The whole of f into a buffer; sets *len. */
static char *read_all(FILE *f, size_t *len)
{
    size_t cap = 1 << 20, n = 0, r;
    char *buf = hf_malloc(cap);
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) buf = hf_realloc(buf, cap *= 2);
    }
    *len = n;
    return buf;
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint32_t next(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* Append one synthetic record of family i % 3 to buf at *o. */
static void gen_line(char *buf, size_t *o, int i)
{
    char src[48], dst[48];
    int v6 = next() % 5 == 0;
    if (v6) {
        snprintf(src, sizeof(src), "2001:db8:%x::%x", next() % 65536, next() % 65536);
        snprintf(dst, sizeof(dst), "2001:db8:ffff:%x::%x", next() % 65536, next() % 65536);
    } else {
        snprintf(src, sizeof(src), "10.%u.%u.%u", next() % 256, next() % 256, next() % 256);
        snprintf(dst, sizeof(dst), "192.0.%u.%u", next() % 256, next() % 256);
    }
    uint64_t start = 1764165600000ULL + next() % 3600000;
    uint64_t end = start + next() % 60000;
    unsigned pk = 1 + next() % 1000, by = pk * (40 + next() % 1460);
    unsigned sp = 1024 + next() % 64000, dp = next() % 2 ? 443 : 53, fl = next() % 64;
    const char *proto = dp == 53 ? "UDP" : "TCP";
    char *p = buf + *o;
    int n;

    switch (i % 3) {
    case 0:     /* IPFIXcol, as Stream4Flow reads it */
        n = sprintf(p,
            "{\"@type\": \"ipfix.entry\", \"ipfix.octetDeltaCount\": %u, "
            "\"ipfix.packetDeltaCount\": %u, \"ipfix.flowStartMilliseconds\": %llu, "
            "\"ipfix.flowEndMilliseconds\": %llu, \"ipfix.%sIPv%dAddress\": \"%s\", "
            "\"ipfix.%sIPv%dAddress\": \"%s\", \"ipfix.protocolIdentifier\": %d, "
            "\"ipfix.tcpControlBits\": %u, \"ipfix.sourceTransportPort\": %u, "
            "\"ipfix.destinationTransportPort\": %u, \"ipfix.ingressInterface\": 1, "
            "\"ipfix.ipVersion\": %d}\n",
            by, pk, (unsigned long long)start, (unsigned long long)end,
            "source", v6 ? 6 : 4, src, "destination", v6 ? 6 : 4, dst,
            dp == 53 ? 17 : 6, fl, sp, dp, v6 ? 6 : 4);
        break;
    case 1: {   /* IPFIXcol2, formatted */
        char t0[32], t1[32];
        time_t s0 = (time_t)(start / 1000), s1 = (time_t)(end / 1000);
        struct tm tm;
        strftime(t0, sizeof(t0), "%Y-%m-%dT%H:%M:%S", gmtime_r(&s0, &tm));
        strftime(t1, sizeof(t1), "%Y-%m-%dT%H:%M:%S", gmtime_r(&s1, &tm));
        n = sprintf(p,
            "{\"@type\":\"ipfix.entry\",\"iana:octetDeltaCount\":%u,\"iana:packetDeltaCount\":%u,"
            "\"iana:flowStartMilliseconds\":\"%s.%03uZ\",\"iana:flowEndMilliseconds\":\"%s.%03uZ\","
            "\"iana:ingressInterface\":1,\"iana:ipVersion\":%d,\"iana:sourceIPv%dAddress\":\"%s\","
            "\"iana:destinationIPv%dAddress\":\"%s\",\"iana:ipClassOfService\":0,\"iana:ipTTL\":62,"
            "\"iana:protocolIdentifier\":\"%s\",\"iana:tcpControlBits\":\"%c%c%c%c%c%c\","
            "\"iana:sourceTransportPort\":%u,\"iana:destinationTransportPort\":%u,"
            "\"iana:egressInterface\":0,\"iana:samplingInterval\":0,\"iana:samplingAlgorithm\":0}\n",
            by, pk, t0, (unsigned)(start % 1000), t1, (unsigned)(end % 1000), v6 ? 6 : 4,
            v6 ? 6 : 4, src, v6 ? 6 : 4, dst, proto,
            fl & 32 ? 'U' : '.', fl & 16 ? 'A' : '.', fl & 8 ? 'P' : '.',
            fl & 4 ? 'R' : '.', fl & 2 ? 'S' : '.', fl & 1 ? 'F' : '.', sp, dp);
        break;
    }
    default: {  /* nfdump -o json, one record per line */
        char t0[32], t1[32];
        time_t s0 = (time_t)(start / 1000), s1 = (time_t)(end / 1000);
        struct tm tm;
        strftime(t0, sizeof(t0), "%Y-%m-%dT%H:%M:%S", gmtime_r(&s0, &tm));
        strftime(t1, sizeof(t1), "%Y-%m-%dT%H:%M:%S", gmtime_r(&s1, &tm));
        n = sprintf(p,
            "{\"type\" : \"FLOW\", \"sampled\" : 0, \"export_sysid\" : 1, "
            "\"first\" : \"%s.%03u\", \"last\" : \"%s.%03u\", \"received\" : \"%s.%03u\", "
            "\"in_packets\" : %u, \"in_bytes\" : %u, \"proto\" : %d, \"tcp_flags\" : \"..%c%c%c%c%c%c\", "
            "\"src_port\" : %u, \"dst_port\" : %u, \"fwd_status\" : 0, \"src_tos\" : 0, "
            "\"src%d_addr\" : \"%s\", \"dst%d_addr\" : \"%s\", \"input_snmp\" : 0, "
            "\"output_snmp\" : 0, \"src_mask\" : 24, \"dst_mask\" : 16, \"label\" : \"<none>\"}\n",
            t0, (unsigned)(start % 1000), t1, (unsigned)(end % 1000), t1, (unsigned)(end % 1000),
            pk, by, dp == 53 ? 17 : 6,
            fl & 32 ? 'U' : '.', fl & 16 ? 'A' : '.', fl & 8 ? 'P' : '.',
            fl & 4 ? 'R' : '.', fl & 2 ? 'S' : '.', fl & 1 ? 'F' : '.',
            sp, dp, v6 ? 6 : 4, src, v6 ? 6 : 4, dst);
        break;
    }
    }
    *o += (size_t)n;
}

/* Split buf[0..len) at '\n' into lines (the '\n' kept), skipping empty ones. */
static line *split(const char *buf, size_t len, size_t *count)
{
    size_t n = 0, cap = 1024;
    line *v = hf_malloc(cap * sizeof(*v));
    for (const char *p = buf, *end = buf + len; p < end; ) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl + 1 : end;
        if (e - p > 1 || (e - p == 1 && *p != '\n')) {
            if (n == cap) v = hf_realloc(v, (cap *= 2) * sizeof(*v));
            v[n].p = p;
            v[n].len = (size_t)(e - p);
            n++;
        }
        p = e;
    }
    *count = n;
    return v;
}

/* ------------------------------------------------------------------------
 * Timing
 * --------------------------------------------------------------------- */

/* CPU time of this thread: on a shared machine, wall time also counts the
 * time the benchmark spent waiting for a CPU. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile double sink;

/* One pass of dec over all lines; returns the number decoded OK. */
static size_t pass(int (*dec)(const char *, size_t, hf_flow *), const line *v, size_t n)
{
    size_t ok = 0;
    double sum = 0;
    hf_flow f;
    for (size_t i = 0; i < n; i++) {
        if (dec(v[i].p, v[i].len, &f) == HF_DECODE_OK) {
            ok++;
            sum += f.bytes + f.src[15];
        }
    }
    sink = sum;
    return ok;
}

/* Seconds of the fastest of 'passes' passes of dec, after a warm-up one
 * (the fastest is the one least disturbed by the rest of the machine). */
static double time_passes(int (*dec)(const char *, size_t, hf_flow *),
                          const line *v, size_t n, int passes, size_t *ok)
{
    double best = 1e30;
    *ok = pass(dec, v, n);
    for (int i = 0; i < passes; i++) {
        double t0 = now();
        pass(dec, v, n);
        double t = now() - t0;
        if (t < best) best = t;
    }
    return best;
}

int main(int argc, char **argv)
{
    int passes = 10;
    long gen = 100000;
    const char *file = NULL, *write_to = NULL;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) passes = atoi(argv[++i]);
        else if (strcmp(argv[i], "-g") == 0 && i + 1 < argc) gen = atol(argv[++i]);
        else if (strcmp(argv[i], "-w") == 0 && i + 1 < argc) write_to = argv[++i];
        else if (argv[i][0] != '-' || strcmp(argv[i], "-") == 0) file = argv[i];
        else {
            fprintf(stderr, "usage: %s [-n PASSES] [-g LINES] [-w OUT] [FILE|-]\n", argv[0]);
            return 2;
        }
    }
    if (passes < 1) passes = 1;

    char *buf;
    size_t len = 0;
    if (file) {
        FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
        if (!f) {
            perror(file);
            return 1;
        }
        buf = read_all(f, &len);
        if (f != stdin) fclose(f);
    } else {
        if (gen < 1) gen = 1;
        buf = hf_malloc((size_t)gen * 1024);
        for (long i = 0; i < gen; i++) gen_line(buf, &len, (int)i);
        if (write_to) {
            FILE *f = fopen(write_to, "wb");
            if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
                perror(write_to);
                return 1;
            }
            hf_free(buf);
            return 0;
        }
    }

    size_t n, ok_fast, ok_ref;
    line *v = split(buf, len, &n);
    if (n == 0) {
        fprintf(stderr, "bench_decode: no lines\n");
        return 1;
    }
    double t_fast = time_passes(hf_decode_flow, v, n, passes, &ok_fast);
    double t_ref = time_passes(hf_decode_flow_cjson, v, n, passes, &ok_ref);
    double fast = (double)n / t_fast, ref = (double)n / t_ref, mb = (double)len / 1e6;

    printf("input:                %s, %zu lines, %.1f MB, %zu decode OK\n",
           file ? file : "synthetic", n, mb, ok_fast);
    printf("hf_decode_flow:       %8.3f M flows/s  %7.1f MB/s  (%.0f ns/flow)\n",
           fast / 1e6, mb / t_fast, t_fast * 1e9 / (double)n);
    printf("hf_decode_flow_cjson: %8.3f M flows/s  %7.1f MB/s  (%.0f ns/flow)\n",
           ref / 1e6, mb / t_ref, t_ref * 1e9 / (double)n);
    printf("ratio:                %8.2fx\n", fast / ref);
    printf("{\"bench\":\"decode\",\"input\":\"%s\",\"lines\":%zu,\"bytes\":%zu,\"passes\":%d,"
           "\"ok\":%zu,\"fast_flows_per_s\":%.0f,\"cjson_flows_per_s\":%.0f,"
           "\"fast_mb_per_s\":%.1f,\"cjson_mb_per_s\":%.1f,\"ratio\":%.2f}\n",
           file ? file : "synthetic", n, len, passes, ok_fast, fast, ref,
           mb / t_fast, mb / t_ref, fast / ref);

    if (ok_fast != ok_ref)
        fprintf(stderr, "bench_decode: note: hf_decode_flow accepts %zu lines, the cJSON "
                "decoder %zu (see decode_cjson.c for where they differ)\n", ok_fast, ok_ref);
    free(v);
    hf_free(buf);
    return 0;
}
