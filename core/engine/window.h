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
 * An event of a host with no row yet makes one, marked noflow: its record
 * holds stats.logs alone, until a flow of the host comes (a coarser row is
 * noflow only when every finer row merged into it is). */
#ifndef HF_WINDOW_H
#define HF_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "conf/config.h"
#include "prim/state.h"

#define HF_MAX_ANALYSES 64
#define HF_CHUNK_ROWS   256

#define HF_MAX_ROWS 0x3fffffffu   /* rows in one window: what hf_host.row holds */

typedef struct hf_host {
    uint8_t  addr[16];
    uint32_t row    : 30;  /* its number in the window (where its omit bits are) */
    uint32_t noflow : 1;   /* made for a log event, no flow since: its record has stats.logs only */
    uint32_t v6     : 1;   /* family 6 (HF_AF_INET6), else 4 */
} hf_host;

/* Where each analysis's state lies in a row. */
typedef struct hf_layout {
    int       n;
    char     *names[HF_MAX_ANALYSES];
    uint32_t  ids[HF_MAX_ANALYSES];       /* the loaded version (0: none given) */
    size_t    offsets[HF_MAX_ANALYSES];   /* from the start of the row (final once all are added) */
    hf_schema schemas[HF_MAX_ANALYSES];
    size_t    row_size;                   /* a multiple of 8 */
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
} hf_level;

typedef struct hf_windows {
    hf_level         levels[HF_MAX_WINDOWS + 1];
    int              nlevels;
    hf_layout       *layout;        /* the newest; older ones through ->older */
    hf_pool         *pool;
    hf_window       *last;          /* the base window found last */
    uint64_t         hosts_refused; /* new hosts refused: memory limit */
    int              log_messages;  /* messages a log state keeps (logs.messages) */
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
/* Row i (0 <= i < nhosts) of w. */
uint8_t *hf_window_row(const hf_window *w, uint32_t i);
/* The omit bits of row i of w (see "Fields left out"). */
uint64_t hf_window_omit(const hf_window *w, uint32_t i);
/* Set bits among the omit bits of row i of w (and in w->omit_any). */
void hf_window_omit_set(hf_window *w, uint32_t i, uint64_t bits);
/* The log state of row i of w (engine/logs.h), or NULL. */
struct hf_logstate *hf_window_logs(const hf_window *w, uint32_t i);
/* ... made (empty, for ws->log_messages messages) when it has none. */
struct hf_logstate *hf_window_logs_make(hf_windows *ws, hf_window *w, uint32_t i);

/* Close every window that ends at or before boundary, finest level first:
 * emit(ctx, w) for asked-for granularities, merge into coarser (mapping
 * analyses between layouts, see above), free. */
void hf_windows_close(hf_windows *ws, int64_t boundary, hf_emit_fn emit, void *ctx);

#endif
