/* relay.h -- the relay role's back half: every flow the pipeline keeps goes
 * straight to the outputs as one message keyed by its host, instead of
 * into windows.
 *
 *   raw topic (unkeyed) ─▶ decode, filter ─▶ relay ─▶ topic keyed by host
 *   (any exporter)          (stream/pipeline)          (stream/wire.h flows)
 *
 * This is Kafka Streams' repartition step: downstream, every flow of a host
 * is in one partition, so instances in one group own whole hosts.  The
 * relay keeps no windows, so it holds nothing: the pipeline hands it every
 * flow (late ones too: lateness is decided downstream), and its input's
 * positions are committed once the outputs have acknowledged the flows
 * before them (hf_pipeline_sync, then the outputs' flush). */
#ifndef HF_RELAY_H
#define HF_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"
#include "engine/record.h"
#include "stream/batch.h"

typedef struct hf_relay hf_relay;

/* A relay writing to sink, in cfg->relay_format ("binary": stream/wire.h
 * flows; "json": normalised JSON).  Never fails. */
hf_relay *hf_relay_new(const hf_config *cfg, const hf_record_sink *sink);
/* The relay as the pipeline hands it batches: one shard, written at once
 * in the calling thread. */
const hf_shards *hf_relay_shards(hf_relay *r);
/* Flows passed on so far, and their bytes (values, without keys). */
void hf_relay_counts(const hf_relay *r, uint64_t *flows, uint64_t *bytes);
void hf_relay_free(hf_relay *r);

#endif
