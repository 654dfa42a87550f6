/* buf.c -- growable byte buffer and JSON value writing (see buf.h).
 *
 * Every host record goes through here a few dozen times (its head, and each
 * number of each analysis's result), so the common paths are short: a put
 * that fits is one compare and a copy, growing is out of line; integers
 * are written two digits at a time straight into the buffer; and a number
 * with a fraction (an average, a rate) is formatted by exact integer
 * arithmetic instead of snprintf + strtod, with the same text.
 *
 * Numbers with a fraction
 * -----------------------
 *
 * The text is that of "%.15g", or of "%.17g" when the 15 digits do not read
 * back as the same double (buf.h).  For |v| in [1e-4, 1e15) it is computed
 * exactly: v = f / 2^k (f the 53-bit significand, 3 <= k <= 66), so
 * v * 10^s = f * 10^s / 2^k with f * 10^s < 2^120, a 128-bit integer.  The
 * quotient rounded half to even is the 15 (or 17) significant digits that
 * printf gives (glibc rounds exactly), and "reads back as v" is exact too:
 * the decimal m / 10^s rounds to v when |m * 2^k - f * 10^s| is below half
 * of 10^s (a quarter below v when v is a power of two, whose lower
 * neighbour is closer; a tie goes to the even significand, as strtod
 * rounds).  In that range "%g" never uses an exponent, so the digits are
 * laid out as fixed notation with the trailing zeros dropped.  Outside it
 * (tiny, huge, non-finite-free but rare values) snprintf and strtod remain.
 *
 * Most fractions in records are short decimals: an average duration of one
 * flow is its milliseconds / 1000, of two flows a multiple of 0.0005.  For
 * those there is a shorter way, tried first: when v is the double nearest
 * d = m / 10^6 for an integer m below 10^15 (v * 10^6 rounded gives m, and
 * m / 10^6, a correctly rounded division, gives v back), d has at most 15
 * significant digits and lies within half an ulp of v, 2^-53 |v|, much
 * less than half the spacing of 15-digit decimals near v (at least
 * 5 * 10^-16 |v|): so "%.15g" rounds v to exactly d, which reads back as v,
 * and the text is d in fixed notation (|v| in [1e-4, 1e9)) without its
 * trailing zeros.
 * tests/tools/bench_buf.c checks the two against each other on millions of
 * values, ties and power-of-two boundaries included. */
#include "base/buf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

#define likely(x)   __builtin_expect(!!(x), 1)

void hf_buf_init(hf_buf *b, size_t cap)
{
    b->data = hf_malloc(cap ? cap : 64);
    b->len = 0;
    b->cap = cap ? cap : 64;
}

void hf_buf_release(hf_buf *b)
{
    hf_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Grow to hold n more bytes (doubling). */
__attribute__((noinline)) void hf_buf_grow(hf_buf *b, size_t n)
{
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n) cap *= 2;
    b->data = hf_realloc(b->data, cap);
    b->cap = cap;
}

/* The external definitions of buf.h's inline puts (for the FFI, and for
 * calls the compiler chose not to inline). */
extern inline char *hf_buf_room(hf_buf *b, size_t n);
extern inline void hf_buf_reserve(hf_buf *b, size_t n);
extern inline void hf_buf_put(hf_buf *b, const void *p, size_t n);
extern inline void hf_buf_putc(hf_buf *b, char c);

static inline char *room(hf_buf *b, size_t n)
{
    return hf_buf_room(b, n);
}

/* ------------------------------------------------------------------------
 * Numbers
 * --------------------------------------------------------------------- */

