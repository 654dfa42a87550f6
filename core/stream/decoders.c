/* decoders.c -- decode and filter on several threads, in input order (see
 * decoders.h).
 *
 * The chunks form a ring.  Three counters, under one lock, say where each
 * chunk is:
 *
 *     released ≤ picked ≤ submitted ≤ released + nslots
 *
 *   [released, submitted)  in flight: submitted, not yet given back
 *   [released, picked)     taken by a decoder (done[] says which finished)
 *   [picked, submitted)    waiting for a decoder
 *
 * A chunk is about 1 MiB of text (some two thousand flows), so the lock is
 * taken a few times per thousand lines, and the threads never touch a chunk
 * at the same time: the reader reads into it, one decoder splits and
 * decodes it, the reader reads it back.  The reader does not look at the
 * lines at all: it reads, finds the last newline, and moves on. */
#include "stream/decoders.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "stream/wire.h"

struct hf_decoders {
    const hf_prefixes *nets;
    hf_decode_ctx      ctx;
    double             future_ms;
    size_t             max_line;
    int                nslots;
    hf_chunk          *slots;
    uint8_t           *done;      /* per slot: decoded */
    uint64_t           released, picked, submitted;
    int                stop;
    pthread_mutex_t    lock;
    pthread_mutex_t    reading;   /* held by the decoder that reads its chunk (taken under lock) */
    pthread_cond_t     work;      /* a chunk was submitted, or stop */
    pthread_cond_t     finished;  /* a chunk was decoded */
    int                nthreads;
    pthread_t         *threads;
};

/* A decoded flow's status: refused as from the future, not monitored (neither
 * end), or kept, marked for its source's row or its destination's (mark). */
static inline unsigned check_flow(hf_flow *f, const hf_prefixes *nets, double future_ms)
{
    if (f->end_ms > future_ms) return HF_LINE_FUTURE;
    int src = hf_prefixes_match(nets, f->src), dst = hf_prefixes_match(nets, f->dst);
    if (!src && !dst) return HF_LINE_FILTERED;
    f->mark = (uint8_t)((dst ? HF_FLOW_DST : 0) | (src ? 0 : HF_FLOW_NO_SRC | HF_FLOW_SRC_OUT));
    return HF_LINE_FLOW;
}

unsigned hf_line_classify(const hf_decode_ctx *ctx, const char *line, size_t len,
                          const hf_prefixes *nets, double future_ms, hf_flow f[2])
{
    unsigned notes = 0;
    if (hf_wire_kind(line, len) == HF_WIRE_FLOW) {       /* a relay's copy: its mark says for whom */
        /* one that does not read whole is counted as malformed, whatever
         * part failed: a line of garbage may start with the flow's tag, and
         * "bad_address" would send its reader looking for an address */
        if (hf_wire_flow_decode(line, len, &f[0]) != HF_DECODE_OK) return HF_DECODE_MALFORMED;
        if (f[0].end_ms > future_ms) return HF_LINE_FUTURE;
        return (f[0].mark & HF_FLOW_NO_SRC) && !(f[0].mark & HF_FLOW_DST) ? HF_LINE_FILTERED : HF_LINE_FLOW;
    }
    int rc = hf_decode_record(ctx, line, len, f, &notes);
    if (rc != HF_DECODE_OK) return (unsigned)rc;
    unsigned st = check_flow(&f[0], nets, future_ms);
    if (notes & HF_DECODE_CLAMPED) st |= HF_LINE_CLAMPED;
    if (notes & HF_DECODE_TWO) {                       /* a biflow: its reverse direction */
        unsigned s2 = check_flow(&f[1], nets, future_ms);
        if (HF_LINE_FIRST(st) != HF_LINE_FLOW && s2 == HF_LINE_FLOW) f[0] = f[1];   /* kept first */
        if (notes & HF_DECODE_CLAMPED2) s2 |= HF_LINE_CLAMPED;
        st |= (HF_LINE_SECOND | s2) << 8;
    }
    return st;
}

void hf_chunk_set_lineno(hf_chunk *c, const uint64_t *lineno, uint32_t n)
{
    if (n > c->lineno_cap) {
        c->lineno_cap = n;
        c->lineno = hf_realloc(c->lineno, (size_t)n * sizeof *c->lineno);
    }
    if (n) memcpy(c->lineno, lineno, (size_t)n * sizeof *lineno);
    c->nlineno = n;
}

/* ------------------------------------------------------------------------
 * Chunks
 * --------------------------------------------------------------------- */

static void chunk_init(hf_chunk *c, size_t cap)
{
    memset(c, 0, sizeof *c);
    c->cap = cap;
    c->bytes = hf_malloc(cap);
}

static void chunk_release(hf_chunk *c)
{
    hf_free(c->bytes);
    hf_free(c->off);
    hf_free(c->status);
    hf_free(c->flows);
    hf_free(c->lineno);
    hf_free(c->part);
    hf_free(c->offset);
}

