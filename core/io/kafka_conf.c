/* kafka_conf.c -- what the Kafka input and output share: their librdkafka
 * configuration (the configuration's kafka = {...} table, passed unchanged,
 * over hostflow's own defaults) and librdkafka's log lines through ours. */
#include "io/kafka_conf.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"

rd_kafka_conf_t *hf_kafka_conf_new(const hf_config *cfg, const char *const *extra,
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

void hf_kafka_instance_id(const hf_config *cfg, char *out, size_t n)
{
    const char *id = hf_config_kafka(cfg, "group.instance.id");
    const char *key = hf_conf_str(cfg, "kafka_instance");
    const char *group = hf_config_kafka(cfg, "group.id");
    char host[128];
    if (id && *id) {
        snprintf(out, n, "%s", id);
        return;
    }
    if (key && strcmp(key, "auto") && strcmp(key, "none")) {
        snprintf(out, n, "%s", key);
        return;
    }
    if (gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    if (key && !strcmp(key, "none"))               /* dynamic membership: this process */
        snprintf(out, n, "%s-%ld", host, (long)getpid());
    else
        snprintf(out, n, "hostflow-%.100s-%.120s", host, group ? group : "hostflow");
}

void hf_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    static hf_ratelimit rl = HF_RATELIMIT_INIT(5);
    /* one kafka = {...} serves both clients, so each warns about the
     * other's settings: not worth a line */
    if (strcmp(fac, "CONFWARN") == 0) level = 7;
    hf_log_limited(&rl, level <= 3 ? HF_LOG_ERROR : level <= 5 ? HF_LOG_WARN : HF_LOG_DEBUG,
                   "kafka: %s: %s", fac, buf);
}

int hf_kafka_topic_missing(rd_kafka_t *rk, const char *topic)
{
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    if (!t) return 0;
    const struct rd_kafka_metadata *md = NULL;
    int missing = rd_kafka_metadata(rk, 0, t, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR && md &&
                  md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    return missing;
}
