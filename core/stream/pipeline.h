/* pipeline.h -- the front half of the data path: from records to batches.
 *
 *   record ─▶ decode ─▶ filter ─▶ replayed? late? ─▶ watermark ─▶ shard ─▶ batches
 *
 * Records arrive one at a time (hf_pipeline_feed: Kafka, or a file read by
 * one thread) or in chunks of whole lines decoded on threads
 * (hf_pipeline_chunk/submit).  The pipeline decodes each into a flow, keeps
 * it when its source lies in a monitored network, drops it as read again
 * (offsets.h) or late when its base window has already closed, advances the
 * watermark (the newest end over the partitions that are not idle, minus
 * the allowed lateness) and puts it in the batch of the shard that owns its
 * host.  A flow whose destination is monitored also goes to the shard that
 * owns the destination, marked for it (hf_flow.mark), for the analyses
 * keyed by the destination: when the source is not monitored, that is its
 * only use (counted as filtered, and as to_destination).  A flow far ahead
 * of its partition (future_slack) is held aside until the flows after it
 * show whether it is an outlier (rejected, future_time) or the stream has
 * jumped (pipeline.c, "Flows from the future"), so one bad clock cannot
 * make every later flow late.  Because late flows and the watermark are
 * decided here, in input order, the records do not depend on the number
 * of workers.
 *
 * The roles (conf/config.h) change the path: the relay keeps no windows
 * (every flow passes, nothing is late or held); the merge role reads
 * partial windows instead of flows (late when their window has closed,
 * held until their coarsest window is emitted).  Progress messages
 * (stream/wire.h), of the partial instances to the merge ones and of the
 * relays to the instances that read their flows, replace the flows' ends
 * as the source of the watermark (marks.h) once one has been read: with
 * flows re-keyed by a relay, a partition mixes flows of every input
 * partition, read at the relays' pace, and only the relays know how far
 * each input partition has come.  A relay's binary flow switches to them
 * too, before any progress is read: the watermark then waits for it. */
#ifndef HF_PIPELINE_H
#define HF_PIPELINE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"
#include "stream/batch.h"
#include "stream/decoders.h"
#include "stream/offsets.h"

typedef struct hf_pipeline hf_pipeline;

/* Why records were not turned into flows (the decoder's reasons, then
 * these): a message of the wrong kind for the role (stream/wire.h: a flow
 * to a merge instance, a partial window to one that reads flows), and a
 * partial whose window is not this merge instance's finest. */
enum { HF_REASON_TOO_LONG = HF_LINE_TOO_LONG, HF_REASON_FUTURE = HF_LINE_FUTURE,
       HF_REASON_WRONG_KIND, HF_REASON_BAD_WINDOW, HF_REASONS };

/* The pipeline's counters.  Written by the reading thread only, read by the
 * reporter at any time: relaxed atomics. */
/*   records = decoded + rejected (every reason) + skipped + progress
 *   decoded = accepted + filtered + late + replayed + held
 * (progress: the relays' and partial instances' progress messages; in the
 * merge role a partial window counts as a flow would: accepted, late or
 * replayed);
 * a flow rejected as future_time is not decoded (held_reject takes it back). */
typedef struct hf_stream_stats {
    _Atomic uint64_t records;            /* records read (a biflow record: one per direction) */
    _Atomic uint64_t decoded;            /* flows, whatever became of them (below) */
    _Atomic uint64_t rejected[HF_REASONS];
    _Atomic uint64_t filtered;           /* source not monitored */
    _Atomic uint64_t to_destination;     /* ... of them, handed to their monitored destination */
    _Atomic uint64_t late;
    _Atomic uint64_t accepted;
    _Atomic uint64_t replayed;           /* in records before a restart: skipped */
    /* the log input (logs.h) */
    _Atomic uint64_t log_records;        /* lines read */
    _Atomic uint64_t log_events;         /* events taken into windows */
    _Atomic uint64_t log_rejected[HF_LOG_REASONS];
    _Atomic uint64_t log_filtered;       /* host not monitored */
    _Atomic uint64_t log_late;
    _Atomic uint64_t log_replayed;
    _Atomic uint64_t skipped;            /* IPFIX options and template records: not flows,
                                            not rejected */
    _Atomic uint64_t clamped;            /* flows ending a little before their start
                                            (max_clock_skew): start set to end */
    _Atomic uint64_t progress;           /* the merge role: progress messages read */
    _Atomic int64_t  closed_until;       /* windows ending by this are closed (INT64_MIN: none) */
    _Atomic double   first_ns, last_ns;  /* when the first record was read, and the last (to
                                            1,024 records): CLOCK_MONOTONIC, 0 before any */
    _Atomic uint64_t held;               /* held aside now, ahead in time (future_slack): taken
                                            or rejected as future_time later */
} hf_stream_stats;

