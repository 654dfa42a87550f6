/* view_feed.c -- feed host records (NDJSON, as `hostflow run -o -` writes
 * them) to an output plugin through its table (io.h), as the run would.
 *
 * The HTTP view's tests drive a real `hostflow run`; this driver is kept
 * for one thing a run cannot do yet: alerts, which only the profiles and
 * rules of issue 13 will raise (a host_alert record, and the "alert" flag
 * in the host records of a host with an open one).  tests/web/e2e.js feeds
 * it a run's records, one host's with the flag, and one host_alert record
 * to check the rings, the page's alert list and a host's alert card.  Drop
 * it once a run can raise an alert.
 *
 *   view_feed [-o http:127.0.0.1:0 | -o top:] [-w 10s,30s,1m,5m] [-n CIDR,...]
 *             [-s KEY=VALUE]... [--linger] [FILE|-]
 *
 * -s sets any configuration key (http.history=8, http.web=DIR, ...); the
 * page's files are found under $HOSTFLOW_HOME (default: the current
 * directory) as hostflow finds them under its home.
 *
 * Records are handed over in batches, as workers hand theirs: a batch ends
 * where the window (granularity and start) changes, at 4096 records, or
 * when the input has nothing more to read right now (a live pipe).  The
 * driver plays the run's part too: it hands the output a counters
 * function (io.h, watch) whose closed_until is the newest window start
 * seen (with one worker, every window ending by then has come), and
 * INT64_MAX once the input has ended.  --linger keeps the output open
 * after the end of the input until SIGINT or SIGTERM (a finite file,
 * served). */
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "conf/config.h"
#include "engine/record.h"
#include "io/io.h"
#include "io/out_http.h"

#define BATCH 4096

static atomic_llong lines_in;
static atomic_llong closed_until = INT64_MIN;
static int64_t newest[HF_MAX_WINDOWS];
static int64_t gran_ms[HF_MAX_WINDOWS];
static int ngrans;
static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
    (void)sig;
    stop = 1;
}

static void counters(void *ctx, hf_run_counters *c)
{
    (void)ctx;
    c->records_in = c->decoded = c->accepted = (uint64_t)atomic_load(&lines_in);
    c->records_out = c->records_in;
    c->closed_until_ms = atomic_load(&closed_until);
    c->workers = 1;
}

typedef struct batch {
    hf_buf    text;
    hf_record recs[BATCH];
    size_t    n;
    int64_t   gran, start;
} batch;

/* The value of "key":<number> in line, or INT64_MIN. */
static int64_t num_after(const char *line, const char *key)
{
    const char *p = strstr(line, key);
    return p ? strtoll(p + strlen(key), NULL, 10) : INT64_MIN;
}

static void flush_batch(const hf_output_ops *ops, void *out, batch *b)
{
    if (!b->n) return;
    hf_records r = {b->text.data, b->text.len, b->recs, b->n};
    if (ops->write(out, &r) < 0) fprintf(stderr, "view_feed: write failed\n");
    b->n = 0;
    b->text.len = 0;
    /* one worker writes windows in the order they close: once a window
     * starting at S has come, every window ending by S has come */
    int64_t until = INT64_MIN;
    for (int g = 0; g < ngrans; g++)
        if (newest[g] > until) until = newest[g];
    if (until != INT64_MIN) atomic_store(&closed_until, until);
}

