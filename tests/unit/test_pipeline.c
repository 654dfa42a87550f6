/* test_pipeline.c -- the pipeline's event-time path (stream/pipeline.c)
 * against a shard table of the test's own (stream/batch.h), with no engine:
 * which flows count, how far windows close, which shard gets a host, what
 * is counted as rejected, filtered, late or read again; flows far ahead of
 * the stream held aside, rejected or followed. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "conf/config.h"
#include "stream/pipeline.h"
#include "stream/wire.h"
#include "unit.h"

#define T0 1764165600000LL        /* a 5-minute boundary */
#define NSHARDS 3

/* What the shards were handed: every batch, in order. */
typedef struct handed {
    int     shard, n, final, discard, npartials;
    int64_t boundary;
    char    src[NSHARDS][64];     /* the last octet of each flow's source, as text */
} handed;

typedef struct fake {
    int     batch_cap;
    handed  got[4096];
    int     ngot;
    int64_t emitted;              /* what emitted_until says */
    int     flows_to[NSHARDS][256];  /* per shard: how many flows of host 10.0.0.x */
} fake;

static hf_batch *fake_batch(void *ctx, int shard)
{
    fake *f = ctx;
    hf_batch *b = hf_calloc(1, sizeof *b);
    b->flows = hf_malloc(sizeof(hf_flow) * (size_t)f->batch_cap);
    hf_batch_clear(b);
    (void)shard;
    return b;
}

static void fake_push(void *ctx, int shard, hf_batch *b)
{
    fake *f = ctx;
    if (f->ngot < 4096) {
        handed *h = &f->got[f->ngot++];
        h->shard = shard;
        h->n = b->n;
        h->final = b->final;
        h->discard = b->discard;
        h->npartials = b->npartials;
        h->boundary = b->boundary;
    }
    for (int i = 0; i < b->n; i++) f->flows_to[shard][b->flows[i].src[15]]++;
    if (b->discard) f->emitted = INT64_MIN;     /* the windows are gone: nothing is emitted */
    if (b->final) f->emitted = INT64_MAX;
    else if (b->boundary > f->emitted) f->emitted = b->boundary;
    hf_free(b->flows);
    hf_free(b->partials);
    hf_free(b);
}

static int64_t fake_emitted(void *ctx)
{
    return ((fake *)ctx)->emitted;
}

static hf_pipeline *pipeline_role(hf_config *cfg, fake *f, int nshards, const char *role)
{
    char err[256];
    hf_config_defaults(cfg, "/nonexistent");
    CHECK_EQ_INT(hf_config_set(cfg, "role", role, "test", 0, err, sizeof err), 0);
    cfg->role = hf_config_role_parse(role);
    CHECK_EQ_INT(hf_config_set(cfg, "windows", "10s,1m", "test", 0, err, sizeof err), 0);
    CHECK_EQ_INT(hf_config_set(cfg, "lateness", "5s", "test", 0, err, sizeof err), 0);
    CHECK_EQ_INT(hf_config_set(cfg, "networks", "10.0.0.0/8", "test", 0, err, sizeof err), 0);
    CHECK_EQ_INT(hf_config_set(cfg, "batch", "8", "test", 0, err, sizeof err), 0);
    memset(f, 0, sizeof *f);
    f->batch_cap = cfg->batch;
    f->emitted = INT64_MIN;
    hf_shards s = {nshards, f, fake_batch, fake_push, fake_emitted, NULL, NULL, NULL};   /* poll, sync, durable_until */
    hf_pipeline *p = hf_pipeline_new(cfg, &s, 0, err, sizeof err);
    CHECK(p != NULL);
    return p;
}

static hf_pipeline *pipeline(hf_config *cfg, fake *f, int nshards)
{
    return pipeline_role(cfg, f, nshards, "single");
}

/* A flow of 10.0.0.<host> ending at T0 + end_ms, from Kafka partition
 * part at offset. */
static int feed_at(hf_pipeline *p, int part, int64_t offset, int host, int64_t end_ms)
{
    char line[512];
    int n = snprintf(line, sizeof line,
                     "{\"src4_addr\":\"10.0.0.%d\",\"dst4_addr\":\"192.0.2.1\",\"proto\":6,"
                     "\"in_packets\":1,\"in_bytes\":60,\"first\":%lld,\"last\":%lld}",
                     host, (long long)(T0 + end_ms - 10), (long long)(T0 + end_ms));
    return hf_pipeline_feed(p, part, offset, 0, line, (size_t)n, 0);
}

/* A flow line from 10.0.0.<host> ending at T0 + end_ms. */
static int feed(hf_pipeline *p, int host, int64_t end_ms)
{
    char line[512];
    int n = snprintf(line, sizeof line,
                     "{\"ipfix.sourceIPv4Address\":\"10.0.0.%d\",\"ipfix.destinationIPv4Address\":\"192.0.2.1\","
                     "\"ipfix.protocolIdentifier\":6,\"ipfix.packetDeltaCount\":1,\"ipfix.octetDeltaCount\":60,"
                     "\"ipfix.flowStartMilliseconds\":%lld,\"ipfix.flowEndMilliseconds\":%lld}",
                     host, (long long)(T0 + end_ms - 10), (long long)(T0 + end_ms));
    return hf_pipeline_feed(p, 0, -1, 1, line, (size_t)n, 0);
}

