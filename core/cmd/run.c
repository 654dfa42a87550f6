/* run.c -- `hostflow run`: its options, its signals, and the run itself.
 *
 * The options are made from the configuration's key table (conf/keys.c and
 * the plugins'): every key with a flag is an option, parsed by the same
 * checks as the file, and --help lists them under the table's headings.
 * Flags override the configuration file, which overrides the defaults; a
 * bad flag or setting stops hostflow before it reads any input.  A few
 * options are not keys: -c (the file), -q, -h, and the Kafka shorthands
 * -K KEY=VALUE, -b BROKERS, -g GROUP (entries of the kafka table). */
#include "cmd/run.h"

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
#include "base/log.h"
#include "base/luastate.h"
#include "base/timefmt.h"
#include "cmd/progress.h"
#include "cmd/report.h"
#include "conf/config.h"
#include "engine/engine.h"
#include "engine/relay.h"
#include "io/changelog.h"
#include "io/io.h"
#include "io/outputs.h"
#include "stream/pipeline.h"

/* ------------------------------------------------------------------------
 * Signals
 *
 * SIGUSR1, SIGHUP, SIGINT and SIGTERM are blocked in every thread and taken
 * by one signal thread (sigwait), which prints the counters, reloads the
 * analyses (SIGHUP; reload.h) or asks the reading thread to stop.  A stop
 * also sends the reading thread SIGUSR2, whose handler does nothing but
 * interrupt a read that is waiting for input.  An output that fails for
 * good does the same (on_output_failure).  SIGPIPE is ignored: a closed
 * pipe is the file output's EPIPE, a fatal error it reports.
 * --------------------------------------------------------------------- */

static atomic_int got_stop;
static pthread_t reader_thread;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static hf_run_view *report_view;        /* NULL once the run is being freed */

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
            if (report_view) hf_report_text(report_view, stderr);
            pthread_mutex_unlock(&report_lock);
            continue;
        }
        if (sig == SIGHUP) {
            pthread_mutex_lock(&report_lock);
            if (report_view && report_view->engine) hf_engine_reload(report_view->engine);
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
    signal(SIGPIPE, SIG_IGN);            /* a closed pipe is an output's error (EPIPE), not death */
    reader_thread = pthread_self();
}

/* A run whose networks monitor no end of any flow read makes no record:
 * say so, with the sources it saw and the setting to change. */
static void warn_unmonitored(const hf_run_view *v)
{
    char top[640], nets[512] = "";
    const hf_stream_stats *s = hf_pipeline_stats(v->pipeline);
    if (hf_pipeline_unmonitored(v->pipeline, 5, top, sizeof top) == 0) return;
    size_t len = 0;
    for (int i = 0; i < v->cfg->networks.n && len < sizeof nets; i++) {
        int w = snprintf(nets + len, sizeof nets - len, "%s%s", i ? "," : "", v->cfg->networks.v[i]);
        if (w < 0) break;
        len += (size_t)w;
    }
    hf_log(HF_LOG_WARN, "no flow was monitored: the %llu flows decoded all lie outside the monitored "
           "networks (%s), so no record was made; their most frequent sources: %s. Set networks "
           "to your site's prefixes (in %s, or -n; an empty list, -n '', monitors every address)",
           (unsigned long long)s->decoded, nets, top, v->cfg->path ? v->cfg->path : "the configuration");
}

/* The watchdog stops hostflow (exit status 3): the counters first, as at
 * any other end, so --stats is written. */
static void on_watchdog_exit(void *ctx)
{
    (void)ctx;
    pthread_mutex_lock(&report_lock);
    if (report_view) {
        if (hf_log_level >= HF_LOG_WARN) hf_report_text(report_view, stderr);
        const char *stats = report_view->cfg->stats;
        if (stats && hf_report_json(report_view, stats) < 0)
            hf_log(HF_LOG_ERROR, "%s: cannot write the counters: %s", stats, strerror(errno));
    }
    pthread_mutex_unlock(&report_lock);
}

/* An output failed for good (outputs.h): stop reading now, even when the
 * reader waits for input. */
