/* worker.c -- a worker: queue in, LuaJIT analyses over host windows, records
 * out (see worker.h).  This file is the thread, its queue, the processing
 * of batches and the records; worker_lua.c is the worker's Lua state.
 *
 * The C side owns everything stateful: the windows and their rows, the
 * batches, the output buffer.  The Lua side (lua/hostflow/runtime/) owns
 * the analyses and is called twice: process() for the flows of one base
 * window, and emit() for the hosts of a closing window, where each analysis
 * encodes its results as JSON fragments that the C side then stitches into
 * one record per host.  A third function, control(), checks and commits
 * reloads (reload.h) and retires the analyses of layouts no window uses. */
#include "engine/worker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "engine/alerts.h"
#include "engine/logs.h"
#include "engine/profile.h"
#include "engine/worker_impl.h"

#include <lua.h>

/* ------------------------------------------------------------------------
 * Records
 * --------------------------------------------------------------------- */

/* The closing window as the Lua side sees it: its rows and omit bits as
 * arrays (job.win). */
static void window_view(hf_worker *w, hf_window *win)
{
    uint32_t n = win->nhosts;
    if (n > w->view_cap) {
        w->view_cap = n < 1024 ? 1024 : n;
        while (w->view_cap < n) w->view_cap *= 2;
        w->view_rows = hf_realloc(w->view_rows, sizeof(uint8_t *) * w->view_cap);
        w->view_omit = hf_realloc(w->view_omit, sizeof(uint64_t) * w->view_cap);
    }
    /* the analyses keyed by a side a host never had are left out of its
     * record, as its omit bits leave out the others; a host with neither
     * (made for its log events) has every analysis left out */
    const hf_layout *l = win->layout;
    uint64_t all = l->n >= 64 ? ~0ULL : (1ULL << l->n) - 1, by_src = all & ~l->by_dst & ~l->both;
    uint64_t omit_any = win->omit_any;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *row = w->view_rows[i] = hf_window_row(win, i);
        const hf_host *h = (const hf_host *)(const void *)row;
        uint64_t side = !h->sent && !h->received ? all
                      : (h->sent ? 0 : by_src) | (h->received ? 0 : l->by_dst);
        w->view_omit[i] = side;
        omit_any |= side;
    }
    if (win->omit_any)
        for (uint32_t i = 0; i < n; i++) w->view_omit[i] |= hf_window_omit(win, i);
    hf_lua_window *v = &w->job.win;
    v->rows = w->view_rows;
    v->omit = omit_any ? w->view_omit : NULL;
    v->omit_any = omit_any;
    v->n = n;
    v->gen = (int)win->layout->gen;
    v->start_ms = win->start_ms;
    v->g_ms = win->g_ms;
    v->frags = w->frags;
    v->sparse = win->sparse;
    v->sparse_slots = win->sparse ? win->sparse_mask + 1 : 0;
    w->job.window = win;
}

static void frags_reserve(hf_worker *w, const hf_layout *l, uint32_t nhosts)
{
    for (int a = 0; a < l->n; a++) {
        hf_fragments *f = &w->frags[a];
        f->buf.len = 0;
        if (f->cap >= nhosts) continue;
        uint32_t cap = f->cap ? f->cap : 1024;
        while (cap < nhosts) cap *= 2;
        f->off = hf_realloc(f->off, sizeof(uint32_t) * cap);
        f->len = hf_realloc(f->len, sizeof(uint32_t) * cap);
        f->cap = cap;
    }
}

/* A window closes: let the analyses encode their results, then write one
 * record per host. */
/* The stats.logs text of every host of win that had events, into the
 * worker's logs fragments (job.logs_frags: the records and the profiles
 * read it); none when the window had no event. */
