/* window.c -- tumbling windows of host tables, closed by the watermark and
 * merged from fine to coarse (see window.h for the picture).
 *
 * A window's hosts: an open-addressing table (linear probing, load <= 3/4)
 * of 32-bit row numbers, and the rows themselves in chunks of HF_CHUNK_ROWS
 * so that a row never moves once made (the Lua side holds pointers to rows
 * while it runs a batch).  All of it lives in the window's arena.
 *
 * A table slot holds the row number + 1 in its low 24 bits and the top 8
 * bits of the address's hash in its high 8 (0 = empty):
 *
 *     31       24 23                            0
 *    +-----------+-------------------------------+
 *    | hash tag  |        row number + 1         |
 *    +-----------+-------------------------------+
 *
 * so a probe reads a row (a cache miss: rows are spread over the chunks)
 * only when the tag matches, 1 time in 256 for another host, instead of at
 * every occupied slot it passes.  Measured on make bench's input, the
 * worker's time went down 5 %.  A table of at most 2^24 slots holds at most
 * 3/4 of that in rows, so their numbers fit in 24 bits; a larger one (over
 * 12.5 million hosts in one window) has no tags and full 32-bit numbers:
 * the same code with the tag mask at 0.
 *
 * Many hosts at once
 * ------------------
 *
 * A table of a busy window is megabytes and its rows more, so a lookup is
 * two cache misses (the slot, then the row), each a hundred cycles or
 * more, with nothing else to do meanwhile.  hf_window_hosts and the merges
 * look hosts up in blocks of LOOKUP_BLOCK, in three passes, so that the
 * misses of a block overlap instead of following each other:
 *
 *   1. hash every address, prefetch its home slot;
 *   2. walk each one's probe (its slots are in the cache now) to the first
 *      slot whose tag matches, and prefetch that row, all of it;
 *   3. look each one up for real, in order (hf_window_host with the hash
 *      already made), making the new hosts' rows.
 *
 * Passes 1 and 2 only read and prefetch; pass 3 alone decides, so a host
 * that pass 3 adds (or a table it grows) is seen by the ones after it as
 * when they come one by one, and the rows are those of one-by-one lookups
 * in the same order.  hf_window_hosts (a batch's sources, the most
 * lookups) runs the passes as a pipeline instead, each HOSTS_AHEAD flows
 * behind the one before it, so that no read follows its prefetch closely
 * (in a block, the first slots and rows were read right after theirs). */
#include "engine/window.h"

#include <string.h>

#include "base/alloc.h"
#include "base/hash.h"
#include "engine/logs.h"
#include "stream/flow.h"

#define TABLE_MIN    64              /* slots of the smallest host table */
#define LOOKUP_BLOCK 64              /* hosts looked up together (see the top) */

/* ------------------------------------------------------------------------
 * Layout
 * --------------------------------------------------------------------- */

#define ROUND(x, a) (((x) + ((a) - 1)) & ~(size_t)((a) - 1))

/* A state of 4-byte counts only (or of nothing), which needs no more than
 * 4-byte alignment; every other field kind holds doubles or pointers. */
static int narrow(const hf_schema *s)
{
    for (int i = 0; i < s->nfields; i++)
        if (s->fields[i].kind != HF_FIELD_COUNT32) return 0;
    return 1;
}

/* Offsets for every state: the narrow ones right after the 20-byte host
 * (each a multiple of 4 bytes), then the others at multiples of 8, as
 * window.h draws it; the row a multiple of 8, for the next row's doubles.
 * Then what follows from the offsets: a new row's bytes (each state as
 * hf_state_init leaves it), copied into every row made, and the row's
 * fields in runs, for merges. */
static void relayout(hf_layout *l)
{
    size_t off = sizeof(hf_host);
    for (int i = 0; i < l->n; i++)
        if (l->flags[i] & HF_LAYOUT_SPARSE) l->offsets[i] = 0;   /* not in the rows */
    for (int i = 0; i < l->n; i++)
        if (!(l->flags[i] & HF_LAYOUT_SPARSE) && narrow(&l->schemas[i])) {
            l->offsets[i] = off;
            off += ROUND(l->schemas[i].size, 4);
        }
    off = ROUND(off, 8);
    for (int i = 0; i < l->n; i++)
        if (!(l->flags[i] & HF_LAYOUT_SPARSE) && !narrow(&l->schemas[i])) {
            l->offsets[i] = off;
            off += ROUND(l->schemas[i].size, 8);
        }
    l->row_size = ROUND(off, 8);
    hf_free(l->init);
    l->init = hf_calloc(1, l->row_size);
    hf_state_row_release(&l->fields);
    for (int i = 0; i < l->n; i++) {
        if (l->flags[i] & HF_LAYOUT_SPARSE) continue;          /* not in the rows */
        hf_state_init(&l->schemas[i], l->init + l->offsets[i]);
        hf_state_row_add(&l->fields, &l->schemas[i], l->offsets[i]);
    }
}