static int64_t last_boundary(const fake *f)
{
    int64_t b = INT64_MIN;
    for (int i = 0; i < f->ngot; i++)
        if (f->got[i].boundary > b) b = f->got[i].boundary;
    return b;
}

TEST(windows_close_when_the_watermark_passes_them)
{
    hf_config cfg;
    fake f;
    hf_pipeline *p = pipeline(&cfg, &f, 1);
    feed(p, 1, 1000);
    feed(p, 1, 14000);                        /* watermark 9 s: nothing has closed */
    CHECK_EQ_INT(last_boundary(&f), T0);
    int before = f.ngot;
    feed(p, 1, 15000);                        /* watermark 10 s: [0, 10 s) closes */
    CHECK_EQ_INT(f.ngot, before + 1);
    CHECK_EQ_INT(f.got[f.ngot - 1].boundary, T0 + 10000);
    CHECK_EQ_INT(f.got[f.ngot - 1].n, 1);     /* handed over with the flows since the last */
    feed(p, 1, 36000);                        /* watermark 31 s: through 30 s */
    CHECK_EQ_INT(last_boundary(&f), T0 + 30000);
    hf_pipeline_finish(p);
    CHECK(f.got[f.ngot - 1].final);
    hf_pipeline_free(p);
    hf_config_release(&cfg);
}

TEST(a_flow_behind_the_closed_windows_is_late_and_counted)
{
    hf_config cfg;
    fake f;
    hf_log_level = HF_LOG_ERROR;
    hf_pipeline *p = pipeline(&cfg, &f, 1);
    feed(p, 1, 40000);                        /* closes through 30 s */
    feed(p, 2, 29999);                        /* its window [20, 30 s) is closed */
    feed(p, 3, 30000);                        /* [30, 40 s) is open */
    const hf_stream_stats *st = hf_pipeline_stats(p);
    CHECK_EQ_INT(st->late, 1);
    CHECK_EQ_INT(st->accepted, 2);
    hf_pipeline_finish(p);
    int flows = 0;
    for (int h = 0; h < 256; h++) flows += f.flows_to[0][h];
    CHECK_EQ_INT(flows, 2);
    CHECK_EQ_INT(f.flows_to[0][2], 0);
    hf_pipeline_free(p);
    hf_config_release(&cfg);
}

TEST(every_flow_of_a_host_goes_to_one_shard)
{
    hf_config cfg;
    fake f;
    hf_pipeline *p = pipeline(&cfg, &f, NSHARDS);
    for (int i = 0; i < 3000; i++) feed(p, i % 200, 1000 + i * 10);
    hf_pipeline_finish(p);
    int used[NSHARDS] = {0};
    for (int h = 0; h < 200; h++) {
        int owners = 0, total = 0;
        for (int s = 0; s < NSHARDS; s++)
            if (f.flows_to[s][h]) {
                owners++;
                used[s] = 1;
                total += f.flows_to[s][h];
            }
        CHECK_EQ_INT(owners, 1);
        CHECK_EQ_INT(total, 15);
    }
    for (int s = 0; s < NSHARDS; s++) CHECK(used[s]);   /* 200 hosts spread over 3 shards */
    /* windows close in every shard at the same point of the input */
    for (int i = 0; i + NSHARDS <= f.ngot; i++)
        if (f.got[i].boundary != f.got[i + 1].boundary && i + 1 < f.ngot && !f.got[i + 1].final)
            CHECK(f.got[i + 1].shard == 0);
    hf_pipeline_free(p);
    hf_config_release(&cfg);
}

TEST(a_full_batch_is_handed_over_at_once)
{
    hf_config cfg;
    fake f;
    hf_pipeline *p = pipeline(&cfg, &f, 1);
    feed(p, 1, 1000);                         /* the first flow sets the boundary */
    CHECK_EQ_INT(f.ngot, 1);
    for (int i = 0; i < 8; i++) feed(p, 1, 1000);
    CHECK_EQ_INT(f.ngot, 2);
    CHECK_EQ_INT(f.got[1].n, 8);
    CHECK_EQ_INT(f.got[1].boundary, f.got[0].boundary);   /* no window closed meanwhile */
    hf_pipeline_free(p);
    hf_config_release(&cfg);
}

