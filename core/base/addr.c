/* addr.c -- IP address text to 16 bytes and back, by hand.
 *
 * The decoder parses two addresses per flow, so parsing is a single pass over
 * the bytes with no copy, no NUL terminator and no locale: hf_addr_parse()
 * looks for a ':' to tell IPv6 from IPv4 and hands the text to one of two
 * small state machines.  Both are strict:
 *
 *   IPv4   exactly four decimal parts 0..255 separated by '.'; a part is "0"
 *          or starts with 1..9 ("01" is rejected: it reads as octal to some
 *          libraries and as decimal to others).
 *   IPv6   RFC 4291 section 2.2: eight groups of 1..4 hex digits (either case)
 *          separated by ':', at most one "::" standing for one or more zero
 *          groups, and optionally the last 32 bits as a dotted quad
 *          ("::ffff:192.0.2.1", "64:ff9b::192.0.2.1").  No zone ids ("%eth0"),
 *          no brackets, no prefix length, no whitespace.
 *
 * Anything longer than 45 bytes (the longest valid text is
 * "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255") is rejected up front.
 *
 * An IPv4 address is stored IPv4-mapped, family 4:
 *
 *   byte   0                             9   10   11   12  13  14  15
 *        +----+----+----+----+----+----+----+----+----+---+---+---+---+
 *        | 00   00   00   00   00   00   00   00   00   00 | ff | ff | a . b . c . d |
 *        +----+----+----+----+----+----+----+----+----+---+---+---+---+
 *
 * Formatting writes a dotted quad for family 4 and the RFC 5952 canonical
 * text for family 6: lowercase hex, no leading zeros in a group, the longest
 * run of two or more zero groups replaced by "::" (the leftmost on a tie), and
 * an IPv4-mapped address (::ffff:0:0/96) written "::ffff:a.b.c.d" (RFC 5952
 * section 5).  Unlike glibc's inet_ntop(), the deprecated IPv4-compatible form
 * (::a.b.c.d) is not produced: "::102:304" is what RFC 5952 section 4 gives.
 *
 * The decoder's own entry, hf_addr_parse_v4(), reads a dotted quad with
 * SSSE3 where the CPU has it (checked once, at load time): one shuffle
 * chosen by the parts' lengths and two multiply-adds; with SSE2 alone,
 * three bytes a part; near the end of the text, the state machine.  The
 * unit tests hold every path to hf_addr_parse()'s answers.  Formatting a
 * dotted quad copies each part's digits from a table of the 256 bytes.
 *
 * Prefixes ("10.0.0.0/8", "!2001:db8::/32") are parsed here too, so that the
 * configuration can check a network list without building the trie
 * (stream/prefix.c, which stores them). */
#include "base/addr.h"

#include <stdio.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* The longest text hf_addr_parse() accepts. */
#define ADDR_MAXLEN (HF_ADDR_STRLEN - 1)

static const uint8_t v4_mapped_prefix[12] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* ------------------------------------------------------------------------
 * Parsing
 * --------------------------------------------------------------------- */

/* One more than the value of each byte as a hex digit, 0 for a non-digit: a
 * table, because a branch on "digit or letter" mispredicts on random hex. */
static const uint8_t hex_value1[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
    ['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
    ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* Parse exactly a strict dotted quad s[0..len) into out[4].  Returns 0 or -1.
 * One pass, one test per byte in the common case (a digit): the rules are
 * checked where a part ends (a '.' or the end: 1 to 3 digits, at most 255)
 * and where a digit follows a part's leading "0". */
static int parse_v4(const char *s, size_t len, uint8_t out[4])
{
    unsigned v = 0, part = 0, nd = 0;           /* the part's value and digits */
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)((unsigned char)s[i] - '0');
        if (d <= 9) {
            if (nd == 1 && v == 0) return -1;   /* "0" stands alone */
            v = v * 10 + d;
            nd++;
            continue;
        }
        if (s[i] != '.' || nd == 0 || nd > 3 || v > 255 || part == 3) return -1;
        out[part++] = (uint8_t)v;
        v = 0;
        nd = 0;
    }
    if (part != 3 || nd == 0 || nd > 3 || v > 255) return -1;
    out[3] = (uint8_t)v;
    return 0;
}