void hf_layout_init(hf_layout *l)
{
    memset(l, 0, sizeof *l);
    relayout(l);
}

long hf_layout_add(hf_layout *l, const char *name, size_t size,
                   const hf_field *fields, int nfields)
{
    return hf_layout_add_id(l, name, 0, size, fields, nfields);
}

long hf_layout_add_id(hf_layout *l, const char *name, uint32_t id, size_t size,
                      const hf_field *fields, int nfields)
{
    if (l->n == HF_MAX_ANALYSES || nfields < 0) return -1;
    for (int i = 0; i < nfields; i++) {         /* a group's value's fields are the value's */
        if ((size_t)fields[i].offset >= size) return -1;
        if (fields[i].kind == HF_FIELD_GROUP && i + 1 < nfields && fields[i + 1].kind == HF_FIELD_OF)
            i += 1 + (int)fields[i + 1].param;
    }
    int i = l->n++;
    l->names[i] = hf_strdup(name);
    size_t nlen = strlen(name);
    l->keys[i] = hf_malloc(nlen + 5);
    l->keys[i][0] = ',';
    l->keys[i][1] = '"';
    memcpy(l->keys[i] + 2, name, nlen);
    memcpy(l->keys[i] + 2 + nlen, "\":", 3);
    l->key_lens[i] = (uint32_t)(nlen + 4);
    l->ids[i] = id;
    l->schemas[i].nfields = nfields;
    l->schemas[i].size = size;
    l->schemas[i].fields = hf_malloc(sizeof(hf_field) * (size_t)(nfields ? nfields : 1));
    if (nfields) memcpy(l->schemas[i].fields, fields, sizeof(hf_field) * (size_t)nfields);
    relayout(l);
    return i;
}

void hf_layout_flags(hf_layout *l, int i, unsigned flags)
{
    if (i < 0 || i >= l->n) return;
    l->flags[i] = (uint8_t)flags;
    if (flags & HF_LAYOUT_BY_DST) l->by_dst |= 1ULL << i;
    else l->by_dst &= ~(1ULL << i);
    if (flags & HF_LAYOUT_SPARSE) l->sparse |= 1ULL << i;
    else l->sparse &= ~(1ULL << i);
    if (flags & HF_LAYOUT_BOTH) l->both |= 1ULL << i;
    else l->both &= ~(1ULL << i);
    relayout(l);
}

void hf_layout_window(hf_layout *l, int i, int64_t g_ms)
{
    if (i >= 0 && i < l->n) l->window_ms[i] = g_ms > 0 ? g_ms : 0;
}

size_t hf_layout_offset(const hf_layout *l, int i)
{
    return l->offsets[i];
}

void hf_layout_release(hf_layout *l)
{
    for (int i = 0; i < l->n; i++) {
        hf_free(l->names[i]);
        hf_free(l->keys[i]);
        hf_free(l->schemas[i].fields);
    }
    hf_free(l->init);
    hf_state_row_release(&l->fields);
    memset(l, 0, sizeof *l);
}

/* ------------------------------------------------------------------------
 * Levels
 * --------------------------------------------------------------------- */

int64_t hf_windows_gcd(const int64_t *g_ms, int n)
{
    int64_t a = g_ms[0];
    for (int i = 1; i < n; i++) {
        int64_t b = g_ms[i];
        while (b) {
            int64_t t = a % b;
            a = b;
            b = t;
        }
    }
    return a;
}

void hf_windows_init(hf_windows *ws, const int64_t *g_ms, int n,
                     hf_layout *layout, hf_pool *pool)
{
    memset(ws, 0, sizeof *ws);
    ws->layout = layout;
    layout->from_ms = INT64_MIN;
    layout->older = NULL;
    ws->pool = pool;
    int64_t base = hf_windows_gcd(g_ms, n);
    int first = 0;
    ws->levels[0].g_ms = base;
    ws->levels[0].source = -1;
    if (g_ms[0] == base) {
        ws->levels[0].emit = 1;
        first = 1;
    }
    ws->nlevels = 1;
    for (int i = first; i < n; i++) {
        hf_level *lv = &ws->levels[ws->nlevels];
        lv->g_ms = g_ms[i];
        lv->emit = 1;
        /* the coarsest finer level that divides this one */
        lv->source = 0;
        for (int j = ws->nlevels - 1; j > 0; j--)
            if (g_ms[i] % ws->levels[j].g_ms == 0) {
                lv->source = j;
                break;
            }
        ws->nlevels++;
    }
}

