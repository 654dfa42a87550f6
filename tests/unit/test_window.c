/* test_window.c -- windows: host tables, closing by boundary, fine-to-coarse
 * merges, flushing, and the memory limit; layouts switched by a reload
 * (windows keep the layout of their start, merges map analyses by name and
 * id, partial fields are left out), omitted fields, retiring layouts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "engine/window.h"

/* One analysis: a sum at offset 0 and a max at offset 8. */
static const hf_field fields[] = {{0, HF_FIELD_SUM, 0}, {8, HF_FIELD_MAX, 0}};

typedef struct emitted {
    int64_t g_ms, start_ms;
    uint8_t last_byte;
    double  sum, max;
} emitted;

typedef struct sink {
    emitted items[4096];
    int     n;
    size_t  off;
} sink;

static void collect(void *ctx, hf_window *w)
{
    sink *s = ctx;
    for (uint32_t i = 0; i < w->nhosts && s->n < 4096; i++) {
        uint8_t *row = hf_window_row(w, i);
        emitted *e = &s->items[s->n++];
        e->g_ms = w->g_ms;
        e->start_ms = w->start_ms;
        e->last_byte = row[15];
        memcpy(&e->sum, row + s->off, 8);
        memcpy(&e->max, row + s->off + 8, 8);
    }
}

static const emitted *find(const sink *s, int64_t g, int64_t start, uint8_t host)
{
    for (int i = 0; i < s->n; i++)
        if (s->items[i].g_ms == g && s->items[i].start_ms == start && s->items[i].last_byte == host)
            return &s->items[i];
    return NULL;
}

static void addr_of(uint8_t a[16], uint32_t v)
{
    memset(a, 0, 16);
    a[10] = a[11] = 0xff;
    a[12] = (uint8_t)(v >> 24); a[13] = (uint8_t)(v >> 16);
    a[14] = (uint8_t)(v >> 8);  a[15] = (uint8_t)v;
}

/* Add value v for host h at time t (into the sum and the max). */
static int add(hf_windows *ws, size_t off, uint32_t h, int64_t t, double v)
{
    uint8_t a[16];
    addr_of(a, h);
    hf_window *w = hf_windows_base(ws, t);
    uint8_t *row = hf_window_host(ws, w, a, 4);
    if (!row) return -1;
    double sum, max;
    memcpy(&sum, row + off, 8);
    memcpy(&max, row + off + 8, 8);
    sum += v;
    if (v > max) max = v;
    memcpy(row + off, &sum, 8);
    memcpy(row + off + 8, &max, 8);
    return 0;
}

typedef struct fixture {
    hf_layout  layout;
    hf_pool   *pool;
    hf_windows ws;
    size_t     off;
    sink      *out;
} fixture;

static void setup(fixture *f, const int64_t *g, int n, size_t limit)
{
    hf_layout_init(&f->layout);
    hf_layout_add(&f->layout, "a", 16, fields, 2);
    f->off = f->layout.offsets[0];
    f->pool = hf_pool_new(limit);
    hf_windows_init(&f->ws, g, n, &f->layout, f->pool);
    f->out = calloc(1, sizeof(sink));
    f->out->off = f->off;
}

static void teardown(fixture *f)
{
    hf_windows_release(&f->ws);
    CHECK_EQ_INT(hf_pool_bytes(f->pool), 0);   /* every arena returned */
    hf_pool_free(f->pool);
    hf_layout_release(&f->layout);
    free(f->out);
}

TEST(layout_places_states_after_the_host)
{
    hf_layout l;
    hf_layout_init(&l);
    CHECK_EQ_INT(sizeof(hf_host), 20);
    CHECK_EQ_INT(l.row_size, 24);
    CHECK_EQ_INT(hf_layout_add(&l, "a", 16, fields, 2), 0);
    CHECK_EQ_INT(hf_layout_add(&l, "b", 12, fields, 1), 1);
    CHECK_EQ_INT(l.offsets[0], 24);                         /* doubles: at multiples of 8 */
    CHECK_EQ_INT(hf_layout_offset(&l, 1), 24 + 16);
    CHECK_EQ_INT(l.row_size, 24 + 16 + 16);                 /* 12 rounds up to 16 */
    hf_field bad = {20, HF_FIELD_SUM, 0};
    CHECK_EQ_INT(hf_layout_add(&l, "c", 16, &bad, 1), -1);  /* field outside the state */
    hf_layout_release(&l);
}

