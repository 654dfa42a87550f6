/* decode_cjson.c -- the reference flow decoder, through a cJSON tree.
 *
 * hf_decode_flow_cjson() keeps the contract of hf_decode_flow() (decode.h)
 * and is written the plain way, so that the two can be tested against each
 * other (tests/unit/test_decode.c, tests/fuzz/fuzz_decode.c) and the fast one
 * measured against it (tests/tools/bench_decode.c):
 *
 *   1. cJSON parses the line into a tree.  cJSON_ParseWithLengthOpts() with
 *      require_null_terminated would demand a NUL inside the buffer, which a
 *      line read from a file does not have; so it is called without, and
 *      the bytes after the value it returns are checked to be white space.
 *   2. The tree is refused when nested deeper than 64 (cJSON allows 1000).
 *   3. The members are walked in order; each known key points its field at
 *      the member, so that the last of duplicate keys wins.
 *   4. Each field is converted from its cJSON item with the C library
 *      (strtod, strcmp) and the record checked in the order of the reasons.
 *
 * Where cJSON 1.7 itself parses differently, the two decoders differ.  These
 * are the only differences the differential fuzzer tolerates:
 *
 *   - cJSON takes every byte 0x00..0x20 for white space between tokens, and
 *     a UTF-8 byte order mark before the value; strict JSON takes only
 *     space, tab, CR and LF.                          (fast: malformed_json)
 *   - cJSON accepts raw control bytes (tab, newline, NUL, ...) inside
 *     strings.                                        (fast: malformed_json)
 *   - cJSON accepts numbers with leading zeros ("01"), a bare point ("1.",
 *     "1.e5") or no integer digit ("-.5").            (fast: malformed_json)
 *   - cJSON decodes a \u escape with bad hex digits ("\u00zz"), like
 *     \u0000, to a NUL, which ends its C string: the key or value it sees is
 *     cut there, and any result may differ.  (fast: malformed_json for bad
 *     hex; for \u0000 the fast decoder keeps the NUL in the text)
 *   - cJSON rounds every number to a double before it can be checked, so a
 *     numeral with more than 15 significant digits or a large exponent may
 *     be judged by its rounded value ("9007199254740993" passes as 2^53,
 *     "1e-400" as 0, "1.0000000000000000001" as 1); the fast decoder is exact.
 *     Numeric strings get the same treatment here (strtod).
 *
 * Not differences: duplicate keys (both keep the last), key case (both
 * exact), nesting (both 64), bytes >= 0x80 (neither checks UTF-8).
 *
 * cJSON allocates a tree per line and keeps a global error position, so this
 * decoder is slow and not for concurrent use: tests and benchmarks only. */
#include "support/decode_cjson.h"
#include "stream/decode.h"

#include <cjson/cJSON.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>

#include "base/addr.h"
#include "base/timefmt.h"

#define REF_MAX_DEPTH 64
#define REF_MAX_TEXT  255
#define REF_MAX_MS    253402300799999.0
#define REF_EXACT_MAX 9007199254740992.0   /* 2^53 */

/* ------------------------------------------------------------------------
 * Fields and keys
 * --------------------------------------------------------------------- */

enum {
    R_SRC4, R_SRC6, R_DST4, R_DST6, R_SPORT, R_DPORT, R_PROTO, R_FLAGS,
    R_PACKETS, R_BYTES, R_START, R_END, R_COUNT
};

typedef struct key_name {
    const char *name;
    int field;
} key_name;

/* IPFIX element names, after "ipfix." (IPFIXcol) or "iana:" (IPFIXcol2). */
static const key_name ie_keys[] = {
    {"sourceIPv4Address", R_SRC4},        {"sourceIPv6Address", R_SRC6},
    {"destinationIPv4Address", R_DST4},   {"destinationIPv6Address", R_DST6},
    {"sourceTransportPort", R_SPORT},     {"destinationTransportPort", R_DPORT},
    {"protocolIdentifier", R_PROTO},      {"tcpControlBits", R_FLAGS},
    {"packetDeltaCount", R_PACKETS},      {"octetDeltaCount", R_BYTES},
    {"flowStartMilliseconds", R_START},   {"flowEndMilliseconds", R_END},
};