int64_t hf_windows_base_ms(const hf_windows *ws)
{
    return ws->levels[0].g_ms;
}

void hf_windows_switch(hf_windows *ws, hf_layout *l, int64_t from_ms)
{
    l->from_ms = from_ms;
    l->older = ws->layout;
    ws->layout = l;
}

hf_layout *hf_windows_retire(hf_windows *ws, int64_t boundary)
{
    /* the oldest layout, and the one after it */
    hf_layout *next = ws->layout, *old = next ? next->older : NULL;
    if (!old) return NULL;
    while (old->older) {
        next = old;
        old = old->older;
    }
    if (old->windows) return NULL;
    /* a window starting before next->from_ms ends by from_ms + the coarsest
     * granularity; once the boundary is past that none can be made again
     * (flows before the boundary are late) */
    int64_t g_max = ws->levels[ws->nlevels - 1].g_ms;
    if (next->from_ms != INT64_MIN && boundary != INT64_MAX &&
        (boundary < next->from_ms || boundary - next->from_ms < g_max))
        return NULL;
    next->older = NULL;
    return old;
}

static int64_t floor_to(int64_t t, int64_t g)
{
    int64_t q = t / g;
    if (t % g < 0) q--;
    return q * g;
}

/* ------------------------------------------------------------------------
 * Windows and their host tables
 * --------------------------------------------------------------------- */

/* The layout of windows that start at start. */
static hf_layout *layout_at(const hf_windows *ws, int64_t start)
{
    hf_layout *l = ws->layout;
    while (l->older && start < l->from_ms) l = l->older;
    return l;
}

static hf_window *window_new(hf_windows *ws, int level, int64_t start)
{
    hf_arena *a = hf_arena_new(ws->pool);
    hf_window *w = hf_arena_calloc(a, sizeof *w);
    w->arena = a;
    w->level = level;
    w->start_ms = start;
    w->g_ms = ws->levels[level].g_ms;
    w->layout = layout_at(ws, start);
    w->layout->windows++;
    w->row_size = w->layout->row_size;
    /* a table for as many hosts as the level's last window had (doubling
     * from 64 slots would rehash them all about twice, one cache miss
     * each), unless the memory limit leaves no room for it */
    uint64_t slots = TABLE_MIN;
    while ((uint64_t)ws->levels[level].last_hosts * 4 > slots * 3) slots *= 2;
    if (slots > TABLE_MIN && !hf_pool_fits(ws->pool, sizeof(uint32_t) * slots)) slots = TABLE_MIN;
    w->mask = (uint32_t)slots - 1;
    w->table = hf_arena_calloc(a, sizeof(uint32_t) * slots);
    return w;
}

/* The window of level that starts at start, created in order when new. */
static hf_window *level_window(hf_windows *ws, int level, int64_t start)
{
    hf_window **pp = &ws->levels[level].open;
    while (*pp && (*pp)->start_ms < start) pp = &(*pp)->next;
    if (*pp && (*pp)->start_ms == start) return *pp;
    hf_window *w = window_new(ws, level, start);
    w->next = *pp;
    *pp = w;
    return w;
}

hf_window *hf_windows_base(hf_windows *ws, int64_t t)
{
    int64_t start = floor_to(t, ws->levels[0].g_ms);
    if (ws->last && ws->last->start_ms == start) return ws->last;
    ws->last = level_window(ws, 0, start);
    return ws->last;
}

/* window.h's inline, defined here once (for the FFI). */
extern inline uint8_t *hf_window_row(const hf_window *w, uint32_t i);

uint64_t hf_window_omit(const hf_window *w, uint32_t i)
{
    uint32_t c = i / HF_CHUNK_ROWS;
    if (c >= w->omit_chunks || !w->omit[c]) return 0;
    return w->omit[c][i % HF_CHUNK_ROWS];
}

/* The list of per-chunk arrays covers the chunks that exist when a bit is
 * set; it grows (at least doubling) as later chunks get bits, and an array
 * (2 KB) is made only for a chunk that has a row with bits. */
