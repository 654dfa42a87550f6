/* io.h -- inputs and outputs as plugins.
 *
 * An output is a static table of callbacks (Fluent Bit's habit) registered
 * in the one list in io.c; the core knows outputs only through it.  Adding
 * one is a new file (copy out_file.c) and one line in that list: nothing in
 * the pipeline or the engine changes.
 *
 *   -o SCHEME:TARGET       "kafka:hosts", "opensearch:http://127.0.0.1:9200"
 *   -o PATH | -            the file output (a path, or - for standard output)
 *
 * Contract of every output:
 *   - write() is called from any worker thread, several at once, with whole
 *     batches (one closing window's records of one worker, hf_records).  It
 *     may block while the output's queue is full: that is the back-pressure
 *     that slows the workers and, through them, the input.  It returns 0, or
 *     HF_OUT_FATAL when the output has failed for good (a file on a full
 *     disk, a closed pipe): hostflow then stops reading at once and exits
 *     non-zero.
 *   - flush() waits at most timeout_ms until every record written so far is
 *     acknowledged (on disk, by the brokers, by the search server).  Input
 *     positions (Kafka offsets) are committed only after every output has
 *     said so (at least once).
 *   - counters() says what was acknowledged, what waits, what was retried,
 *     dead-lettered or lost (by reason): a record is counted as written only
 *     when the output has acknowledged it.
 *   - close() flushes what it can and frees; -1 when records were lost.
 *
 * Inputs are tables of the same shape (in_file.c, in_kafka.c); see below. */
#ifndef HF_IO_H
#define HF_IO_H

#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"
#include "engine/record.h"

enum {
    HF_OUT_OK = 0,
    HF_OUT_PENDING = 1,       /* flush: not everything is acknowledged yet */
    HF_OUT_FATAL = -1,        /* the output has failed for good */
};

#define HF_OUT_REASONS 8
#define HF_OUT_FIGURES 8

typedef struct hf_output_counters {
    uint64_t written;         /* records acknowledged */
    uint64_t pending;         /* written to it, not acknowledged yet */
    uint64_t retried;         /* records sent again (a transient failure) */
    uint64_t dead_letters;    /* records refused for good, kept in the dead-letter path */
    int      nlost;
    struct { const char *reason; uint64_t n; } lost[HF_OUT_REASONS]; /* records lost, by reason */
    const char *state;        /* "ok", "down" (retrying), "failed" */
    int      nfigures;
    struct { const char *name; double value; } figures[HF_OUT_FIGURES]; /* the output's own
                                 measures, for --stats: "bulk_requests", "bulk_latency_ms_p99", ... */
} hf_output_counters;

typedef struct hf_output_ops {
    const char *scheme;       /* "file", "kafka", "opensearch", ... */
    const char *usage;        /* one line for --help: "kafka:TOPIC  one message per record ..." */
    const hf_conf_key *keys;  /* its configuration keys (io/<name>_config.c), or NULL */
    void *(*open)(const hf_config *cfg, const char *target, char *err, size_t errlen);
    int   (*write)(void *out, const hf_records *batch);
    int   (*flush)(void *out, int timeout_ms);
    void  (*counters)(void *out, hf_output_counters *c);
    int   (*close)(void *out);
} hf_output_ops;

/* The output for a spec ("kafka:hosts", "out.ndjson", "-"): its table, and
 * in *target what follows the scheme (the whole spec for the file output).
 * NULL when the scheme is unknown (a message in err lists the known ones). */
/* Register every plugin's configuration keys with the loader (before the
 * configuration is loaded). */
void hf_io_register_keys(void);

const hf_output_ops *hf_output_find(const char *spec, const char **target,
                                    char *err, size_t errlen);

#endif
