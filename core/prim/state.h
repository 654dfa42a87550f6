/* state.h -- an analysis's per-host state, described field by field so the
 * core can initialise, merge and serialise it without knowing the analysis.
 *
 * The Lua side turns an analysis's declared state ({ peers = hf.distinct() })
 * into an FFI struct and hands the core its schema: one hf_field per
 * primitive, with its kind and offset.  A window close merges finer windows
 * into coarser ones with hf_state_merge(); partial states travel between
 * instances as hf_state_serialize() bytes.
 *
 * A group (group.h: per key, a small state of its own) is one field whose
 * value's schema follows it in the same array:
 *
 *   fields[i]      { offset of the hf_group, HF_FIELD_GROUP, max keys }
 *   fields[i + 1]  { size of a value,        HF_FIELD_OF,    m }
 *   fields[i + 2 .. i + 1 + m]   the value's own fields (offsets in the value)
 *
 * so a schema stays one flat array (nfields counts every entry) and the
 * value's schema is { &fields[i + 2], m, fields[i + 1].offset }. */
#ifndef HF_STATE_H
#define HF_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "prim/schema.h"

/* Zero the state, then set each field's start value and parameter. */
void hf_state_init(const hf_schema *s, uint8_t *state);
/* dst := dst merged with src, field by field. */
void hf_state_merge(const hf_schema *s, uint8_t *dst, const uint8_t *src, hf_arena *a);
/* Bytes held outside the state (sets, sketches). */
size_t hf_state_mem_bytes(const hf_schema *s, const uint8_t *state);
/* Give the memory the state's fields hold back to the arena; the state is
 * then as hf_state_init() leaves it. */
void hf_state_release(const hf_schema *s, uint8_t *state, hf_arena *a);
/* The schema of the value of the group at fields[i] (a GROUP field). */
hf_schema hf_state_group_of(const hf_schema *s, int i);
/* These functions as a table, for groups (schema.h). */
extern const hf_value_ops hf_state_ops;
/* Serialise / deserialise, with the snprintf-like contract of distinct.h.
 * The reader accepts only this schema's field count and kinds; when it
 * refuses (-1) the state is as hf_state_init() leaves it. */
size_t hf_state_serialize(const hf_schema *s, const uint8_t *state, uint8_t *out, size_t cap);
long hf_state_deserialize(const hf_schema *s, uint8_t *state, const uint8_t *in, size_t len, hf_arena *a);

#endif
