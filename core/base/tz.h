/* tz.h -- IANA time zones from the system's zoneinfo (TZif files), for
 * reading local times that carry no offset (nfdump prints its "first" and
 * "last" in the local time of the machine that ran it).
 *
 * A zone is loaded once, at start, into a table of transitions; after that
 * it is read-only, so any number of threads may convert with it at once
 * (the C library's localtime/mktime depend on the process-wide TZ and are
 * not used). */
#ifndef HF_TZ_H
#define HF_TZ_H

#include <stddef.h>
#include <stdint.h>

typedef struct hf_tz hf_tz;

/* Load the zone called name ("Europe/Prague") from $TZDIR or
 * /usr/share/zoneinfo.  "UTC" (and "Z", "Etc/UTC", "") need no file and
 * give NULL with *err empty: NULL means UTC wherever a zone is taken.
 * Returns NULL with a message in err when the name is not a zone name, the
 * file is missing (tzdata not installed) or not a valid TZif file. */
hf_tz *hf_tz_load(const char *name, char *err, size_t errlen);
void hf_tz_free(hf_tz *tz);
/* The name it was loaded as. */
const char *hf_tz_name(const hf_tz *tz);
/* The offset (local minus UTC, ms) in force at the instant t_ms. */
int64_t hf_tz_offset(const hf_tz *tz, int64_t t_ms);
/* The instant whose local time is local_ms (a wall-clock time counted as
 * ms since 1970-01-01T00:00 local).  A time that occurs twice (clocks set
 * back) is the first of the two; one that never occurs (clocks set forward)
 * is read with the offset in force before the change. */
int64_t hf_tz_to_utc(const hf_tz *tz, int64_t local_ms);
/* hf_time_parse_iso (timefmt.h), reading a time without an offset as local
 * time of tz (NULL: UTC); times with 'Z' or an offset keep theirs.  0, or
 * -1 when the text is not such a time or the instant lies outside
 * 1970..9999.  Safe on any thread. */
int hf_time_parse_iso_tz(const char *s, size_t len, const hf_tz *tz, int64_t *ms);

#endif
