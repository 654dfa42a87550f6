/* bench_plainc.c -- the five default statistics computed in plain C: the
 * yardstick of what running them as Lua analyses costs.
 *
 *   build/tools/bench_plainc [-r RUNS] [-n LINES] [-o OUT] FILE
 *
 * The same input as bench_lua (the batches `hostflow run -j1` hands its
 * worker, cut untimed by tests/bench/benchlib.h) and the same work, with
 * the core's own machinery wherever the work is not the statistics: the
 * windows of core/window.c (host tables, rows, closing, fine-to-coarse
 * merges through the same state schemas), hf_distinct for the distinct
 * peers and ports, hf_buf for the JSON, a record batch for the records.  What is
 * C here and Lua in hostflow is exactly the analyses: the per-flow update,
 * the per-host result and its JSON.  The state rows have the layout the Lua
 * side gives them (the fields of each analysis in name order), so memory
 * and merges are the same too.
 *
 * The flows of a batch go to the windows as the worker hands them to Lua
 * (core/engine/worker.c, process_group): those of one base window at a
 * time, copied into one array, their host rows looked up together
 * (hf_window_hosts), then the statistics of each flow in turn.
 *
 * The records are byte for byte those of hostflow with one worker (run.sh
 * checks it with -o on a slice of the input), so both sides compute the
 * same statistics.  Timed like bench_lua: this thread's CPU time, RUNS runs
 * (default 5), one JSON line with flows per second per run. */
#include "../bench/benchlib.h"

#include "prim/distinct.h"
#include "base/hash.h"
#include "prim/state.h"
#include "engine/window.h"

/* The analyses' states, fields in name order as lua/hostflow/schema.lua
 * lays them out. */
typedef struct st_total { double bytes, flow, packets; } st_total;
typedef struct st_avg { double duration_ms, flows; } st_avg;
typedef struct st_dport { hf_distinct ports; } st_dport;
typedef struct st_peer { hf_distinct peers; } st_peer;
typedef struct st_tcp { uint32_t ACK, CWR, ECE, FIN, PSH, RST, SYN, URG, tcp; } st_tcp;

typedef struct plainc {
    hf_layout  layout;
    hf_windows windows;
    hf_pool   *pool;
    hf_record_batch out;
    bench_sink *sink;
    size_t     o_total, o_avg, o_dport, o_peer, o_tcp;   /* offsets in a row */
    uint64_t   records;
    int64_t    closed_until;
    hf_flow   *group_flows;     /* the flows of one base window (as the worker's) */
    uint8_t  **group_rows;
    unsigned char *done;        /* per batch flow: handled */
} plainc;

#define F(type, field, kind, param) {(uint32_t)offsetof(type, field), (kind), (param)}

static void plainc_init(plainc *p, const hf_config *cfg, bench_sink *sink)
{
    memset(p, 0, sizeof *p);
    uint32_t ex = (uint32_t)cfg->distinct_exact;
    const hf_field total[] = {F(st_total, bytes, HF_FIELD_SUM, 0), F(st_total, flow, HF_FIELD_SUM, 0),
                              F(st_total, packets, HF_FIELD_SUM, 0)};
    const hf_field avg[] = {F(st_avg, duration_ms, HF_FIELD_SUM, 0), F(st_avg, flows, HF_FIELD_SUM, 0)};
    const hf_field dport[] = {F(st_dport, ports, HF_FIELD_DISTINCT, ex)};
    const hf_field peer[] = {F(st_peer, peers, HF_FIELD_DISTINCT, ex)};
    const hf_field tcp[] = {F(st_tcp, ACK, HF_FIELD_COUNT32, 0), F(st_tcp, CWR, HF_FIELD_COUNT32, 0),
                            F(st_tcp, ECE, HF_FIELD_COUNT32, 0), F(st_tcp, FIN, HF_FIELD_COUNT32, 0),
                            F(st_tcp, PSH, HF_FIELD_COUNT32, 0), F(st_tcp, RST, HF_FIELD_COUNT32, 0),
                            F(st_tcp, SYN, HF_FIELD_COUNT32, 0), F(st_tcp, URG, HF_FIELD_COUNT32, 0),
                            F(st_tcp, tcp, HF_FIELD_COUNT32, 0)};
    hf_layout_init(&p->layout);
    hf_layout_add(&p->layout, "total", sizeof(st_total), total, 3);
    hf_layout_add(&p->layout, "avg_flow_duration", sizeof(st_avg), avg, 2);
    hf_layout_add(&p->layout, "dport_count", sizeof(st_dport), dport, 1);
    hf_layout_add(&p->layout, "peer_number", sizeof(st_peer), peer, 1);
    hf_layout_add(&p->layout, "tcp_flags", sizeof(st_tcp), tcp, 9);
    /* the offsets are final once every state is added */
    p->o_total = p->layout.offsets[0];
    p->o_avg = p->layout.offsets[1];
    p->o_dport = p->layout.offsets[2];
    p->o_peer = p->layout.offsets[3];
    p->o_tcp = p->layout.offsets[4];
    p->pool = hf_pool_new(cfg->memory_max);
    hf_windows_init(&p->windows, cfg->windows_ms, cfg->nwindows, &p->layout, p->pool);
    hf_record_batch_init(&p->out);
    p->sink = sink;
    p->closed_until = INT64_MIN;
    p->group_flows = hf_malloc(sizeof(hf_flow) * (size_t)cfg->batch);
    p->group_rows = hf_malloc(sizeof(uint8_t *) * (size_t)cfg->batch);
    p->done = hf_malloc((size_t)cfg->batch);
}

