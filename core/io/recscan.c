/* recscan.c -- one pass over a JSON record, member by member (recscan.h).
 *
 * A recursive walk, left to right, that keeps the dotted path of the member
 * it is in (keys unescaped into one buffer, cut back on leaving) and hands
 * each member down to max_depth to the caller's function.  Nothing is
 * built: a string is handed over as the bytes between its quotes, a number
 * as a double.  Deeper members, and the items of arrays, are walked only to
 * find where they end.
 *
 * Why not cJSON: the HTTP view reads every record the workers write, and
 * building and freeing a tree of a few dozen nodes per record (a malloc per
 * node, a strtod per number, a strcmp per lookup) held it to about 110,000
 * records/s, below what the workers make; this walk allocates nothing and
 * converts integers, nearly every number of a host record, without strtod.
 *
 * Numbers follow JSON's grammar; those of at most 15 significant digits and
 * a small power of ten (nearly all: counts and durations) are converted
 * exactly in one step, anything else by strtod on a copy (at most 63
 * characters: longer is refused). */
#include "io/recscan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct walker {
    const char   *end;
    int           max_depth;
    hf_recscan_fn fn;
    void         *ctx;
    size_t        pathlen;
    int           fits;             /* the path so far fits in path[] */
    char          path[HF_RECSCAN_MAX_PATH + 8];
} walker;

static inline const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* The bytes of v equal to c are flagged (their high bit set). */
static inline uint64_t bytes_equal(uint64_t v, unsigned char c)
{
    uint64_t x = v ^ (0x0101010101010101ULL * c);
    return (x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL;
}

/* p after an opening quote: the closing one, or NULL; *esc is set when the
 * string holds an escape.  Eight bytes at a time while they hold neither a
 * quote nor a backslash. */
static inline const char *string_end(const char *p, const char *end, int *esc)
{
    for (;;) {
        while (end - p >= 8) {
            uint64_t v;
            memcpy(&v, p, 8);
            if (bytes_equal(v, '"') | bytes_equal(v, '\\')) break;
            p += 8;
        }
        if (p >= end) return NULL;
        if (*p == '"') return p;
        if (*p == '\\') {
            if (end - p < 2) return NULL;
            *esc = 1;
            p += 2;
        } else {
            p++;
        }
    }
}

static int hex4(const char *s, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;
        if (d > 15) return -1;
        *v = *v << 4 | d;
    }
    return 0;
}

/* Unescape s[0, n) into out (room for cap bytes).  Returns the length, or
 * -1 for a bad escape, or cap + 1 when it does not fit. */
static long unescape(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        char c = s[i++];
        char buf[4];
        size_t k = 1;
        buf[0] = c;
        if (c == '\\') {
            if (i >= n) return -1;
            c = s[i++];
            switch (c) {
            case '"': case '\\': case '/': buf[0] = c; break;
            case 'b': buf[0] = '\b'; break;
            case 'f': buf[0] = '\f'; break;
            case 'n': buf[0] = '\n'; break;
            case 'r': buf[0] = '\r'; break;
            case 't': buf[0] = '\t'; break;
            case 'u': {
                unsigned cp, lo;
                if (i + 4 > n || hex4(s + i, &cp) < 0) return -1;
                i += 4;
                if (cp >= 0xd800 && cp < 0xdc00) {          /* a surrogate pair */
                    if (i + 6 > n || s[i] != '\\' || s[i + 1] != 'u' || hex4(s + i + 2, &lo) < 0 ||
                        lo < 0xdc00 || lo >= 0xe000)
                        return -1;
                    i += 6;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                } else if (cp >= 0xdc00 && cp < 0xe000) {
                    return -1;
                }
                if (cp < 0x80) {
                    buf[0] = (char)cp;
                } else if (cp < 0x800) {
                    buf[0] = (char)(0xc0 | cp >> 6);
                    buf[1] = (char)(0x80 | (cp & 0x3f));
                    k = 2;
                } else if (cp < 0x10000) {
                    buf[0] = (char)(0xe0 | cp >> 12);
                    buf[1] = (char)(0x80 | (cp >> 6 & 0x3f));
                    buf[2] = (char)(0x80 | (cp & 0x3f));
                    k = 3;
                } else {
                    buf[0] = (char)(0xf0 | cp >> 18);
                    buf[1] = (char)(0x80 | (cp >> 12 & 0x3f));
                    buf[2] = (char)(0x80 | (cp >> 6 & 0x3f));
                    buf[3] = (char)(0x80 | (cp & 0x3f));
                    k = 4;
                }
                break;
            }
            default: return -1;
            }
        }
        if (o + k > cap) return (long)cap + 1;
        memcpy(out + o, buf, k);
        o += k;
    }
    return (long)o;
}

