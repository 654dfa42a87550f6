/* worker_lua.c -- a worker's Lua state: the runtime and the analyses
 * loaded into it, the calls into it, the functions it calls back
 * (hf_job_*), the interrupt and the watchdog's view, and the reload checks
 * and commits that run in it (see worker.h, reload.h).
 *
 * Interrupting Lua: the watchdog (another thread) sends the thread that
 * runs a worker's Lua HF_SIG_INTERRUPT; the handler sets a hook on that
 * thread's own state (as luajit.c does for Ctrl-C), and the hook raises an
 * error inside the analysis that has run too long, which the runtime
 * catches like any of its errors.  Compiled code (a LuaJIT trace) never
 * looks at hooks: an analysis looping there is reported and hostflow stops
 * (hf_worker_watch, reload.c). */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/luastate.h"
#include "base/timefmt.h"
#include "engine/alerts.h"
#include "engine/worker.h"
#include "engine/worker_impl.h"

/* The worker whose Lua runs on this thread now (for the interrupt). */
static _Thread_local hf_worker *volatile running;

/* ------------------------------------------------------------------------
 * Lua
 * --------------------------------------------------------------------- */

/* Push the paths of files (a list) and their texts (a table by index, with
 * none where the file could not be read: the runtime reads it itself). */
static void push_plan_files(lua_State *L, const hf_plan *files)
{
    lua_createtable(L, files->nfiles, 0);
    for (int i = 0; i < files->nfiles; i++) {
        lua_pushstring(L, files->paths[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_createtable(L, files->nfiles, 0);
    for (int i = 0; i < files->nfiles; i++) {
        if (!files->srcs[i]) continue;
        lua_pushlstring(L, files->srcs[i], files->lens[i]);
        lua_rawseti(L, -2, i + 1);
    }
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
int hf_worker_lua_setup(hf_worker *w, const char *lua_dir, const hf_plan *files, int checked,
                        char *err, size_t errlen)
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
    lua_pushnumber(L, w->cfg->max_host_errors);
    lua_setfield(L, -2, "max_host_errors");
    lua_pushnumber(L, (double)w->cfg->max_memory);
    lua_setfield(L, -2, "max_memory");
    lua_pushnumber(L, (double)w->cfg->max_result);
    lua_setfield(L, -2, "max_result");
    push_names(L, w->cfg->trusted.v, w->cfg->trusted.n);
    lua_setfield(L, -2, "trusted");
    lua_pushlightuserdata(L, w->layout);
    lua_setfield(L, -2, "layout");
    lua_pushinteger(L, w->id);
    lua_setfield(L, -2, "worker");
    lua_pushinteger(L, w->cfg->distinct_exact);
    lua_setfield(L, -2, "distinct_exact");
    lua_pushinteger(L, w->cfg->batch);
    lua_setfield(L, -2, "batch");
    lua_pushboolean(L, hf_log_level >= HF_LOG_DEBUG);
    lua_setfield(L, -2, "verbose");
    hf_plan *own = files ? NULL : hf_plan_start(w->cfg->analyses_dir, err, errlen);
    if (!files && !own) return -1;
    push_plan_files(L, files ? files : own);
    hf_plan_release(own);
    lua_setfield(L, -3, "srcs");
    lua_setfield(L, -2, "files");
    lua_pushboolean(L, checked);
    lua_setfield(L, -2, "checked");
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
    if (slot < 0 || atomic_load_explicit(&w->job.current, memory_order_relaxed) != slot) {
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
    if (w && w->L && atomic_load_explicit(&w->job.current, memory_order_relaxed) >= 0)   /* in an analysis, not a check */
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

void hf_worker_lua_install(void)
{
    pthread_once(&interrupt_once, interrupt_install);
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
    atomic_store_explicit(&w->job.current, -1, memory_order_release);
    if (rc != 0) {
        hf_log(HF_LOG_ERROR, "worker %d: %s: %s", w->id, what, lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}

void hf_worker_lua_call(hf_worker *w, int ref, const char *what)
{
    lua_call_n(w, ref, 0, 0, what);
}

void hf_worker_lua_finish(hf_worker *w)
{
    lua_pushliteral(w->L, "finish");
    lua_call_n(w, w->ref_control, 1, 0, "finish");
}

/* ------------------------------------------------------------------------
 * The worker's controls, for the Lua side (worker.h)
 * --------------------------------------------------------------------- */

void hf_job_omit(hf_job *job, uint8_t *row, uint64_t bits)
{
    if (job->window) hf_window_omit_set(job->window, ((const hf_host *)(const void *)row)->row, bits);
}

uint8_t *hf_job_sparse(hf_job *job, uint8_t **rows, int i, const hf_flow *flow, int index, int received)
{
    if (!job->window) return NULL;
    hf_window *t;
    if (job->sparse_from == job->window && job->sparse_index == index) {   /* as for the flow before */
        t = job->sparse_to;
        index = job->sparse_to_index;
    } else {
        job->sparse_from = job->window;
        job->sparse_index = index;
        t = job->sparse_to = hf_windows_sparse_target(job->windows, job->window, &index);
        job->sparse_to_index = index;
    }
    if (!t) return NULL;
    hf_arena_set_current(t->arena);             /* the state's sets grow in its window */
    uint8_t *row = rows[i];
    if (t != job->window || !row) {             /* by the host's address */
        const uint8_t *addr = received ? flow->dst : flow->src;
        return hf_window_sparse_host(job->windows, t, addr, flow->family, index, received);
    }
    return hf_window_sparse_at(job->windows, t, row, index);
}

void hf_job_arena_reset(hf_job *job)
{
    if (job->window) hf_arena_set_current(job->window->arena);
}

void hf_job_running(hf_job *job, int slot, double t0, double cpu0, double limit)
{
    if (slot < 0) {
        atomic_store_explicit(&job->current, -1, memory_order_release);
        return;
    }
    atomic_store_explicit(&job->current_t0, t0, memory_order_relaxed);
    atomic_store_explicit(&job->current_cpu0, cpu0, memory_order_relaxed);
    atomic_store_explicit(&job->current_limit, limit, memory_order_relaxed);
    atomic_store_explicit(&job->current, slot, memory_order_release);
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
void hf_worker_apply_commit(hf_worker *w, hf_plan *plan, int64_t from_ms)
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
        hf_worker_retire_layouts(w);
    } else {                         /* nothing changed, or it failed: keep the layout */
        hf_layout_release(l);
        hf_free(l);
    }
    hf_log(HF_LOG_DEBUG, "worker %d: reload %llu committed in %.2f ms", w->id,
           (unsigned long long)plan->id, (hf_now_ns() - t0) / 1e6);
}

/* Free the layouts (and the runtime's analyses of them) no window can use. */
void hf_worker_retire_layouts(hf_worker *w)
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
void hf_worker_check_posted(hf_worker *w)
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
    if (!w->started) hf_worker_check_posted(w);
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
    hf_job *job = &w->job;
    int slot = atomic_load_explicit(&job->current, memory_order_acquire);
    /* acquired too, so that the second look at current comes after them */
    double t0 = atomic_load_explicit(&job->current_t0, memory_order_acquire),
           cpu0 = atomic_load_explicit(&job->current_cpu0, memory_order_acquire),
           limit = atomic_load_explicit(&job->current_limit, memory_order_acquire);
    if (slot < 0 || slot >= HF_MAX_ANALYSES || t0 <= 0 || limit <= 0) return 0;
    if (slot != atomic_load_explicit(&job->current, memory_order_relaxed) ||
        t0 != atomic_load_explicit(&job->current_t0, memory_order_relaxed))
        return 0;                                                    /* it moved on */
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
