/* decode.c -- one JSON flow record into an hf_flow, in a single pass.
 *
 * This is the hot path of hostflow: every flow read from Kafka or a file goes
 * through hf_decode_flow() once.  A flow record is a flat JSON object of a
 * few dozen members of which a dozen matter, so the decoder does not build a
 * tree: it walks the bytes once, left to right, and
 *
 *   - validates everything it walks over, as strict RFC 8259 JSON (no raw
 *     control bytes in strings, only the escapes JSON has, \u surrogates in
 *     pairs, no leading zeros, only space/tab/CR/LF as white space), so that
 *     a damaged line is always "malformed_json" and never half-decoded;
 *   - matches each key by its family prefix, its length and one memcmp()
 *     (match_key), never by a chain of strcmp();
 *   - skips the value of an unknown key, nested objects and arrays included
 *     (at most DECODE_MAX_DEPTH deep), checking it as it goes;
 *   - converts the value of a known key on the spot and keeps the result in
 *     a small state, so that a later duplicate simply overwrites it (the last
 *     one wins, as in most JSON readers).
 *
 * Strings are scanned sixteen bytes at a time with SSE2 (three compares and a
 * movemask find the first '"', '\\' or control byte), else eight at a time in
 * a 64-bit word (string_stops).  A string with an escape is unescaped into a
 * stack buffer, the only copy ever made: keys so that they can be matched,
 * values so that they can be converted.
 *
 * Where the time goes, on the synthetic mix of tests/tools/bench_decode.c
 * (about 500 bytes and 20 members a line): roughly two thirds walking and
 * checking the JSON, one third converting the dozen values that matter
 * (addresses, ISO 8601 times).  Reading a whole 64-byte window per member,
 * or digits eight at a time, measured slower than this simple loop.
 *
 * Keys are those of three families (DESIGN.md): IPFIXcol's "ipfix.name",
 * IPFIXcol2's "iana:name" (with numericNames "en0:idN", and a biflow's
 * reverse direction as "iana@reverse:name@reverse" or "en29305:idN") and
 * nfdump's; match_key() says which field, which family and whether the
 * element counts in seconds.  The common keys are matched inline; the rare
 * spellings (reverse, numeric) out of line.  Known keys of two families in
 * one record are refused (mixed_families) rather than merged.
 *
 * Once the object is closed and nothing but white space follows, the state
 * is checked and the flow (two for a biflow) filled in.  A record with several faults reports
 * the first of them in the order of enum hf_decode_status:
 *
 *     malformed_json < not_object < options_record, template_record
 *       < mixed_families < missing_field < no_init_time < bad_address
 *       < bad_number < bad_time < time_in_seconds < end_before_start
 *
 * Numbers are exact: "1.0", "1e3" and "150e-1" are integers, "1.5" and
 * 9007199254740993 (2^53 + 1) are not accepted, whatever a double would make
 * of them.  Text values of known fields (addresses, numbers in quotes, ISO
 * 8601 times, "TCP", ".AP.S.", "0x1b") are at most DECODE_MAX_TEXT bytes.
 *
 * The decoder never allocates, never reads outside [line, line + len) and
 * keeps no state between calls: it is safe on any bytes and on any thread. */
#include "stream/decode.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/addr.h"
#include "base/timefmt.h"
#include "base/tz.h"

/* Eight bytes at a time in a 64-bit word wherever GCC or Clang build for a
 * little-endian machine; sixteen with SSE2 (every x86-64). */
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HAVE_SWAR 1
#else
#define HAVE_SWAR 0
#endif
#if HAVE_SWAR && defined(__SSE2__)
#define HAVE_SSE2 1
#include <emmintrin.h>
#else
#define HAVE_SSE2 0
#endif

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#define COLD          __attribute__((noinline, cold))   /* rare keys: out of the way */
#else
#define ALWAYS_INLINE inline
#define COLD
#endif

#define DECODE_MAX_DEPTH 64                /* nested objects/arrays, the record included */
#define DECODE_MAX_TEXT  255               /* longest text value of a known field */
#define DECODE_MAX_KEY   48                /* an (unescaped) key longer than this is unknown */
#define DECODE_MAX_MS    253402300799999ULL   /* 9999-12-31T23:59:59.999Z */
#define EXACT_MAX        9007199254740992ULL  /* 2^53: above, doubles skip integers */
#define NUM_NONE         UINT64_MAX        /* "not an integer in 0..2^53" */

/* Do the bytes at s start with the string literal lit? */
#define IS(s, lit)  (memcmp((s), (lit), sizeof(lit) - 1) == 0)
#define IS_DIGIT(c) ((unsigned)((unsigned char)(c) - '0') <= 9u)
#define IS_WS(c)    ((c) == ' ' || (c) == '\n' || (c) == '\r' || (c) == '\t')

/* ------------------------------------------------------------------------
 * Fields
 * --------------------------------------------------------------------- */

/* The members we decode.  The key families map onto these; a field seen
 * twice (under any of its names) keeps its last value.  The F_R_* fields
 * are a biflow record's reverse direction (IPFIXcol2 "iana@reverse:...");
 * the *_TOTAL counters stand in when the Delta ones are absent; the UP_*
 * times are ms since the exporter's start (flowStartSysUpTime), counted
 * from F_INIT (systemInitTimeMilliseconds). */
enum {
    F_SRC4, F_SRC6, F_DST4, F_DST6,       /* addresses: BAD_ADDRESS */
    F_SPORT, F_DPORT, F_PROTO, F_FLAGS,   /* small integers: BAD_NUMBER */
    F_PACKETS, F_BYTES,                   /* counters: BAD_NUMBER */
    F_START, F_END,                       /* ms since the epoch: BAD_TIME */
    F_PACKETS_TOTAL, F_BYTES_TOTAL,
    F_UP_START, F_UP_END, F_INIT,
    F_R_FLAGS, F_R_PACKETS, F_R_BYTES, F_R_PACKETS_TOTAL, F_R_BYTES_TOTAL,
    F_R_START, F_R_END, F_R_UP_START, F_R_UP_END,
    F_COUNT,
    F_UNKNOWN = -1
};

/* What match_key() says of a key besides its field: the family it belongs
 * to (mixing two is refused) and whether it is a ...Seconds time. */
#define KEY_FIELD(k)    ((k) & 0xff)
#define FAM_IPFIXCOL    0x100                /* "ipfix.name" (IPFIXcol, Stream4Flow) */
#define FAM_IPFIXCOL2   0x200                /* "iana:name", "iana@reverse:name@reverse", "en0:idN" */
#define FAM_NFDUMP      0x400                /* "src4_addr", ... */
#define FAM_BITS        0x700
#define KEY_SECONDS     0x800

#define BIT(f)      (1u << (f))
#define ADDR_BITS   (BIT(F_SRC4) | BIT(F_SRC6) | BIT(F_DST4) | BIT(F_DST6))
#define NUMBER_BITS (BIT(F_SPORT) | BIT(F_DPORT) | BIT(F_PROTO) | BIT(F_FLAGS) | \
                     BIT(F_PACKETS) | BIT(F_BYTES) | BIT(F_PACKETS_TOTAL) | BIT(F_BYTES_TOTAL) | \
                     BIT(F_R_FLAGS) | BIT(F_R_PACKETS) | BIT(F_R_BYTES) | \
                     BIT(F_R_PACKETS_TOTAL) | BIT(F_R_BYTES_TOTAL))
#define ABS_TIME_BITS (BIT(F_START) | BIT(F_END) | BIT(F_INIT) | BIT(F_R_START) | BIT(F_R_END))
#define UP_TIME_BITS  (BIT(F_UP_START) | BIT(F_UP_END) | BIT(F_R_UP_START) | BIT(F_R_UP_END))
#define TIME_BITS   (ABS_TIME_BITS | UP_TIME_BITS)
#define REVERSE_BITS (BIT(F_R_PACKETS) | BIT(F_R_BYTES) | BIT(F_R_PACKETS_TOTAL) | \
                      BIT(F_R_BYTES_TOTAL))

/* A number in a time field from 10^9 to 10^10 is a time of 2001 to 2286 in
 * seconds, but January to April 1970 in ms: seconds in a ms field. */
#define SECONDS_LO 1000000000ULL
#define SECONDS_HI 10000000000ULL
#define SECS_MARK  (UINT64_MAX - 1)          /* num[f] of a field holding seconds */

