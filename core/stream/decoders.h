/* decoders.h -- decode and filter input lines on several threads, handing
 * them back in input order.
 *
 *   reader ── block of lines ──▶ decoder threads ──▶ reader, in order
 *   (read(2) into a chunk)       (split, decode,      (late, watermark,
 *                                 future, filter)      shard: pipeline.c)
 *
 * Decoding was two thirds of the reading thread's work, and a line's
 * decoding depends on that line alone, so it can run anywhere.  What depends on input
 * order (late flows, the watermark, which batch a flow joins, the counters
 * and warnings) stays with the reader: it takes the chunks back in the order
 * it submitted them, so the records are the same whatever the number of
 * threads.
 *
 * A ring of chunks bounds what is in flight: when every chunk is submitted
 * and not yet taken back, the reader must take the oldest (waiting for it)
 * before it can fill another.
 *
 * A regular file is not even read by the reader: it submits empty chunks
 * with a read function (hf_decoders_submit_read), and the decoder that
 * picks one reads its lines itself, the decoders taking turns in the order
 * of submission.  The copy out of the page cache then lands in the cache of
 * the core that decodes the bytes, and the reader, the one thread whose
 * work cannot be shared out, keeps only what must follow input order: on
 * the bench's input it went from about 300 ms of CPU to 110-175 ms, the
 * threads' sum unchanged on two cores. */
#ifndef HF_DECODERS_H
#define HF_DECODERS_H

#include <stddef.h>
#include <stdint.h>

#include "stream/decode.h"
#include "stream/flow.h"
#include "stream/prefix.h"

/* What became of a line: a monitored flow, or why not (a decode reason
 * 1 .. HF_DECODE_REASONS - 1, or one of these). */
enum hf_line_status {
    HF_LINE_FLOW = 0,                     /* decoded, source or destination monitored (f->mark) */
    HF_LINE_TOO_LONG = HF_DECODE_REASONS, /* over max_line (skipped by the input, or refused) */
    HF_LINE_FUTURE,                       /* ends more than the slack after now */
    HF_LINE_FILTERED                      /* neither end monitored */
};

/* A line's outcome in 16 bits: the status of its (first) flow in the low
 * byte, with HF_LINE_CLAMPED when that flow ended before it started and
 * had its start set to its end; a biflow record's second flow likewise in
 * the high byte, marked by HF_LINE_SECOND (0 there: one flow).  Only the
 * HF_LINE_FLOW ones are kept, in order (hf_line_flows counts them). */
#define HF_LINE_CLAMPED  0x40u
#define HF_LINE_SECOND   0x80u
#define HF_LINE_FIRST(st)  ((int)((st) & 0x3f))

static inline int hf_line_has_second(unsigned st)
{
    return (st & (HF_LINE_SECOND << 8)) != 0;
}

/* The second flow's outcome as a low byte (status and HF_LINE_CLAMPED). */
static inline unsigned hf_line_second(unsigned st)
{
    return (st >> 8) & 0x7f;
}

/* Flows kept (HF_LINE_FLOW) for a line: 0, 1 or 2. */
static inline int hf_line_flows(unsigned st)
{
    return (HF_LINE_FIRST(st) == HF_LINE_FLOW) +
           (hf_line_has_second(st) && HF_LINE_FIRST(hf_line_second(st)) == HF_LINE_FLOW);
}

/* Decode one record (hf_decode_record with ctx, or a relay's binary flow:
 * stream/wire.h) and check its flows: the
 * outcome as above, the kept flows at f[0] (and f[1]).  Flows ending after
 * future_ms are refused; nets says which addresses are monitored: a flow is
 * kept when its source is (its mark 0) or its destination is (mark
 * HF_FLOW_DST, and HF_FLOW_NO_SRC when the source is not).  Safe on any
 * input, from any thread. */
unsigned hf_line_classify(const hf_decode_ctx *ctx, const char *line, size_t len,
                          const hf_prefixes *nets, double future_ms, hf_flow f[2]);

/* A block of whole lines, as the reader reads it and a decoder splits and
 * decodes it.  Every array grows to what the chunk needs and keeps its
 * size for the next: at most 6 bytes per line (the worst case, a chunk of
 * empty lines) and two flows per decoded record. */
