/* out_http.c -- the HTTP view: an output that keeps what it is written in
 * a view (view.c) and serves it, with the page, over HTTP (libmicrohttpd).
 *
 *   workers ──write()──▶ queue ──▶ view thread ──apply──▶ view ◀──read── HTTP threads
 *           (a copy; never            (parse, store;          (snapshots)   (api.c, page)
 *            waits: a full queue       publish at window
 *            skips the view)           close)
 *
 * The data path never waits for the view or its readers: write() copies
 * the batch into a bounded queue (viewq.c) and returns; when the queue is
 * full the batch skips the view and is counted (records_dropped).  The
 * view thread applies it and publishes the windows that every worker has
 * closed (the run loop's closed_until, io.h watch).
 *
 * HTTP: libmicrohttpd with an epoll thread pool, a connection limit and a
 * timeout.  GET and HEAD only.  The page's files are read at open from
 * http.web into memory and served by exact name, so no request names a path
 * on disk.  The API and /metrics need the token when one is set (Bearer
 * header, or token= in the query for a browser that cannot send headers);
 * the page itself holds no data and is served without. */
#include "io/out_http.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <microhttpd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "io/api.h"
#include "io/viewq.h"

#define MAX_FILES      256
#define MAX_FILE_BYTES (8u << 20)
#define MAX_URL        2048           /* path and query together */
/* per connection: a request head up to this gets the JSON 414 (longer ones
 * libmicrohttpd's own); pages are touched only as a head needs them */
#define CONN_MEMORY    (256 * 1024)

typedef struct webfile {
    char       *name;                 /* "/index.html" */
    char       *data;
    size_t      len;
    const char *type;
} webfile;

typedef struct out_http {
    hf_http_settings set;
    hf_view         *view;
    hf_api           api;
    struct MHD_Daemon *d;
    int              port;

    hf_viewq        *q;               /* batches to the view (viewq.c) */

    webfile          files[MAX_FILES];
    int              nfiles;

    _Atomic uint64_t req[6];          /* by status class: 1xx..5xx, [0] refused token */
    _Atomic uint64_t req_bytes;
} out_http;

/* ------------------------------------------------------------------------
 * The page's files
 * --------------------------------------------------------------------- */

static const char *content_type(const char *name)
{
    static const struct { const char *ext, *type; } t[] = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},             {".png", "image/png"},
        {".ico", "image/x-icon"},              {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof t / sizeof t[0]; i++)
        if (strcmp(dot, t[i].ext) == 0) return t[i].type;
    return NULL;
}

/* Read the regular files under dir (rel: their URL prefix), depth <= 3,
 * of the types a page is made of (not package.json, scripts, READMEs). */
static void load_dir(out_http *o, const char *dir, const char *rel, int depth)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) && o->nfiles < MAX_FILES) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "node_modules") ||
            !strncmp(e->d_name, "package", 7))
            continue;
        char path[4096], url[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(url, sizeof url, "%s/%s", rel, e->d_name);
        struct stat st;
        if (stat(path, &st) < 0) continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth < 3) load_dir(o, path, url, depth + 1);
            continue;
        }
        if (!S_ISREG(st.st_mode) || st.st_size > MAX_FILE_BYTES || !content_type(url)) continue;
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        webfile *w = &o->files[o->nfiles];
        w->data = hf_malloc((size_t)st.st_size + 1);
        w->len = fread(w->data, 1, (size_t)st.st_size, f);
        fclose(f);
        w->name = hf_strdup(url);
        w->type = content_type(url);
        o->nfiles++;
    }
    closedir(d);
}

static const webfile *find_file(const out_http *o, const char *url)
{
    if (strcmp(url, "/") == 0) url = "/index.html";
    for (int i = 0; i < o->nfiles; i++)
        if (strcmp(o->files[i].name, url) == 0) return &o->files[i];
    return NULL;
}

/* ------------------------------------------------------------------------
 * Requests
 * --------------------------------------------------------------------- */

typedef struct argctx {
    hf_api_req *req;
    const char *token;                /* token= from the query, held apart */
    size_t      bytes;                /* of names and values */
    int         nul;                  /* a name or value holds a NUL byte */
} argctx;

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    argctx *a = cls;
    a->bytes += key_size + value_size + 2;
    if (strlen(key) != key_size || (value && strlen(value) != value_size)) a->nul = 1;
    if (strcmp(key, "token") == 0) {
        a->token = value ? value : "";
        return MHD_YES;
    }
    if (a->req->nargs == HF_API_MAX_ARGS) {
        a->req->too_many = 1;
        return MHD_YES;
    }
    a->req->args[a->req->nargs].name = key;
    a->req->args[a->req->nargs++].value = value ? value : "";
    return MHD_YES;
}

