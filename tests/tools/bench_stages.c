/* bench_stages.c -- the reader's stages alone: decode (the fast decoder and
 * the cJSON one) and decode + filter, over the lines of a flow file.
 *
 *   build/tools/bench_stages [-r RUNS] [-n LINES] FILE
 *
 * Reads the first LINES lines (default 500000; 0: all) of FILE into memory
 * as hostflow reads them, then does RUNS rounds (default 5); each round
 * times one pass of every stage, in this thread's CPU time:
 *
 *   decode_fast    hf_decode_flow() on every line
 *   decode_cjson   hf_decode_flow_cjson() on every line
 *   decode_filter  hf_decode_flow(), then the future-time check and the
 *                  prefix trie (10.0.0.0/8, 2001:db8::/32) as pipeline.c
 *                  does before it shards a flow
 *
 * and prints one JSON line: lines per second of each stage, per round.
 * Rounds interleave the stages, so a busy neighbour slows all of them
 * alike.  A benchmark, never a test (the decoders' agreement is the
 * fuzzer's job; a difference in the counts is only noted). */
#include "../bench/benchlib.h"

static volatile double sink;

typedef int (*decoder)(const char *, size_t, hf_flow *);

static size_t pass_decode(decoder dec, const bench_lines *l)
{
    size_t ok = 0;
    double sum = 0;
    hf_flow f;
    for (size_t i = 0; i < l->n; i++)
        if (dec(l->data + l->off[i], l->len[i], &f) == HF_DECODE_OK) {
            ok++;
            sum += f.bytes;
        }
    sink = sum;
    return ok;
}

static size_t pass_filter(const bench_lines *l, const hf_prefixes *nets, double future)
{
    size_t kept = 0;
    hf_flow f;
    for (size_t i = 0; i < l->n; i++) {
        if (hf_decode_flow(l->data + l->off[i], l->len[i], &f) != HF_DECODE_OK) continue;
        if (f.end_ms > future) continue;
        if (!hf_prefixes_match(nets, f.src)) continue;
        kept++;
    }
    return kept;
}

int main(int argc, char **argv)
{
    int runs = 5;
    size_t max = 500000;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-r") && i + 1 < argc) runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-n") && i + 1 < argc) max = (size_t)atol(argv[++i]);
        else if (argv[i][0] != '-') path = argv[i];
        else path = NULL, i = argc;
    }
    if (!path || runs < 1 || runs > 100) {
        fprintf(stderr, "usage: bench_stages [-r RUNS] [-n LINES] FILE\n");
        return 2;
    }
    bench_lines l;
    if (bench_read_lines(path, max, &l) < 0) return 1;
    hf_prefixes *nets = bench_networks();
    double future = (double)time(NULL) * 1000.0 + 24 * 3600 * 1000.0;

    double fast[100], cjson[100], filt[100];
    size_t ok_fast = pass_decode(hf_decode_flow, &l);          /* warm-up, and counts */
    size_t ok_cjson = pass_decode(hf_decode_flow_cjson, &l);
    size_t kept = pass_filter(&l, nets, future);
    for (int r = 0; r < runs; r++) {
        double t0 = bench_cpu_s();
        pass_decode(hf_decode_flow, &l);
        double t1 = bench_cpu_s();
        pass_decode(hf_decode_flow_cjson, &l);
        double t2 = bench_cpu_s();
        pass_filter(&l, nets, future);
        double t3 = bench_cpu_s();
        fast[r] = (double)l.n / (t1 - t0);
        cjson[r] = (double)l.n / (t2 - t1);
        filt[r] = (double)l.n / (t3 - t2);
    }
    printf("{\"bench\":\"stages\",\"lines\":%zu,\"bytes\":%zu,\"decoded\":%zu,\"decoded_cjson\":%zu,"
           "\"monitored\":%zu,", l.n, l.bytes, ok_fast, ok_cjson, kept);
    bench_print_series("decode_fast", fast, runs, 1);
    bench_print_series("decode_cjson", cjson, runs, 0);
    bench_print_series("decode_filter", filt, runs, 0);
    printf("}\n");
    hf_prefixes_free(nets);
    bench_lines_free(&l);
    if (ok_fast != ok_cjson)    /* cJSON reads numbers as doubles: 2^53 + 1 passes */
        fprintf(stderr, "bench_stages: note: the decoders accept %zu and %zu lines\n", ok_fast, ok_cjson);
    return 0;
}
