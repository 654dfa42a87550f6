/* schema.h -- how a state is described to the core: its fields, their
 * kinds and offsets (the types state.h works on), and the table of state
 * functions a group (group.h) uses for its values.
 *
 * The types live apart from state.h so that group.h can name them: a
 * state may hold a group, and a group's values are states, so state.c
 * calls group.c, and group.c reaches state.c only through the table it is
 * handed (hf_value_ops; state.h's hf_state_ops), never by including it. */
#ifndef HF_SCHEMA_H
#define HF_SCHEMA_H

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
    HF_FIELD_GROUP,        /* hf_group; param: max keys; the value's schema follows */
    HF_FIELD_OF,           /* after a GROUP: offset = the value's size, param = its fields */
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

/* The state functions of state.h, as a group calls them on its values. */
typedef struct hf_value_ops {
    void   (*init)(const hf_schema *s, uint8_t *state);
    void   (*merge)(const hf_schema *s, uint8_t *dst, const uint8_t *src, hf_arena *a);
    void   (*release)(const hf_schema *s, uint8_t *state, hf_arena *a);
    size_t (*mem_bytes)(const hf_schema *s, const uint8_t *state);
    size_t (*serialize)(const hf_schema *s, const uint8_t *state, uint8_t *out, size_t cap);
    long   (*deserialize)(const hf_schema *s, uint8_t *state, const uint8_t *in, size_t len, hf_arena *a);
} hf_value_ops;

#endif