static void plainc_free(plainc *p)
{
    hf_windows_release(&p->windows);
    hf_layout_release(&p->layout);
    hf_pool_free(p->pool);
    hf_record_batch_release(&p->out);
    hf_free(p->group_flows);
    hf_free(p->group_rows);
    hf_free(p->done);
}

/* ------------------------------------------------------------------------
 * The statistics
 * --------------------------------------------------------------------- */

static inline void update(const plainc *p, uint8_t *row, const hf_flow *f, hf_arena *a)
{
    st_total *t = (st_total *)(void *)(row + p->o_total);
    t->flow += 1;
    t->packets += f->packets;
    t->bytes += f->bytes;
    st_avg *d = (st_avg *)(void *)(row + p->o_avg);
    d->flows += 1;
    d->duration_ms += f->end_ms - f->start_ms;
    hf_distinct_add_u16(&((st_dport *)(void *)(row + p->o_dport))->ports, f->dport, a);
    hf_distinct_add_addr(&((st_peer *)(void *)(row + p->o_peer))->peers, f->dst, a);
    if (f->proto == 6) {
        st_tcp *c = (st_tcp *)(void *)(row + p->o_tcp);
        unsigned fl = f->tcp_flags;
        c->tcp += 1;
        c->FIN += fl & 1;
        c->SYN += (fl >> 1) & 1;
        c->RST += (fl >> 2) & 1;
        c->PSH += (fl >> 3) & 1;
        c->ACK += (fl >> 4) & 1;
        c->URG += (fl >> 5) & 1;
        c->ECE += (fl >> 6) & 1;
        c->CWR += (fl >> 7) & 1;
    }
}

static inline void put_kv(hf_buf *b, const char *key, double v)
{
    hf_buf_puts(b, key);
    hf_buf_put_number(b, v);
}

/* The record of one host: the core's own head, then every statistic as
 * the analyses' result() and json.lua give it. */
static void record(plainc *p, const hf_window *win, const uint8_t *row)
{
    hf_buf *b = &p->out.text;
    const hf_host *h = (const hf_host *)(const void *)row;
    hf_record_host_head(&p->out, win, h);

    const st_total *t = (const st_total *)(const void *)(row + p->o_total);
    put_kv(b, "\"total\":{\"flow\":", t->flow);
    put_kv(b, ",\"packets\":", t->packets);
    put_kv(b, ",\"bytes\":", t->bytes);
    const st_avg *d = (const st_avg *)(const void *)(row + p->o_avg);
    put_kv(b, "},\"avg_flow_duration\":", d->duration_ms / d->flows / 1000);
    const st_dport *dp = (const st_dport *)(const void *)(row + p->o_dport);
    put_kv(b, ",\"dport_count\":", floor(hf_distinct_count(&dp->ports) + 0.5));
    const st_peer *pe = (const st_peer *)(const void *)(row + p->o_peer);
    put_kv(b, ",\"peer_number\":", floor(hf_distinct_count(&pe->peers) + 0.5));
    const st_tcp *c = (const st_tcp *)(const void *)(row + p->o_tcp);
    if (c->tcp != 0) {
        put_kv(b, ",\"tcp_flags\":{\"FIN\":", c->FIN);
        put_kv(b, ",\"SYN\":", c->SYN);
        put_kv(b, ",\"RST\":", c->RST);
        put_kv(b, ",\"PSH\":", c->PSH);
        put_kv(b, ",\"ACK\":", c->ACK);
        put_kv(b, ",\"URG\":", c->URG);
        put_kv(b, ",\"ECE\":", c->ECE);
        put_kv(b, ",\"CWR\":", c->CWR);
        hf_buf_putc(b, '}');
    }
    hf_buf_puts(b, "}}");
    hf_record_end(&p->out);
}

