/* outputs.h -- the outputs of a run, as one: every record to every output,
 * acknowledged by all before an input position is committed.
 *
 *   workers ── batch ──▶ hf_outputs ──▶ out_file   (records.ndjson)
 *                                   ├─▶ out_kafka  (kafka:hosts)
 *                                   └─▶ ...        (io.c lists them)
 *
 * The engine sees the set as one hf_record_sink (engine/record.h); the run
 * flushes it before it commits, reads its counters for the report, and
 * stops reading when an output has failed for good. */
#ifndef HF_OUTPUTS_H
#define HF_OUTPUTS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "conf/config.h"
#include "engine/record.h"
#include "io/io.h"

typedef struct hf_outputs hf_outputs;

/* Open every output of cfg->outputs, and those their own keys ask for
 * (io.h, wanted: --top, --http ADDR).  NULL with a message in err naming
 * the output that could not be opened (the others are closed again). */
hf_outputs *hf_outputs_open(const hf_config *cfg, char *err, size_t errlen);
/* Hand the run's counters function to every output that shows it (io.h,
 * watch); once, before the first read. */
void hf_outputs_watch(hf_outputs *o, hf_run_counters_fn fn, void *ctx);
/* The set as the engine writes to it. */
const hf_record_sink *hf_outputs_sink(hf_outputs *o);
/* Wait at most timeout_ms until every output has acknowledged what it was
 * written: HF_OUT_OK, HF_OUT_PENDING, or HF_OUT_FATAL (one failed). */
int hf_outputs_flush(hf_outputs *o, int timeout_ms);
/* The partial role: commit every transactional output's transaction with
 * a Kafka input's offsets (io.h, commit_txn).  HF_OUT_OK, HF_OUT_PENDING
 * (aborted: read again from the last commit) or HF_OUT_FATAL (also when
 * no output is transactional). */
int hf_outputs_commit_txn(hf_outputs *o, rd_kafka_topic_partition_list_t *offsets,
                          rd_kafka_consumer_group_metadata_t *group);
/* 1 once an output has failed for good (the run stops reading). */
int hf_outputs_failed(const hf_outputs *o);
/* fn(ctx) is called once, from whichever thread saw it, when the first
 * output fails for good: the run stops reading at once, even a reader
 * that waits for input. */
void hf_outputs_on_failure(hf_outputs *o, void (*fn)(void *ctx), void *ctx);
/* The records lost by every output, summed over the reasons. */
uint64_t hf_outputs_lost(hf_outputs *o);
/* Output i's spec ("kafka:hosts") and counters; 0, or -1 past the last. */
int hf_outputs_get(hf_outputs *o, int i, const char **spec, hf_output_counters *c);
/* Flush and close every output.  0, or -1 when one lost records. */
int hf_outputs_close(hf_outputs *o);

#endif
