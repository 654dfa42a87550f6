/* out_opensearch.c -- host records into OpenSearch or Elasticsearch:
 * `-o opensearch:http://127.0.0.1:9200[,http://node2:9200]`.
 *
 * Workers write batches of records; each record becomes a bulk item (its
 * action line names the index, from the pattern, the record's type and its
 * day, and the _id, the record's id) and waits in one bounded queue.  One
 * sender thread, with one libcurl handle and so one kept-alive connection,
 * takes items in order into bulk requests of at most batch_count records and
 * batch_size bytes, sent when full, when the oldest item has waited
 * batch_time, or at once when a flush() waits.
 *
 *   write() ──▶ queue ──▶ sender ──▶ POST /_bulk ──▶ answer, item by item
 *   (waits while        ▲                 │   stored ........ acknowledged, freed
 *    the queue holds    │                 │   429/5xx/busy .. retry list (alone,
 *    queue_size)        └── retry list ◀──┤                   backoff + jitter)
 *                                         │   400, mapping .. dead letters, never again
 *                                         └── no answer, 401, 503, not a
 *                                             search server: the whole request
 *                                             again, next node, backoff; records wait
 *
 * Nothing is dropped: while the server is away or slow, records wait, the
 * queue fills, write() blocks and the workers and the input slow down with
 * it (back-pressure); memory stays within queue_size.  A record refused for
 * good goes to the dead-letter path with the server's reason (a file of
 * JSON lines, or a Kafka topic through the Kafka producer), counted; one
 * refused for now is sent again alone, with exponential backoff and jitter,
 * at most max_retries times, then dead-lettered too.  A request too large
 * for the server (413) is split in halves down to the one record that is too
 * large, which is dead-lettered.  Because every record is written under its
 * id, sending one again (a retry, a replay after a crash) replaces it: no
 * duplicates.
 *
 * flush() waits until every record written before it was called is stored
 * or dead-lettered (and the dead letters are on disk or acknowledged by
 * Kafka): the sequence number of the oldest record still waiting, anywhere,
 * must have passed the last one written.  Only then may an input commit the
 * positions of those records.
 *
 * At start the output asks GET / which server it is (OpenSearch or
 * Elasticsearch, and the version), installs the index template and, if
 * opensearch.retention is set, the retention policy (out_opensearch_
 * template.c).  A server that cannot be reached yet is not an error: the
 * sender installs them before its first bulk request.  A server that answers
 * wrongly (refused credentials, a TLS certificate or name that does not
 * match, something that is not a search server, a template refused) stops
 * hostflow at start with the server's own words. */
#include "io/out_opensearch.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "io/bulk.h"
#include "io/http.h"
#include "io/kafka_producer.h"

#define LOG_PREFIX "opensearch"
#define UNSENT 3                 /* an outcome beside enum hf_bulk_verdict: not answered */
#define LATENCY_BUCKETS 24       /* powers of two of ms */
#define CHAIN_BYTES ((size_t)1 << 20)

typedef struct hf_os_out {
    hf_os_settings   s;
    const hf_config *cfg;
    hf_http         *http;         /* the sender's, once it runs */
    pthread_t        thread;
    int              started;
    pthread_mutex_t  lock;
    pthread_cond_t   wake;         /* the sender: work, a flush, stop */
    pthread_cond_t   room;         /* writers: the queue has room */
    pthread_cond_t   done;         /* flushers: records were settled */

    /* records, by state; all under lock */
    hf_bulk_item    *head, *tail;  /* queued, in seq order */
    size_t           nqueued, queued_bytes;
    hf_bulk_item    *rhead, *rtail;/* waiting for their retry time */
    size_t           nretry;
    size_t           ninflight;
    uint64_t         inflight_min; /* lowest seq in flight (UINT64_MAX: none) */
    size_t           held;         /* bytes of all of them */
    uint64_t         next_seq;
    int              flushers;     /* flush() calls waiting: send now */
    int              stop;
    int64_t          stop_deadline;
    int              fatal;        /* the dead-letter path failed: records would be lost */

    /* the server */
    int              setup_done;
    int              elasticsearch;
    char             version[64];
    int64_t          pause_until;  /* trouble: no request before this (monotonic ms) */
    int              failures;     /* requests in a row without a usable answer */
    int              down;         /* in trouble (logged) */
    char             trouble[4096];/* what was logged last */
    int64_t          trouble_logged_ms;
    uint64_t         rng;

    /* counters, under lock */
    uint64_t         acked, retried, dead, lost_refused, lost_dl, lost_exit;
    uint64_t         requests, docs_sent, bytes_sent;
    uint64_t         lat_n, lat_sum, lat_max, lat_hist[LATENCY_BUCKETS];

    /* dead letters (the sender writes, flush() syncs) */
    pthread_mutex_t  dl_lock;
    FILE            *dl_file;
    hf_kafka_producer *dl_kafka;
    hf_buf           dl_line;

    /* the sender's buffers */
    hf_buf           body;
    hf_http_reply    reply;
} hf_os_out;

/* ------------------------------------------------------------------------
 * Small helpers
 * --------------------------------------------------------------------- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void deadline_ts(int64_t mono_deadline, struct timespec *ts)
{
    /* the conditions wait on CLOCK_MONOTONIC (pthread_condattr_setclock) */
    ts->tv_sec = (time_t)(mono_deadline / 1000);
    ts->tv_nsec = (long)(mono_deadline % 1000) * 1000000;
}

/* A wait of about backoff_ms * 2^level, at most backoff_max_ms, with equal
 * jitter (half fixed, half random) so that retries of many records, or of
 * several hostflow instances, spread out. */
static int64_t backoff(hf_os_out *o, unsigned level)
{
    int64_t d = o->s.backoff_ms;
    for (unsigned i = 0; i < level && d < o->s.backoff_max_ms; i++) d *= 2;
    if (d > o->s.backoff_max_ms) d = o->s.backoff_max_ms;
    o->rng ^= o->rng << 13, o->rng ^= o->rng >> 7, o->rng ^= o->rng << 17;
    return d / 2 + (int64_t)(o->rng % (uint64_t)(d / 2 + 1));
}