/* Largest accepted value of each numeric field (addresses: unused). */
static const uint64_t field_max[F_COUNT] = {
    0, 0, 0, 0,
    65535, 65535, 255, 255,
    EXACT_MAX, EXACT_MAX,
    DECODE_MAX_MS, DECODE_MAX_MS,
    EXACT_MAX, EXACT_MAX,
    DECODE_MAX_MS, DECODE_MAX_MS, DECODE_MAX_MS,
    255, EXACT_MAX, EXACT_MAX, EXACT_MAX, EXACT_MAX,
    DECODE_MAX_MS, DECODE_MAX_MS, DECODE_MAX_MS, DECODE_MAX_MS,
};

/* "@type" values that are not flows: skipped, and counted as such. */
enum { TYPE_ENTRY, TYPE_OPTIONS, TYPE_TEMPLATE };

/* What the decoder knows after the last member: which fields were present,
 * which of them hold a bad value,
 * the key families seen, and the values of the numeric ones.  Only the
 * masks need clearing; num[f] is read only when f was seen. */
typedef struct decode_state {
    uint32_t seen;
    uint32_t bad;
    uint32_t secs;        /* fields that once held seconds (see num[f]) */
    unsigned fams;        /* FAM_* bits of the known keys */
    uint64_t num[F_COUNT];
    uint64_t secs_value;  /* the last such value */
} decode_state;

/* ------------------------------------------------------------------------
 * White space, strings and escapes
 * --------------------------------------------------------------------- */

/* The first byte at or after p that is not JSON white space.  Every white
 * space byte is at most ' ', so a byte above it (what follows a token in
 * compact JSON, and after one space in spaced JSON) ends it at once. */
static inline const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (unsigned char)*p <= ' ' && IS_WS(*p)) p++;
    return p;
}

/* Value of the four hex digits at p, or -1 (also when fewer than 4 remain). */
static int hex4(const char *p, const char *end)
{
    if (end - p < 4) return -1;
    int v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = (unsigned char)p[i];
        int d;
        if (IS_DIGIT(c)) d = c - '0';
        else if ((unsigned)((c | 0x20) - 'a') < 6u) d = (c | 0x20) - 'a' + 10;
        else return -1;
        v = v << 4 | d;
    }
    return v;
}

/* Check the escape whose backslash is just before p; returns the byte after
 * it, or NULL.  A \u high surrogate must be followed by a \u low one. */
static const char *scan_escape(const char *p, const char *end)
{
    if (p >= end) return NULL;
    switch (*p) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        return p + 1;
    case 'u': {
        int cp = hex4(p + 1, end);
        p += 5;
        if (cp < 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) return NULL;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (end - p < 2 || p[0] != '\\' || p[1] != 'u') return NULL;
            int lo = hex4(p + 2, end);
            if (lo < 0xDC00 || lo > 0xDFFF) return NULL;
            p += 6;
        }
        return p;
    }
    default:
        return NULL;
    }
}

#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static inline uint64_t load64(const char *s)
{
    uint64_t v;
    memcpy(&v, s, 8);
    return v;
}

/* The top bit of every byte of v that is '"', '\\' or below 0x20.  The
 * lowest flagged byte is always a true one (higher ones may be borrows). */
static inline uint64_t string_stops(uint64_t v)
{
    uint64_t q = v ^ (ONES * '"'), b = v ^ (ONES * '\\');
    return (((q - ONES) & ~q) | ((b - ONES) & ~b) | ((v - ONES * 0x20) & ~v)) & HIGHS;
}

/* scan_string() past its first stop: escapes, control bytes, the tail. */
static const char *scan_string_slow(const char *p, const char *end, int *esc)
{
    for (;;) {
#if HAVE_SWAR
        while (end - p >= 8) {
            uint64_t m = string_stops(load64(p));
            if (m != 0) {
                p += __builtin_ctzll(m) >> 3;
                goto stop;
            }
            p += 8;
        }
#endif
        while (p < end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20) p++;
        if (p >= end) return NULL;
#if HAVE_SWAR
    stop:
#endif
        if (*p == '"') return p;
        if (*p != '\\') return NULL;                /* raw control byte */
        *esc = 1;
        if ((p = scan_escape(p + 1, end)) == NULL) return NULL;
    }
}

/* Scan a string body from p (just past the opening quote).  Returns the
 * closing quote, or NULL when the string is unterminated or holds a raw
 * control byte or a bad escape.  Sets *esc when it holds an escape.
 * The common case, a plain string with 16 more bytes of line after its
 * end, costs a couple of 16-byte compares. */
static inline const char *scan_string(const char *p, const char *end, int *esc)
{
#if HAVE_SSE2
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i ctrl = _mm_set1_epi8(0x1F);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i q = _mm_cmpeq_epi8(v, quote);
        __m128i stops = _mm_or_si128(_mm_or_si128(q, _mm_cmpeq_epi8(v, bslash)),
                                     _mm_cmpeq_epi8(_mm_min_epu8(v, ctrl), v));
        unsigned m = (unsigned)_mm_movemask_epi8(stops);
        if (m) {
            unsigned first = m & (0u - m);                  /* the lowest stop */
            p += __builtin_ctz(m);
            return first & (unsigned)_mm_movemask_epi8(q) ? p : scan_string_slow(p, end, esc);
        }
        p += 16;
    }
#endif
    return scan_string_slow(p, end, esc);
}

/* Append code point cp as UTF-8 at o. */
static char *put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | cp >> 6);
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | cp >> 12);
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | cp >> 18);
        *o++ = (char)(0x80 | (cp >> 12 & 0x3F));
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* Unescape the string body s[0..n), already checked by scan_string(), into
 * buf.  Returns the length, or SIZE_MAX when it would exceed cap bytes. */
static size_t unescape(const char *s, size_t n, char *buf, size_t cap)
{
    const char *end = s + n;
    char *o = buf;
    char tmp[4];

    while (s < end) {
        if ((size_t)(o - buf) >= cap) return SIZE_MAX;   /* every step adds >= 1 byte */
        if (*s != '\\') {
            *o++ = *s++;
            continue;
        }
        char c = s[1];
        s += 2;
        switch (c) {
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp = (unsigned)hex4(s, end);
            s += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {             /* checked: a pair */
                cp = 0x10000 + ((cp - 0xD800) << 10) + ((unsigned)hex4(s + 2, end) - 0xDC00);
                s += 6;
            }
            size_t k = (size_t)(put_utf8(tmp, cp) - tmp);
            if ((size_t)(o - buf) + k > cap) return SIZE_MAX;
            memcpy(o, tmp, k);
            o += k;
            break;
        }
        default: *o++ = c; break;                           /* " \ / */
        }
    }
    return (size_t)(o - buf);
}

/* ------------------------------------------------------------------------
 * Numbers
 * --------------------------------------------------------------------- */

#define MANT_MAX 1000000000000000000ULL    /* 10^18 */

/* A number being read: its value is mant * 10^(zeros + scale + exp), where
 * mant holds the significant digits up to the last nonzero one, zeros counts
 * the zero digits after it and scale is minus the number of fraction digits.
 * big: more significant digits than an integer <= 2^53 can have. */
typedef struct number_acc {
    uint64_t mant;
    int64_t zeros, scale;
    int big;
} number_acc;

/* Take in the run of digits at p (fraction digits when frac); returns the
 * byte after it. */
