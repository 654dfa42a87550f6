/* pipeline.c -- decode, filter, watermark and shard; then the counters.
 *
 * With one worker everything runs in the calling thread (a full batch is
 * processed in place); with more, each worker is a thread fed through a
 * bounded queue, which is also the back-pressure: a slow worker stops the
 * reader rather than letting memory grow.  With more than one worker, lines
 * from a file or stdin are also decoded on as many threads (decoders.h) and
 * come back in input order; the reading thread keeps the rest of the record
 * path (take_line), so it no longer bounds how many workers pay off. */
#include "stream/pipeline.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "stream/decoders.h"
#include "engine/ffi.h"
#include "base/hash.h"
#include "base/log.h"
#include "stream/prefix.h"
#include "engine/reload.h"
#include "io/sink.h"
#include "engine/worker.h"

#define FUTURE_SLACK_MS (24 * 3600 * 1000.0)  /* flows ending later than now + 1 day */

typedef _Atomic uint64_t hf_counter;

/* rejects are counted by reason: the decoder's, then these */
enum { REASON_TOO_LONG = HF_LINE_TOO_LONG, REASON_FUTURE = HF_LINE_FUTURE, NREASONS };

#define MAX_PARTITIONS 1024
#define MAX_HOLDS      32
#define IDLE_MS        10000.0 /* a partition at its end this long stops holding the watermark */

/* A run of input with its own order: a Kafka partition, or the one file.
 * Its watermark is its newest flow end; the pipeline's is the lowest of the
 * partitions that are not idle (at their end for IDLE_MS), so one partition
 * read ahead of another does not make the other's flows late.  When data
 * comes back after every partition went idle, all of them get IDLE_MS
 * again to show theirs before the watermark moves on without them.  `holds`
 * remember, per release time (the end of the coarsest window a flow is in),
 * the lowest offset of the flows still in open windows. */
typedef struct partition {
    char    *topic;
    int32_t  id;
    int      eof;             /* read to its end */
    double   eof_since;       /* when (monotonic ms) */
    double   max_end;         /* newest flow end, ms */
    int64_t  next_offset;     /* after the last message fed */
    int64_t  released_until;  /* flows released at or before this were in records already */
    int      nholds;
    struct { int64_t release; int64_t offset; } holds[MAX_HOLDS];
} partition;

struct hf_pipeline {
    const hf_config *cfg;
    hf_prefixes     *nets;
    hf_sink         *sink;
    int              nworkers;
    hf_worker      **workers;
    hf_batch       **pending;      /* per worker: the batch being filled */
    int64_t          base_ms;      /* the finest window: gcd of the granularities */
    double           max_end;      /* highest flow end seen */
    int64_t          closed_until; /* base windows ending at or before this are closed */
    double           future_ms;    /* flows ending after this are refused */
    int              finished;
    struct timespec  started;
    partition       *parts;
    int              nparts;
    int64_t          max_g_ms;     /* the coarsest granularity */

    /* written by the reading thread only, read by the reporter: relaxed
     * atomics, bumped with a plain load and store */
    hf_counter       records;      /* records read */
    hf_counter       decoded;
    hf_counter       rejected[NREASONS];
    hf_counter       filtered;     /* source not monitored */
    hf_counter       late;
    hf_counter       accepted;
    hf_counter       replayed;     /* in records before a restart: skipped */
    const char      *input_name;   /* the file being read, and its line, for warnings */
    uint64_t         lineno;
    void           (*report_ext)(void *ctx, hf_buf *out);
    void            *report_ctx;
    hf_ratelimit     rl_reject, rl_late;
    hf_reload       *reload;       /* hot reload and the watchdog (reload.h) */
    hf_decoders     *dec;          /* with several workers: lines decoded on threads */
};

/* One more, by the only thread that writes the counter. */
static inline void bump(hf_counter *c)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

static double now_ms(void)
{
    return hf_ffi_now_ns() / 1e6;
}

static const char *reason_name(int r)
{
    if (r == REASON_TOO_LONG) return "too_long";
    if (r == REASON_FUTURE) return "future_time";
    return hf_decode_reason_name(r);
}

/* ------------------------------------------------------------------------
 * Set-up
 * --------------------------------------------------------------------- */

