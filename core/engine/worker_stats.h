/* worker_stats.h -- the counters a worker keeps, as the counters report
 * reads them (hf_worker_stats_get).  Below worker.h and worker_impl.h,
 * which both hold them. */
#ifndef HF_WORKER_STATS_H
#define HF_WORKER_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "engine/window.h"

#define HF_DELAY_BUCKETS 32

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
    uint64_t profile_aside;    /* hosts held aside (profiles.topic) */
    uint64_t changelog_published, changelog_taken, changelog_refused, changelog_other;
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

#endif