/* A JSON number at p: its end, and its value in *v; NULL if malformed.
 * Its digits, the fraction's too, are summed while there are at most 15
 * of them (under 2^53, exact) and the power of ten is at most 22 (exact
 * too): then one multiplication or division, correctly rounded, gives the
 * value (Clinger's fast path).  Anything else goes through strtod. */
static const char *number(const char *p, const char *end, double *v)
{
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *s = p;
    int neg = 0, digits = 0, scale = 0, exp = 0, expneg = 0, expdigits = 0;
    uint64_t u = 0;
    if (p < end && *p == '-') neg = 1, p++;
    if (p >= end || *p < '0' || *p > '9') return NULL;
    if (*p == '0') {
        p++;
    } else {
        while (p < end && *p >= '0' && *p <= '9') {
            if (++digits <= 19) u = u * 10 + (uint64_t)(*p - '0');
            p++;
        }
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9') return NULL;
        while (p < end && *p >= '0' && *p <= '9') {
            if (u || *p != '0') digits++;           /* leading zeros of 0.00x are not digits */
            if (digits <= 19) u = u * 10 + (uint64_t)(*p - '0');
            scale++;
            p++;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) expneg = *p++ == '-';
        if (p >= end || *p < '0' || *p > '9') return NULL;
        while (p < end && *p >= '0' && *p <= '9') {
            if (exp < 10000) exp = exp * 10 + (*p - '0');
            expdigits++;
            p++;
        }
    }
    int e10 = (expneg ? -exp : exp) - scale;
    if (digits <= 15 && e10 >= -22 && e10 <= 22) {
        double x = (double)u;
        x = e10 < 0 ? x / pow10[-e10] : x * pow10[e10];
        *v = neg ? -x : x;
        return p;
    }
    if (digits <= 19 && e10 == 0) {                 /* a whole number under 10^19 */
        *v = neg ? -(double)u : (double)u;
        return p;
    }
    char buf[64];
    size_t n = (size_t)(p - s);
    if (n >= sizeof buf) return NULL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    *v = strtod(buf, NULL);
    return p;
}

static const char *literal(const char *p, const char *end, const char *lit, size_t n)
{
    return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0 ? p + n : NULL;
}

static const char *member(walker *w, const char *p, int depth, int nest);

/* q after '{' and white space: the members, at depth + 1; after the '}'. */
static const char *object_body(walker *w, const char *q, int depth, int nest)
{
    const char *end = w->end;
    if (*q == '}') return q + 1;
    int report = depth + 1 <= w->max_depth;
    for (;;) {
        if (q >= end || *q != '"') return NULL;
        int esc = 0;
        const char *ke = string_end(q + 1, end, &esc);
        if (!ke) return NULL;
        size_t saved = w->pathlen;
        int saved_fits = w->fits;
        if (report && w->fits) {                       /* path = path "." key */
            size_t at = w->pathlen ? w->pathlen + 1 : 0;
            if (w->pathlen) w->path[w->pathlen] = '.';
            size_t klen = (size_t)(ke - q - 1);
            long n;
            if (at > HF_RECSCAN_MAX_PATH) {
                n = HF_RECSCAN_MAX_PATH + 1;                /* too long: not reported */
            } else if (!esc) {
                n = at + klen <= HF_RECSCAN_MAX_PATH ? (long)klen : HF_RECSCAN_MAX_PATH + 1;
                if (at + klen <= HF_RECSCAN_MAX_PATH) memcpy(w->path + at, q + 1, klen);
            } else {
                n = unescape(q + 1, klen, w->path + at, HF_RECSCAN_MAX_PATH - at);
                if (n < 0) return NULL;
            }
            if (at + (size_t)n > HF_RECSCAN_MAX_PATH) w->fits = 0;
            else w->pathlen = at + (size_t)n;
        }
        q = skip_ws(ke + 1, end);
        if (q >= end || *q != ':') return NULL;
        q = skip_ws(q + 1, end);
        if (q >= end) return NULL;
        q = member(w, q, report ? depth + 1 : INT32_MAX / 2, nest);
        if (!q) return NULL;
        w->pathlen = saved;
        w->fits = saved_fits;
        q = skip_ws(q, end);
        if (q >= end) return NULL;
        if (*q == '}') return q + 1;
        if (*q != ',') return NULL;
        q = skip_ws(q + 1, end);
    }
}

