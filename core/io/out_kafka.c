/* out_kafka.c -- the Kafka output: one message per record, keyed by the
 * record's id.
 *
 * The key is deterministic (host / granularity / window start, or host /
 * rule / window start for alerts), so a record written again after a
 * restart lands in the same partition as its twin and replaces it in a
 * compacted topic.  The producer (kafka_producer.c) is idempotent and
 * retries for ever: when the brokers are away records wait; when its queue
 * is full the workers wait, and so does the input (back-pressure).  A
 * record counts as written when the brokers acknowledged it; one that can
 * never be produced (larger than message.max.bytes: too_large; refused at
 * once for another reason: refused) or whose delivery failed (with a
 * finite message.timeout.ms: delivery_failed) is counted as lost, by
 * reason, and said in the log; the run goes on (the record would fail
 * again after a restart) and exits non-zero.
 *
 * In the relay and partial roles the producer is transactional
 * (transactional.id "hostflow.<group.id>.<instance>"): the flows or partial
 * windows and the progress messages (each to every partition of the
 * topic) are committed together with the input's offsets (commit_txn), so
 * after a crash none of what the next owner makes again was seen before:
 * what reads them (read_committed, librdkafka's default) counts each once. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "io/io.h"
#include "io/kafka_conf.h"
#include "io/kafka_producer.h"

typedef struct out_kafka {
    hf_kafka_producer *producer;
} out_kafka;

static void *kafka_open(const hf_config *cfg, const char *target, char *err, size_t errlen)
{
    hf_kafka_producer *p;
    if (cfg->role == HF_ROLE_PARTIAL || cfg->role == HF_ROLE_RELAY) {
        char id[300], txn[600];
        const char *group = hf_config_kafka(cfg, "group.id");
        hf_kafka_instance_id(cfg, id, sizeof id);
        snprintf(txn, sizeof txn, "hostflow.%s.%s", group ? group : "hostflow", id);
        p = hf_kafka_producer_new_txn(cfg, target, txn, err, errlen);
    } else {
        p = hf_kafka_producer_new(cfg, target, err, errlen);
    }
    if (!p) return NULL;
    out_kafka *o = hf_calloc(1, sizeof *o);
    o->producer = p;
    return o;
}

static int kafka_write(void *arg, const hf_records *batch)
{
    out_kafka *o = arg;
    for (size_t i = 0; i < batch->n; i++) {
        const hf_record *r = &batch->recs[i];
        if (r->type == HF_RECORD_PROGRESS)
            hf_kafka_produce_all(o->producer, batch->text + r->key_off, r->key_len,
                                 batch->text + r->off, r->len);
        else
            hf_kafka_produce(o->producer, batch->text + r->key_off, r->key_len,
                             batch->text + r->off, r->len);
    }
    return HF_OUT_OK;
}

static int kafka_flush(void *arg, int timeout_ms)
{
    out_kafka *o = arg;
    return hf_kafka_producer_sync(o->producer, timeout_ms) == 0 ? HF_OUT_OK : HF_OUT_PENDING;
}

static int kafka_commit_txn(void *arg, rd_kafka_topic_partition_list_t *offsets,
                            rd_kafka_consumer_group_metadata_t *group)
{
    out_kafka *o = arg;
    char err[512];
    int rc = hf_kafka_producer_commit_txn(o->producer, offsets, group, err, sizeof err);
    if (rc == HF_TXN_ABORTED)
        hf_log(HF_LOG_WARN, "kafka: the transaction was aborted (%s): its partial windows are "
               "made again from the last commit", err);
    else if (rc == HF_TXN_FATAL)
        hf_log(HF_LOG_ERROR, "kafka: the transactional producer failed for good (%s); stopping "
               "(another instance with the same group.instance.id?)", err);
    return rc == HF_TXN_OK ? HF_OUT_OK : rc == HF_TXN_ABORTED ? HF_OUT_PENDING : HF_OUT_FATAL;
}

static void kafka_counters(void *arg, hf_output_counters *c)
{
    out_kafka *o = arg;
    hf_kafka_counts k;
    hf_kafka_producer_counts(o->producer, &k);
    c->written = k.delivered;
    c->pending = k.queued;
    if (k.too_large) {
        c->lost[c->nlost].reason = "too_large";
        c->lost[c->nlost++].n = k.too_large;
    }
    if (k.refused) {
        c->lost[c->nlost].reason = "refused";
        c->lost[c->nlost++].n = k.refused;
    }
    if (k.failed) {
        c->lost[c->nlost].reason = "delivery_failed";
        c->lost[c->nlost++].n = k.failed;
    }
    c->state = k.down ? "down" : "ok";
}

/* Flush what waits (30 s at most) and leave: -1 when a record was lost
 * (refused, too large, undelivered) or is still not acknowledged. */
static int kafka_close(void *arg)
{
    out_kafka *o = arg;
    int rc = hf_kafka_producer_sync(o->producer, 30000) == 0 ? 0 : -1;
    if (hf_kafka_producer_failed(o->producer) > 0) rc = -1;
    hf_kafka_producer_free(o->producer);
    hf_free(o);
    return rc;
}

const hf_output_ops hf_out_kafka = {
    .scheme = "kafka",
    .usage = "kafka:TOPIC          one message per record, keyed by its id (librdkafka: kafka = {...})",
    .open = kafka_open,
    .write = kafka_write,
    .flush = kafka_flush,
    .commit_txn = kafka_commit_txn,
    .counters = kafka_counters,
    .close = kafka_close,
};
