/* fuzz_decode.c -- libFuzzer target: the fast flow decoder against cJSON's.
 *
 * Each input is one line.  Both decoders (core/decode.c, core/decode_cjson.c)
 * decode it from an exact-size heap copy, so that AddressSanitizer stops a
 * read past the end, and must agree on the status and, when it is OK, on
 * every field of the flow.  They may differ only where decode_cjson.c says
 * cJSON does, and leniencies() below recognises exactly those inputs:
 *
 *   LAX_SYNTAX  cJSON accepts what strict JSON refuses (control bytes as
 *               white space or inside strings, a byte order mark, numbers
 *               like "01", "1." or "-.5"): the fast decoder must then say
 *               malformed_json, cJSON may say anything.
 *   LAX_NUL     a \u escape that cJSON turns into a NUL (\u0000, bad hex
 *               digits) and so cuts the key or value: anything may differ.
 *   LAX_DOUBLE  a numeral (bare or in a string) with 16 or more significant
 *               digits or a 3-digit exponent, which a double may round: the
 *               statuses may differ among ok, bad_number, bad_time and
 *               end_before_start (when both are OK the flows still match),
 *               and options_record or template_record, which stand in for
 *               any of those but ok when "@type" names such a record.
 *
 * hf_decode_record() is compared the same way with hf_decode_record_cjson(),
 * with a clock skew allowed and in UTC, and with times read in
 * Europe/Prague: the notes (two flows, clamped starts) and both flows must
 * match too.
 *
 * On top of the comparison, the fast decoder must give the same status with
 * "\n" or "\r\n" appended, and an OK flow must satisfy the contract (family
 * set, mark 0, end >= start, counters within 2^53).  Every input is decoded
 * a second time, its keys now remembered by the decoder (decode.c, "Keys
 * seen before"; the first time it remembered those of earlier inputs), and
 * must give the same outcome, byte for byte.
 *
 * Random bytes rarely hit the values that matter (65535 against 65536, 2^53,
 * "0x1b", a 29 February), so a custom mutator also swaps a member's value
 * for one of a list of interesting ones, or inserts a known key with such a
 * value; half of the mutations are still libFuzzer's own.
 *
 * Build: make build/fuzz/fuzz_decode
 * Run:   build/fuzz/fuzz_decode tests/fuzz/seeds/decode -max_total_time=20 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/tz.h"
#include "stream/decode.h"
#include "support/decode_cjson.h"

enum {
    LAX_SYNTAX = 1,
    LAX_NUL = 2,
    LAX_DOUBLE = 4,
};

/* ------------------------------------------------------------------------
 * Recognising cJSON's leniencies
 * --------------------------------------------------------------------- */

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

static int is_hex(uint8_t c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_numeral_byte(uint8_t c)
{
    return is_digit(c) || c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E';
}

/* Length of the longest strict JSON number at the start of s[0..n), or 0. */
static size_t json_number_len(const uint8_t *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-') i++;
    if (i < n && s[i] == '0') i++;
    else if (i < n && is_digit(s[i])) while (i < n && is_digit(s[i])) i++;
    else return 0;
    if (i + 1 < n && s[i] == '.' && is_digit(s[i + 1])) {
        i++;
        while (i < n && is_digit(s[i])) i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < n && (s[j] == '+' || s[j] == '-')) j++;
        if (j < n && is_digit(s[j])) {
            while (j < n && is_digit(s[j])) j++;
            i = j;
        }
    }
    return i;
}

/* Length of what strtod() (so cJSON) takes of the numeral run s[0..n). */
static size_t strtod_len(const uint8_t *s, size_t n)
{
    char *buf = malloc(n + 1), *end;
    memcpy(buf, s, n);
    buf[n] = '\0';
    (void)strtod(buf, &end);
    size_t len = (size_t)(end - buf);
    free(buf);
    return len;
}

/* Could a double misjudge the numeral run s[0..n)?  16+ significant digits
 * (leading zeros not counted) or an exponent of 3+ digits. */
