/* output_feed.c -- drive an output plugin through its table, as the engine
 * will: batches of records (hf_records) written from several threads at once,
 * flushed, counted, closed.  For the tests and the benchmark of outputs
 * until `hostflow run` writes to them itself.
 *
 *   output_feed [options] SPEC RECORDS
 *     SPEC      an output as -o takes it: opensearch:URL[,URL...]
 *     RECORDS   host records, one JSON object per line, as `hostflow run -o FILE` writes them
 *   -s KEY=VALUE    a configuration key (opensearch.batch_count=1000, ...)
 *   -b N            records per batch (500)
 *   -t N            writing threads (2); batch i goes to thread i % N
 *   -r N            write the file N times (1)
 *   -f N            flush after every N batches of each thread, waiting at most 2 s
 *                   (0: only at the end); those not done in time are counted
 *   -w MS           flush at the end waits at most MS (120000)
 *   -p MS           pause MS between two batches of a thread (0)
 *   --stats FILE    the counters as JSON (default: standard output)
 *
 * The counters are printed as one JSON object, with the times of open,
 * write and flush, records per second, and the peak resident set before
 * the first write (records loaded, output open) and at the end.
 *
 * Each record's id, type and time are found in its text (its "id",
 * "@type" and "@timestamp"), as the engine knows them when it makes it.
 * Exit status: 0 when the last flush and the close said everything was
 * acknowledged, 1 when not, 2 on a usage or open error. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "conf/config.h"
#include "io/io.h"

typedef struct feed {
    const hf_output_ops *ops;
    void          *out;
    char          *text;
    size_t         len;
    hf_record     *recs;
    size_t         nrecs;
    size_t         per_batch;
    int            threads, repeat, flush_every;
    int64_t        pause_ms;
    int            fatal;
    uint64_t       flushes_pending;
    pthread_mutex_t lock;
} feed;

typedef struct worker {
    feed *f;
    int   id;
} worker;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The value of "key":"..." within the first bytes of a record. */
static const char *find_string(const char *rec, size_t len, const char *key, size_t *vlen)
{
    char pat[64];
    int n = snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *k = memmem(rec, len, pat, (size_t)n);
    if (!k) return NULL;
    const char *v = k + n, *e = v;
    while (e < rec + len && *e != '"') e += *e == '\\' ? 2 : 1;
    *vlen = (size_t)(e - v);
    return v;
}

static int load(feed *f, const char *path)
{
    FILE *in = fopen(path, "r");
    if (!in) {
        fprintf(stderr, "output_feed: %s: cannot open\n", path);
        return -1;
    }
    size_t cap = 1 << 20;
    f->text = hf_malloc(cap);
    size_t got;
    while ((got = fread(f->text + f->len, 1, cap - f->len, in)) > 0) {
        f->len += got;
        if (f->len == cap) f->text = hf_realloc(f->text, cap *= 2);
    }
    fclose(in);
    size_t rcap = 1024;
    f->recs = hf_malloc(rcap * sizeof *f->recs);
    for (size_t off = 0; off < f->len;) {
        char *nl = memchr(f->text + off, '\n', f->len - off);
        size_t n = nl ? (size_t)(nl - (f->text + off)) : f->len - off;
        if (n == 0) { off++; continue; }
        const char *rec = f->text + off;
        size_t idlen = 0, tlen = 0, tslen = 0;
        const char *id = find_string(rec, n, "id", &idlen);
        const char *type = find_string(rec, n, "@type", &tlen);
        const char *ts = find_string(rec, n, "@timestamp", &tslen);
        if (!id) {
            fprintf(stderr, "output_feed: %s: a record without an \"id\" at byte %zu\n", path, off);
            return -1;
        }
        if (f->nrecs == rcap) f->recs = hf_realloc(f->recs, (rcap *= 2) * sizeof *f->recs);
        hf_record *r = &f->recs[f->nrecs++];
        memset(r, 0, sizeof *r);
        r->off = (uint32_t)off;
        r->len = (uint32_t)n;
        r->key_off = (uint32_t)(id - f->text);
        r->key_len = (uint16_t)idlen;
        r->type = type && tlen == 10 && !memcmp(type, "host_alert", 10) ? HF_RECORD_ALERT
                : type && tlen == 12 && !memcmp(type, "host_profile", 12) ? HF_RECORD_PROFILE
                : HF_RECORD_STATS;
        if (!ts || hf_time_parse_iso(ts, tslen, &r->time_ms) < 0) r->time_ms = 0;
        off += n + 1;
    }
    return 0;
}

static void *run_worker(void *arg)
{
    worker *w = arg;
    feed *f = w->f;
    size_t nb = (f->nrecs + f->per_batch - 1) / f->per_batch;
    int mine = 0;
    for (int rep = 0; rep < f->repeat; rep++)
        for (size_t b = (size_t)w->id; b < nb; b += (size_t)f->threads) {
            size_t first = b * f->per_batch;
            size_t n = f->nrecs - first < f->per_batch ? f->nrecs - first : f->per_batch;
            /* a batch is its own text, as the engine hands it: offsets from 0 */
            const hf_record *src = &f->recs[first];
            size_t start = src[0].off, end = src[n - 1].off + src[n - 1].len + 1;
            hf_record *recs = hf_malloc(n * sizeof *recs);
            for (size_t i = 0; i < n; i++) {
                recs[i] = src[i];
                recs[i].off -= (uint32_t)start;
                recs[i].key_off -= (uint32_t)start;
            }
            hf_records batch = {f->text + start, end - start, recs, n};
            int rc = f->ops->write(f->out, &batch);
            hf_free(recs);
            if (rc != HF_OUT_OK) {
                pthread_mutex_lock(&f->lock);
                f->fatal = 1;
                pthread_mutex_unlock(&f->lock);
                return NULL;
            }
            if (f->flush_every && ++mine % f->flush_every == 0 && f->ops->flush(f->out, 2000) != HF_OUT_OK) {
                pthread_mutex_lock(&f->lock);
                f->flushes_pending++;
                pthread_mutex_unlock(&f->lock);
            }
            if (f->pause_ms) {
                struct timespec ts = {f->pause_ms / 1000, (f->pause_ms % 1000) * 1000000};
                nanosleep(&ts, NULL);
            }
        }
    return NULL;
}

