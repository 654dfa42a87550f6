/* test_timefmt.c -- ISO 8601 parsing and formatting (core/timefmt.c).
 *
 * Fixed cases for each accepted and rejected form, then the calendar checked
 * against the C library's timegm()/gmtime_r() (an oracle the module itself
 * must not use) for every day of 1970..9999 and for random instants. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/timefmt.h"
#include "unit.h"

/* Parse a NUL-terminated string; INT64_MIN when it is rejected. */
static int64_t parse(const char *s)
{
    int64_t ms = 0;
    return hf_time_parse_iso(s, strlen(s), &ms) == 0 ? ms : INT64_MIN;
}

#define REJECTED INT64_MIN

/* ------------------------------------------------------------------------
 * Parsing
 * --------------------------------------------------------------------- */

TEST(parse_basic_forms)
{
    CHECK_EQ_INT(parse("1970-01-01T00:00:00Z"), 0);
    CHECK_EQ_INT(parse("1970-01-01T00:00:00"), 0);
    CHECK_EQ_INT(parse("2023-04-11T12:34:56.789"), 1681216496789LL);
    CHECK_EQ_INT(parse("2023-04-11T12:34:56.789Z"), 1681216496789LL);
    CHECK_EQ_INT(parse("2023-04-11 12:34:56.789"), 1681216496789LL);
    CHECK_EQ_INT(parse("2023-04-11t12:34:56.789z"), 1681216496789LL);
    CHECK_EQ_INT(parse("2018-05-11T19:44:29.006Z"), 1526067869006LL);
    CHECK_EQ_INT(parse("9999-12-31T23:59:59.999Z"), 253402300799999LL);
}

TEST(parse_fractions)
{
    CHECK_EQ_INT(parse("2023-04-11T12:34:56.7"), 1681216496700LL);
    CHECK_EQ_INT(parse("2023-04-11T12:34:56.78"), 1681216496780LL);
    CHECK_EQ_INT(parse("2023-04-11T12:34:56,789"), 1681216496789LL);
    CHECK_EQ_INT(parse("2023-04-11T12:34:56.7891"), 1681216496789LL);
    CHECK_EQ_INT(parse("2023-04-11T12:34:56.789999999"), 1681216496789LL); /* cut, not rounded */
    CHECK_EQ_INT(parse("2023-04-11T12:34:56.000000001Z"), 1681216496000LL);
    CHECK_EQ_INT(parse("2023-04-11T12:34:56.7899999999"), REJECTED);        /* 10 digits */
    CHECK_EQ_INT(parse("2023-04-11T12:34:56."), REJECTED);
    CHECK_EQ_INT(parse("2023-04-11T12:34:56.Z"), REJECTED);
    CHECK_EQ_INT(parse("2023-04-11T12:34:56.-1"), REJECTED);
}

TEST(parse_zones)
{
    int64_t utc = 1681216496789LL;
    CHECK_EQ_INT(parse("2023-04-11T14:34:56.789+02:00"), utc);
    CHECK_EQ_INT(parse("2023-04-11T14:34:56.789+0200"), utc);
    CHECK_EQ_INT(parse("2023-04-11T14:34:56.789+02"), utc);
    CHECK_EQ_INT(parse("2023-04-11T10:04:56.789-02:30"), utc);
    CHECK_EQ_INT(parse("2023-04-11T12:34:56.789+00:00"), utc);
    CHECK_EQ_INT(parse("2023-04-11T12:34:56.789-00:00"), utc);
    CHECK_EQ_INT(parse("2023-04-12T00:04:56+11:30"), 1681216496000LL);  /* across midnight */
    CHECK_EQ_INT(parse("2023-04-11T12:34:56+24:00"), REJECTED);
    CHECK_EQ_INT(parse("2023-04-11T12:34:56+02:60"), REJECTED);
    CHECK_EQ_INT(parse("2023-04-11T12:34:56+2:00"), REJECTED);
    CHECK_EQ_INT(parse("2023-04-11T12:34:56+02:0"), REJECTED);
    CHECK_EQ_INT(parse("2023-04-11T12:34:56+02:00:00"), REJECTED);
    CHECK_EQ_INT(parse("2023-04-11T12:34:56ZZ"), REJECTED);
    CHECK_EQ_INT(parse("2023-04-11T12:34:56 Z"), REJECTED);
    CHECK_EQ_INT(parse("2023-04-11T12:34:56UTC"), REJECTED);
    CHECK_EQ_INT(parse("2023-04-11T12:34:56+"), REJECTED);
}

