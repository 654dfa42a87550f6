/* query.c -- `hostflow query` and the batch reader it shares with `hostflow
 * check` (see query.h).
 *
 * The reader turns lines into hf_flow structs in a batch buffer of its own:
 * decode (core/decode.c), then the -n prefixes and the --from/--to range;
 * every line that is not returned is counted, by reason, and (rate-limited)
 * logged with its line number, as `hostflow run` does.  A script that needs
 * two passes (relative times such as "the last hour of the data") asks for
 * a rewind: a file is opened again, standard input is replayed from a
 * temporary copy made during the first pass (hf_query_spool).
 *
 * The command parses its flags, opens the input, makes a Lua state and hands
 * the rest to lua/hostflow/query.lua, which loads the script, pulls the
 * batches through the FFI and prints the results. */
#include "cmd/query.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/luastate.h"
#include "base/timefmt.h"
#include "base/tz.h"
#include "conf/config.h"
#include "io/input.h"
#include "io/kafka_range.h"
#include "stream/decode.h"

#define QUERY_MAX_LINE  (1u << 20)   /* as hostflow run's default max_line */
#define QUERY_BATCH     1024
#define REASON_TOO_LONG HF_DECODE_REASONS
#define NREASONS        (HF_DECODE_REASONS + 1)

/* ------------------------------------------------------------------------
 * The batch reader
 * --------------------------------------------------------------------- */

struct hf_query_input {
    char              *path;       /* as given ("-": stdin) */
    const char        *name;       /* for messages: "stdin" or the path */
    hf_input          *in;
    const hf_prefixes *nets;       /* NULL: every source */
    double             from_ms, to_ms;
    int                batch, warn;
    int                pass;       /* 0 the first reading, then 1, 2, ... */
    int                eof, failed;
    char               error[256];
    hf_decode_ctx      ctx;        /* the zone and skew of decoding (UTC, none) */
    hf_flow           *flows;      /* the batch (room for one more: a biflow's second) */
    double            *lines;      /* input line of each flow of the batch */

    /* counters of the first pass */
    uint64_t           nlines, nflows, filtered, outside_time, skipped;
    uint64_t           rejected[NREASONS];
    hf_ratelimit       rl;

    /* a copy of standard input for a second pass */
    int                spooling;
    FILE              *spool;
    char              *spool_path;
};

static const char *reason_name(int r)
{
    return r == REASON_TOO_LONG ? "too_long" : hf_decode_reason_name(r);
}

hf_query_input *hf_query_input_open(const char *path, const hf_prefixes *nets,
                                    double from_ms, double to_ms, int batch, int warn,
                                    char *err, size_t errlen)
{
    hf_input *in = hf_input_open(path, QUERY_MAX_LINE, err, errlen);
    if (!in) return NULL;
    hf_query_input *q = hf_calloc(1, sizeof *q);
    q->path = hf_strdup(path);
    q->name = strcmp(path, "-") == 0 ? "stdin" : q->path;
    q->in = in;
    q->nets = nets;
    q->from_ms = from_ms;
    q->to_ms = to_ms;
    q->batch = batch > 0 ? batch : QUERY_BATCH;
    q->warn = warn;
    q->flows = hf_malloc(sizeof(hf_flow) * (size_t)(q->batch + 1));
    q->lines = hf_malloc(sizeof(double) * (size_t)(q->batch + 1));
    q->rl = (hf_ratelimit)HF_RATELIMIT_INIT(5);
    return q;
}

/* Count a line that is not returned (first pass only) and say why. */
static void reject(hf_query_input *q, int reason, const char *rec, size_t len)
{
    if (q->pass > 0) return;
    q->rejected[reason]++;
    if (!q->warn) return;
    char snip[72];
    unsigned long long line = (unsigned long long)hf_input_lineno(q->in);
    if (reason == REASON_TOO_LONG)
        hf_log_limited(&q->rl, HF_LOG_WARN, "%s:%llu: rejected (too_long): longer than %u bytes",
                       q->name, line, QUERY_MAX_LINE);
    else
        hf_log_limited(&q->rl, HF_LOG_WARN, "%s:%llu: rejected (%s): %s", q->name, line,
                       reason_name(reason), hf_log_snippet(rec, len, snip, sizeof snip));
}

