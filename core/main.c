/* main.c -- the hostflow command line: `hostflow run` and its flags, help,
 * signals, and the read loop that feeds the pipeline.
 *
 *   hostflow run [-c conf/hostflow.lua] [-i FILE|-] [-n CIDR[,CIDR...]]
 *                [-w 10s,30s,1m,5m] [-l 5s] [-o FILE|-] [...]
 *
 * Flags override the configuration file, which overrides the defaults.  A
 * bad flag or configuration stops hostflow before it reads any input. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "cmd/check.h"
#include "conf/config.h"
#include "io/input.h"
#include "base/log.h"
#include "base/luastate.h"
#include "io/kafka.h"
#include "stream/pipeline.h"
#include "base/timefmt.h"
#include "cmd/query.h"

#define HF_VERSION "0.1.0"

/* ------------------------------------------------------------------------
 * Signals
 *
 * SIGUSR1, SIGHUP, SIGINT and SIGTERM are blocked in every thread and taken
 * by one signal thread (sigwait), which prints the counters, reloads the
 * analyses (SIGHUP; reload.h) or asks the reading thread to stop.  A stop
 * also sends the reading thread SIGUSR2, whose handler does nothing but
 * interrupt a read that is waiting for input.
 * --------------------------------------------------------------------- */

static atomic_int got_stop;
static pthread_t reader_thread;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static hf_pipeline *report_pipeline;   /* NULL once it is being freed */

static void on_wakeup(int sig)
{
    (void)sig;
}

/* The signals the signal thread takes. */
static void taken_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGUSR1);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

static void *signal_main(void *arg)
{
    (void)arg;
    sigset_t set;
    taken_signals(&set);
    for (;;) {
        int sig;
        if (sigwait(&set, &sig) != 0) continue;
        if (sig == SIGUSR1) {
            pthread_mutex_lock(&report_lock);
            if (report_pipeline) hf_pipeline_report(report_pipeline, stderr);
            pthread_mutex_unlock(&report_lock);
            continue;
        }
        if (sig == SIGHUP) {
            pthread_mutex_lock(&report_lock);
            if (report_pipeline) hf_pipeline_reload(report_pipeline);
            pthread_mutex_unlock(&report_lock);
            continue;
        }
        atomic_store(&got_stop, 1);
        pthread_kill(reader_thread, SIGUSR2);
        return NULL;
    }
}

/* Block the signals the signal thread takes (before any thread starts, so
 * every thread inherits the mask) and let SIGUSR2 interrupt reads. */
