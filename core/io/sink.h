/* sink.h -- where host records go: a file or standard output as NDJSON, or
 * a Kafka topic ("kafka:TOPIC"), one message per record keyed by its id.
 *
 * Workers hand the sink whole buffers of complete records; a file sink
 * writes each buffer in one piece under a lock, so records of different
 * workers never interleave within a line. */
#ifndef HF_SINK_H
#define HF_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"

typedef struct hf_sink hf_sink;

/* Open spec: a path, "-" (standard output) or "kafka:TOPIC" (with the
 * librdkafka settings of cfg).  NULL with a message in err. */
hf_sink *hf_sink_open(const char *spec, const hf_config *cfg, char *err, size_t errlen);
/* Write len bytes holding nrecords records.  Returns 0 or -1 (write error,
 * logged once; the records are counted as lost). */
int hf_sink_write(hf_sink *s, const char *data, size_t len, uint64_t nrecords);
/* Wait (at most timeout_ms) until everything written so far is flushed to
 * the file or acknowledged by Kafka.  0, or -1 when not (yet) or failed. */
int hf_sink_sync(hf_sink *s, int timeout_ms);
uint64_t hf_sink_records(hf_sink *s);
uint64_t hf_sink_lost(hf_sink *s);
/* Flush and close.  Returns 0 or -1 when anything failed. */
int hf_sink_close(hf_sink *s);

#endif
