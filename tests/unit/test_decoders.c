/* test_decoders.c -- decoding on threads: every line comes back in input
 * order with what hf_line_classify says of it, whatever the number of
 * threads and however the reader interleaves filling and taking back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decoders.h"
#include "unit.h"

#define FUTURE_MS 1764252000000.0   /* "now" plus a day */

static hf_prefixes *nets;

/* Line i of a stream mixing every outcome: flows in and outside the
 * monitored network, malformed and truncated JSON, a missing field, a flow
 * from the far future, and (too_long) lines the input skipped. */
static int make_line(int i, char *out, size_t cap, int *too_long)
{
    *too_long = i % 97 == 5;
    const char *fmt;
    switch (i % 7) {
    case 0: fmt = "{\"src4_addr\":\"10.0.%d.%d\",\"dst4_addr\":\"192.0.2.1\",\"proto\":6,"
                  "\"in_packets\":%d,\"in_bytes\":100,\"first\":1764165600000,\"last\":1764165601000}"; break;
    case 1: fmt = "{\"src4_addr\":\"192.168.%d.%d\",\"dst4_addr\":\"10.0.0.1\",\"proto\":17,"
                  "\"in_packets\":%d,\"in_bytes\":100,\"first\":1764165600000,\"last\":1764165601000}"; break;
    case 2: fmt = "{\"src4_addr\":\"10.1.%d.%d\",\"dst4_addr\":\"192.0.2.1\",\"proto\":6,"
                  "\"in_packets\":%d,\"in_bytes\":1"; break;                         /* truncated */
    case 3: fmt = "{\"src4_addr\":\"10.2.%d.%d\",\"proto\":6,\"in_packets\":%d}"; break;   /* missing */
    case 4: fmt = "{\"src4_addr\":\"10.3.%d.%d\",\"dst4_addr\":\"192.0.2.1\",\"proto\":6,"
                  "\"in_packets\":%d,\"in_bytes\":100,\"first\":1764165600000,\"last\":4102444800000}"; break;
    case 5: fmt = "[%d,%d,%d]"; break;
    default: fmt = "not json %d %d %d"; break;
    }
    return snprintf(out, cap, fmt, (i >> 8) & 255, i & 255, i);
}

/* Push n lines through threads decoders, taking back with or without
 * waiting as rnd says; every line must come back in order, as classified
 * in this thread. */
static int run_stream(int threads, int n, unsigned rnd)
{
    hf_decoders *d = hf_decoders_new(threads, nets, FUTURE_MS);
    if (!d) return 0;
    int next_back = 0, ok = 1, submitted = 0;
    char line[512];
    hf_chunk *filling = NULL;
    for (int i = 0; i <= n; i++) {
        hf_chunk *c;
        rnd = rnd * 1103515245u + 12345u;
        int last = i == n;
        /* take back whatever is decoded; sometimes wait for it */
        while ((c = hf_decoders_take(d, last || (rnd >> 16) % 5 == 0))) {
            for (int k = 0; k < c->n; k++, next_back++) {
                int tl;
                int len = make_line(next_back, line, sizeof line, &tl);
                hf_flow f;
                int want = tl ? HF_LINE_TOO_LONG : hf_line_classify(line, (size_t)len, nets, FUTURE_MS, &f);
                if (c->status[k] != want) ok = 0;
                if (want == HF_LINE_FLOW && memcmp(&c->flows[k], &f, sizeof f) != 0) ok = 0;
                if (c->first_lineno + (uint64_t)k != (uint64_t)next_back + 1) ok = 0;
                if (!tl && (c->lens[k] != (uint32_t)len ||
                            memcmp(c->bytes + c->off[k], line, (size_t)len) != 0)) ok = 0;
            }
            hf_decoders_release(d, c);
            if (!last && (rnd >> 20) % 3) break;
        }
        if (last) {
            if (filling && filling->n) {
                hf_decoders_submit(d, filling);
                filling = NULL;
                i--;              /* once more, to take it back */
                n = i + 1;
                continue;
            }
            break;
        }
        if (!filling) {
            while (!(filling = hf_decoders_fill(d))) {
                c = hf_decoders_take(d, 1);
                for (int k = 0; k < c->n; k++, next_back++) {
                    int tl;
                    int len = make_line(next_back, line, sizeof line, &tl);
                    hf_flow f;
                    int want = tl ? HF_LINE_TOO_LONG : hf_line_classify(line, (size_t)len, nets, FUTURE_MS, &f);
                    if (c->status[k] != want) ok = 0;
                }
                hf_decoders_release(d, c);
            }
            filling->name = "test";
            filling->first_lineno = (uint64_t)i + 1;
        }
        int tl;
        int len = make_line(i, line, sizeof line, &tl);
        if (hf_chunk_add(filling, line, (size_t)len, tl) || (rnd >> 8) % 301 == 0) {
            hf_decoders_submit(d, filling);
            submitted++;
            filling = NULL;
        }
    }
    if (next_back != n) ok = 0;
    if (hf_decoders_in_flight(d) != 0) ok = 0;
    hf_decoders_free(d);
    return ok;
}

