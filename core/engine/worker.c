/* worker.c -- a worker: queue in, LuaJIT analyses over host windows, records
 * out (see worker.h).
 *
 * The C side owns everything stateful: the windows and their rows, the
 * batches, the output buffer.  The Lua side (lua/hostflow/runtime/) owns
 * the analyses and is called twice: process() for the flows of one base
 * window, and emit() for the hosts of a closing window, where each analysis
 * encodes its results as JSON fragments that the C side then stitches into
 * one record per host.  A third function, control(), checks and commits
 * reloads (reload.h) and retires the analyses of layouts no window uses.
 *
 * Interrupting Lua: the watchdog (another thread) sends the thread that
 * runs a worker's Lua HF_SIG_INTERRUPT; the handler sets a hook on that
 * thread's own state (as luajit.c does for Ctrl-C), and the hook raises an
 * error inside the analysis that has run too long, which the runtime
 * catches like any of its errors.  Compiled code (a LuaJIT trace) never
 * looks at hooks: an analysis looping there is reported and hostflow stops
 * (hf_worker_watch, reload.c). */
#include "engine/worker.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "base/addr.h"
#include "base/alloc.h"
#include "base/arena.h"
#include "base/log.h"
#include "base/luastate.h"
#include "base/timefmt.h"
#include "engine/alerts.h"
#include "engine/profile.h"

#define QUEUE_DEPTH 32
#define HF_SIG_INTERRUPT (SIGRTMIN + 3)

struct hf_worker {
    int              id;
    const hf_config *cfg;
    lua_State       *L;
    int              ref_process, ref_emit, ref_control;
    hf_pool         *pool;
    hf_layout       *layout;         /* the newest; older ones in windows */
    uint32_t         last_gen;
    hf_windows       windows;
    hf_job           job;
    hf_flow         *group_flows;    /* the flows of one base window */
    uint8_t        **group_rows;
    uint8_t        **view_rows;      /* the closing window's rows, for Lua */
    uint64_t        *view_omit;      /* ... and their omit bits */
    uint32_t         view_cap;
    unsigned char   *done;           /* per batch flow: handled */
    hf_fragments     frags[HF_MAX_ANALYSES];
    double           analysis_ns[HF_MAX_ANALYSES];
    double           result_ns[HF_MAX_ANALYSES];
    double           analysis_errors[HF_MAX_ANALYSES];
    char             slot_names[HF_MAX_ANALYSES * HF_NAME_MAX];
    uint8_t          slot_disabled[HF_MAX_ANALYSES];
    hf_record_batch  out;           /* records of the closing window, for the outputs */
    hf_alerts       *alerts;        /* open alerts of this worker's hosts */
    hf_record_batch  alerts_out;    /* alert and profile records of the closing window */
    int64_t          clock_ms;      /* event time: the latest end of a window emitted */
    double           last_save_ns;  /* when the profiles were saved last */
    int64_t          saved_until;   /* windows ending by this are in the profiles' files */
    uint64_t         saves, save_errors;
    int              save_asked;    /* under lock: hf_worker_save waits for a save */
    const hf_record_sink *sink;
    int              failed;        /* an output failed for good */
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
    hf_plan         *posted;        /* under lock: a plan to check */

    /* the watchdog's view (hf_worker_watch) */
    pthread_t        runner;        /* the thread that runs the Lua state */
    pthread_mutex_t  watch_lock;    /* held while the watchdog uses the thread */
    int              exited;        /* under watch_lock: the thread has ended */
    atomic_int       interrupt_slot;/* the analysis to interrupt, -1: none */
    double           interrupted_t0;/* the call interrupted (its job.current_t0) */
};

/* The worker whose Lua runs on this thread now (for the interrupt). */
static _Thread_local hf_worker *volatile running;

/* ------------------------------------------------------------------------
 * Lua
 * --------------------------------------------------------------------- */

/* Push a list (Lua table) of the *.lua files in dir, sorted. */
static int push_analysis_files(lua_State *L, const char *dir, char *err, size_t errlen)
{
    int n;
    char **paths = hf_analysis_files(dir, &n, err, errlen);
    if (!paths) return -1;
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushstring(L, paths[i]);
        lua_rawseti(L, -2, i + 1);
        hf_free(paths[i]);
    }
    hf_free(paths);
    return 0;
}

