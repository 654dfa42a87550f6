/* benchlib.h -- what the benchmark tools share (tests/tools/bench_stages.c,
 * bench_lua.c, bench_plainc.c): reading a flow file the way hostflow reads
 * it, cutting it into the batches a single worker would get, timing, and
 * the one-line JSON the tools print for tests/bench/run.sh.
 *
 * The batches are made exactly as core/stream/pipeline.c makes them for one worker:
 * decode and classify (hf_line_classify: rejects, options and templates
 * dropped, a biflow record's two flows one after the other, starts clamped
 * within the default skew), flows ending more than a day after now dropped,
 * the prefix filter, late flows (ending before the windows still open)
 * dropped, a new batch whenever the watermark moves a base window boundary
 * or the batch is full.  So a tool that runs hf_worker_process() over them
 * does the worker's part of `hostflow run -j1`, and nothing else.
 *
 * Header only (static functions): each tool is one .c file in tests/tools,
 * built by the Makefile's tools rule. */
#ifndef HF_BENCHLIB_H
#define HF_BENCHLIB_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "base/alloc.h"
#include "conf/config.h"
#include "stream/decode.h"
#include "stream/decoders.h"
#include "support/decode_cjson.h"
#include "io/input.h"
#include "stream/prefix.h"
#include "engine/worker.h"

#define BENCH_NETWORKS "10.0.0.0/8,2001:db8::/32"

/* ------------------------------------------------------------------------
 * Time and memory
 * --------------------------------------------------------------------- */

/* CPU seconds of the calling thread: on a shared machine, wall time counts
 * the neighbours as much as the code.  Every single-thread figure of the
 * benchmark is per second of this clock. */
static inline double bench_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline double bench_wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Peak resident set of the process so far, bytes. */
static inline size_t bench_maxrss(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (size_t)ru.ru_maxrss * 1024;
}

/* Resident set now, bytes (from /proc/self/statm), 0 if unknown. */
static inline size_t bench_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, res = 0;
    if (!f) return 0;
    if (fscanf(f, "%lu %lu", &size, &res) != 2) res = 0;
    fclose(f);
    return (size_t)res * 4096;
}

/* ------------------------------------------------------------------------
 * Lines
 * --------------------------------------------------------------------- */

typedef struct bench_lines {
    char   *data;
    size_t *off, *len;
    size_t  n, bytes;
} bench_lines;

/* Up to max lines (0: all) of path, read as hostflow reads them (hf_input:
 * plain or gzip, without newlines; lines over 1 MiB skipped), into memory. */
static inline int bench_read_lines(const char *path, size_t max, bench_lines *out)
{
    char err[256];
    hf_input *in = hf_input_open(path, (size_t)1 << 20, err, sizeof err);
    if (!in) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    size_t cap = 1 << 24, ncap = 1 << 16;
    memset(out, 0, sizeof *out);
    out->data = hf_malloc(cap);
    out->off = hf_malloc(sizeof(size_t) * ncap);
    out->len = hf_malloc(sizeof(size_t) * ncap);
    const char *line;
    size_t len;
    int r;
    while ((max == 0 || out->n < max) && (r = hf_input_next(in, &line, &len)) != HF_INPUT_EOF) {
        if (r == HF_INPUT_ERROR) {
            fprintf(stderr, "%s: %s\n", path, hf_input_error(in));
            hf_input_close(in);
            return -1;
        }
        if (r != HF_INPUT_LINE) continue;
        while (out->bytes + len > cap) out->data = hf_realloc(out->data, cap *= 2);
        if (out->n == ncap) {
            ncap *= 2;
            out->off = hf_realloc(out->off, sizeof(size_t) * ncap);
            out->len = hf_realloc(out->len, sizeof(size_t) * ncap);
        }
        memcpy(out->data + out->bytes, line, len);
        out->off[out->n] = out->bytes;
        out->len[out->n] = len;
        out->bytes += len;
        out->n++;
    }
    hf_input_close(in);
    return 0;
}

static inline void bench_lines_free(bench_lines *l)
{
    hf_free(l->data);
    hf_free(l->off);
    hf_free(l->len);
}

/* The monitored networks of the benchmark (flowgen's hosts). */
static inline hf_prefixes *bench_networks(void)
{
    hf_prefixes *p = hf_prefixes_new();
    char err[128];
    if (hf_prefixes_add(p, "10.0.0.0/8", err, sizeof err) < 0 ||
        hf_prefixes_add(p, "2001:db8::/32", err, sizeof err) < 0) {
        fprintf(stderr, "bench: %s\n", err);
        exit(1);
    }
    return p;
}

/* ------------------------------------------------------------------------
 * Batches: the worker's input of `hostflow run -j1`
 * --------------------------------------------------------------------- */

typedef struct bench_batches {
    hf_batch *b;          /* nb batches; flows point into one array */
    size_t    nb;
    hf_flow  *flows;
    size_t    nflows;     /* flows handed to the worker */
    size_t    lines;      /* lines read */
} bench_batches;

static inline int64_t bench_floor(int64_t t, int64_t g)
{
    int64_t q = t / g;
    if (t % g < 0) q--;
    return q * g;
}

/* Read path (max lines, 0: all) and cut it into batches as pipeline.c does
 * for one worker with cfg's windows, lateness and batch size. */