/* Parse IPv6 text s[0..len) into out[16].  Returns 0 or -1. */
static int parse_v6(const char *s, size_t len, uint8_t out[16])
{
    uint16_t groups[8];
    int n = 0;                  /* groups written */
    int gap = -1;               /* index in groups where "::" stood */
    size_t i = 0;

    if (len < 2) return -1;
    if (s[0] == ':') {                          /* must be "::" */
        if (s[1] != ':') return -1;
        gap = 0;
        i = 2;
        if (i == len) goto done;
    }
    for (;;) {
        /* A group (or the dotted-quad tail) starts at i. */
        size_t start = i;
        unsigned v = 0, h;
        if (n == 8) return -1;
        while (i < len && i - start < 4 && (h = hex_value1[(unsigned char)s[i]]) != 0) {
            v = (v << 4) | (h - 1);
            i++;
        }
        if (i == start) return -1;              /* empty group */
        if (i < len && s[i] == '.') {           /* IPv4 tail, must end the text */
            uint8_t q[4];
            if (n > 6 || parse_v4(s + start, len - start, q) < 0) return -1;
            groups[n++] = (uint16_t)(q[0] << 8 | q[1]);
            groups[n++] = (uint16_t)(q[2] << 8 | q[3]);
            break;
        }
        groups[n++] = (uint16_t)v;
        if (i == len) break;
        if (s[i] != ':') return -1;             /* also: a fifth hex digit */
        i++;
        if (i == len) return -1;                /* trailing single ':' */
        if (s[i] == ':') {
            if (gap >= 0) return -1;            /* a second "::" */
            gap = n;
            i++;
            if (i == len) break;
        }
    }
done:
    if (gap < 0) {
        if (n != 8) return -1;
    } else if (n > 7) {
        return -1;                              /* "::" must stand for >= 1 group */
    }

    /* Lay out: groups before the gap, zeros, groups after the gap. */
    memset(out, 0, 16);
    int head = gap < 0 ? n : gap;
    for (int k = 0; k < head; k++) {
        out[2 * k] = (uint8_t)(groups[k] >> 8);
        out[2 * k + 1] = (uint8_t)groups[k];
    }
    for (int k = head, at = 8 - (n - head); k < n; k++, at++) {
        out[2 * at] = (uint8_t)(groups[k] >> 8);
        out[2 * at + 1] = (uint8_t)groups[k];
    }
    return 0;
}

/* Parse IPv4 dotted quad or IPv6 text of len bytes (no NUL needed) into out,
 * family 4 (stored IPv4-mapped) or 6.  Returns 0, or -1 leaving out and
 * *family undefined.  Reads at most len bytes and never more than 45. */
int hf_addr_parse(const char *s, size_t len, uint8_t out[16], uint8_t *family)
{
    if (len == 0 || len > ADDR_MAXLEN) return -1;
    /* An IPv4 text has a '.' within its first four bytes and no ':' at all;
     * an IPv6 text has a ':' within its first five.  Look at most that far. */
    size_t probe = len < 5 ? len : 5;
    for (size_t i = 0; i < probe; i++) {
        if (s[i] == ':') {
            if (parse_v6(s, len, out) < 0) return -1;
            *family = 6;
            return 0;
        }
    }
    if (len > 15 || parse_v4(s, len, out + 12) < 0) return -1;
    memcpy(out, v4_mapped_prefix, 12);
    *family = 4;
    return 0;
}

#ifdef __SSE2__
/* The first look of both vector parsers below at a dotted quad of len
 * bytes at s (sixteen readable): its bytes minus '0' (*d) and the masks
 * of its dots and digits; -1 unless every byte is one or the other and
 * there are exactly three dots.  Always inlined, also into the SSSE3
 * parser (its target is a superset of this one's). */
static inline __attribute__((always_inline)) int v4_scan(const char *s, size_t len, __m128i *d,
                                                         unsigned *dots, unsigned *digits)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
    *d = _mm_sub_epi8(v, _mm_set1_epi8('0'));
    unsigned in = (1u << len) - 1;
    *dots = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.'))) & in;
    *digits = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(*d, _mm_set1_epi8(9)), *d)) & in;
    unsigned d2 = *dots & (*dots - 1), d3 = d2 & (d2 - 1);
    return (*dots | *digits) != in || !d3 || (d3 & (d3 - 1)) ? -1 : 0;   /* exactly three dots */
}

/* parse_v4 with sixteen bytes to read at s (len 7 to 15): the dots and the
 * digits found by two 16-byte compares, each part's value from its last
 * three bytes (bytes before the part counting as zeros), no branch on the
 * digits themselves (a branch per digit mispredicts on random addresses). */
