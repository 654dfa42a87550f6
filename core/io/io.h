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
 * Inputs are tables of the same shape (in_file.c, in_kafka.c), with read
 * and commit: the run calls read() for one bounded step at a time (a block
 * of lines, one poll of the consumer), feeding the pipeline, and between
 * steps, every commit_interval, flushes the outputs and calls commit(): the
 * input learns which of its positions are now safe (the pipeline's commit
 * points), whatever the outputs are. */
#ifndef HF_IO_H
#define HF_IO_H

#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"
#include "engine/record.h"

/* librdkafka's, for the transactional outputs (opaque here) */
typedef struct rd_kafka_topic_partition_list_s rd_kafka_topic_partition_list_t;
typedef struct rd_kafka_consumer_group_metadata_s rd_kafka_consumer_group_metadata_t;

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

/* ------------------------------------------------------------------------
 * The run's counters, for outputs that show them (the HTTP view, --top)
 *
 * An output with a watch op is handed, once, a function that fills a
 * snapshot of the whole run's counters: the pipeline's, the engine's, every
 * output's and the input's lag, gathered by the command layer (cmd/report.c)
 * as the counters report is.  The run calls watch() after it has opened the
 * outputs, the engine and the input, before the first read.  The function
 * may be called from any thread until the output is closed; it takes a lock
 * for a moment and never waits for the data path.  Once the run has ended
 * it keeps returning the last snapshot (closed_until_ms INT64_MAX: every
 * window is written).  Names are copied in, never pointed at.
 * --------------------------------------------------------------------- */

#define HF_RUN_REASONS  16
#define HF_RUN_ANALYSES 64
#define HF_RUN_OUTPUTS  16
#define HF_RUN_NAME     64

typedef struct hf_run_counters {
    double   seconds;             /* since the run started */
    uint64_t records_in;          /* input records read */
    uint64_t decoded;
    int      nrejected;
    struct { char reason[HF_RUN_NAME]; uint64_t n; } rejected[HF_RUN_REASONS]; /* by reason */
    uint64_t filtered;            /* source not monitored */
    uint64_t late;
    uint64_t accepted;            /* monitored, in time: given to the workers */
    uint64_t replayed;            /* in records before a restart: skipped */
    uint64_t held;                /* held aside now, ahead in time */
    uint64_t skipped;             /* IPFIX options and templates: not flows */
    uint64_t hosts_refused;       /* flows of new hosts over the memory limit */
    uint64_t records_out;         /* records the workers made */
    uint64_t memory_bytes;        /* window state now */
    int      nanalyses;
    struct { char name[HF_RUN_NAME]; double errors, seconds; int disabled; } analyses[HF_RUN_ANALYSES];
    int      noutputs;
    struct { char spec[HF_RUN_NAME]; uint64_t written, pending, lost; } outputs[HF_RUN_OUTPUTS];
    uint64_t output_lost;         /* the outputs' lost records, summed */
    int64_t  input_lag;           /* messages behind the input's end (Kafka); -1: none known */
    int64_t  closed_until_ms;     /* every window ending by then is handed to every output */
    int      workers;
} hf_run_counters;

typedef void (*hf_run_counters_fn)(void *ctx, hf_run_counters *c);

typedef struct hf_output_ops {
    const char *scheme;       /* "file", "kafka", "opensearch", ... */
    const char *usage;        /* one line for --help: "kafka:TOPIC  one message per record ..." */
    const hf_conf_key *keys;  /* its configuration keys (io/<name>_config.c), or NULL */
    void *(*open)(const hf_config *cfg, const char *target, char *err, size_t errlen);
    int   (*write)(void *out, const hf_records *batch);
    int   (*flush)(void *out, int timeout_ms);
    /* A transactional output (Kafka, in the partial role): commit everything
     * written so far together with a Kafka input's offsets, and begin
     * again.  HF_OUT_OK; HF_OUT_PENDING: aborted (everything since the
     * last commit is gone: the input reads again from there); HF_OUT_FATAL.
     * NULL: not transactional. */
    int   (*commit_txn)(void *out, rd_kafka_topic_partition_list_t *offsets,
                        rd_kafka_consumer_group_metadata_t *group);
    void  (*counters)(void *out, hf_output_counters *c);
    int   (*close)(void *out);
    /* Optional (NULL for most): the run's counters function, handed once
     * before the first read (above). */
    void  (*watch)(void *out, hf_run_counters_fn fn, void *ctx);
    /* Optional: 1 when the output's own keys ask for it (--top, --http
     * ADDR) and no output of its scheme is named, with its target in
     * target; the run then opens "scheme:target" with the others.  A
     * target of "-" takes standard output: the file output "-" (records
     * on standard output, the default) is then left out. */
    int   (*wanted)(const hf_config *cfg, char *target, size_t n);
} hf_output_ops;

