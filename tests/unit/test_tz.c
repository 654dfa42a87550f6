/* test_tz.c -- time zones (core/base/tz.c) against the C library's
 * localtime_r() under TZ, in this one thread: the offset at instants from
 * 1970 to 2150 (beyond 2037 the files' footer rules decide), local times
 * back to instants (the repeated and the skipped hour included), ISO times
 * without an offset read in a zone, and hostile names and files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/timefmt.h"
#include "base/tz.h"
#include "unit.h"

static const char *const zones[] = {
    "Europe/Prague", "America/New_York", "Australia/Sydney", "Asia/Kolkata",
    "America/St_Johns", "Pacific/Chatham", "Europe/Dublin", "America/Sao_Paulo",
    "Asia/Tokyo", "Pacific/Apia", "Africa/Casablanca",
};

/* glibc's offset (s) at t in zone name. */
static long libc_offset(const char *name, time_t t)
{
    struct tm tm;
    setenv("TZ", name, 1);
    tzset();
    localtime_r(&t, &tm);
    return tm.tm_gmtoff;
}

TEST(offsets_agree_with_the_c_library_1970_to_2150)
{
    char err[256];
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        hf_tz *tz = hf_tz_load(zones[z], err, sizeof err);
        if (!tz) {
            fprintf(stderr, "  skip %s: %s\n", zones[z], err);
            continue;
        }
        int bad = 0;
        /* every 7 h 13 min: lands at every hour of the day over the years */
        for (time_t t = 0; t < (time_t)5680000000LL && bad < 3; t += 7 * 3600 + 13 * 60) {
            long want = libc_offset(zones[z], t);
            int64_t got = hf_tz_offset(tz, (int64_t)t * 1000);
            if (got != (int64_t)want * 1000) {
                bad++;
                fprintf(stderr, "  FAIL %s at %lld: %lld ms, libc %ld s\n", zones[z],
                        (long long)t, (long long)got, want);
            }
        }
        CHECK_EQ_INT(bad, 0);
        hf_tz_free(tz);
    }
    unsetenv("TZ");
    tzset();
}

/* local = instant + offset, back to the instant, wherever that is one to one. */
TEST(local_times_go_back_to_their_instant)
{
    char err[256];
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        hf_tz *tz = hf_tz_load(zones[z], err, sizeof err);
        if (!tz) continue;
        int bad = 0;
        for (int64_t t = 0; t < 5680000000000LL && bad < 3; t += 3 * 3600 * 1000LL + 17 * 60000) {
            int64_t local = t + hf_tz_offset(tz, t);
            int64_t back = hf_tz_to_utc(tz, local);
            if (back == t) continue;
            /* only a repeated local time may come back elsewhere: to the first */
            if (back + hf_tz_offset(tz, back) == local && back < t) continue;
            bad++;
            fprintf(stderr, "  FAIL %s: %lld -> local %lld -> %lld\n", zones[z], (long long)t,
                    (long long)local, (long long)back);
        }
        CHECK_EQ_INT(bad, 0);
        hf_tz_free(tz);
    }
}

TEST(prague_summer_winter_and_the_changes)
{
    char err[256];
    hf_tz *tz = hf_tz_load("Europe/Prague", err, sizeof err);
    CHECK(tz != NULL);
    if (!tz) return;
    int64_t ms;
    /* winter +01:00, summer +02:00 */
    CHECK_EQ_INT(hf_time_parse_iso_tz("2023-01-15T12:00:00", 19, tz, &ms), 0);
    CHECK_EQ_INT(ms, 1673780400000LL);                       /* 11:00Z */
    CHECK_EQ_INT(hf_time_parse_iso_tz("2023-07-15T12:00:00.250", 23, tz, &ms), 0);
    CHECK_EQ_INT(ms, 1689415200250LL);                       /* 10:00:00.250Z */
    /* an offset or Z in the text wins over the zone */
    CHECK_EQ_INT(hf_time_parse_iso_tz("2023-07-15T12:00:00Z", 20, tz, &ms), 0);
    CHECK_EQ_INT(ms, 1689422400000LL);
    CHECK_EQ_INT(hf_time_parse_iso_tz("2023-07-15T12:00:00+05:00", 25, tz, &ms), 0);
    CHECK_EQ_INT(ms, 1689404400000LL);
    /* 2023-03-26 02:30 does not exist: read at +01:00 (before the change) */
    CHECK_EQ_INT(hf_time_parse_iso_tz("2023-03-26T02:30:00", 19, tz, &ms), 0);
    CHECK_EQ_INT(ms, 1679794200000LL);                       /* 01:30Z */
    /* 2023-10-29 02:30 happens twice: the first, at +02:00 */
    CHECK_EQ_INT(hf_time_parse_iso_tz("2023-10-29T02:30:00", 19, tz, &ms), 0);
    CHECK_EQ_INT(ms, 1698539400000LL);                       /* 00:30Z */
    CHECK_EQ_INT(hf_time_parse_iso_tz("2023-10-29T03:30:00", 19, tz, &ms), 0);
    CHECK_EQ_INT(ms, 1698546600000LL);                       /* 02:30Z */
    /* without a zone, UTC */
    CHECK_EQ_INT(hf_time_parse_iso_tz("2023-01-15T12:00:00", 19, NULL, &ms), 0);
    CHECK_EQ_INT(ms, 1673784000000LL);
    /* before the epoch once converted: refused */
    CHECK_EQ_INT(hf_time_parse_iso_tz("1970-01-01T00:30:00", 19, tz, &ms), -1);
    /* far future: the footer rule, 2150 in summer */
    CHECK_EQ_INT(hf_tz_offset(tz, 5688000000000LL), 7200000);
    CHECK_EQ_STR(hf_tz_name(tz), "Europe/Prague");
    hf_tz_free(tz);
}

