/* buf.c -- growable byte buffer and JSON value writing (see buf.h). */
#include "buf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

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

void hf_buf_reserve(hf_buf *b, size_t n)
{
    if (b->len + n <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n) cap *= 2;
    b->data = hf_realloc(b->data, cap);
    b->cap = cap;
}

void hf_buf_put(hf_buf *b, const void *p, size_t n)
{
    hf_buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void hf_buf_putc(hf_buf *b, char c)
{
    hf_buf_reserve(b, 1);
    b->data[b->len++] = c;
}

void hf_buf_puts(hf_buf *b, const char *s)
{
    hf_buf_put(b, s, strlen(s));
}

void hf_buf_put_int(hf_buf *b, int64_t v)
{
    char tmp[24];
    char *p = tmp + sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--p = '-';
    hf_buf_put(b, p, (size_t)(tmp + sizeof tmp - p));
}

void hf_buf_put_number(hf_buf *b, double v)
{
    if (!isfinite(v)) {
        hf_buf_put(b, "null", 4);
        return;
    }
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        hf_buf_put_int(b, (int64_t)v);
        return;
    }
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%.15g", v);
    if (strtod(tmp, NULL) != v) n = snprintf(tmp, sizeof tmp, "%.17g", v);
    hf_buf_put(b, tmp, (size_t)n);
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
