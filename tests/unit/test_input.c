/* test_input.c -- the line reader: lines split at newlines, the last line
 * without one, over-long lines skipped to their newline, gzip read the same
 * as plain text, and the hook that runs before a read would wait; and the
 * same lines read in blocks (hf_input_lines), from files and pipes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zlib.h>

#include "io/input.h"
#include "unit.h"

static char path[64];

static void write_file(const char *data, size_t n, int gz)
{
    snprintf(path, sizeof path, "/tmp/hostflow-test-input-%d", (int)getpid());
    if (gz) {
        gzFile g = gzopen(path, "wb");
        gzwrite(g, data, (unsigned)n);
        gzclose(g);
    } else {
        FILE *f = fopen(path, "wb");
        fwrite(data, 1, n, f);
        fclose(f);
    }
}

/* Read every line of path into out ("|"-joined, TOO_LONG as "#"). */
static void read_all(size_t max_line, char *out, size_t cap)
{
    char err[256];
    hf_input *in = hf_input_open(path, max_line, err, sizeof err);
    CHECK(in != NULL);
    if (!in) return;
    out[0] = '\0';
    const char *line;
    size_t len;
    int r;
    while ((r = hf_input_next(in, &line, &len)) != HF_INPUT_EOF && r != HF_INPUT_ERROR) {
        if (out[0]) strncat(out, "|", cap - strlen(out) - 1);
        if (r == HF_INPUT_TOO_LONG) strncat(out, "#", cap - strlen(out) - 1);
        else strncat(out, len < 40 ? line : "<long>", len < 40 ? len : 6);
    }
    hf_input_close(in);
}

TEST(lines_split_at_newlines_and_the_last_needs_none)
{
    char out[256];
    write_file("a\nbb\n\nccc", 9, 0);
    read_all(256, out, sizeof out);
    CHECK_EQ_STR(out, "a|bb||ccc");
}

TEST(gzip_reads_like_plain_text)
{
    char out[256];
    write_file("one\ntwo\nthree\n", 14, 1);
    read_all(256, out, sizeof out);
    CHECK_EQ_STR(out, "one|two|three");
}

TEST(gzip_members_one_after_another_read_as_one)
{
    /* two members, as `cat a.gz b.gz` makes, the first bigger than a read */
    size_t n = 3 * 1000 * 1000;
    char *data = malloc(n + 64);
    for (size_t i = 0; i < n; i++) data[i] = (i % 100 == 99) ? '\n' : 'a';
    snprintf(path, sizeof path, "/tmp/hostflow-test-input-%d", (int)getpid());
    gzFile g = gzopen(path, "wb");
    gzwrite(g, data, (unsigned)n);
    gzclose(g);
    g = gzopen(path, "ab");
    gzwrite(g, "tail\n", 5);
    gzclose(g);
    char err[256];
    hf_input *in = hf_input_open(path, 1024, err, sizeof err);
    const char *line;
    size_t len;
    int lines = 0, r;
    while ((r = hf_input_next(in, &line, &len)) == HF_INPUT_LINE) lines++;
    CHECK_EQ_INT(r, HF_INPUT_EOF);
    CHECK_EQ_INT(lines, (int)(n / 100) + 1);
    CHECK(len == 4 && memcmp(line, "tail", 4) == 0);
    hf_input_close(in);
    free(data);
}

TEST(a_truncated_gzip_file_is_an_error_after_what_it_holds)
{
    write_file("one\ntwo\n", 8, 1);
    FILE *f = fopen(path, "rb");
    char gz[256];
    size_t n = fread(gz, 1, sizeof gz, f);
    fclose(f);
    write_file(gz, n - 6, 0);                  /* cut inside the trailer */
    char err[256];
    hf_input *in = hf_input_open(path, 256, err, sizeof err);
    const char *line;
    size_t len;
    int r, lines = 0;
    while ((r = hf_input_next(in, &line, &len)) == HF_INPUT_LINE) lines++;
    CHECK_EQ_INT(r, HF_INPUT_ERROR);
    CHECK(strstr(hf_input_error(in), "truncated") != NULL);
    CHECK_EQ_INT(lines, 2);
    hf_input_close(in);
}

