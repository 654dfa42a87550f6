/* log.c -- log lines to stderr, one write per line, never cut (a server's
 * error text is kept whole), with a rate limit for the lines that bad input
 * can trigger. */
#include "base/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"

int hf_log_level = HF_LOG_INFO;

static const char *level_names[] = {"error", "warning", "info", "debug"};
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char status[512];         /* the status line shown on the terminal, "" for none */

#define ERASE_LINE "\r\033[K"

/* One line: the prefix, the message whole (a server's error text can be
 * long and must not be cut: lines longer than the stack buffer are built in
 * an allocated one), the suffix and a newline, in one write. */
static void vlog(int level, const char *suffix, const char *fmt, va_list ap)
{
    char stack[2048], *line = stack;
    size_t cap = sizeof stack;
    if (!suffix) suffix = "";
    va_list again;
    va_copy(again, ap);
    int n = snprintf(line, cap, "hostflow: %s: ", level_names[level]);
    int m = vsnprintf(line + n, cap - (size_t)n, fmt, ap);
    if (m < 0) m = 0;
    size_t need = (size_t)n + (size_t)m + strlen(suffix) + 2;
    if (need > cap) {
        cap = need;
        line = hf_malloc(cap);
        memcpy(line, stack, (size_t)n);
        vsnprintf(line + n, cap - (size_t)n, fmt, again);
    }
    va_end(again);
    size_t len = (size_t)n + (size_t)m;
    len += (size_t)snprintf(line + len, cap - len, "%s\n", suffix);
    pthread_mutex_lock(&log_lock);
    if (status[0]) fputs(ERASE_LINE, stderr);
    fwrite(line, 1, len, stderr);
    if (status[0]) fputs(status, stderr);
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
    if (line != stack) hf_free(line);
}

void hf_log_status(const char *text)
{
    pthread_mutex_lock(&log_lock);
    if (text) {
        snprintf(status, sizeof status, "%s", text);
        fputs(ERASE_LINE, stderr);
        fputs(status, stderr);
    } else if (status[0]) {
        fputc('\n', stderr);
        status[0] = '\0';
    }
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
}

void hf_log(int level, const char *fmt, ...)
{
    if (level > hf_log_level) return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, NULL, fmt, ap);
    va_end(ap);
}

int hf_log_would(const hf_ratelimit *rl, int level)
{
    if (level > hf_log_level) return 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec != rl->second || rl->used < rl->burst;
}

void hf_log_limited(hf_ratelimit *rl, int level, const char *fmt, ...)
{
    if (level > hf_log_level) return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (ts.tv_sec != rl->second) {
        rl->second = ts.tv_sec;
        rl->used = 0;
    }
    if (rl->used >= rl->burst) {
        rl->suppressed++;
        return;
    }
    rl->used++;
    char suffix[80] = "";
    if (rl->suppressed) {
        snprintf(suffix, sizeof suffix, " (%llu similar lines suppressed)",
                 (unsigned long long)rl->suppressed);
        rl->suppressed = 0;
    }
    va_list ap;
    va_start(ap, fmt);
    vlog(level, suffix, fmt, ap);
    va_end(ap);
}

const char *hf_log_snippet(const char *rec, size_t len, char *out, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; i < len && j + 4 < n; i++) {
        unsigned char c = (unsigned char)rec[i];
        out[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (len > n - 5 && j + 4 <= n) memcpy(out + j, "...", 3), j += 3;
    out[j] = '\0';
    return out;
}