static void on_output_failure(void *ctx)
{
    (void)ctx;
    atomic_store(&got_stop, 1);
    pthread_kill(reader_thread, SIGUSR2);
}

/* ------------------------------------------------------------------------
 * Options
 * --------------------------------------------------------------------- */

#define MAX_OPTS 96
enum {
    OPT_PROGRESS = 999,    /* --progress[=EVERY] */
    OPT_KEY = 1000,        /* val of a key's option: OPT_KEY + its index in keys[] */
};

#define PROGRESS_EVERY_MS 10000   /* --progress lines when stderr is not a terminal */

typedef struct options {
    struct option      longs[MAX_OPTS];
    char               shorts[3 * MAX_OPTS];
    const hf_conf_key *keys[MAX_OPTS];
    int                nkeys;
} options;

/* The options that are not keys. */
static const struct option fixed[] = {
    {"config", required_argument, 0, 'c'}, {"quiet", no_argument, 0, 'q'},
    {"help", no_argument, 0, 'h'},         {"kafka", required_argument, 0, 'K'},
    {"brokers", required_argument, 0, 'b'}, {"group", required_argument, 0, 'g'},
    {"progress", optional_argument, 0, OPT_PROGRESS},
};

static void add_key_option(void *ctx, const hf_conf_key *k)
{
    options *o = ctx;
    if (k->type == HF_CONF_HEADING || !k->flag || o->nkeys + 8 >= MAX_OPTS) return;
    int has_arg = k->type == HF_CONF_BOOL ? no_argument : required_argument;
    int idx = o->nkeys++;
    o->keys[idx] = k;
    const char *f = k->flag;
    char shortc = 0;
    if (f[0] == '-' && f[1] != '-' && f[1]) shortc = f[1];
    const char *lng = strstr(f, "--");
    int n = 0;
    while (o->longs[n].name) n++;
    if (lng) o->longs[n] = (struct option){lng + 2, has_arg, 0, shortc ? shortc : OPT_KEY + idx};
    if (shortc) {
        size_t len = strlen(o->shorts);
        o->shorts[len] = shortc;
        if (has_arg == required_argument) o->shorts[len + 1] = ':';
    }
}

/* The option table: the fixed ones, then one per key with a flag. */
static void options_build(options *o)
{
    memset(o, 0, sizeof *o);
    memcpy(o->longs, fixed, sizeof fixed);
    strcpy(o->shorts, "c:qhK:b:g:");
    hf_conf_each(add_key_option, o);
}

/* The key an option value stands for, or NULL. */
static const hf_conf_key *option_key(const options *o, int c)
{
    if (c >= OPT_KEY && c < OPT_KEY + o->nkeys) return o->keys[c - OPT_KEY];
    for (int i = 0; i < o->nkeys; i++) {
        const char *f = o->keys[i]->flag;
        if (f[0] == '-' && f[1] == c && c != '-') return o->keys[i];
    }
    return NULL;
}

static void put_line(void *ctx, const char *line)
{
    fprintf(ctx, "%s\n", line);
}