TEST(parse_calendar)
{
    CHECK_EQ_INT(parse("2024-02-29T00:00:00Z"), 1709164800000LL);
    CHECK_EQ_INT(parse("2000-02-29T00:00:00Z"), 951782400000LL);
    CHECK_EQ_INT(parse("2023-02-29T00:00:00Z"), REJECTED);
    CHECK_EQ_INT(parse("1900-02-29T00:00:00Z"), REJECTED);
    CHECK_EQ_INT(parse("2100-02-29T00:00:00Z"), REJECTED);
    CHECK_EQ_INT(parse("2023-04-31T00:00:00Z"), REJECTED);
    CHECK_EQ_INT(parse("2023-00-10T00:00:00Z"), REJECTED);
    CHECK_EQ_INT(parse("2023-13-10T00:00:00Z"), REJECTED);
    CHECK_EQ_INT(parse("2023-01-00T00:00:00Z"), REJECTED);
    CHECK_EQ_INT(parse("2023-01-32T00:00:00Z"), REJECTED);
    CHECK_EQ_INT(parse("2023-01-01T24:00:00Z"), REJECTED);
    CHECK_EQ_INT(parse("2023-01-01T23:60:00Z"), REJECTED);
    CHECK_EQ_INT(parse("2023-01-01T23:59:61Z"), REJECTED);
    /* a leap second is the first second of the next minute */
    CHECK_EQ_INT(parse("2016-12-31T23:59:60Z"), parse("2017-01-01T00:00:00Z"));
}

TEST(parse_range)
{
    CHECK_EQ_INT(parse("1969-12-31T23:59:59.999Z"), REJECTED);
    CHECK_EQ_INT(parse("1970-01-01T00:30:00+01:00"), REJECTED);    /* 1969 in UTC */
    CHECK_EQ_INT(parse("1969-12-31T23:30:00-01:00"), 1800000);     /* 1970 in UTC */
    CHECK_EQ_INT(parse("9999-12-31T23:59:59.999-00:01"), REJECTED);
    CHECK_EQ_INT(parse("0000-01-01T00:00:00Z"), REJECTED);
}

TEST(parse_rejects_bad_shapes)
{
    static const char *bad[] = {
        "", "2023", "2023-04-11", "2023-04-11T12:34", "2023-04-11T12:34:5",
        "2023-04-11X12:34:56", "2023/04/11T12:34:56", "2023-04-11T12-34-56",
        "+2023-04-11T12:34:56", " 2023-04-11T12:34:56", "2023-04-11T12:34:56 ",
        "2023-4-11T12:34:56", "2023-04-11T1:34:56Z", "20a3-04-11T12:34:56",
        "2023-04-11T12:34:56\n", "2023-04-11T12:34:5x", "2023-04-1 T12:34:56",
        "1681216496789", "-1-04-11T12:34:56",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i]) != REJECTED) fprintf(stderr, "  accepted: \"%s\"\n", bad[i]);
        CHECK(parse(bad[i]) == REJECTED);
    }
}

/* The date and hour a thread read last are remembered (timefmt.c): a time
 * of the same hour, right after, reads exactly as it does after another
 * hour, bad ones included. */
TEST(the_remembered_hour_changes_nothing)
{
    static const char *const other = "1999-12-31T23:59:59Z";
    static const char *const tails[] = {
        ":34:56Z", ":34:56.789Z", ":00:00", ":59:60.5+02:00", ":60:00Z", ":34:61Z", ":3a:56Z",
        ":34:56.Z", "-34:56Z", ":34:56.1234567891Z", ":34:56+24:00", ":34:56z", ":34:56,5-0130",
    };
    static const char *const heads[] = {
        "2023-04-11T12", "2024-02-29T00", "2023-02-29T00", "2023-04-11T24", "2023-04-11X12",
        "9999-12-31T23", "1970-01-01T00", "0000-01-01T00",
    };
    for (size_t h = 0; h < sizeof heads / sizeof heads[0]; h++)
        for (size_t t = 0; t < sizeof tails / sizeof tails[0]; t++) {
            char text[64];
            snprintf(text, sizeof text, "%s%s", heads[h], tails[t]);
            int64_t cold = -7, warm = -7, any;
            (void)hf_time_parse_iso(other, strlen(other), &any);
            int rc = hf_time_parse_iso(text, strlen(text), &cold);
            char same[64];                                   /* the same hour, first */
            snprintf(same, sizeof same, "%s:00:00Z", heads[h]);
            (void)hf_time_parse_iso(same, strlen(same), &any);
            CHECK_EQ_INT(hf_time_parse_iso(text, strlen(text), &warm), rc);
            if (rc == 0) CHECK_EQ_INT(warm, cold);
        }
}

