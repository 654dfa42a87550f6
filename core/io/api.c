/* api.c -- the routes of the HTTP view's JSON API and /metrics.
 *
 * Each route checks its parameters first (known names, each once, short,
 * well formed, within range) and answers 400 with a sentence naming the
 * parameter and what it takes; then asks the view (view.c), whose answers
 * come from the snapshots published at window close.  Nothing here writes
 * to the view or waits for the pipeline: the counters come from the run
 * loop's snapshot function (io.h, watch), which reads relaxed counters. */
#include "io/api.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/addr.h"

/* ------------------------------------------------------------------------
 * Parameters
 * --------------------------------------------------------------------- */

int hf_api_error(hf_buf *out, int status, const char *msg)
{
    out->len = 0;
    hf_buf_puts(out, "{\"error\":");
    hf_buf_put_string(out, msg, strlen(msg));
    hf_buf_puts(out, ",\"status\":");
    hf_buf_put_int(out, status);
    hf_buf_puts(out, "}\n");
    return status;
}

/* The value of parameter name, or NULL. */
static const char *arg(const hf_api_req *req, const char *name)
{
    for (int i = 0; i < req->nargs; i++)
        if (strcmp(req->args[i].name, name) == 0) return req->args[i].value;
    return NULL;
}

/* 0 when every parameter is one of `known` (NULL-terminated), given once,
 * and short; else a 400 in out. */
static int check_args(const hf_api_req *req, const char *const *known, hf_buf *out)
{
    char msg[512];
    if (req->too_many) {
        snprintf(msg, sizeof msg, "too many parameters (at most %d)", HF_API_MAX_ARGS);
        return hf_api_error(out, 400, msg);
    }
    for (int i = 0; i < req->nargs; i++) {
        const char *n = req->args[i].name, *v = req->args[i].value ? req->args[i].value : "";
        int ok = 0;
        for (int k = 0; known[k] && !ok; k++) ok = strcmp(known[k], n) == 0;
        if (!ok) {
            int m = snprintf(msg, sizeof msg, "unknown parameter \"%.40s\"; this route takes", n);
            for (int k = 0; known[k] && m > 0 && (size_t)m < sizeof msg; k++)
                m += snprintf(msg + m, sizeof msg - (size_t)m, "%s %s", k ? "," : "", known[k]);
            if (!known[0]) snprintf(msg + m, sizeof msg - (size_t)m, " none");
            return hf_api_error(out, 400, msg);
        }
        for (int j = 0; j < i; j++)
            if (strcmp(req->args[j].name, n) == 0) {
                snprintf(msg, sizeof msg, "parameter \"%s\" given twice", n);
                return hf_api_error(out, 400, msg);
            }
        if (strlen(v) > HF_API_MAX_VALUE) {
            snprintf(msg, sizeof msg, "parameter \"%s\" is longer than %d bytes", n,
                     HF_API_MAX_VALUE);
            return hf_api_error(out, 400, msg);
        }
    }
    return 0;
}

/* A whole number from min to max; 0, or -1. */
static int parse_int(const char *s, long long min, long long max, long long *v)
{
    size_t n = strlen(s);
    size_t neg = s[0] == '-';
    if (n == neg || n > 19 || strspn(s + neg, "0123456789") != n - neg) return -1;
    *v = strtoll(s, NULL, 10);
    return *v < min || *v > max ? -1 : 0;
}

/* The common parameters: granularity (default the finest), window
 * (default the latest closed), stat (default total.bytes, or the first
 * known).  0, or a 400/404 in out. */
static int common(hf_api *api, const hf_api_req *req, int *g, int64_t *start, int *stat,
                  hf_buf *out)
{
    char err[1024];
    const char *s = arg(req, "granularity");
    *g = s ? hf_view_gran(api->view, s, err, sizeof err) : 0;
    if (*g < 0) return hf_api_error(out, 400, err);
    s = arg(req, "window");
    *start = INT64_MIN;
    if (s && strcmp(s, "latest") != 0) {
        long long ms;
        if (parse_int(s, 0, 253402300799999LL, &ms) < 0)
            return hf_api_error(out, 400, "window: expected \"latest\" or a window's start in "
                                          "ms since the epoch");
        *start = ms;
    }
    if (stat) {
        s = arg(req, "stat");
        *stat = hf_view_stat(api->view, s ? s : "total.bytes", err, sizeof err);
        if (*stat < 0 && !s) *stat = hf_view_stat(api->view, "total.flow", err, sizeof err);
        if (*stat < 0) return hf_api_error(out, s ? 400 : 404, err);
    }
    return 0;
}

