/* in_kafka.c -- the Kafka input: a consumer in a group that feeds the
 * pipeline message by message and commits offsets at least once.  With
 * decoder threads (-j N > 1) the messages are decoded on them, in chunks
 * taken back in order ("Decoding on threads" below).
 *
 * Automatic commits are off.  On assignment it reads the committed offsets
 * with their metadata ("hostflow:1:<ms>", how far that partition's flows
 * were already in records) and hands that to the offsets (stream/offsets.h).
 * Every commit_interval the run calls commit(): the offsets the pipeline
 * says are safe once every output has acknowledged its records.
 * Undecodable messages go to the dead-letter topic with the reason.  Every
 * librdkafka setting of the configuration passes unchanged.
 *
 * Membership.  A consumer is a static member of its group (KIP-345):
 * group.instance.id is "hostflow-<host name>-<group>" unless kafka_instance
 * (or group.instance.id in the kafka table) says otherwise, so a hostflow
 * restarted after a crash takes its partitions back at once, where a new
 * member would share them with its own ghost until session.timeout.ms
 * (45 s) had passed.  Two hostflows of one group on one machine need
 * instance ids of their own; the second to join fences the first, which
 * stops and says so.
 *
 * Whole topics.  A window is complete only when every partition that can
 * hold its hosts' flows has been read past it.  Unless the flows are keyed
 * by source host (kafka_keyed: each host in one partition), that is every
 * partition of the topic: an instance assigned only part of a topic holds
 * -- its partitions paused, nothing read, nothing emitted, and every 30 s
 * a line naming the partitions it lacks -- until a rebalance gives it the
 * whole topic (a dead member's share comes back after its session timeout).
 *
 *   assigned t[0..3] of t[0..3]  ─▶ read, emit, commit
 *   assigned t[0] t[1] of 4      ─▶ unkeyed: hold (paused) ─▶ rebalance ─▶ ...
 *                                   keyed:   read, emit, commit
 *
 * Rebalance.  On revocation it commits what is in records and drops every
 * open window unemitted (hf_pipeline_reset): the next owner of a partition
 * reads from that commit and rebuilds those windows whole, so no record is
 * cut short and none is written twice with different contents.  A stop
 * does the same (a handover) unless this instance holds every partition of
 * its topics, in the single role: then it flushes the open windows, as one
 * instance always did.
 *
 * Roles.  Holding is the single role's: a relay and a partial instance
 * read any partitions (what they write is keyed by host), a merge instance
 * reads partial windows keyed by host.  The relay and the partial role
 * commit in a transaction of their output's producer (commit_txn): what
 * they wrote since the last commit, a progress message to every partition
 * of the output (how far each input partition is passed on) and the
 * input's offsets; an aborted transaction reads again from the last
 * commit.
 *
 * Event time across partitions.  A partition at its end stops holding the
 * watermark back after HF_IDLE_MS only while the broker confirms that end:
 * every second one request asks the high watermarks of the partitions at
 * their end.  Newer messages than were read: not at its end (held until
 * they arrive, however slow its fetcher is after a broker restart); the
 * same: confirmed; no answer (an outage): not confirmed, so the watermark
 * waits rather than leave a partition behind.  And before each message is
 * fed (at most every millisecond), the high watermarks librdkafka last
 * heard for the partitions at their end are looked at (no request): new
 * messages of an idle partition queued behind another's backlog hold the
 * watermark from the moment the fetch response that brought them arrived.
 * After an outage every partition at its end gets HF_IDLE_MS again.  A
 * poll that finds nothing takes a partition read up to the high watermark
 * of its last fetch as at its end (ends_from_marks) rather than wait for
 * librdkafka's end-of-partition event, which the broker's long poll of an
 * empty fetch (fetch.wait.max.ms) delays by half a second.  The same answers clear
 * "brokers down", and the lag is the high watermark minus where each
 * partition's reading stands (its last message, or its end as reported),
 * not known (-1) before either.
 *
 * Log events.  Opened as the second input (env->logs), a consumer reads a
 * log topic (stream/logs.h) in a group of its own, GROUP.logs: its
 * partitions follow the flows' (hf_offsets_follow: they never hold the
 * watermark), its reads never wait (the run loop polls it after each step
 * of the flows', and the pipeline pulls it up to the watermark before
 * windows close), it commits only its own topics' offsets (the flows' and
 * the logs' consumers share the offsets' bookkeeping), its revocation
 * commits without touching the windows, and it never holds for a whole
 * topic.  A rebalance of the flows' group drops the open windows with the
 * log events in them; the log consumer does not read those again. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "engine/engine.h"
#include "io/io.h"
#include "io/kafka_conf.h"
#include "io/kafka_producer.h"
#include "stream/pipeline.h"
#include "stream/wire.h"

#define METADATA_PREFIX "hostflow:1:"
#define HOLD_LOG_S      30.0      /* a holding instance says why this often */

static double now_ms(void)
{
    return hf_now_ns() / 1e6;
}

typedef struct hf_kafka_source {
    rd_kafka_t         *rk;
    hf_pipeline        *pipeline;
    hf_offsets         *offsets;
    hf_input_env        env;
    double              last_recheck, last_hold_log, last_cached;   /* ms */
    const hf_config    *cfg;
    hf_kafka_producer  *dead;          /* dead letters, or NULL */
    int64_t             start_ms;      /* --from TIME, or -1 */
    int                 keyed;         /* kafka_keyed: each host's flows in one partition */
    int                 assigned;      /* partitions assigned now */
    int                 holding;       /* part of an unkeyed topic: paused, nothing emitted */
    int                 whole;         /* the assignment covers every partition of its topics */
    char                missing[512];  /* ... the partitions it lacks */
    int                 eof;           /* a partition ended, and no message came since */
    int                 seen_assignment;
    uint64_t            messages, bytes, dead_letters, commits, commit_failures;
    _Atomic int64_t     lag;           /* messages behind, over the assignment; -1 not known */
    char                group[128];
    char                instance[256]; /* group.instance.id, "" when dynamic */
    int                 down;
    int                 fatal;         /* a fatal consumer error (fenced), or the transactions failed */
    int                 ended;         /* --exit-at-end: every partition was read to its end */
    char                name[300];     /* this instance's name (progress messages, transactional.id) */
    hf_record_batch     progress;      /* the relay's and the partial role's progress messages */
    int                 closed;        /* left the group: the last commit is done */
    int                 threaded;      /* messages decoded on the pipeline's decoder threads */
    hf_chunk           *chunk;         /* ... the chunk being filled, or NULL */
    int64_t             eof_at[HF_MAX_PARTITIONS];  /* per offsets index: offset of its last end, -1 */
    int                 parts[HF_MAX_PARTITIONS];   /* the offsets indices of the assignment */
    int                 nparts;
    int                 logs;          /* a log input: its messages are events (logs.h) */
    char              **topics;        /* subscribed: its own commit points only */
    int                 ntopics;
} hf_kafka_source;

