/* marks.h -- the merge role's watermark: how far the partial instances have
 * produced each of their input partitions, as every partition of the
 * intermediate topic shows it.
 *
 * A partial instance writes, at each commit, a progress message to every
 * partition of the intermediate topic (stream/wire.h): for each input
 * partition it owns, `through`, the end of the last window whose partials
 * it has produced, in the same transaction as the commit.  One producer's
 * messages keep their order within a partition, so once intermediate
 * partition m has shown through >= W for input partition s, no partial of
 * s for a window ending by W can come on m after it.  A merge instance may
 * close the windows ending by W once every intermediate partition it reads
 * has shown through >= W for every partition of every input topic:
 *
 *                    input partitions (of the partial stage)
 *                    flows[0]   flows[1]   flows[2]   flows[3]
 *   partials[0]      14:05:00   14:05:00   14:04:50   14:05:00    14:04:50
 *   partials[2]      14:05:00   14:04:40   14:04:50   14:05:00    14:04:40
 *                                                     watermark:  14:04:40
 *
 * An input partition no mark has named yet holds everything back, as does
 * an input topic not all of whose partitions have been named.  Marks only
 * rise (the highest seen wins), so the new owner of an input partition
 * reporting less changes nothing.  HF_WIRE_END: that input partition has
 * ended (a partial instance run with --exit-at-end).
 *
 * After a restart a merge reads each partition again from its committed
 * offset, and the progress messages before it are not read again; so each
 * partition pins its commit point at the oldest of its sources' newest
 * marks (hf_marks_pin), and every source is heard of again at once.
 *
 * Partitions are the offsets' indexes (offsets.h); no threads, no I/O. */
#ifndef HF_MARKS_H
#define HF_MARKS_H

#include <stdint.h>

#include "stream/wire.h"

typedef struct hf_marks hf_marks;

hf_marks *hf_marks_new(void);
void hf_marks_free(hf_marks *m);

/* A progress message, read from partition part (>= 1) at offset. */
void hf_marks_read(hf_marks *m, int part, int64_t offset, const hf_wire_progress *p);
/* How far partition part has shown every input partition produced: the
 * lowest mark over them all; INT64_MIN while one has none (or no input
 * topic is known yet). */
int64_t hf_marks_through(const hf_marks *m, int part);
/* The offset of the oldest of part's newest marks, which a commit point of
 * part must not pass (-1: none). */
int64_t hf_marks_pin(const hf_marks *m, int part);
/* The input partition that holds part's mark lowest (NULL topic: none is
 * known, or one is missing: *partition is then the first missing one, -1
 * if no topic is known), for the counters. */
void hf_marks_slowest(const hf_marks *m, int part, const char **topic, int32_t *partition,
                      int64_t *through);
/* Every partition was handed over: forget every mark (the input topics
 * stay known). */
void hf_marks_forget(hf_marks *m);

#endif
