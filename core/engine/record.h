/* record.h -- what the engine hands the outputs: batches of finished
 * records, each a JSON object with its id (the key a sink writes it under),
 * its type and its time.
 *
 *   text  {"@type":"host_stats",...,"id":"10.0.0.1/10/1764165610000",...}\n{...}\n
 *         ^off                          ^key_off (key_len bytes)           ^off of the next
 *
 * The text of a batch is NDJSON, every record followed by one newline, so a
 * file output writes it in one piece; an output that sends records one by
 * one (Kafka, OpenSearch) walks `recs`.  Ids are deterministic (DESIGN.md):
 * "<src_ip>/<granularity s>/<window start ms>" for host records,
 * "<src_ip>/<rule>/<window start ms>" for alerts, so that a repeated record
 * (after a restart, at least once) replaces its twin downstream. */
#ifndef HF_RECORD_H
#define HF_RECORD_H

#include <stddef.h>
#include <stdint.h>

enum hf_record_type {
    HF_RECORD_STATS = 0,      /* "host_stats": one host, one window */
    HF_RECORD_ALERT,          /* "host_alert": a rule fired */
    HF_RECORD_PROFILE,        /* "host_profile": a host's long-lived profile */
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

#endif