void hf_window_omit_set(hf_window *w, uint32_t i, uint64_t bits)
{
    if (!bits) return;
    uint32_t c = i / HF_CHUNK_ROWS;
    if (c >= w->omit_chunks) {
        uint32_t n = w->nchunks > 2 * w->omit_chunks ? w->nchunks : 2 * w->omit_chunks;
        uint64_t **list = hf_arena_calloc(w->arena, sizeof *list * n);
        if (w->omit_chunks) {
            memcpy(list, w->omit, sizeof *list * w->omit_chunks);
            hf_arena_release(w->arena, w->omit, sizeof *list * w->omit_chunks);
        }
        w->omit = list;
        w->omit_chunks = n;
    }
    if (!w->omit[c]) w->omit[c] = hf_arena_calloc(w->arena, sizeof(uint64_t) * HF_CHUNK_ROWS);
    w->omit[c][i % HF_CHUNK_ROWS] |= bits;
    w->omit_any |= bits;
}

hf_logstate *hf_window_logs(const hf_window *w, uint32_t i)
{
    uint32_t c = i / HF_CHUNK_ROWS;
    if (c >= w->logs_chunks || !w->logs[c]) return NULL;
    return w->logs[c][i % HF_CHUNK_ROWS];
}

/* As the omit bits' list (hf_window_omit_set): grown at least doubling,
 * an array of HF_CHUNK_ROWS pointers made per chunk that has a row with
 * events. */
hf_logstate *hf_window_logs_make(hf_windows *ws, hf_window *w, uint32_t i)
{
    uint32_t c = i / HF_CHUNK_ROWS;
    if (c >= w->logs_chunks) {
        uint32_t n = w->nchunks > 2 * w->logs_chunks ? w->nchunks : 2 * w->logs_chunks;
        void ***list = hf_arena_calloc(w->arena, sizeof *list * n);
        if (w->logs_chunks) {
            memcpy(list, w->logs, sizeof *list * w->logs_chunks);
            hf_arena_release(w->arena, w->logs, sizeof *list * w->logs_chunks);
        }
        w->logs = list;
        w->logs_chunks = n;
    }
    if (!w->logs[c]) w->logs[c] = hf_arena_calloc(w->arena, sizeof(void *) * HF_CHUNK_ROWS);
    void **slot = &w->logs[c][i % HF_CHUNK_ROWS];
    if (!*slot) {
        *slot = hf_logs_new(w->arena, ws->log_messages);
        w->nlogs++;
    }
    return *slot;
}

#ifndef TAG_MAX_SLOTS                /* (a test may lower it) */
#define TAG_MAX_SLOTS (1u << 24)   /* tables up to this size carry tags */
#endif

/* The tag bits of a table of mask + 1 slots (0 for a table without tags),
 * and the tag of hash h in them. */
static inline uint32_t tag_mask(uint32_t mask)
{
    return mask < TAG_MAX_SLOTS ? 0xff000000u : 0;
}

static inline uint32_t tag_of(uint64_t h, uint32_t tmask)
{
    return (uint32_t)(h >> 32) & tmask;
}

static void table_grow(hf_window *w)
{
    uint32_t oldsize = w->mask + 1, size = oldsize * 2, tmask = tag_mask(size - 1);
    uint32_t *t = hf_arena_calloc(w->arena, sizeof(uint32_t) * size);
    for (uint32_t i = 0; i < w->nhosts; i++) {
        const hf_host *h = (const hf_host *)hf_window_row(w, i);
        uint64_t hash = hf_hash_addr(h->addr);
        uint32_t j = (uint32_t)hash & (size - 1);
        while (t[j]) j = (j + 1) & (size - 1);
        t[j] = (i + 1) | tag_of(hash, tmask);
    }
    hf_arena_release(w->arena, w->table, sizeof(uint32_t) * oldsize);
    w->table = t;
    w->mask = size - 1;
}

/* Append a row for a new host; returns it initialised. */
static uint8_t *row_new(hf_windows *ws, hf_window *w, const uint8_t addr[16], uint8_t family)
{
    uint32_t i = w->nhosts;
    if (i % HF_CHUNK_ROWS == 0) {
        uint32_t c = i / HF_CHUNK_ROWS;
        if ((c & (c - 1)) == 0) {            /* 0, 1, 2, 4, ...: double the chunk list */
            uint32_t cap = c ? c * 2 : 1;
            uint8_t **chunks = hf_arena_alloc(w->arena, sizeof(uint8_t *) * cap);
            if (c) {
                memcpy(chunks, w->chunks, sizeof(uint8_t *) * c);
                hf_arena_release(w->arena, w->chunks, sizeof(uint8_t *) * c);
            }
            w->chunks = chunks;
        }
        w->chunks[c] = hf_arena_alloc(w->arena, w->row_size * HF_CHUNK_ROWS);
        w->nchunks = c + 1;
    }
    w->nhosts++;
    uint8_t *row = hf_window_row(w, i);
    hf_host *h = (hf_host *)row;
    memcpy(h->addr, addr, 16);
    memcpy(row + sizeof(hf_host), w->layout->init + sizeof(hf_host), w->row_size - sizeof(hf_host));
    h->row = i;
    h->v6 = family == HF_AF_INET6;
    h->sent = h->received = 0;
    return row;
}

