/* decode.h -- one JSON flow record into an hf_flow (two for a biflow).
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
#include <stdint.h>

#include "stream/flow.h"

struct hf_tz;

/* Why a record was not decoded.  0 is success; every reason has a stable
 * name (hf_decode_reason_name) used in counters, logs and dead letters.
 * Two are not faults: options and template records are not flows, and are
 * skipped (counted as such, not as rejected). */
enum hf_decode_status {
    HF_DECODE_OK = 0,
    HF_DECODE_MALFORMED = 1,    /* not JSON, truncated, trailing garbage */
    HF_DECODE_NOT_OBJECT,       /* valid JSON, but not an object */
    HF_DECODE_OPTIONS,          /* not a flow, "@type": "ipfix.optionsEntry": skipped */
    HF_DECODE_TEMPLATE,         /* not a flow, "@type": "ipfix.template"/"...optionsTemplate" */
    HF_DECODE_MIXED_FAMILIES,   /* keys of two families (nfdump and IPFIXcol2, ...) in one record */
    HF_DECODE_MISSING_FIELD,    /* a required field is absent */
    HF_DECODE_NO_INIT_TIME,     /* SysUpTime times without systemInitTimeMilliseconds */
    HF_DECODE_BAD_ADDRESS,      /* unparseable address, family mismatch */
    HF_DECODE_BAD_NUMBER,       /* mistyped, negative, fractional or out of range */
    HF_DECODE_BAD_TIME,         /* unparseable or out-of-range timestamp */
    HF_DECODE_TIME_IN_SECONDS,  /* seconds since the epoch in a millisecond field */
    HF_DECODE_END_BEFORE_START, /* flow end earlier than its start, beyond the allowed skew */
    HF_DECODE_REASONS           /* number of statuses, OK included */
};

/* What the decoder takes besides the record: plain values, set once (from
 * the configuration's input_tz and max_clock_skew) and shared read-only by
 * every decoding thread. */
typedef struct hf_decode_ctx {
    const struct hf_tz *tz;     /* zone of ISO times without an offset; NULL: UTC */
    int64_t max_skew_ms;        /* an end at most this much before the start is taken,
                                 * the start set to the end (softflowd does this) */
} hf_decode_ctx;

/* Notes on a decoded record (*notes of hf_decode_record). */
#define HF_DECODE_TWO      1u   /* out[1] holds a biflow record's reverse direction */
#define HF_DECODE_CLAMPED  2u   /* out[0] ended before it started, within the skew: start = end */
#define HF_DECODE_CLAMPED2 4u   /* out[1] likewise */

/* Decode one record of len bytes (no NUL needed; white space, a trailing
 * "\r\n" included, may surround the object).  Returns HF_DECODE_OK, fills
 * out[0] (and out[1] when *notes has HF_DECODE_TWO) and sets *notes; or a
 * reason, out then unspecified.  Required: source and destination address,
 * protocol, packets, bytes, start and end time; ports and TCP flags default
 * to 0.  Reads at most len bytes; safe on any input and any thread.
 *
 * The rules, the same for the three key families:
 *   - The input is strict JSON; a record with several faults reports the
 *     first in the order of enum hf_decode_status.  A key seen twice keeps
 *     its last value, and so do two names of one field in one family
 *     ("iana:flowStartMilliseconds" and "en0:id152", or flowStartSeconds).
 *     Known keys of two families in one record are mixed_families.
 *     Nesting deeper than 64 objects/arrays is malformed.
 *   - A number is a JSON number or a string holding one ("6", "1e3"); it
 *     must be an integer, exactly, in range: port 0..65535, protocol and
 *     flags 0..255, packets and bytes 0..2^53.  The protocol may also be an
 *     IPFIXcol2 keyword ("TCP"; see hf_decode_proto_number) and the TCP flags
 *     text: letters CEUAPRSF with '.' for unset, in any order (".AP.S."), or
 *     "0x1b".  Anything else (null, true, 1.5, -1) is bad_number.
 *   - A time is integer ms since the epoch, 0..253402300799999, as a number
 *     or a string, or ISO 8601 text (hf_time_parse_iso_tz: without an
 *     offset, in ctx->tz); else bad_time.  IPFIXcol2 writes every time so,
 *     flowStart/End{Seconds,Microseconds,Nanoseconds} included.  A number
 *     from 10^9 to 10^10 (2001..2286 in seconds, 1970 in ms) is read as
 *     seconds in a ...Seconds field and is time_in_seconds elsewhere.
 *     flowStart/EndSysUpTime (ms since the exporter started) count from the
 *     record's systemInitTimeMilliseconds (no_init_time without it), and
 *     are used only where the absolute time of that end is absent.
 *   - Packets and bytes: the Delta counters, else the Total ones.
 *   - An end up to ctx->max_skew_ms before the start is taken, the start
 *     set to the end (HF_DECODE_CLAMPED); more is end_before_start.
 *   - Biflow (IPFIXcol2 "iana@reverse:...@reverse", "en29305:idN"): the
 *     reverse counters need both packets and bytes; when the reverse
 *     packets are not 0 the record is two flows, the second from the
 *     destination to the source with the ports swapped, the reverse
 *     counters, flags and times (the forward times when it has none).
 *   - A well-formed object that is not a flow (any reason) is
 *     options_record when its "@type" is "ipfix.optionsEntry", and
 *     template_record for "ipfix.template" and "ipfix.optionsTemplate"
 *     (only then is "@type" read: it costs flows nothing).
 *   - A v4 key must hold an IPv4 address and a v6 key an IPv6 one (text, as
 *     hf_addr_parse reads it); source and destination families must match;
 *     a v4 and a v6 key for the same end is bad_address.
 *   - Text values of known fields are at most 255 bytes after unescaping. */
int hf_decode_record(const hf_decode_ctx *ctx, const char *line, size_t len, hf_flow out[2],
                     unsigned *notes);

/* hf_decode_record for one flow: times without offset in UTC, no skew
 * allowed, a biflow's forward direction only. */
int hf_decode_flow(const char *line, size_t len, hf_flow *out);

/* Why the record was refused, in words for its warning ("no src4_addr or
 * src6_addr", "keys of nfdump and IPFIXcol2", ...), into buf (n bytes);
 * "" when the reason's name says it all.  It decodes the record again:
 * for the few warnings written, never per record. */
const char *hf_decode_explain(const hf_decode_ctx *ctx, const char *line, size_t len,
                              char *buf, size_t n);

/* The stable name of a status ("ok", "malformed_json", "missing_field", ...),
 * "unknown" for a value that is not a status. */
const char *hf_decode_reason_name(int status);

/* The protocol number of a keyword as IPFIXcol2 writes it with its
 * "formatted" protocol option ("TCP", "UDP", "IPv6-ICMP", ...; ASCII case
 * ignored), or -1. */
int hf_decode_proto_number(const char *name, size_t len);

#endif