hf_pipeline *hf_pipeline_new(const hf_config *cfg, const char *lua_dir, char *err, size_t errlen)
{
    hf_pipeline *p = hf_calloc(1, sizeof *p);
    p->cfg = cfg;
    clock_gettime(CLOCK_MONOTONIC, &p->started);
    p->nets = hf_prefixes_new();
    for (int i = 0; i < cfg->networks.n; i++)
        if (hf_prefixes_add(p->nets, cfg->networks.v[i], err, errlen) < 0) goto fail;
    p->base_ms = hf_windows_gcd(cfg->windows_ms, cfg->nwindows);
    p->max_g_ms = cfg->windows_ms[cfg->nwindows - 1];
    p->parts = hf_calloc(MAX_PARTITIONS, sizeof(partition));
    hf_pipeline_partition(p, "input", 0, INT64_MIN);
    p->max_end = -INFINITY;
    p->closed_until = INT64_MIN;
    p->future_ms = (double)time(NULL) * 1000.0 + FUTURE_SLACK_MS;
    p->rl_reject = (hf_ratelimit)HF_RATELIMIT_INIT(5);
    p->rl_late = (hf_ratelimit)HF_RATELIMIT_INIT(2);

    p->nworkers = cfg->workers;
    if (p->nworkers <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        p->nworkers = n > 0 ? (int)n : 1;
    }
    p->sink = hf_sink_open(cfg->outputs.v[0], cfg, err, errlen);
    if (!p->sink) goto fail;
    p->workers = hf_calloc((size_t)p->nworkers, sizeof(hf_worker *));
    p->pending = hf_calloc((size_t)p->nworkers, sizeof(hf_batch *));
    for (int i = 0; i < p->nworkers; i++) {
        p->workers[i] = hf_worker_new(i, cfg, lua_dir, p->sink,
                                      cfg->memory_max / (size_t)p->nworkers, err, errlen);
        if (!p->workers[i]) goto fail;
        p->pending[i] = hf_worker_batch(p->workers[i]);
    }
    if (p->nworkers > 1)
        for (int i = 0; i < p->nworkers; i++)
            if (hf_worker_start(p->workers[i]) < 0) {
                snprintf(err, errlen, "cannot start worker thread %d", i);
                goto fail;
            }
    p->reload = hf_reload_new(cfg, p->workers, p->nworkers, p->base_ms, err, errlen);
    if (!p->reload) goto fail;
    return p;
fail:
    p->finished = 1;
    hf_pipeline_free(p);
    return NULL;
}

/* ------------------------------------------------------------------------
 * The record path
 * --------------------------------------------------------------------- */

static void hand_over(hf_pipeline *p, int i, double boundary_ns)
{
    hf_batch *b = p->pending[i];
    b->boundary = p->closed_until;
    b->boundary_ns = boundary_ns;
    hf_worker_push(p->workers[i], b);
    p->pending[i] = hf_worker_batch(p->workers[i]);
}

/* Where a record came from, for a warning (formatted only when one is
 * written): "file:line" or "topic[partition]@offset". */
static const char *origin(const hf_pipeline *p, int part, int64_t offset, char *out, size_t n)
{
    if (part == 0) snprintf(out, n, "%s:%llu", p->input_name, (unsigned long long)p->lineno);
    else snprintf(out, n, "%s[%d]@%lld", p->parts[part].topic, p->parts[part].id, (long long)offset);
    return out;
}

static int64_t floor_to(int64_t t, int64_t g)
{
    int64_t q = t / g;
    if (t % g < 0) q--;
    return q * g;
}

/* When a flow ending at t is in records at every granularity: the latest
 * end of the windows that hold it. */
static int64_t release_time(const hf_pipeline *p, int64_t t)
{
    int64_t r = INT64_MIN;
    for (int i = 0; i < p->cfg->nwindows; i++) {
        int64_t g = p->cfg->windows_ms[i];
        int64_t end = floor_to(t, g) + g;
        if (end > r) r = end;
    }
    return r;
}

int hf_pipeline_partition(hf_pipeline *p, const char *topic, int32_t id, int64_t released_until)
{
    for (int i = 0; i < p->nparts; i++)
        if (p->parts[i].id == id && strcmp(p->parts[i].topic, topic) == 0) {
            if (released_until > p->parts[i].released_until)
                p->parts[i].released_until = released_until;
            return i;
        }
    if (p->nparts == MAX_PARTITIONS) return -1;
    partition *pt = &p->parts[p->nparts];
    memset(pt, 0, sizeof *pt);
    pt->topic = hf_strdup(topic);
    pt->id = id;
    pt->max_end = -INFINITY;
    pt->next_offset = -1;
    pt->released_until = released_until;
    /* a partition starts idle (the source marks it not at its end once it is
     * assigned, and from then on it holds the watermark back until it has
     * given data or reached its end); with one, the file slot goes idle */
    pt->eof = p->nparts > 0;
    if (p->nparts == 1 && p->parts[0].max_end == -INFINITY) p->parts[0].eof = 1;
    return p->nparts++;
}

