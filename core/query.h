/* query.h -- `hostflow query SCRIPT.lua`: run an investigation script over
 * flows read from a file, stdin or a time range of a Kafka topic. */
#ifndef HF_QUERY_H
#define HF_QUERY_H

/* The command: argv[0] is "query".  Returns the exit status: 0 done, 1 the
 * script failed or the input could not be read, 2 usage. */
int hf_query_main(int argc, char **argv);

#endif
