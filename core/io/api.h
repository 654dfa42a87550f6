/* api.h -- the HTTP view's read-only JSON API, apart from HTTP itself.
 *
 * A request is a path and its decoded query arguments; the answer is a
 * status and a body (JSON, or Prometheus text for /metrics).  Every error
 * is a JSON object {"error": "...", "status": N} that says what was wrong
 * and what would be right.  The routes (README, "The HTTP view"):
 *
 *   /api/v1/status     granularities and their latest closed window, statistics
 *   /api/v1/heatmap    block, granularity, window, stat, agg, bits
 *   /api/v1/top        stat, granularity, window, n, block
 *   /api/v1/host       ip (or /api/v1/host/IP), granularity
 *   /api/v1/alerts     ip, all
 *   /api/v1/counters   hostflow's own counters and the view's
 *   /metrics           the same in the Prometheus text format
 *
 * Unknown parameters, repeated ones and values longer than
 * HF_API_MAX_VALUE are refused, so a typo is never silently a default. */
#ifndef HF_API_H
#define HF_API_H

#include <stdatomic.h>

#include "base/buf.h"
#include "io/io.h"
#include "io/view.h"

#define HF_API_MAX_ARGS  12
#define HF_API_MAX_VALUE 256

typedef struct hf_api_req {
    const char *path;
    int         nargs;
    int         too_many;          /* more than HF_API_MAX_ARGS were given */
    struct { const char *name, *value; } args[HF_API_MAX_ARGS];
} hf_api_req;

typedef struct hf_api {
    hf_view            *view;
    hf_view_block       home;      /* the block a heat map shows when none is asked */
    char              **networks;  /* the monitored networks, for the page */
    int                 nnetworks;
    /* the pipeline's counters, once the run loop hands them (io.h, watch) */
    _Atomic(hf_run_counters_fn) counters;
    void               *counters_ctx;
    /* more lines for /metrics and an object for /api/v1/counters (the server's own) */
    void              (*metrics_extra)(void *ctx, hf_buf *out);
    void              (*counters_extra)(void *ctx, hf_buf *out);
    void               *extra_ctx;
} hf_api;

/* Answer req: the HTTP status, with the body in out and its content type
 * in *ctype. */
int hf_api_handle(hf_api *api, const hf_api_req *req, hf_buf *out, const char **ctype);
/* An error body: {"error": msg, "status": status}.  Returns status. */
int hf_api_error(hf_buf *out, int status, const char *msg);

#endif