TEST(layout_puts_states_of_counts_right_after_the_host)
{
    /* nine counts and an empty state (1 byte) fill the 4 bytes after the
     * 20-byte host; the doubles follow at the next multiple of 8 */
    static const hf_field counts[] = {
        {0, HF_FIELD_COUNT32, 0}, {4, HF_FIELD_COUNT32, 0}, {8, HF_FIELD_COUNT32, 0},
        {12, HF_FIELD_COUNT32, 0}, {16, HF_FIELD_COUNT32, 0}, {20, HF_FIELD_COUNT32, 0},
        {24, HF_FIELD_COUNT32, 0}, {28, HF_FIELD_COUNT32, 0}, {32, HF_FIELD_COUNT32, 0},
    };
    hf_layout l;
    hf_layout_init(&l);
    CHECK_EQ_INT(hf_layout_add(&l, "sums", 16, fields, 2), 0);
    CHECK_EQ_INT(hf_layout_add(&l, "flags", 36, counts, 9), 1);
    CHECK_EQ_INT(hf_layout_add(&l, "empty", 1, NULL, 0), 2);
    CHECK_EQ_INT(l.offsets[1], 20);                          /* counts first, */
    CHECK_EQ_INT(l.offsets[2], 56);                          /* each a multiple of 4 */
    CHECK_EQ_INT(l.offsets[0], 64);                          /* then the doubles */
    CHECK_EQ_INT(l.row_size, 80);                            /* 20 + 36 + 4 + 4 + 16 */
    hf_layout_release(&l);
}

TEST(a_new_row_holds_every_state_as_hf_state_init_leaves_it)
{
    /* the layout's copy of a new row is made again when a state is added
     * (the states move) */
    static const hf_field counts[] = {{0, HF_FIELD_COUNT32, 0}, {4, HF_FIELD_COUNT32, 0}};
    static const hf_field set[] = {{0, HF_FIELD_DISTINCT, 77}, {16, HF_FIELD_MIN, 0}};
    hf_layout l;
    hf_layout_init(&l);
    hf_layout_add(&l, "a", 16, fields, 2);
    hf_layout_add(&l, "b", 8, counts, 2);
    hf_layout_add(&l, "c", 24, set, 2);
    hf_pool *pool = hf_pool_new(0);
    hf_windows ws;
    int64_t g[] = {10000};
    hf_windows_init(&ws, g, 1, &l, pool);
    uint8_t a[16];
    addr_of(a, 42);
    hf_window *w = hf_windows_base(&ws, 5);
    uint8_t *row = hf_window_host(&ws, w, a, 4);
    uint8_t want[256];
    memset(want, 0, sizeof want);
    for (int i = 0; i < l.n; i++) hf_state_init(&l.schemas[i], want + l.offsets[i]);
    CHECK(memcmp(row + sizeof(hf_host), want + sizeof(hf_host), l.row_size - sizeof(hf_host)) == 0);
    CHECK(memcmp(row, a, 16) == 0);
    CHECK_EQ_INT(((hf_host *)row)->row, 0);
    hf_windows_release(&ws);
    hf_pool_free(pool);
    hf_layout_release(&l);
}

TEST(base_is_the_gcd_of_the_granularities)
{
    fixture f;
    int64_t g[] = {10000, 15000};
    setup(&f, g, 2, 0);
    CHECK_EQ_INT(hf_windows_base_ms(&f.ws), 5000);
    CHECK_EQ_INT(f.ws.nlevels, 3);
    CHECK_EQ_INT(f.ws.levels[0].emit, 0);   /* 5 s is not asked for */
    teardown(&f);
}

TEST(a_window_closes_only_when_the_boundary_passes_its_end)
{
    fixture f;
    int64_t g[] = {10000};
    setup(&f, g, 1, 0);
    add(&f.ws, f.off, 1, 1000, 1);
    add(&f.ws, f.off, 1, 12000, 1);
    hf_windows_close(&f.ws, 9999, collect, f.out);
    CHECK_EQ_INT(f.out->n, 0);
    hf_windows_close(&f.ws, 10000, collect, f.out);
    CHECK_EQ_INT(f.out->n, 1);
    CHECK_EQ_INT(f.out->items[0].start_ms, 0);
    hf_windows_close(&f.ws, INT64_MAX, collect, f.out);   /* flush */
    CHECK_EQ_INT(f.out->n, 2);
    CHECK_EQ_INT(f.out->items[1].start_ms, 10000);
    teardown(&f);
}

