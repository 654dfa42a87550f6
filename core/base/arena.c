/* arena.c -- per-window memory: bump allocation in blocks from a bounded,
 * recycling pool, with size-class free lists for memory given back.
 *
 * How it works
 * ------------
 *
 * A pool belongs to one worker thread.  It hands out blocks of
 * HF_ARENA_BLOCK bytes and keeps the blocks that arenas give back on a free
 * list, so a window that opens after another closed reuses its blocks
 * instead of calling malloc.  The pool counts the bytes held by arenas
 * (blocks in use plus dedicated large blocks) and the peak of that count;
 * blocks resting on its free list are not counted.  With a limit, the free
 * list never holds more than the limit leaves room for; without one it holds
 * at most the peak (every block on it was once in use).
 *
 * An arena is one open window.  Its struct lives at the start of its first
 * block, so creating an arena with a warm pool allocates nothing.
 *
 *   block (HF_ARENA_BLOCK bytes, 16-aligned):
 *
 *   +--------+---------------+-------+-------+-------- ... --+----------+
 *   | next   | struct arena  | alloc | alloc | ...           | unused   |
 *   | 16 B   | (first block) |       |       |               |          |
 *   +--------+---------------+-------+-------+-------- ... --+----------+
 *                                                            ^cur       ^end
 *
 * Requests of up to HF_ARENA_MAX_CLASS bytes are rounded up to a size class
 * and bump-allocated from the newest block.  The classes are 16-byte steps
 * up to 128, then four steps per doubling up to 4096:
 *
 *   16 32 48 64 80 96 112 128 | 160 192 224 256 | 320 384 448 512 | ...
 *   ... | 2560 3072 3584 4096          (28 classes, waste under 25%)
 *
 * so a released chunk goes on its class's free list and serves the next
 * request of that class, and a state row of 40 bytes costs 48, not 64.
 * When a block is too full for a request, its tail is carved into chunks
 * of the largest classes that fit and put on the free lists, then a new
 * block is taken.  Larger requests get a dedicated malloc'd block with a
 * small header, linked into the arena so that hf_arena_free() frees them and
 * hf_arena_release() can free one at once.
 *
 * Every pointer returned is 16-byte aligned (all classes are multiples of
 * 16), which is more than the 8 that arena.h promises.
 *
 * Under AddressSanitizer, memory that is not handed out (block tails, free
 * chunks, pooled blocks, the slack between a request and its class) is
 * poisoned, so overflows and use-after-release inside an arena are reported
 * just as they would be with malloc. */
#include "base/arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

/* ------------------------------------------------------------------------
 * AddressSanitizer hooks
 * --------------------------------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
#define HF_ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HF_ARENA_ASAN 1
#endif
#endif

#ifdef HF_ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* ------------------------------------------------------------------------
 * Constants and types
 * --------------------------------------------------------------------- */

#define HF_ARENA_ALIGN     16
#define HF_ARENA_MAX_CLASS 4096
#define HF_ARENA_CLASSES   28
#define BLOCK_HDR          16       /* the `next` link, padded to the alignment */

#define ROUND_UP(x, a) (((x) + ((a) - 1)) & ~(size_t)((a) - 1))

struct hf_pool {
    size_t limit;          /* 0: unlimited */
    size_t bytes;          /* held by arenas: blocks and dedicated blocks */
    size_t peak;
    void  *free_blocks;    /* recycled blocks, linked through their first word */
    size_t nfree;
    long   narenas;        /* live arenas (checked by hf_pool_free) */
};

/* The header in front of a dedicated block (a request above the classes). */
typedef struct hf_big {
    struct hf_big *next, *prev;
    size_t size;           /* the whole malloc'd size, header included */
    size_t pad;            /* keeps the payload 16-byte aligned */
} hf_big;

struct hf_arena {
    hf_pool *pool;
    uint8_t *cur, *end;    /* bump region of the newest block */
    void    *blocks;       /* this arena's blocks, newest first */
    hf_big  *bigs;         /* dedicated blocks, doubly linked */
    size_t   bytes;        /* blocks and dedicated blocks of this arena */
    void    *free[HF_ARENA_CLASSES];  /* released chunks by class */
};

static _Thread_local hf_arena *hf_arena_cur;

/* ------------------------------------------------------------------------
 * Size classes
 * --------------------------------------------------------------------- */

/* The class index of a request of 1..HF_ARENA_MAX_CLASS bytes (0 counts as 1). */
static inline unsigned class_of(size_t size)
{
    if (size <= 128) return size ? (unsigned)((size - 1) >> 4) : 0;
    size_t s = size - 1;                                   /* 128 .. 4095 */
    unsigned b = 63 - (unsigned)__builtin_clzll(s);        /* 7 .. 11 */
    return 8 + (b - 7) * 4 + (unsigned)((s - ((size_t)1 << b)) >> (b - 2));
}

