/* in_kafka.c -- the Kafka input: a consumer in a group that feeds the
 * pipeline message by message and commits offsets at least once.
 *
 * Automatic commits are off.  On assignment it reads the committed offsets
 * with their metadata ("hostflow:1:<ms>", how far that partition's flows
 * were already in records) and hands that to the offsets (stream/offsets.h);
 * on revocation it commits what is safe and drops the open windows
 * unemitted (hf_pipeline_drop): the next owner of a partition reads again
 * from its committed offset and rebuilds those windows whole, so a
 * rebalance never cuts a record short.  A stop does the same (a handover)
 * unless this instance holds every partition of its topics, in the single
 * role: then it flushes the open windows, as one instance always did.  Every commit_interval the run calls commit(): the
 * offsets the pipeline says are safe once every output has acknowledged
 * its records.  Undecodable messages go to the dead-letter topic with the
 * reason.  Every librdkafka setting of the configuration passes unchanged. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "io/io.h"
#include "io/kafka_conf.h"
#include "io/kafka_producer.h"
#include "stream/pipeline.h"
#include "stream/wire.h"

#define METADATA_PREFIX "hostflow:1:"

static double now_ms(void)
{
    return hf_now_ns() / 1e6;
}

typedef struct hf_kafka_source {
    rd_kafka_t         *rk;
    hf_pipeline        *pipeline;
    hf_offsets         *offsets;
    hf_input_env        env;
    double              last_recheck;
    const hf_config    *cfg;
    hf_kafka_producer  *dead;          /* dead letters, or NULL */
    int64_t             start_ms;      /* --from TIME, or -1 */
    int                 assigned;      /* partitions assigned now */
    int                 total;         /* partitions of the topics subscribed, at the last assignment */
    int                 eof;           /* a partition ended, and no message came since */
    int                 seen_assignment;
    uint64_t            messages, bytes, dead_letters, commits, commit_failures;
    _Atomic int64_t     lag;           /* messages behind, over the assignment (at the last commit) */
    char                group[128];
    int                 down;
    int                 closed;        /* left the group: the last commit is done */
    int                 ended;         /* --exit-at-end: every partition was read to its end */
    int                 fatal;         /* the partial role's transactions failed for good */
    char                instance[300]; /* this instance's name (the partial role's progress) */
    hf_record_batch     progress;      /* the partial role's progress messages */
} hf_kafka_source;

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

static int64_t lag(hf_kafka_source *s);
static void register_assignment(hf_kafka_source *s, rd_kafka_topic_partition_list_t *parts);

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
        hf_buf_puts(&rb->text, s->instance);
        hf_record_begin(rb, HF_RECORD_PROGRESS, 0);
        hf_record_key(rb, key, rb->text.len - key);
        hf_wire_progress_write(&rb->text, kind, s->instance, topic, parts, marks, nm);
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
    hf_pipeline_drop(s->pipeline);
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
    int n = hf_pipeline_commit_points(s->pipeline, hf_pipeline_emitted(s->pipeline), pts, 1024);
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
    int n = hf_pipeline_commit_points(s->pipeline, emitted, pts, 1024);
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

/* The partitions of the topics in parts (each counted once), from the
 * brokers' metadata; 0 when it cannot be had. */
static int topic_partitions(rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *parts)
{
    int total = 0;
    for (int i = 0; i < parts->cnt; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++) seen = !strcmp(parts->elems[j].topic, parts->elems[i].topic);
        if (seen) continue;
        rd_kafka_topic_t *t = rd_kafka_topic_new(rk, parts->elems[i].topic, NULL);
        const struct rd_kafka_metadata *md = NULL;
        if (t && rd_kafka_metadata(rk, 0, t, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1)
            total += md->topics[0].partition_cnt;
        if (md) rd_kafka_metadata_destroy(md);
        if (t) rd_kafka_topic_destroy(t);
    }
    return total;
}

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
        hf_offsets_set_eof(s->offsets, idx, 0, now_ms());
    }
}

