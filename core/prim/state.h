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

/* ------------------------------------------------------------------------
 * Rows: the states of several analyses side by side
 * --------------------------------------------------------------------- */

/* Fields of one kind that follow each other in a row (n of them, each the
 * kind's width after the other), merged by one loop. */
typedef struct hf_state_run {
    uint32_t offset;       /* of the first, from the start of the row */
    uint16_t kind;         /* enum hf_field_kind; 0xffff: a whole state (a group in it) */
    uint16_t n;
    const hf_schema *schema;   /* that state's (kept by the caller while the row is used) */
} hf_state_run;

/* The fields of every state of a row, as runs (state.c, "Rows"). */
typedef struct hf_state_row {
    hf_state_run *runs;
    int           nruns, cap;
    uint32_t     *mems;          /* where the row holds pointers to sets' and summaries' memory */
    int           nmems;
} hf_state_row;

void hf_state_row_init(hf_state_row *r);
void hf_state_row_release(hf_state_row *r);
/* Append the fields of a state with schema s at offset bytes into the row. */
void hf_state_row_add(hf_state_row *r, const hf_schema *s, size_t offset);
/* dst := dst merged with src, row against row: what hf_state_merge of each
 * state gives, by runs. */
void hf_state_row_merge(const hf_state_row *r, uint8_t *dst, const uint8_t *src, hf_arena *a);
/* Start fetching the memory the row's sets and summaries hold (a merge or
 * an add will read it). */
void hf_state_row_prefetch(const hf_state_row *r, const uint8_t *row);

#endif
