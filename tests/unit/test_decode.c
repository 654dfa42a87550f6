/* test_decode.c -- the flow decoders (core/decode.c, core/decode_cjson.c).
 *
 * Every line is decoded from a heap copy of exactly its length, so that
 * AddressSanitizer stops a read past the end.  Most checks run both
 * decoders and require the same status (and the same flow when OK); the
 * few places where cJSON is documented to differ are tested as such. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/tz.h"
#include "stream/decode.h"
#include "support/decode_cjson.h"
#include "unit.h"

/* ------------------------------------------------------------------------
 * Helpers
 * --------------------------------------------------------------------- */

typedef int (*decoder)(const char *, size_t, hf_flow *);

/* Decode s[0..n) from an exact heap copy with d. */
static int run(decoder d, const char *s, size_t n, hf_flow *out)
{
    char *copy = malloc(n ? n : 1);
    memcpy(copy, s, n);
    memset(out, 0xA5, sizeof(*out));
    int st = d(copy, n, out);
    free(copy);
    return st;
}

static int flows_equal(const hf_flow *a, const hf_flow *b)
{
    return memcmp(a->src, b->src, 16) == 0 && memcmp(a->dst, b->dst, 16) == 0 &&
           a->start_ms == b->start_ms && a->end_ms == b->end_ms &&
           a->packets == b->packets && a->bytes == b->bytes &&
           a->sport == b->sport && a->dport == b->dport && a->proto == b->proto &&
           a->tcp_flags == b->tcp_flags && a->family == b->family &&
           a->mark == b->mark;
}

/* Decode s[0..n) with both decoders; report and count a disagreement.
 * Returns the fast decoder's status. */
static int both_n(const char *s, size_t n, hf_flow *out)
{
    hf_flow ref;
    int st = run(hf_decode_flow, s, n, out);
    int rs = run(hf_decode_flow_cjson, s, n, &ref);
    if (st != rs || (st == HF_DECODE_OK && !flows_equal(out, &ref))) {
        unit_cur_failed = 1;
        fprintf(stderr, "  FAIL %s: decoders disagree (%s vs cjson %s) on: %.*s\n",
                unit_cur, hf_decode_reason_name(st), hf_decode_reason_name(rs),
                (int)(n > 300 ? 300 : n), s);
    }
    return st;
}

static int both(const char *s, hf_flow *out)
{
    return both_n(s, strlen(s), out);
}

/* The status of s, both decoders agreeing. */
static int status(const char *s)
{
    hf_flow f;
    return both(s, &f);
}

#define CHECK_STATUS(s, want) do { \
    int got_ = status(s); \
    if (got_ != (want)) { \
        unit_cur_failed = 1; \
        fprintf(stderr, "  FAIL %s: %s:%d: %s, want %s: %s\n", unit_cur, __FILE__, \
                __LINE__, hf_decode_reason_name(got_), hf_decode_reason_name(want), s); \
    } } while (0)

/* 16-byte address of an IPv4 one, mapped. */
static void v4(uint8_t out[16], int a, int b, int c, int d)
{
    memset(out, 0, 16);
    out[10] = out[11] = 0xff;
    out[12] = (uint8_t)a; out[13] = (uint8_t)b; out[14] = (uint8_t)c; out[15] = (uint8_t)d;
}

/* A record from a member list: "{" m0 "," m1 ... "}" into buf, leaving out
 * member 'skip' (-1: none). */
static const char *join(char *buf, size_t cap, const char *const *m, int n, int skip)
{
    size_t o = 0;
    buf[o++] = '{';
    for (int i = 0; i < n; i++) {
        if (i == skip) continue;
        o += (size_t)snprintf(buf + o, cap - o, "%s%s", o > 1 ? "," : "", m[i]);
    }
    snprintf(buf + o, cap - o, "}");
    return buf;
}

/* A small nfdump record with one more member appended (or "") */
static const char *nf(char *buf, size_t cap, const char *extra)
{
    snprintf(buf, cap,
             "{\"src4_addr\":\"192.0.2.10\",\"dst4_addr\":\"198.51.100.7\",\"proto\":6,"
             "\"in_packets\":12,\"in_bytes\":3456,\"first\":1000,\"last\":2000%s%s}",
             *extra ? "," : "", extra);
    return buf;
}

/* The status of the small nfdump record with one more member. */
static int with(const char *extra)
{
    char buf[4096];
    return status(nf(buf, sizeof(buf), extra));
}

/* The decoded flow of the small record with one more member (must be OK). */
static hf_flow flow_with(const char *extra)
{
    char buf[4096];
    hf_flow f;
    int st = both(nf(buf, sizeof(buf), extra), &f);
    if (st != HF_DECODE_OK) {
        unit_cur_failed = 1;
        fprintf(stderr, "  FAIL %s: %s for extra member %s\n", unit_cur,
                hf_decode_reason_name(st), extra);
    }
    return f;
}

#define CHECK_WITH(extra, want) do { \
    int got_ = with(extra); \
    if (got_ != (want)) { \
        unit_cur_failed = 1; \
        fprintf(stderr, "  FAIL %s: %s:%d: %s, want %s, with %s\n", unit_cur, __FILE__, \
                __LINE__, hf_decode_reason_name(got_), hf_decode_reason_name(want), extra); \
    } } while (0)

/* Sample lines, one per family, as the collectors write them. */
static const char *const IPFIXCOL_LINE =
    "{\"@type\": \"ipfix.entry\", \"ipfix.octetDeltaCount\": 1500, "
    "\"ipfix.packetDeltaCount\": 10, \"ipfix.flowStartMilliseconds\": 1681216496789, "
    "\"ipfix.flowEndMilliseconds\": 1681216497789, \"ipfix.sourceIPv4Address\": \"192.0.2.10\", "
    "\"ipfix.destinationIPv4Address\": \"198.51.100.7\", \"ipfix.protocolIdentifier\": 6, "
    "\"ipfix.tcpControlBits\": 27, \"ipfix.sourceTransportPort\": 51234, "
    "\"ipfix.destinationTransportPort\": 443, \"ipfix.ipVersion\": 4}";

static const char *const IPFIXCOL2_LINE =
    "{\"@type\":\"ipfix.entry\",\"iana:octetDeltaCount\":3568720,\"iana:packetDeltaCount\":2383,"
    "\"iana:flowStartMilliseconds\":\"2018-05-11T19:44:29.006Z\","
    "\"iana:flowEndMilliseconds\":\"2018-05-11T19:44:30.364Z\",\"iana:ingressInterface\":1,"
    "\"iana:ipVersion\":4,\"iana:sourceIPv4Address\":\"192.168.0.100\","
    "\"iana:destinationIPv4Address\":\"192.168.0.101\",\"iana:ipClassOfService\":0,"
    "\"iana:ipTTL\":62,\"iana:protocolIdentifier\":\"TCP\",\"iana:tcpControlBits\":\".AP.S.\","
    "\"iana:sourceTransportPort\":47200,\"iana:destinationTransportPort\":20810,"
    "\"iana:egressInterface\":0,\"iana:samplingInterval\":0,\"iana:samplingAlgorithm\":0}";

static const char *const NFDUMP_LINE =
    "{\"type\" : \"FLOW\", \"sampled\" : 0, \"export_sysid\" : 1, "
    "\"first\" : \"2023-04-11T12:34:56.789\", \"last\" : \"2023-04-11T12:35:01.002\", "
    "\"received\" : \"2023-04-11T12:35:05.000\", \"in_packets\" : 12, \"in_bytes\" : 3456, "
    "\"proto\" : 6, \"tcp_flags\" : \"...AP.S.\", \"src_port\" : 51234, \"dst_port\" : 443, "
    "\"fwd_status\" : 0, \"src_tos\" : 0, \"src4_addr\" : \"192.0.2.10\", "
    "\"dst4_addr\" : \"198.51.100.7\", \"src_geo\" : \"\", \"dst_geo\" : \"\", "
    "\"input_snmp\" : 0, \"output_snmp\" : 0, \"src_mask\" : 24, \"dst_mask\" : 16, "
    "\"src_net\" : \"192.0.2.0\", \"dst_net\" : \"198.51.0.0\", \"label\" : \"<none>\"}";

static const char *const NFDUMP6_LINE =
    "{\"type\" : \"FLOW\", \"first\" : \"2023-04-11T12:34:56.789\", "
    "\"last\" : \"2023-04-11T12:34:56.789\", \"in_packets\" : 1, \"in_bytes\" : 72, "
    "\"proto\" : 58, \"icmp_type\" : 128, \"icmp_code\" : 0, "
    "\"src6_addr\" : \"2001:db8::1\", \"dst6_addr\" : \"2001:db8:0:1::ff\"}";

/* ------------------------------------------------------------------------
 * The three families
 * --------------------------------------------------------------------- */

TEST(ipfixcol_family)
{
    hf_flow f;
    uint8_t a[16];
    CHECK_EQ_INT(both(IPFIXCOL_LINE, &f), HF_DECODE_OK);
    v4(a, 192, 0, 2, 10);
    CHECK(memcmp(f.src, a, 16) == 0);
    v4(a, 198, 51, 100, 7);
    CHECK(memcmp(f.dst, a, 16) == 0);
    CHECK_EQ_INT(f.family, HF_AF_INET);
    CHECK_EQ_INT(f.mark, 0);
    CHECK_EQ_INT(f.proto, 6);
    CHECK_EQ_INT(f.sport, 51234);
    CHECK_EQ_INT(f.dport, 443);
    CHECK_EQ_INT(f.tcp_flags, 27);
    CHECK(f.packets == 10 && f.bytes == 1500);
    CHECK(f.start_ms == 1681216496789.0 && f.end_ms == 1681216497789.0);
}

