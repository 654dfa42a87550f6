/* arena.h -- per-window memory: a bump allocator over blocks drawn from a
 * bounded pool, with free lists by size class for memory that is given back.
 *
 * Every byte of a window's state (its host table, the analyses' state rows,
 * distinct sets and sketches) lives in the window's arena, so closing a
 * window is one hf_arena_free() that returns whole blocks to the pool.
 *
 *   pool (one per worker thread; limit in bytes, counted)
 *    └── arena (one per open window) ── blocks of HF_ARENA_BLOCK bytes
 *         └── allocations: 8-byte aligned; small sizes rounded to a class
 *             (16-byte steps to 128, then four per doubling to 4096) so
 *             hf_arena_release() can keep them on a free list for reuse;
 *             larger ones get blocks of their own.
 *
 * The pool keeps the blocks that freed arenas give back (within its limit)
 * so windows that open and close do not call malloc each time.
 *
 * Allocation never fails (see alloc.h); the pool only counts.  Callers that
 * must stay within memory.max_bytes ask hf_pool_full() before they create a
 * new host, which is what grows without bound, and hf_pool_fits() for a
 * large allocation the host would bring (a window's table doubling); what
 * they refuse is counted. */
#ifndef HF_ARENA_H
#define HF_ARENA_H

#include <stddef.h>
#include <stdint.h>

#define HF_ARENA_BLOCK (64 * 1024)

typedef struct hf_pool hf_pool;
typedef struct hf_arena hf_arena;

hf_pool *hf_pool_new(size_t limit_bytes);   /* limit 0: unlimited */
void hf_pool_free(hf_pool *pool);           /* every arena must be freed first */
size_t hf_pool_bytes(const hf_pool *pool);  /* bytes in blocks held by arenas */
size_t hf_pool_peak(const hf_pool *pool);   /* highest hf_pool_bytes seen */
long hf_pool_arenas(const hf_pool *pool);   /* arenas made of it and not freed */
int hf_pool_full(const hf_pool *pool);      /* 1 when bytes >= limit */
int hf_pool_fits(const hf_pool *pool, size_t more); /* 1 when bytes + more <= limit (or none) */
/* Memory held outside the arenas that counts against the limit all the
 * same (a profile store's rows, engine/profile.h): added to bytes (and the
 * peak) and taken off again.  The caller asks hf_pool_fits() first. */
void hf_pool_charge(hf_pool *pool, size_t bytes);
void hf_pool_uncharge(hf_pool *pool, size_t bytes);

hf_arena *hf_arena_new(hf_pool *pool);
void hf_arena_free(hf_arena *a);            /* returns every block to the pool */
size_t hf_arena_bytes(const hf_arena *a);   /* bytes in blocks of this arena */

/* size bytes, 8-byte aligned, uninitialised. */
void *hf_arena_alloc(hf_arena *a, size_t size);
/* size bytes, zeroed. */
void *hf_arena_calloc(hf_arena *a, size_t size);
/* Give back p, allocated with this size, for reuse within this arena. */
void hf_arena_release(hf_arena *a, void *p, size_t size);

/* The arena that the primitives' FFI functions allocate from on this thread
 * (set by the worker before it hands a batch or a window to Lua). */
void hf_arena_set_current(hf_arena *a);
hf_arena *hf_arena_current(void);

#endif