static void logs_fragments(hf_worker *w, hf_window *win)
{
    w->job.logs_frags = NULL;
    if (!win->nlogs) return;
    hf_fragments *f = &w->logs_frags;
    f->buf.len = 0;
    if (f->cap < win->nhosts) {
        uint32_t cap = f->cap ? f->cap : 1024;
        while (cap < win->nhosts) cap *= 2;
        f->off = hf_realloc(f->off, sizeof(uint32_t) * cap);
        f->len = hf_realloc(f->len, sizeof(uint32_t) * cap);
        f->cap = cap;
    }
    for (uint32_t i = 0; i < win->nhosts; i++) {
        const hf_logstate *s = hf_window_logs(win, i);
        f->off[i] = (uint32_t)f->buf.len;
        if (s) hf_logs_json(s, &f->buf);
        f->len[i] = (uint32_t)(f->buf.len - f->off[i]);
    }
    w->job.logs_frags = f;
}

static void emit_window(void *ctx, hf_window *win)
{
    hf_worker *w = ctx;
    if (w->cfg->role == HF_ROLE_PARTIAL) {        /* states leave, results are the merge's */
        hf_worker_emit_partials(w, win);
        return;
    }
    const hf_layout *l = win->layout;
    frags_reserve(w, l, win->nhosts);
    window_view(w, win);
    logs_fragments(w, win);
    int64_t end = win->start_ms + win->g_ms;
    if (end > w->clock_ms) w->clock_ms = end;
    hf_alerts_expire(w->alerts, end);
    hf_worker_lua_call(w, w->ref_emit, "emit");
    w->job.window = NULL;

    hf_record_batch *rb = &w->out;
    hf_buf *b = &rb->text;
    uint64_t written = 0;
    int flags = hf_alerts_any(w->alerts);
    for (uint32_t i = 0; i < win->nhosts; i++) {
        const hf_host *h = (const hf_host *)hf_window_row(win, i);
        uint64_t omit = w->job.win.omit ? w->view_omit[i] : 0;
        int flagged = 0;
        if (flags) {            /* "alert":[...] for a host with an open alert */
            hf_record_host_begin(rb, win, h);
            flagged = hf_alerts_flag(w->alerts, h->addr, win->start_ms, end, b);
            hf_record_host_stats(rb);
        } else {
            hf_record_host_head(rb, win, h);
        }
        int first = 1;
        for (int a = 0; a < l->n; a++) {
            const hf_fragments *f = &w->frags[a];
            if (!f->len[i] || (omit >> a & 1)) continue;      /* none, or left out */
            hf_buf_put(b, l->keys[a] + first, l->key_lens[a] - (uint32_t)first);  /* ,"name": */
            first = 0;
            hf_buf_put(b, f->buf.data + f->off[i], f->len[i]);
        }
        if (w->job.logs_frags && w->logs_frags.len[i]) {    /* stats.logs, after the analyses' */
            hf_buf_puts(b, first ? "\"logs\":" : ",\"logs\":");
            hf_buf_put(b, w->logs_frags.buf.data + w->logs_frags.off[i], w->logs_frags.len[i]);
            first = 0;
        }
        if (first && !h->sent && !flagged) {    /* it only received, and nothing is said of it */
            hf_record_cancel(rb);
        } else {
            hf_buf_puts(b, "}}");
            hf_record_end(rb);
            written++;
        }
        if (b->len >= (1 << 20) || i + 1 == win->nhosts) hf_worker_write(w, &w->out);
    }
    w->records += written;
    if (w->alerts_out.n) {      /* the window's alerts and profiles, after its host records */
        w->records += w->alerts_out.n;
        hf_worker_write(w, &w->alerts_out);
    }
}

/* ------------------------------------------------------------------------
 * Processing
 * --------------------------------------------------------------------- */

static int64_t floor_to(int64_t t, int64_t g)
{
    int64_t q = t / g;
    if (t % g < 0) q--;
    return q * g;
}

