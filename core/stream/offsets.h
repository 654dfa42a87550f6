/* offsets.h -- where each input partition stands: its event time, whether it
 * is idle, and which of its offsets are safe to commit.
 *
 * A partition is a run of input with its own order: a Kafka partition, or
 * the one file (partition 0).  Its watermark is its newest flow end; the
 * pipeline's is the lowest of the partitions that are not idle (at their
 * end for HF_IDLE_MS, confirmed there by the source when it can tell; or
 * no longer assigned), so one partition read ahead of another does not
 * make the other's flows late.  When data comes back after every partition
 * went idle, all of them get HF_IDLE_MS again to show theirs.
 *
 * At least once.  A flow accepted into windows is held until the last
 * window that holds it (the coarsest; its end is the flow's release time)
 * has been emitted and the outputs have acknowledged its records; only then
 * may its offset be committed.  Per partition, `holds` keep, per release
 * time, the lowest offset still held:
 *
 *     offsets  100 101 102 103 104 105      release  offset
 *     flows    a   b   c   d   e   f        5m:05    100   (a, b, d)
 *     release  :05 :05 :10 :05 :10 :10  -▶ 5m:10    102   (c, e, f)
 *
 * Once windows through 5m:05 are emitted (and acknowledged), the commit
 * point is 102; once 5m:10 too, the offset after the last read (106).  The
 * commit carries `released_until`, how far the partition's records are
 * complete: after a restart, a flow released at or before it is skipped
 * (counted as read again), so a window is never written twice with
 * different contents; the windows still open are rebuilt from the replay.
 *
 * No threads, no clock of its own (every call that needs the time takes it),
 * no I/O: a plain bookkeeping module, unit-tested on its own. */
#ifndef HF_OFFSETS_H
#define HF_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

#define HF_MAX_PARTITIONS 1024
#define HF_MAX_HOLDS      32
#define HF_IDLE_MS        10000.0  /* a partition at its end this long stops holding the watermark */
#define HF_CONFIRMED_MS   5000.0   /* ... while its source confirmed its end this recently */

typedef struct hf_offsets hf_offsets;

typedef struct hf_commit_point {
    const char *topic;
    int32_t     partition;
    int64_t     offset;          /* the next offset to read */
    int64_t     released_until;  /* records are complete for flows released by then */
} hf_commit_point;

/* Bookkeeping for windows of the given granularities (ms, ascending), with
 * partition 0 ("input", the file) registered. */
hf_offsets *hf_offsets_new(const int64_t *windows_ms, int nwindows);
void hf_offsets_free(hf_offsets *o);

/* When a flow ending at end_ms is in records at every granularity: the
 * latest end of the windows that hold it. */
int64_t hf_offsets_release_time(const hf_offsets *o, int64_t end_ms);

/* The index of a partition, registered on first use (starting idle: the
 * source marks it not at its end once it is assigned).  released_until
 * comes from the committed offset's metadata (INT64_MIN: none; a later,
 * higher one wins).  -1 when the table is full. */
int hf_offsets_partition(hf_offsets *o, const char *topic, int32_t id, int64_t released_until);
int hf_offsets_count(const hf_offsets *o);
/* The topic of partition part, and its id in *id. */
const char *hf_offsets_topic(const hf_offsets *o, int part, int32_t *id);
/* The offset after the last record read from a partition, or -1. */
int64_t hf_offsets_next(const hf_offsets *o, const char *topic, int32_t id);
/* A partition that follows the others (a log topic's): its offsets are
 * held and committed, but it never holds the watermark back. */
void hf_offsets_follow(hf_offsets *o, int part);
/* Mark a partition at its end (eof = 1, as of now_ms) or not (0). */
void hf_offsets_set_eof(hf_offsets *o, int part, int eof, double now_ms);
int hf_offsets_at_end(const hf_offsets *o, int part);
/* From now on a partition at its end stops holding the watermark only
 * while its source confirms that end (a Kafka broker's high watermark is
 * what was read): one whose newer messages are slow to come, or whose
 * broker cannot be asked (an outage), holds it back. */
