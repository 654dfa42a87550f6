/* kafka_range.c -- a time range of a Kafka topic, for investigations
 * (`hostflow query --kafka TOPIC --from --to`): no consumer group, nothing
 * committed; every partition from the first message stamped at or after
 * the start (minus an hour: flows are exported after they end) to its end
 * as it is now. */
#include "io/kafka_range.h"

#include <stdio.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "base/alloc.h"
#include "io/kafka_conf.h"

#define RANGE_SLACK_MS (3600 * 1000)

long hf_kafka_copy_range(const hf_config *cfg, const char *topic, int64_t from_ms,
                         FILE *out, char *err, size_t errlen)
{
    static const char *const extra[] = {
        "group.id", "hostflow-query",        /* required by the client; nothing is committed */
        "enable.auto.commit", "false",
        "enable.partition.eof", "true",
        NULL};
    rd_kafka_conf_t *conf = hf_kafka_conf_new(cfg, extra, err, errlen);
    if (!conf) return -1;
    rd_kafka_conf_set_log_cb(conf, hf_kafka_log_cb);
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

