/* buf.h -- a growable byte buffer and the JSON writing the host records need.
 *
 * Records are built straight into a buffer (never through a JSON tree): the
 * core writes each record's head, the Lua side appends the analyses' values
 * with the hf_buf_put_* functions, which the FFI reaches. */
#ifndef HF_BUF_H
#define HF_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct hf_buf {
    char  *data;
    size_t len;
    size_t cap;
} hf_buf;

void hf_buf_init(hf_buf *b, size_t cap);
void hf_buf_release(hf_buf *b);
/* Grow the buffer to hold n more bytes (doubling); the slow path of the
 * puts below, out of line. */
void hf_buf_grow(hf_buf *b, size_t n);

/* The puts are inline (C99 `inline`: buf.c holds the one external
 * definition of each, which the FFI calls): a put that fits is a compare
 * and a copy, and a literal's copy is a few moves. */

/* Room for n more bytes; returns where they go (len is not moved). */
inline char *hf_buf_room(hf_buf *b, size_t n)
{
    if (__builtin_expect(b->cap - b->len < n, 0)) hf_buf_grow(b, n);
    return b->data + b->len;
}
/* Make room for n more bytes. */
inline void hf_buf_reserve(hf_buf *b, size_t n)
{
    hf_buf_room(b, n);
}
inline void hf_buf_put(hf_buf *b, const void *p, size_t n)
{
    __builtin_memcpy(hf_buf_room(b, n), p, n);
    b->len += n;
}
inline void hf_buf_putc(hf_buf *b, char c)
{
    *hf_buf_room(b, 1) = c;
    b->len++;
}
/* A C string (inline, so the length of a literal is known at compile time). */
static inline void hf_buf_puts(hf_buf *b, const char *s)
{
    hf_buf_put(b, s, __builtin_strlen(s));
}
/* A JSON number: integers below 2^53 without a fraction, others in the
 * shortest of %.15g/%.17g that reads back to the same double; NaN and
 * infinities (not JSON) as null. */
void hf_buf_put_number(hf_buf *b, double v);
void hf_buf_put_int(hf_buf *b, int64_t v);
/* A JSON string, quoted and escaped (control characters as \u00XX; bytes
 * that are not valid UTF-8 as \ufffd). */
void hf_buf_put_string(hf_buf *b, const char *s, size_t n);

#endif