void hf_offsets_confirm_ends(hf_offsets *o);
/* The source saw part's end is its last record read, at now_ms. */
void hf_offsets_end_confirmed(hf_offsets *o, int part, double now_ms);
/* Every partition at its end holds the watermark back for HF_IDLE_MS
 * again, from now_ms (the brokers are back after an outage: a partition's
 * fetcher may take longer to come back than another's). */
void hf_offsets_wait_ends(hf_offsets *o, double now_ms);

/* A record of part was read at offset (-1: a file line).  0, or 1 when its
 * flow (ending at end_ms) was in records already before a restart (skip
 * it).  end_ms < 0: not a flow (a rejected record): only the position moves. */
int hf_offsets_read(hf_offsets *o, int part, int64_t offset, double end_ms);
/* The flow just read at offset is in open windows: hold the offset until
 * its release. */
void hf_offsets_hold(hf_offsets *o, int part, int64_t offset, double end_ms);
/* A flow ending at end_ms was accepted from part, at now_ms: its newest
 * end moves; an idle partition wakes (the others get HF_IDLE_MS again when
 * all were idle).  Returns 1 when the pipeline's newest end moved. */
int hf_offsets_advance(hf_offsets *o, int part, double end_ms, double now_ms);
/* 1 when part is at its end (idle): hf_offsets_advance reads now_ms only
 * then, so a caller may read the clock only then (once a flow is a clock
 * read a flow: a few per cent of the pipeline). */
int hf_offsets_waking(const hf_offsets *o, int part);
/* The newest flow end over every partition (-INFINITY: none yet). */
double hf_offsets_max_end(const hf_offsets *o);
/* The newest flow end of partition part (-INFINITY: none yet). */
double hf_offsets_newest(const hf_offsets *o, int part);
/* Records of part from offset on are held aside by the pipeline (its flows
 * from the future): no commit point passes offset (-1: none held). */
void hf_offsets_pending(hf_offsets *o, int part, int64_t offset);

/* The watermark's source at now_ms: the lowest newest-end of the partitions
 * that are not idle (one that has given nothing yet holds everything back:
 * -INFINITY), or, when all are idle, the highest.  With the file alone,
 * its newest end. */
double hf_offsets_watermark(const hf_offsets *o, double now_ms);

/* Windows ending at or before `done` are emitted and acknowledged: drop
 * the holds released by then, and fill out (at most max) with each Kafka
 * partition's commit point.  Returns how many. */
int hf_offsets_commit_points(hf_offsets *o, int64_t done, hf_commit_point *out, int max);
/* Whether partition part is idle at now_ms (at its end for HF_IDLE_MS). */
int hf_offsets_idle(const hf_offsets *o, int part, double now_ms);
/* 1 when part is a Kafka partition assigned now (registered, and not reset since). */
int hf_offsets_assigned(const hf_offsets *o, int part);
/* How far part's records (or partials) are complete: its released_until. */
int64_t hf_offsets_released(const hf_offsets *o, int part);
/* No commit point of part passes offset (-1: none): a record there must be
 * read again after a restart (the merge role's progress marks, marks.h). */
void hf_offsets_pin(hf_offsets *o, int part, int64_t offset);
/* Every window is being flushed now (a stop): the release time
 * every flow read so far is complete at.  Afterwards a flow for those
 * windows counts as late, and hf_offsets_flushed() marks them complete. */
int64_t hf_offsets_flush_through(const hf_offsets *o, int64_t closed_until);
void hf_offsets_flushed(hf_offsets *o, int64_t through);
/* Every window was dropped unemitted (partitions revoked; the next owner
 * reads again from the last commit): forget what was read, held and seen
 * of every partition -- each idle until assigned again -- keeping only
 * released_until, how far the records are complete. */
void hf_offsets_reset(hf_offsets *o);

#endif
