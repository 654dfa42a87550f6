/* reload.c -- the analyses' supervisor: an inotify watch of the analyses
 * directory, SIGHUP, the reload plans, and the watchdog (see reload.h).
 *
 * Threads and what they touch:
 *
 *   supervisor   poll(wake pipe, inotify, 100 ms); a change settles for
 *                SETTLE_MS before it counts (an editor saves in steps);
 *                makes plans, posts them, frees them when done; watchdog
 *   workers      check a posted plan; the last report decides (decide())
 *   reader       hf_reload_poll(): an unthreaded worker's check, and the
 *                commit of a decided plan
 *
 * r->lock guards r->plan; a plan's own fields are written before it is
 * posted (files) or by one worker each (results), and read after the
 * reports counter says all are in. */
#include "engine/reload.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/timefmt.h"

#define SETTLE_MS      200          /* quiet time after the last change */
#define TICK_MS        100          /* the watchdog's period */
#define MAX_FILE_BYTES (4 << 20)    /* a bigger "analysis" is refused */

enum { REQ_CHANGE = 1, REQ_MANUAL = 2 };

struct hf_reload {
    const hf_config *cfg;
    hf_worker      **workers;
    int              nworkers;
    int64_t          base_ms;
    int              ino;           /* inotify, -1 when not watching */
    int              wake[2];       /* a byte: look again */
    pthread_t        thread;
    int              started;
    atomic_int       requested;     /* REQ_* */
    atomic_int       attention;     /* the reader has something to do */
    atomic_int       closing;       /* no more plans or commits */
    atomic_int       quit;
    pthread_mutex_t  lock;
    hf_plan         *plan;          /* in flight, under lock */
    uint64_t         next_id;
    int              dirty;         /* supervisor only: changes not yet settled */
    double           dirty_ns;
    void           (*on_exit)(void *ctx);   /* before the watchdog's _exit */
    void            *on_exit_ctx;
};

static void wake(hf_reload *r)
{
    char c = 1;
    ssize_t n = write(r->wake[1], &c, 1);   /* full pipe: already awake */
    (void)n;
}

/* ------------------------------------------------------------------------
 * Plans
 * --------------------------------------------------------------------- */

/* The last worker has reported (plan.c decided): commit at the reader's
 * next record, or done. */
static void decided(hf_plan *p, int changes)
{
    hf_reload *r = p->owner;
    if (changes) {
        atomic_store(&p->state, HF_PLAN_DECIDED);
        atomic_store(&r->attention, 1);
    } else {
        if (p->manual) hf_log(HF_LOG_INFO, "analyses: reload: nothing has changed");
        atomic_store(&p->state, HF_PLAN_DONE);
    }
    wake(r);
}

/* analyses.params as the configuration file says now (it is read again at
 * every reload, so a parameter changes like the code does); the run's own
 * when there is no file or it cannot be read (logged).  Caller frees. */
static char *current_params(hf_reload *r)
{
    const char *keep = r->cfg->params;
    if (!r->cfg->path) return keep ? hf_strdup(keep) : NULL;
    hf_config now;
    char err[1024];
    hf_config_defaults(&now, r->cfg->home);
    char *params = NULL;
    if (hf_config_load(&now, r->cfg->path, err, sizeof err) < 0) {
        hf_log(HF_LOG_ERROR, "reload: %s; the analyses' parameters stay as they were", err);
        params = keep ? hf_strdup(keep) : NULL;
    } else if (now.params) {
        params = hf_strdup(now.params);
    }
    hf_config_release(&now);
    return params;
}

/* A new plan of every analysis file, for all workers.  NULL when the
 * directory cannot be read (logged). */
static hf_plan *plan_new(hf_reload *r, int manual)
{
    char err[512];
    hf_plan *p = hf_plan_new(r->cfg->analyses_dir, ++r->next_id, manual, r->nworkers, err, sizeof err);
    if (!p) {
        hf_log(HF_LOG_ERROR, "reload: %s; the analyses running stay", err);
        return NULL;
    }
    p->owner = r;
    p->decided = decided;
    p->params = current_params(r);
    return p;
}