static const char *take_digits(const char *p, const char *end, int frac, number_acc *a)
{
    for (; p < end && IS_DIGIT(*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        a->scale -= frac;
        if (d == 0) {
            if (a->mant) a->zeros++;            /* leading zeros do not count */
            continue;
        }
        for (int64_t i = 0; i <= a->zeros && !a->big; i++) {
            if (a->mant >= MANT_MAX) a->big = 1;
            a->mant *= 10;
        }
        a->mant += d;
        a->zeros = 0;
    }
    return p;
}

/* Scan the general JSON number at p: sign, fraction, exponent, any length.
 * See scan_number() for the contract. */
static const char *scan_number_slow(const char *p, const char *end, uint64_t *v)
{
    number_acc a = {0, 0, 0, 0};
    int64_t exp = 0;
    int neg = 0;

    if (p < end && *p == '-') { neg = 1; p++; }
    if (p >= end) return NULL;
    if (*p == '0') p++;                         /* a leading 0 stands alone */
    else if (IS_DIGIT(*p)) p = take_digits(p, end, 0, &a);
    else return NULL;
    if (p < end && *p == '.') {
        if (++p >= end || !IS_DIGIT(*p)) return NULL;   /* "1." */
        p = take_digits(p, end, 1, &a);
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        int eneg = 0;
        if (++p < end && (*p == '+' || *p == '-')) eneg = *p++ == '-';
        if (p >= end || !IS_DIGIT(*p)) return NULL;
        for (; p < end && IS_DIGIT(*p); p++)
            if (exp < 1000000) exp = exp * 10 + (*p - '0');
        if (eneg) exp = -exp;
    }

    *v = NUM_NONE;
    if (a.mant == 0 && !a.big) {
        *v = 0;                                 /* 0, -0, 0.000, 0e99 */
    } else if (!a.big && !neg) {
        int64_t k = a.zeros + a.scale + exp;    /* mant ends in a nonzero digit, */
        if (k >= 0) {                           /* so k < 0 means a fraction */
            uint64_t x = a.mant;
            for (; k > 0 && x <= EXACT_MAX; k--) x *= 10;
            if (x <= EXACT_MAX) *v = x;
        }
    }
    return p;
}

#if HAVE_SWAR
/* How many of the eight bytes of w (the first in its low byte) are decimal
 * digits before the first that is not: a byte c is a digit when its high
 * nibble is 3 and so is that of c + 6 (a carry out of a non-digit only
 * reaches the bytes after it). */
static ALWAYS_INLINE unsigned digits8(uint64_t w)
{
    uint64_t not_digit = ((w & (ONES * 0xf0)) ^ (ONES * 0x30)) |
                         (((w + ONES * 6) & (ONES * 0xf0)) ^ (ONES * 0x30));
    return not_digit ? (unsigned)__builtin_ctzll(not_digit) >> 3 : 8;
}

/* The value of the first n (1 to 8) bytes of w, all digits: the digits
 * moved to the top (zeros before them), then pairs, quads and halves
 * combined by three multiplications. */
static ALWAYS_INLINE uint64_t value8(uint64_t w, unsigned n)
{
    uint64_t v = (w - ONES * '0') << (8 * (8 - n));
    v = (v * 10 + (v >> 8)) & 0x00ff00ff00ff00ffULL;
    v = (v * 100 + (v >> 16)) & 0x0000ffff0000ffffULL;
    return (v * 10000 + (v >> 32)) & 0xffffffffULL;
}
#endif

/* Scan the JSON number at p (p < end).  Returns the byte after it, or NULL
 * when p does not start a valid JSON number.  Sets *v to its value when that
 * is an integer in 0..2^53, however written, else to NUM_NONE. */
static ALWAYS_INLINE const char *scan_number(const char *p, const char *end, uint64_t *v)
{
#if HAVE_SWAR
    /* With 16 bytes to read: 1 to 15 digits not starting with 0, eight at
     * a time (digits8, value8), nothing after them that continues a number. */
    if (end - p >= 16) {
        uint64_t w = load64(p);
        unsigned n = digits8(w);
        if (n - 1 < 7 && *p != '0') {
            char c = p[n];
            if (c != '.' && c != 'e' && c != 'E') {
                *v = value8(w, n);
                return p + n;
            }
        } else if (n == 8 && *p != '0') {
            uint64_t w2 = load64(p + 8);
            unsigned n2 = digits8(w2);
            char c = p[8 + n2];
            if (n2 < 8 && c != '.' && c != 'e' && c != 'E') {
                static const uint32_t pow10[8] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000};
                *v = n2 ? value8(w, 8) * pow10[n2] + value8(w2, n2) : value8(w, 8);
                return p + 8 + n2;
            }
        }
    }
#endif
    /* The common case: "0" or 1 to 15 digits, nothing after them that
     * continues a number. */
    unsigned d = (unsigned)((unsigned char)*p - '0');
    if (d <= 9) {
        const char *q = p + 1;
        uint64_t x = d;
        if (d != 0) {
            const char *lim = end - q > 14 ? q + 14 : end;
            for (; q < lim && (d = (unsigned)((unsigned char)*q - '0')) <= 9; q++)
                x = x * 10 + d;
        }
        if (q == end || (!IS_DIGIT(*q) && *q != '.' && *q != 'e' && *q != 'E')) {
            *v = x;
            return q;
        }
    }
    return scan_number_slow(p, end, v);
}

/* The value of text s[0..n) that is exactly one JSON number, or NUM_NONE. */
static uint64_t number_from_text(const char *s, size_t n)
{
    uint64_t v;
    if (n == 0) return NUM_NONE;
    const char *e = scan_number(s, s + n, &v);
    return e == s + n ? v : NUM_NONE;
}

/* ------------------------------------------------------------------------
 * Text forms of numeric fields
 * --------------------------------------------------------------------- */

/* Protocol keywords as IPFIXcol2 writes them (its "formatted" protocol
 * option, from /etc/protocols), indexed by number; NULL where it writes the
 * number itself. */
static const char *const proto_names[] = {
    "IP", "ICMP", "IGMP", "GGP", "IPv4", "ST", "TCP", "CBT", "EGP", "IGP",
    "BBN-RCC-MON", "NVP-II", "PUP", "ARGUS", "EMCON", "XNET", "CHAOS", "UDP",
    "MUX", "DCN-MEAS", "HMP", "PRM", "XNS-IDP", "TRUNK-1", "TRUNK-2", "LEAF-1",
    "LEAF-2", "RDP", "IRTP", "ISO-TP4", "NETBLT", "MFE-NSP", "MERIT-INP",
    "DCCP", "3PC", "IDPR", "XTP", "DDP", "IDPR-CMTP", "TP++", "IL", "IPv6",
    "SDRP", "IPv6-Route", "IPv6-Frag", "IDRP", "RSVP", "GRE", "DSR", "BNA",
    "ESP", "AH", "I-NLSP", "SWIPE", "NARP", "MOBILE", "TLSP", "SKIP",
    "IPv6-ICMP", "IPv6-NoNxt", "IPv6-Opts", NULL, "CFTP", NULL, "SAT-EXPAK",
    "KRYPTOLAN", "RVD", "IPPC", NULL, "SAT-MON", "VISA", "IPCV", "CPNX",
    "CPHB", "WSN", "PVP", "BR-SAT-MON", "SUN-ND", "WB-MON", "WB-EXPAK",
    "ISO-IP", "VMTP", "SECURE-VMTP", "VINES", "TTP", "NSFNET-IGP", "DGP",
    "TCF", "EIGRP", "OSPFIGP", "Sprite-RPC", "LARP", "MTP", "AX.25", "IPIP",
    "MICP", "SCC-SP", "ETHERIP", "ENCAP", NULL, "GMTP", "IFMP", "PNNI", "PIM",
    "ARIS", "SCPS", "QNX", "A/N", "IPComp", "SNP", "Compaq-Peer", "IPX-in-IP",
    "VRRP", "PGM", NULL, "L2TP", "DDX", "IATP", "STP", "SRP", "UTI", "SMP",
    "SM", "PTP", "ISIS", "FIRE", "CRTP", "CRUDP", "SSCOPMCE", "IPLT", "SPS",
    "PIPE", "SCTP", "FC", "RSVP-E2E-IGNORE", "Mobility-Header", "UDPLite",
    "MPLS-in-IP", "manet", "HIP", "Shim6", "WESP", "ROHC",
};

/* ASCII case-insensitive: does s[0..n) spell the NUL-terminated name? */
static int name_equal(const char *s, size_t n, const char *name)
{
    size_t i = 0;
    for (; i < n && name[i]; i++) {
        unsigned char a = (unsigned char)s[i], b = (unsigned char)name[i];
        if (a >= 'A' && a <= 'Z') a += 32;
        if (b >= 'A' && b <= 'Z') b += 32;
        if (a != b) return 0;
    }
    return i == n && name[i] == '\0';
}

int hf_decode_proto_number(const char *name, size_t len)
{
    if (len == 3 && IS(name, "TCP")) return 6;          /* the usual ones first */
    if (len == 3 && IS(name, "UDP")) return 17;
    for (size_t i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++)
        if (proto_names[i] && name_equal(name, len, proto_names[i])) return (int)i;
    return -1;
}

/* TCP flags as text: "0x1b" (hex), or letters of CEUAPRSF and '.' for an
 * unset flag, in any order (nfdump "...AP.S.", IPFIXcol2 ".AP.S.").
 * Returns the bits, or NUM_NONE. */
static uint64_t flags_from_text(const char *s, size_t n)
{
    uint64_t bits = 0;
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        for (size_t i = 2; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            unsigned d;
            if (IS_DIGIT(c)) d = c - '0';
            else if ((unsigned)((c | 0x20) - 'a') < 6u) d = (unsigned)((c | 0x20) - 'a' + 10);
            else return NUM_NONE;
            bits = bits << 4 | d;
            if (bits > 255) return NUM_NONE;
        }
        return bits;
    }
    if (n == 0) return NUM_NONE;
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case 'C': bits |= HF_TCP_CWR; break;
        case 'E': bits |= HF_TCP_ECE; break;
        case 'U': bits |= HF_TCP_URG; break;
        case 'A': bits |= HF_TCP_ACK; break;
        case 'P': bits |= HF_TCP_PSH; break;
        case 'R': bits |= HF_TCP_RST; break;
        case 'S': bits |= HF_TCP_SYN; break;
        case 'F': bits |= HF_TCP_FIN; break;
        case '.': break;
        default: return NUM_NONE;
        }
    }
    return bits;
}