static inline int bench_make_batches(const char *path, size_t max, const hf_config *cfg,
                              bench_batches *out)
{
    char err[256];
    hf_input *in = hf_input_open(path, cfg->max_line, err, sizeof err);
    if (!in) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    hf_prefixes *nets = bench_networks();
    /* times without an offset in UTC (the default input_tz), the default skew */
    hf_decode_ctx dctx = {.tz = NULL, .max_skew_ms = cfg->max_skew_ms};
    int64_t base = cfg->windows_ms[0];
    for (int i = 1; i < cfg->nwindows; i++) {
        int64_t a = base, b = cfg->windows_ms[i];
        while (b) { int64_t t = a % b; a = b; b = t; }
        base = a;
    }
    double future = (double)time(NULL) * 1000.0 + 24 * 3600 * 1000.0;
    double max_end = -INFINITY;
    int64_t closed_until = INT64_MIN;
    size_t fcap = 1 << 20, bcap = 1024;
    memset(out, 0, sizeof *out);
    out->flows = hf_malloc(sizeof(hf_flow) * fcap);
    size_t *starts = hf_malloc(sizeof(size_t) * bcap);
    int64_t *bounds = hf_malloc(sizeof(int64_t) * bcap);
    size_t cur = 0;                       /* first flow of the open batch */
    const char *line;
    size_t len;
    int r;
#define CLOSE_BATCH() do { \
        if (out->nb == bcap) { \
            bcap *= 2; \
            starts = hf_realloc(starts, sizeof(size_t) * bcap); \
            bounds = hf_realloc(bounds, sizeof(int64_t) * bcap); \
        } \
        starts[out->nb] = cur; bounds[out->nb] = closed_until; out->nb++; \
        cur = out->nflows; \
    } while (0)
    while ((max == 0 || out->lines < max) && (r = hf_input_next(in, &line, &len)) != HF_INPUT_EOF) {
        if (r == HF_INPUT_ERROR) break;
        out->lines++;
        if (r != HF_INPUT_LINE) continue;
        hf_flow two[2];
        unsigned st = hf_line_classify(&dctx, line, len, nets, future, two);
        int kept = hf_line_flows(st);           /* a biflow record's flows one after the other */
        for (int k = 0; k < kept; k++) {
            if (out->nflows == fcap) out->flows = hf_realloc(out->flows, sizeof(hf_flow) * (fcap *= 2));
            hf_flow *f = &out->flows[out->nflows];
            *f = two[k];                        /* its mark as the filter set it: one worker */
            if ((int64_t)f->end_ms < closed_until) continue;
            out->nflows++;
            if (f->end_ms > max_end && !(f->mark & HF_FLOW_NO_SRC)) {   /* as the pipeline's watermark */
                max_end = f->end_ms;
                int64_t boundary = bench_floor((int64_t)f->end_ms - cfg->lateness_ms, base);
                if (boundary > closed_until) {
                    closed_until = boundary;
                    CLOSE_BATCH();
                    continue;
                }
            }
            if (out->nflows - cur == (size_t)cfg->batch) CLOSE_BATCH();
        }
    }
    CLOSE_BATCH();                        /* the final one, possibly empty */
#undef CLOSE_BATCH
    hf_input_close(in);
    hf_prefixes_free(nets);
    out->b = hf_calloc(out->nb, sizeof(hf_batch));
    for (size_t i = 0; i < out->nb; i++) {
        size_t end = i + 1 < out->nb ? starts[i + 1] : out->nflows;
        out->b[i].flows = out->flows + starts[i];
        out->b[i].n = (int)(end - starts[i]);
        out->b[i].boundary = bounds[i];
        out->b[i].final = i + 1 == out->nb;
    }
    hf_free(starts);
    hf_free(bounds);
    return 0;
}

static inline void bench_batches_free(bench_batches *bb)
{
    hf_free(bb->b);
    hf_free(bb->flows);
}

/* ------------------------------------------------------------------------
 * Sink and configuration
 * --------------------------------------------------------------------- */

/* Records to a file, as the file output writes them (one fwrite a batch):
 * the engine's record sink (engine/record.h), in the tool itself. */
typedef struct bench_sink {
    FILE          *f;
    hf_record_sink sink;
} bench_sink;

static inline int bench_sink_write(void *ctx, const hf_records *batch)
{
    bench_sink *s = ctx;
    return fwrite(batch->text, 1, batch->len, s->f) == batch->len ? 0 : -1;
}

static inline bench_sink *bench_sink_open(const char *path)
{
    bench_sink *s = hf_calloc(1, sizeof *s);
    s->f = fopen(path, "w");
    if (!s->f) {
        fprintf(stderr, "bench: %s: cannot open for writing\n", path);
        exit(1);
    }
    s->sink.write = bench_sink_write;
    s->sink.ctx = s;
    return s;
}

static inline void bench_sink_close(bench_sink *s)
{
    fclose(s->f);
    hf_free(s);
}

/* The default configuration, with hostflow's files found in root. */
static inline void bench_config(hf_config *cfg, const char *root)
{
    hf_config_defaults(cfg, root);
    /* the five statistics, as bench_plainc computes them in C: the profile
     * (analyses/profile.lua, on by default) is measured by the pipeline's
     * rows, with it and without */
    char err[256];
    hf_config_set(cfg, "analyses.disable", "profile", "bench", 0, err, sizeof err);
}

/* ------------------------------------------------------------------------
 * Output
 * --------------------------------------------------------------------- */

/* Append "name":[v0,v1,...] to a JSON line being printed. */
static inline void bench_print_series(const char *name, const double *v, int n, int first)
{
    printf("%s\"%s\":[", first ? "" : ",", name);
    for (int i = 0; i < n; i++) printf("%s%.6g", i ? "," : "", v[i]);
    printf("]");
}

#endif