/* Hand the flows of base window `start` (those not done yet) to Lua. */
static void process_group(hf_worker *w, hf_batch *b, int first, int64_t start)
{
    int64_t g = hf_windows_base_ms(&w->windows);
    hf_window *win = hf_windows_base(&w->windows, start);
    hf_arena_set_current(win->arena);
    const hf_layout *l = win->layout;
    int want_dst = (l->by_dst | l->both) != 0, lazy_dst = ((l->by_dst | l->both) & ~l->sparse) == 0;
    int eager_dst = want_dst && !lazy_dst;       /* destinations' rows made in the loop */
    int n = 0, nd = 0;
    for (int i = first; i < b->n; i++) {
        if (w->done[i]) continue;
        const hf_flow *f = &b->flows[i];
        if (floor_to((int64_t)f->end_ms, g) != start) continue;
        w->done[i] = 1;
        if (!(f->mark & HF_FLOW_NO_SRC)) {
            if (!eager_dst) {
                w->group_flows[n++] = *f;            /* its row: below, with the others' */
            } else {
                uint8_t *row = hf_window_host(&w->windows, win, f->src, f->family);
                if (row) {
                    /* the analyses will visit every part of the row: start
                     * fetching it now, while the rest of the batch is sorted out */
                    for (size_t o = 64; o < win->row_size; o += 64) __builtin_prefetch(row + o, 1, 3);
                    ((hf_host *)(void *)row)->sent = 1;
                    w->group_flows[n] = *f;
                    w->group_rows[n] = row;
                    n++;
                }
            }
        }
        if ((f->mark & HF_FLOW_DST) && want_dst) {
            /* only sparse analyses take them: the row is found when one does */
            uint8_t *row = lazy_dst ? NULL : hf_window_host(&w->windows, win, f->dst, f->family);
            if (row || lazy_dst) {
                if (row) ((hf_host *)(void *)row)->received = 1;
                w->dst_flows[nd] = *f;
                w->dst_rows[nd] = row;
                nd++;
            }
        }
    }
    if (!eager_dst) {
        /* the sources' rows, looked up together (window.c, "Many hosts at
         * once"), which also fetches every part of each row the analyses
         * will visit; the flows of hosts refused (the memory limit) go.  (A
         * destination's row made in the loop above would come between
         * them: then each is looked up in turn, so that rows keep the
         * order of the flows.) */
        hf_window_hosts(&w->windows, win, w->group_flows, (uint32_t)n, w->group_rows);
        int kept = 0;
        for (int i = 0; i < n; i++) {
            if (!w->group_rows[i]) continue;
            ((hf_host *)(void *)w->group_rows[i])->sent = 1;
            if (kept != i) {
                w->group_flows[kept] = w->group_flows[i];
                w->group_rows[kept] = w->group_rows[i];
            }
            kept++;
        }
        n = kept;
    }
    if (n == 0 && nd == 0) return;
    hf_lua_batch *v = &w->job.batch;
    v->flows = w->group_flows;
    v->rows = w->group_rows;
    v->n = n;
    v->dst_flows = w->dst_flows;
    v->dst_rows = w->dst_rows;
    v->dst_n = nd;
    v->gen = (int)win->layout->gen;
    v->start_ms = start;
    v->g_ms = g;
    v->not_run = 0;
    w->job.window = win;
    hf_worker_lua_call(w, w->ref_process, "process");
    if (v->not_run) {                 /* analyses not run: their fields are partial */
        for (int i = 0; i < n; i++)
            hf_window_omit_set(win, ((const hf_host *)w->group_rows[i])->row, v->not_run);
        for (int i = 0; i < nd; i++)
            if (w->dst_rows[i]) hf_window_omit_set(win, ((const hf_host *)w->dst_rows[i])->row, v->not_run);
    }
    w->job.window = NULL;
    w->job.sparse_from = NULL;        /* its cache lives for one group: windows close after */
    v->n = v->dst_n = 0;
    w->flows += (uint64_t)n;
}

