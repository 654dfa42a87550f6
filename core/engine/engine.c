/* engine.c -- the workers and their supervisor, behind the shard table the
 * pipeline writes to (see engine.h). */
#include "engine/engine.h"

#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/cpus.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "engine/reload.h"

struct hf_engine {
    const hf_config *cfg;
    int              nworkers;
    hf_worker      **workers;
    hf_reload       *reload;
    hf_shards        shards;
    int              joined;
    const hf_changelog *changelog;
};

/* ------------------------------------------------------------------------
 * The shard table
 * --------------------------------------------------------------------- */

static hf_batch *shard_batch(void *ctx, int i)
{
    hf_engine *e = ctx;
    return hf_worker_batch(e->workers[i]);
}

static void shard_push(void *ctx, int i, hf_batch *b)
{
    hf_engine *e = ctx;
    hf_worker_push(e->workers[i], b);
}

/* The lowest granularity boundary every worker has emitted through. */
static int64_t shard_emitted_until(void *ctx)
{
    hf_engine *e = ctx;
    int64_t d = INT64_MAX;
    for (int i = 0; i < e->nworkers; i++) {
        hf_worker_stats st;
        hf_worker_stats_get(e->workers[i], &st);
        if (st.closed_until < d) d = st.closed_until;
    }
    return d;
}

/* The lowest boundary through which every worker has emitted its windows
 * and saved its profiles (profile.h): what the inputs may commit. */
static int64_t shard_durable_until(void *ctx)
{
    hf_engine *e = ctx;
    int64_t d = INT64_MAX;
    for (int i = 0; i < e->nworkers; i++) {
        hf_worker_stats st;
        hf_worker_stats_get(e->workers[i], &st);
        if (st.durable_until < d) d = st.durable_until;
    }
    return d;
}

static void shard_sync(void *ctx)
{
    hf_engine *e = ctx;
    for (int i = 0; i < e->nworkers; i++) hf_worker_sync(e->workers[i]);
}

static void shard_poll(void *ctx, double max_end)
{
    hf_engine *e = ctx;
    hf_reload_poll(e->reload, max_end);
}

/* ------------------------------------------------------------------------
 * Life
 * --------------------------------------------------------------------- */

int hf_engine_cpus(void)
{
    return hf_cpus_usable();
}

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* One worker to make, on a thread of its own (make_workers). */
typedef struct making {
    hf_engine  *e;
    int         id;
    const char *lua_dir;
    const hf_record_sink *sink;
    const hf_plan *files;
    pthread_t   thread;
    int         threaded;
    char        err[8192];
} making;

/* Worker m->id: its Lua state and analyses, then its share of the hosts
 * and the saved profiles of those hosts. */
static void *make_worker(void *arg)
{
    making *m = arg;
    hf_engine *e = m->e;
    hf_worker *w = hf_worker_new(m->id, e->cfg, m->lua_dir, m->sink,
                                 e->cfg->memory_max / (size_t)e->nworkers, m->files,
                                 m->files && m->id > 0, m->err, sizeof m->err);
    if (w) hf_worker_share(w, e->nworkers);
    e->workers[m->id] = w;
    return NULL;
}

/* Make the workers.  The analysis files are read once, for all of them:
 * every worker runs the same text of each, and the workers after the
 * first skip the sample runs of the texts it checked.  Worker 0 is made
 * here first, with its share of the saved profiles: an analysis that does
 * not load fails the start once, and a profile file that is corrupt or of
 * another version is reported and set aside once, by worker 0, before any
 * other worker lists the directory.  Then the others are made at once,
 * each on a thread of its own but the last, made here.  Each worker's Lua
 * state takes about 10 ms, and every worker reads every saved profile
 * file for its own hosts: one after another, they held up the start about
 * N times as long as one.  Signals are blocked on those threads, as on the
 * workers' (they are the reader's).  On a failure, err says why for the
 * worker of the lowest id. */