static void add_line(const hf_output_ops *ops, void *out, batch *b, const char *line, size_t len)
{
    int type = strstr(line, "\"@type\":\"host_alert\"")     ? HF_RECORD_ALERT
               : strstr(line, "\"@type\":\"host_profile\"") ? HF_RECORD_PROFILE
                                                            : HF_RECORD_STATS;
    int64_t gs = num_after(line, "\"granularity_s\":"), start = num_after(line, "\"start_ms\":");
    if (b->n && (b->n == BATCH || gs != b->gran || start != b->start)) flush_batch(ops, out, b);
    b->gran = gs;
    b->start = start;
    hf_record *r = &b->recs[b->n++];
    memset(r, 0, sizeof *r);
    r->off = (uint32_t)b->text.len;
    r->len = (uint32_t)len;
    const char *id = strstr(line, "\"id\":\"");
    if (id) {
        const char *end = strchr(id + 6, '"');
        r->key_off = (uint32_t)(b->text.len + (size_t)(id + 6 - line));
        r->key_len = (uint16_t)(end ? end - id - 6 : 0);
    }
    r->type = (uint8_t)type;
    const char *ts = strstr(line, "\"@timestamp\":\"");
    if (!ts || hf_time_parse_iso(ts + 14, 24, &r->time_ms) < 0) r->time_ms = start;
    hf_buf_put(&b->text, line, len);
    hf_buf_putc(&b->text, '\n');
    if (type == HF_RECORD_STATS && gs > 0)
        for (int g = 0; g < ngrans; g++)
            if (gran_ms[g] == gs * 1000 && start > newest[g]) newest[g] = start;
    atomic_fetch_add(&lines_in, 1);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"windows", required_argument, 0, 'w'},
        {"networks", required_argument, 0, 'n'}, {"set", required_argument, 0, 's'},
        {"linger", no_argument, 0, 'L'}, {0, 0, 0, 0}};
    const char *spec = "http:127.0.0.1:0";
    int linger = 0, c;
    char err[1024];
    hf_io_register_keys();
    char *home = getenv("HOSTFLOW_HOME");
    hf_config cfg;
    hf_config_defaults(&cfg, home ? home : ".");
    while ((c = getopt_long(argc, argv, "o:w:n:s:", opts, NULL)) != -1) {
        switch (c) {
        case 'o': spec = optarg; break;
        case 'L': linger = 1; break;
        case 'w':
            if (hf_config_set_windows(&cfg, optarg, err, sizeof err) < 0) goto usage;
            break;
        case 'n':
            if (hf_config_set_networks(&cfg, optarg, err, sizeof err) < 0) goto usage;
            break;
        case 's': {
            char *eq = strchr(optarg, '=');
            if (!eq) {
                snprintf(err, sizeof err, "-s: expected KEY=VALUE");
                goto usage;
            }
            *eq = '\0';
            int rc = hf_config_set(&cfg, optarg, eq + 1, "-s", 0, err, sizeof err);
            *eq = '=';
            if (rc < 0) goto usage;
            break;
        }
        default:
            snprintf(err, sizeof err, "see the comment at the top of view_feed.c");
            goto usage;
        }
    }
    if (hf_config_check(&cfg, err, sizeof err) < 0) goto usage;
    ngrans = cfg.nwindows;
    for (int g = 0; g < ngrans; g++) {
        gran_ms[g] = cfg.windows_ms[g];
        newest[g] = INT64_MIN;
    }
    const char *target = NULL;
    const hf_output_ops *ops = hf_output_find(spec, &target, err, sizeof err);
    if (!ops) goto usage;
    FILE *in = optind < argc && strcmp(argv[optind], "-") ? fopen(argv[optind], "r") : stdin;
    if (!in) {
        snprintf(err, sizeof err, "%s: cannot open", argv[optind]);
        goto usage;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    void *out = ops->open(&cfg, target, err, sizeof err);
    if (!out) goto usage;
    if (ops->watch) ops->watch(out, counters, NULL);

    batch *b = hf_calloc(1, sizeof *b);
    hf_buf_init(&b->text, 1 << 20);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int fd = fileno(in);
    while (!stop) {
        /* nothing more to read right now: hand over what is read */
        struct pollfd p = {fd, POLLIN, 0};
        if (b->n && in->_IO_read_ptr >= in->_IO_read_end && poll(&p, 1, 0) == 0)
            flush_batch(ops, out, b);
        if ((len = getline(&line, &cap, in)) < 0) break;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (len) add_line(ops, out, b, line, (size_t)len);
    }
    flush_batch(ops, out, b);
    atomic_store(&closed_until, INT64_MAX);
    fprintf(stderr, "view_feed: %lld records fed\n", (long long)atomic_load(&lines_in));
    while (linger && !stop) pause();
    hf_output_counters oc;
    ops->counters(out, &oc);
    ops->close(out);
    fprintf(stderr, "view_feed: %llu written, %llu dropped\n", (unsigned long long)oc.written,
            (unsigned long long)(oc.nlost ? oc.lost[0].n : 0));
    free(line);
    hf_buf_release(&b->text);
    hf_free(b);
    if (in != stdin) fclose(in);
    hf_config_release(&cfg);
    return 0;
usage:
    fprintf(stderr, "view_feed: %s\n", err);
    hf_config_release(&cfg);
    return 2;
}