/* The row of the host with address addr and hash hf_hash_addr(addr) in w,
 * made when new (NULL when refused: the memory limit). */
static inline uint8_t *host_find(hf_windows *ws, hf_window *w, const uint8_t addr[16],
                                 uint8_t family, uint64_t hash)
{
    uint32_t tmask = tag_mask(w->mask), tag = tag_of(hash, tmask);
    uint32_t j = (uint32_t)hash & w->mask;
    for (;;) {
        uint32_t r = w->table[j];
        if (!r) break;
        if ((r & tmask) == tag) {
            uint8_t *row = hf_window_row(w, (r & ~tmask) - 1);
            if (memcmp(row, addr, 16) == 0) return row;
        }
        j = (j + 1) & w->mask;
    }
    /* a host that makes the table grow needs the new table (twice the old
     * one) beside the old for a moment: megabytes at a million hosts, so
     * it must fit too, or the limit would be passed by that much */
    int grows = (uint64_t)(w->nhosts + 1) * 4 > (uint64_t)(w->mask + 1) * 3;
    if (hf_pool_full(ws->pool) || w->nhosts == HF_MAX_ROWS ||
        (grows && !hf_pool_fits(ws->pool, sizeof(uint32_t) * 2 * ((size_t)w->mask + 1)))) {
        ws->hosts_refused++;
        return NULL;
    }
    uint8_t *row = row_new(ws, w, addr, family);
    w->table[j] = w->nhosts | tag;
    if (w->nhosts * 4 > (w->mask + 1) * 3) table_grow(w);
    return row;
}

uint8_t *hf_window_host(hf_windows *ws, hf_window *w, const uint8_t addr[16], uint8_t family)
{
    return host_find(ws, w, addr, family, hf_hash_addr(addr));
}

/* Pass 1 for one host (see "Many hosts at once"): its hash, and its home
 * slot prefetched. */
static inline uint64_t slot_prefetch(const hf_window *w, const uint8_t addr[16])
{
    uint64_t h = hf_hash_addr(addr);
    __builtin_prefetch(&w->table[(uint32_t)h & w->mask], 0, 3);
    return h;
}

/* Pass 2 for one host: walk its probe to the first slot whose tag matches
 * and prefetch that row, all of it. */
static inline void row_prefetch(const hf_window *w, uint64_t hash)
{
    uint32_t tmask = tag_mask(w->mask), tag = tag_of(hash, tmask), j = (uint32_t)hash & w->mask, r;
    while ((r = w->table[j]) != 0 && (r & tmask) != tag) j = (j + 1) & w->mask;
    if (!r) return;                            /* a new host: its row is made in pass 3 */
    const uint8_t *row = hf_window_row(w, (r & ~tmask) - 1);
    for (size_t o = 0; o < w->row_size; o += 64) __builtin_prefetch(row + o, 1, 3);
}

/* Passes 1 and 2 of a block: hash[i] of addrs[i], and the slots and rows
 * they will read, prefetched. */
static void block_prefetch(const hf_window *w, uint32_t n, const uint8_t *const *addrs,
                           uint64_t *hash)
{
    for (uint32_t i = 0; i < n; i++) hash[i] = slot_prefetch(w, addrs[i]);
    for (uint32_t i = 0; i < n; i++) row_prefetch(w, hash[i]);
}

/* The flows' sources: the three passes as a pipeline rather than in
 * blocks, each pass HOSTS_AHEAD flows behind the one before it (pass 1 at
 * flow i + 2 HOSTS_AHEAD, pass 2 at i + HOSTS_AHEAD, pass 3 at i).  In
 * blocks, the first slots of a block were read right after their prefetch
 * (64 hashes later, less than a miss takes) and so were its first rows;
 * here every read comes HOSTS_AHEAD flows of all three passes after its
 * prefetch.  Pass 3 still runs in flow order and alone decides. */
