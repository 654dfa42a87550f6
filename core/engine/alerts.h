/* alerts.h -- the alerts a worker's rules raise, and which of them are open.
 *
 * A rule (a window analysis's result(), a profile's absorb()) raises an
 * alert for a host in the window being closed: a rule name, what it
 * observed and expected, a score and details (JSON).  The first raise of
 * (host, rule) writes a host_alert record and opens the alert for the hold
 * time (alerts.hold, event time from the window's start):
 *
 *   raise at window W, (host, rule) not open   -> new alert: a record,
 *        id "<src_ip>/<rule>/<W.start_ms>", open until W.start + hold
 *   raise while open, observed above the last   -> an update: a record with
 *        reported one (the condition grew)           the SAME id (it replaces
 *                                                    its first copy downstream),
 *                                                    "update": n, "increment"
 *   raise while open, not grown                 -> held: no record
 *   raise after the hold                        -> a new alert (new id)
 *
 * So a continuing condition gives one alert per hold time, updated when it
 * grows, never one per window.  A host record of a window that overlaps an
 * open alert of its host carries the open rules ("alert":["rule",...]).
 *
 * Memory is bounded: at most max_open alerts are kept, in a ring in the
 * order they were opened, indexed by a hash table on the host's address
 * (one probe run holds every rule of a host).  When the ring is full the
 * oldest is closed early (counted as evicted).  Entries leave the ring once
 * their hold has passed by more than the coarsest window (so that the
 * coarser records of the windows they overlap still carry the flag).
 *
 * One per worker, used by its thread only (hosts are sharded): no locks. */
#ifndef HF_ALERTS_H
#define HF_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "engine/record.h"

#define HF_ALERT_RULE_MAX 64       /* a rule name and its NUL */
#define HF_ALERT_RULES    255      /* distinct rule names per worker */

enum {
    HF_ALERT_HELD = 0,             /* open, not grown: no record */
    HF_ALERT_NEW = 1,              /* a new alert: a record */
    HF_ALERT_UPDATE = 2,           /* an open alert grew: a record with its id */
    HF_ALERT_BAD = -1,             /* a bad rule name, or too many rules */
};

typedef struct hf_alerts hf_alerts;

/* One raise: the host, the rule, the window and what was found.  expected
 * and score may be NaN (written as null); details is the text of a JSON
 * value (NULL: {}). */
typedef struct hf_alert {
    const uint8_t *addr;           /* 16 bytes, IPv4 mapped */
    int            v6;
    const char    *rule;
    size_t         rule_len;
    int64_t        start_ms, g_ms; /* the window it was raised in */
    double         observed, expected, score;
    const char    *details;
    size_t         details_len;
} hf_alert;

typedef struct hf_alert_stats {
    uint64_t raised;               /* new alerts (records) */
    uint64_t updated;              /* updates (records) */
    uint64_t held;                 /* raises while open and not grown (no record) */
    uint64_t evicted;              /* closed early: max_open alerts were open */
    uint64_t open;                 /* kept now (open, or within the coarsest window of closing) */
} hf_alert_stats;

/* Alerts held open hold_ms (>= 0) after their window's start; at most
 * max_open (>= 1) kept; linger_ms: how long past its hold an alert still
 * flags records (the coarsest granularity). */
hf_alerts *hf_alerts_new(int64_t hold_ms, uint32_t max_open, int64_t linger_ms);
void hf_alerts_free(hf_alerts *a);

/* 1 when the rule name is valid: a letter, then letters, digits and _, at
 * most HF_ALERT_RULE_MAX - 1 bytes (it is part of the record's id). */
int hf_alerts_rule_ok(const char *rule, size_t len);

/* Raise an alert (above).  A record, when one is due, is appended to out.
 * Returns HF_ALERT_NEW, HF_ALERT_UPDATE, HF_ALERT_HELD or HF_ALERT_BAD. */
int hf_alerts_raise(hf_alerts *a, const hf_alert *in, hf_record_batch *out);

/* The observed value last reported by the alert of (addr, rule) that is
 * open at at_ms; NaN when none is. */
double hf_alerts_reported(hf_alerts *a, const uint8_t addr[16], const char *rule, size_t len,
                          int64_t at_ms);

/* 1 when any alert is kept (records may need their flag). */
int hf_alerts_any(const hf_alerts *a);

/* Append "alert":["rule",...], (the comma included) for the rules of addr
 * whose alert overlaps the window [start_ms, end_ms), sorted by name.
 * Returns how many; 0 writes nothing. */
int hf_alerts_flag(hf_alerts *a, const uint8_t addr[16], int64_t start_ms, int64_t end_ms,
                   hf_buf *out);

/* Windows ending at or before now_ms are closed: drop the alerts past
 * their hold and linger by then. */
void hf_alerts_expire(hf_alerts *a, int64_t now_ms);

void hf_alerts_stats(const hf_alerts *a, hf_alert_stats *st);

#endif