TEST(an_over_long_line_is_skipped_to_its_newline)
{
    size_t n = 3 * 1000 * 1000;
    char *data = malloc(n + 32);
    memcpy(data, "first\n", 6);
    memset(data + 6, 'x', n);
    memcpy(data + 6 + n, "\nlast\n", 6);
    write_file(data, n + 12, 0);
    char out[256];
    read_all(1024, out, sizeof out);
    CHECK_EQ_STR(out, "first|#|last");
    free(data);
}

TEST(a_line_of_exactly_the_limit_is_kept)
{
    char data[300];
    memset(data, 'y', 256);
    data[256] = '\n';
    memcpy(data + 257, "z\n", 2);
    write_file(data, 259, 0);
    char out[256];
    read_all(256, out, sizeof out);
    CHECK_EQ_STR(out, "<long>|z");
}

TEST(line_numbers_count_skipped_lines_too)
{
    char data[300];
    memset(data, 'b', sizeof data);
    memcpy(data, "a\n", 2);
    memcpy(data + 2 + 263, "\nc\n", 3);      /* line 2: 263 bytes, over the limit of 256 */
    write_file(data, 2 + 263 + 3, 0);
    char err[256];
    hf_input *in = hf_input_open(path, 256, err, sizeof err);
    const char *line;
    size_t len;
    CHECK_EQ_INT(hf_input_next(in, &line, &len), HF_INPUT_LINE);
    CHECK_EQ_INT(hf_input_next(in, &line, &len), HF_INPUT_TOO_LONG);   /* 263 bytes */
    CHECK_EQ_INT(hf_input_lineno(in), 2);
    CHECK_EQ_INT(hf_input_next(in, &line, &len), HF_INPUT_LINE);
    CHECK(len == 1 && line[0] == 'c');
    CHECK_EQ_INT(hf_input_lineno(in), 3);
    CHECK_EQ_INT(hf_input_next(in, &line, &len), HF_INPUT_EOF);
    hf_input_close(in);
}

/* Read path in blocks of at most cap bytes (hf_input_lines), and give the
 * lines "|"-joined, lines over max_line (skipped, or in a block) as "#". */
static void read_blocks(size_t max_line, size_t cap, char *out, size_t outcap)
{
    char err[256];
    hf_input *in = hf_input_open(path, max_line, err, sizeof err);
    CHECK(in != NULL);
    if (!in) return;
    char *dst = malloc(cap);
    out[0] = '\0';
    int first = 1;
    long n;
    while ((n = hf_input_lines(in, dst, cap)) != 0 && n != HF_INPUT_ERROR) {
        if (n == HF_INPUT_TOO_LONG) {
            strncat(out, first ? "#" : "|#", outcap - strlen(out) - 1);
            first = 0;
            continue;
        }
        CHECK((size_t)n <= cap);
        size_t at = 0;
        while (at < (size_t)n) {
            char *nl = memchr(dst + at, '\n', (size_t)n - at);
            size_t len = (nl ? (size_t)(nl - dst) : (size_t)n) - at;
            if (!first) strncat(out, "|", outcap - strlen(out) - 1);
            first = 0;
            if (len > max_line) strncat(out, "#", outcap - strlen(out) - 1);
            else strncat(out, dst + at, len < outcap - strlen(out) - 1 ? len : outcap - strlen(out) - 1);
            at += len + 1;
        }
        CHECK(dst[n - 1] == '\n' || hf_input_lines(in, dst, cap) == 0);   /* only the last lacks one */
    }
    CHECK(n == 0);
    free(dst);
    hf_input_close(in);
}

/* Blocks give the same lines as hf_input_next, whatever their size, plain
 * or gzip: long lines skipped or handed over, the last one kept. */
