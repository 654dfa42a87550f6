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
 * Text that is a JSON array or pretty-printed records goes through the
 * splitter (jsonsplit.h), a record a line: both ways must then also give
 * the same start line for every record.  And when cJSON parses the whole
 * text as one array (or one object), with no raw newline inside a string
 * (which JSON forbids and the splitter cuts at) and no record over
 * max_line, the records must parse, one by one, to its elements: the
 * splitter is differential against cJSON.
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

#include <cjson/cJSON.h>

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

/* When cJSON reads body as one array or object (the records of a pretty
 * nfdump file, say), the records read must be its elements.  Texts with a
 * raw newline inside a string, or a NUL, are left out: the splitter cuts a
 * string at a newline (JSON allows none) and cJSON takes both; so are texts
 * with a control byte between tokens, which cJSON takes for white space and
 * strict JSON does not (decode_cjson.c lists the differences). */
static void check_against_cjson(const uint8_t *body, size_t n, const cJSON *recs)
{
    int in_str = 0, esc = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = body[i];
        if (c == 0 || (in_str && c == '\n')) return;
        if (!in_str && c < 0x20 && c != ' ' && c != '\t' && c != '\r' && c != '\n') return;
        if (in_str) {
            if (esc) esc = 0;
            else if (c == '\\') esc = 1;
            else if (c == '"') in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        }
    }
    const char *end = NULL;
    cJSON *all = cJSON_ParseWithLengthOpts((const char *)body, n, &end, 0);
    if (!all) return;
    for (; end < (const char *)body + n; end++)
        if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
            cJSON_Delete(all);
            return;
        }
    size_t skip = 0;                                      /* the byte order mark cJSON skips */
    if (n >= 3 && body[0] == 0xEF && body[1] == 0xBB && body[2] == 0xBF) skip = 3;
    while (skip < n && (body[skip] == ' ' || body[skip] == '\t' || body[skip] == '\r' || body[skip] == '\n'))
        skip++;
    if (cJSON_IsArray(all) || cJSON_IsObject(all)) {
        const cJSON *want = all;
        cJSON *one = NULL;
        if (cJSON_IsObject(all)) {                       /* one record */
            one = cJSON_CreateArray();
            cJSON_AddItemReferenceToArray(one, all);
            want = one;
        }
        if (!cJSON_Compare(want, recs, 1)) {
            char *a = cJSON_PrintUnformatted(want), *b = cJSON_PrintUnformatted(recs);
            fprintf(stderr, "fuzz_input: records differ from cJSON's elements:\n  %s\n  %s\n",
                    a ? a : "?", b ? b : "?");
            abort();
        }
        cJSON_Delete(one);
    }
    cJSON_Delete(all);
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

    text lines = {0}, blocks = {0}, nums_l = {0}, nums_b = {0};
    cJSON *recs = cJSON_CreateArray();
    int too_long = 0;
    hf_input *in = hf_input_open(path, max_line, err, sizeof err);
    if (!in) abort();
    const char *line;
    size_t len;
    int r, failed = 0;
    while ((r = hf_input_next(in, &line, &len)) != HF_INPUT_EOF) {
        if (r == HF_INPUT_ERROR) { failed = 1; break; }
        uint64_t no = hf_input_lineno(in);
        put(&nums_l, &no, sizeof no);
        if (r == HF_INPUT_TOO_LONG) {
            put_line(&lines, "", max_line + 1, max_line);
            too_long = 1;
        } else {
            put_line(&lines, line, len, max_line);
            size_t w = 0;                                 /* blank lines are no records to compare */
            while (w < len && (line[w] == ' ' || line[w] == '\t' || line[w] == '\r')) w++;
            if (w < len) {
                cJSON *j = cJSON_ParseWithLength(line, len);
                cJSON_AddItemToArray(recs, j ? j : cJSON_CreateString("\x01unparsed"));
            }
        }
    }
    hf_input_close(in);

    in = hf_input_open(path, max_line, err, sizeof err);
    if (!in) abort();
    char *dst = malloc(cap);
    long got;
    int ended = 0;
    uint64_t next_no = 0;
    while ((got = hf_input_lines(in, dst, cap)) != 0) {
        if (got == HF_INPUT_ERROR) { failed = 1; break; }
        const uint64_t *nos;
        size_t nn = hf_input_block_lineno(in, &nos), k = 0;
        if (got == HF_INPUT_TOO_LONG) {
            put_line(&blocks, "", max_line + 1, max_line);
            uint64_t no = nn ? nos[0] : ++next_no;
            if (nn) next_no = no;
            put(&nums_b, &no, sizeof no);
            continue;
        }
        for (const char *q = dst; q < dst + got; k++) {   /* a number per line of the block */
            const char *nl = memchr(q, '\n', (size_t)(dst + got - q));
            uint64_t no = nn ? (k < nn ? nos[k] : 0) : ++next_no;
            if (nn) next_no = no;
            put(&nums_b, &no, sizeof no);
            q = nl ? nl + 1 : dst + got;
        }
        if (nn && k != nn) {
            fprintf(stderr, "fuzz_input: a block of %zu lines has %zu start lines\n", k, nn);
            abort();
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
    if (!failed && (nums_l.len != nums_b.len || (nums_l.len && memcmp(nums_l.s, nums_b.s, nums_l.len)))) {
        fprintf(stderr, "fuzz_input: the line numbers of blocks and lines differ\n");
        abort();
    }
    if (!failed && !too_long) check_against_cjson(body, n, recs);
    cJSON_Delete(recs);
    free(nums_l.s);
    free(nums_b.s);
    free(dst);
    free(lines.s);
    free(blocks.s);
    return 0;
}