static const char DIGIT_PAIRS[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* The decimal digits of u, written backwards ending just before end;
 * returns the first. */
static inline char *u64_digits(char *end, uint64_t u)
{
    while (u >= 100) {
        unsigned r = (unsigned)(u % 100);
        u /= 100;
        end -= 2;
        memcpy(end, DIGIT_PAIRS + 2 * r, 2);
    }
    if (u >= 10) {
        end -= 2;
        memcpy(end, DIGIT_PAIRS + 2 * u, 2);
    } else {
        *--end = (char)('0' + u);
    }
    return end;
}

/* The number of decimal digits of u: from its bit length (1233 / 4096 ~
 * log10 2, one too few at most), then one compare. */
static inline unsigned digits10(uint64_t u)
{
    static const uint64_t below[20] = {
        0, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
        100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
        10000000000000ULL, 100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
        100000000000000000ULL, 1000000000000000000ULL, 10000000000000000000ULL};
    unsigned t = (unsigned)(64 - __builtin_clzll(u | 1)) * 1233 >> 12;   /* 0 .. 19 */
    return t + (u >= below[t]);
}

/* u below 2^32: the same as u64_digits, in 32-bit arithmetic. */
static inline char *u32_digits(char *end, uint32_t u)
{
    while (u >= 100) {
        unsigned r = u % 100;
        u /= 100;
        end -= 2;
        memcpy(end, DIGIT_PAIRS + 2 * r, 2);
    }
    if (u >= 10) {
        end -= 2;
        memcpy(end, DIGIT_PAIRS + 2 * u, 2);
    } else {
        *--end = (char)('0' + u);
    }
    return end;
}

/* -u (neg) or u, written straight into the buffer. */
static inline void put_u64(hf_buf *b, uint64_t u, int neg)
{
    char *o = room(b, 21);
    unsigned n = digits10(u) + (neg ? 1 : 0);
    if (neg) *o = '-';
    if (u >> 32) u64_digits(o + n, u);
    else u32_digits(o + n, (uint32_t)u);
    b->len += n;
}

void hf_buf_put_int(hf_buf *b, int64_t v)
{
    put_u64(b, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, v < 0);
}

__extension__ typedef unsigned __int128 u128;

static const uint64_t POW10[20] = {
    1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
    100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
    10000000000000ULL, 100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
    100000000000000000ULL, 1000000000000000000ULL, 10000000000000000000ULL};

static inline u128 pow10_128(int s)
{
    return s < 20 ? (u128)POW10[s] : (u128)POW10[19] * 10;
}

/* f * 10^s / 2^k rounded half to even (f * 10^s < 2^128, 1 <= k < 128). */
static inline uint64_t scaled_round(uint64_t f, int s, int k)
{
    u128 n = (u128)f * pow10_128(s);
    u128 q = n >> k, r = n & (((u128)1 << k) - 1), half = (u128)1 << (k - 1);
    if (r > half || (r == half && (q & 1))) q++;
    return (uint64_t)q;
}

/* Whether m / 10^s reads back (round to nearest, ties to even) as
 * f / 2^k, the double with significand f. */
static inline int reads_back(uint64_t m, uint64_t f, int s, int k)
{
    u128 n = (u128)f * pow10_128(s), mk = (u128)m << k, lim = pow10_128(s);
    u128 diff = mk > n ? mk - n : n - mk;
    /* v a power of two and m below it: the neighbour below is half as far */
    u128 twice = diff << (f == (1ULL << 52) && mk < n ? 2 : 1);
    return twice < lim || (twice == lim && (f & 1) == 0);
}

/* m, of exactly p digits, as "%.<p>g" writes it when its exponent x lies
 * in [-4, p): fixed notation without trailing zeros.  Returns the length. */
static size_t fixed_text(char *out, int neg, uint64_t m, int p, int x)
{
    char d[20];
    u64_digits(d + p, m);
    int nd = p;
    while (nd > 1 && d[nd - 1] == '0') nd--;
    char *o = out;
    if (neg) *o++ = '-';
    if (x >= 0) {
        for (int i = 0; i <= x; i++) *o++ = i < nd ? d[i] : '0';
        if (nd > x + 1) {
            *o++ = '.';
            for (int i = x + 1; i < nd; i++) *o++ = d[i];
        }
    } else {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -x - 1; i++) *o++ = '0';
        for (int i = 0; i < nd; i++) *o++ = d[i];
    }
    return (size_t)(o - out);
}

/* The text of a number with a fraction, |v| in [1e-4, 1e15), exactly as
 * "%.15g", or "%.17g" when that does not read back (see the top of this
 * file).  Returns the length, or 0 outside that range. */