static int block_arg(hf_api *api, const hf_api_req *req, hf_view_block *b, int *given,
                     hf_buf *out)
{
    char err[256];
    const char *s = arg(req, "block");
    *given = s != NULL;
    if (!s) {
        *b = api->home;
        return 0;
    }
    if (hf_view_block_parse(s, b, err, sizeof err) < 0) return hf_api_error(out, 400, err);
    return 0;
}

/* ------------------------------------------------------------------------
 * Routes
 * --------------------------------------------------------------------- */

static int route_status(hf_api *api, const hf_api_req *req, hf_buf *out)
{
    static const char *const known[] = {NULL};
    int rc = check_args(req, known, out);
    if (rc) return rc;
    hf_buf_puts(out, "{\"view\":");
    hf_view_status(api->view, out);
    hf_buf_puts(out, ",\"home\":");
    char s[HF_ADDR_STRLEN + 8];
    size_t n = hf_addr_format(api->home.addr, api->home.family, s);
    n += (size_t)snprintf(s + n, sizeof s - n, "/%d",
                          api->home.len - (api->home.family == 4 ? 96 : 0));
    hf_buf_put_string(out, s, n);
    hf_buf_puts(out, ",\"networks\":[");
    for (int i = 0; i < api->nnetworks; i++) {
        if (i) hf_buf_putc(out, ',');
        hf_buf_put_string(out, api->networks[i], strlen(api->networks[i]));
    }
    hf_buf_puts(out, "]}\n");
    return 200;
}

static int route_heatmap(hf_api *api, const hf_api_req *req, hf_buf *out)
{
    static const char *const known[] = {"block", "granularity", "window", "stat", "agg",
                                        "bits", NULL};
    int rc = check_args(req, known, out), g, stat, given;
    int64_t start;
    hf_view_block b;
    if (rc || (rc = block_arg(api, req, &b, &given, out)) ||
        (rc = common(api, req, &g, &start, &stat, out)))
        return rc;
    int agg = HF_VIEW_SUM;
    const char *s = arg(req, "agg");
    if (s) {
        static const char *const aggs[] = {"sum", "max", "mean", "hosts"};
        agg = -1;
        for (int i = 0; i < 4; i++)
            if (strcmp(s, aggs[i]) == 0) agg = i;
        if (agg < 0) return hf_api_error(out, 400, "agg: expected sum, max, mean or hosts");
    }
    long long bits = 8;
    s = arg(req, "bits");
    if (s && parse_int(s, 1, 8, &bits) < 0)
        return hf_api_error(out, 400, "bits: expected 1 to 8 (a zoom step: 2^bits sub-blocks)");
    char err[512];
    rc = hf_view_heatmap(api->view, &b, (int)bits, g, start, stat, agg, out, err, sizeof err);
    if (rc) return hf_api_error(out, rc, err);
    hf_buf_putc(out, '\n');
    return 200;
}

static int route_top(hf_api *api, const hf_api_req *req, hf_buf *out)
{
    static const char *const known[] = {"stat", "granularity", "window", "n", "block", NULL};
    int rc = check_args(req, known, out), g, stat, given;
    int64_t start;
    hf_view_block b;
    if (rc || (rc = block_arg(api, req, &b, &given, out)) ||
        (rc = common(api, req, &g, &start, &stat, out)))
        return rc;
    long long n = 20;
    const char *s = arg(req, "n");
    if (s && parse_int(s, 1, HF_VIEW_MAX_TOP, &n) < 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "n: expected 1 to %d", HF_VIEW_MAX_TOP);
        return hf_api_error(out, 400, msg);
    }
    char err[512];
    rc = hf_view_top(api->view, given ? &b : NULL, g, start, stat, (int)n, out, err, sizeof err);
    if (rc) return hf_api_error(out, rc, err);
    hf_buf_putc(out, '\n');
    return 200;
}

static int route_host(hf_api *api, const hf_api_req *req, const char *ip, hf_buf *out)
{
    static const char *const known[] = {"ip", "granularity", NULL};
    int rc = check_args(req, known, out);
    if (rc) return rc;
    if (!ip) ip = arg(req, "ip");
    if (!ip || !*ip) return hf_api_error(out, 400, "ip: the host's address is required");
    uint8_t a[16], fam;
    if (strlen(ip) > 45 || hf_addr_parse(ip, strlen(ip), a, &fam) < 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "ip: \"%.48s\" is not an IPv4 or IPv6 address", ip);
        return hf_api_error(out, 400, msg);
    }
    char err[512];
    int g = -1;
    const char *s = arg(req, "granularity");
    if (s && (g = hf_view_gran(api->view, s, err, sizeof err)) < 0)
        return hf_api_error(out, 400, err);
    rc = hf_view_host(api->view, a, g, out, err, sizeof err);
    if (rc) return hf_api_error(out, rc, err);
    hf_buf_putc(out, '\n');
    return 200;
}