static int make_workers(hf_engine *e, const char *lua_dir, const hf_record_sink *sink,
                        const hf_plan *files, char *err, size_t errlen)
{
    int n = e->nworkers, rc = 0;
    making *m = hf_calloc((size_t)n, sizeof *m);
    for (int i = 0; i < n; i++)
        m[i] = (making){.e = e, .id = i, .lua_dir = lua_dir, .sink = sink, .files = files};
    make_worker(&m[0]);
    if (e->workers[0]) {
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        for (int i = 1; i < n - 1; i++) {
            m[i].threaded = pthread_create(&m[i].thread, NULL, make_worker, &m[i]) == 0;
            if (!m[i].threaded) make_worker(&m[i]);      /* no thread: here, in turn */
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (n > 1) make_worker(&m[n - 1]);               /* the last one here */
        for (int i = 1; i < n; i++)
            if (m[i].threaded) pthread_join(m[i].thread, NULL);
    }
    for (int i = 0; i < n && rc == 0; i++)
        if (!e->workers[i]) {
            snprintf(err, errlen, "%s", m[i].err);
            rc = -1;
        }
    hf_free(m);
    return rc;
}

hf_engine *hf_engine_new(const hf_config *cfg, const char *lua_dir, const hf_record_sink *sink,
                         char *err, size_t errlen)
{
    hf_engine *e = hf_calloc(1, sizeof *e);
    char ignored[256];                               /* the workers say it again */
    hf_plan *files = hf_plan_start(cfg->analyses_dir, ignored, sizeof ignored);
    e->cfg = cfg;
    e->nworkers = cfg->workers > 0 ? cfg->workers : hf_engine_cpus();
    e->workers = hf_calloc((size_t)e->nworkers, sizeof(hf_worker *));
    if (make_workers(e, lua_dir, sink, files, err, errlen) < 0) goto fail;
    if (e->nworkers > 1)
        for (int i = 0; i < e->nworkers; i++)
            if (hf_worker_start(e->workers[i]) < 0) {
                snprintf(err, errlen, "cannot start worker thread %d", i);
                goto fail;
            }
    int64_t base_ms = 0;
    for (int i = 0; i < cfg->nwindows; i++) base_ms = gcd64(base_ms, cfg->windows_ms[i]);
    e->reload = hf_reload_new(cfg, e->workers, e->nworkers, base_ms, files, err, errlen);
    if (!e->reload) goto fail;
    hf_plan_release(files);
    e->shards = (hf_shards){e->nworkers, e, shard_batch, shard_push, shard_emitted_until, shard_poll,
                            shard_sync, shard_durable_until};
    return e;
fail:
    hf_plan_release(files);
    hf_engine_free(e);
    return NULL;
}

const hf_shards *hf_engine_shards(hf_engine *e)
{
    return &e->shards;
}

int hf_engine_workers(const hf_engine *e)
{
    return e->nworkers;
}

void hf_engine_reload(hf_engine *e)
{
    hf_reload_request(e->reload, 1);
}

void hf_engine_persist(hf_engine *e)
{
    for (int i = 0; i < e->nworkers; i++) hf_worker_save(e->workers[i]);
}

void hf_engine_changelog(hf_engine *e, const hf_changelog *cl)
{
    e->changelog = cl;
    for (int i = 0; i < e->nworkers; i++) hf_worker_changelog(e->workers[i], cl);
}

/* A changelog message to the worker whose host its key names ("NAME/
 * ADDRESS"); one whose key names no host goes to worker 0, which says so. */
static void restore_one(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    hf_engine *e = ctx;
    uint8_t addr[16];
    int w = key && hf_changelog_key_host(key, klen, addr) >= 0 ? hf_hash_shard(addr, e->nworkers) : 0;
    hf_worker_restore(e->workers[w], key ? key : "", key ? klen : 0, val, vlen);
}

void hf_engine_restore(hf_engine *e)
{
    if (!e || !e->changelog) return;
    char err[1024];
    double t0 = hf_now_ns();
    if (e->changelog->read(e->changelog->ctx, restore_one, e, err, sizeof err) < 0)
        hf_log(HF_LOG_ERROR, "profiles.topic %s: %s; the hosts whose rows were not read start with "
               "empty profiles here", e->changelog->topic, err);
    else
        hf_log(HF_LOG_INFO, "profiles.topic %s: read to its end in %.1f s", e->changelog->topic,
               (hf_now_ns() - t0) / 1e9);
}

/* After a run whose every worker saved its profiles at the end: the files
 * of runs with another number of workers (NAME.W-of-M.hfp, M not ours)
 * hold nothing newer, so they go. */
static void remove_stale_profiles(hf_engine *e)
{
    const char *dir = e->cfg->profiles_dir;
    if (!dir) return;
    for (int i = 0; i < e->nworkers; i++) {
        hf_worker_stats st;
        hf_worker_stats_get(e->workers[i], &st);
        if (st.durable_until != INT64_MAX || st.profile_save_errors) return;
    }
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *ent;
    while ((ent = readdir(d))) {
        const char *of = strstr(ent->d_name, "-of-");
        size_t len = strlen(ent->d_name);
        if (!of || len < 4 || strcmp(ent->d_name + len - 4, ".hfp") != 0) continue;
        int m = atoi(of + 4);
        if (m <= 0 || m == e->nworkers) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        if (unlink(path) == 0)
            hf_log(HF_LOG_INFO, "profiles: removed %s (of a run with %d workers: its hosts are in "
                   "this run's files now)", path, m);
    }
    closedir(d);
}

void hf_engine_on_watchdog_exit(hf_engine *e, void (*fn)(void *ctx), void *ctx)
{
    hf_reload_on_exit(e->reload, fn, ctx);
}

void hf_engine_join(hf_engine *e)
{
    if (e->joined) return;
    e->joined = 1;
    hf_reload_close(e->reload);
    for (int i = 0; i < e->nworkers; i++)
        if (e->workers[i]) hf_worker_join(e->workers[i]);
    remove_stale_profiles(e);
}

void hf_engine_totals_get(hf_engine *e, hf_engine_totals *t)
{
    memset(t, 0, sizeof *t);
    if (!e) return;                    /* the relay has none */
    t->nworkers = e->nworkers;
    t->closed_until = INT64_MAX;
    for (int i = 0; i < e->nworkers; i++) {
        hf_worker_stats st;
        hf_worker_stats_get(e->workers[i], &st);
        if (st.closed_until < t->closed_until) t->closed_until = st.closed_until;
        t->w.flows += st.flows;
        t->w.partials += st.partials;
        t->w.partial_bytes += st.partial_bytes;
        t->w.hosts_refused += st.hosts_refused;
        t->w.states_refused += st.states_refused;
        t->w.records += st.records;
        t->w.alerts_raised += st.alerts_raised;
        t->w.alerts_updated += st.alerts_updated;
        t->w.alerts_held += st.alerts_held;
        t->w.alerts_evicted += st.alerts_evicted;
        t->w.alerts_open += st.alerts_open;
        t->w.profile_hosts += st.profile_hosts;
        t->w.profile_refused += st.profile_refused;
        t->w.profile_refused_memory += st.profile_refused_memory;
        t->w.profile_expired += st.profile_expired;
        t->w.profile_skipped += st.profile_skipped;
        t->w.profile_absorbed += st.profile_absorbed;
        t->w.profile_bytes += st.profile_bytes;
        t->w.profile_saves += st.profile_saves;
        t->w.log_events += st.log_events;
        t->w.profile_save_errors += st.profile_save_errors;
        t->w.profile_aside += st.profile_aside;
        t->w.changelog_published += st.changelog_published;
        t->w.changelog_taken += st.changelog_taken;
        t->w.changelog_refused += st.changelog_refused;
        t->w.changelog_other += st.changelog_other;
        t->w.mem_bytes += st.mem_bytes;
        t->w.mem_peak += st.mem_peak;
        for (int d = 0; d < HF_DELAY_BUCKETS; d++) t->w.close_delay[d] += st.close_delay[d];
        t->w.nlevels = st.nlevels;
        for (int l = 0; l < st.nlevels; l++) {
            t->w.hosts[l] += st.hosts[l];
            t->w.gran_ms[l] = st.gran_ms[l];
            if (st.windows[l] > t->windows_max[l]) t->windows_max[l] = st.windows[l];
        }
        t->w.nanalyses = st.nanalyses;
        for (int a = 0; a < st.nanalyses; a++) {
            t->w.analysis_names[a] = st.analysis_names[a];
            t->w.analysis_ns[a] += st.analysis_ns[a];
            t->w.result_ns[a] += st.result_ns[a];
            t->w.analysis_errors[a] += st.analysis_errors[a];
            t->w.analysis_disabled[a] |= st.analysis_disabled[a];
        }
    }
}

void hf_engine_free(hf_engine *e)
{
    if (!e) return;
    if (e->workers) hf_engine_join(e);
    hf_reload_free(e->reload);
    for (int i = 0; i < e->nworkers && e->workers; i++) hf_worker_free(e->workers[i]);
    hf_free(e->workers);
    hf_free(e);
}
