/* test_log.c -- log lines: whole however long, one line each, rate limited. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "unit.h"

/* Run fn with stderr going to a temporary file; return what it wrote. */
static char *capture(void (*fn)(void))
{
    FILE *tmp = tmpfile();
    int saved = dup(STDERR_FILENO);
    fflush(stderr);
    dup2(fileno(tmp), STDERR_FILENO);
    fn();
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    long n = ftell(tmp);
    if (n < 0) n = 0;
    char *out = hf_calloc(1, (size_t)n + 1);
    rewind(tmp);
    size_t got = fread(out, 1, (size_t)n, tmp);
    out[got] = '\0';
    fclose(tmp);
    return out;
}

static char long_text[20001];

static void log_long(void)
{
    hf_log(HF_LOG_ERROR, "server said: %s (end)", long_text);
}

TEST(long_line_is_whole)
{
    memset(long_text, 'x', sizeof long_text - 1);
    char *out = capture(log_long);
    CHECK(strncmp(out, "hostflow: error: server said: ", 30) == 0);
    CHECK(strstr(out, long_text) != NULL);
    CHECK(strcmp(out + strlen(out) - 7, " (end)\n") == 0);
    CHECK_EQ_INT(strlen(out), strlen("hostflow: error: server said:  (end)\n") + 20000);
    hf_free(out);
}

static void log_short(void)
{
    hf_log(HF_LOG_WARN, "short %d", 42);
}

TEST(short_line)
{
    char *out = capture(log_short);
    CHECK_EQ_STR(out, "hostflow: warning: short 42\n");
    hf_free(out);
}

static void log_limited(void)
{
    static hf_ratelimit rl = HF_RATELIMIT_INIT(2);
    for (int i = 0; i < 5; i++) hf_log_limited(&rl, HF_LOG_WARN, "line %d %s", i, long_text);
}

TEST(limited_long_lines)
{
    char *out = capture(log_limited);
    int lines = 0;
    for (char *p = out; *p; p++) lines += *p == '\n';
    CHECK(lines <= 2 && lines >= 1);
    CHECK(strstr(out, long_text) != NULL);
    hf_free(out);
}

int main(void)
{
    RUN(long_line_is_whole);
    RUN(short_line);
    RUN(limited_long_lines);
    return UNIT_END();
}