/* The value of text s[0..n) for numeric field f, or NUM_NONE.  (Times are
 * handled by time_text.) */
static uint64_t value_from_text(int f, const char *s, size_t n)
{
    uint64_t v = number_from_text(s, n);
    if (v != NUM_NONE) return v;
    switch (f) {
    case F_PROTO: {
        int p = hf_decode_proto_number(s, n);
        return p < 0 ? NUM_NONE : (uint64_t)p;
    }
    case F_FLAGS:
    case F_R_FLAGS:
        return flags_from_text(s, n);
    default:
        return NUM_NONE;
    }
}

/* ------------------------------------------------------------------------
 * Keys
 * --------------------------------------------------------------------- */

/* An IPFIX information element name (the part after "ipfix." or "iana:"). */
static ALWAYS_INLINE int match_ie(const char *s, size_t n)
{
    switch (n) {
    case 14:
        if (s[0] == 't') return IS(s, "tcpControlBits") ? F_FLAGS : F_UNKNOWN;
        return IS(s, "flowEndSeconds") ? F_END | KEY_SECONDS : F_UNKNOWN;
    case 15:
        if (!IS(s, "octet") || !IS(s + 10, "Count")) return F_UNKNOWN;
        if (IS(s + 5, "Delta")) return F_BYTES;
        return IS(s + 5, "Total") ? F_BYTES_TOTAL : F_UNKNOWN;
    case 16:
        if (s[0] == 'p') {
            if (IS(s, "packetDeltaCount")) return F_PACKETS;
            return IS(s, "packetTotalCount") ? F_PACKETS_TOTAL : F_UNKNOWN;
        }
        if (s[0] != 'f') return F_UNKNOWN;
        if (IS(s, "flowStartSeconds")) return F_START | KEY_SECONDS;
        return IS(s, "flowEndSysUpTime") ? F_UP_END : F_UNKNOWN;
    case 17:
        if (!IS(s, "sourceIPv") || !IS(s + 10, "Address")) return F_UNKNOWN;
        return s[9] == '4' ? F_SRC4 : s[9] == '6' ? F_SRC6 : F_UNKNOWN;
    case 18:
        if (s[0] == 'p') return IS(s, "protocolIdentifier") ? F_PROTO : F_UNKNOWN;
        if (s[0] != 'f') return F_UNKNOWN;
        if (IS(s, "flowEndNanoseconds")) return F_END;
        return IS(s, "flowStartSysUpTime") ? F_UP_START : F_UNKNOWN;
    case 19:
        if (s[0] == 's') return IS(s, "sourceTransportPort") ? F_SPORT : F_UNKNOWN;
        if (!IS(s, "flowEndMi") || !IS(s + 14, "conds")) return F_UNKNOWN;
        return IS(s + 9, "llise") || IS(s + 9, "crose") ? F_END : F_UNKNOWN;
    case 20: return IS(s, "flowStartNanoseconds") ? F_START : F_UNKNOWN;
    case 21:
        if (!IS(s, "flowStartMi") || !IS(s + 16, "conds")) return F_UNKNOWN;
        return IS(s + 11, "llise") || IS(s + 11, "crose") ? F_START : F_UNKNOWN;
    case 22:
        if (!IS(s, "destinationIPv") || !IS(s + 15, "Address")) return F_UNKNOWN;
        return s[14] == '4' ? F_DST4 : s[14] == '6' ? F_DST6 : F_UNKNOWN;
    case 24: return IS(s, "destinationTransportPort") ? F_DPORT : F_UNKNOWN;
    case 26: return IS(s, "systemInitTimeMilliseconds") ? F_INIT : F_UNKNOWN;
    default: return F_UNKNOWN;
    }
}

/* Add a family to a field found, keeping F_UNKNOWN as it is. */
static inline int with_family(int k, int fam)
{
    return k == F_UNKNOWN ? F_UNKNOWN : k | fam;
}

/* An element by number, as IPFIXcol2 names it with numericNames
 * ("en0:id152"): the IANA numbers of the names match_ie() knows. */
static int match_ie_id(unsigned id)
{
    switch (id) {
    case 1:   return F_BYTES;
    case 2:   return F_PACKETS;
    case 4:   return F_PROTO;
    case 6:   return F_FLAGS;
    case 7:   return F_SPORT;
    case 8:   return F_SRC4;
    case 11:  return F_DPORT;
    case 12:  return F_DST4;
    case 21:  return F_UP_END;
    case 22:  return F_UP_START;
    case 27:  return F_SRC6;
    case 28:  return F_DST6;
    case 85:  return F_BYTES_TOTAL;
    case 86:  return F_PACKETS_TOTAL;
    case 150: return F_START | KEY_SECONDS;
    case 151: return F_END | KEY_SECONDS;
    case 152: case 154: case 156: return F_START;
    case 153: case 155: case 157: return F_END;
    case 160: return F_INIT;
    default:  return F_UNKNOWN;
    }
}

/* The reverse-direction field of a forward one (biflow), or F_UNKNOWN:
 * addresses, ports and protocol are the record's keys, shared by both. */
static int reverse_of(int k)
{
    int s = k & KEY_SECONDS;
    switch (KEY_FIELD(k)) {
    case F_FLAGS:         return F_R_FLAGS;
    case F_PACKETS:       return F_R_PACKETS;
    case F_BYTES:         return F_R_BYTES;
    case F_PACKETS_TOTAL: return F_R_PACKETS_TOTAL;
    case F_BYTES_TOTAL:   return F_R_BYTES_TOTAL;
    case F_START:         return F_R_START | s;
    case F_END:           return F_R_END | s;
    case F_UP_START:      return F_R_UP_START;
    case F_UP_END:        return F_R_UP_END;
    default:              return F_UNKNOWN;
    }
}

/* "iana@reverse:nameN@reverse" (a biflow's reverse direction). */
static COLD int match_reverse(const char *s, size_t n)
{
    if (!IS(s + n - 8, "@reverse")) return F_UNKNOWN;
    int k = match_ie(s + 13, n - 21);
    return k == F_UNKNOWN ? F_UNKNOWN : with_family(reverse_of(k), FAM_IPFIXCOL2);
}

/* "en0:idN" (IANA) or "en29305:idN" (IANA, reverse), N without leading
 * zeros. */
static COLD int match_numeric(const char *s, size_t n)
{
    size_t at;
    int rev;
    if (n > 6 && IS(s, "en0:id")) at = 6, rev = 0;
    else if (n > 10 && IS(s, "en29305:id")) at = 10, rev = 1;
    else return F_UNKNOWN;
    if (n - at > 3 || s[at] == '0') return F_UNKNOWN;
    unsigned id = 0;
    for (size_t i = at; i < n; i++) {
        if (!IS_DIGIT(s[i])) return F_UNKNOWN;
        id = id * 10 + (unsigned)(s[i] - '0');
    }
    int k = match_ie_id(id);
    if (rev && k != F_UNKNOWN) k = reverse_of(k);
    return with_family(k, FAM_IPFIXCOL2);
}

/* An nfdump -o json key. */
static ALWAYS_INLINE int match_nfdump(const char *s, size_t n)
{
    switch (n) {
    case 4: return IS(s, "last") ? F_END : F_UNKNOWN;
    case 5:
        if (IS(s, "proto")) return F_PROTO;
        return IS(s, "first") ? F_START : F_UNKNOWN;
    case 8:
        if (IS(s, "src_port")) return F_SPORT;
        if (IS(s, "dst_port")) return F_DPORT;
        return IS(s, "in_bytes") ? F_BYTES : F_UNKNOWN;
    case 9:
        if (IS(s + 4, "_addr")) {
            int v6 = s[3] == '6';
            if (!v6 && s[3] != '4') return F_UNKNOWN;
            if (IS(s, "src")) return v6 ? F_SRC6 : F_SRC4;
            if (IS(s, "dst")) return v6 ? F_DST6 : F_DST4;
            return F_UNKNOWN;
        }
        return IS(s, "tcp_flags") ? F_FLAGS : F_UNKNOWN;
    case 10: return IS(s, "in_packets") ? F_PACKETS : F_UNKNOWN;
    default: return F_UNKNOWN;
    }
}

/* The rare spellings: "en0:idN", "en29305:idN". */
static COLD int match_rare(const char *s, size_t n)
{
    if (n > 6 && s[1] == 'n') return match_numeric(s, n);
    return with_family(match_nfdump(s, n), FAM_NFDUMP);
}

