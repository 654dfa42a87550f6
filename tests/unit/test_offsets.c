/* test_offsets.c -- the partitions' bookkeeping (stream/offsets.c), with no
 * broker: release times, holds and commit points, replay after a restart,
 * idle partitions and the watermark (ends confirmed by the source),
 * folding holds, flushing, resetting after a revocation, pending offsets. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "stream/offsets.h"
#include "unit.h"

static const int64_t G[] = {10000, 30000, 60000, 300000};
#define T0 1764165600000LL        /* 2025-11-26T14:00:00Z, a 5-minute boundary */

TEST(a_flow_is_released_at_the_end_of_its_coarsest_window)
{
    hf_offsets *o = hf_offsets_new(G, 4);
    CHECK_EQ_INT(hf_offsets_release_time(o, T0 + 5000), T0 + 300000);
    CHECK_EQ_INT(hf_offsets_release_time(o, T0 + 299999), T0 + 300000);
    CHECK_EQ_INT(hf_offsets_release_time(o, T0 + 300000), T0 + 600000);
    hf_offsets_free(o);
}

TEST(commit_points_stop_at_the_lowest_offset_still_held)
{
    hf_offsets *o = hf_offsets_new(G, 4);
    int p = hf_offsets_partition(o, "flows", 3, INT64_MIN);
    CHECK_EQ_INT(p, 1);
    /* the example of offsets.h: a, b, d in the first 5 minutes, c, e, f in the next */
    const int64_t ends[] = {T0 + 1000, T0 + 2000, T0 + 301000, T0 + 3000, T0 + 302000, T0 + 303000};
    for (int i = 0; i < 6; i++) {
        CHECK_EQ_INT(hf_offsets_read(o, p, 100 + i, (double)ends[i]), 0);
        hf_offsets_hold(o, p, 100 + i, (double)ends[i]);
    }
    CHECK_EQ_INT(hf_offsets_next(o, "flows", 3), 106);
    hf_commit_point pt[4];
    CHECK_EQ_INT(hf_offsets_commit_points(o, T0, pt, 4), 1);          /* nothing released */
    CHECK_EQ_INT(pt[0].offset, 100);
    CHECK_EQ_STR(pt[0].topic, "flows");
    CHECK_EQ_INT(pt[0].partition, 3);
    CHECK_EQ_INT(hf_offsets_commit_points(o, T0 + 300000, pt, 4), 1); /* a, b, d released */
    CHECK_EQ_INT(pt[0].offset, 102);
    CHECK_EQ_INT(pt[0].released_until, T0 + 300000);
    CHECK_EQ_INT(hf_offsets_commit_points(o, T0 + 600000, pt, 4), 1); /* everything */
    CHECK_EQ_INT(pt[0].offset, 106);
    CHECK_EQ_INT(pt[0].released_until, T0 + 600000);
    hf_offsets_free(o);
}

TEST(the_file_partition_has_no_commit_point)
{
    hf_offsets *o = hf_offsets_new(G, 4);
    CHECK_EQ_INT(hf_offsets_read(o, 0, -1, (double)(T0 + 1000)), 0);
    hf_offsets_hold(o, 0, -1, (double)(T0 + 1000));
    hf_commit_point pt[2];
    CHECK_EQ_INT(hf_offsets_commit_points(o, INT64_MAX, pt, 2), 0);
    hf_offsets_free(o);
}

TEST(after_a_restart_flows_already_in_records_are_read_again_and_skipped)
{
    hf_offsets *o = hf_offsets_new(G, 4);
    /* the committed metadata said: complete through T0 + 5 min */
    int p = hf_offsets_partition(o, "flows", 0, T0 + 300000);
    CHECK_EQ_INT(hf_offsets_read(o, p, 7, (double)(T0 + 1000)), 1);     /* in records */
    CHECK_EQ_INT(hf_offsets_read(o, p, 8, (double)(T0 + 299999)), 1);
    CHECK_EQ_INT(hf_offsets_read(o, p, 9, (double)(T0 + 300000)), 0);   /* the next window */
    /* a later assignment's metadata may only move it on */
    CHECK_EQ_INT(hf_offsets_partition(o, "flows", 0, T0), p);
    CHECK_EQ_INT(hf_offsets_read(o, p, 10, (double)(T0 + 1000)), 1);
    /* a rejected record moves the position only */
    CHECK_EQ_INT(hf_offsets_read(o, p, 11, -1), 0);
    CHECK_EQ_INT(hf_offsets_next(o, "flows", 0), 12);
    hf_offsets_free(o);
}

