/* sink.h -- where host records go: a file or standard output, as NDJSON.
 *
 * Workers hand the sink whole buffers of complete records; the sink writes
 * each buffer in one piece under a lock, so records of different workers
 * never interleave within a line. */
#ifndef HF_SINK_H
#define HF_SINK_H

#include <stddef.h>
#include <stdint.h>

typedef struct hf_sink hf_sink;

/* Open path ("-" is standard output).  NULL with a message in err. */
hf_sink *hf_sink_open(const char *path, char *err, size_t errlen);
/* Write len bytes holding nrecords records.  Returns 0 or -1 (write error,
 * logged once; the records are counted as lost). */
int hf_sink_write(hf_sink *s, const char *data, size_t len, uint64_t nrecords);
uint64_t hf_sink_records(hf_sink *s);
uint64_t hf_sink_lost(hf_sink *s);
/* Flush and close.  Returns 0 or -1 when anything failed. */
int hf_sink_close(hf_sink *s);

#endif