/* Room for line n (and the end offset after it). */
static void grow_lines(hf_chunk *c, uint32_t n)
{
    if (n + 2 <= c->lines_cap) return;
    uint32_t cap = c->lines_cap ? c->lines_cap * 2 : 4096;
    while (cap < n + 2) cap *= 2;
    c->off = hf_realloc(c->off, (size_t)cap * sizeof *c->off);
    c->status = hf_realloc(c->status, (size_t)cap * sizeof *c->status);
    c->lines_cap = cap;
}

int hf_chunk_add_record(hf_chunk *c, int part, int64_t offset, const char *rec, size_t len)
{
    if (len >= c->cap - c->len || len > UINT32_MAX / 2) return -1;   /* with its newline */
    uint32_t n = c->nrec;
    grow_lines(c, n);
    if (n + 1 > c->rec_cap) {
        c->rec_cap = c->rec_cap ? c->rec_cap * 2 : 1024;
        c->part = hf_realloc(c->part, (size_t)c->rec_cap * sizeof *c->part);
        c->offset = hf_realloc(c->offset, (size_t)c->rec_cap * sizeof *c->offset);
    }
    c->off[n] = (uint32_t)c->len;
    if (len) memcpy(c->bytes + c->len, rec, len);
    c->len += len;
    c->bytes[c->len++] = '\n';
    c->off[n + 1] = (uint32_t)c->len;
    c->part[n] = (int32_t)part;
    c->offset[n] = offset;
    c->nrec = n + 1;
    return 0;
}

/* Records given by the reader: decode each as it is (its boundaries in
 * off[], a newline after each). */
static void records_decode(const hf_decoders *d, hf_chunk *c)
{
    uint32_t nflows = 0;
    for (uint32_t i = 0; i < c->nrec; i++) {
        if (nflows + 2 > c->flows_cap) {
            c->flows_cap = c->flows_cap ? c->flows_cap * 2 : 2048;
            c->flows = hf_realloc(c->flows, (size_t)c->flows_cap * sizeof *c->flows);
        }
        size_t len = c->off[i + 1] - c->off[i] - 1;
        unsigned st = hf_line_classify(&d->ctx, c->bytes + c->off[i], len, d->nets, d->future_ms,
                                       &c->flows[nflows]);
        c->status[i] = (uint16_t)st;
        nflows += (uint32_t)hf_line_flows(st);
    }
    c->n = c->nrec;
}

/* Split at newlines and decode each line; the flows go one after another. */
static void chunk_decode(const hf_decoders *d, hf_chunk *c)
{
    uint32_t n = 0, nflows = 0;
    if (c->nrec) {
        records_decode(d, c);
        return;
    }
    if (c->too_long) {
        grow_lines(c, 0);
        c->off[0] = c->off[1] = 0;
        c->status[0] = HF_LINE_TOO_LONG;
        c->n = 1;
        return;
    }
    const char *p = c->bytes, *end = c->bytes + c->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        grow_lines(c, n);
        c->off[n] = (uint32_t)(p - c->bytes);
        if (len > d->max_line) {
            c->status[n] = HF_LINE_TOO_LONG;
        } else {
            if (nflows + 2 > c->flows_cap) {
                c->flows_cap = c->flows_cap ? c->flows_cap * 2 : 2048;
                c->flows = hf_realloc(c->flows, (size_t)c->flows_cap * sizeof *c->flows);
            }
            unsigned st = hf_line_classify(&d->ctx, p, len, d->nets, d->future_ms, &c->flows[nflows]);
            c->status[n] = (uint16_t)st;
            nflows += (uint32_t)hf_line_flows(st);
        }
        n++;
        p = nl ? nl + 1 : end;
    }
    grow_lines(c, n);
    c->off[n] = (uint32_t)c->len;
    c->n = n;
}

/* ------------------------------------------------------------------------
 * Threads
 * --------------------------------------------------------------------- */