static int is_wild(const uint8_t *s, size_t n)
{
    size_t i = 0, sig = 0, exp_digits = 0;
    int in_exp = 0;
    for (; i < n; i++) {
        if (s[i] == 'e' || s[i] == 'E') in_exp = 1;
        else if (!is_digit(s[i])) continue;
        else if (in_exp) exp_digits++;
        else if (sig || s[i] != '0') sig++;
    }
    return sig >= 16 || exp_digits >= 3;
}

/* Flag the numeral runs of s[0..n) that a double may round. */
static int scan_runs(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; ) {
        if (!is_numeral_byte(s[i])) { i++; continue; }
        size_t j = i;
        while (j < n && is_numeral_byte(s[j])) j++;
        if (is_wild(s + i, j - i)) return LAX_DOUBLE;
        i = j;
    }
    return 0;
}

/* Which of cJSON's documented leniencies could apply to d[0..n). */
static int leniencies(const uint8_t *d, size_t n)
{
    int lax = 0;
    uint8_t text[512];

    if (n >= 3 && d[0] == 0xEF && d[1] == 0xBB && d[2] == 0xBF) lax |= LAX_SYNTAX;
    for (size_t i = 0; i < n; ) {
        uint8_t c = d[i];
        if (c == '"') {                     /* a string: raw bytes, escapes, content */
            size_t t = 0;
            for (i++; i < n && d[i] != '"'; ) {
                uint8_t b = d[i];
                if (b < 0x20) lax |= LAX_SYNTAX;
                if (b == '\\' && i + 1 < n) {
                    if (d[i + 1] == 'u') {
                        int hex = i + 6 <= n;
                        unsigned v = 0;
                        for (size_t k = i + 2; hex && k < i + 6; k++) {
                            if (k >= n || !is_hex(d[k])) hex = 0;
                            else v = v << 4 | (unsigned)(is_digit(d[k]) ? d[k] - '0'
                                                                   : (d[k] | 0x20) - 'a' + 10);
                        }
                        if (!hex || v == 0) lax |= LAX_NUL;
                        b = hex && v < 0x80 ? (uint8_t)v : 'x';
                        i += hex ? 6 : 2;
                    } else {
                        b = d[i + 1];
                        i += 2;
                    }
                } else {
                    i++;
                }
                if (t < sizeof(text)) text[t++] = b;
            }
            i++;
            lax |= scan_runs(text, t);
            continue;
        }
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') lax |= LAX_SYNTAX;
        if (c == '-' || is_digit(c)) {      /* a bare number, as both read it */
            size_t j = i;
            while (j < n && is_numeral_byte(d[j])) j++;
            size_t sj = json_number_len(d + i, j - i), sc = strtod_len(d + i, j - i);
            if (sj != sc || sj == 0) lax |= LAX_SYNTAX;
            if (is_wild(d + i, j - i)) lax |= LAX_DOUBLE;
            i = j;
            continue;
        }
        i++;
    }
    return lax;
}

/* ------------------------------------------------------------------------
 * Checking
 * --------------------------------------------------------------------- */

static int decode_copy(int (*dec)(const char *, size_t, hf_flow *),
                       const uint8_t *d, size_t n, const char *tail, hf_flow *out)
{
    size_t t = strlen(tail);
    char *copy = malloc(n + t + 1);
    memcpy(copy, d, n);
    memcpy(copy + n, tail, t);
    memset(out, 0x5A, sizeof(*out));
    int st = dec(copy, n + t, out);
    free(copy);
    return st;
}

/* The statuses a double's rounding may change (LAX_DOUBLE): a flow's, or a
 * not-a-flow's that an options or template record reports instead. */
static int numeric_status(int st)
{
    return st == HF_DECODE_OK || st == HF_DECODE_BAD_NUMBER || st == HF_DECODE_BAD_TIME ||
           st == HF_DECODE_END_BEFORE_START || st == HF_DECODE_TIME_IN_SECONDS ||
           st == HF_DECODE_OPTIONS || st == HF_DECODE_TEMPLATE;
}

