/* bulk.h -- the _bulk API of OpenSearch and Elasticsearch: records made into
 * index actions, index names from a pattern, and the answer read item by
 * item into a verdict for each record.
 *
 *   request  {"index":{"_index":"hostflow-host_stats-2026.11.26","_id":"10.0.0.1/10/1795701590000"}}\n
 *            {"@type":"host_stats",...the record as the engine made it...}\n
 *            ... one pair per record
 *   answer   {"errors":true,"items":[{"index":{"status":201}},
 *            {"index":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"..."}}},...]}
 *
 * Items are answered in the order they were sent, so the i-th answer is the
 * i-th item's.  "index" (not "create") replaces a document of the same _id:
 * a record written twice (a retry, a replay after a crash) is stored once. */
#ifndef HF_BULK_H
#define HF_BULK_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* One record ready to send: the action line and the document with their
 * newlines, in one allocation.  Items are chained through next while they
 * wait (queue, retry list) and owned by whoever holds the chain. */
typedef struct hf_bulk_item {
    struct hf_bulk_item *next;
    uint64_t seq;             /* order of write(): what flush() waits for */
    int64_t  due_ms;          /* retry: not sent before this (monotonic ms) */
    int64_t  queued_ms;       /* when it was queued (monotonic ms) */
    uint32_t attempts;        /* times refused for a retryable reason */
    uint32_t len;             /* action line + document, newlines included */
    uint32_t doc_off;         /* the document: data[doc_off, len - 1) */
    uint16_t index_len;       /* its index name: data[index_off, index_off + index_len) */
    uint16_t index_off;
    uint32_t id_off;          /* its _id (JSON-escaped as in the record) */
    uint16_t id_len;
    uint8_t  type;            /* enum hf_record_type */
    char     data[];
} hf_bulk_item;

/* Bytes an item holds (what the output's queue bound counts). */
static inline size_t hf_bulk_item_size(const hf_bulk_item *it)
{
    return sizeof *it + it->len;
}

/* A new item for the document doc (dlen bytes, no newline) with id (idlen
 * bytes, JSON-escaped already: it is copied from the record's text) into
 * index.  version >= 0: the document's version, external_gte -- the server
 * keeps the copy of the highest version whatever order copies arrive in
 * (an alert's updates: the end of the update's window); a copy older than
 * the stored one is answered 409, which hf_bulk_verdict takes as done. */
hf_bulk_item *hf_bulk_item_new(const char *index, size_t ilen, const char *id, size_t idlen,
                               const char *doc, size_t dlen, int type, uint64_t seq, int64_t version);

/* ------------------------------------------------------------------------
 * Index names
 * --------------------------------------------------------------------- */

/* Check an index name pattern: text with %{type} (host_stats, host_alert,
 * host_profile), %Y %m %d %H (UTC, of the record's time), %G %V (ISO year
 * and week) and %%; what it makes must be a valid index name (lower case, no
 * \ / * ? " < > | , # or space, not starting with - _ +).  Returns 0, or -1
 * with the reason in err. */
int hf_bulk_pattern_check(const char *pattern, char *err, size_t errlen);
/* The index name for a record of type name `type` at time_ms: written into
 * out (n bytes, NUL-terminated).  Returns its length. */
size_t hf_bulk_index_name(const char *pattern, const char *type, int64_t time_ms,
                          char *out, size_t n);
/* The glob that every name of pattern matches (codes become '*'):
 * "hostflow-%{type}-%Y.%m.%d" gives "hostflow-*-*.*.*".  Into out. */
void hf_bulk_pattern_glob(const char *pattern, char *out, size_t n);

/* ------------------------------------------------------------------------
 * Requests and answers
 * --------------------------------------------------------------------- */

/* The request body for n items, appended to b. */
void hf_bulk_body(hf_buf *b, hf_bulk_item *const *items, size_t n);

/* The path of a bulk request: only what is read back is asked for. */
#define HF_BULK_PATH "/_bulk?filter_path=errors,items.*.status,items.*.error"

enum hf_bulk_verdict {
    HF_BULK_DONE = 0,         /* stored */
    HF_BULK_RETRY,            /* refused for now (429, 5xx, rejected execution): send it again */
    HF_BULK_REFUSED,          /* refused for good (400, mapping): dead letters */
};

typedef struct hf_bulk_outcome {
    int   verdict;            /* enum hf_bulk_verdict */
    int   status;             /* the item's HTTP status */
    char *reason;             /* the server's words, whole: "type: reason (caused by type: reason)"; NULL when stored */
} hf_bulk_outcome;

/* Read the answer to a bulk request of n items into out[0..n).  Returns the
 * number of items not stored (0: all were), or -1 when the text is not a
 * bulk answer for n items (then err says what it is and out is untouched).
 * Free the reasons with hf_bulk_outcomes_release. */
long hf_bulk_parse(const char *answer, size_t len, size_t n, hf_bulk_outcome *out,
                   char *err, size_t errlen);
void hf_bulk_outcomes_release(hf_bulk_outcome *out, size_t n);

/* The verdict for an item refused with this status and error type. */
int hf_bulk_verdict(int status, const char *error_type);

#endif