TEST(rejected_and_unmonitored_records_are_counted_by_reason)
{
    hf_config cfg;
    fake f;
    hf_log_level = HF_LOG_ERROR;
    hf_pipeline *p = pipeline(&cfg, &f, 1);
    CHECK(hf_pipeline_feed(p, 0, -1, 1, "{", 1, 0) > 0);
    CHECK(hf_pipeline_feed(p, 0, -1, 2, "[1]", 3, 0) > 0);
    CHECK(hf_pipeline_feed(p, 0, -1, 3, NULL, 0, 1) == HF_REASON_TOO_LONG);
    const char *outside = "{\"src4_addr\":\"192.0.2.9\",\"dst4_addr\":\"10.0.0.1\",\"proto\":6,"
                          "\"in_packets\":1,\"in_bytes\":60,\"first\":\"2025-11-26T14:00:00Z\","
                          "\"last\":\"2025-11-26T14:00:01Z\"}";
    CHECK_EQ_INT(hf_pipeline_feed(p, 0, -1, 4, outside, strlen(outside), 0), 0);
    const hf_stream_stats *st = hf_pipeline_stats(p);
    CHECK_EQ_INT(st->records, 4);
    CHECK_EQ_INT(st->decoded, 1);
    CHECK_EQ_INT(st->filtered, 1);
    CHECK_EQ_INT(st->rejected[1], 1);                  /* malformed_json */
    CHECK_EQ_INT(st->rejected[2], 1);                  /* not_object */
    CHECK_EQ_INT(st->rejected[HF_REASON_TOO_LONG], 1);
    CHECK_EQ_STR(hf_pipeline_reason_name(HF_REASON_TOO_LONG), "too_long");
    hf_pipeline_free(p);
    hf_config_release(&cfg);
}

TEST(flows_already_in_records_before_a_restart_are_skipped)
{
    hf_config cfg;
    fake f;
    hf_pipeline *p = pipeline(&cfg, &f, 1);
    hf_offsets *o = hf_pipeline_offsets(p);
    int part = hf_offsets_partition(o, "flows", 0, T0 + 60000);   /* complete through 1 min */
    hf_offsets_set_eof(o, part, 0, 0);
    char line[512];
    int n = snprintf(line, sizeof line,
                     "{\"src4_addr\":\"10.0.0.1\",\"dst4_addr\":\"192.0.2.1\",\"proto\":6,"
                     "\"in_packets\":1,\"in_bytes\":60,\"first\":\"2025-11-26T14:00:20Z\","
                     "\"last\":\"2025-11-26T14:00:30Z\"}");
    CHECK_EQ_INT(hf_pipeline_feed(p, part, 41, 0, line, (size_t)n, 0), 0);
    CHECK_EQ_INT(hf_pipeline_stats(p)->replayed, 1);
    CHECK_EQ_INT(hf_pipeline_stats(p)->accepted, 0);
    CHECK_EQ_INT(hf_offsets_next(o, "flows", 0), 42);
    hf_pipeline_free(p);
    hf_config_release(&cfg);
}

TEST(a_flush_closes_every_open_window_and_later_flows_are_late)
{
    hf_config cfg;
    fake f;
    hf_log_level = HF_LOG_ERROR;
    hf_pipeline *p = pipeline(&cfg, &f, 2);
    feed(p, 1, 1000);
    feed(p, 2, 2000);
    hf_pipeline_flush(p);
    CHECK_EQ_INT(last_boundary(&f), T0 + 60000);       /* the coarsest window of those flows */
    feed(p, 3, 3000);                         /* in a window written already: dropped */
    const hf_stream_stats *st = hf_pipeline_stats(p);
    CHECK_EQ_INT(st->late + st->replayed, 1);
    CHECK_EQ_INT(st->accepted, 2);
    hf_pipeline_free(p);
    hf_config_release(&cfg);
}