TEST(utc_needs_no_file_and_bad_names_say_so)
{
    char err[256];
    CHECK(hf_tz_load("UTC", err, sizeof err) == NULL);
    CHECK_EQ_STR(err, "");
    CHECK(hf_tz_load("", err, sizeof err) == NULL && err[0] == '\0');
    CHECK_EQ_STR(hf_tz_name(NULL), "UTC");
    CHECK_EQ_INT(hf_tz_offset(NULL, 123), 0);
    CHECK_EQ_INT(hf_tz_to_utc(NULL, 123), 123);
    static const char *const bad[] = {
        "../../etc/passwd", "/etc/localtime", "Europe/../../etc/passwd", "Europe/Prag",
        "Europe/Prague\n", "Europe/ Prague", ".hidden", "Europe/.x", "posixrules/../x",
        "right/Europe/Prague",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(hf_tz_load(bad[i], err, sizeof err) == NULL);
        CHECK(err[0] != '\0');
    }
    CHECK(hf_tz_load("Europe/Prag", err, sizeof err) == NULL);
    CHECK(strstr(err, "tzdata") != NULL);
}

/* Damaged zone files in a TZDIR of our own: refused with a reason, never
 * read past their end (ASan). */
TEST(damaged_files_are_refused)
{
    char dir[64], path[128], err[256];
    snprintf(dir, sizeof dir, "/tmp/hostflow-test-tz-%d", (int)getpid());
    snprintf(path, sizeof path, "mkdir -p %s", dir);
    CHECK_EQ_INT(system(path), 0);
    setenv("TZDIR", dir, 1);

    FILE *f = fopen("/usr/share/zoneinfo/Europe/Prague", "rb");
    if (!f) return;
    unsigned char good[8192];
    size_t n = fread(good, 1, sizeof good, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/Cut", dir);
    int loaded = 0;
    for (size_t k = 0; k < n; k += 7) {             /* every cut refused, none read past */
        f = fopen(path, "wb");
        fwrite(good, 1, k, f);
        fclose(f);
        hf_tz *tz = hf_tz_load("Cut", err, sizeof err);
        if (tz) loaded++;
        hf_tz_free(tz);
    }
    CHECK_EQ_INT(loaded, 0);
    uint64_t x = 88172645463325252ULL;
    for (int round = 0; round < 2000; round++) {    /* random damage: no crash */
        unsigned char bad[8192];
        memcpy(bad, good, n);
        for (int k = 0; k < 1 + round % 8; k++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            bad[x % n] = (unsigned char)(x >> 32);
        }
        f = fopen(path, "wb");
        fwrite(bad, 1, n, f);
        fclose(f);
        hf_tz_free(hf_tz_load("Cut", err, sizeof err));
    }
    f = fopen(path, "wb");
    fwrite(good, 1, n, f);
    fclose(f);
    hf_tz *tz = hf_tz_load("Cut", err, sizeof err);
    CHECK(tz != NULL);
    hf_tz_free(tz);
    snprintf(path, sizeof path, "rm -rf %s", dir);
    CHECK_EQ_INT(system(path), 0);
    unsetenv("TZDIR");
}

int main(void)
{
    RUN(offsets_agree_with_the_c_library_1970_to_2150);
    RUN(local_times_go_back_to_their_instant);
    RUN(prague_summer_winter_and_the_changes);
    RUN(utc_needs_no_file_and_bad_names_say_so);
    RUN(damaged_files_are_refused);
    return UNIT_END();
}