/* What a key s[0..n) names: field, family and unit (KEY_*, FAM_*), or
 * F_UNKNOWN.  s[0] may be read when n is 0 (it is the closing quote). */
static ALWAYS_INLINE int match_key(const char *s, size_t n)
{
    if (s[0] == 'i') {
        if (n > 6 && IS(s, "ipfix.")) return with_family(match_ie(s + 6, n - 6), FAM_IPFIXCOL);
        if (n > 5 && IS(s, "iana:")) return with_family(match_ie(s + 5, n - 5), FAM_IPFIXCOL2);
        if (n > 21 && IS(s, "iana@reverse:")) return match_reverse(s, n);
    } else if (s[0] == 'e') {
        return match_rare(s, n);
    }
    return with_family(match_nfdump(s, n), FAM_NFDUMP);
}

/* ------------------------------------------------------------------------
 * Keys seen before
 * --------------------------------------------------------------------- */

/* An exporter writes the keys of its records in the same order, spelled
 * and spaced the same way, record after record.  So each thread remembers
 * the spellings it met (the bytes from a key's opening quote to its value:
 * '"ipfix.octetDeltaCount": '), with match_key()'s answer and the key that
 * followed, and tries the one that followed last time first: when the
 * bytes at the next key are exactly those, the key is known without
 * scanning its string, matching it or looking for the ':'.
 *
 *   text  "iana:octetDeltaCount":        "iana:packetDeltaCount":     ...
 *   k     F_BYTES | FAM_IPFIXCOL2        F_PACKETS | FAM_IPFIXCOL2
 *   next  ---------------------------->  -------------------------->  ...
 *
 * The remembered bytes hold no escape and end with the ':' and the white
 * space after it, so equal bytes are the same key (its closing quote is
 * compared too) and the same punctuation; more white space after them is
 * skipped as usual.  A wrong guess costs one compare, then the key is read
 * as if nothing were remembered, and remembered: what the decoder decides
 * never depends on what a thread remembers (fuzz_decode decodes every input
 * twice, the second time with its keys remembered).  Several exporters
 * interleaved (the bench's mix of three families) keep their own chains.
 * A spelling goes in the first free slot from its hash on (memo_slot);
 * when three quarters are taken, everything is forgotten (memo_add). */

#define MEMO_KEYS   256             /* spellings per thread (memo_slot: 8 bits) */
#define MEMO_BYTES  64              /* the longest: quote, key, quote, ':', white space */
#define MEMO_NONE   0xffff          /* no key (index) */
#define MEMO_FULL   (MEMO_KEYS / 4 * 3)   /* spellings remembered at most (see memo_add) */

typedef struct key_memo {
    uint16_t first[2];              /* the first key of the last objects, the latest first */
    uint16_t used;                  /* slots in use */
    uint8_t  len[MEMO_KEYS];        /* bytes of each spelling (0: none) */
    uint64_t want[MEMO_KEYS];       /* a bit per byte of it (memo_match), made once */
    uint16_t next[MEMO_KEYS][2];    /* the keys that followed it, the latest first */
    int16_t k[MEMO_KEYS];           /* match_key()'s answer */
    _Alignas(16) char text[MEMO_KEYS][MEMO_BYTES];
} key_memo;

static _Thread_local key_memo memo = {.first = {MEMO_NONE, MEMO_NONE}};

/* Whether the bytes at p are spelling i (p < end).  With MEMO_BYTES to
 * read, two 16-byte compares (four for a spelling over 32 bytes) give a
 * bit per byte, and the spelling's bits must all be set. */
static ALWAYS_INLINE int memo_match(const key_memo *m, unsigned i, const char *p, const char *end)
{
    unsigned n = m->len[i];
#if HAVE_SSE2
    if (end - p >= MEMO_BYTES) {
        const char *t = m->text[i];
#define EQ16(o) ((uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8( \
            _mm_loadu_si128((const __m128i *)(const void *)(p + (o))), \
            _mm_load_si128((const __m128i *)(const void *)(t + (o))))) << (o))
        uint64_t want = m->want[i], eq = EQ16(0) | EQ16(16);
        if (want >> 32) eq |= EQ16(32) | EQ16(48);
#undef EQ16
        return (want & ~eq) == 0;
    }
#endif
    /* near the end of the line: eight bytes at a time, the last eight
     * overlapping (never a byte past p + n) */
    if ((size_t)(end - p) < n) return 0;
#if HAVE_SWAR
    if (n >= 8) {
        uint64_t diff = load64(p + n - 8) ^ load64(m->text[i] + n - 8);
        for (unsigned o = 0; o + 8 < n; o += 8) diff |= load64(p + o) ^ load64(m->text[i] + o);
        return diff == 0;
    }
#endif
    return memcmp(p, m->text[i], n) == 0;
}

/* The slot of spelling s[0..n) (n >= 1): a hash of its length and its
 * first and last eight bytes (spellings that share those share a slot). */
static inline unsigned memo_slot(const char *s, size_t n)
{
    uint64_t a = 0, b = 0;
    if (n >= 8) {
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
    } else {
        memcpy(&a, s, n);
    }
    uint64_t h = (a * 0x9e3779b97f4a7c15ULL) ^ (b * 0xc2b2ae3d27d4eb4fULL) ^ n;
    return (unsigned)((h ^ (h >> 29)) * 0xff51afd7ed558ccdULL >> 56);   /* 0 .. MEMO_KEYS - 1 */
}

/* Remember the spelling s[0..n) of a key (no escape in it) whose answer
 * is k: the slot that holds it, else the first free one from its hash on
 * (linear probing).  When MEMO_FULL spellings are remembered everything is
 * forgotten first: a stream's usual keys are a few dozen, so only odd
 * spellings (records of varied spacing) fill the slots, and after a reset
 * the usual ones are learnt again in a record or two.  Returns the slot,
 * or MEMO_NONE when the spelling is too long. */
static COLD unsigned memo_add(key_memo *m, const char *s, size_t n, int k)
{
    if (n > MEMO_BYTES) return MEMO_NONE;
    unsigned i = memo_slot(s, n);
    for (;; i = (i + 1) % MEMO_KEYS) {
        if (m->len[i] == 0) break;                                       /* free */
        if (m->len[i] == n && memcmp(m->text[i], s, n) == 0) return i;   /* met before */
    }
    if (m->used >= MEMO_FULL) {
        memset(m->len, 0, sizeof m->len);
        for (unsigned j = 0; j < MEMO_KEYS; j++) m->next[j][0] = m->next[j][1] = MEMO_NONE;
        m->first[0] = m->first[1] = MEMO_NONE;
        m->used = 0;
        i = memo_slot(s, n);
    }
    memcpy(m->text[i], s, n);
    m->len[i] = (uint8_t)n;
    m->want[i] = n == 64 ? ~0ULL : (1ULL << n) - 1;
    m->k[i] = (int16_t)k;
    m->next[i][0] = m->next[i][1] = MEMO_NONE;
    m->used++;
    return i;
}

/* ------------------------------------------------------------------------
 * Values
 * --------------------------------------------------------------------- */

static const char *skip_value(const char *p, const char *end, int depth);

/* Check the literal lit (len bytes) at p; the byte after it, or NULL. */
static const char *skip_literal(const char *p, const char *end, const char *lit, size_t len)
{
    return (size_t)(end - p) >= len && memcmp(p, lit, len) == 0 ? p + len : NULL;
}

/* Check the object or array opening at p, whose members sit at nesting
 * depth 'depth'; returns the byte after its closing bracket, or NULL. */
static const char *skip_container(const char *p, const char *end, int depth)
{
    char close = *p == '{' ? '}' : ']';
    int esc;

    if (depth > DECODE_MAX_DEPTH) return NULL;
    p = skip_ws(p + 1, end);
    if (p < end && *p == close) return p + 1;
    for (;;) {
        if (p >= end) return NULL;
        if (close == '}') {
            if (*p != '"' || (p = scan_string(p + 1, end, &esc)) == NULL) return NULL;
            p = skip_ws(p + 1, end);
            if (p >= end || *p != ':') return NULL;
            p = skip_ws(p + 1, end);
            if (p >= end) return NULL;
        }
        if ((p = skip_value(p, end, depth)) == NULL) return NULL;
        p = skip_ws(p, end);
        if (p >= end) return NULL;
        if (*p == close) return p + 1;
        if (*p != ',') return NULL;
        p = skip_ws(p + 1, end);
    }
}

/* Check any JSON value at p (p < end) inside a container at nesting depth
 * 'depth' (0: the top level); returns the byte after it, or NULL. */
