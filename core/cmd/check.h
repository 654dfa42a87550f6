/* check.h -- `hostflow check FILE.lua`: load and validate an analysis, run
 * it on sample flows, and say what it computed and how it ran. */
#ifndef HF_CHECK_H
#define HF_CHECK_H

/* The command: argv[0] is "check".  Returns the exit status: 0 valid and
 * error-free, 1 the analysis failed to load or raised errors, 2 usage. */
int hf_check_main(int argc, char **argv);

#endif