TEST(ipfixcol2_family)
{
    hf_flow f;
    uint8_t a[16];
    CHECK_EQ_INT(both(IPFIXCOL2_LINE, &f), HF_DECODE_OK);
    v4(a, 192, 168, 0, 100);
    CHECK(memcmp(f.src, a, 16) == 0);
    v4(a, 192, 168, 0, 101);
    CHECK(memcmp(f.dst, a, 16) == 0);
    CHECK_EQ_INT(f.proto, 6);                                /* "TCP" */
    CHECK_EQ_INT(f.tcp_flags, HF_TCP_ACK | HF_TCP_PSH | HF_TCP_SYN);   /* ".AP.S." */
    CHECK_EQ_INT(f.sport, 47200);
    CHECK_EQ_INT(f.dport, 20810);
    CHECK(f.packets == 2383 && f.bytes == 3568720);
    CHECK(f.start_ms == 1526067869006.0 && f.end_ms == 1526067870364.0);

    /* The same with IPFIXcol2's raw options: numbers everywhere. */
    const char *raw =
        "{\"iana:octetDeltaCount\":3568720,\"iana:packetDeltaCount\":2383,"
        "\"iana:flowStartMilliseconds\":1526067869006,\"iana:flowEndMilliseconds\":1526067870364,"
        "\"iana:sourceIPv4Address\":\"192.168.0.100\",\"iana:destinationIPv4Address\":\"192.168.0.101\","
        "\"iana:protocolIdentifier\":6,\"iana:tcpControlBits\":26,"
        "\"iana:sourceTransportPort\":47200,\"iana:destinationTransportPort\":20810}";
    hf_flow g;
    CHECK_EQ_INT(both(raw, &g), HF_DECODE_OK);
    CHECK(flows_equal(&f, &g));
}

TEST(nfdump_family)
{
    hf_flow f;
    uint8_t a[16];
    CHECK_EQ_INT(both(NFDUMP_LINE, &f), HF_DECODE_OK);
    v4(a, 192, 0, 2, 10);
    CHECK(memcmp(f.src, a, 16) == 0);
    CHECK_EQ_INT(f.proto, 6);
    CHECK_EQ_INT(f.tcp_flags, HF_TCP_ACK | HF_TCP_PSH | HF_TCP_SYN);   /* "...AP.S." */
    CHECK_EQ_INT(f.sport, 51234);
    CHECK_EQ_INT(f.dport, 443);
    CHECK(f.packets == 12 && f.bytes == 3456);
    CHECK(f.start_ms == 1681216496789.0 && f.end_ms == 1681216501002.0);

    /* tcp_flags as a number and as hex text */
    CHECK_EQ_INT(flow_with("\"tcp_flags\":27").tcp_flags, 27);
    CHECK_EQ_INT(flow_with("\"tcp_flags\":\"0x1b\"").tcp_flags, 0x1b);
    CHECK_EQ_INT(flow_with("\"tcp_flags\":\"0X1B\"").tcp_flags, 0x1b);
    CHECK_EQ_INT(flow_with("\"tcp_flags\":\"27\"").tcp_flags, 27);
}

TEST(ipv6)
{
    hf_flow f;
    static const uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xff};
    CHECK_EQ_INT(both(NFDUMP6_LINE, &f), HF_DECODE_OK);
    CHECK(memcmp(f.src, src, 16) == 0);
    CHECK(memcmp(f.dst, dst, 16) == 0);
    CHECK_EQ_INT(f.family, HF_AF_INET6);
    CHECK_EQ_INT(f.proto, 58);
    CHECK_EQ_INT(f.sport, 0);
    CHECK_EQ_INT(f.dport, 0);
    CHECK_EQ_INT(f.tcp_flags, 0);

    const char *ipfix6 =
        "{\"ipfix.sourceIPv6Address\":\"2001:db8::1\",\"ipfix.destinationIPv6Address\":"
        "\"2001:db8:0:1::ff\",\"ipfix.protocolIdentifier\":58,\"ipfix.packetDeltaCount\":1,"
        "\"ipfix.octetDeltaCount\":72,\"ipfix.flowStartMilliseconds\":1681216496789,"
        "\"ipfix.flowEndMilliseconds\":1681216496789}";
    hf_flow g;
    CHECK_EQ_INT(both(ipfix6, &g), HF_DECODE_OK);
    CHECK(flows_equal(&f, &g));

    const char *iana6 =
        "{\"iana:sourceIPv6Address\":\"2001:DB8::1\",\"iana:destinationIPv6Address\":"
        "\"2001:db8:0:1:0:0:0:ff\",\"iana:protocolIdentifier\":\"IPv6-ICMP\","
        "\"iana:packetDeltaCount\":1,\"iana:octetDeltaCount\":72,"
        "\"iana:flowStartMilliseconds\":\"2023-04-11T12:34:56.789Z\","
        "\"iana:flowEndMilliseconds\":\"2023-04-11T14:34:56.789+02:00\"}";
    CHECK_EQ_INT(both(iana6, &g), HF_DECODE_OK);
    CHECK(flows_equal(&f, &g));

    /* An IPv4-mapped IPv6 text is family 6: fine in a v6 key, not in a v4 one. */
    const char *mapped =
        "{\"src6_addr\":\"::ffff:192.0.2.1\",\"dst6_addr\":\"2001:db8::2\",\"proto\":6,"
        "\"in_packets\":1,\"in_bytes\":40,\"first\":1,\"last\":2}";
    CHECK_EQ_INT(both(mapped, &g), HF_DECODE_OK);
    CHECK_EQ_INT(g.family, HF_AF_INET6);
    CHECK_EQ_INT(g.src[15], 1);
}

/* ------------------------------------------------------------------------
 * Syntax: order, white space, escapes, unknown members
 * --------------------------------------------------------------------- */

TEST(key_order_does_not_matter)
{
    const char *m[] = {
        "\"src4_addr\":\"192.0.2.10\"", "\"dst4_addr\":\"198.51.100.7\"", "\"proto\":17",
        "\"in_packets\":3", "\"in_bytes\":300", "\"first\":1000", "\"last\":2000",
        "\"src_port\":53", "\"dst_port\":5353", "\"tcp_flags\":0", "\"x\":[1,{\"y\":2}]",
    };
    int n = (int)(sizeof(m) / sizeof(m[0]));
    char buf[1024];
    hf_flow first, f;
    CHECK_EQ_INT(both(join(buf, sizeof(buf), m, n, -1), &first), HF_DECODE_OK);
    uint64_t x = 12345;
    for (int round = 0; round < 200; round++) {
        for (int i = n - 1; i > 0; i--) {                 /* Fisher-Yates */
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            int j = (int)(x % (uint64_t)(i + 1));
            const char *t = m[i]; m[i] = m[j]; m[j] = t;
        }
        CHECK_EQ_INT(both(join(buf, sizeof(buf), m, n, -1), &f), HF_DECODE_OK);
        CHECK(flows_equal(&first, &f));
    }
    CHECK_EQ_INT(first.sport, 53);
    CHECK_EQ_INT(first.dport, 5353);
}

TEST(white_space)
{
    hf_flow a, b;
    char buf[2048];
    CHECK_EQ_INT(both(nf(buf, sizeof(buf), ""), &a), HF_DECODE_OK);
    const char *spaced =
        " \t{ \"src4_addr\" :\t\"192.0.2.10\" ,\n\"dst4_addr\"\r:\"198.51.100.7\", \"proto\" : 6 ,"
        "\"in_packets\": 12,\"in_bytes\" :3456 , \"first\":1000,\"last\":2000 }  \r\n";
    CHECK_EQ_INT(both(spaced, &b), HF_DECODE_OK);
    CHECK(flows_equal(&a, &b));

    snprintf(buf, sizeof(buf), "%s\n", NFDUMP_LINE);
    CHECK_STATUS(buf, HF_DECODE_OK);
    snprintf(buf, sizeof(buf), "%s\r\n", NFDUMP_LINE);
    CHECK_STATUS(buf, HF_DECODE_OK);
    snprintf(buf, sizeof(buf), "%s\r\n\r\n", NFDUMP_LINE);
    CHECK_STATUS(buf, HF_DECODE_OK);

    CHECK_STATUS("", HF_DECODE_MALFORMED);
    CHECK_STATUS(" ", HF_DECODE_MALFORMED);
    CHECK_STATUS("\r\n", HF_DECODE_MALFORMED);
    CHECK_STATUS(" \t \n", HF_DECODE_MALFORMED);
}

TEST(escapes_in_keys)
{
    hf_flow a, b;
    char buf[2048];
    CHECK_EQ_INT(both(nf(buf, sizeof(buf), "\"src_port\":80"), &a), HF_DECODE_OK);
    const char *esc =
        "{\"src4\\u005faddr\":\"192.0.2.10\",\"\\u0064st4_addr\":\"198.51.100.7\","
        "\"pro\\u0074o\":6,\"in_packets\":12,\"in_bytes\":3456,\"\\u0066\\u0069rst\":1000,"
        "\"last\":2000,\"src_por\\u0074\":80}";
    CHECK_EQ_INT(both(esc, &b), HF_DECODE_OK);
    CHECK(flows_equal(&a, &b));

    const char *iana =
        "{\"iana\\u003asourceIPv4Address\":\"192.0.2.10\",\"iana:destinationIPv4Address\":"
        "\"198.51.100.7\",\"iana:protocolIdentifier\":6,\"iana:packetDeltaCount\":12,"
        "\"iana:octetDeltaCount\":3456,\"iana:flowStartMilliseconds\":1000,"
        "\"iana:flowEndMilliseconds\":2000,\"iana:sourceTransportPort\":80}";
    CHECK_EQ_INT(both(iana, &b), HF_DECODE_OK);
    CHECK(flows_equal(&a, &b));

    /* An escaped key that only looks like a known one stays unknown. */
    CHECK_WITH("\"src_port\\n\":80", HF_DECODE_OK);
    CHECK_EQ_INT(flow_with("\"src_port\\n\":80").sport, 0);
    CHECK_EQ_INT(flow_with("\"src\\/port\":80").sport, 0);
    /* A long escaped key is checked but cannot match. */
    CHECK_WITH("\"\\u0061aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":1",
               HF_DECODE_OK);
    CHECK_WITH("\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\\x\":1", HF_DECODE_MALFORMED);
    /* Case matters. */
    CHECK_EQ_INT(flow_with("\"Src_Port\":80").sport, 0);
}