/* Whether topic is one this consumer subscribed to (the flows' and the
 * logs' consumers share the offsets' bookkeeping, not their commits). */
static int own_topic(const hf_kafka_source *s, const char *topic)
{
    for (int i = 0; i < s->ntopics; i++)
        if (strcmp(s->topics[i], topic) == 0) return 1;
    return 0;
}

static const hf_conf_key kafka_input_keys[] = {
    {.name = "#kafka_input", .type = HF_CONF_HEADING,
     .doc = "Kafka input, several instances in one group (README, \"Kafka\"):"},
    {.name = "kafka_keyed", .type = HF_CONF_BOOL, .deflt = "false", .flag = "--keyed",
     .doc = "the input topics are keyed by source host (each host's flows in one partition): an "
            "instance may emit from part of a topic; else only one owning all its partitions"},
    {.name = "kafka_instance", .type = HF_CONF_STRING, .deflt = "auto", .flag = "--instance-id",
     .arg = "ID",
     .doc = "group.instance.id, for static membership: auto is hostflow-<host>-<group>, none is a "
            "dynamic member; one per hostflow of a group"},
    {.name = NULL},
};

/* Parse "hostflow:1:<ms>" (released_until) from committed metadata. */
static int64_t parse_metadata(const void *md, size_t len)
{
    char buf[64];
    size_t n = strlen(METADATA_PREFIX);
    if (!md || len <= n || len >= sizeof buf || memcmp(md, METADATA_PREFIX, n) != 0) return INT64_MIN;
    memcpy(buf, md, len);
    buf[len] = '\0';
    char *end;
    long long v = strtoll(buf + n, &end, 10);
    return *end ? INT64_MIN : (int64_t)v;
}

/* The brokers answered: after an outage, every partition at its end gets
 * HF_IDLE_MS again to show what it has (its fetcher may be slower to come
 * back than another's, whose flows would make its own late). */
static void back_up(hf_kafka_source *s)
{
    if (!s->down) return;
    s->down = 0;
    hf_offsets_wait_ends(s->offsets, now_ms());
    hf_log(HF_LOG_INFO, "kafka: the brokers answer again");
}

/* Where reading partition idx stands: the offset after its last message,
 * or its end as last reported, whichever is further; -1 when neither. */
static int64_t known_next(hf_kafka_source *s, int idx, const char *topic, int32_t id)
{
    int64_t next = hf_offsets_next(s->offsets, topic, id);
    if (idx >= 0 && s->eof_at[idx] > next) next = s->eof_at[idx];
    return next;
}

/* ------------------------------------------------------------------------
 * Decoding on threads
 *
 * With decoder threads (-j N > 1) messages are copied into chunks of
 * records (hf_chunk_add_record: each with its partition and offset) that
 * are decoded on the threads and taken back in order; everything that
 * depends on order -- the offsets, late flows, the watermark, the counters
 * and warnings -- stays in this thread, in the order of the messages, as
 * when each is fed alone.  Before anything else touches the pipeline or
 * the partitions' ends (an end of partition, a rebalance, an idle poll),
 * the chunk being filled is handed over and every chunk in flight taken
 * back (settle), so it sees what feeding them one by one would have.  A
 * message larger than a chunk is fed alone, after a settle, and so is one
 * that is not JSON text (hf_wire_kind: a relay's binary flow, a role's
 * progress or partial window).  With a dead-letter topic, or in the merge
 * role, messages are fed one by one in this thread (the dead letter needs
 * each message's reject reason and key).
 * --------------------------------------------------------------------- */

/* Hand the chunk being filled, if it holds anything, to the decoders. */
static void submit_chunk(hf_kafka_source *s)
{
    if (s->chunk && s->chunk->nrec) hf_pipeline_submit(s->pipeline, s->chunk, s->chunk->len, 0);
    s->chunk = NULL;
}

/* Every message polled so far through the pipeline. */
static void settle(hf_kafka_source *s)
{
    if (!s->threaded) return;
    submit_chunk(s);
    hf_pipeline_drain(s->pipeline);
}

/* A message of partition idx, to the pipeline: into the chunk, or fed now. */
static void feed(hf_kafka_source *s, const rd_kafka_message_t *m, int idx, int *reason)
{
    *reason = 0;
    /* only JSON text goes to the threads: a relay's binary flows and the
     * roles' progress and partial windows take hf_pipeline_feed's own path */
    if (s->threaded) {
        int text = m->len == 0 || hf_wire_kind(m->payload, m->len) == HF_WIRE_TEXT;
        for (int tries = 0; text && tries < 2; tries++) {
            if (!s->chunk) s->chunk = hf_pipeline_chunk(s->pipeline);
            if (hf_chunk_add_record(s->chunk, idx, m->offset, m->payload, m->len) == 0) return;
            if (!s->chunk->nrec) break;         /* larger than a chunk */
            submit_chunk(s);
        }
        settle(s);                              /* what came before it first */
    }
    *reason = hf_pipeline_feed(s->pipeline, idx, m->offset, 0, m->payload, m->len, 0);
}

static void register_assignment(hf_kafka_source *s, rd_kafka_topic_partition_list_t *parts);