typedef struct hf_chunk {
    /* the reader's */
    const char *name;          /* the input, for warnings */
    char       *bytes;         /* whole lines, each with its newline (the input's last may lack it) */
    size_t      len, cap;      /* cap: more than max_line */
    int         too_long;      /* no text: one line the input skipped (hf_input_lines) */
    uint64_t   *lineno;        /* where each line starts in the input, when not one after */
    uint32_t    nlineno, lineno_cap;   /* another (JSON arrays, pretty-printed records); else 0 */
    /* or records given one by one (hf_chunk_add_record: Kafka messages, which
     * may hold newlines), not lines to split: each its partition and offset */
    uint32_t    nrec;          /* records added, 0: the bytes are lines */
    int32_t    *part;          /* per record: its partition (offsets.h) */
    int64_t    *offset;        /* ... and its offset there */
    uint32_t    rec_cap;
    /* or lines the decoder reads itself first (hf_decoders_submit_read) */
    long      (*read)(void *ctx, char *dst, size_t cap);
    void       *read_ctx;
    long        got;           /* what read() returned (HF_CHUNK_*, or the bytes) */
    /* the decoder's */
    uint32_t    n;             /* lines */
    uint32_t   *off;           /* line i is bytes[off[i], off[i + 1] - 1), n + 1 entries */
    uint16_t   *status;        /* per line: hf_line_classify's outcome */
    hf_flow    *flows;         /* the kept flows of the lines, in order */
    uint32_t    lines_cap, flows_cap;
} hf_chunk;

#define HF_CHUNK_BYTES (1u << 20)

/* Where line (or record) i of a decoded chunk is, and its length without
 * newline (a record's own last newline is kept: the one taken off is the
 * one hf_chunk_add_record put after it). */
static inline const char *hf_chunk_line(const hf_chunk *c, uint32_t i, size_t *len)
{
    /* Every line but the chunk's last ends with a newline (it was split
     * there), and every record has one after it: their bytes are not
     * read here.  The reader that takes a chunk back touches its text only
     * for a warning: a byte read per line was a cache miss a line, the
     * text being decoded on another core (42 % of the -j2 reader's time). */
    size_t end = c->off[i + 1];
    if (i + 1 < c->n || c->nrec) end--;
    else if (end > c->off[i] && c->bytes[end - 1] == '\n') end--;
    *len = end - c->off[i];
    return c->bytes + c->off[i];
}

/* The reader's: one record of partition part at offset, its len bytes
 * copied in whole (newlines in it included; no max_line applies: it is
 * decoded as hf_line_classify would decode it fed alone).  -1 when it does
 * not fit in what is left of the chunk (a record of more than c->cap - 1
 * bytes never does).  A chunk holds lines or records, not both. */
int hf_chunk_add_record(hf_chunk *c, int part, int64_t offset, const char *rec, size_t len);

/* A chunk's read function returns the bytes of whole lines it put in dst
 * (at most cap), or one of these. */
#define HF_CHUNK_END       0    /* the end of the input */
#define HF_CHUNK_ERROR    -1    /* a read error (the input says which) */
#define HF_CHUNK_TOO_LONG -2    /* one line longer than cap, skipped */

/* The reader's: the input line each of the chunk's n lines starts at,
 * copied (n 0: every line follows the one before, the usual case). */
void hf_chunk_set_lineno(hf_chunk *c, const uint64_t *lineno, uint32_t n);

typedef struct hf_decoders hf_decoders;

/* Start threads decoder threads, for lines of at most max_line bytes
 * (longer ones are HF_LINE_TOO_LONG).  NULL (with errno) when a thread
 * cannot start.  nets and *ctx must stay unchanged while they run. */
hf_decoders *hf_decoders_new(int threads, const hf_prefixes *nets, const hf_decode_ctx *ctx,
                             double future_ms, size_t max_line);
/* An empty chunk to fill (cap bytes at bytes), or NULL when every chunk is
 * in flight: take one back first. */
hf_chunk *hf_decoders_fill(hf_decoders *d);
/* Hand the chunk last filled to the decoders. */
void hf_decoders_submit(hf_decoders *d, hf_chunk *c);
/* Hand the chunk last taken, empty, to the decoders with read: the decoder
 * that picks it fills it with read(ctx, bytes, cap) first, after the
 * chunks submitted before it and before those after (the calls never
 * overlap), and keeps what read returned in c->got. */
void hf_decoders_submit_read(hf_decoders *d, hf_chunk *c, long (*read)(void *ctx, char *dst, size_t cap),
                             void *ctx);
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
