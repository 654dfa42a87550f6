/* record.h -- what the engine hands the outputs: batches of finished
 * records, each a JSON object with its id (the key a sink writes it under),
 * its type and its time.
 *
 *   text  {"@type":"host_stats",...,"id":"10.0.0.1/10/1764165610000",...}\n{...}\n
 *         ^off                          ^key_off (key_len bytes)           ^off of the next
 *
 * The text of a batch is NDJSON, every record followed by one newline, so a
 * file output writes it in one piece; an output that sends records one by
 * one (Kafka, OpenSearch) walks `recs`.  The messages of the relay and the
 * partial role may be binary (HF_RECORD_FLOW, _PARTIAL, _PROGRESS): they
 * go to Kafka outputs only, each record's bytes as one message.  Ids are deterministic (DESIGN.md):
 * "<src_ip>/<granularity s>/<window start ms>" for host records,
 * "<src_ip>/<rule>/<window start ms>" for alerts, so that a repeated record
 * (after a restart, at least once) replaces its twin downstream. */
#ifndef HF_RECORD_H
#define HF_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

enum hf_record_type {
    HF_RECORD_STATS = 0,      /* "host_stats": one host, one window */
    HF_RECORD_ALERT,          /* "host_alert": a rule fired */
    HF_RECORD_PROFILE,        /* "host_profile": a host's long-lived profile */
    /* between instances (stream/wire.h): binary, keyed by the host's address */
    HF_RECORD_FLOW,           /* "flow": a flow the relay passes on */
    HF_RECORD_PARTIAL,        /* "partial": one host's states for one window */
    HF_RECORD_PROGRESS,       /* "progress": to every partition of the topic */
    HF_RECORD_TYPES
};

typedef struct hf_record {
    uint32_t off, len;        /* the object: text[off, off + len), its newline after */
    uint32_t key_off;         /* its id: text[key_off, key_off + key_len) */
    uint16_t key_len;
    uint8_t  type;            /* enum hf_record_type */
    uint8_t  pad;
    int64_t  time_ms;         /* its @timestamp (a window's start), ms since the epoch */
} hf_record;

typedef struct hf_records {
    const char      *text;    /* n records, each followed by "\n" */
    size_t           len;
    const hf_record *recs;
    size_t           n;
} hf_records;

/* The "@type" of a record type ("host_stats", ...); "unknown" else. */
const char *hf_record_type_name(int type);

/* Where the engine hands its batches: the outputs, behind one callback
 * (the run fans them out, io/outputs.c).  write() is called from any worker
 * thread; it returns 0, or -1 when an output has failed for good. */
typedef struct hf_record_sink {
    int  (*write)(void *ctx, const hf_records *batch);
    void  *ctx;
} hf_record_sink;

/* ------------------------------------------------------------------------
 * Building a batch
 * --------------------------------------------------------------------- */

/* The text of a host record's head that depends only on its window, made
 * once per window (record.c): the head is then three copies and the
 * address, written twice. */
#define HF_HEAD_PRE  80       /* {"@type":"host_stats","@timestamp":"<24>","id":" (68) */
#define HF_HEAD_MID  64       /* /<g>/<start>","src_ip":" (at most 53) */
#define HF_HEAD_WIN  128      /* ","window":{...},"stats":{ (at most 121) */

typedef struct hf_record_head {
    int64_t  start_ms, g_ms;  /* the window it is for (g_ms 0: none yet) */
    uint8_t  pre_len, mid_len, key_len, win_len;  /* key_len: the id's part of mid */
    char     pre[HF_HEAD_PRE], mid[HF_HEAD_MID], win[HF_HEAD_WIN];
} hf_record_head;

typedef struct hf_record_batch {
    hf_buf     text;
    hf_record *recs;
    size_t     n, cap;
    hf_record_head head;      /* the last window's head (hf_record_host_head) */
} hf_record_batch;

void hf_record_batch_init(hf_record_batch *b);
void hf_record_batch_release(hf_record_batch *b);
/* Empty it (after it was written), keeping its memory. */
void hf_record_batch_reset(hf_record_batch *b);
/* The batch as the outputs see it (valid until the next change). */
void hf_record_batch_view(const hf_record_batch *b, hf_records *out);

/* Start a record of type at time_ms: its text follows in b->text. */
void hf_record_begin(hf_record_batch *b, int type, int64_t time_ms);
/* The current record's id lies at text[off, off + len). */
void hf_record_key(hf_record_batch *b, size_t off, size_t len);
/* End the current record: its newline, its length. */
void hf_record_end(hf_record_batch *b);
/* Drop the current record (begun, not ended) and its text. */
void hf_record_cancel(hf_record_batch *b);

struct hf_window;
struct hf_host;
/* Begin the host record of h in window win, and write its head up to and
 * including "stats":{ -- the analyses' fields and "}}" follow:
 *   {"@type":"host_stats","@timestamp":"2026-11-26T14:00:10.000Z",
 *    "id":"10.0.0.1/10/1764165610000","src_ip":"10.0.0.1",
 *    "window":{"start_ms":...,"end_ms":...,"granularity_s":10},"stats":{ */
void hf_record_host_head(hf_record_batch *b, const struct hf_window *win, const struct hf_host *h);
/* The same in two parts, for a writer that puts more top-level fields
 * between the window and the stats (the "alert" flag, alerts.h): the head
 * up to and including "window":{...}, -- then, after those fields,
 * "stats":{ with hf_record_host_stats. */
void hf_record_host_begin(hf_record_batch *b, const struct hf_window *win, const struct hf_host *h);
#define HF_RECORD_STATS_OPEN "\"stats\":{"
static inline void hf_record_host_stats(hf_record_batch *b)
{
    hf_buf_puts(&b->text, HF_RECORD_STATS_OPEN);
}

#endif
