/* hash.h -- fast, seeded-constant 64-bit hashing for the core's tables and
 * the distinct-count primitive.  Deterministic across runs and machines. */
#ifndef HF_HASH_H
#define HF_HASH_H

#include <stddef.h>
#include <stdint.h>

/* A strong 64-bit mix of one 64-bit value (bijective). */
static inline uint64_t hf_hash_u64(uint64_t x)
{
    x ^= x >> 33; x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* Hash of a 16-byte address. */
static inline uint64_t hf_hash_addr(const uint8_t a[16])
{
    uint64_t lo, hi;
    __builtin_memcpy(&lo, a, 8);
    __builtin_memcpy(&hi, a + 8, 8);
    return hf_hash_u64(lo ^ hf_hash_u64(hi + 0x9e3779b97f4a7c15ULL));
}

/* The shard (worker) of n that owns the host at address a: the one rule
 * the pipeline shares flows out by and the profiles' files and changelog
 * are read by. */
static inline int hf_hash_shard(const uint8_t a[16], int n)
{
    return n <= 1 ? 0 : (int)((hf_hash_addr(a) >> 32) % (uint64_t)n);
}

/* Hash of any bytes. */
uint64_t hf_hash_bytes(const void *p, size_t len);

#endif
