/* window.h -- tumbling event-time windows at several granularities, each a
 * table of hosts with every analysis's state.
 *
 * Flows update only the finest level (the base: the greatest common divisor
 * of the granularities).  When the watermark passes a window's end the
 * window closes: it is emitted if its granularity was asked for, merged into
 * the window of the next coarser level that it divides, and freed.  Coarser
 * windows are therefore merges of finer ones and never see a flow:
 *
 *     base 10s  |w|w|w|w|w|w| ...      flows land here
 *                 \_|_/ \_|_/
 *     30s        | W  | | W  |         each 10s window merges into its 30s one
 *                    \____/
 *     1m           |  W   |            each 30s window into its minute, ...
 *
 * A window's memory (hash table, state rows, sets) is one arena, so closing
 * is one hf_arena_free().  Every state row starts with the host it belongs
 * to (hf_host: its address, its row number and its family, 20 bytes); the
 * analyses' states follow at the offsets of the layout, those made only of
 * 4-byte counts first, so that they fill the 4 bytes after the host before
 * the 8-byte fields' alignment (nine counts cost 36 bytes, not 40):
 *
 *     | hf_host 20 | counts ... | doubles, sets ... (multiples of 8) |
 *
 * Layouts and hot reload
 * ----------------------
 * A layout says which analyses a row holds and where.  A reload makes a new
 * one and switches to it from a time S, a base window boundary later than
 * every flow seen so far (hf_windows_switch).  Each window keeps the layout
 * of its START: windows starting at or after S use the new layout, those
 * starting before it the old one, whenever they are made.  So a coarse window
 * that began before S is laid out for the old analyses while the finer
 * windows merged into it after S are laid out for the new ones:
 *
 *     base 10s   |old|old| new | new | new |     S = start of the 3rd
 *     1m         |          old           |     began before S
 *
 * Merging between two layouts maps an analysis to the one with the same
 * name and the same id (the same loaded version of the same file):
 *   - identical in both: merged as usual (unchanged analyses keep their
 *     state across a reload);
 *   - only in the coarse window's layout (changed, or removed, at S): the
 *     fine window holds nothing for it, so for every host of that fine
 *     window the coarse field would be partial: it is left out (omit bit);
 *   - only in the fine window's layout (changed or added at S): the coarse
 *     window has no place for it; it first appears in records of windows
 *     that start at or after S.
 * No flow is lost or counted twice: each flow updates the analyses of its
 * base window's layout, once.  A layout no window can use any more (every
 * window starting before the next one's S has closed) is retired.
 *
 * Both sides of a flow
 * --------------------
 * An analysis is fed the flows of the host that is their source, or (by =
 * "dst", HF_LAYOUT_BY_DST) of the host that is their destination, or both
 * (by = "both", HF_LAYOUT_BOTH: a flow between two monitored hosts then
 * reaches it twice, once for each, told apart by update()); one row
 * holds a host's states of both kinds, so its record unites them.  The row
 * says which sides it saw (hf_host.sent, .received; merged by OR): an
 * analysis keyed by the side a host never had is left out of its record,
 * so a host that only receives has no record unless an analysis keyed by
 * the destination gives it a field.
 *
 * Sparse states
 * -------------
 * An analysis that looks at a few flows of a few hosts (a detection: the
 * probes of a scan, the logins of a dictionary attack) keeps no bytes in
 * the rows (HF_LAYOUT_SPARSE): its state for a host is made when the first
 * flow it takes arrives, in a table beside the rows, keyed by (host,
 * analysis), open addressing in the window's arena:
 *
 *     sparse  +---------------+-----+-------+-------+-----+
 *             | hash of addr  | row | index | state | ... |    24 bytes a slot, load <= 3/4
 *             +---------------+-----+-------+---|---+-----+
 *                                               +--> the analysis's state (its schema)
 *
 * The host is its address's 64-bit hash, so that a flow for a destination
 * finds its state without its row (hf_window_sparse_host): two hosts of
 * one window share a hash with probability about n^2 / 2^65 (3e-8 for a
 * million hosts).
 *
 * so a host that never feeds it costs nothing, and one that does costs its
 * state and a slot.  Merging carries each sparse state to the coarser
 * window's row of the same host -- up to the granularity the analysis is
 * read at, when it has one (hf_layout_window): a detection that looks at
 * minutes keeps no state in the five-minute windows.  When that granularity
 * is a level of its own, the states are not even kept in the base windows:
 * the flows update them in the window of that level directly
 * (hf_windows_sparse_target), one state per host and minute, merged never.
 *
 * Fields left out
 * ---------------
 * A host's omit bits have bit a set when analysis a of the row's layout
 * must be left out of its record: it raised an error for this host, it was
 * disabled while the host had flows, or (above) its state would be partial.
 * Merging ORs the bits (mapped between layouts); the record writer skips
 * them.  They are rare, so they are not in the row (8 bytes of every host
 * of every window): a window keeps them beside its rows, one array of
 * HF_CHUNK_ROWS per chunk of rows, made when a row of the chunk first gets
 * a bit (hf_window_omit_set), found by the row number in hf_host.
 * hf_window.omit_any is the OR over the window's rows.
 *
 * Log events
 * ----------
 * A host's log events in a window (engine/logs.h) are kept the same way,
 * beside the rows: per chunk of rows an array of pointers, made when a row
 * of the chunk first gets an event, so windows without logs pay nothing.
 * An event of a host with no row yet makes one with neither hf_host.sent
 * nor .received: its record holds stats.logs alone, until a flow of the
 * host comes (a coarser row, its bits ORed, only when no finer row had
 * one). */