TEST(a_revocation_drops_the_open_windows_for_the_next_owner_to_rebuild)
{
    hf_config cfg;
    fake f;
    hf_log_level = HF_LOG_ERROR;
    hf_pipeline *p = pipeline(&cfg, &f, 2);
    hf_offsets *o = hf_pipeline_offsets(p);
    int part = hf_offsets_partition(o, "flows", 0, INT64_MIN);
    hf_offsets_set_eof(o, part, 0, 0);
    for (int i = 0; i < 40; i++) feed_at(p, part, 100 + i, i % 5, 1000 + i * 2000);   /* 1 s .. 79 s */
    /* through 70 s is closed: the first minute is emitted, [60 s, 2 min) is open */
    CHECK_EQ_INT(last_boundary(&f), T0 + 70000);
    hf_commit_point pt[4];
    CHECK_EQ_INT(hf_pipeline_commit_points(p, hf_pipeline_emitted(p), pt, 4), 1);
    CHECK_EQ_INT(pt[0].offset, 130);                  /* the first flow ending at or after 60 s */
    CHECK_EQ_INT(pt[0].released_until, T0 + 70000);   /* records complete through 70 s */
    int before = f.ngot, given = 0;
    for (int s = 0; s < 2; s++)
        for (int h = 0; h < 5; h++) given += f.flows_to[s][h];
    hf_pipeline_reset(p);
    CHECK_EQ_INT(f.ngot, before + 2);                 /* one discard batch for each shard, no flows, */
    for (int i = before; i < f.ngot; i++) CHECK(f.got[i].discard && f.got[i].n == 0 && !f.got[i].final);
    CHECK_EQ_INT(hf_offsets_next(o, "flows", 0), -1); /* and the partition is forgotten */
    CHECK_EQ_INT(hf_pipeline_commit_points(p, hf_pipeline_emitted(p), pt, 4), 0);
    /* assigned again (here, or at the next owner): from the commit, the
     * flows of the emitted minute are skipped, the open one is rebuilt */
    part = hf_offsets_partition(o, "flows", 0, T0 + 60000);
    hf_offsets_set_eof(o, part, 0, 0);
    for (int i = 30; i < 40; i++) feed_at(p, part, 100 + i, i % 5, 1000 + i * 2000);
    CHECK_EQ_INT(hf_pipeline_stats(p)->late, 0);
    CHECK_EQ_INT(hf_pipeline_stats(p)->accepted, 50);
    hf_pipeline_finish(p);
    int flows = 0;
    for (int s = 0; s < 2; s++)
        for (int h = 0; h < 5; h++) flows += f.flows_to[s][h];
    CHECK_EQ_INT(flows, given + 10);                  /* the open minute's 10 again; what the */
    CHECK(given < 40);                                /* shards had not got yet was dropped */
    hf_pipeline_free(p);
    hf_config_release(&cfg);
}

TEST(the_relay_passes_every_flow_on_and_holds_nothing)
{
    hf_config cfg;
    fake f;
    hf_log_level = HF_LOG_ERROR;
    hf_pipeline *p = pipeline_role(&cfg, &f, 1, "relay");
    hf_offsets *o = hf_pipeline_offsets(p);
    int part = hf_offsets_partition(o, "flows", 2, INT64_MIN);
    hf_offsets_set_eof(o, part, 0, 0);
    feed_at(p, part, 7, 1, 600000);
    feed_at(p, part, 8, 2, 1000);                     /* far behind: late downstream, not here */
    feed_at(p, part, 9, 3, 600001);
    CHECK_EQ_INT(f.ngot, 0);                          /* a batch is not full yet */
    hf_commit_point pt[2];
    hf_pipeline_sync(p);
    CHECK_EQ_INT(f.ngot, 1);
    CHECK_EQ_INT(f.got[0].n, 3);
    CHECK_EQ_INT(hf_pipeline_commit_points(p, hf_pipeline_emitted(p), pt, 2), 1);
    CHECK_EQ_INT(pt[0].offset, 10);                   /* after the last flow: nothing held */
    CHECK_EQ_INT(pt[0].released_until, INT64_MIN);    /* a restart skips nothing */
    CHECK_EQ_INT(hf_pipeline_stats(p)->late, 0);
    CHECK_EQ_INT(hf_pipeline_stats(p)->accepted, 3);
    hf_pipeline_free(p);
    hf_config_release(&cfg);
}

/* A partial window of 10.0.0.<host> for [T0 + start_ms, + g_ms), fed from
 * partition part at offset. */
static int feed_partial(hf_pipeline *p, int part, int64_t offset, int host, int64_t start_ms, int64_t g_ms)
{
    hf_buf b;
    hf_buf_init(&b, 64);
    uint8_t addr[16] = {0};
    addr[10] = addr[11] = 0xff;
    addr[12] = 10;
    addr[15] = (uint8_t)host;
    const uint8_t state[] = {1, 0, 0, 0};
    hf_wire_partial_begin(&b, addr, 4, 1, 0, T0 + start_ms, g_ms, 1);
    hf_wire_partial_state(&b, "total", 0, state, sizeof state);
    int rc = hf_pipeline_feed(p, part, offset, 0, b.data, b.len, 0);
    hf_buf_release(&b);
    return rc;
}

/* Progress: every partition of the two-partition topic "flows" through
 * T0 + through_ms. */
static void feed_progress(hf_pipeline *p, int part, int64_t offset, int64_t through)
{
    hf_buf b;
    hf_buf_init(&b, 64);
    hf_wire_mark marks[2] = {{0, through}, {1, through}};
    hf_wire_progress_write(&b, HF_WIRE_WINDOWS, "partial-1", "flows", 2, marks, 2);
    hf_pipeline_feed(p, part, offset, 0, b.data, b.len, 0);
    hf_buf_release(&b);
}

