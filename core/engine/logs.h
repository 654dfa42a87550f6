/* logs.h -- a host's log events in one window: what goes under stats.logs.
 *
 * The events of a host (stream/logs.h) that fall in a window are counted by
 * severity and by program, and the last few are kept whole:
 *
 *   "logs": {"events": 12,
 *            "severity": {"err": 2, "warning": 1, "info": 9},
 *            "programs": {"sshd": 10, "sudo": 2},
 *            "messages": [{"time": "2026-11-26T14:00:03.120Z", "severity": "err",
 *                          "program": "sshd", "message": "Failed password for root ..."}, ...]}
 *
 * severity: the eight RFC 5424 names in their order (and "unknown" for
 * events without one), only those seen; programs: the first
 * HF_LOG_PROGRAMS programs seen, most events first (then by name), the
 * events of any other in "other_programs"; messages: the newest `cap`
 * (logs.messages), newest first, ties in the order they came.
 *
 * The state lives in the window's arena, beside the host's row (window.h:
 * only the rows of hosts that had events have one, so windows without
 * logs pay nothing), and coarser windows merge it as they merge the rows:
 * counts add, programs join (up to HF_LOG_PROGRAMS), messages keep the
 * newest -- the coarser window holds what one window of all the events
 * would, but that a host with more than HF_LOG_PROGRAMS programs may count
 * a program under "other_programs" in one and by name in the other (every
 * event is counted either way).  The result does not depend on the number
 * of workers: a host's events come to its worker in the input's order. */
#ifndef HF_ENGINE_LOGS_H
#define HF_ENGINE_LOGS_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "stream/logs.h"

#define HF_LOG_PROGRAMS 8

typedef struct hf_logmsg {
    double   time_ms;
    uint64_t seq;                   /* the order it came in (ties of time) */
    uint8_t  severity, program_len, message_len, pad;
    char     program[HF_EVENT_PROGRAM];
    char     message[HF_EVENT_MESSAGE];
} hf_logmsg;

typedef struct hf_logprog {
    uint32_t n;                     /* events */
    uint8_t  len;
    char     name[HF_EVENT_PROGRAM];
} hf_logprog;

typedef struct hf_logstate {
    uint32_t  events;
    uint32_t  severity[HF_SEV_NONE + 1];
    uint32_t  other;                /* events of programs not kept */
    uint32_t  nprograms, nmessages;
    hf_logprog programs[HF_LOG_PROGRAMS];
    hf_logmsg messages[];           /* cap of them, newest first */
} hf_logstate;

/* A new, empty state for up to cap messages, from the arena. */
hf_logstate *hf_logs_new(hf_arena *a, int cap);
/* Count event ev (seq: its place in the input) and keep it when it is
 * among the newest cap. */
void hf_logs_add(hf_logstate *s, int cap, const hf_event *ev, uint64_t seq);
/* dst := dst and src (a finer window's). */
void hf_logs_merge(hf_logstate *dst, const hf_logstate *src, int cap);
/* Append the JSON of stats.logs' value. */
void hf_logs_json(const hf_logstate *s, hf_buf *b);

#endif
