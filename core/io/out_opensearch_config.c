/* out_opensearch_config.c -- the OpenSearch output's configuration keys and
 * their checks (see out_opensearch_config.h).
 *
 * Each key is declared once in hf_opensearch_keys: its name, type, default
 * and the line of help that --help, the man page and conf/hostflow.lua show.
 * hf_os_settings_load() reads every key through the typed getters, checks
 * it against its bounds and what it means (a URL, an index name pattern, a
 * dead-letter path), and fills a plain struct that the output runs with. */
#include "io/out_opensearch_config.h"

#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "io/bulk.h"

const hf_conf_key hf_opensearch_keys[] = {
    {"opensearch.urls", HF_CONF_LIST, NULL,
     "more nodes of the same cluster, tried in turn when one fails (after the -o URL)", NULL, 0, 0},
    {"opensearch.index", HF_CONF_STRING, "hostflow-%{type}-%Y.%m.%d",
     "index name pattern: %{type} (host_stats, host_alert, host_profile), %Y %m %d %H %G %V "
     "of the record's time (UTC)", NULL, 0, 0},
    {"opensearch.user", HF_CONF_STRING, NULL, "user name for HTTP basic authentication", NULL, 0, 0},
    {"opensearch.password", HF_CONF_STRING, NULL, "password for HTTP basic authentication", NULL, 0, 0},
    {"opensearch.api_key", HF_CONF_STRING, NULL,
     "API key, sent as \"Authorization: ApiKey <key>\" (the base64 of id:key)", NULL, 0, 0},
    {"opensearch.ca_file", HF_CONF_STRING, NULL,
     "PEM file of the certificate authorities to trust for https:// (default: the system's)", NULL, 0, 0},
    {"opensearch.tls_verify", HF_CONF_BOOL, "true",
     "check the server's certificate and name (false only for tests)", NULL, 0, 0},
    {"opensearch.gzip", HF_CONF_BOOL, "false", "gzip the bulk requests", NULL, 0, 0},
    {"opensearch.batch_count", HF_CONF_INT, "5000", "records per bulk request, at most", NULL, 1, 1000000},
    {"opensearch.batch_size", HF_CONF_SIZE, "5MiB",
     "bytes per bulk request, at most (below the server's http.max_content_length)", NULL,
     1024, 1073741824.0},
    {"opensearch.batch_time", HF_CONF_DURATION, "1s",
     "a record waits at most this long for its bulk request to fill", NULL, 1, 3600000},
    {"opensearch.queue_size", HF_CONF_SIZE, "64MiB",
     "records held for the server, at most; then write() waits (back-pressure)", NULL,
     65536, 68719476736.0},
    {"opensearch.timeout", HF_CONF_DURATION, "60s", "one HTTP request, at most", NULL, 100, 3600000},
    {"opensearch.connect_timeout", HF_CONF_DURATION, "5s", "connecting to a node, at most", NULL,
     100, 600000},
    {"opensearch.retry_backoff", HF_CONF_DURATION, "200ms",
     "first wait before a record or request is sent again (doubled each time, with jitter)", NULL,
     1, 600000},
    {"opensearch.retry_backoff_max", HF_CONF_DURATION, "30s", "longest wait between two sends", NULL,
     1, 3600000},
    {"opensearch.max_retries", HF_CONF_INT, "15",
     "sends again of a record refused for now (429, 5xx); then it goes to the dead letters", NULL,
     0, 1000},
    {"opensearch.dead_letter", HF_CONF_STRING, NULL,
     "records the server refuses for good: a file (JSON lines with the reason) or kafka:TOPIC", NULL,
     0, 0},
    {"opensearch.template", HF_CONF_BOOL, "true",
     "install the index template (field types for Dashboards/Kibana) at start", NULL, 0, 0},
    {"opensearch.template_name", HF_CONF_STRING, "hostflow", "name of the index template and policy",
     NULL, 0, 0},
    {"opensearch.shards", HF_CONF_INT, "1", "primary shards of each new index", NULL, 1, 1024},
    {"opensearch.replicas", HF_CONF_INT, "1", "replicas of each new index", NULL, 0, 64},
    {"opensearch.retention", HF_CONF_STRING, NULL,
     "delete indices this old, such as \"30d\" (ISM on OpenSearch, ILM on Elasticsearch)", NULL, 0, 0},
    {"opensearch.close_timeout", HF_CONF_DURATION, "30s",
     "at exit, how long to wait for the server to take what is left", NULL, 0, 3600000},
    {NULL, 0, NULL, NULL, NULL, 0, 0},
};

/* ------------------------------------------------------------------------
 * TEMPORARY getters (until conf/config.h has hf_conf_str and its kin)
 * --------------------------------------------------------------------- */

static pthread_mutex_t shim_lock = PTHREAD_MUTEX_INITIALIZER;
static char *shim_values[64];

static int key_index(const char *name)
{
    for (int i = 0; hf_opensearch_keys[i].name; i++)
        if (strcmp(hf_opensearch_keys[i].name, name) == 0) return i;
    return -1;
}