TEST(blocks_of_lines_read_like_single_lines)
{
    static char text[200000], want[300000], got[300000];
    size_t n = 0;
    unsigned rnd = 12345;
    while (n < sizeof text - 200) {
        rnd = rnd * 1103515245u + 12345u;
        unsigned len = (rnd >> 16) % 11 == 0 ? 20 + (rnd >> 8) % 150 : (rnd >> 8) % 14;
        for (unsigned k = 0; k < len; k++) text[n++] = (char)('a' + (k + rnd) % 26);
        text[n++] = '\n';
    }
    memcpy(text + n, "last", 4);                 /* no newline at the end */
    n += 4;
    for (int gz = 0; gz <= 1; gz++) {
        write_file(text, n, gz);
        read_all(16, want, sizeof want);
        for (size_t k = 0; want[k]; k++)         /* over-long lines: "#" either way */
            if (want[k] == '<') {
                memmove(want + k + 1, want + k + 6, strlen(want + k + 6) + 1);
                want[k] = '#';
            }
        size_t caps[] = {17, 18, 40, 64, 1000, 70000};
        for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
            read_blocks(16, caps[c], got, sizeof got);
            CHECK(strcmp(want, got) == 0);
        }
    }
}

/* An input reading from a new pipe, as hostflow reads stdin ("-"); *wfd
 * is the pipe's end to write. */
static hf_input *open_pipe(size_t max_line, int *wfd)
{
    char err[256];
    int fds[2];
    CHECK(pipe(fds) == 0);
    int saved = dup(STDIN_FILENO);
    dup2(fds[0], STDIN_FILENO);
    hf_input *in = hf_input_open("-", max_line, err, sizeof err);
    dup2(saved, STDIN_FILENO);
    close(saved);
    close(fds[0]);
    *wfd = fds[1];
    return in;
}

/* From a pipe, a block is returned as soon as a line is complete, however
 * the writer splits it. */
TEST(blocks_from_a_pipe_come_as_lines_complete)
{
    char dst[64];
    int wfd;
    hf_input *in = open_pipe(16, &wfd);
    pid_t child = fork();
    if (child == 0) {
        const char *parts[] = {"a", "b", "c\nd", "e\nf\n", "g"};
        for (int i = 0; i < 5; i++) {
            usleep(50 * 1000);
            if (write(wfd, parts[i], strlen(parts[i])) < 0) _exit(1);
        }
        _exit(0);
    }
    close(wfd);
    long n = hf_input_lines(in, dst, sizeof dst);
    CHECK(n == 4 && memcmp(dst, "abc\n", 4) == 0);      /* before "e" was written */
    char all[64] = "abc\n";
    while ((n = hf_input_lines(in, dst, sizeof dst)) > 0) {
        CHECK(dst[n - 1] == '\n' || (n == 1 && dst[0] == 'g'));
        strncat(all, dst, (size_t)n);
    }
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_STR(all, "abc\nde\nf\ng");
    hf_input_close(in);
    waitpid(child, NULL, 0);
}

static int waits;
static void count_wait(void *ctx) { (void)ctx; waits++; }

/* The hook runs before a read that would wait (an empty pipe), and never
 * for a regular file. */
TEST(the_wait_hook_runs_before_an_empty_pipe_is_read_not_for_a_file)
{
    char err[256];
    int wfd;
    hf_input *in = open_pipe(256, &wfd);
    CHECK(write(wfd, "a\nb\n", 4) == 4);
    hf_input_on_wait(in, count_wait, NULL);
    const char *line;
    size_t len;
    waits = 0;
    CHECK_EQ_INT(hf_input_next(in, &line, &len), HF_INPUT_LINE);   /* data there: no wait */
    CHECK_EQ_INT(waits, 0);
    CHECK_EQ_INT(hf_input_next(in, &line, &len), HF_INPUT_LINE);
    close(wfd);                                  /* the end is readable: no wait either */
    CHECK_EQ_INT(hf_input_next(in, &line, &len), HF_INPUT_EOF);
    CHECK_EQ_INT(waits, 0);
    hf_input_close(in);

    in = open_pipe(256, &wfd);
    hf_input_on_wait(in, count_wait, NULL);
    pid_t child = fork();
    if (child == 0) {                               /* writes after the reader waits */
        usleep(200 * 1000);
        if (write(wfd, "late\n", 5) != 5) _exit(1);
        _exit(0);
    }
    close(wfd);
    CHECK_EQ_INT(hf_input_next(in, &line, &len), HF_INPUT_LINE);
    CHECK(len == 4 && memcmp(line, "late", 4) == 0);
    CHECK(waits >= 1);
    hf_input_close(in);
    waitpid(child, NULL, 0);

    write_file("x\ny\n", 4, 0);
    in = hf_input_open(path, 256, err, sizeof err);
    hf_input_on_wait(in, count_wait, NULL);
    waits = 0;
    while (hf_input_next(in, &line, &len) == HF_INPUT_LINE) {}
    CHECK_EQ_INT(waits, 0);
    hf_input_close(in);
}


