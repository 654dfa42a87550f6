/* wire.c -- the messages hostflow instances send each other (see wire.h for
 * the layouts).
 *
 * Writers append to a buffer or a fixed array; readers walk a cursor over
 * the message and fail on the first byte that does not fit, so every
 * reader reads only within len and accepts each message in one form only
 * (a varint in its shortest encoding, no bytes left over). */
#include "stream/wire.h"

#include <string.h>

#include "base/addr.h"
#include "base/timefmt.h"
#include "stream/decode.h"

#define MAX_TIME_MS 253402300799999.0   /* 9999-12-31T23:59:59.999Z, the decoder's limit */

int hf_wire_kind(const void *msg, size_t len)
{
    if (len == 0) return HF_WIRE_TEXT;
    uint8_t t = *(const uint8_t *)msg;
    return t == HF_WIRE_FLOW || t == HF_WIRE_PARTIAL || t == HF_WIRE_PROGRESS ? t : HF_WIRE_TEXT;
}

/* ------------------------------------------------------------------------
 * Varints and a reading cursor
 * --------------------------------------------------------------------- */

static size_t put_varint(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

static void buf_varint(hf_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    hf_buf_put(b, tmp, put_varint(tmp, v));
}

typedef struct cursor {
    const uint8_t *p, *end;
    int            bad;
} cursor;

static uint64_t get_varint(cursor *c)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (c->p >= c->end) break;
        uint8_t byte = *c->p++;
        if (shift == 63 && byte > 1) break;              /* over 64 bits */
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            if (byte == 0 && shift > 0) break;           /* not the shortest form */
            return v;
        }
    }
    c->bad = 1;
    return 0;
}

static const uint8_t *get_bytes(cursor *c, size_t n)
{
    if ((size_t)(c->end - c->p) < n) {
        c->bad = 1;
        return NULL;
    }
    const uint8_t *at = c->p;
    c->p += n;
    return at;
}

static unsigned get_u8(cursor *c)
{
    const uint8_t *b = get_bytes(c, 1);
    return b ? *b : 0;
}

/* The host address: 4 bytes mapped into IPv6, or 16. */
static void get_addr(cursor *c, int v6, uint8_t out[16])
{
    const uint8_t *a = get_bytes(c, v6 ? 16 : 4);
    if (!a) return;
    if (v6) {
        memcpy(out, a, 16);
    } else {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, a, 4);
    }
}

/* ------------------------------------------------------------------------
 * Flows
 * --------------------------------------------------------------------- */

size_t hf_wire_flow_encode(const hf_flow *f, uint8_t *out)
{
    int v6 = f->family == HF_AF_INET6;
    size_t n = 0;
    out[n++] = HF_WIRE_FLOW;
    out[n++] = (uint8_t)(v6 | (f->mark & 7) << 1);
    memcpy(out + n, v6 ? f->src : f->src + 12, v6 ? 16 : 4);
    n += v6 ? 16 : 4;
    memcpy(out + n, v6 ? f->dst : f->dst + 12, v6 ? 16 : 4);
    n += v6 ? 16 : 4;
    out[n++] = (uint8_t)f->sport;
    out[n++] = (uint8_t)(f->sport >> 8);
    out[n++] = (uint8_t)f->dport;
    out[n++] = (uint8_t)(f->dport >> 8);
    out[n++] = f->proto;
    out[n++] = f->tcp_flags;
    n += put_varint(out + n, (uint64_t)f->packets);
    n += put_varint(out + n, (uint64_t)f->bytes);
    n += put_varint(out + n, (uint64_t)f->end_ms);
    n += put_varint(out + n, (uint64_t)(f->end_ms - f->start_ms));
    return n;
}

