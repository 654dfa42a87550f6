/* kafka.c -- the Kafka producer (sink, dead letters) and the consumer that
 * feeds the pipeline (see kafka.h).
 *
 * Producer: idempotent, retrying for ever (message.timeout.ms = 0) unless
 * configured otherwise, with a thread that serves delivery reports.  A full
 * queue blocks the producing worker, which blocks the reader: back-pressure
 * instead of loss.  hf_kafka_producer_sync() flushes and reports whether
 * anything failed since the last sync; offsets are committed only after a
 * sync that succeeded.
 *
 * Consumer: a group member with automatic commits off.  On assignment it
 * reads the committed offsets with their metadata ("hostflow:1:<ms>", how
 * far that partition's flows were already in records) and hands that to the
 * pipeline; on revocation it flushes every open window, drains the sinks
 * and commits, so the next owner neither misses nor double-counts a flow.
 * Every commit_interval it commits what the pipeline says is safe. */
#include "io/kafka.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"
#include "stream/pipeline.h"
#include "base/timefmt.h"

#define METADATA_PREFIX "hostflow:1:"

/* Apply the configuration's librdkafka settings, then `extra` (pairs, NULL
 * terminated) where the user set nothing.  Returns NULL with err set. */
static rd_kafka_conf_t *make_conf(const hf_config *cfg, const char *const *extra,
                                  char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char why[512];
    for (int i = 0; i + 1 < cfg->kafka.n; i += 2)
        if (rd_kafka_conf_set(conf, cfg->kafka.v[i], cfg->kafka.v[i + 1], why, sizeof why) != RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "kafka.%s: %s", cfg->kafka.v[i], why);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    for (int i = 0; extra && extra[i]; i += 2)
        if (!hf_config_kafka(cfg, extra[i]) &&
            rd_kafka_conf_set(conf, extra[i], extra[i + 1], why, sizeof why) != RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "kafka: %s: %s", extra[i], why);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    return conf;
}

/* librdkafka's own log lines, through ours. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    static hf_ratelimit rl = HF_RATELIMIT_INIT(5);
    /* one kafka = {...} serves both clients, so each warns about the
     * other's settings: not worth a line */
    if (strcmp(fac, "CONFWARN") == 0) level = 7;
    hf_log_limited(&rl, level <= 3 ? HF_LOG_ERROR : level <= 5 ? HF_LOG_WARN : HF_LOG_DEBUG,
                   "kafka: %s: %s", fac, buf);
}

/* ------------------------------------------------------------------------
 * Producer
 * --------------------------------------------------------------------- */

struct hf_kafka_producer {
    rd_kafka_t      *rk;
    char            *topic;
    pthread_t        poller;
    atomic_int       stop;
    atomic_ullong    failed;        /* messages that could not be delivered */
    atomic_ullong    failed_synced; /* failed, as of the last sync */
    atomic_int       down;          /* the brokers are unreachable */
};

static void delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    hf_kafka_producer *p = opaque;
    if (m->err) {
        static hf_ratelimit rl = HF_RATELIMIT_INIT(2);
        atomic_fetch_add(&p->failed, 1);
        hf_log_limited(&rl, HF_LOG_ERROR, "kafka: %s: a message could not be delivered: %s",
                       p->topic, rd_kafka_err2str(m->err));
    }
}

static void producer_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    hf_kafka_producer *p = opaque;
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && !atomic_exchange(&p->down, 1))
        hf_log(HF_LOG_WARN, "kafka: %s: all brokers are down; records wait in the queue "
               "and are sent when a broker is back", p->topic);
    else if (err != RD_KAFKA_RESP_ERR__TRANSPORT && err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        hf_log(HF_LOG_WARN, "kafka: %s: %s", p->topic, reason);
}

static void *producer_poll(void *arg)
{
    hf_kafka_producer *p = arg;
    while (!atomic_load(&p->stop)) rd_kafka_poll(p->rk, 100);
    return NULL;
}

hf_kafka_producer *hf_kafka_producer_new(const hf_config *cfg, const char *topic,
                                         char *err, size_t errlen)
{
    static const char *const extra[] = {
        "enable.idempotence", "true",
        "message.timeout.ms", "0",          /* retry for ever: never drop a record */
        "linger.ms", "20",
        "compression.codec", "lz4",
        NULL};
    if (!*topic) {
        snprintf(err, errlen, "kafka: no topic given (kafka:TOPIC)");
        return NULL;
    }
    rd_kafka_conf_t *conf = make_conf(cfg, extra, err, errlen);
    if (!conf) return NULL;
    hf_kafka_producer *p = hf_calloc(1, sizeof *p);
    p->topic = hf_strdup(topic);
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_conf_set_dr_msg_cb(conf, delivered);
    rd_kafka_conf_set_error_cb(conf, producer_error);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    char why[512];
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
    if (!p->rk) {
        snprintf(err, errlen, "kafka: cannot create a producer: %s", why);
        hf_free(p->topic);
        hf_free(p);
        return NULL;
    }
    pthread_create(&p->poller, NULL, producer_poll, p);
    return p;
}