/* ------------------------------------------------------------------------
 * Framing: JSON arrays and pretty-printed records, byte order marks
 * --------------------------------------------------------------------- */

/* nfdump 1.7.1's -o json: an array, one key a line (shortened). */
static const char PRETTY[] =
    "[\n"
    "{\n"
    "\t\"type\" : \"FLOW\",\n"
    "\t\"proto\" : 6\n"
    "},\n"
    "{\n"
    "\t\"type\" : \"FLOW\",\n"
    "\t\"label\" : \"{<none>}\"\n"
    "},\n"
    "garbage\n"
    "{\n"
    "\t\"last\" : 1\n"
    "}]\n";
static const char *const PRETTY_LINES[] = {
    "{  \"type\" : \"FLOW\",  \"proto\" : 6 }",
    "{  \"type\" : \"FLOW\",  \"label\" : \"{<none>}\" }",
    "garbage",
    "{  \"last\" : 1 }",
};
static const uint64_t PRETTY_STARTS[] = {2, 6, 10, 11};

/* Read path record by record: each one a line, at the line it starts. */
static void check_records(size_t max_line, const char *const *want, const uint64_t *starts, int n)
{
    char err[256];
    hf_input *in = hf_input_open(path, max_line, err, sizeof err);
    CHECK(in != NULL);
    if (!in) return;
    const char *line;
    size_t len;
    int k = 0, r;
    while ((r = hf_input_next(in, &line, &len)) == HF_INPUT_LINE || r == HF_INPUT_TOO_LONG) {
        if (k >= n) { CHECK(k < n); break; }
        if (want[k]) CHECK(r == HF_INPUT_LINE && len == strlen(want[k]) && memcmp(line, want[k], len) == 0);
        else CHECK_EQ_INT(r, HF_INPUT_TOO_LONG);
        CHECK_EQ_INT(hf_input_lineno(in), starts[k]);
        k++;
    }
    CHECK_EQ_INT(r, HF_INPUT_EOF);
    CHECK_EQ_INT(k, n);
    hf_input_close(in);

    /* and in blocks, with the block's start lines */
    in = hf_input_open(path, max_line, err, sizeof err);
    char *dst = malloc(max_line + 64);
    long got;
    k = 0;
    while ((got = hf_input_lines(in, dst, max_line + 1)) != 0 && got != HF_INPUT_ERROR) {
        const uint64_t *lines;
        size_t nl = hf_input_block_lineno(in, &lines);
        if (got == HF_INPUT_TOO_LONG) {
            CHECK(k < n && want[k] == NULL && nl == 1 && lines[0] == starts[k]);
            k++;
            continue;
        }
        size_t i = 0;
        for (const char *p = dst; p < dst + got; k++, i++) {
            const char *nlp = memchr(p, '\n', (size_t)(dst + got - p));
            size_t l = (size_t)((nlp ? nlp : dst + got) - p);
            CHECK(k < n && (nl == 0 || i < nl));
            if (k >= n || (nl && i >= nl)) break;
            if (nl) CHECK_EQ_INT(lines[i], starts[k]);      /* else: one line after another */
            if (want[k]) CHECK(l == strlen(want[k]) && memcmp(p, want[k], l) == 0);
            else CHECK(l > max_line);
            p += l + 1;
        }
        if (nl) CHECK_EQ_INT(i, nl);
    }
    CHECK_EQ_INT(got, 0);
    CHECK_EQ_INT(k, n);
    free(dst);
    hf_input_close(in);
}