int64_t hf_pipeline_next_offset(hf_pipeline *p, const char *topic, int32_t id)
{
    for (int i = 1; i < p->nparts; i++)
        if (p->parts[i].id == id && strcmp(p->parts[i].topic, topic) == 0) return p->parts[i].next_offset;
    return -1;
}

int hf_pipeline_partition_at_end(hf_pipeline *p, int part)
{
    return part >= 0 && part < p->nparts && p->parts[part].eof;
}

void hf_pipeline_partition_eof(hf_pipeline *p, int part, int eof)
{
    if (part < 0 || part >= p->nparts) return;
    if (eof && !p->parts[part].eof) p->parts[part].eof_since = now_ms();
    p->parts[part].eof = eof;
}

/* Remember that the flow at offset is held until release. */
static void hold(partition *pt, int64_t release, int64_t offset)
{
    for (int i = 0; i < pt->nholds; i++)
        if (pt->holds[i].release == release) {
            if (offset < pt->holds[i].offset) pt->holds[i].offset = offset;
            return;
        }
    if (pt->nholds == MAX_HOLDS) {       /* fold into the latest: releases later, still safe */
        int last = 0;
        for (int i = 1; i < pt->nholds; i++)
            if (pt->holds[i].release > pt->holds[last].release) last = i;
        if (release > pt->holds[last].release) pt->holds[last].release = release;
        if (offset < pt->holds[last].offset) pt->holds[last].offset = offset;
        return;
    }
    pt->holds[pt->nholds].release = release;
    pt->holds[pt->nholds].offset = offset;
    pt->nholds++;
}

static void advance(hf_pipeline *p);

static int idle(const partition *pt, double now)
{
    return pt->eof && now - pt->eof_since >= IDLE_MS;
}

/* The pipeline's watermark: the lowest newest-end of the partitions that
 * are not idle (one that has given nothing yet holds everything back), or,
 * when all are idle, the highest. */
static double watermark_source(const hf_pipeline *p)
{
    double lo = INFINITY, hi = -INFINITY, now = now_ms();
    for (int i = 0; i < p->nparts; i++) {
        const partition *pt = &p->parts[i];
        if (pt->max_end == -INFINITY) {
            if (!idle(pt, now)) return -INFINITY;
            continue;
        }
        if (pt->max_end > hi) hi = pt->max_end;
        if (!idle(pt, now) && pt->max_end < lo) lo = pt->max_end;
    }
    return lo < INFINITY ? lo : hi;
}

/* Data again on part: if every other partition had gone idle, give them
 * all IDLE_MS to catch up before the watermark leaves them behind. */
static void wake(hf_pipeline *p, partition *pt)
{
    double now = now_ms();
    int all_idle = 1;
    for (int i = 1; i < p->nparts && all_idle; i++)
        if (&p->parts[i] != pt && !idle(&p->parts[i], now)) all_idle = 0;
    if (all_idle)
        for (int i = 1; i < p->nparts; i++) p->parts[i].eof_since = now;
    pt->eof = 0;
}

/* Move the watermark when time passes with no data (idle partitions). */
void hf_pipeline_tick(hf_pipeline *p)
{
    if (p->nparts > 1) advance(p);
}

/* Move the watermark; when base windows close, tell every worker. */
static void advance(hf_pipeline *p)
{
    double src = p->nparts == 1 ? p->max_end : watermark_source(p);
    if (src == -INFINITY) return;
    int64_t boundary = floor_to((int64_t)src - p->cfg->lateness_ms, p->base_ms);
    if (boundary > p->closed_until) {
        p->closed_until = boundary;
        double now = hf_ffi_now_ns();
        for (int k = 0; k < p->nworkers; k++) hand_over(p, k, now);
    }
}

