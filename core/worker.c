/* worker.c -- a worker: queue in, LuaJIT analyses over host windows, records
 * out (see worker.h).
 *
 * The C side owns everything stateful: the windows and their rows, the
 * batches, the output buffer.  The Lua side (lua/hostflow/runtime.lua) owns
 * the analyses and is called twice: process() for the flows of one base
 * window, and emit() for the hosts of a closing window, where each analysis
 * encodes its results as JSON fragments that the C side then stitches into
 * one record per host. */
#include "worker.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "addr.h"
#include "alloc.h"
#include "arena.h"
#include "ffi.h"
#include "log.h"
#include "timefmt.h"

#define QUEUE_DEPTH 8

struct hf_worker {
    int              id;
    const hf_config *cfg;
    lua_State       *L;
    int              ref_process, ref_emit;
    hf_pool         *pool;
    hf_layout        layout;
    hf_windows       windows;
    hf_job           job;
    hf_flow         *group_flows;    /* the flows of one base window */
    uint8_t        **group_rows;
    unsigned char   *done;           /* per batch flow: handled */
    hf_fragments     frags[HF_MAX_ANALYSES];
    double           analysis_ns[HF_MAX_ANALYSES];
    double           result_ns[HF_MAX_ANALYSES];
    double           analysis_errors[HF_MAX_ANALYSES];
    hf_buf           out;
    hf_sink         *sink;
    uint64_t         flows, records;
    uint64_t         close_delay[HF_DELAY_BUCKETS];
    int64_t          closed_until;

    /* the thread and its queue */
    pthread_t        thread;
    int              started;
    pthread_mutex_t  lock;
    pthread_cond_t   cond;
    hf_batch        *head, *tail;   /* queued */
    int              queued;
    hf_batch        *spare;         /* finished, for reuse */
    hf_worker_stats  snapshot;      /* under lock */
};

/* ------------------------------------------------------------------------
 * Lua
 * --------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Push a list (Lua table) of the *.lua files in dir, sorted. */
static int push_analysis_files(lua_State *L, const char *dir, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "analyses: cannot open directory %s", dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || e->d_name[0] == '.' || strcmp(e->d_name + len - 4, ".lua")) continue;
        names = hf_realloc(names, sizeof(char *) * (n + 1));
        names[n++] = hf_strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(char *), cmp_str);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushfstring(L, "%s/%s", dir, names[i]);
        lua_rawseti(L, -2, (int)i + 1);
        hf_free(names[i]);
    }
    hf_free(names);
    return 0;
}