/* A pipeline over cfg's networks and windows, handing batches to shards.
 * decode_threads > 1: chunks of lines are decoded on that many threads.
 * NULL with a message in err. */
hf_pipeline *hf_pipeline_new(const hf_config *cfg, const hf_shards *shards, int decode_threads,
                             char *err, size_t errlen);

/* ------------------------------------------------------------------------
 * Records one at a time
 * --------------------------------------------------------------------- */

/* The partition's index in the offsets (offsets.h), registered on first use. */
hf_offsets *hf_pipeline_offsets(hf_pipeline *p);
/* Name the input for warnings ("flows.ndjson"): records of partition 0 are
 * named "name:line". */
void hf_pipeline_name(hf_pipeline *p, const char *name);
/* One record of partition part at offset (-1 and lineno for a file line;
 * too_long: a line the input skipped, no text).  Returns 0, or the reject
 * reason (> 0; hf_pipeline_reason_name) for a record that is not a flow. */
int hf_pipeline_feed(hf_pipeline *p, int part, int64_t offset, uint64_t lineno,
                     const char *rec, size_t len, int too_long);
/* Let the watermark move with no data (idle partitions); decide the flows
 * held aside for a partition at its end. */
void hf_pipeline_tick(hf_pipeline *p);
/* The marks the watermark comes from (NULL until a progress message is
 * read; the merge role's from the start), and whether every input
 * partition upstream has ended by them (every window can close). */
const struct hf_marks *hf_pipeline_marks(const hf_pipeline *p);
int hf_pipeline_complete(const hf_pipeline *p);
/* The watermark: windows ending at or before this are closed (any thread). */
int64_t hf_pipeline_closed_until(const hf_pipeline *p);
/* The input is live (Kafka): a flow ending more than future_slack after
 * the wall clock is rejected at once (future_time). */
void hf_pipeline_live(hf_pipeline *p);
const char *hf_pipeline_reason_name(int status);

/* ------------------------------------------------------------------------
 * Log events (logs.h): a second input, windowed like flows
 *
 * An event goes to the shard of its host, in the batch with the flows, and
 * lands in the same host row of the same window (engine/logs.h), made for
 * it when the host had no flow there.  It is late when its window has
 * closed.  The flows alone move the watermark -- the records of the flows
 * are the same with logs or without -- and before the watermark passes the
 * newest event read, the pipeline reads the log input on to that time
 * (pull): a file's events are all in before their windows close, however
 * the two inputs' read steps fall; a stream's, as far as it has lines then.
 * A log input from Kafka keeps its offsets in partitions of its own.
 * --------------------------------------------------------------------- */

enum { HF_LOGS_READING, HF_LOGS_IDLE, HF_LOGS_ENDED };

/* The fields of logs.format and logs.fields (0, or -1 with a message). */
int hf_pipeline_logs_setup(hf_pipeline *p, char *err, size_t errlen);
/* The log input called name (for warnings), and its reader: pull(ctx, t)
 * reads events until it has read one at t or later, or has nothing more
 * now; it says which with hf_pipeline_logs_state. */
void hf_pipeline_logs_source(hf_pipeline *p, const char *name, int (*pull)(void *ctx, double until_ms),
                             void *ctx);
/* The log input reads (HF_LOGS_READING), has nothing now (HF_LOGS_IDLE: no
 * pull until it says it reads again) or has ended (HF_LOGS_ENDED). */
void hf_pipeline_logs_state(hf_pipeline *p, int state);
/* The time of the newest event read (-inf: none; +inf: the input ended). */
double hf_pipeline_logs_end(const hf_pipeline *p);
/* One log line, of partition part at offset (a Kafka topic's), or of a
 * file (part -1, offset -1, its line number); too_long: a line the input
 * skipped.  Returns 0, or the reason (> 0: hf_log_reason_name) for a line
 * that is not an event. */
