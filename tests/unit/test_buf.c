/* test_buf.c -- JSON writing: numbers are the shortest text that reads back
 * to the same double (checked against strtod over many values), integers
 * without a fraction, strings escaped, bad UTF-8 replaced. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "unit.h"

static const char *num(hf_buf *b, double v)
{
    b->len = 0;
    hf_buf_put_number(b, v);
    hf_buf_putc(b, '\0');
    return b->data;
}

TEST(integers_are_written_without_a_fraction)
{
    hf_buf b;
    hf_buf_init(&b, 16);
    CHECK_EQ_STR(num(&b, 0), "0");
    CHECK_EQ_STR(num(&b, -0.0), "0");
    CHECK_EQ_STR(num(&b, 42), "42");
    CHECK_EQ_STR(num(&b, -7), "-7");
    CHECK_EQ_STR(num(&b, 9007199254740991.0), "9007199254740991");
    hf_buf_release(&b);
}

TEST(small_integers_are_printf_s_at_the_end_of_a_full_buffer)
{
    /* 0..99 take a path of their own (two bytes copied, one or two kept):
     * each of them, and their negatives, after a buffer filled to its end */
    for (int v = -120; v <= 120; v++) {
        hf_buf b;
        hf_buf_init(&b, 8);
        for (int k = 0; k < 7; k++) hf_buf_putc(&b, 'x');    /* one byte of room left */
        hf_buf_put_number(&b, v);
        hf_buf_putc(&b, '\0');
        char want[32];
        snprintf(want, sizeof want, "xxxxxxx%d", v);
        CHECK_EQ_STR(b.data, want);
        hf_buf_release(&b);
    }
}

TEST(integers_around_every_power_of_ten_are_printf_s)
{
    hf_buf b;
    hf_buf_init(&b, 16);
    uint64_t p = 1;
    for (int k = 0; k < 20; k++, p *= 10)
        for (int64_t d = -3; d <= 3; d++) {
            uint64_t u = p + (uint64_t)d;
            if (d < 0 && (uint64_t)-d > p) continue;
            char want[32];
            b.len = 0;
            hf_buf_put_int(&b, (int64_t)u);
            hf_buf_putc(&b, '\0');
            snprintf(want, sizeof want, "%lld", (long long)u);
            if (u <= INT64_MAX) CHECK_EQ_STR(b.data, want);
            b.len = 0;
            hf_buf_put_int(&b, -(int64_t)(u & INT64_MAX));
            hf_buf_putc(&b, '\0');
            snprintf(want, sizeof want, "%lld", -(long long)(u & INT64_MAX));
            CHECK_EQ_STR(b.data, want);
            if (u < (1ULL << 53)) {
                snprintf(want, sizeof want, "%llu", (unsigned long long)u);
                CHECK_EQ_STR(num(&b, (double)u), want);
            }
        }
    b.len = 0;
    hf_buf_put_int(&b, INT64_MIN);
    hf_buf_putc(&b, '\0');
    CHECK_EQ_STR(b.data, "-9223372036854775808");
    hf_buf_release(&b);
}

TEST(fractions_read_back_exactly)
{
    hf_buf b;
    hf_buf_init(&b, 16);
    CHECK_EQ_STR(num(&b, 1.234), "1.234");
    CHECK_EQ_STR(num(&b, 0.1), "0.1");
    CHECK_EQ_STR(num(&b, 1.75), "1.75");
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    int bad = 0;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        double v;
        switch (i % 4) {
        case 0: v = (double)(x % 100000000) / 1000.0; break;            /* durations in s */
        case 1: v = (double)(x >> 11) / 9007199254740992.0; break;     /* [0, 1) */
        case 2: memcpy(&v, &x, sizeof v); if (!isfinite(v)) v = 1.5; break;  /* any double */
        default: v = -(double)(x % 1000000007) / 7.0; break;
        }
        const char *s = num(&b, v);
        if (strtod(s, NULL) != v || strlen(s) > 24) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    hf_buf_release(&b);
}

TEST(short_decimals_are_written_as_printf_writes_them)
{
    /* the short decimals' path (six places at most, |v| in [1e-4, 1e9))
     * and the values on either side of its ends, against "%.15g" */
    static const double v[] = {0.5, 1.0005, 0.0001, 0.00012, 0.000123456, 123.456789,
                               0.1234567, 999999999.999999, 999999999.5, 1000000000.5,
                               0.3333335, 2.000001, 1e-4 * 0.999, 17.25, 3.0e-4, 0.000999,
                               123456789.000001};
    hf_buf b;
    hf_buf_init(&b, 16);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        for (int sign = 1; sign >= -1; sign -= 2) {
            char want[40];
            double x = sign * v[i];
            snprintf(want, sizeof want, "%.15g", x);
            if (strtod(want, NULL) != x) snprintf(want, sizeof want, "%.17g", x);
            CHECK_EQ_STR(num(&b, x), want);
        }
    hf_buf_release(&b);
}

TEST(non_finite_numbers_are_null)
{
    hf_buf b;
    hf_buf_init(&b, 16);
    CHECK_EQ_STR(num(&b, NAN), "null");
    CHECK_EQ_STR(num(&b, INFINITY), "null");
    CHECK_EQ_STR(num(&b, -INFINITY), "null");
    hf_buf_release(&b);
}

TEST(strings_are_escaped_and_bad_utf8_replaced)
{
    hf_buf b;
    hf_buf_init(&b, 16);
    const char in[] = "a\"b\\c\n\x01\xc3\xa9\xff";
    hf_buf_put_string(&b, in, sizeof in - 1);
    hf_buf_putc(&b, '\0');
    CHECK_EQ_STR(b.data, "\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\\ufffd\"");
    hf_buf_release(&b);
}

int main(void)
{
    RUN(small_integers_are_printf_s_at_the_end_of_a_full_buffer);
    RUN(integers_around_every_power_of_ten_are_printf_s);
    RUN(short_decimals_are_written_as_printf_writes_them);
    RUN(integers_are_written_without_a_fraction);
    RUN(fractions_read_back_exactly);
    RUN(non_finite_numbers_are_null);
    RUN(strings_are_escaped_and_bad_utf8_replaced);
    return UNIT_END();
}
