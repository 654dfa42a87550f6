/* bench_lua.c -- the worker with its Lua analyses, over flows decoded
 * beforehand; and the memory a host costs per window.
 *
 *   build/tools/bench_lua [-r RUNS] [-n LINES] [-o OUT] [-a DIR] FILE
 *   build/tools/bench_lua --memory HOSTS [--peers P] [--ports D]
 *
 * First form: reads FILE (the first LINES lines, 0 = all, the default) and
 * cuts it into the batches `hostflow run -j1` hands its worker (see
 * tests/bench/benchlib.h), untimed.  Then, RUNS times (default 5), a fresh
 * worker (the default configuration: the analyses of analyses/, or of DIR
 * with -a, windows 10s,30s,1m,5m) runs hf_worker_process() over every batch, records to
 * /dev/null (or OUT): the analyses' update() loops, the windows, the
 * merges, every analysis's result() and its JSON, and the records.  Timed
 * in this thread's CPU time; prints one JSON line with flows per second per
 * run.  bench_plainc does the same work with the statistics computed in C,
 * so the ratio of the two is what running them as Lua analyses costs.
 *
 * Second form: HOSTS hosts, each sending P flows (default 24) to P distinct
 * peers on D destination ports (default 6) in every window it is fed, are
 * fed in four base windows chosen so that, at the end, one window of every
 * granularity is open with every host in it:
 *
 *   feed [0,10s)    then the watermark passes 60s: 10s -> 30s -> 1m -> 5m [0,5m)
 *   feed [60,70s)   then 90s:  10s -> 30s [60,90s) -> 1m [60,120s)
 *   feed [90,100s)  then 100s: 10s -> 30s [90,120s)
 *   feed [100,110s)            the 10s window [100,110s)
 *
 * and prints the worker's state memory (its pool: host tables, state rows,
 * distinct sets) and the process's resident set then, in total and per
 * host per window.  The same per-host figure holds at every granularity:
 * the hosts' sets are the same in each.  It also prints the bytes of one
 * host's peer set and port set (hf_distinct_mem_bytes of sets fed the same
 * values with the configuration's exact limit, by this tool's own copy of
 * the core: the same code). */
#include "../bench/benchlib.h"

#include <dlfcn.h>

#include "base/log.h"
#include "prim/distinct.h"

static const char *root_dir(void)
{
    const char *r = getenv("HOSTFLOW_HOME");
    return r && *r ? r : ".";
}

/* The worker, and everything the Lua side reaches through the FFI, from
 * build/libhostflow.so ($HOSTFLOW_LIB), loaded with RTLD_GLOBAL.  The
 * analyses call the core's primitives by name (ffi.C), which finds only
 * exported symbols: hostflow exports its own (-rdynamic), this tool, built
 * by the Makefile's plain rule, does not, so without this the Lua side
 * would load a second copy of the core with a thread's current arena of
 * its own.  One copy, the library's, serves both sides. */
static struct {
    hf_worker *(*worker_new)(int, const hf_config *, const char *, const hf_record_sink *, size_t,
                             const hf_plan *, int, char *, size_t);
    void (*process)(hf_worker *, hf_batch *);
    void (*stats_get)(hf_worker *, hf_worker_stats *);
    void (*worker_free)(hf_worker *);
    int *log_level;
} lib;

static void *lib_sym(void *h, const char *name)
{
    void *p = dlsym(h, name);
    if (!p) {
        fprintf(stderr, "bench_lua: %s\n", dlerror());
        exit(1);
    }
    return p;
}

static void lib_load(void)
{
    char path[4096];
    const char *env = getenv("HOSTFLOW_LIB");
    if (env && *env) snprintf(path, sizeof path, "%s", env);
    else snprintf(path, sizeof path, "%s/build/libhostflow.so", root_dir());
    void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (!h) {
        fprintf(stderr, "bench_lua: %s (make builds it)\n", dlerror());
        exit(1);
    }
    *(void **)&lib.worker_new = lib_sym(h, "hf_worker_new");
    *(void **)&lib.process = lib_sym(h, "hf_worker_process");
    *(void **)&lib.stats_get = lib_sym(h, "hf_worker_stats_get");
    *(void **)&lib.worker_free = lib_sym(h, "hf_worker_free");
    lib.log_level = lib_sym(h, "hf_log_level");
}