int hf_pipeline_feed_event(hf_pipeline *p, int part, int64_t offset, uint64_t lineno,
                           const char *rec, size_t len, int too_long);

/* ------------------------------------------------------------------------
 * Chunks decoded on threads: whole lines of a file (partition 0), or
 * records added one by one with their partitions and offsets
 * (hf_chunk_add_record: Kafka messages).  Each takes the path of a record
 * fed alone, in the order submitted, so the flows, counters and warnings
 * are the same; only the reject reason is not returned (an input with a
 * dead-letter topic feeds its records one at a time).
 * --------------------------------------------------------------------- */

/* 1 when chunks are to be decoded on threads (decode_threads > 1): the
 * threads start at the first call, which an input that reads whole lines
 * makes before it reads; 0 when it should feed records one at a time. */
int hf_pipeline_threaded(hf_pipeline *p);
/* The decoder threads running (0: records are decoded by the reader). */
int hf_pipeline_decoders(const hf_pipeline *p);
/* An empty chunk to read whole lines into (taking back decoded ones first
 * while every chunk is in flight). */
hf_chunk *hf_pipeline_chunk(hf_pipeline *p);
/* Hand a filled chunk (len bytes, or too_long: one line skipped; a chunk
 * of records: len c->len) over. */
void hf_pipeline_submit(hf_pipeline *p, hf_chunk *c, size_t len, int too_long);
/* Hand an empty chunk over to be filled by read(ctx, dst, cap) on a
 * decoder thread (see decoders.h: reads in the order submitted), which
 * returns the bytes of whole lines or HF_CHUNK_END, _ERROR, _TOO_LONG.
 * Once it has ended or failed it must keep returning that. */
void hf_pipeline_submit_read(hf_pipeline *p, hf_chunk *c, long (*read)(void *ctx, char *dst, size_t cap),
                             void *ctx);
/* What the chunks taken back so far say of their reads: 0 reading, 1 the
 * input ended, -1 it failed (the chunks before the end or the failure are
 * taken on; those after it hold nothing). */
int hf_pipeline_read_state(const hf_pipeline *p);
/* Take on every line submitted so far (before an input waits for more). */
void hf_pipeline_drain(hf_pipeline *p);

/* ------------------------------------------------------------------------
 * Closing
 * --------------------------------------------------------------------- */

/* Close every open window now (a stop when this instance has every flow)
 * and wait until the shards have emitted them.  Flows that arrive later
 * for those windows count as late.  The relay: hf_pipeline_sync. */
void hf_pipeline_flush(hf_pipeline *p);
/* Before a commit, in the roles that write as they go: the relay hands
 * its pending flows over (they are written as they are); the partial role
 * waits until the shards have done every batch handed over, so that no
 * worker writes while the caller commits its transaction and what is
 * emitted is what the commit covers.  Nothing in the other roles. */
void hf_pipeline_sync(hf_pipeline *p);
/* Partitions revoked (the input has committed what is in records): drop
 * every open window unemitted, in every shard, and every flow held or not
 * yet handed over, and start again from nothing (hf_offsets_reset) -- the
 * next owner of the partitions reads their flows again from the last
 * commit and rebuilds those windows whole, so no record is cut short by a
 * rebalance.  What is complete (released_until) is kept: a flow read again
 * for a window already in records is skipped, as after a restart.  The
 * relay drops the flows it has not written (its commit, which writes
 * them, comes first, or they are read again). */
void hf_pipeline_reset(hf_pipeline *p);
/* How far every shard has emitted windows (take it before flushing the
 * outputs), and the commit points once the outputs have acknowledged
 * everything emitted by then.  Returns how many. */
int64_t hf_pipeline_emitted(hf_pipeline *p);
int hf_pipeline_commit_points(hf_pipeline *p, int64_t emitted, hf_commit_point *out, int max);
/* End of input: the final batches (every window closes). */
void hf_pipeline_finish(hf_pipeline *p);
const hf_stream_stats *hf_pipeline_stats(const hf_pipeline *p);

/* When no flow had a monitored end: the most frequent source prefixes of
 * the flows read (IPv4 /16, IPv6 /32; the first 10000 such records), at
 * most top of them, as "198.51.0.0/16 (1200), ..." in out.  Returns how
 * many; 0 when a flow was monitored. */
int hf_pipeline_unmonitored(hf_pipeline *p, int top, char *out, size_t n);
void hf_pipeline_free(hf_pipeline *p);

#endif
