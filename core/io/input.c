/* input.c -- flow records from a file or standard input, one at a time,
 * however they are framed.
 *
 * Bytes come with read(2), which returns what is there: a line written to a
 * pipe is processed as soon as it arrives, not when a buffer is full.  The
 * first bytes tell gzip (1f 8b) from plain text; gzip goes through zlib's
 * inflate (members one after another, as `cat a.gz b.gz` makes).  The line
 * buffer holds [start, end) of unread bytes; a line is found with memchr,
 * and when none is complete the rest is moved to the front and the buffer
 * refilled.  A line that does not fit within max_line is skipped to its
 * newline without being kept.  Every read(2) first looks at the stop
 * request (hf_input_on_stop), so skipping an endless line ends at a stop.
 *
 * The first decoded bytes also tell the framing (frame_start): a UTF-8
 * byte order mark is dropped; UTF-16 or UTF-32 text stops the input with
 * one message naming the encoding; NDJSON is read line by line as above;
 * a JSON array or pretty-printed records (nfdump 1.7's `-o json`) go
 * through the splitter (jsonsplit.h) on their way into the line buffer, so
 * that every record is one line there, and the line each one starts at is
 * queued beside it (starts) for hf_input_lineno() and the blocks of
 * hf_input_lines(). */
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
#include "base/log.h"
#include "io/jsonsplit.h"

#define STAGE_BYTES (256 * 1024)

static long frame_fill(hf_input *in);
static long fill(hf_input *in);
static int skip_line(hf_input *in);

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
    _Atomic uint64_t consumed;   /* bytes read from fd (--progress, from another thread) */
    uint64_t size;       /* a regular file's size, else 0 */
    int      skipping;   /* hf_input_lines: the line begun is too long, skip it first */
    void   (*on_wait)(void *ctx);
    void    *on_wait_ctx;
    const _Atomic int *stop;   /* set: every read fails ("interrupted") */
    char     error[256];
    char    *name;       /* for the one warning it writes */

    /* Framing (frame_start): HF_FRAME_MORE until the first bytes tell */
    int      frame;
    int      marks_done; /* byte order marks looked for */
    hf_split split;      /* HF_FRAME_SPLIT: records into one line each */
    char    *stage;      /* ... from the raw (decoded) bytes [spos, slen) */
    size_t   spos, slen;
    int      raw_eof;
    uint64_t *starts;    /* the line each record in buf starts at: [st_head, st_n) */
    size_t   st_head, st_n, st_cap;
    uint64_t *block;     /* those of the block hf_input_lines returned last */
    size_t   nblock, block_cap;
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
    in->name = hf_strdup(stdin_ ? "stdin" : path);
    in->size = in->may_wait ? 0 : (uint64_t)st.st_size;
    return in;
}

