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

#include "conf/config.h"
#include "engine/changelog.h"
#include "engine/job.h"
#include "engine/plan.h"
#include "engine/record.h"
#include "engine/worker_stats.h"
#include "stream/batch.h"

typedef struct hf_worker hf_worker;

/* Create worker id: loads the analyses into a new Lua state.  files: the
 * analysis files as read once for every worker (hf_plan_start), or NULL:
 * the worker reads them itself (hf_plan_start too).  checked: another worker has
 * loaded the same texts already, so their sample runs (check.lua) are not
 * run again.  Returns NULL with a message in err when an analysis cannot
 * be loaded. */
hf_worker *hf_worker_new(int id, const hf_config *cfg, const char *lua_dir,
                         const hf_record_sink *sink, size_t mem_limit, const hf_plan *files,
                         int checked, char *err, size_t errlen);
/* The worker is one of n: its share of the limits that count for all
 * workers together (alerts.max_open).  Before its first batch. */
void hf_worker_share(hf_worker *w, int n);
/* Save the profiles now (the run stops and commits): in the worker's
 * thread, between two batches; returns once done. */
void hf_worker_save(hf_worker *w);
/* Write the profiles' changes to cl (profiles.topic) with every save from
 * now on.  Before the first batch. */
void hf_worker_changelog(hf_worker *w, const hf_changelog *cl);
/* A message of the changelog (val NULL: a tombstone) for this worker's
 * hosts: kept until its next batch takes it, before its flows.  Any
 * thread. */
void hf_worker_restore(hf_worker *w, const void *key, size_t klen, const void *val, size_t vlen);
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