/* Everything after a line's decoding (st: enum hf_line_status, *fp the flow
 * when it is one), in input order: count it, warn, drop it as replayed or
 * late, or give it to its host's worker and move the watermark.  Returns 0,
 * or the reject reason.  The caller has polled for a reload (per record,
 * or per chunk: the switch point is the base window after the last flow
 * taken, wherever that is). */
static int take_line(hf_pipeline *p, int part, int64_t offset, int st, const hf_flow *fp,
                     const char *rec, size_t len)
{
    char snip[72], where[512];
    partition *pt = &p->parts[part];
    bump(&p->records);
    if (offset >= 0) pt->next_offset = offset + 1;
    switch (st) {
    case HF_LINE_FLOW:
        bump(&p->decoded);
        break;
    case HF_LINE_FILTERED:
        bump(&p->decoded);
        bump(&p->filtered);
        return 0;
    case HF_LINE_FUTURE:
        bump(&p->decoded);
        bump(&p->rejected[REASON_FUTURE]);
        hf_log_limited(&p->rl_reject, HF_LOG_WARN, "%s: rejected (future_time): the flow "
                       "ends more than a day from now: %s", origin(p, part, offset, where, sizeof where),
                       hf_log_snippet(rec, len, snip, sizeof snip));
        return REASON_FUTURE;
    case HF_LINE_TOO_LONG:
        bump(&p->rejected[REASON_TOO_LONG]);
        hf_log_limited(&p->rl_reject, HF_LOG_WARN, "%s: rejected (too_long): longer than %zu bytes",
                       origin(p, part, offset, where, sizeof where), p->cfg->max_line);
        return REASON_TOO_LONG;
    default:
        bump(&p->rejected[st]);
        hf_log_limited(&p->rl_reject, HF_LOG_WARN, "%s: rejected (%s): %s",
                       origin(p, part, offset, where, sizeof where),
                       hf_decode_reason_name(st), hf_log_snippet(rec, len, snip, sizeof snip));
        return st;
    }
    double end_ms = fp->end_ms;
    int64_t release = INT64_MIN;
    if (offset >= 0 || pt->released_until != INT64_MIN) {
        release = release_time(p, (int64_t)end_ms);
        if (release <= pt->released_until) {   /* read again after a restart: in records already */
            bump(&p->replayed);
            return 0;
        }
    }
    if ((int64_t)end_ms < p->closed_until) {
        bump(&p->late);
        hf_log_limited(&p->rl_late, HF_LOG_WARN, "%s: late flow: it ends %.0f ms before "
                       "the windows still open", origin(p, part, offset, where, sizeof where),
                       (double)p->closed_until - end_ms);
        return 0;
    }
    bump(&p->accepted);
    if (offset >= 0) hold(pt, release, offset);
    int i = p->nworkers == 1 ? 0
          : (int)((hf_hash_addr(fp->src) >> 32) % (uint64_t)p->nworkers);
    hf_batch *b = p->pending[i];
    b->flows[b->n++] = *fp;
    if (pt->eof) wake(p, pt);
    if (end_ms > pt->max_end) {
        pt->max_end = end_ms;
        if (end_ms > p->max_end) p->max_end = end_ms;
        int64_t before = p->closed_until;
        advance(p);
        if (p->closed_until != before) return 0;   /* every batch was handed over */
    }
    if (b->n == p->cfg->batch) hand_over(p, i, 0);
    return 0;
}

/* One record decoded here (too_long: one the input skipped), then taken on. */
static int feed_record(hf_pipeline *p, int part, int64_t offset, const char *rec, size_t len,
                       int too_long)
{
    hf_flow f;
    hf_reload_poll(p->reload, p->max_end);   /* a reload to check or commit */
    int st = too_long ? HF_LINE_TOO_LONG : hf_line_classify(rec, len, p->nets, p->future_ms, &f);
    return take_line(p, part, offset, st, &f, rec, len);
}

int hf_pipeline_feed_at(hf_pipeline *p, int part, int64_t offset,
                        const char *rec, size_t len)
{
    return feed_record(p, part, offset, rec, len, 0);
}

/* ------------------------------------------------------------------------
 * Reading a file or stdin.  With one worker, line by line in this thread.
 * With more, in blocks of whole lines that decoder threads split and decode
 * (decoders.h): the reader reads into a chunk, submits it, and runs
 * take_line over the chunks that come back, oldest first.
 * --------------------------------------------------------------------- */