/* Keep a copy of a line for the second pass (an empty line stands for one
 * that was too long, so that line numbers stay the same). */
static void spool_line(hf_query_input *q, const char *line, size_t len)
{
    if (!q->spool) return;
    if ((len && fwrite(line, 1, len, q->spool) != len) || putc('\n', q->spool) == EOF) {
        snprintf(q->error, sizeof q->error, "cannot write the copy of stdin to %s: %s",
                 q->spool_path, strerror(errno));
        fclose(q->spool);
        q->spool = NULL;
        q->spooling = -1;
    }
}

void hf_query_input_decoding(hf_query_input *q, const hf_decode_ctx *ctx)
{
    q->ctx = *ctx;
}

int hf_query_read(hf_query_input *q, const hf_flow **flows, const double **lines)
{
    *flows = q->flows;
    *lines = q->lines;
    if (q->failed) return -1;
    if (q->eof) return 0;
    int n = 0;
    while (n < q->batch) {
        const char *line;
        size_t len;
        int r = hf_input_next(q->in, &line, &len);
        if (r == HF_INPUT_EOF) {
            q->eof = 1;
            break;
        }
        if (r == HF_INPUT_ERROR) {
            snprintf(q->error, sizeof q->error, "%s:%llu: read error: %s", q->name,
                     (unsigned long long)hf_input_lineno(q->in), hf_input_error(q->in));
            q->failed = 1;
            break;
        }
        if (q->pass == 0) q->nlines++;
        if (r == HF_INPUT_TOO_LONG) {
            spool_line(q, "", 0);
            reject(q, REASON_TOO_LONG, NULL, 0);
            continue;
        }
        spool_line(q, line, len);
        hf_flow two[2];
        unsigned notes;
        int rc = hf_decode_record(&q->ctx, line, len, two, &notes);
        if (rc == HF_DECODE_OPTIONS || rc == HF_DECODE_TEMPLATE) {   /* not flows */
            if (q->pass == 0) q->skipped++;
            continue;
        }
        if (rc != HF_DECODE_OK) {
            reject(q, rc, line, len);
            continue;
        }
        for (int k = 0; k < ((notes & HF_DECODE_TWO) ? 2 : 1); k++) {
            const hf_flow *f = &two[k];
            if (q->nets && !hf_prefixes_match(q->nets, f->src)) {
                if (q->pass == 0) q->filtered++;
                continue;
            }
            if (f->end_ms < q->from_ms || f->end_ms >= q->to_ms) {
                if (q->pass == 0) q->outside_time++;
                continue;
            }
            q->flows[n] = *f;
            q->lines[n] = (double)hf_input_lineno(q->in);
            if (q->pass == 0) q->nflows++;
            n++;
        }
    }
    if (n == 0 && q->failed) return -1;
    return n;
}