/* Compare without stopping at the first difference. */
static int same_secret(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    unsigned char d = (unsigned char)(na != nb);
    for (size_t i = 0; i < na; i++) d |= (unsigned char)(a[i] ^ b[i % (nb ? nb : 1)]);
    return d == 0;
}

static enum MHD_Result send_buf(out_http *o, struct MHD_Connection *c, int status,
                                const char *type, const char *data, size_t len,
                                enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)data, mode);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (status == 405) MHD_add_response_header(r, "Allow", "GET, HEAD");
    if (status == 401) MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    if (strncmp(type, "text/html", 9) == 0)
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                                "img-src 'self' data:; connect-src 'self'");
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    int cls = status / 100;
    atomic_fetch_add(&o->req[cls >= 1 && cls <= 5 ? cls : 5], 1);
    atomic_fetch_add(&o->req_bytes, len);
    return rc;
}

static enum MHD_Result send_error(out_http *o, struct MHD_Connection *c, int status,
                                  const char *msg)
{
    hf_buf b;
    hf_buf_init(&b, 256);
    hf_api_error(&b, status, msg);
    enum MHD_Result rc = send_buf(o, c, status, "application/json", b.data, b.len,
                                  MHD_RESPMEM_MUST_COPY);
    hf_buf_release(&b);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload;
    (void)con_cls;
    out_http *o = cls;
    *upload_size = 0;                     /* answered at the first call: no route takes a body */
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return send_error(o, c, 405, "only GET and HEAD: the API is read-only");
    hf_api_req req;
    memset(&req, 0, sizeof req);
    argctx a = {&req, NULL, 0, 0};
    MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, collect_arg, &a);
    if (strlen(url) + a.bytes > MAX_URL)
        return send_error(o, c, 414, "the URL is too long (at most 2048 bytes)");
    if (a.nul) return send_error(o, c, 400, "a parameter holds a NUL byte (%00)");
    if (strstr(url, "..") || strchr(url, '\\'))
        return send_error(o, c, 400, "a path may not contain \"..\" or \"\\\"");
    int api = strncmp(url, "/api/", 5) == 0 || strcmp(url, "/api") == 0 ||
              strcmp(url, "/metrics") == 0;
    if (!api) {
        const webfile *w = find_file(o, url);
        if (!w) return send_error(o, c, 404, "no such file; the page is at /");
        return send_buf(o, c, 200, w->type, w->data, w->len, MHD_RESPMEM_PERSISTENT);
    }
    if (*o->set.token) {
        const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        const char *given = h && strncmp(h, "Bearer ", 7) == 0 ? h + 7 : a.token;
        if (!given || !same_secret(given, o->set.token)) {
            atomic_fetch_add(&o->req[0], 1);
            return send_error(o, c, 401, "this view needs its access token: send "
                                         "Authorization: Bearer TOKEN");
        }
    }
    req.path = url;
    hf_buf b;
    hf_buf_init(&b, 4096);
    const char *type;
    int status = hf_api_handle(&o->api, &req, &b, &type);
    enum MHD_Result rc = send_buf(o, c, status, type, b.data, b.len, MHD_RESPMEM_MUST_COPY);
    hf_buf_release(&b);
    return rc;
}

/* ------------------------------------------------------------------------
 * The output's table
 * --------------------------------------------------------------------- */

static void metrics_extra(void *ctx, hf_buf *out)
{
    out_http *o = ctx;
    uint64_t written, dropped, batches;
    hf_viewq_stats(o->q, &written, &dropped, &batches);
    static const char *cls[] = {"401", "1xx", "2xx", "3xx", "4xx", "5xx"};
    hf_buf_puts(out, "# HELP hostflow_http_requests_total Requests answered, by status class.\n"
                     "# TYPE hostflow_http_requests_total counter\n");
    for (int i = 0; i < 6; i++) {
        if (i == 1 || i == 3) continue;
        char line[128];
        snprintf(line, sizeof line, "hostflow_http_requests_total{code=\"%s\"} %llu\n",
                 i ? cls[i] : "401_token", (unsigned long long)atomic_load(&o->req[i]));
        hf_buf_puts(out, line);
    }
    char line[512];
    snprintf(line, sizeof line,
             "# HELP hostflow_view_records_dropped_total Records that skipped the view: its queue was full.\n"
             "# TYPE hostflow_view_records_dropped_total counter\n"
             "hostflow_view_records_dropped_total %llu\n",
             (unsigned long long)dropped);
    hf_buf_puts(out, line);
}

