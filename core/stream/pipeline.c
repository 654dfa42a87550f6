/* pipeline.c -- decode, filter, replay, late, watermark and shard (see
 * pipeline.h).
 *
 * Everything here runs in the reading thread, in input order.  The decoding
 * itself may run elsewhere: with decoder threads (decoders.h) whole chunks
 * of lines are decoded and filtered on them and come back in order; each
 * line then takes the same path as a record fed one at a time (take_line).
 * The shards (the engine's workers) receive full batches; when the
 * watermark closes base windows, every shard gets its batch at once with
 * the new boundary, so windows close in every worker at the same point of
 * the input. */
#include "stream/pipeline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/addr.h"
#include "base/alloc.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "base/tz.h"
#include "stream/marks.h"
#include "stream/prefix.h"
#include "stream/wire.h"

#define PARTIAL_BYTES  (4 << 20)  /* a batch of partial windows is handed over at this */
#define FUTURE_CONFIRM 32     /* flows of its partition that decide about a flow held aside */
#define FUTURE_HELD    1024   /* flows held aside at most (the oldest is decided first) */
#define LOG_FUTURE_MS  (24.0 * 3600.0 * 1000.0)  /* a log event this far past the clock is refused */

/* A flow far ahead of its partition's newest (see "Flows from the future"). */
typedef struct held {
    int      part;
    int64_t  offset;
    hf_flow  flow;
    uint32_t behind;          /* flows of its partition since that stayed behind */
    uint32_t followers;       /* flows of its partition since within the slack of it */
    double   ahead_ms;        /* how far ahead of its partition's newest it came */
    char     where[128];      /* file:line or topic[partition]@offset, for the log */
    char     snip[72];
} held;

/* The sources of the flows no network monitors, while none is monitored
 * (a run whose networks miss the site says which prefixes it saw): IPv4
 * by /16, IPv6 by /32, the first UNMON_SAMPLE such records (decoded again:
 * the decoders keep no filtered flow), at most UNMON_MAX prefixes. */
#define UNMON_SAMPLE 10000
#define UNMON_MAX    64
typedef struct {
    uint8_t  addr[16];
    uint8_t  family;
    uint64_t n;
} unmon_prefix;


struct hf_pipeline {
    const hf_config *cfg;
    hf_shards        shards;
    hf_prefixes     *nets;
    hf_offsets      *offsets;
    hf_batch       **pending;      /* per shard: the batch being filled */
    int64_t          base_ms;      /* the finest window: gcd of the granularities */
    int64_t          closed_until; /* base windows ending at or before this are closed */
    double           slack_ms;     /* future_slack */
    int              live;         /* flows ending after the clock + slack are refused */
    double           clock_ms;     /* the wall clock, refreshed every 1024 records */
    uint32_t         clock_n;
    double           log_clock_ms; /* the wall clock for log events, refreshed every 1024 */
    uint32_t         log_clock_n;
    held            *held;         /* flows held aside, in input order */
    int              nheld;
    int              finished;
    hf_stream_stats  stats;
    const char      *input_name;   /* the file being read, and its line, for warnings */
    uint64_t         lineno;
    hf_ratelimit     rl_reject, rl_late;
    int              role;         /* enum hf_role: the relay keeps no windows */
    hf_marks        *marks;        /* the merge role's watermark, else NULL */
    double           waited_since; /* ... unmoved since (ms), and said so at */
    double           waited_said;
    hf_wire_mark    *markbuf;      /* ... and room to read a progress message */
    int              mark_kind;    /* the progress this role reads: HF_WIRE_WINDOWS (merge), _FLOWS */
    hf_decoders     *dec;          /* decoder threads, or NULL */
    hf_decode_ctx    dctx;         /* the input's zone and allowed clock skew */
    hf_tz           *tz;
    int              decode_threads;  /* how many to start when an input reads chunks */
    int              read_state;      /* hf_pipeline_read_state */
    unmon_prefix     unmon[UNMON_MAX];
    int              nunmon;
    uint32_t         unmon_seen;
    hf_log_fields    logf;         /* the log events' field names (logs.h) */
    const char      *logs_name;    /* the log input, for warnings */
    hf_ratelimit     rl_logs;
    int            (*pull)(void *ctx, double until_ms);   /* the log input's reader (logs_source) */
    void            *pull_ctx;
    double           logs_end;     /* the newest event read; +inf once the log input has ended */
    int              logs_idle;    /* it had nothing to give: no pull until it is read again */
    int              pulling;
};

/* One more, by the only thread that writes the counter. */
static inline void bump(_Atomic uint64_t *c)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* A count taken back: a decoded flow that turns out rejected (future_time). */
static inline void unbump(_Atomic uint64_t *c)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) - 1,
                          memory_order_relaxed);
}

static double now_ms(void)
{
    return hf_now_ns() / 1e6;
}

const char *hf_pipeline_reason_name(int r)
{
    if (r == HF_REASON_TOO_LONG) return "too_long";
    if (r == HF_REASON_FUTURE) return "future_time";
    if (r == HF_REASON_WRONG_KIND) return "wrong_kind";
    if (r == HF_REASON_BAD_WINDOW) return "bad_window";
    return hf_decode_reason_name(r);
}

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* ------------------------------------------------------------------------
 * Set-up
 * --------------------------------------------------------------------- */

/* The decoder's context from the configuration: the zone of times without
 * an offset (input_tz, loaded once) and the allowed clock skew. */
static int decode_setup(hf_pipeline *p, char *err, size_t errlen)
{
    const char *zone = p->cfg->input_tz ? p->cfg->input_tz : "UTC";
    p->tz = hf_tz_load(zone, err, errlen);
    if (!p->tz && err[0]) return -1;
    p->dctx.tz = p->tz;
    p->dctx.max_skew_ms = p->cfg->max_skew_ms;
    return 0;
}

