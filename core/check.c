/* check.c -- `hostflow check` (see check.h).  Being written. */
#include "check.h"

#include <stdio.h>

int hf_check_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "hostflow: check: not available yet\n");
    return 2;
}
