/* in_file.c -- the file input: flow records from a file (plain or gzip,
 * told apart by content) or standard input ("-"), via the record reader of
 * input.c (NDJSON, JSON arrays, pretty-printed records).
 *
 * One step of read() is a block: with decoder threads, one chunk of whole
 * lines read straight into the pipeline's chunk (about 1 MiB), decoded on
 * the threads and taken back in order; without, up to STEP_LINES lines fed
 * one by one.  Once the first chunk has shown a regular file of one record
 * a line, the decoder threads read the chunks themselves, in turn
 * (read_lines, hf_pipeline_submit_read), and a step only hands out an
 * empty chunk.  Before the reader waits on a pipe, everything read so far is
 * taken on (hf_input_on_wait), so a slow stream is not held back.  A file
 * has no positions to commit: a restart reads it again from the start. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "io/input.h"
#include "io/io.h"
#include "stream/pipeline.h"

#define STEP_LINES 4096

typedef struct in_file {
    hf_input         *in;
    hf_pipeline      *p;
    char             *name;      /* "stdin" or the path, for messages */
    const _Atomic int *stop;
    int               logs;      /* a log input (its lines are events) */
    int               on_decoders;  /* its chunks are read by the decoder threads */
    long              read_over;    /* theirs: HF_CHUNK_END or _ERROR once the input is over */
} in_file;

static void drain(void *ctx)
{
    hf_pipeline_drain(ctx);
}

static int logs_pull(void *ctx, double until_ms);

static void *file_open(const hf_config *cfg, const char *target, const hf_input_env *env,
                       char *err, size_t errlen)
{
    hf_input *in = hf_input_open(target, cfg->max_line, err, errlen);
    if (!in) return NULL;
    in_file *f = hf_calloc(1, sizeof *f);
    f->in = in;
    f->p = env->pipeline;
    f->stop = env->stop;
    f->name = hf_strdup(strcmp(target, "-") ? target : "stdin");
    f->logs = env->logs;
    if (f->logs) {                               /* log events, read when the pipeline needs them */
        hf_pipeline_logs_source(f->p, f->name, logs_pull, f);
        return f;
    }
    hf_pipeline_name(f->p, f->name);
    hf_input_on_stop(in, env->stop);
    if (hf_pipeline_threaded(f->p)) hf_input_on_wait(in, drain, f->p);
    return f;
}

static int read_error(in_file *f, uint64_t lineno)
{
    if (atomic_load(f->stop)) return HF_IN_END;         /* a read interrupted by the stop */
    if (lineno == 0)                                   /* before any record: the input as a whole */
        hf_log(HF_LOG_ERROR, "%s: %s", f->name, hf_input_error(f->in));
    else
        hf_log(HF_LOG_ERROR, "%s: read error after line %llu: %s", f->name, (unsigned long long)lineno,
               hf_input_error(f->in));
    return HF_IN_ERROR;
}

/* Read log events until one at until_ms or later has been read (at most
 * max lines), never waiting: nothing ready, the input is idle; at its end,
 * ended.  HF_IN_MORE, HF_IN_IDLE, HF_IN_END or HF_IN_ERROR. */
static int logs_until(in_file *f, double until_ms, int max)
{
    hf_pipeline_logs_state(f->p, HF_LOGS_READING);
    for (int i = 0; i < max; i++) {
        if (!hf_input_ready(f->in)) {
            hf_pipeline_logs_state(f->p, HF_LOGS_IDLE);
            return HF_IN_IDLE;
        }
        const char *line;
        size_t len;
        int r = hf_input_next(f->in, &line, &len);
        if (r == HF_INPUT_EOF) {
            hf_pipeline_logs_state(f->p, HF_LOGS_ENDED);
            return HF_IN_END;
        }
        if (r == HF_INPUT_ERROR) {
            hf_pipeline_logs_state(f->p, HF_LOGS_ENDED);
            return read_error(f, hf_input_lineno(f->in));
        }
        hf_pipeline_feed_event(f->p, -1, -1, hf_input_lineno(f->in), line, len, r == HF_INPUT_TOO_LONG);
        if (hf_pipeline_logs_end(f->p) >= until_ms) break;
    }
    return HF_IN_MORE;
}

