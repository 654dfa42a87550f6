/* wire.h -- what hostflow instances send each other through Kafka: flows
 * keyed by host (the relay's), partial windows (the partial role's) and
 * progress (how far a partial instance has emitted each input partition).
 *
 *   raw flows ─▶ relay ──(flows)──▶ single instances, one group
 *   raw flows ─▶ partial ──(partials, progress)──▶ merge instances, one group
 *
 * Every message starts with a tag byte that no JSON text starts with, so a
 * consumer tells them from the JSON flows of the exporters by their first
 * byte (hf_wire_kind); the rest is version 1 of that message, little-endian,
 * with whole numbers as LEB128 varints:
 *
 *   flow      01 | bits | src, dst (4 bytes each, 16 with bit 0: IPv6)
 *                | sport u16 | dport u16 | proto u8 | tcp_flags u8
 *                | packets | bytes | end_ms | end_ms - start_ms      (varints)
 *             bits 1-3: hf_flow.mark, which host this copy is for (a flow
 *             between two monitored hosts travels twice, keyed by each)
 *
 *   partial   02 | bits | host (4|16) | start_ms | g_ms | n u8
 *                | n x ( name_len u8 | name | omitted u8 | [len | state bytes] )
 *             one host's primitive states for one window (prim/state.h's
 *             serialised form): one per analysis kept in the rows, one per
 *             analysis with sparse states that has one for the host;
 *             omitted: the analysis's field is left out of the host's
 *             record (an error, a disabled analysis).  bits: 0 IPv6, 1 the
 *             host sent flows, 2 it received flows (hf_host.sent, .received)
 *
 *   progress  03 | kind u8 | producer_len u8 | producer | topic_len u8 | topic
 *                | partitions | n | n x ( partition | through )
 *             kind HF_WIRE_WINDOWS (a partial instance's): every partial
 *             window of those input partitions that ends at or before
 *             `through` has been produced; kind HF_WIRE_FLOWS (a relay's):
 *             every flow read from them so far is passed on, the newest
 *             ending at `through` (for a partition at its end, the relay's
 *             watermark); HF_WIRE_END: the partition has ended.  `partitions`
 *             is the input topic's partition count.  A producer writes one
 *             to every partition of its output topic, in the transaction of
 *             what it covers, so a consumer reads it after those messages
 *
 * A flow is about 27 bytes for IPv4 where its JSON is 170 to 450.  The
 * readers are strict: a message is accepted only whole and canonical in its
 * lengths (no trailing bytes, values in range), and return a decode reason
 * otherwise, so a corrupt message is counted like a bad JSON line. */
#ifndef HF_WIRE_H
#define HF_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "stream/flow.h"

enum {
    HF_WIRE_TEXT = 0,          /* not one of ours: JSON text */
    HF_WIRE_FLOW = 0x01,
    HF_WIRE_PARTIAL = 0x02,
    HF_WIRE_PROGRESS = 0x03,
};

#define HF_WIRE_FLOW_MAX    96          /* bytes of the largest encoded flow */
#define HF_WIRE_FLOW_JSON   320         /* bytes of the largest normalised JSON flow */
#define HF_WIRE_MAX_STATES  64          /* states in a partial (HF_MAX_ANALYSES) */
#define HF_WIRE_NAME_MAX    255
#define HF_WIRE_END         INT64_MAX   /* progress: the partition has ended */

enum {
    HF_WIRE_WINDOWS = 0,       /* progress of partial windows (the partial role) */
    HF_WIRE_FLOWS = 1,         /* progress of flows passed on (the relay) */
};

/* The kind of a message: HF_WIRE_FLOW, _PARTIAL, _PROGRESS, or
 * HF_WIRE_TEXT for anything else (JSON, or garbage the decoder rejects). */
int hf_wire_kind(const void *msg, size_t len);

/* ------------------------------------------------------------------------
 * Flows
 * --------------------------------------------------------------------- */

