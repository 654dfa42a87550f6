/* query.c -- `hostflow query` (see query.h).  Being written. */
#include "query.h"

#include <stdio.h>

int hf_query_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "hostflow: query: not available yet\n");
    return 2;
}
