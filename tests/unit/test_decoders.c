/* test_decoders.c -- decoding on threads: every line of every block comes
 * back in input order with what hf_line_classify says of it, whatever the
 * number of threads and however the reader interleaves submitting and
 * taking back; blocks of hostile text cost bounded memory. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream/decoders.h"
#include "unit.h"

#define FUTURE_MS 1764252000000.0   /* "now" plus a day */
#define MAX_LINE  4096

static hf_prefixes *nets;
static const hf_decode_ctx CTX = {NULL, 1000};

/* Line i of a stream mixing every outcome: flows in and outside the
 * monitored network, malformed and truncated JSON, a missing field, a flow
 * from the far future, an empty line, and one longer than MAX_LINE. */
static int make_line(int i, char *out, size_t cap)
{
    const char *fmt;
    switch (i % 11) {
    case 9: fmt = "{\"iana:sourceIPv4Address\":\"10.4.%d.%d\",\"iana:destinationIPv4Address\":"
                  "\"%s\",\"iana:protocolIdentifier\":6,\"iana:packetDeltaCount\":3,"
                  "\"iana:octetDeltaCount\":100,\"iana@reverse:packetDeltaCount@reverse\":%d,"
                  "\"iana@reverse:octetDeltaCount@reverse\":50,\"iana:flowStartMilliseconds\":1764165600900,"
                  "\"iana:flowEndMilliseconds\":1764165600800}";               /* biflow, clamped */
        return snprintf(out, cap, fmt, (i >> 8) & 255, i & 255,
                        i % 3 == 0 ? "192.0.2.9" : "10.0.0.9", i % 4);
    case 10: return snprintf(out, cap, "{\"@type\":\"ipfix.optionsEntry\",\"iana:exportedFlowRecordTotalCount\":%d}", i);
    case 0: fmt = "{\"src4_addr\":\"10.0.%d.%d\",\"dst4_addr\":\"192.0.2.1\",\"proto\":6,"
                  "\"in_packets\":%d,\"in_bytes\":100,\"first\":1764165600000,\"last\":1764165601000}"; break;
    case 1: fmt = "{\"src4_addr\":\"192.168.%d.%d\",\"dst4_addr\":\"10.0.0.1\",\"proto\":17,"
                  "\"in_packets\":%d,\"in_bytes\":100,\"first\":1764165600000,\"last\":1764165601000}"; break;
    case 2: fmt = "{\"src4_addr\":\"10.1.%d.%d\",\"dst4_addr\":\"192.0.2.1\",\"proto\":6,"
                  "\"in_packets\":%d,\"in_bytes\":1"; break;                         /* truncated */
    case 3: fmt = "{\"src4_addr\":\"10.2.%d.%d\",\"proto\":6,\"in_packets\":%d}"; break;   /* missing */
    case 4: fmt = "{\"src4_addr\":\"10.3.%d.%d\",\"dst4_addr\":\"192.0.2.1\",\"proto\":6,"
                  "\"in_packets\":%d,\"in_bytes\":100,\"first\":1764165600000,\"last\":4102444800000}"; break;
    case 5: fmt = "[%d,%d,%d]\r"; break;
    case 6: return 0;                                                              /* empty */
    case 7:
        if (i % 5 == 0) {                                                           /* too long */
            memset(out, ' ', MAX_LINE + 1);
            return MAX_LINE + 1;
        }
        fmt = "not json %d %d %d"; break;
    default: fmt = "{\"src4_addr\":\"10.9.%d.%d\",\"dst4_addr\":\"10.0.0.2\",\"proto\":1,"
                   "\"in_packets\":%d,\"in_bytes\":60,\"first\":1764165600000,\"last\":1764165600500}"; break;
    }
    return snprintf(out, cap, fmt, (i >> 8) & 255, i & 255, i);
}

static unsigned expected(int i, hf_flow f[2])
{
    char line[MAX_LINE + 64];
    int len = make_line(i, line, sizeof line);
    if (len > MAX_LINE) return HF_LINE_TOO_LONG;
    return hf_line_classify(&CTX, line, (size_t)len, nets, FUTURE_MS, f);
}

