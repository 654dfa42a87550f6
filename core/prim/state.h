/* state.h -- an analysis's per-host state, described field by field so the
 * core can initialise, merge and serialise it without knowing the analysis.
 *
 * The Lua side turns an analysis's declared state ({ peers = hf.distinct() })
 * into an FFI struct and hands the core its schema: one hf_field per
 * primitive, with its kind and offset.  A window close merges finer windows
 * into coarser ones with hf_state_merge(); partial states travel between
 * instances as hf_state_serialize() bytes. */
#ifndef HF_STATE_H
#define HF_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"

enum hf_field_kind {
    HF_FIELD_SUM = 1,      /* double; merge: add.  Counters are sums. */
    HF_FIELD_MIN,          /* double, starts at +inf; merge: min */
    HF_FIELD_MAX,          /* double, starts at -inf; merge: max */
    HF_FIELD_DISTINCT,     /* hf_distinct; param: exact limit (0: default) */
    HF_FIELD_TOPK,         /* hf_topk; param: k */
    HF_FIELD_COUNT32,      /* uint32_t; merge: add, saturating at UINT32_MAX */
    HF_FIELD_BYTES,        /* param bytes kept in place (a profile's arrays and sets);
                              starts at zero; never merged (profiles are not windowed) */
};

typedef struct hf_field {
    uint32_t offset;       /* from the start of the state */
    uint32_t kind;         /* enum hf_field_kind */
    uint32_t param;
} hf_field;

typedef struct hf_schema {
    hf_field *fields;
    int       nfields;
    size_t    size;        /* sizeof the state struct */
} hf_schema;

/* Zero the state, then set each field's start value and parameter. */
void hf_state_init(const hf_schema *s, uint8_t *state);
/* dst := dst merged with src, field by field. */
void hf_state_merge(const hf_schema *s, uint8_t *dst, const uint8_t *src, hf_arena *a);
/* Bytes held outside the state (sets, sketches). */
size_t hf_state_mem_bytes(const hf_schema *s, const uint8_t *state);
/* Serialise / deserialise, with the snprintf-like contract of distinct.h.
 * The reader accepts only this schema's field count and kinds; when it
 * refuses (-1) the state is as hf_state_init() leaves it. */
size_t hf_state_serialize(const hf_schema *s, const uint8_t *state, uint8_t *out, size_t cap);
long hf_state_deserialize(const hf_schema *s, uint8_t *state, const uint8_t *in, size_t len, hf_arena *a);

#endif
