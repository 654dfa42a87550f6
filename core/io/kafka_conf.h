/* kafka_conf.h -- the librdkafka configuration shared by the Kafka input
 * (in_kafka.c), the producers (kafka_producer.c: the Kafka output, the
 * relay's, the changelog's), the changelog's reader (changelog.c) and the
 * range reader of `hostflow query --kafka` (kafka_range.c). */
#ifndef HF_KAFKA_CONF_H
#define HF_KAFKA_CONF_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "conf/config.h"

/* A librdkafka configuration: every setting of cfg's kafka table, then
 * `extra` (name, value pairs, NULL-terminated) where the user set nothing.
 * NULL with a message in err naming the setting librdkafka refused. */
rd_kafka_conf_t *hf_kafka_conf_new(const hf_config *cfg, const char *const *extra,
                                   char *err, size_t errlen);

/* This instance's name in its group, as in_kafka.c makes its
 * group.instance.id: the kafka table's group.instance.id, else
 * kafka_instance (auto: "hostflow-<host>-<group>"; none, a dynamic member:
 * "<host>-<pid>").  The progress messages say it, and the transactional.id
 * of the relay and the partial role is made of it, so that a restarted
 * instance fences its predecessor and aborts its open transaction at once. */
void hf_kafka_instance_id(const hf_config *cfg, char *out, size_t n);

/* Whether the brokers say that topic does not exist (1), asked through rk
 * with a metadata request (a producer's may make brokers that create
 * topics on demand create it; a consumer's does not).  0 also when they
 * cannot be asked now: whoever waits for them decides. */
int hf_kafka_topic_missing(rd_kafka_t *rk, const char *topic);

/* librdkafka's own log lines, through hostflow's (rate-limited). */
void hf_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

#endif
