/* changelog.c -- profiles.topic on Kafka (see changelog.h).
 *
 * Writing: one producer (kafka_producer.h: idempotent, retrying) shared by
 * the workers; each worker's flush waits for everything produced and fails
 * when a delivery failed since that worker's last flush (every worker
 * learns of a failure once, so none counts a save whose rows were lost).
 *
 * Reading: a consumer of its own, in no group (it assigns partitions, never
 * commits): the high watermarks of every partition as they are when the
 * read starts, then each partition from its beginning up to there, so the
 * read ends however fast others write meanwhile.  It runs in the input's
 * rebalance callback, before any flow of the new assignment is read. */
#include "io/changelog.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "io/kafka_conf.h"
#include "io/kafka_producer.h"

#define SEEN_MAX    1024            /* workers whose failures are told apart */
#define READ_MAX_MS (10 * 60000.0)  /* a read that takes longer gives up */

typedef struct kafka_changelog {
    hf_changelog        ops;        /* first: the table handed out */
    const hf_config    *cfg;
    hf_kafka_producer  *producer;
    char               *topic;
    atomic_ullong       seen[SEEN_MAX];   /* failures each worker has been told of */
} kafka_changelog;

static int cl_put(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    kafka_changelog *c = ctx;
    return hf_kafka_produce(c->producer, key, klen, val, val ? vlen : 0);
}

static int cl_flush(void *ctx, int worker, int timeout_ms)
{
    kafka_changelog *c = ctx;
    int rc = hf_kafka_producer_flush(c->producer, timeout_ms);
    unsigned long long failed = hf_kafka_producer_failed(c->producer);
    unsigned long long before = atomic_exchange(&c->seen[(unsigned)worker % SEEN_MAX], failed);
    return rc == 0 && failed == before ? 0 : -1;
}

/* The partitions of the topic and their high watermarks now, into a list
 * (offset: where to start; the high watermark in *ends, by index).  NULL
 * with err when the brokers do not say; an empty list for an empty topic. */
static rd_kafka_topic_partition_list_t *ends_now(rd_kafka_t *rk, const char *topic, int64_t **ends,
                                                 char *err, size_t errlen)
{
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = t ? rd_kafka_metadata(rk, 0, t, &md, 10000) : RD_KAFKA_RESP_ERR__FAIL;
    if (t) rd_kafka_topic_destroy(t);
    if (!e && md && md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        hf_log(HF_LOG_WARN, "profiles.topic %s does not exist yet: nothing to read (create it "
               "compacted before the first run: contrib/docs/scaling.md, \"Profiles: the changelog\"; "
               "else the brokers may make it, uncompacted, at the first write)", topic);
        rd_kafka_metadata_destroy(md);
        *ends = hf_calloc(1, sizeof **ends);
        return rd_kafka_topic_partition_list_new(1);
    }
    if (e || !md || md->topic_cnt != 1 || md->topics[0].err) {
        snprintf(err, errlen, "%s", e ? rd_kafka_err2str(e)
                                : md && md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err)
                                                           : "no metadata");
        if (md) rd_kafka_metadata_destroy(md);
        return NULL;
    }
    int n = md->topics[0].partition_cnt;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n > 0 ? n : 1);
    *ends = hf_calloc((size_t)(n > 0 ? n : 1), sizeof **ends);
    for (int i = 0; i < n; i++) {
        int32_t id = md->topics[0].partitions[i].id;
        int64_t lo = 0, hi = 0;
        e = rd_kafka_query_watermark_offsets(rk, topic, id, &lo, &hi, 10000);
        if (e) {
            snprintf(err, errlen, "the end of partition %d: %s", id, rd_kafka_err2str(e));
            rd_kafka_metadata_destroy(md);
            rd_kafka_topic_partition_list_destroy(l);
            hf_free(*ends);
            *ends = NULL;
            return NULL;
        }
        if (hi <= lo) continue;                          /* empty */
        rd_kafka_topic_partition_list_add(l, topic, id)->offset = lo;
        (*ends)[l->cnt - 1] = hi;
    }
    rd_kafka_metadata_destroy(md);
    return l;
}

/* A consumer in no group (it assigns partitions, never commits), or NULL
 * with err. */