static const char *skip_value(const char *p, const char *end, int depth)
{
    uint64_t v;
    int esc;

    switch (*p) {
    case '"':
        p = scan_string(p + 1, end, &esc);
        return p ? p + 1 : NULL;
    case '{':
    case '[':
        return skip_container(p, end, depth + 1);
    case 't': return skip_literal(p, end, "true", 4);
    case 'f': return skip_literal(p, end, "false", 5);
    case 'n': return skip_literal(p, end, "null", 4);
    default:  return scan_number(p, end, &v);
    }
}

/* Record the outcome of a value of field f: the last value decides (a
 * bad one keeps v, NUM_NONE or SECS_MARK, in num[f]). */
static inline void set_field(decode_state *st, int f, int ok, uint64_t v)
{
    st->seen |= BIT(f);
    st->num[f] = v;
    if (ok) st->bad &= ~BIT(f);
    else st->bad |= BIT(f);
}

/* A number v for a time field (key k): seconds in a ...Seconds field are
 * made ms; elsewhere they are a fault of their own (time_in_seconds). */
static inline void time_number(int k, uint64_t v, decode_state *st)
{
    int f = KEY_FIELD(k);
    if ((BIT(f) & ABS_TIME_BITS) && v >= SECONDS_LO && v < SECONDS_HI) {
        if (!(k & KEY_SECONDS)) {
            set_field(st, f, 0, SECS_MARK);
            st->secs |= BIT(f);                  /* rare: num[f] says if it still holds */
            st->secs_value = v;                  /* for hf_decode_explain */
            return;
        }
        v *= 1000;
    }
    set_field(st, f, v <= field_max[f], v);
}

/* A text value s[0..n) (unescaped) of known field k; readable (>= n)
 * bytes from s may be read. */
static void text_field(int k, const char *s, size_t n, size_t readable, const hf_decode_ctx *ctx,
                       decode_state *st, hf_flow *out)
{
    int f = KEY_FIELD(k);
    uint64_t v = NUM_NONE;
    int ok;

    if (n > DECODE_MAX_TEXT) {
        ok = 0;
    } else if (BIT(f) & ADDR_BITS) {
        uint8_t fam;
        uint8_t *a = f == F_SRC4 || f == F_SRC6 ? out->src : out->dst;
        if (f == F_SRC4 || f == F_DST4) ok = hf_addr_parse_v4(s, n, readable, a) == 0;
        else ok = hf_addr_parse(s, n, a, &fam) == 0 && fam == HF_AF_INET6;
    } else if (BIT(f) & TIME_BITS) {
        int64_t ms;
        /* an ISO time ("2026-11-26T14:00:10.000Z") is not a number: no
         * number has a 'T', 't' or ' ' (where an ISO time has its T) */
        int iso = n > 10 && (s[10] == 'T' || s[10] == 't' || s[10] == ' ');
        if (!iso && (v = number_from_text(s, n)) != NUM_NONE) {
            time_number(k, v, st);
            return;
        }
        ok = (BIT(f) & ABS_TIME_BITS) &&
             (ctx->tz ? hf_time_parse_iso_tz(s, n, ctx->tz, &ms) : hf_time_parse_iso(s, n, &ms)) == 0;
        v = ok ? (uint64_t)ms : NUM_NONE;
    } else {
        v = value_from_text(f, s, n);
        ok = v <= field_max[f];
    }
    set_field(st, f, ok, v);
}

/* A JSON number value of known field k (v as scan_number() gives it). */
static inline void number_field(int k, uint64_t v, decode_state *st)
{
    int f = KEY_FIELD(k);
    if (BIT(f) & ABS_TIME_BITS) time_number(k, v, st);
    else set_field(st, f, !(BIT(f) & ADDR_BITS) && v <= field_max[f], v);
}

/* Read the value at p (p < end) of known field k into the state.  Returns
 * the byte after the value, or NULL when it is not valid JSON. */
static const char *read_field(int k, const char *p, const char *end, const hf_decode_ctx *ctx,
                              decode_state *st, hf_flow *out)
{
    int f = KEY_FIELD(k);
    st->fams |= (unsigned)k & FAM_BITS;
    if (*p == '"') {
        const char *s = p + 1;
        int esc = 0;
        char buf[DECODE_MAX_TEXT];
        if ((p = scan_string(s, end, &esc)) == NULL) return NULL;
        size_t n = (size_t)(p++ - s), readable = (size_t)(end - s);
        if (esc) {
            n = unescape(s, n, buf, sizeof(buf));
            s = buf;
            readable = n;
        }
        text_field(k, s, n, readable, ctx, st, out);
    } else if (*p == '-' || IS_DIGIT(*p)) {
        uint64_t v;
        if ((p = scan_number(p, end, &v)) == NULL) return NULL;
        number_field(k, v, st);
    } else {
        if ((p = skip_value(p, end, 1)) == NULL) return NULL;   /* wrong type */
        set_field(st, f, 0, NUM_NONE);
    }
    return p;
}

/* ------------------------------------------------------------------------
 * The decoder
 * --------------------------------------------------------------------- */

#define SEEN(f) ((seen & BIT(f)) != 0)

/* The time of field abs, or init + up when abs is absent (checked to be
 * there); 0, or -1 when the sum is out of range. */
static inline int time_of(const decode_state *st, int abs, int up, uint64_t *t)
{
    if (st->seen & BIT(abs)) {
        *t = st->num[abs];
        return 0;
    }
    *t = st->num[F_INIT] + st->num[up];
    return *t <= DECODE_MAX_MS ? 0 : -1;
}

/* The reverse direction's time: its own, else the forward one (fwd). */
static inline int rtime_of(const decode_state *st, int abs, int up, uint64_t fwd, uint64_t *t)
{
    if (!(st->seen & (BIT(abs) | BIT(up)))) {
        *t = fwd;
        return 0;
    }
    return time_of(st, abs, up, t);
}

/* Does the record need systemInitTimeMilliseconds, and lack it? */
static inline int lacks_init(uint32_t seen)
{
    if (SEEN(F_INIT)) return 0;
    return (!SEEN(F_START) && SEEN(F_UP_START)) || (!SEEN(F_END) && SEEN(F_UP_END)) ||
           (!SEEN(F_R_START) && SEEN(F_R_UP_START)) || (!SEEN(F_R_END) && SEEN(F_R_UP_END));
}

/* start and end after the clock-skew rule: 0 (*clamped when start was set
 * to end), or -1 when end is too far before start. */
static inline int skew(const hf_decode_ctx *ctx, uint64_t *start, uint64_t end, int *clamped)
{
    if (end >= *start) return 0;
    if (*start - end > (uint64_t)ctx->max_skew_ms) return -1;
    *start = end;
    *clamped = 1;
    return 0;
}

/* A time field's fault: bad_time, unless every bad one holds seconds. */
static COLD int bad_time(const decode_state *st)
{
    uint32_t bad = st->bad & TIME_BITS;
    for (int f = 0; f < F_COUNT; f++)
        if ((bad & st->secs & BIT(f)) && st->num[f] == SECS_MARK) bad &= ~BIT(f);
    return bad ? HF_DECODE_BAD_TIME : HF_DECODE_TIME_IN_SECONDS;
}

/* "@type" of a well-formed object (the last one): TYPE_*.  Read only for
 * an object that is not a flow: options and template records are skipped
 * rather than rejected. */
static COLD int record_type(const char *p, const char *end)
{
    int type = TYPE_ENTRY, esc;
    p = skip_ws(p, end) + 1;
    for (;;) {
        p = skip_ws(p, end);
        if (p >= end || *p != '"') return type;            /* "}" */
        const char *k = p + 1;
        esc = 0;
        if (!(p = scan_string(k, end, &esc))) return type;
        char kb[8], vb[32];
        size_t kn = esc ? unescape(k, (size_t)(p - k), kb, sizeof kb) : (size_t)(p - k);
        int is_type = kn == 5 && memcmp(esc ? kb : k, "@type", 5) == 0;
        p = skip_ws(skip_ws(p + 1, end) + 1, end);          /* past ':' */
        if (p >= end) return type;
        if (is_type && *p == '"') {
            const char *v = p + 1;
            esc = 0;
            if (!(p = scan_string(v, end, &esc))) return type;
            size_t vn = (size_t)(p - v);
            if (esc) vn = unescape(v, vn, vb, sizeof vb), v = vb;
            type = TYPE_ENTRY;
            if (vn == 18 && IS(v, "ipfix.optionsEntry")) type = TYPE_OPTIONS;
            else if ((vn == 14 && IS(v, "ipfix.template")) || (vn == 21 && IS(v, "ipfix.optionsTemplate")))
                type = TYPE_TEMPLATE;
            p++;
        } else {
            if (is_type) type = TYPE_ENTRY;
            if (!(p = skip_value(p, end, 1))) return type;
        }
        p = skip_ws(p, end);
        if (p >= end || *p != ',') return type;
        p++;
    }
}