/* The log events of a batch into their hosts' rows of their base windows
 * (a row made for a host with no flow there yet: neither sent nor received,
 * so that its record says only its stats.logs, window_view). */
static void process_events(hf_worker *w, hf_batch *b)
{
    int64_t g = hf_windows_base_ms(&w->windows);
    for (int i = 0; i < b->nevents; i++) {
        const hf_event *e = &b->events[i];
        hf_window *win = hf_windows_base(&w->windows, floor_to((int64_t)e->time_ms, g));
        hf_arena_set_current(win->arena);
        hf_host *h = (hf_host *)(void *)hf_window_host(&w->windows, win, e->host, e->family);
        if (!h) continue;                                  /* refused: memory (counted) */
        hf_logs_add(hf_window_logs_make(&w->windows, win, h->row), w->windows.log_messages, e,
                    w->log_seq++);
        w->events++;
    }
}

static void publish_stats(hf_worker *w);

void hf_worker_process(hf_worker *w, hf_batch *b)
{
    if (w->changelog) hf_worker_take_changelog(w);   /* before any flow of the assignment */
    if (b->discard) {                 /* the input gave its partitions up: rebuilt elsewhere */
        hf_worker_profiles_aside(w);
        hf_windows_release(&w->windows);
        w->closed_until = INT64_MIN;
        w->discards++;
    }
    if (!w->job.shared) {              /* a worker nobody shared out: it has every host */
        w->job.shared = 1;
        hf_worker_profiles_ready(&w->job);
    }
    if (b->control) {
        hf_worker_apply_commit(w, b->control, b->control_from);
        hf_plan_release(b->control);
        b->control = NULL;
    }
    if (b->npartials) hf_worker_merge_partials(w, b);
    if (b->nevents) process_events(w, b);
    int64_t g = hf_windows_base_ms(&w->windows);
    memset(w->done, 0, (size_t)b->n);
    for (int i = 0; i < b->n; i++)
        if (!w->done[i]) process_group(w, b, i, floor_to((int64_t)b->flows[i].end_ms, g));
    int64_t boundary = b->final ? INT64_MAX : b->boundary;
    if (boundary > w->closed_until) {
        hf_windows_close(&w->windows, boundary, emit_window, w);
        w->closed_until = boundary;
        if (b->boundary_ns > 0) {
            double us = (hf_now_ns() - b->boundary_ns) / 1000.0;
            int i = 0;
            while (i < HF_DELAY_BUCKETS - 1 && us >= (double)(1ULL << i)) i++;
            w->close_delay[i]++;
        }
        hf_worker_retire_layouts(w);
    }
    if (hf_worker_keeps_profiles(w) &&
        (b->final || hf_now_ns() - w->last_save_ns >= (double)w->cfg->profiles_save_ms * 1e6))
        hf_worker_save_profiles(w);
    if (b->final) hf_worker_lua_finish(w);   /* the errors counted since their last line */
    publish_stats(w);
}

/* ------------------------------------------------------------------------
 * Lifecycle and threads
 * --------------------------------------------------------------------- */

