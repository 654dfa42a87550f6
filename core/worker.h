/* worker.h -- one parallel copy of the pipeline's back half: a thread with
 * its own LuaJIT state, its own windows and memory pool, owning the hosts
 * whose address hashes to it.
 *
 * The reader hands a worker batches of flows.  The worker finds each flow's
 * base window and host row, runs every analysis over the batch (one Lua call
 * per base window touched), and then closes the windows the batch's
 * boundary allows: each closing window's hosts are turned into records
 * (the analyses' results unioned under "stats") and written to the sink. */
#ifndef HF_WORKER_H
#define HF_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "flow.h"
#include "sink.h"
#include "window.h"

#define HF_DELAY_BUCKETS 32

/* A batch of flows for one worker, and how far windows may close after it. */
typedef struct hf_batch {
    int       n;
    int       final;      /* end of input: close every window */
    int64_t   boundary;   /* close windows ending at or before this (ms) */
    double    boundary_ns;/* when the reader moved the boundary (monotonic ns), 0: it did not */
    hf_flow  *flows;      /* capacity: the configured batch size */
    struct hf_batch *next;
} hf_batch;

/* One analysis's results for the hosts of a closing window, as JSON text. */
typedef struct hf_fragments {
    hf_buf    buf;
    uint32_t *off;        /* per host: where its value starts in buf */
    uint32_t *len;        /* per host: its length; 0 when there is none */
    uint32_t  cap;
} hf_fragments;

/* What the Lua side of a worker reads and writes (mirrored in
 * lua/hostflow/base.lua). */
typedef struct hf_job {
    const hf_flow *flows;      /* process: flows of one base window */
    uint8_t      **rows;       /* process: their host rows */
    int            n;
    hf_window     *window;     /* emit: the closing window */
    hf_fragments  *frags;      /* emit: one per analysis */
    double        *analysis_ns;     /* per analysis: time in update() */
    double        *result_ns;       /* per analysis: time in result() and encoding */
    double        *analysis_errors; /* per analysis: errors raised */
    int            worker;
} hf_job;

typedef struct hf_worker hf_worker;

/* Per-worker counters, read by the counters report. */
typedef struct hf_worker_stats {
    int64_t  closed_until;     /* windows ending at or before this are emitted */
    uint64_t flows;            /* flows given to the analyses */
    uint64_t hosts_refused;    /* flows dropped: new host over the memory limit */
    uint64_t records;
    uint64_t windows[HF_MAX_WINDOWS + 1];  /* per level: windows emitted */
    uint64_t hosts[HF_MAX_WINDOWS + 1];    /* per level: host records emitted */
    int64_t  gran_ms[HF_MAX_WINDOWS + 1];  /* per level: granularity, 0 if not emitted */
    int      nlevels;
    size_t   mem_bytes, mem_peak;
    /* delay from the watermark closing windows to their records written:
     * counts per power-of-two bucket of microseconds (bucket i: < 2^i us) */
    uint64_t close_delay[HF_DELAY_BUCKETS];
    int      nanalyses;
    const char *analysis_names[HF_MAX_ANALYSES];
    double   analysis_ns[HF_MAX_ANALYSES];
    double   result_ns[HF_MAX_ANALYSES];
    double   analysis_errors[HF_MAX_ANALYSES];
} hf_worker_stats;

/* Create worker id: loads the analyses into a new Lua state.  Returns NULL
 * with a message in err when an analysis cannot be loaded. */
hf_worker *hf_worker_new(int id, const hf_config *cfg, const char *lua_dir,
                         hf_sink *sink, size_t mem_limit, char *err, size_t errlen);
/* Run a batch in the calling thread. */
void hf_worker_process(hf_worker *w, hf_batch *b);
/* Threads: start, hand over a batch (blocks while the queue is full), wait
 * for the final batch to be done. */
int hf_worker_start(hf_worker *w);
void hf_worker_push(hf_worker *w, hf_batch *b);
void hf_worker_join(hf_worker *w);
/* A batch to fill, recycled from this worker's finished ones. */
hf_batch *hf_worker_batch(hf_worker *w);
void hf_worker_stats_get(hf_worker *w, hf_worker_stats *st);
void hf_worker_free(hf_worker *w);

#endif