static hf_worker *new_worker(const hf_config *cfg, bench_sink *sink)
{
    char err[1024], lua_dir[4096];
    snprintf(lua_dir, sizeof lua_dir, "%s/lua", root_dir());
    hf_worker *w = lib.worker_new(0, cfg, lua_dir, &sink->sink, cfg->memory_max, NULL, 0, err, sizeof err);
    if (!w) {
        fprintf(stderr, "bench_lua: %s\n", err);
        exit(1);
    }
    return w;
}

static bench_sink *open_sink(const char *out)
{
    return bench_sink_open(out ? out : "/dev/null");
}

/* ------------------------------------------------------------------------
 * Throughput
 * --------------------------------------------------------------------- */

static int run_file(const char *path, size_t max, int runs, const char *out, const char *dir)
{
    hf_config cfg;
    char err[1024];
    bench_config(&cfg, root_dir());
    if (dir && hf_config_set(&cfg, "analyses.dir", dir, "-a", 0, err, sizeof err) < 0) {
        fprintf(stderr, "bench_lua: %s\n", err);
        return 2;
    }
    bench_batches bb;
    if (bench_make_batches(path, max, &cfg, &bb) < 0) return 1;
    double rate[100];
    uint64_t records = 0;
    for (int r = 0; r < runs; r++) {
        bench_sink *sink = open_sink(r == 0 ? out : NULL);
        hf_worker *w = new_worker(&cfg, sink);
        double t0 = bench_cpu_s();
        for (size_t i = 0; i < bb.nb; i++) lib.process(w, &bb.b[i]);
        double t = bench_cpu_s() - t0;
        hf_worker_stats st;
        lib.stats_get(w, &st);
        records = st.records;
        rate[r] = (double)bb.nflows / t;
        lib.worker_free(w);
        bench_sink_close(sink);
    }
    printf("{\"bench\":\"lua\",\"lines\":%zu,\"flows\":%zu,\"batches\":%zu,\"records\":%llu,",
           bb.lines, bb.nflows, bb.nb, (unsigned long long)records);
    bench_print_series("flows_per_s", rate, runs, 1);
    printf("}\n");
    bench_batches_free(&bb);
    hf_config_release(&cfg);
    return 0;
}

/* ------------------------------------------------------------------------
 * Memory
 * --------------------------------------------------------------------- */

#define T0 1795701600000LL       /* 2026-11-26T14:00:00Z, a multiple of 5 min */

/* 16 bytes of an IPv4 address mapped into IPv6. */
static void inet4(uint8_t out[16], uint32_t v4)
{
    memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    out[12] = (uint8_t)(v4 >> 24); out[13] = (uint8_t)(v4 >> 16);
    out[14] = (uint8_t)(v4 >> 8);  out[15] = (uint8_t)v4;
}

static const uint16_t dports[] = {443, 80, 53, 22, 123, 8080, 993, 25, 3389, 5353,
                                  1194, 8443, 110, 143, 465, 587};

/* Host h's p-th peer. */
static uint32_t peer_of(uint32_t h, int p)
{
    return 0xc0000000u + (h * 7919u + (uint32_t)p * 104729u) % 0x1000000u;
}

/* Feed every host's P flows ending at end_ms (ms after T0); the first batch
 * carries the watermark boundary (ms after T0, or none). */
static void feed(hf_worker *w, hf_batch *b, int cap, uint32_t hosts, int peers, int ports,
                 int64_t end_ms, int64_t boundary_ms)
{
    int first = 1;
    b->n = 0;
    for (uint32_t h = 0; h < hosts; h++) {
        for (int p = 0; p < peers; p++) {
            hf_flow *f = &b->flows[b->n++];
            memset(f, 0, sizeof *f);
            inet4(f->src, 0x0a000000u + h);
            inet4(f->dst, peer_of(h, p));
            f->family = HF_AF_INET;
            f->end_ms = (double)(T0 + end_ms);
            f->start_ms = f->end_ms - 1000 - p;
            f->packets = 1 + p;
            f->bytes = 60.0 * (1 + p);
            f->proto = 6;
            f->sport = (uint16_t)(40000 + p);
            f->dport = dports[p % (ports < 16 ? ports : 16)];
            f->tcp_flags = 0x1b;
            if (b->n == cap) {
                b->boundary = first && boundary_ms >= 0 ? T0 + boundary_ms : INT64_MIN;
                first = 0;
                lib.process(w, b);
                b->n = 0;
            }
        }
    }
    if (b->n || first) {
        b->boundary = first && boundary_ms >= 0 ? T0 + boundary_ms : INT64_MIN;
        lib.process(w, b);
        b->n = 0;
    }
}