/* Turn the state after a well-formed object into the flow (and, rev not
 * NULL, a biflow's reverse direction), or a reason: any record. */
static COLD int finish_full(const hf_decode_ctx *ctx, const decode_state *st, hf_flow *out, hf_flow *rev,
                  unsigned *notes)
{
    uint32_t seen = st->seen, bad = st->bad;
    int src4 = SEEN(F_SRC4), src6 = SEEN(F_SRC6), dst4 = SEEN(F_DST4), dst6 = SEEN(F_DST6);
    int two = (seen & REVERSE_BITS) != 0;

    if (st->fams & (st->fams - 1)) return HF_DECODE_MIXED_FAMILIES;
    if (!(src4 | src6) || !(dst4 | dst6) || !SEEN(F_PROTO) ||
        !(seen & (BIT(F_PACKETS) | BIT(F_PACKETS_TOTAL))) ||
        !(seen & (BIT(F_BYTES) | BIT(F_BYTES_TOTAL))) ||
        !(seen & (BIT(F_START) | BIT(F_UP_START))) || !(seen & (BIT(F_END) | BIT(F_UP_END))) ||
        (two && (!(seen & (BIT(F_R_PACKETS) | BIT(F_R_PACKETS_TOTAL))) ||
                 !(seen & (BIT(F_R_BYTES) | BIT(F_R_BYTES_TOTAL))))))
        return HF_DECODE_MISSING_FIELD;
    if (lacks_init(seen)) return HF_DECODE_NO_INIT_TIME;
    if ((bad & ADDR_BITS) || (src4 & src6) || (dst4 & dst6) || src4 != dst4)
        return HF_DECODE_BAD_ADDRESS;
    if (bad & NUMBER_BITS) return HF_DECODE_BAD_NUMBER;

    if (bad & TIME_BITS) return bad_time(st);
    uint64_t start, end, rstart = 0, rend = 0;
    int range = time_of(st, F_START, F_UP_START, &start) | time_of(st, F_END, F_UP_END, &end);
    if (two) range |= rtime_of(st, F_R_START, F_R_UP_START, start, &rstart) |
                      rtime_of(st, F_R_END, F_R_UP_END, end, &rend);
    if (range) return HF_DECODE_BAD_TIME;              /* init + uptime after 9999 */
    int clamped = 0, rclamped = 0;
    if (skew(ctx, &start, end, &clamped) < 0) return HF_DECODE_END_BEFORE_START;
    if (two && skew(ctx, &rstart, rend, &rclamped) < 0) return HF_DECODE_END_BEFORE_START;

    out->family = src4 ? HF_AF_INET : HF_AF_INET6;
    out->mark = 0;
    out->proto = (uint8_t)st->num[F_PROTO];
    out->sport = SEEN(F_SPORT) ? (uint16_t)st->num[F_SPORT] : 0;
    out->dport = SEEN(F_DPORT) ? (uint16_t)st->num[F_DPORT] : 0;
    out->tcp_flags = SEEN(F_FLAGS) ? (uint8_t)st->num[F_FLAGS] : 0;
    out->packets = (double)st->num[SEEN(F_PACKETS) ? F_PACKETS : F_PACKETS_TOTAL];
    out->bytes = (double)st->num[SEEN(F_BYTES) ? F_BYTES : F_BYTES_TOTAL];
    out->start_ms = (double)start;
    out->end_ms = (double)end;
    *notes = clamped ? HF_DECODE_CLAMPED : 0;

    /* The reverse direction, when it saw packets: its own counters, flags
     * and times, the record's addresses and ports the other way round. */
    if (!two || !rev) return HF_DECODE_OK;
    uint64_t rpackets = st->num[SEEN(F_R_PACKETS) ? F_R_PACKETS : F_R_PACKETS_TOTAL];
    if (rpackets == 0) return HF_DECODE_OK;
    memcpy(rev->src, out->dst, 16);
    memcpy(rev->dst, out->src, 16);
    rev->family = out->family;
    rev->mark = 0;
    rev->proto = out->proto;
    rev->sport = out->dport;
    rev->dport = out->sport;
    rev->tcp_flags = SEEN(F_R_FLAGS) ? (uint8_t)st->num[F_R_FLAGS] : 0;
    rev->packets = (double)rpackets;
    rev->bytes = (double)st->num[SEEN(F_R_BYTES) ? F_R_BYTES : F_R_BYTES_TOTAL];
    rev->start_ms = (double)rstart;
    rev->end_ms = (double)rend;
    *notes |= HF_DECODE_TWO | (rclamped ? HF_DECODE_CLAMPED2 : 0);
    return HF_DECODE_OK;
}

#define RARE_BITS (BIT(F_PACKETS_TOTAL) | BIT(F_BYTES_TOTAL) | UP_TIME_BITS | BIT(F_INIT) | \
                   BIT(F_R_FLAGS) | REVERSE_BITS | BIT(F_R_START) | BIT(F_R_END))
#define COMMON_REQUIRED (BIT(F_PROTO) | BIT(F_PACKETS) | BIT(F_BYTES) | BIT(F_START) | BIT(F_END))

/* finish_full() for the usual record, one flow of one family with its
 * Delta counters and absolute times, in fewer tests. */
static inline int finish(const hf_decode_ctx *ctx, const decode_state *st, hf_flow *out,
                         hf_flow *rev, unsigned *notes)
{
    uint32_t seen = st->seen, bad = st->bad;
    if ((seen & (RARE_BITS | COMMON_REQUIRED)) != COMMON_REQUIRED || bad ||
        (st->fams & (st->fams - 1)))
        return finish_full(ctx, st, out, rev, notes);
    int src4 = SEEN(F_SRC4), src6 = SEEN(F_SRC6), dst4 = SEEN(F_DST4), dst6 = SEEN(F_DST6);
    if (!(src4 | src6) || !(dst4 | dst6)) return HF_DECODE_MISSING_FIELD;
    if ((src4 & src6) || (dst4 & dst6) || src4 != dst4) return HF_DECODE_BAD_ADDRESS;
    uint64_t start = st->num[F_START], end = st->num[F_END];
    *notes = 0;
    if (end < start) {
        if (start - end > (uint64_t)ctx->max_skew_ms) return HF_DECODE_END_BEFORE_START;
        start = end;
        *notes = HF_DECODE_CLAMPED;
    }
    out->family = src4 ? HF_AF_INET : HF_AF_INET6;
    out->mark = 0;
    out->proto = (uint8_t)st->num[F_PROTO];
    out->sport = SEEN(F_SPORT) ? (uint16_t)st->num[F_SPORT] : 0;
    out->dport = SEEN(F_DPORT) ? (uint16_t)st->num[F_DPORT] : 0;
    out->tcp_flags = SEEN(F_FLAGS) ? (uint8_t)st->num[F_FLAGS] : 0;
    out->packets = (double)st->num[F_PACKETS];
    out->bytes = (double)st->num[F_BYTES];
    out->start_ms = (double)start;
    out->end_ms = (double)end;
    return HF_DECODE_OK;
}

/* Walk the object into st, then finish.  The one decoder behind
 * hf_decode_record(), hf_decode_flow() and hf_decode_explain(). */