/* The size in bytes of class c. */
static inline size_t class_size(unsigned c)
{
    if (c < 8) return (size_t)(c + 1) * 16;
    unsigned b = 7 + (c - 8) / 4, step = (c - 8) % 4;
    return ((size_t)1 << b) + (size_t)(step + 1) * ((size_t)1 << (b - 2));
}

/* ------------------------------------------------------------------------
 * Pool
 * --------------------------------------------------------------------- */

/* A pool counting against limit_bytes (0: unlimited).  Never NULL. */
hf_pool *hf_pool_new(size_t limit_bytes)
{
    hf_pool *p = hf_calloc(1, sizeof *p);
    p->limit = limit_bytes;
    return p;
}

/* Free the pool and its recycled blocks.  Every arena must be freed first:
 * a live arena would point at a freed pool, so that stops the process. */
void hf_pool_free(hf_pool *pool)
{
    if (!pool) return;
    if (pool->narenas != 0) {
        fprintf(stderr, "hostflow: hf_pool_free with %ld arenas still open\n", pool->narenas);
        abort();
    }
    void *b = pool->free_blocks;
    while (b) {
        UNPOISON(b, sizeof(void *));
        void *next = *(void **)b;
        UNPOISON(b, HF_ARENA_BLOCK);
        hf_free(b);
        b = next;
    }
    hf_free(pool);
}

size_t hf_pool_bytes(const hf_pool *pool) { return pool->bytes; }
size_t hf_pool_peak(const hf_pool *pool) { return pool->peak; }
long hf_pool_arenas(const hf_pool *pool) { return pool->narenas; }

/* 1 when the pool has a limit and the bytes held by arenas reach it. */
int hf_pool_full(const hf_pool *pool)
{
    return pool->limit && pool->bytes >= pool->limit;
}

/* 1 when `more` bytes more stay within the limit (always without one). */
int hf_pool_fits(const hf_pool *pool, size_t more)
{
    return !pool->limit || (pool->bytes <= pool->limit && more <= pool->limit - pool->bytes);
}

static inline void pool_count(hf_pool *p, size_t n)
{
    p->bytes += n;
    if (p->bytes > p->peak) p->peak = p->bytes;
}

void hf_pool_charge(hf_pool *pool, size_t bytes) { pool_count(pool, bytes); }

void hf_pool_uncharge(hf_pool *pool, size_t bytes)
{
    pool->bytes -= bytes < pool->bytes ? bytes : pool->bytes;
}

/* A block from the free list, or a new one; counted as held.  The whole
 * block comes back poisoned except its first BLOCK_HDR bytes. */
static void *pool_get_block(hf_pool *p)
{
    void *b = p->free_blocks;
    if (b) {
        UNPOISON(b, BLOCK_HDR);
        p->free_blocks = *(void **)b;
        p->nfree--;
    } else {
        b = hf_malloc(HF_ARENA_BLOCK);
        POISON((uint8_t *)b + BLOCK_HDR, HF_ARENA_BLOCK - BLOCK_HDR);
    }
    pool_count(p, HF_ARENA_BLOCK);
    return b;
}

/* Take a block back: keep it for reuse while the limit leaves room for it
 * (always without a limit), else free it. */
static void pool_put_block(hf_pool *p, void *b)
{
    p->bytes -= HF_ARENA_BLOCK;
    if (p->limit && p->bytes + (p->nfree + 1) * (size_t)HF_ARENA_BLOCK > p->limit) {
        UNPOISON(b, HF_ARENA_BLOCK);
        hf_free(b);
        return;
    }
    UNPOISON(b, BLOCK_HDR);
    *(void **)b = p->free_blocks;
    p->free_blocks = b;
    p->nfree++;
    POISON((uint8_t *)b + BLOCK_HDR, HF_ARENA_BLOCK - BLOCK_HDR);
}

/* ------------------------------------------------------------------------
 * Arena internals
 * --------------------------------------------------------------------- */

/* Push chunk p of class c on the arena's free list (poisoned while there). */
static inline void chunk_push(hf_arena *a, void *p, unsigned c)
{
    UNPOISON(p, sizeof(void *));
    *(void **)p = a->free[c];
    a->free[c] = p;
    POISON(p, class_size(c));
}

/* Carve what is left of the current block into free chunks, largest first,
 * then start a new block.  Bounded by HF_ARENA_CLASSES pushes per class. */