hf_pipeline *hf_pipeline_new(const hf_config *cfg, const hf_shards *shards, int decode_threads,
                             char *err, size_t errlen)
{
    hf_pipeline *p = hf_calloc(1, sizeof *p);
    p->cfg = cfg;
    p->shards = *shards;
    p->nets = hf_prefixes_new();
    for (int i = 0; i < cfg->networks.n; i++)
        if (hf_prefixes_add(p->nets, cfg->networks.v[i], err, errlen) < 0) goto fail;
    p->base_ms = 0;
    for (int i = 0; i < cfg->nwindows; i++) p->base_ms = gcd64(p->base_ms, cfg->windows_ms[i]);
    p->offsets = hf_offsets_new(cfg->windows_ms, cfg->nwindows);
    p->role = cfg->role;
    if (p->role == HF_ROLE_MERGE) p->marks = hf_marks_new();   /* others: at their first progress */
    p->mark_kind = p->role == HF_ROLE_MERGE ? HF_WIRE_WINDOWS : HF_WIRE_FLOWS;
    p->closed_until = INT64_MIN;
    atomic_store_explicit(&p->stats.closed_until, INT64_MIN, memory_order_relaxed);
    p->slack_ms = (double)cfg->future_slack_ms;
    p->held = hf_calloc(FUTURE_HELD, sizeof(held));
    p->rl_reject = (hf_ratelimit)HF_RATELIMIT_INIT(5);
    p->rl_late = (hf_ratelimit)HF_RATELIMIT_INIT(2);
    p->rl_logs = (hf_ratelimit)HF_RATELIMIT_INIT(5);
    p->logs_name = "logs";
    p->input_name = "input";
    p->pending = hf_calloc((size_t)p->shards.n, sizeof(hf_batch *));
    for (int i = 0; i < p->shards.n; i++) p->pending[i] = p->shards.batch(p->shards.ctx, i);
    p->decode_threads = decode_threads;
    if (decode_setup(p, err, errlen) < 0) goto fail;
    return p;
fail:
    p->finished = 1;
    hf_pipeline_free(p);
    return NULL;
}

void hf_pipeline_live(hf_pipeline *p)
{
    p->live = 1;
}

hf_offsets *hf_pipeline_offsets(hf_pipeline *p)
{
    return p->offsets;
}

void hf_pipeline_name(hf_pipeline *p, const char *name)
{
    p->input_name = name;
}

const hf_stream_stats *hf_pipeline_stats(const hf_pipeline *p)
{
    return &p->stats;
}

/* ------------------------------------------------------------------------
 * The record path
 * --------------------------------------------------------------------- */

static void hand_over(hf_pipeline *p, int i, double boundary_ns)
{
    hf_batch *b = p->pending[i];
    b->boundary = p->closed_until;
    b->boundary_ns = boundary_ns;
    p->shards.push(p->shards.ctx, i, b);
    p->pending[i] = p->shards.batch(p->shards.ctx, i);
}

/* Where a record came from, for a warning (formatted only when one is
 * written): "file:line" or "topic[partition]@offset". */
static const char *origin(const hf_pipeline *p, int part, int64_t offset, char *out, size_t n)
{
    int32_t id;
    const char *topic = hf_offsets_topic(p->offsets, part, &id);
    if (offset < 0) snprintf(out, n, "%s:%llu", p->input_name, (unsigned long long)p->lineno);
    else snprintf(out, n, "%s[%d]@%lld", topic, id, (long long)offset);
    return out;
}

static int64_t floor_to(int64_t t, int64_t g)
{
    int64_t q = t / g;
    if (t % g < 0) q--;
    return q * g;
}

/* The watermark from progress messages (the merge role, or one reading a
 * relay's flows): the lowest mark over the partitions it reads (marks.h);
 * INT64_MIN while one has none, or none is assigned. */
static int64_t marks_watermark(const hf_pipeline *p)
{
    int64_t low = INT64_MAX;
    int any = 0;
    for (int i = 1; i < hf_offsets_count(p->offsets); i++) {
        if (!hf_offsets_assigned(p->offsets, i)) continue;
        int64_t t = hf_marks_through(p->marks, i);
        if (t < low) low = t;
        any = 1;
    }
    return any ? low : INT64_MIN;
}

/* Move the watermark; when base windows close, tell every shard.  Before
 * it passes the log input's newest event, that input is read on to there
 * (a file to that time; a stream as far as it has lines now): the events
 * are in before their windows close, whatever the read steps were. */
static void advance(hf_pipeline *p)
{
    if (p->role == HF_ROLE_RELAY) return;         /* no windows: no watermark */
    double src;
    if (p->marks) {          /* the producers upstream say how far their inputs are passed on */
        int64_t w = marks_watermark(p);
        if (w == INT64_MIN) return;
        src = w == HF_WIRE_END ? INFINITY : (double)w;
    } else {
        src = hf_offsets_watermark(p->offsets, now_ms());
        if (src == -INFINITY) return;
    }
    if (p->pull && !p->pulling && !p->logs_idle && p->logs_end < src) {
        p->pulling = 1;
        p->pull(p->pull_ctx, src);
        p->pulling = 0;
    }
    int64_t boundary;
    if (src == INFINITY) boundary = INT64_MAX;                                  /* every input ended */
    else if (p->marks && p->mark_kind == HF_WIRE_WINDOWS)   /* the partials waited: no lateness */
        boundary = floor_to((int64_t)src, p->base_ms);
    else boundary = floor_to((int64_t)src - p->cfg->lateness_ms, p->base_ms);
    if (boundary > p->closed_until) {
        p->closed_until = boundary;
        atomic_store_explicit(&p->stats.closed_until, boundary, memory_order_relaxed);
        double now = hf_now_ns();
        for (int k = 0; k < p->shards.n; k++) hand_over(p, k, now);
    }
}

/* The merge role, every 30 s while its watermark has not moved though
 * partial windows wait: which input partition of the partial stage holds
 * it back, as the intermediate partition that lags most shows it. */
static void say_waiting(hf_pipeline *p)
{
    int part = -1;
    int64_t low = INT64_MAX;
    for (int i = 1; i < hf_offsets_count(p->offsets); i++) {
        if (!hf_offsets_assigned(p->offsets, i)) continue;
        int64_t t = hf_marks_through(p->marks, i);
        if (t < low) {
            low = t;
            part = i;
        }
    }
    if (part < 0) return;
    const char *topic;
    int32_t from, id;
    int64_t through;
    char when[32] = "nothing yet";
    hf_marks_slowest(p->marks, part, &topic, &from, &through);
    const char *here = hf_offsets_topic(p->offsets, part, &id);
    if (through > INT64_MIN && through < HF_WIRE_END) hf_time_format_iso(through, when);
    if (!topic)
        hf_log(HF_LOG_INFO, "merge: waiting for the partial instances' progress (none on %s[%d] yet)",
               here, id);
    else
        hf_log(HF_LOG_INFO, "merge: windows wait for %s[%d] of the partial stage (%s[%d] has it "
               "through %s); is a partial instance reading it?", topic, from, here, id, when);
}

