/* out_top.c -- `hostflow run --top` (the output "top:"): a live one-screen
 * summary on the terminal, redrawn at each window close, like top(1).
 *
 *   hostflow  10 s window 2026-11-26 14:00:30 UTC   401 hosts   1 alert open
 *   input 12,345 records/s   records out 3,456   lag -   late 0   rejected 0
 *
 *   HOST                          FLOWS    PACKETS        BYTES  AVG DUR  PEERS  PORTS
 *   10.170.27.141                   201       1600     13012345    0.54s     69     40 !
 *   ...
 *   OPEN ALERTS
 *   10.170.27.141                  profile_deviation  observed 20000, expected 1000
 *
 * It keeps a view of its own (view.c, a short history) fed through the
 * same queue as the HTTP view (viewq.c), so the workers never wait for the
 * terminal.  The viewq thread calls back after each round; the screen is
 * drawn again when the finest granularity's latest closed window changes.
 * Figures come from the records (hosts, their statistics, alerts) and from
 * the run's counters (input rate, lag; io.h, watch).  The target is where
 * to draw: "top:" or "top:-" is standard output, "top:/dev/tty" the
 * terminal.  --top (top.show) asks for "top:-" (the wanted op), which
 * takes standard output from the records (io/outputs.c). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/timefmt.h"
#include "io/io.h"
#include "io/view.h"
#include "io/viewq.h"

#define MAX_ROWS 200

const hf_conf_key hf_out_top_keys[] = {
    {.name = "#top", .type = HF_CONF_HEADING, .doc = "The terminal summary (--top, or -o top:):"},
    {.name = "top.show", .type = HF_CONF_BOOL, .deflt = "false", .flag = "--top",
     .doc = "show a live summary on standard output, redrawn at each window close, instead of "
            "the records there (-o FILE keeps them)"},
    {.name = "top.stat", .type = HF_CONF_STRING, .deflt = "total.bytes",
     .doc = "the statistic the busiest hosts are ranked by"},
    {.name = "top.rows", .type = HF_CONF_INT, .deflt = "0",
     .doc = "hosts shown; 0: as many as the terminal's height allows", .min = 0, .max = MAX_ROWS},
    {.name = NULL},
};

typedef struct out_top {
    hf_view  *view;
    hf_viewq *q;
    int       fd;
    int       own_fd;
    char     *stat;
    int       rows;
    int64_t   drawn;              /* the window on screen */
    double    last_t, last_in;    /* for the input rate */
    double    rate;
} out_top;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fmt_num(char *out, size_t n, double v, const char *fmt)
{
    if (isnan(v)) snprintf(out, n, "-");
    else snprintf(out, n, fmt, v);
}