/* The commit points of this consumer's own topics (a log input's consumer
 * shares the offsets with the flows'), at most 1024: how many. */
static int own_points(hf_kafka_source *s, int64_t emitted, hf_commit_point *pts)
{
    int n = hf_pipeline_commit_points(s->pipeline, emitted, pts, 1024), k = 0;
    for (int i = 0; i < n; i++)
        if (own_topic(s, pts[i].topic)) pts[k++] = pts[i];
    return k;
}

/* The commit points as a list to commit, each with its metadata. */
static rd_kafka_topic_partition_list_t *points_list(const hf_commit_point *pts, int n)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n > 0 ? n : 1);
    for (int i = 0; i < n; i++) {
        rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(l, pts[i].topic, pts[i].partition);
        tp->offset = pts[i].offset;
        char md[64];
        int len = snprintf(md, sizeof md, METADATA_PREFIX "%" PRId64, pts[i].released_until);
        tp->metadata = hf_strndup(md, (size_t)len);   /* freed by the list */
        tp->metadata_size = (size_t)len;
    }
    return l;
}

/* The partitions of a topic, from the brokers' metadata; 0 when it cannot
 * be had. */
static int32_t partitions_of(rd_kafka_t *rk, const char *topic)
{
    int32_t n = 0;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    if (t && rd_kafka_metadata(rk, 0, t, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1)
        n = md->topics[0].partition_cnt;
    if (md) rd_kafka_metadata_destroy(md);
    if (t) rd_kafka_topic_destroy(t);
    return n;
}

/* How far partition idx is passed on: the partial role, the end of its
 * windows produced (released_until); the relay, its newest flow's end, or
 * when it is idle the relay's watermark (the lowest newest end of the
 * partitions that are not, so an idle one holds nothing back downstream,
 * as it would not here).  INT64_MIN: nothing yet. */
static int64_t mark_of(hf_kafka_source *s, int idx, double now)
{
    if (s->cfg->role == HF_ROLE_PARTIAL) return hf_offsets_released(s->offsets, idx);
    double newest = hf_offsets_newest(s->offsets, idx);
    if (hf_offsets_idle(s->offsets, idx, now)) {
        double w = hf_offsets_watermark(s->offsets, now);
        if (w > newest) newest = w;
    }
    return newest == -INFINITY || newest == INFINITY ? INT64_MIN : (int64_t)newest;
}

/* The relay's and the partial role's progress (stream/wire.h): for every
 * partition held, how far it is passed on (mark_of, or HF_WIRE_END once it
 * has been read to its end with --exit-at-end); one message per topic,
 * written to every partition of the output topic. */
static void write_progress(hf_kafka_source *s)
{
    double now = now_ms();
    int kind = s->cfg->role == HF_ROLE_PARTIAL ? HF_WIRE_WINDOWS : HF_WIRE_FLOWS;
    hf_wire_mark marks[HF_MAX_PARTITIONS];
    int n = hf_offsets_count(s->offsets);
    uint8_t done[HF_MAX_PARTITIONS] = {0};
    hf_record_batch *rb = &s->progress;
    for (int i = 1; i < n; i++) {
        if (done[i] || !hf_offsets_assigned(s->offsets, i)) continue;
        int32_t id;
        const char *topic = hf_offsets_topic(s->offsets, i, &id);
        if (!own_topic(s, topic)) continue;
        int nm = 0;
        for (int j = i; j < n; j++) {                 /* this topic's partitions */
            int32_t jd;
            if (done[j] || !hf_offsets_assigned(s->offsets, j) ||
                strcmp(hf_offsets_topic(s->offsets, j, &jd), topic) != 0)
                continue;
            done[j] = 1;
            int64_t through = s->ended ? HF_WIRE_END : mark_of(s, j, now);
            if (through < 0) continue;                 /* nothing complete yet */
            marks[nm].partition = jd;
            marks[nm].through = through;
            nm++;
        }
        int32_t parts = partitions_of(s->rk, topic);
        if (nm == 0 || parts <= 0) continue;
        size_t key = rb->text.len;
        hf_buf_puts(&rb->text, s->name);
        hf_record_begin(rb, HF_RECORD_PROGRESS, 0);
        hf_record_key(rb, key, rb->text.len - key);
        hf_wire_progress_write(&rb->text, kind, s->name, topic, parts, marks, nm);
        hf_record_end(rb);
    }
    if (rb->n) {
        hf_records view;
        hf_record_batch_view(rb, &view);
        s->env.sink->write(s->env.sink->ctx, &view);
        hf_record_batch_reset(rb);
    }
}

/* Read every assigned partition again from its committed offset: a
 * transaction was aborted, so what it held (flows passed on, partial
 * windows of windows closed since the last commit) must be made again. */
static void rewind_to_commit(hf_kafka_source *s)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    hf_pipeline_reset(s->pipeline);
    if (rd_kafka_assignment(s->rk, &a) || !a) return;
    register_assignment(s, a);
    for (int i = 0; i < a->cnt; i++)
        if (a->elems[i].offset < 0)
            a->elems[i].offset = strcmp(s->cfg->kafka_start, "latest") == 0 ? RD_KAFKA_OFFSET_END
                                                                         : RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_error_t *e = rd_kafka_seek_partitions(s->rk, a, 10000);
    if (e) {
        hf_log(HF_LOG_ERROR, "kafka: cannot read again from the last commit: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        s->fatal = 1;
    }
    rd_kafka_topic_partition_list_destroy(a);
}

/* The relay's and the partial role's commit: what they wrote (flows,
 * partial windows), their progress and their offsets in one transaction.
 * The relay has handed its pending flows over and the workers are idle
 * (hf_pipeline_sync), so what was written is what the commit points
 * cover, no more. */
static int commit_txn(hf_kafka_source *s)
{
    hf_commit_point pts[1024];
    hf_pipeline_sync(s->pipeline);
    int n = own_points(s, hf_pipeline_emitted(s->pipeline), pts);
    write_progress(s);
    rd_kafka_topic_partition_list_t *l = points_list(pts, n);
    rd_kafka_consumer_group_metadata_t *g = rd_kafka_consumer_group_metadata(s->rk);
    int rc = s->env.commit_txn(s->env.ctx, l, g);
    rd_kafka_consumer_group_metadata_destroy(g);
    rd_kafka_topic_partition_list_destroy(l);
    if (rc == HF_OUT_OK) {
        s->commits++;
        return 0;
    }
    s->commit_failures++;
    if (rc == HF_OUT_FATAL) s->fatal = 1;
    else rewind_to_commit(s);
    return -1;
}

/* Commit what the pipeline says is safe once the outputs have acknowledged
 * every record written so far.  sync_ms: how long to wait for them.
 * Returns 0, or -1 when nothing could be committed this time. */
static int commit(hf_kafka_source *s, int sync_ms)
{
    if (s->cfg->role == HF_ROLE_PARTIAL || s->cfg->role == HF_ROLE_RELAY) return commit_txn(s);
    hf_commit_point pts[1024];
    hf_pipeline_sync(s->pipeline);
    int64_t emitted = hf_pipeline_emitted(s->pipeline);      /* before the outputs' flush */
    if (s->env.flush(s->env.ctx, sync_ms) != 0) return -1;
    int n = own_points(s, emitted, pts);
    if (n == 0) return 0;
    rd_kafka_topic_partition_list_t *l = points_list(pts, n);
    rd_kafka_resp_err_t e = rd_kafka_commit(s->rk, l, 0);
    rd_kafka_topic_partition_list_destroy(l);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
        static hf_ratelimit rl = HF_RATELIMIT_INIT(1);
        s->commit_failures++;
        hf_log_limited(&rl, HF_LOG_WARN, "kafka: commit failed: %s (offsets are committed "
                       "again at the next interval)", rd_kafka_err2str(e));
        return -1;
    }
    back_up(s);
    s->commits++;
    return 0;
}