TEST(coarse_windows_are_merges_of_fine_ones)
{
    fixture f;
    int64_t g[] = {10000, 30000, 60000, 300000};
    setup(&f, g, 4, 0);
    /* host 1: one value per second for 10 minutes; host 2: only in [20 s, 40 s) */
    for (int64_t t = 0; t < 600000; t += 1000) {
        add(&f.ws, f.off, 1, t, (double)(t / 1000));
        if (t >= 20000 && t < 40000) add(&f.ws, f.off, 2, t, 1);
        hf_windows_close(&f.ws, t - 5000 - (t - 5000) % 10000, collect, f.out);
    }
    hf_windows_close(&f.ws, INT64_MAX, collect, f.out);
    /* sums of 0..599 seconds by window */
    const emitted *e = find(f.out, 10000, 20000, 1);
    CHECK(e && e->sum == 20 + 21 + 22 + 23 + 24 + 25 + 26 + 27 + 28 + 29 && e->max == 29);
    e = find(f.out, 30000, 30000, 1);
    CHECK(e && e->sum == (30 + 59) * 30 / 2 && e->max == 59);
    e = find(f.out, 60000, 60000, 2);
    CHECK(e == NULL);
    e = find(f.out, 60000, 0, 2);
    CHECK(e && e->sum == 20 && e->max == 1);
    e = find(f.out, 300000, 300000, 1);
    CHECK(e && e->sum == (300.0 + 599) * 300 / 2 && e->max == 599);
    /* counts: host 1 in every window of every granularity, host 2 in few */
    int per_g[4] = {0};
    for (int i = 0; i < f.out->n; i++)
        for (int k = 0; k < 4; k++)
            if (f.out->items[i].g_ms == g[k] && f.out->items[i].last_byte == 1) per_g[k]++;
    CHECK_EQ_INT(per_g[0], 60);
    CHECK_EQ_INT(per_g[1], 20);
    CHECK_EQ_INT(per_g[2], 10);
    CHECK_EQ_INT(per_g[3], 2);
    teardown(&f);
}

TEST(granularities_that_do_not_divide_each_other_merge_from_the_base)
{
    fixture f;
    int64_t g[] = {10000, 15000};
    setup(&f, g, 2, 0);
    for (int64_t t = 0; t < 30000; t += 1000) add(&f.ws, f.off, 7, t, 1);
    hf_windows_close(&f.ws, INT64_MAX, collect, f.out);
    const emitted *e = find(f.out, 15000, 15000, 7);
    CHECK(e && e->sum == 15);
    e = find(f.out, 10000, 20000, 7);
    CHECK(e && e->sum == 10);
    CHECK_EQ_INT(f.out->n, 5);   /* 3 windows of 10 s, 2 of 15 s */
    teardown(&f);
}

TEST(negative_times_floor_to_their_window)
{
    fixture f;
    int64_t g[] = {10000};
    setup(&f, g, 1, 0);
    add(&f.ws, f.off, 1, -1, 1);
    hf_windows_close(&f.ws, INT64_MAX, collect, f.out);
    CHECK(f.out->n == 1 && f.out->items[0].start_ms == -10000);
    teardown(&f);
}