TEST(a_pretty_printed_array_gives_a_record_a_line_at_its_line)
{
    write_file(PRETTY, sizeof PRETTY - 1, 0);
    check_records(256, PRETTY_LINES, PRETTY_STARTS, 4);
    write_file(PRETTY, sizeof PRETTY - 1, 1);                  /* gzip */
    check_records(256, PRETTY_LINES, PRETTY_STARTS, 4);
    /* with a byte order mark, and with CRLF line ends */
    char buf[1024] = "\xef\xbb\xbf";
    memcpy(buf + 3, PRETTY, sizeof PRETTY);
    write_file(buf, 3 + sizeof PRETTY - 1, 0);
    check_records(256, PRETTY_LINES, PRETTY_STARTS, 4);
    /* pretty-printed objects without an array */
    static const char objs[] = "{\n\"a\" : 1\n}\n{\n\"b\" : 2\n}\n";
    static const char *const objs_lines[] = {"{ \"a\" : 1 }", "{ \"b\" : 2 }"};
    static const uint64_t objs_starts[] = {1, 4};
    write_file(objs, sizeof objs - 1, 0);
    check_records(256, objs_lines, objs_starts, 2);
}

TEST(a_byte_order_mark_does_not_cost_the_first_record)
{
    static const char nd[] = "\xef\xbb\xbf{\"a\":1}\n{\"b\":2}\n";
    static const char *const lines[] = {"{\"a\":1}", "{\"b\":2}"};
    static const uint64_t starts[] = {1, 2};
    write_file(nd, sizeof nd - 1, 0);
    check_records(256, lines, starts, 2);
    write_file(nd, sizeof nd - 1, 1);
    check_records(256, lines, starts, 2);
    /* short inputs are read whole */
    static const char *const one[] = {"{}"};
    write_file("{}", 2, 0);
    check_records(256, one, starts, 1);
    write_file("\xef\xbb\xbf", 3, 0);
    check_records(256, NULL, NULL, 0);
}

TEST(utf16_and_utf32_are_named_and_stop_the_input)
{
    static const struct { const char *bytes; size_t n; const char *name; } cases[] = {
        {"\xff\xfe{\0\"\0", 6, "UTF-16 (little-endian, with a byte order mark)"},
        {"\xfe\xff\0{\0\"", 6, "UTF-16 (big-endian, with a byte order mark)"},
        {"{\0\"\0a\0", 6, "UTF-16 (little-endian)"},
        {"\0{\0\"", 4, "UTF-16 (big-endian)"},
        {"\xff\xfe\0\0{\0\0\0", 8, "UTF-32 (little-endian, with a byte order mark)"},
        {"{\0\0\0\"\0\0\0", 8, "UTF-32 (little-endian)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int gz = 0; gz < 2; gz++) {
            char err[256], dst[512];
            write_file(cases[i].bytes, cases[i].n, gz);
            hf_input *in = hf_input_open(path, 256, err, sizeof err);
            const char *line;
            size_t len;
            if (i % 2) CHECK_EQ_INT(hf_input_lines(in, dst, sizeof dst), HF_INPUT_ERROR);
            else CHECK_EQ_INT(hf_input_next(in, &line, &len), HF_INPUT_ERROR);
            CHECK(strstr(hf_input_error(in), cases[i].name) != NULL);
            hf_input_close(in);
        }
    }
}

