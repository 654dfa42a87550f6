/* view.h -- what the HTTP view and `--top` show: bounded snapshots of the
 * records, kept in memory, published at window close.
 *
 * The view is fed the records an output is written in two steps: read
 * (hf_view_pack: in the worker that writes them, several at once, into a
 * compact form) and stored (hf_view_store: by one thread, the output's own).
 * It answers the questions of the API (api.c) and of the terminal summary
 * (out_top.c) from many threads at once:
 *
 *   host table ── host ── per granularity, a ring of its latest windows:
 *   (address)              start ms, and one value per statistic
 *              ── its latest host_profile record, its open alerts
 *   alerts     ── the latest host_alert records (open or held), by id
 *   published  ── per granularity, how far windows are closed: a window is
 *                 shown only once every worker has emitted it
 *
 * Statistics are the numbers under a host record's "stats", flattened into
 * dotted names ("total.bytes", "tcp_flags.SYN", "peer_number"), registered
 * as they first appear (at most HF_VIEW_MAX_STATS).
 *
 * A host is shown with an open alert while a host_alert record of it is
 * open (alert_hold after its window), or for one window's length after a
 * host record whose member HF_VIEW_ALERT_FIELD is true, a non-zero number
 * or a non-empty object or array.  The profiles and rules of issue 13, on
 * their branch, write "alert":["rule",...] between a host record's window
 * and its stats while the host has an open alert; the name is theirs to
 * settle, and this is the one place to change it.
 *
 * Memory is bounded: at most max_hosts hosts, rings of at most `history`
 * windows that grow only while `memory` allows (after that a full ring drops
 * its oldest window instead of growing), at most max_alerts alerts; what is
 * refused or cut is counted.  Readers and the writer share one lock that
 * prefers the writer, and the writer holds it only to store values parsed
 * beforehand, so readers never hold the records back for long. */
#ifndef HF_VIEW_H
#define HF_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "engine/record.h"

#define HF_VIEW_MAX_STATS 64
#define HF_VIEW_MAX_GRANS 16
#define HF_VIEW_STAT_NAME 64       /* a statistic's dotted name and its NUL */
#define HF_VIEW_MAX_CELLS 256      /* a heat map: at most 8 bits of zoom */
#define HF_VIEW_MAX_TOP   1000
#define HF_VIEW_ALERT_FIELD "alert"   /* a host record's open-alert flag (above) */

typedef struct hf_view hf_view;

typedef struct hf_view_limits {
    int      history;              /* windows kept per host and granularity */
    size_t   max_hosts;
    size_t   memory;               /* bytes of rings and profiles */
    int      max_alerts;
    int64_t  alert_hold_ms;        /* an alert is open this long after its window */
    int64_t  gran_ms[HF_VIEW_MAX_GRANS];   /* the granularities, ascending */
    int      ngrans;
} hf_view_limits;

typedef struct hf_view_counters {
    uint64_t records;              /* records applied */
    uint64_t bad_records;          /* not understood (counted, skipped) */
    uint64_t alerts, profiles;     /* of them, alert and profile records */
    uint64_t hosts;                /* hosts held */
    uint64_t hosts_refused;        /* records of new hosts past max_hosts */
    uint64_t history_cut;          /* windows dropped early: memory */
    uint64_t stats_refused;        /* values of statistics past HF_VIEW_MAX_STATS */
    uint64_t out_of_order;         /* a host's window older than its ring: skipped */
    uint64_t memory;               /* bytes held */
    int      nstats;
    int      alerts_open;
} hf_view_counters;

/* A CIDR block in the 128-bit space (IPv4 as ::ffff:a.b.c.d/96+len). */
typedef struct hf_view_block {
    uint8_t addr[16];
    int     len;                   /* 0..128 */
    uint8_t family;                /* 4 or 6: how to write it */
} hf_view_block;

enum hf_view_agg { HF_VIEW_SUM, HF_VIEW_MAX, HF_VIEW_MEAN, HF_VIEW_HOSTS };

/* A view with these limits; never NULL. */
hf_view *hf_view_new(const hf_view_limits *lim);
void hf_view_free(hf_view *v);

/* Read a batch of records into out, in the compact form hf_view_store
 * takes (about 190 bytes a host record; alerts and profiles keep their
 * text).  Any thread, several at once; takes no lock but, for a statistic
 * seen for the first time, the one that registers names. */