static void held_settle(hf_pipeline *p, int part);

void hf_pipeline_tick(hf_pipeline *p)
{
    for (int k = 0; k < p->nheld; k++)             /* a partition at its end: nothing will decide */
        if (hf_offsets_at_end(p->offsets, p->held[k].part)) {
            held_settle(p, p->held[k].part);
            k = -1;
        }
    if (hf_offsets_count(p->offsets) <= 1) return;
    int64_t before = p->closed_until;
    advance(p);
    if (!p->marks) return;
    double now = now_ms();
    if (p->closed_until != before || p->waited_since == 0) p->waited_since = now;
    if (now - p->waited_since >= 30000 && now - p->waited_said >= 30000 && p->stats.accepted > 0) {
        p->waited_said = now;
        say_waiting(p);
    }
}


/* ", no proto": what the decoder says of a rejected record, for its warning
 * ("" when none would be written now: explaining decodes it again). */
static const char *explain(hf_pipeline *p, const char *rec, size_t len, char *buf, size_t n)
{
    char why[140];
    buf[0] = '\0';
    if (hf_log_would(&p->rl_reject, HF_LOG_WARN) &&
        hf_decode_explain(&p->dctx, rec, len, why, sizeof why)[0])
        snprintf(buf, n, ", %s", why);
    return buf;
}

/* A record whose flow neither network monitors: its source's prefix is
 * counted while no flow has been monitored (the first UNMON_SAMPLE).  A
 * biflow's reverse direction counts the forward one's source: the same two
 * ends, neither monitored. */
static void note_unmonitored(hf_pipeline *p, const char *rec, size_t len)
{
    if (p->stats.accepted || p->stats.to_destination || p->unmon_seen >= UNMON_SAMPLE) return;
    p->unmon_seen++;
    hf_flow f[2];
    unsigned notes;
    if (hf_decode_record(&p->dctx, rec, len, f, &notes) != HF_DECODE_OK) return;
    uint8_t key[16] = {0};
    if (f[0].family == 4) {
        memcpy(key, f[0].src, 14);                 /* ::ffff:a.b.0.0 */
    } else {
        memcpy(key, f[0].src, 4);
    }
    for (int i = 0; i < p->nunmon; i++)
        if (p->unmon[i].family == f[0].family && !memcmp(p->unmon[i].addr, key, 16)) {
            p->unmon[i].n++;
            return;
        }
    if (p->nunmon == UNMON_MAX) return;
    unmon_prefix *u = &p->unmon[p->nunmon++];
    memcpy(u->addr, key, 16);
    u->family = f[0].family;
    u->n = 1;
}

static int unmon_cmp(const void *a, const void *b)
{
    const unmon_prefix *x = a, *y = b;
    if (x->n != y->n) return x->n < y->n ? 1 : -1;
    return memcmp(x->addr, y->addr, 16);
}

int hf_pipeline_unmonitored(hf_pipeline *p, int top, char *out, size_t n)
{
    out[0] = '\0';
    if (p->stats.accepted || p->stats.to_destination || !p->nunmon) return 0;
    qsort(p->unmon, (size_t)p->nunmon, sizeof *p->unmon, unmon_cmp);
    size_t len = 0;
    int k = 0;
    for (; k < p->nunmon && k < top; k++) {
        char a[64];
        hf_addr_format(p->unmon[k].addr, p->unmon[k].family, a);
        int w = snprintf(out + len, n - len, "%s%s/%d (%llu)", k ? ", " : "", a,
                         p->unmon[k].family == 4 ? 16 : 32, (unsigned long long)p->unmon[k].n);
        if (w < 0 || (size_t)w >= n - len) break;
        len += (size_t)w;
    }
    return k;
}

/* Give a flow to its source's shard, and to its destination's when that is
 * monitored (one copy when both are one shard's), and move the watermark
 * (only the flows of monitored sources move it). */
static void accept(hf_pipeline *p, int part, int64_t offset, const hf_flow *fp)
{
    double end_ms = fp->end_ms;
    int src_here = !(fp->mark & HF_FLOW_NO_SRC);   /* else: for its destination only */
    if (src_here) {
        bump(&p->stats.accepted);
    } else {
        bump(&p->stats.filtered);
        bump(&p->stats.to_destination);
    }
    hf_offsets_hold(p->offsets, part, offset, end_ms);
    /* the source's shard, and the destination's when it is monitored (one
     * copy when both are one shard's) */
    int n = p->shards.n;
    int i = !src_here ? -1 : hf_hash_shard(fp->src, n);
    int j = !(fp->mark & HF_FLOW_DST) ? -1 : hf_hash_shard(fp->dst, n);
    if (i >= 0) {
        hf_batch *b = p->pending[i];
        hf_flow *f = &b->flows[b->n++];
        *f = *fp;
        f->mark = j == i ? HF_FLOW_DST : 0;
    }
    if (j >= 0 && j != i) {
        hf_batch *b = p->pending[j];
        hf_flow *f = &b->flows[b->n++];
        *f = *fp;
        f->mark = (uint8_t)(HF_FLOW_DST | HF_FLOW_NO_SRC | (fp->mark & HF_FLOW_SRC_OUT));
    }
    /* only the flows of monitored sources move the watermark: the flows for a
     * destination alone make no flow of a source late that was not before */
    if (src_here && hf_offsets_advance(p->offsets, part, end_ms,
                                       hf_offsets_waking(p->offsets, part) ? now_ms() : 0)) {
        int64_t before = p->closed_until;
        advance(p);
        if (p->closed_until != before) return;     /* every batch was handed over */
    }
    if (i >= 0 && p->pending[i]->n == p->cfg->batch) hand_over(p, i, 0);
    if (j >= 0 && j != i && p->pending[j]->n == p->cfg->batch) hand_over(p, j, 0);
}