static int run_memory(uint32_t hosts, int peers, int ports)
{
    hf_config cfg;
    bench_config(&cfg, root_dir());
    cfg.memory_max = (size_t)64 << 30;      /* measure, do not refuse */
    bench_sink *sink = open_sink(NULL);
    size_t rss0 = bench_rss();
    hf_worker *w = new_worker(&cfg, sink);
    size_t rss_worker = bench_rss();
    hf_batch b;
    memset(&b, 0, sizeof b);
    b.flows = hf_malloc(sizeof(hf_flow) * (size_t)cfg.batch);
    double t0 = bench_wall_s();
    feed(w, &b, cfg.batch, hosts, peers, ports, 5000, -1);
    feed(w, &b, cfg.batch, hosts, peers, ports, 65000, 60000);
    feed(w, &b, cfg.batch, hosts, peers, ports, 95000, 90000);
    feed(w, &b, cfg.batch, hosts, peers, ports, 105000, 100000);
    double secs = bench_wall_s() - t0;
    hf_worker_stats st;
    lib.stats_get(w, &st);
    size_t rss = bench_rss();
    double hw = 4.0 * hosts;
    /* host 0's sets, as its row holds them */
    hf_pool *pool = hf_pool_new(0);
    hf_arena *a = hf_arena_new(pool);
    hf_distinct peer_set = {0}, port_set = {0};
    peer_set.limit = port_set.limit = (uint16_t)cfg.distinct_exact;
    for (int p = 0; p < peers; p++) {
        uint8_t addr[16];
        inet4(addr, peer_of(0, p));
        hf_distinct_add_addr(&peer_set, addr, a);
        hf_distinct_add_u16(&port_set, dports[p % (ports < 16 ? ports : 16)], a);
    }
    size_t peer_bytes = hf_distinct_mem_bytes(&peer_set), port_bytes = hf_distinct_mem_bytes(&port_set);
    int peer_sketch = hf_distinct_is_sketch(&peer_set);
    hf_arena_free(a);
    hf_pool_free(pool);
    printf("{\"bench\":\"memory\",\"hosts\":%u,\"peers\":%d,\"ports\":%d,\"levels\":4,"
           "\"peer_set_bytes\":%zu,\"peer_set_sketch\":%s,\"port_set_bytes\":%zu,\"distinct_exact\":%d,"
           "\"pool_bytes\":%zu,\"pool_peak_bytes\":%zu,\"rss_bytes\":%zu,\"rss_worker_bytes\":%zu,"
           "\"maxrss_bytes\":%zu,\"records\":%llu,"
           "\"pool_bytes_per_host_window\":%.1f,\"rss_bytes_per_host_window\":%.1f,\"seconds\":%.1f}\n",
           hosts, peers, ports, peer_bytes, peer_sketch ? "true" : "false", port_bytes, cfg.distinct_exact,
           st.mem_bytes, st.mem_peak, rss - rss0, rss_worker - rss0,
           bench_maxrss(), (unsigned long long)st.records,
           (double)st.mem_bytes / hw, (double)(rss - rss_worker) / hw, secs);
    hf_free(b.flows);
    lib.worker_free(w);
    bench_sink_close(sink);
    hf_config_release(&cfg);
    return 0;
}

int main(int argc, char **argv)
{
    int runs = 5, peers = 24, ports = 6;
    size_t max = 0;
    long mem_hosts = 0;
    const char *path = NULL, *out = NULL, *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-r") && i + 1 < argc) runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-n") && i + 1 < argc) max = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "-o") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "-a") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--memory") && i + 1 < argc) mem_hosts = atol(argv[++i]);
        else if (!strcmp(argv[i], "--peers") && i + 1 < argc) peers = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ports") && i + 1 < argc) ports = atoi(argv[++i]);
        else if (argv[i][0] != '-') path = argv[i];
        else { path = NULL; mem_hosts = 0; break; }
    }
    lib_load();
    *lib.log_level = HF_LOG_WARN;
    if (mem_hosts > 0 && mem_hosts <= 16000000 && peers >= 1 && ports >= 1)
        return run_memory((uint32_t)mem_hosts, peers, ports);
    if (!path || runs < 1 || runs > 100) {
        fprintf(stderr, "usage: bench_lua [-r RUNS] [-n LINES] [-o OUT] [-a DIR] FILE\n"
                        "       bench_lua --memory HOSTS [--peers P] [--ports D]\n");
        return 2;
    }
    return run_file(path, max, runs, out, dir);
}
