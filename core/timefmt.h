/* timefmt.h -- ISO 8601 timestamps <-> milliseconds since the epoch (UTC). */
#ifndef HF_TIMEFMT_H
#define HF_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* Parse "YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM|-HH:MM]" (a space may stand for
 * 'T'; no zone means UTC) into ms since the epoch.  Returns 0, or -1 when the
 * text is not such a timestamp or lies outside years 1970..9999. */
int hf_time_parse_iso(const char *s, size_t len, int64_t *ms);

/* Write ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (at least 25 bytes).
 * Returns the length written (24). */
size_t hf_time_format_iso(int64_t ms, char *out);

#endif
