/* worker_partial.c -- a worker's side of the partial and merge roles: its
 * windows leave as partial windows, or come in as them (see wire.h for the
 * message, README "Several instances" for the roles).
 *
 *   partial:  flows ─▶ base windows ─▶ per host: its sides (sent, received)
 *             and every analysis's state, serialised (prim/state.h): those
 *             kept in the row, and the sparse ones it has ─▶ one message
 *             keyed by the host
 *   merge:    messages ─▶ each state read and merged where a single
 *             instance would have made it ─▶ coarser windows, results,
 *             records as ever
 *
 * A partial instance keeps only the finest granularity, and every sparse
 * state in its base window (hf_windows.all_in_base), even one read only at
 * a coarser granularity: the merge builds the coarser windows from base
 * windows exactly as a single instance does, and carries each sparse state
 * to the window it is read in (hf_windows_sparse_target), so a host's
 * records come out of the same merges.  States are matched by analysis
 * name and must read with the merge's own schema; one the partial left out
 * for the host (an error, a disabled analysis), or that does not read, is
 * left out of that host's record (its omit bit), never half counted.
 * Partial and merge instances run the same analyses (one configuration):
 * a state of an analysis the merge does not have is passed over. */
#include <string.h>

#include "base/addr.h"
#include "base/arena.h"
#include "engine/worker_impl.h"
#include "prim/state.h"
#include "stream/wire.h"

/* ------------------------------------------------------------------------
 * The partial role: a closing base window, as messages
 * --------------------------------------------------------------------- */

/* One state into the message: serialised through w->ser. */
static void put_state(hf_worker *w, hf_buf *b, const hf_layout *l, int a, const uint8_t *st)
{
    size_t need = hf_state_serialize(&l->schemas[a], st, NULL, 0);
    hf_buf_reserve(&w->ser, need);
    hf_state_serialize(&l->schemas[a], st, (uint8_t *)w->ser.data, need);
    hf_wire_partial_state(b, l->names[a], 0, (const uint8_t *)w->ser.data, need);
}

void hf_worker_emit_partials(hf_worker *w, hf_window *win)
{
    const hf_layout *l = win->layout;
    hf_record_batch *rb = &w->out;
    hf_buf *b = &rb->text;
    char addr[HF_ADDR_STRLEN];
    for (uint32_t i = 0; i < win->nhosts; i++) {
        const uint8_t *row = hf_window_row(win, i);
        const hf_host *h = (const hf_host *)(const void *)row;
        uint8_t family = h->v6 ? HF_AF_INET6 : HF_AF_INET;
        uint64_t omit = win->omit_any ? hf_window_omit(win, i) : 0;
        size_t alen = hf_addr_format(h->addr, family, addr);
        size_t key = b->len;
        hf_buf_put(b, addr, alen);                 /* the message key, before the message */
        hf_record_begin(rb, HF_RECORD_PARTIAL, win->start_ms);
        hf_record_key(rb, key, alen);
        size_t start = b->len;
        size_t count = hf_wire_partial_begin(b, h->addr, family, h->sent, h->received,
                                             win->start_ms, win->g_ms, 0);
        int n = 0;
        for (int a = 0; a < l->n; a++) {
            const uint8_t *st = l->sparse >> a & 1 ? (win->sparse ? hf_window_sparse_find(win, i, a) : NULL)
                                                   : row + l->offsets[a];
            if (omit >> a & 1) {
                hf_wire_partial_state(b, l->names[a], 1, NULL, 0);
                n++;
            } else if (st) {                       /* a sparse one only when the host has it */
                put_state(w, b, l, a, st);
                n++;
            }
        }
        hf_wire_partial_count(b, count, n);
        w->partial_bytes += b->len - start;
        hf_record_end(rb);
        if (b->len >= (1 << 20) || i + 1 == win->nhosts) hf_worker_write(w, &w->out);
    }
    w->records += win->nhosts;
}

/* ------------------------------------------------------------------------
 * The merge role: partial windows into rows
 * --------------------------------------------------------------------- */