TEST(the_watermark_is_the_slowest_partition_that_is_not_idle)
{
    hf_offsets *o = hf_offsets_new(G, 4);
    int a = hf_offsets_partition(o, "flows", 0, INT64_MIN);
    int b = hf_offsets_partition(o, "flows", 1, INT64_MIN);
    double now = 1000.0;
    hf_offsets_set_eof(o, a, 0, now);
    hf_offsets_set_eof(o, b, 0, now);
    CHECK(!hf_offsets_waking(o, a));                    /* not at its end: no clock needed */
    hf_offsets_advance(o, a, (double)(T0 + 50000), now);
    CHECK(hf_offsets_watermark(o, now) == -INFINITY);     /* b has given nothing yet */
    hf_offsets_advance(o, b, (double)(T0 + 20000), now);
    CHECK(hf_offsets_watermark(o, now) == (double)(T0 + 20000));
    /* b at its end: it holds the watermark back for HF_IDLE_MS, then not */
    hf_offsets_set_eof(o, b, 1, now);
    CHECK(hf_offsets_watermark(o, now + HF_IDLE_MS - 1) == (double)(T0 + 20000));
    CHECK(hf_offsets_watermark(o, now + HF_IDLE_MS) == (double)(T0 + 50000));
    /* everyone idle: the highest */
    hf_offsets_set_eof(o, a, 1, now + HF_IDLE_MS);
    double later = now + 3 * HF_IDLE_MS;
    CHECK(hf_offsets_watermark(o, later) == (double)(T0 + 50000));
    /* data again on a: b gets HF_IDLE_MS once more to show its own (the
     * clock is read only for a partition at its end: hf_offsets_waking) */
    CHECK(hf_offsets_waking(o, a) && hf_offsets_waking(o, b));
    hf_offsets_advance(o, a, (double)(T0 + 60000), later);
    CHECK(!hf_offsets_waking(o, a) && hf_offsets_waking(o, b));
    CHECK(hf_offsets_watermark(o, later + 1) == (double)(T0 + 20000));
    CHECK(hf_offsets_watermark(o, later + HF_IDLE_MS) == (double)(T0 + 60000));
    hf_offsets_free(o);
}

TEST(holds_past_the_table_fold_into_the_latest_and_stay_safe)
{
    hf_offsets *o = hf_offsets_new(G, 4);
    int p = hf_offsets_partition(o, "flows", 0, INT64_MIN);
    /* 100 flows, each in a 5-minute window of its own */
    for (int i = 0; i < 100; i++) {
        double end = (double)(T0 + (int64_t)i * 300000 + 1000);
        hf_offsets_read(o, p, i, end);
        hf_offsets_hold(o, p, i, end);
    }
    hf_commit_point pt[1];
    /* the first 40 windows emitted: the point may lag (folded holds release
     * later), but never passes a flow still held */
    CHECK_EQ_INT(hf_offsets_commit_points(o, T0 + 40 * 300000, pt, 1), 1);
    CHECK(pt[0].offset <= 40);
    CHECK(pt[0].offset >= 31);
    CHECK_EQ_INT(hf_offsets_commit_points(o, T0 + 100 * 300000, pt, 1), 1);
    CHECK_EQ_INT(pt[0].offset, 100);
    hf_offsets_free(o);
}

TEST(a_flush_completes_every_window_read_so_far)
{
    hf_offsets *o = hf_offsets_new(G, 4);
    int p = hf_offsets_partition(o, "flows", 0, INT64_MIN);
    hf_offsets_read(o, p, 0, (double)(T0 + 1000));
    hf_offsets_hold(o, p, 0, (double)(T0 + 1000));
    hf_offsets_advance(o, p, (double)(T0 + 1000), 0);
    int64_t through = hf_offsets_flush_through(o, T0 - 10000);
    CHECK_EQ_INT(through, T0 + 300000);
    hf_offsets_flushed(o, through);
    CHECK_EQ_INT(hf_offsets_read(o, p, 1, (double)(T0 + 2000)), 1);   /* a later flow of it: in records */
    hf_offsets_free(o);
}

