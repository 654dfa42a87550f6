/* kafka.h -- Apache Kafka in and out, through librdkafka.
 *
 * The producer serves the Kafka sink (sink.c) and the dead-letter topic.
 * The source is a consumer in a group that feeds the pipeline message by
 * message and commits offsets at least once: only offsets whose flows are
 * in records that every sink has acknowledged (see pipeline.h, "Offsets").
 * Every librdkafka setting of the configuration (`kafka = {...}`, -K) is
 * passed to both clients unchanged, so SASL and TLS work as librdkafka
 * documents them. */
#ifndef HF_KAFKA_H
#define HF_KAFKA_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conf/config.h"

/* ------------------------------------------------------------------------
 * Producer
 * --------------------------------------------------------------------- */

typedef struct hf_kafka_producer hf_kafka_producer;

hf_kafka_producer *hf_kafka_producer_new(const hf_config *cfg, const char *topic,
                                         char *err, size_t errlen);
/* Produce one message (copied).  Blocks while the producer's queue is full
 * (back-pressure: hostflow slows down rather than drop).  Optional headers:
 * nheaders name/value pairs.  Returns 0, or -1 on a permanent error. */
int hf_kafka_produce_headers(hf_kafka_producer *p, const void *key, size_t keylen,
                             const void *value, size_t len,
                             const char *const *headers, int nheaders);
int hf_kafka_produce(hf_kafka_producer *p, const void *key, size_t keylen,
                     const void *value, size_t len);
/* Wait at most timeout_ms for every message produced so far to be
 * acknowledged.  0 when all were, -1 when some are still on the way or
 * failed since the last successful sync. */
int hf_kafka_producer_sync(hf_kafka_producer *p, int timeout_ms);
uint64_t hf_kafka_producer_failed(hf_kafka_producer *p);
void hf_kafka_producer_free(hf_kafka_producer *p);

/* ------------------------------------------------------------------------
 * A time range, for investigations
 * --------------------------------------------------------------------- */

/* Copy the messages of topic, one per line, to out: in every partition from
 * the first message stamped at or after from_ms minus an hour (flows are
 * exported after they end) to the end of the partition as it is now.  No
 * consumer group, nothing committed.  Returns the number copied, or -1 with
 * a message in err. */
long hf_kafka_copy_range(const hf_config *cfg, const char *topic, int64_t from_ms,
                         FILE *out, char *err, size_t errlen);

/* ------------------------------------------------------------------------
 * Source
 * --------------------------------------------------------------------- */

struct hf_pipeline;
typedef struct hf_kafka_source hf_kafka_source;

/* A consumer of topics ("a,b,c") in the group of cfg (group.id, default
 * "hostflow"), feeding p.  NULL with a message in err. */
hf_kafka_source *hf_kafka_source_new(const hf_config *cfg, const char *topics,
                                     struct hf_pipeline *p, char *err, size_t errlen);
/* Consume until *stop is set (or, with exit_at_end, every partition is read
 * to its end), committing as windows are emitted; then flush every window,
 * drain the sinks and commit.  Returns 0, or -1 when the last commit failed. */
int hf_kafka_source_run(hf_kafka_source *s, atomic_int *stop);
void hf_kafka_source_free(hf_kafka_source *s);

#endif
