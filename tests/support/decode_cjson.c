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
 *   3. The members are walked in order; each known key (looked up in
 *      tables by name, "ipfix." / "iana:" / "iana@reverse:...@reverse" /
 *      "en0:idN" / "en29305:idN" / nfdump) points its field at the member,
 *      so that the last of duplicate keys wins, and adds its family.
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
#include "base/tz.h"

#define REF_MAX_DEPTH 64
#define REF_MAX_TEXT  255
#define REF_MAX_MS    253402300799999.0
#define REF_EXACT_MAX 9007199254740992.0   /* 2^53 */

/* ------------------------------------------------------------------------
 * Fields and keys
 * --------------------------------------------------------------------- */

enum {
    R_SRC4, R_SRC6, R_DST4, R_DST6, R_SPORT, R_DPORT, R_PROTO, R_FLAGS,
    R_PACKETS, R_BYTES, R_START, R_END,
    R_PACKETS_TOTAL, R_BYTES_TOTAL, R_UP_START, R_UP_END, R_INIT,
    R_RFLAGS, R_RPACKETS, R_RBYTES, R_RPACKETS_TOTAL, R_RBYTES_TOTAL,
    R_RSTART, R_REND, R_RUP_START, R_RUP_END,
    R_TYPE, R_COUNT
};

enum { FAM_NONE, FAM_IPFIXCOL, FAM_IPFIXCOL2, FAM_NFDUMP };

typedef struct key_name {
    const char *name;
    int field;
    int seconds;     /* a ...Seconds time: numbers of 10^9..10^10 are seconds */
} key_name;

/* IPFIX element names, after "ipfix." (IPFIXcol) or "iana:" (IPFIXcol2). */
static const key_name ie_keys[] = {
    {"sourceIPv4Address", R_SRC4, 0},        {"sourceIPv6Address", R_SRC6, 0},
    {"destinationIPv4Address", R_DST4, 0},   {"destinationIPv6Address", R_DST6, 0},
    {"sourceTransportPort", R_SPORT, 0},     {"destinationTransportPort", R_DPORT, 0},
    {"protocolIdentifier", R_PROTO, 0},      {"tcpControlBits", R_FLAGS, 0},
    {"packetDeltaCount", R_PACKETS, 0},      {"octetDeltaCount", R_BYTES, 0},
    {"packetTotalCount", R_PACKETS_TOTAL, 0}, {"octetTotalCount", R_BYTES_TOTAL, 0},
    {"flowStartMilliseconds", R_START, 0},   {"flowEndMilliseconds", R_END, 0},
    {"flowStartSeconds", R_START, 1},        {"flowEndSeconds", R_END, 1},
    {"flowStartMicroseconds", R_START, 0},   {"flowEndMicroseconds", R_END, 0},
    {"flowStartNanoseconds", R_START, 0},    {"flowEndNanoseconds", R_END, 0},
    {"flowStartSysUpTime", R_UP_START, 0},   {"flowEndSysUpTime", R_UP_END, 0},
    {"systemInitTimeMilliseconds", R_INIT, 0},
};

/* The same elements by IANA number (IPFIXcol2's numericNames "en0:idN"). */
static const struct { unsigned id; const char *name; } ie_ids[] = {
    {1, "octetDeltaCount"}, {2, "packetDeltaCount"}, {4, "protocolIdentifier"},
    {6, "tcpControlBits"}, {7, "sourceTransportPort"}, {8, "sourceIPv4Address"},
    {11, "destinationTransportPort"}, {12, "destinationIPv4Address"},
    {21, "flowEndSysUpTime"}, {22, "flowStartSysUpTime"}, {27, "sourceIPv6Address"},
    {28, "destinationIPv6Address"}, {85, "octetTotalCount"}, {86, "packetTotalCount"},
    {150, "flowStartSeconds"}, {151, "flowEndSeconds"}, {152, "flowStartMilliseconds"},
    {153, "flowEndMilliseconds"}, {154, "flowStartMicroseconds"}, {155, "flowEndMicroseconds"},
    {156, "flowStartNanoseconds"}, {157, "flowEndNanoseconds"},
    {160, "systemInitTimeMilliseconds"},
};