static void *decoder_main(void *arg)
{
    hf_decoders *d = arg;
    pthread_mutex_lock(&d->lock);
    for (;;) {
        while (d->picked == d->submitted && !d->stop) pthread_cond_wait(&d->work, &d->lock);
        if (d->picked == d->submitted) break;                 /* stop, and nothing left */
        int slot = (int)(d->picked++ % (uint64_t)d->nslots);
        hf_chunk *c = &d->slots[slot];
        if (c->read) {                  /* read it first, in turn: the turn is taken before */
            pthread_mutex_lock(&d->reading);   /* the next decoder can pick */
            pthread_mutex_unlock(&d->lock);
            c->got = c->read(c->read_ctx, c->bytes, c->cap);
            pthread_mutex_unlock(&d->reading);
            c->len = c->got > 0 ? (size_t)c->got : 0;
            c->too_long = c->got == HF_CHUNK_TOO_LONG;
        } else {
            pthread_mutex_unlock(&d->lock);
        }
        chunk_decode(d, c);
        pthread_mutex_lock(&d->lock);
        d->done[slot] = 1;
        pthread_cond_signal(&d->finished);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

hf_decoders *hf_decoders_new(int threads, const hf_prefixes *nets, const hf_decode_ctx *ctx,
                             double future_ms, size_t max_line)
{
    if (threads < 1) threads = 1;
    hf_decoders *d = hf_calloc(1, sizeof *d);
    d->nets = nets;
    d->ctx = *ctx;
    d->future_ms = future_ms;
    d->max_line = max_line;
    size_t cap = max_line < HF_CHUNK_BYTES ? HF_CHUNK_BYTES : max_line + 1;
    d->nslots = 4 * threads;   /* each thread busy, and more waiting, read or to take back */
    d->slots = hf_calloc((size_t)d->nslots, sizeof *d->slots);
    d->done = hf_calloc((size_t)d->nslots, 1);
    for (int i = 0; i < d->nslots; i++) chunk_init(&d->slots[i], cap);
    pthread_mutex_init(&d->lock, NULL);
    pthread_mutex_init(&d->reading, NULL);
    pthread_cond_init(&d->work, NULL);
    pthread_cond_init(&d->finished, NULL);
    d->threads = hf_calloc((size_t)threads, sizeof *d->threads);
    for (int i = 0; i < threads; i++) {
        int rc = pthread_create(&d->threads[i], NULL, decoder_main, d);
        if (rc != 0) {
            hf_decoders_free(d);
            errno = rc;
            return NULL;
        }
        d->nthreads++;
    }
    return d;
}

/* ------------------------------------------------------------------------
 * The reader's side
 * --------------------------------------------------------------------- */

hf_chunk *hf_decoders_fill(hf_decoders *d)
{
    pthread_mutex_lock(&d->lock);
    int full = d->submitted - d->released == (uint64_t)d->nslots;
    int slot = (int)(d->submitted % (uint64_t)d->nslots);
    pthread_mutex_unlock(&d->lock);
    if (full) return NULL;
    hf_chunk *c = &d->slots[slot];
    c->name = NULL;
    c->len = 0;
    c->too_long = 0;
    c->nlineno = 0;
    c->nrec = 0;
    c->n = 0;
    c->read = NULL;
    c->read_ctx = NULL;
    c->got = 0;
    return c;
}

void hf_decoders_submit(hf_decoders *d, hf_chunk *c)
{
    pthread_mutex_lock(&d->lock);
    int slot = (int)(c - d->slots);
    d->done[slot] = 0;
    d->submitted++;
    pthread_cond_signal(&d->work);
    pthread_mutex_unlock(&d->lock);
}

void hf_decoders_submit_read(hf_decoders *d, hf_chunk *c, long (*read)(void *ctx, char *dst, size_t cap),
                             void *ctx)
{
    c->read = read;
    c->read_ctx = ctx;
    hf_decoders_submit(d, c);
}

hf_chunk *hf_decoders_take(hf_decoders *d, int wait)
{
    hf_chunk *c = NULL;
    pthread_mutex_lock(&d->lock);
    if (d->released < d->submitted) {
        int slot = (int)(d->released % (uint64_t)d->nslots);
        while (!d->done[slot] && wait) pthread_cond_wait(&d->finished, &d->lock);
        if (d->done[slot]) c = &d->slots[slot];
    }
    pthread_mutex_unlock(&d->lock);
    return c;
}

void hf_decoders_release(hf_decoders *d, hf_chunk *c)
{
    pthread_mutex_lock(&d->lock);
    d->done[c - d->slots] = 0;
    d->released++;
    pthread_mutex_unlock(&d->lock);
}

int hf_decoders_in_flight(const hf_decoders *d)
{
    hf_decoders *m = (hf_decoders *)d;
    pthread_mutex_lock(&m->lock);
    int n = (int)(m->submitted - m->released);
    pthread_mutex_unlock(&m->lock);
    return n;
}

void hf_decoders_free(hf_decoders *d)
{
    if (!d) return;
    pthread_mutex_lock(&d->lock);
    d->stop = 1;
    pthread_cond_broadcast(&d->work);
    pthread_mutex_unlock(&d->lock);
    for (int i = 0; i < d->nthreads; i++) pthread_join(d->threads[i], NULL);
    for (int i = 0; i < d->nslots; i++) chunk_release(&d->slots[i]);
    pthread_mutex_destroy(&d->lock);
    pthread_mutex_destroy(&d->reading);
    pthread_cond_destroy(&d->work);
    pthread_cond_destroy(&d->finished);
    hf_free(d->slots);
    hf_free(d->done);
    hf_free(d->threads);
    hf_free(d);
}