TEST(a_table_of_many_hosts_finds_each_again)
{
    fixture f;
    int64_t g[] = {10000};
    setup(&f, g, 1, 0);
    for (uint32_t h = 0; h < 50000; h++) add(&f.ws, f.off, h * 2654435761u, 1000, 1);
    for (uint32_t h = 0; h < 50000; h++) add(&f.ws, f.off, h * 2654435761u, 2000, 2);
    hf_window *w = hf_windows_base(&f.ws, 1000);
    CHECK_EQ_INT(w->nhosts, 50000);
    int bad = 0;
    for (uint32_t i = 0; i < w->nhosts; i++) {
        double sum;
        memcpy(&sum, hf_window_row(w, i) + f.off, 8);
        if (sum != 3) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    teardown(&f);
}

/* hf_window_hosts gives what one hf_window_host call per flow gives, in the
 * same order: flows of new and known hosts, IPv4 and IPv6, the same host
 * several times within a block (new the first time), tables that grow in
 * the middle of a block, and under a memory limit the same refusals. */
static void hosts_both_ways(size_t limit, uint32_t nflows, uint32_t nhosts, uint32_t seed)
{
    fixture one, many;
    int64_t g[] = {10000};
    setup(&one, g, 1, limit);
    setup(&many, g, 1, limit);
    hf_flow *flows = calloc(nflows, sizeof *flows);
    uint8_t **rows = calloc(nflows, sizeof *rows);
    uint32_t x = seed;
    int same = 1;
    for (int round = 0; round < 3; round++) {
        for (uint32_t i = 0; i < nflows; i++) {
            x = x * 1664525u + 1013904223u;
            uint32_t h = (x >> 8) % nhosts;
            addr_of(flows[i].src, h * 2654435761u);
            flows[i].family = 4;
            if (h % 7 == 0) {                     /* some IPv6 hosts */
                flows[i].src[0] = 0x20;
                flows[i].src[10] = 0;
                flows[i].family = 6;
            }
        }
        hf_window *w1 = hf_windows_base(&one.ws, 1000), *w2 = hf_windows_base(&many.ws, 1000);
        hf_window_hosts(&many.ws, w2, flows, nflows, rows);
        for (uint32_t i = 0; i < nflows; i++) {
            uint8_t *r1 = hf_window_host(&one.ws, w1, flows[i].src, flows[i].family);
            if (!r1 != !rows[i]) same = 0;
            else if (r1 && (((hf_host *)r1)->row != ((hf_host *)rows[i])->row ||
                            memcmp(rows[i], flows[i].src, 16) != 0 ||
                            ((hf_host *)rows[i])->v6 != ((hf_host *)r1)->v6)) same = 0;
        }
        CHECK_EQ_INT(w2->nhosts, w1->nhosts);
        CHECK_EQ_INT(many.ws.hosts_refused, one.ws.hosts_refused);
    }
    CHECK(same);
    free(flows);
    free(rows);
    teardown(&one);
    teardown(&many);
}

TEST(hosts_looked_up_together_are_those_looked_up_one_by_one)
{
    hosts_both_ways(0, 5000, 300, 1);          /* few hosts, many repeats in a block */
    hosts_both_ways(0, 100000, 80000, 2);      /* tables that grow mid-block */
    hosts_both_ways(0, 63, 1000000, 3);        /* less than a block */
    hosts_both_ways(0, 0, 1, 4);               /* nothing */
    hosts_both_ways(1 << 20, 100000, 100000, 5);   /* refusals at the memory limit */
}

TEST(a_new_window_gets_a_table_for_as_many_hosts_as_the_last_one_closed)
{
    fixture f;
    int64_t g[] = {10000};
    setup(&f, g, 1, 0);
    for (uint32_t h = 0; h < 1000; h++) add(&f.ws, f.off, h, 1000, 1);
    hf_window *w = hf_windows_base(&f.ws, 1000);
    uint32_t grown = w->mask;
    CHECK_EQ_INT(grown + 1, 2048);                  /* 1000 hosts: at most 3/4 of 2048 */
    hf_windows_close(&f.ws, 10000, collect, f.out);
    CHECK_EQ_INT(hf_windows_base(&f.ws, 15000)->mask, grown);   /* made that size at once */
    for (uint32_t h = 0; h < 10; h++) add(&f.ws, f.off, h, 15000, 1);
    hf_windows_close(&f.ws, 20000, collect, f.out);
    CHECK_EQ_INT(hf_windows_base(&f.ws, 25000)->mask + 1, 64);  /* and the next for 10 */
    teardown(&f);
    /* a table the memory limit has no room for starts small */
    setup(&f, g, 1, 96 << 10);
    for (uint32_t h = 0; h < 200; h++) add(&f.ws, f.off, h, 1000, 1);
    f.ws.levels[0].last_hosts = 1u << 20;
    CHECK_EQ_INT(hf_windows_base(&f.ws, 15000)->mask + 1, 64);
    teardown(&f);
}

TEST(the_memory_limit_refuses_new_hosts_and_counts_them)
{
    fixture f;
    int64_t g[] = {10000};
    setup(&f, g, 1, 1 << 20);
    int refused = 0;
    for (uint32_t h = 0; h < 100000; h++) refused += add(&f.ws, f.off, h, 1000, 1) < 0;
    CHECK(refused > 0);
    CHECK_EQ_INT(f.ws.hosts_refused, refused);
    CHECK(hf_pool_peak(f.pool) <= (1 << 20) + 2 * HF_ARENA_BLOCK);
    /* hosts already held still count */
    CHECK_EQ_INT(add(&f.ws, f.off, 0, 1000, 1), 0);
    teardown(&f);
}

TEST(the_memory_limit_counts_the_table_a_new_host_would_grow)
{
    /* the bytes of a window whose table is as full as it gets before it
     * doubles (3/4 of 2^16 slots), without a limit ... */
    enum { HOSTS = (1 << 16) / 4 * 3 };
    fixture f;
    int64_t g[] = {10000};
    setup(&f, g, 1, 0);
    for (uint32_t h = 0; h < HOSTS; h++) add(&f.ws, f.off, h, 1000, 1);
    size_t full = hf_pool_bytes(f.pool);
    teardown(&f);
    /* ... and with a limit 1 KiB above them: the next host would double the
     * table (512 KiB more, the old one still there): it is refused */
    size_t limit = full + 1024;
    setup(&f, g, 1, limit);
    for (uint32_t h = 0; h < HOSTS; h++) CHECK_EQ_INT(add(&f.ws, f.off, h, 1000, 1), 0);
    CHECK(add(&f.ws, f.off, HOSTS, 1000, 1) < 0);
    CHECK_EQ_INT(f.ws.hosts_refused, 1);
    CHECK(hf_pool_peak(f.pool) <= limit);
    teardown(&f);
}

/* ------------------------------------------------------------------------
 * Layouts and reloads
 * --------------------------------------------------------------------- */

/* One SUM field per analysis. */
static const hf_field one_sum[] = {{0, HF_FIELD_SUM, 0}};

static hf_layout *layout_of(const char *const *names, const uint32_t *ids, int n)
{
    hf_layout *l = calloc(1, sizeof *l);
    hf_layout_init(l);
    for (int i = 0; i < n; i++) hf_layout_add_id(l, names[i], ids[i], 8, one_sum, 1);
    return l;
}

static void layout_free(hf_layout *l)
{
    hf_layout_release(l);
    free(l);
}

/* The index of analysis name in l, or -1. */
static int index_of(const hf_layout *l, const char *name)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->names[i], name) == 0) return i;
    return -1;
}

