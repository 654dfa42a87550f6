/* unit.h -- a very small C unit test harness, one header.
 *
 * A test file defines TEST(name) functions and lists them in main() with
 * RUN(name).  CHECK(cond) records a failure and goes on; the program prints
 * one line per failed check and ends with "N passed, N failed" (tests, not
 * checks), exiting 1 when any test failed.  tests/run.sh sums those lines. */
#ifndef HF_UNIT_H
#define HF_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_passed, unit_failed, unit_cur_failed;
static const char *unit_cur;

#define TEST(name) static void test_##name(void)

#define CHECK(cond) do { \
    if (!(cond)) { \
        unit_cur_failed = 1; \
        fprintf(stderr, "  FAIL %s: %s:%d: %s\n", unit_cur, __FILE__, __LINE__, #cond); \
    } } while (0)

#define CHECK_EQ_INT(a, b) do { \
    long long unit_a = (long long)(a), unit_b = (long long)(b); \
    if (unit_a != unit_b) { \
        unit_cur_failed = 1; \
        fprintf(stderr, "  FAIL %s: %s:%d: %s == %s (%lld != %lld)\n", \
                unit_cur, __FILE__, __LINE__, #a, #b, unit_a, unit_b); \
    } } while (0)

#define CHECK_EQ_STR(a, b) do { \
    const char *unit_a = (a), *unit_b = (b); \
    if (!unit_a || !unit_b || strcmp(unit_a, unit_b) != 0) { \
        unit_cur_failed = 1; \
        fprintf(stderr, "  FAIL %s: %s:%d: %s == %s (\"%s\" != \"%s\")\n", \
                unit_cur, __FILE__, __LINE__, #a, #b, \
                unit_a ? unit_a : "(null)", unit_b ? unit_b : "(null)"); \
    } } while (0)

#define RUN(name) do { \
    unit_cur = #name; unit_cur_failed = 0; \
    test_##name(); \
    if (unit_cur_failed) unit_failed++; else unit_passed++; \
    printf("%s %s\n", unit_cur_failed ? "not ok" : "ok", #name); \
    } while (0)

#define UNIT_END() ( \
    printf("%d passed, %d failed\n", unit_passed, unit_failed), \
    unit_failed ? 1 : 0)

#endif