static void rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    hf_kafka_source *s = opaque;
    char list[512];
    describe_parts(parts, list, sizeof list);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        register_assignment(s, parts);
        const char *from = "committed offsets";
        if (s->start_ms >= 0 && !s->seen_assignment) {
            for (int i = 0; i < parts->cnt; i++) parts->elems[i].offset = s->start_ms;
            rd_kafka_offsets_for_times(rk, parts, 10000);
            from = s->cfg->kafka_start;
        } else if (s->start_ms < 0) {
            int any = 0;
            for (int i = 0; i < parts->cnt; i++) any |= parts->elems[i].offset >= 0;
            if (!any) from = s->cfg->kafka_start;
        }
        s->seen_assignment = 1;
        s->assigned = parts->cnt;
        s->total = topic_partitions(rk, parts);
        s->eof = 0;
        hf_log(HF_LOG_INFO, "kafka: assigned %s (group %s; from %s)", list, s->group, from);
        rd_kafka_assign(rk, parts);
    } else if (s->closed) {              /* leaving the group after the final commit */
        rd_kafka_assign(rk, NULL);
    } else {
        hf_log(HF_LOG_INFO, "kafka: revoked %s: committing, and handing their open windows "
               "over to the next owner (it rebuilds them from the committed offsets)", list);
        if (commit(s, 10000) < 0)
            hf_log(HF_LOG_WARN, "kafka: could not commit before giving %s up: the next owner "
                   "reads their flows again from the last commit (at least once)", list);
        hf_pipeline_drop(s->pipeline);
        s->assigned = 0;
        rd_kafka_assign(rk, NULL);
    }
}

static void consumer_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    hf_kafka_source *s = opaque;
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        if (!s->down) hf_log(HF_LOG_WARN, "kafka: all brokers are down; retrying");
        s->down = 1;
    } else if (err != RD_KAFKA_RESP_ERR__TRANSPORT) {
        hf_log(HF_LOG_WARN, "kafka: %s", reason);
    }
}

static void report(void *ctx, hf_buf *out)
{
    hf_kafka_source *s = ctx;
    char line[256];
    snprintf(line, sizeof line, "  kafka      %s, %d partitions, %llu messages, lag %lld, %llu commits "
             "(%llu failed), %llu dead letters\n", s->down ? "brokers down" : "connected",
             s->assigned, (unsigned long long)s->messages, (long long)atomic_load(&s->lag),
             (unsigned long long)s->commits, (unsigned long long)s->commit_failures,
             (unsigned long long)s->dead_letters);
    hf_buf_puts(out, line);
}

static void kafka_close(void *arg);

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
    s->pipeline = env->pipeline;
    s->offsets = hf_pipeline_offsets(env->pipeline);
    s->cfg = cfg;
    s->start_ms = -1;
    hf_kafka_instance_id(cfg, s->instance, sizeof s->instance);
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
    snprintf(s->group, sizeof s->group, "%s", group ? group : "hostflow");
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
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
        rd_kafka_topic_partition_list_add(l, t, RD_KAFKA_PARTITION_UA);
    hf_free(list);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(s->rk, l);
    int count = l->cnt;
    rd_kafka_topic_partition_list_destroy(l);
    if (count == 0 || e) {
        snprintf(err, errlen, "kafka: cannot subscribe to \"%s\": %s", topics,
                 count ? rd_kafka_err2str(e) : "no topic");
        goto fail;
    }
    if (cfg->dead_letter) {
        s->dead = hf_kafka_producer_new(cfg, cfg->dead_letter + 6, err, errlen);
        if (!s->dead) goto fail;
    }
    return s;
fail:
    kafka_close(s);
    return NULL;
}

/* Copy an undecodable message to the dead-letter topic, with why. */
static void dead_letter(hf_kafka_source *s, const rd_kafka_message_t *m, int reason)
{
    char where[256];
    snprintf(where, sizeof where, "%s[%d]@%" PRId64, rd_kafka_topic_name(m->rkt), m->partition, m->offset);
    const char *headers[] = {"hostflow.reason", hf_pipeline_reason_name(reason),
                             "hostflow.source", where};
    if (hf_kafka_produce_headers(s->dead, m->key, m->key_len, m->payload, m->len, headers, 2) == 0)
        s->dead_letters++;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Messages behind over the assignment: librdkafka's cached high
 * watermarks minus what was fed. */
static int64_t lag(hf_kafka_source *s)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(s->rk, &a) || !a) return 0;
    rd_kafka_position(s->rk, a);       /* past transaction markers, which are never fed */
    int64_t total = 0;
    for (int i = 0; i < a->cnt; i++) {
        int64_t lo, hi;
        if (rd_kafka_get_watermark_offsets(s->rk, a->elems[i].topic, a->elems[i].partition,
                                           &lo, &hi) != 0)
            continue;
        int64_t next = hf_offsets_next(s->offsets, a->elems[i].topic, a->elems[i].partition);
        if (a->elems[i].offset > next) next = a->elems[i].offset;
        if (next < lo) next = lo;
        if (hi > next) total += hi - next;
    }
    rd_kafka_topic_partition_list_destroy(a);
    return total;
}

