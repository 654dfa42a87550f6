/* viewq.c -- batches from the workers to a view's thread (viewq.h).
 *
 *   write() ── hf_view_pack ──▶ head … tail ──(taken whole)──▶ thread: store, publish
 *   (worker)   (read, compact)
 *
 * Each worker reads its own batch into the view's compact form (about 190
 * bytes a host record against 450 of text), so the reading is shared by the
 * workers and the queue holds more than twice the records; the thread only
 * stores.  One mutex guards the list and its byte count; the thread takes
 * the whole list at once, so a writer waits at most for a pointer swap. */
#include "io/viewq.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"

typedef struct qitem {
    struct qitem *next;
    hf_buf        packed;             /* hf_view_pack's records */
} qitem;

struct hf_viewq {
    hf_view         *view;
    size_t           max_bytes;
    void           (*on_round)(void *ctx);
    void            *ctx;
    pthread_mutex_t  lock;
    pthread_cond_t   wake;
    qitem           *head, *tail;
    size_t           queued;          /* bytes */
    int              stop;
    pthread_t        thread;
    _Atomic(hf_run_counters_fn) fn;
    void            *fn_ctx;
    _Atomic uint64_t written, dropped, batches;
};

static void *viewq_main(void *arg)
{
    hf_viewq *q = arg;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        if (!q->head && !q->stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 250 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&q->wake, &q->lock, &ts);
        }
        int stop = q->stop;
        pthread_mutex_unlock(&q->lock);
        /* closed_until first, then the queue: its windows' records are in it */
        hf_run_counters_fn fn = atomic_load(&q->fn);
        int64_t until = INT64_MIN;
        if (fn) {
            hf_run_counters rc;
            memset(&rc, 0, sizeof rc);
            rc.closed_until_ms = INT64_MIN;
            fn(q->fn_ctx, &rc);
            until = rc.closed_until_ms;
        }
        pthread_mutex_lock(&q->lock);
        qitem *it = q->head;
        q->head = q->tail = NULL;
        q->queued = 0;
        pthread_mutex_unlock(&q->lock);
        while (it) {
            qitem *next = it->next;
            hf_view_store(q->view, it->packed.data, it->packed.len);
            hf_buf_release(&it->packed);
            hf_free(it);
            it = next;
        }
        if (until != INT64_MIN) hf_view_publish(q->view, until);
        if (q->on_round) q->on_round(q->ctx);
        if (stop) break;
        pthread_mutex_lock(&q->lock);
    }
    return NULL;
}

hf_viewq *hf_viewq_new(hf_view *view, size_t max_bytes, void (*on_round)(void *ctx), void *ctx)
{
    hf_viewq *q = hf_calloc(1, sizeof *q);
    q->view = view;
    q->max_bytes = max_bytes;
    q->on_round = on_round;
    q->ctx = ctx;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->wake, NULL);
    hf_view_publish_auto(view, 1);
    if (pthread_create(&q->thread, NULL, viewq_main, q) != 0) {
        pthread_cond_destroy(&q->wake);
        pthread_mutex_destroy(&q->lock);
        hf_free(q);
        return NULL;
    }
    return q;
}

int hf_viewq_write(hf_viewq *q, const hf_records *b)
{
    pthread_mutex_lock(&q->lock);
    int full = q->queued >= q->max_bytes;
    pthread_mutex_unlock(&q->lock);
    if (full) {
        atomic_fetch_add(&q->dropped, b->n);
        return 0;
    }
    qitem *it = hf_malloc(sizeof *it);
    it->next = NULL;
    hf_buf_init(&it->packed, b->n * 200 + 64);
    hf_view_pack(q->view, b, &it->packed);
    size_t bytes = sizeof *it + it->packed.cap;
    pthread_mutex_lock(&q->lock);
    full = q->queued + bytes > q->max_bytes;
    if (!full) {
        q->queued += bytes;
        if (q->tail) q->tail->next = it;
        else q->head = it;
        q->tail = it;
        pthread_cond_signal(&q->wake);
    }
    pthread_mutex_unlock(&q->lock);
    if (full) {
        hf_buf_release(&it->packed);
        hf_free(it);
        atomic_fetch_add(&q->dropped, b->n);
        return 0;
    }
    atomic_fetch_add(&q->written, b->n);
    atomic_fetch_add(&q->batches, 1);
    return 0;
}

void hf_viewq_watch(hf_viewq *q, hf_run_counters_fn fn, void *ctx)
{
    q->fn_ctx = ctx;
    atomic_store(&q->fn, fn);
    hf_view_publish_auto(q->view, fn == NULL);
}

hf_run_counters_fn hf_viewq_counters_fn(hf_viewq *q, void **ctx)
{
    *ctx = q->fn_ctx;
    return atomic_load(&q->fn);
}

void hf_viewq_stats(hf_viewq *q, uint64_t *written, uint64_t *dropped, uint64_t *batches)
{
    *written = atomic_load(&q->written);
    *dropped = atomic_load(&q->dropped);
    *batches = atomic_load(&q->batches);
}

void hf_viewq_free(hf_viewq *q)
{
    if (!q) return;
    pthread_mutex_lock(&q->lock);
    q->stop = 1;
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->lock);
    pthread_join(q->thread, NULL);
    pthread_cond_destroy(&q->wake);
    pthread_mutex_destroy(&q->lock);
    hf_free(q);
}