int hf_wire_flow_decode(const void *msg, size_t len, hf_flow *f)
{
    cursor c = {msg, (const uint8_t *)msg + len, 0};
    if (get_u8(&c) != HF_WIRE_FLOW) return HF_DECODE_MALFORMED;
    unsigned bits = get_u8(&c);
    if (c.bad) return HF_DECODE_MALFORMED;
    if (bits > 15) return HF_DECODE_BAD_ADDRESS;
    memset(f, 0, sizeof *f);
    int v6 = bits & 1;
    f->family = v6 ? HF_AF_INET6 : HF_AF_INET;
    f->mark = (uint8_t)(bits >> 1);
    get_addr(&c, v6, f->src);
    get_addr(&c, v6, f->dst);
    const uint8_t *ports = get_bytes(&c, 6);
    uint64_t packets = get_varint(&c), bytes = get_varint(&c);
    uint64_t end = get_varint(&c), dur = get_varint(&c);
    if (c.bad || c.p != c.end) return HF_DECODE_MALFORMED;
    f->sport = (uint16_t)(ports[0] | ports[1] << 8);
    f->dport = (uint16_t)(ports[2] | ports[3] << 8);
    f->proto = ports[4];
    f->tcp_flags = ports[5];
    if ((double)packets > HF_MAX_EXACT_INT || (double)bytes > HF_MAX_EXACT_INT) return HF_DECODE_BAD_NUMBER;
    if ((double)end > MAX_TIME_MS) return HF_DECODE_BAD_TIME;
    if (dur > end) return HF_DECODE_BAD_TIME;
    f->packets = (double)packets;
    f->bytes = (double)bytes;
    f->end_ms = (double)end;
    f->start_ms = (double)(end - dur);
    return HF_DECODE_OK;
}