/* The server's error text of an answer: "type: reason (caused by ...)" from
 * {"error":{...}}, or the body as it is when it is not such JSON (cut only
 * past 4 KiB, which is no error text but a page). */
static void error_text(const hf_buf *body, hf_buf *out)
{
    cJSON *root = cJSON_ParseWithLength(body->data, body->len);
    const cJSON *e = root ? cJSON_GetObjectItemCaseSensitive(root, "error") : NULL;
    if (cJSON_IsObject(e)) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(e, "type");
        const cJSON *reason = cJSON_GetObjectItemCaseSensitive(e, "reason");
        if (cJSON_IsString(type)) hf_buf_puts(out, type->valuestring);
        if (cJSON_IsString(type) && cJSON_IsString(reason)) hf_buf_puts(out, ": ");
        if (cJSON_IsString(reason)) hf_buf_puts(out, reason->valuestring);
        const cJSON *cause = cJSON_GetObjectItemCaseSensitive(e, "caused_by");
        for (int depth = 0; cJSON_IsObject(cause) && depth < 8; depth++) {
            const cJSON *ct = cJSON_GetObjectItemCaseSensitive(cause, "type");
            const cJSON *cr = cJSON_GetObjectItemCaseSensitive(cause, "reason");
            hf_buf_puts(out, " (caused by ");
            if (cJSON_IsString(ct)) hf_buf_puts(out, ct->valuestring);
            if (cJSON_IsString(cr)) hf_buf_puts(out, ": "), hf_buf_puts(out, cr->valuestring);
            hf_buf_putc(out, ')');
            cause = cJSON_GetObjectItemCaseSensitive(cause, "caused_by");
        }
    } else if (cJSON_IsString(e)) {
        hf_buf_puts(out, e->valuestring);
    } else {
        size_t n = body->len;
        while (n && (body->data[n - 1] == '\n' || body->data[n - 1] == '\r')) n--;
        if (n == 0) hf_buf_puts(out, "(an empty answer)");
        else if (n <= 4096) hf_buf_put(out, body->data, n);
        else {
            char tail[64];
            hf_buf_put(out, body->data, 4096);
            snprintf(tail, sizeof tail, "... (%zu bytes in all)", n);
            hf_buf_puts(out, tail);
        }
    }
    cJSON_Delete(root);
    hf_buf_putc(out, '\0');
    out->len--;
}

static const char *status_hint(long st)
{
    switch (st) {
    case 401: return "; check opensearch.user and opensearch.password, or opensearch.api_key";
    case 403: return "; the user is not allowed to do this (its roles on the indices)";
    case 404: case 405: return "; is this URL a search server (OpenSearch or Elasticsearch)?";
    case 429: return "; the server is overloaded";
    case 502: case 503: case 504: return "; the server is unavailable";
    default: return "";
    }
}

/* ------------------------------------------------------------------------
 * Trouble: no usable answer.  Logged whole when it changes, then once a
 * minute while it lasts; the end of it is logged too.
 * --------------------------------------------------------------------- */

