/* worker_partial.c -- a worker's side of the partial and merge roles: its
 * windows leave as partial windows, or come in as them (see wire.h for the
 * message, README "Several instances" for the roles).
 *
 *   partial:  flows ─▶ base windows ─▶ per host: every analysis's state,
 *             serialised (prim/state.h) ─▶ one message keyed by the host
 *   merge:    messages ─▶ each state read and merged into the host's row of
 *             its base window ─▶ coarser windows, results, records as ever
 *
 * A partial instance keeps only the finest granularity: the merge builds
 * the coarser windows from base windows exactly as a single instance does,
 * so a host's records come out of the same merges.  States are matched by
 * analysis name and must read with the merge's own schema; an analysis the
 * partial left out for the host (an error, a disabled analysis), did not
 * have, or sent in a form that does not read, is left out of that host's
 * record (its omit bit), never half counted. */
#include <string.h>

#include "base/addr.h"
#include "base/arena.h"
#include "engine/worker_impl.h"
#include "prim/state.h"
#include "stream/wire.h"

/* ------------------------------------------------------------------------
 * The partial role: a closing base window, as messages
 * --------------------------------------------------------------------- */

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
        hf_wire_partial_begin(b, h->addr, family, win->start_ms, win->g_ms, l->n);
        for (int a = 0; a < l->n; a++) {
            if (omit >> a & 1) {
                hf_wire_partial_state(b, l->names[a], 1, NULL, 0);
                continue;
            }
            const uint8_t *st = row + l->offsets[a];
            size_t need = hf_state_serialize(&l->schemas[a], st, NULL, 0);
            hf_buf_reserve(&w->ser, need);
            hf_state_serialize(&l->schemas[a], st, (uint8_t *)w->ser.data, need);
            hf_wire_partial_state(b, l->names[a], 0, (const uint8_t *)w->ser.data, need);
        }
        w->partial_bytes += b->len - start;
        hf_record_end(rb);
        if (b->len >= (1 << 20) || i + 1 == win->nhosts) hf_worker_write_batch(w);
    }
    w->records += win->nhosts;
}

/* ------------------------------------------------------------------------
 * The merge role: partial windows into rows
 * --------------------------------------------------------------------- */

/* The state of the analysis called name in a partial: first where the
 * same layout would have it (at), else anywhere; NULL when it has none. */
static const hf_wire_state *state_named(const hf_wire_partial *p, const char *name, int at)
{
    size_t n = strlen(name);
    if (at < p->n && p->states[at].name_len == n && !memcmp(p->states[at].name, name, n))
        return &p->states[at];
    for (int i = 0; i < p->n; i++)
        if (p->states[i].name_len == n && !memcmp(p->states[i].name, name, n)) return &p->states[i];
    return NULL;
}

/* Merge one partial window into its host's row of its base window. */
static void merge_one(hf_worker *w, const hf_wire_partial *p)
{
    hf_window *win = hf_windows_base(&w->windows, p->start_ms);
    uint32_t before = win->nhosts;
    uint8_t *row = hf_window_host(&w->windows, win, p->addr, p->family);
    if (!row) return;                              /* memory: refused and counted */
    int fresh = win->nhosts > before;
    const hf_layout *l = win->layout;
    uint64_t omit = 0;
    for (int a = 0; a < l->n; a++) {
        const hf_wire_state *s = state_named(p, l->names[a], a);
        if (!s || s->omitted) {
            omit |= 1ULL << a;
            continue;
        }
        const hf_schema *sc = &l->schemas[a];
        uint8_t *dst = row + l->offsets[a];
        if (fresh) {                               /* the host's first: read it in place */
            if (hf_state_deserialize(sc, dst, s->bytes, s->len, win->arena) != (long)s->len)
                omit |= 1ULL << a;
            continue;
        }
        hf_arena *tmp = hf_arena_new(w->pool);
        uint8_t *st = hf_arena_alloc(tmp, sc->size ? sc->size : 8);
        if (hf_state_deserialize(sc, st, s->bytes, s->len, tmp) == (long)s->len)
            hf_state_merge(sc, dst, st, win->arena);
        else
            omit |= 1ULL << a;
        hf_arena_free(tmp);
    }
    if (omit) hf_window_omit_set(win, ((const hf_host *)(const void *)row)->row, omit);
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
