/* http.c -- a libcurl easy handle kept for the life of an output thread
 * (see http.h).
 *
 * Keeping the handle keeps its connection: libcurl reuses the open TCP (and
 * TLS) connection to the same host for the next request, so a stream of bulk
 * requests pays for one handshake.  Failover only changes the base URL the
 * next request is joined to; a connection to the old node stays in the
 * handle's small cache until libcurl closes it.
 *
 * Request bodies are gzipped here when asked (level 1: JSON shrinks to about
 * a tenth at little CPU); answers may come gzipped too (Accept-Encoding),
 * libcurl inflates them.  "Expect: 100-continue", which libcurl adds to large
 * bodies and which costs a round trip, is turned off. */
#include "io/http.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <zlib.h>

#include "base/alloc.h"

/* An answer larger than this is cut off and counted as no answer (a bulk
 * answer is about 30 bytes per record with filter_path; nothing a search
 * server says is near this). */
#define MAX_ANSWER ((size_t)64 << 20)

struct hf_http {
    CURL              *curl;
    char             **urls;       /* base URLs, no trailing '/' */
    char             **shown;      /* the same without credentials */
    int                nurls, cur;
    char              *api_key_header;
    int                gzip;
    hf_buf             zbuf;       /* the gzipped body */
    hf_buf             url;        /* base + path */
    char               errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void init_curl(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void hf_http_reply_init(hf_http_reply *r)
{
    memset(r, 0, sizeof *r);
    hf_buf_init(&r->body, 4096);
}

void hf_http_reply_release(hf_http_reply *r)
{
    hf_buf_release(&r->body);
}

void hf_http_redact(const char *url, char *out, size_t n)
{
    const char *host = strstr(url, "://");
    host = host ? host + 3 : url;
    const char *slash = strchr(host, '/');
    const char *at = memchr(host, '@', slash ? (size_t)(slash - host) : strlen(host));
    if (!at) {
        snprintf(out, n, "%s", url);
        return;
    }
    snprintf(out, n, "%.*s%s", (int)(host - url), url, at + 1);
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *ctx)
{
    hf_buf *b = ctx;
    size_t n = size * nmemb;
    if (b->len + n > MAX_ANSWER) return 0;  /* CURLE_WRITE_ERROR */
    hf_buf_put(b, p, n);
    return n;
}

hf_http *hf_http_new(const hf_http_opts *o, char *err, size_t errlen)
{
    pthread_once(&curl_once, init_curl);
    if (curl_init_rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl cannot be initialised: %s", curl_easy_strerror(curl_init_rc));
        return NULL;
    }
    if (o->nurls < 1) {
        snprintf(err, errlen, "no URL given");
        return NULL;
    }
    for (int i = 0; i < o->nurls; i++)
        if (strncmp(o->urls[i], "http://", 7) != 0 && strncmp(o->urls[i], "https://", 8) != 0) {
            snprintf(err, errlen, "\"%s\": expected a URL such as http://host:9200 or https://host:9200",
                     o->urls[i]);
            return NULL;
        }
    hf_http *h = hf_calloc(1, sizeof *h);
    h->curl = curl_easy_init();
    if (!h->curl) {
        snprintf(err, errlen, "libcurl: cannot create a handle");
        hf_free(h);
        return NULL;
    }
    h->nurls = o->nurls;
    h->urls = hf_calloc((size_t)o->nurls, sizeof *h->urls);
    h->shown = hf_calloc((size_t)o->nurls, sizeof *h->shown);
    for (int i = 0; i < o->nurls; i++) {
        size_t n = strlen(o->urls[i]);
        while (n > 0 && o->urls[i][n - 1] == '/') n--;
        h->urls[i] = hf_strndup(o->urls[i], n);
        char shown[1024];
        hf_http_redact(h->urls[i], shown, sizeof shown);
        h->shown[i] = hf_strdup(shown);
    }
    h->gzip = o->gzip;
    hf_buf_init(&h->zbuf, 0);
    hf_buf_init(&h->url, 256);
    if (o->api_key && *o->api_key) {
        size_t n = strlen(o->api_key) + 32;
        h->api_key_header = hf_malloc(n);
        snprintf(h->api_key_header, n, "Authorization: ApiKey %s", o->api_key);
    }

    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "hostflow");
    if (o->user && *o->user) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, o->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, o->password ? o->password : "");
    }
    if (o->ca_file && *o->ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
    if (!o->tls_verify) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    return h;
}