static void push_names(lua_State *L, char **names, int n)
{
    if (!names) {
        lua_pushnil(L);
        return;
    }
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushstring(L, names[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

/* Load the runtime and the analyses; leaves process/emit in the registry. */
static int lua_setup(hf_worker *w, const char *lua_dir, char *err, size_t errlen)
{
    lua_State *L = w->L = luaL_newstate();
    if (!L) {
        snprintf(err, errlen, "cannot create a Lua state");
        return -1;
    }
    luaL_openlibs(L);
    lua_getglobal(L, "package");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;", lua_dir, lua_dir);
    lua_getfield(L, -2, "path");
    lua_concat(L, 2);
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);

    lua_getglobal(L, "require");
    lua_pushstring(L, "hostflow.runtime");
    if (lua_pcall(L, 1, 1, 0) != 0) goto lua_error;
    lua_getfield(L, -1, "start");
    lua_createtable(L, 0, 8);
    lua_pushlightuserdata(L, &w->job);
    lua_setfield(L, -2, "job");
    lua_pushlightuserdata(L, &w->layout);
    lua_setfield(L, -2, "layout");
    lua_pushinteger(L, w->id);
    lua_setfield(L, -2, "worker");
    lua_pushinteger(L, w->cfg->distinct_exact);
    lua_setfield(L, -2, "distinct_exact");
    if (push_analysis_files(L, w->cfg->analyses_dir, err, errlen) < 0) return -1;
    lua_setfield(L, -2, "files");
    push_names(L, w->cfg->enable, w->cfg->nenable);
    lua_setfield(L, -2, "enable");
    push_names(L, w->cfg->disable, w->cfg->ndisable);
    lua_setfield(L, -2, "disable");
    if (lua_pcall(L, 1, 2, 0) != 0) goto lua_error;
    w->ref_emit = luaL_ref(L, LUA_REGISTRYINDEX);
    w->ref_process = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pop(L, 1);
    return 0;
lua_error:
    snprintf(err, errlen, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "Lua error");
    return -1;
}

/* Call a runtime function; a Lua error here is a bug of the runtime (the
 * analyses' own errors are caught inside it), so it is logged loudly. */
static void lua_call_ref(hf_worker *w, int ref, const char *what)
{
    lua_rawgeti(w->L, LUA_REGISTRYINDEX, ref);
    if (lua_pcall(w->L, 0, 0, 0) != 0) {
        hf_log(HF_LOG_ERROR, "worker %d: %s: %s", w->id, what, lua_tostring(w->L, -1));
        lua_pop(w->L, 1);
    }
}

/* ------------------------------------------------------------------------
 * Records
 * --------------------------------------------------------------------- */

/* Write the head of a host record, up to and including "stats":{ */
static void record_head(hf_buf *b, const hf_window *win, const hf_host *h)
{
    char addr[HF_ADDR_STRLEN], ts[32];
    size_t alen = hf_addr_format(h->addr, h->family, addr);
    hf_time_format_iso(win->start_ms, ts);
    hf_buf_puts(b, "{\"@type\":\"host_stats\",\"@timestamp\":\"");
    hf_buf_puts(b, ts);
    hf_buf_puts(b, "\",\"id\":\"");
    hf_buf_put(b, addr, alen);
    hf_buf_putc(b, '/');
    hf_buf_put_int(b, win->g_ms / 1000);
    hf_buf_putc(b, '/');
    hf_buf_put_int(b, win->start_ms);
    hf_buf_puts(b, "\",\"src_ip\":\"");
    hf_buf_put(b, addr, alen);
    hf_buf_puts(b, "\",\"window\":{\"start_ms\":");
    hf_buf_put_int(b, win->start_ms);
    hf_buf_puts(b, ",\"end_ms\":");
    hf_buf_put_int(b, win->start_ms + win->g_ms);
    hf_buf_puts(b, ",\"granularity_s\":");
    hf_buf_put_int(b, win->g_ms / 1000);
    hf_buf_puts(b, "},\"stats\":{");
}

static void frags_reserve(hf_worker *w, uint32_t nhosts)
{
    for (int a = 0; a < w->layout.n; a++) {
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
static void emit_window(void *ctx, hf_window *win)
{
    hf_worker *w = ctx;
    frags_reserve(w, win->nhosts);
    w->job.window = win;
    lua_call_ref(w, w->ref_emit, "emit");
    w->job.window = NULL;

    hf_buf *b = &w->out;
    uint64_t pending = 0;
    for (uint32_t i = 0; i < win->nhosts; i++) {
        record_head(b, win, (const hf_host *)hf_window_row(win, i));
        int first = 1;
        for (int a = 0; a < w->layout.n; a++) {
            const hf_fragments *f = &w->frags[a];
            if (!f->len[i]) continue;
            if (!first) hf_buf_putc(b, ',');
            first = 0;
            hf_buf_putc(b, '"');
            hf_buf_puts(b, w->layout.names[a]);
            hf_buf_puts(b, "\":");
            hf_buf_put(b, f->buf.data + f->off[i], f->len[i]);
        }
        hf_buf_puts(b, "}}\n");
        pending++;
        if (b->len >= (1 << 20) || i + 1 == win->nhosts) {
            hf_sink_write(w->sink, b->data, b->len, pending);
            b->len = 0;
            pending = 0;
        }
    }
    w->records += win->nhosts;
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
    int n = 0;
    for (int i = first; i < b->n; i++) {
        if (w->done[i]) continue;
        const hf_flow *f = &b->flows[i];
        if (floor_to((int64_t)f->end_ms, g) != start) continue;
        w->done[i] = 1;
        uint8_t *row = hf_window_host(&w->windows, win, f->src, f->family);
        if (!row) continue;
        /* the analyses will visit every part of the row: start fetching it
         * now, while the rest of the batch is sorted out */
        for (size_t o = 64; o < win->row_size; o += 64) __builtin_prefetch(row + o, 1, 3);
        w->group_flows[n] = *f;
        w->group_rows[n] = row;
        n++;
    }
    if (n == 0) return;
    w->job.flows = w->group_flows;
    w->job.rows = w->group_rows;
    w->job.n = n;
    lua_call_ref(w, w->ref_process, "process");
    w->job.n = 0;
    w->flows += (uint64_t)n;
}

static void publish_stats(hf_worker *w);

void hf_worker_process(hf_worker *w, hf_batch *b)
{
    int64_t g = hf_windows_base_ms(&w->windows);
    memset(w->done, 0, (size_t)b->n);
    for (int i = 0; i < b->n; i++)
        if (!w->done[i]) process_group(w, b, i, floor_to((int64_t)b->flows[i].end_ms, g));
    int64_t boundary = b->final ? INT64_MAX : b->boundary;
    if (boundary > w->closed_until) {
        hf_windows_close(&w->windows, boundary, emit_window, w);
        w->closed_until = boundary;
        if (b->boundary_ns > 0) {
            double us = (hf_ffi_now_ns() - b->boundary_ns) / 1000.0;
            int i = 0;
            while (i < HF_DELAY_BUCKETS - 1 && us >= (double)(1ULL << i)) i++;
            w->close_delay[i]++;
        }
    }
    publish_stats(w);
}

/* ------------------------------------------------------------------------
 * Lifecycle and threads
 * --------------------------------------------------------------------- */

hf_worker *hf_worker_new(int id, const hf_config *cfg, const char *lua_dir,
                         hf_sink *sink, size_t mem_limit, char *err, size_t errlen)
{
    hf_worker *w = hf_calloc(1, sizeof *w);
    w->id = id;
    w->cfg = cfg;
    w->sink = sink;
    w->closed_until = INT64_MIN;
    w->pool = hf_pool_new(mem_limit);
    hf_layout_init(&w->layout);
    hf_buf_init(&w->out, 1 << 16);
    w->group_flows = hf_malloc(sizeof(hf_flow) * (size_t)cfg->batch);
    w->group_rows = hf_malloc(sizeof(uint8_t *) * (size_t)cfg->batch);
    w->done = hf_malloc((size_t)cfg->batch);
    for (int a = 0; a < HF_MAX_ANALYSES; a++) hf_buf_init(&w->frags[a].buf, 4096);
    w->job.frags = w->frags;
    w->job.analysis_ns = w->analysis_ns;
    w->job.result_ns = w->result_ns;
    w->job.analysis_errors = w->analysis_errors;
    w->job.worker = id;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    if (lua_setup(w, lua_dir, err, errlen) < 0) {
        hf_worker_free(w);
        return NULL;
    }
    hf_windows_init(&w->windows, cfg->windows_ms, cfg->nwindows, &w->layout, w->pool);
    publish_stats(w);
    return w;
}

static void publish_stats(hf_worker *w)
{
    hf_worker_stats st;
    memset(&st, 0, sizeof st);
    st.closed_until = w->closed_until;
    st.flows = w->flows;
    st.hosts_refused = w->windows.hosts_refused;
    st.records = w->records;
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
    st.nanalyses = w->layout.n;
    for (int a = 0; a < w->layout.n; a++) {
        st.analysis_names[a] = w->layout.names[a];
        st.analysis_ns[a] = w->analysis_ns[a];
        st.result_ns[a] = w->result_ns[a];
        st.analysis_errors[a] = w->analysis_errors[a];
    }
    pthread_mutex_lock(&w->lock);
    w->snapshot = st;
    pthread_mutex_unlock(&w->lock);
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
    b->n = 0;
    b->final = 0;
    b->boundary = INT64_MIN;
    b->boundary_ns = 0;
    b->next = NULL;
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
    for (;;) {
        pthread_mutex_lock(&w->lock);
        while (!w->head) pthread_cond_wait(&w->cond, &w->lock);
        hf_batch *b = w->head;
        w->head = b->next;
        if (!w->head) w->tail = NULL;
        w->queued--;
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
        int final = b->final;
        hf_worker_process(w, b);
        recycle(w, b);
        if (final) break;
    }
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
    w->started = 1;
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
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

void hf_worker_join(hf_worker *w)
{
    if (w->started) {
        pthread_join(w->thread, NULL);
        w->started = 0;
    }
}

void hf_worker_free(hf_worker *w)
{
    if (!w) return;
    hf_worker_join(w);
    if (w->L) lua_close(w->L);
    hf_windows_release(&w->windows);
    hf_layout_release(&w->layout);
    while (w->spare) {
        hf_batch *b = w->spare;
        w->spare = b->next;
        hf_free(b->flows);
        hf_free(b);
    }
    for (int a = 0; a < HF_MAX_ANALYSES; a++) {
        hf_buf_release(&w->frags[a].buf);
        hf_free(w->frags[a].off);
        hf_free(w->frags[a].len);
    }
    hf_buf_release(&w->out);
    hf_free(w->group_flows);
    hf_free(w->group_rows);
    hf_free(w->done);
    hf_pool_free(w->pool);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    hf_free(w);
}
