/* test_jsonsplit.c -- the record splitter (core/io/jsonsplit.c): arrays and
 * pretty-printed records become one record a line with the line each
 * starts at, whatever the pieces they are fed in; hostile framing (garbage
 * between elements, a missing brace, a broken string, an array never
 * closed, deep nesting, a 100 MB line) costs one refused record and
 * bounded memory, never the records around it. */
#include <stdlib.h>
#include <string.h>

#include "io/jsonsplit.h"
#include "unit.h"

typedef struct result {
    char     text[8192];          /* the lines, as written */
    size_t   len;
    uint64_t starts[256];
    size_t   n;
} result;

/* Split s[0..n) fed in pieces of `piece` bytes (0: all at once) into r. */
static void split(const char *s, size_t n, size_t piece, size_t max, result *r)
{
    hf_split sp;
    hf_split_init(&sp, max);
    r->len = r->n = 0;
    size_t at = 0;
    while (at < n) {
        size_t k = piece && n - at > piece ? piece : n - at;
        size_t off = 0;
        while (off < k) {
            size_t used, ns;
            size_t room = sizeof r->text - r->len;
            size_t w = hf_split_feed(&sp, s + at + off, k - off, &used, r->text + r->len, room,
                                     r->starts + r->n, 256 - r->n, &ns);
            r->len += w;
            r->n += ns;
            off += used;
            if (!used && !w) break;
        }
        at += k;
    }
    size_t ns;
    r->len += hf_split_end(&sp, r->text + r->len, sizeof r->text - r->len, &r->starts[r->n], &ns);
    r->n += ns;
    r->text[r->len] = '\0';
}

#define CHECK_SPLIT(in, want_text, ...) do { \
    static const uint64_t want_[] = {__VA_ARGS__}; \
    for (size_t piece_ = 0; piece_ < 8; piece_++) { \
        result r_; \
        split((in), strlen(in), piece_, 4096, &r_); \
        if (strcmp(r_.text, (want_text)) != 0 || r_.n != sizeof want_ / sizeof want_[0] || \
            memcmp(r_.starts, want_, sizeof want_) != 0) { \
            unit_cur_failed = 1; \
            fprintf(stderr, "  FAIL %s:%d (pieces of %zu): got [%s] %zu records\n", __FILE__, \
                    __LINE__, piece_, r_.text, r_.n); \
            break; \
        } \
    } } while (0)

TEST(a_pretty_array_is_a_record_a_line)
{
    const char *nfdump =
        "[\n"
        "{\n"
        "\t\"type\" : \"FLOW\",\n"
        "\t\"in_packets\" : 1\n"
        "},\n"
        "{\n"
        "\t\"type\" : \"FLOW\",\n"
        "\t\"label\" : \"<none>\"\n"
        "}]\n";
    CHECK_SPLIT(nfdump,
                "{  \"type\" : \"FLOW\",  \"in_packets\" : 1 }\n"
                "{  \"type\" : \"FLOW\",  \"label\" : \"<none>\" }\n", 2, 6);
    /* NDJSON, concatenated objects, arrays one after another */
    CHECK_SPLIT("{\"a\":1}\n{\"b\":2}\r\n\n{\"c\":3}", "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n", 1, 2, 4);
    CHECK_SPLIT("{\"a\":1}{\"b\":2}", "{\"a\":1}\n{\"b\":2}\n", 1, 1);
    CHECK_SPLIT("[{\"a\":1}]\n[{\"b\":2},\n{\"c\":3}]", "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n", 1, 2, 3);
    CHECK_SPLIT("[]", "");
    CHECK_SPLIT("", "");
    CHECK_SPLIT("  \n\n ", "");
}

TEST(brackets_and_quotes_inside_strings_do_not_count)
{
    CHECK_SPLIT("[{\"a\":\"}{][\\\"\",\n\"b\":\"\\\\\"},{\"c\":\"x\\\"}\"}]",
                "{\"a\":\"}{][\\\"\", \"b\":\"\\\\\"}\n{\"c\":\"x\\\"}\"}\n", 1, 2);
    /* nested values are part of their record */
    CHECK_SPLIT("[{\"a\":{\"b\":[1,{\"c\":[]}]},\n\"d\":[{}]}]",
                "{\"a\":{\"b\":[1,{\"c\":[]}]}, \"d\":[{}]}\n", 1);
}