/* ------------------------------------------------------------------------
 * The reading thread's part
 * --------------------------------------------------------------------- */

void hf_reload_poll(hf_reload *r, double max_end)
{
    if (!r || !atomic_load_explicit(&r->attention, memory_order_acquire)) return;
    atomic_store(&r->attention, 0);
    pthread_mutex_lock(&r->lock);
    hf_plan *plan = r->plan;
    if (plan) hf_plan_hold(plan);
    pthread_mutex_unlock(&r->lock);
    if (!plan) return;
    if (atomic_load(&plan->state) == HF_PLAN_CHECKING)
        for (int i = 0; i < r->nworkers; i++) hf_worker_poll(r->workers[i]);
    if (atomic_load(&plan->state) == HF_PLAN_DECIDED && !atomic_load(&r->closing)) {
        /* the base window after every flow fed so far: no window starting
         * there exists yet, in any worker */
        int64_t from = INT64_MIN;
        if (max_end > -INFINITY) {
            int64_t t = (int64_t)floor(max_end);
            int64_t q = t / r->base_ms;
            if (t % r->base_ms < 0) q--;
            from = (q + 1) * r->base_ms;
        }
        for (int i = 0; i < r->nworkers; i++) hf_worker_commit(r->workers[i], plan, from);
        atomic_store(&plan->state, HF_PLAN_DONE);
        wake(r);
    }
    hf_plan_release(plan);
}

/* ------------------------------------------------------------------------
 * The supervisor thread
 * --------------------------------------------------------------------- */

/* Read what inotify has; note a change to an analysis file. */
static void read_events(hf_reload *r)
{
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(r->ino, buf, sizeof buf);
        if (n <= 0) return;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *e = (const struct inotify_event *)(void *)p;
            p += sizeof *e + e->len;
            if (e->mask & IN_Q_OVERFLOW) {
                r->dirty = 1;
            } else if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
                hf_log(HF_LOG_WARN, "reload: %s was removed or moved: no longer watched "
                       "(SIGHUP still reloads)", r->cfg->analyses_dir);
            } else if (e->len && hf_is_analysis_file(e->name)) {
                r->dirty = 1;
            }
            if (r->dirty) r->dirty_ns = hf_now_ns();
        }
    }
}

/* Free a finished plan; start the next one when asked for. */
static void next_plan(hf_reload *r)
{
    hf_plan *done = NULL;
    pthread_mutex_lock(&r->lock);
    if (r->plan && atomic_load(&r->plan->state) == HF_PLAN_DONE) {
        done = r->plan;
        r->plan = NULL;
    }
    int idle = r->plan == NULL;
    pthread_mutex_unlock(&r->lock);
    hf_plan_release(done);
    if (!idle || atomic_load(&r->closing) || !atomic_load(&r->requested)) return;

    int req = atomic_exchange(&r->requested, 0);
    hf_plan *p = plan_new(r, (req & REQ_MANUAL) != 0);
    if (!p) return;
    hf_log(HF_LOG_INFO, "analyses: reloading (%s): %d file%s to check",
           (req & REQ_MANUAL) ? "SIGHUP" : "a change in the directory", p->nfiles,
           p->nfiles == 1 ? "" : "s");
    pthread_mutex_lock(&r->lock);
    r->plan = p;
    pthread_mutex_unlock(&r->lock);
    int unthreaded = 0;
    for (int i = 0; i < r->nworkers; i++) {
        hf_worker_post(r->workers[i], p);
        if (!hf_worker_threaded(r->workers[i])) unthreaded = 1;
    }
    if (unthreaded) atomic_store(&r->attention, 1);
}

static void watchdog(hf_reload *r)
{
    double now = hf_now_ns();
    double grace = (double)r->cfg->watchdog_ms * 1e6;
    char msg[1024];
    for (int i = 0; i < r->nworkers; i++)
        if (hf_worker_watch(r->workers[i], now, grace, msg, sizeof msg)) {
            hf_log(HF_LOG_ERROR, "%s", msg);
            if (r->on_exit) r->on_exit(r->on_exit_ctx);
            _exit(HF_EXIT_WATCHDOG);
        }
}