#define HOSTS_AHEAD 24
#define HOSTS_RING  64                  /* hashes in flight: more than 2 HOSTS_AHEAD, a power of 2 */
void hf_window_hosts(hf_windows *ws, hf_window *w, const hf_flow *flows, uint32_t n,
                     uint8_t **rows)
{
    uint64_t hash[HOSTS_RING];
    for (uint32_t i = 0; i < n + 2 * HOSTS_AHEAD; i++) {
        if (i < n) hash[i % HOSTS_RING] = slot_prefetch(w, flows[i].src);   /* pass 1: flow i */
        if (i >= HOSTS_AHEAD && i - HOSTS_AHEAD < n)           /* pass 2: flow i - AHEAD */
            row_prefetch(w, hash[(i - HOSTS_AHEAD) % HOSTS_RING]);
        if (i >= 2 * HOSTS_AHEAD) {                            /* pass 3: flow i - 2 AHEAD */
            uint32_t k = i - 2 * HOSTS_AHEAD;
            rows[k] = host_find(ws, w, flows[k].src, flows[k].family, hash[k % HOSTS_RING]);
            /* and the sets the flow will be added to */
            if (rows[k]) hf_state_row_prefetch(&w->layout->fields, rows[k]);
        }
    }
}

/* ------------------------------------------------------------------------
 * Sparse states
 * --------------------------------------------------------------------- */

static inline uint64_t row_key(const hf_window *w, uint32_t row)
{
    return hf_hash_addr(((const hf_host *)(const void *)hf_window_row(w, row))->addr);
}

/* The slot of (key, index) in w's table, or of the empty slot where it goes. */
static hf_sparse *sparse_slot(const hf_window *w, uint64_t key, uint32_t index)
{
    uint32_t j = (uint32_t)(key >> 32 ^ key) * 0x9e3779b1u;
    j = (j ^ index * 0x85ebca6bu) & w->sparse_mask;
    for (;;) {
        hf_sparse *s = &w->sparse[j];
        if (!s->state || (s->key == key && s->index == index)) return s;
        j = (j + 1) & w->sparse_mask;
    }
}

static void sparse_grow(hf_window *w)
{
    hf_sparse *old = w->sparse;
    uint32_t oldn = old ? w->sparse_mask + 1 : 0, n = oldn ? oldn * 2 : 16;
    w->sparse = hf_arena_calloc(w->arena, sizeof(hf_sparse) * n);
    w->sparse_mask = n - 1;
    for (uint32_t i = 0; i < oldn; i++)
        if (old[i].state) *sparse_slot(w, old[i].key, old[i].index) = old[i];
    if (old) hf_arena_release(w->arena, old, sizeof(hf_sparse) * oldn);
}

/* A new state of analysis index for the host (key, row), known absent. */
static uint8_t *sparse_make(hf_windows *ws, hf_window *w, uint64_t key, uint32_t row, int index)
{
    const hf_schema *sc = &w->layout->schemas[index];
    size_t size = (sc->size + 7) & ~(size_t)7;
    if (ws && !hf_pool_fits(ws->pool, size + 2 * sizeof(hf_sparse) * ((size_t)w->sparse_mask + 1))) {
        ws->sparse_refused++;
        return NULL;
    }
    if (!w->sparse || (w->nsparse + 1) * 4 > (w->sparse_mask + 1) * 3) sparse_grow(w);
    hf_sparse *s = sparse_slot(w, key, (uint32_t)index);
    s->key = key;
    s->row = row;
    s->index = (uint32_t)index;
    s->state = hf_arena_alloc(w->arena, size);
    hf_state_init(sc, s->state);
    w->nsparse++;
    return s->state;
}

uint8_t *hf_window_sparse_find(const hf_window *w, uint32_t row, int index)
{
    if (!w->sparse) return NULL;
    return sparse_slot(w, row_key(w, row), (uint32_t)index)->state;
}

uint8_t *hf_window_sparse(hf_windows *ws, hf_window *w, uint32_t row, int index)
{
    return hf_window_sparse_at(ws, w, hf_window_row(w, row), index);
}

uint8_t *hf_window_sparse_at(hf_windows *ws, hf_window *w, const uint8_t *row, int index)
{
    const hf_host *h = (const hf_host *)(const void *)row;
    uint64_t key = hf_hash_addr(h->addr);
    if (w->sparse) {
        hf_sparse *s = sparse_slot(w, key, (uint32_t)index);
        if (s->state) return s->state;
    }
    return sparse_make(ws, w, key, h->row, index);
}

uint8_t *hf_window_sparse_host(hf_windows *ws, hf_window *w, const uint8_t addr[16], uint8_t family,
                               int index, int received)
{
    uint64_t key = hf_hash_addr(addr);
    if (w->sparse) {
        hf_sparse *s = sparse_slot(w, key, (uint32_t)index);
        if (s->state) return s->state;
    }
    hf_host *h = (hf_host *)(void *)(ws ? hf_window_host(ws, w, addr, family) : NULL);
    if (!h) return NULL;
    if (received) h->received = 1;
    else h->sent = 1;
    return sparse_make(ws, w, key, h->row, index);
}

