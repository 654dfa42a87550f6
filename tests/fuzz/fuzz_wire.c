/* fuzz_wire.c -- libFuzzer target for the readers of the messages between
 * instances (stream/wire.c): a binary flow, a partial window and a
 * progress message.
 *
 * Every input goes to the three readers.  Whatever one accepts must be
 * canonical: written again from what was read, it gives back exactly the
 * input's bytes; a flow it accepts must hold values the decoder could
 * have produced (whole numbers in range, end at or after start), and its
 * normalised JSON must decode to the same flow (but for its mark, which
 * says which host a relay's copy is for and which JSON does not carry).  Any broken property
 * aborts with a message; ASan and UBSan watch the rest.
 *
 * Build: make build/fuzz/fuzz_wire.  Seeds: tests/fuzz/seeds/wire/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "stream/decode.h"
#include "stream/wire.h"

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_wire: %s\n", what);
    abort();
}

static void same_bytes(const hf_buf *b, const uint8_t *data, size_t size, const char *what)
{
    if (b->len != size || memcmp(b->data, data, size) != 0) fail(what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hf_flow f, g;
    if (hf_wire_flow_decode(data, size, &f) == HF_DECODE_OK) {
        uint8_t out[HF_WIRE_FLOW_MAX];
        size_t n = hf_wire_flow_encode(&f, out);
        if (n != size || memcmp(out, data, size) != 0) fail("a flow read is not written back the same");
        if (f.end_ms < f.start_ms || f.start_ms < 0 || f.packets > HF_MAX_EXACT_INT ||
            f.bytes > HF_MAX_EXACT_INT)
            fail("a flow read holds values the decoder never gives");
        char text[HF_WIRE_FLOW_JSON];
        size_t tn = hf_wire_flow_json(&f, text);
        if (tn >= HF_WIRE_FLOW_JSON) fail("normalised JSON too long");
        f.mark = 0;                              /* which host a copy is for: not in JSON */
        if (hf_decode_flow(text, tn, &g) != HF_DECODE_OK || memcmp(&f, &g, sizeof f) != 0)
            fail("the normalised JSON does not decode to the same flow");
    }
    hf_wire_partial p;
    if (hf_wire_partial_parse(data, size, &p) == 0) {
        hf_buf b;
        hf_buf_init(&b, 64);
        hf_wire_partial_begin(&b, p.addr, p.family, p.sent, p.received, p.start_ms, p.g_ms, p.n);
        for (int i = 0; i < p.n; i++) {
            char name[HF_WIRE_NAME_MAX + 1];
            memcpy(name, p.states[i].name, p.states[i].name_len);
            name[p.states[i].name_len] = '\0';
            if (strlen(name) != p.states[i].name_len) {   /* a NUL in a name cannot be written back */
                hf_buf_release(&b);
                goto progress;
            }
            hf_wire_partial_state(&b, name, p.states[i].omitted, p.states[i].bytes, p.states[i].len);
        }
        same_bytes(&b, data, size, "a partial read is not written back the same");
        hf_buf_release(&b);
    }
progress:;
    hf_wire_mark marks[64];
    hf_wire_progress pr;
    if (hf_wire_progress_parse(data, size, &pr, marks, 64) == 0) {
        char producer[HF_WIRE_NAME_MAX + 1], topic[HF_WIRE_NAME_MAX + 1];
        memcpy(producer, pr.producer, pr.producer_len);
        producer[pr.producer_len] = '\0';
        memcpy(topic, pr.topic, pr.topic_len);
        topic[pr.topic_len] = '\0';
        if (strlen(producer) != pr.producer_len || strlen(topic) != pr.topic_len) return 0;
        hf_buf b;
        hf_buf_init(&b, 64);
        hf_wire_progress_write(&b, pr.kind, producer, topic, pr.partitions, pr.marks, pr.n);
        same_bytes(&b, data, size, "a progress message read is not written back the same");
        hf_buf_release(&b);
    }
    return 0;
}
