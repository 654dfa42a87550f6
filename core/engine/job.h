/* job.h -- what a worker's Lua side sees: the batch and the closing window
 * as plain arrays, the analyses' results (hf_fragments), and the hf_job_*
 * functions through which the runtime (lua/hostflow/runtime/job.lua) reaches
 * the worker's controls.  Below worker.h: the worker's private state
 * (worker_impl.h) is built on these types, not on the worker's API. */
#ifndef HF_JOB_H
#define HF_JOB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "conf/config.h"
#include "engine/record.h"
#include "engine/window.h"
#include "stream/flow.h"

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
    /* the watchdog's view: the analysis running now, written by the
     * worker's thread (hf_job_running: the times, then current, released)
     * and read by the supervisor's (current acquired, the times, current
     * and the start again: a call that moved on meanwhile is not judged) */
    atomic_int     current;         /* slot, -1: none */
    _Atomic double current_t0;      /* since (monotonic ns) */
    _Atomic double current_cpu0;    /* since (the thread's CPU time, ns) */
    _Atomic double current_limit;   /* CPU time allowed (ns) before it is interrupted */
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

#endif
