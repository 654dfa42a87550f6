/* distinct.h -- distinct counting: exact while small, a HyperLogLog sketch
 * beyond.
 *
 * A set holds 32-bit fingerprints of its values (the low half of a 64-bit
 * hash) exactly until it has more than `limit` of them (default 64), then
 * turns into a HyperLogLog sketch of HF_HLL_REGISTERS one-byte registers,
 * fed from the same fingerprints, whose relative standard error is
 * 1.04/sqrt(HF_HLL_REGISTERS) = 1.6%.  Below the limit the count is exact
 * unless two of at most `limit` values share a fingerprint (probability
 * below limit^2 / 2^33, 5e-7 for 64).
 *
 * The struct is 16 bytes and all-zero is a valid empty set (with the
 * default limit), so a state row is initialised by zeroing it.  Memory comes
 * from the arena passed in (the window's; NULL means hf_arena_current()):
 * 4 bytes per value in arrays that grow through the arena's size classes
 * (96 bytes for 24 values, 128 for 30), 2 bytes per value for up to 64
 * numbers below 2^16 added with hf_distinct_add_u16 (16 bytes for 6 ports),
 * 4096 bytes for a sketch.
 * distinct.c explains the layouts. */
#ifndef HF_DISTINCT_H
#define HF_DISTINCT_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"

#define HF_DISTINCT_DEFAULT_LIMIT 64
#define HF_DISTINCT_MAX_LIMIT     4096
#define HF_HLL_P         12
#define HF_HLL_REGISTERS (1 << HF_HLL_P)
#define HF_DISTINCT_SKETCH 0xffff   /* cap value that marks a sketch */

typedef struct hf_distinct {
    uint32_t n;      /* exact: fingerprints held */
    uint16_t cap;    /* exact: slots in mem (0: none yet; a flag for 16-bit values);
                        HF_DISTINCT_SKETCH: mem is a sketch */
    uint16_t limit;  /* exact threshold; 0 means HF_DISTINCT_DEFAULT_LIMIT */
    void    *mem;    /* exact: uint32_t (or uint16_t) slots[cap]; sketch: uint8_t registers[HF_HLL_REGISTERS] */
} hf_distinct;

void hf_distinct_add_hash(hf_distinct *d, uint64_t h, hf_arena *a);
void hf_distinct_add_u64(hf_distinct *d, uint64_t v, hf_arena *a);
/* The same set as hf_distinct_add_u64(d, v, a), in 2 bytes a value instead
 * of 4 while the set is small: for ports and protocols. */
void hf_distinct_add_u16(hf_distinct *d, uint16_t v, hf_arena *a);
void hf_distinct_add_bytes(hf_distinct *d, const void *p, size_t len, hf_arena *a);

/* Exact count while exact, the HyperLogLog estimate once a sketch. */
double hf_distinct_count(const hf_distinct *d);
int hf_distinct_is_sketch(const hf_distinct *d);
/* The values of a set of numbers below 2^16 (ports) into out: how many, or
 * -1 when the set does not hold them as such (other values were added, it
 * is a sketch) or holds more than max. */
int hf_distinct_values16(const hf_distinct *d, uint16_t *out, int max);

/* dst := dst ∪ src (dst's limit applies). */
void hf_distinct_merge(hf_distinct *dst, const hf_distinct *src, hf_arena *a);

/* Bytes held outside the struct. */
size_t hf_distinct_mem_bytes(const hf_distinct *d);

/* Serialise into out (cap bytes).  Returns the size needed; writes only when
 * it fits (out may be NULL to ask the size).  The format is versioned,
 * little-endian and canonical: one set, one encoding. */
size_t hf_distinct_serialize(const hf_distinct *d, uint8_t *out, size_t cap);
/* Read a serialised set into *d (overwritten).  Returns bytes consumed, or
 * -1 on malformed, truncated or hostile input (then *d is an empty set). */
long hf_distinct_deserialize(hf_distinct *d, const uint8_t *in, size_t len, hf_arena *a);

#endif