/* The analysis of layout l called like state s, or -1. */
static int analysis_named(const hf_layout *l, const hf_wire_state *s, int at)
{
    if (at < l->n && strlen(l->names[at]) == s->name_len && !memcmp(l->names[at], s->name, s->name_len))
        return at;
    for (int a = 0; a < l->n; a++)
        if (strlen(l->names[a]) == s->name_len && !memcmp(l->names[a], s->name, s->name_len)) return a;
    return -1;
}

/* Merge serialised state bytes into dst (analysis a's schema, dst's arena
 * a).  0, or -1 when they do not read (dst unchanged). */
static int merge_bytes(hf_worker *w, const hf_schema *sc, uint8_t *dst, const hf_wire_state *s, hf_arena *a)
{
    hf_arena *tmp = hf_arena_new(w->pool);
    uint8_t *st = hf_arena_alloc(tmp, sc->size ? sc->size : 8);
    int ok = hf_state_deserialize(sc, st, s->bytes, s->len, tmp) == (long)s->len;
    if (ok) hf_state_merge(sc, dst, st, a);
    hf_arena_free(tmp);
    return ok ? 0 : -1;
}

/* Merge one partial window into its host's row of its base window, and its
 * sparse states where they are read. */
static void merge_one(hf_worker *w, const hf_wire_partial *p)
{
    hf_window *win = hf_windows_base(&w->windows, p->start_ms);
    uint32_t before = win->nhosts;
    uint8_t *row = hf_window_host(&w->windows, win, p->addr, p->family);
    if (!row) return;                              /* memory: refused and counted */
    hf_host *h = (hf_host *)(void *)row;
    h->sent |= p->sent;
    h->received |= p->received;
    int fresh = win->nhosts > before;
    const hf_layout *l = win->layout;
    uint64_t omit = 0;
    for (int i = 0; i < p->n; i++) {
        const hf_wire_state *s = &p->states[i];
        int a = analysis_named(l, s, i);
        if (a < 0) continue;                       /* not one of this instance's analyses */
        if (s->omitted) {
            omit |= 1ULL << a;
            continue;
        }
        const hf_schema *sc = &l->schemas[a];
        if (!(l->sparse >> a & 1)) {
            uint8_t *dst = row + l->offsets[a];
            if (fresh) {                           /* the host's first: read it in place */
                if (hf_state_deserialize(sc, dst, s->bytes, s->len, win->arena) != (long)s->len)
                    omit |= 1ULL << a;
            } else if (merge_bytes(w, sc, dst, s, win->arena) < 0) {
                omit |= 1ULL << a;
            }
            continue;
        }
        /* a sparse state: in this base window, or in the coarser one where
         * it is read (as a flow would have put it), or nowhere (read at a
         * granularity this instance does not make) */
        int idx = a;
        hf_window *t = hf_windows_sparse_target(&w->windows, win, &idx);
        if (!t) continue;
        uint8_t *trow = row;
        if (t != win) {                            /* the host's row there: the sides it had */
            hf_host *th = (hf_host *)(void *)hf_window_host(&w->windows, t, p->addr, p->family);
            if (!th) continue;
            th->sent |= p->sent;
            th->received |= p->received;
            trow = (uint8_t *)th;
        }
        uint8_t *dst = hf_window_sparse_at(&w->windows, t, trow, idx);
        if (dst && merge_bytes(w, &t->layout->schemas[idx], dst, s, t->arena) < 0 && t == win)
            omit |= 1ULL << a;
    }
    if (omit) hf_window_omit_set(win, h->row, omit);
    w->partials++;
}

void hf_worker_merge_partials(hf_worker *w, const hf_batch *b)
{
    const uint8_t *p = b->partials, *end = p + b->partials_len;
    hf_wire_partial hp;
    while (p + 4 <= end) {
        uint32_t len;
        memcpy(&len, p, 4);
        p += 4;
        if (hf_wire_partial_parse(p, len, &hp) == 0) merge_one(w, &hp);
        p += len;
    }
}
