/* logs.c -- a host's log events in a window: counts, programs, the newest
 * messages, merging and their JSON (see logs.h). */
#include "engine/logs.h"

#include <stdlib.h>
#include <string.h>

#include "base/timefmt.h"

hf_logstate *hf_logs_new(hf_arena *a, int cap)
{
    return hf_arena_calloc(a, sizeof(hf_logstate) + sizeof(hf_logmsg) * (size_t)(cap > 0 ? cap : 0));
}

/* Count n events of a program (len bytes of name). */
static void count_program(hf_logstate *s, const char *name, size_t len, uint32_t n)
{
    for (uint32_t i = 0; i < s->nprograms; i++)
        if (s->programs[i].len == len && memcmp(s->programs[i].name, name, len) == 0) {
            s->programs[i].n += n;
            return;
        }
    if (s->nprograms == HF_LOG_PROGRAMS) {
        s->other += n;
        return;
    }
    s->programs[s->nprograms].n = n;
    s->programs[s->nprograms].len = (uint8_t)len;
    memcpy(s->programs[s->nprograms].name, name, len);
    s->programs[s->nprograms].name[len] = '\0';
    s->nprograms++;
}

/* Whether message a is newer than b: later time, then later in the input. */
static int newer(const hf_logmsg *a, const hf_logmsg *b)
{
    return a->time_ms > b->time_ms || (a->time_ms == b->time_ms && a->seq > b->seq);
}

/* Keep m among the newest cap messages (sorted newest first). */
static void keep(hf_logstate *s, int cap, const hf_logmsg *m)
{
    uint32_t n = s->nmessages, at = n;
    while (at > 0 && newer(m, &s->messages[at - 1])) at--;
    if (at >= (uint32_t)cap) return;                      /* older than all kept */
    if (n == (uint32_t)cap) n--;                          /* the oldest falls off */
    memmove(&s->messages[at + 1], &s->messages[at], sizeof(hf_logmsg) * (n - at));
    s->messages[at] = *m;
    s->nmessages = n + 1;
}

void hf_logs_add(hf_logstate *s, int cap, const hf_event *ev, uint64_t seq)
{
    s->events++;
    s->severity[ev->severity <= HF_SEV_NONE ? ev->severity : HF_SEV_NONE]++;
    if (ev->program_len) count_program(s, ev->program, ev->program_len, 1);
    if (cap <= 0) return;
    hf_logmsg m;
    m.time_ms = ev->time_ms;
    m.seq = seq;
    m.severity = ev->severity;
    m.program_len = ev->program_len;
    m.message_len = ev->message_len;
    m.pad = 0;
    memcpy(m.program, ev->program, sizeof m.program);
    memcpy(m.message, ev->message, sizeof m.message);
    keep(s, cap, &m);
}

void hf_logs_merge(hf_logstate *dst, const hf_logstate *src, int cap)
{
    dst->events += src->events;
    for (int i = 0; i <= HF_SEV_NONE; i++) dst->severity[i] += src->severity[i];
    for (uint32_t i = 0; i < src->nprograms; i++)
        count_program(dst, src->programs[i].name, src->programs[i].len, src->programs[i].n);
    dst->other += src->other;
    for (uint32_t i = 0; i < src->nmessages; i++) keep(dst, cap, &src->messages[i]);
}

/* Most events first, then by name. */
static int by_count(const void *x, const void *y)
{
    const hf_logprog *a = x, *b = y;
    if (a->n != b->n) return a->n > b->n ? -1 : 1;
    return strcmp(a->name, b->name);
}

void hf_logs_json(const hf_logstate *s, hf_buf *b)
{
    static const char *const names[HF_SEV_NONE + 1] = {"emerg", "alert", "crit", "err", "warning",
                                                         "notice", "info", "debug", "unknown"};
    hf_buf_puts(b, "{\"events\":");
    hf_buf_put_int(b, s->events);
    hf_buf_puts(b, ",\"severity\":{");
    int first = 1;
    for (int i = 0; i <= HF_SEV_NONE; i++) {
        if (!s->severity[i]) continue;
        if (!first) hf_buf_putc(b, ',');
        first = 0;
        hf_buf_putc(b, '"');
        hf_buf_puts(b, names[i]);
        hf_buf_puts(b, "\":");
        hf_buf_put_int(b, s->severity[i]);
    }
    hf_buf_puts(b, "},\"programs\":{");
    hf_logprog sorted[HF_LOG_PROGRAMS];
    memcpy(sorted, s->programs, sizeof sorted[0] * s->nprograms);
    qsort(sorted, s->nprograms, sizeof sorted[0], by_count);
    for (uint32_t i = 0; i < s->nprograms; i++) {
        if (i) hf_buf_putc(b, ',');
        hf_buf_put_string(b, sorted[i].name, sorted[i].len);
        hf_buf_putc(b, ':');
        hf_buf_put_int(b, sorted[i].n);
    }
    hf_buf_putc(b, '}');
    if (s->other) {
        hf_buf_puts(b, ",\"other_programs\":");
        hf_buf_put_int(b, s->other);
    }
    hf_buf_puts(b, ",\"messages\":[");
    for (uint32_t i = 0; i < s->nmessages; i++) {
        const hf_logmsg *m = &s->messages[i];
        char ts[32];
        hf_time_format_iso((int64_t)m->time_ms, ts);
        if (i) hf_buf_putc(b, ',');
        hf_buf_puts(b, "{\"time\":\"");
        hf_buf_puts(b, ts);
        hf_buf_puts(b, "\",\"severity\":\"");
        hf_buf_puts(b, names[m->severity <= HF_SEV_NONE ? m->severity : HF_SEV_NONE]);
        hf_buf_puts(b, "\",\"program\":");
        hf_buf_put_string(b, m->program, m->program_len);
        hf_buf_puts(b, ",\"message\":");
        hf_buf_put_string(b, m->message, m->message_len);
        hf_buf_putc(b, '}');
    }
    hf_buf_puts(b, "]}");
}