#ifndef HF_WINDOW_H
#define HF_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "conf/config.h"
#include "prim/state.h"
#include "stream/flow.h"

#define HF_MAX_ANALYSES 64
#define HF_CHUNK_ROWS   256

#define HF_MAX_ROWS 0x1fffffffu   /* rows in one window: what hf_host.row holds */

typedef struct hf_host {
    uint8_t  addr[16];
    uint32_t row : 29;     /* its number in the window (where its omit bits are) */
    uint32_t v6  : 1;      /* family 6 (HF_AF_INET6), else 4 */
    uint32_t sent : 1;     /* a flow from it reached the analyses keyed by the source */
    uint32_t received : 1; /* a flow to it reached those keyed by the destination */
} hf_host;

/* hf_layout.flags: how an analysis is fed and kept. */
#define HF_LAYOUT_BY_DST 0x01   /* by the flows' destination (by = "dst"), not their source */
#define HF_LAYOUT_SPARSE 0x02   /* its states out of the rows, made by its first flow (when) */
#define HF_LAYOUT_BOTH   0x04   /* by both: the flows a host sends and those it receives */

/* A state kept out of the rows: the host's (its address's 64-bit hash and
 * its row), the analysis index's. */
typedef struct hf_sparse {
    uint64_t key;          /* hf_hash_addr of the host's address */
    uint32_t row;
    uint32_t index;
    uint8_t *state;        /* NULL: an empty slot */
} hf_sparse;

/* Where each analysis's state lies in a row. */
typedef struct hf_layout {
    int       n;
    char     *names[HF_MAX_ANALYSES];
    char     *keys[HF_MAX_ANALYSES];      /* ,"name": as a record writes it (the comma first) */
    uint32_t  key_lens[HF_MAX_ANALYSES];
    uint32_t  ids[HF_MAX_ANALYSES];       /* the loaded version (0: none given) */
    size_t    offsets[HF_MAX_ANALYSES];   /* from the start of the row (final once all are added) */
    hf_schema schemas[HF_MAX_ANALYSES];
    uint8_t   flags[HF_MAX_ANALYSES];     /* HF_LAYOUT_* */
    uint64_t  by_dst;                     /* bits of the analyses with HF_LAYOUT_BY_DST */
    uint64_t  sparse;                     /* ... with HF_LAYOUT_SPARSE */
    uint64_t  both;                       /* ... with HF_LAYOUT_BOTH */
    int64_t   window_ms[HF_MAX_ANALYSES]; /* the one granularity it is read at (0: every one) */
    size_t    row_size;                   /* a multiple of 8 */
    uint8_t  *init;                       /* a new row: every state initialised (the host zero) */
    hf_state_row fields;                  /* every state's fields, in runs: merges of rows */
    /* set by hf_windows_init / hf_windows_switch */
    uint32_t  gen;                        /* generation, the caller's number */
    int64_t   from_ms;                    /* windows starting at or after this use it */
    uint32_t  windows;                    /* open windows laid out by it */
    struct hf_layout *older;              /* the layout before it, or NULL */
} hf_layout;

