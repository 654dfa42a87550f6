/* fuzz_input.c -- libFuzzer target for core/input.c: reading in blocks
 * (hf_input_lines, what the decoder threads get) against reading line by
 * line (hf_input_next).
 *
 * The first three bytes choose the limits and the form, the rest is the
 * text:
 *
 *   byte 0   max_line = 16 + (b & 63)
 *   byte 1   block size = max_line + 1 + b
 *   byte 2   bit 0: gzip the text first; bit 1: a second gzip member
 *
 * The text goes into a memory file and is read both ways.  Every block must
 * fit its size and end with a newline (but the input's last); split at
 * newlines, the blocks must give the same lines as hf_input_next(), lines
 * over max_line counting as one refused line either way (skipped by the
 * input, or handed over for the decoder to refuse).  Any disagreement aborts.
 *
 * Build: make build/fuzz/fuzz_input.  Seeds: tests/fuzz/seeds/input/. */
#include "io/input.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <zlib.h>

#define TOO_LONG_MARK "\x01too-long\x01"

typedef struct { char *s; size_t len, cap; } text;

static void put(text *t, const void *p, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->s = realloc(t->s, t->cap);
    }
    memcpy(t->s + t->len, p, n);
    t->len += n;
}

/* One line into the record: its text, or the mark when over max_line. */
static void put_line(text *t, const char *p, size_t n, size_t max_line)
{
    if (n > max_line) put(t, TOO_LONG_MARK, sizeof TOO_LONG_MARK - 1);
    else put(t, p, n);
    put(t, "\n", 1);
}

static void gzip_into(int fd, const uint8_t *p, size_t n)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
    uLong bound = deflateBound(&zs, (uLong)n);
    unsigned char *out = malloc(bound);
    zs.next_in = (unsigned char *)p;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)bound;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) abort();
    if (write(fd, out, bound - zs.avail_out) < 0) abort();
    deflateEnd(&zs);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) return 0;
    size_t max_line = 16 + (data[0] & 63), cap = max_line + 1 + data[1];
    int gz = data[2] & 1, two = data[2] & 2;
    const uint8_t *body = data + 3;
    size_t n = size - 3;

    int fd = memfd_create("fuzz_input", 0);
    if (fd < 0) abort();
    if (gz) {
        size_t half = two ? n / 2 : n;
        gzip_into(fd, body, half);
        if (two) gzip_into(fd, body + half, n - half);
    } else if (n && write(fd, body, n) < 0) {
        abort();
    }
    char path[64], err[256];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);

    text lines = {0}, blocks = {0};
    hf_input *in = hf_input_open(path, max_line, err, sizeof err);
    if (!in) abort();
    const char *line;
    size_t len;
    int r, failed = 0;
    while ((r = hf_input_next(in, &line, &len)) != HF_INPUT_EOF) {
        if (r == HF_INPUT_ERROR) { failed = 1; break; }
        if (r == HF_INPUT_TOO_LONG) put_line(&lines, "", max_line + 1, max_line);
        else put_line(&lines, line, len, max_line);
    }
    hf_input_close(in);

    in = hf_input_open(path, max_line, err, sizeof err);
    if (!in) abort();
    char *dst = malloc(cap);
    long got;
    int ended = 0;
    while ((got = hf_input_lines(in, dst, cap)) != 0) {
        if (got == HF_INPUT_ERROR) { failed = 1; break; }
        if (got == HF_INPUT_TOO_LONG) {
            put_line(&blocks, "", max_line + 1, max_line);
            continue;
        }
        if ((size_t)got > cap || ended) abort();
        if (dst[got - 1] != '\n') ended = 1;   /* only the input's last line lacks one */
        const char *p = dst, *end = dst + got;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            put_line(&blocks, p, (size_t)((nl ? nl : end) - p), max_line);
            p = nl ? nl + 1 : end;
        }
    }
    hf_input_close(in);
    close(fd);
    if (!failed && (lines.len != blocks.len || (lines.len && memcmp(lines.s, blocks.s, lines.len) != 0))) {
        fprintf(stderr, "fuzz_input: blocks and lines differ (max_line %zu, block %zu, gzip %d)\n",
                max_line, cap, gz);
        abort();
    }
    free(dst);
    free(lines.s);
    free(blocks.s);
    return 0;
}
