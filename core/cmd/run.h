/* run.h -- `hostflow run`: flows in, one record per host per window out. */
#ifndef HF_RUN_H
#define HF_RUN_H

/* The command: argv[0] is "run".  Returns the exit status: 0 done, 1 the
 * input or an output failed, 2 a usage or configuration error, 3 the
 * watchdog stopped a stuck analysis. */
int hf_run_main(int argc, char **argv);

/* `hostflow config`: the keys of the configuration, their defaults and
 * documentation (argv[0] is "config"). */
int hf_config_main(int argc, char **argv);

#endif