/* ------------------------------------------------------------------------
 * Flows from the future
 *
 * One flow far ahead of the others (a clock gone wrong at one exporter)
 * must not move the watermark: every flow after it would be late.  A flow
 * that ends more than future_slack after the newest flow of its partition
 * is held aside, out of the windows.  The flows of its partition that come
 * next decide: when FUTURE_CONFIRM of them stay behind it, it was an
 * outlier -- counted as rejected (future_time) and named in the log; when
 * FUTURE_CONFIRM of them come within the slack of it, the stream has
 * jumped ahead (a gap in the data) and it is taken, with every held flow
 * that is no longer ahead.  At the end of the input, a stop, or when its
 * partition is at its end, a held flow is taken if more flows followed it
 * than stayed behind, else rejected.  Held flows keep their Kafka offsets
 * from being committed (hf_offsets_pending).  With live input (Kafka) a
 * flow ending more than future_slack after the wall clock is rejected at
 * once.  The first flow of a partition is its reference.
 * --------------------------------------------------------------------- */

/* The lowest offset held aside for part, for the commit points. */
static void held_pending(hf_pipeline *p, int part)
{
    int64_t lo = -1;
    for (int k = 0; k < p->nheld; k++)
        if (p->held[k].part == part && p->held[k].offset >= 0 && (lo < 0 || p->held[k].offset < lo))
            lo = p->held[k].offset;
    hf_offsets_pending(p->offsets, part, lo);
}

static void held_remove(hf_pipeline *p, int k)
{
    memmove(&p->held[k], &p->held[k + 1], sizeof(held) * (size_t)(p->nheld - k - 1));
    p->nheld--;
    unbump(&p->stats.held);
}

/* Held flow k was an outlier: counted and named. */
static void held_reject(hf_pipeline *p, int k)
{
    held *h = &p->held[k];
    int part = h->part;
    unbump(&p->stats.decoded);                  /* rejected, not decoded */
    bump(&p->stats.rejected[HF_REASON_FUTURE]);
    hf_log_limited(&p->rl_reject, HF_LOG_WARN, "%s: rejected (future_time): the flow ends %.1f h "
                   "after the newest before it (future_slack %.0f s), and the %u flows after it "
                   "stayed behind (%u followed): %s", h->where, h->ahead_ms / 3.6e6,
                   p->slack_ms / 1000.0, h->behind, h->followers, h->snip);
    held_remove(p, k);
    held_pending(p, part);
}

/* Take held flow k (its stream has come there), then, in order, every
 * held flow of its partition that is no longer ahead. */
static void held_take(hf_pipeline *p, int k)
{
    int part = p->held[k].part;
    held h = p->held[k];
    held_remove(p, k);
    accept(p, part, h.offset, &h.flow);
    for (int again = 1; again;) {
        again = 0;
        double newest = hf_offsets_newest(p->offsets, part);
        for (int j = 0; j < p->nheld; j++)
            if (p->held[j].part == part && p->held[j].flow.end_ms <= newest + p->slack_ms) {
                h = p->held[j];
                held_remove(p, j);
                accept(p, part, h.offset, &h.flow);
                again = 1;
                break;
            }
    }
    held_pending(p, part);
}

/* A flow of part ending at end_ms came (ahead: beyond the slack): the held
 * flows of part count it, and those it decides are taken or rejected. */
static void held_observe(hf_pipeline *p, int part, double end_ms, int ahead)
{
    for (int k = 0; k < p->nheld; k++) {
        held *h = &p->held[k];
        if (h->part != part) continue;
        if (fabs(end_ms - h->flow.end_ms) <= p->slack_ms) h->followers++;
        else if (!ahead) h->behind++;
    }
    for (int k = 0; k < p->nheld;) {
        held *h = &p->held[k];
        if (h->part == part && h->followers >= FUTURE_CONFIRM) {
            held_take(p, k);
            k = 0;
        } else if (h->part == part && h->behind >= FUTURE_CONFIRM) {
            held_reject(p, k);
        } else {
            k++;
        }
    }
}

/* Decide held flow k now: taken when more flows followed it than stayed
 * behind. */
static void held_settle_one(hf_pipeline *p, int k)
{
    if (p->held[k].followers > p->held[k].behind) held_take(p, k);
    else held_reject(p, k);
}

/* Decide every held flow of part (-1: of every partition) now. */
static void held_settle(hf_pipeline *p, int part)
{
    for (int k = 0; k < p->nheld;) {
        if (part < 0 || p->held[k].part == part) {
            held_settle_one(p, k);
            k = 0;
        } else {
            k++;
        }
    }
}

static void hold_aside(hf_pipeline *p, int part, int64_t offset, const hf_flow *fp, double ahead_ms,
                       const char *rec, size_t len)
{
    if (p->nheld == FUTURE_HELD) held_settle_one(p, 0);
    held *h = &p->held[p->nheld++];
    bump(&p->stats.held);
    memset(h, 0, sizeof *h);
    h->part = part;
    h->offset = offset;
    h->flow = *fp;
    h->ahead_ms = ahead_ms;
    origin(p, part, offset, h->where, sizeof h->where);
    hf_log_snippet(rec, len, h->snip, sizeof h->snip);
    held_pending(p, part);
}

/* Everything after a line's decoding (st: enum hf_line_status, *fp the flow
 * when it is one), in input order: count it, warn, drop it as replayed or
 * late, or give it to its host's shard and move the watermark.  Returns 0,
 * or the reject reason.  The caller has polled for a reload (per record,
 * or per chunk: the switch point is the base window after the last flow
 * taken, wherever that is). */