static void trouble(hf_os_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void trouble(hf_os_out *o, const char *fmt, ...)
{
    char msg[sizeof o->trouble];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int64_t now = mono_ms();
    pthread_mutex_lock(&o->lock);
    size_t waiting = o->nqueued + o->nretry + o->ninflight;
    int same = o->down && strcmp(msg, o->trouble) == 0;
    o->down = 1;
    pthread_mutex_unlock(&o->lock);
    if (same && now - o->trouble_logged_ms < 60000) return;
    snprintf(o->trouble, sizeof o->trouble, "%s", msg);
    o->trouble_logged_ms = now;
    hf_log(HF_LOG_ERROR, LOG_PREFIX ": %s; %s%zu records wait and are sent again (nothing is dropped)",
           msg, same ? "still so; " : "", waiting);
}

static void untrouble(hf_os_out *o)
{
    o->failures = 0;
    if (!o->down) return;
    pthread_mutex_lock(&o->lock);
    o->down = 0;
    size_t waiting = o->nqueued + o->nretry + o->ninflight;
    pthread_mutex_unlock(&o->lock);
    o->trouble[0] = '\0';
    hf_log(HF_LOG_INFO, LOG_PREFIX ": %s answers again; sending the %zu records that wait",
           hf_http_node(o->http), waiting);
}

/* After a request without a usable answer: the next node, and when every
 * node has failed in a row, a pause (backoff) before the next request. */
static void after_failure(hf_os_out *o)
{
    o->failures++;
    hf_http_failover(o->http);
    if (o->failures % hf_http_nodes(o->http) == 0) {
        unsigned level = (unsigned)(o->failures / hf_http_nodes(o->http) - 1);
        o->pause_until = mono_ms() + backoff(o, level);
    }
}

/* ------------------------------------------------------------------------
 * Dead letters
 * --------------------------------------------------------------------- */

static int dl_open(hf_os_out *o, char *err, size_t errlen)
{
    const char *p = o->s.dead_letter;
    if (!p) return 0;
    if (strncmp(p, "kafka:", 6) == 0) {
        char why[512];
        o->dl_kafka = hf_kafka_producer_new(o->cfg, p + 6, why, sizeof why);
        if (!o->dl_kafka) {
            snprintf(err, errlen, "opensearch.dead_letter: %s", why);
            return -1;
        }
        return 0;
    }
    o->dl_file = fopen(p, "a");
    if (!o->dl_file) {
        snprintf(err, errlen, "opensearch.dead_letter: cannot open \"%s\" for appending: %s",
                 p, strerror(errno));
        return -1;
    }
    return 0;
}

/* Keep a refused item in the dead letters.  Returns 0 (kept), 1 (there is
 * no dead-letter path: lost) or -1 (the path failed: lost). */
static int dl_write(hf_os_out *o, const hf_bulk_item *it, int status, const char *reason)
{
    const char *doc = it->data + it->doc_off;
    size_t dlen = it->len - it->doc_off - 1;
    const char *index = it->data + it->index_off;
    if (o->dl_kafka) {
        char st[16], source[300];
        snprintf(st, sizeof st, "%d", status);
        snprintf(source, sizeof source, "opensearch:%.*s", (int)it->index_len, index);
        const char *headers[] = {"hostflow.reason", reason, "hostflow.source", source,
                                 "hostflow.status", st};
        return hf_kafka_produce_headers(o->dl_kafka, it->data + it->id_off, it->id_len,
                                        doc, dlen, headers, 3) < 0 ? -1 : 0;
    }
    if (!o->dl_file) return 1;
    char now[32];
    hf_time_format_iso((int64_t)time(NULL) * 1000, now);
    hf_buf *b = &o->dl_line;
    b->len = 0;
    hf_buf_puts(b, "{\"reason\":");
    hf_buf_put_string(b, reason, strlen(reason));
    hf_buf_puts(b, ",\"status\":");
    hf_buf_put_int(b, status);
    hf_buf_puts(b, ",\"index\":");
    hf_buf_put_string(b, index, it->index_len);
    hf_buf_puts(b, ",\"id\":\"");
    hf_buf_put(b, it->data + it->id_off, it->id_len);   /* escaped already */
    hf_buf_puts(b, "\",\"output\":\"opensearch\",\"time\":\"");
    hf_buf_puts(b, now);
    hf_buf_puts(b, "\",\"record\":");
    hf_buf_put(b, doc, dlen);
    hf_buf_puts(b, "}\n");
    pthread_mutex_lock(&o->dl_lock);
    int rc = fwrite(b->data, 1, b->len, o->dl_file) == b->len ? 0 : -1;
    pthread_mutex_unlock(&o->dl_lock);
    return rc;
}

/* Everything dead-lettered so far on disk (fflush) or acknowledged by Kafka.
 * 0, 1 (not yet), -1 (failed). */
static int dl_sync(hf_os_out *o, int timeout_ms)
{
    if (o->dl_kafka) return hf_kafka_producer_sync(o->dl_kafka, timeout_ms) < 0 ? 1 : 0;
    if (!o->dl_file) return 0;
    pthread_mutex_lock(&o->dl_lock);
    int rc = fflush(o->dl_file) == 0 && !ferror(o->dl_file) ? 0 : -1;
    pthread_mutex_unlock(&o->dl_lock);
    return rc;
}

/* ------------------------------------------------------------------------
 * Setting up the server: which it is, the template, the retention policy
 * --------------------------------------------------------------------- */

enum { SETUP_OK = 0, SETUP_WRONG = -1, SETUP_AWAY = -2 };

/* A request whose answer must be 2xx.  SETUP_OK, or the error in err. */
static int setup_call(hf_os_out *o, const char *what, const char *method, const char *path,
                      const hf_buf *body, char *err, size_t errlen)
{
    hf_http_reply *r = &o->reply;
    if (hf_http_request(o->http, method, path, "application/json", body ? body->data : NULL,
                        body ? body->len : 0, r) < 0) {
        snprintf(err, errlen, "%s: %s%s: %s", hf_http_node(o->http), r->tls ? "TLS: " : "", what,
                 r->error);
        if (r->tls)
            snprintf(err + strlen(err), errlen - strlen(err), " (check opensearch.ca_file, and "
                     "that the host name in the URL is one the certificate names)");
        return r->tls ? SETUP_WRONG : SETUP_AWAY;
    }
    if (r->status >= 200 && r->status < 300) return SETUP_OK;
    hf_buf text;
    hf_buf_init(&text, 256);
    error_text(&r->body, &text);
    snprintf(err, errlen, "%s: %s: %s %s: %ld %s%s", hf_http_node(o->http), what, method, path,
             r->status, text.data, status_hint(r->status));
    hf_buf_release(&text);
    return r->status == 429 || r->status >= 500 ? SETUP_AWAY : SETUP_WRONG;
}

/* The version of the node in a _nodes/_local answer, and whether it is
 * Elasticsearch (whose nodes say their build_flavor; OpenSearch's do not).
 * 0, or -1 when the answer has none. */
static int nodes_version(hf_os_out *o)
{
    cJSON *root = cJSON_ParseWithLength(o->reply.body.data, o->reply.body.len);
    const cJSON *nodes = root ? cJSON_GetObjectItemCaseSensitive(root, "nodes") : NULL;
    const cJSON *node = cJSON_IsObject(nodes) ? nodes->child : NULL;
    const cJSON *num = node ? cJSON_GetObjectItemCaseSensitive(node, "version") : NULL;
    int rc = -1;
    if (cJSON_IsString(num)) {
        snprintf(o->version, sizeof o->version, "%s", num->valuestring);
        o->elasticsearch = cJSON_GetObjectItemCaseSensitive(node, "build_flavor") != NULL;
        rc = 0;
    }
    cJSON_Delete(root);
    return rc;
}

/* The versions hostflow can set up: composable templates came with
 * Elasticsearch 7.8 (OpenSearch has them from its first version). */
static int check_version(hf_os_out *o, char *err, size_t errlen)
{
    int major = atoi(o->version), minor = strchr(o->version, '.') ? atoi(strchr(o->version, '.') + 1) : 0;
    if (o->elasticsearch && (major < 7 || (major == 7 && minor < 8))) {
        snprintf(err, errlen, "%s: Elasticsearch %s: hostflow needs 7.8 or newer (composable "
                 "index templates)", hf_http_node(o->http), o->version);
        return SETUP_WRONG;
    }
    return SETUP_OK;
}

/* Which server answers at the current node: GET /, or, where that is not
 * served (404, 405: an Elasticsearch without its rest-root module, a proxy
 * that lets only some paths through), GET /_nodes/_local. */
static int setup_identify(hf_os_out *o, char *err, size_t errlen)
{
    int rc = setup_call(o, "asking which server this is", "GET", "/", NULL, err, errlen);
    if (rc == SETUP_WRONG && (o->reply.status == 404 || o->reply.status == 405)) {
        char other[256];
        if (setup_call(o, "asking which server this is", "GET",
                       "/_nodes/_local?filter_path=nodes.*.version,nodes.*.build_flavor", NULL,
                       other, sizeof other) == SETUP_OK && nodes_version(o) == 0)
            return check_version(o, err, errlen);
        return rc;                     /* what GET / said */
    }
    if (rc != SETUP_OK) return rc;
    cJSON *root = cJSON_ParseWithLength(o->reply.body.data, o->reply.body.len);
    const cJSON *v = root ? cJSON_GetObjectItemCaseSensitive(root, "version") : NULL;
    const cJSON *num = v ? cJSON_GetObjectItemCaseSensitive(v, "number") : NULL;
    const cJSON *dist = v ? cJSON_GetObjectItemCaseSensitive(v, "distribution") : NULL;
    if (!cJSON_IsString(num)) {
        hf_buf text;
        hf_buf_init(&text, 256);
        error_text(&o->reply.body, &text);
        snprintf(err, errlen, "%s: not a search server: GET / answered %ld without a version "
                 "number (OpenSearch and Elasticsearch give one): %s", hf_http_node(o->http),
                 o->reply.status, text.data);
        hf_buf_release(&text);
        cJSON_Delete(root);
        return SETUP_WRONG;
    }
    o->elasticsearch = !(cJSON_IsString(dist) && strcmp(dist->valuestring, "opensearch") == 0);
    snprintf(o->version, sizeof o->version, "%s", num->valuestring);
    cJSON_Delete(root);
    return check_version(o, err, errlen);
}

/* The ISM policy: created, or replaced (which needs its sequence number). */
static int setup_ism(hf_os_out *o, const char *name, const hf_buf *policy, char *err, size_t errlen)
{
    char path[512], what[600];
    snprintf(path, sizeof path, "/_plugins/_ism/policies/%s", name);
    snprintf(what, sizeof what, "installing the retention policy %s (Index State Management)", name);
    hf_http_reply *r = &o->reply;
    if (hf_http_request(o->http, "GET", path, NULL, NULL, 0, r) == 0 && r->status == 200) {
        cJSON *root = cJSON_ParseWithLength(r->body.data, r->body.len);
        const cJSON *seq = root ? cJSON_GetObjectItemCaseSensitive(root, "_seq_no") : NULL;
        const cJSON *term = root ? cJSON_GetObjectItemCaseSensitive(root, "_primary_term") : NULL;
        if (cJSON_IsNumber(seq) && cJSON_IsNumber(term))
            snprintf(path + strlen(path), sizeof path - strlen(path),
                     "?if_seq_no=%.0f&if_primary_term=%.0f", seq->valuedouble, term->valuedouble);
        cJSON_Delete(root);
    }
    int rc = setup_call(o, what, "PUT", path, policy, err, errlen);
    if (rc == SETUP_WRONG && strstr(err, "no handler found"))
        snprintf(err + strlen(err), errlen - strlen(err), " (the server has no Index State "
                 "Management plugin: install it, or leave opensearch.retention unset)");
    return rc;
}

/* Identify the server at the current node, install the template and the
 * retention policy. */
static int setup_node(hf_os_out *o, char *err, size_t errlen)
{
    int rc = setup_identify(o, err, errlen);
    if (rc != SETUP_OK) return rc;
    hf_buf b;
    hf_buf_init(&b, 4096);
    char path[512], what[600], policy[300];
    hf_os_policy_name(&o->s, policy, sizeof policy);
    if (o->s.retention_ms && o->elasticsearch) {
        /* first, so the template can name it */
        hf_os_policy_json(&b, &o->s, 1);
        snprintf(path, sizeof path, "/_ilm/policy/%s", policy);
        snprintf(what, sizeof what, "installing the retention policy %s (Index Lifecycle Management)",
                 policy);
        rc = setup_call(o, what, "PUT", path, &b, err, errlen);
        if (rc == SETUP_WRONG && strstr(err, "no handler found"))
            snprintf(err + strlen(err), errlen - strlen(err), " (the server has no Index Lifecycle "
                     "Management: leave opensearch.retention unset, or use a distribution with ILM)");
    }
    if (rc == SETUP_OK && o->s.template) {
        b.len = 0;
        hf_os_template_json(&b, &o->s, o->elasticsearch);
        snprintf(path, sizeof path, "/_index_template/%s", o->s.template_name);
        snprintf(what, sizeof what, "installing the index template %s", o->s.template_name);
        rc = setup_call(o, what, "PUT", path, &b, err, errlen);
    }
    if (rc == SETUP_OK && o->s.retention_ms && !o->elasticsearch) {
        b.len = 0;
        hf_os_policy_json(&b, &o->s, 0);
        rc = setup_ism(o, policy, &b, err, errlen);
    }
    hf_buf_release(&b);
    return rc;
}

/* Set up through the first node that answers rightly.  SETUP_OK;
 * SETUP_WRONG when every node answered wrongly (err says how each did);
 * SETUP_AWAY when none answered rightly and some could not be reached. */
static int setup(hf_os_out *o, char *err, size_t errlen)
{
    int away = 0;
    size_t used = 0;
    err[0] = '\0';
    for (int i = 0; i < hf_http_nodes(o->http); i++) {
        char one[2048];
        int rc = setup_node(o, one, sizeof one);
        if (rc == SETUP_OK) {
            o->setup_done = 1;
            hf_log(HF_LOG_INFO, LOG_PREFIX ": %s: %s %s%s%s", hf_http_node(o->http),
                   o->elasticsearch ? "Elasticsearch" : "OpenSearch", o->version,
                   o->s.template ? ", index template " : "", o->s.template ? o->s.template_name : "");
            return SETUP_OK;
        }
        away |= rc == SETUP_AWAY;
        used += (size_t)snprintf(err + used, used < errlen ? errlen - used : 0, "%s%s",
                                 used ? "; " : "", one);
        if (used >= errlen) used = errlen - 1;
        hf_http_failover(o->http);
    }
    return away ? SETUP_AWAY : SETUP_WRONG;
}

/* ------------------------------------------------------------------------
 * Sending
 * --------------------------------------------------------------------- */

static void count_request(hf_os_out *o, size_t n)
{
    int64_t ms = o->reply.ms;
    int b = 0;
    while (b < LATENCY_BUCKETS - 1 && ((int64_t)1 << b) <= ms) b++;
    pthread_mutex_lock(&o->lock);
    o->requests++;
    o->docs_sent += n;
    o->bytes_sent += o->reply.sent;
    o->lat_n++;
    o->lat_sum += (uint64_t)ms;
    if ((uint64_t)ms > o->lat_max) o->lat_max = (uint64_t)ms;
    o->lat_hist[b]++;
    pthread_mutex_unlock(&o->lock);
}

static void mark_unsent(hf_bulk_outcome *out, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = (hf_bulk_outcome){UNSENT, 0, NULL};
}

/* Send items[0..n) in one bulk request and read the answer into out[0..n).
 * A request the server finds too large (413) or bad as a whole (400, 500)
 * is split in halves, down to the one record at fault.  Returns 0 when every
 * item has its outcome, -1 on trouble (no usable answer: the items not
 * answered are UNSENT; trouble() has said why). */
static int send_items(hf_os_out *o, hf_bulk_item **items, size_t n, hf_bulk_outcome *out)
{
    hf_http_reply *r = &o->reply;
    o->body.len = 0;
    hf_bulk_body(&o->body, items, n);
    if (hf_http_request(o->http, "POST", HF_BULK_PATH, "application/x-ndjson", o->body.data,
                        o->body.len, r) < 0) {
        trouble(o, "%s: %s%s", hf_http_node(o->http), r->tls ? "TLS: " : "", r->error);
        mark_unsent(out, n);
        return -1;
    }
    count_request(o, n);
    long st = r->status;
    if (st == 200) {
        char why[256];
        if (hf_bulk_parse(r->body.data, r->body.len, n, out, why, sizeof why) >= 0) return 0;
        hf_buf text;
        hf_buf_init(&text, 256);
        error_text(&r->body, &text);
        trouble(o, "%s: the answer to a bulk request is not a bulk answer (%s)%s: %s",
                hf_http_node(o->http), why, status_hint(404), text.data);
        hf_buf_release(&text);
        mark_unsent(out, n);
        return -1;
    }
    if (st == 413 || st == 400 || st == 500) {
        if (n > 1) {
            size_t h = n / 2;
            if (send_items(o, items, h, out) < 0) {
                mark_unsent(out + h, n - h);
                return -1;
            }
            return send_items(o, items + h, n - h, out + h);
        }
        hf_buf text;
        hf_buf_init(&text, 256);
        if (st == 413) {
            char t[200];
            snprintf(t, sizeof t, "413 Request Entity Too Large: the record with its action line is "
                     "%u bytes, more than the server takes (http.max_content_length)", items[0]->len);
            hf_buf_puts(&text, t);
            if (r->body.len) hf_buf_puts(&text, ": ");
        } else {
            char t[32];
            snprintf(t, sizeof t, "%ld: ", st);
            hf_buf_puts(&text, t);
        }
        if (st != 413 || r->body.len) error_text(&r->body, &text);
        out[0] = (hf_bulk_outcome){st == 500 ? HF_BULK_RETRY : HF_BULK_REFUSED, (int)st,
                                   hf_strndup(text.data, text.len)};
        hf_buf_release(&text);
        return 0;
    }
    hf_buf text;
    hf_buf_init(&text, 256);
    error_text(&r->body, &text);
    trouble(o, "%s: POST /_bulk: %ld %s%s", hf_http_node(o->http), st, text.data, status_hint(st));
    hf_buf_release(&text);
    mark_unsent(out, n);
    return -1;
}

static void push_retry(hf_os_out *o, hf_bulk_item *it)
{
    it->next = NULL;
    if (o->rtail) o->rtail->next = it;
    else o->rhead = it;
    o->rtail = it;
    o->nretry++;
}

/* Settle the outcomes of a request: free what was stored, dead-letter what
 * was refused for good (or too often for now), put back what is to be sent
 * again. */
static void settle(hf_os_out *o, hf_bulk_item **items, size_t n, hf_bulk_outcome *out, int *dl)
{
    static hf_ratelimit rl_refused = HF_RATELIMIT_INIT(5);
    for (size_t i = 0; i < n; i++) {
        hf_bulk_item *it = items[i];
        if (out[i].verdict == HF_BULK_RETRY && it->attempts + 1 > (uint32_t)o->s.max_retries) {
            size_t m = strlen(out[i].reason) + 96;
            char *why = hf_malloc(m);
            snprintf(why, m, "refused for now %u times, last: %s", it->attempts + 1, out[i].reason);
            hf_free(out[i].reason);
            out[i].reason = why;
            out[i].verdict = HF_BULK_REFUSED;
        }
        if (out[i].verdict != HF_BULK_REFUSED) continue;
        dl[i] = dl_write(o, it, out[i].status, out[i].reason);
        hf_log_limited(&rl_refused, HF_LOG_WARN, LOG_PREFIX ": record %.*s refused by the server "
                       "for index %.*s (%d): %s; %s", (int)it->id_len, it->data + it->id_off,
                       (int)it->index_len, it->data + it->index_off, out[i].status, out[i].reason,
                       dl[i] == 0 ? "kept in the dead letters" :
                       dl[i] > 0 ? "lost: no opensearch.dead_letter path is set" :
                                   "lost: the dead-letter path failed");
        if (dl[i] < 0 && !o->fatal)
            hf_log(HF_LOG_ERROR, LOG_PREFIX ": opensearch.dead_letter %s: cannot write: %s; "
                   "stopping, as refused records would be lost", o->s.dead_letter, strerror(errno));
    }
    int64_t now = mono_ms();
    pthread_mutex_lock(&o->lock);
    for (size_t i = 0; i < n; i++) {
        hf_bulk_item *it = items[i];
        switch (out[i].verdict) {
        case HF_BULK_DONE:
            o->acked++;
            break;
        case HF_BULK_REFUSED:
            if (dl[i] == 0) o->dead++;
            else if (dl[i] > 0) o->lost_refused++;
            else o->lost_dl++, o->fatal = 1;
            break;
        case HF_BULK_RETRY:
            it->attempts++;
            it->due_ms = now + backoff(o, it->attempts - 1);
            o->retried++;
            push_retry(o, it);
            continue;
        default:              /* UNSENT: again, as soon as the server answers */
            it->due_ms = 0;
            o->retried++;
            push_retry(o, it);
            continue;
        }
        o->held -= hf_bulk_item_size(it);
        hf_free(it);
    }
    o->ninflight = 0;
    o->inflight_min = UINT64_MAX;
    pthread_cond_broadcast(&o->room);
    pthread_cond_broadcast(&o->done);
    pthread_mutex_unlock(&o->lock);
    hf_bulk_outcomes_release(out, n);
}

/* Whether the queue makes a request now; if not, *when it will (or
 * INT64_MAX).  Under lock. */
static int queue_ready(hf_os_out *o, int64_t now, int64_t *when)
{
    if (!o->head) return 0;
    if (o->nqueued >= (size_t)o->s.batch_count || o->queued_bytes >= o->s.batch_bytes ||
        o->flushers || o->stop || now >= o->head->queued_ms + o->s.batch_ms)
        return 1;
    if (o->head->queued_ms + o->s.batch_ms < *when) *when = o->head->queued_ms + o->s.batch_ms;
    return 0;
}

/* Take the next request's items into batch (at most batch_count): retries
 * that are due first, then the queue, up to batch_bytes (the first item
 * always).  Under lock.  Returns how many. */
static size_t take(hf_os_out *o, int64_t now, hf_bulk_item **batch)
{
    size_t n = 0, bytes = 0, max = (size_t)o->s.batch_count;
    hf_bulk_item **pp = &o->rhead, *prev = NULL;
    while (*pp && n < max) {
        hf_bulk_item *it = *pp;
        if (it->due_ms > now || (n && bytes + it->len > o->s.batch_bytes)) {
            prev = it;
            pp = &it->next;
            continue;
        }
        *pp = it->next;
        if (o->rtail == it) o->rtail = prev;
        o->nretry--;
        batch[n++] = it;
        bytes += it->len;
    }
    while (o->head && n < max && !(n && bytes + o->head->len > o->s.batch_bytes)) {
        hf_bulk_item *it = o->head;
        o->head = it->next;
        if (!o->head) o->tail = NULL;
        o->nqueued--;
        o->queued_bytes -= it->len;
        batch[n++] = it;
        bytes += it->len;
    }
    o->ninflight = n;
    o->inflight_min = UINT64_MAX;
    for (size_t i = 0; i < n; i++)
        if (batch[i]->seq < o->inflight_min) o->inflight_min = batch[i]->seq;
    return n;
}

static void *sender(void *arg)
{
    hf_os_out *o = arg;
    size_t cap = (size_t)o->s.batch_count;
    hf_bulk_item **batch = hf_malloc(cap * sizeof *batch);
    hf_bulk_outcome *out = hf_calloc(cap, sizeof *out);
    int *dl = hf_calloc(cap, sizeof *dl);
    pthread_mutex_lock(&o->lock);
    for (;;) {
        int64_t now = mono_ms();
        size_t outstanding = o->nqueued + o->nretry;
        if (o->stop && (outstanding == 0 || now >= o->stop_deadline)) break;
        int64_t when = o->stop ? o->stop_deadline : INT64_MAX;
        if (now < o->pause_until) {
            if (o->pause_until < when) when = o->pause_until;
        } else if (!o->setup_done && outstanding) {
            pthread_mutex_unlock(&o->lock);
            char err[4096];
            int rc = setup(o, err, sizeof err);
            if (rc == SETUP_OK) untrouble(o);
            else {
                trouble(o, "%s", err);
                o->failures += hf_http_nodes(o->http) - 1;
                after_failure(o);
            }
            pthread_mutex_lock(&o->lock);
            continue;
        } else {
            int64_t due = INT64_MAX;
            int retry_due = 0;
            for (hf_bulk_item *it = o->rhead; it; it = it->next) {
                if (it->due_ms <= now) { retry_due = 1; break; }
                if (it->due_ms < due) due = it->due_ms;
            }
            int q = queue_ready(o, now, &when);
            if (retry_due || q) {
                size_t n = take(o, now, batch);
                pthread_mutex_unlock(&o->lock);
                for (size_t i = 0; i < n; i++) dl[i] = 0;
                if (send_items(o, batch, n, out) == 0) untrouble(o);
                else after_failure(o);
                settle(o, batch, n, out, dl);
                pthread_mutex_lock(&o->lock);
                continue;
            }
            if (due < when) when = due;
        }
        if (when == INT64_MAX) {
            pthread_cond_wait(&o->wake, &o->lock);
        } else {
            struct timespec ts;
            deadline_ts(when, &ts);
            pthread_cond_timedwait(&o->wake, &o->lock, &ts);
        }
    }
    pthread_mutex_unlock(&o->lock);
    hf_free(batch);
    hf_free(out);
    hf_free(dl);
    return NULL;
}

/* ------------------------------------------------------------------------
 * The output's table
 * --------------------------------------------------------------------- */

static void free_chain(hf_bulk_item *it)
{
    while (it) {
        hf_bulk_item *next = it->next;
        hf_free(it);
        it = next;
    }
}

static void destroy(hf_os_out *o)
{
    free_chain(o->head);
    free_chain(o->rhead);
    hf_http_free(o->http);
    if (o->dl_kafka) hf_kafka_producer_free(o->dl_kafka);
    if (o->dl_file) fclose(o->dl_file);
    hf_buf_release(&o->dl_line);
    hf_buf_release(&o->body);
    hf_http_reply_release(&o->reply);
    pthread_cond_destroy(&o->wake);
    pthread_cond_destroy(&o->room);
    pthread_cond_destroy(&o->done);
    pthread_mutex_destroy(&o->lock);
    pthread_mutex_destroy(&o->dl_lock);
    hf_os_settings_release(&o->s);
    hf_free(o);
}

static void *os_open(const hf_config *cfg, const char *target, char *err, size_t errlen)
{
    hf_os_out *o = hf_calloc(1, sizeof *o);
    pthread_mutex_init(&o->lock, NULL);
    pthread_mutex_init(&o->dl_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&o->wake, &ca);
    pthread_cond_init(&o->room, &ca);
    pthread_cond_init(&o->done, &ca);
    pthread_condattr_destroy(&ca);
    hf_buf_init(&o->body, 1 << 16);
    hf_buf_init(&o->dl_line, 1024);
    hf_http_reply_init(&o->reply);
    o->cfg = cfg;
    o->inflight_min = UINT64_MAX;
    o->rng = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)o ^ 0x9e3779b97f4a7c15ULL;

    if (hf_os_settings_load(&o->s, cfg, target, err, errlen) < 0) goto fail;
    hf_http_opts ho = {
        .urls = (const char *const *)o->s.urls, .nurls = o->s.nurls,
        .user = o->s.user, .password = o->s.password, .api_key = o->s.api_key,
        .ca_file = o->s.ca_file, .tls_verify = o->s.tls_verify, .gzip = o->s.gzip,
        .connect_timeout_ms = o->s.connect_timeout_ms, .timeout_ms = o->s.timeout_ms,
    };
    char why[4096];
    o->http = hf_http_new(&ho, why, sizeof why);
    if (!o->http) {
        snprintf(err, errlen, LOG_PREFIX ": %s", why);
        goto fail;
    }
    if (dl_open(o, err, errlen) < 0) goto fail;
    int rc = setup(o, why, sizeof why);
    if (rc == SETUP_WRONG) {
        snprintf(err, errlen, LOG_PREFIX ": %s", why);
        goto fail;
    }
    if (rc == SETUP_AWAY) {
        hf_log(HF_LOG_WARN, LOG_PREFIX ": %s; records wait and are sent when it answers "
               "(the index template is installed first)", why);
        o->down = 1;
        snprintf(o->trouble, sizeof o->trouble, "%s", why);
        o->trouble_logged_ms = mono_ms();
    }
    if (pthread_create(&o->thread, NULL, sender, o) != 0) {
        snprintf(err, errlen, LOG_PREFIX ": cannot start the sender thread");
        goto fail;
    }
    o->started = 1;
    return o;
fail:
    destroy(o);
    return NULL;
}