static void emit(void *ctx, hf_window *win)
{
    plainc *p = ctx;
    for (uint32_t i = 0; i < win->nhosts; i++) {
        record(p, win, hf_window_row(win, i));
        if (p->out.text.len >= (1 << 20) || i + 1 == win->nhosts) {
            hf_records view;
            hf_record_batch_view(&p->out, &view);
            p->sink->sink.write(p->sink, &view);
            hf_record_batch_reset(&p->out);
        }
    }
    p->records += win->nhosts;
}

static int64_t floor_to(int64_t t, int64_t g)
{
    int64_t q = t / g;
    if (t % g < 0) q--;
    return q * g;
}

/* The flows of base window `start` not done yet (as the worker's
 * process_group takes them): their rows, looked up together, then the
 * statistics of each. */
static void process_group(plainc *p, const hf_batch *b, int first, int64_t start)
{
    int64_t g = hf_windows_base_ms(&p->windows);
    hf_window *win = hf_windows_base(&p->windows, start);
    int n = 0;
    for (int i = first; i < b->n; i++) {
        if (p->done[i]) continue;
        const hf_flow *f = &b->flows[i];
        if ((f->mark & HF_FLOW_NO_SRC) || floor_to((int64_t)f->end_ms, g) != start) continue;
        p->done[i] = 1;
        p->group_flows[n++] = *f;
    }
    hf_window_hosts(&p->windows, win, p->group_flows, (uint32_t)n, p->group_rows);
    for (int i = 0; i < n; i++)
        if (p->group_rows[i]) update(p, p->group_rows[i], &p->group_flows[i], win->arena);
}

/* A batch: every flow into its base window's host row, then close what the
 * boundary allows (as hf_worker_process does). */
static void process(plainc *p, const hf_batch *b)
{
    int64_t g = hf_windows_base_ms(&p->windows);
    memset(p->done, 0, (size_t)b->n);
    for (int i = 0; i < b->n; i++) {
        if (b->flows[i].mark & HF_FLOW_NO_SRC) continue;  /* for its destination: no statistic here */
        if (!p->done[i]) process_group(p, b, i, floor_to((int64_t)b->flows[i].end_ms, g));
    }
    int64_t boundary = b->final ? INT64_MAX : b->boundary;
    if (boundary > p->closed_until) {
        hf_windows_close(&p->windows, boundary, emit, p);
        p->closed_until = boundary;
    }
}

int main(int argc, char **argv)
{
    int runs = 5;
    size_t max = 0;
    const char *path = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-r") && i + 1 < argc) runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-n") && i + 1 < argc) max = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "-o") && i + 1 < argc) out = argv[++i];
        else if (argv[i][0] != '-') path = argv[i];
        else { path = NULL; break; }
    }
    if (!path || runs < 1 || runs > 100) {
        fprintf(stderr, "usage: bench_plainc [-r RUNS] [-n LINES] [-o OUT] FILE\n");
        return 2;
    }
    const char *root = getenv("HOSTFLOW_HOME");
    hf_config cfg;
    bench_config(&cfg, root && *root ? root : ".");
    bench_batches bb;
    if (bench_make_batches(path, max, &cfg, &bb) < 0) return 1;
    double rate[100];
    uint64_t records = 0;
    for (int r = 0; r < runs; r++) {
        bench_sink *sink = bench_sink_open(r == 0 && out ? out : "/dev/null");
        plainc p;
        plainc_init(&p, &cfg, sink);
        double t0 = bench_cpu_s();
        for (size_t i = 0; i < bb.nb; i++) process(&p, &bb.b[i]);
        double t = bench_cpu_s() - t0;
        records = p.records;
        rate[r] = (double)bb.nflows / t;
        plainc_free(&p);
        bench_sink_close(sink);
    }
    printf("{\"bench\":\"plainc\",\"lines\":%zu,\"flows\":%zu,\"batches\":%zu,\"records\":%llu,",
           bb.lines, bb.nflows, bb.nb, (unsigned long long)records);
    bench_print_series("flows_per_s", rate, runs, 1);
    printf("}\n");
    bench_batches_free(&bb);
    hf_config_release(&cfg);
    return 0;
}