TEST(a_pretty_record_over_the_limit_is_skipped_and_the_next_kept)
{
    size_t big = 3 * 1000 * 1000;
    char *data = malloc(big + 256);
    size_t o = (size_t)sprintf(data, "[{\"a\" : 1},\n{\n\"note\" : \"");
    memset(data + o, 'x', big);
    o += big;
    o += (size_t)sprintf(data + o, "\"\n},\n{\"b\" : 2}]");
    write_file(data, o, 0);
    static const char *const lines[] = {"{\"a\" : 1}", NULL, "{\"b\" : 2}"};
    static const uint64_t starts[] = {1, 2, 5};
    check_records(1024, lines, starts, 3);
    write_file(data, o, 1);
    check_records(1024, lines, starts, 3);
    free(data);
}

/* A pretty array written to a pipe a few bytes at a time. */
TEST(a_pretty_array_from_a_pipe_in_small_writes)
{
    int wfd;
    hf_input *in = open_pipe(256, &wfd);
    pid_t child = fork();
    if (child == 0) {
        for (size_t i = 0; i < sizeof PRETTY - 1; i += 7) {
            size_t k = sizeof PRETTY - 1 - i < 7 ? sizeof PRETTY - 1 - i : 7;
            if (write(wfd, PRETTY + i, k) < 0) _exit(1);
            usleep(2000);
        }
        _exit(0);
    }
    close(wfd);
    const char *line;
    size_t len;
    int k = 0, r;
    while ((r = hf_input_next(in, &line, &len)) == HF_INPUT_LINE) {
        CHECK(k < 4 && len == strlen(PRETTY_LINES[k]) && memcmp(line, PRETTY_LINES[k], len) == 0);
        CHECK_EQ_INT(hf_input_lineno(in), PRETTY_STARTS[k]);
        k++;
    }
    CHECK_EQ_INT(r, HF_INPUT_EOF);
    CHECK_EQ_INT(k, 4);
    hf_input_close(in);
    waitpid(child, NULL, 0);
}

TEST(a_missing_file_is_named)
{
    char err[256];
    CHECK(hf_input_open("/nonexistent/flows.ndjson", 256, err, sizeof err) == NULL);
    CHECK(strstr(err, "/nonexistent/flows.ndjson: cannot open") != NULL);
}

TEST(a_stop_request_ends_the_skipping_of_an_endless_line)
{
    char err[256];
    _Atomic int stop = 0;
    hf_input *in = hf_input_open("/dev/zero", 1024, err, sizeof err);
    CHECK(in != NULL);
    if (!in) return;
    hf_input_on_stop(in, &stop);
    stop = 1;             /* /dev/zero never ends a line: only the stop can end this */
    const char *line;
    size_t len;
    CHECK_EQ_INT(hf_input_next(in, &line, &len), HF_INPUT_ERROR);
    CHECK_EQ_STR(hf_input_error(in), "interrupted");
    char block[4096];
    CHECK_EQ_INT(hf_input_lines(in, block, sizeof block), HF_INPUT_ERROR);
    hf_input_close(in);
}

int main(void)
{
    RUN(lines_split_at_newlines_and_the_last_needs_none);
    RUN(gzip_reads_like_plain_text);
    RUN(gzip_members_one_after_another_read_as_one);
    RUN(a_truncated_gzip_file_is_an_error_after_what_it_holds);
    RUN(an_over_long_line_is_skipped_to_its_newline);
    RUN(a_line_of_exactly_the_limit_is_kept);
    RUN(line_numbers_count_skipped_lines_too);
    RUN(the_wait_hook_runs_before_an_empty_pipe_is_read_not_for_a_file);
    RUN(blocks_of_lines_read_like_single_lines);
    RUN(blocks_from_a_pipe_come_as_lines_complete);
    RUN(a_missing_file_is_named);
    RUN(a_stop_request_ends_the_skipping_of_an_endless_line);
    RUN(a_pretty_printed_array_gives_a_record_a_line_at_its_line);
    RUN(a_byte_order_mark_does_not_cost_the_first_record);
    RUN(utf16_and_utf32_are_named_and_stop_the_input);
    RUN(a_pretty_record_over_the_limit_is_skipped_and_the_next_kept);
    RUN(a_pretty_array_from_a_pipe_in_small_writes);
    unlink(path);
    return UNIT_END();
}
