/* pipeline.h -- the front half of the data path, and the whole run.
 *
 *   record ─▶ decode ─▶ filter ─▶ late? ─▶ watermark ─▶ shard ─▶ worker batches
 *
 * Records arrive one at a time from a source (a file, stdin, later Kafka).
 * The pipeline decodes each into a flow, keeps it when its source lies in a
 * monitored network, drops it as late when its base window has already
 * closed, advances the watermark (highest end time seen minus the allowed
 * lateness) and hands it to the worker that owns its host.  Because late
 * flows and the watermark are decided here, in input order, the records do
 * not depend on the number of workers. */
#ifndef HF_PIPELINE_H
#define HF_PIPELINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "decode.h"

typedef struct hf_pipeline hf_pipeline;

/* Start the workers (loading the analyses) and open the output.  NULL with
 * a message in err. */
hf_pipeline *hf_pipeline_new(const hf_config *cfg, const char *lua_dir, char *err, size_t errlen);
/* One input record (a JSON line, without newline); `where` names it in
 * warnings (e.g. "input.ndjson:1234"). */
void hf_pipeline_feed(hf_pipeline *p, const char *rec, size_t len, const char *where);
/* A record that was too long to read (counted, warned). */
void hf_pipeline_too_long(hf_pipeline *p, const char *where);
/* End of input: flush every open window, wait for the workers, close the
 * output.  Returns 0, or -1 when records could not be written. */
int hf_pipeline_finish(hf_pipeline *p);
/* The counters, as a compact table (to stderr at exit and on SIGUSR1) or as
 * one JSON object (the --stats file). */
void hf_pipeline_report(hf_pipeline *p, FILE *f);
int hf_pipeline_write_stats(hf_pipeline *p, const char *path);
void hf_pipeline_free(hf_pipeline *p);

#endif
