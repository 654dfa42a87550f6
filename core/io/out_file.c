/* out_file.c -- the file output: host records as NDJSON to a file or to
 * standard output ("-").
 *
 * Workers hand over whole batches; each is written with write(2) under a
 * lock, so records of different workers never interleave within a line and
 * nothing waits in a stdio buffer: when write(2) returns, the records are
 * the kernel's, and they are counted as written then, record by record (a
 * write cut short by a full disk counts the records it finished, and
 * loses the rest).  flush() also asks a regular file's data onto the disk
 * (fdatasync) before it says every record is acknowledged, since that is
 * what a Kafka input waits for before it commits.
 *
 * A write error is fatal: a full disk (ENOSPC), a closed pipe (EPIPE: the
 * run ignores SIGPIPE, so `hostflow run -o - | head -1` ends here rather
 * than by the signal), an I/O error.  The output says so once, with the
 * reason, and hostflow stops reading at once and exits non-zero, rather
 * than read on into records nobody can see; every record handed over
 * afterwards is counted as lost (write_error).  EINTR is retried, and
 * EAGAIN (a non-blocking pipe that is full) waits for the reader: that is
 * back-pressure, not failure.  Copy this file to add an output. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "io/io.h"

typedef struct out_file {
    int             fd;
    int             is_stdout;
    int             regular;     /* a regular file: fdatasync at flush, fsync at close */
    int             unsynced;    /* bytes written since the last fdatasync */
    char           *name;
    pthread_mutex_t lock;
    uint64_t        written;     /* records the kernel took */
    uint64_t        lost;        /* records that could not be written */
    int             failed;      /* errno of the first write error, 0 while none */
} out_file;

static void *file_open(const hf_config *cfg, const char *target, char *err, size_t errlen)
{
    (void)cfg;
    int is_stdout = strcmp(target, "-") == 0;
    int fd = is_stdout ? STDOUT_FILENO : open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open for writing: %s", target, strerror(errno));
        return NULL;
    }
    out_file *o = hf_calloc(1, sizeof *o);
    o->fd = fd;
    o->is_stdout = is_stdout;
    struct stat st;
    o->regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    o->name = hf_strdup(is_stdout ? "stdout" : target);
    pthread_mutex_init(&o->lock, NULL);
    return o;
}

/* The first error: said once, with the file and the reason. */
static void failed(out_file *o, int e)
{
    if (o->failed) return;
    o->failed = e ? e : EIO;
    hf_log(HF_LOG_ERROR, "%s: cannot write records: %s; stopping (records not written are "
           "counted as lost)", o->name, strerror(o->failed));
}

/* Write n bytes, retrying EINTR and waiting out EAGAIN.  Returns the bytes
 * written: n, or fewer with errno set. */
static size_t write_all(int fd, const char *p, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, p + done, n - done);
        if (w > 0) {
            done += (size_t)w;
        } else if (w < 0 && errno == EAGAIN) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            poll(&pfd, 1, 1000);
        } else if (w < 0 && errno != EINTR) {
            break;
        } else if (w == 0) {
            errno = EIO;
            break;
        }
    }
    return done;
}

/* Write a batch; each record counts as written once its newline is out.
 * HF_OUT_OK, or HF_OUT_FATAL once the output has failed. */
static int file_write(void *arg, const hf_records *batch)
{
    out_file *o = arg;
    int rc = HF_OUT_OK;
    pthread_mutex_lock(&o->lock);
    if (o->failed) {
        o->lost += batch->n;
        rc = HF_OUT_FATAL;
    } else {
        size_t done = write_all(o->fd, batch->text, batch->len);
        int e = errno;
        size_t whole = 0;
        while (whole < batch->n && (size_t)batch->recs[whole].off + batch->recs[whole].len + 1 <= done)
            whole++;
        o->written += whole;
        o->unsynced |= done > 0;
        if (done < batch->len) {
            o->lost += batch->n - whole;
            failed(o, e);
            rc = HF_OUT_FATAL;
        }
    }
    pthread_mutex_unlock(&o->lock);
    return rc;
}

/* Every record written is the kernel's already; a regular file's are
 * asked onto the disk.  HF_OUT_OK, or HF_OUT_FATAL. */
static int file_flush(void *arg, int timeout_ms)
{
    (void)timeout_ms;
    out_file *o = arg;
    pthread_mutex_lock(&o->lock);
    if (!o->failed && o->regular && o->unsynced) {
        if (fdatasync(o->fd) != 0 && errno != EINVAL && errno != EROFS) failed(o, errno);
        o->unsynced = 0;
    }
    int rc = o->failed ? HF_OUT_FATAL : HF_OUT_OK;
    pthread_mutex_unlock(&o->lock);
    return rc;
}

static void file_counters(void *arg, hf_output_counters *c)
{
    out_file *o = arg;
    pthread_mutex_lock(&o->lock);
    c->written = o->written;
    c->pending = 0;
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
    int rc = file_flush(o, 0) == HF_OUT_OK && !o->lost ? 0 : -1;
    if (!o->is_stdout) {
        if (rc == 0 && o->regular && fsync(o->fd) != 0) rc = -1;
        if (close(o->fd) != 0) rc = -1;
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