int hf_query_spool(hf_query_input *q)
{
    if (strcmp(q->path, "-") != 0 || q->spool || q->spooling) return 0;
    const char *dir = getenv("TMPDIR");
    size_t n = strlen(dir && *dir ? dir : "/tmp") + 32;
    q->spool_path = hf_malloc(n);
    snprintf(q->spool_path, n, "%s/hostflow-query.XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(q->spool_path);
    if (fd < 0 || !(q->spool = fdopen(fd, "w"))) {
        snprintf(q->error, sizeof q->error, "cannot make a temporary copy of stdin in %s: %s",
                 q->spool_path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(q->spool_path);
        }
        return -1;
    }
    q->spooling = 1;
    return 0;
}

int hf_query_rewind(hf_query_input *q)
{
    char err[256];
    const char *path = q->path;
    if (strcmp(q->path, "-") == 0) {
        if (q->spooling != 1 || !q->spool) {
            if (q->spooling == 0)
                snprintf(q->error, sizeof q->error, "stdin cannot be read twice (it was not copied)");
            return -1;
        }
        if (fclose(q->spool) != 0) {
            q->spool = NULL;
            snprintf(q->error, sizeof q->error, "cannot write the copy of stdin to %s: %s",
                     q->spool_path, strerror(errno));
            return -1;
        }
        q->spool = NULL;
        path = q->spool_path;
    }
    hf_input *in = hf_input_open(path, QUERY_MAX_LINE, err, sizeof err);
    if (!in) {
        snprintf(q->error, sizeof q->error, "%s", err);
        return -1;
    }
    if (path == q->spool_path) {
        unlink(q->spool_path);     /* the open descriptor keeps it */
        q->spooling = 2;
    }
    hf_input_close(q->in);
    q->in = in;
    q->pass++;
    q->eof = q->failed = 0;
    return 0;
}

double hf_query_count(const hf_query_input *q, const char *name)
{
    if (!strcmp(name, "lines")) return (double)q->nlines;
    if (!strcmp(name, "flows")) return (double)q->nflows;
    if (!strcmp(name, "filtered")) return (double)q->filtered;
    if (!strcmp(name, "outside_time")) return (double)q->outside_time;
    if (!strcmp(name, "skipped")) return (double)q->skipped;
    uint64_t all = 0;
    for (int r = 1; r < NREASONS; r++) {
        if (!strcmp(name, reason_name(r))) return (double)q->rejected[r];
        all += q->rejected[r];
    }
    if (!strcmp(name, "rejected")) return (double)all;
    return -1;
}

const char *hf_query_input_name(const hf_query_input *q) { return q->name; }
const char *hf_query_input_error(const hf_query_input *q) { return q->error; }

void hf_query_report(const hf_query_input *q, FILE *f)
{
    uint64_t all = 0;
    for (int r = 1; r < NREASONS; r++) all += q->rejected[r];
    fprintf(f, "%llu lines, %llu flows, %llu rejected", (unsigned long long)q->nlines,
            (unsigned long long)q->nflows, (unsigned long long)all);
    if (all) {
        const char *sep = " (";
        for (int r = 1; r < NREASONS; r++) {
            if (!q->rejected[r]) continue;
            fprintf(f, "%s%s %llu", sep, reason_name(r), (unsigned long long)q->rejected[r]);
            sep = ", ";
        }
        fputc(')', f);
    }
    if (q->skipped)
        fprintf(f, ", %llu skipped (IPFIX options and templates)", (unsigned long long)q->skipped);
    if (q->nets) fprintf(f, ", %llu not in -n", (unsigned long long)q->filtered);
    if (q->from_ms > -INFINITY || q->to_ms < INFINITY)
        fprintf(f, ", %llu outside --from/--to", (unsigned long long)q->outside_time);
}

void hf_query_input_close(hf_query_input *q)
{
    if (!q) return;
    if (q->in) hf_input_close(q->in);
    if (q->spool) fclose(q->spool);
    if (q->spool_path && q->spooling == 1) unlink(q->spool_path);
    hf_free(q->spool_path);
    hf_free(q->flows);
    hf_free(q->lines);
    hf_free(q->path);
    hf_free(q);
}

/* ------------------------------------------------------------------------
 * The command
 * --------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: hostflow query SCRIPT.lua [OPTIONS] [[--] SCRIPT ARGS...]\n"
        "\n"
        "Runs an investigation script over IP flows (newline-delimited JSON from\n"
        "IPFIXcol, IPFIXcol2 or nfdump; plain or gzip) and prints what it asks for.\n"
        "\n"
        "  -i, --input FILE|-     flows to read; - is standard input (default -)\n"
        "      --kafka TOPIC      read a time range of a Kafka topic instead of -i\n"
        "                         (with --from and --to): every partition from the\n"
        "                         first message stamped an hour before --from to its end\n"
        "  -b, --brokers LIST     Kafka bootstrap servers (with --kafka)\n"
        "  -K KEY=VALUE           a librdkafka setting, passed unchanged (repeatable)\n"
        "      --from TIME        only flows that end at or after TIME\n"
        "      --to TIME          only flows that end before TIME; a TIME is ISO 8601\n"
        "                         (2026-11-26T14:00:00Z) or ms since the epoch\n"
        "  -n, --networks LIST    only flows whose source lies in LIST: CIDR prefixes,\n"
        "                         comma-separated, !PREFIX excludes (as hostflow run -n)\n"
        "  -c, --config FILE      the configuration whose input_tz and max_clock_skew\n"
        "                         apply (and kafka.* with --kafka); default: hostflow\n"
        "                         run's\n"
        "      --input-tz ZONE    time zone of input times written without an offset\n"
        "                         (nfdump prints local time), as hostflow run --input-tz\n"
        "  -f, --format FMT       table (default: aligned columns), csv, or json\n"
        "                         (one object per line)\n"
        "  -q, --quiet            no warnings about rejected lines, no counters\n"
        "  -h, --help             this help\n"
        "\n"
        "Arguments after the script (after -- when they start with -) reach it as\n"
        "q.args.  A script is Lua; it builds queries and they are printed at the end:\n"
        "\n"
        "  local q = require \"hostflow.query\"\n"
        "  q.flows()\n"
        "    :where { src = \"10.0.0.0/24\", dport = 443, proto = \"tcp\", from = \"-1h\" }\n"
        "    :group_by(\"src\")                -- or q.prefix(\"dst\", 24), q.bucket(\"1m\"), ...\n"
        "    :count():sum(\"bytes\"):distinct(\"dst\")\n"
        "    :top(10, \"bytes\")\n"
        "\n"
        "The API (where, group_by, count, sum, min, max, avg, distinct, first_seen,\n"
        "last_seen, having, sort, top, limit, each, q.on_end, q.print) is in\n"
        "lua/README.md; contrib/queries/ holds ready scripts (peers of a host, top\n"
        "talkers of a /24, hosts that began using a new port).\n"
        "\n"
        "Rejected lines are counted by reason and warned about (rate-limited); the\n"
        "counters go to stderr at the end.  Exit status: 0 done, 1 the script\n"
        "raised an error (its file:line is said) or the input could not be read,\n"
        "2 a usage error.\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "hostflow: query: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'hostflow query --help')\n");
    va_end(ap);
    return 2;
}

/* A time on the command line: ISO 8601 text or whole ms since the epoch. */
static int parse_time(const char *s, double *ms)
{
    int64_t v;
    if (hf_time_parse_iso(s, strlen(s), &v) == 0) {
        *ms = (double)v;
        return 0;
    }
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno || end == s || *end || n < 0) return -1;
    *ms = (double)n;
    return 0;
}

