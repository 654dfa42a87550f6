/* outputs.c -- every record to every output (see outputs.h).
 *
 * A batch is handed to each output in turn, in the worker's thread; an
 * output that blocks (a full queue) holds that worker back, which is the
 * back-pressure that reaches the input.  The first output to fail for good
 * sets `failed`, which the run reads after each step, and calls the run's
 * on_failure hook, which wakes a reader waiting for input.
 *
 * The set is cfg->outputs plus the outputs that their own keys ask for
 * (the wanted op: --top, --http ADDR) when no output of their scheme is
 * named; one of those that takes standard output ("-") leaves the file
 * output "-" out, as two cannot share it. */
#include "io/outputs.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"

#define MAX_OUTPUTS 16

typedef struct output {
    const hf_output_ops *ops;
    void                *state;
    char                *spec;
} output;

struct hf_outputs {
    output         outs[MAX_OUTPUTS];
    int            n;
    hf_record_sink sink;
    atomic_int     failed;
    void         (*on_failure)(void *ctx);
    void          *on_failure_ctx;
};

/* An output failed for good: the first time, tell the run. */
static void set_failed(hf_outputs *o)
{
    if (atomic_exchange(&o->failed, 1) == 0 && o->on_failure) o->on_failure(o->on_failure_ctx);
}

static int write_all(void *ctx, const hf_records *batch)
{
    hf_outputs *o = ctx;
    int rc = 0;
    for (int i = 0; i < o->n; i++)
        if (o->outs[i].ops->write(o->outs[i].state, batch) == HF_OUT_FATAL) {
            set_failed(o);
            rc = -1;
        }
    return rc;
}

void hf_outputs_on_failure(hf_outputs *o, void (*fn)(void *ctx), void *ctx)
{
    o->on_failure_ctx = ctx;
    o->on_failure = fn;
}

/* Open spec and add it to the set; 0, or -1 with a message in err. */
static int add(hf_outputs *o, const hf_config *cfg, const char *spec, char *err, size_t errlen)
{
    const char *target;
    if (o->n == MAX_OUTPUTS) {
        snprintf(err, errlen, "outputs: at most %d outputs", MAX_OUTPUTS);
        return -1;
    }
    const hf_output_ops *ops = hf_output_find(spec, &target, err, errlen);
    if (!ops) return -1;
    void *state = ops->open(cfg, target, err, errlen);
    if (!state) return -1;
    o->outs[o->n++] = (output){ops, state, hf_strdup(spec)};
    return 0;
}

/* 1 when an output of cfg->outputs has this scheme. */
static int named(const hf_config *cfg, const char *scheme)
{
    size_t len = strlen(scheme);
    for (int i = 0; i < cfg->outputs.n; i++)
        if (!strncmp(cfg->outputs.v[i], scheme, len) && cfg->outputs.v[i][len] == ':') return 1;
    return 0;
}

hf_outputs *hf_outputs_open(const hf_config *cfg, char *err, size_t errlen)
{
    hf_outputs *o = hf_calloc(1, sizeof *o);
    o->sink.write = write_all;
    o->sink.ctx = o;
    char wanted[MAX_OUTPUTS][256];
    int nwanted = 0;
    const char *stdout_taken = NULL;      /* the wanted output that draws on it */
    for (int k = 0; hf_output_nth(k) && nwanted < MAX_OUTPUTS; k++) {
        const hf_output_ops *ops = hf_output_nth(k);
        char target[200];
        if (!ops->wanted || named(cfg, ops->scheme) || !ops->wanted(cfg, target, sizeof target))
            continue;
        snprintf(wanted[nwanted], sizeof wanted[0], "%s:%s", ops->scheme, target);
        if (!strcmp(target, "-")) stdout_taken = wanted[nwanted];
        nwanted++;
    }
    for (int i = 0; i < cfg->outputs.n; i++) {
        if (stdout_taken && !strcmp(cfg->outputs.v[i], "-")) {
            hf_log(HF_LOG_INFO, "standard output shows %s: records are not written there "
                   "(-o FILE keeps them)", stdout_taken);
            continue;
        }
        if (add(o, cfg, cfg->outputs.v[i], err, errlen) < 0) goto fail;
    }
    for (int i = 0; i < nwanted; i++)
        if (add(o, cfg, wanted[i], err, errlen) < 0) goto fail;
    return o;
fail:
    hf_outputs_close(o);
    return NULL;
}

void hf_outputs_watch(hf_outputs *o, hf_run_counters_fn fn, void *ctx)
{
    for (int i = 0; i < o->n; i++)
        if (o->outs[i].ops->watch) o->outs[i].ops->watch(o->outs[i].state, fn, ctx);
}

const hf_record_sink *hf_outputs_sink(hf_outputs *o)
{
    return &o->sink;
}

int hf_outputs_flush(hf_outputs *o, int timeout_ms)
{
    int rc = HF_OUT_OK;
    for (int i = 0; i < o->n; i++) {
        int r = o->outs[i].ops->flush(o->outs[i].state, timeout_ms);
        if (r == HF_OUT_FATAL) {
            set_failed(o);
            rc = HF_OUT_FATAL;
        } else if (r == HF_OUT_PENDING && rc == HF_OUT_OK) {
            rc = HF_OUT_PENDING;
        }
    }
    return rc;
}

int hf_outputs_commit_txn(hf_outputs *o, rd_kafka_topic_partition_list_t *offsets,
                          rd_kafka_consumer_group_metadata_t *group)
{
    int rc = HF_OUT_OK, any = 0;
    for (int i = 0; i < o->n; i++) {
        if (!o->outs[i].ops->commit_txn) continue;
        any = 1;
        int r = o->outs[i].ops->commit_txn(o->outs[i].state, offsets, group);
        if (r == HF_OUT_FATAL) {
            atomic_store(&o->failed, 1);
            rc = HF_OUT_FATAL;
        } else if (r == HF_OUT_PENDING && rc == HF_OUT_OK) {
            rc = HF_OUT_PENDING;
        }
    }
    return any ? rc : HF_OUT_FATAL;
}

int hf_outputs_failed(const hf_outputs *o)
{
    return atomic_load(&((hf_outputs *)o)->failed);
}

int hf_outputs_get(hf_outputs *o, int i, const char **spec, hf_output_counters *c)
{
    if (i < 0 || i >= o->n) return -1;
    memset(c, 0, sizeof *c);
    c->state = "ok";
    *spec = o->outs[i].spec;
    o->outs[i].ops->counters(o->outs[i].state, c);
    return 0;
}

uint64_t hf_outputs_lost(hf_outputs *o)
{
    uint64_t n = 0;
    const char *spec;
    hf_output_counters c;
    for (int i = 0; hf_outputs_get(o, i, &spec, &c) == 0; i++)
        for (int k = 0; k < c.nlost; k++) n += c.lost[k].n;
    return n;
}

int hf_outputs_close(hf_outputs *o)
{
    if (!o) return 0;
    int rc = 0;
    for (int i = 0; i < o->n; i++) {
        if (o->outs[i].ops->close(o->outs[i].state) < 0) rc = -1;
        hf_free(o->outs[i].spec);
    }
    hf_free(o);
    return rc;
}