static void usage_run(FILE *f)
{
    fprintf(f,
        "usage: hostflow run [OPTIONS]\n"
        "\n"
        "Reads IP flows (JSON from IPFIXcol, IPFIXcol2 or nfdump; plain or gzip),\n"
        "keeps those whose source lies in a monitored network, and writes one JSON\n"
        "record per host per window with every analysis's result.\n"
        "\n"
        "  -c, --config FILE        configuration file (Lua returning a table); default:\n"
        "                           %s, or conf/hostflow.lua\n"
        "                           in a source tree\n"
        "  -q, --quiet              only errors on stderr (no warnings, no counters)\n"
        "      --progress[=EVERY]   show how far the input is read: a bar with the rate\n"
        "                           and ETA when stderr is a terminal, else a line\n"
        "                           every EVERY (default 10s)\n"
        "  -h, --help               this help\n", hf_installed_conf());
    hf_conf_usage(put_line, f);
    fprintf(f,
        "\n"
        "Kafka's client, for every Kafka input and output:\n"
        "  -K, --kafka KEY=VALUE    a librdkafka setting, passed unchanged (repeatable)\n"
        "  -b, --brokers LIST       bootstrap servers (-K bootstrap.servers=LIST)\n"
        "  -g, --group ID           consumer group (default hostflow; -K group.id=ID)\n"
        "\n"
        "Every option is also a key of the configuration file (hostflow config lists\n"
        "them all).  Signals: SIGUSR1 prints the counters; SIGHUP reloads the analyses\n"
        "(so does a change in their directory); SIGINT/SIGTERM stop reading, flush\n"
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

/* The flag's name as the user wrote it, for messages: "-w" or "--stats". */
static const char *flag_name(const hf_conf_key *k, int c, char *out, size_t n)
{
    if (c < OPT_KEY) snprintf(out, n, "-%c", c);
    else snprintf(out, n, "%.*s", (int)strcspn(strstr(k->flag, "--"), ", "), strstr(k->flag, "--"));
    return out;
}

/* Parse argv into cfg: the configuration file first (-c, or the default
 * of hf_home_conf: the tree's or the installed one), then every flag over
 * it; *progress_ms: --progress's interval, -1 without it.  Returns -1 when
 * the run goes on, else the exit status (help: 0, errors: 2). */
static int parse_args(int argc, char **argv, hf_config *cfg, int64_t *progress_ms)
{
    options o;
    char err[1024];
    options_build(&o);

    /* first pass: the configuration file, so the flags can override it */
    const char *conf = NULL;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, o.shorts, o.longs, NULL)) != -1) {
        if (c == 'c') conf = optarg;
        if (c == 'h') {
            usage_run(stdout);
            return 0;
        }
    }
    char *default_conf = NULL;
    if (!conf) conf = default_conf = hf_home_conf(cfg->home);
    if (conf && hf_config_load(cfg, conf, err, sizeof err) < 0) {
        fprintf(stderr, "hostflow: %s\n", err);
        hf_free(default_conf);
        return 2;
    }
    hf_free(default_conf);

    /* second pass: the flags */
    optind = 1;
    opterr = 1;
    int appended[MAX_OPTS] = {0};
    while ((c = getopt_long(argc, argv, o.shorts, o.longs, NULL)) != -1) {
        const hf_conf_key *k = option_key(&o, c);
        if (k) {
            char flag[64];
            int idx = 0;
            while (o.keys[idx] != k) idx++;
            const char *value = k->type == HF_CONF_BOOL ? "true" : optarg;
            int append = k->type == HF_CONF_LIST && k->flag_mode == HF_FLAG_APPEND && appended[idx]++;
            if (hf_config_set(cfg, k->name, value, flag_name(k, c, flag, sizeof flag), append,
                              err, sizeof err) < 0)
                return die("%s", err);
            continue;
        }
        switch (c) {
        case 'c': break;
        case 'q': hf_log_level = HF_LOG_ERROR; break;
        case OPT_PROGRESS:
            *progress_ms = PROGRESS_EVERY_MS;
            if (optarg && (hf_config_parse_duration_ms(optarg, progress_ms) < 0 || *progress_ms < 100))
                return die("--progress: expected how often, a duration such as \"10s\" "
                           "(at least 100ms), got \"%s\"", optarg);
            break;
        case 'b': hf_config_set_kafka(cfg, "bootstrap.servers", optarg); break;
        case 'g': hf_config_set_kafka(cfg, "group.id", optarg); break;
        case 'K': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg)
                return die("-K: expected KEY=VALUE (a librdkafka setting), got \"%s\"", optarg);
            *eq = '\0';
            hf_config_set_kafka(cfg, optarg, eq + 1);
            *eq = '=';
            break;
        }
        default:
            fprintf(stderr, "hostflow: see 'hostflow run --help'\n");
            return 2;
        }
    }
    if (optind < argc)
        return die("unexpected argument \"%s\" (see 'hostflow run --help')", argv[optind]);
    if (hf_config_check(cfg, err, sizeof err) < 0) return die("%s", err);
    if (cfg->verbose && hf_log_level > HF_LOG_ERROR) hf_log_level = HF_LOG_DEBUG;   /* -q wins */
    return -1;
}