TEST(escapes_in_values)
{
    hf_flow f;
    CHECK_EQ_INT(flow_with("\"src4_addr\":\"192.0.2.\\u0031\\u0031\"").src[15], 11);
    f = flow_with("\"proto\":\"\\u0031\\u0037\"");
    CHECK_EQ_INT(f.proto, 17);
    f = flow_with("\"tcp_flags\":\"\\u002e\\u0041\\u002e\\u002e\\u0053\\u002e\"");
    CHECK_EQ_INT(f.tcp_flags, HF_TCP_ACK | HF_TCP_SYN);
    f = flow_with("\"last\":\"2023-04-11T12:34:56.789\\u005a\"");
    CHECK(f.end_ms == 1681216496789.0);

    /* Every escape JSON has, in an unknown value. */
    CHECK_WITH("\"note\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\u20AC \\ud83d\\ude00\"",
               HF_DECODE_OK);
    CHECK_WITH("\"note\":\"\xc3\xa9 raw UTF-8 \xf0\x9f\x98\x80\"", HF_DECODE_OK);

    /* Bad escapes and raw control bytes. */
    CHECK_WITH("\"note\":\"\\x\"", HF_DECODE_MALFORMED);
    CHECK_WITH("\"note\":\"\\U0041\"", HF_DECODE_MALFORMED);
    CHECK_WITH("\"note\":\"\\u004\"", HF_DECODE_MALFORMED);
    CHECK_WITH("\"note\":\"\\uD83D\"", HF_DECODE_MALFORMED);           /* lone high */
    CHECK_WITH("\"note\":\"\\uDE00\"", HF_DECODE_MALFORMED);           /* lone low */
    CHECK_WITH("\"note\":\"\\uD83D\\u0041\"", HF_DECODE_MALFORMED);    /* high, not low */
    CHECK_WITH("\"note\":\"\\uD83D\\n\"", HF_DECODE_MALFORMED);
    CHECK_WITH("\"note\":\"\\", HF_DECODE_MALFORMED);

    /* A NUL from \u0000 is kept in the text, and then is not a number. */
    hf_flow r;
    char buf[512];
    nf(buf, sizeof(buf), "\"proto\":\"6\\u0000\"");
    CHECK_EQ_INT(run(hf_decode_flow, buf, strlen(buf), &r), HF_DECODE_BAD_NUMBER);
}

/* cJSON is laxer than strict JSON; the fast decoder is not (decode_cjson.c). */
TEST(documented_cjson_differences)
{
    static const char *lax[] = {
        "\"note\":\"a\tb\"",                 /* raw tab in a string */
        "\"note\":\"a\x01" "b\"",           /* raw control byte */
        "\"note\" \x01:1",                   /* control byte as white space */
        "\"x\":01",                          /* leading zero */
        "\"x\":1.",                          /* bare point */
        "\"x\":-.5",
        "\"note\":\"\\u00zz\"",              /* bad hex: NUL for cJSON */
    };
    char buf[2048];
    hf_flow f;
    for (size_t i = 0; i < sizeof(lax) / sizeof(lax[0]); i++) {
        nf(buf, sizeof(buf), lax[i]);
        CHECK_EQ_INT(run(hf_decode_flow, buf, strlen(buf), &f), HF_DECODE_MALFORMED);
        CHECK_EQ_INT(run(hf_decode_flow_cjson, buf, strlen(buf), &f), HF_DECODE_OK);
    }
    static const char *lax_lines[] = {
        "\f{}", "{\"a\":\"\x01\"}", "{\"a\":\"\n\"}", "\xef\xbb\xbf{}", "1.", "[01]",
    };
    for (size_t i = 0; i < sizeof(lax_lines) / sizeof(lax_lines[0]); i++) {
        CHECK_EQ_INT(run(hf_decode_flow, lax_lines[i], strlen(lax_lines[i]), &f),
                     HF_DECODE_MALFORMED);
        CHECK(run(hf_decode_flow_cjson, lax_lines[i], strlen(lax_lines[i]), &f) !=
              HF_DECODE_MALFORMED);
    }
    snprintf(buf, sizeof(buf), "\xef\xbb\xbf%s", NFDUMP_LINE);     /* byte order mark */
    CHECK_EQ_INT(run(hf_decode_flow, buf, strlen(buf), &f), HF_DECODE_MALFORMED);
    CHECK_EQ_INT(run(hf_decode_flow_cjson, buf, strlen(buf), &f), HF_DECODE_OK);

    /* Doubles: 2^53 + 1 is exact for one, rounded to 2^53 by the other. */
    nf(buf, sizeof(buf), "\"in_bytes\":9007199254740993");
    CHECK_EQ_INT(run(hf_decode_flow, buf, strlen(buf), &f), HF_DECODE_BAD_NUMBER);
    CHECK_EQ_INT(run(hf_decode_flow_cjson, buf, strlen(buf), &f), HF_DECODE_OK);
    nf(buf, sizeof(buf), "\"src_port\":\"1e-400\"");
    CHECK_EQ_INT(run(hf_decode_flow, buf, strlen(buf), &f), HF_DECODE_BAD_NUMBER);
    CHECK_EQ_INT(run(hf_decode_flow_cjson, buf, strlen(buf), &f), HF_DECODE_OK);
}

TEST(unknown_members_with_nested_values)
{
    CHECK_WITH("\"a\":{}", HF_DECODE_OK);
    CHECK_WITH("\"a\":[]", HF_DECODE_OK);
    CHECK_WITH("\"a\":{\"b\":[1,2.5,-3e-2,\"x\",true,false,null,{\"c\":{}}],\"d\":[[],[[]]]}",
               HF_DECODE_OK);
    CHECK_WITH("\"a\" : [ 1 , { \"b\" : null } , [ ] ]", HF_DECODE_OK);
    CHECK_WITH("\"a\":{\"src4_addr\":\"bad\",\"proto\":-1}", HF_DECODE_OK);   /* not top level */
    CHECK_WITH("\"a\":[1,]", HF_DECODE_MALFORMED);
    CHECK_WITH("\"a\":[1 2]", HF_DECODE_MALFORMED);
    CHECK_WITH("\"a\":{\"b\"}", HF_DECODE_MALFORMED);
    CHECK_WITH("\"a\":{\"b\":1,}", HF_DECODE_MALFORMED);
    CHECK_WITH("\"a\":{1:2}", HF_DECODE_MALFORMED);
    CHECK_WITH("\"a\":[}", HF_DECODE_MALFORMED);
    CHECK_WITH("\"a\":{]", HF_DECODE_MALFORMED);
    CHECK_WITH("\"a\":tru", HF_DECODE_MALFORMED);
    CHECK_WITH("\"a\":True", HF_DECODE_MALFORMED);
    CHECK_WITH("\"a\":nul", HF_DECODE_MALFORMED);
    CHECK_WITH("\"a\":nullx", HF_DECODE_MALFORMED);
    CHECK_WITH("\"a\":undefined", HF_DECODE_MALFORMED);
    CHECK_WITH("\"a\":NaN", HF_DECODE_MALFORMED);
    CHECK_WITH("\"a\":'x'", HF_DECODE_MALFORMED);

    /* Depth: the record is level 1; 64 levels in all are fine, 65 are not. */
    char deep[1024], buf[2048];
    for (int levels = 62; levels <= 64; levels++) {
        int o = sprintf(deep, "\"a\":");
        for (int i = 0; i < levels; i++) o += sprintf(deep + o, i % 2 ? "[" : "{\"k\":");
        o += sprintf(deep + o, "1");
        for (int i = levels - 1; i >= 0; i--) deep[o++] = i % 2 ? ']' : '}';
        deep[o] = '\0';
        CHECK_STATUS(nf(buf, sizeof(buf), deep), levels + 1 <= 64 ? HF_DECODE_OK
                                                                   : HF_DECODE_MALFORMED);
    }
    /* Very deep input is refused without deep recursion. */
    size_t n = 100000;
    char *big = malloc(n);
    memset(big, '[', n);
    hf_flow f;
    CHECK_EQ_INT(run(hf_decode_flow, big, n, &f), HF_DECODE_MALFORMED);
    CHECK_EQ_INT(run(hf_decode_flow_cjson, big, n, &f), HF_DECODE_MALFORMED);
    free(big);
}

/* ------------------------------------------------------------------------
 * Numbers, flags, protocols, times
 * --------------------------------------------------------------------- */

