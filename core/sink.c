/* sink.c -- host records to a file or standard output, one locked write
 * per buffer of whole records. */
#include "sink.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "log.h"

struct hf_sink {
    FILE           *f;
    int             is_stdout;
    pthread_mutex_t lock;
    uint64_t        records;
    uint64_t        lost;
    int             failed;
    char           *name;
};

hf_sink *hf_sink_open(const char *path, char *err, size_t errlen)
{
    int is_stdout = strcmp(path, "-") == 0;
    FILE *f = is_stdout ? stdout : fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open for writing: %s", path, strerror(errno));
        return NULL;
    }
    hf_sink *s = hf_calloc(1, sizeof *s);
    s->f = f;
    s->is_stdout = is_stdout;
    s->name = hf_strdup(is_stdout ? "stdout" : path);
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

int hf_sink_write(hf_sink *s, const char *data, size_t len, uint64_t nrecords)
{
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
    uint64_t n = s->lost;
    pthread_mutex_unlock(&s->lock);
    return n;
}

int hf_sink_close(hf_sink *s)
{
    if (!s) return 0;
    int rc = s->failed ? -1 : 0;
    if (fflush(s->f) != 0) rc = -1;
    if (!s->is_stdout && fclose(s->f) != 0) rc = -1;
    pthread_mutex_destroy(&s->lock);
    hf_free(s->name);
    hf_free(s);
    return rc;
}
