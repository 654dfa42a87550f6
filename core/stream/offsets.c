/* offsets.c -- partitions, holds and commit points (see offsets.h). */
#include "stream/offsets.h"

#include <math.h>
#include <string.h>

#include "base/alloc.h"

typedef struct partition {
    char    *topic;
    int32_t  id;
    int      eof;             /* read to its end */
    int      follow;          /* never holds the watermark (hf_offsets_follow) */
    int      assigned;        /* ours: 0 after a reset until the source assigns it again */
    double   confirmed;       /* when the source last confirmed its end (ms), see confirm_ends */
    double   eof_since;       /* when (ms, the caller's clock) */
    double   max_end;         /* newest flow end, ms */
    int64_t  next_offset;     /* after the last message read */
    int64_t  released_until;  /* flows released at or before this were in records already */
    int64_t  pin;             /* no commit point passes this offset (-1: none) */
    int64_t  pending;         /* the lowest offset held aside by the pipeline, -1: none */
    int      nholds;
    struct { int64_t release; int64_t offset; } holds[HF_MAX_HOLDS];
} partition;

struct hf_offsets {
    partition *parts;
    int        nparts;
    int64_t    windows_ms[16];
    int        nwindows;
    double     max_end;        /* newest flow end over all partitions */
    int        confirm_ends;   /* a partition is idle only while its end is confirmed */
};

static int64_t floor_to(int64_t t, int64_t g)
{
    int64_t q = t / g;
    if (t % g < 0) q--;
    return q * g;
}

hf_offsets *hf_offsets_new(const int64_t *windows_ms, int nwindows)
{
    hf_offsets *o = hf_calloc(1, sizeof *o);
    o->parts = hf_calloc(HF_MAX_PARTITIONS, sizeof(partition));
    o->nwindows = nwindows < 16 ? nwindows : 16;
    memcpy(o->windows_ms, windows_ms, sizeof(int64_t) * (size_t)o->nwindows);
    o->max_end = -INFINITY;
    hf_offsets_partition(o, "input", 0, INT64_MIN);
    return o;
}

void hf_offsets_free(hf_offsets *o)
{
    if (!o) return;
    for (int i = 0; i < o->nparts; i++) hf_free(o->parts[i].topic);
    hf_free(o->parts);
    hf_free(o);
}

int64_t hf_offsets_release_time(const hf_offsets *o, int64_t t)
{
    int64_t r = INT64_MIN;
    for (int i = 0; i < o->nwindows; i++) {
        int64_t g = o->windows_ms[i];
        int64_t end = floor_to(t, g) + g;
        if (end > r) r = end;
    }
    return r;
}

int hf_offsets_partition(hf_offsets *o, const char *topic, int32_t id, int64_t released_until)
{
    for (int i = 0; i < o->nparts; i++)
        if (o->parts[i].id == id && strcmp(o->parts[i].topic, topic) == 0) {
            if (released_until > o->parts[i].released_until)
                o->parts[i].released_until = released_until;
            o->parts[i].assigned = 1;
            return i;
        }
    if (o->nparts == HF_MAX_PARTITIONS) return -1;
    partition *pt = &o->parts[o->nparts];
    memset(pt, 0, sizeof *pt);
    pt->topic = hf_strdup(topic);
    pt->id = id;
    pt->max_end = -INFINITY;
    pt->next_offset = -1;
    pt->pin = -1;
    pt->pending = -1;
    pt->released_until = released_until;
    /* a partition starts idle (the source marks it not at its end once it is
     * assigned, and from then on it holds the watermark back until it has
     * given data or reached its end); with one, the file slot goes idle */
    pt->eof = o->nparts > 0;
    pt->assigned = 1;
    pt->confirmed = -INFINITY;
    pt->eof_since = -INFINITY;        /* idle at once, whatever the clock */
    if (o->nparts == 1 && o->parts[0].max_end == -INFINITY) o->parts[0].eof = 1;
    return o->nparts++;
}

void hf_offsets_follow(hf_offsets *o, int part)
{
    if (part >= 0 && part < o->nparts) o->parts[part].follow = 1;
}

int hf_offsets_count(const hf_offsets *o)
{
    return o->nparts;
}

