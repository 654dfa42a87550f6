/* input.c -- newline-delimited records from a file or standard input.
 *
 * Bytes come with read(2), which returns what is there: a line written to a
 * pipe is processed as soon as it arrives, not when a buffer is full.  The
 * first bytes tell gzip (1f 8b) from plain text; gzip goes through zlib's
 * inflate (members one after another, as `cat a.gz b.gz` makes).  The line
 * buffer holds [start, end) of unread bytes; a line is found with memchr,
 * and when none is complete the rest is moved to the front and the buffer
 * refilled.  A line that does not fit within max_line is skipped to its
 * newline without being kept.  Every read(2) first looks at the stop
 * request (hf_input_on_stop), so skipping an endless line ends at a stop. */
#include "io/input.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <zlib.h>

#include "base/alloc.h"

struct hf_input {
    int      fd;
    int      gzip;       /* -1 not known yet, 0 plain, 1 gzip */
    z_stream zs;
    unsigned char *raw;  /* gzip: compressed bytes read, not yet inflated */
    size_t   raw_cap;
    int      gz_mid;     /* inside a gzip member */
    char    *buf;
    size_t   cap;        /* bytes in buf */
    size_t   start, end; /* unread bytes */
    size_t   max_line;
    uint64_t lineno;
    int      eof;
    int      may_wait;   /* not a regular file: a read can wait for data */
    int      skipping;   /* hf_input_lines: the line begun is too long, skip it first */
    void   (*on_wait)(void *ctx);
    void    *on_wait_ctx;
    const _Atomic int *stop;   /* set: every read fails ("interrupted") */
    char     error[256];
};

hf_input *hf_input_open(const char *path, size_t max_line, char *err, size_t errlen)
{
    int stdin_ = strcmp(path, "-") == 0;
    int fd = stdin_ ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", stdin_ ? "stdin" : path, strerror(errno));
        return NULL;
    }
    hf_input *in = hf_calloc(1, sizeof *in);
    in->fd = fd;
    in->gzip = -1;
    in->max_line = max_line;
    in->cap = 2 * max_line + 256 * 1024;
    in->buf = hf_malloc(in->cap);
    struct stat st;
    in->may_wait = fstat(fd, &st) != 0 || !S_ISREG(st.st_mode);
    return in;
}

void hf_input_on_wait(hf_input *in, void (*fn)(void *ctx), void *ctx)
{
    in->on_wait = fn;
    in->on_wait_ctx = ctx;
}

void hf_input_on_stop(hf_input *in, const _Atomic int *stop)
{
    in->stop = stop;
}

/* read(2) into dst: bytes read, 0 at the end, -1 on error (in->error) or
 * once a stop was requested. */
static long read_some(hf_input *in, void *dst, size_t cap)
{
    if (in->stop && atomic_load_explicit(in->stop, memory_order_relaxed)) {
        snprintf(in->error, sizeof in->error, "interrupted");
        return -1;
    }
    if (in->on_wait && in->may_wait) {
        struct pollfd pfd = {.fd = in->fd, .events = POLLIN};
        if (poll(&pfd, 1, 0) == 0) in->on_wait(in->on_wait_ctx);
    }
    ssize_t n = read(in->fd, dst, cap);
    if (n < 0) snprintf(in->error, sizeof in->error, "%s",
                        errno == EINTR ? "interrupted" : strerror(errno));
    return (long)n;
}

/* Inflate into dst: bytes made, 0 at the end, -1 on corrupt data. */
static long inflate_some(hf_input *in, unsigned char *dst, size_t cap)
{
    in->zs.next_out = dst;
    in->zs.avail_out = (uInt)cap;
    while (in->zs.avail_out == cap) {
        if (in->zs.avail_in == 0) {
            long n = read_some(in, in->raw, in->raw_cap);
            if (n < 0) return -1;
            if (n == 0) {
                if (!in->gz_mid) return 0;     /* the end, between members */
                snprintf(in->error, sizeof in->error, "gzip: the input ends inside a member (truncated)");
                return -1;
            }
            in->zs.next_in = in->raw;
            in->zs.avail_in = (uInt)n;
        }
        int rc = inflate(&in->zs, Z_NO_FLUSH);
        in->gz_mid = 1;
        if (rc == Z_STREAM_END) {
            inflateReset(&in->zs);             /* another member may follow */
            in->gz_mid = 0;
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            snprintf(in->error, sizeof in->error, "gzip: %s", in->zs.msg ? in->zs.msg : "corrupt data");
            return -1;
        }
    }
    return (long)(cap - in->zs.avail_out);
}

/* The first n bytes read, into dst (cap bytes): gzip (1f 8b) moves them to
 * the compressed side and inflates into dst instead.  Returns the bytes in
 * dst, or -1. */
static long sniff(hf_input *in, unsigned char *dst, size_t cap, long n)
{
    if (n < 2 || dst[0] != 0x1f || dst[1] != 0x8b) {
        in->gzip = 0;
        return n;
    }
    in->gzip = 1;
    in->raw_cap = (size_t)n > 256 * 1024 ? (size_t)n : 256 * 1024;
    in->raw = hf_malloc(in->raw_cap);
    memcpy(in->raw, dst, (size_t)n);
    memset(&in->zs, 0, sizeof in->zs);
    if (inflateInit2(&in->zs, 15 + 16) != Z_OK) {
        snprintf(in->error, sizeof in->error, "gzip: cannot start zlib");
        return -1;
    }
    in->zs.next_in = in->raw;
    in->zs.avail_in = (uInt)n;
    return inflate_some(in, dst, cap);
}

