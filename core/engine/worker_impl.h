/* worker_impl.h -- the worker's own struct, shared by its files: worker.c
 * (the thread, its queue, processing, records), worker_lua.c (its Lua
 * state: set-up, calls, the interrupt and the watchdog's view, the reload
 * checks and commits), worker_profiles.c (its profiles' stores and files)
 * and worker_partial.c (the partial and merge roles).  Private to
 * core/engine/worker*.c.  It is built on job.h and worker_stats.h, not on
 * worker.h, and declares only what the files below worker.c define, so
 * that every arrow between them points one way (tests/layers.sh). */
#ifndef HF_WORKER_IMPL_H
#define HF_WORKER_IMPL_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include <lua.h>

#include "base/arena.h"
#include "conf/config.h"
#include "engine/changelog.h"
#include "engine/job.h"
#include "engine/plan.h"
#include "engine/record.h"
#include "engine/worker_stats.h"
#include "stream/batch.h"

#define QUEUE_DEPTH 32
#define HF_SIG_INTERRUPT (SIGRTMIN + 3)

typedef struct hf_worker hf_worker;   /* as worker.h, which this header does not include */

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
    hf_flow         *dst_flows;      /* ... those for their destination's row */
    uint8_t        **dst_rows;
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
    struct hf_alerts *alerts;       /* open alerts of this worker's hosts (alerts.h) */
    hf_record_batch  alerts_out;    /* alert and profile records of the closing window */
    int64_t          clock_ms;      /* event time: the latest end of a window emitted */
    double           last_save_ns;  /* when the profiles were saved last */
    int64_t          saved_until;   /* windows ending by this are in the profiles' files */
    uint64_t         saves, save_errors;
    const hf_changelog *changelog;  /* profiles.topic, or NULL */
    int              republish;     /* a publish failed: every live row again at the next save */
    uint64_t         published, cl_taken, cl_refused, cl_other;   /* changelog messages */
    hf_buf           inbox;         /* under lock: changelog messages to take (hf_worker_restore) */
    uint64_t         inbox_n;
    hf_fragments     logs_frags;    /* stats.logs of the closing window's hosts (logs_fragments) */
    uint64_t         log_seq;       /* log events taken, in order (ties of time) */
    uint64_t         events;        /* log events put into windows */
    const hf_record_sink *sink;
    int              failed;        /* an output failed for good */
    uint64_t         flows, records;
    uint64_t         discards;      /* discard batches done */
    uint64_t         close_delay[HF_DELAY_BUCKETS];
    int64_t          closed_until;
    uint64_t         partials;      /* the merge role: partial windows merged */
    uint64_t         partial_bytes; /* the partial role: bytes of the messages made */
    hf_buf           ser;           /* the partial role: one state, serialised */

    /* the thread and its queue */
    pthread_t        thread;
    int              started;
    pthread_mutex_t  lock;
    pthread_cond_t   cond;
    hf_batch        *head, *tail;   /* queued */
    int              queued;
    uint64_t         pushed, processed;  /* batches handed over, and done (hf_worker_sync) */
    hf_batch        *spare;         /* finished, for reuse */
    hf_worker_stats  snapshot;      /* under lock */
    hf_plan         *posted;        /* under lock: a plan to check */
    int              save_asked;    /* under lock: hf_worker_save waits for a save */

    /* the watchdog's view (hf_worker_watch) */
    pthread_t        runner;        /* the thread that runs the Lua state */
    pthread_mutex_t  watch_lock;    /* held while the watchdog uses the thread */
    int              exited;        /* under watch_lock: the thread has ended */
    atomic_int       interrupt_slot;/* the analysis to interrupt, -1: none */
    double           interrupted_t0;/* the call interrupted (its job.current_t0) */
};

/* worker_lua.c: load the runtime and the analyses (files and checked: see
 * hf_worker_new) into w's new Lua state (0, or -1 with a message in err);
 * install the interrupt handler (once). */
int hf_worker_lua_setup(hf_worker *w, const char *lua_dir, const hf_plan *files, int checked,
                        char *err, size_t errlen);
void hf_worker_lua_install(void);
/* Call the runtime's function ref (process, emit) with no arguments. */
void hf_worker_lua_call(hf_worker *w, int ref, const char *what);
/* The input has ended: the runtime writes what its rate limits held back
 * (control "finish"). */
void hf_worker_lua_finish(hf_worker *w);
/* Hot reload in w's state: check the posted plan, apply a commit, retire
 * the layouts no window uses. */
void hf_worker_check_posted(hf_worker *w);
void hf_worker_apply_commit(hf_worker *w, hf_plan *plan, int64_t from_ms);
void hf_worker_retire_layouts(hf_worker *w);

/* Hand the records of batch (w->out, w->alerts_out) to the outputs, and
 * empty it; an output that fails for good marks the worker failed. */
static inline void hf_worker_write(hf_worker *w, hf_record_batch *batch)
{
    hf_records view;
    hf_record_batch_view(batch, &view);
    if (view.n && w->sink->write(w->sink->ctx, &view) < 0) w->failed = 1;
    hf_record_batch_reset(batch);
}
/* worker_partial.c: the partial role's emit (a closing base window as
 * partial windows, one message per host) and the merge role's intake (a
 * batch's partial windows into the rows of their base windows). */
void hf_worker_emit_partials(hf_worker *w, hf_window *win);
void hf_worker_merge_partials(hf_worker *w, const hf_batch *b);
/* worker_profiles.c: read the files of the profiles opened to be loaded
 * (the job knows its share of the hosts now); save every profile
 * (profiles.dir), complete for the windows emitted so far. */
void hf_worker_profiles_ready(hf_job *job);
void hf_worker_save_profiles(hf_worker *w);
/* Whether w's profiles are kept anywhere beyond its memory (profiles.dir,
 * profiles.topic): then they are saved, and commits wait for the saves. */
static inline int hf_worker_keeps_profiles(const hf_worker *w)
{
    return w->job.nprofiles && (w->cfg->profiles_dir || w->changelog);
}
/* worker_profiles.c: the changelog messages given (hf_worker_restore)
 * into the profiles' rows held aside, before the batch's flows; the live
 * rows set aside (partitions revoked: the windows discarded). */
void hf_worker_take_changelog(hf_worker *w);
void hf_worker_profiles_aside(hf_worker *w);

#endif