TEST(with_confirmed_ends_a_partition_is_idle_only_while_its_source_confirms_its_end)
{
    hf_offsets *o = hf_offsets_new(G, 4);
    hf_offsets_confirm_ends(o);
    int a = hf_offsets_partition(o, "flows", 0, INT64_MIN);
    int b = hf_offsets_partition(o, "flows", 1, INT64_MIN);
    double now = 1000.0;
    hf_offsets_set_eof(o, a, 0, now);
    hf_offsets_set_eof(o, b, 0, now);
    hf_offsets_advance(o, a, (double)(T0 + 50000), now);
    hf_offsets_advance(o, b, (double)(T0 + 20000), now);
    hf_offsets_set_eof(o, b, 1, now);
    /* the broker cannot be asked (an outage): b holds the watermark back */
    CHECK(hf_offsets_watermark(o, now + 10 * HF_IDLE_MS) == (double)(T0 + 20000));
    /* asked, and b has nothing newer: idle once HF_IDLE_MS at its end has passed */
    double t = now + 10 * HF_IDLE_MS;
    hf_offsets_end_confirmed(o, b, t);
    CHECK(hf_offsets_watermark(o, t) == (double)(T0 + 50000));
    /* a confirmation grows old: b holds again */
    CHECK(hf_offsets_watermark(o, t + HF_CONFIRMED_MS + 1) == (double)(T0 + 20000));
    /* the broker has newer messages for b: not at its end, whatever the clock */
    hf_offsets_set_eof(o, b, 0, t);
    hf_offsets_end_confirmed(o, b, t + 100 * HF_IDLE_MS);
    CHECK(hf_offsets_watermark(o, t + 100 * HF_IDLE_MS) == (double)(T0 + 20000));
    hf_offsets_free(o);
}

TEST(after_a_reset_nothing_is_held_and_partitions_wait_for_their_assignment)
{
    hf_offsets *o = hf_offsets_new(G, 4);
    hf_offsets_confirm_ends(o);
    int a = hf_offsets_partition(o, "flows", 0, INT64_MIN);
    int b = hf_offsets_partition(o, "flows", 1, INT64_MIN);
    hf_offsets_set_eof(o, a, 0, 0);
    hf_offsets_set_eof(o, b, 0, 0);
    hf_offsets_read(o, a, 7, (double)(T0 + 1000));
    hf_offsets_hold(o, a, 7, (double)(T0 + 1000));
    hf_offsets_advance(o, a, (double)(T0 + 1000), 0);
    hf_commit_point pt[4];
    CHECK_EQ_INT(hf_offsets_commit_points(o, T0 - 300000, pt, 4), 1);
    hf_offsets_reset(o);                      /* revoked: windows dropped */
    CHECK_EQ_INT(hf_offsets_commit_points(o, INT64_MIN, pt, 4), 0);   /* nothing read since */
    CHECK(hf_offsets_max_end(o) == -INFINITY);
    /* b assigned again, a not: a does not hold the watermark back */
    hf_offsets_set_eof(o, b, 0, 0);
    hf_offsets_advance(o, b, (double)(T0 + 9000), 0);
    CHECK(hf_offsets_watermark(o, 1) == (double)(T0 + 9000));
    /* what was complete stays complete: a flow for it is read again, skipped */
    CHECK_EQ_INT(pt[0].released_until, T0 - 300000);
    hf_offsets_free(o);
}

TEST(a_partition_registered_again_after_a_reset_holds_alone_and_takes_the_commits_metadata)
{
    hf_offsets *o = hf_offsets_new(G, 4);
    int a = hf_offsets_partition(o, "flows", 0, INT64_MIN);
    int b = hf_offsets_partition(o, "flows", 1, INT64_MIN);
    hf_offsets_set_eof(o, a, 0, 0);
    hf_offsets_set_eof(o, b, 0, 0);
    hf_offsets_read(o, a, 5, (double)(T0 + 1000));
    hf_offsets_hold(o, a, 5, (double)(T0 + 1000));
    hf_offsets_advance(o, a, (double)(T0 + 1000), 0);
    hf_offsets_advance(o, b, (double)(T0 + 2000), 0);
    hf_offsets_reset(o);                      /* revoked: both handed over */
    hf_commit_point pt[2];
    CHECK_EQ_INT(hf_offsets_commit_points(o, INT64_MIN, pt, 2), 0);
    CHECK_EQ_INT(hf_offsets_next(o, "flows", 0), -1);
    CHECK(!hf_offsets_assigned(o, a) && !hf_offsets_assigned(o, b));
    /* only a comes back: b, not assigned, neither holds the watermark back
     * nor is woken when every partition was idle and data comes again */
    CHECK_EQ_INT(hf_offsets_partition(o, "flows", 0, T0 - 300000), a);
    CHECK(hf_offsets_assigned(o, a) && !hf_offsets_assigned(o, b));
    hf_offsets_set_eof(o, a, 1, 0);
    hf_offsets_advance(o, a, (double)(T0 + 60000), 5 * HF_IDLE_MS);
    CHECK(hf_offsets_watermark(o, 5 * HF_IDLE_MS + 1) == (double)(T0 + 60000));
    CHECK_EQ_INT(hf_offsets_read(o, a, 6, (double)(T0 - 300001)), 1);   /* the commit's metadata counts */
    hf_offsets_free(o);
}