/* Add v to analysis name of host h at time t; -1 when the window's layout
 * has no such analysis. */
static int add_to(hf_windows *ws, const char *name, uint32_t h, int64_t t, double v)
{
    uint8_t a[16];
    addr_of(a, h);
    hf_window *w = hf_windows_base(ws, t);
    int i = index_of(w->layout, name);
    uint8_t *row = hf_window_host(ws, w, a, 4);
    if (i < 0 || !row) return -1;
    double sum;
    memcpy(&sum, row + w->layout->offsets[i], 8);
    sum += v;
    memcpy(row + w->layout->offsets[i], &sum, 8);
    return 0;
}

/* What a record of a window would show: per host, per analysis, the sum or
 * nothing (left out). */
typedef struct shown {
    int64_t g_ms, start_ms;
    uint8_t host;
    int     n;
    char    names[8][8];
    double  sums[8];
} shown;

typedef struct shown_sink {
    shown items[256];
    int   n;
} shown_sink;

static void show(void *ctx, hf_window *w)
{
    shown_sink *s = ctx;
    const hf_layout *l = w->layout;
    for (uint32_t i = 0; i < w->nhosts && s->n < 256; i++) {
        const uint8_t *row = hf_window_row(w, i);
        const hf_host *h = (const hf_host *)row;
        shown *e = &s->items[s->n++];
        memset(e, 0, sizeof *e);
        e->g_ms = w->g_ms;
        e->start_ms = w->start_ms;
        e->host = h->addr[15];
        for (int a = 0; a < l->n && e->n < 8; a++) {
            if (hf_window_omit(w, h->row) >> a & 1) continue;
            snprintf(e->names[e->n], sizeof e->names[0], "%s", l->names[a]);
            memcpy(&e->sums[e->n], row + l->offsets[a], 8);
            e->n++;
        }
    }
}