static int same_flow(const hf_flow *a, const hf_flow *b)
{
    return memcmp(a->src, b->src, 16) == 0 && memcmp(a->dst, b->dst, 16) == 0 &&
           a->start_ms == b->start_ms && a->end_ms == b->end_ms &&
           a->packets == b->packets && a->bytes == b->bytes && a->sport == b->sport &&
           a->dport == b->dport && a->proto == b->proto && a->tcp_flags == b->tcp_flags &&
           a->family == b->family && a->mark == b->mark;
}

static void fail(const char *what, int fs, int rs, const uint8_t *d, size_t n)
{
    fprintf(stderr, "fuzz_decode: %s: fast %s, cjson %s, input (%zu bytes): %.*s\n", what,
            hf_decode_reason_name(fs), hf_decode_reason_name(rs), n, (int)n, (const char *)d);
    abort();
}

/* ------------------------------------------------------------------------
 * A mutator that knows flow records
 * --------------------------------------------------------------------- */

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

static const char *const keys[] = {
    "ipfix.sourceIPv4Address", "ipfix.sourceIPv6Address", "ipfix.destinationIPv4Address",
    "ipfix.destinationIPv6Address", "ipfix.sourceTransportPort",
    "ipfix.destinationTransportPort", "ipfix.protocolIdentifier", "ipfix.packetDeltaCount",
    "ipfix.octetDeltaCount", "ipfix.flowStartMilliseconds", "ipfix.flowEndMilliseconds",
    "ipfix.tcpControlBits", "iana:sourceIPv4Address", "iana:sourceIPv6Address",
    "iana:destinationIPv4Address", "iana:destinationIPv6Address", "iana:sourceTransportPort",
    "iana:destinationTransportPort", "iana:protocolIdentifier", "iana:packetDeltaCount",
    "iana:octetDeltaCount", "iana:flowStartMilliseconds", "iana:flowEndMilliseconds",
    "iana:tcpControlBits", "src4_addr", "src6_addr", "dst4_addr", "dst6_addr", "src_port",
    "dst_port", "proto", "in_packets", "in_bytes", "first", "last", "tcp_flags",
    "src\\u005fport", "\\u0070roto", "iana\\u003aipTTL", "x",
    "@type", "iana:flowStartSeconds", "iana:flowEndSeconds", "iana:flowStartMicroseconds",
    "iana:flowEndNanoseconds", "iana:flowStartSysUpTime", "iana:flowEndSysUpTime",
    "iana:systemInitTimeMilliseconds", "iana:octetTotalCount", "iana:packetTotalCount",
    "iana@reverse:octetDeltaCount@reverse", "iana@reverse:packetDeltaCount@reverse",
    "iana@reverse:tcpControlBits@reverse", "iana@reverse:flowStartMilliseconds@reverse",
    "iana@reverse:flowEndSysUpTime@reverse", "iana@reverse:packetTotalCount@reverse",
    "en0:id8", "en0:id12", "en0:id1", "en0:id2", "en0:id4", "en0:id152", "en0:id153",
    "en0:id150", "en0:id22", "en0:id160", "en29305:id1", "en29305:id2", "en29305:id153",
    "en0:id08", "en29305:id8", "\\u0069ana@reverse:octetDeltaCount@reverse",
};

