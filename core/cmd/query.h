/* query.h -- `hostflow query SCRIPT.lua`: run an investigation script over
 * flows read from a file, stdin or a time range of a Kafka topic.
 *
 * The C side reads and decodes; the script (through lua/hostflow/query.lua)
 * pulls the flows in batches of hf_flow structs with hf_query_read(), never
 * as a Lua table per flow.  The same batch reader feeds `hostflow check`. */
#ifndef HF_QUERY_H
#define HF_QUERY_H

#include <stddef.h>
#include <stdio.h>

#include "stream/decode.h"
#include "stream/flow.h"
#include "stream/prefix.h"

/* ------------------------------------------------------------------------
 * Flows in batches (the FFI surface of query.lua and check.lua)
 * --------------------------------------------------------------------- */

typedef struct hf_query_input hf_query_input;

/* Open path ("-" is standard input; plain or gzip) for reading in batches
 * of up to `batch` flows.  Only flows whose source matches nets (NULL: all)
 * and whose end lies in [from_ms, to_ms) are returned; the others are
 * counted.  warn: log each rejected line (rate-limited), as hostflow run
 * does.  NULL with a message in err. */
hf_query_input *hf_query_input_open(const char *path, const hf_prefixes *nets,
                                    double from_ms, double to_ms, int batch, int warn,
                                    char *err, size_t errlen);

/* Decode as ctx says (hostflow run's: the zone of times written without
 * an offset, input_tz, and max_clock_skew), instead of UTC and no skew.
 * ctx->tz must outlive the reader. */
void hf_query_input_decoding(hf_query_input *in, const hf_decode_ctx *ctx);

/* The next batch: *flows points at n decoded flows (a biflow record gives
 * two, its reverse direction under its own source, as hostflow run takes
 * it; IPFIX options and template records are skipped and counted) and *lines at the input
 * line of each (as doubles); both stay valid until the next call.  Returns
 * n > 0, 0 at the end, -1 on a read error (hf_query_input_error says which;
 * the flows read before it were returned first). */
int hf_query_read(hf_query_input *in, const hf_flow **flows, const double **lines);

/* Before the first read: keep a copy of what is read (in a temporary file)
 * so that standard input can be read again.  Files need none.  0, or -1. */
int hf_query_spool(hf_query_input *in);

/* Read the input again from its first line.  Counters and warnings stay
 * those of the first pass.  0, or -1 (a stdin that was not spooled). */
int hf_query_rewind(hf_query_input *in);

/* A counter of the first pass by name: "lines", "flows" (returned),
 * "rejected" (all reasons), "skipped" (IPFIX options and templates), "filtered" (-n), "outside_time" (from/to), or
 * a reject reason ("malformed_json", "too_long", ...).  -1 for an unknown
 * name. */
double hf_query_count(const hf_query_input *in, const char *name);

/* The input's name as warnings write it ("stdin" or the path). */
const char *hf_query_input_name(const hf_query_input *in);
const char *hf_query_input_error(const hf_query_input *in);

/* One line of counters: "50000 lines, 49850 flows, 150 rejected
 * (malformed_json 140, too_long 10), 3 filtered". */
void hf_query_report(const hf_query_input *in, FILE *f);

void hf_query_input_close(hf_query_input *in);

/* Flush standard output: 0, or -1 after saying on stderr that "hostflow
 * CMD" could not write its results (a full disk, /dev/full), so that the
 * command exits non-zero rather than 0 with nothing written. */
int hf_query_stdout_flush(const char *cmd);

/* ------------------------------------------------------------------------
 * The command
 * --------------------------------------------------------------------- */

/* argv[0] is "query".  Returns the exit status: 0 done, 1 the script
 * failed or the input could not be read, 2 usage. */
int hf_query_main(int argc, char **argv);

#endif