static int route_alerts(hf_api *api, const hf_api_req *req, hf_buf *out)
{
    static const char *const known[] = {"ip", "all", NULL};
    int rc = check_args(req, known, out);
    if (rc) return rc;
    const char *ip = arg(req, "ip"), *all = arg(req, "all");
    uint8_t a[16], fam;
    if (ip && (strlen(ip) > 45 || hf_addr_parse(ip, strlen(ip), a, &fam) < 0))
        return hf_api_error(out, 400, "ip: expected an IPv4 or IPv6 address");
    if (all && strcmp(all, "0") && strcmp(all, "1") && strcmp(all, "true") && strcmp(all, "false"))
        return hf_api_error(out, 400, "all: expected 1 or 0");
    int every = all && (!strcmp(all, "1") || !strcmp(all, "true"));
    hf_view_alerts(api->view, ip ? a : NULL, every, out);
    hf_buf_putc(out, '\n');
    return 200;
}

/* ------------------------------------------------------------------------
 * Counters, as JSON and as Prometheus text
 * --------------------------------------------------------------------- */

/* The pipeline's counters; 0 when the run loop has not handed them. */
static int pipeline_counters(hf_api *api, hf_run_counters *c)
{
    hf_run_counters_fn fn = atomic_load(&api->counters);
    if (!fn) return 0;
    memset(c, 0, sizeof *c);
    c->input_lag = -1;
    c->closed_until_ms = INT64_MIN;
    fn(api->counters_ctx, c);
    return 1;
}

static void kv(hf_buf *out, const char *k, double v, int *first)
{
    if (!*first) hf_buf_putc(out, ',');
    *first = 0;
    hf_buf_put_string(out, k, strlen(k));
    hf_buf_putc(out, ':');
    hf_buf_put_number(out, v);
}

static int route_counters(hf_api *api, const hf_api_req *req, hf_buf *out)
{
    static const char *const known[] = {NULL};
    int rc = check_args(req, known, out);
    if (rc) return rc;
    hf_run_counters c;
    hf_buf_puts(out, "{\"pipeline\":");
    if (pipeline_counters(api, &c)) {
        int f = 1;
        hf_buf_putc(out, '{');
        kv(out, "seconds", c.seconds, &f);
        kv(out, "records_in", (double)c.records_in, &f);
        kv(out, "decoded", (double)c.decoded, &f);
        kv(out, "filtered", (double)c.filtered, &f);
        kv(out, "late", (double)c.late, &f);
        kv(out, "accepted", (double)c.accepted, &f);
        kv(out, "replayed", (double)c.replayed, &f);
        kv(out, "held_future", (double)c.held, &f);
        kv(out, "skipped", (double)c.skipped, &f);
        kv(out, "hosts_refused", (double)c.hosts_refused, &f);
        kv(out, "records_out", (double)c.records_out, &f);
        kv(out, "output_lost", (double)c.output_lost, &f);
        kv(out, "memory_bytes", (double)c.memory_bytes, &f);
        kv(out, "workers", c.workers, &f);
        kv(out, "input_lag", c.input_lag < 0 ? NAN : (double)c.input_lag, &f);
        kv(out, "closed_until_ms", c.closed_until_ms == INT64_MIN || c.closed_until_ms == INT64_MAX
                                       ? NAN : (double)c.closed_until_ms, &f);
        hf_buf_puts(out, ",\"rejected\":{");
        f = 1;
        for (int i = 0; i < c.nrejected && i < HF_RUN_REASONS; i++)
            kv(out, c.rejected[i].reason, (double)c.rejected[i].n, &f);
        hf_buf_puts(out, "},\"analyses\":{");
        for (int i = 0; i < c.nanalyses && i < HF_RUN_ANALYSES; i++) {
            if (i) hf_buf_putc(out, ',');
            hf_buf_put_string(out, c.analyses[i].name, strlen(c.analyses[i].name));
            hf_buf_puts(out, ":{");
            int g = 1;
            kv(out, "errors", c.analyses[i].errors, &g);
            kv(out, "seconds", c.analyses[i].seconds, &g);
            hf_buf_puts(out, c.analyses[i].disabled ? ",\"disabled\":true}" : ",\"disabled\":false}");
        }
        hf_buf_puts(out, "},\"outputs\":[");
        for (int i = 0; i < c.noutputs && i < HF_RUN_OUTPUTS; i++) {
            hf_buf_puts(out, i ? ",{\"output\":" : "{\"output\":");
            hf_buf_put_string(out, c.outputs[i].spec, strlen(c.outputs[i].spec));
            int g = 0;
            kv(out, "written", (double)c.outputs[i].written, &g);
            kv(out, "pending", (double)c.outputs[i].pending, &g);
            kv(out, "lost", (double)c.outputs[i].lost, &g);
            hf_buf_putc(out, '}');
        }
        hf_buf_puts(out, "]}");
    } else {
        hf_buf_puts(out, "null");
    }
    hf_view_counters vc;
    hf_view_counters_get(api->view, &vc);
    int f = 1;
    hf_buf_puts(out, ",\"view\":{");
    kv(out, "records", (double)vc.records, &f);
    kv(out, "bad_records", (double)vc.bad_records, &f);
    kv(out, "alerts", (double)vc.alerts, &f);
    kv(out, "alerts_open", vc.alerts_open, &f);
    kv(out, "profiles", (double)vc.profiles, &f);
    kv(out, "hosts", (double)vc.hosts, &f);
    kv(out, "hosts_refused", (double)vc.hosts_refused, &f);
    kv(out, "history_cut", (double)vc.history_cut, &f);
    kv(out, "stats", vc.nstats, &f);
    kv(out, "stats_refused", (double)vc.stats_refused, &f);
    kv(out, "out_of_order", (double)vc.out_of_order, &f);
    kv(out, "memory_bytes", (double)vc.memory, &f);
    hf_buf_putc(out, '}');
    if (api->counters_extra) {
        hf_buf_puts(out, ",\"http\":");
        api->counters_extra(api->extra_ctx, out);
    }
    hf_buf_puts(out, "}\n");
    return 200;
}

