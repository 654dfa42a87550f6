/* progress.h -- `hostflow run --progress`: how far a long run has got.
 *
 * On a terminal, one line at the foot of the screen, redrawn four times a
 * second (log lines scroll above it, base/log.h):
 *
 *   [##########..........]  48%  1.2 GiB/2.5 GiB  9,612,044 records  1,204,331/s  ETA 0:07
 *
 * Elsewhere (a log file, the journal), one line every interval:
 *
 *   hostflow: progress: 48% of 2.5 GiB, 9,612,044 records, 1,204,331 records/s, 0:08 elapsed, ETA 0:07
 *
 * The share and the ETA come from the bytes of the input read against its
 * size, which only a regular file has (gzip: the compressed bytes); from a
 * pipe or Kafka the line has the count, the rate and the time elapsed.
 * Rates are averages since the start. */
#ifndef HF_PROGRESS_H
#define HF_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

/* Where a run is. */
typedef struct hf_progress_now {
    uint64_t records;     /* input records read */
    uint64_t done;        /* bytes of the input read */
    uint64_t total;       /* its size in bytes; 0: not known */
    double   elapsed_s;   /* since the run began */
    int      finished;    /* the input is read to its end (or the run stopped) */
} hf_progress_now;

typedef struct hf_progress hf_progress;

/* A progress display on stderr: tty for the redrawn bar, else a line every
 * interval_ms (at least 100). */
hf_progress *hf_progress_new(int tty, int64_t interval_ms);
/* Show now when it is time to (cheap to call after every step of the
 * input: it reads the clock and returns). */
void hf_progress_update(hf_progress *p, const hf_progress_now *now);
/* The last line, whatever the time (a bar ends with a newline), then free. */
void hf_progress_end(hf_progress *p, const hf_progress_now *now);

/* The text of one line: the bar's form for a terminal `columns` wide, or
 * (columns 0) the log's form, without a newline.  Returns out. */
const char *hf_progress_format(char *out, size_t n, int columns, const hf_progress_now *now);

#endif