const char *hf_offsets_topic(const hf_offsets *o, int part, int32_t *id)
{
    *id = o->parts[part].id;
    return o->parts[part].topic;
}

int64_t hf_offsets_next(const hf_offsets *o, const char *topic, int32_t id)
{
    for (int i = 1; i < o->nparts; i++)
        if (o->parts[i].id == id && strcmp(o->parts[i].topic, topic) == 0) return o->parts[i].next_offset;
    return -1;
}

int hf_offsets_at_end(const hf_offsets *o, int part)
{
    return part >= 0 && part < o->nparts && o->parts[part].eof;
}

void hf_offsets_set_eof(hf_offsets *o, int part, int eof, double now_ms)
{
    if (part < 0 || part >= o->nparts) return;
    if (eof && !o->parts[part].eof) o->parts[part].eof_since = now_ms;
    if (!eof) o->parts[part].assigned = 1;
    o->parts[part].eof = eof;
}

void hf_offsets_confirm_ends(hf_offsets *o)
{
    o->confirm_ends = 1;
}

void hf_offsets_end_confirmed(hf_offsets *o, int part, double now_ms)
{
    if (part >= 0 && part < o->nparts) o->parts[part].confirmed = now_ms;
}

void hf_offsets_wait_ends(hf_offsets *o, double now_ms)
{
    for (int i = 1; i < o->nparts; i++)
        if (o->parts[i].eof) o->parts[i].eof_since = now_ms;
}

int hf_offsets_read(hf_offsets *o, int part, int64_t offset, double end_ms)
{
    partition *pt = &o->parts[part];
    if (offset >= 0) pt->next_offset = offset + 1;
    if (end_ms < 0 || (offset < 0 && pt->released_until == INT64_MIN)) return 0;
    return hf_offsets_release_time(o, (int64_t)end_ms) <= pt->released_until;
}

void hf_offsets_hold(hf_offsets *o, int part, int64_t offset, double end_ms)
{
    if (offset < 0) return;
    partition *pt = &o->parts[part];
    int64_t release = hf_offsets_release_time(o, (int64_t)end_ms);
    for (int i = 0; i < pt->nholds; i++)
        if (pt->holds[i].release == release) {
            if (offset < pt->holds[i].offset) pt->holds[i].offset = offset;
            return;
        }
    if (pt->nholds == HF_MAX_HOLDS) {    /* fold into the latest: releases later, still safe */
        int last = 0;
        for (int i = 1; i < pt->nholds; i++)
            if (pt->holds[i].release > pt->holds[last].release) last = i;
        if (release > pt->holds[last].release) pt->holds[last].release = release;
        if (offset < pt->holds[last].offset) pt->holds[last].offset = offset;
        return;
    }
    pt->holds[pt->nholds].release = release;
    pt->holds[pt->nholds].offset = offset;
    pt->nholds++;
}

/* Whether a partition has stopped holding the watermark back: not ours,
 * or at its end for HF_IDLE_MS -- and, with confirm_ends, confirmed there
 * by its source within HF_CONFIRMED_MS (the file slot, 0, needs none). */
static int idle(const hf_offsets *o, const partition *pt, double now)
{
    if (!pt->assigned) return 1;
    if (!pt->eof || now - pt->eof_since < HF_IDLE_MS) return 0;
    return !o->confirm_ends || pt == &o->parts[0] || now - pt->confirmed <= HF_CONFIRMED_MS;
}

int hf_offsets_waking(const hf_offsets *o, int part)
{
    return o->parts[part].eof;
}

int hf_offsets_advance(hf_offsets *o, int part, double end_ms, double now_ms)
{
    partition *pt = &o->parts[part];
    if (pt->eof) {      /* data again: if every other partition had gone idle, give them time */
        int all_idle = 1;
        for (int i = 1; i < o->nparts && all_idle; i++)
            if (&o->parts[i] != pt && !idle(o, &o->parts[i], now_ms)) all_idle = 0;
        if (all_idle)
            for (int i = 1; i < o->nparts; i++)
                if (o->parts[i].assigned) o->parts[i].eof_since = now_ms;
        pt->eof = 0;
    }
    if (end_ms <= pt->max_end) return 0;
    pt->max_end = end_ms;
    if (end_ms > o->max_end) o->max_end = end_ms;
    return 1;
}