/* Check a chunk taken back against lines *next.. of the stream. */
static int check_chunk(const hf_chunk *c, int *next)
{
    int ok = 1;
    uint32_t f = 0;
    for (uint32_t k = 0; k < c->n; k++, (*next)++) {
        hf_flow want[2];
        char line[MAX_LINE + 64];
        unsigned st = expected(*next, want);
        int len = make_line(*next, line, sizeof line);
        size_t got_len;
        const char *got = hf_chunk_line(c, k, &got_len);
        if (c->status[k] != st) ok = 0;
        if (got_len != (size_t)len || memcmp(got, line, (size_t)len) != 0) ok = 0;
        for (int k2 = 0; k2 < hf_line_flows(st); k2++)
            if (memcmp(&c->flows[f++], &want[k2], sizeof want[k2]) != 0) ok = 0;
    }
    return ok;
}

/* Push n lines through threads decoders in blocks of random sizes (whole
 * lines), taking back with or without waiting as rnd says. */
static int run_stream(int threads, int n, unsigned rnd)
{
    hf_decoders *d = hf_decoders_new(threads, nets, &CTX, FUTURE_MS, MAX_LINE);
    if (!d) return 0;
    int next_line = 0, next_back = 0, ok = 1;
    char line[MAX_LINE + 64];
    while (next_line < n || hf_decoders_in_flight(d) > 0) {
        hf_chunk *c;
        rnd = rnd * 1103515245u + 12345u;
        int wait = next_line >= n || (rnd >> 16) % 5 == 0;
        while ((c = hf_decoders_take(d, wait))) {
            ok &= check_chunk(c, &next_back);
            hf_decoders_release(d, c);
            if (next_line < n && (rnd >> 20) % 3) break;
        }
        if (next_line >= n) continue;
        while (!(c = hf_decoders_fill(d))) {
            c = hf_decoders_take(d, 1);
            ok &= check_chunk(c, &next_back);
            hf_decoders_release(d, c);
        }
        int want = 1 + (int)((rnd >> 8) % 700);
        c->name = "test";
        for (int k = 0; k < want && next_line < n; k++, next_line++) {
            int len = make_line(next_line, line, sizeof line);
            if (c->len + (size_t)len + 1 > c->cap) break;
            memcpy(c->bytes + c->len, line, (size_t)len);
            c->len += (size_t)len;
            c->bytes[c->len++] = '\n';
        }
        hf_decoders_submit(d, c);
    }
    if (next_back != n) ok = 0;
    hf_decoders_free(d);
    return ok;
}

/* A stream the decoder threads read themselves (hf_decoders_submit_read):
 * blocks of whole lines of random sizes, once a line too long for the
 * chunk, then the end, for ever.  inside catches two reads at once. */
typedef struct {
    int next, n, too_long_at, reads, overlaps;
    _Atomic int inside;
    unsigned rnd;
} line_source;

static long source_read(void *arg, char *dst, size_t cap)
{
    line_source *s = arg;
    if (atomic_fetch_add(&s->inside, 1) != 0) s->overlaps++;
    long got = 0;
    s->reads++;
    if (s->reads == s->too_long_at) {
        got = HF_CHUNK_TOO_LONG;
    } else {
        s->rnd = s->rnd * 1103515245u + 12345u;
        int want = 1 + (int)((s->rnd >> 8) % 700);
        char line[MAX_LINE + 64];
        for (int k = 0; k < want && s->next < s->n; k++) {
            int len = make_line(s->next, line, sizeof line);
            if ((size_t)got + (size_t)len + 1 > cap) break;
            memcpy(dst + got, line, (size_t)len);
            got += len;
            dst[got++] = '\n';
            s->next++;
        }
    }
    atomic_fetch_sub(&s->inside, 1);
    return got;
}

