/* pipeline.h -- the front half of the data path, and the whole run.
 *
 *   record ─▶ decode ─▶ filter ─▶ late? ─▶ watermark ─▶ shard ─▶ worker batches
 *
 * Records arrive one at a time from a source (a file, stdin, later Kafka).
 * The pipeline decodes each into a flow, keeps it when its source lies in a
 * monitored network, drops it as late when its base window has already
 * closed, advances the watermark (highest end time seen minus the allowed
 * lateness) and hands it to the worker that owns its host.  Because late
 * flows and the watermark are decided here, in input order, the records do
 * not depend on the number of workers. */
#ifndef HF_PIPELINE_H
#define HF_PIPELINE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/buf.h"
#include "conf/config.h"
#include "stream/decode.h"
#include "io/input.h"

typedef struct hf_pipeline hf_pipeline;

/* Start the workers (loading the analyses) and open the output.  NULL with
 * a message in err. */
hf_pipeline *hf_pipeline_new(const hf_config *cfg, const char *lua_dir, char *err, size_t errlen);
/* Feed every line of in (name says which input in warnings) until its end,
 * a read error (logged; returns 1) or *stop; returns 0 else.  With more
 * than one worker, lines are decoded and filtered on as many threads and
 * taken on in input order; before the input waits for more (a pipe), every
 * line read so far is taken on, so a slow stream is not held back. */
int hf_pipeline_read(hf_pipeline *p, hf_input *in, const char *name, atomic_int *stop);
/* ------------------------------------------------------------------------
 * Offsets (sources that can read again: Kafka)
 *
 * A flow accepted into windows is held until the last window that holds it
 * (the coarsest) has been emitted and the sink has acknowledged its records;
 * only then may its offset be committed.  hf_pipeline_commit_points() gives,
 * per partition, the offset to commit (the lowest offset still held, else
 * the one after the last read) and how far records are complete
 * (released_until), which the source stores with the offset.  After a
 * restart, flows released at or before that time are skipped (counted as
 * read again), so a window is never written twice with different
 * contents; the windows that were still open are rebuilt from the replay.
 * --------------------------------------------------------------------- */

/* The index of a partition, registered on first use; released_until comes
 * from the committed offset's metadata (INT64_MIN: none).  -1 when full. */
int hf_pipeline_partition(hf_pipeline *p, const char *topic, int32_t partition,
                          int64_t released_until);
/* The offset after the last record fed from a partition, or -1. */
int64_t hf_pipeline_next_offset(hf_pipeline *p, const char *topic, int32_t partition);
/* 1 when the partition is at its end (and so may go idle). */
int hf_pipeline_partition_at_end(hf_pipeline *p, int part);
/* A partition read to its end stops holding the watermark back after a
 * while (10 s); hf_pipeline_tick() lets the watermark move meanwhile. */
void hf_pipeline_tick(hf_pipeline *p);
void hf_pipeline_partition_eof(hf_pipeline *p, int part, int eof);
/* One record of a partition at offset.  Returns 0, or the reject reason
 * (> 0; hf_pipeline_reason_name) for a record that cannot be decoded. */
int hf_pipeline_feed_at(hf_pipeline *p, int part, int64_t offset,
                        const char *rec, size_t len);
const char *hf_pipeline_reason_name(int status);

typedef struct hf_commit_point {
    const char *topic;
    int32_t     partition;
    int64_t     offset;          /* the next offset to read */
    int64_t     released_until;  /* records are complete for flows released by then */
} hf_commit_point;

/* Wait (at most timeout_ms) for the sink to acknowledge what was written,
 * then fill out with the points that may be committed.  Returns how many,
 * or -1 when the sink has not acknowledged everything yet. */
int hf_pipeline_commit_points(hf_pipeline *p, int timeout_ms, hf_commit_point *out, int max);
/* Close every open window now (stop, partitions revoked) and wait until
 * the workers have emitted them.  Flows that arrive later for those windows
 * count as late. */
void hf_pipeline_flush(hf_pipeline *p);
/* An extra line for the counters report (the Kafka source's). */
void hf_pipeline_set_report(hf_pipeline *p, void (*fn)(void *ctx, hf_buf *out), void *ctx);

/* The pipeline's counters for outputs that show them: an hf_run_counters_fn
 * (io.h) with the pipeline as its ctx, for the run loop to hand every
 * output through its watch op.  Any thread; reads relaxed counters. */
struct hf_run_counters;
void hf_pipeline_run_counters(void *p, struct hf_run_counters *c);

/* Reload the analyses (SIGHUP; see reload.h).  Any thread. */
void hf_pipeline_reload(hf_pipeline *p);

/* End of input: flush every open window, wait for the workers, close the
 * output.  Returns 0, or -1 when records could not be written. */
int hf_pipeline_finish(hf_pipeline *p);
/* The counters, as a compact table (to stderr at exit and on SIGUSR1) or as
 * one JSON object (the --stats file). */
void hf_pipeline_report(hf_pipeline *p, FILE *f);
int hf_pipeline_write_stats(hf_pipeline *p, const char *path);
void hf_pipeline_free(hf_pipeline *p);

#endif
