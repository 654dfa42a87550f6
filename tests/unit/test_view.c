/* test_view.c -- the HTTP view's store (view.c) and API (api.c), without
 * HTTP: blocks, heat maps against sums made here, rings and their bounds,
 * publishing at window close, top hosts, alerts and the host records'
 * alert flag, batches read on several threads at once, and every route's
 * answer to bad parameters (a JSON error with a 4xx status, never a crash). */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cJSON.h>

#include "base/buf.h"
#include "io/api.h"
#include "io/view.h"
#include "unit.h"

#define G10 0
#define G60 1

static hf_view_limits limits(int history)
{
    hf_view_limits l;
    memset(&l, 0, sizeof l);
    l.history = history;
    l.max_hosts = 100000;
    l.memory = (size_t)1 << 30;
    l.max_alerts = 4;
    l.alert_hold_ms = 60000;
    l.gran_ms[0] = 10000;
    l.gran_ms[1] = 60000;
    l.ngrans = 2;
    return l;
}

/* A batch being built: records as hostflow writes them. */
typedef struct recs {
    hf_buf    text;
    hf_record r[512];
    size_t    n;
} recs;

static void rec_add(recs *b, int type, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void rec_add(recs *b, int type, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    hf_record *r = &b->r[b->n++];
    memset(r, 0, sizeof *r);
    r->off = (uint32_t)b->text.len;
    r->len = (uint32_t)n;
    r->type = (uint8_t)type;
    const char *id = strstr(line, "\"id\":\"");
    r->key_off = (uint32_t)(b->text.len + (size_t)(id + 6 - line));
    r->key_len = (uint16_t)(strchr(id + 6, '"') - id - 6);
    hf_buf_put(&b->text, line, (size_t)n);
    hf_buf_putc(&b->text, '\n');
}

static void stats(recs *b, const char *ip, int gs, int64_t start, double bytes, double peers)
{
    rec_add(b, HF_RECORD_STATS,
            "{\"@type\":\"host_stats\",\"@timestamp\":\"x\",\"id\":\"%s/%d/%lld\",\"src_ip\":\"%s\","
            "\"window\":{\"start_ms\":%lld,\"end_ms\":%lld,\"granularity_s\":%d},"
            "\"stats\":{\"total\":{\"flow\":1,\"packets\":2,\"bytes\":%.17g},\"peer_number\":%.17g,"
            "\"label\":\"text is not a statistic\"}}",
            ip, gs, (long long)start, ip, (long long)start, (long long)(start + gs * 1000), gs,
            bytes, peers);
}

static size_t apply(hf_view *v, recs *b)
{
    hf_records r = {b->text.data, b->text.len, b->r, b->n};
    size_t bad = hf_view_apply(v, &r);
    b->n = 0;
    b->text.len = 0;
    return bad;
}

static cJSON *json_of(hf_buf *out)
{
    return cJSON_ParseWithLength(out->data, out->len);
}

static double num(const cJSON *o, const char *path)
{
    char key[128];
    snprintf(key, sizeof key, "%s", path);
    const cJSON *c = o;
    for (char *k = strtok(key, "."); k && c; k = strtok(NULL, "."))
        c = cJSON_GetObjectItemCaseSensitive(c, k);
    return cJSON_IsNumber(c) ? c->valuedouble : NAN;
}

#define T0 1795701600000LL

TEST(blocks_parse_and_clear_host_bits)
{
    hf_view_block b;
    char err[256];
    CHECK(hf_view_block_parse("10.1.2.3/16", &b, err, sizeof err) == 0);
    CHECK_EQ_INT(b.len, 96 + 16);
    CHECK_EQ_INT(b.family, 4);
    CHECK_EQ_INT(b.addr[12], 10);
    CHECK_EQ_INT(b.addr[13], 1);
    CHECK_EQ_INT(b.addr[14], 0);
    CHECK(hf_view_block_parse("2001:db8::1/32", &b, err, sizeof err) == 0);
    CHECK_EQ_INT(b.len, 32);
    CHECK_EQ_INT(b.addr[15], 0);
    CHECK(hf_view_block_parse("10.0.0.1", &b, err, sizeof err) == 0);
    CHECK_EQ_INT(b.len, 128);
    static const char *bad[] = {"", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/8x",
                                "banana/8", "::/129", "10.0.0.0/-1", "10.0.0.0/8/8",
                                "../../etc/passwd", "10.0.0.0/ 8",
                                "1111111111111111111111111111111111111111111111111111111111111111111/8"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        CHECK(hf_view_block_parse(bad[i], &b, err, sizeof err) == -1);
        CHECK(strstr(err, "bad CIDR block") != NULL);
    }
}

TEST(heatmap_cells_are_the_sums_of_their_hosts)
{
    hf_view_limits l = limits(8);
    hf_view *v = hf_view_new(&l);
    recs *b = calloc(1, sizeof *b);
    hf_buf_init(&b->text, 1 << 16);
    double want[256] = {0};
    int hosts[256] = {0};
    char ip[32];
    for (int i = 0; i < 300; i++) {
        int sub = (i * 7) % 256, last = i % 250 + 1;
        snprintf(ip, sizeof ip, "10.%d.0.%d", sub, last);
        double bytes = 1000.0 + i;
        stats(b, ip, 10, T0, bytes, 3);
        want[sub] += bytes;
        hosts[sub]++;
    }
    stats(b, "192.168.1.1", 10, T0, 5e9, 1);          /* outside the block */
    stats(b, "10.0.0.1", 10, T0 + 10000, 1, 1);       /* the next window: T0 is complete */
    CHECK_EQ_INT(apply(v, b), 0);
    hf_view_publish(v, T0 + 10000);
    hf_view_block blk;
    char err[512];
    hf_view_block_parse("10.0.0.0/8", &blk, err, sizeof err);
    hf_buf out;
    hf_buf_init(&out, 4096);
    CHECK(hf_view_heatmap(v, &blk, 8, G10, INT64_MIN, 2 /* total.bytes */, HF_VIEW_SUM, &out,
                          err, sizeof err) == 0);
    cJSON *o = json_of(&out);
    CHECK(o != NULL);
    CHECK_EQ_INT((int64_t)num(o, "window.start_ms"), T0);
    CHECK_EQ_INT(num(o, "child_prefix"), 16);
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(o, "children");
    double lo = INFINITY, hi = -INFINITY;
    int cells = 0, ok = 1;
    for (const cJSON *c = ch ? ch->child : NULL; c; c = c->next) {
        int i = (int)num(c, "i");
        ok &= num(c, "value") == want[i] && num(c, "hosts") == hosts[i];
        char blkname[32];
        snprintf(blkname, sizeof blkname, "10.%d.0.0/16", i);
        ok &= strcmp(cJSON_GetObjectItemCaseSensitive(c, "block")->valuestring, blkname) == 0;
        lo = fmin(lo, want[i]);
        hi = fmax(hi, want[i]);
        cells++;
    }
    int nonempty = 0;
    for (int i = 0; i < 256; i++) nonempty += hosts[i] > 0;
    CHECK(ok);
    CHECK_EQ_INT(cells, nonempty);
    CHECK(num(o, "min") == lo && num(o, "max") == hi);
    cJSON_Delete(o);

    /* one /24 down: single hosts, written without a length */
    out.len = 0;
    hf_view_block_parse("10.7.0.0/24", &blk, err, sizeof err);
    CHECK(hf_view_heatmap(v, &blk, 8, G10, T0, 2, HF_VIEW_MAX, &out, err, sizeof err) == 0);
    CHECK(strstr(out.data, "\"block\":\"10.7.0.2\"") != NULL);
    CHECK(strstr(out.data, "\"child_prefix\":32") != NULL);
    /* a window not closed yet is not shown */
    out.len = 0;
    CHECK(hf_view_heatmap(v, &blk, 8, G10, T0 + 10000, 2, HF_VIEW_SUM, &out, err, sizeof err) == 404);
    hf_buf_release(&out);
    hf_buf_release(&b->text);
    free(b);
    hf_view_free(v);
}

TEST(rings_keep_history_windows_and_replace_repeats)
{
    hf_view_limits l = limits(4);
    hf_view *v = hf_view_new(&l);
    recs *b = calloc(1, sizeof *b);
    hf_buf_init(&b->text, 1 << 16);
    for (int w = 0; w < 10; w++) {
        stats(b, "10.0.0.1", 10, T0 + w * 10000LL, w, w);
        apply(v, b);
    }
    stats(b, "10.0.0.1", 10, T0 + 8 * 10000LL, 88, 88);     /* a repeat replaces */
    stats(b, "10.0.0.1", 10, T0, 1, 1);                     /* older than the ring: skipped */
    apply(v, b);
    hf_view_publish(v, INT64_MAX);
    uint8_t a[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};
    hf_buf out;
    hf_buf_init(&out, 4096);
    char err[256];
    CHECK(hf_view_host(v, a, G10, &out, err, sizeof err) == 0);
    CHECK(strstr(out.data, "\"windows\":[1795701660000,1795701670000,1795701680000,1795701690000]") != NULL);
    CHECK(strstr(out.data, "\"total.bytes\":[6,7,88,9]") != NULL);
    CHECK(strstr(out.data, "\"profile\":null") != NULL);
    hf_view_counters c;
    hf_view_counters_get(v, &c);
    CHECK_EQ_INT(c.out_of_order, 1);
    CHECK_EQ_INT(c.hosts, 1);
    CHECK_EQ_INT(c.nstats, 4);      /* total.flow, packets, bytes, peer_number; not the label */
    out.len = 0;
    a[15] = 2;
    CHECK(hf_view_host(v, a, -1, &out, err, sizeof err) == 404);
    CHECK(strstr(err, "10.0.0.2") != NULL);
    hf_buf_release(&out);
    hf_buf_release(&b->text);
    free(b);
    hf_view_free(v);
}

TEST(memory_bound_stops_rings_growing_and_counts)
{
    hf_view_limits l = limits(360);
    l.memory = 64 * 1024;
    l.max_hosts = 50;
    hf_view *v = hf_view_new(&l);
    recs *b = calloc(1, sizeof *b);
    hf_buf_init(&b->text, 1 << 16);
    char ip[32];
    for (int w = 0; w < 40; w++) {
        for (int h = 0; h < 60; h++) {
            snprintf(ip, sizeof ip, "10.0.%d.%d", h / 200, h % 200 + 1);
            stats(b, ip, 10, T0 + w * 10000LL, w, h);
        }
        apply(v, b);
    }
    hf_view_counters c;
    hf_view_counters_get(v, &c);
    CHECK_EQ_INT(c.hosts, 50);
    CHECK(c.hosts_refused == 40 * 10);
    CHECK(c.history_cut > 0);
    CHECK(c.memory <= l.memory + 50 * 1024);   /* rings within it; hosts beside */
    hf_buf_release(&b->text);
    free(b);
    hf_view_free(v);
}

TEST(windows_show_only_once_published)
{
    hf_view_limits l = limits(8);
    hf_view *v = hf_view_new(&l);
    recs *b = calloc(1, sizeof *b);
    hf_buf_init(&b->text, 1 << 16);
    stats(b, "10.0.0.1", 10, T0, 5, 5);
    stats(b, "10.0.0.1", 60, T0, 50, 5);
    apply(v, b);
    CHECK(hf_view_latest(v, G10) == INT64_MIN);
    hf_view_publish(v, T0 + 10000);
    CHECK(hf_view_latest(v, G10) == T0);
    CHECK(hf_view_latest(v, G60) == INT64_MIN);     /* the minute has not ended */
    hf_view_publish(v, T0 + 60000);
    CHECK(hf_view_latest(v, G60) == T0);
    /* without a publisher: a newer window shows the ones before it */
    hf_view_publish_auto(v, 1);
    stats(b, "10.0.0.1", 10, T0 + 70000, 5, 5);
    stats(b, "10.0.0.2", 10, T0 + 80000, 5, 5);
    apply(v, b);
    CHECK(hf_view_latest(v, G10) == T0 + 70000);
    hf_buf_release(&b->text);
    free(b);
    hf_view_free(v);
}

TEST(top_hosts_in_order)
{
    hf_view_limits l = limits(8);
    hf_view *v = hf_view_new(&l);
    recs *b = calloc(1, sizeof *b);
    hf_buf_init(&b->text, 1 << 16);
    char ip[32];
    for (int h = 1; h <= 100; h++) {
        snprintf(ip, sizeof ip, "10.0.0.%d", h);
        stats(b, ip, 10, T0, (h * 37) % 101, h);
    }
    apply(v, b);
    hf_view_publish(v, INT64_MAX);
    hf_buf out;
    hf_buf_init(&out, 4096);
    char err[256];
    CHECK(hf_view_top(v, NULL, G10, INT64_MIN, 3 /* peer_number */, 3, &out, err, sizeof err) == 0);
    CHECK(strstr(out.data, "\"hosts\":[{\"ip\":\"10.0.0.100\",\"value\":100,\"alert\":false},"
                           "{\"ip\":\"10.0.0.99\",\"value\":99") != NULL);
    out.len = 0;
    CHECK(hf_view_top(v, NULL, G10, INT64_MIN, 3, 100000, &out, err, sizeof err) == 400);
    hf_buf_release(&out);
    hf_buf_release(&b->text);
    free(b);
    hf_view_free(v);
}

TEST(alerts_open_hold_and_mark_their_host)
{
    hf_view_limits l = limits(8);
    hf_view *v = hf_view_new(&l);
    recs *b = calloc(1, sizeof *b);
    hf_buf_init(&b->text, 1 << 16);
    stats(b, "10.0.0.1", 10, T0, 5, 5);
    stats(b, "10.0.0.2", 10, T0, 5, 5);
    for (int i = 0; i < 6; i++)   /* more than max_alerts (4): the oldest go */
        rec_add(b, HF_RECORD_ALERT,
                "{\"@type\":\"host_alert\",\"@timestamp\":\"x\",\"id\":\"10.0.0.%d/rule/%lld\","
                "\"src_ip\":\"10.0.0.%d\",\"rule\":\"rule\",\"window\":{\"start_ms\":%lld,"
                "\"end_ms\":%lld,\"granularity_s\":10},\"observed\":9,\"expected\":1,\"score\":%d}",
                i < 5 ? 2 : 3, (long long)(T0 + i), i < 5 ? 2 : 3, (long long)T0,
                (long long)T0 + 10000, i);
    apply(v, b);
    hf_view_publish(v, INT64_MAX);
    hf_buf out;
    hf_buf_init(&out, 4096);
    hf_view_alerts(v, NULL, 0, &out);
    cJSON *o = json_of(&out);
    CHECK(o && num(o, "open") == 4);
    cJSON_Delete(o);
    hf_view_block blk;
    char err[256];
    hf_view_block_parse("10.0.0.0/24", &blk, err, sizeof err);
    out.len = 0;
    CHECK(hf_view_heatmap(v, &blk, 8, G10, INT64_MIN, 0, HF_VIEW_SUM, &out, err, sizeof err) == 0);
    CHECK(strstr(out.data, "\"block\":\"10.0.0.2\",\"value\":1,\"hosts\":1,\"alerts\":1") != NULL);
    CHECK(strstr(out.data, "\"block\":\"10.0.0.1\",\"value\":1,\"hosts\":1,\"alerts\":0") != NULL);
    /* event time moves past the hold: closed, kept with all=1 */
    stats(b, "10.0.0.1", 60, T0 + 600000, 5, 5);
    apply(v, b);
    out.len = 0;
    hf_view_alerts(v, NULL, 0, &out);
    CHECK(strstr(out.data, "\"open\":0,\"alerts\":[]") != NULL);
    out.len = 0;
    hf_view_alerts(v, NULL, 1, &out);
    CHECK(strstr(out.data, "\"open\":false") != NULL);
    hf_buf_release(&out);
    hf_buf_release(&b->text);
    free(b);
    hf_view_free(v);
}

TEST(records_not_understood_are_counted)
{
    hf_view_limits l = limits(8);
    hf_view *v = hf_view_new(&l);
    recs *b = calloc(1, sizeof *b);
    hf_buf_init(&b->text, 1 << 16);
    rec_add(b, HF_RECORD_STATS, "{\"id\":\"x\", broken");
    rec_add(b, HF_RECORD_STATS, "{\"id\":\"x\",\"src_ip\":\"10.0.0.300\",\"window\":{}}");
    rec_add(b, HF_RECORD_STATS, "{\"id\":\"x\",\"src_ip\":\"10.0.0.3\",\"window\":{\"start_ms\":0,"
                                "\"end_ms\":7000,\"granularity_s\":7},\"stats\":{}}");
    CHECK_EQ_INT(apply(v, b), 3);
    hf_buf_release(&b->text);
    free(b);
    hf_view_free(v);
}

/* ------------------------------------------------------------------------
 * The API: every bad parameter is a JSON 4xx
 * --------------------------------------------------------------------- */

static int call(hf_api *api, const char *path, const char *q, hf_buf *out)
{
    hf_api_req req;
    memset(&req, 0, sizeof req);
    req.path = path;
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", q ? q : "");
    for (char *kv = strtok(buf, "&"); kv; kv = strtok(NULL, "&")) {
        char *eq = strchr(kv, '=');
        if (eq) *eq = '\0';
        if (req.nargs == HF_API_MAX_ARGS) {
            req.too_many = 1;
            break;
        }
        req.args[req.nargs].name = strdup(kv);
        req.args[req.nargs++].value = strdup(eq ? eq + 1 : "");
    }
    out->len = 0;
    const char *type;
    int st = hf_api_handle(api, &req, out, &type);
    for (int i = 0; i < req.nargs; i++) {
        free((void *)req.args[i].name);
        free((void *)req.args[i].value);
    }
    hf_buf_putc(out, '\0');
    out->len--;
    return st;
}

/* status st, and a JSON object with "error" when st >= 400 */
static int answers(hf_api *api, const char *path, const char *q, int st)
{
    hf_buf out;
    hf_buf_init(&out, 1024);
    int got = call(api, path, q, &out);
    int ok = got == st;
    if (strcmp(path, "/metrics") != 0 || st >= 400) {
        cJSON *o = json_of(&out);
        ok &= o != NULL;
        if (o && st >= 400) ok &= cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "error"));
        cJSON_Delete(o);
    }
    if (!ok) fprintf(stderr, "  %s?%s: %d (want %d): %.300s\n", path, q ? q : "", got, st, out.data);
    hf_buf_release(&out);
    return ok;
}