TEST(the_merge_role_closes_windows_on_the_partial_stages_progress)
{
    hf_config cfg;
    fake f;
    hf_log_level = HF_LOG_ERROR;
    hf_pipeline *p = pipeline_role(&cfg, &f, 2, "merge");
    hf_offsets *o = hf_pipeline_offsets(p);
    int part = hf_offsets_partition(o, "partials", 0, INT64_MIN);
    hf_offsets_set_eof(o, part, 0, 0);
    CHECK_EQ_INT(feed_partial(p, part, 10, 1, 0, 10000), 0);
    CHECK_EQ_INT(feed_partial(p, part, 11, 2, 10000, 10000), 0);
    hf_pipeline_tick(p);
    CHECK_EQ_INT(last_boundary(&f), INT64_MIN);               /* no progress: nothing closes */
    feed_progress(p, part, 12, T0 + 10000);
    CHECK_EQ_INT(last_boundary(&f), T0 + 10000);              /* no lateness: the partials waited */
    CHECK_EQ_INT(hf_pipeline_closed_until(p), T0 + 10000);
    int partials = 0;
    for (int i = 0; i < f.ngot; i++) partials += f.got[i].npartials;
    CHECK_EQ_INT(partials, 2);                                /* handed over with the boundary */
    CHECK_EQ_INT(feed_partial(p, part, 13, 3, 0, 10000), 0);  /* its window has closed */
    CHECK_EQ_INT(hf_pipeline_stats(p)->late, 1);
    CHECK_EQ_INT(feed_partial(p, part, 14, 3, 20000, 5000), HF_REASON_BAD_WINDOW);
    CHECK_EQ_INT(feed(p, 1, 30000), HF_REASON_WRONG_KIND);   /* a flow */
    CHECK_EQ_STR(hf_pipeline_reason_name(HF_REASON_WRONG_KIND), "wrong_kind");
    CHECK_EQ_INT(hf_pipeline_stats(p)->accepted, 2);
    CHECK_EQ_INT(hf_pipeline_stats(p)->progress, 1);
    {   /* the sums of pipeline.h: a progress message is read, not decoded */
        const hf_stream_stats *st = hf_pipeline_stats(p);
        uint64_t rej = 0;
        for (int r = 1; r < HF_REASONS; r++) rej += st->rejected[r];
        CHECK_EQ_INT(st->records, st->decoded + rej + st->skipped + st->progress);
        CHECK_EQ_INT(st->decoded, st->accepted + st->filtered + st->late + st->replayed + st->held);
    }
    /* the commit point: the partial of [10 s, 20 s) is held (its minute is
     * open), and the progress message is pinned (read again after a restart) */
    hf_commit_point pt[2];
    CHECK_EQ_INT(hf_pipeline_commit_points(p, T0 + 10000, pt, 2), 1);
    CHECK_EQ_INT(pt[0].offset, 10);
    CHECK_EQ_INT(hf_pipeline_commit_points(p, T0 + 60000, pt, 2), 1);
    CHECK_EQ_INT(pt[0].offset, 12);
    CHECK(!hf_pipeline_complete(p));
    feed_progress(p, part, 15, HF_WIRE_END);
    CHECK(hf_pipeline_complete(p));
    CHECK_EQ_INT(last_boundary(&f), INT64_MAX);
    hf_pipeline_free(p);
    hf_config_release(&cfg);
}

#define HOUR 3600000LL

TEST(one_flow_far_ahead_is_held_aside_and_rejected_and_makes_nothing_late)
{
    hf_config cfg;
    fake f;
    hf_log_level = HF_LOG_ERROR;
    hf_pipeline *p = pipeline(&cfg, &f, 1);
    for (int i = 0; i < 100; i++) feed(p, 1, 1000 + i * 100);
    feed(p, 2, 20 * HOUR);                    /* a bad clock: 20 h ahead */
    CHECK(last_boundary(&f) < T0 + 20000);    /* it closed nothing */
    for (int i = 100; i < 200; i++) feed(p, 3, 1000 + i * 100);
    const hf_stream_stats *st = hf_pipeline_stats(p);
    CHECK_EQ_INT(st->late, 0);
    CHECK_EQ_INT(st->rejected[HF_REASON_FUTURE], 1);   /* 32 flows stayed behind it */
    CHECK_EQ_INT(st->accepted, 200);
    hf_pipeline_finish(p);
    CHECK_EQ_INT(f.flows_to[0][2], 0);
    hf_pipeline_free(p);
    hf_config_release(&cfg);
}

TEST(a_stream_that_jumps_ahead_is_followed)
{
    hf_config cfg;
    fake f;
    hf_log_level = HF_LOG_ERROR;
    hf_pipeline *p = pipeline(&cfg, &f, 1);
    for (int i = 0; i < 50; i++) feed(p, 1, 1000 + i * 100);
    for (int i = 0; i < 50; i++) feed(p, 2, 3 * HOUR + i * 100);   /* a 3 h gap in the data */
    const hf_stream_stats *st = hf_pipeline_stats(p);
    CHECK_EQ_INT(st->rejected[HF_REASON_FUTURE], 0);
    CHECK_EQ_INT(st->accepted, 100);
    CHECK_EQ_INT(st->late, 0);
    CHECK(last_boundary(&f) > T0 + 3 * HOUR - 60000);   /* the watermark came along */
    hf_pipeline_finish(p);
    CHECK_EQ_INT(f.flows_to[0][2], 50);
    hf_pipeline_free(p);
    hf_config_release(&cfg);
}

