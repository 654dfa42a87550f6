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

/* Write ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (at least 25 bytes,
 * NUL-terminated); ms outside the range above is clamped into it.
 * Returns the length written (24). */
size_t hf_time_format_iso(int64_t ms, char *out);

/* Monotonic time in nanoseconds (CLOCK_MONOTONIC), as a double. */
double hf_now_ns(void);

#endif