static void describe_parts(const rd_kafka_topic_partition_list_t *parts, char *out, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < parts->cnt && used + 40 < n; i++)
        used += (size_t)snprintf(out + used, n - used, "%s%s[%d]", i ? " " : "",
                                 parts->elems[i].topic, parts->elems[i].partition);
}

/* ------------------------------------------------------------------------
 * Whole topics
 * --------------------------------------------------------------------- */

/* How many partitions topic has (metadata), or -1 when the brokers do not
 * say. */
static int topic_partitions(rd_kafka_t *rk, const char *topic)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int n = -1;
    if (rkt && rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR && md) {
        for (int i = 0; i < md->topic_cnt; i++)
            if (!strcmp(md->topics[i].topic, topic) && !md->topics[i].err) n = md->topics[i].partition_cnt;
    }
    if (md) rd_kafka_metadata_destroy(md);
    if (rkt) rd_kafka_topic_destroy(rkt);
    return n;
}

/* Whether parts holds every partition of every subscribed topic; if not,
 * the ones it lacks in missing ("flows[2] flows[3]", or why it cannot
 * tell).  Asks the brokers (blocking, at most 5 s a topic). */
static int whole_topics(hf_kafka_source *s, const rd_kafka_topic_partition_list_t *parts,
                        char *missing, size_t n)
{
    rd_kafka_topic_partition_list_t *sub = NULL;
    size_t used = 0;
    int whole = 1;
    missing[0] = '\0';
    if (rd_kafka_subscription(s->rk, &sub) != RD_KAFKA_RESP_ERR_NO_ERROR || !sub) return 1;
    for (int t = 0; t < sub->cnt; t++) {
        const char *topic = sub->elems[t].topic;
        int total = topic_partitions(s->rk, topic);
        if (total < 0) {
            whole = 0;
            used += (size_t)snprintf(missing + used, used < n ? n - used : 0,
                                     "%s(the brokers do not say how many partitions it has) ", topic);
            continue;
        }
        for (int id = 0; id < total; id++) {
            if (rd_kafka_topic_partition_list_find(parts, topic, id)) continue;
            whole = 0;
            if (used + 40 < n) used += (size_t)snprintf(missing + used, n - used, "%s[%d] ", topic, id);
        }
    }
    rd_kafka_topic_partition_list_destroy(sub);
    if (used && used < n) missing[used - 1] = '\0';
    return whole;
}

static void say_holding(hf_kafka_source *s)
{
    s->last_hold_log = now_ms();
    hf_log(HF_LOG_WARN, "kafka: holding: the input is not keyed by host (kafka_keyed = false) and "
           "%s belong to other members of group %s; windows are emitted only by an instance that "
           "reads every partition of a topic, so this one reads nothing until a rebalance gives it "
           "all (a member that died leaves at its session.timeout.ms; with flows keyed by source "
           "host, set kafka_keyed = true)", s->missing, s->group);
}

/* Hold (pause every assigned partition) or go on, as the assignment parts
 * covers whole topics or not (the single role only: see "Roles"). */
static void hold_or_read(hf_kafka_source *s, rd_kafka_topic_partition_list_t *parts)
{
    s->whole = parts->cnt > 0 && whole_topics(s, parts, s->missing, sizeof s->missing);
    int hold = s->cfg->role == HF_ROLE_SINGLE && !s->keyed && !s->logs && parts->cnt > 0 && !s->whole;
    if (hold) {
        rd_kafka_pause_partitions(s->rk, parts);
        if (!s->holding) say_holding(s);
    } else {
        rd_kafka_resume_partitions(s->rk, parts);
        if (s->holding) hf_log(HF_LOG_INFO, "kafka: every partition is assigned here now: reading");
    }
    s->holding = hold;
}

/* ------------------------------------------------------------------------
 * Rebalance
 * --------------------------------------------------------------------- */

/* Where each partition of parts stands, from the commits: its committed
 * offset (into parts) and how far its records are complete (the
 * metadata), registered with the offsets, not at its end. */
static void register_assignment(hf_kafka_source *s, rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_committed(s->rk, parts, 10000);
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        int64_t released = parse_metadata(tp->metadata, tp->metadata_size);
        int idx = hf_offsets_partition(s->offsets, tp->topic, tp->partition, released);
        if (s->logs) hf_offsets_follow(s->offsets, idx);
        hf_offsets_set_eof(s->offsets, idx, 0, now_ms());
    }
}

