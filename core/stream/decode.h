/* decode.h -- one JSON flow record (one line of NDJSON) into an hf_flow.
 *
 * Three key families decode to the same struct (see DESIGN.md, "The flow
 * record"): IPFIXcol as used by Stream4Flow ("ipfix.sourceIPv4Address", ...),
 * IPFIXcol2 ("iana:sourceIPv4Address", ...) and nfdump -o json ("src4_addr",
 * ...).  hf_decode_flow() is the hot path: a single pass over a flat object
 * that never builds a tree.  tests/support/decode_cjson.c does the same
 * through cJSON: the reference it is tested and fuzzed against, and the
 * baseline of the decoder benchmark (it is not part of the binary). */
#ifndef HF_DECODE_H
#define HF_DECODE_H

#include <stddef.h>

#include "stream/flow.h"

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

/* Decode one record of len bytes (no NUL needed; white space, a trailing
 * "\r\n" included, may surround the object).  Returns HF_DECODE_OK and fills
 * *out, or a reason; *out is then unspecified.  Required: source and
 * destination address, protocol, packets, bytes, start and end time; ports
 * and TCP flags default to 0.  Reads at most len bytes; safe on any input.
 *
 * The rules, the same for the three key families:
 *   - The input is strict JSON; a record with several faults reports the
 *     first in the order of enum hf_decode_status.  A key seen twice keeps
 *     its last value.  Nesting deeper than 64 objects/arrays is malformed.
 *   - A number is a JSON number or a string holding one ("6", "1e3"); it
 *     must be an integer, exactly, in range: port 0..65535, protocol and
 *     flags 0..255, packets and bytes 0..2^53.  The protocol may also be an
 *     IPFIXcol2 keyword ("TCP"; see hf_decode_proto_number) and the TCP flags
 *     text: letters CEUAPRSF with '.' for unset, in any order (".AP.S."), or
 *     "0x1b".  Anything else (null, true, 1.5, -1) is bad_number.
 *   - A time is integer ms since the epoch, 0..253402300799999, as a number
 *     or a string, or ISO 8601 text (hf_time_parse_iso); else bad_time.
 *   - A v4 key must hold an IPv4 address and a v6 key an IPv6 one (text, as
 *     hf_addr_parse reads it); source and destination families must match;
 *     a v4 and a v6 key for the same end is bad_address.
 *   - Text values of known fields are at most 255 bytes after unescaping. */
int hf_decode_flow(const char *line, size_t len, hf_flow *out);

/* The stable name of a status ("ok", "malformed_json", "missing_field", ...),
 * "unknown" for a value that is not a status. */
const char *hf_decode_reason_name(int status);

/* The protocol number of a keyword as IPFIXcol2 writes it with its
 * "formatted" protocol option ("TCP", "UDP", "IPv6-ICMP", ...; ASCII case
 * ignored), or -1. */
int hf_decode_proto_number(const char *name, size_t len);

#endif