static size_t fraction_text(double v, char *out)
{
    double a = fabs(v);
    if (!(a >= 1e-4 && a < 1e15)) return 0;
    uint64_t bits;
    memcpy(&bits, &a, sizeof bits);
    int be = (int)(bits >> 52);                       /* a is normal: 1009 .. 1072 */
    uint64_t f = (bits & ((1ULL << 52) - 1)) | (1ULL << 52);
    int k = 1075 - be;                                /* a = f / 2^k, 3 <= k <= 66 */
    int t = (be - 1023) * 1233;                       /* 1233 / 4096 ~ log10(2) */
    int e = t >= 0 ? t >> 12 : -((-t + 4095) >> 12); /* 10^e <= a < 10^(e+1), or one below */
    for (int tries = 0;; tries++) {                   /* settle e on the truncated digits */
        int s = 14 - e;
        if (tries > 2 || s < 0 || s > 18) return 0;
        uint64_t q = (uint64_t)(((u128)f * pow10_128(s)) >> k);
        if (q < POW10[14]) e--;
        else if (q >= POW10[15]) e++;
        else break;
    }
    int s = 14 - e, x = e;
    uint64_t m = scaled_round(f, s, k);
    if (m == POW10[15]) {                             /* rounded up to the next power of ten */
        m = POW10[14];
        x++;
    }
    if (x > 14) return 0;                             /* "%.15g" would use an exponent */
    if (reads_back(m, f, s, k)) return fixed_text(out, v < 0, m, 15, x);
    m = scaled_round(f, s + 2, k);
    x = e;
    if (m == POW10[17]) {
        m = POW10[16];
        x++;
    }
    return fixed_text(out, v < 0, m, 17, x);
}

/* The text of v when it is the double nearest a decimal of at most six
 * places, |v| in [1e-4, 1e9) (see the top of this file); 0 otherwise. */
static inline size_t short_text(double v, char *out)
{
    double a = fabs(v);
    if (!(a >= 1e-4 && a < 1e9)) return 0;
    uint64_t m = (uint64_t)(a * 1e6 + 0.5);
    if ((double)m / 1e6 != a) return 0;
    uint64_t q = m / 1000000;
    unsigned r = (unsigned)(m % 1000000), places = 6;
    if (r == 0) return 0;                             /* an integer: not here */
    while (r % 10 == 0) {
        r /= 10;
        places--;
    }
    char *o = out;
    if (v < 0) *o++ = '-';
    unsigned n = digits10(q);
    u64_digits(o + n, q);
    o += n;
    *o++ = '.';
    for (unsigned i = places; i > 0; i--) {           /* r, zero-padded to `places` digits */
        o[i - 1] = (char)('0' + r % 10);
        r /= 10;
    }
    return (size_t)(o + places - out);
}

void hf_buf_put_number(hf_buf *b, double v)
{
    double a = fabs(v);
    if (likely(a < 9007199254740992.0)) {             /* NaN fails this too */
        int64_t i = (int64_t)v;
        if ((double)i == v) {                         /* an integer, -0 included */
            put_u64(b, i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i, i < 0);
            return;
        }
        char *o = room(b, 32);
        size_t n = short_text(v, o);
        if (!n) n = fraction_text(v, o);
        if (n) {
            b->len += n;
            return;
        }
    } else if (!isfinite(v)) {
        hf_buf_put(b, "null", 4);
        return;
    }
    char tmp[32];
    size_t n = (size_t)snprintf(tmp, sizeof tmp, "%.15g", v);
    if (strtod(tmp, NULL) != v) n = (size_t)snprintf(tmp, sizeof tmp, "%.17g", v);
    hf_buf_put(b, tmp, n);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) { len = 2; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { len = 3; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; min = 0x10000; }
    else return 0;
    if (n < len) return 0;
    unsigned cp = c & (0x3f >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

void hf_buf_put_string(hf_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    hf_buf_reserve(b, n + 2);
    hf_buf_putc(b, '"');
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            hf_buf_put(b, esc, 2);
            i++;
        } else if (c < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            hf_buf_put(b, esc, 6);
            i++;
        } else {
            size_t len = utf8_seq(u + i, n - i);
            if (len == 0) {
                hf_buf_put(b, "\\ufffd", 6);
                i++;
            } else {
                hf_buf_put(b, u + i, len);
                i += len;
            }
        }
    }
    hf_buf_putc(b, '"');
}