static void assigned(hf_kafka_source *s, rd_kafka_topic_partition_list_t *parts)
{
    char list[512];
    settle(s);
    describe_parts(parts, list, sizeof list);
    register_assignment(s, parts);
    const char *from = "committed offsets";
    if (s->start_ms >= 0 && !s->seen_assignment) {
        for (int i = 0; i < parts->cnt; i++) parts->elems[i].offset = s->start_ms;
        rd_kafka_offsets_for_times(s->rk, parts, 10000);
        from = s->cfg->kafka_start;
    } else if (s->start_ms < 0) {
        int any = 0;
        for (int i = 0; i < parts->cnt; i++) any |= parts->elems[i].offset >= 0;
        if (!any) from = s->cfg->kafka_start;
    }
    if (!s->logs && parts->cnt) hf_engine_restore(s->env.engine);   /* profiles.topic, before any flow */
    s->seen_assignment = 1;
    s->assigned = parts->cnt;
    s->nparts = 0;
    for (int i = 0; i < parts->cnt && s->nparts < HF_MAX_PARTITIONS; i++) {
        int idx = hf_offsets_partition(s->offsets, parts->elems[i].topic, parts->elems[i].partition, INT64_MIN);
        if (idx >= 0) s->parts[s->nparts++] = idx;
    }
    s->eof = 0;
    hf_log(HF_LOG_INFO, "kafka: assigned %s (group %s%s%s; from %s)", parts->cnt ? list : "nothing",
           s->group, *s->instance ? ", instance " : "", s->instance, from);
    rd_kafka_assign(s->rk, parts);
    hold_or_read(s, parts);
}

static void revoked(hf_kafka_source *s, rd_kafka_topic_partition_list_t *parts)
{
    char list[512];
    settle(s);                  /* what was polled is in the commit, as when fed one by one */
    describe_parts(parts, list, sizeof list);
    if (s->logs) {                       /* a log topic: what was read stays in its windows */
        hf_log(HF_LOG_INFO, "kafka: revoked %s (log events): committing", list);
        commit(s, 10000);
        s->assigned = 0;
        s->nparts = 0;
        rd_kafka_assign(s->rk, NULL);
        return;
    }
    hf_log(HF_LOG_INFO, "kafka: revoked %s: committing what is in records; the windows still "
           "open are dropped, for the next owner to rebuild from the commit", list);
    if (s->env.engine) {          /* the profiles saved (profiles.topic: written), so the commit passes them */
        hf_pipeline_sync(s->pipeline);
        hf_engine_persist(s->env.engine);
    }
    if (commit(s, 10000) < 0)
        hf_log(HF_LOG_WARN, "kafka: could not commit before giving %s up: the next owner "
               "reads their flows again from the last commit (at least once)", list);
    hf_pipeline_reset(s->pipeline);
    for (int i = 0; i < HF_MAX_PARTITIONS; i++) s->eof_at[i] = -1;
    s->assigned = 0;
    s->nparts = 0;
    s->holding = 0;
    s->whole = 0;
    s->eof = 0;
    rd_kafka_assign(s->rk, NULL);
}

static void rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    hf_kafka_source *s = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) assigned(s, parts);
    else if (s->closed) rd_kafka_assign(rk, NULL);     /* leaving after the final commit */
    else revoked(s, parts);
}

static void consumer_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    hf_kafka_source *s = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[512];
        rd_kafka_resp_err_t e = rd_kafka_fatal_error(rk, why, sizeof why);
        s->fatal = 1;
        if (e == RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID)
            hf_log(HF_LOG_ERROR, "kafka: another member of group %s joined with this one's "
                   "group.instance.id (%s) and took its place: stopping (give each hostflow of a "
                   "group its own kafka_instance)", s->group, s->instance);
        else
            hf_log(HF_LOG_ERROR, "kafka: fatal consumer error: %s", why);
    } else if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        if (!s->down) hf_log(HF_LOG_WARN, "kafka: all brokers are down; retrying");
        s->down = 1;
    } else if (err != RD_KAFKA_RESP_ERR__TRANSPORT) {
        hf_log(HF_LOG_WARN, "kafka: %s", reason);
    }
}

/* ------------------------------------------------------------------------
 * Opening
 * --------------------------------------------------------------------- */

static void kafka_close(void *arg);
static int logs_pull(void *ctx, double until_ms);

/* group.instance.id: the kafka table's, else kafka_instance ("auto":
 * hostflow-<host name>-<group>; "none": dynamic membership). */
static void instance_id(hf_kafka_source *s, rd_kafka_conf_t *conf)
{
    const char *set = hf_config_kafka(s->cfg, "group.instance.id");
    const char *key = hf_conf_str(s->cfg, "kafka_instance");
    char host[128] = "localhost", why[256];
    if (set) {
        snprintf(s->instance, sizeof s->instance, "%s", set);
        return;
    }
    if (!key || !strcmp(key, "none")) return;
    if (strcmp(key, "auto")) {
        snprintf(s->instance, sizeof s->instance, "%s", key);
    } else {
        gethostname(host, sizeof host - 1);
        host[sizeof host - 1] = '\0';
        snprintf(s->instance, sizeof s->instance, "hostflow-%.100s-%.120s", host, s->group);
    }
    rd_kafka_conf_set(conf, "group.instance.id", s->instance, why, sizeof why);
}