static int run_reads(int threads, int n)
{
    hf_decoders *d = hf_decoders_new(threads, nets, &CTX, FUTURE_MS, MAX_LINE);
    if (!d) return 0;
    line_source src = {.n = n, .too_long_at = 5, .rnd = (unsigned)threads};
    int next_back = 0, ok = 1, ended = 0, too_long = 0, after_end = 0;
    while (!ended || hf_decoders_in_flight(d) > 0) {
        hf_chunk *c;
        if (!ended && (c = hf_decoders_fill(d))) {
            hf_decoders_submit_read(d, c, source_read, &src);
            continue;
        }
        c = hf_decoders_take(d, 1);
        if (c->got == HF_CHUNK_TOO_LONG) {       /* a line of its own, skipped */
            too_long++;
            ok &= c->n == 1 && c->status[0] == HF_LINE_TOO_LONG;
        } else if (ended) {
            after_end++;
            ok &= c->got == HF_CHUNK_END && c->n == 0;
        } else {
            ended = c->got == HF_CHUNK_END;
            ok &= check_chunk(c, &next_back);
        }
        hf_decoders_release(d, c);
    }
    hf_decoders_free(d);
    return ok && next_back == n && too_long == 1 && src.overlaps == 0;
}

TEST(chunks_read_on_the_threads_come_back_in_the_order_submitted)
{
    for (int t = 1; t <= 4; t++) CHECK(run_reads(t, 20000));
    CHECK(run_reads(3, 0));                 /* an empty input: the first read is the end */
}

TEST(classify_tells_flows_from_filtered_future_and_rejected_lines)
{
    hf_flow f[2];
    CHECK_EQ_INT(expected(0, f), HF_LINE_FLOW);
    CHECK_EQ_INT(f[0].proto, 6);
    CHECK_EQ_INT(f[0].mark, 0);                            /* for its source */
    CHECK_EQ_INT(expected(1, f), HF_LINE_FLOW);            /* to a monitored host only */
    CHECK_EQ_INT(f[0].mark, HF_FLOW_DST | HF_FLOW_NO_SRC | HF_FLOW_SRC_OUT);
    CHECK_EQ_INT(expected(8, f), HF_LINE_FLOW);            /* both ends monitored */
    CHECK_EQ_INT(f[0].mark, HF_FLOW_DST);
    static const char outside[] = "{\"src4_addr\":\"192.168.0.1\",\"dst4_addr\":\"192.0.2.1\","
                                  "\"proto\":6,\"in_packets\":1,\"in_bytes\":60,\"first\":1764165600000,"
                                  "\"last\":1764165601000}";
    CHECK_EQ_INT(hf_line_classify(&CTX, outside, sizeof outside - 1, nets, FUTURE_MS, f), HF_LINE_FILTERED);
    CHECK_EQ_INT(expected(2, f), HF_DECODE_MALFORMED);
    CHECK_EQ_INT(expected(3, f), HF_DECODE_MISSING_FIELD);
    CHECK_EQ_INT(expected(4, f), HF_LINE_FUTURE);
    CHECK_EQ_INT(expected(5, f), HF_DECODE_NOT_OBJECT);
    CHECK_EQ_INT(expected(6, f), HF_DECODE_MALFORMED);
    CHECK_EQ_INT(expected(40, f), HF_LINE_TOO_LONG);
    CHECK_EQ_INT(expected(10, f), HF_DECODE_OPTIONS);
}

/* A biflow record: two outcomes in one status, the kept flows first. */
TEST(classify_gives_a_biflow_two_outcomes)
{
    hf_flow f[2];
    unsigned st = expected(9, f);                     /* 9 % 3 == 0: the reverse source is outside */
    CHECK_EQ_INT(HF_LINE_FIRST(st), HF_LINE_FLOW);
    CHECK(st & HF_LINE_CLAMPED);
    CHECK(hf_line_has_second(st));                    /* 9 % 4: reverse packets 1 */
    CHECK_EQ_INT(HF_LINE_FIRST(hf_line_second(st)), HF_LINE_FLOW);   /* ... to a monitored host */
    CHECK_EQ_INT(f[1].mark, HF_FLOW_DST | HF_FLOW_NO_SRC | HF_FLOW_SRC_OUT);
    CHECK(hf_line_second(st) & HF_LINE_CLAMPED);
    CHECK_EQ_INT(hf_line_flows(st), 2);
    st = expected(31, f);                             /* reverse inside, 3 packets back */
    CHECK_EQ_INT(hf_line_flows(st), 2);
    CHECK_EQ_INT(f[1].packets, 3);
    CHECK(memcmp(f[1].dst, f[0].src, 16) == 0);
    st = expected(20, f);                             /* no packets back: one flow */
    CHECK(!hf_line_has_second(st));
    CHECK_EQ_INT(hf_line_flows(st), 1);
}