/* ------------------------------------------------------------------------
 * Closing
 * --------------------------------------------------------------------- */

/* Two layouts' analyses are the same when name, id and state agree. */
static int same_analysis(const hf_layout *a, int i, const hf_layout *b, int j)
{
    return a->ids[i] == b->ids[j] && strcmp(a->names[i], b->names[j]) == 0 &&
           a->flags[i] == b->flags[j] && a->window_ms[i] == b->window_ms[j] &&
           a->schemas[i].size == b->schemas[j].size &&
           a->schemas[i].nfields == b->schemas[j].nfields &&
           memcmp(a->schemas[i].fields, b->schemas[j].fields,
                  sizeof(hf_field) * (size_t)a->schemas[i].nfields) == 0;
}

/* The level of granularity g_ms, or -1. */
static int level_of(const hf_windows *ws, int64_t g_ms)
{
    for (int lv = 0; lv < ws->nlevels; lv++)
        if (ws->levels[lv].g_ms == g_ms) return lv;
    return -1;
}

/* Whether analysis a of l has its sparse states carried from the base
 * windows straight to the level it is read at (window.h, "Sparse states"),
 * past the levels between, where nothing reads them. */
static int direct(const hf_windows *ws, const hf_layout *l, int a)
{
    return l->window_ms[a] > ws->levels[0].g_ms && level_of(ws, l->window_ms[a]) > 0;
}

/* The analysis of layout dl that is analysis b of sl, or -1. */
static int mapped(const hf_layout *dl, const hf_layout *sl, int b)
{
    if (dl == sl) return b;
    for (int a = 0; a < dl->n; a++)
        if (same_analysis(dl, a, sl, b)) return a;
    return -1;
}

hf_window *hf_windows_sparse_target(hf_windows *ws, hf_window *w, int *index)
{
    const hf_layout *l = w->layout;
    if (ws && ws->all_in_base) return w;         /* sent on as it is (the partial role) */
    if (ws && l->window_ms[*index] && level_of(ws, l->window_ms[*index]) < 0)
        return NULL;                             /* read at a granularity not configured: never */
    if (!ws || w->level != 0 || !direct(ws, l, *index)) return w;
    int64_t g = l->window_ms[*index];
    hf_window *t = level_window(ws, level_of(ws, g), floor_to(w->start_ms, g));
    int a = mapped(t->layout, l, *index);
    if (a < 0 || !(t->layout->sparse >> a & 1)) return NULL;
    *index = a;
    return t;
}

/* Merge every host of src into dst.  Between layouts, each analysis of
 * dst's takes the same one of src's; one without is left out of the
 * records of src's hosts (see window.h). */
