/* state.c -- an analysis's per-host state, handled field by field from its
 * schema: initialise, merge, measure and serialise without knowing the
 * analysis.
 *
 * A state is a flat struct (built by the Lua side) whose primitives sit at
 * the offsets its schema lists:
 *
 *   state  +--------+--------+-------------+----------+----------+-- ... --+
 *          | SUM    | MIN    | DISTINCT    | TOPK     | COUNT32  |         |  s->size
 *          | double | double | hf_distinct | hf_topk  | uint32_t |         |  bytes
 *          +--------+--------+-------------+----------+----------+-- ... --+
 *            ^ fields[i].offset, fields[i].kind, fields[i].param
 *
 * Start values: SUM 0, MIN +inf, MAX -inf, DISTINCT an empty set with
 * limit = param, TOPK an empty summary with k = param, GROUP an empty group
 * of at most param keys (parameters above the primitives' maxima are
 * clamped), COUNT32 0.  Merging: SUM adds, MIN and MAX keep the smaller and
 * the larger, DISTINCT is union, TOPK and GROUP are the Space-Saving merge
 * (a group's values merged by its value's schema, recursively), COUNT32
 * adds and stops at UINT32_MAX (a count that
 * wrapped would be wrong by 2^32; one that sticks at the top says it is at
 * least that).  COUNT32 is the count of flows with some property: half the
 * bytes of a double, exact as far as it goes.  BYTES is param bytes the
 * Lua side lays out itself (a profile's hf.array and hf.set): they start at
 * zero and are never merged -- profiles live across windows, not in them.
 * Unknown kinds are left alone by every function (and have no bytes).
 * A GROUP field is followed by its value's schema (state.h); every loop
 * below steps over a field and what belongs to it (span()).
 *
 * Serialised form (version 1, little-endian)
 * ------------------------------------------
 *
 *   u8 version=1 | u8 0 | u16 nfields | per field: u8 kind | payload
 *
 *   SUM, MIN, MAX: f64, any value (an analysis may well have summed a
 *   NaN; its state must still travel, bit for bit)
 *   COUNT32: u32, any value             BYTES: u32 length (= param), the bytes
 *   DISTINCT: distinct.h bytes          TOPK: topk.h bytes
 *   GROUP: group.h bytes (each value in this form, by the value's schema)
 *
 * The reader accepts only the schema's field count and kinds, in order, and
 * leaves an initialised state behind when it refuses.  The schema itself is
 * trusted: offsets and kinds come from the Lua side, which checks them.
 *
 * Rows
 * ----
 *
 * A window's row holds the states of every analysis side by side, and a
 * window's close merges every row of it into a coarser window's.  Field by
 * field through each schema that is a call per state and a switch per
 * field; hf_state_row is the whole row's fields compiled once per layout
 * into runs, fields of one kind that follow each other (each sum right
 * after the last, each count likewise), so the default analyses' sixteen
 * fields merge as five runs:
 *
 *   row  | host | 9 x COUNT32 | 5 x SUM (total, avg) | DISTINCT | DISTINCT |
 *                  run 1        run 2                  run 3      run 4 ...
 *
 * Sums of a run are added in order, counts saturate as above: the same
 * result as hf_state_merge of each state, bit for bit.  A state with a
 * field of another kind (a group) is one run of its own, merged by
 * hf_state_merge. */
#include "prim/state.h"

#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "prim/distinct.h"
#include "prim/group.h"
#include "prim/topk.h"

/* ------------------------------------------------------------------------
 * Helpers
 * --------------------------------------------------------------------- */

#define FORMAT_VERSION 1
#define HDR_BYTES      4

static inline double get_d(const uint8_t *state, const hf_field *f)
{
    double v;
    memcpy(&v, state + f->offset, sizeof v);
    return v;
}

static inline void set_d(uint8_t *state, const hf_field *f, double v)
{
    memcpy(state + f->offset, &v, sizeof v);
}

static inline int is_number(uint32_t kind)
{
    return kind == HF_FIELD_SUM || kind == HF_FIELD_MIN || kind == HF_FIELD_MAX;
}

