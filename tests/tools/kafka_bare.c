/* kafka_bare.c -- the bound of Kafka -> hostflow -> Kafka on this machine:
 * librdkafka alone moving the same messages, doing nothing with them.
 *
 * A consumer in a group of its own (subscribed, as hostflow's is) reads a
 * topic from its beginning to its end (the last message as the watermarks
 * count them, or every partition's end-of-partition event), taking each
 * message with rd_kafka_consumer_poll as hostflow does.  With -o it also
 * produces RECORDS records, spread evenly over the messages read, each
 * the first SIZE bytes of the message just read (JSON text, so lz4 finds
 * in it what it finds in hostflow's records) keyed by a record-like id,
 * with as little else as it can (a topic handle, delivery reports served
 * every 1,024 records).  The producer has hostflow's defaults
 * (kafka_producer.c: idempotent, lz4, linger.ms 20, retrying for ever),
 * and everything it produced is acknowledged before the end.
 *
 *   kafka_bare -b BROKERS -t TOPIC [-o TOPIC -n RECORDS -s SIZE] [-X KEY=VALUE]...
 *
 * Prints one JSON object: messages and bytes read, records produced, the
 * seconds from start to the last record acknowledged, the first and last
 * message's times, and the process's CPU (user + sys).  Used by
 * tests/bench/run.sh beside each Kafka run, which measures the broker's
 * CPU around it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static int set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
    char why[512];
    if (rd_kafka_conf_set(conf, key, value, why, sizeof why) == RD_KAFKA_CONF_OK) return 0;
    fprintf(stderr, "kafka_bare: %s: %s\n", key, why);
    return -1;
}

static void delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    if (m->err) ++*(long *)opaque;
}

int main(int argc, char **argv)
{
    const char *brokers = NULL, *topic = NULL, *out = NULL;
    long records = 0, size = 380, failed = 0;   /* the five statistics' records: 377 B on the bench's flows */
    const char *extra[64];
    int nextra = 0, c;
    while ((c = getopt(argc, argv, "b:t:o:n:s:X:")) != -1) {
        switch (c) {
        case 'b': brokers = optarg; break;
        case 't': topic = optarg; break;
        case 'o': out = optarg; break;
        case 'n': records = atol(optarg); break;
        case 's': size = atol(optarg); break;
        case 'X': if (nextra < 64) extra[nextra++] = optarg; break;
        default: return 2;
        }
    }
    if (!brokers || !topic || (records > 0 && !out) || size <= 0) {
        fprintf(stderr, "usage: kafka_bare -b BROKERS -t TOPIC [-o TOPIC -n RECORDS -s SIZE] [-X KEY=VALUE]...\n");
        return 2;
    }
    double t0 = mono_s();
    char why[512], group[64];
    snprintf(group, sizeof group, "kafka-bare-%ld-%ld", (long)getpid(), (long)(t0 * 1000));
    rd_kafka_conf_t *cc = rd_kafka_conf_new(), *pc = rd_kafka_conf_new();
    if (set(cc, "bootstrap.servers", brokers) || set(cc, "group.id", group) ||
        set(cc, "auto.offset.reset", "earliest") || set(cc, "enable.auto.commit", "false") ||
        set(cc, "enable.partition.eof", "true") ||
        set(pc, "bootstrap.servers", brokers) || set(pc, "enable.idempotence", "true") ||
        set(pc, "message.timeout.ms", "0") || set(pc, "linger.ms", "20") ||
        set(pc, "compression.codec", "lz4"))
        return 2;
    for (int i = 0; i < nextra; i++) {      /* to both, as hostflow's kafka = {...} */
        char key[256];
        const char *eq = strchr(extra[i], '=');
        if (!eq || (size_t)(eq - extra[i]) >= sizeof key) return 2;
        memcpy(key, extra[i], (size_t)(eq - extra[i]));
        key[eq - extra[i]] = '\0';
        rd_kafka_conf_set(cc, key, eq + 1, why, sizeof why);
        rd_kafka_conf_set(pc, key, eq + 1, why, sizeof why);
    }
    rd_kafka_conf_set_opaque(pc, &failed);
    rd_kafka_conf_set_dr_msg_cb(pc, delivered);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, cc, why, sizeof why);
    if (!rk) {
        fprintf(stderr, "kafka_bare: consumer: %s\n", why);
        return 1;
    }
    rd_kafka_t *pk = NULL;
    if (records > 0 && !(pk = rd_kafka_new(RD_KAFKA_PRODUCER, pc, why, sizeof why))) {
        fprintf(stderr, "kafka_bare: producer: %s\n", why);
        return 1;
    } else if (!pk) {
        rd_kafka_conf_destroy(pc);
    }
    rd_kafka_poll_set_consumer(rk);
    /* the topic's partitions: the end is every one's end-of-partition event */
    int partitions = 0;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1)
        partitions = md->topics[0].partition_cnt;
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    if (partitions <= 0) {
        fprintf(stderr, "kafka_bare: %s: no partitions\n", topic);
        return 1;
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, l);
    rd_kafka_topic_partition_list_destroy(l);

    /* how many messages there are, to spread the records over them */
    long total = 0;
    for (int p = 0; p < partitions; p++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000) == 0) total += hi - lo;
    }
    long messages = 0, produced = 0;
    uint64_t bytes = 0;
    double first = 0, last = 0;
    rd_kafka_topic_t *out_rkt = pk ? rd_kafka_topic_new(pk, out, NULL) : NULL;
    int ends = 0;
    while (ends < partitions && (total <= 0 || messages < total)) {   /* (no transaction markers) */
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            ends++;
        } else if (!m->err) {
            last = mono_s();
            if (!messages) first = last;
            messages++;
            bytes += m->len;
            /* the records due by this message: RECORDS * messages / total */
            long due = total > 0 ? (long)((double)records * (double)messages / (double)total) : 0;
            for (; pk && produced < due; produced++) {
                char key[64];
                size_t n = m->len < (size_t)size ? m->len : (size_t)size;
                int kl = snprintf(key, sizeof key, "10.%ld.%ld.%ld/10/1764165610000", produced >> 16 & 255,
                                  produced >> 8 & 255, produced & 255);
                while (rd_kafka_producev(pk, RD_KAFKA_V_RKT(out_rkt), RD_KAFKA_V_KEY(key, (size_t)kl),
                                         RD_KAFKA_V_VALUE(m->payload, n), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                         RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                    rd_kafka_poll(pk, 10);
                if ((produced & 1023) == 0) rd_kafka_poll(pk, 0);     /* delivery reports */
            }
        }
        rd_kafka_message_destroy(m);
    }
    if (pk && rd_kafka_flush(pk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) failed++;
    double t1 = mono_s(), cpu = cpu_s();
    printf("{\"messages\":%ld,\"bytes\":%" PRIu64 ",\"records\":%ld,\"failed\":%ld,\"seconds\":%.3f,"
           "\"first_s\":%.3f,\"last_s\":%.3f,\"cpu\":%.3f}\n",
           messages, bytes, produced, failed, t1 - t0, first - t0, last - t0, cpu);
    if (out_rkt) rd_kafka_topic_destroy(out_rkt);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (pk) rd_kafka_destroy(pk);
    return failed ? 1 : 0;
}