static void signals_block(void)
{
    sigset_t set;
    taken_signals(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_wakeup;           /* no SA_RESTART: read() returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, NULL);
    reader_thread = pthread_self();
}

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
        "\n"
        "  hostflow --help | --version\n", HF_VERSION);
}

static void usage_run(FILE *f)
{
    fprintf(f,
        "usage: hostflow run [OPTIONS]\n"
        "\n"
        "Reads IP flows (newline-delimited JSON from IPFIXcol, IPFIXcol2 or nfdump;\n"
        "plain or gzip), keeps those whose source lies in a monitored network, and\n"
        "writes one JSON record per host per window with every analysis's result.\n"
        "\n"
        "  -c, --config FILE      configuration file (Lua returning a table);\n"
        "                         default: conf/hostflow.lua beside the executable\n"
        "  -i, --input FILE|-     flows to read; - is standard input (default -)\n"
        "  -o, --output FILE|-    where records go; - is standard output (default -)\n"
        "  -n, --networks LIST    monitored networks, comma-separated CIDR prefixes;\n"
        "                         !PREFIX excludes (default: every address)\n"
        "  -w, --windows LIST     window granularities, e.g. 10s,30s,1m,5m (the default)\n"
        "  -l, --lateness DUR     allowed lateness of flows behind the newest (default 5s)\n"
        "  -j, --workers N        worker threads (and as many decoder threads when N > 1);\n"
        "                         0 is one per core (default 0)\n"
        "  -a, --analyses DIR     directory of the Lua analyses (default analyses/)\n"
        "  -m, --memory SIZE      memory for window state, e.g. 512MiB (default 4GiB)\n"
        "      --stats FILE       write the counters as JSON to FILE at exit\n"
        "\n"
        "Kafka: -i kafka:TOPIC[,TOPIC...] consumes flows in a consumer group; -o kafka:TOPIC\n"
        "produces one message per record, keyed by the record's id.\n"
        "  -K, --kafka KEY=VALUE  a librdkafka setting, passed unchanged (repeatable)\n"
        "  -b, --brokers LIST     bootstrap servers (the same as -K bootstrap.servers=LIST)\n"
        "  -g, --group ID         consumer group (default hostflow; -K group.id=ID)\n"
        "      --from WHERE       earliest, latest or a time (ISO 8601): where a group with\n"
        "                         no committed offsets starts; a time also rewinds (default earliest)\n"
        "      --dead-letter kafka:TOPIC   copy undecodable messages there, with the reason\n"
        "      --commit-interval DUR       how often offsets are committed (default 5s)\n"
        "      --exit-at-end      stop once every partition is read to its end\n"
        "  -q, --quiet            only errors on stderr (no warnings, no counters)\n"
        "  -h, --help             this help\n"
        "\n"
        "Signals: SIGUSR1 prints the counters; SIGHUP reloads the analyses (so does\n"
        "a change in their directory); SIGINT/SIGTERM stop reading, flush\n"
        "every open window and exit.\n");
}

/* Print "hostflow: MESSAGE" and return the exit status of a usage error. */
static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "hostflow: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 2;
}

static int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},  {"input", required_argument, 0, 'i'},
        {"output", required_argument, 0, 'o'},  {"networks", required_argument, 0, 'n'},
        {"windows", required_argument, 0, 'w'}, {"lateness", required_argument, 0, 'l'},
        {"workers", required_argument, 0, 'j'}, {"analyses", required_argument, 0, 'a'},
        {"memory", required_argument, 0, 'm'},  {"stats", required_argument, 0, 'S'},
        {"quiet", no_argument, 0, 'q'},         {"help", no_argument, 0, 'h'},
        {"kafka", required_argument, 0, 'K'},   {"brokers", required_argument, 0, 'b'},
        {"group", required_argument, 0, 'g'},   {"from", required_argument, 0, 'F'},
        {"dead-letter", required_argument, 0, 'D'}, {"commit-interval", required_argument, 0, 'C'},
        {"exit-at-end", no_argument, 0, 'E'},
        {0, 0, 0, 0}};
    const char *optstr = "c:i:o:n:w:l:j:a:m:qhK:b:g:";
    char err[1024];
    char *home = hf_home_dir();
    hf_config cfg;
    hf_config_defaults(&cfg, home);
    int rc = 2;

    /* first pass: the configuration file, so the flags can override it */
    const char *conf = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, optstr, opts, NULL)) != -1) {
        if (c == 'c') conf = optarg;
        if (c == 'h') {
            usage_run(stdout);
            rc = 0;
            goto out;
        }
    }
    char *default_conf = NULL;
    if (!conf) {
        default_conf = hf_home_path(home, "conf/hostflow.lua");
        if (access(default_conf, R_OK) == 0) conf = default_conf;
    }
    if (conf && hf_config_load(&cfg, conf, err, sizeof err) < 0) {
        fprintf(stderr, "hostflow: %s\n", err);
        hf_free(default_conf);
        goto out;
    }
    hf_free(default_conf);

    /* second pass: the flags */
    optind = 1;
    opterr = 1;
    while ((c = getopt_long(argc, argv, optstr, opts, NULL)) != -1) {
        switch (c) {
        case 'c': break;
        case 'i': hf_free(cfg.input); cfg.input = hf_strdup(optarg); break;
        case 'o': hf_free(cfg.output); cfg.output = hf_strdup(optarg); break;
        case 'a': hf_free(cfg.analyses_dir); cfg.analyses_dir = hf_strdup(optarg); break;
        case 'S': hf_free(cfg.stats); cfg.stats = hf_strdup(optarg); break;
        case 'q': hf_log_level = HF_LOG_ERROR; break;
        case 'b': hf_config_set_kafka(&cfg, "bootstrap.servers", optarg); break;
        case 'g': hf_config_set_kafka(&cfg, "group.id", optarg); break;
        case 'E': cfg.exit_at_end = 1; break;
        case 'K': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg) {
                rc = die("-K: expected KEY=VALUE (a librdkafka setting), got \"%s\"", optarg);
                goto out;
            }
            *eq = '\0';
            hf_config_set_kafka(&cfg, optarg, eq + 1);
            *eq = '=';
            break;
        }
        case 'F': {
            int64_t ms;
            if (strcmp(optarg, "earliest") && strcmp(optarg, "latest") &&
                hf_time_parse_iso(optarg, strlen(optarg), &ms) < 0) {
                rc = die("--from: expected earliest, latest or a time such as "
                         "2026-11-26T14:00:00Z, got \"%s\"", optarg);
                goto out;
            }
            hf_free(cfg.kafka_start);
            cfg.kafka_start = hf_strdup(optarg);
            break;
        }
        case 'D':
            if (strncmp(optarg, "kafka:", 6) != 0 || !optarg[6]) {
                rc = die("--dead-letter: expected kafka:TOPIC, got \"%s\"", optarg);
                goto out;
            }
            hf_free(cfg.dead_letter);
            cfg.dead_letter = hf_strdup(optarg);
            break;
        case 'C':
            if (hf_config_parse_duration_ms(optarg, &cfg.commit_interval_ms) < 0 || cfg.commit_interval_ms < 100) {
                rc = die("--commit-interval: expected a duration of at least 100ms, got \"%s\"", optarg);
                goto out;
            }
            break;
        case 'n':
            if (hf_config_set_networks(&cfg, optarg, err, sizeof err) < 0) {
                rc = die("%s", err);
                goto out;
            }
            break;
        case 'w':
            if (hf_config_set_windows(&cfg, optarg, err, sizeof err) < 0) {
                rc = die("%s", err);
                goto out;
            }
            break;
        case 'l':
            if (hf_config_parse_duration_ms(optarg, &cfg.lateness_ms) < 0) {
                rc = die("-l: expected a duration such as 5s or 500ms, got \"%s\"", optarg);
                goto out;
            }
            break;
        case 'm':
            if (hf_config_parse_size(optarg, &cfg.memory_max) < 0) {
                rc = die("-m: expected a size such as 512MiB or 4GiB, got \"%s\"", optarg);
                goto out;
            }
            break;
        case 'j': {
            char *end;
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || v < 0 || v > 256) {
                rc = die("-j: expected a number of workers from 0 to 256, got \"%s\"", optarg);
                goto out;
            }
            cfg.workers = (int)v;
            break;
        }
        default:
            fprintf(stderr, "hostflow: see 'hostflow run --help'\n");
            goto out;
        }
    }
    if (optind < argc) {
        rc = die("unexpected argument \"%s\" (see 'hostflow run --help')", argv[optind]);
        goto out;
    }
    if (hf_config_check(&cfg, err, sizeof err) < 0) {
        rc = die("%s", err);
        goto out;
    }

    signals_block();
    int from_kafka = strncmp(cfg.input, "kafka:", 6) == 0;
    hf_input *in = NULL;
    if (!from_kafka && !(in = hf_input_open(cfg.input, cfg.max_line, err, sizeof err))) {
        rc = die("%s", err);
        goto out;
    }
    char *lua_dir = hf_home_path(home, "lua");
    hf_pipeline *p = hf_pipeline_new(&cfg, lua_dir, err, sizeof err);
    hf_free(lua_dir);
    if (!p) {
        hf_input_close(in);
        rc = die("%s", err);
        goto out;
    }

    hf_kafka_source *src = NULL;
    if (from_kafka && !(src = hf_kafka_source_new(&cfg, cfg.input + 6, p, err, sizeof err))) {
        hf_pipeline_free(p);
        rc = die("%s", err);
        goto out;
    }

    report_pipeline = p;
    pthread_t sig_thread;
    pthread_create(&sig_thread, NULL, signal_main, NULL);
    pthread_detach(sig_thread);

    int read_failed = from_kafka ? hf_kafka_source_run(src, &got_stop) < 0
                                 : hf_pipeline_read(p, in, strcmp(cfg.input, "-") ? cfg.input : "stdin",
                                                    &got_stop);
    if (atomic_load(&got_stop)) hf_log(HF_LOG_INFO, "stopping: flushing open windows");
    hf_input_close(in);
    rc = hf_pipeline_finish(p) < 0 || read_failed ? 1 : 0;
    hf_kafka_source_free(src);
    if (hf_log_level >= HF_LOG_WARN) hf_pipeline_report(p, stderr);
    if (cfg.stats && hf_pipeline_write_stats(p, cfg.stats) < 0) {
        hf_log(HF_LOG_ERROR, "%s: cannot write the counters: %s", cfg.stats, strerror(errno));
        rc = 1;
    }
    pthread_mutex_lock(&report_lock);
    report_pipeline = NULL;
    pthread_mutex_unlock(&report_lock);
    hf_pipeline_free(p);
out:
    hf_config_release(&cfg);
    hf_free(home);
    return rc;
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
    if (!strcmp(argv[1], "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(argv[1], "check")) return hf_check_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "query")) return hf_query_main(argc - 1, argv + 1);
    fprintf(stderr, "hostflow: unknown command \"%s\" (see 'hostflow --help')\n", argv[1]);
    return 2;
}
