/* decoders.h -- decode and filter input lines on several threads, handing
 * them back in input order.
 *
 *   reader ── chunk of lines ──▶ decoder threads ──▶ reader, in order
 *   (copies lines)               (decode, future,      (late, watermark,
 *                                 filter: per line)      shard: pipeline.c)
 *
 * Decoding is two thirds of the reading thread's work, and a line's decoding
 * depends on that line alone, so it can run anywhere.  What depends on input
 * order (late flows, the watermark, which batch a flow joins, the counters
 * and warnings) stays with the reader: it takes the chunks back in the order
 * it submitted them, so the records are the same whatever the number of
 * threads.
 *
 * A ring of chunks bounds what is in flight: when every chunk is submitted
 * and not yet taken back, the reader must take the oldest (waiting for it)
 * before it can fill another. */
#ifndef HF_DECODERS_H
#define HF_DECODERS_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "flow.h"
#include "prefix.h"

/* What became of a line: a monitored flow, or why not (a decode reason
 * 1 .. HF_DECODE_REASONS - 1, or one of these). */
enum hf_line_status {
    HF_LINE_FLOW = 0,                     /* decoded, source monitored */
    HF_LINE_TOO_LONG = HF_DECODE_REASONS, /* skipped by the input: over max_line */
    HF_LINE_FUTURE,                       /* ends more than the slack after now */
    HF_LINE_FILTERED,                     /* source not monitored */
    HF_LINE_STATUSES
};

/* Decode one line and check it: HF_LINE_FLOW with *f filled, else why not.
 * Flows ending after future_ms are refused; nets says which sources are
 * monitored.  Safe on any input, from any thread. */
int hf_line_classify(const char *line, size_t len, const hf_prefixes *nets,
                     double future_ms, hf_flow *f);

/* Lines in input order, as the reader fills them and a decoder leaves them. */
typedef struct hf_chunk {
    const char *name;          /* the input, for warnings */
    uint64_t    first_lineno;  /* line number of line 0; the others follow */
    int         n;             /* lines */
    char       *bytes;         /* the lines' text, one after another */
    size_t      len, cap;
    uint32_t   *off, *lens;    /* per line: where in bytes, how long */
    uint8_t    *status;        /* per line: enum hf_line_status */
    hf_flow    *flows;         /* per line: the flow when status is HF_LINE_FLOW */
} hf_chunk;

#define HF_CHUNK_LINES 2048
#define HF_CHUNK_BYTES (1u << 20)

typedef struct hf_decoders hf_decoders;

/* Start threads decoder threads.  NULL (with errno) when a thread cannot
 * start.  nets must stay unchanged while they run. */
hf_decoders *hf_decoders_new(int threads, const hf_prefixes *nets, double future_ms);
/* An empty chunk to fill, or NULL when every chunk is in flight: take one
 * back first. */
hf_chunk *hf_decoders_fill(hf_decoders *d);
/* Append a line (copied; status HF_LINE_TOO_LONG: a line the input skipped,
 * without text).  Returns 1 when the chunk is full and must be submitted. */
int hf_chunk_add(hf_chunk *c, const char *line, size_t len, int too_long);
/* Hand the chunk last filled to the decoders. */
void hf_decoders_submit(hf_decoders *d, hf_chunk *c);
/* The oldest submitted chunk once it is decoded, waiting for it when wait
 * is set; NULL when none is submitted or (not waiting) it is not decoded
 * yet.  Give it back with hf_decoders_release() after reading it. */
hf_chunk *hf_decoders_take(hf_decoders *d, int wait);
void hf_decoders_release(hf_decoders *d, hf_chunk *c);
/* Chunks submitted and not yet released. */
int hf_decoders_in_flight(const hf_decoders *d);
/* Stop the threads (every chunk must be released) and free. */
void hf_decoders_free(hf_decoders *d);

#endif