TEST(a_commit_leaves_the_partitions_of_others_alone)
{
    hf_offsets *o = hf_offsets_new(G, 4);
    int a = hf_offsets_partition(o, "flows", 0, INT64_MIN);
    int b = hf_offsets_partition(o, "flows", 1, INT64_MIN);
    hf_offsets_set_eof(o, a, 0, 0);
    hf_offsets_set_eof(o, b, 0, 0);
    hf_offsets_reset(o);                      /* revoked: both handed over */
    hf_offsets_partition(o, "flows", 0, INT64_MIN);   /* a comes back, b is another's */
    hf_offsets_set_eof(o, a, 0, 0);
    hf_offsets_read(o, a, 10, (double)(T0 + 1000));
    hf_commit_point pt[4];
    /* this instance's windows are in records through T0 + 5 min: that is a's
     * news, not b's, whose owner may be far behind */
    CHECK_EQ_INT(hf_offsets_commit_points(o, T0 + 300000, pt, 4), 1);
    CHECK_EQ_INT(pt[0].partition, 0);
    CHECK_EQ_INT(hf_offsets_released(o, b), INT64_MIN);
    /* b comes back with its owner's commit (complete through T0): its flows
     * of the window after are read, not skipped as in records already */
    hf_offsets_partition(o, "flows", 1, T0);
    hf_offsets_set_eof(o, b, 0, 0);
    CHECK_EQ_INT(hf_offsets_read(o, b, 20, (double)(T0 + 1000)), 0);
    CHECK_EQ_INT(hf_offsets_read(o, b, 21, (double)(T0 - 300000 + 1000)), 1);
    hf_offsets_free(o);
}

TEST(a_pending_offset_keeps_the_commit_point_behind_it)
{
    hf_offsets *o = hf_offsets_new(G, 4);
    int a = hf_offsets_partition(o, "flows", 0, INT64_MIN);
    for (int i = 0; i < 10; i++) hf_offsets_read(o, a, 100 + i, -1);   /* none held */
    hf_commit_point pt[4];
    hf_offsets_pending(o, a, 104);
    CHECK_EQ_INT(hf_offsets_commit_points(o, T0, pt, 4), 1);
    CHECK_EQ_INT(pt[0].offset, 104);
    hf_offsets_pending(o, a, -1);
    CHECK_EQ_INT(hf_offsets_commit_points(o, T0, pt, 4), 1);
    CHECK_EQ_INT(pt[0].offset, 110);
    hf_offsets_free(o);
}

int main(void)
{
    RUN(a_flow_is_released_at_the_end_of_its_coarsest_window);
    RUN(commit_points_stop_at_the_lowest_offset_still_held);
    RUN(the_file_partition_has_no_commit_point);
    RUN(after_a_restart_flows_already_in_records_are_read_again_and_skipped);
    RUN(the_watermark_is_the_slowest_partition_that_is_not_idle);
    RUN(holds_past_the_table_fold_into_the_latest_and_stay_safe);
    RUN(a_flush_completes_every_window_read_so_far);
    RUN(with_confirmed_ends_a_partition_is_idle_only_while_its_source_confirms_its_end);
    RUN(after_a_reset_nothing_is_held_and_partitions_wait_for_their_assignment);
    RUN(a_partition_registered_again_after_a_reset_holds_alone_and_takes_the_commits_metadata);
    RUN(a_commit_leaves_the_partitions_of_others_alone);
    RUN(a_pending_offset_keeps_the_commit_point_behind_it);
    return UNIT_END();
}