hf_worker *hf_worker_new(int id, const hf_config *cfg, const char *lua_dir,
                         const hf_record_sink *sink, size_t mem_limit, const hf_plan *files,
                         int checked, char *err, size_t errlen)
{
    hf_worker_lua_install();
    hf_worker *w = hf_calloc(1, sizeof *w);
    w->id = id;
    w->cfg = cfg;
    w->sink = sink;
    w->closed_until = INT64_MIN;
    w->pool = hf_pool_new(mem_limit);
    w->layout = hf_malloc(sizeof *w->layout);
    hf_layout_init(w->layout);
    hf_record_batch_init(&w->out);
    hf_buf_init(&w->ser, 256);
    hf_record_batch_init(&w->alerts_out);
    hf_buf_init(&w->inbox, 256);
    w->alerts = hf_alerts_new(cfg->alerts_hold_ms, (uint32_t)cfg->alerts_max_open,
                              cfg->nwindows ? cfg->windows_ms[cfg->nwindows - 1] : 0);
    w->job.alerts = w->alerts;
    w->job.alerts_out = &w->alerts_out;
    w->job.cfg = cfg;
    w->job.nworkers = 1;
    w->clock_ms = INT64_MIN;
    w->saved_until = INT64_MIN;
    w->last_save_ns = hf_now_ns();
    w->group_flows = hf_malloc(sizeof(hf_flow) * (size_t)cfg->batch);
    w->group_rows = hf_malloc(sizeof(uint8_t *) * (size_t)cfg->batch);
    w->dst_flows = hf_malloc(sizeof(hf_flow) * (size_t)cfg->batch);
    w->dst_rows = hf_malloc(sizeof(uint8_t *) * (size_t)cfg->batch);
    w->done = hf_malloc((size_t)cfg->batch);
    for (int a = 0; a < HF_MAX_ANALYSES; a++) hf_buf_init(&w->frags[a].buf, 4096);
    w->job.analysis_ns = w->analysis_ns;
    w->job.result_ns = w->result_ns;
    w->job.analysis_errors = w->analysis_errors;
    w->job.worker = id;
    w->job.windows = &w->windows;
    atomic_init(&w->job.current, -1);
    w->job.slot_names = w->slot_names;
    w->job.slot_disabled = w->slot_disabled;
    w->runner = pthread_self();
    pthread_mutex_init(&w->watch_lock, NULL);
    atomic_init(&w->interrupt_slot, -1);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    if (hf_worker_lua_setup(w, lua_dir, files, checked, err, errlen) < 0) {
        hf_worker_free(w);
        return NULL;
    }
    hf_windows_init(&w->windows, cfg->windows_ms, cfg->nwindows, w->layout, w->pool);
    w->windows.all_in_base = cfg->role == HF_ROLE_PARTIAL;
    w->windows.log_messages = cfg->logs_messages;
    publish_stats(w);
    return w;
}

static void publish_stats(hf_worker *w)
{
    hf_worker_stats st;
    memset(&st, 0, sizeof st);
    st.closed_until = w->closed_until;
    st.discards = w->discards;
    st.flows = w->flows;
    st.partials = w->partials;
    st.partial_bytes = w->partial_bytes;
    st.hosts_refused = w->windows.hosts_refused;
    st.states_refused = w->windows.sparse_refused;
    st.records = w->records;
    hf_alert_stats as;
    hf_alerts_stats(w->alerts, &as);
    st.alerts_raised = as.raised;
    st.alerts_updated = as.updated;
    st.alerts_held = as.held;
    st.alerts_evicted = as.evicted;
    st.alerts_open = as.open;
    for (int i = 0; i < w->job.nprofiles; i++) {
        hf_profile_stats ps;
        hf_profiles_stats(w->job.profiles[i], &ps);
        st.profile_hosts += ps.hosts;
        st.profile_refused += ps.refused;
        st.profile_refused_memory += ps.refused_memory;
        st.profile_expired += ps.expired;
        st.profile_skipped += ps.skipped;
        st.profile_absorbed += ps.absorbed;
        st.profile_bytes += ps.bytes;
        st.profile_aside += ps.aside;
    }
    st.changelog_published = w->published;
    st.changelog_taken = w->cl_taken;
    st.changelog_refused = w->cl_refused;
    st.changelog_other = w->cl_other;
    /* saved, and emitted since the last discard (which starts closed_until afresh) */
    st.durable_until = hf_worker_keeps_profiles(w) && w->saved_until < w->closed_until
                       ? w->saved_until : w->closed_until;
    st.log_events = w->events;
    st.profile_saves = w->saves;
    st.profile_save_errors = w->save_errors;
    st.nlevels = w->windows.nlevels;
    for (int i = 0; i < st.nlevels; i++) {
        const hf_level *lv = &w->windows.levels[i];
        st.windows[i] = lv->closed;
        st.hosts[i] = lv->hosts;
        st.gran_ms[i] = lv->emit ? lv->g_ms : 0;
    }
    st.mem_bytes = hf_pool_bytes(w->pool);
    st.mem_peak = hf_pool_peak(w->pool);
    memcpy(st.close_delay, w->close_delay, sizeof st.close_delay);
    st.nanalyses = w->job.nslots;
    for (int a = 0; a < st.nanalyses; a++) {
        st.analysis_names[a] = w->slot_names + (size_t)a * HF_NAME_MAX;
        st.analysis_ns[a] = w->analysis_ns[a];
        st.result_ns[a] = w->result_ns[a];
        st.analysis_errors[a] = w->analysis_errors[a];
        st.analysis_disabled[a] = w->slot_disabled[a];
    }
    pthread_mutex_lock(&w->lock);
    w->snapshot = st;
    pthread_mutex_unlock(&w->lock);
}

