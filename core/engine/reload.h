/* reload.h -- the analyses' supervisor: hot reload (an inotify watch of the
 * analyses directory, and SIGHUP) and the watchdog.
 *
 * A reload is a plan that goes through three hands:
 *
 *   supervisor thread        every worker (its thread)      the reading thread
 *   -----------------        -------------------------      ------------------
 *   a change settles, or     between two batches:           at its next record,
 *   SIGHUP: read every       check each new or changed      once the plan is
 *   *.lua file once into  ─▶ file in its own Lua state   ─▶ decided: pick S, the
 *   a plan, post it to       (compile, validate, run on     base window boundary
 *   every worker             sample flows, JIT off, under   after the newest flow
 *                            an instruction limit);         seen, and queue
 *                            report; the last one decides:  "commit at S" behind
 *                            a file is taken only if it     the flows already
 *                            passed in every worker; a      queued, in every
 *                            refused one is logged with     worker
 *                            file, line and message
 *
 * Each worker then applies the commit in order with its batches: a new
 * layout for windows starting at or after S (window.h), one log line per
 * analysis from worker 0 ("peers: reloaded, version 2 from 1").  The files
 * are read once, so every worker checks the same bytes; only one plan is in
 * flight, and requests that come meanwhile make one more afterwards.  The
 * workers never wait for the plan: a check costs a worker the time to
 * compile and run a new version on a few sample flows (an endless loop is
 * cut at the instruction limit), a commit the time to lay out and compile
 * the loops.  With one worker (no thread) the reading thread does the
 * worker's part at its next record.
 *
 * The same thread is the watchdog: every 100 ms it looks at what each worker
 * runs.  An analysis running longer than analyses.max_batch in one call is
 * interrupted (a hook raised into the Lua interpreter: an error, counted,
 * then the analysis is disabled); one still running analyses.watchdog later
 * is in compiled code that nothing can interrupt (a LuaJIT trace does not
 * look at hooks), and hostflow stops with a report naming it and exit
 * status 3, so that a supervisor restarts it (at least once: Kafka offsets
 * are committed only for records written; see lua/README.md). */
#ifndef HF_RELOAD_H
#define HF_RELOAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"
#include "engine/plan.h"
#include "engine/worker.h"

#define HF_EXIT_WATCHDOG 3

typedef struct hf_reload hf_reload;

/* Start the supervisor over the workers (watching analyses.dir when
 * cfg->reload; when the watch cannot be set up, a warning, and SIGHUP alone
 * reloads).  started: the files the workers were made with (hf_plan_start),
 * or NULL; once the directory is watched, files that differ from them (saved
 * while the workers were made, before the watch) are reloaded as a change.
 * NULL with a message in err when no thread can be started. */
hf_reload *hf_reload_new(const hf_config *cfg, hf_worker **workers, int nworkers,
                         int64_t base_ms, const hf_plan *started, char *err, size_t errlen);
/* Ask for a reload (SIGHUP: manual = 1).  Any thread. */
void hf_reload_request(hf_reload *r, int manual);
/* The reading thread, at each record: do an unthreaded worker's check, and
 * commit a decided plan at the boundary after max_end (the newest flow end
 * fed so far).  Cheap when there is nothing to do (one atomic load). */
void hf_reload_poll(hf_reload *r, double max_end);
/* fn(ctx) is called by the watchdog just before it stops hostflow
 * (_exit(HF_EXIT_WATCHDOG)), from the supervisor thread while the workers
 * may still run: for the run's last report (--stats). */
void hf_reload_on_exit(hf_reload *r, void (*fn)(void *ctx), void *ctx);
/* No more reloads (the input has ended); the watchdog goes on. */
void hf_reload_close(hf_reload *r);
/* Stop the thread (after the workers are done) and free. */
void hf_reload_free(hf_reload *r);

#endif
