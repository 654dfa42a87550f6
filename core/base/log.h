/* log.h -- log lines to stderr, and a rate limit for the ones bad input can
 * trigger by the million. */
#ifndef HF_LOG_H
#define HF_LOG_H

#include <stddef.h>
#include <stdint.h>

enum { HF_LOG_ERROR, HF_LOG_WARN, HF_LOG_INFO, HF_LOG_DEBUG };

extern int hf_log_level;  /* lines above this level are dropped */

void hf_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A rate limit: at most `burst` lines per second; what it drops is counted
 * and said in the next line it lets through.  One per kind of message. */
typedef struct hf_ratelimit {
    int      burst;
    int64_t  second;      /* the wall-clock second being counted */
    int      used;        /* lines let through in that second */
    uint64_t suppressed;  /* lines dropped since the last one let through */
} hf_ratelimit;

#define HF_RATELIMIT_INIT(burst) {(burst), 0, 0, 0}

/* A record as printable text for a warning: non-printable bytes as '?',
 * cut to fit out (n bytes, NUL included) with "..." when cut.  Returns out. */
const char *hf_log_snippet(const char *rec, size_t len, char *out, size_t n);

void hf_log_limited(hf_ratelimit *rl, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Would hf_log_limited(rl, level, ...) write a line now?  For a message
 * whose arguments cost something to make (only when it is written). */
int hf_log_would(const hf_ratelimit *rl, int level);

/* A status line kept at the foot of a terminal (hostflow run --progress):
 * text draws or replaces it (no newline in it); log lines erase it, go
 * above it and draw it again.  NULL ends it with a newline. */
void hf_log_status(const char *text);

#endif
