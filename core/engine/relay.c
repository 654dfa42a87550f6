/* relay.c -- flows to the outputs, keyed by their host (see relay.h).
 *
 * Each flow of a batch becomes one record of type HF_RECORD_FLOW whose id
 * (the Kafka message key) is its source address as text, the host of the
 * records downstream; Kafka's partitioner then puts every flow of a host in
 * the same partition.  The binary form writes the key into the batch's
 * text before the message (a Kafka output reads records by offset and
 * length); the JSON form's key is the address inside its own text, so a
 * file output gets plain NDJSON. */
#include "engine/relay.h"

#include <stdatomic.h>
#include <string.h>

#include "base/addr.h"
#include "base/alloc.h"
#include "stream/wire.h"

struct hf_relay {
    const hf_config      *cfg;
    const hf_record_sink *sink;
    int                   binary;
    hf_batch             *spare;
    hf_record_batch       out;
    hf_shards             shards;
    _Atomic uint64_t      flows, bytes;
    uint64_t              copies;   /* second copies (for a monitored destination) */
};

static hf_batch *relay_batch(void *ctx, int shard)
{
    (void)shard;
    hf_relay *r = ctx;
    hf_batch *b = r->spare;
    if (b) {
        r->spare = NULL;
    } else {
        b = hf_calloc(1, sizeof *b);
        b->flows = hf_malloc(sizeof(hf_flow) * (size_t)r->cfg->batch);
    }
    hf_batch_clear(b);
    return b;
}

/* One copy of a flow as a record: its key (the address of the host it is
 * for, as text) and its message, binary or JSON. */
static void put_copy(hf_relay *r, const hf_flow *f, const uint8_t *host)
{
    hf_record_batch *rb = &r->out;
    hf_buf *t = &rb->text;
    if (r->binary) {
        char addr[HF_ADDR_STRLEN];
        size_t alen = hf_addr_format(host, f->family, addr);
        size_t key = t->len;
        hf_buf_put(t, addr, alen);
        hf_record_begin(rb, HF_RECORD_FLOW, (int64_t)f->end_ms);
        hf_record_key(rb, key, alen);
        hf_buf_reserve(t, HF_WIRE_FLOW_MAX);
        t->len += hf_wire_flow_encode(f, (uint8_t *)t->data + t->len);
    } else {
        hf_record_begin(rb, HF_RECORD_FLOW, (int64_t)f->end_ms);
        size_t at = t->len;
        hf_buf_reserve(t, HF_WIRE_FLOW_JSON);
        t->len += hf_wire_flow_json(f, t->data + t->len);
        /* {"src4_addr":"SRC","dst4_addr":"DST",... : the key is SRC or DST */
        const char *a = t->data + at + sizeof "{\"src4_addr\":\"" - 1;
        if (host != f->src) a = (const char *)memchr(a, '"', 64) + sizeof "\",\"dst4_addr\":\"" - 1;
        hf_record_key(rb, (size_t)(a - t->data), (size_t)((const char *)memchr(a, '"', 64) - a));
    }
    atomic_fetch_add_explicit(&r->bytes, rb->text.len - rb->recs[rb->n].off, memory_order_relaxed);
    hf_record_end(rb);
}

/* A flow, once for each monitored host it is for (hf_flow.mark): keyed by
 * its source, and by its destination when that is monitored and another
 * host, each copy marked for its own host, so that whoever owns a host
 * counts the flow once for it.  The JSON form carries no mark: there a
 * flow goes once, keyed by its source (by its destination when only that
 * is monitored), and readers decide by their own networks. */
static void put_flow(hf_relay *r, const hf_flow *f)
{
    int src = !(f->mark & HF_FLOW_NO_SRC), dst = (f->mark & HF_FLOW_DST) != 0;
    int same = memcmp(f->src, f->dst, 16) == 0;
    hf_flow c = *f;
    if (!r->binary) {
        put_copy(r, f, src ? f->src : f->dst);
        return;
    }
    if (src) {
        c.mark = dst && same ? HF_FLOW_DST : 0;
        put_copy(r, &c, f->src);
    }
    if (dst && !(src && same)) {
        c.mark = (uint8_t)(HF_FLOW_DST | HF_FLOW_NO_SRC | (f->mark & HF_FLOW_SRC_OUT));
        put_copy(r, &c, f->dst);
        r->copies++;
    }
}

static void relay_push(void *ctx, int shard, hf_batch *b)
{
    (void)shard;
    hf_relay *r = ctx;
    for (int i = 0; i < b->n; i++) put_flow(r, &b->flows[i]);
    if (r->out.n) {
        hf_records view;
        hf_record_batch_view(&r->out, &view);
        r->sink->write(r->sink->ctx, &view);
        hf_record_batch_reset(&r->out);
    }
    atomic_fetch_add_explicit(&r->flows, (uint64_t)b->n, memory_order_relaxed);
    if (r->spare) {
        hf_free(r->spare->flows);
        hf_free(r->spare->partials);
        hf_free(r->spare);
    }
    r->spare = b;
}

/* The relay keeps no windows: nothing it was given waits for one. */
static int64_t relay_emitted_until(void *ctx)
{
    (void)ctx;
    return INT64_MIN;
}

hf_relay *hf_relay_new(const hf_config *cfg, const hf_record_sink *sink)
{
    hf_relay *r = hf_calloc(1, sizeof *r);
    r->cfg = cfg;
    r->sink = sink;
    r->binary = strcmp(cfg->relay_format, "json") != 0;
    hf_record_batch_init(&r->out);
    r->shards = (hf_shards){.n = 1, .ctx = r, .batch = relay_batch, .push = relay_push,
                            .emitted_until = relay_emitted_until};
    return r;
}

const hf_shards *hf_relay_shards(hf_relay *r)
{
    return &r->shards;
}

void hf_relay_counts(const hf_relay *r, uint64_t *flows, uint64_t *bytes)
{
    *flows = atomic_load_explicit(&((hf_relay *)r)->flows, memory_order_relaxed);
    *bytes = atomic_load_explicit(&((hf_relay *)r)->bytes, memory_order_relaxed);
}

void hf_relay_free(hf_relay *r)
{
    if (!r) return;
    if (r->spare) {
        hf_free(r->spare->flows);
        hf_free(r->spare->partials);
        hf_free(r->spare);
    }
    hf_record_batch_release(&r->out);
    hf_free(r);
}