/* Draw the screen (the viewq thread, after a round). */
static void draw(void *ctx)
{
    out_top *t = ctx;
    int64_t gms[HF_VIEW_MAX_GRANS];
    hf_view_grans(t->view, gms);
    int64_t latest = hf_view_latest(t->view, 0);
    if (latest == INT64_MIN || latest == t->drawn) return;
    t->drawn = latest;

    void *fctx;
    hf_run_counters_fn fn = hf_viewq_counters_fn(t->q, &fctx);
    hf_run_counters c;
    memset(&c, 0, sizeof c);
    c.input_lag = -1;
    if (fn) fn(fctx, &c);
    double now = mono_s();
    if (t->last_t > 0 && now > t->last_t) t->rate = ((double)c.records_in - t->last_in) / (now - t->last_t);
    else if (c.seconds > 0) t->rate = (double)c.records_in / c.seconds;   /* the first screen */
    t->last_t = now;
    t->last_in = (double)c.records_in;

    int rows = t->rows;
    if (!rows) {
        struct winsize ws;
        rows = ioctl(t->fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 12 ? ws.ws_row - 10 : 14;
    }
    if (rows > MAX_ROWS) rows = MAX_ROWS;
    static const char *const names[] = {"total.flow", "total.packets", "total.bytes",
                                        "avg_flow_duration", "peer_number", "dport_count"};
    int cols[6];
    char err[256];
    for (int i = 0; i < 6; i++) cols[i] = hf_view_stat(t->view, names[i], err, sizeof err);
    int stat = hf_view_stat(t->view, t->stat, err, sizeof err);
    hf_view_row *r = hf_calloc((size_t)rows, sizeof *r);
    int64_t start;
    size_t hosts;
    int n = hf_view_rows(t->view, 0, stat, cols, 6, rows, r, &start, &hosts);
    char alerts[5][160];
    int na = hf_view_alert_lines(t->view, 5, alerts);
    hf_view_counters vc;
    hf_view_counters_get(t->view, &vc);

    hf_buf b;
    hf_buf_init(&b, 8192);
    char line[512], when[32];
    hf_time_format_iso(start, when);
    when[10] = ' ';
    when[19] = '\0';
    hf_buf_puts(&b, "\033[H\033[2J");
    snprintf(line, sizeof line, "hostflow  %lld s window %s UTC   %zu hosts   %d alert%s open\n",
             (long long)(gms[0] / 1000), when, hosts, vc.alerts_open, vc.alerts_open == 1 ? "" : "s");
    hf_buf_puts(&b, line);
    uint64_t rej = 0;
    for (int i = 0; i < c.nrejected && i < HF_RUN_REASONS; i++) rej += c.rejected[i].n;
    char lag[32];
    if (c.input_lag >= 0) snprintf(lag, sizeof lag, "%lld", (long long)c.input_lag);
    else snprintf(lag, sizeof lag, "-");
    snprintf(line, sizeof line, "input %.0f records/s   records out %llu   lag %s   late %llu   rejected %llu\n\n",
             t->rate, (unsigned long long)c.records_out, lag, (unsigned long long)c.late,
             (unsigned long long)rej);
    hf_buf_puts(&b, line);
    snprintf(line, sizeof line, "%-39s %8s %10s %13s %8s %6s %6s   (by %s)\n", "HOST", "FLOWS",
             "PACKETS", "BYTES", "AVG DUR", "PEERS", "PORTS", t->stat);
    hf_buf_puts(&b, line);
    for (int i = 0; i < n; i++) {
        char f[6][24];
        fmt_num(f[0], 24, r[i].v[0], "%.0f");
        fmt_num(f[1], 24, r[i].v[1], "%.0f");
        fmt_num(f[2], 24, r[i].v[2], "%.0f");
        fmt_num(f[3], 24, r[i].v[3], "%.2fs");
        fmt_num(f[4], 24, r[i].v[4], "%.0f");
        fmt_num(f[5], 24, r[i].v[5], "%.0f");
        snprintf(line, sizeof line, "%-39s %8s %10s %13s %8s %6s %6s%s\n", r[i].ip, f[0], f[1],
                 f[2], f[3], f[4], f[5], r[i].alert ? " !" : "");
        hf_buf_puts(&b, line);
    }
    hf_buf_puts(&b, "\nOPEN ALERTS\n");
    for (int i = 0; i < na; i++) {
        hf_buf_puts(&b, alerts[i]);
        hf_buf_putc(&b, '\n');
    }
    if (!na) hf_buf_puts(&b, "none\n");
    for (size_t off = 0; off < b.len;) {
        ssize_t w = write(t->fd, b.data + off, b.len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += (size_t)w;
    }
    hf_buf_release(&b);
    hf_free(r);
}

static int top_close(void *out);

static void *top_open(const hf_config *cfg, const char *target, char *err, size_t errlen)
{
    out_top *t = hf_calloc(1, sizeof *t);
    t->drawn = INT64_MIN;
    t->fd = 1;
    if (target && *target && strcmp(target, "-") != 0) {
        t->fd = open(target, O_WRONLY | O_CLOEXEC | O_APPEND);
        if (t->fd < 0) {
            snprintf(err, errlen, "top: cannot open %s: %s", target, strerror(errno));
            hf_free(t);
            return NULL;
        }
        t->own_fd = 1;
    }
    const char *stat = hf_conf_str(cfg, "top.stat");
    t->stat = hf_strdup(stat ? stat : "total.bytes");
    t->rows = (int)hf_conf_int(cfg, "top.rows");
    hf_view_limits lim;
    memset(&lim, 0, sizeof lim);
    lim.history = 4;
    lim.max_hosts = 10000000;
    lim.memory = (size_t)1 << 30;
    lim.max_alerts = 100;
    lim.alert_hold_ms = 600000;
    lim.ngrans = cfg->nwindows < HF_VIEW_MAX_GRANS ? cfg->nwindows : HF_VIEW_MAX_GRANS;
    memcpy(lim.gran_ms, cfg->windows_ms, (size_t)lim.ngrans * sizeof(int64_t));
    t->view = hf_view_new(&lim);
    if (!(t->q = hf_viewq_new(t->view, (size_t)64 << 20, draw, t))) {
        snprintf(err, errlen, "top: cannot start its thread");
        top_close(t);
        return NULL;
    }
    return t;
}

static int top_write(void *out, const hf_records *b)
{
    out_top *t = out;
    return hf_viewq_write(t->q, b);
}

static int top_flush(void *out, int timeout_ms)
{
    (void)out;
    (void)timeout_ms;
    return HF_OUT_OK;
}

static void top_counters(void *out, hf_output_counters *c)
{
    out_top *t = out;
    memset(c, 0, sizeof *c);
    uint64_t dropped, batches;
    hf_viewq_stats(t->q, &c->written, &dropped, &batches);
    c->state = "ok";
}

static void top_watch(void *out, hf_run_counters_fn fn, void *ctx)
{
    out_top *t = out;
    hf_viewq_watch(t->q, fn, ctx);
}

static int top_close(void *out)
{
    out_top *t = out;
    if (!t) return 0;
    hf_viewq_free(t->q);
    hf_view_free(t->view);
    if (t->own_fd) close(t->fd);
    hf_free(t->stat);
    hf_free(t);
    return 0;
}

/* --top (top.show): on standard output. */
static int top_wanted(const hf_config *cfg, char *target, size_t n)
{
    if (!hf_conf_bool(cfg, "top.show")) return 0;
    snprintf(target, n, "-");
    return 1;
}

const hf_output_ops hf_out_top = {
    .scheme = "top",
    .usage = "top:[TTY]  a live one-screen summary on the terminal (--top)",
    .keys = hf_out_top_keys,
    .open = top_open,
    .write = top_write,
    .flush = top_flush,
    .counters = top_counters,
    .close = top_close,
    .watch = top_watch,
    .wanted = top_wanted,
};