/* The lines of a decoded chunk, in order; p->lineno counts them. */
static void run_chunk(hf_pipeline *p, hf_chunk *c)
{
    hf_reload_poll(p->reload, p->max_end);
    p->input_name = c->name;
    uint32_t f = 0;
    for (uint32_t i = 0; i < c->n; i++) {
        size_t len;
        const char *line = hf_chunk_line(c, i, &len);
        int st = c->status[i];
        p->lineno++;
        take_line(p, 0, -1, st, st == HF_LINE_FLOW ? &c->flows[f++] : NULL, line, len);
    }
    hf_decoders_release(p->dec, c);
}

/* Take on every line read so far, waiting for its decoding (also the
 * input's hook before it waits for more, so a slow stream is not held
 * back). */
static void drain(void *arg)
{
    hf_pipeline *p = arg;
    hf_chunk *c;
    while (p->dec && (c = hf_decoders_take(p->dec, 1))) run_chunk(p, c);
}

static int read_error(hf_pipeline *p, hf_input *in, const char *name, uint64_t lineno)
{
    hf_log(HF_LOG_ERROR, "%s: read error after line %llu: %s", name, (unsigned long long)lineno,
           hf_input_error(in));
    return 1;
}

int hf_pipeline_read(hf_pipeline *p, hf_input *in, const char *name, atomic_int *stop)
{
    if (p->nworkers > 1 && !p->dec) {
        p->dec = hf_decoders_new(p->nworkers, p->nets, p->future_ms, p->cfg->max_line);
        if (!p->dec) hf_log(HF_LOG_WARN, "cannot start decoder threads: decoding in the reading thread");
    }
    hf_input_on_wait(in, drain, p);
    p->input_name = name;
    p->lineno = 0;
    while (!p->dec) {                             /* one thread: line by line */
        const char *line;
        size_t len;
        int r = hf_input_next(in, &line, &len);
        if (atomic_load(stop) || r == HF_INPUT_EOF) return 0;
        if (r == HF_INPUT_ERROR) return read_error(p, in, name, hf_input_lineno(in));
        p->lineno = hf_input_lineno(in);
        feed_record(p, 0, -1, line, len, r == HF_INPUT_TOO_LONG);
    }
    for (;;) {                                    /* blocks, decoded on threads */
        hf_chunk *c;
        while (!(c = hf_decoders_fill(p->dec))) run_chunk(p, hf_decoders_take(p->dec, 1));
        long n = hf_input_lines(in, c->bytes, c->cap);
        if (atomic_load(stop) || n == 0) return 0;
        if (n == HF_INPUT_ERROR) {
            drain(p);
            return read_error(p, in, name, p->lineno);
        }
        c->name = name;
        if (n == HF_INPUT_TOO_LONG) c->too_long = 1;
        else c->len = (size_t)n;
        hf_decoders_submit(p->dec, c);
        while ((c = hf_decoders_take(p->dec, 0))) run_chunk(p, c);
    }
}

const char *hf_pipeline_reason_name(int status)
{
    return reason_name(status);
}

/* The lowest granularity boundary every worker has emitted through. */
static int64_t emitted_until(hf_pipeline *p)
{
    int64_t d = INT64_MAX;
    for (int i = 0; i < p->nworkers; i++) {
        hf_worker_stats st;
        hf_worker_stats_get(p->workers[i], &st);
        if (st.closed_until < d) d = st.closed_until;
    }
    return d;
}

void hf_pipeline_flush(hf_pipeline *p)
{
    drain(p);
    int64_t through = p->closed_until;
    for (int i = 0; i < p->nparts; i++)
        for (int h = 0; h < p->parts[i].nholds; h++)
            if (p->parts[i].holds[h].release > through) through = p->parts[i].holds[h].release;
    if (p->max_end > -INFINITY) {
        int64_t r = release_time(p, (int64_t)p->max_end);
        if (r > through) through = r;
    }
    if (through > p->closed_until) {
        p->closed_until = through;
        double now = hf_ffi_now_ns();
        for (int k = 0; k < p->nworkers; k++) hand_over(p, k, now);
    }
    while (emitted_until(p) < p->closed_until) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    /* what comes later for these windows is late: they are in records */
    for (int i = 0; i < p->nparts; i++)
        if (p->parts[i].released_until < through) p->parts[i].released_until = through;
}