static int parse_v4_16(const char *s, size_t len, uint8_t out[4])
{
    __m128i d;
    unsigned dots, digits;
    if (v4_scan(s, len, &d, &dots, &digits) < 0) return -1;
    unsigned d2 = dots & (dots - 1), d3 = d2 & (d2 - 1);
    /* A part from a to its end e (a dot, or len): 1 to 3 digits, no
     * leading 0, at most 255; its digits are read from s (indexes below a
     * are clamped to a and multiplied by 0). */
    unsigned bad = 0;
#define PART(k, a, e) do { \
        unsigned n_ = (e) - (a); \
        unsigned x_ = (unsigned)(s[(e) - 1] - '0') \
                    + 10u * (unsigned)(s[(e) - 1 - (n_ > 1)] - '0') * (n_ > 1) \
                    + 100u * (unsigned)(s[(e) - 1 - 2 * (n_ > 2)] - '0') * (n_ > 2); \
        bad |= (n_ - 1 > 2) | ((n_ > 1) & (s[a] == '0')) | (x_ > 255); \
        out[k] = (uint8_t)x_; \
    } while (0)
    unsigned e0 = (unsigned)__builtin_ctz(dots), e1 = (unsigned)__builtin_ctz(d2),
             e2 = (unsigned)__builtin_ctz(d3);
    if (e0 == 0) return -1;                     /* an empty first part */
    PART(0, 0, e0);
    PART(1, e0 + 1, e1);
    PART(2, e1 + 1, e2);
    PART(3, e2 + 1, (unsigned)len);
#undef PART
    return bad ? -1 : 0;
}
#endif

#if defined(__SSE2__) && defined(__GNUC__) && defined(__x86_64__)
#define HAVE_V4_SSSE3 1
#include <tmmintrin.h>

/* parse_v4_16 with SSSE3 (chosen at run time, v4_ssse3): once the dots
 * give the four parts' lengths (1 to 3 each: 81 shapes), one shuffle puts
 * each part's digits right-aligned in a 32-bit lane (missing ones zero),
 * and two multiply-adds make the four values at once -- about a fifth of
 * parse_v4_16's instructions, which read three bytes a part from memory.
 * v4_shuffle[shape] is made once, at load time, with the check. */
static uint8_t v4_shuffle[81][16];
static int v4_ssse3;

__attribute__((constructor)) static void v4_init(void)
{
    __builtin_cpu_init();
    v4_ssse3 = __builtin_cpu_supports("ssse3");
    for (unsigned shape = 0; shape < 81; shape++) {
        unsigned n[4] = {shape / 27 + 1, shape / 9 % 3 + 1, shape / 3 % 3 + 1, shape % 3 + 1};
        unsigned at = 0;                        /* where part k starts in the text */
        for (unsigned k = 0; k < 4; k++) {
            for (unsigned j = 0; j < 4; j++) {  /* lane byte j: hundreds, tens, ones, 0 */
                int from = j < 3 && j + n[k] >= 3 ? (int)(at + j + n[k] - 3) : -1;
                v4_shuffle[shape][4 * k + j] = from < 0 ? 0x80 : (uint8_t)from;
            }
            at += n[k] + 1;
        }
    }
}

__attribute__((target("ssse3"))) static int parse_v4_ssse3(const char *s, size_t len, uint8_t out[4])
{
    __m128i d;
    unsigned dots, digits;
    if (v4_scan(s, len, &d, &dots, &digits) < 0) return -1;
    unsigned d2 = dots & (dots - 1), d3 = d2 & (d2 - 1);
    unsigned e0 = (unsigned)__builtin_ctz(dots), e1 = (unsigned)__builtin_ctz(d2),
             e2 = (unsigned)__builtin_ctz(d3);
    unsigned n0 = e0, n1 = e1 - e0 - 1, n2 = e2 - e1 - 1, n3 = (unsigned)len - e2 - 1;
    /* 1 to 3 digits a part, and no leading 0: a '0' that starts a part
     * (first, or after a dot) with a digit after it */
    unsigned zeros = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(d, _mm_setzero_si128()));
    unsigned bad = (n0 - 1 > 2) | (n1 - 1 > 2) | (n2 - 1 > 2) | (n3 - 1 > 2) |
                   ((zeros & (dots << 1 | 1) & (digits >> 1)) != 0);
    if (bad) return -1;
    unsigned shape = (n0 - 1) * 27 + (n1 - 1) * 9 + (n2 - 1) * 3 + (n3 - 1);
    __m128i lanes = _mm_shuffle_epi8(d, _mm_loadu_si128((const __m128i *)(const void *)v4_shuffle[shape]));
    __m128i pairs = _mm_maddubs_epi16(lanes, _mm_setr_epi8(100, 10, 1, 0, 100, 10, 1, 0,
                                                            100, 10, 1, 0, 100, 10, 1, 0));
    __m128i vals = _mm_madd_epi16(pairs, _mm_set1_epi16(1));          /* four 32-bit parts */
    if (_mm_movemask_epi8(_mm_cmpgt_epi32(vals, _mm_set1_epi32(255)))) return -1;
    uint32_t q = (uint32_t)_mm_cvtsi128_si32(_mm_shuffle_epi8(
        vals, _mm_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1)));
    memcpy(out, &q, 4);
    return 0;
}
#endif

