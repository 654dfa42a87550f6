/* test_progress.c -- the lines of `hostflow run --progress` (cmd/progress.c):
 * the bar for a terminal, the log line, with and without the input's size,
 * and their numbers (thousands, sizes, times, the ETA). */
#include <string.h>

#include "cmd/progress.h"
#include "unit.h"

static char out[512];

static const char *fmt(int columns, uint64_t records, uint64_t done, uint64_t total,
                       double elapsed, int finished)
{
    hf_progress_now now = {records, done, total, elapsed, finished};
    return hf_progress_format(out, sizeof out, columns, &now);
}

#define MiB (1024 * 1024ULL)

TEST(bar_on_a_terminal)
{
    fmt(100, 1234567, 50 * MiB, 100 * MiB, 10.0, 0);
    CHECK(out[0] == '[');
    CHECK(strstr(out, "]  50%  50.0 MiB/100.0 MiB  1,234,567 records  123,457/s  ETA 0:10"));
    CHECK((int)strlen(out) <= 99);                        /* the last column stays free */
    size_t hashes = strspn(out + 1, "#"), cells = strcspn(out + 1, "]");
    CHECK(cells >= 10);
    CHECK(hashes == cells / 2);
}

TEST(bar_fits_the_width)
{
    for (int cols = 40; cols <= 200; cols += 7) {
        fmt(cols, 10, 1, 3, 1.0, 0);
        CHECK((int)strlen(out) < cols || out[0] != '[');
    }
    fmt(40, 1234567, 50 * MiB, 100 * MiB, 10.0, 0);      /* too narrow: no bar, the numbers */
    CHECK(out[0] != '[');
    CHECK(strstr(out, "50%") == out);
}

TEST(log_line)
{
    fmt(0, 9612044, 1200 * MiB, 2500 * MiB, 8.0, 0);
    CHECK_EQ_STR(out, "hostflow: progress: 48% of 2.4 GiB, 9,612,044 records, 1,201,506 records/s, "
                      "0:08 elapsed, ETA 0:09");
    fmt(0, 9612044, 2500 * MiB, 2500 * MiB, 3725.0, 1);
    CHECK_EQ_STR(out, "hostflow: progress: 100% of 2.4 GiB, 9,612,044 records, 2,580 records/s, "
                      "1:02:05 elapsed, done");
}

TEST(no_size_no_share)
{
    fmt(0, 999, 4096, 0, 2.0, 0);
    CHECK_EQ_STR(out, "hostflow: progress: 999 records, 500 records/s, 0:02 elapsed");
    fmt(100, 1000, 4096, 0, 2.0, 1);
    CHECK_EQ_STR(out, "1,000 records  500/s  4.0 KiB read  0:02  done");
    CHECK(!strchr(out, '%'));
}

TEST(odd_numbers)
{
    fmt(0, 0, 0, 100, 0.0, 0);                            /* nothing yet: no rate, no ETA */
    CHECK_EQ_STR(out, "hostflow: progress: 0% of 100 B, 0 records, 0 records/s, 0:00 elapsed, ETA ?");
    fmt(0, 5, 150, 100, 1.0, 0);                          /* a file that grew: at most 100% */
    CHECK(strstr(out, "100% of 100 B"));
    fmt(0, 5, 40, 100, 1.0, 1);                           /* at its end: 100%, whatever the bytes */
    CHECK(strstr(out, "100% of 100 B") && strstr(out, "done"));
}

int main(void)
{
    RUN(bar_on_a_terminal);
    RUN(bar_fits_the_width);
    RUN(log_line);
    RUN(no_size_no_share);
    RUN(odd_numbers);
    return UNIT_END();
}