int hf_kafka_produce_headers(hf_kafka_producer *p, const void *key, size_t keylen,
                             const void *value, size_t len,
                             const char *const *headers, int nheaders)
{
    for (int waited = 0;; waited++) {
        rd_kafka_headers_t *hdrs = NULL;
        if (nheaders > 0) {
            hdrs = rd_kafka_headers_new((size_t)nheaders);
            for (int i = 0; i < nheaders; i++)
                rd_kafka_header_add(hdrs, headers[2 * i], -1, headers[2 * i + 1], -1);
        }
        rd_kafka_resp_err_t e = rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(p->topic), RD_KAFKA_V_KEY(key, keylen),
            RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (atomic_load(&p->down) && atomic_exchange(&p->down, 0))
                hf_log(HF_LOG_INFO, "kafka: %s: producing again", p->topic);
            return 0;
        }
        if (hdrs) rd_kafka_headers_destroy(hdrs);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            static hf_ratelimit rl = HF_RATELIMIT_INIT(2);
            atomic_fetch_add(&p->failed, 1);
            hf_log_limited(&rl, HF_LOG_ERROR, "kafka: %s: cannot produce: %s", p->topic,
                           rd_kafka_err2str(e));
            return -1;
        }
        if (waited == 50)                 /* ~5 s of a full queue */
            hf_log(HF_LOG_WARN, "kafka: %s: the producer queue is full; waiting for the "
                   "brokers (back-pressure)", p->topic);
        rd_kafka_poll(p->rk, 100);
    }
}

int hf_kafka_produce(hf_kafka_producer *p, const void *key, size_t keylen,
                     const void *value, size_t len)
{
    return hf_kafka_produce_headers(p, key, keylen, value, len, NULL, 0);
}

