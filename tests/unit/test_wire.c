/* test_wire.c -- the messages between instances (stream/wire.c): flows
 * round-trip through the binary form and the normalised JSON, every
 * malformed form is refused, partials and progress read back what was
 * written. */
#include <stdint.h>
#include <string.h>

#include "base/addr.h"
#include "stream/decode.h"
#include "stream/decoders.h"
#include "stream/wire.h"
#include "unit.h"

static hf_flow make_flow(const char *src, const char *dst)
{
    hf_flow f;
    memset(&f, 0, sizeof f);
    hf_addr_parse(src, strlen(src), f.src, &f.family);
    hf_addr_parse(dst, strlen(dst), f.dst, &f.family);
    f.sport = 51234;
    f.dport = 443;
    f.proto = 6;
    f.tcp_flags = 0x1b;
    f.packets = 12;
    f.bytes = 3456;
    f.start_ms = 1764165600000.0;
    f.end_ms = 1764165601234.0;
    return f;
}

static int same_flow(const hf_flow *a, const hf_flow *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

TEST(a_flow_survives_the_binary_form_v4_and_v6)
{
    hf_flow in[3] = {make_flow("10.1.2.3", "192.0.2.7"), make_flow("2001:db8::1", "2001:db8::ff"),
                     make_flow("0.0.0.0", "255.255.255.255")};
    in[2].packets = HF_MAX_EXACT_INT;
    in[2].bytes = 0;
    in[2].start_ms = 0;
    in[2].end_ms = 253402300799999.0;
    for (int i = 0; i < 3; i++) {
        uint8_t buf[HF_WIRE_FLOW_MAX];
        size_t n = hf_wire_flow_encode(&in[i], buf);
        CHECK(n <= HF_WIRE_FLOW_MAX);
        CHECK_EQ_INT(hf_wire_kind(buf, n), HF_WIRE_FLOW);
        hf_flow out;
        CHECK_EQ_INT(hf_wire_flow_decode(buf, n, &out), HF_DECODE_OK);
        CHECK(same_flow(&in[i], &out));
    }
    uint8_t buf[HF_WIRE_FLOW_MAX];
    CHECK_EQ_INT(hf_wire_flow_encode(&in[0], buf), 27);   /* wire.h: "about 27 bytes" */
}

TEST(a_binary_flow_is_refused_unless_whole_and_canonical)
{
    hf_flow f = make_flow("10.1.2.3", "192.0.2.7"), out;
    uint8_t buf[HF_WIRE_FLOW_MAX + 1];
    size_t n = hf_wire_flow_encode(&f, buf);
    for (size_t cut = 0; cut < n; cut++)
        CHECK(hf_wire_flow_decode(buf, cut, &out) != HF_DECODE_OK);
    buf[n] = 0;
    CHECK_EQ_INT(hf_wire_flow_decode(buf, n + 1, &out), HF_DECODE_MALFORMED);   /* a byte too many */
    buf[1] = 16;
    CHECK_EQ_INT(hf_wire_flow_decode(buf, n, &out), HF_DECODE_BAD_ADDRESS);     /* unknown bits */
    buf[1] = 1 << 1 | 2 << 1;                                                    /* a copy for the destination */
    CHECK_EQ_INT(hf_wire_flow_decode(buf, n, &out), HF_DECODE_OK);
    CHECK_EQ_INT(out.mark, HF_FLOW_DST | HF_FLOW_NO_SRC);
    /* a varint with a needless zero group: 12 packets as 0x8c 0x00 */
    uint8_t longer[HF_WIRE_FLOW_MAX + 1];
    n = hf_wire_flow_encode(&f, longer);
    size_t at = 2 + 4 + 4 + 6;
    CHECK_EQ_INT(longer[at], 12);
    memmove(longer + at + 2, longer + at + 1, n - at - 1);
    longer[at] = 0x8c;
    longer[at + 1] = 0x00;
    CHECK_EQ_INT(hf_wire_flow_decode(longer, n + 1, &out), HF_DECODE_MALFORMED);
    /* a duration longer than the end: the start would be negative */
    f.start_ms = 0;
    f.end_ms = 5;
    n = hf_wire_flow_encode(&f, buf);
    buf[n - 1] = 6;
    CHECK_EQ_INT(hf_wire_flow_decode(buf, n, &out), HF_DECODE_BAD_TIME);
}

TEST(the_normalised_json_decodes_to_the_same_flow)
{
    hf_flow in[2] = {make_flow("10.1.2.3", "192.0.2.7"), make_flow("2001:db8::1", "2001:db8::ff")};
    for (int i = 0; i < 2; i++) {
        char text[HF_WIRE_FLOW_JSON];
        size_t n = hf_wire_flow_json(&in[i], text);
        CHECK(n < HF_WIRE_FLOW_JSON);
        CHECK_EQ_INT(hf_wire_kind(text, n), HF_WIRE_TEXT);
        hf_flow out;
        CHECK_EQ_INT(hf_decode_flow(text, n, &out), HF_DECODE_OK);
        CHECK(same_flow(&in[i], &out));
    }
    char text[HF_WIRE_FLOW_JSON];
    size_t n = hf_wire_flow_json(&in[0], text);
    text[n] = 0;
    CHECK_EQ_STR(text, "{\"src4_addr\":\"10.1.2.3\",\"dst4_addr\":\"192.0.2.7\",\"src_port\":51234,"
                       "\"dst_port\":443,\"proto\":6,\"tcp_flags\":27,\"in_packets\":12,"
                       "\"in_bytes\":3456,\"first\":\"2025-11-26T14:00:00.000Z\","
                       "\"last\":\"2025-11-26T14:00:01.234Z\"}");
}

TEST(classify_takes_binary_flows_and_json_alike)
{
    static const hf_decode_ctx ctx = {NULL, 1000};
    hf_flow f = make_flow("10.1.2.3", "192.0.2.7"), out[2];
    uint8_t buf[HF_WIRE_FLOW_MAX];
    size_t n = hf_wire_flow_encode(&f, buf);
    hf_prefixes *nets = hf_prefixes_new();
    CHECK_EQ_INT(hf_line_classify(&ctx, (const char *)buf, n, nets, 1e15, out), HF_LINE_FLOW);
    CHECK(same_flow(&f, &out[0]));
    CHECK_EQ_INT(hf_line_classify(&ctx, (const char *)buf, n - 1, nets, 1e15, out), HF_DECODE_MALFORMED);
    hf_prefixes_free(nets);
}

TEST(a_partial_reads_back_what_was_written)
{
    hf_buf b;
    hf_buf_init(&b, 64);
    uint8_t addr[16];
    uint8_t fam;
    hf_addr_parse("2001:db8::5", 11, addr, &fam);
    const uint8_t st1[] = {1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 240, 63};
    hf_wire_partial_begin(&b, addr, fam, 1, 0, 1764165610000LL, 10000, 3);
    hf_wire_partial_state(&b, "total", 0, st1, sizeof st1);
    hf_wire_partial_state(&b, "peer_number", 1, NULL, 0);
    hf_wire_partial_state(&b, "empty", 0, st1, 0);
    hf_wire_partial p;
    CHECK_EQ_INT(hf_wire_kind(b.data, b.len), HF_WIRE_PARTIAL);
    CHECK_EQ_INT(hf_wire_partial_parse(b.data, b.len, &p), 0);
    CHECK(memcmp(p.addr, addr, 16) == 0);
    CHECK_EQ_INT(p.family, HF_AF_INET6);
    CHECK(p.sent && !p.received);
    CHECK_EQ_INT(p.start_ms, 1764165610000LL);
    CHECK_EQ_INT(p.g_ms, 10000);
    CHECK_EQ_INT(p.n, 3);
    CHECK(p.states[0].name_len == 5 && memcmp(p.states[0].name, "total", 5) == 0);
    CHECK(p.states[0].len == sizeof st1 && memcmp(p.states[0].bytes, st1, sizeof st1) == 0);
    CHECK(p.states[1].omitted && p.states[1].len == 0);
    CHECK(!p.states[2].omitted && p.states[2].len == 0);
    for (size_t cut = 0; cut < b.len; cut++) CHECK(hf_wire_partial_parse(b.data, cut, &p) != 0);
    hf_buf_putc(&b, 0);
    CHECK(hf_wire_partial_parse(b.data, b.len, &p) != 0);
    hf_buf_release(&b);
}

TEST(progress_reads_back_its_marks)
{
    hf_buf b;
    hf_buf_init(&b, 64);
    hf_wire_mark in[3] = {{0, 1764165600000LL}, {5, 0}, {7, HF_WIRE_END}};
    hf_wire_progress_write(&b, HF_WIRE_FLOWS, "partial-1", "flows", 8, in, 3);
    hf_wire_mark marks[8];
    hf_wire_progress p;
    CHECK_EQ_INT(hf_wire_kind(b.data, b.len), HF_WIRE_PROGRESS);
    CHECK_EQ_INT(hf_wire_progress_parse(b.data, b.len, &p, marks, 8), 0);
    CHECK_EQ_INT(p.kind, HF_WIRE_FLOWS);
    CHECK(p.producer_len == 9 && memcmp(p.producer, "partial-1", 9) == 0);
    CHECK(p.topic_len == 5 && memcmp(p.topic, "flows", 5) == 0);
    CHECK_EQ_INT(p.partitions, 8);
    CHECK_EQ_INT(p.n, 3);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(marks[i].partition, in[i].partition);
        CHECK(marks[i].through == in[i].through);
    }
    CHECK(hf_wire_progress_parse(b.data, b.len, &p, marks, 2) != 0);   /* more marks than room */
    for (size_t cut = 0; cut < b.len; cut++) CHECK(hf_wire_progress_parse(b.data, cut, &p, marks, 8) != 0);
    hf_wire_mark bad = {8, 0};                                          /* partition past the count */
    b.len = 0;
    hf_wire_progress_write(&b, HF_WIRE_WINDOWS, "p", "flows", 8, &bad, 1);
    CHECK(hf_wire_progress_parse(b.data, b.len, &p, marks, 8) != 0);
    hf_buf_release(&b);
}

int main(void)
{
    RUN(a_flow_survives_the_binary_form_v4_and_v6);
    RUN(a_binary_flow_is_refused_unless_whole_and_canonical);
    RUN(the_normalised_json_decodes_to_the_same_flow);
    RUN(classify_takes_binary_flows_and_json_alike);
    RUN(a_partial_reads_back_what_was_written);
    RUN(progress_reads_back_its_marks);
    return UNIT_END();
}