int hf_addr_parse_v4(const char *s, size_t len, size_t readable, uint8_t out[16])
{
    if (len < 7 || len > 15) return -1;
#if HAVE_V4_SSSE3
    if (readable >= 16 && v4_ssse3) {
        if (parse_v4_ssse3(s, len, out + 12) < 0) return -1;
    } else
#endif
#ifdef __SSE2__
    if (readable >= 16) {
        if (parse_v4_16(s, len, out + 12) < 0) return -1;
    } else
#endif
    if (parse_v4(s, len, out + 12) < 0) return -1;
    (void)readable;
    memcpy(out, v4_mapped_prefix, 12);
    return 0;
}

/* ------------------------------------------------------------------------
 * Formatting
 * --------------------------------------------------------------------- */

/* The decimal text of every byte value: up to three digits, padded with
 * NULs to three bytes, then the number of digits.  A part of a dotted quad
 * is one four-byte copy and a length, where dividing by 10 and 100 took a
 * dozen instructions (a record's head formats its host's address). */
static const char DEC8[256 * 4 + 1] =
    "0\000\000\0011\000\000\0012\000\000\0013\000\000\0014\000\000\0015\000\000\0016\000\000\0017\000\000\001"
    "8\000\000\0019\000\000\00110\000\00211\000\00212\000\00213\000\00214\000\00215\000\002"
    "16\000\00217\000\00218\000\00219\000\00220\000\00221\000\00222\000\00223\000\002"
    "24\000\00225\000\00226\000\00227\000\00228\000\00229\000\00230\000\00231\000\002"
    "32\000\00233\000\00234\000\00235\000\00236\000\00237\000\00238\000\00239\000\002"
    "40\000\00241\000\00242\000\00243\000\00244\000\00245\000\00246\000\00247\000\002"
    "48\000\00249\000\00250\000\00251\000\00252\000\00253\000\00254\000\00255\000\002"
    "56\000\00257\000\00258\000\00259\000\00260\000\00261\000\00262\000\00263\000\002"
    "64\000\00265\000\00266\000\00267\000\00268\000\00269\000\00270\000\00271\000\002"
    "72\000\00273\000\00274\000\00275\000\00276\000\00277\000\00278\000\00279\000\002"
    "80\000\00281\000\00282\000\00283\000\00284\000\00285\000\00286\000\00287\000\002"
    "88\000\00289\000\00290\000\00291\000\00292\000\00293\000\00294\000\00295\000\002"
    "96\000\00297\000\00298\000\00299\000\002100\003101\003102\003103\003"
    "104\003105\003106\003107\003108\003109\003110\003111\003"
    "112\003113\003114\003115\003116\003117\003118\003119\003"
    "120\003121\003122\003123\003124\003125\003126\003127\003"
    "128\003129\003130\003131\003132\003133\003134\003135\003"
    "136\003137\003138\003139\003140\003141\003142\003143\003"
    "144\003145\003146\003147\003148\003149\003150\003151\003"
    "152\003153\003154\003155\003156\003157\003158\003159\003"
    "160\003161\003162\003163\003164\003165\003166\003167\003"
    "168\003169\003170\003171\003172\003173\003174\003175\003"
    "176\003177\003178\003179\003180\003181\003182\003183\003"
    "184\003185\003186\003187\003188\003189\003190\003191\003"
    "192\003193\003194\003195\003196\003197\003198\003199\003"
    "200\003201\003202\003203\003204\003205\003206\003207\003"
    "208\003209\003210\003211\003212\003213\003214\003215\003"
    "216\003217\003218\003219\003220\003221\003222\003223\003"
    "224\003225\003226\003227\003228\003229\003230\003231\003"
    "232\003233\003234\003235\003236\003237\003238\003239\003"
    "240\003241\003242\003243\003244\003245\003246\003247\003"
    "248\003249\003250\003251\003252\003253\003254\003255\003";

/* Write the dotted quad of q[4] at p; returns the new end.  Each part
 * writes four bytes, so up to one byte past the end is written (the
 * buffers are HF_ADDR_STRLEN, room for the longest text and its NUL). */
