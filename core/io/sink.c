/* sink.c -- host records to a file, standard output, or a Kafka topic.
 *
 * Workers hand over whole buffers of records.  A file sink writes each
 * buffer in one locked write; a Kafka sink produces one message per record,
 * keyed by the record's id (deterministic: host / granularity / window
 * start), so a repeated record after a restart replaces its twin in a
 * compacted topic and lands in the same partition.  hf_sink_sync() is what
 * the offset commit waits for: everything written so far is on disk or
 * acknowledged by the brokers. */
#include "io/sink.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "io/kafka.h"
#include "base/log.h"

struct hf_sink {
    FILE              *f;          /* file sink */
    int                is_stdout;
    hf_kafka_producer *kafka;      /* Kafka sink */
    pthread_mutex_t    lock;
    uint64_t           records;
    uint64_t           lost;
    int                failed;
    char              *name;
};

hf_sink *hf_sink_open(const char *spec, const hf_config *cfg, char *err, size_t errlen)
{
    hf_sink *s = hf_calloc(1, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    s->name = hf_strdup(strcmp(spec, "-") == 0 ? "stdout" : spec);
    if (strncmp(spec, "kafka:", 6) == 0) {
        s->kafka = hf_kafka_producer_new(cfg, spec + 6, err, errlen);
        if (s->kafka) return s;
    } else {
        s->is_stdout = strcmp(spec, "-") == 0;
        s->f = s->is_stdout ? stdout : fopen(spec, "w");
        if (s->f) return s;
        snprintf(err, errlen, "%s: cannot open for writing: %s", spec, strerror(errno));
    }
    pthread_mutex_destroy(&s->lock);
    hf_free(s->name);
    hf_free(s);
    return NULL;
}

/* The id of the record at rec: the value of its "id" key (records are
 * written by the core, so the key comes early and unescaped). */
static int record_id(const char *rec, size_t len, const char **id, size_t *idlen)
{
    const char *k = memmem(rec, len < 160 ? len : 160, "\"id\":\"", 6);
    if (!k) return -1;
    const char *v = k + 6, *end = memchr(v, '"', (size_t)(rec + len - v));
    if (!end) return -1;
    *id = v;
    *idlen = (size_t)(end - v);
    return 0;
}

static int kafka_write(hf_sink *s, const char *data, size_t len)
{
    const char *p = data, *end = data + len;
    int rc = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *id = NULL;
        size_t idlen = 0;
        record_id(p, n, &id, &idlen);
        if (hf_kafka_produce(s->kafka, id, idlen, p, n) < 0) rc = -1;
        p += n + 1;
    }
    return rc;
}

int hf_sink_write(hf_sink *s, const char *data, size_t len, uint64_t nrecords)
{
    if (s->kafka) {                      /* thread-safe; blocks while the queue is full */
        int rc = kafka_write(s, data, len);
        pthread_mutex_lock(&s->lock);
        if (rc < 0) s->lost += nrecords;
        else s->records += nrecords;
        pthread_mutex_unlock(&s->lock);
        return rc;
    }
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    if (s->failed || fwrite(data, 1, len, s->f) != len) {
        if (!s->failed)
            hf_log(HF_LOG_ERROR, "%s: write failed: %s; records are being lost",
                   s->name, strerror(errno));
        s->failed = 1;
        s->lost += nrecords;
        rc = -1;
    } else {
        s->records += nrecords;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int hf_sink_sync(hf_sink *s, int timeout_ms)
{
    if (s->kafka) return hf_kafka_producer_sync(s->kafka, timeout_ms);
    pthread_mutex_lock(&s->lock);
    int rc = s->failed || fflush(s->f) != 0 ? -1 : 0;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

uint64_t hf_sink_records(hf_sink *s)
{
    pthread_mutex_lock(&s->lock);
    uint64_t n = s->records;
    pthread_mutex_unlock(&s->lock);
    return n;
}

uint64_t hf_sink_lost(hf_sink *s)
{
    pthread_mutex_lock(&s->lock);
    uint64_t n = s->lost + (s->kafka ? hf_kafka_producer_failed(s->kafka) : 0);
    pthread_mutex_unlock(&s->lock);
    return n;
}

int hf_sink_close(hf_sink *s)
{
    if (!s) return 0;
    int rc = s->failed ? -1 : 0;
    if (s->kafka) {
        if (hf_kafka_producer_sync(s->kafka, 30000) < 0) rc = -1;
        hf_kafka_producer_free(s->kafka);
    } else {
        if (fflush(s->f) != 0) rc = -1;
        if (!s->is_stdout && fclose(s->f) != 0) rc = -1;
    }
    pthread_mutex_destroy(&s->lock);
    hf_free(s->name);
    hf_free(s);
    return rc;
}