int hf_pipeline_commit_points(hf_pipeline *p, int timeout_ms, hf_commit_point *out, int max)
{
    int64_t done = emitted_until(p);
    if (hf_sink_sync(p->sink, timeout_ms) < 0) return -1;
    int n = 0;
    for (int i = 1; i < p->nparts && n < max; i++) {     /* slot 0 is the file input */
        partition *pt = &p->parts[i];
        int64_t offset = pt->next_offset;
        int k = 0;
        for (int h = 0; h < pt->nholds; h++) {
            if (pt->holds[h].release <= done) continue;   /* released */
            if (pt->holds[h].offset < offset || offset < 0) offset = pt->holds[h].offset;
            pt->holds[k++] = pt->holds[h];
        }
        pt->nholds = k;
        if (done > pt->released_until && done != INT64_MAX) pt->released_until = done;
        if (offset < 0) continue;                         /* nothing read yet */
        out[n].topic = pt->topic;
        out[n].partition = pt->id;
        out[n].offset = offset;
        out[n].released_until = pt->released_until;
        n++;
    }
    return n;
}

int hf_pipeline_finish(hf_pipeline *p)
{
    if (p->finished) return 0;
    drain(p);
    p->finished = 1;
    hf_reload_close(p->reload);
    for (int i = 0; i < p->nworkers; i++) {
        p->pending[i]->final = 1;
        hand_over(p, i, 0);
    }
    for (int i = 0; i < p->nworkers; i++) hf_worker_join(p->workers[i]);
    hf_reload_free(p->reload);
    p->reload = NULL;
    int rc = hf_sink_close(p->sink);
    p->sink = NULL;
    return rc;
}

/* ------------------------------------------------------------------------
 * Counters
 * --------------------------------------------------------------------- */

typedef struct totals {
    hf_worker_stats w;       /* summed over workers */
    uint64_t        windows_max[HF_MAX_WINDOWS + 1];
} totals;

static void sum_workers(hf_pipeline *p, totals *t)
{
    memset(t, 0, sizeof *t);
    for (int i = 0; i < p->nworkers; i++) {
        hf_worker_stats st;
        hf_worker_stats_get(p->workers[i], &st);
        t->w.flows += st.flows;
        t->w.hosts_refused += st.hosts_refused;
        t->w.records += st.records;
        t->w.mem_bytes += st.mem_bytes;
        t->w.mem_peak += st.mem_peak;
        for (int d = 0; d < HF_DELAY_BUCKETS; d++) t->w.close_delay[d] += st.close_delay[d];
        t->w.nlevels = st.nlevels;
        for (int l = 0; l < st.nlevels; l++) {
            t->w.hosts[l] += st.hosts[l];
            t->w.gran_ms[l] = st.gran_ms[l];
            if (st.windows[l] > t->windows_max[l]) t->windows_max[l] = st.windows[l];
        }
        t->w.nanalyses = st.nanalyses;
        for (int a = 0; a < st.nanalyses; a++) {
            t->w.analysis_names[a] = st.analysis_names[a];
            t->w.analysis_ns[a] += st.analysis_ns[a];
            t->w.result_ns[a] += st.result_ns[a];
            t->w.analysis_errors[a] += st.analysis_errors[a];
            t->w.analysis_disabled[a] |= st.analysis_disabled[a];
        }
    }
}

/* The q-quantile of the close delays, in ms: the upper bound of the bucket
 * that holds it (so an over-estimate by at most 2x). */
static double delay_quantile_ms(const hf_worker_stats *st, double q)
{
    uint64_t n = 0, seen = 0;
    for (int i = 0; i < HF_DELAY_BUCKETS; i++) n += st->close_delay[i];
    if (n == 0) return 0;
    for (int i = 0; i < HF_DELAY_BUCKETS; i++) {
        seen += st->close_delay[i];
        if ((double)seen >= q * (double)n) return (double)(1ULL << i) / 1000.0;
    }
    return (double)(1ULL << (HF_DELAY_BUCKETS - 1)) / 1000.0;
}

static double elapsed_s(const hf_pipeline *p)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - p->started.tv_sec) + (double)(now.tv_nsec - p->started.tv_nsec) / 1e9;
}

static uint64_t rejected_total(const hf_pipeline *p)
{
    uint64_t n = 0;
    for (int r = 1; r < NREASONS; r++) n += p->rejected[r];
    return n;
}