static char *put_v4(char *p, const uint8_t q[4])
{
    for (int k = 0; k < 4; k++) {
        const char *d = DEC8 + 4 * q[k];
        memcpy(p, d, 4);
        p += (unsigned char)d[3];
        *p = '.';
        p += k < 3;
    }
    return p;
}

/* Write v (0..0xffff) as lowercase hex without leading zeros; returns the end. */
static inline char *put_hex16(char *p, unsigned v)
{
    static const char digits[] = "0123456789abcdef";
    int shift = 12;
    while (shift > 0 && (v >> shift) == 0) shift -= 4;
    for (; shift >= 0; shift -= 4) *p++ = digits[(v >> shift) & 0xf];
    return p;
}

/* Format addr as text into out (at least HF_ADDR_STRLEN bytes): a dotted quad
 * of bytes 12..15 for family 4, RFC 5952 text otherwise.  NUL-terminates and
 * returns the length (at most 45). */
size_t hf_addr_format(const uint8_t addr[16], uint8_t family, char *out)
{
    char *p = out;

    if (family == 4) {
        p = put_v4(p, addr + 12);
        *p = '\0';
        return (size_t)(p - out);
    }

    unsigned g[8];
    for (int k = 0; k < 8; k++) g[k] = (unsigned)addr[2 * k] << 8 | addr[2 * k + 1];

    /* The longest run of >= 2 zero groups, leftmost on a tie. */
    int best = -1, best_len = 1;
    for (int k = 0; k < 8; ) {
        if (g[k] != 0) { k++; continue; }
        int run = k;
        while (k < 8 && g[k] == 0) k++;
        if (k - run > best_len) { best = run; best_len = k - run; }
    }

    int ngroups = 8;
    if (memcmp(addr, v4_mapped_prefix, 12) == 0) ngroups = 6;   /* "::ffff:" then the quad */

    for (int k = 0; k < ngroups; k++) {
        if (k == best) {
            *p++ = ':';
            *p++ = ':';
            k += best_len - 1;
            continue;
        }
        if (k && k != best + best_len) *p++ = ':';
        p = put_hex16(p, g[k]);
    }
    if (ngroups == 6) {
        if (p[-1] != ':') *p++ = ':';
        p = put_v4(p, addr + 12);
    }
    *p = '\0';
    return (size_t)(p - out);
}

/* ------------------------------------------------------------------------
 * Prefixes
 * --------------------------------------------------------------------- */

#define FAIL(...) do { if (err && errlen) snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

/* Longest piece of input quoted back in a message. */
#define QUOTE_MAX 64

int hf_cidr_parse(const char *cidr, uint8_t addr[16], unsigned *len, int *exclude,
                  char *err, size_t errlen)
{
    if (!cidr || !*cidr) FAIL("empty prefix");
    const char *s = cidr;
    *exclude = 0;
    if (*s == '!') {
        *exclude = 1;
        s++;
        if (!*s) FAIL("empty prefix after '!'");
    }
    for (const char *q = cidr; *q; q++)
        if (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r' || *q == '\v' || *q == '\f')
            FAIL("whitespace in prefix '%.*s'", QUOTE_MAX, cidr);

    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    if (alen == 0) FAIL("missing address in prefix '%.*s'", QUOTE_MAX, cidr);

    uint8_t family;
    if (hf_addr_parse(s, alen, addr, &family) < 0)
        FAIL("bad address '%.*s'", (int)(alen < QUOTE_MAX ? alen : QUOTE_MAX), s);
    unsigned max = family == 4 ? 32 : 128;

    unsigned n = max;
    if (slash) {
        const char *l = slash + 1;
        size_t llen = strlen(l);
        if (llen == 0) FAIL("missing prefix length after '/' in '%.*s'", QUOTE_MAX, cidr);
        for (size_t k = 0; k < llen; k++)
            if (l[k] < '0' || l[k] > '9')
                FAIL("bad prefix length '%.*s'", QUOTE_MAX, l);
        if (llen > 1 && l[0] == '0') FAIL("bad prefix length '%.*s' (leading zero)", QUOTE_MAX, l);
        if (llen > 3) FAIL("prefix length %.*s out of range for IPv%u", QUOTE_MAX, l, family);
        n = 0;
        for (size_t k = 0; k < llen; k++) n = n * 10 + (unsigned)(l[k] - '0');
        if (n > max) FAIL("prefix length %u out of range for IPv%u", n, family);
    }
    *len = family == 4 ? n + 96 : n;
    return 0;
}