TEST(parse_reads_only_len_bytes)
{
    /* The text continues in memory, but only len bytes are the timestamp. */
    const char *s = "2023-04-11T12:34:56.789Zjunk";
    int64_t ms = 0;
    CHECK_EQ_INT(hf_time_parse_iso(s, 24, &ms), 0);
    CHECK_EQ_INT(ms, 1681216496789LL);
    CHECK_EQ_INT(hf_time_parse_iso(s, 23, &ms), 0);          /* no zone: UTC */
    CHECK_EQ_INT(hf_time_parse_iso(s, 20, &ms), -1);         /* "...56." */
    for (size_t n = 0; n < 19; n++) CHECK_EQ_INT(hf_time_parse_iso(s, n, &ms), -1);

    /* Every prefix of a heap copy: ASan catches a read past the end. */
    size_t len = 29;
    const char *full = "2023-04-11T12:34:56.789+02:00";
    for (size_t n = 0; n <= len; n++) {
        char *c = malloc(n ? n : 1);
        memcpy(c, full, n);
        (void)hf_time_parse_iso(c, n, &ms);
        free(c);
    }
}

/* ------------------------------------------------------------------------
 * Formatting
 * --------------------------------------------------------------------- */

TEST(format_basic)
{
    char buf[32];
    CHECK_EQ_INT(hf_time_format_iso(0, buf), 24);
    CHECK_EQ_STR(buf, "1970-01-01T00:00:00.000Z");
    CHECK_EQ_INT(hf_time_format_iso(1681216496789LL, buf), 24);
    CHECK_EQ_STR(buf, "2023-04-11T12:34:56.789Z");
    hf_time_format_iso(1764165610000LL, buf);
    CHECK_EQ_STR(buf, "2025-11-26T14:00:10.000Z");
    hf_time_format_iso(951782400000LL, buf);
    CHECK_EQ_STR(buf, "2000-02-29T00:00:00.000Z");
    hf_time_format_iso(253402300799999LL, buf);
    CHECK_EQ_STR(buf, "9999-12-31T23:59:59.999Z");
}

TEST(format_clamps)
{
    char buf[32];
    CHECK_EQ_INT(hf_time_format_iso(-1, buf), 24);
    CHECK_EQ_STR(buf, "1970-01-01T00:00:00.000Z");
    CHECK_EQ_INT(hf_time_format_iso(INT64_MIN, buf), 24);
    CHECK_EQ_STR(buf, "1970-01-01T00:00:00.000Z");
    CHECK_EQ_INT(hf_time_format_iso(INT64_MAX, buf), 24);
    CHECK_EQ_STR(buf, "9999-12-31T23:59:59.999Z");
}

/* ------------------------------------------------------------------------
 * Against the C library
 * --------------------------------------------------------------------- */

/* Every day of 1970..9999 at a time of day that moves with the day:
 * format, compare with gmtime_r, parse back. */
TEST(every_day_against_libc)
{
    int bad = 0;
    for (int64_t day = 0; day <= 2932896; day++) {   /* 9999-12-31 is day 2932896 */
        int64_t ms = day * 86400000LL + (day * 7919 % 86400) * 1000 + day % 1000;
        char buf[32], want[32];
        hf_time_format_iso(ms, buf);
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
        int64_t back = 0;
        if (strcmp(buf, want) != 0 || hf_time_parse_iso(buf, 24, &back) != 0 || back != ms) {
            if (bad++ < 5) fprintf(stderr, "  day %lld: got %s want %s\n",
                                   (long long)day, buf, want);
        }
    }
    CHECK_EQ_INT(bad, 0);
}

/* Random instants with random zones: the parse equals timegm() minus the offset. */
TEST(random_against_timegm)
{
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    int bad = 0;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        struct tm tm = {0};
        tm.tm_year = 1971 + (int)(x % 8000) - 1900;
        tm.tm_mon = (int)((x >> 16) % 12);
        tm.tm_mday = 1 + (int)((x >> 24) % 28);
        tm.tm_hour = (int)((x >> 32) % 24);
        tm.tm_min = (int)((x >> 40) % 60);
        tm.tm_sec = (int)((x >> 48) % 60);
        int frac = (int)((x >> 20) % 1000);
        int off = (int)((x >> 8) % (2 * 14 * 60 + 1)) - 14 * 60;    /* minutes */
        char s[64];
        snprintf(s, sizeof(s), "%04d-%02d-%02dT%02d:%02d:%02d.%03d%c%02d:%02d",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                 tm.tm_sec, frac, off < 0 ? '-' : '+', abs(off) / 60, abs(off) % 60);
        int64_t want = ((int64_t)timegm(&tm) - off * 60) * 1000 + frac;
        if (parse(s) != want && bad++ < 5)
            fprintf(stderr, "  %s: got %lld want %lld\n", s, (long long)parse(s), (long long)want);
    }
    CHECK_EQ_INT(bad, 0);
}

int main(void)
{
    RUN(parse_basic_forms);
    RUN(parse_fractions);
    RUN(parse_zones);
    RUN(parse_calendar);
    RUN(parse_range);
    RUN(parse_rejects_bad_shapes);
    RUN(the_remembered_hour_changes_nothing);
    RUN(parse_reads_only_len_bytes);
    RUN(format_basic);
    RUN(format_clamps);
    RUN(every_day_against_libc);
    RUN(random_against_timegm);
    return UNIT_END();
}
