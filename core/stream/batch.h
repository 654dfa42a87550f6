/* batch.h -- flows on their way from the pipeline to the engine, and the
 * engine as the pipeline sees it.
 *
 * The pipeline (stream/) decides, in input order, which flows count and how
 * far windows may close; the engine (engine/) owns the workers that run the
 * analyses.  Between them: batches of flows, one queue per shard, and this
 * small table of callbacks, so the pipeline includes nothing of the engine
 * and can be tested with a table of its own. */
#ifndef HF_BATCH_H
#define HF_BATCH_H

#include <stdint.h>

#include "stream/flow.h"
#include "stream/logs.h"

#define HF_BATCH_EVENTS 256   /* log events a batch holds */

/* A batch of flows (and of log events: logs.h) for one shard, and how far
 * windows may close after it.  The batch, its flows and its events are
 * hf_malloc'ed (by the engine's batch(); the events by the pipeline, when
 * it has some); whoever holds one at the end frees them. */
typedef struct hf_batch {
    int       n;
    int       final;          /* end of input: close every window */
    int       discard;        /* first drop every open window, unemitted (a revocation) */
    int64_t   boundary;       /* close windows ending at or before this (ms) */
    double    boundary_ns;    /* when the reader moved the boundary (monotonic ns), 0: it did not */
    hf_flow  *flows;          /* capacity: the configured batch size */
    /* the merge role: partial windows (stream/wire.h), each a 32-bit length
     * then its message; the buffer is hf_malloc'ed and grows */
    int       npartials;
    uint8_t  *partials;
    size_t    partials_len, partials_cap;
    hf_event *events;         /* log events (HF_BATCH_EVENTS), made by the pipeline when it has one */
    int       nevents;
    struct hf_batch *next;    /* the engine's queue */
    void     *control;        /* the engine's: a reload to apply before the flows (held) */
    int64_t   control_from;   /* ... to windows starting at or after this */
} hf_batch;

/* Make a batch (new, or one handed back) empty again for filling: its
 * buffers (flows, partials, events) are kept. */
static inline void hf_batch_clear(hf_batch *b)
{
    b->n = 0;
    b->nevents = 0;
    b->npartials = 0;
    b->partials_len = 0;
    b->final = 0;
    b->discard = 0;
    b->boundary = INT64_MIN;
    b->boundary_ns = 0;
    b->next = NULL;
    b->control = NULL;
    b->control_from = INT64_MIN;
}

/* The engine, seen from the pipeline. */
typedef struct hf_shards {
    int       n;                                            /* shards (workers) */
    void     *ctx;
    hf_batch *(*batch)(void *ctx, int shard);               /* an empty batch to fill */
    void      (*push)(void *ctx, int shard, hf_batch *b);   /* hand it over (may block) */
    int64_t   (*emitted_until)(void *ctx);                  /* every shard emitted windows ending by this */
    void      (*poll)(void *ctx, double max_end);           /* between records: reloads (may be NULL) */
    void      (*sync)(void *ctx);                           /* wait until every batch pushed is done
                                                               (NULL: push does it at once) */
    /* windows ending by this are emitted and whatever outlives them (the
     * profiles) is saved: input positions are committed up to there (may be
     * NULL: emitted_until) */
    int64_t   (*durable_until)(void *ctx);
} hf_shards;

#endif
