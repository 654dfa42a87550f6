/* kafka_producer.c -- a Kafka producer that does not lose records (see
 * kafka_producer.h): idempotent, retrying for ever (message.timeout.ms = 0)
 * unless configured otherwise, with a thread that serves delivery reports.
 * A full queue blocks the producing thread, which blocks the workers and so
 * the reader: back-pressure instead of loss.  hf_kafka_producer_sync()
 * flushes and reports whether anything failed since the last sync.
 *
 * A transactional producer (the partial role) delivers within its
 * transaction: message.timeout.ms is the transaction's timeout, a delivery
 * that fails makes the commit fail, and the transaction is aborted and
 * begun again; the caller then reads its input again from its last commit,
 * so what the aborted transaction held is made again. */
#include "io/kafka_producer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "io/kafka_conf.h"

#define TXN_INIT_S 60.0   /* how long a transactional producer tries to start */

struct hf_kafka_producer {
    rd_kafka_t      *rk;
    char            *topic;
    pthread_t        poller;
    atomic_int       stop;
    atomic_ullong    delivered;     /* acknowledged */
    atomic_ullong    failed;        /* messages that could not be delivered */
    atomic_ullong    too_large, refused;   /* refused at produce time */
    atomic_ullong    failed_synced; /* failed, as of the last sync */
    atomic_int       down;          /* the brokers are unreachable */
    int              txn;           /* transactional */
    int              partitions;    /* the topic's, for hf_kafka_produce_all */
    double           partitions_at; /* when they were asked (monotonic s) */
};