/* Queue a chain of n items (bytes in all), waiting while the queue is full.
 * HF_OUT_OK or HF_OUT_FATAL. */
static int enqueue(hf_os_out *o, hf_bulk_item *first, hf_bulk_item *last, size_t n, size_t bytes,
                   size_t held)
{
    int64_t now = mono_ms();
    pthread_mutex_lock(&o->lock);
    int64_t waited_from = 0;
    while (!o->fatal && o->held > 0 && o->held + held > o->s.queue_bytes) {
        if (!waited_from) waited_from = now;
        pthread_cond_wait(&o->room, &o->lock);
    }
    if (o->fatal) {
        pthread_mutex_unlock(&o->lock);
        free_chain(first);
        return HF_OUT_FATAL;
    }
    if (waited_from) now = mono_ms();
    for (hf_bulk_item *it = first; it; it = it->next) {
        it->seq = o->next_seq++;
        it->queued_ms = now;
    }
    if (o->tail) o->tail->next = first;
    else o->head = first;
    o->tail = last;
    o->nqueued += n;
    o->queued_bytes += bytes;
    o->held += held;
    pthread_cond_signal(&o->wake);
    pthread_mutex_unlock(&o->lock);
    return HF_OUT_OK;
}

/* The version of a record's document (hf_bulk_item_new): for an alert's
 * copies the end of the window each was written for -- an update comes
 * from a later window, or from a coarser one ending at the same time and
 * written after the finer -- so the server keeps the newest whatever order
 * the copies reach it in (a replay, several writers); -1 (none) for the
 * others, whose copies are identical. */