/* nfdump -o json. */
static const key_name nfdump_keys[] = {
    {"src4_addr", R_SRC4},   {"src6_addr", R_SRC6},
    {"dst4_addr", R_DST4},   {"dst6_addr", R_DST6},
    {"src_port", R_SPORT},   {"dst_port", R_DPORT},
    {"proto", R_PROTO},      {"tcp_flags", R_FLAGS},
    {"in_packets", R_PACKETS}, {"in_bytes", R_BYTES},
    {"first", R_START},      {"last", R_END},
};

#define NKEYS(t) (sizeof(t) / sizeof((t)[0]))

/* The field a key names, or -1. */
static int field_of(const char *key)
{
    const key_name *t = nfdump_keys;
    size_t n = NKEYS(nfdump_keys);
    size_t prefix = strncmp(key, "ipfix.", 6) == 0 ? 6 : strncmp(key, "iana:", 5) == 0 ? 5 : 0;

    if (prefix) {
        key += prefix;
        t = ie_keys;
        n = NKEYS(ie_keys);
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(key, t[i].name) == 0) return t[i].field;
    return -1;
}

/* ------------------------------------------------------------------------
 * Values
 * --------------------------------------------------------------------- */

/* Containers nested in item, item included. */
static int depth_of(const cJSON *item)
{
    int deepest = 0;
    if (!cJSON_IsObject(item) && !cJSON_IsArray(item)) return 0;
    for (const cJSON *c = item->child; c; c = c->next) {
        int d = depth_of(c);
        if (d > deepest) deepest = d;
    }
    return deepest + 1;
}

/* 0 and *v when d is an integer in 0..max; else -1. */
static int from_double(double d, double max, double *v)
{
    if (!(d >= 0) || d > max || d != floor(d)) return -1;   /* NaN fails d >= 0 */
    *v = d + 0.0;                                           /* -0 becomes 0 */
    return 0;
}

/* Does s follow the JSON number grammar, all of it? */
static int is_json_number(const char *s)
{
    if (*s == '-') s++;
    if (*s == '0') s++;
    else if (*s >= '1' && *s <= '9') while (*s >= '0' && *s <= '9') s++;
    else return 0;
    if (*s == '.') {
        if (!(*++s >= '0' && *s <= '9')) return 0;
        while (*s >= '0' && *s <= '9') s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-') s++;
        if (!(*s >= '0' && *s <= '9')) return 0;
        while (*s >= '0' && *s <= '9') s++;
    }
    return *s == '\0';
}

/* A string holding a JSON number, through strtod() as cJSON reads numbers
 * (the decimal point swapped for the locale's).  0 and *d, or -1. */
static int number_from_text(const char *s, double *d)
{
    char buf[REF_MAX_TEXT + 1];
    size_t n = strlen(s);
    if (n > REF_MAX_TEXT || !is_json_number(s)) return -1;
    memcpy(buf, s, n + 1);
    char *dot = strchr(buf, '.');
    if (dot) *dot = localeconv()->decimal_point[0];
    *d = strtod(buf, NULL);
    return 0;
}

/* TCP flags text: "0x" and hex digits, or flag letters and dots. */
static int flags_from_text(const char *s, double *v)
{
    static const char letters[] = "FSRPAUEC";      /* bit 0 .. bit 7 */
    unsigned bits = 0;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && s[2]) {
        if (strspn(s + 2, "0123456789abcdefABCDEF") != strlen(s + 2)) return -1;
        for (s += 2; *s; s++) {
            bits = bits * 16 + (unsigned)(*s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10);
            if (bits > 255) return -1;
        }
    } else {
        if (!*s) return -1;
        for (; *s; s++) {
            const char *l = strchr(letters, *s);
            if (*s != '.' && l == NULL) return -1;
            if (l) bits |= 1u << (l - letters);
        }
    }
    *v = bits;
    return 0;
}

/* The value of item for numeric field f (an integer in 0..max), or -1. */
static int number_of(const cJSON *item, int f, double max, double *v)
{
    double d;
    if (cJSON_IsNumber(item)) return from_double(item->valuedouble, max, v);
    if (!cJSON_IsString(item)) return -1;

    const char *s = item->valuestring;
    if (strlen(s) > REF_MAX_TEXT) return -1;
    if (number_from_text(s, &d) == 0) return from_double(d, max, v);
    if (f == R_PROTO) {
        int p = hf_decode_proto_number(s, strlen(s));
        if (p < 0) return -1;
        *v = p;
        return 0;
    }
    if (f == R_FLAGS) return flags_from_text(s, v);
    if (f == R_START || f == R_END) {
        int64_t ms;
        if (hf_time_parse_iso(s, strlen(s), &ms) != 0) return -1;
        *v = (double)ms;
        return 0;
    }
    return -1;
}