static void usage(void)
{
    fprintf(stderr, "usage: output_feed [-s KEY=VALUE]... [-b N] [-t N] [-r N] [-f N] [-w MS] "
                    "[-p MS] [--stats FILE] SPEC RECORDS\n");
    exit(2);
}

int main(int argc, char **argv)
{
    feed f = {.per_batch = 500, .threads = 2, .repeat = 1};
    pthread_mutex_init(&f.lock, NULL);
    int wait_ms = 120000;
    const char *stats = NULL;
    char err[4096];
    hf_io_register_keys();
    hf_config cfg;
    hf_config_defaults(&cfg, ".");
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) usage();
        if (!strcmp(a, "-s")) {
            char *kv = hf_strdup(v), *eq = strchr(kv, '=');
            if (!eq) usage();
            *eq = '\0';
            if (hf_config_set(&cfg, kv, eq + 1, kv, 0, err, sizeof err) < 0) {
                fprintf(stderr, "output_feed: %s\n", err);
                return 2;
            }
            hf_free(kv);
        } else if (!strcmp(a, "-b")) f.per_batch = (size_t)atol(v);
        else if (!strcmp(a, "-t")) f.threads = atoi(v);
        else if (!strcmp(a, "-r")) f.repeat = atoi(v);
        else if (!strcmp(a, "-f")) f.flush_every = atoi(v);
        else if (!strcmp(a, "-w")) wait_ms = atoi(v);
        else if (!strcmp(a, "-p")) f.pause_ms = atol(v);
        else if (!strcmp(a, "--stats")) stats = v;
        else usage();
        i++;
    }
    if (argc - i != 2 || f.per_batch < 1 || f.threads < 1 || f.repeat < 1) usage();
    const char *spec = argv[i], *target;
    f.ops = hf_output_find(spec, &target, err, sizeof err);
    if (!f.ops) {
        fprintf(stderr, "output_feed: %s\n", err);
        return 2;
    }
    if (hf_config_check(&cfg, err, sizeof err) < 0) {
        fprintf(stderr, "output_feed: %s\n", err);
        return 2;
    }
    if (load(&f, argv[i + 1]) < 0) return 2;

    double t0 = now_s();
    f.out = f.ops->open(&cfg, target, err, sizeof err);
    if (!f.out) {
        fprintf(stderr, "output_feed: %s\n", err);
        return 2;
    }
    double t1 = now_s();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long rss_before = ru.ru_maxrss;
    pthread_t *th = hf_malloc((size_t)f.threads * sizeof *th);
    worker *ws = hf_malloc((size_t)f.threads * sizeof *ws);
    for (int t = 0; t < f.threads; t++) {
        ws[t] = (worker){&f, t};
        pthread_create(&th[t], NULL, run_worker, &ws[t]);
    }
    for (int t = 0; t < f.threads; t++) pthread_join(th[t], NULL);
    double t2 = now_s();
    int flushed = f.fatal ? HF_OUT_FATAL : f.ops->flush(f.out, wait_ms);
    double t3 = now_s();
    hf_output_counters c;
    f.ops->counters(f.out, &c);
    int closed = f.ops->close(f.out);
    getrusage(RUSAGE_SELF, &ru);

    FILE *o = stats ? fopen(stats, "w") : stdout;
    if (!o) {
        fprintf(stderr, "output_feed: %s: cannot write\n", stats);
        return 2;
    }
    uint64_t total = (uint64_t)f.nrecs * (uint64_t)f.repeat;
    fprintf(o, "{\"records\":%" PRIu64 ",\"written\":%" PRIu64 ",\"pending\":%" PRIu64
               ",\"retried\":%" PRIu64 ",\"dead_letters\":%" PRIu64 ",\"state\":\"%s\",\"lost\":{",
            total, c.written, c.pending, c.retried, c.dead_letters, c.state ? c.state : "");
    for (int k = 0; k < c.nlost; k++)
        fprintf(o, "%s\"%s\":%" PRIu64, k ? "," : "", c.lost[k].reason, c.lost[k].n);
    fprintf(o, "},\"figures\":{");
    for (int k = 0; k < c.nfigures; k++)
        fprintf(o, "%s\"%s\":%.6g", k ? "," : "", c.figures[k].name, c.figures[k].value);
    fprintf(o, "},\"flush\":%d,\"close\":%d,\"fatal\":%d,\"intermediate_flushes_pending\":%" PRIu64
               ",\"open_s\":%.3f,\"write_s\":%.3f,\"flush_s\":%.3f,\"records_per_s\":%.1f,"
               "\"rss_before_writes_kib\":%ld,\"max_rss_kib\":%ld}\n",
            flushed, closed, f.fatal, f.flushes_pending, t1 - t0, t2 - t1, t3 - t2,
            (double)total / (t3 - t1 > 0 ? t3 - t1 : 1e-9), rss_before, ru.ru_maxrss);
    if (stats) fclose(o);
    hf_free(th);
    hf_free(ws);
    hf_free(f.text);
    hf_free(f.recs);
    hf_config_release(&cfg);
    return flushed == HF_OUT_OK && closed == 0 ? 0 : 1;
}