int hf_kafka_producer_sync(hf_kafka_producer *p, int timeout_ms)
{
    if (rd_kafka_flush(p->rk, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR) return -1;
    unsigned long long failed = atomic_load(&p->failed);
    unsigned long long before = atomic_exchange(&p->failed_synced, failed);
    return failed == before ? 0 : -1;
}

uint64_t hf_kafka_producer_failed(hf_kafka_producer *p)
{
    return atomic_load(&p->failed);
}

void hf_kafka_producer_free(hf_kafka_producer *p)
{
    if (!p) return;
    rd_kafka_flush(p->rk, 30000);
    atomic_store(&p->stop, 1);
    pthread_join(p->poller, NULL);
    unsigned long long left = (unsigned long long)rd_kafka_outq_len(p->rk);
    if (left) hf_log(HF_LOG_ERROR, "kafka: %s: %llu messages not delivered at exit", p->topic, left);
    rd_kafka_destroy(p->rk);
    hf_free(p->topic);
    hf_free(p);
}

/* ------------------------------------------------------------------------
 * A time range
 * --------------------------------------------------------------------- */

#define RANGE_SLACK_MS (3600 * 1000)

long hf_kafka_copy_range(const hf_config *cfg, const char *topic, int64_t from_ms,
                         FILE *out, char *err, size_t errlen)
{
    static const char *const extra[] = {
        "group.id", "hostflow-query",        /* required by the client; nothing is committed */
        "enable.auto.commit", "false",
        "enable.partition.eof", "true",
        NULL};
    rd_kafka_conf_t *conf = make_conf(cfg, extra, err, errlen);
    if (!conf) return -1;
    rd_kafka_conf_set_log_cb(conf, log_cb);
    char why[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why);
    if (!rk) {
        snprintf(err, errlen, "kafka: cannot create a consumer: %s", why);
        return -1;
    }
    long copied = -1;
    rd_kafka_topic_partition_list_t *parts = NULL;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    if (e || md->topic_cnt != 1 || md->topics[0].err) {
        snprintf(err, errlen, "kafka: %s: %s", topic,
                 rd_kafka_err2str(e ? e : md->topic_cnt ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
        goto done;
    }
    int n = md->topics[0].partition_cnt;
    int64_t *end = hf_calloc((size_t)n + 1, sizeof(int64_t));
    parts = rd_kafka_topic_partition_list_new(n);
    for (int i = 0; i < n; i++) {
        int32_t id = md->topics[0].partitions[i].id;
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(rk, topic, id, &lo, &hi, 10000)) hi = 0;
        rd_kafka_topic_partition_list_add(parts, topic, id)->offset = from_ms - RANGE_SLACK_MS;
        end[i] = hi;
    }
    rd_kafka_offsets_for_times(rk, parts, 10000);
    int open = 0;
    for (int i = 0; i < n; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        if (tp->offset < 0 || tp->offset >= end[i]) tp->offset = RD_KAFKA_OFFSET_END;
        else open++;
    }
    rd_kafka_assign(rk, parts);
    copied = 0;
    while (open > 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
        if (!m) continue;
        int i = 0;
        while (i < n && parts->elems[i].partition != m->partition) i++;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (i < n && end[i] >= 0) { end[i] = -1; open--; }
        } else if (m->err) {
            snprintf(err, errlen, "kafka: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            copied = -1;
            break;
        } else if (i < n && end[i] >= 0) {
            const char *p = m->payload;
            for (size_t k = 0; k < m->len; k++) putc(p[k] == '\n' ? ' ' : p[k], out);
            putc('\n', out);
            copied++;
            if (m->offset + 1 >= end[i]) { end[i] = -1; open--; }
        }
        rd_kafka_message_destroy(m);
    }
    hf_free(end);
done:
    if (parts) rd_kafka_topic_partition_list_destroy(parts);
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return copied;
}

/* ------------------------------------------------------------------------
 * Source
 * --------------------------------------------------------------------- */

struct hf_kafka_source {
    rd_kafka_t         *rk;
    hf_pipeline        *pipeline;
    const hf_config    *cfg;
    hf_kafka_producer  *dead;          /* dead letters, or NULL */
    int64_t             start_ms;      /* --from TIME, or -1 */
    int                 assigned;      /* partitions assigned now */
    int                 eof;           /* a partition ended, and no message came since */
    int                 seen_assignment;
    uint64_t            messages, bytes, dead_letters, commits, commit_failures;
    int64_t             lag;           /* messages behind, over the assignment */
    char                group[128];
    int                 down;
    int                 closed;        /* left the group: the last commit is done */
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

/* Commit what the pipeline says is safe.  sync_ms: how long to wait for the
 * sinks.  Returns 0, or -1 when nothing could be committed this time. */
static int commit(hf_kafka_source *s, int sync_ms)
{
    hf_commit_point pts[1024];
    int n = hf_pipeline_commit_points(s->pipeline, sync_ms, pts, 1024);
    if (n < 0) return -1;
    if (n == 0) return 0;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
    for (int i = 0; i < n; i++) {
        rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(l, pts[i].topic, pts[i].partition);
        tp->offset = pts[i].offset;
        char md[64];
        int len = snprintf(md, sizeof md, METADATA_PREFIX "%" PRId64, pts[i].released_until);
        tp->metadata = hf_strndup(md, (size_t)len);   /* freed by the list */
        tp->metadata_size = (size_t)len;
    }
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

static void rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    hf_kafka_source *s = opaque;
    char list[512];
    describe_parts(parts, list, sizeof list);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        /* where each partition's records are complete, from the commits */
        rd_kafka_committed(rk, parts, 10000);
        for (int i = 0; i < parts->cnt; i++) {
            rd_kafka_topic_partition_t *tp = &parts->elems[i];
            int64_t released = parse_metadata(tp->metadata, tp->metadata_size);
            int idx = hf_pipeline_partition(s->pipeline, tp->topic, tp->partition, released);
            hf_pipeline_partition_eof(s->pipeline, idx, 0);
        }
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
        s->eof = 0;
        hf_log(HF_LOG_INFO, "kafka: assigned %s (group %s; from %s)", list, s->group, from);
        rd_kafka_assign(rk, parts);
    } else if (s->closed) {              /* leaving the group after the final commit */
        rd_kafka_assign(rk, NULL);
    } else {
        hf_log(HF_LOG_INFO, "kafka: revoked %s: flushing open windows and committing", list);
        hf_pipeline_flush(s->pipeline);
        if (commit(s, 10000) < 0)
            hf_log(HF_LOG_WARN, "kafka: could not commit before giving %s up: the next owner "
                   "reads their flows again (at least once)", list);
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
             s->assigned, (unsigned long long)s->messages, (long long)s->lag,
             (unsigned long long)s->commits, (unsigned long long)s->commit_failures,
             (unsigned long long)s->dead_letters);
    hf_buf_puts(out, line);
}

hf_kafka_source *hf_kafka_source_new(const hf_config *cfg, const char *topics,
                                     struct hf_pipeline *p, char *err, size_t errlen)
{
    static const char *const extra[] = {
        "group.id", "hostflow",
        "enable.auto.commit", "false",
        "enable.auto.offset.store", "false",
        "enable.partition.eof", "true",
        "partition.assignment.strategy", "range,roundrobin",
        NULL};
    hf_kafka_source *s = hf_calloc(1, sizeof *s);
    s->pipeline = p;
    s->cfg = cfg;
    s->start_ms = -1;
    int64_t ms;
    if (strcmp(cfg->kafka_start, "earliest") && strcmp(cfg->kafka_start, "latest")) {
        if (hf_time_parse_iso(cfg->kafka_start, strlen(cfg->kafka_start), &ms) < 0) {
            snprintf(err, errlen, "kafka_start: expected earliest, latest or a time, got \"%s\"",
                     cfg->kafka_start);
            goto fail;
        }
        s->start_ms = ms;
    }
    rd_kafka_conf_t *conf = make_conf(cfg, extra, err, errlen);
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
    rd_kafka_conf_set_log_cb(conf, log_cb);
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
    hf_pipeline_set_report(p, report, s);
    return s;
fail:
    hf_kafka_source_free(s);
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
    int64_t total = 0;
    for (int i = 0; i < a->cnt; i++) {
        int64_t lo, hi;
        if (rd_kafka_get_watermark_offsets(s->rk, a->elems[i].topic, a->elems[i].partition,
                                           &lo, &hi) != 0)
            continue;
        int64_t next = hf_pipeline_next_offset(s->pipeline, a->elems[i].topic, a->elems[i].partition);
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
    for (int i = 0; i < a->cnt; i++) {
        int64_t lo, hi;
        const char *t = a->elems[i].topic;
        int32_t id = a->elems[i].partition;
        int idx = hf_pipeline_partition(s->pipeline, t, id, INT64_MIN);
        if (!hf_pipeline_partition_at_end(s->pipeline, idx)) continue;
        if (rd_kafka_query_watermark_offsets(s->rk, t, id, &lo, &hi, 500) != 0) continue;
        int64_t next = hf_pipeline_next_offset(s->pipeline, t, id);
        if (next >= 0 && hi > next) hf_pipeline_partition_eof(s->pipeline, idx, 0);
    }
    rd_kafka_topic_partition_list_destroy(a);
}

int hf_kafka_source_run(hf_kafka_source *s, atomic_int *stop)
{
    double last_commit = now_s(), last_recheck = last_commit;
    while (!atomic_load(stop)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, 100);
        int idle = m == NULL;
        if (m) {
            const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "?";
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                int idx = hf_pipeline_partition(s->pipeline, topic, m->partition, INT64_MIN);
                hf_pipeline_partition_eof(s->pipeline, idx, 1);
                s->eof = 1;
            } else if (m->err) {
                static hf_ratelimit rl = HF_RATELIMIT_INIT(2);
                hf_log_limited(&rl, HF_LOG_WARN, "kafka: %s", rd_kafka_message_errstr(m));
            } else {
                if (s->down) {
                    s->down = 0;
                    hf_log(HF_LOG_INFO, "kafka: consuming again");
                }
                int idx = hf_pipeline_partition(s->pipeline, topic, m->partition, INT64_MIN);
                s->messages++;
                s->bytes += m->len;
                int rc = hf_pipeline_feed_at(s->pipeline, idx, m->offset, m->payload, m->len);
                if (rc > 0 && s->dead) dead_letter(s, m, rc);
                s->eof = 0;
            }
            rd_kafka_message_destroy(m);
        }
        double t = now_s();
        if (t - last_recheck >= 1.0) {
            recheck_eof(s);
            last_recheck = t;
        }
        if (idle) hf_pipeline_tick(s->pipeline);
        if (t - last_commit >= (double)s->cfg->commit_interval_ms / 1000.0) {
            commit(s, 2000);
            s->lag = lag(s);
            last_commit = t;
        }
        if (s->cfg->exit_at_end && s->assigned > 0 && s->eof && idle && lag(s) == 0) break;
    }
    hf_log(HF_LOG_INFO, "kafka: stopping: flushing open windows, draining the sinks, committing");
    hf_pipeline_flush(s->pipeline);
    int rc = 0;
    for (int tries = 0; commit(s, 10000) < 0; tries++)
        if (tries == 5) {
            hf_log(HF_LOG_ERROR, "kafka: the last commit failed: the records are written, and a "
                   "restart reads their flows again (at least once)");
            rc = -1;
            break;
        }
    s->closed = 1;
    if (!s->down) rd_kafka_consumer_close(s->rk);   /* leave the group now: the commit is done */
    return rc;
}

void hf_kafka_source_free(hf_kafka_source *s)
{
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
    hf_free(s);
}