/* Add "A,B,!C" to nets.  0, or -1 with a message in err. */
static int add_networks(hf_prefixes *nets, const char *list, char *err, size_t errlen)
{
    char *copy = hf_strdup(list);
    int rc = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char why[160];
        if (hf_prefixes_add(nets, tok, why, sizeof why) < 0) {
            snprintf(err, errlen, "-n: \"%s\": %s", tok, why);
            rc = -1;
            break;
        }
    }
    hf_free(copy);
    if (rc == 0 && hf_prefixes_count(nets) == 0) {
        snprintf(err, errlen, "-n: expected CIDR prefixes such as 10.0.0.0/8, got \"%s\"", list);
        rc = -1;
    }
    return rc;
}

int hf_query_stdout_flush(const char *cmd)
{
    int e = fflush(stdout) != 0 ? errno : 0;
    if (!e && !ferror(stdout)) return 0;
    fprintf(stderr, "hostflow: %s: cannot write the results to standard output: %s\n", cmd,
            e ? strerror(e) : "a write failed");
    return -1;
}

int hf_query_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"input", required_argument, 0, 'i'},  {"kafka", required_argument, 0, 'k'},
        {"from", required_argument, 0, 'F'},   {"to", required_argument, 0, 'T'},
        {"networks", required_argument, 0, 'n'}, {"format", required_argument, 0, 'f'},
        {"quiet", no_argument, 0, 'q'},        {"help", no_argument, 0, 'h'},
        {"brokers", required_argument, 0, 'b'}, {"config", required_argument, 0, 'c'},
        {"input-tz", required_argument, 0, 'Z'},
        {0, 0, 0, 0}};
    hf_config kcfg;                      /* the configuration: input_tz, max_clock_skew, kafka.* */
    char *home = hf_home_dir();
    hf_config_defaults(&kcfg, home);
    hf_tz *tz = NULL;
    char *range_path = NULL;
    char err[4096];
    const char *input = NULL, *kafka = NULL, *format = "table";
    const char *from_text = NULL, *to_text = NULL;
    double from_ms = -INFINITY, to_ms = INFINITY;
    int quiet = 0, rc = 2;
    hf_prefixes *nets = NULL;
    hf_query_input *in = NULL;
    lua_State *L = NULL;

    /* the script's own arguments start after "--" */
    int nopt = argc;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--")) {
            nopt = i;
            break;
        }
    /* first pass: the configuration file (as hostflow run reads it: -c, else
     * the default one), so that the flags can override it */
    const char *conf = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(nopt, argv, "i:n:f:qhb:K:c:", opts, NULL)) != -1)
        if (c == 'c') conf = optarg;
    char *default_conf = conf ? NULL : hf_home_conf(home);
    if (!conf) conf = default_conf;
    if (conf && hf_config_load(&kcfg, conf, err, sizeof err) < 0) {
        fprintf(stderr, "hostflow: query: %s\n", err);
        hf_free(default_conf);
        goto out;
    }
    hf_free(default_conf);
    optind = 1;
    opterr = 1;
    while ((c = getopt_long(nopt, argv, "i:n:f:qhb:K:c:", opts, NULL)) != -1) {
        switch (c) {
        case 'c': break;
        case 'Z':
            if (hf_config_set(&kcfg, "input_tz", optarg, "--input-tz", 0, err, sizeof err) < 0) {
                rc = usage_error("%s", err);
                goto out;
            }
            break;
        case 'b': hf_config_set_kafka(&kcfg, "bootstrap.servers", optarg); break;
        case 'i': input = optarg; break;
        case 'k': kafka = optarg; break;
        case 'K': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg) {
                rc = usage_error("-K: expected KEY=VALUE (a librdkafka setting), got \"%s\"", optarg);
                goto out;
            }
            *eq = '\0';
            hf_config_set_kafka(&kcfg, optarg, eq + 1);
            *eq = '=';
            break;
        }
        case 'F': from_text = optarg; break;
        case 'T': to_text = optarg; break;
        case 'f': format = optarg; break;
        case 'q': quiet = 1; break;
        case 'n':
            if (!nets) nets = hf_prefixes_new();
            if (add_networks(nets, optarg, err, sizeof err) < 0) {
                rc = usage_error("%s", err);
                goto out;
            }
            break;
        case 'h':
            usage(stdout);
            rc = 0;
            goto out;
        default:
            fprintf(stderr, "hostflow: see 'hostflow query --help'\n");
            goto out;
        }
    }
    if (optind >= nopt) {
        rc = usage_error("which script? e.g. hostflow query contrib/queries/top_talkers.lua -i FLOWS");
        goto out;
    }
    const char *script = argv[optind];
    if (strcmp(format, "table") && strcmp(format, "csv") && strcmp(format, "json")) {
        rc = usage_error("-f: expected table, csv or json, got \"%s\"", format);
        goto out;
    }
    if (from_text && parse_time(from_text, &from_ms) < 0) {
        rc = usage_error("--from: expected a time such as 2026-11-26T14:00:00Z or ms, got \"%s\"", from_text);
        goto out;
    }
    if (to_text && parse_time(to_text, &to_ms) < 0) {
        rc = usage_error("--to: expected a time such as 2026-11-26T15:00:00Z or ms, got \"%s\"", to_text);
        goto out;
    }
    if (from_ms >= to_ms) {
        rc = usage_error("--from must be before --to");
        goto out;
    }
    if (kafka) {
        if (input) {
            rc = usage_error("-i and --kafka: read one or the other");
            goto out;
        }
        if (!from_text || !to_text) {
            rc = usage_error("--kafka needs --from and --to (the time range to read)");
            goto out;
        }
        /* copy the range to a file, which the query reads (twice if it must) */
        const char *dir = getenv("TMPDIR");
        size_t n = strlen(dir && *dir ? dir : "/tmp") + 32;
        range_path = hf_malloc(n);
        snprintf(range_path, n, "%s/hostflow-kafka.XXXXXX", dir && *dir ? dir : "/tmp");
        int fd = mkstemp(range_path);
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!f) {
            fprintf(stderr, "hostflow: query: cannot make a temporary file in %s\n", range_path);
            rc = 1;
            goto out;
        }
        long copied = hf_kafka_copy_range(&kcfg, kafka, (int64_t)from_ms, f, err, sizeof err);
        if (fclose(f) != 0 || copied < 0) {
            fprintf(stderr, "hostflow: query: --kafka %s: %s\n", kafka, copied < 0 ? err : "cannot write");
            rc = 1;
            goto out;
        }
        if (!quiet) hf_log(HF_LOG_INFO, "query: %ld messages read from %s", copied, kafka);
        input = range_path;
    }
    if (access(script, R_OK) != 0) {
        fprintf(stderr, "hostflow: query: %s: cannot read the script: %s\n", script, strerror(errno));
        rc = 2;
        goto out;
    }

    /* times without an offset in input_tz, ends a little before starts taken:
     * as hostflow run decodes */
    err[0] = '\0';
    tz = hf_tz_load(kcfg.input_tz ? kcfg.input_tz : "UTC", err, sizeof err);
    if (!tz && err[0]) {
        fprintf(stderr, "hostflow: query: input_tz: %s\n", err);
        rc = 2;
        goto out;
    }
    in = hf_query_input_open(input ? input : "-", nets, from_ms, to_ms, QUERY_BATCH, !quiet,
                             err, sizeof err);
    if (!in) {
        fprintf(stderr, "hostflow: query: %s\n", err);
        rc = 1;
        goto out;
    }
    hf_query_input_decoding(in, &(hf_decode_ctx){.tz = tz, .max_skew_ms = kcfg.max_skew_ms});
    char *lua_dir = hf_home_path(home, "lua");
    L = hf_lua_state_new(lua_dir, err, sizeof err);
    hf_free(lua_dir);
    if (!L) {
        fprintf(stderr, "hostflow: query: %s\n", err);
        rc = 1;
        goto out;
    }

    lua_createtable(L, 0, 8);
    lua_pushstring(L, script);
    lua_setfield(L, -2, "script");
    lua_pushstring(L, format);
    lua_setfield(L, -2, "format");
    lua_pushlightuserdata(L, in);
    lua_setfield(L, -2, "input");
    lua_pushboolean(L, quiet);
    lua_setfield(L, -2, "quiet");
    lua_createtable(L, argc - optind, 0);
    int k = 1;
    for (int i = optind + 1; i < argc; i++) {
        if (i == nopt) continue;          /* the "--" itself */
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, k++);
    }
    lua_setfield(L, -2, "args");
    rc = hf_lua_call_main(L, "hostflow.query", "main", err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "hostflow: query: %s\n", err);
        rc = 1;
    }
    if (hf_query_stdout_flush("query") < 0) rc = 1;
    /* the counters, unless nothing was read because the script stopped first */
    if (!quiet && (rc == 0 || hf_query_count(in, "lines") > 0)) {
        fprintf(stderr, "hostflow: query: %s: ", hf_query_input_name(in));
        hf_query_report(in, stderr);
        fputc('\n', stderr);
    }
out:
    if (L) lua_close(L);
    hf_query_input_close(in);
    if (range_path) {
        unlink(range_path);
        hf_free(range_path);
    }
    hf_config_release(&kcfg);
    if (tz) hf_tz_free(tz);
    if (nets) hf_prefixes_free(nets);
    hf_free(home);
    return rc;
}
