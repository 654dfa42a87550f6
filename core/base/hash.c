/* hash.c -- hashing of arbitrary bytes (the fixed-size cases are inline in hash.h). */
#include "base/hash.h"

#include <string.h>

uint64_t hf_hash_bytes(const void *p, size_t len)
{
    const uint8_t *s = p;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (len * 0xff51afd7ed558ccdULL);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = hf_hash_u64(h ^ w);
        s += 8;
        len -= 8;
    }
    if (len) {
        uint64_t w = 0;
        memcpy(&w, s, len);
        h = hf_hash_u64(h ^ w ^ ((uint64_t)len << 56));
    }
    return hf_hash_u64(h);
}