static void *kafka_open(const hf_config *cfg, const char *topics, const hf_input_env *env,
                        char *err, size_t errlen)
{
    static const char *const extra[] = {
        "group.id", "hostflow",
        "enable.auto.commit", "false",
        "enable.auto.offset.store", "false",
        "enable.partition.eof", "true",
        "partition.assignment.strategy", "range,roundrobin",
        NULL};
    hf_kafka_source *s = hf_calloc(1, sizeof *s);
    s->env = *env;
    s->logs = env->logs;
    s->pipeline = env->pipeline;
    s->offsets = hf_pipeline_offsets(env->pipeline);
    if (!s->logs) {                     /* the flows' event time from a live source */
        hf_pipeline_live(env->pipeline);
        hf_offsets_confirm_ends(s->offsets);
    }
    s->cfg = cfg;
    s->start_ms = -1;
    s->lag = -1;
    s->keyed = hf_conf_bool(cfg, "kafka_keyed");
    for (int i = 0; i < HF_MAX_PARTITIONS; i++) s->eof_at[i] = -1;
    hf_kafka_instance_id(cfg, s->name, sizeof s->name);
    hf_record_batch_init(&s->progress);
    int64_t ms;
    if (strcmp(cfg->kafka_start, "earliest") && strcmp(cfg->kafka_start, "latest")) {
        if (hf_time_parse_iso(cfg->kafka_start, strlen(cfg->kafka_start), &ms) < 0) {
            snprintf(err, errlen, "kafka_start: expected earliest, latest or a time, got \"%s\"",
                     cfg->kafka_start);
            goto fail;
        }
        s->start_ms = ms;
    }
    rd_kafka_conf_t *conf = hf_kafka_conf_new(cfg, extra, err, errlen);
    if (!conf) goto fail;
    char why[512];
    if (!hf_config_kafka(cfg, "auto.offset.reset"))
        rd_kafka_conf_set(conf, "auto.offset.reset",
                          strcmp(cfg->kafka_start, "latest") == 0 ? "latest" : "earliest",
                          why, sizeof why);
    const char *group = hf_config_kafka(cfg, "group.id");
    snprintf(s->group, sizeof s->group, "%s%s", group ? group : "hostflow", s->logs ? ".logs" : "");
    if (s->logs) rd_kafka_conf_set(conf, "group.id", s->group, why, sizeof why);
    instance_id(s, conf);
    rd_kafka_conf_set_opaque(conf, s);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance);
    rd_kafka_conf_set_error_cb(conf, consumer_error);
    rd_kafka_conf_set_log_cb(conf, hf_kafka_log_cb);
    s->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why);
    if (!s->rk) {
        snprintf(err, errlen, "kafka: cannot create a consumer: %s", why);
        goto fail;
    }
    rd_kafka_poll_set_consumer(s->rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);
    char *list = hf_strdup(topics), *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        rd_kafka_topic_partition_list_add(l, t, RD_KAFKA_PARTITION_UA);
        s->topics = hf_realloc(s->topics, sizeof *s->topics * (size_t)(s->ntopics + 1));
        s->topics[s->ntopics++] = hf_strdup(t);
    }
    hf_free(list);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(s->rk, l);
    int count = l->cnt;
    rd_kafka_topic_partition_list_destroy(l);
    if (count == 0 || e) {
        snprintf(err, errlen, "kafka: cannot subscribe to \"%s\": %s", topics,
                 count ? rd_kafka_err2str(e) : "no topic");
        goto fail;
    }
    const char *dlq = s->logs ? cfg->logs_dead_letter : cfg->dead_letter;
    if (dlq) {
        s->dead = hf_kafka_producer_new(cfg, dlq + 6, err, errlen);
        if (!s->dead) goto fail;
    }
    if (s->logs) hf_pipeline_logs_source(s->pipeline, "kafka", logs_pull, s);
    /* flows (not log events) decoded on the decoder threads, unless dead
     * letters need each message's reason */
    s->threaded = !s->logs && !s->dead && cfg->role != HF_ROLE_MERGE && hf_pipeline_threaded(s->pipeline);
    return s;
fail:
    kafka_close(s);
    return NULL;
}

/* ------------------------------------------------------------------------
 * Reading
 * --------------------------------------------------------------------- */

/* Copy an undecodable message to the dead-letter topic, with why. */
static void dead_letter(hf_kafka_source *s, const rd_kafka_message_t *m, int reason)
{
    char where[256];
    snprintf(where, sizeof where, "%s[%d]@%" PRId64, rd_kafka_topic_name(m->rkt), m->partition, m->offset);
    const char *headers[] = {"hostflow.reason",
                             s->logs ? hf_log_reason_name(reason) : hf_pipeline_reason_name(reason),
                             "hostflow.source", where};
    if (hf_kafka_produce_headers(s->dead, m->key, m->key_len, m->payload, m->len, headers, 2) == 0)
        s->dead_letters++;
}

/* Messages behind over the assignment: librdkafka's cached high
 * watermarks (from its fetches) minus where reading stands; -1 when that
 * is not known for some partition yet. */
static int64_t lag(hf_kafka_source *s)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(s->rk, &a) || !a) return -1;
    rd_kafka_position(s->rk, a);       /* past transaction markers, which are never fed */
    int64_t total = 0;
    for (int i = 0; i < a->cnt && total >= 0; i++) {
        int64_t lo, hi;
        const char *t = a->elems[i].topic;
        int32_t id = a->elems[i].partition;
        int idx = hf_offsets_partition(s->offsets, t, id, INT64_MIN);
        int64_t next = known_next(s, idx, t, id);
        if (a->elems[i].offset > next) next = a->elems[i].offset;
        if (rd_kafka_get_watermark_offsets(s->rk, t, id, &lo, &hi) != 0 || hi < 0 || next < 0) {
            total = -1;
        } else if (hi > next) {
            total += hi - next;
        }
    }
    rd_kafka_topic_partition_list_destroy(a);
    return total;
}

/* The partitions at their end, asked in one request for their high
 * watermarks: newer messages than were read, not at the end; the same,
 * the end confirmed (offsets.h).  At most every second, from the reading
 * loop (blocking at most 1 s). */