static const char *const values[] = {
    "0", "-0", "1", "6", "17", "255", "256", "65535", "65536", "-1", "1.0", "1.5", "0.5e1",
    "1e3", "1E+2", "150e-1", "1e-400", "1e400", "0.1e1", "9007199254740992",
    "9007199254740993", "9007199254740992.0", "253402300799999", "253402300800000",
    "1681216496789", "1.681216496789e12", "true", "false", "null", "{}", "[]", "[6]",
    "{\"a\":[1,{\"b\":null}]}", "\"\"", "\"6\"", "\"65535\"", "\"65536\"", "\"1e3\"",
    "\"-0\"", "\"TCP\"", "\"udp\"", "\"IPv6-ICMP\"", "\"ROHC\"", "\"Ip\"", "\".AP.S.\"",
    "\"...AP.S.\"", "\"CEUAPRSF\"", "\"........\"", "\"0x1b\"", "\"0XFF\"", "\"0x100\"",
    "\"0x\"", "\"2023-04-11T12:34:56.789\"", "\"2023-04-11 12:34:56,7Z\"",
    "\"2024-02-29T00:00:00+01:00\"", "\"2023-02-29T00:00:00Z\"",
    "\"1970-01-01T00:00:00.000Z\"", "\"1969-12-31T23:59:59.999Z\"",
    "\"9999-12-31T23:59:59.999999999Z\"", "\"2016-12-31T23:59:60Z\"",
    "\"2023-04-11T12:34:56.7891234567\"", "\"1681216496789\"", "\"192.0.2.1\"",
    "\"10.0.0.255\"", "\"0.0.0.0\"", "\"255.255.255.255\"", "\"192.0.2.256\"",
    "\"192.0.02.1\"", "\"2001:db8::1\"", "\"::\"", "\"::1\"", "\"::ffff:192.0.2.1\"",
    "\"2001:DB8:0:0:0:0:0:1\"", "\"fe80::1%eth0\"", "\"1:2:3:4:5:6:7:8:9\"",
    "\"19\\u0032.0.2.1\"", "\"\\u0036\"", "\"\\ud83d\\ude00\"", "\"\\u0000\"",
    "999999999", "1000000000", "1681216496", "\"1681216496\"", "9999999999", "10000000000",
    "1681216496.5", "\"ipfix.entry\"", "\"ipfix.optionsEntry\"", "\"ipfix.template\"",
    "\"ipfix.optionsTemplate\"", "\"2023-03-26T02:30:00\"", "\"2023-10-29T02:30:00\"",
    "1681216496788", "1681216495789", "4294967295", "253402300798999",
};

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33; x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

/* Replace data[at, at+old) by text; returns the new size (unchanged when
 * it would not fit). */
static size_t splice(uint8_t *data, size_t size, size_t max, size_t at, size_t old,
                     const char *text)
{
    size_t n = strlen(text);
    if (size - old + n > max) return size;
    memmove(data + at + n, data + at + old, size - at - old);
    memcpy(data + at, text, n);
    return size - old + n;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned seed)
{
    uint64_t r = mix(seed);
    const char *value = values[r % (sizeof(values) / sizeof(values[0]))];
    r = mix(r);

    if (r % 4 < 2 || size == 0) return LLVMFuzzerMutate(data, size, max);
    size_t start = (size_t)(r >> 8) % size, at = size;
    if (r % 4 == 2) {
        /* a member's value: from after a ':' to the next ',' or '}' */
        for (size_t i = 0; i < size; i++)
            if (data[(start + i) % size] == ':') { at = (start + i) % size + 1; break; }
        if (at == size) return LLVMFuzzerMutate(data, size, max);
        size_t e = at;
        while (e < size && data[e] != ',' && data[e] != '}') e++;
        return splice(data, size, max, at, e - at, value);
    }
    /* a new member after a '{' or ',' */
    char member[160];
    snprintf(member, sizeof(member), "\"%s\":%s,",
             keys[mix(r) % (sizeof(keys) / sizeof(keys[0]))], value);
    for (size_t i = 0; i < size; i++) {
        uint8_t c = data[(start + i) % size];
        if (c == '{' || c == ',') { at = (start + i) % size + 1; break; }
    }
    if (at == size) return LLVMFuzzerMutate(data, size, max);
    return splice(data, size, max, at, 0, member);
}

/* ------------------------------------------------------------------------
 * The target
 * --------------------------------------------------------------------- */

/* hf_decode_record() against hf_decode_record_cjson() under ctx: the same
 * status (within the leniencies), and when OK the same notes and flows,
 * each within the contract. */