TEST(api_routes_answer_and_refuse_bad_parameters)
{
    hf_view_limits l = limits(8);
    hf_view *v = hf_view_new(&l);
    recs *b = calloc(1, sizeof *b);
    hf_buf_init(&b->text, 1 << 16);
    stats(b, "10.0.0.1", 10, T0, 5, 5);
    stats(b, "2001:db8::1", 10, T0, 5, 5);
    apply(v, b);
    hf_view_publish(v, INT64_MAX);
    hf_api api;
    memset(&api, 0, sizeof api);
    api.view = v;
    char err[64];
    hf_view_block_parse("10.0.0.0/8", &api.home, err, sizeof err);
    CHECK(answers(&api, "/api/v1/status", NULL, 200));
    CHECK(answers(&api, "/api/v1/heatmap", NULL, 200));
    CHECK(answers(&api, "/api/v1/heatmap", "block=2001:db8::/32&stat=peer_number&agg=max&bits=4", 200));
    CHECK(answers(&api, "/api/v1/heatmap", "granularity=1m", 200));   /* none closed yet: window null */
    CHECK(answers(&api, "/api/v1/heatmap", "granularity=10s&window=latest", 200));
    CHECK(answers(&api, "/api/v1/top", "n=5&stat=total.flow&block=10.0.0.0/8", 200));
    CHECK(answers(&api, "/api/v1/host", "ip=10.0.0.1", 200));
    CHECK(answers(&api, "/api/v1/host/2001:db8::1", NULL, 200));
    CHECK(answers(&api, "/api/v1/alerts", "all=1", 200));
    CHECK(answers(&api, "/api/v1/counters", NULL, 200));
    CHECK(answers(&api, "/metrics", NULL, 200));

    CHECK(answers(&api, "/api/v1/heatmap", "block=10.0.0.0/33", 400));
    CHECK(answers(&api, "/api/v1/heatmap", "block=../../etc/passwd", 400));
    CHECK(answers(&api, "/api/v1/heatmap", "stat=bogus", 400));
    CHECK(answers(&api, "/api/v1/heatmap", "stat=", 400));
    CHECK(answers(&api, "/api/v1/heatmap", "granularity=7s", 400));
    CHECK(answers(&api, "/api/v1/heatmap", "granularity=99999999999999999999999", 400));
    CHECK(answers(&api, "/api/v1/heatmap", "window=-5", 400));
    CHECK(answers(&api, "/api/v1/heatmap", "window=1e9", 400));
    CHECK(answers(&api, "/api/v1/heatmap", "window=1795701600001", 404));
    CHECK(answers(&api, "/api/v1/heatmap", "window=99999999999999999999", 400));
    CHECK(answers(&api, "/api/v1/heatmap", "agg=median", 400));
    CHECK(answers(&api, "/api/v1/heatmap", "bits=9", 400));
    CHECK(answers(&api, "/api/v1/heatmap", "bits=0", 400));
    CHECK(answers(&api, "/api/v1/heatmap", "block=10.0.0.1", 400));
    CHECK(answers(&api, "/api/v1/heatmap", "colour=red", 400));
    CHECK(answers(&api, "/api/v1/heatmap", "stat=total.bytes&stat=total.flow", 400));
    CHECK(answers(&api, "/api/v1/heatmap", "a=1&b=1&c=1&d=1&e=1&f=1&g=1&h=1&i=1&j=1&k=1&l=1&m=1", 400));
    CHECK(answers(&api, "/api/v1/top", "n=0", 400));
    CHECK(answers(&api, "/api/v1/top", "n=1001", 400));
    CHECK(answers(&api, "/api/v1/top", "n=ten", 400));
    CHECK(answers(&api, "/api/v1/host", NULL, 400));
    CHECK(answers(&api, "/api/v1/host", "ip=10.0.0.256", 400));
    CHECK(answers(&api, "/api/v1/host", "ip=10.9.9.9", 404));
    CHECK(answers(&api, "/api/v1/host/%00", NULL, 400));
    CHECK(answers(&api, "/api/v1/alerts", "all=maybe", 400));
    CHECK(answers(&api, "/api/v1/status", "x=1", 400));
    CHECK(answers(&api, "/api/v2/status", NULL, 404));
    CHECK(answers(&api, "/api/v1/heatmap/", NULL, 404));
    char longv[400];
    memset(longv, 'a', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    char q[512];
    snprintf(q, sizeof q, "stat=%s", longv);
    CHECK(answers(&api, "/api/v1/heatmap", q, 400));
    hf_buf_release(&b->text);
    free(b);
    hf_view_free(v);
}

TEST(statistics_past_the_limit_are_refused_and_counted)
{
    hf_view_limits l = limits(8);
    hf_view *v = hf_view_new(&l);
    recs *b = calloc(1, sizeof *b);
    hf_buf_init(&b->text, 1 << 16);
    hf_buf s;
    hf_buf_init(&s, 4096);
    for (int i = 0; i < 80; i++) {
        char kv[32];
        snprintf(kv, sizeof kv, "%s\"s%d\":%d", i ? "," : "", i, i);
        hf_buf_puts(&s, kv);
    }
    hf_buf_putc(&s, '\0');
    rec_add(b, HF_RECORD_STATS,
            "{\"id\":\"10.0.0.1/10/0\",\"src_ip\":\"10.0.0.1\",\"window\":{\"start_ms\":%lld,"
            "\"end_ms\":%lld,\"granularity_s\":10},\"stats\":{%s}}",
            (long long)T0, (long long)T0 + 10000, s.data);
    CHECK_EQ_INT(apply(v, b), 0);
    hf_view_counters c;
    hf_view_counters_get(v, &c);
    CHECK_EQ_INT(c.nstats, HF_VIEW_MAX_STATS);
    CHECK_EQ_INT(c.stats_refused, 80 - HF_VIEW_MAX_STATS);
    hf_buf_release(&s);
    hf_buf_release(&b->text);
    free(b);
    hf_view_free(v);
}

/* The buffer's text as a C string (the terminator is not counted). */
static const char *cstr(hf_buf *b)
{
    hf_buf_putc(b, '\0');
    b->len--;
    return b->data;
}

TEST(a_host_records_alert_flag_marks_its_host)
{
    hf_view_limits l = limits(8);
    hf_view *v = hf_view_new(&l);
    recs *b = calloc(1, sizeof *b);
    hf_buf_init(&b->text, 1 << 16);
    /* HF_VIEW_ALERT_FIELD is "alert", between window and stats as issue
     * 13's engine writes it: true, a number other than 0, a non-empty
     * object or array say "open"; false, 0, {} and [] do not; under stats
     * it is an analysis's field like any other */
    static const char *const flag[] = {"false", "true", "{}", "[\"profile_deviation\"]", "1", "0",
                                       "{\"rules\":1}", "[]"};
    static const int open[] = {0, 1, 0, 1, 1, 0, 1, 0};
    for (int i = 0; i < 8; i++)
        rec_add(b, HF_RECORD_STATS,
                "{\"id\":\"10.0.0.%d/10/0\",\"src_ip\":\"10.0.0.%d\",\"window\":{\"start_ms\":%lld,"
                "\"end_ms\":%lld,\"granularity_s\":10},\"alert\":%s,\"stats\":{\"total\":{\"bytes\":1},"
                "\"alert\":true}}",
                i, i, (long long)T0, (long long)T0 + 10000, flag[i]);
    CHECK_EQ_INT(apply(v, b), 0);
    hf_view_publish(v, INT64_MAX);
    hf_view_block blk;
    char err[256];
    hf_view_block_parse("10.0.0.0/24", &blk, err, sizeof err);
    hf_buf out;
    hf_buf_init(&out, 4096);
    CHECK(hf_view_heatmap(v, &blk, 8, G10, INT64_MIN, 0, HF_VIEW_SUM, &out, err, sizeof err) == 0);
    for (int i = 0; i < 8; i++) {
        char cell[128];
        snprintf(cell, sizeof cell, "\"block\":\"10.0.0.%d\",\"value\":1,\"hosts\":1,\"alerts\":%d", i, open[i]);
        CHECK(strstr(cstr(&out), cell) != NULL);
    }
    hf_view_counters c;
    hf_view_counters_get(v, &c);
    CHECK_EQ_INT(c.nstats, 1);            /* the flag is not a statistic, even as a number */
    /* the flag holds for one window: a record two windows later closes it */
    stats(b, "10.0.0.9", 10, T0 + 20000, 1, 1);
    apply(v, b);
    out.len = 0;
    CHECK(hf_view_heatmap(v, &blk, 8, G10, T0, 0, HF_VIEW_SUM, &out, err, sizeof err) == 0);
    CHECK(strstr(cstr(&out), "\"alerts\":1") == NULL);
    hf_buf_release(&out);
    hf_buf_release(&b->text);
    free(b);
    hf_view_free(v);
}

/* Several workers read their batches at once (hf_view_pack), each with
 * statistics the view has not seen; one thread stores them. */
typedef struct packer {
    hf_view *v;
    int      id;
    hf_buf   packed;
} packer;

static void *pack_main(void *arg)
{
    packer *p = arg;
    recs *b = calloc(1, sizeof *b);
    hf_buf_init(&b->text, 1 << 16);
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 20; i++)
            rec_add(b, HF_RECORD_STATS,
                    "{\"id\":\"10.%d.0.%d/10/0\",\"src_ip\":\"10.%d.0.%d\",\"window\":{\"start_ms\":%lld,"
                    "\"end_ms\":%lld,\"granularity_s\":10},\"stats\":{\"only_%d_%d\":1,\"shared\":%d}}",
                    p->id, i, p->id, i, (long long)T0, (long long)T0 + 10000, p->id, round % 10, i);
        hf_records r = {b->text.data, b->text.len, b->r, b->n};
        hf_view_pack(p->v, &r, &p->packed);
        b->n = 0;
        b->text.len = 0;
    }
    hf_buf_release(&b->text);
    free(b);
    return NULL;
}

