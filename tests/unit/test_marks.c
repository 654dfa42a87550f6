/* test_marks.c -- the merge role's watermark from progress messages
 * (stream/marks.c): the lowest mark over every input partition, nothing
 * while one is unknown, marks that only rise, topics that grow, the pin
 * of a partition's commit point, and forgetting. */
#include <stdint.h>
#include <string.h>

#include "stream/marks.h"
#include "unit.h"

#define T0 1764165600000LL

/* A progress message of topic with n partitions, marking parts[i] through[i]. */
static hf_wire_progress progress(const char *topic, int32_t n, hf_wire_mark *marks, int nm)
{
    hf_wire_progress p;
    memset(&p, 0, sizeof p);
    p.producer = "partial-1";
    p.producer_len = 9;
    p.topic = topic;
    p.topic_len = (uint8_t)strlen(topic);
    p.partitions = n;
    p.n = nm;
    p.marks = marks;
    return p;
}

TEST(the_watermark_waits_for_every_input_partition)
{
    hf_marks *m = hf_marks_new();
    CHECK(hf_marks_through(m, 1) == INT64_MIN);                /* no topic known */
    hf_wire_mark a[2] = {{0, T0 + 20000}, {1, T0 + 30000}};
    hf_wire_progress p = progress("flows", 4, a, 2);
    hf_marks_read(m, 1, 100, &p);
    CHECK(hf_marks_through(m, 1) == INT64_MIN);                /* flows[2], flows[3] unknown */
    hf_wire_mark b[2] = {{2, T0 + 10000}, {3, T0 + 40000}};
    p = progress("flows", 4, b, 2);
    hf_marks_read(m, 1, 101, &p);
    CHECK(hf_marks_through(m, 1) == T0 + 10000);
    CHECK(hf_marks_through(m, 2) == INT64_MIN);                /* another partition saw nothing */
    const char *topic;
    int32_t part;
    int64_t through;
    hf_marks_slowest(m, 1, &topic, &part, &through);
    CHECK_EQ_STR(topic, "flows");
    CHECK_EQ_INT(part, 2);
    CHECK(through == T0 + 10000);
    hf_marks_free(m);
}

TEST(marks_only_rise_and_the_end_ends_them)
{
    hf_marks *m = hf_marks_new();
    hf_wire_mark a[2] = {{0, T0 + 20000}, {1, T0 + 20000}};
    hf_wire_progress p = progress("flows", 2, a, 2);
    hf_marks_read(m, 3, 10, &p);
    hf_wire_mark lower = {0, T0};                              /* a new owner, behind: no change */
    p = progress("flows", 2, &lower, 1);
    hf_marks_read(m, 3, 11, &p);
    CHECK(hf_marks_through(m, 3) == T0 + 20000);
    hf_wire_mark end[2] = {{0, HF_WIRE_END}, {1, HF_WIRE_END}};
    p = progress("flows", 2, end, 2);
    hf_marks_read(m, 3, 12, &p);
    CHECK(hf_marks_through(m, 3) == HF_WIRE_END);
    hf_marks_free(m);
}

TEST(a_new_topic_or_more_partitions_hold_the_watermark_until_named)
{
    hf_marks *m = hf_marks_new();
    hf_wire_mark a[2] = {{0, T0 + 20000}, {1, T0 + 30000}};
    hf_wire_progress p = progress("flows", 2, a, 2);
    hf_marks_read(m, 1, 5, &p);
    CHECK(hf_marks_through(m, 1) == T0 + 20000);
    hf_wire_mark c = {2, T0 + 50000};                          /* flows grew to 3 partitions */
    p = progress("flows", 3, &c, 1);
    hf_marks_read(m, 1, 6, &p);
    CHECK(hf_marks_through(m, 1) == T0 + 20000);               /* the old marks kept */
    hf_wire_mark d = {0, T0 + 5000};
    p = progress("more", 1, &d, 1);                            /* a second input topic */
    hf_marks_read(m, 1, 7, &p);
    CHECK(hf_marks_through(m, 1) == T0 + 5000);
    hf_marks_free(m);
}

TEST(the_pin_is_the_oldest_of_the_newest_marks_and_forget_clears)
{
    hf_marks *m = hf_marks_new();
    CHECK_EQ_INT(hf_marks_pin(m, 1), -1);
    hf_wire_mark a[2] = {{0, T0}, {1, T0}};
    hf_wire_progress p = progress("flows", 2, a, 2);
    hf_marks_read(m, 1, 100, &p);                              /* both at 100 */
    hf_wire_mark b = {0, T0 + 10000};
    p = progress("flows", 2, &b, 1);
    hf_marks_read(m, 1, 200, &p);                              /* flows[0] newer at 200 */
    CHECK_EQ_INT(hf_marks_pin(m, 1), 100);                     /* flows[1]'s newest is at 100 */
    hf_wire_mark c = {1, T0 + 10000};
    p = progress("flows", 2, &c, 1);
    hf_marks_read(m, 1, 300, &p);
    CHECK_EQ_INT(hf_marks_pin(m, 1), 200);
    hf_marks_forget(m);
    CHECK_EQ_INT(hf_marks_pin(m, 1), -1);
    CHECK(hf_marks_through(m, 1) == INT64_MIN);
    hf_marks_free(m);
}

int main(void)
{
    RUN(the_watermark_waits_for_every_input_partition);
    RUN(marks_only_rise_and_the_end_ends_them);
    RUN(a_new_topic_or_more_partitions_hold_the_watermark_until_named);
    RUN(the_pin_is_the_oldest_of_the_newest_marks_and_forget_clears);
    return UNIT_END();
}
