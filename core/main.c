/* main.c -- the hostflow command line: dispatch to the commands, nothing else.
 *
 *   hostflow run     flows in, one record per host per window out (cmd/run.c)
 *   hostflow check   load and validate an analysis, run it on sample flows (cmd/check.c)
 *   hostflow query   an investigation script over flows (cmd/query.c)
 *   hostflow config  the configuration's keys, defaults and documentation (cmd/run.c) */
#include <stdio.h>
#include <string.h>

#include "cmd/check.h"
#include "cmd/query.h"
#include "cmd/run.h"
#include "io/io.h"

#define HF_VERSION "0.2.0"

static void usage_main(FILE *f)
{
    fprintf(f,
        "hostflow %s -- real-time host monitoring from IP flows\n"
        "\n"
        "usage: hostflow COMMAND [OPTIONS]\n"
        "\n"
        "commands:\n"
        "  run       read flows, write one record per host per window (hostflow run --help)\n"
        "  check     load and validate an analysis, run it on sample flows (hostflow check --help)\n"
        "  query     run an investigation script over flows (hostflow query --help)\n"
        "  config    list the configuration's keys, their defaults and what they do\n"
        "\n"
        "  hostflow --help | --version\n", HF_VERSION);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage_main(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage_main(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("hostflow %s\n", HF_VERSION);
        return 0;
    }
    hf_io_register_keys();
    if (!strcmp(argv[1], "run")) return hf_run_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "check")) return hf_check_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "query")) return hf_query_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "config")) return hf_config_main(argc - 1, argv + 1);
    fprintf(stderr, "hostflow: unknown command \"%s\" (see 'hostflow --help')\n", argv[1]);
    return 2;
}