void hf_view_pack(hf_view *v, const hf_records *batch, hf_buf *out);
/* Store len bytes of records packed by hf_view_pack (one thread at a
 * time), under the lock.  Returns the number of records not understood. */
size_t hf_view_store(hf_view *v, const void *packed, size_t len);
/* Both, for one batch. */
size_t hf_view_apply(hf_view *v, const hf_records *batch);
/* Show windows of every granularity that end at or before until_ms (every
 * worker has emitted them).  INT64_MAX shows everything held. */
void hf_view_publish(hf_view *v, int64_t until_ms);
/* Without a publisher: windows before the newest one seen at a granularity
 * are shown (right with one worker; with several, a window may show a
 * moment before the slower worker's share of it arrives). */
void hf_view_publish_auto(hf_view *v, int on);

void hf_view_counters_get(hf_view *v, hf_view_counters *c);

/* ------------------------------------------------------------------------
 * Queries (any thread).  Each writes one JSON object to out and returns 0,
 * or an HTTP status (400, 404) with a message in err.
 * --------------------------------------------------------------------- */

/* Parse "10.0.0.0/8", "2001:db8::/32" or a single address (a /32 or /128);
 * host bits are cleared.  0, or -1 with a message in err. */
int hf_view_block_parse(const char *s, hf_view_block *b, char *err, size_t errlen);
/* The index of a granularity given as "10", "10s", "1m"; -1 with a message. */
int hf_view_gran(hf_view *v, const char *s, char *err, size_t errlen);
/* The index of a statistic by name; -1 with a message naming the known ones. */
int hf_view_stat(hf_view *v, const char *name, char *err, size_t errlen);
/* The granularities (ms, ascending) into gran_ms; returns how many. */
int hf_view_grans(hf_view *v, int64_t gran_ms[HF_VIEW_MAX_GRANS]);
/* The number of hosts in the latest shown window of granularity g. */
size_t hf_view_hosts_in(hf_view *v, int g);
/* The latest shown window of granularity g, or INT64_MIN. */
int64_t hf_view_latest(hf_view *v, int g);

/* Every sub-block of blk at the next zoom level (bits more bits, at most 8,
 * down to single hosts): its aggregate of statistic stat over the hosts it
 * holds in window `start` (INT64_MIN: the latest shown), the number of those
 * hosts and of those with an open alert; min and max over the cells. */
int hf_view_heatmap(hf_view *v, const hf_view_block *blk, int bits, int g, int64_t start,
                    int stat, int agg, hf_buf *out, char *err, size_t errlen);
/* The n hosts (at most HF_VIEW_MAX_TOP) of blk with the highest value of
 * stat in window start (INT64_MIN: the latest shown) of granularity g. */
int hf_view_top(hf_view *v, const hf_view_block *blk, int g, int64_t start, int stat,
                int n, hf_buf *out, char *err, size_t errlen);
/* A host's shown windows at granularity g (-1: every one), one array per
 * statistic (null where it had none), its profile and its open alerts. */
int hf_view_host(hf_view *v, const uint8_t addr[16], int g, hf_buf *out,
                 char *err, size_t errlen);
/* The alerts held (open ones only unless all), newest first; of one host
 * when addr is not NULL. */
int hf_view_alerts(hf_view *v, const uint8_t *addr, int all, hf_buf *out);
/* One row of a terminal summary: a host and some of its statistics. */
#define HF_VIEW_ROW_COLS 8
typedef struct hf_view_row {
    char    ip[46];
    double  v[HF_VIEW_ROW_COLS];   /* NaN: none */
    int     alert;
} hf_view_row;

/* The n busiest hosts by statistic stat (-1: none known yet: returns 0) in
 * the latest shown window of granularity g, best first, each with the
 * values of cols (ncols <= HF_VIEW_ROW_COLS; -1: NaN).  Returns how many,
 * the window's start in *start and the hosts in it in *hosts. */
int hf_view_rows(hf_view *v, int g, int stat, const int *cols, int ncols, int n,
                 hf_view_row *rows, int64_t *start, size_t *hosts);
/* The open alerts, newest first, as "IP rule observed/expected" lines
 * (at most n, each at most len bytes).  Returns how many. */
int hf_view_alert_lines(hf_view *v, int n, char (*lines)[160]);
/* Granularities with their latest shown window, statistics, hosts. */
int hf_view_status(hf_view *v, hf_buf *out);

#endif