/* The address of item for a field of family want into a[16], or -1. */
static int address_of(const cJSON *item, uint8_t want, uint8_t a[16])
{
    uint8_t fam;
    if (!cJSON_IsString(item)) return -1;
    size_t n = strlen(item->valuestring);
    if (n > REF_MAX_TEXT || hf_addr_parse(item->valuestring, n, a, &fam) != 0) return -1;
    return fam == want ? 0 : -1;
}

/* ------------------------------------------------------------------------
 * The decoder
 * --------------------------------------------------------------------- */

/* The record in object root, with the fields' items found, into out. */
static int decode_fields(const cJSON *item[R_COUNT], hf_flow *out)
{
    static const double max[R_COUNT] = {
        0, 0, 0, 0, 65535, 65535, 255, 255,
        REF_EXACT_MAX, REF_EXACT_MAX, REF_MAX_MS, REF_MAX_MS,
    };
    double v[R_COUNT] = {0};
    int bad_number = 0, bad_time = 0;

    if ((!item[R_SRC4] && !item[R_SRC6]) || (!item[R_DST4] && !item[R_DST6]) ||
        !item[R_PROTO] || !item[R_PACKETS] || !item[R_BYTES] ||
        !item[R_START] || !item[R_END])
        return HF_DECODE_MISSING_FIELD;

    if ((item[R_SRC4] && item[R_SRC6]) || (item[R_DST4] && item[R_DST6]) ||
        (item[R_SRC4] != NULL) != (item[R_DST4] != NULL))
        return HF_DECODE_BAD_ADDRESS;
    int v4 = item[R_SRC4] != NULL;
    uint8_t fam = v4 ? HF_AF_INET : HF_AF_INET6;
    if (address_of(item[v4 ? R_SRC4 : R_SRC6], fam, out->src) != 0 ||
        address_of(item[v4 ? R_DST4 : R_DST6], fam, out->dst) != 0)
        return HF_DECODE_BAD_ADDRESS;

    for (int f = R_SPORT; f < R_COUNT; f++) {
        if (item[f] && number_of(item[f], f, max[f], &v[f]) != 0) {
            if (f == R_START || f == R_END) bad_time = 1;
            else bad_number = 1;
        }
    }
    if (bad_number) return HF_DECODE_BAD_NUMBER;
    if (bad_time) return HF_DECODE_BAD_TIME;
    if (v[R_END] < v[R_START]) return HF_DECODE_END_BEFORE_START;

    out->family = fam;
    out->mark = 0;
    out->sport = (uint16_t)v[R_SPORT];
    out->dport = (uint16_t)v[R_DPORT];
    out->proto = (uint8_t)v[R_PROTO];
    out->tcp_flags = (uint8_t)v[R_FLAGS];
    out->packets = v[R_PACKETS];
    out->bytes = v[R_BYTES];
    out->start_ms = v[R_START];
    out->end_ms = v[R_END];
    return HF_DECODE_OK;
}

int hf_decode_flow_cjson(const char *line, size_t len, hf_flow *out)
{
    const char *end = NULL;
    const cJSON *item[R_COUNT] = {0};
    int status;

    cJSON *root = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    if (root == NULL) return HF_DECODE_MALFORMED;

    /* Only white space may follow the value (cJSON stops right after it). */
    for (; end < line + len; end++) {
        if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
            status = HF_DECODE_MALFORMED;
            goto done;
        }
    }
    if (depth_of(root) > REF_MAX_DEPTH) {
        status = HF_DECODE_MALFORMED;
        goto done;
    }
    if (!cJSON_IsObject(root)) {
        status = HF_DECODE_NOT_OBJECT;
        goto done;
    }
    for (const cJSON *c = root->child; c; c = c->next) {
        int f = field_of(c->string);
        if (f >= 0) item[f] = c;                   /* the last one wins */
    }
    status = decode_fields(item, out);
done:
    cJSON_Delete(root);
    return status;
}
