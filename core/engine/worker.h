/* worker.h -- one parallel copy of the pipeline's back half: a thread with
 * its own LuaJIT state, its own windows and memory pool, owning the hosts
 * whose address hashes to it.
 *
 * The reader hands a worker batches of flows.  The worker finds each flow's
 * base window and host row, runs every analysis over the batch (one Lua call
 * per base window touched), and then closes the windows the batch's
 * boundary allows: each closing window's hosts are turned into records
 * (the analyses' results unioned under "stats") and written to the sink.
 *
 * Hot reload (reload.h): a worker checks a plan's new files when it is
 * posted (between two batches), and applies a commit when it comes through
 * its queue, in order with the flows.  Isolation: the Lua side catches each
 * analysis's errors, marks the affected rows (their omit bits), disables an
 * analysis over its error or time budget, and says which analysis runs now
 * (hf_job.current) so the watchdog can interrupt or report it. */
#ifndef HF_WORKER_H
#define HF_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "conf/config.h"
#include "engine/plan.h"
#include "engine/record.h"
#include "engine/window.h"
#include "stream/batch.h"
#include "stream/flow.h"

#define HF_DELAY_BUCKETS 32
#define HF_MAX_PROFILES  16         /* profiles running at once in a worker */


/* One analysis's results for the hosts of a closing window, as JSON text. */
typedef struct hf_fragments {
    hf_buf    buf;
    uint32_t *off;        /* per host: where its value starts in buf */
    uint32_t *len;        /* per host: its length; 0 when there is none */
    uint32_t  cap;
} hf_fragments;

/* ------------------------------------------------------------------------
 * What the Lua side sees (lua/hostflow/runtime/job.lua declares the same)
 *
 * A batch (the flows of one base window and their host rows) and a closing
 * window (its hosts' rows, their omit bits, one fragments buffer per
 * analysis) as plain arrays; never the window's hash table, arena or
 * layout.  The worker's controls (the watchdog's view, the counters, the
 * analyses' slots) are reached through the hf_job_* functions below.
 * --------------------------------------------------------------------- */

typedef struct hf_lua_batch {
    const hf_flow *flows;
    uint8_t      **rows;      /* the host row of each flow: its source's */
    int            n;
    int            gen;       /* the layout of the rows */
    uint64_t       not_run;   /* out: bits of the analyses that did not run */
    const hf_flow *dst_flows; /* the flows for the analyses keyed by the destination ... */
    uint8_t      **dst_rows;  /* ... and the row of each one's destination (NULL: not found
                                 yet, when only sparse analyses take them: hf_job_sparse) */
    int            dst_n;
    int64_t        start_ms;  /* the base window the flows belong to (for messages) */
    int64_t        g_ms;
} hf_lua_batch;

typedef struct hf_lua_window {
    uint8_t      **rows;      /* per host: its row (the host header, then the states) */
    const uint64_t *omit;     /* per host: its omit bits, and those of the analyses keyed by
                                 a side it never had; NULL when no host has any */
    uint64_t       omit_any;  /* the OR of them */
    uint32_t       n;         /* hosts */
    int            gen;       /* the layout of the rows */
    int64_t        start_ms;
    int64_t        g_ms;
    hf_fragments  *frags;     /* out: one per analysis of the layout */
    const hf_sparse *sparse;  /* the window's sparse states (window.h): slots, empty ones too */
    uint32_t       sparse_slots;
} hf_lua_window;

/* The worker's side of the Lua boundary (opaque to Lua). */
typedef struct hf_job {
    hf_lua_batch   batch;
    hf_lua_window  win;
    hf_window     *window;          /* the window of the batch or the closing one */
    hf_windows    *windows;         /* the worker's windows (memory limit), or NULL */
    hf_window     *sparse_from;     /* hf_job_sparse's last lookup: this window and index ... */
    int            sparse_index;
    hf_window     *sparse_to;       /* ... gave this target and its index */
    int            sparse_to_index;
    double        *analysis_ns;     /* per slot: time in update() */
    double        *result_ns;       /* per slot: time in result() and encoding */
    double        *analysis_errors; /* per slot: errors raised */
    int            worker;
    /* the watchdog's view: the analysis running now */
    int            current;         /* slot, -1: none */
    double         current_t0;      /* since (monotonic ns) */
    double         current_cpu0;    /* since (the thread's CPU time, ns) */
    double         current_limit;   /* CPU time allowed (ns) before it is interrupted */
    char          *slot_names;      /* HF_MAX_ANALYSES names of HF_NAME_MAX bytes */
    int            nslots;
    uint8_t       *slot_disabled;   /* per slot: 1 when disabled in this worker */
    struct hf_alerts *alerts;       /* the worker's open alerts (alerts.h) */
    hf_record_batch  *alerts_out;   /* alert and profile records made while a window closes */
    struct hf_profiles *profiles[HF_MAX_PROFILES];   /* the running profiles' hosts (profile.h) */
    uint8_t           to_load[HF_MAX_PROFILES];      /* its files are still to be read */
    int               nprofiles;
    const hf_config  *cfg;          /* profiles.* settings; NULL outside a worker */
    int               nworkers;     /* workers sharing the hosts (whose files are whose) */
    int               shared;       /* nworkers is known (profile files can be read) */
    const hf_fragments *logs_frags; /* the closing window's stats.logs per host, or NULL */
} hf_job;