/* One metric: # HELP, # TYPE and a sample without labels. */
static void metric(hf_buf *out, const char *name, const char *type, const char *help, double v)
{
    char line[512];
    snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n%s ", name, help, name, type, name);
    hf_buf_puts(out, line);
    if (isnan(v)) hf_buf_puts(out, "NaN");
    else hf_buf_put_number(out, v);
    hf_buf_putc(out, '\n');
}

static void head(hf_buf *out, const char *name, const char *type, const char *help)
{
    char line[512];
    snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    hf_buf_puts(out, line);
}

/* name{label="value"} v, the value escaped as the text format asks. */
static void labelled(hf_buf *out, const char *name, const char *label, const char *value, double v)
{
    hf_buf_puts(out, name);
    hf_buf_putc(out, '{');
    hf_buf_puts(out, label);
    hf_buf_puts(out, "=\"");
    for (const char *p = value; *p; p++) {
        if (*p == '\\' || *p == '"') hf_buf_putc(out, '\\');
        if (*p == '\n') {
            hf_buf_puts(out, "\\n");
            continue;
        }
        hf_buf_putc(out, *p);
    }
    hf_buf_puts(out, "\"} ");
    hf_buf_put_number(out, v);
    hf_buf_putc(out, '\n');
}

static int route_metrics(hf_api *api, const hf_api_req *req, hf_buf *out)
{
    static const char *const known[] = {NULL};
    int rc = check_args(req, known, out);
    if (rc) return rc;
    hf_run_counters c;
    if (pipeline_counters(api, &c)) {
        metric(out, "hostflow_uptime_seconds", "gauge", "Seconds since hostflow started.", c.seconds);
        metric(out, "hostflow_flows_in_total", "counter", "Input records (flows) read.",
               (double)c.records_in);
        metric(out, "hostflow_flows_decoded_total", "counter", "Input records decoded.",
               (double)c.decoded);
        head(out, "hostflow_flows_rejected_total", "counter", "Input records not decoded, by reason.");
        for (int i = 0; i < c.nrejected && i < HF_RUN_REASONS; i++)
            labelled(out, "hostflow_flows_rejected_total", "reason", c.rejected[i].reason,
                     (double)c.rejected[i].n);
        metric(out, "hostflow_flows_filtered_total", "counter",
               "Flows whose source is not monitored.", (double)c.filtered);
        metric(out, "hostflow_flows_late_total", "counter",
               "Flows that came after their window had closed.", (double)c.late);
        metric(out, "hostflow_flows_accepted_total", "counter",
               "Flows given to the analyses' windows.", (double)c.accepted);
        metric(out, "hostflow_hosts_refused_total", "counter",
               "Flows of new hosts refused by the memory limit.", (double)c.hosts_refused);
        metric(out, "hostflow_records_out_total", "counter", "Records written by the workers.",
               (double)c.records_out);
        metric(out, "hostflow_output_errors_total", "counter", "Records the outputs lost.",
               (double)c.output_lost);
        head(out, "hostflow_output_records_total", "counter",
             "Records each output acknowledged (written).");
        for (int i = 0; i < c.noutputs && i < HF_RUN_OUTPUTS; i++)
            labelled(out, "hostflow_output_records_total", "output", c.outputs[i].spec,
                     (double)c.outputs[i].written);
        head(out, "hostflow_output_lost_total", "counter", "Records each output lost.");
        for (int i = 0; i < c.noutputs && i < HF_RUN_OUTPUTS; i++)
            labelled(out, "hostflow_output_lost_total", "output", c.outputs[i].spec,
                     (double)c.outputs[i].lost);
        metric(out, "hostflow_window_memory_bytes", "gauge", "Memory of the open windows.",
               (double)c.memory_bytes);
        head(out, "hostflow_analysis_errors_total", "counter", "Errors raised by each analysis.");
        for (int i = 0; i < c.nanalyses && i < HF_RUN_ANALYSES; i++)
            labelled(out, "hostflow_analysis_errors_total", "analysis", c.analyses[i].name,
                     c.analyses[i].errors);
        head(out, "hostflow_analysis_seconds_total", "counter",
             "Time in each analysis (update and result).");
        for (int i = 0; i < c.nanalyses && i < HF_RUN_ANALYSES; i++)
            labelled(out, "hostflow_analysis_seconds_total", "analysis", c.analyses[i].name,
                     c.analyses[i].seconds);
        if (c.input_lag >= 0)
            metric(out, "hostflow_kafka_lag_messages", "gauge",
                   "Messages behind the end of the assigned partitions.", (double)c.input_lag);
        if (c.closed_until_ms != INT64_MIN && c.closed_until_ms != INT64_MAX)
            metric(out, "hostflow_windows_closed_until_seconds", "gauge",
                   "Every window ending by then is written (event time).",
                   (double)c.closed_until_ms / 1000.0);
    }
    hf_view_counters vc;
    hf_view_counters_get(api->view, &vc);
    head(out, "hostflow_hosts", "gauge", "Hosts in the latest closed window, by granularity.");
    int64_t gms[HF_VIEW_MAX_GRANS];
    int ng = hf_view_grans(api->view, gms);
    for (int g = 0; g < ng; g++) {
        char gs[32];
        snprintf(gs, sizeof gs, "%lld", (long long)(gms[g] / 1000));
        labelled(out, "hostflow_hosts", "granularity", gs, (double)hf_view_hosts_in(api->view, g));
    }
    metric(out, "hostflow_view_hosts", "gauge", "Hosts the HTTP view holds.", (double)vc.hosts);
    metric(out, "hostflow_view_records_total", "counter", "Records the HTTP view has taken.",
           (double)vc.records);
    metric(out, "hostflow_view_memory_bytes", "gauge", "Memory of the HTTP view's history.",
           (double)vc.memory);
    metric(out, "hostflow_view_history_cut_total", "counter",
           "Windows the view dropped early to stay within its memory.", (double)vc.history_cut);
    metric(out, "hostflow_alerts_open", "gauge", "Alerts open now.", vc.alerts_open);
    if (api->metrics_extra) api->metrics_extra(api->extra_ctx, out);
    return 200;
}