/* The pipeline's pull: the events up to until_ms, before the windows that
 * hold them close. */
static int logs_pull(void *ctx, double until_ms)
{
    return logs_until(ctx, until_ms, 1 << 30);
}

/* A step of the run loop: the events up to a minute past the newest flow
 * (a stream: what it has now), STEP_LINES at most. */
static int logs_read(in_file *f)
{
    return logs_until(f, hf_offsets_max_end(hf_pipeline_offsets(f->p)) + 60000.0, STEP_LINES);
}

/* A chunk's whole lines, read on a decoder thread (hf_pipeline_submit_read:
 * one call at a time, in order); over is sticky, so the chunks submitted
 * after the end hold nothing. */
static long read_lines(void *arg, char *dst, size_t cap)
{
    in_file *f = arg;
    if (f->read_over) return f->read_over;
    long n = hf_input_lines(f->in, dst, cap);
    if (n > 0) return n;
    if (n == HF_INPUT_TOO_LONG) return HF_CHUNK_TOO_LONG;
    return f->read_over = n == 0 ? HF_CHUNK_END : HF_CHUNK_ERROR;
}

static int file_read(void *arg)
{
    in_file *f = arg;
    if (f->logs) return logs_read(f);
    if (f->on_decoders) {                          /* a block, read and decoded on threads */
        int st = hf_pipeline_read_state(f->p);
        if (st > 0) return HF_IN_END;
        if (st < 0) return read_error(f, hf_pipeline_stats(f->p)->records);
        hf_pipeline_submit_read(f->p, hf_pipeline_chunk(f->p), read_lines, f);
        return HF_IN_MORE;
    }
    if (hf_pipeline_threaded(f->p)) {              /* a block, decoded on threads */
        hf_chunk *c = hf_pipeline_chunk(f->p);
        long n = hf_input_lines(f->in, c->bytes, c->cap);
        if (n == 0) return HF_IN_END;
        if (n == HF_INPUT_ERROR) {
            hf_pipeline_drain(f->p);
            return read_error(f, hf_pipeline_stats(f->p)->records);
        }
        const uint64_t *lines;                       /* records over several lines: where each starts */
        size_t k = hf_input_block_lineno(f->in, &lines);
        hf_chunk_set_lineno(c, lines, (uint32_t)k);
        hf_pipeline_submit(f->p, c, n > 0 ? (size_t)n : 0, n == HF_INPUT_TOO_LONG);
        f->on_decoders = hf_input_lines_anywhere(f->in);   /* the next ones */
        return HF_IN_MORE;
    }
    for (int i = 0; i < STEP_LINES; i++) {         /* line by line, in this thread */
        const char *line;
        size_t len;
        int r = hf_input_next(f->in, &line, &len);
        if (r == HF_INPUT_EOF) return HF_IN_END;
        if (r == HF_INPUT_ERROR) return read_error(f, hf_input_lineno(f->in));
        hf_pipeline_feed(f->p, 0, -1, hf_input_lineno(f->in), line, len, r == HF_INPUT_TOO_LONG);
        if (atomic_load_explicit(f->stop, memory_order_relaxed)) break;
    }
    return HF_IN_MORE;
}

static void file_progress(void *arg, uint64_t *done, uint64_t *total)
{
    in_file *f = arg;
    hf_input_progress(f->in, done, total);
}

static void file_close(void *arg)
{
    in_file *f = arg;
    if (!f->logs) hf_pipeline_drain(f->p);         /* its warnings name f->name: take them first */
    else hf_pipeline_logs_source(f->p, f->name, NULL, NULL);   /* no more pulls */
    hf_input_close(f->in);
    hf_free(f->name);
    hf_free(f);
}

const hf_input_ops hf_in_file = {
    .scheme = "file",
    .usage = "FILE | -            NDJSON or JSON arrays of flows, plain or gzip (- is standard input)",
    .open = file_open,
    .read = file_read,
    .progress = file_progress,
    .close = file_close,
};