int hf_input_ready(hf_input *in)
{
    if (!in->may_wait || in->eof || memchr(in->buf + in->start, '\n', in->end - in->start)) return 1;
    struct pollfd pfd = {.fd = in->fd, .events = POLLIN};
    return poll(&pfd, 1, 0) > 0;
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
    else atomic_fetch_add_explicit(&in->consumed, (uint64_t)n, memory_order_relaxed);
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

/* ------------------------------------------------------------------------
 * Framing: records over several lines, or in an array
 * --------------------------------------------------------------------- */

/* The line the next record of buf starts at (records one a line: the next). */
static void count_line(hf_input *in)
{
    if (in->frame != HF_FRAME_SPLIT || in->st_head == in->st_n) {
        in->lineno++;
        return;
    }
    in->lineno = in->starts[in->st_head++];
    if (in->st_head == in->st_n) in->st_head = in->st_n = 0;
}

/* Room for at least 64 more starts. */
static void starts_room(hf_input *in)
{
    if (in->st_cap - in->st_n >= 64) return;
    if (in->st_head > 0) {
        memmove(in->starts, in->starts + in->st_head, (in->st_n - in->st_head) * sizeof *in->starts);
        in->st_n -= in->st_head;
        in->st_head = 0;
    }
    if (in->st_cap - in->st_n < 64) {
        in->st_cap = in->st_cap ? in->st_cap * 2 : 4096;
        in->starts = hf_realloc(in->starts, in->st_cap * sizeof *in->starts);
    }
}

/* fill() for split records: raw bytes into the stage, records out of the
 * splitter into buf.  Returns bytes added to buf, 0 at the end, -1. */
static long frame_fill(hf_input *in)
{
    char *out = in->buf + in->end;
    size_t room = in->cap - in->end;
    for (;;) {
        if (in->spos == in->slen) {
            if (in->raw_eof) {                         /* the end: a record begun ends too */
                uint64_t st;
                size_t ns;
                size_t w = hf_split_end(&in->split, out, room, &st, &ns);
                starts_room(in);
                if (ns) in->starts[in->st_n++] = st;
                if (w == 0) {
                    in->eof = 1;
                    if (hf_split_open_array(&in->split))
                        hf_log(HF_LOG_WARN, "%s: the input ends inside a JSON array (cut short?); "
                               "the records before the cut were read", in->name);
                }
                return (long)w;
            }
            long r = in->gzip == 1 ? inflate_some(in, (unsigned char *)in->stage, STAGE_BYTES)
                                   : read_some(in, in->stage, STAGE_BYTES);
            if (r < 0) return -1;
            if (r == 0) in->raw_eof = 1;
            in->spos = 0;
            in->slen = (size_t)r;
            continue;
        }
        size_t used, ns;
        starts_room(in);
        size_t w = hf_split_feed(&in->split, in->stage + in->spos, in->slen - in->spos, &used,
                                 out, room, in->starts + in->st_n, in->st_cap - in->st_n, &ns);
        in->spos += used;
        in->st_n += ns;
        if (w > 0 || room < 2) return (long)w;
    }
}

/* The encoding named by the first bytes, when it is not UTF-8 (or ASCII). */
static const char *foreign_encoding(const unsigned char *p, size_t n)
{
    if (n >= 4 && p[0] == 0xFF && p[1] == 0xFE && p[2] == 0 && p[3] == 0) return "UTF-32 (little-endian, with a byte order mark)";
    if (n >= 4 && p[0] == 0 && p[1] == 0 && p[2] == 0xFE && p[3] == 0xFF) return "UTF-32 (big-endian, with a byte order mark)";
    if (n >= 2 && p[0] == 0xFF && p[1] == 0xFE) return "UTF-16 (little-endian, with a byte order mark)";
    if (n >= 2 && p[0] == 0xFE && p[1] == 0xFF) return "UTF-16 (big-endian, with a byte order mark)";
    if (n >= 4 && p[0] && !p[1] && !p[2] && !p[3]) return "UTF-32 (little-endian)";
    if (n >= 4 && !p[0] && !p[1] && !p[2] && p[3]) return "UTF-32 (big-endian)";
    if (n >= 2 && p[0] && !p[1]) return "UTF-16 (little-endian)";
    if (n >= 2 && !p[0] && p[1]) return "UTF-16 (big-endian)";
    return NULL;
}

/* Read the first bytes and decide the framing: a UTF-8 byte order mark is
 * dropped, another encoding is an error, then hf_split_detect() says
 * whether records are lines.  0, or -1 with in->error set. */
static int frame_start(hf_input *in)
{
    while (in->frame == HF_FRAME_MORE) {
        size_t avail = in->end - in->start;
        const unsigned char *b = (const unsigned char *)in->buf + in->start;
        int marks = !in->marks_done && (avail < 2 || (avail < 4 && (b[0] == 0xEF || b[0] == 0xFF ||
                                                                     b[0] == 0xFE || !b[0] || !b[1])));
        if ((marks || hf_split_detect(in->buf + in->start, avail, 0, in->max_line) == HF_FRAME_MORE)
            && !in->eof) {
            long n = fill(in);
            if (n < 0) return -1;
            if (n > 0 || !in->eof) continue;
        }
        const unsigned char *p = (const unsigned char *)in->buf + in->start;
        if (!in->marks_done) {
            in->marks_done = 1;
            const char *enc = foreign_encoding(p, avail);
            if (enc) {
                snprintf(in->error, sizeof in->error, "the input is %s text; hostflow reads UTF-8 "
                         "(convert it first, e.g. iconv -f UTF-16 -t UTF-8)", enc);
                return -1;
            }
            if (avail >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {   /* UTF-8's mark */
                in->start += 3;
                continue;
            }
        }
        in->frame = hf_split_detect(in->buf + in->start, avail, 1, in->max_line);
        if (in->frame == HF_FRAME_SPLIT) {             /* what is read goes through the splitter */
            hf_split_init(&in->split, in->max_line);
            in->stage = hf_malloc(avail > STAGE_BYTES ? avail : STAGE_BYTES);
            memcpy(in->stage, in->buf + in->start, avail);
            in->spos = 0;
            in->slen = avail;
            in->raw_eof = in->eof;
            in->start = in->end = 0;
            in->eof = 0;
        }
    }
    return 0;
}

/* hf_input_lines() for split records: whole lines out of buf (read
 * through the splitter), their start lines into the block's. */
static long frame_lines(hf_input *in, char *dst, size_t cap)
{
    in->nblock = 0;
    for (;;) {
        size_t avail = in->end - in->start;
        char *p = in->buf + in->start;
        char *last = avail ? memrchr(p, '\n', avail < cap ? avail : cap) : NULL;
        size_t whole = last ? (size_t)(last + 1 - p) : 0;
        int too_long = !last && avail >= cap;
        if (whole || too_long) {
            size_t k = 0;
            for (const char *q = p; q < p + whole && (q = memchr(q, '\n', (size_t)(p + whole - q))); q++) k++;
            if (too_long) k = 1;
            if (k > in->block_cap) {
                in->block_cap = k;
                in->block = hf_realloc(in->block, k * sizeof *in->block);
            }
            int rc = too_long ? skip_line(in) : 0;   /* (first: its start is known at its end) */
            for (size_t i = 0; i < k; i++) {
                count_line(in);
                in->block[in->nblock++] = in->lineno;
            }
            if (too_long) return rc < 0 ? HF_INPUT_ERROR : HF_INPUT_TOO_LONG;
            memcpy(dst, p, whole);
            in->start += whole;
            return (long)whole;
        }
        long n = fill(in);
        if (n < 0) return HF_INPUT_ERROR;
        if (n == 0 && in->eof) return 0;           /* every record ends with a newline */
    }
}

size_t hf_input_block_lineno(const hf_input *in, const uint64_t **lines)
{
    *lines = in->block;
    return in->frame == HF_FRAME_SPLIT ? in->nblock : 0;
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
    if (in->frame == HF_FRAME_SPLIT) {
        long w = frame_fill(in);                     /* sets eof itself */
        if (w > 0) in->end += (size_t)w;
        return w;
    }
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
    if (in->frame == HF_FRAME_MORE && frame_start(in) < 0) return HF_INPUT_ERROR;
    for (;;) {
        size_t avail = in->end - in->start;
        char *p = in->buf + in->start;
        char *nl = memchr(p, '\n', avail < in->max_line + 1 ? avail : in->max_line + 1);
        if (nl) {
            count_line(in);
            *line = p;
            *len = (size_t)(nl - p);
            in->start += *len + 1;
            return HF_INPUT_LINE;
        }
        if (avail > in->max_line) {          /* no newline within the limit */
            int rc = skip_line(in);
            count_line(in);                  /* (after: a split record's start is known at its end) */
            return rc < 0 ? HF_INPUT_ERROR : HF_INPUT_TOO_LONG;
        }
        long n = fill(in);
        if (n < 0) return HF_INPUT_ERROR;
        if (n == 0 && in->eof) {
            avail = in->end - in->start;
            if (avail == 0) return HF_INPUT_EOF;
            count_line(in);                  /* a last line without newline */
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
    if (in->frame == HF_FRAME_MORE && frame_start(in) < 0) return HF_INPUT_ERROR;
    if (in->frame == HF_FRAME_SPLIT) return frame_lines(in, dst, cap);
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

void hf_input_progress(const hf_input *in, uint64_t *done, uint64_t *total)
{
    *done = atomic_load_explicit(&in->consumed, memory_order_relaxed);
    *total = in->size;
}

int hf_input_lines_anywhere(const hf_input *in)
{
    return !in->may_wait && in->frame == HF_FRAME_LINES;
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
    hf_free(in->stage);
    hf_free(in->starts);
    hf_free(in->block);
    hf_free(in->name);
    hf_free(in);
}