int hf_api_handle(hf_api *api, const hf_api_req *req, hf_buf *out, const char **ctype)
{
    *ctype = "application/json";
    const char *p = req->path;
    if (strcmp(p, "/metrics") == 0) {
        int rc = route_metrics(api, req, out);
        if (rc == 200) *ctype = "text/plain; version=0.0.4; charset=utf-8";
        return rc;
    }
    if (strcmp(p, "/api/v1/status") == 0) return route_status(api, req, out);
    if (strcmp(p, "/api/v1/heatmap") == 0) return route_heatmap(api, req, out);
    if (strcmp(p, "/api/v1/top") == 0) return route_top(api, req, out);
    if (strcmp(p, "/api/v1/host") == 0) return route_host(api, req, NULL, out);
    if (strncmp(p, "/api/v1/host/", 13) == 0) return route_host(api, req, p + 13, out);
    if (strcmp(p, "/api/v1/alerts") == 0) return route_alerts(api, req, out);
    if (strcmp(p, "/api/v1/counters") == 0) return route_counters(api, req, out);
    char msg[256];
    snprintf(msg, sizeof msg, "no such route \"%.64s\"; the API has /api/v1/status, heatmap, top, "
             "host, alerts, counters and /metrics", p);
    return hf_api_error(out, 404, msg);
}