void hf_worker_share(hf_worker *w, int n)
{
    if (n < 1) n = 1;
    w->job.nworkers = n;
    w->job.shared = 1;
    hf_worker_profiles_ready(&w->job);
    uint32_t open = (uint32_t)(w->cfg->alerts_max_open / n);
    hf_alerts_free(w->alerts);
    w->alerts = hf_alerts_new(w->cfg->alerts_hold_ms, open ? open : 1,
                              w->cfg->nwindows ? w->cfg->windows_ms[w->cfg->nwindows - 1] : 0);
    w->job.alerts = w->alerts;
}

void hf_worker_stats_get(hf_worker *w, hf_worker_stats *st)
{
    pthread_mutex_lock(&w->lock);
    *st = w->snapshot;
    pthread_mutex_unlock(&w->lock);
}

hf_batch *hf_worker_batch(hf_worker *w)
{
    pthread_mutex_lock(&w->lock);
    hf_batch *b = w->spare;
    if (b) w->spare = b->next;
    pthread_mutex_unlock(&w->lock);
    if (!b) {
        b = hf_calloc(1, sizeof *b);
        b->flows = hf_malloc(sizeof(hf_flow) * (size_t)w->cfg->batch);
    }
    hf_batch_clear(b);
    return b;
}

static void recycle(hf_worker *w, hf_batch *b)
{
    pthread_mutex_lock(&w->lock);
    b->next = w->spare;
    w->spare = b;
    pthread_mutex_unlock(&w->lock);
}

static void *worker_main(void *arg)
{
    hf_worker *w = arg;
    sigset_t intr;
    sigemptyset(&intr);
    sigaddset(&intr, HF_SIG_INTERRUPT);
    pthread_sigmask(SIG_UNBLOCK, &intr, NULL);   /* the watchdog's, only */
    for (;;) {
        pthread_mutex_lock(&w->lock);
        while (!w->head && !w->posted && !w->save_asked) pthread_cond_wait(&w->cond, &w->lock);
        if (w->save_asked && !w->posted) {   /* the profiles, saved now (hf_worker_save) */
            pthread_mutex_unlock(&w->lock);
            hf_worker_save_profiles(w);
            publish_stats(w);
            pthread_mutex_lock(&w->lock);
            w->save_asked = 0;
            pthread_cond_broadcast(&w->cond);
            pthread_mutex_unlock(&w->lock);
            continue;
        }
        if (w->posted) {               /* a reload to check, between two batches */
            pthread_mutex_unlock(&w->lock);
            hf_worker_check_posted(w);
            continue;
        }
        hf_batch *b = w->head;
        w->head = b->next;
        if (!w->head) w->tail = NULL;
        w->queued--;
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
        int final = b->final;
        hf_worker_process(w, b);
        recycle(w, b);
        pthread_mutex_lock(&w->lock);
        w->processed++;
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
        if (final) break;
    }
    pthread_mutex_lock(&w->watch_lock);
    w->exited = 1;
    pthread_mutex_unlock(&w->watch_lock);
    return NULL;
}
int hf_worker_start(hf_worker *w)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);   /* signals are the reader's */
    int rc = pthread_create(&w->thread, NULL, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) return -1;
    pthread_mutex_lock(&w->watch_lock);
    w->started = 1;
    pthread_mutex_unlock(&w->watch_lock);
    return 0;
}

