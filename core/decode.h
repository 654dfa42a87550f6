/* decode.h -- one JSON flow record (one line of NDJSON) into an hf_flow.
 *
 * Three key families decode to the same struct (see DESIGN.md, "The flow
 * record"): IPFIXcol as used by Stream4Flow ("ipfix.sourceIPv4Address", ...),
 * IPFIXcol2 ("iana:sourceIPv4Address", ...) and nfdump -o json ("src4_addr",
 * ...).  hf_decode_flow() is the hot path: a single pass over a flat object
 * that never builds a tree.  hf_decode_flow_cjson() does the same through
 * cJSON; it is the reference the fast decoder is tested and fuzzed against,
 * and the baseline of the decoder benchmark. */
#ifndef HF_DECODE_H
#define HF_DECODE_H

#include <stddef.h>

#include "flow.h"

/* Why a record was rejected.  0 is success; every reason has a stable name
 * (hf_decode_reason_name) used in counters, logs and dead letters. */
enum hf_decode_status {
    HF_DECODE_OK = 0,
    HF_DECODE_MALFORMED = 1,    /* not JSON, truncated, trailing garbage */
    HF_DECODE_NOT_OBJECT,       /* valid JSON, but not an object */
    HF_DECODE_MISSING_FIELD,    /* a required field is absent */
    HF_DECODE_BAD_ADDRESS,      /* unparseable address, family mismatch */
    HF_DECODE_BAD_NUMBER,       /* mistyped, negative, fractional or out of range */
    HF_DECODE_BAD_TIME,         /* unparseable or out-of-range timestamp */
    HF_DECODE_END_BEFORE_START, /* flow end earlier than flow start */
    HF_DECODE_REASONS           /* number of statuses, OK included */
};

/* Decode one record of len bytes (no NUL needed; a trailing '\n' or '\r' is
 * allowed).  Returns HF_DECODE_OK and fills *out, or a reason; *out is then
 * unspecified.  Required: source and destination address, protocol, packets,
 * bytes, start and end time; ports and TCP flags default to 0.  Reads at
 * most len bytes; safe on any input. */
int hf_decode_flow(const char *line, size_t len, hf_flow *out);

/* The same contract, through a cJSON tree. */
int hf_decode_flow_cjson(const char *line, size_t len, hf_flow *out);

/* The stable name of a status ("ok", "malformed_json", "missing_field", ...). */
const char *hf_decode_reason_name(int status);

#endif
