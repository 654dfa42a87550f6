/* distinct.h -- distinct counting: exact up to a limit (1,024 values by
 * default), a HyperLogLog sketch of 0.81 % relative standard error beyond.
 *
 * A value is narrow or wide.  Narrow values -- numbers below 2^32, IPv4
 * addresses (their 32 bits), ports -- are held as themselves, so a set of
 * them is exact with no chance of error.  Wide values -- IPv6 addresses,
 * strings, other numbers -- are held as 63-bit fingerprints of a 64-bit
 * hash: two of 1,024 share one with probability below 6e-14.
 *
 * A set stays exact while it holds at most `limit` values (default
 * HF_DISTINCT_DEFAULT_LIMIT; 1 to HF_DISTINCT_MAX_LIMIT); the next value
 * turns it into a sketch of HF_HLL_REGISTERS one-byte registers (16 KiB;
 * Ertl's estimator, relative standard error 1.04/sqrt(16384) = 0.81 %).
 * Sets of numbers below 2^16 (ports, protocols) are exact whatever the
 * limit: their largest form, a bitmap of 8 KiB, is half a sketch.
 *
 * The struct is 16 bytes and all-zero is a valid empty set (with the
 * default limit), so a state row is initialised by zeroing it.  Memory comes
 * from the arena passed in (the window's; NULL means hf_arena_current()) and
 * depends only on which values a set holds: 2, 4 or 8 bytes a value in
 * arrays of up to 256 bytes (24 IPv4 peers: 96 bytes; 6 ports: 16), then
 * hash tables at most 3/4 full (1,024 IPv4 peers: 8 KiB; IPv6: 16 KiB), a
 * bitmap for more than 1,536 ports, 16 KiB for a sketch.
 * distinct.c explains the layouts and the error bounds. */
#ifndef HF_DISTINCT_H
#define HF_DISTINCT_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"

#define HF_DISTINCT_DEFAULT_LIMIT 1024
#define HF_DISTINCT_MAX_LIMIT     65535
#define HF_HLL_P         14
#define HF_HLL_REGISTERS (1 << HF_HLL_P)

typedef struct hf_distinct {
    uint32_t n;      /* exact: values held */
    uint8_t  form;   /* layout and width of mem (distinct.c); 0: empty, no memory */
    uint8_t  size;   /* array: its bytes / 16; table: log2 of its slots */
    uint16_t limit;  /* exact threshold; 0 means HF_DISTINCT_DEFAULT_LIMIT */
    void    *mem;    /* the values, or uint8_t registers[HF_HLL_REGISTERS] */
} hf_distinct;

/* Add a number: narrow below 2^32, else wide (a fingerprint of it). */
void hf_distinct_add_u64(hf_distinct *d, uint64_t v, hf_arena *a);
/* The same as hf_distinct_add_u64(d, v, a), with the fast path of ports. */
void hf_distinct_add_u16(hf_distinct *d, uint16_t v, hf_arena *a);
/* Add a 16-byte address: an IPv4 one (mapped into IPv6) is the narrow
 * value of its 32 bits, an IPv6 one wide. */
void hf_distinct_add_addr(hf_distinct *d, const uint8_t addr[16], hf_arena *a);
/* Add len bytes (a string) as one wide value. */
void hf_distinct_add_bytes(hf_distinct *d, const void *p, size_t len, hf_arena *a);
/* Add the wide value whose 64-bit hash is h. */
void hf_distinct_add_hash(hf_distinct *d, uint64_t h, hf_arena *a);

/* Exact count while exact, the HyperLogLog estimate once a sketch. */
double hf_distinct_count(const hf_distinct *d);
int hf_distinct_is_sketch(const hf_distinct *d);
/* The values of a set of numbers below 2^16 (ports) into out, in no
 * particular order: how many, or -1 when the set holds other values (it
 * is not of width 2) or more than max. */
int hf_distinct_values16(const hf_distinct *d, uint16_t *out, int max);
/* The exact threshold in force (the default when d->limit is 0). */
uint32_t hf_distinct_limit(const hf_distinct *d);

/* dst := dst ∪ src (dst's limit applies). */
void hf_distinct_merge(hf_distinct *dst, const hf_distinct *src, hf_arena *a);

/* Bytes held outside the struct. */
size_t hf_distinct_mem_bytes(const hf_distinct *d);
/* Give those bytes back to the arena: an empty set with the same limit. */
void hf_distinct_release(hf_distinct *d, hf_arena *a);

/* Serialise into out (cap bytes).  Returns the size needed; writes only when
 * it fits (out may be NULL to ask the size).  The format is versioned,
 * little-endian and canonical: one set, one encoding. */
size_t hf_distinct_serialize(const hf_distinct *d, uint8_t *out, size_t cap);
/* Read a serialised set into *d (overwritten).  Returns bytes consumed, or
 * -1 on malformed, truncated or hostile input (then *d is an empty set). */
long hf_distinct_deserialize(hf_distinct *d, const uint8_t *in, size_t len, hf_arena *a);

#endif