/* The reverse direction's field of a forward one (biflow), or -1. */
static int reverse_field(int f)
{
    switch (f) {
    case R_FLAGS: return R_RFLAGS;
    case R_PACKETS: return R_RPACKETS;
    case R_BYTES: return R_RBYTES;
    case R_PACKETS_TOTAL: return R_RPACKETS_TOTAL;
    case R_BYTES_TOTAL: return R_RBYTES_TOTAL;
    case R_START: return R_RSTART;
    case R_END: return R_REND;
    case R_UP_START: return R_RUP_START;
    case R_UP_END: return R_RUP_END;
    default: return -1;
    }
}

/* nfdump -o json. */
static const key_name nfdump_keys[] = {
    {"src4_addr", R_SRC4, 0},   {"src6_addr", R_SRC6, 0},
    {"dst4_addr", R_DST4, 0},   {"dst6_addr", R_DST6, 0},
    {"src_port", R_SPORT, 0},   {"dst_port", R_DPORT, 0},
    {"proto", R_PROTO, 0},      {"tcp_flags", R_FLAGS, 0},
    {"in_packets", R_PACKETS, 0}, {"in_bytes", R_BYTES, 0},
    {"first", R_START, 0},      {"last", R_END, 0},
};

#define NKEYS(t) (sizeof(t) / sizeof((t)[0]))

static const key_name *find_key(const key_name *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, t[i].name) == 0) return &t[i];
    return NULL;
}

/* The field a key names, or -1; *fam its family, *secs its unit. */
static int field_of(const char *key, int *fam, int *secs)
{
    const key_name *k = NULL;
    int rev = 0;
    *fam = FAM_NONE;
    *secs = 0;
    if (strcmp(key, "@type") == 0) return R_TYPE;
    if (strncmp(key, "ipfix.", 6) == 0) {
        *fam = FAM_IPFIXCOL;
        k = find_key(ie_keys, NKEYS(ie_keys), key + 6);
    } else if (strncmp(key, "iana:", 5) == 0) {
        *fam = FAM_IPFIXCOL2;
        k = find_key(ie_keys, NKEYS(ie_keys), key + 5);
    } else if (strncmp(key, "iana@reverse:", 13) == 0) {
        char name[64];
        size_t n = strlen(key + 13);
        if (n <= 8 || n - 8 >= sizeof name || strcmp(key + 13 + n - 8, "@reverse") != 0) return -1;
        memcpy(name, key + 13, n - 8);
        name[n - 8] = '\0';
        *fam = FAM_IPFIXCOL2;
        k = find_key(ie_keys, NKEYS(ie_keys), name);
        rev = 1;
    } else if (strncmp(key, "en0:id", 6) == 0 || strncmp(key, "en29305:id", 10) == 0) {
        const char *d = key + (key[2] == '0' ? 6 : 10);
        size_t n = strlen(d);
        if (n == 0 || n > 3 || d[0] == '0' || strspn(d, "0123456789") != n) return -1;
        unsigned id = (unsigned)atoi(d);
        for (size_t i = 0; i < NKEYS(ie_ids); i++)
            if (ie_ids[i].id == id) k = find_key(ie_keys, NKEYS(ie_keys), ie_ids[i].name);
        *fam = FAM_IPFIXCOL2;
        rev = key[2] != '0';
    } else {
        *fam = FAM_NFDUMP;
        k = find_key(nfdump_keys, NKEYS(nfdump_keys), key);
    }
    if (!k) return -1;
    *secs = k->seconds;
    return rev ? reverse_field(k->field) : k->field;
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
    if (f == R_FLAGS || f == R_RFLAGS) return flags_from_text(s, v);
    return -1;
}

static int is_abs_time(int f)
{
    return f == R_START || f == R_END || f == R_INIT || f == R_RSTART || f == R_REND;
}

static int is_time(int f)
{
    return is_abs_time(f) || f == R_UP_START || f == R_UP_END || f == R_RUP_START || f == R_RUP_END;
}