static void arena_refill(hf_arena *a)
{
    size_t left = (size_t)(a->end - a->cur);
    unsigned c = HF_ARENA_CLASSES;
    while (left >= 16 && c-- > 0) {
        size_t cs = class_size(c);
        while (left >= cs) {
            chunk_push(a, a->cur, c);
            a->cur += cs;
            left -= cs;
        }
    }
    uint8_t *b = pool_get_block(a->pool);
    *(void **)b = a->blocks;
    a->blocks = b;
    a->bytes += HF_ARENA_BLOCK;
    a->cur = b + BLOCK_HDR;
    a->end = b + HF_ARENA_BLOCK;
}

/* A dedicated block for a request above the classes. */
static void *arena_big_alloc(hf_arena *a, size_t size)
{
    size_t total = sizeof(hf_big) + ROUND_UP(size, HF_ARENA_ALIGN);
    hf_big *g = hf_malloc(total);
    g->size = total;
    g->prev = NULL;
    g->next = a->bigs;
    if (a->bigs) a->bigs->prev = g;
    a->bigs = g;
    a->bytes += total;
    pool_count(a->pool, total);
    return g + 1;
}

static void arena_big_free(hf_arena *a, hf_big *g)
{
    if (g->prev) g->prev->next = g->next; else a->bigs = g->next;
    if (g->next) g->next->prev = g->prev;
    a->bytes -= g->size;
    a->pool->bytes -= g->size;
    hf_free(g);
}

/* ------------------------------------------------------------------------
 * Arena API
 * --------------------------------------------------------------------- */

/* A new arena holding one block of the pool (its struct lives there). */
hf_arena *hf_arena_new(hf_pool *pool)
{
    uint8_t *b = pool_get_block(pool);
    size_t hdr = BLOCK_HDR + ROUND_UP(sizeof(hf_arena), HF_ARENA_ALIGN);
    UNPOISON(b + BLOCK_HDR, sizeof(hf_arena));
    hf_arena *a = (hf_arena *)(b + BLOCK_HDR);
    memset(a, 0, sizeof *a);
    *(void **)b = NULL;
    a->pool = pool;
    a->blocks = b;
    a->bytes = HF_ARENA_BLOCK;
    a->cur = b + hdr;
    a->end = b + HF_ARENA_BLOCK;
    pool->narenas++;
    return a;
}

/* Free every dedicated block and give every block back to the pool.  The
 * arena stops being the thread's current one if it was. */
void hf_arena_free(hf_arena *a)
{
    if (!a) return;
    if (hf_arena_cur == a) hf_arena_cur = NULL;
    hf_pool *pool = a->pool;
    while (a->bigs) arena_big_free(a, a->bigs);
    void *b = a->blocks;                 /* the struct lives in the last one */
    while (b) {
        void *next = *(void **)b;
        pool_put_block(pool, b);
        b = next;
    }
    pool->narenas--;
}

size_t hf_arena_bytes(const hf_arena *a) { return a->bytes; }

/* size bytes, 16-byte aligned, uninitialised.  O(1) except when a block
 * runs out (then O(HF_ARENA_CLASSES)). */
void *hf_arena_alloc(hf_arena *a, size_t size)
{
    if (size > HF_ARENA_MAX_CLASS) return arena_big_alloc(a, size);
    unsigned c = class_of(size);
    void *p = a->free[c];
    if (p) {
        UNPOISON(p, sizeof(void *));
        a->free[c] = *(void **)p;
        POISON(p, class_size(c));
    } else {
        size_t cs = class_size(c);
        if ((size_t)(a->end - a->cur) < cs) arena_refill(a);
        p = a->cur;
        a->cur += cs;
    }
    UNPOISON(p, size ? size : 1);
    return p;
}

/* size bytes, zeroed. */
void *hf_arena_calloc(hf_arena *a, size_t size)
{
    void *p = hf_arena_alloc(a, size);
    memset(p, 0, size);
    return p;
}

/* Give back p (allocated from this arena with this size) for reuse by the
 * next request of its class; a dedicated block is freed at once. */
void hf_arena_release(hf_arena *a, void *p, size_t size)
{
    if (!p) return;
    if (size > HF_ARENA_MAX_CLASS) {
        arena_big_free(a, (hf_big *)p - 1);
        return;
    }
    chunk_push(a, p, class_of(size));
}

/* ------------------------------------------------------------------------
 * The thread's current arena
 * --------------------------------------------------------------------- */

void hf_arena_set_current(hf_arena *a) { hf_arena_cur = a; }
hf_arena *hf_arena_current(void) { return hf_arena_cur; }