static size_t put_key_int(char *out, const char *key, uint64_t v)
{
    size_t n = strlen(key);
    memcpy(out, key, n);
    char digits[24];
    int d = 0;
    do {
        digits[d++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (d) out[n++] = digits[--d];
    return n;
}

static size_t put_key_addr(char *out, const char *key, const uint8_t addr[16], uint8_t family)
{
    size_t n = strlen(key);
    memcpy(out, key, n);
    n += hf_addr_format(addr, family, out + n);
    out[n++] = '"';
    return n;
}

static size_t put_key_time(char *out, const char *key, double ms)
{
    size_t n = strlen(key);
    memcpy(out, key, n);
    n += hf_time_format_iso((int64_t)ms, out + n);
    out[n++] = '"';
    return n;
}

size_t hf_wire_flow_json(const hf_flow *f, char *out)
{
    int v6 = f->family == HF_AF_INET6;
    size_t n = 0;
    n += put_key_addr(out + n, v6 ? "{\"src6_addr\":\"" : "{\"src4_addr\":\"", f->src, f->family);
    n += put_key_addr(out + n, v6 ? ",\"dst6_addr\":\"" : ",\"dst4_addr\":\"", f->dst, f->family);
    n += put_key_int(out + n, ",\"src_port\":", f->sport);
    n += put_key_int(out + n, ",\"dst_port\":", f->dport);
    n += put_key_int(out + n, ",\"proto\":", f->proto);
    n += put_key_int(out + n, ",\"tcp_flags\":", f->tcp_flags);
    n += put_key_int(out + n, ",\"in_packets\":", (uint64_t)f->packets);
    n += put_key_int(out + n, ",\"in_bytes\":", (uint64_t)f->bytes);
    n += put_key_time(out + n, ",\"first\":\"", f->start_ms);
    n += put_key_time(out + n, ",\"last\":\"", f->end_ms);
    out[n++] = '}';
    return n;
}

/* ------------------------------------------------------------------------
 * Partial windows
 * --------------------------------------------------------------------- */

size_t hf_wire_partial_begin(hf_buf *b, const uint8_t addr[16], uint8_t family, int sent,
                             int received, int64_t start_ms, int64_t g_ms, int n)
{
    int v6 = family == HF_AF_INET6;
    hf_buf_putc(b, (char)HF_WIRE_PARTIAL);
    hf_buf_putc(b, (char)(v6 | (sent ? 2 : 0) | (received ? 4 : 0)));
    hf_buf_put(b, v6 ? addr : addr + 12, v6 ? 16 : 4);
    buf_varint(b, (uint64_t)start_ms);
    buf_varint(b, (uint64_t)g_ms);
    size_t at = b->len;
    hf_buf_putc(b, (char)n);
    return at;
}

void hf_wire_partial_count(hf_buf *b, size_t at, int n)
{
    b->data[at] = (char)n;
}

void hf_wire_partial_state(hf_buf *b, const char *name, int omitted,
                           const uint8_t *bytes, size_t len)
{
    size_t nl = strlen(name);
    if (nl > HF_WIRE_NAME_MAX) nl = HF_WIRE_NAME_MAX;
    hf_buf_putc(b, (char)nl);
    hf_buf_put(b, name, nl);
    hf_buf_putc(b, (char)(omitted ? 1 : 0));
    if (omitted) return;
    buf_varint(b, len);
    hf_buf_put(b, bytes, len);
}

int hf_wire_partial_parse(const void *msg, size_t len, hf_wire_partial *p)
{
    cursor c = {msg, (const uint8_t *)msg + len, 0};
    if (get_u8(&c) != HF_WIRE_PARTIAL) return HF_DECODE_MALFORMED;
    unsigned bits = get_u8(&c);
    if (c.bad) return HF_DECODE_MALFORMED;
    if (bits > 7) return HF_DECODE_BAD_ADDRESS;
    p->family = bits & 1 ? HF_AF_INET6 : HF_AF_INET;
    p->sent = (bits >> 1) & 1;
    p->received = (bits >> 2) & 1;
    get_addr(&c, bits & 1, p->addr);
    uint64_t start = get_varint(&c), g = get_varint(&c);
    unsigned n = get_u8(&c);
    if (c.bad) return HF_DECODE_MALFORMED;
    if ((double)start > MAX_TIME_MS || g == 0 || g > 86400000ULL * 366) return HF_DECODE_BAD_TIME;
    if (n > HF_WIRE_MAX_STATES) return HF_DECODE_MALFORMED;
    p->start_ms = (int64_t)start;
    p->g_ms = (int64_t)g;
    p->n = (int)n;
    for (unsigned i = 0; i < n; i++) {
        hf_wire_state *s = &p->states[i];
        s->name_len = (uint8_t)get_u8(&c);
        s->name = (const char *)get_bytes(&c, s->name_len);
        unsigned omitted = get_u8(&c);
        if (c.bad || omitted > 1) return HF_DECODE_MALFORMED;
        s->omitted = (uint8_t)omitted;
        s->bytes = NULL;
        s->len = 0;
        if (omitted) continue;
        uint64_t sl = get_varint(&c);
        if (c.bad || sl > (uint64_t)(c.end - c.p)) return HF_DECODE_MALFORMED;
        s->len = (uint32_t)sl;
        s->bytes = get_bytes(&c, (size_t)sl);
    }
    return c.bad || c.p != c.end ? HF_DECODE_MALFORMED : HF_DECODE_OK;
}

/* ------------------------------------------------------------------------
 * Progress
 * --------------------------------------------------------------------- */

static void put_short_text(hf_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (n > HF_WIRE_NAME_MAX) n = HF_WIRE_NAME_MAX;
    hf_buf_putc(b, (char)n);
    hf_buf_put(b, s, n);
}

void hf_wire_progress_write(hf_buf *b, int kind, const char *producer, const char *topic,
                            int32_t partitions, const hf_wire_mark *marks, int n)
{
    hf_buf_putc(b, (char)HF_WIRE_PROGRESS);
    hf_buf_putc(b, (char)kind);
    put_short_text(b, producer);
    put_short_text(b, topic);
    buf_varint(b, (uint64_t)partitions);
    buf_varint(b, (uint64_t)n);
    for (int i = 0; i < n; i++) {
        buf_varint(b, (uint64_t)marks[i].partition);
        buf_varint(b, (uint64_t)marks[i].through);
    }
}

int hf_wire_progress_parse(const void *msg, size_t len, hf_wire_progress *p,
                           hf_wire_mark *marks, int max)
{
    cursor c = {msg, (const uint8_t *)msg + len, 0};
    if (get_u8(&c) != HF_WIRE_PROGRESS) return HF_DECODE_MALFORMED;
    p->kind = (int)get_u8(&c);
    if (p->kind != HF_WIRE_WINDOWS && p->kind != HF_WIRE_FLOWS) return HF_DECODE_MALFORMED;
    p->producer_len = (uint8_t)get_u8(&c);
    p->producer = (const char *)get_bytes(&c, p->producer_len);
    p->topic_len = (uint8_t)get_u8(&c);
    p->topic = (const char *)get_bytes(&c, p->topic_len);
    uint64_t parts = get_varint(&c), n = get_varint(&c);
    if (c.bad || parts == 0 || parts > INT32_MAX || n > parts || n > (uint64_t)max)
        return HF_DECODE_MALFORMED;
    p->partitions = (int32_t)parts;
    p->n = (int)n;
    p->marks = marks;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t part = get_varint(&c), through = get_varint(&c);
        if (c.bad || part >= parts || through > (uint64_t)INT64_MAX) return HF_DECODE_MALFORMED;
        marks[i].partition = (int32_t)part;
        marks[i].through = (int64_t)through;
    }
    return c.p != c.end ? HF_DECODE_MALFORMED : HF_DECODE_OK;
}
