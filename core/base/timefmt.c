/* timefmt.c -- ISO 8601 timestamps <-> milliseconds since the epoch (UTC).
 *
 * Flow records carry their times as ISO 8601 text (nfdump's "first"/"last",
 * IPFIXcol2's formatted timestamps) and host records are stamped with it, so
 * both directions are on the hot path and neither may depend on the C
 * library's time zone or locale.  Instead of timegm()/gmtime_r() the calendar
 * is done with integer arithmetic: a date maps to a day number through the
 * "days from civil" formula, which counts in 400-year eras of 146097 days
 * with years that start on March 1st, so that the leap day falls at the end
 * of the year and the month lengths follow a fixed (153 * m + 2) / 5 rule:
 *
 *     Mar Apr May Jun Jul Aug Sep Oct Nov Dec Jan Feb
 *      31  30  31  30  31  31  30  31  30  31  31  28/29
 *
 * The parser is strict about the shape (fixed-width fields, real calendar
 * dates) and liberal only where ISO 8601 / RFC 3339 are: 'T', 't' or ' '
 * between date and time, '.' or ',' before 1 to 9 digits of fraction (cut,
 * not rounded, to milliseconds), 'Z', 'z', +HH:MM, +HHMM or +HH as the zone,
 * and no zone at all meaning UTC (hf_time_parse_iso_tz in base/tz.h reads
 * it in a zone: nfdump writes local time without an offset).  A leap second (:60) is accepted and
 * counted as the first second of the next minute. */
#include "base/timefmt.h"

#include <string.h>
#include <time.h>

/* 9999-12-31T23:59:59.999Z, the last instant either direction handles. */
#define TIME_MAX_MS 253402300799999LL
#define MS_PER_DAY  86400000LL

/* ------------------------------------------------------------------------
 * Calendar arithmetic
 * --------------------------------------------------------------------- */

/* Days since 1970-01-01 of y-m-d; the year is counted from 400 BC so that it stays positive. */
static inline int64_t days_from_civil(unsigned y, unsigned m, unsigned d)
{
    y = y + 400 - (m <= 2);                        /* years start in March */
    unsigned era = y / 400, yoe = y % 400;         /* year of era, 0..399 */
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    /* 719468: 0000-03-01 .. 1970-01-01; 146097: the era added above */
    return (int64_t)era * 146097 + doe - 719468 - 146097;
}

void hf_time_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int64_t hf_time_days_from_civil(unsigned y, unsigned m, unsigned d)
{
    return days_from_civil(y, m, d);
}

static int is_leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
    static const unsigned char len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* ------------------------------------------------------------------------
 * Parsing
 * --------------------------------------------------------------------- */

/* The value of the two digits at s, or a number above 99 when they are not
 * both digits (without a branch: the parser checks every field's range). */
static inline unsigned two_digits(const char *s)
{
    unsigned a = (unsigned)((unsigned char)s[0] - '0'), b = (unsigned)((unsigned char)s[1] - '0');
    return a > 9 || b > 9 ? 1000 : a * 10 + b;
}

/* Parse a time zone designator filling s[0..len) exactly: "Z", "+HH:MM",
 * "+HHMM" or "+HH" (or '-').  Sets *offset_ms (local minus UTC); 0 or -1. */
static int parse_zone(const char *s, size_t len, int64_t *offset_ms)
{
    if (len == 1 && (s[0] == 'Z' || s[0] == 'z')) {
        *offset_ms = 0;
        return 0;
    }
    if (len < 3 || (s[0] != '+' && s[0] != '-')) return -1;
    unsigned hh = two_digits(s + 1), mm = 0;
    if (len == 6 && s[3] == ':') mm = two_digits(s + 4);
    else if (len == 5) mm = two_digits(s + 3);
    else if (len != 3) return -1;
    if (hh > 23 || mm > 59) return -1;
    int64_t off = ((int64_t)hh * 60 + mm) * 60000;
    *offset_ms = s[0] == '-' ? -off : off;
    return 0;
}

/* Fixed layout of the mandatory part:
 *     0123456789012345678
 *     YYYY-MM-DDTHH:MM:SS  (19 bytes), then fraction and zone. */