/* The value of analysis name in the record (g, start, host); -1 when it is
 * left out, -2 when there is no record. */
static double field_of(const shown_sink *s, int64_t g, int64_t start, uint8_t host, const char *name)
{
    for (int i = 0; i < s->n; i++) {
        const shown *e = &s->items[i];
        if (e->g_ms != g || e->start_ms != start || e->host != host) continue;
        for (int k = 0; k < e->n; k++)
            if (strcmp(e->names[k], name) == 0) return e->sums[k];
        return -1;
    }
    return -2;
}

TEST(windows_keep_the_layout_of_their_start)
{
    static const char *const n1[] = {"a"}, *const n2[] = {"a", "b"};
    static const uint32_t i1[] = {1}, i2[] = {1, 2};
    hf_layout *old = layout_of(n1, i1, 1), *new = layout_of(n2, i2, 2);
    hf_pool *pool = hf_pool_new(0);
    hf_windows ws;
    int64_t g[] = {10000, 60000};
    hf_windows_init(&ws, g, 2, old, pool);
    CHECK(hf_windows_base(&ws, 5000)->layout == old);
    hf_windows_switch(&ws, new, 20000);
    CHECK(hf_windows_base(&ws, 25000)->layout == new);
    CHECK(hf_windows_base(&ws, 15000)->layout == old);   /* made after the switch, starts before */
    CHECK(hf_windows_base(&ws, 5000)->layout == old);
    CHECK_EQ_INT(old->windows, 2);
    CHECK_EQ_INT(new->windows, 1);
    hf_windows_release(&ws);
    CHECK_EQ_INT(old->windows + new->windows, 0);
    hf_pool_free(pool);
    layout_free(old);
    layout_free(new);
}

TEST(a_reload_loses_no_flow_and_leaves_out_partial_fields)
{
    /* before S = 30 s: a (id 1), b (id 2), c (id 3); from S: a (same), b
     * changed (id 4), d added (id 5); c removed */
    static const char *const n1[] = {"a", "b", "c"}, *const n2[] = {"a", "b", "d"};
    static const uint32_t i1[] = {1, 2, 3}, i2[] = {1, 4, 5};
    hf_layout *old = layout_of(n1, i1, 3), *new = layout_of(n2, i2, 3);
    hf_pool *pool = hf_pool_new(0);
    hf_windows ws;
    int64_t g[] = {10000, 60000};
    hf_windows_init(&ws, g, 2, old, pool);
    shown_sink *out = calloc(1, sizeof *out);
    /* host 1: one flow per second over [0, 60 s); host 2: only before S */
    for (int64_t t = 0; t < 60000; t += 1000) {
        if (t == 25000) hf_windows_switch(&ws, new, 30000);   /* every flow seen so far is before S */
        CHECK_EQ_INT(add_to(&ws, "a", 1, t, 1), 0);
        CHECK_EQ_INT(add_to(&ws, "b", 1, t, 1), 0);
        if (t < 30000) CHECK_EQ_INT(add_to(&ws, "c", 1, t, 1), 0);
        else CHECK_EQ_INT(add_to(&ws, "d", 1, t, 1), 0);
        if (t < 20000) add_to(&ws, "c", 2, t, 1);
    }
    hf_windows_close(&ws, INT64_MAX, show, out);
    /* base windows: each with the analyses of its start, complete */
    CHECK(field_of(out, 10000, 20000, 1, "c") == 10);
    CHECK(field_of(out, 10000, 20000, 1, "d") == -1);
    CHECK(field_of(out, 10000, 30000, 1, "d") == 10);
    CHECK(field_of(out, 10000, 30000, 1, "c") == -1);
    double base_total = 0;
    for (int64_t s = 0; s < 60000; s += 10000) base_total += field_of(out, 10000, s, 1, "a");
    CHECK(base_total == 60);
    /* the minute began before S: "a" merged whole; "b" and "c" partial for
     * host 1, left out; "d" not in its layout; host 2 had no flow after S */
    CHECK(field_of(out, 60000, 0, 1, "a") == 60);
    CHECK(field_of(out, 60000, 0, 1, "b") == -1);
    CHECK(field_of(out, 60000, 0, 1, "c") == -1);
    CHECK(field_of(out, 60000, 0, 1, "d") == -1);
    CHECK(field_of(out, 60000, 0, 2, "c") == 20);
    free(out);
    hf_windows_release(&ws);
    /* every window is closed: the old layout can go */
    CHECK(hf_windows_retire(&ws, INT64_MAX) == old);
    CHECK(hf_windows_retire(&ws, INT64_MAX) == NULL);
    hf_pool_free(pool);
    layout_free(old);
    layout_free(new);
}

