/* kafka_producer.h -- a Kafka producer for records and dead letters.
 *
 * Serves the Kafka output (out_kafka.c) and the dead-letter topics of the
 * inputs.  Every librdkafka setting of the configuration (kafka = {...},
 * -K) is passed unchanged, so SASL and TLS work as librdkafka documents
 * them; hostflow's own defaults (idempotence, retrying for ever, lz4) apply
 * where the user set nothing. */
#ifndef HF_KAFKA_PRODUCER_H
#define HF_KAFKA_PRODUCER_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "conf/config.h"

typedef struct hf_kafka_producer hf_kafka_producer;

/* A producer for topic.  NULL with a message in err. */
hf_kafka_producer *hf_kafka_producer_new(const hf_config *cfg, const char *topic,
                                         char *err, size_t errlen);
/* Produce one message (copied).  Blocks while the producer's queue is full
 * (back-pressure: hostflow slows down rather than drop).  Optional headers:
 * nheaders name/value pairs.  Returns 0, or -1 when the message can never
 * be produced (too large, an unknown topic): counted as lost. */
int hf_kafka_produce_headers(hf_kafka_producer *p, const void *key, size_t keylen,
                             const void *value, size_t len,
                             const char *const *headers, int nheaders);
int hf_kafka_produce(hf_kafka_producer *p, const void *key, size_t keylen,
                     const void *value, size_t len);
/* The same message to every partition of the topic (its partition count
 * from the brokers' metadata, asked again every minute).  Returns how
 * many partitions it went to, or -1. */
int hf_kafka_produce_all(hf_kafka_producer *p, const void *key, size_t keylen,
                         const void *value, size_t len);

/* ------------------------------------------------------------------------
 * Transactions (the partial role: what it writes and the offsets of what
 * it read are committed together, or not at all)
 * --------------------------------------------------------------------- */

enum { HF_TXN_OK = 0, HF_TXN_ABORTED = -1, HF_TXN_FATAL = -2 };

/* A transactional producer for topic, with transactional.id txn_id: the
 * brokers abort the transaction of an earlier producer with the same id
 * (a crashed instance restarted), and a transaction is begun.  NULL with a
 * message in err. */
hf_kafka_producer *hf_kafka_producer_new_txn(const hf_config *cfg, const char *topic,
                                             const char *txn_id, char *err, size_t errlen);
/* Commit the transaction with the consumer's offsets (NULL or empty: none)
 * and begin the next.  HF_TXN_OK; HF_TXN_ABORTED: it was aborted (what it
 * held is gone; the caller reads again from its last commit) and the next
 * one begun; HF_TXN_FATAL: the producer is dead (fenced by a newer one
 * with its id), with a message in err. */
int hf_kafka_producer_commit_txn(hf_kafka_producer *p, rd_kafka_topic_partition_list_t *offsets,
                                 rd_kafka_consumer_group_metadata_t *group, char *err, size_t errlen);

/* Wait at most timeout_ms for every message produced so far to be
 * acknowledged.  0 when all were, -1 when some are still on the way or
 * failed since the last successful sync. */
int hf_kafka_producer_sync(hf_kafka_producer *p, int timeout_ms);

/* Wait at most timeout_ms for every message produced so far to be
 * acknowledged (delivered or failed): 0, or -1 when some are still on the
 * way.  Failures are for the caller to count (hf_kafka_producer_failed). */
int hf_kafka_producer_flush(hf_kafka_producer *p, int timeout_ms);

typedef struct hf_kafka_counts {
    uint64_t delivered;      /* acknowledged by the brokers */
    uint64_t queued;         /* produced, not acknowledged yet */
    uint64_t too_large;      /* refused at once: over message.max.bytes */
    uint64_t refused;        /* refused at once for another reason */
    uint64_t failed;         /* delivery failed (a finite message.timeout.ms, ...) */
    int      down;           /* every broker is unreachable now */
} hf_kafka_counts;

void hf_kafka_producer_counts(hf_kafka_producer *p, hf_kafka_counts *c);
uint64_t hf_kafka_producer_failed(hf_kafka_producer *p);
void hf_kafka_producer_free(hf_kafka_producer *p);

#endif