/* q after '[' and white space: the items, walked, not reported. */
static const char *array_body(walker *w, const char *q, int nest)
{
    const char *end = w->end;
    if (*q == ']') return q + 1;
    for (;;) {
        q = member(w, q, INT32_MAX / 2, nest);
        if (!q) return NULL;
        q = skip_ws(q, end);
        if (q >= end) return NULL;
        if (*q == ']') return q + 1;
        if (*q != ',') return NULL;
        q = skip_ws(q + 1, end);
        if (q >= end) return NULL;
    }
}

/* The value at p (not white space), a member at `depth`: reported when
 * depth <= max_depth and its path fits.  Returns its end, or NULL. */
static const char *member(walker *w, const char *p, int depth, int nest)
{
    const char *end = w->end;
    hf_recscan_item it;
    it.depth = depth;
    it.num = 0;
    it.str = NULL;
    it.len = 0;
    it.nonempty = 0;
    int report = depth <= w->max_depth && w->fits;
    char c = *p;
    if (c == '{' || c == '[') {
        if (nest >= HF_RECSCAN_MAX_NEST) return NULL;
        const char *q = skip_ws(p + 1, end);
        if (q >= end) return NULL;
        it.kind = c == '{' ? HF_RECSCAN_OBJECT : HF_RECSCAN_ARRAY;
        it.nonempty = *q != (c == '{' ? '}' : ']');
        if (report) {
            w->path[w->pathlen] = '\0';
            it.path = w->path;
            it.pathlen = w->pathlen;
            w->fn(w->ctx, &it);
        }
        return c == '{' ? object_body(w, q, depth, nest + 1) : array_body(w, q, nest + 1);
    }
    const char *q;
    if (c == '"') {
        int esc = 0;
        const char *e = string_end(p + 1, end, &esc);
        if (!e) return NULL;
        it.kind = HF_RECSCAN_STRING;
        it.str = p + 1;
        it.len = (size_t)(e - p - 1);
        q = e + 1;
    } else if (c == 't') {
        it.kind = HF_RECSCAN_TRUE;
        q = literal(p, end, "true", 4);
    } else if (c == 'f') {
        it.kind = HF_RECSCAN_FALSE;
        q = literal(p, end, "false", 5);
    } else if (c == 'n') {
        it.kind = HF_RECSCAN_NULL;
        q = literal(p, end, "null", 4);
    } else {
        it.kind = HF_RECSCAN_NUMBER;
        q = number(p, end, &it.num);
    }
    if (q && report) {
        w->path[w->pathlen] = '\0';
        it.path = w->path;
        it.pathlen = w->pathlen;
        w->fn(w->ctx, &it);
    }
    return q;
}

int hf_recscan_walk(const char *text, size_t len, int max_depth, hf_recscan_fn fn, void *ctx)
{
    walker w;
    w.end = text + len;
    w.max_depth = max_depth;
    w.fn = fn;
    w.ctx = ctx;
    w.pathlen = 0;
    w.fits = 1;
    const char *p = skip_ws(text, w.end);
    if (p >= w.end || *p != '{') return -1;
    const char *q = skip_ws(p + 1, w.end);
    if (q >= w.end) return -1;
    q = object_body(&w, q, 0, 1);
    if (!q) return -1;
    return skip_ws(q, w.end) == w.end ? 0 : -1;
}