static int take_line(hf_pipeline *p, int part, int64_t offset, int st, const hf_flow *fp,
                     const char *rec, size_t len)
{
    char snip[72], where[512];
    bump(&p->stats.records);
    switch (st) {
    case HF_LINE_FLOW:
        bump(&p->stats.decoded);
        break;
    case HF_LINE_FILTERED:
        bump(&p->stats.decoded);
        bump(&p->stats.filtered);
        note_unmonitored(p, rec, len);
        hf_offsets_read(p->offsets, part, offset, -1);
        return 0;
    case HF_LINE_FUTURE:                        /* rejected, not decoded */
        bump(&p->stats.rejected[HF_REASON_FUTURE]);
        hf_offsets_read(p->offsets, part, offset, -1);
        hf_log_limited(&p->rl_reject, HF_LOG_WARN, "%s: rejected (future_time): the flow "
                       "ends too far after the clock: %s", origin(p, part, offset, where, sizeof where),
                       hf_log_snippet(rec, len, snip, sizeof snip));
        return HF_REASON_FUTURE;
    case HF_LINE_TOO_LONG:
        bump(&p->stats.rejected[HF_REASON_TOO_LONG]);
        hf_offsets_read(p->offsets, part, offset, -1);
        hf_log_limited(&p->rl_reject, HF_LOG_WARN, "%s: rejected (too_long): longer than %zu bytes",
                       origin(p, part, offset, where, sizeof where), p->cfg->max_line);
        return HF_REASON_TOO_LONG;
    default: {
        char why[160];
        bump(&p->stats.rejected[st]);
        hf_offsets_read(p->offsets, part, offset, -1);
        hf_log_limited(&p->rl_reject, HF_LOG_WARN, "%s: rejected (%s)%s: %s",
                       origin(p, part, offset, where, sizeof where), hf_decode_reason_name(st),
                       explain(p, rec, len, why, sizeof why), hf_log_snippet(rec, len, snip, sizeof snip));
        return st;
    }
    }
    double end_ms = fp->end_ms;
    int src_here = !(fp->mark & HF_FLOW_NO_SRC);   /* else: for its destination only */
    if (hf_offsets_read(p->offsets, part, offset, end_ms)) {   /* in records already */
        bump(src_here ? &p->stats.replayed : &p->stats.filtered);
        return 0;
    }
    if (p->role == HF_ROLE_RELAY) {          /* every flow passes: lateness is decided downstream */
        hf_batch *b = p->pending[0];         /* (with its mark: the relay writes a copy for each host) */
        if (src_here) {
            bump(&p->stats.accepted);
            hf_offsets_advance(p->offsets, part, end_ms, now_ms());   /* for its progress messages */
        } else {
            bump(&p->stats.filtered);
            bump(&p->stats.to_destination);
        }
        b->flows[b->n++] = *fp;
        if (b->n == p->cfg->batch) hand_over(p, 0, 0);
        return 0;
    }
    if ((int64_t)end_ms < p->closed_until) {
        if (!src_here) {                        /* its source is not monitored: filtered */
            bump(&p->stats.filtered);
            return 0;
        }
        bump(&p->stats.late);
        hf_log_limited(&p->rl_late, HF_LOG_WARN, "%s: late flow: it ends %.0f ms before "
                       "the windows still open", origin(p, part, offset, where, sizeof where),
                       (double)p->closed_until - end_ms);
        return 0;
    }
    if (p->live) {                  /* ahead of the clock: no stream can be there yet */
        if ((p->clock_n++ & 1023) == 0) p->clock_ms = (double)time(NULL) * 1000.0;
        if (end_ms > p->clock_ms + p->slack_ms) {
            unbump(&p->stats.decoded);          /* rejected, not decoded */
            bump(&p->stats.rejected[HF_REASON_FUTURE]);
            hf_log_limited(&p->rl_reject, HF_LOG_WARN, "%s: rejected (future_time): the flow ends "
                           "%.1f h after the clock (future_slack %.0f s): %s",
                           origin(p, part, offset, where, sizeof where),
                           (end_ms - p->clock_ms) / 3.6e6, p->slack_ms / 1000.0,
                           hf_log_snippet(rec, len, snip, sizeof snip));
            return HF_REASON_FUTURE;
        }
    }
    if (src_here) {                 /* a flow for its destination alone moves no watermark */
        double newest = hf_offsets_newest(p->offsets, part);
        int ahead = newest > -INFINITY && end_ms > newest + p->slack_ms;
        if (p->nheld) {             /* it may decide held flows, and move the newest */
            held_observe(p, part, end_ms, ahead);
            newest = hf_offsets_newest(p->offsets, part);
            ahead = newest > -INFINITY && end_ms > newest + p->slack_ms;
        }
        if (ahead) {
            hold_aside(p, part, offset, fp, end_ms - newest, rec, len);
            return 0;
        }
    }
    accept(p, part, offset, fp);
    return 0;
}

/* Add a partial window to the batch of its host's shard. */
static void put_partial(hf_pipeline *p, int i, const char *rec, size_t len)
{
    hf_batch *b = p->pending[i];
    size_t need = b->partials_len + 4 + len;
    if (need > b->partials_cap) {
        size_t cap = b->partials_cap ? b->partials_cap : 1 << 16;
        while (cap < need) cap *= 2;
        b->partials = hf_realloc(b->partials, cap);
        b->partials_cap = cap;
    }
    uint32_t n = (uint32_t)len;
    memcpy(b->partials + b->partials_len, &n, 4);
    memcpy(b->partials + b->partials_len + 4, rec, len);
    b->partials_len = need;
    b->npartials++;
    if (b->npartials == p->cfg->batch || b->partials_len >= PARTIAL_BYTES) hand_over(p, i, 0);
}

/* A reject of the merge role: counted, said (rate-limited), the position moves. */
static int reject(hf_pipeline *p, int part, int64_t offset, int reason, const char *why)
{
    char where[512];
    bump(&p->stats.rejected[reason]);
    hf_offsets_read(p->offsets, part, offset, -1);
    hf_log_limited(&p->rl_reject, HF_LOG_WARN, "%s: rejected (%s): %s",
                   origin(p, part, offset, where, sizeof where), hf_pipeline_reason_name(reason), why);
    return reason;
}

/* A progress message (the merge role's, or a relay's to the instances
 * that read its flows): the marks, and with them the watermark, move; the
 * partition's commit point stays at its sources' newest marks. */