void hf_pipeline_report(hf_pipeline *p, FILE *f)
{
    totals t;
    sum_workers(p, &t);
    double secs = elapsed_s(p);
    hf_buf b;
    hf_buf_init(&b, 4096);
    char line[512];
#define OUT(...) (snprintf(line, sizeof line, __VA_ARGS__), hf_buf_puts(&b, line))
    OUT("hostflow counters after %.1f s (%d worker%s)\n", secs, p->nworkers, p->nworkers > 1 ? "s" : "");
    OUT("  input      %llu records, %llu decoded, %llu rejected, %.0f records/s\n",
        (unsigned long long)p->records, (unsigned long long)p->decoded,
        (unsigned long long)rejected_total(p), secs > 0 ? (double)p->records / secs : 0.0);
    if (rejected_total(p)) {
        OUT("  rejected  ");
        for (int r = 1; r < NREASONS; r++)
            if (p->rejected[r]) OUT(" %s %llu", reason_name(r), (unsigned long long)p->rejected[r]);
        OUT("\n");
    }
    OUT("  filter     %llu monitored, %llu not monitored, %llu late",
        (unsigned long long)p->accepted, (unsigned long long)p->filtered,
        (unsigned long long)p->late);
    if (p->replayed) OUT(", %llu read again after a restart", (unsigned long long)p->replayed);
    OUT("\n");
    if (p->report_ext) p->report_ext(p->report_ctx, &b);
    OUT("  windows   ");
    for (int l = 0; l < t.w.nlevels; l++) {
        if (!t.w.gran_ms[l]) continue;
        double per = t.windows_max[l] ? (double)t.w.hosts[l] / (double)t.windows_max[l] : 0;
        OUT(" %llds: %llu closed, %.1f hosts/window;", (long long)(t.w.gran_ms[l] / 1000),
            (unsigned long long)t.windows_max[l], per);
    }
    OUT("\n");
    OUT("  memory     %.1f MiB now, %.1f MiB peak, limit %.0f MiB; %llu host rows refused (memory)\n",
        (double)t.w.mem_bytes / 1048576.0, (double)t.w.mem_peak / 1048576.0,
        (double)p->cfg->memory_max / 1048576.0, (unsigned long long)t.w.hosts_refused);
    OUT("  analyses   ms in update() + result():");
    for (int a = 0; a < t.w.nanalyses; a++) {
        OUT(" %s %.0f+%.0f", t.w.analysis_names[a], t.w.analysis_ns[a] / 1e6,
            t.w.result_ns[a] / 1e6);
        if (t.w.analysis_errors[a] > 0) OUT(" (%.0f errors)", t.w.analysis_errors[a]);
        if (t.w.analysis_disabled[a]) OUT(" (disabled)");
        OUT(a + 1 < t.w.nanalyses ? "," : "");
    }
    OUT("\n");
    OUT("  output     %llu records; window close to records written: p50 < %.3g ms, p99 < %.3g ms\n",
        (unsigned long long)t.w.records, delay_quantile_ms(&t.w, 0.5), delay_quantile_ms(&t.w, 0.99));
#undef OUT
    fwrite(b.data, 1, b.len, f);
    fflush(f);
    hf_buf_release(&b);
}