/* The date and hour of the last time this thread read, "YYYY-MM-DDTHH"
 * (checked then), and its ms since the epoch: a stream's times fall in the
 * same hour one after the other, and then the date's checks and its day
 * number are not made again.  Only a shortcut: the text is the same. */
#define HOUR_PREFIX 13

static _Thread_local struct {
    char    text[HOUR_PREFIX];
    int     valid;
    int64_t ms;
} last_hour;

static inline int parse_wall(const char *s, size_t len, int64_t *ms, int *zoned)
{
    if (len < 19) return -1;
    int64_t hour_ms;
    if (last_hour.valid && memcmp(s, last_hour.text, HOUR_PREFIX) == 0) {
        hour_ms = last_hour.ms;
    } else {
        if (s[4] != '-' || s[7] != '-') return -1;
        if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return -1;
        unsigned century = two_digits(s), yy = two_digits(s + 2), mon = two_digits(s + 5);
        unsigned day = two_digits(s + 8), hour = two_digits(s + 11);
        if (century > 99 || yy > 99 || mon < 1 || mon > 12 || day < 1) return -1;
        unsigned year = century * 100 + yy;
        if (day > 28 && day > days_in_month(year, mon)) return -1;
        if (hour > 23) return -1;
        hour_ms = days_from_civil(year, mon, day) * MS_PER_DAY + (int64_t)hour * 3600000;
        memcpy(last_hour.text, s, HOUR_PREFIX);
        last_hour.ms = hour_ms;
        last_hour.valid = 1;
    }
    if (s[13] != ':' || s[16] != ':') return -1;
    unsigned min = two_digits(s + 14), sec = two_digits(s + 17);
    if (min > 59 || sec > 60) return -1;

    size_t i = 19;
    int64_t frac_ms = 0;
    if (i < len && (s[i] == '.' || s[i] == ',')) {
        static const int weight[3] = {100, 10, 1};     /* ms of the first 3 digits */
        size_t first = ++i;
        while (i < len && (unsigned)((unsigned char)s[i] - '0') <= 9) i++;
        if (i == first || i - first > 9) return -1;
        for (size_t k = 0; k < 3 && first + k < i; k++)
            frac_ms += (s[first + k] - '0') * weight[k];
    }

    int64_t offset_ms = 0;
    if (i < len && parse_zone(s + i, len - i, &offset_ms) != 0) return -1;

    *zoned = i < len;
    *ms = hour_ms + ((int64_t)min * 60 + sec) * 1000 + frac_ms - offset_ms;
    return 0;
}

int hf_time_parse_iso(const char *s, size_t len, int64_t *ms)
{
    int zoned;
    if (parse_wall(s, len, ms, &zoned) != 0) return -1;
    return *ms < 0 || *ms > TIME_MAX_MS ? -1 : 0;
}

int hf_time_parse_iso_wall(const char *s, size_t len, int64_t *ms, int *zoned)
{
    return parse_wall(s, len, ms, zoned);
}

/* ------------------------------------------------------------------------
 * Formatting
 * --------------------------------------------------------------------- */

static char *put_digits(char *p, int64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

/* ms outside 1970-01-01 .. 9999-12-31T23:59:59.999 is clamped to that range,
 * so that the text is always 24 bytes. */
size_t hf_time_format_iso(int64_t ms, char *out)
{
    if (ms < 0) ms = 0;
    if (ms > TIME_MAX_MS) ms = TIME_MAX_MS;

    int64_t day = ms / MS_PER_DAY, in_day = ms % MS_PER_DAY;
    int64_t y;
    unsigned m, d;
    hf_time_civil_from_days(day, &y, &m, &d);

    char *p = out;
    p = put_digits(p, y, 4);            *p++ = '-';
    p = put_digits(p, m, 2);            *p++ = '-';
    p = put_digits(p, d, 2);            *p++ = 'T';
    p = put_digits(p, in_day / 3600000, 2);       *p++ = ':';
    p = put_digits(p, in_day / 60000 % 60, 2);    *p++ = ':';
    p = put_digits(p, in_day / 1000 % 60, 2);     *p++ = '.';
    p = put_digits(p, in_day % 1000, 3);          *p++ = 'Z';
    *p = '\0';
    return (size_t)(p - out);
}

double hf_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}