void hf_reload_on_exit(hf_reload *r, void (*fn)(void *ctx), void *ctx)
{
    r->on_exit_ctx = ctx;
    r->on_exit = fn;
}

static void *supervisor_main(void *arg)
{
    hf_reload *r = arg;
    while (!atomic_load(&r->quit)) {
        struct pollfd fds[2] = {{r->wake[0], POLLIN, 0}, {r->ino, POLLIN, 0}};
        int n = poll(fds, r->ino >= 0 ? 2 : 1, TICK_MS);
        if (n > 0 && (fds[0].revents & POLLIN)) {
            char drain[64];
            while (read(r->wake[0], drain, sizeof drain) > 0) {}
        }
        if (n > 0 && r->ino >= 0 && (fds[1].revents & POLLIN)) read_events(r);
        if (r->dirty && hf_now_ns() - r->dirty_ns >= SETTLE_MS * 1e6) {
            r->dirty = 0;
            atomic_fetch_or(&r->requested, REQ_CHANGE);
        }
        next_plan(r);
        watchdog(r);
    }
    return NULL;
}

/* ------------------------------------------------------------------------
 * API
 * --------------------------------------------------------------------- */

hf_reload *hf_reload_new(const hf_config *cfg, hf_worker **workers, int nworkers,
                         int64_t base_ms, const hf_plan *started, char *err, size_t errlen)
{
    hf_reload *r = hf_calloc(1, sizeof *r);
    r->cfg = cfg;
    r->workers = workers;
    r->nworkers = nworkers;
    r->base_ms = base_ms;
    r->ino = -1;
    r->wake[0] = r->wake[1] = -1;
    pthread_mutex_init(&r->lock, NULL);
    if (pipe2(r->wake, O_NONBLOCK | O_CLOEXEC) < 0) {
        snprintf(err, errlen, "reload: cannot make a pipe: %s", strerror(errno));
        goto fail;
    }
    if (cfg->reload) {              /* without a watch hostflow runs on: SIGHUP reloads */
        r->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (r->ino < 0 ||
            inotify_add_watch(r->ino, cfg->analyses_dir, IN_CLOSE_WRITE | IN_MOVED_TO |
                              IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
            hf_log(HF_LOG_WARN, "analyses.dir: cannot watch \"%s\" for changes (%s): only "
                   "SIGHUP reloads the analyses", cfg->analyses_dir, strerror(errno));
            if (r->ino >= 0) close(r->ino);
            r->ino = -1;
        }
    }
    if (r->ino >= 0 && started) {   /* watched from now on: a change before it, a reload */
        char ignored[256];
        hf_plan *now = hf_plan_start(cfg->analyses_dir, ignored, sizeof ignored);
        if (now && !hf_plan_same_files(started, now)) {
            hf_log(HF_LOG_INFO, "analyses: a file changed while the workers were made");
            atomic_store(&r->requested, REQ_CHANGE);
        }
        hf_plan_release(now);
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);      /* signals are other threads' */
    int rc = pthread_create(&r->thread, NULL, supervisor_main, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "reload: cannot start the supervisor thread");
        goto fail;
    }
    r->started = 1;
    return r;
fail:
    hf_reload_free(r);
    return NULL;
}

void hf_reload_request(hf_reload *r, int manual)
{
    if (!r) return;
    atomic_fetch_or(&r->requested, manual ? REQ_MANUAL : REQ_CHANGE);
    wake(r);
}

void hf_reload_close(hf_reload *r)
{
    if (r) atomic_store(&r->closing, 1);
}

void hf_reload_free(hf_reload *r)
{
    if (!r) return;
    atomic_store(&r->closing, 1);
    atomic_store(&r->quit, 1);
    if (r->started) {
        wake(r);
        pthread_join(r->thread, NULL);
    }
    hf_plan_release(r->plan);
    if (r->ino >= 0) close(r->ino);
    if (r->wake[0] >= 0) close(r->wake[0]);
    if (r->wake[1] >= 0) close(r->wake[1]);
    pthread_mutex_destroy(&r->lock);
    hf_free(r);
}