void hf_worker_push(hf_worker *w, hf_batch *b)
{
    if (!w->started) {                 /* one worker: run it here */
        hf_worker_process(w, b);
        recycle(w, b);
        return;
    }
    b->next = NULL;
    pthread_mutex_lock(&w->lock);
    while (w->queued >= QUEUE_DEPTH) pthread_cond_wait(&w->cond, &w->lock);
    if (w->tail) w->tail->next = b;
    else w->head = b;
    w->tail = b;
    w->queued++;
    w->pushed++;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

void hf_worker_sync(hf_worker *w)
{
    if (!w->started) return;           /* one worker: every batch was done in push */
    pthread_mutex_lock(&w->lock);
    while (w->processed < w->pushed) pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

void hf_worker_save(hf_worker *w)
{
    if (!w->started) {                 /* one worker: here */
        hf_worker_save_profiles(w);
        publish_stats(w);
        return;
    }
    pthread_mutex_lock(&w->lock);
    w->save_asked = 1;
    pthread_cond_broadcast(&w->cond);
    while (w->save_asked) pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

void hf_worker_join(hf_worker *w)
{
    if (w->started) {
        pthread_join(w->thread, NULL);
        pthread_mutex_lock(&w->watch_lock);
        w->started = 0;
        pthread_mutex_unlock(&w->watch_lock);
    }
}

void hf_worker_free(hf_worker *w)
{
    if (!w) return;
    hf_worker_join(w);
    if (w->L) lua_close(w->L);
    while (w->job.nprofiles) hf_job_profile_close(&w->job, w->job.profiles[0]);
    hf_windows_release(&w->windows);
    hf_layout *l = w->windows.layout ? w->windows.layout : w->layout;
    while (l) {
        hf_layout *older = l->older;
        hf_layout_release(l);
        hf_free(l);
        l = older;
    }
    if (w->posted) hf_plan_release(w->posted);
    while (w->head) {                  /* left when the input stopped early */
        hf_batch *b = w->head;
        w->head = b->next;
        if (b->control) hf_plan_release(b->control);
        hf_free(b->events);
        hf_free(b->flows);
        hf_free(b->partials);
        hf_free(b);
    }
    while (w->spare) {
        hf_batch *b = w->spare;
        w->spare = b->next;
        hf_free(b->partials);
        hf_free(b->events);
        hf_free(b->flows);
        hf_free(b);
    }
    for (int a = 0; a < HF_MAX_ANALYSES; a++) {
        hf_buf_release(&w->frags[a].buf);
        hf_free(w->frags[a].off);
        hf_free(w->frags[a].len);
    }
    hf_record_batch_release(&w->out);
    hf_buf_release(&w->ser);
    hf_buf_release(&w->inbox);
    hf_record_batch_release(&w->alerts_out);
    hf_buf_release(&w->logs_frags.buf);
    hf_free(w->logs_frags.off);
    hf_free(w->logs_frags.len);
    hf_alerts_free(w->alerts);
    hf_free(w->group_flows);
    hf_free(w->group_rows);
    hf_free(w->dst_flows);
    hf_free(w->dst_rows);
    hf_free(w->view_rows);
    hf_free(w->view_omit);
    hf_free(w->done);
    hf_pool_free(w->pool);
    pthread_mutex_destroy(&w->lock);
    pthread_mutex_destroy(&w->watch_lock);
    pthread_cond_destroy(&w->cond);
    hf_free(w);
}