static void delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    hf_kafka_producer *p = opaque;
    if (!m->err) {
        atomic_fetch_add_explicit(&p->delivered, 1, memory_order_relaxed);
    } else {
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

/* A producer with the configuration's settings over extra, and
 * transactional.id txn_id when not NULL. */
static hf_kafka_producer *producer_new(const hf_config *cfg, const char *topic, const char *const *extra,
                                       const char *txn_id, char *err, size_t errlen)
{
    if (!*topic) {
        snprintf(err, errlen, "kafka: no topic given (kafka:TOPIC)");
        return NULL;
    }
    rd_kafka_conf_t *conf = hf_kafka_conf_new(cfg, extra, err, errlen);
    if (!conf) return NULL;
    char why[512];
    if (txn_id && rd_kafka_conf_set(conf, "transactional.id", txn_id, why, sizeof why) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka: transactional.id: %s", why);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    hf_kafka_producer *p = hf_calloc(1, sizeof *p);
    p->topic = hf_strdup(topic);
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_conf_set_dr_msg_cb(conf, delivered);
    rd_kafka_conf_set_error_cb(conf, producer_error);
    rd_kafka_conf_set_log_cb(conf, hf_kafka_log_cb);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
    if (!p->rk) {
        snprintf(err, errlen, "kafka: cannot create a producer: %s", why);
        hf_free(p->topic);
        hf_free(p);
        return NULL;
    }
    /* a topic the brokers have not got (nor create on demand) would fail
     * every message once librdkafka stops waiting for it (30 s) */
    if (hf_kafka_topic_missing(p->rk, topic)) {
        snprintf(err, errlen, "kafka: topic %s does not exist and the brokers did not create it (they "
                 "create topics on demand only with auto.create.topics.enable): create it first "
                 "(kafka-topics.sh --create --topic %s --partitions N; contrib/docs/scaling.md lists the "
                 "topics and their settings)", topic, topic);
        rd_kafka_destroy(p->rk);
        hf_free(p->topic);
        hf_free(p);
        return NULL;
    }
    pthread_create(&p->poller, NULL, producer_poll, p);
    return p;
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
    return producer_new(cfg, topic, extra, NULL, err, errlen);
}

hf_kafka_producer *hf_kafka_producer_new_txn(const hf_config *cfg, const char *topic,
                                             const char *txn_id, char *err, size_t errlen)
{
    static const char *const extra[] = {
        "linger.ms", "20",
        "compression.codec", "lz4",
        NULL};
    hf_kafka_producer *p = producer_new(cfg, topic, extra, txn_id, err, errlen);
    if (!p) return NULL;
    p->txn = 1;
    rd_kafka_error_t *e = NULL;
    /* the brokers may be loading their transaction state at first: a
     * retriable error says so, and is tried again for TXN_INIT_S; anything
     * else is the end, and so are brokers that do not answer by then (a
     * start is not a place to wait for ever: a stop is not heard here) */
    double t0 = hf_now_ns();
    for (;;) {
        e = rd_kafka_init_transactions(p->rk, 10000);
        if (!e || !rd_kafka_error_is_retriable(e) || hf_now_ns() - t0 >= TXN_INIT_S * 1e9) break;
        rd_kafka_error_destroy(e);
        e = NULL;
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
    }
    if (!e) e = rd_kafka_begin_transaction(p->rk);
    if (e) {
        snprintf(err, errlen, "kafka: %s: cannot start a transaction (transactional.id %s): %s "
                 "(tried for up to %.0f s)", topic, txn_id, rd_kafka_error_string(e), TXN_INIT_S);
        rd_kafka_error_destroy(e);
        hf_kafka_producer_free(p);
        return NULL;
    }
    return p;
}

int hf_kafka_producer_commit_txn(hf_kafka_producer *p, rd_kafka_topic_partition_list_t *offsets,
                                 rd_kafka_consumer_group_metadata_t *group, char *err, size_t errlen)
{
    rd_kafka_error_t *e = NULL;
    if (offsets && offsets->cnt > 0) e = rd_kafka_send_offsets_to_transaction(p->rk, offsets, group, 60000);
    if (!e) e = rd_kafka_commit_transaction(p->rk, 60000);
    int rc = HF_TXN_OK;
    if (e) {
        snprintf(err, errlen, "%s", rd_kafka_error_string(e));
        if (rd_kafka_error_is_fatal(e)) rc = HF_TXN_FATAL;
        else rc = HF_TXN_ABORTED;
        rd_kafka_error_destroy(e);
        if (rc == HF_TXN_ABORTED) {
            e = rd_kafka_abort_transaction(p->rk, 60000);
            if (e) {
                snprintf(err, errlen, "%s", rd_kafka_error_string(e));
                rc = rd_kafka_error_is_fatal(e) ? HF_TXN_FATAL : HF_TXN_ABORTED;
                rd_kafka_error_destroy(e);
            }
        }
    }
    if (rc != HF_TXN_FATAL) {
        e = rd_kafka_begin_transaction(p->rk);
        if (e) {
            snprintf(err, errlen, "%s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            rc = HF_TXN_FATAL;
        }
    }
    atomic_store(&p->failed_synced, atomic_load(&p->failed));   /* the transaction decided */
    return rc;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int hf_kafka_produce_all(hf_kafka_producer *p, const void *key, size_t keylen,
                         const void *value, size_t len)
{
    double now = mono_s();
    if (p->partitions <= 0 || now - p->partitions_at > 60) {
        rd_kafka_topic_t *t = rd_kafka_topic_new(p->rk, p->topic, NULL);
        const struct rd_kafka_metadata *md = NULL;
        if (t && rd_kafka_metadata(p->rk, 0, t, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            md->topic_cnt == 1 && md->topics[0].partition_cnt > 0) {
            p->partitions = md->topics[0].partition_cnt;
            p->partitions_at = now;
        }
        if (md) rd_kafka_metadata_destroy(md);
        if (t) rd_kafka_topic_destroy(t);
    }
    if (p->partitions <= 0) return -1;
    for (int i = 0; i < p->partitions; i++)
        for (int waited = 0;; waited++) {
            rd_kafka_resp_err_t e = rd_kafka_producev(
                p->rk, RD_KAFKA_V_TOPIC(p->topic), RD_KAFKA_V_PARTITION(i), RD_KAFKA_V_KEY(key, keylen),
                RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                atomic_fetch_add(&p->refused, 1);
                return -1;
            }
            rd_kafka_poll(p->rk, 100);
        }
    return p->partitions;
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
            atomic_fetch_add(e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ? &p->too_large : &p->refused, 1);
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
    unsigned long long failed = hf_kafka_producer_failed(p);
    unsigned long long before = atomic_exchange(&p->failed_synced, failed);
    return failed == before ? 0 : -1;
}

int hf_kafka_producer_flush(hf_kafka_producer *p, int timeout_ms)
{
    return rd_kafka_flush(p->rk, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

uint64_t hf_kafka_producer_failed(hf_kafka_producer *p)
{
    return atomic_load(&p->failed) + atomic_load(&p->too_large) + atomic_load(&p->refused);
}

void hf_kafka_producer_counts(hf_kafka_producer *p, hf_kafka_counts *c)
{
    c->delivered = atomic_load(&p->delivered);
    c->queued = (uint64_t)rd_kafka_outq_len(p->rk);
    c->too_large = atomic_load(&p->too_large);
    c->refused = atomic_load(&p->refused);
    c->failed = atomic_load(&p->failed);
    c->down = atomic_load(&p->down);
}

void hf_kafka_producer_free(hf_kafka_producer *p)
{
    if (!p) return;
    if (p->txn) {                    /* what came after the last commit is not to be seen */
        rd_kafka_error_t *e = rd_kafka_abort_transaction(p->rk, 10000);
        if (e) rd_kafka_error_destroy(e);
    }
    rd_kafka_flush(p->rk, 30000);
    atomic_store(&p->stop, 1);
    pthread_join(p->poller, NULL);
    unsigned long long left = (unsigned long long)rd_kafka_outq_len(p->rk);
    if (left) hf_log(HF_LOG_ERROR, "kafka: %s: %llu messages not delivered at exit", p->topic, left);
    rd_kafka_destroy(p->rk);
    hf_free(p->topic);
    hf_free(p);
}