/* ------------------------------------------------------------------------
 * The run's counters, for the outputs that show them (io.h, watch)
 *
 * report_view is the run while every part of it is open.  The outputs may
 * ask from any thread until they are closed, which is after those parts
 * are freed: past the run's end they get the last snapshot, taken once
 * every window had been written (closed_until INT64_MAX).
 * --------------------------------------------------------------------- */

static hf_run_counters last_counters;   /* guarded by report_lock */

static void run_counters(void *ctx, hf_run_counters *c)
{
    (void)ctx;
    pthread_mutex_lock(&report_lock);
    if (report_view) hf_report_counters(report_view, &last_counters);
    *c = last_counters;
    pthread_mutex_unlock(&report_lock);
}

/* ------------------------------------------------------------------------
 * The run
 * --------------------------------------------------------------------- */

static int flush_outputs(void *ctx, int timeout_ms)
{
    return hf_outputs_flush(ctx, timeout_ms);
}

static int commit_txn(void *ctx, rd_kafka_topic_partition_list_t *offsets,
                      rd_kafka_consumer_group_metadata_t *group)
{
    return hf_outputs_commit_txn(ctx, offsets, group);
}

/* The end of a run from an input with positions (Kafka): every open window
 * flushed (unless they are handed over: handover), every record
 * acknowledged by every output, then the last commit.  Returns 0, or -1
 * when it could not be done (a restart reads again). */
static int final_commit(hf_run_view *v, int handover)
{
    if (handover) {
        hf_log(HF_LOG_INFO, "stopping: waiting for the outputs, committing; the open windows are "
               "handed over (the next owner of the partitions rebuilds them from the commit)");
    } else {
        hf_log(HF_LOG_INFO, "stopping: flushing open windows, waiting for the outputs, committing");
        hf_pipeline_flush(v->pipeline);
    }
    if (v->engine) hf_engine_persist(v->engine);   /* the profiles, through the windows emitted */
    int out = HF_OUT_PENDING, committed = -1;
    for (int tries = 0; tries < 5 && committed < 0; tries++) {
        out = hf_outputs_flush(v->outputs, 10000);
        if (out == HF_OUT_FATAL) break;
        if (out == HF_OUT_OK) committed = v->input_ops->commit(v->input);
    }
    if (committed == 0 && hf_outputs_lost(v->outputs))
        hf_log(HF_LOG_ERROR, "the offsets are committed past the flows of records the outputs lost "
               "(they could never be written): those are not read again");
    if (committed == 0) return 0;
    if (out == HF_OUT_FATAL)
        hf_log(HF_LOG_ERROR, "an output has failed: the input's positions stay at the last commit, "
               "and a restart reads the flows since then again (at least once)");
    else if (out == HF_OUT_PENDING)
        hf_log(HF_LOG_ERROR, "the outputs have not acknowledged every record: the input's positions "
               "stay at the last commit, and a restart reads the flows since then again (at least once)");
    else
        hf_log(HF_LOG_ERROR, "every record is acknowledged by the outputs, but the last commit "
               "failed: a restart reads the flows since the last commit again and writes their "
               "records a second time (the same ids)");
    return -1;
}

/* Where the run is, for --progress. */
static void progress_now(const hf_run_view *v, int finished, hf_progress_now *now)
{
    memset(now, 0, sizeof *now);
    now->records = atomic_load_explicit(&hf_pipeline_stats(v->pipeline)->records,
                                        memory_order_relaxed);
    if (v->input && v->input_ops->progress)
        v->input_ops->progress(v->input, &now->done, &now->total);
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    now->elapsed_s = (double)(t.tv_sec - v->started.tv_sec) + (t.tv_nsec - v->started.tv_nsec) / 1e9;
    now->finished = finished;
}

/* Close the log input (the report reads it, under report_lock). */
static void logs_close(hf_run_view *v)
{
    pthread_mutex_lock(&report_lock);
    void *logs = v->logs;
    v->logs = NULL;
    pthread_mutex_unlock(&report_lock);
    v->logs_ops->close(logs);
}

