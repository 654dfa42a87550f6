/* timefmt.h -- ISO 8601 timestamps <-> milliseconds since the epoch (UTC),
 * and the monotonic clock every part of hostflow reads. */
#ifndef HF_TIMEFMT_H
#define HF_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* Parse "YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM|-HH:MM]" (a space may stand for
 * 'T'; 1 to 9 fraction digits, cut to ms; +HHMM and +HH zones too; no zone
 * means UTC) into ms since the epoch.  s need not be NUL-terminated.  Returns
 * 0, or -1 when the text is not such a timestamp or the instant lies outside
 * 1970-01-01T00:00:00.000Z .. 9999-12-31T23:59:59.999Z. */
int hf_time_parse_iso(const char *s, size_t len, int64_t *ms);
/* The same without the range check: *ms is the instant when the text has a
 * zone (*zoned 1), else its wall-clock time counted as UTC (for
 * hf_time_parse_iso_tz, base/tz.h, to place in a zone).  0 or -1. */
int hf_time_parse_iso_wall(const char *s, size_t len, int64_t *ms, int *zoned);

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d (y 0..9999,
 * m 1..12, d 1..31), and the inverse. */
int64_t hf_time_days_from_civil(unsigned y, unsigned m, unsigned d);
void hf_time_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* Write ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (at least 25 bytes,
 * NUL-terminated); ms outside the range above is clamped into it.
 * Returns the length written (24). */
size_t hf_time_format_iso(int64_t ms, char *out);

/* Monotonic time in nanoseconds (CLOCK_MONOTONIC), as a double. */
double hf_now_ns(void);

#endif