static int64_t record_version(const char *text, const hf_record *r)
{
    static const char win[] = "\"window\":{\"start_ms\":", end[] = ",\"end_ms\":";
    if (r->type != HF_RECORD_ALERT) return -1;
    const char *rec = text + r->off, *w = memmem(rec, r->len, win, sizeof win - 1);
    const char *e = w ? memmem(w, r->len - (size_t)(w - rec), end, sizeof end - 1) : NULL;
    if (!e) return -1;
    char *stop;
    long long v = strtoll(e + sizeof end - 1, &stop, 10);
    return stop > e + sizeof end - 1 && v >= 0 ? (int64_t)v : -1;
}

static int os_write(void *out, const hf_records *batch)
{
    hf_os_out *o = out;
    hf_bulk_item *first = NULL, *last = NULL;
    size_t n = 0, bytes = 0, held = 0;
    size_t chain_max = o->s.queue_bytes / 4 < CHAIN_BYTES ? o->s.queue_bytes / 4 : CHAIN_BYTES;
    for (size_t i = 0; i < batch->n; i++) {
        const hf_record *r = &batch->recs[i];
        char index[512];
        size_t ilen = hf_bulk_index_name(o->s.index, hf_record_type_name(r->type), r->time_ms, index,
                                         sizeof index);
        hf_bulk_item *it = hf_bulk_item_new(index, ilen, batch->text + r->key_off, r->key_len,
                                            batch->text + r->off, r->len, r->type, 0,
                                            record_version(batch->text, r));
        it->next = NULL;
        if (last) last->next = it;
        else first = it;
        last = it;
        n++;
        bytes += it->len;
        held += hf_bulk_item_size(it);
        if (held >= chain_max || i + 1 == batch->n) {
            if (enqueue(o, first, last, n, bytes, held) != HF_OUT_OK) return HF_OUT_FATAL;
            first = last = NULL;
            n = bytes = held = 0;
        }
    }
    return HF_OUT_OK;
}

