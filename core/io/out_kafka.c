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
 * again after a restart) and exits non-zero. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "io/io.h"
#include "io/kafka_producer.h"

typedef struct out_kafka {
    hf_kafka_producer *producer;
} out_kafka;

static void *kafka_open(const hf_config *cfg, const char *target, char *err, size_t errlen)
{
    hf_kafka_producer *p = hf_kafka_producer_new(cfg, target, err, errlen);
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
        hf_kafka_produce(o->producer, batch->text + r->key_off, r->key_len, batch->text + r->off, r->len);
    }
    return HF_OUT_OK;
}

static int kafka_flush(void *arg, int timeout_ms)
{
    out_kafka *o = arg;
    return hf_kafka_producer_sync(o->producer, timeout_ms) == 0 ? HF_OUT_OK : HF_OUT_PENDING;
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
    .counters = kafka_counters,
    .close = kafka_close,
};