/* One step of the log input, after each step of the flows' (it reads
 * while its events lag behind the flows, and never waits); at its end, or
 * on an error (logged), it is closed and the run goes on without it. */
static void logs_step(hf_run_view *v)
{
    int r = v->logs_ops->read(v->logs);
    if (r == HF_IN_END || r == HF_IN_ERROR) {
        if (r == HF_IN_ERROR) hf_log(HF_LOG_ERROR, "the log input stops; the flows go on");
        logs_close(v);
    }
}

/* Open the outputs, the engine, the pipeline and the input; read until the
 * input ends, a stop, a read error or an output that failed for good;
 * commit, finish, report.  progress_ms >= 0: --progress.  Returns the exit
 * status. */
static int run(hf_config *cfg, const char *home, int64_t progress_ms)
{
    char err[1024];
    hf_run_view v = {.cfg = cfg};
    hf_changelog *changelog = NULL;        /* profiles.topic */
    clock_gettime(CLOCK_MONOTONIC, &v.started);
    int rc = 2;
    const char *in_target;
    const hf_input_ops *in_ops = hf_input_find(cfg->input, &in_target, err, sizeof err);
    if (!in_ops) return die("-i: %s", err);
    v.input_ops = in_ops;
    if ((cfg->role == HF_ROLE_PARTIAL || cfg->role == HF_ROLE_MERGE) && strncmp(cfg->input, "kafka:", 6))
        return die("role %s: the input must be kafka:TOPIC, not \"%s\"", cfg->role_name, cfg->input);
    if (cfg->role == HF_ROLE_PARTIAL) {      /* one topic for partial windows; the finest windows only */
        if (cfg->outputs.n != 1 || strncmp(cfg->outputs.v[0], "kafka:", 6))
            return die("role partial: one output, kafka:TOPIC (the partial windows' topic, keyed by "
                       "host, that the merge instances read)");
        cfg->windows_ms[0] = hf_windows_gcd(cfg->windows_ms, cfg->nwindows);
        cfg->nwindows = 1;
    }
    if (cfg->profiles_topic && !*cfg->profiles_topic) cfg->profiles_topic = NULL;   /* "": none */
    if (cfg->profiles_topic && (strncmp(cfg->input, "kafka:", 6) || cfg->role == HF_ROLE_RELAY))
        return die("profiles.topic: the profiles' changelog follows hosts between instances that "
                   "share a Kafka input (-i kafka:TOPIC) and run analyses, not \"%s\"%s", cfg->input,
                   cfg->role == HF_ROLE_RELAY ? " as a relay" : "");
    const char *logs_target = NULL;
    if (cfg->logs_input) {
        v.logs_ops = hf_input_find(cfg->logs_input, &logs_target, err, sizeof err);
        if (!v.logs_ops) return die("--logs: %s", err);
    }
    v.outputs = hf_outputs_open(cfg, err, sizeof err);
    if (!v.outputs) return die("%s", err);
    hf_outputs_on_failure(v.outputs, on_output_failure, NULL);
    const hf_shards *shards;
    int workers;
    if (cfg->role == HF_ROLE_RELAY) {           /* no windows, no analyses: flows straight out */
        for (int i = 0; i < cfg->outputs.n && strcmp(cfg->relay_format, "json"); i++)
            if (strncmp(cfg->outputs.v[i], "kafka:", 6) != 0) {
                rc = die("relay.format binary: the relay's outputs must be kafka:TOPIC, not \"%s\" "
                         "(relay.format json writes flows a file can hold)", cfg->outputs.v[i]);
                goto done;
            }
        v.relay = hf_relay_new(cfg, hf_outputs_sink(v.outputs));
        shards = hf_relay_shards(v.relay);
        workers = cfg->workers > 0 ? cfg->workers : hf_engine_cpus();   /* decoder threads */
    } else {
        if (cfg->profiles_topic) {             /* before the workers: a failure has none to stop */
            changelog = hf_kafka_changelog_new(cfg, err, sizeof err);
            if (!changelog) {
                rc = die("profiles.topic %s: %s", cfg->profiles_topic, err);
                goto done;
            }
        }
        char *lua_dir = hf_home_path(home, "lua");
        v.engine = hf_engine_new(cfg, lua_dir, hf_outputs_sink(v.outputs), err, sizeof err);
        hf_free(lua_dir);
        if (!v.engine) {
            rc = die("%s", err);
            goto done;
        }
        hf_engine_on_watchdog_exit(v.engine, on_watchdog_exit, NULL);
        if (changelog) hf_engine_changelog(v.engine, changelog);
        shards = hf_engine_shards(v.engine);
        workers = hf_engine_workers(v.engine);
    }
    v.pipeline = hf_pipeline_new(cfg, shards, workers > 1 ? workers : 0, err, sizeof err);
    if (!v.pipeline) {
        rc = die("%s", err);
        goto done;
    }
    hf_input_env env = {.pipeline = v.pipeline, .flush = flush_outputs, .commit_txn = commit_txn,
                        .sink = hf_outputs_sink(v.outputs), .ctx = v.outputs, .stop = &got_stop,
                        .engine = v.engine};
    v.input = in_ops->open(cfg, in_target, &env, err, sizeof err);
    if (!v.input) {
        rc = die("%s", err);
        goto done;
    }
    if (v.logs_ops) {                      /* a second input: log events (stream/logs.h) */
        hf_input_env lenv = {.pipeline = v.pipeline, .flush = flush_outputs, .ctx = v.outputs,
                             .stop = &got_stop, .logs = 1};
        if (hf_pipeline_logs_setup(v.pipeline, err, sizeof err) < 0 ||
            !(v.logs = v.logs_ops->open(cfg, logs_target, &lenv, err, sizeof err))) {
            rc = die("--logs: %s", err);
            goto done;
        }
    }

    pthread_mutex_lock(&report_lock);
    report_view = &v;
    pthread_mutex_unlock(&report_lock);
    hf_outputs_watch(v.outputs, run_counters, NULL);
    pthread_t sig_thread;
    pthread_create(&sig_thread, NULL, signal_main, NULL);
    pthread_detach(sig_thread);

    rc = 0;
    double last_commit = hf_now_ns();
    hf_progress *progress = progress_ms >= 0 ? hf_progress_new(isatty(STDERR_FILENO), progress_ms) : NULL;
    hf_progress_now at;
    int ended = 0;
    for (;;) {
        if (hf_outputs_failed(v.outputs)) {
            rc = 1;
            break;
        }
        if (atomic_load(&got_stop)) break;      /* final_commit says what happens */
        int r = in_ops->read(v.input);
        if (progress && r != HF_IN_END) {
            progress_now(&v, 0, &at);
            hf_progress_update(progress, &at);
        }
        if (r == HF_IN_END) {
            ended = 1;
            /* a log file goes on to its end: its events may close later windows */
            while (v.logs && !strcmp(v.logs_ops->scheme, "file") && !atomic_load(&got_stop) &&
                   v.logs_ops->read(v.logs) == HF_IN_MORE) {}
            break;
        }
        if (r == HF_IN_ERROR) {
            rc = 1;
            break;
        }
        if (v.logs) logs_step(&v);
        double now = hf_now_ns();
        if (now - last_commit >= (double)cfg->commit_interval_ms * 1e6) {
            if (in_ops->commit) in_ops->commit(v.input);
            if (v.logs && v.logs_ops->commit) v.logs_ops->commit(v.logs);
            last_commit = now;
        }
    }
    if (progress) progress_now(&v, ended, &at);  /* the input's bytes, before it closes */
    int handover = !ended && in_ops->handover && in_ops->handover(v.input);
    if (in_ops->commit && !hf_outputs_failed(v.outputs) && final_commit(&v, handover) < 0) rc = 1;
    if (handover) hf_pipeline_reset(v.pipeline);  /* nothing of the open windows is written */
    if (v.logs) {                         /* the log events' positions; no more pulls */
        if (v.logs_ops->commit && !hf_outputs_failed(v.outputs)) v.logs_ops->commit(v.logs);
        hf_pipeline_logs_source(v.pipeline, v.logs_ops->scheme, NULL, NULL);
    }
    hf_pipeline_finish(v.pipeline);
    if (progress) {                       /* the last line, with every record counted */
        hf_progress_now last;
        progress_now(&v, ended, &last);
        at.records = last.records;
        at.elapsed_s = last.elapsed_s;
        hf_progress_end(progress, &at);
    }
    if (v.engine) hf_engine_join(v.engine);
    if (hf_outputs_flush(v.outputs, 30000) != HF_OUT_OK) rc = 1;
    if (hf_outputs_failed(v.outputs)) rc = 1;
    if (hf_log_level >= HF_LOG_WARN) hf_report_text(&v, stderr);    /* the input's line too */
    warn_unmonitored(&v);
    uint64_t lost = hf_outputs_lost(v.outputs);
    if (lost) {
        hf_log(HF_LOG_ERROR, "the outputs lost %llu records (the counters above say which output "
               "and why)", (unsigned long long)lost);
        rc = 1;
    }
    if (cfg->stats && hf_report_json(&v, cfg->stats) < 0) {
        hf_log(HF_LOG_ERROR, "%s: cannot write the counters: %s", cfg->stats, strerror(errno));
        rc = 1;
    }
    pthread_mutex_lock(&report_lock);
    hf_report_counters(&v, &last_counters);
    report_view = NULL;
    void *input = v.input;               /* the counters read the inputs: closed out of their sight */
    v.input = NULL;
    v.input_ops = NULL;
    void *logs = v.logs;
    v.logs = NULL;
    pthread_mutex_unlock(&report_lock);
    in_ops->close(input);
    if (logs) v.logs_ops->close(logs);
done:
    if (v.logs) v.logs_ops->close(v.logs);
    if (v.input) in_ops->close(v.input);
    if (v.pipeline) hf_pipeline_finish(v.pipeline);
    hf_engine_free(v.engine);
    hf_kafka_changelog_free(changelog);            /* after the workers' last save */
    hf_relay_free(v.relay);
    hf_pipeline_free(v.pipeline);
    if (hf_outputs_close(v.outputs) < 0 && rc == 0) rc = 1;
    return rc;
}