typedef struct hf_window {
    int64_t   start_ms;
    int64_t   g_ms;
    int       level;
    hf_arena *arena;
    uint32_t  nhosts;
    uint32_t  mask;        /* table slots - 1 */
    uint32_t *table;       /* row index + 1, 0 when empty */
    uint8_t **chunks;      /* rows, HF_CHUNK_ROWS per chunk */
    uint32_t  nchunks;
    size_t    row_size;
    struct hf_window *next;
    hf_layout *layout;     /* the layout of the window's start */
    uint64_t  omit_any;    /* OR of the rows' omit bits */
    hf_sparse *sparse;     /* the sparse states: open addressing, sparse_mask + 1 slots, or NULL */
    uint32_t  sparse_mask;
    uint32_t  nsparse;
    uint64_t **omit;       /* per chunk: its rows' omit bits, or NULL (none set) */
    uint32_t  omit_chunks; /* entries in omit (NULL until a bit is set) */
    void   ***logs;        /* per chunk: its rows' log states (engine/logs.h), or NULL */
    uint32_t  logs_chunks; /* entries in logs (NULL until a row has one) */
    uint32_t  nlogs;       /* rows with a log state */
} hf_window;

typedef struct hf_level {
    int64_t    g_ms;
    int        emit;       /* a granularity that was asked for */
    int        source;     /* the level merged into this one, -1 for the base */
    hf_window *open;       /* open windows, by start */
    uint64_t   closed;     /* windows closed */
    uint64_t   hosts;      /* host rows emitted */
    uint32_t   last_hosts; /* hosts of the window closed last: a new one's table is made for as many */
} hf_level;

typedef struct hf_windows {
    hf_level         levels[HF_MAX_WINDOWS + 1];
    int              nlevels;
    hf_layout       *layout;        /* the newest; older ones through ->older */
    hf_pool         *pool;
    hf_window       *last;          /* the base window found last */
    uint64_t         hosts_refused; /* new hosts refused: memory limit */
    int              log_messages;  /* messages a log state keeps (logs.messages) */
    uint64_t         sparse_refused;/* new sparse states refused: memory limit */
    int              all_in_base;   /* the partial role: every sparse state stays in its base
                                       window (a merge instance carries it where it is read) */
} hf_windows;

typedef void (*hf_emit_fn)(void *ctx, hf_window *w);

/* Layout. */
void hf_layout_init(hf_layout *l);
/* Append an analysis's state (size bytes, with its schema, copied).
 * Returns its index, or -1 when full or a field lies outside the state.
 * Adding a state may move the others: their offsets (l->offsets,
 * hf_layout_offset) are final once every state is added. */
long hf_layout_add(hf_layout *l, const char *name, size_t size,
                   const hf_field *fields, int nfields);
/* The same, with the id of the loaded version (see "Layouts" above). */
long hf_layout_add_id(hf_layout *l, const char *name, uint32_t id, size_t size,
                      const hf_field *fields, int nfields);
/* Set how analysis i is fed (HF_LAYOUT_* flags). */
void hf_layout_flags(hf_layout *l, int i, unsigned flags);
/* Analysis i is read only in windows of g_ms (its `window` parameter): its
 * sparse states are not merged into coarser windows. */
void hf_layout_window(hf_layout *l, int i, int64_t g_ms);
void hf_layout_release(hf_layout *l);
/* The offset of state i from the row start (for the Lua side). */
size_t hf_layout_offset(const hf_layout *l, int i);

/* The finest level of the granularities (ms): their greatest common divisor. */
int64_t hf_windows_gcd(const int64_t *g_ms, int n);

/* Levels for the given granularities (ascending, ms); every window is laid
 * out by layout until a switch. */
void hf_windows_init(hf_windows *ws, const int64_t *g_ms, int n,
                     hf_layout *layout, hf_pool *pool);