TEST(classify_tells_flows_from_filtered_future_and_rejected_lines)
{
    char line[512];
    hf_flow f;
    int tl;
    int len = make_line(0, line, sizeof line, &tl);
    CHECK_EQ_INT(hf_line_classify(line, (size_t)len, nets, FUTURE_MS, &f), HF_LINE_FLOW);
    CHECK_EQ_INT(f.proto, 6);
    len = make_line(1, line, sizeof line, &tl);
    CHECK_EQ_INT(hf_line_classify(line, (size_t)len, nets, FUTURE_MS, &f), HF_LINE_FILTERED);
    len = make_line(2, line, sizeof line, &tl);
    CHECK_EQ_INT(hf_line_classify(line, (size_t)len, nets, FUTURE_MS, &f), HF_DECODE_MALFORMED);
    len = make_line(3, line, sizeof line, &tl);
    CHECK_EQ_INT(hf_line_classify(line, (size_t)len, nets, FUTURE_MS, &f), HF_DECODE_MISSING_FIELD);
    len = make_line(4, line, sizeof line, &tl);
    CHECK_EQ_INT(hf_line_classify(line, (size_t)len, nets, FUTURE_MS, &f), HF_LINE_FUTURE);
    len = make_line(5, line, sizeof line, &tl);
    CHECK_EQ_INT(hf_line_classify(line, (size_t)len, nets, FUTURE_MS, &f), HF_DECODE_NOT_OBJECT);
    CHECK_EQ_INT(hf_line_classify("", 0, nets, FUTURE_MS, &f), HF_DECODE_MALFORMED);
}

TEST(lines_come_back_in_order_with_one_to_four_threads)
{
    for (int t = 1; t <= 4; t++) CHECK(run_stream(t, 30000, 7u * (unsigned)t));
}

TEST(a_chunk_full_by_bytes_takes_a_line_longer_than_itself)
{
    hf_decoders *d = hf_decoders_new(2, nets, FUTURE_MS);
    hf_chunk *c = hf_decoders_fill(d);
    size_t big = 3 * HF_CHUNK_BYTES;
    char *line = malloc(big);
    memset(line, 'x', big);
    CHECK_EQ_INT(hf_chunk_add(c, "{}", 2, 0), 0);
    CHECK_EQ_INT(hf_chunk_add(c, line, big, 0), 1);       /* full by bytes */
    hf_decoders_submit(d, c);
    c = hf_decoders_take(d, 1);
    CHECK(c != NULL);
    if (c) {
        CHECK_EQ_INT(c->n, 2);
        CHECK_EQ_INT(c->status[0], HF_DECODE_MISSING_FIELD);
        CHECK_EQ_INT(c->status[1], HF_DECODE_MALFORMED);
        CHECK_EQ_INT(c->lens[1], big);
        hf_decoders_release(d, c);
    }
    CHECK(hf_decoders_take(d, 1) == NULL);               /* nothing in flight */
    free(line);
    hf_decoders_free(d);
}

TEST(the_ring_refuses_a_chunk_when_every_one_is_in_flight)
{
    hf_decoders *d = hf_decoders_new(1, nets, FUTURE_MS);
    int n = 0;
    hf_chunk *c;
    while ((c = hf_decoders_fill(d))) {
        hf_chunk_add(c, "{}", 2, 0);
        hf_decoders_submit(d, c);
        n++;
        CHECK(n <= 64);
        if (n > 64) break;
    }
    CHECK_EQ_INT(hf_decoders_in_flight(d), n);
    c = hf_decoders_take(d, 1);
    hf_decoders_release(d, c);
    CHECK(hf_decoders_fill(d) != NULL);                   /* one slot free again */
    while ((c = hf_decoders_take(d, 1))) hf_decoders_release(d, c);
    hf_decoders_free(d);
}

int main(void)
{
    char err[256];
    nets = hf_prefixes_new();
    hf_prefixes_add(nets, "10.0.0.0/8", err, sizeof err);
    RUN(classify_tells_flows_from_filtered_future_and_rejected_lines);
    RUN(lines_come_back_in_order_with_one_to_four_threads);
    RUN(a_chunk_full_by_bytes_takes_a_line_longer_than_itself);
    RUN(the_ring_refuses_a_chunk_when_every_one_is_in_flight);
    hf_prefixes_free(nets);
    return UNIT_END();
}