/* Encode a decoded flow (its values as the decoder leaves them: whole, in
 * range).  Returns the length, at most HF_WIRE_FLOW_MAX. */
size_t hf_wire_flow_encode(const hf_flow *f, uint8_t *out);
/* Decode one: HF_DECODE_OK (decode.h) and *f, or a decode reason (a
 * truncated or overlong message is malformed_json, a bad family
 * bad_address, a count or time out of range bad_number / bad_time). */
int hf_wire_flow_decode(const void *msg, size_t len, hf_flow *f);
/* The flow as normalised JSON: nfdump's keys, numbers, times as ISO 8601
 * text in UTC with ms ({"src4_addr":"10.0.0.1",...,"first":
 * "2026-11-26T14:00:00.000Z","last":...}), which every JSON consumer,
 * hostflow included, reads.  Returns the length, at most
 * HF_WIRE_FLOW_JSON; no newline. */
size_t hf_wire_flow_json(const hf_flow *f, char *out);

/* ------------------------------------------------------------------------
 * Partial windows
 * --------------------------------------------------------------------- */

typedef struct hf_wire_state {
    const char    *name;       /* not NUL-terminated: name_len bytes */
    uint8_t        name_len;
    uint8_t        omitted;
    const uint8_t *bytes;      /* the serialised state (NULL when omitted) */
    uint32_t       len;
} hf_wire_state;

typedef struct hf_wire_partial {
    uint8_t       addr[16];
    uint8_t       family;      /* HF_AF_INET or HF_AF_INET6 */
    uint8_t       sent, received;
    int64_t       start_ms;
    int64_t       g_ms;
    int           n;
    hf_wire_state states[HF_WIRE_MAX_STATES];
} hf_wire_partial;

/* Write a partial's head into b: the tag, the host (with its sides), the
 * window and how many states follow (n <= HF_WIRE_MAX_STATES).  Returns
 * where n is, for hf_wire_partial_count when it is known only after. */
size_t hf_wire_partial_begin(hf_buf *b, const uint8_t addr[16], uint8_t family, int sent,
                             int received, int64_t start_ms, int64_t g_ms, int n);
/* Set the count of states at `at` (hf_wire_partial_begin's). */
void hf_wire_partial_count(hf_buf *b, size_t at, int n);
/* One state after the head: its analysis's name (at most 255 bytes), and
 * its serialised bytes, or omitted (bytes unused). */
void hf_wire_partial_state(hf_buf *b, const char *name, int omitted,
                           const uint8_t *bytes, size_t len);
/* Read a partial.  0 with *p pointing into msg, or a decode reason. */
int hf_wire_partial_parse(const void *msg, size_t len, hf_wire_partial *p);

/* ------------------------------------------------------------------------
 * Progress
 * --------------------------------------------------------------------- */

typedef struct hf_wire_mark {
    int32_t partition;
    int64_t through;           /* ms, or HF_WIRE_END */
} hf_wire_mark;

typedef struct hf_wire_progress {
    int           kind;        /* HF_WIRE_WINDOWS or HF_WIRE_FLOWS */
    const char   *producer;    /* not NUL-terminated: producer_len bytes */
    uint8_t       producer_len;
    const char   *topic;       /* likewise */
    uint8_t       topic_len;
    int32_t       partitions;  /* the input topic's partition count */
    int           n;           /* marks, at most max given to the parser */
    hf_wire_mark *marks;
} hf_wire_progress;

/* Write a progress message of kind into b (producer and topic at most 255
 * bytes; every through >= 0). */
void hf_wire_progress_write(hf_buf *b, int kind, const char *producer, const char *topic,
                            int32_t partitions, const hf_wire_mark *marks, int n);
/* Read one, its marks into marks[max].  0, or a decode reason (also when
 * it has more than max marks). */
int hf_wire_progress_parse(const void *msg, size_t len, hf_wire_progress *p,
                           hf_wire_mark *marks, int max);

#endif