TEST(omitted_fields_stay_omitted_in_coarser_windows)
{
    fixture f;
    int64_t g[] = {10000, 30000};
    setup(&f, g, 2, 0);
    add(&f.ws, f.off, 1, 1000, 1);
    add(&f.ws, f.off, 2, 1000, 1);
    add(&f.ws, f.off, 1, 12000, 1);
    uint8_t a[16];
    addr_of(a, 1);
    hf_window *w = hf_windows_base(&f.ws, 1000);
    const hf_host *h = (const hf_host *)hf_window_host(&f.ws, w, a, 4);
    hf_window_omit_set(w, h->row, 1);                          /* analysis 0 failed for host 1 */
    shown_sink *out = calloc(1, sizeof *out);
    hf_windows_close(&f.ws, INT64_MAX, show, out);
    CHECK(field_of(out, 10000, 0, 1, "a") == -1);
    CHECK(field_of(out, 10000, 10000, 1, "a") == 1);          /* the next window is whole */
    CHECK(field_of(out, 30000, 0, 1, "a") == -1);             /* the coarse one is not */
    CHECK(field_of(out, 30000, 0, 2, "a") == 1);              /* others untouched */
    free(out);
    teardown(&f);
}

TEST(omit_bits_are_kept_beside_the_rows_only_where_set)
{
    fixture f;
    int64_t g[] = {10000};
    setup(&f, g, 1, 0);
    for (uint32_t h = 0; h < 3 * HF_CHUNK_ROWS; h++) add(&f.ws, f.off, h, 1000, 1);
    hf_window *w = hf_windows_base(&f.ws, 1000);
    CHECK(w->omit == NULL && w->omit_any == 0);                /* none set: nothing made */
    for (uint32_t i = 0; i < w->nhosts; i++) {
        CHECK_EQ_INT(((const hf_host *)hf_window_row(w, i))->row, i);
        CHECK(hf_window_omit(w, i) == 0);
    }
    hf_window_omit_set(w, 5, 0);                               /* no bits: still nothing */
    CHECK(w->omit == NULL);
    hf_window_omit_set(w, 2 * HF_CHUNK_ROWS + 7, 1ULL << 63);
    hf_window_omit_set(w, 2 * HF_CHUNK_ROWS + 7, 2);
    CHECK(w->omit[0] == NULL && w->omit[1] == NULL && w->omit[2] != NULL);
    for (uint32_t h = 3 * HF_CHUNK_ROWS; h < 9 * HF_CHUNK_ROWS; h++) add(&f.ws, f.off, h, 1000, 1);
    hf_window_omit_set(w, 8 * HF_CHUNK_ROWS + 1, 4);           /* a later chunk: the list grows */
    CHECK(w->omit_chunks >= 9);
    for (uint32_t i = 0; i < w->nhosts; i++) {
        uint64_t want = i == 2 * HF_CHUNK_ROWS + 7 ? (1ULL << 63 | 2) : i == 8 * HF_CHUNK_ROWS + 1 ? 4 : 0;
        CHECK(hf_window_omit(w, i) == want);
    }
    CHECK(w->omit_any == (1ULL << 63 | 2 | 4));
    teardown(&f);
}