/* The lowest sequence number not settled yet (next_seq when none).  Under lock. */
static uint64_t unsettled_min(const hf_os_out *o)
{
    uint64_t m = o->head ? o->head->seq : o->next_seq;
    if (o->inflight_min < m) m = o->inflight_min;
    for (const hf_bulk_item *it = o->rhead; it; it = it->next)
        if (it->seq < m) m = it->seq;
    return m;
}

static int os_flush(void *out, int timeout_ms)
{
    hf_os_out *o = out;
    int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    struct timespec ts;
    deadline_ts(deadline, &ts);
    pthread_mutex_lock(&o->lock);
    uint64_t target = o->next_seq;
    o->flushers++;
    pthread_cond_signal(&o->wake);
    while (!o->fatal && unsettled_min(o) < target)
        if (pthread_cond_timedwait(&o->done, &o->lock, &ts) == ETIMEDOUT) break;
    int settled = unsettled_min(o) >= target, fatal = o->fatal;
    o->flushers--;
    pthread_mutex_unlock(&o->lock);
    if (fatal) return HF_OUT_FATAL;
    if (!settled) return HF_OUT_PENDING;
    int64_t left = deadline - mono_ms();
    int rc = dl_sync(o, left > 0 ? (int)left : 0);
    if (rc < 0) {
        pthread_mutex_lock(&o->lock);
        o->fatal = 1;
        pthread_mutex_unlock(&o->lock);
        hf_log(HF_LOG_ERROR, LOG_PREFIX ": opensearch.dead_letter %s: cannot write: %s",
               o->s.dead_letter, strerror(errno));
        return HF_OUT_FATAL;
    }
    return rc == 0 ? HF_OUT_OK : HF_OUT_PENDING;
}

