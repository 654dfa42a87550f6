/* outputs.c -- every record to every output (see outputs.h).
 *
 * A batch is handed to each output in turn, in the worker's thread; an
 * output that blocks (a full queue) holds that worker back, which is the
 * back-pressure that reaches the input.  The first output to fail for good
 * sets `failed`, which the run reads after each step. */
#include "io/outputs.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"

#define MAX_OUTPUTS 16

typedef struct output {
    const hf_output_ops *ops;
    void                *state;
    const char          *spec;
} output;

struct hf_outputs {
    output         outs[MAX_OUTPUTS];
    int            n;
    hf_record_sink sink;
    atomic_int     failed;
};

static int write_all(void *ctx, const hf_records *batch)
{
    hf_outputs *o = ctx;
    int rc = 0;
    for (int i = 0; i < o->n; i++)
        if (o->outs[i].ops->write(o->outs[i].state, batch) == HF_OUT_FATAL) {
            atomic_store(&o->failed, 1);
            rc = -1;
        }
    return rc;
}

hf_outputs *hf_outputs_open(const hf_config *cfg, char *err, size_t errlen)
{
    hf_outputs *o = hf_calloc(1, sizeof *o);
    o->sink.write = write_all;
    o->sink.ctx = o;
    if (cfg->outputs.n > MAX_OUTPUTS) {
        snprintf(err, errlen, "outputs: at most %d outputs", MAX_OUTPUTS);
        goto fail;
    }
    for (int i = 0; i < cfg->outputs.n; i++) {
        const char *spec = cfg->outputs.v[i], *target;
        const hf_output_ops *ops = hf_output_find(spec, &target, err, errlen);
        if (!ops) goto fail;
        void *state = ops->open(cfg, target, err, errlen);
        if (!state) goto fail;
        o->outs[o->n++] = (output){ops, state, spec};
    }
    return o;
fail:
    hf_outputs_close(o);
    return NULL;
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
            atomic_store(&o->failed, 1);
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

int hf_outputs_close(hf_outputs *o)
{
    if (!o) return 0;
    int rc = 0;
    for (int i = 0; i < o->n; i++)
        if (o->outs[i].ops->close(o->outs[i].state) < 0) rc = -1;
    hf_free(o);
    return rc;
}