/* Fields from fields[i] on that belong to it: a GROUP, its OF header and
 * its value's fields; any other field, itself.  Never past the end. */
static inline int span(const hf_schema *s, int i)
{
    const hf_field *f = &s->fields[i];
    if (f->kind != HF_FIELD_GROUP || i + 1 >= s->nfields || s->fields[i + 1].kind != HF_FIELD_OF)
        return 1;
    long n = 2 + (long)s->fields[i + 1].param;
    return n > s->nfields - i ? s->nfields - i : (int)n;
}

hf_schema hf_state_group_of(const hf_schema *s, int i)
{
    hf_schema of = {s->fields + i + 2, span(s, i) - 2, s->fields[i + 1].offset};
    return of;
}

static inline uint32_t get_u32(const uint8_t *state, const hf_field *f)
{
    uint32_t v;
    memcpy(&v, state + f->offset, sizeof v);
    return v;
}

static inline void set_u32(uint8_t *state, const hf_field *f, uint32_t v)
{
    memcpy(state + f->offset, &v, sizeof v);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_f64(uint8_t *p, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static double get_f64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    double d;
    memcpy(&d, &v, 8);
    return d;
}

/* The serialised size of field i (its kind byte included), writing it
 * into out when out is not NULL (the caller has checked the room). */
static size_t field_out(const hf_schema *s, int i, const uint8_t *state, uint8_t *out)
{
    const hf_field *f = &s->fields[i];
    const uint8_t *p = state + f->offset;
    size_t n;
    if (is_number(f->kind)) {
        if (out) put_f64(out + 1, get_d(state, f));
        n = 8;
    } else if (f->kind == HF_FIELD_COUNT32) {
        if (out) put_le32(out + 1, get_u32(state, f));
        n = 4;
    } else if (f->kind == HF_FIELD_DISTINCT) {
        n = hf_distinct_serialize((const hf_distinct *)(const void *)p, out ? out + 1 : NULL,
                                  out ? (size_t)-1 : 0);
    } else if (f->kind == HF_FIELD_TOPK) {
        n = hf_topk_serialize((const hf_topk *)(const void *)p, out ? out + 1 : NULL,
                              out ? (size_t)-1 : 0);
    } else if (f->kind == HF_FIELD_BYTES) {
        if (out) {
            put_le32(out + 1, f->param);
            memcpy(out + 5, p, f->param);
        }
        n = 4 + (size_t)f->param;
    } else if (f->kind == HF_FIELD_GROUP && span(s, i) >= 2) {
        hf_schema of = hf_state_group_of(s, i);
        n = hf_group_serialize((const hf_group *)(const void *)p, &of, &hf_state_ops, out ? out + 1 : NULL,
                               out ? (size_t)-1 : 0);
    } else {
        n = 0;
    }
    if (out) out[0] = (uint8_t)f->kind;
    return 1 + n;
}

/* ------------------------------------------------------------------------
 * API
 * --------------------------------------------------------------------- */

/* Zero the state, then give each field its start value and parameter. */
void hf_state_init(const hf_schema *s, uint8_t *state)
{
    memset(state, 0, s->size);
    for (int i = 0; i < s->nfields; i += span(s, i)) {
        const hf_field *f = &s->fields[i];
        uint8_t *p = state + f->offset;
        switch (f->kind) {
        case HF_FIELD_SUM: set_d(state, f, 0.0); break;
        case HF_FIELD_MIN: set_d(state, f, INFINITY); break;
        case HF_FIELD_MAX: set_d(state, f, -INFINITY); break;
        case HF_FIELD_DISTINCT:
            ((hf_distinct *)(void *)p)->limit = (uint16_t)(f->param > HF_DISTINCT_MAX_LIMIT
                                                ? HF_DISTINCT_MAX_LIMIT : f->param);
            break;
        case HF_FIELD_TOPK:
            ((hf_topk *)(void *)p)->k = (uint16_t)(f->param > HF_TOPK_MAX_K ? HF_TOPK_MAX_K : f->param);
            break;
        case HF_FIELD_GROUP:
            ((hf_group *)(void *)p)->max = (uint16_t)(f->param > HF_GROUP_MAX_KEYS ? HF_GROUP_MAX_KEYS
                                                      : f->param);
            break;
        default: break;
        }
    }
}

/* dst := dst merged with src, field by field; sets and summaries take
 * memory from a (dst's arena). */
void hf_state_merge(const hf_schema *s, uint8_t *dst, const uint8_t *src, hf_arena *a)
{
    for (int i = 0; i < s->nfields; i += span(s, i)) {
        const hf_field *f = &s->fields[i];
        uint8_t *d = dst + f->offset;
        const uint8_t *p = src + f->offset;
        switch (f->kind) {
        case HF_FIELD_SUM:
            set_d(dst, f, get_d(dst, f) + get_d(src, f));
            break;
        case HF_FIELD_MIN: {
            double x = get_d(dst, f), y = get_d(src, f);
            if (y < x) set_d(dst, f, y);
            break;
        }
        case HF_FIELD_MAX: {
            double x = get_d(dst, f), y = get_d(src, f);
            if (y > x) set_d(dst, f, y);
            break;
        }
        case HF_FIELD_DISTINCT:
            hf_distinct_merge((hf_distinct *)(void *)d, (const hf_distinct *)(const void *)p, a);
            break;
        case HF_FIELD_TOPK:
            hf_topk_merge((hf_topk *)(void *)d, (const hf_topk *)(const void *)p, a);
            break;
        case HF_FIELD_GROUP:
            if (span(s, i) >= 2) {
                hf_schema of = hf_state_group_of(s, i);
                hf_group_merge((hf_group *)(void *)d, (const hf_group *)(const void *)p, &of, &hf_state_ops, a);
            }
            break;
        case HF_FIELD_COUNT32: {
            uint32_t x = get_u32(dst, f), y = get_u32(src, f);
            set_u32(dst, f, x > UINT32_MAX - y ? UINT32_MAX : x + y);
            break;
        }
        default: break;
        }
    }
}

/* Bytes held in the arena by the state's sets and summaries. */
size_t hf_state_mem_bytes(const hf_schema *s, const uint8_t *state)
{
    size_t n = 0;
    for (int i = 0; i < s->nfields; i += span(s, i)) {
        const hf_field *f = &s->fields[i];
        const void *p = state + f->offset;
        if (f->kind == HF_FIELD_DISTINCT) n += hf_distinct_mem_bytes(p);
        else if (f->kind == HF_FIELD_TOPK) n += hf_topk_mem_bytes(p);
        else if (f->kind == HF_FIELD_GROUP && span(s, i) >= 2) {
            hf_schema of = hf_state_group_of(s, i);
            n += hf_group_mem_bytes(p, &of, &hf_state_ops);
        }
    }
    return n;
}

/* Give back what the sets, summaries and groups hold, then start afresh. */
void hf_state_release(const hf_schema *s, uint8_t *state, hf_arena *a)
{
    for (int i = 0; i < s->nfields; i += span(s, i)) {
        const hf_field *f = &s->fields[i];
        void *p = state + f->offset;
        if (f->kind == HF_FIELD_DISTINCT) hf_distinct_release(p, a);
        else if (f->kind == HF_FIELD_TOPK) hf_topk_release(p, a);
        else if (f->kind == HF_FIELD_GROUP && span(s, i) >= 2) {
            hf_schema of = hf_state_group_of(s, i);
            hf_group_release(p, &of, &hf_state_ops, a);
        }
    }
    hf_state_init(s, state);
}

/* Serialise the state into out (cap bytes).  Returns the size needed;
 * writes nothing unless it all fits. */
size_t hf_state_serialize(const hf_schema *s, const uint8_t *state, uint8_t *out, size_t cap)
{
    size_t need = HDR_BYTES;
    for (int i = 0; i < s->nfields; i += span(s, i)) need += field_out(s, i, state, NULL);
    if (need > cap || !out) return need;
    out[0] = FORMAT_VERSION;
    out[1] = 0;
    out[2] = (uint8_t)s->nfields;
    out[3] = (uint8_t)((unsigned)s->nfields >> 8);
    size_t pos = HDR_BYTES;
    for (int i = 0; i < s->nfields; i += span(s, i)) pos += field_out(s, i, state, out + pos);
    return need;
}

/* Read a serialised state into state (overwritten).  Returns the bytes
 * consumed, or -1 on input that is truncated, invalid or of another schema
 * (field count or a kind differs); the state is then as hf_state_init
 * leaves it. */
long hf_state_deserialize(const hf_schema *s, uint8_t *state, const uint8_t *in, size_t len,
                          hf_arena *a)
{
    hf_state_init(s, state);
    if (!in || len < HDR_BYTES || in[0] != FORMAT_VERSION || in[1] != 0) return -1;
    if (s->nfields < 0 || (in[2] | in[3] << 8) != s->nfields) return -1;
    size_t pos = HDR_BYTES;
    for (int i = 0; i < s->nfields; i += span(s, i)) {
        const hf_field *f = &s->fields[i];
        uint8_t *p = state + f->offset;
        if (pos >= len || in[pos] != (uint8_t)f->kind || f->kind > 0xff) goto fail;
        pos++;
        long n;
        if (is_number(f->kind)) {
            if (len - pos < 8) goto fail;
            set_d(state, f, get_f64(in + pos));
            n = 8;
        } else if (f->kind == HF_FIELD_COUNT32) {
            if (len - pos < 4) goto fail;
            set_u32(state, f, get_le32(in + pos));
            n = 4;
        } else if (f->kind == HF_FIELD_DISTINCT) {
            n = hf_distinct_deserialize((hf_distinct *)(void *)p, in + pos, len - pos, a);
        } else if (f->kind == HF_FIELD_TOPK) {
            n = hf_topk_deserialize((hf_topk *)(void *)p, in + pos, len - pos, a);
        } else if (f->kind == HF_FIELD_BYTES) {
            if (len - pos < 4 || get_le32(in + pos) != f->param || len - pos - 4 < f->param) goto fail;
            memcpy(p, in + pos + 4, f->param);
            n = 4 + (long)f->param;
        } else if (f->kind == HF_FIELD_GROUP && span(s, i) >= 2) {
            hf_schema of = hf_state_group_of(s, i);
            n = hf_group_deserialize((hf_group *)(void *)p, &of, &hf_state_ops, in + pos, len - pos, a);
        } else {
            n = 0;
        }
        if (n < 0) goto fail;
        pos += (size_t)n;
    }
    return (long)pos;

fail:
    hf_state_release(s, state, a);
    return -1;
}

const hf_value_ops hf_state_ops = {
    hf_state_init, hf_state_merge, hf_state_release, hf_state_mem_bytes,
    hf_state_serialize, hf_state_deserialize,
};

/* ------------------------------------------------------------------------
 * Rows
 * --------------------------------------------------------------------- */

void hf_state_row_init(hf_state_row *r)
{
    memset(r, 0, sizeof *r);
}

void hf_state_row_release(hf_state_row *r)
{
    hf_free(r->runs);
    hf_free(r->mems);
    memset(r, 0, sizeof *r);
}

/* The bytes one field of a kind takes in a run (0: never in a run of
 * more than one). */
static size_t run_width(uint32_t kind)
{
    return is_number(kind) ? sizeof(double) : kind == HF_FIELD_COUNT32 ? sizeof(uint32_t) : 0;
}

/* A run that is a whole state, merged by hf_state_merge: for a schema with
 * a field of another kind than those runs know (a group). */
#define RUN_STATE 0xffff

static int simple_kinds(const hf_schema *s)
{
    for (int i = 0; i < s->nfields; i++) {
        uint32_t k = s->fields[i].kind;
        if (!is_number(k) && k != HF_FIELD_COUNT32 && k != HF_FIELD_DISTINCT && k != HF_FIELD_TOPK)
            return 0;
    }
    return 1;
}

void hf_state_row_add(hf_state_row *r, const hf_schema *s, size_t offset)
{
    if (!simple_kinds(s)) {
        if (r->nruns == r->cap) {
            r->cap = r->cap ? r->cap * 2 : 16;
            r->runs = hf_realloc(r->runs, sizeof *r->runs * (size_t)r->cap);
            r->mems = hf_realloc(r->mems, sizeof *r->mems * (size_t)r->cap);
        }
        r->runs[r->nruns++] = (hf_state_run){.offset = (uint32_t)offset, .kind = RUN_STATE, .n = 1,
                                             .schema = s};
        return;
    }
    for (int i = 0; i < s->nfields; i++) {
        const hf_field *f = &s->fields[i];
        uint32_t off = (uint32_t)(offset + f->offset);
        hf_state_run *last = r->nruns ? &r->runs[r->nruns - 1] : NULL;
        size_t w = run_width(f->kind);
        if (last && w && last->kind == f->kind && last->n < UINT16_MAX &&
            last->offset + last->n * w == off) {
            last->n++;
            continue;
        }
        if (r->nruns == r->cap) {
            r->cap = r->cap ? r->cap * 2 : 16;
            r->runs = hf_realloc(r->runs, sizeof *r->runs * (size_t)r->cap);
            r->mems = hf_realloc(r->mems, sizeof *r->mems * (size_t)r->cap);
        }
        if (f->kind == HF_FIELD_DISTINCT)
            r->mems[r->nmems++] = off + (uint32_t)offsetof(hf_distinct, mem);
        else if (f->kind == HF_FIELD_TOPK)
            r->mems[r->nmems++] = off + (uint32_t)offsetof(hf_topk, items);
        r->runs[r->nruns++] = (hf_state_run){.offset = off, .kind = (uint16_t)f->kind, .n = 1};
    }
}

void hf_state_row_merge(const hf_state_row *r, uint8_t *dst, const uint8_t *src, hf_arena *a)
{
    for (int i = 0; i < r->nruns; i++) {
        const hf_state_run *u = &r->runs[i];
        uint8_t *d = dst + u->offset;
        const uint8_t *p = src + u->offset;
        switch (u->kind) {
        case HF_FIELD_SUM:
            for (unsigned k = 0; k < u->n; k++) {
                double x, y;
                memcpy(&x, d + 8 * k, 8);
                memcpy(&y, p + 8 * k, 8);
                x += y;
                memcpy(d + 8 * k, &x, 8);
            }
            break;
        case HF_FIELD_COUNT32:
            for (unsigned k = 0; k < u->n; k++) {
                uint32_t x, y;
                memcpy(&x, d + 4 * k, 4);
                memcpy(&y, p + 4 * k, 4);
                x = x > UINT32_MAX - y ? UINT32_MAX : x + y;
                memcpy(d + 4 * k, &x, 4);
            }
            break;
        case HF_FIELD_MIN:
            for (unsigned k = 0; k < u->n; k++) {
                double x, y;
                memcpy(&x, d + 8 * k, 8);
                memcpy(&y, p + 8 * k, 8);
                if (y < x) memcpy(d + 8 * k, &y, 8);
            }
            break;
        case HF_FIELD_MAX:
            for (unsigned k = 0; k < u->n; k++) {
                double x, y;
                memcpy(&x, d + 8 * k, 8);
                memcpy(&y, p + 8 * k, 8);
                if (y > x) memcpy(d + 8 * k, &y, 8);
            }
            break;
        case HF_FIELD_DISTINCT:
            hf_distinct_merge((hf_distinct *)(void *)d, (const hf_distinct *)(const void *)p, a);
            break;
        case HF_FIELD_TOPK:
            hf_topk_merge((hf_topk *)(void *)d, (const hf_topk *)(const void *)p, a);
            break;
        case RUN_STATE:
            hf_state_merge(u->schema, d, p, a);
            break;
        default: break;
        }
    }
}

void hf_state_row_prefetch(const hf_state_row *r, const uint8_t *row)
{
    for (int i = 0; i < r->nmems; i++) {
        const void *mem;
        memcpy(&mem, row + r->mems[i], sizeof mem);
        __builtin_prefetch(mem, 1, 3);          /* NULL (an empty set) is harmless */
    }
}