int hf_opensearch_config_set(const char *name, const char *value)
{
    int i = key_index(name);
    if (i < 0) return -1;
    pthread_mutex_lock(&shim_lock);
    hf_free(shim_values[i]);
    shim_values[i] = value ? hf_strdup(value) : NULL;
    pthread_mutex_unlock(&shim_lock);
    return 0;
}

static const char *conf_str(const hf_config *cfg, const char *name)
{
    (void)cfg;
    int i = key_index(name);
    if (i < 0) return NULL;
    pthread_mutex_lock(&shim_lock);
    const char *v = shim_values[i] ? shim_values[i] : hf_opensearch_keys[i].deflt;
    pthread_mutex_unlock(&shim_lock);
    return v;
}

/* ------------------------------------------------------------------------
 * Checks
 * --------------------------------------------------------------------- */

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static const hf_conf_key *key_of(const char *name)
{
    int i = key_index(name);
    return i < 0 ? NULL : &hf_opensearch_keys[i];
}

static int get_bool(const hf_config *cfg, const char *name, int *out, char *err, size_t errlen)
{
    const char *v = conf_str(cfg, name);
    if (!v) v = "false";
    if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes")) *out = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no")) *out = 0;
    else return fail(err, errlen, "%s: expected true or false, got \"%s\"", name, v);
    return 0;
}

static int get_int(const hf_config *cfg, const char *name, int *out, char *err, size_t errlen)
{
    const hf_conf_key *k = key_of(name);
    const char *v = conf_str(cfg, name);
    char *end;
    long long x = v ? strtoll(v, &end, 10) : 0;
    if (!v || !*v || *end || x < k->min || x > k->max)
        return fail(err, errlen, "%s: expected a whole number from %.0f to %.0f, got \"%s\"",
                    name, k->min, k->max, v ? v : "");
    *out = (int)x;
    return 0;
}

static int get_ms(const hf_config *cfg, const char *name, int64_t *out, char *err, size_t errlen)
{
    const hf_conf_key *k = key_of(name);
    const char *v = conf_str(cfg, name);
    if (!v || hf_config_parse_duration_ms(v, out) < 0 || *out < k->min || *out > k->max)
        return fail(err, errlen, "%s: expected a duration from %.0fms to %.0fs such as \"%s\", got \"%s\"",
                    name, k->min, k->max / 1000, k->deflt, v ? v : "");
    return 0;
}

static int get_size(const hf_config *cfg, const char *name, size_t *out, char *err, size_t errlen)
{
    const hf_conf_key *k = key_of(name);
    const char *v = conf_str(cfg, name);
    if (!v || hf_config_parse_size(v, out) < 0 || (double)*out < k->min || (double)*out > k->max)
        return fail(err, errlen, "%s: expected a size from %.0f to %.0f bytes such as \"%s\", got \"%s\"",
                    name, k->min, k->max, k->deflt, v ? v : "");
    return 0;
}

static char *dup_or_null(const char *s)
{
    return s && *s ? hf_strdup(s) : NULL;
}

/* Append the comma-separated URLs of list to s->urls. */
static int add_urls(hf_os_settings *s, const char *list, const char *key, char *err, size_t errlen)
{
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        const char *u = p;
        p += n + (p[n] == ',');
        while (n && isspace((unsigned char)*u)) u++, n--;
        while (n && isspace((unsigned char)u[n - 1])) n--;
        if (!n) continue;
        if (!(n > 7 && !strncmp(u, "http://", 7)) && !(n > 8 && !strncmp(u, "https://", 8)))
            return fail(err, errlen, "%s: expected a URL such as http://127.0.0.1:9200 or "
                        "https://search.example:9200, got \"%.*s\"", key, (int)n, u);
        s->urls = hf_realloc(s->urls, sizeof(char *) * (size_t)(s->nurls + 1));
        s->urls[s->nurls++] = hf_strndup(u, n);
    }
    return 0;
}

/* "30d", "12h", "90m": ms, whole seconds, at least one minute. */
static int parse_retention(const char *v, int64_t *ms)
{
    size_t n = strlen(v);
    if (n > 1 && v[n - 1] == 'd') {
        char *end;
        long long days = strtoll(v, &end, 10);
        if (end != v + n - 1 || days < 1 || days > 36500) return -1;
        *ms = days * 86400000LL;
        return 0;
    }
    if (hf_config_parse_duration_ms(v, ms) < 0 || *ms < 60000 || *ms % 1000) return -1;
    return 0;
}

