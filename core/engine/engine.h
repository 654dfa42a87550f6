/* engine.h -- the back half of the data path: the workers that run the
 * analyses over their hosts' windows, and the supervisor that reloads the
 * analyses and watches them.
 *
 *   pipeline ── batches ──▶ worker 0 ─┐  windows, analyses,   ─▶ record sink
 *   (hf_shards)        ──▶ worker 1 ─┤  records (union)           (the outputs)
 *                      ──▶ ...      ─┘
 *                 supervisor: reload plans, watchdog (reload.h)
 *
 * The pipeline sees the engine as an hf_shards table (stream/batch.h): one
 * shard per worker.  With one worker everything runs in the reading thread;
 * with more, each worker is a thread fed through a bounded queue, which is
 * also the back-pressure: a slow worker stops the reader rather than
 * letting memory grow. */
#ifndef HF_ENGINE_H
#define HF_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"
#include "engine/changelog.h"
#include "engine/record.h"
#include "engine/worker.h"
#include "stream/batch.h"

typedef struct hf_engine hf_engine;

/* The worker stats summed over the workers (the windows' counts: the
 * highest, since every worker closes the same windows). */
typedef struct hf_engine_totals {
    hf_worker_stats w;
    uint64_t        windows_max[HF_MAX_WINDOWS + 1];
    int64_t         closed_until;   /* every worker has emitted the windows ending by this */
    int             nworkers;
} hf_engine_totals;

/* Start cfg->workers workers (0: one per CPU this process may use), each
 * loading the analyses (lua_dir: hostflow's Lua modules), writing records
 * to sink; and the supervisor.  NULL with a message in err. */
hf_engine *hf_engine_new(const hf_config *cfg, const char *lua_dir, const hf_record_sink *sink,
                         char *err, size_t errlen);
/* The engine as the pipeline hands it batches. */
const hf_shards *hf_engine_shards(hf_engine *e);
int hf_engine_workers(const hf_engine *e);
/* Reload the analyses (SIGHUP; see reload.h).  Any thread. */
void hf_engine_reload(hf_engine *e);
/* Save what outlives windows (the profiles) now, in every worker, and
 * return once it is on disk: before the last commit of a run that stops. */
void hf_engine_persist(hf_engine *e);
/* The profiles' changelog (profiles.topic; changelog.h): every worker
 * writes its profiles' changes there with each save.  Before the first
 * batch; cl outlives the engine's last save. */
void hf_engine_changelog(hf_engine *e, const hf_changelog *cl);
/* Partitions were assigned: read the changelog to its end, each host's
 * row to the worker that owns it, to be taken before any flow of the
 * assignment (it waits aside until its host is seen).  The reading
 * thread, with every batch handed over done (a revocation's, or none
 * yet).  Nothing without a changelog. */
void hf_engine_restore(hf_engine *e);
/* fn(ctx) runs just before the watchdog stops hostflow (exit status 3;
 * reload.h), in the supervisor thread: the run writes its counters. */
void hf_engine_on_watchdog_exit(hf_engine *e, void (*fn)(void *ctx), void *ctx);
/* After the final batches were handed over: no more reloads; wait for
 * every worker to finish (their last windows emitted). */
void hf_engine_join(hf_engine *e);
void hf_engine_totals_get(hf_engine *e, hf_engine_totals *t);
void hf_engine_free(hf_engine *e);

/* The CPUs this process may use: its affinity mask, and a cgroup CPU quota
 * when one is set (at least 1). */
int hf_engine_cpus(void);

#endif