TEST(what_is_not_a_record_is_handed_on_with_its_line)
{
    /* garbage between elements: up to a comma, a bracket, a brace or a newline */
    CHECK_SPLIT("[{\"a\":1},\ngarbage here,\n{\"b\":2}, 5, \"s,t\", [1,2]]",
                "{\"a\":1}\ngarbage here\n{\"b\":2}\n5\n\"s,t\"\n[1,2]\n", 1, 2, 3, 3, 3, 3);
    /* a stray closing bracket, text after the array */
    CHECK_SPLIT("]\n[{\"a\":1}] trailing", "]\n{\"a\":1}\ntrailing\n", 1, 2, 2);
    /* a missing "}": the next record begins where a key should be */
    CHECK_SPLIT("[{\"a\":1,\n{\"b\":2},\n{\"c\":3}]", "{\"a\":1, \n{\"b\":2}\n{\"c\":3}\n", 1, 2, 3);
    CHECK_SPLIT("{\"a\":1\n{\"b\":2}", "{\"a\":1 \n{\"b\":2}\n", 1, 2);
    CHECK_SPLIT("{\"a\":{\"x\":1,{\"b\":2}", "{\"a\":{\"x\":1,\n{\"b\":2}\n", 1, 1);
    /* but a "{" after ":" is a value */
    CHECK_SPLIT("{\"a\":\n{\"b\":2}}", "{\"a\": {\"b\":2}}\n", 1);
    /* a raw newline in a string ends the record there */
    CHECK_SPLIT("[{\"a\":\"bro\nken\"},\n{\"b\":2}]", "{\"a\":\"bro\nken\"},\n{\"b\":2}\n", 1, 2, 3);
}

TEST(an_array_never_closed_ends_with_the_input)
{
    hf_split sp;
    const char *s = "[\n{\"a\":1},\n{\"b\":";
    char out[256];
    uint64_t st[8];
    size_t used, ns, ns2;
    hf_split_init(&sp, 4096);
    size_t w = hf_split_feed(&sp, s, strlen(s), &used, out, sizeof out, st, 8, &ns);
    CHECK_EQ_INT(used, strlen(s));
    CHECK_EQ_INT(ns, 1);
    w += hf_split_end(&sp, out + w, sizeof out - w, &st[ns], &ns2);
    CHECK_EQ_INT(ns2, 1);
    CHECK_EQ_INT(st[1], 3);
    out[w] = '\0';
    CHECK_EQ_STR(out, "{\"a\":1}\n{\"b\":\n");
    CHECK(hf_split_open_array(&sp));
}

/* A record over max is cut to max + 1 bytes (the reader refuses it as too
 * long); the records after it are whole. */
TEST(a_long_record_is_cut_and_the_next_is_whole)
{
    size_t big = 100u << 20;                       /* a 100 MB single line */
    char *s = malloc(big + 64);
    size_t o = (size_t)sprintf(s, "[{\"a\":\"");
    memset(s + o, 'x', big);
    o += big;
    o += (size_t)sprintf(s + o, "\"},\n{\"b\":1}]");
    hf_split sp;
    hf_split_init(&sp, 1000);
    char out[4096];
    uint64_t st[8];
    size_t at = 0, total = 0, nrec = 0, lens[8] = {0}, cur = 0;
    while (at < o) {
        size_t used, ns;
        size_t w = hf_split_feed(&sp, s + at, o - at, &used, out, sizeof out, st, 8, &ns);
        for (size_t i = 0; i < w; i++) {
            if (out[i] == '\n') lens[nrec++ < 8 ? nrec - 1 : 7] = cur, cur = 0;
            else cur++;
        }
        total += w;
        at += used;
    }
    CHECK_EQ_INT(nrec, 2);
    CHECK_EQ_INT(lens[0], 1001);
    CHECK_EQ_INT(lens[1], 7);
    CHECK(total < 2000);
    free(s);

    /* 100,000 nested brackets: one record, cut, no recursion */
    size_t deep = 100000;
    s = malloc(deep * 2 + 16);
    memset(s, '[', deep);
    memset(s + deep, ']', deep);
    memcpy(s + 2 * deep, "\n{\"b\":1}", 8);
    result r;
    hf_split_init(&sp, 100);
    size_t used, ns, w = 0;
    r.n = 0;
    for (at = 0; at < 2 * deep + 8; at += used) {
        size_t k = hf_split_feed(&sp, s + at, 2 * deep + 8 - at, &used, r.text + w,
                                 sizeof r.text - w, r.starts + r.n, 256 - r.n, &ns);
        w += k;
        r.n += ns;
    }
    w += hf_split_end(&sp, r.text + w, sizeof r.text - w, &r.starts[r.n], &ns);
    r.n += ns;
    CHECK_EQ_INT(r.n, 2);
    CHECK_EQ_INT(w, 101 + 1 + 7 + 1);
    CHECK_EQ_INT(r.starts[1], 2);
    free(s);
}