static int take_progress(hf_pipeline *p, int part, int64_t offset, const char *rec, size_t len)
{
    bump(&p->stats.records);
    if (!p->markbuf) p->markbuf = hf_malloc(sizeof(hf_wire_mark) * HF_MAX_PARTITIONS);
    hf_wire_progress pr;
    if (hf_wire_progress_parse(rec, len, &pr, p->markbuf, HF_MAX_PARTITIONS) != 0)
        return reject(p, part, offset, HF_DECODE_MALFORMED, "a progress message that does not read");
    if (pr.kind != p->mark_kind)
        return reject(p, part, offset, HF_REASON_WRONG_KIND, pr.kind == HF_WIRE_WINDOWS
                      ? "the progress of partial windows, which only a merge instance reads"
                      : "the progress of a relay's flows, which a merge instance does not read");
    bump(&p->stats.progress);             /* not a flow: not decoded (the sums, pipeline.h) */
    if (!p->marks) p->marks = hf_marks_new();      /* from now on the watermark comes from them */
    hf_offsets_read(p->offsets, part, offset, -1);
    hf_marks_read(p->marks, part, offset, &pr);
    hf_offsets_pin(p->offsets, part, hf_marks_pin(p->marks, part));
    advance(p);
    return 0;
}

/* A message of the merge role: a partial window (late, read again, or
 * given to its host's shard) or progress (the watermark moves). */
static int take_message(hf_pipeline *p, int part, int64_t offset, const char *rec, size_t len)
{
    char where[512];
    int kind = hf_wire_kind(rec, len);
    if (kind == HF_WIRE_PROGRESS) return take_progress(p, part, offset, rec, len);
    bump(&p->stats.records);
    if (kind != HF_WIRE_PARTIAL)
        return reject(p, part, offset, HF_REASON_WRONG_KIND, "the merge role reads partial windows "
                      "(a partial instance's output), not flows");
    hf_wire_partial hp;
    if (hf_wire_partial_parse(rec, len, &hp) != 0)
        return reject(p, part, offset, HF_DECODE_MALFORMED, "a partial window that does not read");
    if (hp.g_ms != p->base_ms || hp.start_ms % p->base_ms != 0)
        return reject(p, part, offset, HF_REASON_BAD_WINDOW, "its window is not one of this "
                      "instance's finest granularity (the windows of the partial and merge "
                      "instances must agree)");
    bump(&p->stats.decoded);
    if (hf_offsets_read(p->offsets, part, offset, (double)hp.start_ms)) {   /* emitted already */
        bump(&p->stats.replayed);
        return 0;
    }
    if (hp.start_ms + p->base_ms <= p->closed_until) {
        bump(&p->stats.late);
        hf_log_limited(&p->rl_late, HF_LOG_WARN, "%s: late partial window: it ends %lld ms "
                       "before the windows still open", origin(p, part, offset, where, sizeof where),
                       (long long)(p->closed_until - hp.start_ms - p->base_ms));
        return 0;
    }
    bump(&p->stats.accepted);
    hf_offsets_hold(p->offsets, part, offset, (double)hp.start_ms);
    int i = hf_hash_shard(hp.addr, p->shards.n);
    put_partial(p, i, rec, len);
    return 0;
}

const struct hf_marks *hf_pipeline_marks(const hf_pipeline *p)
{
    return p->marks;
}

int hf_pipeline_complete(const hf_pipeline *p)
{
    return p->marks && marks_watermark(p) == HF_WIRE_END;
}

int64_t hf_pipeline_closed_until(const hf_pipeline *p)
{
    return atomic_load_explicit(&((hf_pipeline *)p)->stats.closed_until, memory_order_relaxed);
}

/* A record's outcome (st: hf_line_classify's) in input order: an options
 * or template record is skipped (counted, not rejected); a clamped start is
 * counted; a biflow record's two flows are taken one after the other, each
 * as a record of its own.  flows: the kept ones.  Returns take_line's for
 * the first. */
static int take_record(hf_pipeline *p, int part, int64_t offset, unsigned st, const hf_flow *flows,
                       const char *rec, size_t len)
{
    int first = HF_LINE_FIRST(st);
    if (first == HF_DECODE_OPTIONS || first == HF_DECODE_TEMPLATE) {
        bump(&p->stats.records);
        bump(&p->stats.skipped);
        hf_offsets_read(p->offsets, part, offset, -1);
        return 0;
    }
    if (st & HF_LINE_CLAMPED) bump(&p->stats.clamped);
    int rc = take_line(p, part, offset, first, first == HF_LINE_FLOW ? flows++ : NULL, rec, len);
    if (hf_line_has_second(st)) {
        unsigned s2 = hf_line_second(st);
        if (s2 & HF_LINE_CLAMPED) bump(&p->stats.clamped);
        take_line(p, part, offset, HF_LINE_FIRST(s2), HF_LINE_FIRST(s2) == HF_LINE_FLOW ? flows : NULL,
                  rec, len);
    }
    return rc;
}

/* When records are read (the first, and the last to 1,024 records): a
 * rate over the time records came, whatever came before (start-up, a
 * consumer group forming).  A clock read per 1,024 records. */
static inline void note_time(hf_pipeline *p, int always)
{
    uint64_t n = atomic_load_explicit(&p->stats.records, memory_order_relaxed);
    if (!always && (n & 1023) != 0) return;
    double t = hf_now_ns();
    if (atomic_load_explicit(&p->stats.first_ns, memory_order_relaxed) == 0)
        atomic_store_explicit(&p->stats.first_ns, t, memory_order_relaxed);
    atomic_store_explicit(&p->stats.last_ns, t, memory_order_relaxed);
}

static void poll_engine(hf_pipeline *p)
{
    if (p->shards.poll) p->shards.poll(p->shards.ctx, hf_offsets_max_end(p->offsets));
}

/* A progress message or a partial window outside the merge role: progress
 * is read (a relay's, by the instances behind it), a partial window is
 * refused as of the wrong kind. */
static int take_wire(hf_pipeline *p, int part, int64_t offset, int kind, const char *rec, size_t len)
{
    if (kind == HF_WIRE_PROGRESS && p->role != HF_ROLE_RELAY) return take_progress(p, part, offset, rec, len);
    bump(&p->stats.records);
    hf_wire_partial hp;                 /* garbage may start with the tag: malformed, as any */
    if (kind == HF_WIRE_PARTIAL && hf_wire_partial_parse(rec, len, &hp) != 0)
        return reject(p, part, offset, HF_DECODE_MALFORMED, "neither JSON nor a partial window that reads");
    return reject(p, part, offset, HF_REASON_WRONG_KIND, "a partial window or its progress, "
                  "which only a merge instance reads");
}