TEST(lines_come_back_in_order_with_one_to_four_threads)
{
    for (int t = 1; t <= 4; t++) CHECK(run_stream(t, 30000, 7u * (unsigned)t));
}

TEST(a_block_split_keeps_a_last_line_without_newline)
{
    hf_decoders *d = hf_decoders_new(2, nets, &CTX, FUTURE_MS, MAX_LINE);
    hf_chunk *c = hf_decoders_fill(d);
    const char *text = "{}\n\n[1]";
    memcpy(c->bytes, text, strlen(text));
    c->len = strlen(text);
    hf_decoders_submit(d, c);
    c = hf_decoders_take(d, 1);
    CHECK(c != NULL);
    if (c) {
        size_t len;
        CHECK_EQ_INT(c->n, 3);
        CHECK_EQ_INT(c->status[0], HF_DECODE_MISSING_FIELD);
        CHECK_EQ_INT(c->status[1], HF_DECODE_MALFORMED);
        CHECK_EQ_INT(c->status[2], HF_DECODE_NOT_OBJECT);
        CHECK(hf_chunk_line(c, 2, &len) == c->bytes + 4 && len == 3);
        hf_decoders_release(d, c);
    }
    c = hf_decoders_fill(d);                       /* a line the input skipped */
    c->too_long = 1;
    hf_decoders_submit(d, c);
    c = hf_decoders_take(d, 1);
    CHECK(c && c->n == 1 && c->status[0] == HF_LINE_TOO_LONG);
    if (c) hf_decoders_release(d, c);
    CHECK(hf_decoders_take(d, 1) == NULL);         /* nothing in flight */
    hf_decoders_free(d);
}

TEST(a_block_of_newlines_only_is_a_line_each)
{
    hf_decoders *d = hf_decoders_new(1, nets, &CTX, FUTURE_MS, MAX_LINE);
    hf_chunk *c = hf_decoders_fill(d);
    memset(c->bytes, '\n', c->cap);
    c->len = c->cap;
    hf_decoders_submit(d, c);
    c = hf_decoders_take(d, 1);
    CHECK(c != NULL);
    if (c) {
        CHECK_EQ_INT(c->n, c->cap);
        CHECK_EQ_INT(c->status[c->n - 1], HF_DECODE_MALFORMED);
        hf_decoders_release(d, c);
    }
    hf_decoders_free(d);
}

TEST(the_ring_refuses_a_chunk_when_every_one_is_in_flight)
{
    hf_decoders *d = hf_decoders_new(1, nets, &CTX, FUTURE_MS, MAX_LINE);
    int n = 0;
    hf_chunk *c;
    while ((c = hf_decoders_fill(d))) {
        memcpy(c->bytes, "{}\n", 3);
        c->len = 3;
        hf_decoders_submit(d, c);
        n++;
        CHECK(n <= 64);
        if (n > 64) break;
    }
    CHECK_EQ_INT(hf_decoders_in_flight(d), n);
    c = hf_decoders_take(d, 1);
    hf_decoders_release(d, c);
    CHECK(hf_decoders_fill(d) != NULL);            /* one slot free again */
    while ((c = hf_decoders_take(d, 1))) hf_decoders_release(d, c);
    hf_decoders_free(d);
}

/* Records added one by one (Kafka messages): each decoded whole, newlines
 * in it and all, with no max_line, its partition and offset kept; a record
 * that does not fit is refused and the chunk left as it was. */