void hf_http_free(hf_http *h)
{
    if (!h) return;
    curl_easy_cleanup(h->curl);
    for (int i = 0; i < h->nurls; i++) {
        hf_free(h->urls[i]);
        hf_free(h->shown[i]);
    }
    hf_free(h->urls);
    hf_free(h->shown);
    hf_free(h->api_key_header);
    hf_buf_release(&h->zbuf);
    hf_buf_release(&h->url);
    hf_free(h);
}

int hf_http_failover(hf_http *h)
{
    h->cur = (h->cur + 1) % h->nurls;
    return h->cur;
}

int hf_http_nodes(const hf_http *h)
{
    return h->nurls;
}

const char *hf_http_node(const hf_http *h)
{
    return h->shown[h->cur];
}

/* gzip body into h->zbuf.  Returns 0, or -1 (zlib failed: send it plain). */
static int deflate_body(hf_http *h, const void *body, size_t len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return -1;
    h->zbuf.len = 0;
    hf_buf_reserve(&h->zbuf, deflateBound(&zs, (uLong)len) + 64);
    zs.next_in = (Bytef *)body;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)h->zbuf.data;
    zs.avail_out = (uInt)h->zbuf.cap;
    int rc = deflate(&zs, Z_FINISH);
    h->zbuf.len = zs.total_out;
    deflateEnd(&zs);
    return rc == Z_STREAM_END ? 0 : -1;
}

static int is_tls_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_SSL_CONNECT_ERROR: case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM: case CURLE_SSL_CIPHER: case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR: case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS: case CURLE_SSL_CRL_BADFILE: case CURLE_SSL_ENGINE_INITFAILED:
        return 1;
    default:
        return 0;
    }
}

int hf_http_request(hf_http *h, const char *method, const char *path, const char *ctype,
                    const void *body, size_t len, hf_http_reply *r)
{
    CURL *c = h->curl;
    r->status = 0;
    r->transport = 0;
    r->tls = 0;
    r->error[0] = '\0';
    r->body.len = 0;
    r->sent = 0;
    h->errbuf[0] = '\0';

    h->url.len = 0;
    hf_buf_puts(&h->url, h->urls[h->cur]);
    hf_buf_puts(&h->url, path);
    hf_buf_putc(&h->url, '\0');
    curl_easy_setopt(c, CURLOPT_URL, h->url.data);

    struct curl_slist *hdrs = NULL;
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (h->api_key_header) hdrs = curl_slist_append(hdrs, h->api_key_header);
    int head = strcmp(method, "HEAD") == 0;
    curl_easy_setopt(c, CURLOPT_NOBODY, head ? 1L : 0L);
    if (body) {
        char ct[128];
        snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "application/json");
        hdrs = curl_slist_append(hdrs, ct);
        if (h->gzip && len > 0 && deflate_body(h, body, len) == 0) {
            body = h->zbuf.data;
            len = h->zbuf.len;
            hdrs = curl_slist_append(hdrs, "Content-Encoding: gzip");
        }
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        r->sent = len;
    } else if (head) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, strcmp(method, "GET") ? method : NULL);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CURLcode rc = curl_easy_perform(c);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r->ms = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    hf_buf_putc(&r->body, '\0');
    r->body.len--;

    if (rc != CURLE_OK) {
        r->transport = (int)rc;
        r->tls = is_tls_error(rc);
        if (rc == CURLE_WRITE_ERROR && r->body.len + 1 >= MAX_ANSWER)
            snprintf(r->error, sizeof r->error, "the answer is larger than %zu MiB", MAX_ANSWER >> 20);
        else {
            /* curl's detailed words when it has them, and the system's */
            long os_errno = 0;
            curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
            char sys[128] = "";
            if (os_errno) snprintf(sys, sizeof sys, " (%s)", strerror((int)os_errno));
            /* a TLS server asked in plain HTTP closes without a word */
            const char *hint = rc == CURLE_GOT_NOTHING && !strncmp(h->urls[h->cur], "http://", 7)
                             ? " (is it an https:// server?)" : "";
            snprintf(r->error, sizeof r->error, "%s%s%s", h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc),
                     sys, hint);
        }
        return -1;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    return 0;
}