double hf_offsets_max_end(const hf_offsets *o)
{
    return o->max_end;
}

double hf_offsets_newest(const hf_offsets *o, int part)
{
    return part >= 0 && part < o->nparts ? o->parts[part].max_end : -INFINITY;
}

void hf_offsets_pending(hf_offsets *o, int part, int64_t offset)
{
    if (part >= 0 && part < o->nparts) o->parts[part].pending = offset;
}

double hf_offsets_watermark(const hf_offsets *o, double now)
{
    if (o->nparts == 1) return o->max_end;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < o->nparts; i++) {
        const partition *pt = &o->parts[i];
        if (!pt->assigned) continue;
        if (pt->follow) continue;
        if (pt->max_end == -INFINITY) {
            if (!idle(o, pt, now)) return -INFINITY;
            continue;
        }
        if (pt->max_end > hi) hi = pt->max_end;
        if (!idle(o, pt, now) && pt->max_end < lo) lo = pt->max_end;
    }
    return lo < INFINITY ? lo : hi;
}

int hf_offsets_commit_points(hf_offsets *o, int64_t done, hf_commit_point *out, int max)
{
    int n = 0;
    for (int i = 1; i < o->nparts && n < max; i++) {     /* slot 0 is the file input */
        partition *pt = &o->parts[i];
        if (!pt->assigned) continue;    /* another's now: `done` says nothing of its windows */
        int64_t offset = pt->next_offset;
        int k = 0;
        for (int h = 0; h < pt->nholds; h++) {
            if (pt->holds[h].release <= done) continue;   /* released */
            if (pt->holds[h].offset < offset || offset < 0) offset = pt->holds[h].offset;
            pt->holds[k++] = pt->holds[h];
        }
        pt->nholds = k;
        if (pt->pin >= 0 && (pt->pin < offset || offset < 0)) offset = pt->pin;
        if (pt->pending >= 0 && (pt->pending < offset || offset < 0)) offset = pt->pending;
        if (done > pt->released_until && done != INT64_MAX) pt->released_until = done;
        if (offset < 0) continue;                         /* nothing read yet */
        out[n].topic = pt->topic;
        out[n].partition = pt->id;
        out[n].offset = offset;
        out[n].released_until = pt->released_until;
        n++;
    }
    return n;
}

int hf_offsets_idle(const hf_offsets *o, int part, double now_ms)
{
    return part >= 0 && part < o->nparts && idle(o, &o->parts[part], now_ms);
}

int hf_offsets_assigned(const hf_offsets *o, int part)
{
    return part >= 1 && part < o->nparts && o->parts[part].assigned;
}

int64_t hf_offsets_released(const hf_offsets *o, int part)
{
    return part >= 0 && part < o->nparts ? o->parts[part].released_until : INT64_MIN;
}

void hf_offsets_pin(hf_offsets *o, int part, int64_t offset)
{
    if (part >= 1 && part < o->nparts) o->parts[part].pin = offset;
}

int64_t hf_offsets_flush_through(const hf_offsets *o, int64_t through)
{
    for (int i = 0; i < o->nparts; i++)
        for (int h = 0; h < o->parts[i].nholds; h++)
            if (o->parts[i].holds[h].release > through) through = o->parts[i].holds[h].release;
    if (o->max_end > -INFINITY) {
        int64_t r = hf_offsets_release_time(o, (int64_t)o->max_end);
        if (r > through) through = r;
    }
    return through;
}

void hf_offsets_flushed(hf_offsets *o, int64_t through)
{
    for (int i = 0; i < o->nparts; i++)
        if (o->parts[i].assigned && o->parts[i].released_until < through) o->parts[i].released_until = through;
}

void hf_offsets_reset(hf_offsets *o)
{
    for (int i = 0; i < o->nparts; i++) {
        partition *pt = &o->parts[i];
        pt->eof = 1;
        pt->eof_since = -INFINITY;
        pt->assigned = i == 0;
        pt->max_end = -INFINITY;
        pt->next_offset = -1;
        pt->pending = -1;
        pt->pin = -1;
        pt->nholds = 0;
    }
    o->max_end = -INFINITY;
}
