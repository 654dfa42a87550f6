/* check.c -- `hostflow check FILE.lua` (see check.h).
 *
 * The C side parses the flags, opens the sample flows with the batch reader
 * of query.c and makes a Lua state as a worker's (luastate.c); everything
 * else -- loading the analysis as the runtime does, running it through the
 * core's state functions, watching the JIT, the report -- is in
 * lua/hostflow/check.lua. */
#include "cmd/check.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lua.h>

#include "base/alloc.h"
#include "base/luastate.h"
#include "cmd/query.h"

#define CHECK_HOSTS 5   /* hosts whose results are shown by default */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: hostflow check FILE.lua [-i FLOWS] [-n HOSTS] [--flows N] [--strict]\n"
        "\n"
        "Loads and validates an analysis as hostflow run would, runs it on sample\n"
        "flows (every flow in one window, one state per source host, made and\n"
        "merged by the core), and reports:\n"
        "\n"
        "  the analysis's name, version and order, and its state: each field's\n"
        "  kind, offset and size, and the bytes per host;\n"
        "  the flows fed and the hosts;\n"
        "  whether the update loop compiled (LuaJIT trace events), with every NYI\n"
        "  abort, its reason and its file:line;\n"
        "  the errors update() and result() raised (caught, counted, with\n"
        "  file:line and a host);\n"
        "  whether the flows fed as two halves and merged give the same result;\n"
        "  and the JSON text the analysis writes under stats.<name> for the\n"
        "  busiest hosts.\n"
        "\n"
        "  -i, --input FLOWS   flows to run it on (NDJSON, plain or gzip; - is stdin);\n"
        "                      default: contrib/sample-flows.ndjson.gz\n"
        "  -n, --hosts N       how many hosts' results to show (default 5)\n"
        "      --flows N       feed at most N flows (default: all)\n"
        "      --trusted       run it as a file of analyses.trusted: outside the\n"
        "                      sandbox, with every library\n"
        "      --strict        also fail when the loop does not compile or the\n"
        "                      halves do not merge to the whole\n"
        "  -h, --help          this help\n"
        "\n"
        "Exit status: 0 the analysis is valid and raised no error, 1 it does not\n"
        "load or raised errors (or, with --strict, a warning), 2 a usage error.\n");
}

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "hostflow: check: %s \"%s\" (see 'hostflow check --help')\n", what, arg);
    return 2;
}

/* A whole number >= min, or -1. */
static long parse_count(const char *s, long min)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min) return -1;
    return v;
}

int hf_check_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"input", required_argument, 0, 'i'}, {"hosts", required_argument, 0, 'n'},
        {"flows", required_argument, 0, 'F'}, {"strict", no_argument, 0, 'S'},
        {"trusted", no_argument, 0, 'T'},
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
    char err[4096];
    const char *input = NULL;
    long hosts = CHECK_HOSTS, max_flows = -1;
    int strict = 0, trusted = 0, rc = 2;
    char *home = hf_home_dir(), *sample = NULL;
    hf_query_input *in = NULL;
    lua_State *L = NULL;

    optind = 1;
    opterr = 1;
    int c;
    while ((c = getopt_long(argc, argv, "i:n:h", opts, NULL)) != -1) {
        switch (c) {
        case 'i': input = optarg; break;
        case 'S': strict = 1; break;
        case 'T': trusted = 1; break;
        case 'n':
            if ((hosts = parse_count(optarg, 0)) < 0) {
                rc = usage_error("-n: expected a number of hosts, got", optarg);
                goto out;
            }
            break;
        case 'F':
            if ((max_flows = parse_count(optarg, 1)) < 0) {
                rc = usage_error("--flows: expected a number of flows >= 1, got", optarg);
                goto out;
            }
            break;
        case 'h':
            usage(stdout);
            rc = 0;
            goto out;
        default:
            fprintf(stderr, "hostflow: see 'hostflow check --help'\n");
            goto out;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "hostflow: check: which analysis? e.g. hostflow check analyses/total.lua "
                        "(see 'hostflow check --help')\n");
        goto out;
    }
    if (optind + 1 < argc) {
        rc = usage_error("one analysis at a time; unexpected argument", argv[optind + 1]);
        goto out;
    }
    const char *file = argv[optind];
    if (access(file, R_OK) != 0) {
        fprintf(stderr, "hostflow: check: %s: cannot read: %s\n", file, strerror(errno));
        goto out;
    }
    if (!input) {
        sample = hf_home_path(home, "contrib/sample-flows.ndjson.gz");
        input = sample;
    }
    in = hf_query_input_open(input, NULL, -INFINITY, INFINITY, 1024, 0, err, sizeof err);
    if (!in) {
        fprintf(stderr, "hostflow: check: %s\n", err);
        rc = 1;
        goto out;
    }
    char *lua_dir = hf_home_path(home, "lua");
    L = hf_lua_state_new(lua_dir, err, sizeof err);
    hf_free(lua_dir);
    if (!L) {
        fprintf(stderr, "hostflow: check: %s\n", err);
        rc = 1;
        goto out;
    }
    lua_createtable(L, 0, 6);
    lua_pushstring(L, file);
    lua_setfield(L, -2, "file");
    lua_pushlightuserdata(L, in);
    lua_setfield(L, -2, "input");
    lua_pushinteger(L, (lua_Integer)hosts);
    lua_setfield(L, -2, "hosts");
    if (max_flows > 0) {
        lua_pushnumber(L, (lua_Number)max_flows);
        lua_setfield(L, -2, "max_flows");
    }
    lua_pushboolean(L, strict);
    lua_setfield(L, -2, "strict");
    lua_pushboolean(L, trusted);
    lua_setfield(L, -2, "trusted");
    rc = hf_lua_call_main(L, "hostflow.check", "main", err, sizeof err);
    if (rc < 0) {
        fflush(stdout);
        fprintf(stderr, "hostflow: check: %s\n", err);
        rc = 1;
    }
    if (hf_query_stdout_flush("check") < 0) rc = 1;
out:
    if (L) lua_close(L);
    hf_query_input_close(in);
    hf_free(sample);
    hf_free(home);
    return rc;
}