static void check_record(const hf_decode_ctx *ctx, const uint8_t *data, size_t size)
{
    hf_flow fast[2], ref[2];
    unsigned fn = 0, rn = 0;
    char *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    int fs = hf_decode_record(ctx, copy, size, fast, &fn);
    int rs = hf_decode_record_cjson(ctx, copy, size, ref, &rn);
    /* again, with this record's keys remembered (decode.c, "Keys seen
     * before"): the same outcome, byte for byte */
    hf_flow twice[2];
    unsigned tn = 0;
    memset(twice, 0, sizeof twice);
    if (hf_decode_record(ctx, copy, size, twice, &tn) != fs ||
        (fs == HF_DECODE_OK && (tn != fn || memcmp(&twice[0], &fast[0], sizeof fast[0]) != 0 ||
                                ((fn & HF_DECODE_TWO) && memcmp(&twice[1], &fast[1], sizeof fast[1]) != 0))))
        fail("record: a second decode, its keys remembered, differs", fs, rs, data, size);
    free(copy);
    int lax = leniencies(data, size);
    if (fs == HF_DECODE_OK) {
        for (int i = 0; i < ((fn & HF_DECODE_TWO) ? 2 : 1); i++)
            if ((fast[i].family != HF_AF_INET && fast[i].family != HF_AF_INET6) || fast[i].mark ||
                fast[i].end_ms < fast[i].start_ms || fast[i].start_ms < 0 ||
                fast[i].packets > 9007199254740992.0 || fast[i].bytes > 9007199254740992.0)
                fail("record: a flow breaks the contract", fs, rs, data, size);
    }
    if (fs == rs) {
        if (fs != HF_DECODE_OK || (lax & (LAX_NUL | LAX_DOUBLE))) return;
        if (fn != rn || !same_flow(&fast[0], &ref[0]) ||
            ((fn & HF_DECODE_TWO) && !same_flow(&fast[1], &ref[1])))
            fail("record: flows or notes differ", fs, rs, data, size);
        return;
    }
    if (lax & LAX_NUL) return;
    if ((lax & LAX_SYNTAX) && fs == HF_DECODE_MALFORMED) return;
    if ((lax & LAX_DOUBLE) && numeric_status(fs) && numeric_status(rs)) return;
    fail("record: statuses differ", fs, rs, data, size);
}

static hf_tz *prague;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];
    (void)argc;
    (void)argv;
    prague = hf_tz_load("Europe/Prague", err, sizeof err);   /* NULL without tzdata: UTC */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const hf_decode_ctx skew = {NULL, 1000}, local = {prague, 5};
    check_record(&skew, data, size);
    check_record(&local, data, size);

    hf_flow fast, ref, again;

    int fs = decode_copy(hf_decode_flow, data, size, "", &fast);
    int rs = decode_copy(hf_decode_flow_cjson, data, size, "", &ref);

    if (fs < 0 || fs >= HF_DECODE_REASONS) fail("status out of range", fs, rs, data, size);
    if (decode_copy(hf_decode_flow, data, size, "", &again) != fs ||
        (fs == HF_DECODE_OK && memcmp(&again, &fast, sizeof fast) != 0))
        fail("a second decode, its keys remembered, differs", fs, rs, data, size);
    if (fs == HF_DECODE_OK) {
        if ((fast.family != HF_AF_INET && fast.family != HF_AF_INET6) || fast.mark != 0 ||
            fast.end_ms < fast.start_ms || fast.packets > 9007199254740992.0 ||
            fast.bytes > 9007199254740992.0 || fast.start_ms < 0)
            fail("flow breaks the contract", fs, rs, data, size);
    }

    if (decode_copy(hf_decode_flow, data, size, "\n", &again) != fs ||
        decode_copy(hf_decode_flow, data, size, "\r\n", &again) != fs)
        fail("a trailing newline changes the status", fs, rs, data, size);

    if (fs == rs) {
        if (fs == HF_DECODE_OK && !same_flow(&fast, &ref) && !(leniencies(data, size) & LAX_NUL))
            fail("flows differ", fs, rs, data, size);
        return 0;
    }

    int lax = leniencies(data, size);
    if (lax & LAX_NUL) return 0;
    if ((lax & LAX_SYNTAX) && fs == HF_DECODE_MALFORMED) return 0;
    if ((lax & LAX_DOUBLE) && numeric_status(fs) && numeric_status(rs)) return 0;
    fail("statuses differ", fs, rs, data, size);
    return 0;
}