TEST(batches_read_on_several_threads_store_as_one)
{
    hf_view_limits l = limits(8);
    hf_view *v = hf_view_new(&l);
    packer p[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        p[i] = (packer){v, i + 1, {0}};
        hf_buf_init(&p[i].packed, 1024);
        pthread_create(&t[i], NULL, pack_main, &p[i]);
    }
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(hf_view_store(v, p[i].packed.data, p[i].packed.len), 0);
        hf_buf_release(&p[i].packed);
    }
    hf_view_publish(v, INT64_MAX);
    hf_view_counters c;
    hf_view_counters_get(v, &c);
    CHECK_EQ_INT(c.nstats, 4 * 10 + 1);   /* each name once, whichever thread saw it first */
    CHECK_EQ_INT(c.records, 4 * 50 * 20);
    char err[256];
    int shared = hf_view_stat(v, "shared", err, sizeof err);
    hf_view_block blk;
    hf_view_block_parse("10.0.0.0/8", &blk, err, sizeof err);
    hf_buf out;
    hf_buf_init(&out, 4096);
    CHECK(hf_view_heatmap(v, &blk, 8, G10, INT64_MIN, shared, HF_VIEW_SUM, &out, err, sizeof err) == 0);
    for (int i = 1; i <= 4; i++) {                /* 0 + 1 + ... + 19 in each /16 */
        char cell[96];
        snprintf(cell, sizeof cell, "\"block\":\"10.%d.0.0/16\",\"value\":190,\"hosts\":20", i);
        CHECK(strstr(cstr(&out), cell) != NULL);
    }
    hf_buf_release(&out);
    hf_view_free(v);
}

int main(void)
{
    RUN(blocks_parse_and_clear_host_bits);
    RUN(heatmap_cells_are_the_sums_of_their_hosts);
    RUN(rings_keep_history_windows_and_replace_repeats);
    RUN(memory_bound_stops_rings_growing_and_counts);
    RUN(windows_show_only_once_published);
    RUN(top_hosts_in_order);
    RUN(alerts_open_hold_and_mark_their_host);
    RUN(records_not_understood_are_counted);
    RUN(api_routes_answer_and_refuse_bad_parameters);
    RUN(statistics_past_the_limit_are_refused_and_counted);
    RUN(a_host_records_alert_flag_marks_its_host);
    RUN(batches_read_on_several_threads_store_as_one);
    return UNIT_END();
}
