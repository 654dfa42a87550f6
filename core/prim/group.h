/* group.h -- state keyed below the host: per key (a number or an address),
 * one small state of its own, for at most `max` keys, the heaviest kept.
 *
 * An analysis that must know "per destination port, the distinct
 * destinations on it" declares hf.group{ max = 64, of = hf.distinct() }:
 * the group holds, for each key it has seen, a value laid out by its own
 * schema (the `of` state: one primitive or a table of them), and counts how
 * often each key was asked for (its weight).  With more than `max` keys it
 * keeps the heavy ones, Space-Saving style (Metwally et al. 2005): a new key
 * takes over the lightest entry, whose value starts afresh, inheriting its
 * weight as the new key's error bound.  So for a kept key
 *
 *     weight - error  <=  times it was asked for  <=  weight
 *
 * and a key asked for more than the total / max times is never lost.
 * Groups merge (the Space-Saving merge of topk.h, values merged with their
 * own schema) and serialise like every primitive.
 *
 * The struct is 16 bytes and all-zero is an empty group (max: the
 * default): nothing is allocated until a key is added.  Entries live in an
 * array in the arena, grown by doubling up to max:
 *
 *   hf_group (16)          mem (arena): cap entries of stride bytes
 *   +-----+---+-----+---+  +---------------------------------------------+
 *   | max | n | cap |mem+->| key[16] weight error kind pad | value ...   | x cap
 *   +-----+---+-----+---+  +---------------------------------------------+
 *                           ^ hf_group_entry (32 bytes)    ^ of->size, rounded to 8
 *
 * Every function takes the value's schema (`of`), which the group does not
 * keep: the state's schema carries it (state.h, HF_FIELD_GROUP), and the
 * state functions to apply to values (`ops`: state.h's hf_state_ops). */
#ifndef HF_GROUP_H
#define HF_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "prim/schema.h"

#define HF_GROUP_DEFAULT_MAX 64
#define HF_GROUP_MAX_KEYS    1024

typedef struct hf_group {
    uint16_t max;     /* keys kept at most; 0 means HF_GROUP_DEFAULT_MAX */
    uint16_t n;       /* entries in use */
    uint16_t cap;     /* entries allocated */
    uint16_t pad;
    void    *mem;     /* cap entries (hf_group_entry + value) */
} hf_group;

/* The head of an entry; its value follows it. */
typedef struct hf_group_entry {
    uint8_t  key[16];  /* a number: a double in the first 8 bytes, the rest 0; or an address */
    uint32_t weight;   /* times the key was asked for (an upper bound), at least 1 */
    uint32_t error;    /* how much of weight may belong to keys evicted before it */
    uint8_t  kind;     /* HF_KEY_NUMBER, HF_KEY_INET or HF_KEY_INET6 (topk.h) */
    uint8_t  pad[7];
} hf_group_entry;

/* The value of an entry. */
static inline uint8_t *hf_group_value(hf_group_entry *e)
{
    return (uint8_t *)(e + 1);
}

/* The value of key (of kind HF_KEY_*), created (initialised by of) when
 * new, one more to its weight.  When the group is full the lightest key is
 * evicted: its value's memory goes back to the arena.  NULL for an unknown
 * kind.  O(n); valid until the next call that adds to the group. */
uint8_t *hf_group_at(hf_group *g, const hf_schema *of, const hf_value_ops *ops, const uint8_t key[16],
                     uint8_t kind, hf_arena *a);
uint8_t *hf_group_at_number(hf_group *g, const hf_schema *of, const hf_value_ops *ops, double key,
                            hf_arena *a);
/* The value of key, or NULL when the group does not hold it (no change). */
uint8_t *hf_group_find(const hf_group *g, const hf_schema *of, const hf_value_ops *ops,
                       const uint8_t key[16], uint8_t kind);
uint8_t *hf_group_find_number(const hf_group *g, const hf_schema *of, const hf_value_ops *ops,
                              double key);
/* Entry i (0 <= i < n), in slot order. */
hf_group_entry *hf_group_entry_at(const hf_group *g, const hf_schema *of, uint32_t i);

/* dst := dst merged with src (dst's max applies): weights and errors added
 * over the union of keys, a key missing from a full group charged that
 * group's least weight, values merged by of; the heaviest max kept. */
void hf_group_merge(hf_group *dst, const hf_group *src, const hf_schema *of, const hf_value_ops *ops,
                    hf_arena *a);
/* Give every byte the group holds back to the arena: an empty group. */
void hf_group_release(hf_group *g, const hf_schema *of, const hf_value_ops *ops, hf_arena *a);
/* Bytes held outside the struct: the entries and their values' memory. */
size_t hf_group_mem_bytes(const hf_group *g, const hf_schema *of, const hf_value_ops *ops);

/* Serialise / deserialise, with the snprintf-like contract of distinct.h;
 * a refused input (-1) leaves an empty group. */
size_t hf_group_serialize(const hf_group *g, const hf_schema *of, const hf_value_ops *ops,
                          uint8_t *out, size_t cap);
long hf_group_deserialize(hf_group *g, const hf_schema *of, const hf_value_ops *ops,
                          const uint8_t *in, size_t len, hf_arena *a);

#endif