/* A partition that reported its end but has messages again (the broker's
 * high watermark is past what was fed) is not at its end: it must hold the
 * watermark back until its messages arrive, however slow its fetcher is
 * (after a broker restart, say).  Asks the brokers, for the partitions at
 * their end only, at most every second. */
static void recheck_eof(hf_kafka_source *s)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(s->rk, &a) || !a) return;
    rd_kafka_position(s->rk, a);
    for (int i = 0; i < a->cnt; i++) {
        int64_t lo, hi;
        const char *t = a->elems[i].topic;
        int32_t id = a->elems[i].partition;
        int idx = hf_offsets_partition(s->offsets, t, id, INT64_MIN);
        if (!hf_offsets_at_end(s->offsets, idx)) continue;
        if (rd_kafka_query_watermark_offsets(s->rk, t, id, &lo, &hi, 500) != 0) continue;
        int64_t next = hf_offsets_next(s->offsets, t, id);
        if (a->elems[i].offset > next) next = a->elems[i].offset;
        if (next >= 0 && hi > next) hf_offsets_set_eof(s->offsets, idx, 0, now_ms());
    }
    rd_kafka_topic_partition_list_destroy(a);
}

/* One step: a poll of the consumer (at most 100 ms), the message fed. */
static int kafka_read(void *arg)
{
    hf_kafka_source *s = arg;
    rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, 100);
    int idle = m == NULL;
    if (m) {
        const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "?";
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            int idx = hf_offsets_partition(s->offsets, topic, m->partition, INT64_MIN);
            hf_offsets_set_eof(s->offsets, idx, 1, now_ms());
            s->eof = 1;
        } else if (m->err) {
            static hf_ratelimit rl = HF_RATELIMIT_INIT(2);
            hf_log_limited(&rl, HF_LOG_WARN, "kafka: %s", rd_kafka_message_errstr(m));
        } else {
            if (s->down) {
                s->down = 0;
                hf_log(HF_LOG_INFO, "kafka: consuming again");
            }
            int idx = hf_offsets_partition(s->offsets, topic, m->partition, INT64_MIN);
            s->messages++;
            s->bytes += m->len;
            int rc = hf_pipeline_feed(s->pipeline, idx, m->offset, 0, m->payload, m->len, 0);
            if (rc > 0 && s->dead) dead_letter(s, m, rc);
            s->eof = 0;
        }
        rd_kafka_message_destroy(m);
    }
    double t = now_s();
    if (t - s->last_recheck >= 1.0) {
        recheck_eof(s);
        s->last_recheck = t;
    }
    if (idle) hf_pipeline_tick(s->pipeline);
    if (s->fatal) return HF_IN_ERROR;
    /* what reads progress (marks) ends only once every input upstream has */
    if (s->cfg->exit_at_end && s->assigned > 0 && s->eof && idle && lag(s) == 0 &&
        (!hf_pipeline_marks(s->pipeline) || hf_pipeline_complete(s->pipeline))) {
        s->ended = 1;
        return HF_IN_END;
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
    return s->cfg->role != HF_ROLE_SINGLE || s->total <= 0 || s->assigned < s->total;
}

/* The lag as measured at the last commit (any thread). */
static int64_t kafka_lag(void *arg)
{
    hf_kafka_source *s = arg;
    return atomic_load(&s->lag);
}

static void kafka_report(void *arg, hf_buf *out)
{
    report(arg, out);
}

static void kafka_close(void *arg)
{
    hf_kafka_source *s = arg;
    if (!s) return;
    if (s->rk) {
        if (!s->closed && !s->down) {
            s->closed = 1;
            rd_kafka_consumer_close(s->rk);
        }
        /* with the brokers away, leaving the group could wait for ever: the
         * group notices at its session timeout instead */
        rd_kafka_destroy_flags(s->rk, s->down ? RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE : 0);
    }
    hf_kafka_producer_free(s->dead);
    hf_record_batch_release(&s->progress);
    hf_free(s);
}

const hf_input_ops hf_in_kafka = {
    .scheme = "kafka",
    .usage = "kafka:TOPIC[,TOPIC...]  a consumer in the group (-g); offsets committed at least once",
    .open = kafka_open,
    .read = kafka_read,
    .commit = kafka_commit,
    .handover = kafka_handover,
    .report = kafka_report,
    .lag = kafka_lag,
    .close = kafka_close,
};
