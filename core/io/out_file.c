/* out_file.c -- the file output: host records as NDJSON to a file or to
 * standard output ("-").
 *
 * Workers hand over whole batches; each is written in one locked fwrite,
 * so records of different workers never interleave within a line.  A
 * record counts as written once a flush has put it into the file (the
 * offsets of a Kafka input are committed only after that).  A write error
 * (a full disk, a closed pipe) is fatal: the output says so once, with the
 * reason, and hostflow stops reading and exits non-zero, rather than read
 * on into records nobody can see.  Copy this file to add an output. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "io/io.h"

typedef struct out_file {
    FILE           *f;
    int             is_stdout;
    char           *name;
    pthread_mutex_t lock;
    uint64_t        written;     /* records flushed into the file */
    uint64_t        pending;     /* records written since the last flush */
    uint64_t        lost;        /* records that could not be written */
    int             failed;      /* errno of the first write error, 0 while none */
} out_file;

static void *file_open(const hf_config *cfg, const char *target, char *err, size_t errlen)
{
    (void)cfg;
    out_file *o = hf_calloc(1, sizeof *o);
    o->is_stdout = strcmp(target, "-") == 0;
    o->name = hf_strdup(o->is_stdout ? "stdout" : target);
    o->f = o->is_stdout ? stdout : fopen(target, "w");
    if (!o->f) {
        snprintf(err, errlen, "%s: cannot open for writing: %s", target, strerror(errno));
        hf_free(o->name);
        hf_free(o);
        return NULL;
    }
    pthread_mutex_init(&o->lock, NULL);
    return o;
}

/* The first write error: said once, with the file and the reason. */
static void failed(out_file *o, int e)
{
    if (o->failed) return;
    o->failed = e ? e : EIO;
    hf_log(HF_LOG_ERROR, "%s: cannot write records: %s; stopping (records of windows still "
           "open are not written)", o->name, strerror(o->failed));
}

static int file_write(void *arg, const hf_records *batch)
{
    out_file *o = arg;
    int rc = HF_OUT_OK;
    pthread_mutex_lock(&o->lock);
    if (o->failed || fwrite(batch->text, 1, batch->len, o->f) != batch->len) {
        failed(o, errno);
        o->lost += batch->n;
        rc = HF_OUT_FATAL;
    } else {
        o->pending += batch->n;
    }
    pthread_mutex_unlock(&o->lock);
    return rc;
}

static int file_flush(void *arg, int timeout_ms)
{
    (void)timeout_ms;
    out_file *o = arg;
    pthread_mutex_lock(&o->lock);
    if (!o->failed && fflush(o->f) != 0) failed(o, errno);
    if (o->failed) {
        o->lost += o->pending;
    } else {
        o->written += o->pending;
    }
    o->pending = 0;
    int rc = o->failed ? HF_OUT_FATAL : HF_OUT_OK;
    pthread_mutex_unlock(&o->lock);
    return rc;
}

static void file_counters(void *arg, hf_output_counters *c)
{
    out_file *o = arg;
    pthread_mutex_lock(&o->lock);
    c->written = o->written;
    c->pending = o->pending;
    if (o->lost) {
        c->lost[c->nlost].reason = "write_error";
        c->lost[c->nlost++].n = o->lost;
    }
    c->state = o->failed ? "failed" : "ok";
    pthread_mutex_unlock(&o->lock);
}

static int file_close(void *arg)
{
    out_file *o = arg;
    file_flush(o, 0);
    int rc = o->failed ? -1 : 0;
    if (!o->is_stdout) {
        struct stat st;
        if (rc == 0 && fstat(fileno(o->f), &st) == 0 && S_ISREG(st.st_mode) && fsync(fileno(o->f)) != 0)
            rc = -1;
        if (fclose(o->f) != 0) rc = -1;
    }
    pthread_mutex_destroy(&o->lock);
    hf_free(o->name);
    hf_free(o);
    return rc;
}

const hf_output_ops hf_out_file = {
    .scheme = "file",
    .usage = "FILE | -            NDJSON, one record per line (- is standard output)",
    .open = file_open,
    .write = file_write,
    .flush = file_flush,
    .counters = file_counters,
    .close = file_close,
};
