/* report.h -- hostflow's counters, gathered from every part of a run: the
 * pipeline's (records, rejects by reason, late, replayed), the engine's
 * (windows, memory, analyses, close delay), the outputs' (written, waiting,
 * lost by reason) and the input's own line (Kafka: lag, commits).  As a
 * compact table (stderr at exit and on SIGUSR1), as one JSON object (the
 * --stats file), or as the snapshot that outputs showing the run read
 * (io.h, hf_run_counters: the HTTP view's /metrics, --top). */
#ifndef HF_REPORT_H
#define HF_REPORT_H

#include <stdio.h>
#include <time.h>

#include "conf/config.h"
#include "engine/engine.h"
#include "engine/relay.h"
#include "io/io.h"
#include "io/outputs.h"
#include "stream/pipeline.h"

typedef struct hf_run_view {
    const hf_config     *cfg;
    hf_pipeline         *pipeline;
    hf_engine           *engine;     /* NULL in the relay role */
    hf_relay            *relay;      /* the relay role's, else NULL */
    hf_outputs          *outputs;
    const hf_input_ops  *input_ops;
    void                *input;
    const hf_input_ops  *logs_ops;   /* the log input (logs.input), or NULL */
    void                *logs;
    struct timespec      started;    /* CLOCK_MONOTONIC */
} hf_run_view;

/* The counters as the outputs see them (io.h): any thread, while every
 * part of v is open (the run guards it; cmd/run.c). */
void hf_report_counters(const hf_run_view *v, hf_run_counters *c);
/* The counters as a table, to f. */
void hf_report_text(const hf_run_view *v, FILE *f);
/* The counters as JSON, to path.  0, or -1 (errno). */
int hf_report_json(const hf_run_view *v, const char *path);

#endif
