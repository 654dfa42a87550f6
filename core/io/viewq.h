/* viewq.h -- the hand-over between the workers and a view: a bounded queue
 * of copied record batches and the one thread that applies them to the
 * view and publishes the windows every worker has closed.  Shared by the
 * outputs that show a view (out_http.c, out_top.c).
 *
 * hf_viewq_write() never waits: it reads the batch into the view's compact
 * form (hf_view_pack, in the calling worker) and queues it, or, when the
 * queue holds max_bytes already, counts the batch as dropped (a view is a
 * window onto the records, not one of their destinations).  The thread reads the
 * run loop's closed_until *before* taking the queue, so every record of a
 * window it then publishes is in what it applies; without the run loop's
 * counters the view publishes by itself (hf_view_publish_auto). */
#ifndef HF_VIEWQ_H
#define HF_VIEWQ_H

#include <stddef.h>
#include <stdint.h>

#include "io/io.h"
#include "io/view.h"

typedef struct hf_viewq hf_viewq;

/* Start the thread over view (not owned).  on_round, when set, is called by
 * the thread after each round of applying and publishing (at least every
 * 250 ms).  NULL when the thread cannot start. */
hf_viewq *hf_viewq_new(hf_view *view, size_t max_bytes,
                       void (*on_round)(void *ctx), void *ctx);
/* The batch, read, for the thread; never waits.  Returns 0. */
int hf_viewq_write(hf_viewq *q, const hf_records *b);
/* The run loop's counters (io.h, watch); NULL: publish by itself. */
void hf_viewq_watch(hf_viewq *q, hf_run_counters_fn fn, void *ctx);
/* The counters function handed over, or NULL; its ctx in *ctx. */
hf_run_counters_fn hf_viewq_counters_fn(hf_viewq *q, void **ctx);
void hf_viewq_stats(hf_viewq *q, uint64_t *written, uint64_t *dropped, uint64_t *batches);
/* Apply what is queued, stop the thread, free (not the view). */
void hf_viewq_free(hf_viewq *q);

#endif