/* ------------------------------------------------------------------------
 * Inputs
 * --------------------------------------------------------------------- */

struct hf_pipeline;
struct hf_buf;

/* The run, as an input sees it. */
typedef struct hf_input_env {
    struct hf_pipeline *pipeline;          /* where records go (stream/pipeline.h) */
    /* Wait at most timeout_ms until every output has acknowledged what it
     * was written: HF_OUT_OK, HF_OUT_PENDING or HF_OUT_FATAL. */
    int               (*flush)(void *ctx, int timeout_ms);
    /* The partial role: commit the outputs' transaction with these offsets
     * (hf_output_ops.commit_txn, over every output). */
    int               (*commit_txn)(void *ctx, rd_kafka_topic_partition_list_t *offsets,
                                    rd_kafka_consumer_group_metadata_t *group);
    /* Where an input writes records of its own (the partial role's progress). */
    const hf_record_sink *sink;
    void               *ctx;
    const _Atomic int  *stop;              /* set when hostflow is asked to stop */
    struct hf_engine   *engine;            /* the workers (their profiles), or NULL (a relay) */
    int                 logs;              /* a log input (stream/logs.h): its lines are
                                              events (hf_pipeline_feed_event), and a read
                                              step never waits for them */
} hf_input_env;

enum {
    HF_IN_MORE = 1,           /* read: more to come */
    HF_IN_END = 0,            /* read: the input has ended */
    HF_IN_ERROR = -1,         /* read: a read error (logged); the run ends, exit 1 */
    HF_IN_IDLE = 2,           /* read (a log input): nothing to read now; more may come */
};

typedef struct hf_input_ops {
    const char *scheme;       /* "file" (a path, or - for standard input), "kafka" */
    const char *usage;        /* one line for --help */
    const hf_conf_key *keys;  /* its configuration keys, or NULL */
    void *(*open)(const hf_config *cfg, const char *target, const hf_input_env *env,
                  char *err, size_t errlen);
    /* One bounded step: read some records and feed them to the pipeline.
     * HF_IN_MORE, HF_IN_END or HF_IN_ERROR. */
    int   (*read)(void *in);
    /* The outputs acknowledged everything written so far: commit the
     * positions that are safe now.  0, or -1 (retried next time).  NULL
     * when the input keeps no positions (a file). */
    int   (*commit)(void *in);
    /* At a stop (not at the end of the input): 1 when the open windows are
     * to be handed over -- dropped unemitted after the last commit, for the
     * next owner of the input's positions to rebuild whole -- rather than
     * flushed.  NULL: always flushed (a file). */
    int   (*handover)(void *in);
    /* Its line for the counters report ("  kafka  connected, ..."), if any. */
    void  (*report)(void *in, struct hf_buf *out);
    /* Optional: messages behind the end of the input, as last measured,
     * or -1; any thread (the run's counters, above).  NULL: a file. */
    int64_t (*lag)(void *in);
    /* How far it has read, for --progress: *done bytes of *total (0 when
     * the size is not known).  NULL when it has no such measure (Kafka). */
    void  (*progress)(void *in, uint64_t *done, uint64_t *total);
    /* The run is over (the last commit is done): leave, free. */
    void  (*close)(void *in);
} hf_input_ops;

/* The input for a spec ("kafka:flows", "flows.ndjson.gz", "-"), like
 * hf_output_find. */
const hf_input_ops *hf_input_find(const char *spec, const char **target,
                                  char *err, size_t errlen);

/* One line per output for --help: "  -o kafka:TOPIC   one message per ...". */
void hf_io_usage(void (*put)(void *ctx, const char *line), void *ctx);

/* Register every plugin's configuration keys with the loader (before the
 * configuration is loaded). */
void hf_io_register_keys(void);

/* The output for a spec ("kafka:hosts", "out.ndjson", "-"): its table, and
 * in *target what follows the scheme (the whole spec for the file output).
 * NULL when the scheme is unknown (a message in err lists the known ones). */
const hf_output_ops *hf_output_find(const char *spec, const char **target,
                                    char *err, size_t errlen);
/* The i-th output of the list (io.c), NULL past the last. */
const hf_output_ops *hf_output_nth(int i);

#endif