static void recheck_ends(hf_kafka_source *s)
{
    rd_kafka_topic_partition_list_t *a = NULL, *q;
    if (rd_kafka_assignment(s->rk, &a) || !a) return;
    q = rd_kafka_topic_partition_list_new(a->cnt > 0 ? a->cnt : 1);
    for (int i = 0; i < a->cnt; i++) {
        int idx = hf_offsets_partition(s->offsets, a->elems[i].topic, a->elems[i].partition, INT64_MIN);
        if (hf_offsets_at_end(s->offsets, idx))
            rd_kafka_topic_partition_list_add(q, a->elems[i].topic, a->elems[i].partition)->offset =
                RD_KAFKA_OFFSET_END;
    }
    rd_kafka_topic_partition_list_destroy(a);
    if (q->cnt > 0 && rd_kafka_offsets_for_times(s->rk, q, 1000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        double now = now_ms();
        back_up(s);
        for (int i = 0; i < q->cnt; i++) {
            rd_kafka_topic_partition_t *tp = &q->elems[i];
            int idx = hf_offsets_partition(s->offsets, tp->topic, tp->partition, INT64_MIN);
            int64_t next = known_next(s, idx, tp->topic, tp->partition);
            if (tp->err || tp->offset < 0 || next < 0) continue;
            if (tp->offset > next) {
                hf_offsets_set_eof(s->offsets, idx, 0, now);   /* newer messages: wait for them */
                s->eof = 0;
            } else {
                hf_offsets_end_confirmed(s->offsets, idx, now);
            }
        }
    }
    rd_kafka_topic_partition_list_destroy(q);
}

/* Before a message is fed (it may move the watermark): a partition at its
 * end whose high watermark, as librdkafka last heard it in a fetch
 * response, is past what was read is not at its end: its messages are on
 * their way, queued behind the others' (with one broker, the same fetch
 * response brought them), and must hold the watermark back.  No request:
 * the cached value, for the partitions at their end only. */
static void cached_ends(hf_kafka_source *s)
{
    int any = 0;                                 /* none at its end (a backlog): no clock read */
    for (int k = 0; k < s->nparts && !any; k++) any = hf_offsets_at_end(s->offsets, s->parts[k]);
    if (!any) return;
    double now = now_ms();
    if (now - s->last_cached < 1.0) return;      /* at most every millisecond */
    s->last_cached = now;
    for (int k = 0; k < s->nparts; k++) {
        int idx = s->parts[k];
        if (!hf_offsets_at_end(s->offsets, idx)) continue;
        int32_t id;
        const char *t = hf_offsets_topic(s->offsets, idx, &id);
        int64_t lo, hi, next = known_next(s, idx, t, id);
        if (next >= 0 && rd_kafka_get_watermark_offsets(s->rk, t, id, &lo, &hi) == 0 && hi > next)
            hf_offsets_set_eof(s->offsets, idx, 0, now);
    }
}

/* An idle poll: a partition read up to the high watermark of its last
 * fetch response is at its end, as its end-of-partition event will say --
 * which comes only with a fetch that came back empty, and the broker holds
 * that one for fetch.wait.max.ms (500 ms) once every partition is read up.
 * Known here at once, --exit-at-end stops that much sooner and an idle
 * partition starts its HF_IDLE_MS as soon.  Where reading stands is
 * librdkafka's position (past transaction markers, as in lag()); not while
 * the brokers are down (the cached mark may be old), nor for a partition
 * nothing was read from yet (its event says). */
static void ends_from_marks(hf_kafka_source *s)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    if (s->down || s->holding || rd_kafka_assignment(s->rk, &a) || !a) return;
    rd_kafka_position(s->rk, a);
    double now = now_ms();
    for (int i = 0; i < a->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &a->elems[i];
        int idx = hf_offsets_partition(s->offsets, tp->topic, tp->partition, INT64_MIN);
        int64_t lo, hi;
        if (idx < 0 || tp->offset < 0 || hf_offsets_at_end(s->offsets, idx) ||
            rd_kafka_get_watermark_offsets(s->rk, tp->topic, tp->partition, &lo, &hi) != 0 ||
            hi < 0 || tp->offset < hi)
            continue;
        hf_offsets_set_eof(s->offsets, idx, 1, now);
        s->eof_at[idx] = tp->offset;
        s->eof = 1;
    }
    rd_kafka_topic_partition_list_destroy(a);
}

/* Every assigned partition is at its end. */
static int all_at_end(hf_kafka_source *s)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(s->rk, &a) || !a) return 0;
    int all = a->cnt > 0;
    for (int i = 0; i < a->cnt && all; i++)
        all = hf_offsets_at_end(s->offsets, hf_offsets_partition(s->offsets, a->elems[i].topic,
                                                                 a->elems[i].partition, INT64_MIN));
    rd_kafka_topic_partition_list_destroy(a);
    return all;
}

/* One message or event polled: fed (or put in the chunk), or what it says
 * of its partition noted. */
static void take_message(hf_kafka_source *s, rd_kafka_message_t *m)
{
    const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "?";
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        settle(s);                               /* its messages before its end */
        int idx = hf_offsets_partition(s->offsets, topic, m->partition, INT64_MIN);
        hf_offsets_set_eof(s->offsets, idx, 1, now_ms());
        if (idx >= 0) s->eof_at[idx] = m->offset;
        s->eof = 1;
        back_up(s);
    } else if (m->err) {
        static hf_ratelimit rl = HF_RATELIMIT_INIT(2);
        hf_log_limited(&rl, HF_LOG_WARN, "kafka: %s", rd_kafka_message_errstr(m));
    } else if (!s->holding) {
        back_up(s);
        int idx = hf_offsets_partition(s->offsets, topic, m->partition, INT64_MIN);
        if (!s->logs) cached_ends(s);
        s->messages++;
        s->bytes += m->len;
        int rc;
        if (s->logs) rc = hf_pipeline_feed_event(s->pipeline, idx, m->offset, 0, m->payload, m->len, 0);
        else feed(s, m, idx, &rc);
        if (rc > 0 && s->dead) dead_letter(s, m, rc);
        s->eof = 0;
    }
}

#define STEP_MESSAGES 4096    /* messages polled in one step, with decoder threads */

static int kafka_poll(hf_kafka_source *s);

/* One step: a poll of the consumer (at most 100 ms), the message fed; with
 * decoder threads, what else is queued already too (up to STEP_MESSAGES),
 * into chunks handed over by the end of the step.  A log input's never
 * waits, and takes what it has, up to 4096 messages. */