int hf_pipeline_feed(hf_pipeline *p, int part, int64_t offset, uint64_t lineno,
                     const char *rec, size_t len, int too_long)
{
    hf_flow f[2];
    poll_engine(p);                         /* a reload to check or commit */
    note_time(p, 0);
    if (p->role == HF_ROLE_MERGE) return take_message(p, part, offset, rec, len);
    int kind = too_long ? HF_WIRE_TEXT : hf_wire_kind(rec, len);
    if (kind == HF_WIRE_PARTIAL || kind == HF_WIRE_PROGRESS) return take_wire(p, part, offset, kind, rec, len);
    p->lineno = lineno;
    unsigned st = too_long ? HF_LINE_TOO_LONG
                           : hf_line_classify(&p->dctx, rec, len, p->nets, INFINITY, f);
    /* a relay's binary flow (one that reads: a line of garbage may start
     * with its tag): the partition mixes the relay's input partitions at
     * its pace, so the flows' ends say nothing of how far each has come --
     * the watermark waits for the relays' progress (marks), from the first
     * such flow on, not only from the first progress */
    if (kind == HF_WIRE_FLOW && (st == HF_LINE_FLOW || st == HF_LINE_FILTERED) && !p->marks &&
        p->role != HF_ROLE_RELAY)
        p->marks = hf_marks_new();
    return take_record(p, part, offset, st, f, rec, len);
}

/* ------------------------------------------------------------------------
 * Log events
 * --------------------------------------------------------------------- */

int hf_pipeline_logs_setup(hf_pipeline *p, char *err, size_t errlen)
{
    return hf_log_fields_init(&p->logf, p->cfg->logs_format, p->cfg->logs_fields.v,
                              p->cfg->logs_fields.n, err, errlen);
}

void hf_pipeline_logs_source(hf_pipeline *p, const char *name, int (*pull)(void *ctx, double until_ms),
                             void *ctx)
{
    p->logs_name = name;
    p->pull = pull;
    p->pull_ctx = ctx;
    p->logs_end = -INFINITY;
}

void hf_pipeline_logs_state(hf_pipeline *p, int state)
{
    if (state == HF_LOGS_ENDED) p->logs_end = INFINITY;
    p->logs_idle = state == HF_LOGS_IDLE;
}

double hf_pipeline_logs_end(const hf_pipeline *p)
{
    return p->logs_end;
}

int hf_pipeline_feed_event(hf_pipeline *p, int part, int64_t offset, uint64_t lineno,
                           const char *rec, size_t len, int too_long)
{
    char snip[72], where[600];
    hf_event ev;
    bump(&p->stats.log_records);
    int rc = too_long ? HF_LOG_TOO_LONG : hf_log_decode(&p->logf, rec, len, &ev);
    if ((p->log_clock_n++ & 1023) == 0) p->log_clock_ms = (double)time(NULL) * 1000.0;
    if (rc == HF_LOG_OK && ev.time_ms > p->log_clock_ms + LOG_FUTURE_MS) rc = HF_LOG_FUTURE;
    if (rc != HF_LOG_OK) {
        bump(&p->stats.log_rejected[rc]);
        if (part >= 0) hf_offsets_read(p->offsets, part, offset, -1);
        if (offset < 0) snprintf(where, sizeof where, "%s:%llu", p->logs_name, (unsigned long long)lineno);
        else origin(p, part, offset, where, sizeof where);
        hf_log_limited(&p->rl_logs, HF_LOG_WARN, "%s: log event rejected (%s): %s", where,
                       hf_log_reason_name(rc), too_long ? "(too long)" : hf_log_snippet(rec, len, snip, sizeof snip));
        return rc;
    }
    if (ev.time_ms > p->logs_end) p->logs_end = ev.time_ms;
    if (!hf_prefixes_match(p->nets, ev.host)) {
        bump(&p->stats.log_filtered);
        if (part >= 0) hf_offsets_read(p->offsets, part, offset, -1);
        return 0;
    }
    if (part >= 0 && hf_offsets_read(p->offsets, part, offset, ev.time_ms)) {
        bump(&p->stats.log_replayed);
        return 0;
    }
    if ((int64_t)ev.time_ms < p->closed_until) {
        bump(&p->stats.log_late);
        return 0;
    }
    bump(&p->stats.log_events);
    if (part >= 0) hf_offsets_hold(p->offsets, part, offset, ev.time_ms);
    int i = hf_hash_shard(ev.host, p->shards.n);
    hf_batch *b = p->pending[i];
    if (!b->events) b->events = hf_malloc(sizeof(hf_event) * HF_BATCH_EVENTS);
    b->events[b->nevents++] = ev;
    if (b->nevents == HF_BATCH_EVENTS) hand_over(p, i, 0);
    return 0;
}

/* ------------------------------------------------------------------------
 * Chunks decoded on threads
 * --------------------------------------------------------------------- */

int hf_pipeline_threaded(hf_pipeline *p)
{
    if (p->decode_threads > 1 && !p->dec) {
        p->dec = hf_decoders_new(p->decode_threads, p->nets, &p->dctx, INFINITY, p->cfg->max_line);
        if (!p->dec) {
            hf_log(HF_LOG_WARN, "cannot start decoder threads: decoding in the reading thread");
            p->decode_threads = 0;
        }
    }
    return p->dec != NULL;
}

int hf_pipeline_decoders(const hf_pipeline *p)
{
    return p->dec ? p->decode_threads : 0;
}

/* The lines of a decoded chunk, in order; p->lineno counts them (or the
 * input said where each starts: records over several lines).  A chunk of
 * records (Kafka messages) names each one's partition and offset. */