/* A time field's value: 0 and *v, -1 (bad_time) or -2 (time_in_seconds). */
static int time_of_item(const hf_decode_ctx *ctx, const cJSON *item, int f, int secs, double *v)
{
    double d;
    int have = 0;
    if (cJSON_IsNumber(item)) {
        d = item->valuedouble;
        have = 1;
    } else if (cJSON_IsString(item)) {
        const char *s = item->valuestring;
        if (strlen(s) > REF_MAX_TEXT) return -1;
        if (number_from_text(s, &d) == 0) {
            have = 1;
        } else {
            int64_t ms;
            if (!is_abs_time(f) || hf_time_parse_iso_tz(s, strlen(s), ctx->tz, &ms) != 0) return -1;
            *v = (double)ms;
            return 0;
        }
    }
    if (!have) return -1;
    if (is_abs_time(f) && d >= 1e9 && d < 1e10 && d == floor(d)) {
        if (!secs) return -2;
        d *= 1000;
    }
    return from_double(d, REF_MAX_MS, v);
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

/* The start or end of a direction: its absolute time, else init + uptime. */
static int combine(const cJSON *item[R_COUNT], const double v[R_COUNT], int abs, int up, double *t)
{
    if (item[abs]) {
        *t = v[abs];
        return 0;
    }
    *t = v[R_INIT] + v[up];
    return *t <= REF_MAX_MS ? 0 : -1;
}

/* The record, with the fields' items found, into out (and rev). */
static int decode_fields(const hf_decode_ctx *ctx, const cJSON *item[R_COUNT],
                         const int secs[R_COUNT], int fams, hf_flow *out, hf_flow *rev,
                         unsigned *notes)
{
    static const double max[R_COUNT] = {
        0, 0, 0, 0, 65535, 65535, 255, 255,
        REF_EXACT_MAX, REF_EXACT_MAX, REF_MAX_MS, REF_MAX_MS,
        REF_EXACT_MAX, REF_EXACT_MAX, REF_MAX_MS, REF_MAX_MS, REF_MAX_MS,
        255, REF_EXACT_MAX, REF_EXACT_MAX, REF_EXACT_MAX, REF_EXACT_MAX,
        REF_MAX_MS, REF_MAX_MS, REF_MAX_MS, REF_MAX_MS, 0,
    };
    double v[R_COUNT] = {0};
    int bad_number = 0, bad_time = 0, in_seconds = 0;
    int two = item[R_RPACKETS] || item[R_RBYTES] || item[R_RPACKETS_TOTAL] || item[R_RBYTES_TOTAL];

    if (fams & (fams - 1)) return HF_DECODE_MIXED_FAMILIES;
    if ((!item[R_SRC4] && !item[R_SRC6]) || (!item[R_DST4] && !item[R_DST6]) ||
        !item[R_PROTO] || (!item[R_PACKETS] && !item[R_PACKETS_TOTAL]) ||
        (!item[R_BYTES] && !item[R_BYTES_TOTAL]) || (!item[R_START] && !item[R_UP_START]) ||
        (!item[R_END] && !item[R_UP_END]) ||
        (two && ((!item[R_RPACKETS] && !item[R_RPACKETS_TOTAL]) ||
                 (!item[R_RBYTES] && !item[R_RBYTES_TOTAL]))))
        return HF_DECODE_MISSING_FIELD;
    if (!item[R_INIT] && ((!item[R_START] && item[R_UP_START]) || (!item[R_END] && item[R_UP_END]) ||
                          (!item[R_RSTART] && item[R_RUP_START]) || (!item[R_REND] && item[R_RUP_END])))
        return HF_DECODE_NO_INIT_TIME;

    if ((item[R_SRC4] && item[R_SRC6]) || (item[R_DST4] && item[R_DST6]) ||
        (item[R_SRC4] != NULL) != (item[R_DST4] != NULL))
        return HF_DECODE_BAD_ADDRESS;
    int v4 = item[R_SRC4] != NULL;
    uint8_t fam = v4 ? HF_AF_INET : HF_AF_INET6;
    if (address_of(item[v4 ? R_SRC4 : R_SRC6], fam, out->src) != 0 ||
        address_of(item[v4 ? R_DST4 : R_DST6], fam, out->dst) != 0)
        return HF_DECODE_BAD_ADDRESS;

    for (int f = R_SPORT; f < R_TYPE; f++) {
        if (!item[f]) continue;
        if (is_time(f)) {
            int rc = time_of_item(ctx, item[f], f, secs[f], &v[f]);
            if (rc == -1) bad_time = 1;
            if (rc == -2) in_seconds = 1;
        } else if (number_of(item[f], f, max[f], &v[f]) != 0) {
            bad_number = 1;
        }
    }
    if (bad_number) return HF_DECODE_BAD_NUMBER;
    if (bad_time) return HF_DECODE_BAD_TIME;
    if (in_seconds) return HF_DECODE_TIME_IN_SECONDS;
    double start, end, rstart = 0, rend = 0;
    bad_time |= combine(item, v, R_START, R_UP_START, &start) != 0;
    bad_time |= combine(item, v, R_END, R_UP_END, &end) != 0;
    if (two) {
        if (item[R_RSTART] || item[R_RUP_START]) bad_time |= combine(item, v, R_RSTART, R_RUP_START, &rstart) != 0;
        else rstart = start;
        if (item[R_REND] || item[R_RUP_END]) bad_time |= combine(item, v, R_REND, R_RUP_END, &rend) != 0;
        else rend = end;
    }
    if (bad_time) return HF_DECODE_BAD_TIME;            /* init + uptime after 9999 */
    *notes = 0;
    if (end < start) {
        if (start - end > (double)ctx->max_skew_ms) return HF_DECODE_END_BEFORE_START;
        start = end;
        *notes |= HF_DECODE_CLAMPED;
    }
    if (two && rend < rstart) {
        if (rstart - rend > (double)ctx->max_skew_ms) return HF_DECODE_END_BEFORE_START;
        rstart = rend;
        if (rev) *notes |= HF_DECODE_CLAMPED2;
    }

    out->family = fam;
    out->mark = 0;
    out->sport = (uint16_t)v[R_SPORT];
    out->dport = (uint16_t)v[R_DPORT];
    out->proto = (uint8_t)v[R_PROTO];
    out->tcp_flags = (uint8_t)v[R_FLAGS];
    out->packets = item[R_PACKETS] ? v[R_PACKETS] : v[R_PACKETS_TOTAL];
    out->bytes = item[R_BYTES] ? v[R_BYTES] : v[R_BYTES_TOTAL];
    out->start_ms = start;
    out->end_ms = end;

    double rpackets = item[R_RPACKETS] ? v[R_RPACKETS] : v[R_RPACKETS_TOTAL];
    if (!two || !rev || rpackets == 0) {
        *notes &= ~HF_DECODE_CLAMPED2;
        return HF_DECODE_OK;
    }
    memcpy(rev->src, out->dst, 16);
    memcpy(rev->dst, out->src, 16);
    rev->family = fam;
    rev->mark = 0;
    rev->sport = out->dport;
    rev->dport = out->sport;
    rev->proto = out->proto;
    rev->tcp_flags = (uint8_t)v[R_RFLAGS];
    rev->packets = rpackets;
    rev->bytes = item[R_RBYTES] ? v[R_RBYTES] : v[R_RBYTES_TOTAL];
    rev->start_ms = rstart;
    rev->end_ms = rend;
    *notes |= HF_DECODE_TWO;
    return HF_DECODE_OK;
}

int hf_decode_record_cjson(const hf_decode_ctx *ctx, const char *line, size_t len, hf_flow out[2],
                           unsigned *notes)
{
    const char *end = NULL;
    const cJSON *item[R_COUNT] = {0};
    int secs[R_COUNT] = {0};
    int status, fams = 0;

    *notes = 0;
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
        int fam, sec, f = field_of(c->string, &fam, &sec);
        if (f < 0) continue;
        item[f] = c;                               /* the last one wins */
        secs[f] = sec;
        if (fam != FAM_NONE) fams |= 1 << (fam - 1);
    }
    status = decode_fields(ctx, item, secs, fams, &out[0], &out[1], notes);
    if (status != HF_DECODE_OK && item[R_TYPE] && cJSON_IsString(item[R_TYPE])) {
        const char *t = item[R_TYPE]->valuestring;        /* not a flow: options, template? */
        if (strcmp(t, "ipfix.optionsEntry") == 0) status = HF_DECODE_OPTIONS;
        if (strcmp(t, "ipfix.template") == 0 || strcmp(t, "ipfix.optionsTemplate") == 0)
            status = HF_DECODE_TEMPLATE;
    }
done:
    cJSON_Delete(root);
    return status;
}

/* hf_decode_flow()'s contract: UTC, no skew, the forward direction. */
int hf_decode_flow_cjson(const char *line, size_t len, hf_flow *out)
{
    static const hf_decode_ctx strict = {NULL, 0};
    hf_flow two[2];
    unsigned notes;
    int rc = hf_decode_record_cjson(&strict, line, len, two, &notes);
    if (rc == HF_DECODE_OK) *out = two[0];
    return rc;
}