static void counters_extra(void *ctx, hf_buf *out)
{
    out_http *o = ctx;
    uint64_t written, dropped, batches;
    hf_viewq_stats(o->q, &written, &dropped, &batches);
    char line[512];
    snprintf(line, sizeof line,
             "{\"listen\":\"%s\",\"port\":%d,\"requests\":{\"2xx\":%llu,\"4xx\":%llu,\"5xx\":%llu,"
             "\"401_token\":%llu},\"records_dropped\":%llu,\"batches\":%llu}",
             o->set.listen, o->port, (unsigned long long)atomic_load(&o->req[2]),
             (unsigned long long)atomic_load(&o->req[4]), (unsigned long long)atomic_load(&o->req[5]),
             (unsigned long long)atomic_load(&o->req[0]), (unsigned long long)dropped,
             (unsigned long long)batches);
    hf_buf_puts(out, line);
}

static int http_close(void *out);

/* The home block: the first monitored network (IPv4 first), else 0.0.0.0/0. */
static void home_block(const hf_config *cfg, hf_view_block *home)
{
    char err[128];
    hf_view_block_parse("0.0.0.0/0", home, err, sizeof err);
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < cfg->networks.n; i++) {
            hf_view_block b;
            if (cfg->networks.v[i][0] == '!' ||
                hf_view_block_parse(cfg->networks.v[i], &b, err, sizeof err) < 0)
                continue;
            if (pass == 0 && b.family != 4) continue;
            *home = b;
            return;
        }
}

static void *http_open(const hf_config *cfg, const char *target, char *err, size_t errlen)
{
    out_http *o = hf_calloc(1, sizeof *o);
    if (hf_http_settings_get(cfg, target, &o->set, err, errlen) < 0) goto fail;
    load_dir(o, o->set.web_dir, "", 0);
    if (!find_file(o, "/index.html"))
        hf_log(HF_LOG_WARN, "http: no page in %s (http.web): the API alone is served",
               o->set.web_dir);
    o->view = hf_view_new(&o->set.lim);
    o->api.view = o->view;
    home_block(cfg, &o->api.home);
    o->api.networks = cfg->networks.v;
    o->api.nnetworks = cfg->networks.n;
    o->api.metrics_extra = metrics_extra;
    o->api.counters_extra = counters_extra;
    o->api.extra_ctx = o;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD;
    if (o->set.addr.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    o->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, o,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&o->set.addr,
                            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)o->set.threads,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->set.max_clients,
                            MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
                            MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
                            MHD_OPTION_END);
    if (!o->d) {
        snprintf(err, errlen, "http: cannot listen on %s: %s", o->set.listen, strerror(errno));
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(o->d, MHD_DAEMON_INFO_BIND_PORT);
    o->port = info ? info->port : 0;
    if (!(o->q = hf_viewq_new(o->view, o->set.queue, NULL, NULL))) {
        snprintf(err, errlen, "http: cannot start the view thread");
        goto fail;
    }
    char host[sizeof o->set.listen];
    memcpy(host, o->set.listen, sizeof host);
    char *colon = strrchr(host, ':');
    if (colon) *colon = '\0';
    hf_log(HF_LOG_INFO, "http: the view is at http://%s:%d/ (%d files from %s)",
           *host ? host : "127.0.0.1", o->port, o->nfiles, o->set.web_dir);
    return o;
fail:
    http_close(o);
    return NULL;
}

static int http_write(void *out, const hf_records *b)
{
    out_http *o = out;
    return hf_viewq_write(o->q, b);
}

/* The view is not where records are kept: nothing waits for it. */
static int http_flush(void *out, int timeout_ms)
{
    (void)out;
    (void)timeout_ms;
    return HF_OUT_OK;
}

static void http_counters(void *out, hf_output_counters *c)
{
    out_http *o = out;
    memset(c, 0, sizeof *c);
    uint64_t dropped, batches;
    hf_viewq_stats(o->q, &c->written, &dropped, &batches);
    if (dropped) {
        c->nlost = 1;
        c->lost[0].reason = "view queue full";
        c->lost[0].n = dropped;
    }
    c->state = "ok";
}

static void http_watch(void *out, hf_run_counters_fn fn, void *ctx)
{
    out_http *o = out;
    o->api.counters_ctx = ctx;
    atomic_store(&o->api.counters, fn);
    hf_viewq_watch(o->q, fn, ctx);
}

static int http_close(void *out)
{
    out_http *o = out;
    if (!o) return 0;
    if (o->d) MHD_stop_daemon(o->d);
    hf_viewq_free(o->q);
    hf_view_free(o->view);
    for (int i = 0; i < o->nfiles; i++) {
        hf_free(o->files[i].name);
        hf_free(o->files[i].data);
    }
    hf_http_settings_release(&o->set);
    hf_free(o);
    return 0;
}

const hf_output_ops hf_out_http = {
    .scheme = "http",
    .usage = "http:ADDR:PORT  the HTTP view: heat map, host plots, JSON API, /metrics",
    .keys = hf_out_http_keys,
    .open = http_open,
    .write = http_write,
    .flush = http_flush,
    .counters = http_counters,
    .close = http_close,
    .watch = http_watch,
    .wanted = hf_http_wanted,
};
