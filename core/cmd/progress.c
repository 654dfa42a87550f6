/* progress.c -- the progress line of `hostflow run --progress` (see
 * progress.h): formatting, and when to draw.
 *
 * The run calls hf_progress_update() after each step of its input (a block
 * of lines, a poll of the consumer); that reads the monotonic clock and
 * draws only when the time has come, so a step costs a clock read.  On a
 * terminal the line goes through hf_log_status(), which keeps it below the
 * log lines instead of under them. */
#include "cmd/progress.h"

#include <stdio.h>
#include <string.h>

#include <sys/ioctl.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/timefmt.h"

#define TTY_INTERVAL_MS 250     /* redraws of the bar */
#define MIN_INTERVAL_MS 100
#define BAR_MIN 10              /* the bar's cells, at least (else no bar) */

struct hf_progress {
    int     tty;
    double  interval_ns;
    double  next_ns;            /* the next draw, hf_now_ns() time */
};

/* ------------------------------------------------------------------------
 * Text
 * --------------------------------------------------------------------- */

/* 1234567 as "1,234,567". */
static const char *thousands(uint64_t v, char *out, size_t n)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
    size_t j = 0;
    for (int i = 0; i < len && j + 2 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0) out[j++] = ',';
        out[j++] = digits[i];
    }
    out[j] = '\0';
    return out;
}

/* Bytes as "812 B", "1.2 KiB" ... "3.4 TiB". */
static const char *bytes(uint64_t v, char *out, size_t n)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double x = (double)v;
    int u = 0;
    while (x >= 1024 && u < 4) {
        x /= 1024;
        u++;
    }
    if (u == 0) snprintf(out, n, "%llu B", (unsigned long long)v);
    else snprintf(out, n, "%.1f %s", x, units[u]);
    return out;
}

/* Seconds as "0:42", "12:03" or "1:02:03". */
static const char *clock_text(double s, char *out, size_t n)
{
    if (s < 0 || s > 99 * 3600.0) s = 99 * 3600.0;
    unsigned t = (unsigned)(s + 0.5);
    if (t >= 3600) snprintf(out, n, "%u:%02u:%02u", t / 3600, t / 60 % 60, t % 60);
    else snprintf(out, n, "%u:%02u", t / 60, t % 60);
    return out;
}

const char *hf_progress_format(char *out, size_t n, int columns, const hf_progress_now *now)
{
    char count[32], rate[32], done[32], total[32], el[16], eta[16], tail[256];
    double rps = now->elapsed_s > 0.001 ? (double)now->records / now->elapsed_s : 0;
    int sized = now->total > 0;
    uint64_t d = sized && now->done > now->total ? now->total : now->done;
    double frac = sized ? (double)d / (double)now->total : 0;
    if (now->finished && sized) {
        frac = 1;
        d = now->total;
    }
    double bps = now->elapsed_s > 0.001 ? (double)d / now->elapsed_s : 0;
    double left = bps > 0 ? (double)(now->total - d) / bps : -1;
    thousands(now->records, count, sizeof count);
    thousands((uint64_t)(rps + 0.5), rate, sizeof rate);
    bytes(d, done, sizeof done);
    bytes(now->total, total, sizeof total);
    clock_text(now->elapsed_s, el, sizeof el);
    char t[16];
    if (now->finished) snprintf(eta, sizeof eta, "done");
    else snprintf(eta, sizeof eta, "ETA %s", left >= 0 ? clock_text(left, t, sizeof t) : "?");

    if (columns <= 0) {                                   /* a log line */
        if (sized)
            snprintf(out, n, "hostflow: progress: %.0f%% of %s, %s records, %s records/s, %s elapsed, %s",
                     frac * 100, total, count, rate, el, eta);
        else
            snprintf(out, n, "hostflow: progress: %s records, %s records/s, %s elapsed%s", count, rate,
                     el, now->finished ? ", done" : "");
        return out;
    }
    if (!sized) {                                         /* no size: no bar */
        snprintf(out, n, "%s records  %s/s  %s read  %s%s", count, rate, done, el,
                 now->finished ? "  done" : " elapsed");
        return out;
    }
    int len = snprintf(tail, sizeof tail, " %3.0f%%  %s/%s  %s records  %s/s  %s",
                       frac * 100, done, total, count, rate, eta);
    int cells = columns - 1 - len - 2;                    /* "[" cells "]" tail, a column spare */
    if (cells < BAR_MIN) {
        snprintf(out, n, "%s", tail + strspn(tail, " "));
        return out;
    }
    if (cells > 50) cells = 50;
    size_t j = 0;
    int full = (int)(frac * cells + 1e-9);
    if (j + 1 < n) out[j++] = '[';
    for (int i = 0; i < cells && j + 1 < n; i++) out[j++] = i < full ? '#' : '.';
    if (j + 1 < n) out[j++] = ']';
    snprintf(out + j, n - j, "%s", tail);
    return out;
}

/* ------------------------------------------------------------------------
 * Drawing
 * --------------------------------------------------------------------- */

static int term_columns(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    return 80;
}

static void draw(hf_progress *p, const hf_progress_now *now)
{
    char line[512];
    if (p->tty) {
        hf_log_status(hf_progress_format(line, sizeof line, term_columns(), now));
    } else {
        hf_progress_format(line, sizeof line, 0, now);
        fprintf(stderr, "%s\n", line);                    /* one stdio call: one whole line */
    }
}

hf_progress *hf_progress_new(int tty, int64_t interval_ms)
{
    hf_progress *p = hf_calloc(1, sizeof *p);
    p->tty = tty;
    if (interval_ms < MIN_INTERVAL_MS) interval_ms = MIN_INTERVAL_MS;
    p->interval_ns = (double)(tty ? TTY_INTERVAL_MS : interval_ms) * 1e6;
    p->next_ns = hf_now_ns() + (tty ? 0 : p->interval_ns);
    return p;
}

void hf_progress_update(hf_progress *p, const hf_progress_now *now)
{
    double t = hf_now_ns();
    if (t < p->next_ns) return;
    p->next_ns = t + p->interval_ns;
    draw(p, now);
}

void hf_progress_end(hf_progress *p, const hf_progress_now *now)
{
    if (!p) return;
    draw(p, now);
    if (p->tty) hf_log_status(NULL);
    hf_free(p);
}