/* Windows starting at or after from_ms (a base window boundary; INT64_MIN:
 * every window made from now on) are laid out by l from now on.  Windows
 * already open keep theirs.  l stays the caller's to free once retired. */
void hf_windows_switch(hf_windows *ws, hf_layout *l, int64_t from_ms);
/* After closing up to boundary: an older layout that no window can use any
 * more (none open, and every window starting before its successor's from_ms
 * has ended by boundary), unlinked; NULL when there is none.  Call until
 * NULL; the oldest comes first. */
hf_layout *hf_windows_retire(hf_windows *ws, int64_t boundary);
void hf_windows_release(hf_windows *ws);
int64_t hf_windows_base_ms(const hf_windows *ws);

/* The base window that holds time t (ms), created when new. */
hf_window *hf_windows_base(hf_windows *ws, int64_t t);
/* The state row of a host in w, created (and initialised) when new.
 * NULL when the host is new and the memory limit is reached (counted). */
uint8_t *hf_window_host(hf_windows *ws, hf_window *w, const uint8_t addr[16], uint8_t family);
/* The rows of the sources of flows[0..n) in w, made when new, into
 * rows[0..n): what n calls of hf_window_host give, in that order (rows[i]
 * NULL when refused), with the cache misses of a block overlapped
 * (window.c, "Many hosts at once"). */
void hf_window_hosts(hf_windows *ws, hf_window *w, const hf_flow *flows, uint32_t n,
                     uint8_t **rows);
/* The state of analysis index (a sparse one) for the host of row in w,
 * made (initialised) when new; NULL when new and the memory limit is
 * reached (counted; ws may be NULL: no limit). */
uint8_t *hf_window_sparse(hf_windows *ws, hf_window *w, uint32_t row, int index);
/* The same for the row at row (a pointer to it: its address is there). */
uint8_t *hf_window_sparse_at(hf_windows *ws, hf_window *w, const uint8_t *row, int index);
/* The same, never made: NULL when the host has none. */
uint8_t *hf_window_sparse_find(const hf_window *w, uint32_t row, int index);
/* The state of analysis index for host addr: found by the address alone;
 * when new, the host's row is found or made first (marked received, or
 * sent).  NULL over the memory limit. */
uint8_t *hf_window_sparse_host(hf_windows *ws, hf_window *w, const uint8_t addr[16], uint8_t family,
                               int index, int received);
/* The window that holds the sparse states of analysis *index of base
 * window w: w itself, or, for an analysis read at a coarser level only, the
 * window of that level which w merges into (*index then that window's
 * index of the analysis), so that its flows update it there directly and
 * nothing is merged.  NULL when that window has no such analysis, or the
 * analysis is read at a granularity that is not configured (it keeps no
 * state: nothing would read it). */
hf_window *hf_windows_sparse_target(hf_windows *ws, hf_window *w, int *index);
/* Row i (0 <= i < nhosts) of w. */
inline uint8_t *hf_window_row(const hf_window *w, uint32_t i)
{
    return w->chunks[i / HF_CHUNK_ROWS] + (size_t)(i % HF_CHUNK_ROWS) * w->row_size;
}
/* The omit bits of row i of w (see "Fields left out"). */
uint64_t hf_window_omit(const hf_window *w, uint32_t i);
/* Set bits among the omit bits of row i of w (and in w->omit_any). */
void hf_window_omit_set(hf_window *w, uint32_t i, uint64_t bits);
/* The log state of row i of w (engine/logs.h), or NULL. */
struct hf_logstate *hf_window_logs(const hf_window *w, uint32_t i);
/* ... made (empty, for ws->log_messages messages) when it has none. */
struct hf_logstate *hf_window_logs_make(hf_windows *ws, hf_window *w, uint32_t i);

/* Close every window that ends at or before boundary (every one with
 * INT64_MAX), in the order of their ends, the finer first at one end:
 * emit(ctx, w) for asked-for granularities, merge into coarser (mapping
 * analyses between layouts, see above), free. */
void hf_windows_close(hf_windows *ws, int64_t boundary, hf_emit_fn emit, void *ctx);

#endif
