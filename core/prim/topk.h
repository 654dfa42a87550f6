/* topk.h -- the k heaviest keys of a stream: Space-Saving (Metwally et al.)
 * with HF_TOPK_SLOTS(k) counters, mergeable and serialisable.
 *
 * Keys are numbers (ports, protocols) or addresses.  Each item carries its
 * count and the overestimation bound `error`; an item whose count - error
 * exceeds the (k+1)-th count is guaranteed to be in the true top k. */
#ifndef HF_TOPK_H
#define HF_TOPK_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"

#define HF_TOPK_MAX_K 1024
#define HF_TOPK_SLOTS(k) ((k) * 3)

enum { HF_KEY_NUMBER = 0, HF_KEY_INET = 4, HF_KEY_INET6 = 6 };

typedef struct hf_topk_item {
    uint8_t key[16];  /* number: a double in the first 8 bytes; address: 16 bytes */
    double  count;
    double  error;
    uint8_t kind;     /* HF_KEY_* */
} hf_topk_item;

typedef struct hf_topk {
    uint16_t k;       /* 0 means 10 */
    uint16_t n;       /* items in use */
    uint32_t cap;     /* slots allocated: 4, 8, 16 ... up to HF_TOPK_SLOTS(k) */
    hf_topk_item *items;  /* cap slots in the arena, allocated on first add */
} hf_topk;

/* Add weight (positive and finite, else ignored) to key.  Counts saturate
 * at DBL_MAX.  A NULL arena means hf_arena_current(). */
void hf_topk_add(hf_topk *t, const uint8_t key[16], uint8_t kind, double weight, hf_arena *a);
void hf_topk_add_number(hf_topk *t, double key, double weight, hf_arena *a);

/* Copy up to max items into out, heaviest first (ties: smaller key first).
 * Returns the number copied (at most k). */
int hf_topk_items(const hf_topk *t, hf_topk_item *out, int max);

/* dst := dst merged with src (dst's k applies; see topk.c). */
void hf_topk_merge(hf_topk *dst, const hf_topk *src, hf_arena *a);
/* Bytes held outside the struct. */
size_t hf_topk_mem_bytes(const hf_topk *t);
/* Give those bytes back to the arena: an empty summary with the same k. */
void hf_topk_release(hf_topk *t, hf_arena *a);
/* Serialise / deserialise, with the snprintf-like contract of distinct.h;
 * a refused input (-1) leaves an empty summary. */
size_t hf_topk_serialize(const hf_topk *t, uint8_t *out, size_t cap);
long hf_topk_deserialize(hf_topk *t, const uint8_t *in, size_t len, hf_arena *a);

#endif