static void run_chunk(hf_pipeline *p, hf_chunk *c)
{
    poll_engine(p);
    note_time(p, 1);
    if (c->read && p->read_state == 0 && c->got <= 0 && c->got != HF_CHUNK_TOO_LONG)
        p->read_state = c->got == HF_CHUNK_END ? 1 : -1;
    uint32_t f = 0;
    if (c->nrec) {
        for (uint32_t i = 0; i < c->n; i++) {
            size_t len;
            const char *rec = hf_chunk_line(c, i, &len);
            unsigned st = c->status[i];
            take_record(p, c->part[i], c->offset[i], st, &c->flows[f], rec, len);
            f += (uint32_t)hf_line_flows(st);
        }
        hf_decoders_release(p->dec, c);
        return;
    }
    for (uint32_t i = 0; i < c->n; i++) {
        size_t len;
        const char *line = hf_chunk_line(c, i, &len);
        unsigned st = c->status[i];
        p->lineno = i < c->nlineno ? c->lineno[i] : p->lineno + 1;
        int kind;                               /* a line the decoders took for text */
        if (st == HF_DECODE_MALFORMED &&
            ((kind = hf_wire_kind(line, len)) == HF_WIRE_PARTIAL || kind == HF_WIRE_PROGRESS)) {
            take_wire(p, 0, -1, kind, line, len);   /* as hf_pipeline_feed (-j1) takes it */
            continue;
        }
        take_record(p, 0, -1, st, &c->flows[f], line, len);
        f += (uint32_t)hf_line_flows(st);
    }
    hf_decoders_release(p->dec, c);
}

void hf_pipeline_drain(hf_pipeline *p)
{
    hf_chunk *c;
    while (p->dec && (c = hf_decoders_take(p->dec, 1))) run_chunk(p, c);
}

hf_chunk *hf_pipeline_chunk(hf_pipeline *p)
{
    hf_chunk *c;
    while (!(c = hf_decoders_fill(p->dec))) run_chunk(p, hf_decoders_take(p->dec, 1));
    return c;
}

void hf_pipeline_submit_read(hf_pipeline *p, hf_chunk *c, long (*read)(void *ctx, char *dst, size_t cap),
                             void *ctx)
{
    c->name = p->input_name;
    hf_decoders_submit_read(p->dec, c, read, ctx);
    while ((c = hf_decoders_take(p->dec, 0))) run_chunk(p, c);
}

int hf_pipeline_read_state(const hf_pipeline *p)
{
    return p->read_state;
}

void hf_pipeline_submit(hf_pipeline *p, hf_chunk *c, size_t len, int too_long)
{
    c->name = p->input_name;
    c->too_long = too_long;
    c->len = too_long ? 0 : len;
    hf_decoders_submit(p->dec, c);
    while ((c = hf_decoders_take(p->dec, 0))) run_chunk(p, c);
}

/* ------------------------------------------------------------------------
 * Closing
 * --------------------------------------------------------------------- */

void hf_pipeline_sync(hf_pipeline *p)
{
    if (p->role != HF_ROLE_RELAY && p->role != HF_ROLE_PARTIAL) return;
    hf_pipeline_drain(p);
    if (p->role == HF_ROLE_RELAY)            /* its flows are written as they are handed over */
        for (int k = 0; k < p->shards.n; k++)
            if (p->pending[k]->n) hand_over(p, k, 0);
    if (p->shards.sync) p->shards.sync(p->shards.ctx);
}

void hf_pipeline_reset(hf_pipeline *p)
{
    p->nheld = 0;                            /* held aside: read again by the next owner */
    if (p->role == HF_ROLE_RELAY) {          /* nothing held: flows not written yet are read again */
        for (int k = 0; k < p->shards.n; k++) p->pending[k]->n = 0;
        hf_offsets_reset(p->offsets);
        return;
    }
    hf_pipeline_drain(p);
    for (int k = 0; k < p->shards.n; k++) {
        hf_batch *b = p->pending[k];
        b->n = 0;                            /* held, and read again by the next owner */
        b->npartials = 0;
        b->partials_len = 0;
        b->discard = 1;
        p->shards.push(p->shards.ctx, k, b);
        p->pending[k] = p->shards.batch(p->shards.ctx, k);
    }
    if (p->shards.sync) p->shards.sync(p->shards.ctx);
    p->closed_until = INT64_MIN;
    atomic_store_explicit(&p->stats.closed_until, INT64_MIN, memory_order_relaxed);
    hf_offsets_reset(p->offsets);
    if (p->marks) hf_marks_forget(p->marks);
}

void hf_pipeline_flush(hf_pipeline *p)
{
    if (p->role == HF_ROLE_RELAY) {
        hf_pipeline_sync(p);
        return;
    }
    hf_pipeline_drain(p);
    held_settle(p, -1);
    int64_t through = hf_offsets_flush_through(p->offsets, p->closed_until);
    if (through > p->closed_until) {
        p->closed_until = through;
        atomic_store_explicit(&p->stats.closed_until, through, memory_order_relaxed);
        double now = hf_now_ns();
        for (int k = 0; k < p->shards.n; k++) hand_over(p, k, now);
    }
    while (p->shards.emitted_until(p->shards.ctx) < p->closed_until) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    /* what comes later for these windows is late: they are in records */
    hf_offsets_flushed(p->offsets, through);
}

int64_t hf_pipeline_emitted(hf_pipeline *p)
{
    return p->shards.durable_until ? p->shards.durable_until(p->shards.ctx)
                                   : p->shards.emitted_until(p->shards.ctx);
}

int hf_pipeline_commit_points(hf_pipeline *p, int64_t emitted, hf_commit_point *out, int max)
{
    return hf_offsets_commit_points(p->offsets, emitted, out, max);
}

void hf_pipeline_finish(hf_pipeline *p)
{
    if (p->finished) return;
    hf_pipeline_drain(p);
    held_settle(p, -1);
    p->finished = 1;
    for (int i = 0; i < p->shards.n; i++) {
        p->pending[i]->final = 1;
        hand_over(p, i, 0);
    }
}

void hf_pipeline_free(hf_pipeline *p)
{
    if (!p) return;
    hf_decoders_free(p->dec);
    hf_tz_free(p->tz);
    for (int i = 0; i < p->shards.n && p->pending; i++)
        if (p->pending[i]) {
            hf_free(p->pending[i]->events);
            hf_free(p->pending[i]->flows);
            hf_free(p->pending[i]->partials);
            hf_free(p->pending[i]);
        }
    hf_free(p->pending);
    hf_free(p->held);
    hf_prefixes_free(p->nets);
    hf_offsets_free(p->offsets);
    hf_marks_free(p->marks);
    hf_free(p->markbuf);
    hf_free(p);
}