static void add_figure(hf_output_counters *c, const char *name, double v)
{
    if (c->nfigures < HF_OUT_FIGURES) {
        c->figures[c->nfigures].name = name;
        c->figures[c->nfigures++].value = v;
    }
}

/* The upper bound of the bucket that holds the q-th quantile. */
static double quantile(const uint64_t *hist, uint64_t n, double q)
{
    uint64_t want = (uint64_t)((double)n * q), seen = 0;
    for (int b = 0; b < LATENCY_BUCKETS; b++) {
        seen += hist[b];
        if (seen > want) return (double)((int64_t)1 << b);
    }
    return 0;
}

static void os_counters(void *out, hf_output_counters *c)
{
    hf_os_out *o = out;
    memset(c, 0, sizeof *c);
    pthread_mutex_lock(&o->lock);
    c->written = o->acked;
    c->pending = o->nqueued + o->nretry + o->ninflight;
    c->retried = o->retried;
    c->dead_letters = o->dead;
    if (o->lost_refused) {
        c->lost[c->nlost].reason = "refused by the server, no opensearch.dead_letter";
        c->lost[c->nlost++].n = o->lost_refused;
    }
    if (o->lost_dl) {
        c->lost[c->nlost].reason = "the dead-letter path failed";
        c->lost[c->nlost++].n = o->lost_dl;
    }
    if (o->lost_exit) {
        c->lost[c->nlost].reason = "not acknowledged at exit";
        c->lost[c->nlost++].n = o->lost_exit;
    }
    c->state = o->fatal ? "failed" : o->down ? "down" : "ok";
    add_figure(c, "bulk_requests", (double)o->requests);
    add_figure(c, "documents_sent", (double)o->docs_sent);
    add_figure(c, "bytes_sent", (double)o->bytes_sent);
    add_figure(c, "bulk_latency_ms_avg", o->lat_n ? (double)o->lat_sum / (double)o->lat_n : 0);
    add_figure(c, "bulk_latency_ms_p50", quantile(o->lat_hist, o->lat_n, 0.5));
    add_figure(c, "bulk_latency_ms_p99", quantile(o->lat_hist, o->lat_n, 0.99));
    add_figure(c, "bulk_latency_ms_max", (double)o->lat_max);
    pthread_mutex_unlock(&o->lock);
}

