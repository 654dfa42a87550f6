/* input.c -- newline-delimited records from a file or standard input.
 *
 * zlib's gzread reads gzip and, transparently, plain data, so one path
 * serves both.  The buffer holds [start, end) of unread bytes; a line is
 * found with memchr, and when none is complete the rest is moved to the
 * front and the buffer refilled.  A line that does not fit within max_line
 * is skipped to its newline without being kept. */
#include "input.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "alloc.h"

struct hf_input {
    gzFile   gz;
    char    *buf;
    size_t   cap;        /* bytes in buf */
    size_t   start, end; /* unread bytes */
    size_t   max_line;
    uint64_t lineno;
    int      eof;
    char     error[256];
};

hf_input *hf_input_open(const char *path, size_t max_line, char *err, size_t errlen)
{
    int stdin_ = strcmp(path, "-") == 0;
    gzFile gz = stdin_ ? gzdopen(dup(STDIN_FILENO), "rb") : gzopen(path, "rb");
    if (!gz) {
        snprintf(err, errlen, "%s: cannot open: %s", stdin_ ? "stdin" : path,
                 errno ? strerror(errno) : "out of memory");
        return NULL;
    }
    gzbuffer(gz, 256 * 1024);
    hf_input *in = hf_calloc(1, sizeof *in);
    in->gz = gz;
    in->max_line = max_line;
    in->cap = 2 * max_line + 256 * 1024;
    in->buf = hf_malloc(in->cap);
    return in;
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
    int n = gzread(in->gz, in->buf + in->end, (unsigned)(in->cap - in->end));
    if (n < 0) {
        int zerr;
        const char *msg = gzerror(in->gz, &zerr);
        snprintf(in->error, sizeof in->error, "%s",
                 zerr == Z_ERRNO ? strerror(errno) : msg);
        return -1;
    }
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
    gzclose(in->gz);
    hf_free(in->buf);
    hf_free(in);
}
