/* decode_cjson.h -- the reference flow decoder (tests, fuzzers and the
 * benchmark only; see decode_cjson.c). */
#ifndef HF_DECODE_CJSON_H
#define HF_DECODE_CJSON_H

#include <stddef.h>

#include "stream/decode.h"
#include "stream/flow.h"

/* The same contract, through a cJSON tree.  cJSON accepts a few things that
 * strict JSON does not (see decode_cjson.c); it allocates, and it is not
 * safe to call from several threads at once (cJSON keeps a global error
 * position).  For tests and benchmarks only. */
int hf_decode_flow_cjson(const char *line, size_t len, hf_flow *out);
/* hf_decode_record()'s contract (decode.h), the same way. */
int hf_decode_record_cjson(const hf_decode_ctx *ctx, const char *line, size_t len, hf_flow out[2],
                           unsigned *notes);

#endif