static int os_close(void *out)
{
    hf_os_out *o = out;
    if (!o) return 0;
    pthread_mutex_lock(&o->lock);
    o->stop = 1;
    o->stop_deadline = mono_ms() + o->s.close_timeout_ms;
    pthread_cond_signal(&o->wake);
    pthread_mutex_unlock(&o->lock);
    if (o->started) pthread_join(o->thread, NULL);
    size_t left = o->nqueued + o->nretry;
    int rc = o->fatal || o->lost_refused || o->lost_dl ? -1 : 0;
    if (left) {
        o->lost_exit += left;
        rc = -1;
        hf_log(HF_LOG_ERROR, LOG_PREFIX ": %zu records not acknowledged by the server within "
               "opensearch.close_timeout (%" PRId64 " ms) at exit%s%s", left, o->s.close_timeout_ms,
               o->trouble[0] ? "; last trouble: " : "", o->trouble);
    }
    if (dl_sync(o, 30000) != 0) rc = -1;
    destroy(o);
    return rc;
}

const hf_output_ops hf_out_opensearch = {
    .scheme = "opensearch",
    .usage = "opensearch:URL[,URL...]  host records into OpenSearch or Elasticsearch (bulk API, "
             "_id = record id, index per type and day; opensearch.* settings)",
    .keys = hf_opensearch_keys,
    .open = os_open,
    .write = os_write,
    .flush = os_flush,
    .counters = os_counters,
    .close = os_close,
};