int hf_pipeline_write_stats(hf_pipeline *p, const char *path)
{
    totals t;
    sum_workers(p, &t);
    hf_buf b;
    hf_buf_init(&b, 4096);
    hf_buf_puts(&b, "{\"records_read\":");
    hf_buf_put_int(&b, (int64_t)p->records);
    hf_buf_puts(&b, ",\"decoded\":");
    hf_buf_put_int(&b, (int64_t)p->decoded);
    hf_buf_puts(&b, ",\"rejected\":{");
    int first = 1;
    for (int r = 1; r < NREASONS; r++) {
        if (!first) hf_buf_putc(&b, ',');
        first = 0;
        hf_buf_put_string(&b, reason_name(r), strlen(reason_name(r)));
        hf_buf_putc(&b, ':');
        hf_buf_put_int(&b, (int64_t)p->rejected[r]);
    }
    hf_buf_puts(&b, "},\"rejected_total\":");
    hf_buf_put_int(&b, (int64_t)rejected_total(p));
    hf_buf_puts(&b, ",\"monitored\":");
    hf_buf_put_int(&b, (int64_t)p->accepted);
    hf_buf_puts(&b, ",\"filtered\":");
    hf_buf_put_int(&b, (int64_t)p->filtered);
    hf_buf_puts(&b, ",\"late\":");
    hf_buf_put_int(&b, (int64_t)p->late);
    hf_buf_puts(&b, ",\"replayed\":");
    hf_buf_put_int(&b, (int64_t)p->replayed);
    hf_buf_puts(&b, ",\"flows_analysed\":");
    hf_buf_put_int(&b, (int64_t)t.w.flows);
    hf_buf_puts(&b, ",\"hosts_refused_memory\":");
    hf_buf_put_int(&b, (int64_t)t.w.hosts_refused);
    hf_buf_puts(&b, ",\"records\":");
    hf_buf_put_int(&b, (int64_t)t.w.records);
    hf_buf_puts(&b, ",\"memory_peak_bytes\":");
    hf_buf_put_int(&b, (int64_t)t.w.mem_peak);
    hf_buf_puts(&b, ",\"close_delay_ms\":{\"p50\":");
    hf_buf_put_number(&b, delay_quantile_ms(&t.w, 0.5));
    hf_buf_puts(&b, ",\"p99\":");
    hf_buf_put_number(&b, delay_quantile_ms(&t.w, 0.99));
    hf_buf_puts(&b, "}");
    hf_buf_puts(&b, ",\"workers\":");
    hf_buf_put_int(&b, p->nworkers);
    hf_buf_puts(&b, ",\"windows\":{");
    first = 1;
    for (int l = 0; l < t.w.nlevels; l++) {
        if (!t.w.gran_ms[l]) continue;
        if (!first) hf_buf_putc(&b, ',');
        first = 0;
        hf_buf_putc(&b, '"');
        hf_buf_put_int(&b, t.w.gran_ms[l] / 1000);
        hf_buf_puts(&b, "\":{\"records\":");
        hf_buf_put_int(&b, (int64_t)t.w.hosts[l]);
        hf_buf_puts(&b, ",\"windows\":");
        hf_buf_put_int(&b, (int64_t)t.windows_max[l]);
        hf_buf_putc(&b, '}');
    }
    hf_buf_puts(&b, "},\"analyses\":{");
    for (int a = 0; a < t.w.nanalyses; a++) {
        if (a) hf_buf_putc(&b, ',');
        hf_buf_put_string(&b, t.w.analysis_names[a], strlen(t.w.analysis_names[a]));
        hf_buf_puts(&b, ":{\"update_ms\":");
        hf_buf_put_number(&b, t.w.analysis_ns[a] / 1e6);
        hf_buf_puts(&b, ",\"result_ms\":");
        hf_buf_put_number(&b, t.w.result_ns[a] / 1e6);
        hf_buf_puts(&b, ",\"errors\":");
        hf_buf_put_number(&b, t.w.analysis_errors[a]);
        hf_buf_puts(&b, t.w.analysis_disabled[a] ? ",\"disabled\":true" : ",\"disabled\":false");
        hf_buf_putc(&b, '}');
    }
    hf_buf_puts(&b, "},\"seconds\":");
    hf_buf_put_number(&b, elapsed_s(p));
    hf_buf_puts(&b, "}\n");
    FILE *f = fopen(path, "w");
    int rc = -1;
    if (f) {
        rc = fwrite(b.data, 1, b.len, f) == b.len ? 0 : -1;
        if (fclose(f) != 0) rc = -1;
    }
    hf_buf_release(&b);
    return rc;
}

void hf_pipeline_set_report(hf_pipeline *p, void (*fn)(void *ctx, hf_buf *out), void *ctx)
{
    p->report_ext = fn;
    p->report_ctx = ctx;
}

void hf_pipeline_reload(hf_pipeline *p)
{
    hf_reload_request(p->reload, 1);
}

void hf_pipeline_free(hf_pipeline *p)
{
    if (!p) return;
    if (!p->finished) hf_pipeline_finish(p);
    hf_reload_free(p->reload);
    hf_decoders_free(p->dec);
    for (int i = 0; i < p->nworkers && p->workers; i++) {
        if (p->pending && p->pending[i]) {
            hf_free(p->pending[i]->flows);
            hf_free(p->pending[i]);
        }
        hf_worker_free(p->workers[i]);
    }
    hf_free(p->workers);
    hf_free(p->pending);
    hf_sink_close(p->sink);
    hf_prefixes_free(p->nets);
    for (int i = 0; i < p->nparts; i++) hf_free(p->parts[i].topic);
    hf_free(p->parts);
    hf_free(p);
}