TEST(a_layout_is_retired_once_no_window_can_use_it)
{
    static const char *const n[] = {"a"};
    static const uint32_t i1[] = {1}, i2[] = {2}, i3[] = {3};
    hf_layout *l1 = layout_of(n, i1, 1), *l2 = layout_of(n, i2, 1), *l3 = layout_of(n, i3, 1);
    hf_pool *pool = hf_pool_new(0);
    hf_windows ws;
    int64_t g[] = {10000, 60000};
    hf_windows_init(&ws, g, 2, l1, pool);
    shown_sink *out = calloc(1, sizeof *out);
    add_to(&ws, "a", 1, 5000, 1);
    hf_windows_switch(&ws, l2, 10000);
    add_to(&ws, "a", 1, 15000, 1);
    hf_windows_close(&ws, 10000, show, out);
    /* the minute [0, 60 s) of l1 is open, and windows starting before 10 s
     * could still be made until the boundary passes 10 s + 1 min */
    CHECK(hf_windows_retire(&ws, 10000) == NULL);
    hf_windows_switch(&ws, l3, 20000);
    hf_windows_close(&ws, 60000, show, out);
    CHECK(hf_windows_retire(&ws, 60000) == NULL);
    hf_windows_close(&ws, 70000, show, out);
    CHECK(hf_windows_retire(&ws, 70000) == l1);               /* the oldest first */
    CHECK(hf_windows_retire(&ws, 70000) == NULL);              /* l2: until 20 s + 1 min */
    CHECK(hf_windows_retire(&ws, 80000) == l2);
    CHECK(hf_windows_retire(&ws, 80000) == NULL);              /* l3 is the newest */
    CHECK(ws.layout == l3 && l3->older == NULL);
    /* a switch before any window: the old layout goes at once */
    hf_layout *l4 = layout_of(n, i1, 1);
    hf_windows_switch(&ws, l4, INT64_MIN);
    CHECK(hf_windows_retire(&ws, 80000) == l3);
    free(out);
    hf_windows_release(&ws);
    hf_pool_free(pool);
    layout_free(l1);
    layout_free(l2);
    layout_free(l3);
    layout_free(l4);
}

TEST(merges_match_analyses_by_name_and_id_not_position)
{
    /* the new layout puts "b" first: the minute's "a" must still get a's sums */
    static const char *const n1[] = {"a", "b"}, *const n2[] = {"b", "a"};
    static const uint32_t i1[] = {1, 2}, i2[] = {2, 1};
    hf_layout *old = layout_of(n1, i1, 2), *new = layout_of(n2, i2, 2);
    hf_pool *pool = hf_pool_new(0);
    hf_windows ws;
    int64_t g[] = {10000, 60000};
    hf_windows_init(&ws, g, 2, old, pool);
    shown_sink *out = calloc(1, sizeof *out);
    add_to(&ws, "a", 1, 1000, 1);
    add_to(&ws, "b", 1, 1000, 100);
    hf_windows_switch(&ws, new, 10000);
    add_to(&ws, "a", 1, 11000, 2);
    add_to(&ws, "b", 1, 11000, 200);
    hf_windows_close(&ws, INT64_MAX, show, out);
    CHECK(field_of(out, 60000, 0, 1, "a") == 3);
    CHECK(field_of(out, 60000, 0, 1, "b") == 300);
    free(out);
    hf_windows_release(&ws);
    hf_pool_free(pool);
    layout_free(old);
    layout_free(new);
}

int main(void)
{
    RUN(layout_places_states_after_the_host);
    RUN(layout_puts_states_of_counts_right_after_the_host);
    RUN(a_new_row_holds_every_state_as_hf_state_init_leaves_it);
    RUN(base_is_the_gcd_of_the_granularities);
    RUN(a_window_closes_only_when_the_boundary_passes_its_end);
    RUN(coarse_windows_are_merges_of_fine_ones);
    RUN(granularities_that_do_not_divide_each_other_merge_from_the_base);
    RUN(negative_times_floor_to_their_window);
    RUN(a_table_of_many_hosts_finds_each_again);
    RUN(hosts_looked_up_together_are_those_looked_up_one_by_one);
    RUN(a_new_window_gets_a_table_for_as_many_hosts_as_the_last_one_closed);
    RUN(the_memory_limit_refuses_new_hosts_and_counts_them);
    RUN(the_memory_limit_counts_the_table_a_new_host_would_grow);
    RUN(windows_keep_the_layout_of_their_start);
    RUN(a_reload_loses_no_flow_and_leaves_out_partial_fields);
    RUN(omitted_fields_stay_omitted_in_coarser_windows);
    RUN(omit_bits_are_kept_beside_the_rows_only_where_set);
    RUN(a_layout_is_retired_once_no_window_can_use_it);
    RUN(merges_match_analyses_by_name_and_id_not_position);
    return UNIT_END();
}