TEST(records_come_back_whole_with_their_partitions_and_offsets)
{
    hf_decoders *d = hf_decoders_new(3, nets, &CTX, FUTURE_MS, MAX_LINE);
    char line[MAX_LINE + 64], *big = malloc(MAX_LINE * 2);
    const char *pretty = "{\n  \"src4_addr\": \"10.0.0.7\",\n  \"dst4_addr\": \"192.0.2.1\",\n"
                         "  \"proto\": 6, \"in_packets\": 2, \"in_bytes\": 80,\n"
                         "  \"first\": 1764165600000, \"last\": 1764165601000\n}\n";
    /* a flow padded past MAX_LINE with spaces: a record, not a line, so decoded */
    int blen = snprintf(big, MAX_LINE * 2, "%s", pretty);
    memset(big + blen - 2, ' ', MAX_LINE);
    memcpy(big + blen - 2 + MAX_LINE, "}", 1);
    blen = blen - 2 + MAX_LINE + 1;
    int next = 0, back = 0, ok = 1;
    const int n = 5000;
    while (back < n) {
        hf_chunk *c = hf_decoders_fill(d);
        if (!c) {
            c = hf_decoders_take(d, 1);
            for (uint32_t k = 0; k < c->n; k++, back++) {
                const char *rec;
                int len;
                if (back % 7 == 3) rec = pretty, len = (int)strlen(pretty);
                else if (back % 7 == 5) rec = big, len = blen;
                else len = make_line(back, line, sizeof line), rec = line;
                hf_flow want[2];
                unsigned st = hf_line_classify(&CTX, rec, (size_t)len, nets, FUTURE_MS, want);
                size_t got_len;
                const char *got = hf_chunk_line(c, k, &got_len);
                if (c->status[k] != st || got_len != (size_t)len || memcmp(got, rec, (size_t)len) ||
                    c->part[k] != back % 4 || c->offset[k] != 1000 + back)
                    ok = 0;
            }
            hf_decoders_release(d, c);
            continue;
        }
        for (int k = 0; k < 300 && next < n; k++, next++) {
            const char *rec;
            int len;
            if (next % 7 == 3) rec = pretty, len = (int)strlen(pretty);
            else if (next % 7 == 5) rec = big, len = blen;
            else len = make_line(next, line, sizeof line), rec = line;
            if (hf_chunk_add_record(c, next % 4, 1000 + next, rec, (size_t)len) < 0) break;
        }
        CHECK(c->nrec > 0);
        if (next >= n) {                       /* the last: refused whole when too big */
            size_t len = c->len;
            uint32_t nrec = c->nrec;
            CHECK_EQ_INT(hf_chunk_add_record(c, 0, 0, big, c->cap), -1);
            CHECK(c->len == len && c->nrec == nrec);
        }
        hf_decoders_submit(d, c);
        if (next >= n)
            while ((c = hf_decoders_take(d, 1))) {
                for (uint32_t k = 0; k < c->n; k++, back++) {
                    const char *rec;
                    int len;
                    if (back % 7 == 3) rec = pretty, len = (int)strlen(pretty);
                    else if (back % 7 == 5) rec = big, len = blen;
                    else len = make_line(back, line, sizeof line), rec = line;
                    hf_flow want[2];
                    unsigned st = hf_line_classify(&CTX, rec, (size_t)len, nets, FUTURE_MS, want);
                    size_t got_len;
                    const char *got = hf_chunk_line(c, k, &got_len);
                    if (c->status[k] != st || got_len != (size_t)len || memcmp(got, rec, (size_t)len) ||
                        c->part[k] != back % 4 || c->offset[k] != 1000 + back)
                        ok = 0;
                }
                hf_decoders_release(d, c);
            }
    }
    CHECK(ok);
    CHECK_EQ_INT(back, n);
    hf_flow f[2];
    CHECK_EQ_INT(hf_line_classify(&CTX, pretty, strlen(pretty), nets, FUTURE_MS, f), HF_LINE_FLOW);
    CHECK_EQ_INT(hf_line_classify(&CTX, big, (size_t)blen, nets, FUTURE_MS, f), HF_LINE_FLOW);
    free(big);
    hf_decoders_free(d);
}

int main(void)
{
    char err[256];
    nets = hf_prefixes_new();
    hf_prefixes_add(nets, "10.0.0.0/8", err, sizeof err);
    RUN(classify_tells_flows_from_filtered_future_and_rejected_lines);
    RUN(classify_gives_a_biflow_two_outcomes);
    RUN(lines_come_back_in_order_with_one_to_four_threads);
    RUN(a_block_split_keeps_a_last_line_without_newline);
    RUN(a_block_of_newlines_only_is_a_line_each);
    RUN(the_ring_refuses_a_chunk_when_every_one_is_in_flight);
    RUN(records_come_back_whole_with_their_partitions_and_offsets);
    RUN(chunks_read_on_the_threads_come_back_in_the_order_submitted);
    hf_prefixes_free(nets);
    return UNIT_END();
}
