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
#include "conf/config.h"
#include "io/input.h"
#include "io/kafka.h"
#include "stream/pipeline.h"

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

/* ------------------------------------------------------------------------
 * Options
 * --------------------------------------------------------------------- */

#define MAX_OPTS 96
enum { OPT_KEY = 1000 };   /* val of a key's option: OPT_KEY + its index in keys[] */

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
        "  -c, --config FILE        configuration file (Lua returning a table);\n"
        "                           default: conf/hostflow.lua beside the executable\n"
        "  -q, --quiet              only errors on stderr (no warnings, no counters)\n"
        "  -h, --help               this help\n");
    hf_conf_usage(put_line, f);
    fprintf(f,
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
 * beside the executable), then every flag over it.  Returns -1 when the
 * run goes on, else the exit status (help: 0, errors: 2). */
static int parse_args(int argc, char **argv, hf_config *cfg)
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
    if (!conf) {
        default_conf = hf_home_path(cfg->home, "conf/hostflow.lua");
        if (access(default_conf, R_OK) == 0) conf = default_conf;
    }
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
    return -1;
}

/* ------------------------------------------------------------------------
 * The run
 * --------------------------------------------------------------------- */

int hf_run_main(int argc, char **argv)
{
    char err[1024];
    char *home = hf_home_dir();
    hf_config cfg;
    hf_config_defaults(&cfg, home);
    int rc = parse_args(argc, argv, &cfg);
    if (rc >= 0) goto out;
    rc = 2;

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