int hf_run_main(int argc, char **argv)
{
    char *home = hf_home_dir();
    hf_config cfg;
    hf_config_defaults(&cfg, home);
    int64_t progress_ms = -1;
    int rc = parse_args(argc, argv, &cfg, &progress_ms);
    if (rc >= 0) goto out;
    rc = 2;

    signals_block();
    rc = run(&cfg, home, progress_ms);
out:
    hf_config_release(&cfg);
    hf_free(home);
    return rc;
}

/* ------------------------------------------------------------------------
 * hostflow config
 * --------------------------------------------------------------------- */

static void print_key(void *ctx, const hf_conf_key *k)
{
    (void)ctx;
    if (k->type == HF_CONF_HEADING) {
        printf("\n%s\n", k->doc);
        return;
    }
    printf("  %s (%s", k->name, hf_conf_type_name(k->type));
    if (k->deflt) printf("; default %s", *k->deflt ? k->deflt : "none");
    if (k->flag) printf("; %s", k->flag);
    printf(")\n      %s\n", k->doc);
}

static void print_name(void *ctx, const hf_conf_key *k)
{
    (void)ctx;
    if (k->type != HF_CONF_HEADING) printf("%s\n", k->name);
}

int hf_config_main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--names")) {      /* one per line, for scripts and tests */
        hf_conf_each(print_name, NULL);
        return 0;
    }
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("usage: hostflow config [--names]\n\nLists every key of the configuration file: its name "
               "(dotted: memory.max_bytes is\nmemory = { max_bytes = ... }), type, default, what it "
               "does and its flag.\n");
        return 0;
    }
    printf("The keys of hostflow's configuration file (a Lua file returning a table;\n"
           "memory.max_bytes is written memory = { max_bytes = ... }), and their flags:\n");
    hf_conf_each(print_key, NULL);
    return 0;
}