TEST(numbers)
{
    CHECK_EQ_INT(flow_with("\"src_port\":0").sport, 0);
    CHECK_EQ_INT(flow_with("\"src_port\":65535").sport, 65535);
    CHECK_EQ_INT(flow_with("\"src_port\":\"65535\"").sport, 65535);
    CHECK_EQ_INT(flow_with("\"dst_port\":8.0e3").dport, 8000);
    CHECK_EQ_INT(flow_with("\"dst_port\":\"8.0e3\"").dport, 8000);
    CHECK_EQ_INT(flow_with("\"dst_port\":1E2").dport, 100);
    CHECK_EQ_INT(flow_with("\"dst_port\":1e+2").dport, 100);
    CHECK_EQ_INT(flow_with("\"dst_port\":150e-1").dport, 15);
    CHECK_EQ_INT(flow_with("\"dst_port\":0.15e2").dport, 15);
    CHECK_EQ_INT(flow_with("\"dst_port\":1.000000000000000000000000000000").dport, 1);
    CHECK_EQ_INT(flow_with("\"dst_port\":0.0").dport, 0);
    CHECK_EQ_INT(flow_with("\"dst_port\":-0").dport, 0);
    CHECK_EQ_INT(flow_with("\"dst_port\":0e999999999999").dport, 0);
    CHECK_EQ_INT(flow_with("\"dst_port\":1000e-3").dport, 1);

    CHECK(flow_with("\"in_bytes\":9007199254740992").bytes == 9007199254740992.0);
    CHECK(flow_with("\"in_bytes\":\"9007199254740992\"").bytes == 9007199254740992.0);
    CHECK(flow_with("\"in_bytes\":9.007199254740992e15").bytes == 9007199254740992.0);
    CHECK(flow_with("\"in_packets\":123456789012345").packets == 123456789012345.0);
    CHECK(flow_with("\"in_packets\":1234567890123456").packets == 1234567890123456.0);
    CHECK(flow_with("\"in_packets\":1e15").packets == 1e15);

    static const char *bad[] = {
        "\"src_port\":65536", "\"src_port\":-1", "\"src_port\":1.5", "\"src_port\":\"1.5\"",
        "\"src_port\":1e-1", "\"src_port\":true", "\"src_port\":false", "\"src_port\":null",
        "\"src_port\":{}", "\"src_port\":[80]", "\"src_port\":\"\"", "\"src_port\":\" 80\"",
        "\"src_port\":\"80 \"", "\"src_port\":\"+80\"", "\"src_port\":\"080\"",
        "\"src_port\":\"0x50\"", "\"src_port\":\"eighty\"", "\"src_port\":\"80.\"",
        "\"src_port\":1e5", "\"src_port\":-0.5",
        "\"proto\":256", "\"proto\":\"256\"", "\"proto\":-6", "\"proto\":\"TCPX\"",
        "\"proto\":\"\"", "\"proto\":\"61x\"",
        "\"tcp_flags\":256", "\"tcp_flags\":\"0x100\"", "\"tcp_flags\":\"0x\"",
        "\"tcp_flags\":\"0xg1\"", "\"tcp_flags\":\"..X...\"", "\"tcp_flags\":\"ap\"",
        "\"tcp_flags\":\"\"", "\"tcp_flags\":\"0x1b \"", "\"tcp_flags\":1.5",
        "\"in_bytes\":9007199254740994", "\"in_bytes\":1e16", "\"in_bytes\":-1",
        "\"in_bytes\":18446744073709551616", "\"in_bytes\":99999999999999999999999999",
        "\"in_bytes\":1e400", "\"in_packets\":\"12 packets\"",
        "\"in_packets\":123456789012345678901234567890e-10",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_WITH(bad[i], HF_DECODE_BAD_NUMBER);

    /* A number that is not JSON is malformed, not a bad number. */
    static const char *malformed[] = {
        "\"src_port\":+80", "\"src_port\":.5",
        "\"src_port\":1e", "\"src_port\":1e+", "\"src_port\":-", "\"src_port\":0x50",
        "\"src_port\":1.2.3", "\"src_port\":--1", "\"src_port\":Infinity", "\"src_port\":80a",
    };
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
        CHECK_WITH(malformed[i], HF_DECODE_MALFORMED);
}

TEST(tcp_flags_text)
{
    CHECK_EQ_INT(flow_with("\"tcp_flags\":\"CEUAPRSF\"").tcp_flags, 0xff);
    CHECK_EQ_INT(flow_with("\"tcp_flags\":\"........\"").tcp_flags, 0);
    CHECK_EQ_INT(flow_with("\"tcp_flags\":\"......\"").tcp_flags, 0);
    CHECK_EQ_INT(flow_with("\"tcp_flags\":\"F\"").tcp_flags, HF_TCP_FIN);
    CHECK_EQ_INT(flow_with("\"tcp_flags\":\"S\"").tcp_flags, HF_TCP_SYN);
    CHECK_EQ_INT(flow_with("\"tcp_flags\":\"R\"").tcp_flags, HF_TCP_RST);
    CHECK_EQ_INT(flow_with("\"tcp_flags\":\"P\"").tcp_flags, HF_TCP_PSH);
    CHECK_EQ_INT(flow_with("\"tcp_flags\":\"A\"").tcp_flags, HF_TCP_ACK);
    CHECK_EQ_INT(flow_with("\"tcp_flags\":\"U\"").tcp_flags, HF_TCP_URG);
    CHECK_EQ_INT(flow_with("\"tcp_flags\":\"E\"").tcp_flags, HF_TCP_ECE);
    CHECK_EQ_INT(flow_with("\"tcp_flags\":\"C\"").tcp_flags, HF_TCP_CWR);
    CHECK_EQ_INT(flow_with("\"tcp_flags\":\"SA\"").tcp_flags, HF_TCP_SYN | HF_TCP_ACK);
    CHECK_EQ_INT(flow_with("\"tcp_flags\":\"FS.A\"").tcp_flags, HF_TCP_SYN | HF_TCP_ACK | HF_TCP_FIN);
    CHECK_EQ_INT(flow_with("\"tcp_flags\":\".A..SF\"").tcp_flags, HF_TCP_SYN | HF_TCP_ACK | HF_TCP_FIN);
    CHECK_EQ_INT(flow_with("\"tcp_flags\":\"0xff\"").tcp_flags, 0xff);
    CHECK_EQ_INT(flow_with("\"tcp_flags\":\"0x0\"").tcp_flags, 0);
    CHECK_EQ_INT(flow_with("\"tcp_flags\":\"0x00000012\"").tcp_flags, 0x12);
    CHECK_EQ_INT(flow_with("\"tcp_flags\":255").tcp_flags, 255);
    CHECK_EQ_INT(flow_with("").tcp_flags, 0);
}

TEST(protocol_names)
{
    CHECK_EQ_INT(flow_with("\"proto\":\"TCP\"").proto, 6);
    CHECK_EQ_INT(flow_with("\"proto\":\"UDP\"").proto, 17);
    CHECK_EQ_INT(flow_with("\"proto\":\"ICMP\"").proto, 1);
    CHECK_EQ_INT(flow_with("\"proto\":\"IPv6-ICMP\"").proto, 58);
    CHECK_EQ_INT(flow_with("\"proto\":\"GRE\"").proto, 47);
    CHECK_EQ_INT(flow_with("\"proto\":\"ESP\"").proto, 50);
    CHECK_EQ_INT(flow_with("\"proto\":\"SCTP\"").proto, 132);
    CHECK_EQ_INT(flow_with("\"proto\":\"ROHC\"").proto, 142);
    CHECK_EQ_INT(flow_with("\"proto\":\"IP\"").proto, 0);
    CHECK_EQ_INT(flow_with("\"proto\":\"tcp\"").proto, 6);
    CHECK_EQ_INT(flow_with("\"proto\":\"61\"").proto, 61);    /* IPFIXcol2 writes numbers */
    CHECK_EQ_INT(flow_with("\"proto\":\"255\"").proto, 255);
    CHECK_EQ_INT(hf_decode_proto_number("TCP", 3), 6);
    CHECK_EQ_INT(hf_decode_proto_number("TCPX", 3), 6);
    CHECK_EQ_INT(hf_decode_proto_number("TCP", 2), -1);
    CHECK_EQ_INT(hf_decode_proto_number("", 0), -1);
    CHECK_EQ_INT(hf_decode_proto_number("Mobility-Header", 15), 135);
}

TEST(times)
{
    hf_flow f = flow_with("\"first\":\"2023-04-11T12:34:56.789\",\"last\":\"2023-04-11T12:34:57Z\"");
    CHECK(f.start_ms == 1681216496789.0 && f.end_ms == 1681216497000.0);
    f = flow_with("\"first\":\"1681216496789\",\"last\":1681216496789.0");
    CHECK(f.start_ms == 1681216496789.0 && f.end_ms == 1681216496789.0);
    f = flow_with("\"first\":0,\"last\":253402300799999");
    CHECK(f.start_ms == 0 && f.end_ms == 253402300799999.0);
    f = flow_with("\"first\":\"2023-04-11 12:34:56.789+02:00\",\"last\":1.681216496789e12");
    CHECK(f.start_ms == 1681209296789.0 && f.end_ms == 1681216496789.0);

    static const char *bad[] = {
        "\"first\":-1", "\"first\":1.5", "\"first\":253402300800000", "\"first\":1e20",
        "\"first\":true", "\"first\":null", "\"first\":{}", "\"first\":[]", "\"first\":\"\"",
        "\"first\":\"yesterday\"", "\"first\":\"2023-02-30T00:00:00\"",
        "\"first\":\"1969-12-31T23:59:59Z\"", "\"first\":\"2023-04-11T12:34:56.1234567891\"",
        "\"last\":\"2023-04-11\"", "\"last\":\" 2023-04-11T12:34:56\"", "\"last\":\"-1\"",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_WITH(bad[i], HF_DECODE_BAD_TIME);

    CHECK_WITH("\"first\":2001", HF_DECODE_END_BEFORE_START);
    CHECK_WITH("\"last\":999", HF_DECODE_END_BEFORE_START);
    CHECK_WITH("\"last\":\"1970-01-01T00:00:00.999Z\"", HF_DECODE_END_BEFORE_START);
    CHECK_WITH("\"last\":1000", HF_DECODE_OK);
}

/* ------------------------------------------------------------------------
 * Reject reasons and their order
 * --------------------------------------------------------------------- */

TEST(malformed)
{
    static const char *cases[] = {
        "{", "}", "{\"a\"", "{\"a\":", "{\"a\":1", "{\"a\":1,", "{\"a\":1,}", "{,}",
        "{\"a\" 1}", "{\"a\":1 \"b\":2}", "{a:1}", "{'a':1}", "{\"a\":1}}", "{\"a\":1}x",
        "{\"a\":1} {}", "{} {}", "{}\n{}", "{\"a\":\"x}", "{\"a\":1}\v", "{\"a\":1}//",
        "[", "[1,", "[1,]", "\"abc", "tru", "nulll", "-", "\xff\xfe{", "{\"a\":1}\n\n x",
        "{\"a\":1}\x01", "{\"a\":1}\x7f", "{\"a\":\"\xff\"", "{\"a\":\"\\u12\"}",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_STATUS(cases[i], HF_DECODE_MALFORMED);

    /* NUL bytes inside the length. */
    char buf[2048];
    hf_flow f;
    size_t n = strlen(nf(buf, sizeof(buf), ""));
    buf[n] = '\0';
    CHECK_EQ_INT(both_n(buf, n + 1, &f), HF_DECODE_MALFORMED);
    buf[5] = '\0';
    CHECK_EQ_INT(run(hf_decode_flow, buf, n, &f), HF_DECODE_MALFORMED);
}

TEST(not_object)
{
    static const char *cases[] = {
        "[]", "[1,2,3]", "[{\"src4_addr\":\"192.0.2.1\"}]", "123", "-1.5e3", "\"text\"",
        "true", "false", "null", " [ ] \r\n", "0",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_STATUS(cases[i], HF_DECODE_NOT_OBJECT);
}

TEST(missing_field)
{
    const char *m[] = {
        "\"src4_addr\":\"192.0.2.10\"", "\"dst4_addr\":\"198.51.100.7\"", "\"proto\":6",
        "\"in_packets\":12", "\"in_bytes\":3456", "\"first\":1000", "\"last\":2000",
        "\"src_port\":1", "\"dst_port\":2", "\"tcp_flags\":3",
    };
    char buf[1024];
    for (int skip = 0; skip < 10; skip++)
        CHECK_STATUS(join(buf, sizeof(buf), m, 10, skip), skip < 7 ? HF_DECODE_MISSING_FIELD
                                                                   : HF_DECODE_OK);
    CHECK_STATUS("{}", HF_DECODE_MISSING_FIELD);
    CHECK_STATUS("{\"type\":\"FLOW\"}", HF_DECODE_MISSING_FIELD);
    /* A missing field is reported before a bad one. */
    m[0] = "\"src4_addr\":\"bad\"";
    CHECK_STATUS(join(buf, sizeof(buf), m, 10, 6), HF_DECODE_MISSING_FIELD);
}

TEST(bad_address)
{
    static const char *cases[] = {
        "\"src4_addr\":\"2001:db8::1\"",                /* v6 text in a v4 key */
        "\"src4_addr\":\"::ffff:192.0.2.1\"",
        "\"src4_addr\":\"192.0.2\"", "\"src4_addr\":\"192.0.2.256\"", "\"src4_addr\":\"\"",
        "\"src4_addr\":\" 192.0.2.1\"", "\"src4_addr\":\"192.0.2.1/24\"",
        "\"src4_addr\":3221225985", "\"src4_addr\":null", "\"src4_addr\":[\"192.0.2.1\"]",
        "\"dst4_addr\":\"host.example\"",
        "\"src6_addr\":\"2001:db8::1\"",                /* both a v4 and a v6 source */
        "\"dst6_addr\":\"2001:db8::1\"",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_WITH(cases[i], HF_DECODE_BAD_ADDRESS);

    /* families differ; a v4 text in a v6 key */
    CHECK_STATUS("{\"src4_addr\":\"192.0.2.1\",\"dst6_addr\":\"2001:db8::1\",\"proto\":6,"
                 "\"in_packets\":1,\"in_bytes\":1,\"first\":1,\"last\":1}", HF_DECODE_BAD_ADDRESS);
    CHECK_STATUS("{\"src6_addr\":\"192.0.2.1\",\"dst6_addr\":\"2001:db8::1\",\"proto\":6,"
                 "\"in_packets\":1,\"in_bytes\":1,\"first\":1,\"last\":1}", HF_DECODE_BAD_ADDRESS);
    /* A bad address is reported before a bad number or time. */
    CHECK_WITH("\"src4_addr\":\"x\",\"proto\":-1,\"first\":-1", HF_DECODE_BAD_ADDRESS);
    CHECK_WITH("\"proto\":-1,\"first\":-1", HF_DECODE_BAD_NUMBER);
    CHECK_WITH("\"first\":-1,\"last\":-1", HF_DECODE_BAD_TIME);
}

TEST(duplicate_keys_last_wins)
{
    CHECK_EQ_INT(flow_with("\"proto\":17").proto, 17);
    CHECK_EQ_INT(flow_with("\"src_port\":1,\"src_port\":2").sport, 2);
    CHECK_EQ_INT(flow_with("\"src_port\":\"bad\",\"src_port\":2").sport, 2);
    CHECK_WITH("\"src_port\":2,\"src_port\":\"bad\"", HF_DECODE_BAD_NUMBER);
    CHECK_EQ_INT(flow_with("\"src4_addr\":\"bad\",\"src4_addr\":\"192.0.2.99\"").src[15], 99);
    CHECK_WITH("\"src4_addr\":\"192.0.2.99\",\"src4_addr\":\"bad\"", HF_DECODE_BAD_ADDRESS);
    /* Keys of two families in one record are refused, never merged. */
    CHECK_WITH("\"ipfix.protocolIdentifier\":1,\"iana:protocolIdentifier\":2",
               HF_DECODE_MIXED_FAMILIES);
    CHECK_WITH("\"iana:sourceIPv4Address\":\"192.0.2.77\"", HF_DECODE_MIXED_FAMILIES);
    CHECK_WITH("\"first\":\"bad\",\"iana:flowStartMilliseconds\":5", HF_DECODE_MIXED_FAMILIES);
    /* Two names of one field in one family are one field: the last wins. */
    hf_flow f;
    const char *two_names =
        "{\"iana:sourceIPv4Address\":\"192.0.2.1\",\"en0:id12\":\"192.0.2.2\",\"en0:id4\":6,"
        "\"iana:protocolIdentifier\":17,\"en0:id2\":1,\"en0:id1\":2,"
        "\"iana:flowStartMilliseconds\":1000,\"iana:flowStartSeconds\":1500000000,"
        "\"en0:id153\":1500000000500}";
    CHECK_EQ_INT(both(two_names, &f), HF_DECODE_OK);
    CHECK_EQ_INT(f.proto, 17);
    CHECK(f.start_ms == 1500000000000.0 && f.end_ms == 1500000000500.0);
}

TEST(reason_names)
{
    CHECK_EQ_STR(hf_decode_reason_name(HF_DECODE_OK), "ok");
    CHECK_EQ_STR(hf_decode_reason_name(HF_DECODE_MALFORMED), "malformed_json");
    CHECK_EQ_STR(hf_decode_reason_name(HF_DECODE_NOT_OBJECT), "not_object");
    CHECK_EQ_STR(hf_decode_reason_name(HF_DECODE_MISSING_FIELD), "missing_field");
    CHECK_EQ_STR(hf_decode_reason_name(HF_DECODE_BAD_ADDRESS), "bad_address");
    CHECK_EQ_STR(hf_decode_reason_name(HF_DECODE_BAD_NUMBER), "bad_number");
    CHECK_EQ_STR(hf_decode_reason_name(HF_DECODE_BAD_TIME), "bad_time");
    CHECK_EQ_STR(hf_decode_reason_name(HF_DECODE_END_BEFORE_START), "end_before_start");
    CHECK_EQ_STR(hf_decode_reason_name(HF_DECODE_OPTIONS), "options_record");
    CHECK_EQ_STR(hf_decode_reason_name(HF_DECODE_TEMPLATE), "template_record");
    CHECK_EQ_STR(hf_decode_reason_name(HF_DECODE_MIXED_FAMILIES), "mixed_families");
    CHECK_EQ_STR(hf_decode_reason_name(HF_DECODE_NO_INIT_TIME), "no_init_time");
    CHECK_EQ_STR(hf_decode_reason_name(HF_DECODE_TIME_IN_SECONDS), "time_in_seconds");
    for (int r = 0; r < HF_DECODE_REASONS; r++) CHECK(strcmp(hf_decode_reason_name(r), "unknown") != 0);
    CHECK_EQ_STR(hf_decode_reason_name(HF_DECODE_REASONS), "unknown");
    CHECK_EQ_STR(hf_decode_reason_name(-1), "unknown");
    CHECK_EQ_STR(hf_decode_reason_name(1000), "unknown");
}

/* ------------------------------------------------------------------------
 * Robustness
 * --------------------------------------------------------------------- */

/* Every proper prefix of a valid line is malformed, for both decoders. */
TEST(truncation_at_every_offset)
{
    const char *lines[] = {IPFIXCOL_LINE, IPFIXCOL2_LINE, NFDUMP_LINE, NFDUMP6_LINE};
    char esc[512];
    nf(esc, sizeof(esc), "\"n\":\"\\ud83d\\ude00\\u00e9\",\"a\":[{\"b\":[-1.5e-3,true,null]}]");
    for (size_t l = 0; l < 5; l++) {
        const char *s = l < 4 ? lines[l] : esc;
        size_t n = strlen(s);
        hf_flow f;
        CHECK_EQ_INT(both_n(s, n, &f), HF_DECODE_OK);
        for (size_t k = 0; k < n; k++) {
            int st = both_n(s, k, &f);
            if (st != HF_DECODE_MALFORMED) {
                unit_cur_failed = 1;
                fprintf(stderr, "  FAIL %s: prefix %zu of line %zu: %s\n", unit_cur, k, l,
                        hf_decode_reason_name(st));
            }
        }
    }
}

/* The decoder reads len bytes, not up to a NUL or a newline. */
TEST(reads_only_len_bytes)
{
    char buf[4096];
    hf_flow f;
    size_t n = strlen(nf(buf, sizeof(buf), ""));
    strcat(buf, "garbage after the record");
    CHECK_EQ_INT(hf_decode_flow(buf, n, &f), HF_DECODE_OK);
    CHECK_EQ_INT(hf_decode_flow_cjson(buf, n, &f), HF_DECODE_OK);
    CHECK_EQ_INT(hf_decode_flow(buf, n + 1, &f), HF_DECODE_MALFORMED);
    /* Two records in one buffer, decoded one line at a time. */
    snprintf(buf, sizeof(buf), "%s\n%s\n", NFDUMP_LINE, IPFIXCOL_LINE);
    const char *nl = strchr(buf, '\n');
    CHECK_EQ_INT(hf_decode_flow(buf, (size_t)(nl - buf + 1), &f), HF_DECODE_OK);
    CHECK_EQ_INT(f.sport, 51234);
    CHECK_EQ_INT(hf_decode_flow(nl + 1, strlen(nl + 1), &f), HF_DECODE_OK);
    CHECK_EQ_INT(f.tcp_flags, 27);
}

/* Lines of several MB: a long string, many members, a long number. */
TEST(long_lines)
{
    size_t big = 6u << 20;
    char *s = malloc(big + 1024);
    hf_flow f;

    /* one unknown member holding a 6 MB string */
    size_t o = (size_t)sprintf(s, "{\"note\":\"");
    memset(s + o, 'x', big);
    o += big;
    o += (size_t)sprintf(s + o, "\",\"src4_addr\":\"192.0.2.10\",\"dst4_addr\":\"198.51.100.7\","
                         "\"proto\":6,\"in_packets\":12,\"in_bytes\":3456,\"first\":1000,"
                         "\"last\":2000}");
    CHECK_EQ_INT(both_n(s, o, &f), HF_DECODE_OK);
    CHECK_EQ_INT(f.proto, 6);
    CHECK_EQ_INT(both_n(s, o - 1, &f), HF_DECODE_MALFORMED);

    /* a known member holding 6 MB of text: too long to be a value */
    o = (size_t)sprintf(s, "{\"proto\":\"");
    memset(s + o, '1', big);
    o += big;
    o += (size_t)sprintf(s + o, "\",\"src4_addr\":\"192.0.2.10\",\"dst4_addr\":\"198.51.100.7\","
                         "\"in_packets\":12,\"in_bytes\":3456,\"first\":1000,\"last\":2000}");
    CHECK_EQ_INT(both_n(s, o, &f), HF_DECODE_BAD_NUMBER);

    /* 200000 unknown members before the real ones */
    o = 1;
    s[0] = '{';
    for (int i = 0; i < 200000; i++) o += (size_t)sprintf(s + o, "\"k%d\":%d,", i, i);
    o += (size_t)sprintf(s + o, "\"src4_addr\":\"192.0.2.10\",\"dst4_addr\":\"198.51.100.7\","
                         "\"proto\":17,\"in_packets\":12,\"in_bytes\":3456,\"first\":1000,"
                         "\"last\":2000}");
    CHECK(o > (2u << 20));
    CHECK_EQ_INT(both_n(s, o, &f), HF_DECODE_OK);
    CHECK_EQ_INT(f.proto, 17);

    /* a number of 1 MB digits: valid JSON, far too big */
    o = (size_t)sprintf(s, "{\"in_bytes\":");
    memset(s + o, '9', 1u << 20);
    o += 1u << 20;
    o += (size_t)sprintf(s + o, ",\"src4_addr\":\"192.0.2.10\",\"dst4_addr\":\"198.51.100.7\","
                         "\"proto\":6,\"in_packets\":12,\"first\":1000,\"last\":2000}");
    CHECK_EQ_INT(both_n(s, o, &f), HF_DECODE_BAD_NUMBER);
    free(s);
}

/* Random bytes, and valid lines with random damage: no crash, no read past
 * the end (ASan), and a valid line mended back decodes again. */
TEST(binary_garbage)
{
    uint64_t x = 0x2545F4914F6CDD1DULL;
    char buf[4096];
    hf_flow f;
    int ok = 0;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        size_t n = x % 300;
        for (size_t k = 0; k < n; k++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            buf[k] = (char)(x >> 24);
        }
        if (run(hf_decode_flow, buf, n, &f) == HF_DECODE_OK) ok++;
        (void)run(hf_decode_flow_cjson, buf, n, &f);
    }
    CHECK_EQ_INT(ok, 0);

    const char *lines[] = {IPFIXCOL_LINE, IPFIXCOL2_LINE, NFDUMP_LINE, NFDUMP6_LINE};
    for (int i = 0; i < 20000; i++) {
        const char *s = lines[i % 4];
        size_t n = strlen(s);
        memcpy(buf, s, n);
        for (int k = 0; k < 1 + i % 4; k++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            buf[x % n] = (char)(x >> 40);
        }
        (void)run(hf_decode_flow, buf, n, &f);
        (void)run(hf_decode_flow_cjson, buf, n, &f);
    }
    static const char nuls[64] = {0};
    CHECK_EQ_INT(run(hf_decode_flow, nuls, sizeof(nuls), &f), HF_DECODE_MALFORMED);
}

/* A table of cases, both decoders, with the expected status. */
TEST(decoders_agree_on_table)
{
    static const struct { const char *extra; int want; } table[] = {
        {"", HF_DECODE_OK},
        {"\"src_port\":80,\"dst_port\":\"443\",\"tcp_flags\":\".A..S.\"", HF_DECODE_OK},
        {"\"proto\":\"udp\"", HF_DECODE_OK},
        {"\"proto\":6.0", HF_DECODE_OK},
        {"\"proto\":\"6e0\"", HF_DECODE_OK},
        {"\"x\":{\"y\":[{\"z\":\"\\u00e9\"}]}", HF_DECODE_OK},
        {"\"first\":\"1970-01-01T00:00:01Z\"", HF_DECODE_OK},
        {"\"first\":\"1970-01-01T00:00:02.001Z\"", HF_DECODE_END_BEFORE_START},
        {"\"in_packets\":\"\"", HF_DECODE_BAD_NUMBER},
        {"\"in_packets\":1.25e2", HF_DECODE_OK},
        {"\"in_packets\":1.25e1", HF_DECODE_BAD_NUMBER},
        {"\"in_packets\":1.255e2", HF_DECODE_BAD_NUMBER},
        {"\"dst4_addr\":\"198.51.100.7 \"", HF_DECODE_BAD_ADDRESS},
        {"\"dst4_addr\":\"198.51.100.07\"", HF_DECODE_BAD_ADDRESS},
        {"\"last\":\"2023-13-01T00:00:00Z\"", HF_DECODE_BAD_TIME},
        {"\"last\" 2000", HF_DECODE_MALFORMED},
        {"\"last\":2000,", HF_DECODE_MALFORMED},
        {"\"\":1", HF_DECODE_OK},
        {"\"ipfix.\":1", HF_DECODE_OK},
        {"\"iana:\":1", HF_DECODE_OK},
        {"\"iana:sourceIPv5Address\":1", HF_DECODE_OK},
        {"\"src5_addr\":1", HF_DECODE_OK},
        {"\"srcX_addr\":1", HF_DECODE_OK},
        {"\"ipfix.sourceIPv4Address\":\"192.0.2.1\"", HF_DECODE_MIXED_FAMILIES},
        {"\"iana:destinationIPv6Address\":\"::1\"", HF_DECODE_MIXED_FAMILIES},
        {"\"iana:ipTTL\":64,\"ipfix.unknownElement\":1,\"en5:id1\":1", HF_DECODE_OK},
        {"\"@type\":\"ipfix.entry\"", HF_DECODE_OK},
        {"\"@type\":\"ipfix.optionsEntry\"", HF_DECODE_OK},      /* a flow all the same */
        {"\"@type\":\"ipfix.optionsEntry\",\"proto\":true", HF_DECODE_OPTIONS},
        {"\"@type\":\"ipfix.options\\u0045ntry\",\"last\":-1", HF_DECODE_OPTIONS},
        {"\"@type\":\"ipfix.optionsEntry\",\"@type\":\"ipfix.entry\",\"last\":-1", HF_DECODE_BAD_TIME},
        {"\"@type\":\"ipfix.optionsEntry\",\"@type\":3,\"last\":-1", HF_DECODE_BAD_TIME},
        {"\"@type\":\"ipfix.template\",\"ipfix.octetDeltaCount\":1", HF_DECODE_TEMPLATE},
        {"\"@type\":\"ipfix.optionsTemplate\",\"first\":1e99", HF_DECODE_TEMPLATE},
        {"\"x\":{\"@type\":\"ipfix.template\"},\"first\":1e99", HF_DECODE_BAD_TIME},
        {"\"last\":1500000000", HF_DECODE_TIME_IN_SECONDS},
        {"\"last\":\"9999999999\"", HF_DECODE_TIME_IN_SECONDS},
        {"\"last\":10000000000", HF_DECODE_OK},
        {"\"last\":999999999,\"first\":999999999", HF_DECODE_OK},
        {"\"last\":1500000000.5", HF_DECODE_BAD_TIME},
        {"\"last\":1500000000,\"first\":\"x\"", HF_DECODE_BAD_TIME},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        CHECK_WITH(table[i].extra, table[i].want);
}


/* ------------------------------------------------------------------------
 * Records as collectors write them: IPFIXcol2's variants, biflows, time
 * zones, clock skew (hf_decode_record, both decoders)
 * --------------------------------------------------------------------- */

static const hf_decode_ctx UTC_1S = {NULL, 1000};

/* Decode s with ctx by both record decoders; they must agree on the
 * status, the notes and every flow.  Returns the status. */
static int rec(const hf_decode_ctx *ctx, const char *s, hf_flow out[2], unsigned *notes)
{
    size_t n = strlen(s);
    char *copy = malloc(n ? n : 1);
    memcpy(copy, s, n);
    hf_flow ref[2];
    unsigned rn = 99;
    memset(out, 0xA5, 2 * sizeof *out);
    *notes = 99;
    int st = hf_decode_record(ctx, copy, n, out, notes);
    int rs = hf_decode_record_cjson(ctx, copy, n, ref, &rn);
    free(copy);
    int same = st == rs;
    if (same && st == HF_DECODE_OK) {
        same = *notes == rn && flows_equal(&out[0], &ref[0]) &&
               (!(*notes & HF_DECODE_TWO) || flows_equal(&out[1], &ref[1]));
    }
    if (!same) {
        unit_cur_failed = 1;
        fprintf(stderr, "  FAIL %s: record decoders disagree (%s/%u vs cjson %s/%u) on: %.300s\n",
                unit_cur, hf_decode_reason_name(st), *notes, hf_decode_reason_name(rs), rn, s);
    }
    return st;
}

#define CHECK_REC(ctx, s, want) do { \
    hf_flow f_[2]; unsigned n_; \
    int got_ = rec((ctx), (s), f_, &n_); \
    if (got_ != (want)) { \
        unit_cur_failed = 1; \
        fprintf(stderr, "  FAIL %s: %s:%d: %s, want %s: %s\n", unit_cur, __FILE__, __LINE__, \
                hf_decode_reason_name(got_), hf_decode_reason_name(want), s); \
    } } while (0)

/* An IPFIXcol2 record: its addresses, ports and protocol, then more. */
#define I2(more) "{\"@type\":\"ipfix.entry\",\"iana:sourceIPv4Address\":\"192.0.2.10\"," \
    "\"iana:destinationIPv4Address\":\"198.51.100.7\",\"iana:sourceTransportPort\":51234," \
    "\"iana:destinationTransportPort\":443,\"iana:protocolIdentifier\":\"TCP\"," more "}"
#define I2_COUNTS "\"iana:octetDeltaCount\":1500,\"iana:packetDeltaCount\":10,"

/* One line per time variant of IPFIXcol2's documentation: formatted (ISO,
 * UTC) and unix (ms, whatever the element's unit). */
TEST(ipfixcol2_time_variants)
{
    static const char *const lines[] = {
        I2(I2_COUNTS "\"iana:flowStartMilliseconds\":\"2018-05-11T19:44:29.006Z\","
           "\"iana:flowEndMilliseconds\":\"2018-05-11T19:44:30.364Z\""),
        I2(I2_COUNTS "\"iana:flowStartMilliseconds\":1526067869006,\"iana:flowEndMilliseconds\":1526067870364"),
        I2(I2_COUNTS "\"iana:flowStartSeconds\":\"2018-05-11T19:44:29.006Z\","
           "\"iana:flowEndSeconds\":\"2018-05-11T19:44:30.364Z\""),
        I2(I2_COUNTS "\"iana:flowStartSeconds\":1526067869006,\"iana:flowEndSeconds\":1526067870364"),
        I2(I2_COUNTS "\"iana:flowStartMicroseconds\":\"2018-05-11T19:44:29.006Z\","
           "\"iana:flowEndMicroseconds\":1526067870364"),
        I2(I2_COUNTS "\"iana:flowStartNanoseconds\":1526067869006,"
           "\"iana:flowEndNanoseconds\":\"2018-05-11T19:44:30.364Z\""),
        I2(I2_COUNTS "\"iana:systemInitTimeMilliseconds\":\"2018-05-11T19:00:00.000Z\","
           "\"iana:flowStartSysUpTime\":2669006,\"iana:flowEndSysUpTime\":2670364"),
        I2(I2_COUNTS "\"iana:systemInitTimeMilliseconds\":1526065200000,"
           "\"iana:flowStartSysUpTime\":2669006,\"iana:flowEndMilliseconds\":1526067870364"),
        I2("\"iana:octetTotalCount\":1500,\"iana:packetTotalCount\":10,"
           "\"iana:flowStartMilliseconds\":1526067869006,\"iana:flowEndMilliseconds\":1526067870364"),
        "{\"@type\":\"ipfix.entry\",\"en0:id8\":\"192.0.2.10\",\"en0:id12\":\"198.51.100.7\","
        "\"en0:id7\":51234,\"en0:id11\":443,\"en0:id4\":6,\"en0:id1\":1500,\"en0:id2\":10,"
        "\"en0:id152\":1526067869006,\"en0:id153\":1526067870364,\"en0:id6\":0}",
    };
    hf_flow want[2], f[2];
    unsigned notes;
    CHECK_EQ_INT(rec(&UTC_1S, lines[0], want, &notes), HF_DECODE_OK);
    CHECK(want[0].start_ms == 1526067869006.0 && want[0].end_ms == 1526067870364.0);
    CHECK(want[0].packets == 10 && want[0].bytes == 1500 && want[0].proto == 6);
    for (size_t i = 1; i < sizeof lines / sizeof lines[0]; i++) {
        int st = rec(&UTC_1S, lines[i], f, &notes);
        if (st != HF_DECODE_OK || !flows_equal(&f[0], &want[0])) {
            unit_cur_failed = 1;
            fprintf(stderr, "  FAIL %s: variant %zu: %s\n", unit_cur, i, hf_decode_reason_name(st));
        }
    }
    /* Seconds in a ...Seconds element are seconds (2001..2286) */
    CHECK_EQ_INT(rec(&UTC_1S, I2(I2_COUNTS "\"iana:flowStartSeconds\":1526067869,"
                                 "\"iana:flowEndSeconds\":\"1526067870\""), f, &notes), HF_DECODE_OK);
    CHECK(f[0].start_ms == 1526067869000.0 && f[0].end_ms == 1526067870000.0);
    /* ... and refused where ms are expected, naming the value */
    CHECK_REC(&UTC_1S, I2(I2_COUNTS "\"iana:flowStartMilliseconds\":1526067869,"
                          "\"iana:flowEndMilliseconds\":1526067870"), HF_DECODE_TIME_IN_SECONDS);
    /* uptime without the exporter's init time */
    CHECK_REC(&UTC_1S, I2(I2_COUNTS "\"iana:flowStartSysUpTime\":2669006,\"iana:flowEndSysUpTime\":2670364"),
              HF_DECODE_NO_INIT_TIME);
    CHECK_REC(&UTC_1S, I2(I2_COUNTS "\"iana:flowStartSysUpTime\":1,\"iana:flowEndMilliseconds\":5"),
              HF_DECODE_NO_INIT_TIME);
    /* init + uptime past 9999: bad time; an uptime that is not a number too */
    CHECK_REC(&UTC_1S, I2(I2_COUNTS "\"iana:systemInitTimeMilliseconds\":253402300799000,"
                          "\"iana:flowStartSysUpTime\":1,\"iana:flowEndSysUpTime\":2000"), HF_DECODE_BAD_TIME);
    CHECK_REC(&UTC_1S, I2(I2_COUNTS "\"iana:systemInitTimeMilliseconds\":1,"
                          "\"iana:flowStartSysUpTime\":\"2018-05-11T19:44:29Z\",\"iana:flowEndSysUpTime\":2"),
              HF_DECODE_BAD_TIME);
    /* an absolute time wins over the uptime of the same end */
    CHECK_EQ_INT(rec(&UTC_1S, I2(I2_COUNTS "\"iana:flowStartSysUpTime\":5,\"iana:flowEndSysUpTime\":6,"
                                 "\"iana:flowStartMilliseconds\":1000,\"iana:flowEndMilliseconds\":2000,"
                                 "\"iana:systemInitTimeMilliseconds\":0"), f, &notes), HF_DECODE_OK);
    CHECK(f[0].start_ms == 1000 && f[0].end_ms == 2000);
    /* Delta counters win over Total ones; Total alone is taken */
    CHECK_EQ_INT(rec(&UTC_1S, I2("\"iana:octetTotalCount\":9,\"iana:packetTotalCount\":8,"
                                 "\"iana:octetDeltaCount\":7,\"iana:packetDeltaCount\":6,"
                                 "\"iana:flowStartMilliseconds\":1,\"iana:flowEndMilliseconds\":2"), f, &notes),
                 HF_DECODE_OK);
    CHECK(f[0].bytes == 7 && f[0].packets == 6);
    CHECK_REC(&UTC_1S, I2("\"iana:octetTotalCount\":9,\"iana:flowStartMilliseconds\":1,"
                          "\"iana:flowEndMilliseconds\":2"), HF_DECODE_MISSING_FIELD);
    CHECK_REC(&UTC_1S, I2("\"iana:octetTotalCount\":9,\"iana:packetTotalCount\":-1,"
                          "\"iana:flowStartMilliseconds\":1,\"iana:flowEndMilliseconds\":2"), HF_DECODE_BAD_NUMBER);
    /* numeric names: only en0 and en29305, no leading zeros */
    CHECK_REC(&UTC_1S, "{\"en0:id8\":\"192.0.2.10\",\"en0:id12\":\"198.51.100.7\",\"en0:id4\":6,"
                       "\"en0:id01\":1,\"en0:id2\":1,\"en0:id152\":1,\"en0:id153\":2}", HF_DECODE_MISSING_FIELD);
    CHECK_REC(&UTC_1S, "{\"en0:id8\":\"192.0.2.10\",\"en0:id12\":\"198.51.100.7\",\"en0:id4\":6,"
                       "\"en00:id1\":1,\"en1:id1\":1,\"en0:id2\":1,\"en0:id152\":1,\"en0:id153\":2}",
              HF_DECODE_MISSING_FIELD);
    CHECK_REC(&UTC_1S, "{\"en0:id8\":\"192.0.2.10\",\"en0:id12\":\"198.51.100.7\",\"en0:id4\":6,"
                       "\"en0:id1\":1,\"en0:id2\":1,\"en0:id152\":1,\"en0:id153\":2,\"src_port\":1}",
              HF_DECODE_MIXED_FAMILIES);
}

/* Biflow records: two flows, each under its own source. */
TEST(biflow_records_are_two_flows)
{
    hf_flow f[2];
    unsigned notes;
    const char *bi = I2(I2_COUNTS "\"iana@reverse:octetDeltaCount@reverse\":700,"
                        "\"iana@reverse:packetDeltaCount@reverse\":5,"
                        "\"iana@reverse:tcpControlBits@reverse\":\".A...F\","
                        "\"iana:flowStartMilliseconds\":1526067869006,\"iana:flowEndMilliseconds\":1526067870364,"
                        "\"iana@reverse:flowStartMilliseconds@reverse\":1526067869100");
    CHECK_EQ_INT(rec(&UTC_1S, bi, f, &notes), HF_DECODE_OK);
    CHECK_EQ_INT(notes, HF_DECODE_TWO);
    CHECK(memcmp(f[1].src, f[0].dst, 16) == 0 && memcmp(f[1].dst, f[0].src, 16) == 0);
    CHECK_EQ_INT(f[1].sport, 443);
    CHECK_EQ_INT(f[1].dport, 51234);
    CHECK_EQ_INT(f[1].proto, 6);
    CHECK(f[1].packets == 5 && f[1].bytes == 700);
    CHECK_EQ_INT(f[1].tcp_flags, HF_TCP_ACK | HF_TCP_FIN);
    CHECK(f[1].start_ms == 1526067869100.0 && f[1].end_ms == 1526067870364.0);   /* own start, shared end */
    CHECK(f[0].packets == 10 && f[0].bytes == 1500);
    /* hf_decode_flow: the forward direction only */
    hf_flow one;
    CHECK_EQ_INT(hf_decode_flow(bi, strlen(bi), &one), HF_DECODE_OK);
    CHECK(flows_equal(&one, &f[0]));

    /* numeric names: en29305 is the reverse direction */
    const char *num = "{\"en0:id27\":\"2001:db8::1\",\"en0:id28\":\"2001:db8::2\",\"en0:id4\":17,"
                      "\"en0:id7\":53000,\"en0:id11\":53,\"en0:id1\":80,\"en0:id2\":1,"
                      "\"en29305:id1\":200,\"en29305:id2\":1,\"en0:id152\":1000,\"en0:id153\":1500,"
                      "\"en29305:id152\":1100,\"en29305:id153\":1200}";
    CHECK_EQ_INT(rec(&UTC_1S, num, f, &notes), HF_DECODE_OK);
    CHECK_EQ_INT(notes, HF_DECODE_TWO);
    CHECK(f[1].bytes == 200 && f[1].start_ms == 1100 && f[1].end_ms == 1200 && f[1].family == HF_AF_INET6);
    /* no packets back: one flow */
    CHECK_EQ_INT(rec(&UTC_1S, I2(I2_COUNTS "\"iana@reverse:octetDeltaCount@reverse\":0,"
                                 "\"iana@reverse:packetDeltaCount@reverse\":0,"
                                 "\"iana:flowStartMilliseconds\":1,\"iana:flowEndMilliseconds\":2"), f, &notes),
                 HF_DECODE_OK);
    CHECK_EQ_INT(notes, 0);
    /* half a reverse direction: missing field */
    CHECK_REC(&UTC_1S, I2(I2_COUNTS "\"iana@reverse:octetDeltaCount@reverse\":3,"
                          "\"iana:flowStartMilliseconds\":1,\"iana:flowEndMilliseconds\":2"), HF_DECODE_MISSING_FIELD);
    /* reverse Total counters, reverse uptimes */
    CHECK_EQ_INT(rec(&UTC_1S, I2(I2_COUNTS "\"iana@reverse:octetTotalCount@reverse\":3,"
                                 "\"iana@reverse:packetTotalCount@reverse\":1,"
                                 "\"iana:systemInitTimeMilliseconds\":1000000,"
                                 "\"iana@reverse:flowStartSysUpTime@reverse\":10,"
                                 "\"iana@reverse:flowEndSysUpTime@reverse\":20,"
                                 "\"iana:flowStartMilliseconds\":1000005,\"iana:flowEndMilliseconds\":1000030"),
                     f, &notes), HF_DECODE_OK);
    CHECK(f[1].start_ms == 1000010 && f[1].end_ms == 1000020 && f[1].bytes == 3);
    CHECK_REC(&UTC_1S, I2(I2_COUNTS "\"iana@reverse:octetTotalCount@reverse\":3,"
                          "\"iana@reverse:packetTotalCount@reverse\":1,"
                          "\"iana@reverse:flowStartSysUpTime@reverse\":10,"
                          "\"iana:flowStartMilliseconds\":1,\"iana:flowEndMilliseconds\":2"), HF_DECODE_NO_INIT_TIME);
    /* reverse names that are keys, or unknown: ignored */
    CHECK_REC(&UTC_1S, I2(I2_COUNTS "\"iana@reverse:sourceIPv4Address@reverse\":\"x\","
                          "\"iana@reverse:octetDeltaCount\":1,\"iana@reverse:ipTTL@reverse\":1,"
                          "\"en29305:id8\":\"x\",\"iana:flowStartMilliseconds\":1,\"iana:flowEndMilliseconds\":2"),
              HF_DECODE_OK);
    /* the reverse direction ends too early */
    CHECK_REC(&UTC_1S, I2(I2_COUNTS "\"iana@reverse:octetDeltaCount@reverse\":3,"
                          "\"iana@reverse:packetDeltaCount@reverse\":1,"
                          "\"iana@reverse:flowEndMilliseconds@reverse\":5000,"
                          "\"iana:flowStartMilliseconds\":9000,\"iana:flowEndMilliseconds\":9500"),
              HF_DECODE_END_BEFORE_START);
    CHECK_EQ_INT(rec(&UTC_1S, I2(I2_COUNTS "\"iana@reverse:octetDeltaCount@reverse\":3,"
                                 "\"iana@reverse:packetDeltaCount@reverse\":1,"
                                 "\"iana@reverse:flowEndMilliseconds@reverse\":8500,"
                                 "\"iana:flowStartMilliseconds\":9000,\"iana:flowEndMilliseconds\":9500"),
                     f, &notes), HF_DECODE_OK);
    CHECK_EQ_INT(notes, HF_DECODE_TWO | HF_DECODE_CLAMPED2);
    CHECK(f[1].start_ms == 8500 && f[1].end_ms == 8500);
}

TEST(options_and_template_records_are_skipped)
{
    CHECK_REC(&UTC_1S, "{\"@type\":\"ipfix.optionsEntry\",\"iana:exportingProcessId\":1,"
                       "\"iana:systemInitTimeMilliseconds\":\"2018-05-11T19:00:00.000Z\"}", HF_DECODE_OPTIONS);
    CHECK_REC(&UTC_1S, "{\"@type\":\"ipfix.template\",\"ipfix:templateId\":256,\"ipfix:fields\":[]}",
              HF_DECODE_TEMPLATE);
    /* malformed is still malformed */
    CHECK_REC(&UTC_1S, "{\"@type\":\"ipfix.optionsEntry\",", HF_DECODE_MALFORMED);
}

/* An end a little before the start: the start is clamped to the end. */
TEST(clock_skew_is_clamped_up_to_the_limit)
{
    hf_flow f[2];
    unsigned notes;
    char buf[512];
    CHECK_EQ_INT(rec(&UTC_1S, nf(buf, sizeof buf, "\"first\":2007"), f, &notes), HF_DECODE_OK);
    CHECK_EQ_INT(notes, HF_DECODE_CLAMPED);
    CHECK(f[0].start_ms == 2000 && f[0].end_ms == 2000);
    CHECK_EQ_INT(rec(&UTC_1S, nf(buf, sizeof buf, "\"first\":3000"), f, &notes), HF_DECODE_OK);
    CHECK_REC(&UTC_1S, nf(buf, sizeof buf, "\"first\":3001"), HF_DECODE_END_BEFORE_START);
    static const hf_decode_ctx strict = {NULL, 0};
    CHECK_REC(&strict, nf(buf, sizeof buf, "\"first\":2001"), HF_DECODE_END_BEFORE_START);
    CHECK_EQ_INT(rec(&strict, nf(buf, sizeof buf, "\"first\":2000"), f, &notes), HF_DECODE_OK);
    CHECK_EQ_INT(notes, 0);
    static const hf_decode_ctx wide = {NULL, INT64_MAX};
    CHECK_EQ_INT(rec(&wide, nf(buf, sizeof buf, "\"first\":253402300799999"), f, &notes), HF_DECODE_OK);
}

/* nfdump's local times, read in the zone they were written in. */
TEST(times_without_offset_in_the_input_zone)
{
    char err[256];
    hf_tz *tz = hf_tz_load("Europe/Prague", err, sizeof err);
    CHECK(tz != NULL);
    if (!tz) return;
    hf_decode_ctx prague = {tz, 1000};
    hf_flow f[2], g[2];
    unsigned notes;
    CHECK_EQ_INT(rec(&prague, NFDUMP_LINE, f, &notes), HF_DECODE_OK);
    CHECK(f[0].start_ms == 1681216496789.0 - 7200000 && f[0].end_ms == 1681216501002.0 - 7200000);
    /* with an offset or Z the text keeps its own */
    CHECK_EQ_INT(rec(&prague, IPFIXCOL2_LINE, f, &notes), HF_DECODE_OK);
    CHECK_EQ_INT(rec(&UTC_1S, IPFIXCOL2_LINE, g, &notes), HF_DECODE_OK);
    CHECK(flows_equal(&f[0], &g[0]));
    /* numbers are instants: no zone */
    CHECK_EQ_INT(rec(&prague, IPFIXCOL_LINE, f, &notes), HF_DECODE_OK);
    CHECK(f[0].start_ms == 1681216496789.0);
    hf_tz_free(tz);
}

/* The warning's words: which field is missing, which families, ... */
TEST(explain_names_what_is_wrong)
{
    char b[256];
    static const struct { const char *line, *want; } cases[] = {
        {"{\"src4_addr\":\"192.0.2.1\",\"proto\":6}", "no dst4_addr or dst6_addr"},
        {"{\"src4_addr\":\"192.0.2.1\",\"dst4_addr\":\"192.0.2.2\",\"proto\":6,\"in_packets\":1,"
         "\"in_bytes\":1,\"first\":1}", "no last"},
        {"{\"ipfix.sourceIPv4Address\":\"192.0.2.1\"}",
         "no ipfix.destinationIPv4Address or ipfix.destinationIPv6Address"},
        {I2(I2_COUNTS "\"iana:flowEndMilliseconds\":1"),
         "no iana:flowStartMilliseconds (or another flowStart time)"},
        {I2(I2_COUNTS "\"iana@reverse:octetDeltaCount@reverse\":1,\"iana:flowStartMilliseconds\":1,"
            "\"iana:flowEndMilliseconds\":2"),
         "no iana@reverse:packetDeltaCount@reverse (a biflow's reverse packets)"},
        {"{\"type\":\"FLOW\"}", "no field of a flow record (IPFIXcol, IPFIXcol2 or nfdump keys)"},
        {"{\"proto\":6,\"iana:octetDeltaCount\":1}", "keys of IPFIXcol2 and nfdump"},
        {I2(I2_COUNTS "\"iana:flowStartSysUpTime\":1,\"iana:flowEndSysUpTime\":2"),
         "flowStartSysUpTime or flowEndSysUpTime without systemInitTimeMilliseconds"},
        {I2(I2_COUNTS "\"iana:flowStartMilliseconds\":1526067869,\"iana:flowEndMilliseconds\":2000000000000"),
         "1526067869 looks like seconds since the epoch, not milliseconds"},
        {I2(I2_COUNTS "\"iana:flowStartMilliseconds\":5000,\"iana:flowEndMilliseconds\":2000"),
         "it ends 3000 ms before it starts (max_clock_skew: 1000 ms)"},
        {"{\"a\":1", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_EQ_STR(hf_decode_explain(&UTC_1S, cases[i].line, strlen(cases[i].line), b, sizeof b),
                     cases[i].want);
    /* a small buffer is cut, not overrun */
    char tiny[8];
    hf_decode_explain(&UTC_1S, cases[0].line, strlen(cases[0].line), tiny, sizeof tiny);
    CHECK_EQ_INT(strlen(tiny), 7);
    hf_decode_explain(&UTC_1S, cases[6].line, strlen(cases[6].line), tiny, sizeof tiny);
    CHECK(strlen(tiny) <= 7);
}

int main(void)
{
    RUN(ipfixcol_family);
    RUN(ipfixcol2_family);
    RUN(nfdump_family);
    RUN(ipv6);
    RUN(key_order_does_not_matter);
    RUN(white_space);
    RUN(escapes_in_keys);
    RUN(escapes_in_values);
    RUN(documented_cjson_differences);
    RUN(unknown_members_with_nested_values);
    RUN(numbers);
    RUN(tcp_flags_text);
    RUN(protocol_names);
    RUN(times);
    RUN(malformed);
    RUN(not_object);
    RUN(missing_field);
    RUN(bad_address);
    RUN(duplicate_keys_last_wins);
    RUN(reason_names);
    RUN(truncation_at_every_offset);
    RUN(reads_only_len_bytes);
    RUN(long_lines);
    RUN(binary_garbage);
    RUN(decoders_agree_on_table);
    RUN(ipfixcol2_time_variants);
    RUN(biflow_records_are_two_flows);
    RUN(options_and_template_records_are_skipped);
    RUN(clock_skew_is_clamped_up_to_the_limit);
    RUN(times_without_offset_in_the_input_zone);
    RUN(explain_names_what_is_wrong);
    return UNIT_END();
}