/* Move unread bytes to the front and read more.  Returns bytes read, 0 at
 * the end, -1 on error. */
static long fill(hf_input *in)
{
    if (in->start > 0) {
        memmove(in->buf, in->buf + in->start, in->end - in->start);
        in->end -= in->start;
        in->start = 0;
    }
    if (in->eof || in->end == in->cap) return 0;
    unsigned char *dst = (unsigned char *)in->buf + in->end;
    size_t cap = in->cap - in->end;
    long n;
    if (in->gzip == 1) {
        n = inflate_some(in, dst, cap);
    } else {
        n = read_some(in, dst, cap);
        if (n > 0 && in->gzip == -1 && in->end == 0) n = sniff(in, dst, cap, n);
    }
    if (n < 0) return -1;
    if (n == 0) in->eof = 1;
    in->end += (size_t)n;
    return n;
}

/* Discard bytes up to and including the next newline (or the end). */
static int skip_line(hf_input *in)
{
    for (;;) {
        char *nl = memchr(in->buf + in->start, '\n', in->end - in->start);
        if (nl) {
            in->start = (size_t)(nl - in->buf) + 1;
            return 0;
        }
        in->start = in->end;
        long n = fill(in);
        if (n < 0) return -1;
        if (n == 0) return 0;
    }
}

int hf_input_next(hf_input *in, const char **line, size_t *len)
{
    for (;;) {
        size_t avail = in->end - in->start;
        char *p = in->buf + in->start;
        char *nl = memchr(p, '\n', avail < in->max_line + 1 ? avail : in->max_line + 1);
        if (nl) {
            in->lineno++;
            *line = p;
            *len = (size_t)(nl - p);
            in->start += *len + 1;
            return HF_INPUT_LINE;
        }
        if (avail > in->max_line) {          /* no newline within the limit */
            in->lineno++;
            return skip_line(in) < 0 ? HF_INPUT_ERROR : HF_INPUT_TOO_LONG;
        }
        long n = fill(in);
        if (n < 0) return HF_INPUT_ERROR;
        if (n == 0 && in->eof) {
            avail = in->end - in->start;
            if (avail == 0) return HF_INPUT_EOF;
            in->lineno++;                    /* a last line without newline */
            *line = in->buf + in->start;
            *len = avail;
            in->start = in->end;
            return HF_INPUT_LINE;
        }
    }
}

/* Read into dst: bytes, 0 at the end, -1 on error; the first bytes
 * decide gzip, as in fill(). */
static long read_into(hf_input *in, char *dst, size_t cap)
{
    if (in->eof) return 0;
    long n;
    if (in->gzip == 1) {
        n = inflate_some(in, (unsigned char *)dst, cap);
    } else {
        n = read_some(in, dst, cap);
        if (n > 0 && in->gzip == -1) n = sniff(in, (unsigned char *)dst, cap, n);
    }
    if (n == 0) in->eof = 1;
    return n;
}

long hf_input_lines(hf_input *in, char *dst, size_t cap)
{
    if (in->skipping) {               /* the line begun last time was already too long */
        in->skipping = 0;
        return skip_line(in) < 0 ? HF_INPUT_ERROR : HF_INPUT_TOO_LONG;
    }
    /* What the buffer holds comes first (a line begun last time; more after
     * a skip).  When it has a newline, the lines up to the last are taken
     * and the rest stays where it is. */
    size_t n = in->end - in->start;
    if (n > cap) n = cap;
    memcpy(dst, in->buf + in->start, n);
    char *last = n ? memrchr(dst, '\n', n) : NULL;
    if (last) {
        size_t whole = (size_t)(last + 1 - dst);
        in->start += whole;
        return (long)whole;
    }
    if (n == cap) return skip_line(in) < 0 ? HF_INPUT_ERROR : HF_INPUT_TOO_LONG;
    in->start = in->end = 0;
    /* Then straight into dst, until a newline; what follows the last one is
     * kept in the buffer (a line begun, at most max_line, or skipped next
     * time). */
    for (size_t scanned = n;; scanned = n) {
        long got = read_into(in, dst + n, cap - n);
        if (got < 0) return HF_INPUT_ERROR;
        if (got == 0) return (long)n;  /* the end: a last line without newline, or nothing */
        n += (size_t)got;
        last = memrchr(dst + scanned, '\n', n - scanned);
        if (last) {
            size_t whole = (size_t)(last + 1 - dst), keep = n - whole;
            if (keep > in->max_line) {
                in->skipping = 1;
            } else {
                memcpy(in->buf, last + 1, keep);
                in->end = keep;
            }
            return (long)whole;
        }
        if (n == cap) return skip_line(in) < 0 ? HF_INPUT_ERROR : HF_INPUT_TOO_LONG;
    }
}

uint64_t hf_input_lineno(const hf_input *in)
{
    return in->lineno;
}

const char *hf_input_error(const hf_input *in)
{
    return in->error;
}

void hf_input_close(hf_input *in)
{
    if (!in) return;
    close(in->fd);
    if (in->gzip == 1) inflateEnd(&in->zs);
    hf_free(in->raw);
    hf_free(in->buf);
    hf_free(in);
}