static inline int decode(const hf_decode_ctx *ctx, const char *line, size_t len, hf_flow *out,
                         hf_flow *rev, unsigned *notes, decode_state *st)
{
    const char *p = line, *end = line + len;
    st->seen = st->bad = st->secs = st->fams = 0;
    *notes = 0;

    p = skip_ws(p, end);
    if (p == end) return HF_DECODE_MALFORMED;
    if (*p != '{') {
        p = skip_value(p, end, 0);
        return p && skip_ws(p, end) == end ? HF_DECODE_NOT_OBJECT : HF_DECODE_MALFORMED;
    }

    key_memo *m = &memo;
    uint16_t *guess = m->first;             /* the two members that may come next */
    uint16_t none[2];                       /* after a member not remembered: none */
    int members = 0;
    p++;                                    /* past '{' */
    for (;; members++) {
        /* [,] "key": -- as a member that followed last time (see "Keys seen
         * before"), else read */
        const char *sp = p;                 /* where the member's spelling starts */
        int esc = 0, f;
        unsigned cur;
        if (p < end && *p == '}') {         /* the usual end, right after a value */
            p++;
            break;
        }
        if (guess[0] != MEMO_NONE && memo_match(m, guess[0], p, end)) {
            cur = guess[0];
        } else if (guess[1] != MEMO_NONE && memo_match(m, guess[1], p, end)) {
            cur = guess[1];                 /* the other one: it is the latest now */
            guess[1] = guess[0];
            guess[0] = (uint16_t)cur;
        } else {
            p = skip_ws(p, end);
            if (p >= end) return HF_DECODE_MALFORMED;
            if (*p == '}') {                /* "{ }", or the end after a value and white space */
                p++;
                break;
            }
            if (members > 0) {              /* , */
                if (*p != ',') return HF_DECODE_MALFORMED;
                p = skip_ws(p + 1, end);
                if (p >= end) return HF_DECODE_MALFORMED;
            }
            if (*p != '"') return HF_DECODE_MALFORMED;
            /* "key" */
            const char *k = p + 1;
            if ((p = scan_string(k, end, &esc)) == NULL) return HF_DECODE_MALFORMED;
            size_t klen = (size_t)(p++ - k);
            if (!esc) {
                f = match_key(k, klen);
            } else {
                char buf[DECODE_MAX_KEY];
                size_t n = unescape(k, klen, buf, sizeof(buf));
                f = n == SIZE_MAX ? F_UNKNOWN : match_key(buf, n);
            }
            /* : */
            p = skip_ws(p, end);
            if (p >= end || *p != ':') return HF_DECODE_MALFORMED;
            p = skip_ws(p + 1, end);
            cur = esc ? MEMO_NONE : memo_add(m, sp, (size_t)(p - sp), f);
            guess[1] = guess[0];
            guess[0] = (uint16_t)cur;
            none[0] = none[1] = MEMO_NONE;
            guess = cur == MEMO_NONE ? none : m->next[cur];
            goto value;
        }
        f = m->k[cur];
        p = skip_ws(p + m->len[cur], end);
        guess = m->next[cur];

    value:
        if (p >= end) return HF_DECODE_MALFORMED;
        if (f != F_UNKNOWN) {
            p = read_field(f, p, end, ctx, st, out);
        } else if (*p == '"') {                 /* the usual unknown values, inline */
            p = scan_string(p + 1, end, &esc);
            p = p ? p + 1 : NULL;
        } else if (IS_DIGIT(*p)) {
            uint64_t v;
            p = scan_number(p, end, &v);
        } else {
            p = skip_value(p, end, 1);
        }
        if (p == NULL) return HF_DECODE_MALFORMED;
    }
    if (skip_ws(p, end) != end) return HF_DECODE_MALFORMED;
    int rc = finish(ctx, st, out, rev, notes);
    if (rc != HF_DECODE_OK) {                  /* not a flow: an options or template record? */
        int type = record_type(line, end);
        if (type != TYPE_ENTRY) return type == TYPE_OPTIONS ? HF_DECODE_OPTIONS : HF_DECODE_TEMPLATE;
    }
    return rc;
}

int hf_decode_record(const hf_decode_ctx *ctx, const char *line, size_t len, hf_flow out[2],
                     unsigned *notes)
{
    decode_state st;
    return decode(ctx, line, len, &out[0], &out[1], notes, &st);
}

int hf_decode_flow(const char *line, size_t len, hf_flow *out)
{
    static const hf_decode_ctx strict = {NULL, 0};
    decode_state st;
    unsigned notes;
    return decode(&strict, line, len, out, NULL, &notes, &st);
}

/* ------------------------------------------------------------------------
 * Explaining a rejection (for its warning: only a few per second)
 * --------------------------------------------------------------------- */

/* The names of the required fields, per family, in the order they are
 * checked. */
static const char *const required_names[4][9] = {
    {NULL},
    {"ipfix.sourceIPv4Address or ipfix.sourceIPv6Address",
     "ipfix.destinationIPv4Address or ipfix.destinationIPv6Address",
     "ipfix.protocolIdentifier", "ipfix.packetDeltaCount", "ipfix.octetDeltaCount",
     "ipfix.flowStartMilliseconds", "ipfix.flowEndMilliseconds", NULL, NULL},
    {"iana:sourceIPv4Address or iana:sourceIPv6Address",
     "iana:destinationIPv4Address or iana:destinationIPv6Address",
     "iana:protocolIdentifier", "iana:packetDeltaCount (or packetTotalCount)",
     "iana:octetDeltaCount (or octetTotalCount)",
     "iana:flowStartMilliseconds (or another flowStart time)",
     "iana:flowEndMilliseconds (or another flowEnd time)",
     "iana@reverse:packetDeltaCount@reverse (a biflow's reverse packets)",
     "iana@reverse:octetDeltaCount@reverse (a biflow's reverse bytes)"},
    {"src4_addr or src6_addr", "dst4_addr or dst6_addr", "proto", "in_packets", "in_bytes",
     "first", "last", NULL, NULL},
};

static const char *const family_names[4] = {"", "IPFIXcol", "IPFIXcol2", "nfdump"};

const char *hf_decode_explain(const hf_decode_ctx *ctx, const char *line, size_t len,
                              char *buf, size_t n)
{
    decode_state st;
    hf_flow f[2];
    unsigned notes;
    int rc = decode(ctx, line, len, &f[0], &f[1], &notes, &st);
    uint32_t seen = st.seen;
    unsigned fam = 0;
    buf[0] = '\0';
    for (unsigned i = 1; i < 4; i++)
        if (st.fams & (0x80u << i)) fam = i;
    switch (rc) {
    case HF_DECODE_MISSING_FIELD: {
        uint32_t need[9] = {
            BIT(F_SRC4) | BIT(F_SRC6), BIT(F_DST4) | BIT(F_DST6), BIT(F_PROTO),
            BIT(F_PACKETS) | BIT(F_PACKETS_TOTAL), BIT(F_BYTES) | BIT(F_BYTES_TOTAL),
            BIT(F_START) | BIT(F_UP_START), BIT(F_END) | BIT(F_UP_END),
            BIT(F_R_PACKETS) | BIT(F_R_PACKETS_TOTAL), BIT(F_R_BYTES) | BIT(F_R_BYTES_TOTAL),
        };
        if (fam == 0) {
            snprintf(buf, n, "no field of a flow record (IPFIXcol, IPFIXcol2 or nfdump keys)");
            break;
        }
        for (int i = 0; i < 9; i++)
            if (!(seen & need[i]) && required_names[fam][i]) {
                snprintf(buf, n, "no %s", required_names[fam][i]);
                break;
            }
        break;
    }
    case HF_DECODE_MIXED_FAMILIES: {
        size_t o = 0;
        for (unsigned i = 1; i < 4 && o < n; i++)
            if (st.fams & (0x80u << i))
                o += (size_t)snprintf(buf + o, n - o, "%s%s", o ? " and " : "keys of ",
                                      family_names[i]);
        break;
    }
    case HF_DECODE_NO_INIT_TIME:
        snprintf(buf, n, "flowStartSysUpTime or flowEndSysUpTime without systemInitTimeMilliseconds");
        break;
    case HF_DECODE_TIME_IN_SECONDS:
        snprintf(buf, n, "%llu looks like seconds since the epoch, not milliseconds",
                 (unsigned long long)st.secs_value);
        break;
    case HF_DECODE_END_BEFORE_START: {
        uint64_t s, e;
        if (time_of(&st, F_START, F_UP_START, &s) == 0 && time_of(&st, F_END, F_UP_END, &e) == 0 && e < s)
            snprintf(buf, n, "it ends %llu ms before it starts (max_clock_skew: %lld ms)",
                     (unsigned long long)(s - e), (long long)ctx->max_skew_ms);
        else
            snprintf(buf, n, "the reverse direction ends before it starts (max_clock_skew: %lld ms)",
                     (long long)ctx->max_skew_ms);
        break;
    }
    default:
        break;
    }
    return buf;
}

/* ------------------------------------------------------------------------
 * Reason names
 * --------------------------------------------------------------------- */

const char *hf_decode_reason_name(int status)
{
    static const char *const names[HF_DECODE_REASONS] = {
        [HF_DECODE_OK] = "ok",
        [HF_DECODE_MALFORMED] = "malformed_json",
        [HF_DECODE_NOT_OBJECT] = "not_object",
        [HF_DECODE_OPTIONS] = "options_record",
        [HF_DECODE_TEMPLATE] = "template_record",
        [HF_DECODE_MIXED_FAMILIES] = "mixed_families",
        [HF_DECODE_MISSING_FIELD] = "missing_field",
        [HF_DECODE_NO_INIT_TIME] = "no_init_time",
        [HF_DECODE_BAD_ADDRESS] = "bad_address",
        [HF_DECODE_BAD_NUMBER] = "bad_number",
        [HF_DECODE_BAD_TIME] = "bad_time",
        [HF_DECODE_TIME_IN_SECONDS] = "time_in_seconds",
        [HF_DECODE_END_BEFORE_START] = "end_before_start",
    };
    return status >= 0 && status < HF_DECODE_REASONS ? names[status] : "unknown";
}