TEST(flows_held_aside_are_decided_at_the_end)
{
    hf_config cfg;
    fake f;
    hf_log_level = HF_LOG_ERROR;
    hf_pipeline *p = pipeline(&cfg, &f, 1);
    feed(p, 1, 1000);
    feed(p, 2, 30 * HOUR);                    /* followed by too few flows to decide */
    feed(p, 3, 2000);
    feed(p, 4, 90 * HOUR);                    /* the last flow */
    const hf_stream_stats *st = hf_pipeline_stats(p);
    CHECK_EQ_INT(st->accepted, 2);
    hf_pipeline_finish(p);                    /* more stayed behind than followed: outliers */
    CHECK_EQ_INT(st->rejected[HF_REASON_FUTURE], 2);
    CHECK_EQ_INT(st->accepted, 2);
    hf_pipeline_free(p);
    hf_config_release(&cfg);
}

TEST(a_flow_held_aside_keeps_its_offset_from_being_committed)
{
    hf_config cfg;
    fake f;
    hf_log_level = HF_LOG_ERROR;
    hf_pipeline *p = pipeline(&cfg, &f, 1);
    hf_offsets *o = hf_pipeline_offsets(p);
    int part = hf_offsets_partition(o, "flows", 0, INT64_MIN);
    hf_offsets_set_eof(o, part, 0, 0);
    char line[512];
    for (int i = 0; i < 12; i++) {
        int64_t end = T0 + (i == 5 ? 20 * HOUR : i * 60000LL);
        int n = snprintf(line, sizeof line,
                         "{\"ipfix.sourceIPv4Address\":\"10.0.0.1\",\"ipfix.destinationIPv4Address\":\"192.0.2.1\","
                         "\"ipfix.protocolIdentifier\":6,\"ipfix.packetDeltaCount\":1,\"ipfix.octetDeltaCount\":60,"
                         "\"ipfix.flowStartMilliseconds\":%lld,\"ipfix.flowEndMilliseconds\":%lld}",
                         (long long)end - 10, (long long)end);
        CHECK_EQ_INT(hf_pipeline_feed(p, part, 100 + i, 0, line, (size_t)n, 0), 0);
    }
    hf_commit_point pts[4];
    CHECK_EQ_INT(hf_pipeline_commit_points(p, hf_pipeline_emitted(p), pts, 4), 1);
    CHECK(pts[0].offset <= 105);              /* offset 105 is held aside, undecided */
    hf_pipeline_flush(p);                     /* decided (rejected), every window emitted */
    f.emitted = INT64_MAX - 1;
    CHECK_EQ_INT(hf_pipeline_stats(p)->rejected[HF_REASON_FUTURE], 1);
    CHECK_EQ_INT(hf_pipeline_commit_points(p, hf_pipeline_emitted(p), pts, 4), 1);
    CHECK_EQ_INT(pts[0].offset, 112);
    hf_pipeline_free(p);
    hf_config_release(&cfg);
}

/* Record i of two partitions' stream: flows of hosts 10.0.0.x moving
 * forward a second at a time, one late, one far ahead, a malformed one, a
 * pretty-printed one (newlines inside) and one outside the networks. */
static int kafka_record(int i, char *out, size_t cap)
{
    int64_t end = T0 + (int64_t)(i / 2) * 1000;
    if (i % 50 == 7) end -= 20000;                      /* behind the closed windows */
    if (i == 333) end += 20 * 3600000LL;                /* far ahead: held aside, rejected */
    if (i % 97 == 5) return snprintf(out, cap, "{\"ipfix.sourceIPv4Address\":\"10.0.0.1\",");
    const char *fmt = i % 31 == 4
        ? "{\n \"ipfix.sourceIPv4Address\": \"%s.%d\",\n \"ipfix.destinationIPv4Address\": \"192.0.2.1\",\n"
          " \"ipfix.protocolIdentifier\": 6, \"ipfix.packetDeltaCount\": 1, \"ipfix.octetDeltaCount\": 60,\n"
          " \"ipfix.flowStartMilliseconds\": %lld, \"ipfix.flowEndMilliseconds\": %lld\n}\n"
        : "{\"ipfix.sourceIPv4Address\":\"%s.%d\",\"ipfix.destinationIPv4Address\":\"192.0.2.1\","
          "\"ipfix.protocolIdentifier\":6,\"ipfix.packetDeltaCount\":1,\"ipfix.octetDeltaCount\":60,"
          "\"ipfix.flowStartMilliseconds\":%lld,\"ipfix.flowEndMilliseconds\":%lld}";
    return snprintf(out, cap, fmt, i % 13 == 2 ? "192.168.0" : "10.0.0", i % 200,
                    (long long)end - 10, (long long)end);
}

/* One pipeline fed record by record, one given chunks of records decoded on
 * threads (Kafka with -j N): the same batches to the same shards, the same
 * counters, the same commit points. */