static int kafka_read(void *arg)
{
    hf_kafka_source *s = arg;
    if (!s->logs) return kafka_poll(s);
    int r = HF_IN_MORE;
    for (int i = 0; i < 4096 && r == HF_IN_MORE; i++) r = kafka_poll(s);
    return r;
}

/* A poll of the consumer, its message fed (flows with decoder threads:
 * what else is queued, up to STEP_MESSAGES). */
static int kafka_poll(hf_kafka_source *s)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, s->logs ? 0 : 100);
    int idle = m == NULL;
    for (int n = 1; m; n++) {
        if (s->fatal) break;
        take_message(s, m);
        rd_kafka_message_destroy(m);
        m = NULL;
        if (!s->threaded || n == STEP_MESSAGES || s->fatal ||
            atomic_load_explicit(s->env.stop, memory_order_relaxed))
            break;
        m = rd_kafka_consumer_poll(s->rk, 0);
    }
    if (s->fatal) {
        if (m) rd_kafka_message_destroy(m);
        settle(s);
        return HF_IN_ERROR;
    }
    if (idle) settle(s);                         /* nothing came: the pipeline is current */
    else submit_chunk(s);
    if (idle && !s->logs) ends_from_marks(s);
    if (s->logs) {                      /* a log topic never holds the windows back */
        hf_pipeline_logs_state(s->pipeline, idle ? HF_LOGS_IDLE : HF_LOGS_READING);
        return idle ? HF_IN_IDLE : HF_IN_MORE;
    }
    double t = now_ms();
    if (t - s->last_recheck >= 1000.0) {
        recheck_ends(s);
        s->last_recheck = t;
        if (s->holding && t - s->last_hold_log >= HOLD_LOG_S * 1000.0) {
            rd_kafka_topic_partition_list_t *a = NULL;
            if (rd_kafka_assignment(s->rk, &a) == RD_KAFKA_RESP_ERR_NO_ERROR && a) {
                hold_or_read(s, a);                   /* the topic may have changed */
                rd_kafka_topic_partition_list_destroy(a);
            }
            if (s->holding) say_holding(s);
        }
    }
    if (idle) hf_pipeline_tick(s->pipeline);
    if (s->fatal) return HF_IN_ERROR;
    /* what reads progress (marks) ends only once every input upstream has */
    if (s->cfg->exit_at_end && !s->holding && s->assigned > 0 && s->eof && idle && all_at_end(s) &&
        (!hf_pipeline_marks(s->pipeline) || hf_pipeline_complete(s->pipeline))) {
        s->lag = lag(s);
        if (s->lag == 0) {
            s->ended = 1;
            return HF_IN_END;
        }
    }
    return HF_IN_MORE;
}

/* The pipeline's pull of a log topic: what the consumer has now, until an
 * event at until_ms or later is read. */
static int logs_pull(void *ctx, double until_ms)
{
    hf_kafka_source *s = ctx;
    for (int i = 0; i < 100000; i++) {
        int r = kafka_poll(s);
        if (r != HF_IN_MORE || hf_pipeline_logs_end(s->pipeline) >= until_ms) return r;
    }
    return HF_IN_MORE;
}

static int kafka_commit(void *arg)
{
    hf_kafka_source *s = arg;
    int rc = commit(s, 2000);
    atomic_store(&s->lag, lag(s));
    return rc;
}

/* A stop hands the open windows over unless this single instance holds
 * every partition of its topics (then no one else could complete them). */
static int kafka_handover(void *arg)
{
    hf_kafka_source *s = arg;
    return s->cfg->role != HF_ROLE_SINGLE || !s->whole;
}

/* The lag as measured at the last commit (any thread). */
static int64_t kafka_lag(void *arg)
{
    hf_kafka_source *s = arg;
    return atomic_load(&s->lag);
}

static void kafka_report(void *arg, hf_buf *out)
{
    hf_kafka_source *s = arg;
    char line[1024], lagtext[32];
    int64_t lag_now = atomic_load(&s->lag);
    if (lag_now >= 0) snprintf(lagtext, sizeof lagtext, "%lld", (long long)lag_now);
    else snprintf(lagtext, sizeof lagtext, "not known yet");
    snprintf(line, sizeof line, "  %-10s %s, %d partitions%s%s%s, %llu messages, lag %s, %llu commits "
             "(%llu failed), %llu dead letters\n", s->logs ? "kafka logs" : "kafka",
             s->down ? "brokers down" : "connected",
             s->assigned, s->holding ? " (holding: " : "", s->holding ? s->missing : "",
             s->holding ? " elsewhere)" : "", (unsigned long long)s->messages, lagtext,
             (unsigned long long)s->commits, (unsigned long long)s->commit_failures,
             (unsigned long long)s->dead_letters);
    hf_buf_puts(out, line);
}

static void kafka_close(void *arg)
{
    hf_kafka_source *s = arg;
    if (!s) return;
    settle(s);                  /* (nothing is left at a normal end: the run finished the pipeline) */
    if (s->rk) {
        if (!s->closed && !s->down && !s->fatal) {
            s->closed = 1;
            rd_kafka_consumer_close(s->rk);
        }
        /* with the brokers away, leaving the group could wait for ever: the
         * group notices at its session timeout instead */
        rd_kafka_destroy_flags(s->rk, s->down || s->fatal ? RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE : 0);
    }
    hf_kafka_producer_free(s->dead);
    hf_record_batch_release(&s->progress);
    if (s->logs && s->pipeline) hf_pipeline_logs_source(s->pipeline, "kafka", NULL, NULL);
    for (int i = 0; i < s->ntopics; i++) hf_free(s->topics[i]);
    hf_free(s->topics);
    hf_free(s);
}

const hf_input_ops hf_in_kafka = {
    .scheme = "kafka",
    .usage = "kafka:TOPIC[,TOPIC...]  a consumer in the group (-g); offsets committed at least once",
    .keys = kafka_input_keys,
    .open = kafka_open,
    .read = kafka_read,
    .commit = kafka_commit,
    .handover = kafka_handover,
    .report = kafka_report,
    .lag = kafka_lag,
    .close = kafka_close,
};