/* Leave the analyses at bits out of the record of the host of row (a row
 * of the batch being processed). */
void hf_job_omit(hf_job *job, uint8_t *row, uint64_t bits);
/* The state of sparse analysis index for the host of rows[i] (a row of the
 * batch being processed: flow's destination's when received, else its
 * source's), made when new; NULL over the memory limit
 * (counted) or outside a batch.  rows[i] NULL (a flow for its destination,
 * whose row no analysis needs): the state is found by the destination's
 * address, its row made only with a new state.  The state may be in the
 * coarser window the analysis is read at (hf_windows_sparse_target). */
uint8_t *hf_job_sparse(hf_job *job, uint8_t **rows, int i, const hf_flow *flow, int index, int received);
/* After an analysis's loop over a batch: the primitives allocate in the
 * batch's window again (hf_job_sparse may have pointed them at a coarser
 * window's arena). */
void hf_job_arena_reset(hf_job *job);
/* The analysis in slot runs from t0 (monotonic ns) and cpu0 (the thread's
 * CPU ns) and may use limit ns of CPU; slot -1: none runs. */
void hf_job_running(hf_job *job, int slot, double t0, double cpu0, double limit);
/* Add ns to the slot's time in update() (result = 0) or result() (1). */
void hf_job_add_time(hf_job *job, int slot, int result, double ns);
void hf_job_count_error(hf_job *job, int slot);
/* A new counters slot, or -1 when all HF_MAX_ANALYSES are used. */
int  hf_job_new_slot(hf_job *job);
/* Give slot to the analysis called name (fresh counters when reused). */
void hf_job_name_slot(hf_job *job, int slot, const char *name, int reused);
void hf_job_slot_disabled(hf_job *job, int slot, int disabled);
/* emit(): raise an alert for the host of row (a row of the closing window:
 * its hf_host first) in the window from start_ms of g_ms (alerts.h: a new
 * alert, an update, or held).  details: the JSON text of the alert's
 * details (NULL: {}).  Returns HF_ALERT_NEW, HF_ALERT_UPDATE,
 * HF_ALERT_HELD, or HF_ALERT_BAD for a bad rule name. */
int hf_job_alert(hf_job *job, const uint8_t *row, int64_t start_ms, int64_t g_ms, const char *rule,
                 size_t rule_len, double observed, double expected, double score,
                 const char *details, size_t details_len);
/* A store for the hosts of the profile called name (profile.h), whose
 * state is declared as signature and laid out by schema; with load, the
 * files profiles.dir holds for it are read (those refused are set aside,
 * and said so) once the worker knows its share of the hosts (before its
 * first batch).  NULL when HF_MAX_PROFILES run already. */
struct hf_profiles *hf_job_profile_open(hf_job *job, const char *name, const char *signature,
                                        const struct hf_schema *schema, int load);
void hf_job_profile_close(hf_job *job, struct hf_profiles *p);
#define HF_FRAG_LOGS (-2)   /* hf_job_absorb: the statistic is in stats.logs */
/* emit(): the hosts of the closing window (v: the view of it the runtime
 * was given) that profile p absorbs: rows[i]
 * the host's profile row, or NULL (it absorbed this window already: a
 * replay; or it is refused); vals[i * k + j] the number at paths[j] of the
 * record's field of analysis frag[j] of the layout (-1: none;
 * HF_FRAG_LOGS: stats.logs; NaN when absent, and for every analysis's
 * field of a host with log events only).  Returns how many hosts absorb. */
int hf_job_absorb(hf_job *job, const hf_lua_window *v, struct hf_profiles *p, int k, const int *frag,
                  const char *const *paths, double *vals, uint8_t **rows);
/* A host_profile record of p's host at row (a profile row) for the period
 * [start_ms, end_ms); json: the text of the profile's report. */
void hf_job_profile_record(hf_job *job, struct hf_profiles *p, const uint8_t *row, int64_t start_ms,
                           int64_t end_ms, const char *json, size_t len);
/* emit(): the observed value last reported by the host's alert of rule
 * that is open in the window starting at start_ms; NaN when none is. */
double hf_job_alerted(hf_job *job, const uint8_t *row, int64_t start_ms, const char *rule,
                      size_t rule_len);