TEST(chunks_of_records_on_threads_give_what_records_fed_one_by_one_give)
{
    static hf_config cfg1, cfg2;
    static fake f1, f2;
    hf_log_level = HF_LOG_ERROR;
    hf_pipeline *p1 = pipeline(&cfg1, &f1, NSHARDS), *p2;
    char err[256];
    hf_config_defaults(&cfg2, "/nonexistent");
    hf_config_set(&cfg2, "windows", "10s,1m", "test", 0, err, sizeof err);
    hf_config_set(&cfg2, "lateness", "5s", "test", 0, err, sizeof err);
    hf_config_set(&cfg2, "networks", "10.0.0.0/8", "test", 0, err, sizeof err);
    hf_config_set(&cfg2, "batch", "8", "test", 0, err, sizeof err);
    memset(&f2, 0, sizeof f2);
    f2.batch_cap = cfg2.batch;
    f2.emitted = INT64_MIN;
    hf_shards sh = {.n = NSHARDS, .ctx = &f2, .batch = fake_batch, .push = fake_push, .emitted_until = fake_emitted};
    p2 = hf_pipeline_new(&cfg2, &sh, 3, err, sizeof err);
    CHECK(p2 != NULL);
    if (!p2) return;
    CHECK(hf_pipeline_threaded(p2));
    CHECK_EQ_INT(hf_pipeline_decoders(p2), 3);
    int part1[2], part2[2];
    for (int k = 0; k < 2; k++) {
        part1[k] = hf_offsets_partition(hf_pipeline_offsets(p1), "flows", k, INT64_MIN);
        part2[k] = hf_offsets_partition(hf_pipeline_offsets(p2), "flows", k, INT64_MIN);
        hf_offsets_set_eof(hf_pipeline_offsets(p1), part1[k], 0, 0);
        hf_offsets_set_eof(hf_pipeline_offsets(p2), part2[k], 0, 0);
    }
    char rec[1024];
    hf_chunk *c = NULL;
    for (int i = 0; i < 6000; i++) {
        int n = kafka_record(i, rec, sizeof rec);
        hf_pipeline_feed(p1, part1[i % 2], 100 + i / 2, 0, rec, (size_t)n, 0);
        if (!c) c = hf_pipeline_chunk(p2);
        CHECK_EQ_INT(hf_chunk_add_record(c, part2[i % 2], 100 + i / 2, rec, (size_t)n), 0);
        if (c->nrec == 1 + (uint32_t)(i % 37) * 11 || i == 5999) {   /* chunks of many sizes */
            hf_pipeline_submit(p2, c, c->len, 0);
            c = NULL;
        }
    }
    hf_pipeline_drain(p2);
    const hf_stream_stats *s1 = hf_pipeline_stats(p1), *s2 = hf_pipeline_stats(p2);
    CHECK_EQ_INT(s2->records, s1->records);
    CHECK_EQ_INT(s2->decoded, s1->decoded);
    CHECK_EQ_INT(s2->filtered, s1->filtered);
    CHECK_EQ_INT(s2->late, s1->late);
    CHECK_EQ_INT(s2->accepted, s1->accepted);
    for (int r = 0; r < HF_REASONS; r++) CHECK_EQ_INT(s2->rejected[r], s1->rejected[r]);
    CHECK(s1->late > 0 && s1->rejected[HF_DECODE_MALFORMED] > 0 && s1->filtered > 0);
    CHECK_EQ_INT(f2.ngot, f1.ngot);
    int same = f1.ngot == f2.ngot;
    for (int i = 0; same && i < f1.ngot; i++)
        same = f1.got[i].shard == f2.got[i].shard && f1.got[i].n == f2.got[i].n &&
               f1.got[i].boundary == f2.got[i].boundary;
    CHECK(same);
    CHECK(memcmp(f1.flows_to, f2.flows_to, sizeof f1.flows_to) == 0);
    hf_commit_point a[4], b[4];
    int na = hf_pipeline_commit_points(p1, hf_pipeline_emitted(p1), a, 4),
        nb = hf_pipeline_commit_points(p2, hf_pipeline_emitted(p2), b, 4);
    CHECK_EQ_INT(nb, na);
    for (int i = 0; i < na && i < nb; i++) {
        CHECK_EQ_INT(b[i].offset, a[i].offset);
        CHECK_EQ_INT(b[i].released_until, a[i].released_until);
    }
    hf_pipeline_free(p1);
    hf_pipeline_free(p2);
    hf_config_release(&cfg1);
    hf_config_release(&cfg2);
}

/* A relay's binary flow of 10.0.0.<host> ending at T0 + end_ms, from
 * partition part at offset. */