static rd_kafka_t *reader_new(const kafka_changelog *c, char *err, size_t errlen)
{
    static const char *const extra[] = {
        "group.id", "hostflow-changelog-reader",      /* never joined: partitions are assigned */
        "enable.auto.commit", "false",
        "enable.partition.eof", "true",
        "auto.offset.reset", "earliest",
        NULL};
    char why[512];
    rd_kafka_conf_t *conf = hf_kafka_conf_new(c->cfg, extra, err, errlen);
    if (!conf) return NULL;
    rd_kafka_conf_set_log_cb(conf, hf_kafka_log_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why);
    if (!rk) snprintf(err, errlen, "cannot create a consumer: %s", why);
    return rk;
}

static int cl_read(void *ctx, hf_changelog_fn fn, void *fctx, char *err, size_t errlen)
{
    kafka_changelog *c = ctx;
    char why[512];
    int rc = -1;
    int64_t *ends = NULL;
    rd_kafka_topic_partition_list_t *l = NULL;
    rd_kafka_t *rk = reader_new(c, err, errlen);
    if (!rk) return -1;
    l = ends_now(rk, c->topic, &ends, why, sizeof why);
    if (!l) {
        snprintf(err, errlen, "cannot read: %s", why);
        goto done;
    }
    int left = l->cnt;
    uint8_t *done = hf_calloc((size_t)(l->cnt > 0 ? l->cnt : 1), 1);
    if (left && rd_kafka_assign(rk, l) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "cannot read: its partitions cannot be assigned");
        hf_free(done);
        goto done;
    }
    double t0 = hf_now_ns();
    while (left > 0) {
        if ((hf_now_ns() - t0) / 1e6 > READ_MAX_MS) {
            snprintf(err, errlen, "read for %.0f minutes and not at its end (%d partitions left): "
                     "the rest is not read", READ_MAX_MS / 60000.0, left);
            hf_free(done);
            goto done;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m) continue;
        int k = -1;
        for (int i = 0; i < l->cnt; i++)
            if (l->elems[i].partition == m->partition) k = i;
        if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            static hf_ratelimit rl = HF_RATELIMIT_INIT(2);
            hf_log_limited(&rl, HF_LOG_WARN, "profiles.topic %s: %s", c->topic, rd_kafka_message_errstr(m));
        } else if (k >= 0 && !done[k]) {
            if (!m->err && m->offset < ends[k]) fn(fctx, m->key, m->key_len, m->payload, m->len);
            if ((m->err ? m->offset : m->offset + 1) >= ends[k]) {
                done[k] = 1;
                left--;
            }
        }
        rd_kafka_message_destroy(m);
    }
    hf_free(done);
    rc = 0;
done:
    if (l) rd_kafka_topic_partition_list_destroy(l);
    hf_free(ends);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

/* 0 unless the brokers say that the topic does not exist (-1, err): its
 * writes would wait for ever, or make it uncompacted.  Brokers that do not
 * answer are the reading's and writing's to wait for. */
static int topic_exists(const kafka_changelog *c, char *err, size_t errlen)
{
    rd_kafka_t *rk = reader_new(c, err, errlen);
    if (!rk) return -1;
    int rc = 0;
    if (hf_kafka_topic_missing(rk, c->topic)) {     /* a consumer's request: nothing is created */
        snprintf(err, errlen, "the topic does not exist: create it compacted "
                 "(cleanup.policy=compact,delete; contrib/docs/scaling.md, \"Profiles: the changelog\")");
        rc = -1;
    }
    rd_kafka_destroy(rk);
    return rc;
}

hf_changelog *hf_kafka_changelog_new(const hf_config *cfg, char *err, size_t errlen)
{
    kafka_changelog *c = hf_calloc(1, sizeof *c);
    c->cfg = cfg;
    c->topic = hf_strdup(cfg->profiles_topic);
    if (topic_exists(c, err, errlen) < 0) {
        hf_free(c->topic);
        hf_free(c);
        return NULL;
    }
    c->producer = hf_kafka_producer_new(cfg, c->topic, err, errlen);
    if (!c->producer) {
        hf_free(c->topic);
        hf_free(c);
        return NULL;
    }
    for (int i = 0; i < SEEN_MAX; i++) atomic_init(&c->seen[i], 0);
    c->ops = (hf_changelog){.ctx = c, .put = cl_put, .flush = cl_flush, .read = cl_read, .topic = c->topic};
    return &c->ops;
}

void hf_kafka_changelog_free(hf_changelog *cl)
{
    if (!cl) return;
    kafka_changelog *c = cl->ctx;
    hf_kafka_producer_free(c->producer);
    hf_free(c->topic);
    hf_free(c);
}