typedef struct hf_worker hf_worker;

/* Per-worker counters, read by the counters report. */
typedef struct hf_worker_stats {
    int64_t  closed_until;     /* windows ending at or before this are emitted */
    uint64_t flows;            /* flows given to the analyses */
    uint64_t partials;         /* the merge role: partial windows merged */
    uint64_t partial_bytes;    /* the partial role: bytes of the partial windows made */
    uint64_t hosts_refused;    /* flows dropped: new host over the memory limit */
    uint64_t states_refused;   /* flows not analysed: a new sparse state over the limit */
    uint64_t records;
    uint64_t alerts_raised, alerts_updated, alerts_held, alerts_evicted, alerts_open;
    uint64_t profile_hosts, profile_refused, profile_expired, profile_skipped, profile_absorbed;
    uint64_t profile_refused_memory;
    size_t   profile_bytes;
    int64_t  durable_until;    /* windows ending by this are emitted and their profiles saved */
    uint64_t profile_saves, profile_save_errors;
    uint64_t log_events;       /* log events put into windows */
    uint64_t windows[HF_MAX_WINDOWS + 1];  /* per level: windows emitted */
    uint64_t hosts[HF_MAX_WINDOWS + 1];    /* per level: host records emitted */
    int64_t  gran_ms[HF_MAX_WINDOWS + 1];  /* per level: granularity, 0 if not emitted */
    int      nlevels;
    size_t   mem_bytes, mem_peak;
    /* delay from the watermark closing windows to their records written:
     * counts per power-of-two bucket of microseconds (bucket i: < 2^i us) */
    uint64_t close_delay[HF_DELAY_BUCKETS];
    int      nanalyses;
    const char *analysis_names[HF_MAX_ANALYSES];
    double   analysis_ns[HF_MAX_ANALYSES];
    double   result_ns[HF_MAX_ANALYSES];
    double   analysis_errors[HF_MAX_ANALYSES];
    uint8_t  analysis_disabled[HF_MAX_ANALYSES];
    uint64_t discards;         /* discard batches done (hf_batch.discard) */
} hf_worker_stats;

/* Create worker id: loads the analyses into a new Lua state.  Returns NULL
 * with a message in err when an analysis cannot be loaded. */
hf_worker *hf_worker_new(int id, const hf_config *cfg, const char *lua_dir,
                         const hf_record_sink *sink, size_t mem_limit, char *err, size_t errlen);
/* The worker is one of n: its share of the limits that count for all
 * workers together (alerts.max_open).  Before its first batch. */
void hf_worker_share(hf_worker *w, int n);
/* Save the profiles now (the run stops and commits): in the worker's
 * thread, between two batches; returns once done. */
void hf_worker_save(hf_worker *w);
/* Run a batch in the calling thread. */
void hf_worker_process(hf_worker *w, hf_batch *b);
/* Threads: start, hand over a batch (blocks while the queue is full), wait
 * for the final batch to be done. */
int hf_worker_start(hf_worker *w);
void hf_worker_push(hf_worker *w, hf_batch *b);
void hf_worker_join(hf_worker *w);
/* Wait until every batch handed over so far has been processed. */
void hf_worker_sync(hf_worker *w);
/* A batch to fill, recycled from this worker's finished ones. */
hf_batch *hf_worker_batch(hf_worker *w);
void hf_worker_stats_get(hf_worker *w, hf_worker_stats *st);
void hf_worker_free(hf_worker *w);

/* ------------------------------------------------------------------------
 * Hot reload and the watchdog (reload.c)
 * --------------------------------------------------------------------- */

/* Ask the worker to check plan's files (it holds the plan until then): its
 * thread does it before its next batch; an unthreaded worker at
 * hf_worker_poll().  Either reports with hf_plan_report(). */
void hf_worker_post(hf_worker *w, struct hf_plan *plan);
/* In the thread that runs an unthreaded worker: do a posted check now. */
void hf_worker_poll(hf_worker *w);
int hf_worker_threaded(const hf_worker *w);
/* Queue (behind the batches already queued) the commit of a decided plan
 * for windows starting at or after from_ms.  The reading thread only. */
void hf_worker_commit(hf_worker *w, struct hf_plan *plan, int64_t from_ms);
/* Watchdog (another thread, every ~100 ms): when the analysis running now
 * has used more CPU time than its limit, interrupt it; when it still runs
 * grace_ns (of the clock) after that, return 1 with a report in msg (the
 * caller stops hostflow).  0 else. */
int hf_worker_watch(hf_worker *w, double now_ns, double grace_ns, char *msg, size_t len);
/* The calling thread's CPU time in ns (the budgets of analyses.max_batch
 * count CPU time, so that a worker descheduled on a busy machine does not
 * make its analyses look slow). */
double hf_worker_cpu_ns(void);

#endif