static int feed_relayed(hf_pipeline *p, int part, int64_t offset, int host, int64_t end_ms)
{
    hf_flow fl;
    memset(&fl, 0, sizeof fl);
    fl.src[10] = fl.src[11] = 0xff;
    fl.src[12] = 10;
    fl.src[15] = (uint8_t)host;
    fl.dst[10] = fl.dst[11] = 0xff;
    fl.dst[12] = 192;
    fl.dst[14] = 2;
    fl.dst[15] = 1;
    fl.family = HF_AF_INET;
    fl.proto = 6;
    fl.packets = 1;
    fl.bytes = 60;
    fl.start_ms = T0 + end_ms - 10;
    fl.end_ms = T0 + end_ms;
    uint8_t msg[HF_WIRE_FLOW_MAX];
    size_t n = hf_wire_flow_encode(&fl, msg);
    return hf_pipeline_feed(p, part, offset, 0, (const char *)msg, n, 0);
}

TEST(relayed_flows_close_windows_on_the_relays_progress_only)
{
    hf_config cfg;
    fake f;
    hf_log_level = HF_LOG_ERROR;
    hf_pipeline *p = pipeline(&cfg, &f, 1);
    hf_offsets *o = hf_pipeline_offsets(p);
    int part = hf_offsets_partition(o, "byhost", 0, INT64_MIN);
    hf_offsets_set_eof(o, part, 0, 0);
    /* garbage that starts with a binary flow's tag is rejected and changes
     * nothing: the flows' ends still make the watermark */
    const char junk[] = "\x01 not a flow";
    CHECK(hf_pipeline_feed(p, part, 9, 0, junk, sizeof junk - 1, 0) > 0);
    CHECK(hf_pipeline_marks(p) == NULL);
    /* one raw partition passed on far ahead of the other: their flows mix */
    CHECK_EQ_INT(feed_relayed(p, part, 10, 1, 100000), 0);
    CHECK(hf_pipeline_marks(p) != NULL);              /* from the first that reads */
    CHECK_EQ_INT(feed_relayed(p, part, 11, 2, 1000), 0);
    CHECK_EQ_INT(feed_relayed(p, part, 12, 1, 120000), 0);
    CHECK_EQ_INT(feed_relayed(p, part, 13, 2, 3000), 0);
    hf_pipeline_tick(p);
    CHECK_EQ_INT(last_boundary(&f), INT64_MIN);       /* no progress yet: nothing closes */
    CHECK_EQ_INT(hf_pipeline_stats(p)->late, 0);
    CHECK_EQ_INT(hf_pipeline_stats(p)->accepted, 4);
    hf_buf b;
    hf_buf_init(&b, 64);
    hf_wire_mark marks[2] = {{0, T0 + 120000}, {1, T0 + 3000}};
    hf_wire_progress_write(&b, HF_WIRE_FLOWS, "relay-1", "flows", 2, marks, 2);
    CHECK_EQ_INT(hf_pipeline_feed(p, part, 14, 0, b.data, b.len, 0), 0);
    hf_buf_release(&b);
    CHECK(last_boundary(&f) <= T0);                   /* 3 s less the lateness: nothing with flows */
    CHECK_EQ_INT(feed_relayed(p, part, 15, 2, 4000), 0);
    CHECK_EQ_INT(hf_pipeline_stats(p)->late, 0);
    hf_buf_init(&b, 64);
    marks[1].through = T0 + 130000;
    hf_wire_progress_write(&b, HF_WIRE_FLOWS, "relay-1", "flows", 2, marks, 2);
    CHECK_EQ_INT(hf_pipeline_feed(p, part, 16, 0, b.data, b.len, 0), 0);
    hf_buf_release(&b);
    CHECK_EQ_INT(last_boundary(&f), T0 + 110000);     /* the lowest mark, 120 s, less 5 s */
    hf_pipeline_free(p);
    hf_config_release(&cfg);
}

int main(void)
{
    RUN(windows_close_when_the_watermark_passes_them);
    RUN(a_flow_behind_the_closed_windows_is_late_and_counted);
    RUN(every_flow_of_a_host_goes_to_one_shard);
    RUN(a_full_batch_is_handed_over_at_once);
    RUN(rejected_and_unmonitored_records_are_counted_by_reason);
    RUN(flows_already_in_records_before_a_restart_are_skipped);
    RUN(a_flush_closes_every_open_window_and_later_flows_are_late);
    RUN(a_revocation_drops_the_open_windows_for_the_next_owner_to_rebuild);
    RUN(the_relay_passes_every_flow_on_and_holds_nothing);
    RUN(the_merge_role_closes_windows_on_the_partial_stages_progress);
    RUN(one_flow_far_ahead_is_held_aside_and_rejected_and_makes_nothing_late);
    RUN(a_stream_that_jumps_ahead_is_followed);
    RUN(flows_held_aside_are_decided_at_the_end);
    RUN(a_flow_held_aside_keeps_its_offset_from_being_committed);
    RUN(chunks_of_records_on_threads_give_what_records_fed_one_by_one_give);
    RUN(relayed_flows_close_windows_on_the_relays_progress_only);
    return UNIT_END();
}