static void window_merge(hf_windows *ws, hf_window *dst, const hf_window *src)
{
    const hf_layout *dl = dst->layout, *sl = src->layout;
    int map[HF_MAX_ANALYSES];
    uint64_t unmapped = 0;
    int same = dl == sl;
    for (int a = 0; a < dl->n; a++) {
        map[a] = same ? a : -1;
        for (int b = 0; !same && b < sl->n; b++)
            if (same_analysis(dl, a, sl, b)) {
                map[a] = b;
                break;
            }
        if (map[a] < 0) unmapped |= 1ULL << a;
    }
    /* src's rows in dst (for its sparse states), UINT32_MAX: refused */
    uint32_t *drow = src->nsparse ? hf_malloc(sizeof(uint32_t) * src->nhosts) : NULL;
    const uint8_t *addrs[LOOKUP_BLOCK];
    uint8_t *rows[LOOKUP_BLOCK];
    uint64_t hash[LOOKUP_BLOCK];
    for (uint32_t b = 0; b < src->nhosts; b += LOOKUP_BLOCK) {
        uint32_t m = src->nhosts - b < LOOKUP_BLOCK ? src->nhosts - b : LOOKUP_BLOCK;
        for (uint32_t i = 0; i < m; i++) addrs[i] = hf_window_row(src, b + i);  /* the host's address first */
        block_prefetch(dst, m, addrs, hash);
        for (uint32_t k = 0; k < m; k++) {
            const hf_host *h = (const hf_host *)addrs[k];
            rows[k] = host_find(ws, dst, h->addr, h->v6 ? HF_AF_INET6 : HF_AF_INET, hash[k]);
            /* the sets both rows hold, for the merges below */
            if (rows[k]) hf_state_row_prefetch(&dl->fields, rows[k]);
            hf_state_row_prefetch(&sl->fields, addrs[k]);
        }
        for (uint32_t k = 0; k < m; k++) {
            uint32_t i = b + k;
            const uint8_t *s = addrs[k];
            const hf_host *h = (const hf_host *)s;
            uint8_t *d = rows[k];
            if (drow) drow[i] = d ? ((const hf_host *)d)->row : UINT32_MAX;
            if (!d) continue;
            ((hf_host *)d)->sent |= h->sent;
            ((hf_host *)d)->received |= h->received;
            if (src->nlogs) {
                const hf_logstate *events = hf_window_logs(src, i);
                if (events)
                    hf_logs_merge(hf_window_logs_make(ws, dst, ((const hf_host *)d)->row), events,
                                  ws->log_messages);
            }
            uint64_t omit = unmapped, so = src->omit_any ? hf_window_omit(src, i) : 0;
            if (same) {
                omit |= so;
            } else if (so) {
                for (int a = 0; a < dl->n; a++)
                    if (map[a] >= 0 && (so >> map[a] & 1)) omit |= 1ULL << a;
            }
            hf_window_omit_set(dst, ((const hf_host *)d)->row, omit);
            if (same) {                          /* the row's fields, sparse states apart */
                hf_state_row_merge(&dl->fields, d, s, dst->arena);
                continue;
            }
            for (int a = 0; a < dl->n; a++)
                if (map[a] >= 0 && !(dl->sparse >> a & 1))
                    hf_state_merge(&dl->schemas[a], d + dl->offsets[a], s + sl->offsets[map[a]],
                                   dst->arena);
        }
    }
    if (!drow) return;
    int inv[HF_MAX_ANALYSES];                  /* src's analysis -> dst's, -1: none */
    for (int b = 0; b < sl->n; b++) inv[b] = -1;
    for (int a = 0; a < dl->n; a++)
        if (map[a] >= 0) inv[map[a]] = a;
    for (uint32_t k = 0; k <= src->sparse_mask; k++) {
        const hf_sparse *sp = &src->sparse[k];
        if (!sp->state || sp->index >= (uint32_t)sl->n) continue;
        int a = inv[sp->index];
        if (a < 0 || drow[sp->row] == UINT32_MAX || !(dl->sparse >> a & 1)) continue;
        if (dl->window_ms[a] && dst->g_ms > dl->window_ms[a]) continue;   /* never read there */
        if (direct(ws, dl, a)) continue;                                   /* kept there, not here */
        uint8_t *d = hf_window_sparse(ws, dst, drow[sp->row], a);
        if (d) hf_state_merge(&dl->schemas[a], d, sp->state, dst->arena);
    }
    hf_free(drow);
}

static void window_free(hf_window *w)
{
    w->layout->windows--;
    hf_arena_free(w->arena);
}

void hf_windows_close(hf_windows *ws, int64_t boundary, hf_emit_fn emit, void *ctx)
{
    /* In the order of their ends, the finer first at one end: the order a
     * watermark moving one base window at a time closes them in, so a jump
     * over many windows (a Kafka batch, the end of the input) writes the
     * same sequence -- an open alert's updates from several granularities
     * among them -- and a coarser window gets its finer ones merged first. */
    for (;;) {
        int lv = -1;
        int64_t end = INT64_MAX;
        for (int k = 0; k < ws->nlevels; k++) {
            const hf_window *o = ws->levels[k].open;
            if (!o) continue;
            int64_t e = o->start_ms + ws->levels[k].g_ms;
            if ((boundary == INT64_MAX || e <= boundary) && (lv < 0 || e < end)) {
                lv = k;
                end = e;
            }
        }
        if (lv < 0) return;
        hf_level *level = &ws->levels[lv];
        hf_window *w = level->open;
        level->open = w->next;
        if (ws->last == w) ws->last = NULL;
        level->last_hosts = w->nhosts;
        if (level->emit && w->nhosts) {
            emit(ctx, w);
            level->closed++;
            level->hosts += w->nhosts;
        }
        for (int k = lv + 1; k < ws->nlevels; k++) {
            if (ws->levels[k].source != lv) continue;
            int64_t start = floor_to(w->start_ms, ws->levels[k].g_ms);
            window_merge(ws, level_window(ws, k, start), w);
        }
        window_free(w);
    }
}

void hf_windows_release(hf_windows *ws)
{
    for (int lv = 0; lv < ws->nlevels; lv++) {
        while (ws->levels[lv].open) {
            hf_window *w = ws->levels[lv].open;
            ws->levels[lv].open = w->next;
            window_free(w);
        }
    }
    ws->last = NULL;
}