/* Any input, in pieces of any size: the same lines as all at once, each
 * line at most max + 1 bytes, and never more lines than records begun. */
TEST(pieces_of_any_size_give_the_same_lines)
{
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    static const char alphabet[] = "{}[]\":,\\ \n\tab1";
    char in[600];
    for (int round = 0; round < 3000; round++) {
        size_t n = 1 + round % 500;
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            in[i] = alphabet[x % (sizeof alphabet - 1)];
        }
        in[n] = '\0';
        result whole, pieces;
        split(in, n, 0, 64, &whole);
        split(in, n, 1 + (size_t)(x >> 40) % 7, 64, &pieces);
        if (whole.len != pieces.len || memcmp(whole.text, pieces.text, whole.len) != 0 ||
            whole.n != pieces.n || memcmp(whole.starts, pieces.starts, whole.n * sizeof(uint64_t)) != 0) {
            unit_cur_failed = 1;
            fprintf(stderr, "  FAIL round %d differs\n", round);
            break;
        }
        size_t cur = 0, lines = 0;
        for (size_t i = 0; i < whole.len; i++) {
            if (whole.text[i] == '\n') {
                CHECK(cur <= 65);
                cur = 0;
                lines++;
            } else {
                cur++;
            }
        }
        CHECK_EQ_INT(cur, 0);
        CHECK_EQ_INT(lines, whole.n);
        for (size_t i = 1; i < whole.n; i++) CHECK(whole.starts[i] >= whole.starts[i - 1]);
    }
}

TEST(the_first_bytes_tell_the_framing)
{
    CHECK_EQ_INT(hf_split_detect("{\"a\":1}\n{", 9, 0, 100), HF_FRAME_LINES);
    CHECK_EQ_INT(hf_split_detect("{\"a\":1}", 7, 0, 100), HF_FRAME_LINES);
    CHECK_EQ_INT(hf_split_detect("{\n\"a\":1}", 8, 0, 100), HF_FRAME_SPLIT);
    CHECK_EQ_INT(hf_split_detect("\n\n  [", 5, 0, 100), HF_FRAME_SPLIT);
    CHECK_EQ_INT(hf_split_detect("{\"a\":\"}\\\"\n", 10, 0, 100), HF_FRAME_LINES);  /* broken */
    CHECK_EQ_INT(hf_split_detect("{\"a\":1", 6, 0, 100), HF_FRAME_MORE);
    CHECK_EQ_INT(hf_split_detect("{\"a\":1", 6, 1, 100), HF_FRAME_LINES);
    CHECK_EQ_INT(hf_split_detect("{\"a\":1", 6, 0, 3), HF_FRAME_LINES);        /* a long line */
    CHECK_EQ_INT(hf_split_detect("   ", 3, 0, 100), HF_FRAME_MORE);
    CHECK_EQ_INT(hf_split_detect("   ", 3, 1, 100), HF_FRAME_LINES);
    CHECK_EQ_INT(hf_split_detect("garbage\n[", 9, 0, 100), HF_FRAME_LINES);
    CHECK_EQ_INT(hf_split_detect("", 0, 1, 100), HF_FRAME_LINES);
}

int main(void)
{
    RUN(a_pretty_array_is_a_record_a_line);
    RUN(brackets_and_quotes_inside_strings_do_not_count);
    RUN(what_is_not_a_record_is_handed_on_with_its_line);
    RUN(an_array_never_closed_ends_with_the_input);
    RUN(a_long_record_is_cut_and_the_next_is_whole);
    RUN(pieces_of_any_size_give_the_same_lines);
    RUN(the_first_bytes_tell_the_framing);
    return UNIT_END();
}