int hf_os_settings_load(hf_os_settings *s, const hf_config *cfg, const char *target,
                        char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    const char *v;
    if (add_urls(s, target ? target : "", "-o opensearch:URL", err, errlen) < 0) goto fail;
    if ((v = conf_str(cfg, "opensearch.urls")) && add_urls(s, v, "opensearch.urls", err, errlen) < 0)
        goto fail;
    if (s->nurls == 0) {
        fail(err, errlen, "opensearch: no URL (-o opensearch:http://HOST:9200, or opensearch.urls)");
        goto fail;
    }
    v = conf_str(cfg, "opensearch.index");
    char why[512] = "no pattern";
    if (!v || hf_bulk_pattern_check(v, why, sizeof why) < 0) {
        fail(err, errlen, "opensearch.index: %s", why);
        goto fail;
    }
    s->index = hf_strdup(v);
    s->user = dup_or_null(conf_str(cfg, "opensearch.user"));
    s->password = dup_or_null(conf_str(cfg, "opensearch.password"));
    s->api_key = dup_or_null(conf_str(cfg, "opensearch.api_key"));
    s->ca_file = dup_or_null(conf_str(cfg, "opensearch.ca_file"));
    if (s->password && !s->user) {
        fail(err, errlen, "opensearch.password: set, but opensearch.user is not");
        goto fail;
    }
    if (s->user && s->api_key) {
        fail(err, errlen, "opensearch.api_key: set together with opensearch.user; choose one");
        goto fail;
    }
    if (s->ca_file) {
        FILE *f = fopen(s->ca_file, "r");
        if (!f) {
            fail(err, errlen, "opensearch.ca_file: cannot read \"%s\"", s->ca_file);
            goto fail;
        }
        fclose(f);
    }
    if (get_bool(cfg, "opensearch.tls_verify", &s->tls_verify, err, errlen) < 0 ||
        get_bool(cfg, "opensearch.gzip", &s->gzip, err, errlen) < 0 ||
        get_int(cfg, "opensearch.batch_count", &s->batch_count, err, errlen) < 0 ||
        get_size(cfg, "opensearch.batch_size", &s->batch_bytes, err, errlen) < 0 ||
        get_ms(cfg, "opensearch.batch_time", &s->batch_ms, err, errlen) < 0 ||
        get_size(cfg, "opensearch.queue_size", &s->queue_bytes, err, errlen) < 0 ||
        get_ms(cfg, "opensearch.timeout", &s->timeout_ms, err, errlen) < 0 ||
        get_ms(cfg, "opensearch.connect_timeout", &s->connect_timeout_ms, err, errlen) < 0 ||
        get_ms(cfg, "opensearch.retry_backoff", &s->backoff_ms, err, errlen) < 0 ||
        get_ms(cfg, "opensearch.retry_backoff_max", &s->backoff_max_ms, err, errlen) < 0 ||
        get_int(cfg, "opensearch.max_retries", &s->max_retries, err, errlen) < 0 ||
        get_bool(cfg, "opensearch.template", &s->template, err, errlen) < 0 ||
        get_int(cfg, "opensearch.shards", &s->shards, err, errlen) < 0 ||
        get_int(cfg, "opensearch.replicas", &s->replicas, err, errlen) < 0 ||
        get_ms(cfg, "opensearch.close_timeout", &s->close_timeout_ms, err, errlen) < 0)
        goto fail;
    if (s->backoff_max_ms < s->backoff_ms) {
        fail(err, errlen, "opensearch.retry_backoff_max: %" PRId64 "ms is shorter than "
             "opensearch.retry_backoff (%" PRId64 "ms)", s->backoff_max_ms, s->backoff_ms);
        goto fail;
    }
    if (s->queue_bytes < s->batch_bytes) {
        fail(err, errlen, "opensearch.queue_size: %zu bytes cannot hold one bulk request of "
             "opensearch.batch_size (%zu bytes)", s->queue_bytes, s->batch_bytes);
        goto fail;
    }
    v = conf_str(cfg, "opensearch.dead_letter");
    if (v && *v) {
        if (!strncmp(v, "kafka:", 6) && !v[6]) {
            fail(err, errlen, "opensearch.dead_letter: expected a file path or \"kafka:TOPIC\", got \"%s\"", v);
            goto fail;
        }
        s->dead_letter = hf_strdup(v);
    }
    v = conf_str(cfg, "opensearch.template_name");
    if (!v || !*v || strchr(v, '%') || hf_bulk_pattern_check(v, why, sizeof why) < 0) {
        fail(err, errlen, "opensearch.template_name: expected a lower-case name such as \"hostflow\", "
             "got \"%s\"", v ? v : "");
        goto fail;
    }
    s->template_name = hf_strdup(v);
    v = conf_str(cfg, "opensearch.retention");
    if (v && *v && parse_retention(v, &s->retention_ms) < 0) {
        fail(err, errlen, "opensearch.retention: expected an age such as \"30d\" or \"12h\" "
             "(at least 1m), got \"%s\"", v);
        goto fail;
    }
    if (s->retention_ms && !s->template) {
        fail(err, errlen, "opensearch.retention: needs opensearch.template = true (the policy is "
             "attached to the indices through it)");
        goto fail;
    }
    return 0;
fail:
    hf_os_settings_release(s);
    return -1;
}

void hf_os_settings_release(hf_os_settings *s)
{
    for (int i = 0; i < s->nurls; i++) hf_free(s->urls[i]);
    hf_free(s->urls);
    hf_free(s->index);
    hf_free(s->user);
    hf_free(s->password);
    hf_free(s->api_key);
    hf_free(s->ca_file);
    hf_free(s->dead_letter);
    hf_free(s->template_name);
    memset(s, 0, sizeof *s);
}