static void push_names(lua_State *L, char **names, int n)
{
    if (!names && n == 0) {
        lua_pushnil(L);
        return;
    }
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushstring(L, names[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

/* Push analyses.params (Lua text the configuration loader made of plain
 * values, or NULL) as a table: name -> { key = value, ... }. */
static void push_params(lua_State *L, const char *text)
{
    if (text) {
        lua_pushfstring(L, "return %s", text);
        if (luaL_loadstring(L, lua_tostring(L, -1)) == 0 && lua_pcall(L, 0, 1, 0) == 0 &&
            lua_istable(L, -1)) {
            lua_remove(L, -2);
            return;
        }
        lua_pop(L, 2);
    }
    lua_newtable(L);
}

/* Load the runtime and the analyses; leaves process/emit in the registry. */
static int lua_setup(hf_worker *w, const char *lua_dir, char *err, size_t errlen)
{
    lua_State *L = w->L = hf_lua_state_new(lua_dir, err, errlen);
    if (!L) return -1;

    lua_getglobal(L, "require");
    lua_pushstring(L, "hostflow.runtime");
    if (lua_pcall(L, 1, 1, 0) != 0) goto lua_error;
    lua_getfield(L, -1, "start");
    lua_createtable(L, 0, 8);
    lua_pushlightuserdata(L, &w->job);
    lua_setfield(L, -2, "job");
    lua_pushlightuserdata(L, &w->job.batch);
    lua_setfield(L, -2, "batch_view");
    lua_pushlightuserdata(L, &w->job.win);
    lua_setfield(L, -2, "window_view");
    lua_pushnumber(L, (double)w->cfg->max_batch_ms * 1e6);
    lua_setfield(L, -2, "max_batch_ns");
    lua_pushnumber(L, w->cfg->max_errors);
    lua_setfield(L, -2, "max_errors");
    lua_pushlightuserdata(L, w->layout);
    lua_setfield(L, -2, "layout");
    lua_pushinteger(L, w->id);
    lua_setfield(L, -2, "worker");
    lua_pushinteger(L, w->cfg->distinct_exact);
    lua_setfield(L, -2, "distinct_exact");
    lua_pushinteger(L, w->cfg->batch);
    lua_setfield(L, -2, "batch");
    if (push_analysis_files(L, w->cfg->analyses_dir, err, errlen) < 0) return -1;
    lua_setfield(L, -2, "files");
    push_names(L, w->cfg->enable.set ? w->cfg->enable.v : NULL, w->cfg->enable.n);
    lua_setfield(L, -2, "enable");
    push_names(L, w->cfg->disable.v, w->cfg->disable.n);
    lua_setfield(L, -2, "disable");
    push_names(L, w->cfg->order.v, w->cfg->order.n);
    lua_setfield(L, -2, "order");
    push_params(L, w->cfg->params);
    lua_setfield(L, -2, "params");
    lua_pushnumber(L, (double)w->cfg->profiles_report_ms);
    lua_setfield(L, -2, "report_ms");
    lua_createtable(L, w->cfg->nwindows, 0);
    for (int i = 0; i < w->cfg->nwindows; i++) {
        lua_pushnumber(L, (double)w->cfg->windows_ms[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "windows");
    if (lua_pcall(L, 1, 3, 0) != 0) goto lua_error;
    w->ref_control = luaL_ref(L, LUA_REGISTRYINDEX);
    w->ref_emit = luaL_ref(L, LUA_REGISTRYINDEX);
    w->ref_process = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pop(L, 1);
    return 0;
lua_error:
    snprintf(err, errlen, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "Lua error");
    return -1;
}

/* Whether the innermost Lua function running is the runtime's own (whose
 * code between two analyses is outside its protected calls): a file
 * lua/hostflow/runtime/NAME.lua. */
static int in_runtime(lua_State *L)
{
    static const char rt[] = "hostflow/runtime/";
    lua_Debug ar;
    for (int level = 0; level < 4 && lua_getstack(L, level, &ar); level++) {
        if (!lua_getinfo(L, "S", &ar) || !ar.source) return 0;
        if (ar.source[0] == '=' && strcmp(ar.source, "=[C]") == 0) continue;   /* a C function */
        if (ar.source[0] != '@') return 0;
        const char *name = strrchr(ar.source, '/');
        size_t n = name ? (size_t)(name + 1 - ar.source) : 0;
        return n >= sizeof rt - 1 && strncmp(name + 1 - (sizeof rt - 1), rt, sizeof rt - 1) == 0;
    }
    return 0;
}

/* A hook the interrupt has set: raise an error in the analysis the
 * watchdog named, once it runs its own code (not the runtime's).  On calls
 * and returns too, not only every instruction: a loop that LuaJIT stitches
 * around a C function runs no instruction in the interpreter, but its
 * calls go through the VM.  Disarms itself. */
static void interrupt_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    hf_worker *w = running;
    int slot = w ? atomic_load(&w->interrupt_slot) : -1;
    if (slot < 0 || ((volatile hf_job *)&w->job)->current != slot) {
        lua_sethook(L, NULL, 0, 0);          /* it finished meanwhile */
        return;
    }
    if (in_runtime(L)) return;               /* at the next event */
    lua_sethook(L, NULL, 0, 0);
    atomic_store(&w->interrupt_slot, -1);
    luaL_error(L, "interrupted: ran for more than its time (analyses.max_batch)");
}

static void on_interrupt(int sig)
{
    (void)sig;
    hf_worker *w = running;
    if (w && w->L && ((volatile hf_job *)&w->job)->current >= 0)   /* in an analysis, not a check */
        lua_sethook(w->L, interrupt_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

static pthread_once_t interrupt_once = PTHREAD_ONCE_INIT;

static void interrupt_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(HF_SIG_INTERRUPT, &sa, NULL);
}

/* Call a runtime function with nargs arguments on the stack (leaving
 * nresults); a Lua error here is a bug of the runtime (the analyses' own
 * errors are caught inside it), so it is logged loudly.  Returns 0 or -1. */
static int lua_call_n(hf_worker *w, int ref, int nargs, int nresults, const char *what)
{
    lua_State *L = w->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    lua_insert(L, -1 - nargs);
    running = w;
    int rc = lua_pcall(L, nargs, nresults, 0);
    running = NULL;
    if (atomic_exchange(&w->interrupt_slot, -1) >= 0) lua_sethook(L, NULL, 0, 0);
    w->job.current = -1;
    if (rc != 0) {
        hf_log(HF_LOG_ERROR, "worker %d: %s: %s", w->id, what, lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}

static void lua_call_ref(hf_worker *w, int ref, const char *what)
{
    lua_call_n(w, ref, 0, 0, what);
}

/* ------------------------------------------------------------------------
 * The worker's controls, for the Lua side (worker.h)
 * --------------------------------------------------------------------- */

void hf_job_omit(hf_job *job, uint8_t *row, uint64_t bits)
{
    if (job->window) hf_window_omit_set(job->window, ((const hf_host *)(const void *)row)->row, bits);
}

void hf_job_running(hf_job *job, int slot, double t0, double cpu0, double limit)
{
    volatile hf_job *j = job;
    if (slot < 0) {
        j->current = -1;
        return;
    }
    j->current_t0 = t0;
    j->current_cpu0 = cpu0;
    j->current_limit = limit;
    j->current = slot;
}

void hf_job_add_time(hf_job *job, int slot, int result, double ns)
{
    if (slot < 0 || slot >= HF_MAX_ANALYSES) return;
    (result ? job->result_ns : job->analysis_ns)[slot] += ns;
}

void hf_job_count_error(hf_job *job, int slot)
{
    if (slot >= 0 && slot < HF_MAX_ANALYSES) job->analysis_errors[slot] += 1;
}

int hf_job_new_slot(hf_job *job)
{
    return job->nslots < HF_MAX_ANALYSES ? job->nslots++ : -1;
}

void hf_job_name_slot(hf_job *job, int slot, const char *name, int reused)
{
    if (slot < 0 || slot >= HF_MAX_ANALYSES) return;
    if (reused) job->analysis_ns[slot] = job->result_ns[slot] = job->analysis_errors[slot] = 0;
    snprintf(job->slot_names + (size_t)slot * HF_NAME_MAX, HF_NAME_MAX, "%s", name);
}

void hf_job_slot_disabled(hf_job *job, int slot, int disabled)
{
    if (slot >= 0 && slot < HF_MAX_ANALYSES) job->slot_disabled[slot] = disabled ? 1 : 0;
}

int hf_job_alert(hf_job *job, const uint8_t *row, int64_t start_ms, int64_t g_ms, const char *rule,
                 size_t rule_len, double observed, double expected, double score,
                 const char *details, size_t details_len)
{
    if (!job->alerts || !row || g_ms <= 0) return HF_ALERT_BAD;
    const hf_host *h = (const hf_host *)(const void *)row;
    hf_alert in = {h->addr, h->v6, rule, rule_len, start_ms, g_ms,
                   observed, expected, score, details, details_len};
    return hf_alerts_raise(job->alerts, &in, job->alerts_out);
}

double hf_job_alerted(hf_job *job, const uint8_t *row, int64_t start_ms, const char *rule,
                      size_t rule_len)
{
    if (!job->alerts || !row) return NAN;
    const hf_host *h = (const hf_host *)(const void *)row;
    return hf_alerts_reported(job->alerts, h->addr, rule, rule_len, start_ms);
}

/* ------------------------------------------------------------------------
 * Profiles: their stores, what they absorb, their records and files
 * --------------------------------------------------------------------- */

/* The file of profile p for this worker: DIR/NAME.W-of-N.hfp. */
static void profile_path(const hf_job *job, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s.%d-of-%d.hfp", job->cfg->profiles_dir, name, job->worker,
             job->nworkers > 0 ? job->nworkers : 1);
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read every file profiles.dir holds for p (NAME.*.hfp, in name order):
 * those of other worker counts too, keeping the hosts this worker owns. */
static void profile_load(hf_job *job, hf_profiles *p)
{
    const char *dir = job->cfg->profiles_dir, *name = hf_profiles_name(p);
    DIR *d = opendir(dir);
    if (!d) {
        if (errno != ENOENT) hf_log(HF_LOG_WARN, "profile %s: %s: cannot read: %s", name, dir, strerror(errno));
        return;
    }
    size_t nlen = strlen(name), n = 0, cap = 0;
    char **files = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= nlen + 5 || strncmp(e->d_name, name, nlen) != 0 || e->d_name[nlen] != '.' ||
            strcmp(e->d_name + len - 4, ".hfp") != 0)
            continue;
        if (n == cap) files = hf_realloc(files, sizeof *files * (cap = cap ? cap * 2 : 8));
        files[n++] = hf_strdup(e->d_name);
    }
    closedir(d);
    qsort(files, n, sizeof *files, by_text);
    for (size_t i = 0; i < n; i++) {
        char path[4096], err[8192];
        int64_t until = INT64_MIN;
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        long got = hf_profiles_load(p, path, job->worker, job->nworkers, &until, err, sizeof err);
        if (got == -1)
            hf_log(HF_LOG_ERROR, "profile %s: %s; those hosts start with empty profiles", name, err);
        else if (got == -2)
            hf_log(HF_LOG_WARN, "profile %s: %s", name, err);
        else {
            char ts[64] = "the end of that run's input";
            if (until == INT64_MIN) snprintf(ts, sizeof ts, "no window yet");
            else if (until != INT64_MAX) hf_time_format_iso(until, ts);
            hf_log(HF_LOG_INFO, "profile %s: worker %d took %ld hosts from %s (its windows complete "
                   "through %s)", name, job->worker, got, path, ts);
        }
        hf_free(files[i]);
    }
    hf_free(files);
}

/* Each profile's share of profiles.max_hosts: all / workers. */
static uint32_t profile_max(const hf_job *job)
{
    int n = job->nworkers > 0 ? job->nworkers : 1;
    uint32_t max = job->cfg ? (uint32_t)(job->cfg->profiles_max_hosts / n) : 1000000;
    return max ? max : 1;
}

/* Read the files of the profiles opened to be loaded, now that the worker
 * knows which hosts are its own. */
static void profiles_load_pending(hf_job *job)
{
    for (int i = 0; i < job->nprofiles; i++) {
        hf_profiles_limit(job->profiles[i], profile_max(job));
        if (job->to_load[i]) {
            job->to_load[i] = 0;
            profile_load(job, job->profiles[i]);
        }
    }
}

hf_profiles *hf_job_profile_open(hf_job *job, const char *name, const char *signature,
                                 const hf_schema *schema, int load)
{
    if (job->nprofiles == HF_MAX_PROFILES) return NULL;
    hf_profiles *p = hf_profiles_new(name, signature, schema, profile_max(job));
    job->to_load[job->nprofiles] = load && job->cfg && job->cfg->profiles_dir;
    job->profiles[job->nprofiles++] = p;
    if (job->shared) profiles_load_pending(job);   /* a profile added by a reload */
    return p;
}

void hf_job_profile_close(hf_job *job, hf_profiles *p)
{
    for (int i = 0; i < job->nprofiles; i++)
        if (job->profiles[i] == p) {
            job->nprofiles--;
            job->profiles[i] = job->profiles[job->nprofiles];
            job->to_load[i] = job->to_load[job->nprofiles];
            hf_profiles_free(p);
            return;
        }
}

int hf_job_absorb(hf_job *job, const hf_lua_window *v, hf_profiles *p, int k, const int *frag,
                  const char *const *paths, double *vals, uint8_t **rows)
{
    (void)job;
    int64_t end = v->start_ms + v->g_ms;
    int n = 0;
    for (uint32_t i = 0; i < v->n; i++) {
        const hf_host *h = (const hf_host *)(const void *)v->rows[i];
        uint8_t *r = hf_profiles_absorb(p, h->addr, h->v6, v->start_ms, end);
        rows[i] = r;
        if (!r) continue;
        n++;
        uint64_t omit = v->omit ? v->omit[i] : 0;
        for (int j = 0; j < k; j++) {
            double x = NAN;
            int a = frag[j];
            if (a >= 0 && !(omit >> a & 1)) {
                const hf_fragments *f = &v->frags[a];
                if (f->len[i]) x = hf_profile_json_number(f->buf.data + f->off[i], f->len[i], paths[j]);
            }
            vals[(size_t)i * (size_t)k + (size_t)j] = x;
        }
    }
    return n;
}

void hf_job_profile_record(hf_job *job, hf_profiles *p, const uint8_t *row, int64_t start_ms,
                           int64_t end_ms, const char *json, size_t len)
{
    const hf_profile_host *h = (const hf_profile_host *)(const void *)row;
    hf_record_batch *rb = job->alerts_out;
    hf_buf *b = &rb->text;
    char addr[HF_ADDR_STRLEN], ts[32];
    size_t alen = hf_addr_format(h->addr, h->v6 ? HF_AF_INET6 : HF_AF_INET, addr);
    const char *name = hf_profiles_name(p);
    hf_record_begin(rb, HF_RECORD_PROFILE, start_ms);
    hf_time_format_iso(start_ms, ts);
    hf_buf_puts(b, "{\"@type\":\"host_profile\",\"@timestamp\":\"");
    hf_buf_puts(b, ts);
    hf_buf_puts(b, "\",\"id\":\"");
    size_t key = b->len;
    hf_buf_put(b, addr, alen);
    hf_buf_putc(b, '/');
    hf_buf_puts(b, name);
    hf_buf_putc(b, '/');
    hf_buf_put_int(b, start_ms);
    hf_record_key(rb, key, b->len - key);
    hf_buf_puts(b, "\",\"src_ip\":\"");
    hf_buf_put(b, addr, alen);
    hf_buf_puts(b, "\",\"name\":\"");
    hf_buf_puts(b, name);
    hf_buf_puts(b, "\",\"period\":{\"start_ms\":");
    hf_buf_put_int(b, start_ms);
    hf_buf_puts(b, ",\"end_ms\":");
    hf_buf_put_int(b, end_ms);
    hf_buf_puts(b, "},\"absorbed_until\":");
    hf_buf_put_int(b, h->absorbed_until);
    hf_buf_puts(b, ",\"profile\":");
    if (len) hf_buf_put(b, json, len);
    else hf_buf_puts(b, "null");
    hf_buf_putc(b, '}');
    hf_record_end(rb);
}

/* Save every profile to its file, complete for the windows emitted so far
 * (forgetting first the hosts not seen for profiles.expire).  Nothing to
 * do without profiles.dir. */
static void save_profiles(hf_worker *w)
{
    w->last_save_ns = hf_now_ns();
    const char *dir = w->cfg->profiles_dir;
    if (!dir || !w->job.nprofiles) return;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        hf_log(HF_LOG_ERROR, "profiles: %s: cannot make the directory: %s", dir, strerror(errno));
    int ok = 1;
    for (int i = 0; i < w->job.nprofiles; i++) {
        hf_profiles *p = w->job.profiles[i];
        if (w->clock_ms != INT64_MIN) hf_profiles_expire(p, w->clock_ms - w->cfg->profiles_expire_ms);
        char path[4096], err[8192];
        profile_path(&w->job, hf_profiles_name(p), path, sizeof path);
        if (hf_profiles_save(p, path, w->id, w->job.nworkers, w->closed_until, err, sizeof err) < 0) {
            static hf_ratelimit rl = HF_RATELIMIT_INIT(1);
            hf_log_limited(&rl, HF_LOG_ERROR, "profile %s: %s (the last file saved stays; Kafka "
                           "offsets are not committed past it)", hf_profiles_name(p), err);
            ok = 0;
        }
    }
    if (ok) {
        w->saved_until = w->closed_until;
        w->saves++;
    } else {
        w->save_errors++;
    }
}

/* ------------------------------------------------------------------------
 * Records
 * --------------------------------------------------------------------- */

/* Hand the batch built so far to the outputs, and empty it. */
static void write_batch(hf_worker *w)
{
    hf_records view;
    hf_record_batch_view(&w->out, &view);
    if (view.n && w->sink->write(w->sink->ctx, &view) < 0) w->failed = 1;
    hf_record_batch_reset(&w->out);
}

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
    for (uint32_t i = 0; i < n; i++) w->view_rows[i] = hf_window_row(win, i);
    if (win->omit_any)
        for (uint32_t i = 0; i < n; i++) w->view_omit[i] = hf_window_omit(win, i);
    hf_lua_window *v = &w->job.win;
    v->rows = w->view_rows;
    v->omit = win->omit_any ? w->view_omit : NULL;
    v->omit_any = win->omit_any;
    v->n = n;
    v->gen = (int)win->layout->gen;
    v->start_ms = win->start_ms;
    v->g_ms = win->g_ms;
    v->frags = w->frags;
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
static void emit_window(void *ctx, hf_window *win)
{
    hf_worker *w = ctx;
    const hf_layout *l = win->layout;
    frags_reserve(w, l, win->nhosts);
    window_view(w, win);
    int64_t end = win->start_ms + win->g_ms;
    if (end > w->clock_ms) w->clock_ms = end;
    hf_alerts_expire(w->alerts, end);
    lua_call_ref(w, w->ref_emit, "emit");
    w->job.window = NULL;

    hf_record_batch *rb = &w->out;
    hf_buf *b = &rb->text;
    int flags = hf_alerts_any(w->alerts);
    for (uint32_t i = 0; i < win->nhosts; i++) {
        const hf_host *h = (const hf_host *)hf_window_row(win, i);
        uint64_t omit = win->omit_any ? hf_window_omit(win, i) : 0;
        if (flags) {            /* "alert":[...] for a host with an open alert */
            hf_record_host_begin(rb, win, h);
            hf_alerts_flag(w->alerts, h->addr, win->start_ms, end, b);
            hf_record_host_stats(rb);
        } else {
            hf_record_host_head(rb, win, h);
        }
        int first = 1;
        for (int a = 0; a < l->n; a++) {
            const hf_fragments *f = &w->frags[a];
            if (!f->len[i] || (omit >> a & 1)) continue;      /* none, or left out */
            if (!first) hf_buf_putc(b, ',');
            first = 0;
            hf_buf_putc(b, '"');
            hf_buf_puts(b, l->names[a]);
            hf_buf_puts(b, "\":");
            hf_buf_put(b, f->buf.data + f->off[i], f->len[i]);
        }
        hf_buf_puts(b, "}}");
        hf_record_end(rb);
        if (b->len >= (1 << 20) || i + 1 == win->nhosts) write_batch(w);
    }
    w->records += win->nhosts;
    if (w->alerts_out.n) {      /* the window's alerts, after its host records */
        hf_records view;
        hf_record_batch_view(&w->alerts_out, &view);
        if (w->sink->write(w->sink->ctx, &view) < 0) w->failed = 1;
        w->records += w->alerts_out.n;
        hf_record_batch_reset(&w->alerts_out);
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
    hf_lua_batch *v = &w->job.batch;
    v->flows = w->group_flows;
    v->rows = w->group_rows;
    v->n = n;
    v->gen = (int)win->layout->gen;
    v->not_run = 0;
    w->job.window = win;
    lua_call_ref(w, w->ref_process, "process");
    if (v->not_run) {                 /* analyses not run: their fields are partial */
        for (int i = 0; i < n; i++)
            hf_window_omit_set(win, ((const hf_host *)w->group_rows[i])->row, v->not_run);
    }
    w->job.window = NULL;
    v->n = 0;
    w->flows += (uint64_t)n;
}

static void publish_stats(hf_worker *w);
static void apply_commit(hf_worker *w, hf_plan *plan, int64_t from_ms);
static void retire_layouts(hf_worker *w);

void hf_worker_process(hf_worker *w, hf_batch *b)
{
    if (!w->job.shared) {              /* a worker nobody shared out: it has every host */
        w->job.shared = 1;
        profiles_load_pending(&w->job);
    }
    if (b->control) {
        apply_commit(w, b->control, b->control_from);
        hf_plan_release(b->control);
        b->control = NULL;
    }
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
        retire_layouts(w);
    }
    if (w->job.nprofiles && w->cfg->profiles_dir &&
        (b->final || hf_now_ns() - w->last_save_ns >= (double)w->cfg->profiles_save_ms * 1e6))
        save_profiles(w);
    publish_stats(w);
}

/* ------------------------------------------------------------------------
 * Hot reload: check, commit, retire (the plan comes from reload.c)
 * --------------------------------------------------------------------- */

static const char *const file_states[] = {"", "same", "new", "failed", "skipped"};

static double field_number(lua_State *L, int t, const char *k)
{
    lua_getfield(L, t, k);
    double v = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : 0;
    lua_pop(L, 1);
    return v;
}

static void field_string(lua_State *L, int t, const char *k, char *out, size_t n)
{
    lua_getfield(L, t, k);
    const char *v = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
    snprintf(out, n, "%s", v);
    lua_pop(L, 1);
}

/* Check the plan's files in this worker's state (the runtime's prepare)
 * and report what was found.  A failure of the runtime itself refuses
 * every new file. */
static void check_plan(hf_worker *w, hf_plan *plan)
{
    lua_State *L = w->L;
    double t0 = hf_now_ns();
    lua_pushliteral(L, "prepare");
    lua_pushnumber(L, (double)plan->id);
    lua_createtable(L, plan->nfiles, 0);
    for (int i = 0; i < plan->nfiles; i++) {
        lua_createtable(L, 0, 2);
        lua_pushstring(L, plan->paths[i]);
        lua_setfield(L, -2, "path");
        lua_pushlstring(L, plan->srcs[i], plan->lens[i]);
        lua_setfield(L, -2, "src");
        lua_rawseti(L, -2, i + 1);
    }
    lua_pushboolean(L, plan->manual);
    push_params(L, plan->params);
    hf_file_result *res = plan->results + (size_t)w->id * (size_t)plan->nfiles;
    int ok = lua_call_n(w, w->ref_control, 5, 1, "reload check") == 0;
    if (ok && !lua_istable(L, -1)) {
        lua_pop(L, 1);
        ok = 0;
    }
    if (!ok) {
        for (int i = 0; i < plan->nfiles; i++) {
            res[i].state = HF_FILE_FAILED;
            res[i].why = hf_strdup("the runtime failed to check it (see the error above)");
        }
    } else {
        int t = lua_gettop(L);
        for (int i = 0; i < plan->nfiles; i++) {
            lua_rawgeti(L, t, i + 1);
            int r = lua_gettop(L);
            char state[16];
            if (!lua_istable(L, r)) {
                lua_pop(L, 1);
                res[i].state = HF_FILE_FAILED;
                res[i].why = hf_strdup("the runtime gave no result for it");
                continue;
            }
            field_string(L, r, "state", state, sizeof state);
            res[i].state = HF_FILE_FAILED;
            for (int k = 1; k <= HF_FILE_SKIPPED; k++)
                if (strcmp(state, file_states[k]) == 0) res[i].state = k;
            field_string(L, r, "name", res[i].name, sizeof res[i].name);
            field_string(L, r, "old_name", res[i].old_name, sizeof res[i].old_name);
            res[i].version = field_number(L, r, "version");
            res[i].old_version = field_number(L, r, "old_version");
            lua_getfield(L, r, "why");
            if (lua_isstring(L, -1)) res[i].why = hf_strdup(lua_tostring(L, -1));
            else if (res[i].state == HF_FILE_FAILED) res[i].why = hf_strdup("(no reason given)");
            lua_pop(L, 2);
        }
        plan->removed[w->id] = (int)field_number(L, t, "removed");
        plan->disabled[w->id] = (int)field_number(L, t, "disabled");
        lua_pop(L, 1);
    }
    hf_log(HF_LOG_DEBUG, "worker %d: reload %llu checked in %.2f ms", w->id,
           (unsigned long long)plan->id, (hf_now_ns() - t0) / 1e6);
    hf_plan_report(plan);
}

/* Apply a decided plan: the runtime builds the new set of analyses in a new
 * layout, which windows starting at or after from_ms use. */
static void apply_commit(hf_worker *w, hf_plan *plan, int64_t from_ms)
{
    lua_State *L = w->L;
    double t0 = hf_now_ns();
    hf_layout *l = hf_malloc(sizeof *l);
    hf_layout_init(l);
    l->gen = w->last_gen + 1;
    lua_pushliteral(L, "commit");
    lua_pushnumber(L, (double)plan->id);
    lua_createtable(L, plan->nfiles, 0);
    for (int i = 0; i < plan->nfiles; i++) {
        lua_pushboolean(L, plan->accepted[i]);
        lua_rawseti(L, -2, i + 1);
    }
    if (from_ms == INT64_MIN) lua_pushnil(L);
    else lua_pushnumber(L, (double)from_ms);
    lua_pushlightuserdata(L, l);
    lua_pushinteger(L, (lua_Integer)l->gen);
    lua_pushboolean(L, plan->manual);
    int used = 0;
    if (lua_call_n(w, w->ref_control, 7, 1, "reload commit") == 0) {
        used = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    if (used) {
        w->last_gen = l->gen;
        hf_windows_switch(&w->windows, l, from_ms);
        w->layout = l;
        retire_layouts(w);
    } else {                         /* nothing changed, or it failed: keep the layout */
        hf_layout_release(l);
        hf_free(l);
    }
    hf_log(HF_LOG_DEBUG, "worker %d: reload %llu committed in %.2f ms", w->id,
           (unsigned long long)plan->id, (hf_now_ns() - t0) / 1e6);
}

/* Free the layouts (and the runtime's analyses of them) no window can use. */
static void retire_layouts(hf_worker *w)
{
    hf_layout *old;
    while ((old = hf_windows_retire(&w->windows, w->closed_until))) {
        lua_pushliteral(w->L, "retire");
        lua_pushinteger(w->L, (lua_Integer)old->gen);
        lua_call_n(w, w->ref_control, 2, 0, "reload retire");
        hf_layout_release(old);
        hf_free(old);
    }
}

/* A posted plan, taken (under no lock) and checked. */
static void check_posted(hf_worker *w)
{
    pthread_mutex_lock(&w->lock);
    hf_plan *plan = w->posted;
    w->posted = NULL;
    pthread_mutex_unlock(&w->lock);
    if (!plan) return;
    check_plan(w, plan);
    hf_plan_release(plan);
}

void hf_worker_post(hf_worker *w, hf_plan *plan)
{
    hf_plan_hold(plan);
    pthread_mutex_lock(&w->lock);
    hf_plan *old = w->posted;
    w->posted = plan;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    if (old) hf_plan_release(old);   /* not checked: that plan is not decided */
}

void hf_worker_poll(hf_worker *w)
{
    if (!w->started) check_posted(w);
}

int hf_worker_threaded(const hf_worker *w)
{
    return w->started;
}

void hf_worker_commit(hf_worker *w, hf_plan *plan, int64_t from_ms)
{
    hf_plan_hold(plan);
    hf_batch *b = hf_worker_batch(w);
    b->control = plan;
    b->control_from = from_ms;
    hf_worker_push(w, b);
}

double hf_worker_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The CPU time of the thread that runs w's Lua, in ns; -1 when unknown. */
static double runner_cpu_ns(hf_worker *w)
{
    clockid_t id;
    struct timespec ts;
    if (pthread_getcpuclockid(w->started ? w->thread : w->runner, &id) != 0 ||
        clock_gettime(id, &ts) != 0)
        return -1;
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* hf_worker_watch with watch_lock held, the worker's thread alive. */
static int watch_locked(hf_worker *w, double now_ns, double grace_ns, char *msg, size_t len)
{
    volatile hf_job *job = &w->job;
    int slot = job->current;
    double t0 = job->current_t0, cpu0 = job->current_cpu0, limit = job->current_limit;
    if (slot < 0 || slot >= HF_MAX_ANALYSES || t0 <= 0 || limit <= 0) return 0;
    if (slot != job->current || t0 != job->current_t0) return 0;   /* it moved on */
    double ran = now_ns - t0, cpu = runner_cpu_ns(w);
    double used = cpu >= 0 ? cpu - cpu0 : ran;
    const char *name = w->slot_names + (size_t)slot * HF_NAME_MAX;
    if (ran > limit + grace_ns && grace_ns > 0) {
        snprintf(msg, len, "watchdog: analysis %s has run for %.1f s in worker %d (its time is "
                 "%.0f ms; analyses.watchdog gives %.1f s more) and could not be interrupted: "
                 "%s.  Stopping hostflow so that it can be "
                 "restarted: records of windows still open are not written (a Kafka input is "
                 "read again from the last committed offset).  Fix or remove the analysis first",
                 name, ran / 1e9, w->id, limit / 1e6, grace_ns / 1e9,
                 used > limit ? "an endless loop in compiled code" : "it waits (blocking I/O?)");
        return 1;
    }
    if (used > limit && w->interrupted_t0 != t0) {
        w->interrupted_t0 = t0;
        hf_log(HF_LOG_WARN, "watchdog: analysis %s has run for %.0f ms in worker %d (its time: "
               "%.0f ms): interrupting it", name, used / 1e6, w->id, limit / 1e6);
        atomic_store(&w->interrupt_slot, slot);
        pthread_kill(w->started ? w->thread : w->runner, HF_SIG_INTERRUPT);
    }
    return 0;
}

/* The thread handle is used (CPU clock, signal) only while the thread has
 * not ended: it marks its end under watch_lock, so it cannot be joined, and
 * its handle freed, while the watchdog holds it. */
int hf_worker_watch(hf_worker *w, double now_ns, double grace_ns, char *msg, size_t len)
{
    pthread_mutex_lock(&w->watch_lock);
    int rc = w->exited ? 0 : watch_locked(w, now_ns, grace_ns, msg, len);
    pthread_mutex_unlock(&w->watch_lock);
    return rc;
}

/* ------------------------------------------------------------------------
 * Lifecycle and threads
 * --------------------------------------------------------------------- */

hf_worker *hf_worker_new(int id, const hf_config *cfg, const char *lua_dir,
                         const hf_record_sink *sink, size_t mem_limit, char *err, size_t errlen)
{
    pthread_once(&interrupt_once, interrupt_install);
    hf_worker *w = hf_calloc(1, sizeof *w);
    w->id = id;
    w->cfg = cfg;
    w->sink = sink;
    w->closed_until = INT64_MIN;
    w->pool = hf_pool_new(mem_limit);
    w->layout = hf_malloc(sizeof *w->layout);
    hf_layout_init(w->layout);
    hf_record_batch_init(&w->out);
    hf_record_batch_init(&w->alerts_out);
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
    w->done = hf_malloc((size_t)cfg->batch);
    for (int a = 0; a < HF_MAX_ANALYSES; a++) hf_buf_init(&w->frags[a].buf, 4096);
    w->job.analysis_ns = w->analysis_ns;
    w->job.result_ns = w->result_ns;
    w->job.analysis_errors = w->analysis_errors;
    w->job.worker = id;
    w->job.current = -1;
    w->job.slot_names = w->slot_names;
    w->job.slot_disabled = w->slot_disabled;
    w->runner = pthread_self();
    pthread_mutex_init(&w->watch_lock, NULL);
    atomic_init(&w->interrupt_slot, -1);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    if (lua_setup(w, lua_dir, err, errlen) < 0) {
        hf_worker_free(w);
        return NULL;
    }
    hf_windows_init(&w->windows, cfg->windows_ms, cfg->nwindows, w->layout, w->pool);
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
        st.profile_expired += ps.expired;
        st.profile_skipped += ps.skipped;
        st.profile_absorbed += ps.absorbed;
        st.profile_bytes += ps.bytes;
    }
    st.durable_until = w->cfg->profiles_dir && w->job.nprofiles ? w->saved_until : w->closed_until;
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
    profiles_load_pending(&w->job);
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
    b->n = 0;
    b->final = 0;
    b->boundary = INT64_MIN;
    b->boundary_ns = 0;
    b->next = NULL;
    b->control = NULL;
    b->control_from = INT64_MIN;
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
        if (w->posted) {               /* a reload to check, between two batches */
            pthread_mutex_unlock(&w->lock);
            check_posted(w);
            continue;
        }
        if (w->save_asked) {           /* the profiles, saved now (hf_worker_save) */
            pthread_mutex_unlock(&w->lock);
            save_profiles(w);
            publish_stats(w);
            pthread_mutex_lock(&w->lock);
            w->save_asked = 0;
            pthread_cond_broadcast(&w->cond);
            pthread_mutex_unlock(&w->lock);
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
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

void hf_worker_save(hf_worker *w)
{
    if (!w->started) {                 /* one worker: here */
        save_profiles(w);
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
        hf_free(b->flows);
        hf_free(b);
    }
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
    hf_record_batch_release(&w->out);
    hf_record_batch_release(&w->alerts_out);
    hf_alerts_free(w->alerts);
    hf_free(w->group_flows);
    hf_free(w->group_rows);
    hf_free(w->view_rows);
    hf_free(w->view_omit);
    hf_free(w->done);
    hf_pool_free(w->pool);
    pthread_mutex_destroy(&w->lock);
    pthread_mutex_destroy(&w->watch_lock);
    pthread_cond_destroy(&w->cond);
    hf_free(w);
}
