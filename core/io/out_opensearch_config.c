/* out_opensearch_config.c -- the OpenSearch output's configuration keys and
 * their checks (see out_opensearch_config.h).
 *
 * Each key is declared once in hf_opensearch_keys: its name, type, default,
 * bounds, a check of its value and the line of help that `hostflow config`
 * and conf/hostflow.lua show.  The loader applies the bounds and checks (so
 * a bad value stops hostflow at start naming the file and key);
 * hf_os_settings_load() then reads every key through the hf_conf_*
 * getters, checks what involves two keys, and fills a plain struct that the
 * output runs with. */
#include "io/out_opensearch_config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "io/bulk.h"

/* ------------------------------------------------------------------------
 * Checks of single values (the loader calls them, and names the key)
 * --------------------------------------------------------------------- */

static int check_url(const char *v, char *why, size_t n)
{
    if ((!strncmp(v, "http://", 7) && v[7]) || (!strncmp(v, "https://", 8) && v[8])) return 0;
    snprintf(why, n, "expected a URL such as http://127.0.0.1:9200 or https://search.example:9200, "
             "got \"%s\"", v);
    return -1;
}

static int check_index(const char *v, char *why, size_t n)
{
    return hf_bulk_pattern_check(v, why, n);
}

static int check_name(const char *v, char *why, size_t n)
{
    for (const char *p = v; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_') ||
            (p == v && (*p == '-' || *p == '_'))) {
            snprintf(why, n, "expected a lower-case name such as \"hostflow\" (a-z, 0-9, - and _), "
                     "got \"%s\"", v);
            return -1;
        }
    return 0;
}

static int check_dead_letter(const char *v, char *why, size_t n)
{
    if (strncmp(v, "kafka:", 6) != 0 || v[6]) return 0;
    snprintf(why, n, "expected a file path or \"kafka:TOPIC\", got \"%s\"", v);
    return -1;
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

static int check_retention(const char *v, char *why, size_t n)
{
    int64_t ms;
    if (parse_retention(v, &ms) == 0) return 0;
    snprintf(why, n, "expected an age such as \"30d\" or \"12h\" (at least 1m), got \"%s\"", v);
    return -1;
}

/* ------------------------------------------------------------------------
 * The keys
 * --------------------------------------------------------------------- */

#define MiB (1024.0 * 1024.0)

const hf_conf_key hf_opensearch_keys[] = {
    {.name = "#opensearch", .type = HF_CONF_HEADING,
     .doc = "OpenSearch / Elasticsearch (-o opensearch:URL[,URL...]; opensearch = {...} in the file):"},
    {.name = "opensearch.urls", .type = HF_CONF_LIST, .check = check_url,
     .doc = "more nodes of the same cluster, tried in turn when one fails (after the -o URLs)"},
    {.name = "opensearch.index", .type = HF_CONF_STRING, .deflt = "hostflow-%{type}-%Y.%m.%d",
     .check = check_index,
     .doc = "index name pattern: %{type} (host_stats, host_alert, host_profile) and %Y %m %d %H "
            "%G %V of the record's time (UTC)"},
    {.name = "opensearch.user", .type = HF_CONF_STRING, .doc = "user for HTTP basic authentication"},
    {.name = "opensearch.password", .type = HF_CONF_STRING,
     .doc = "its password (in the file, os.getenv(\"...\") keeps it out of the file)"},
    {.name = "opensearch.api_key", .type = HF_CONF_STRING,
     .doc = "an API key instead: sent as \"Authorization: ApiKey KEY\" (the base64 of id:key)"},
    {.name = "opensearch.ca_file", .type = HF_CONF_PATH,
     .doc = "PEM file of the certificate authorities trusted for https:// (default: the system's)"},
    {.name = "opensearch.tls_verify", .type = HF_CONF_BOOL, .deflt = "true",
     .doc = "check the server's certificate and host name (false: for tests only)"},
    {.name = "opensearch.gzip", .type = HF_CONF_BOOL, .deflt = "false",
     .doc = "gzip the bulk requests (about a tenth of the bytes, for some CPU)"},
    {.name = "opensearch.batch_count", .type = HF_CONF_INT, .deflt = "5000", .min = 1, .max = 100000,
     .doc = "records per bulk request, at most"},
    {.name = "opensearch.batch_size", .type = HF_CONF_SIZE, .deflt = "5MiB", .min = 1024,
     .max = 1024 * MiB,
     .doc = "bytes per bulk request, at most (keep it below the server's http.max_content_length)"},
    {.name = "opensearch.batch_time", .type = HF_CONF_DURATION, .deflt = "1s", .min = 1,
     .max = 3600000, .doc = "a record waits at most this long for its bulk request to fill"},
    {.name = "opensearch.queue_size", .type = HF_CONF_SIZE, .deflt = "64MiB", .min = 64 * 1024.0,
     .max = 65536 * MiB,
     .doc = "records held for the server, at most; then the workers wait (back-pressure)"},
    {.name = "opensearch.timeout", .type = HF_CONF_DURATION, .deflt = "60s", .min = 100,
     .max = 3600000, .doc = "one HTTP request, at most"},
    {.name = "opensearch.connect_timeout", .type = HF_CONF_DURATION, .deflt = "5s", .min = 100,
     .max = 600000, .doc = "connecting to a node, at most"},
    {.name = "opensearch.retry_backoff", .type = HF_CONF_DURATION, .deflt = "200ms", .min = 1,
     .max = 600000,
     .doc = "first wait before a record or request is sent again; doubled each time, with jitter"},
    {.name = "opensearch.retry_backoff_max", .type = HF_CONF_DURATION, .deflt = "30s", .min = 1,
     .max = 3600000, .doc = "longest wait between two sends"},
    {.name = "opensearch.max_retries", .type = HF_CONF_INT, .deflt = "15", .min = 0, .max = 1000,
     .doc = "sends again of a record refused for now (429, 5xx); then it goes to the dead letters"},
    {.name = "opensearch.dead_letter", .type = HF_CONF_STRING, .check = check_dead_letter,
     .doc = "records refused for good: a file (JSON lines with the server's reason) or kafka:TOPIC"},
    {.name = "opensearch.template", .type = HF_CONF_BOOL, .deflt = "true",
     .doc = "install the index template (the field types Dashboards and Kibana need) at start"},
    {.name = "opensearch.template_name", .type = HF_CONF_STRING, .deflt = "hostflow",
     .check = check_name, .doc = "name of the index template and of the retention policy"},
    {.name = "opensearch.shards", .type = HF_CONF_INT, .deflt = "1", .min = 1, .max = 1024,
     .doc = "primary shards of each new index"},
    {.name = "opensearch.replicas", .type = HF_CONF_INT, .deflt = "1", .min = 0, .max = 64,
     .doc = "replicas of each new index (0 on a single node)"},
    {.name = "opensearch.retention", .type = HF_CONF_STRING, .check = check_retention,
     .doc = "delete indices this old, such as \"30d\" (ISM on OpenSearch, ILM on Elasticsearch)"},
    {.name = "opensearch.close_timeout", .type = HF_CONF_DURATION, .deflt = "30s", .min = 0,
     .max = 3600000, .doc = "at exit, how long the server may take to acknowledge what is left"},
    {.name = NULL},
};

/* ------------------------------------------------------------------------
 * Reading the settings
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
        char *url = hf_strndup(u, n), why[300];
        if (check_url(url, why, sizeof why) < 0) {
            hf_free(url);
            return fail(err, errlen, "%s: %s", key, why);
        }
        s->urls = hf_realloc(s->urls, sizeof(char *) * (size_t)(s->nurls + 1));
        s->urls[s->nurls++] = url;
    }
    return 0;
}

int hf_os_settings_load(hf_os_settings *s, const hf_config *cfg, const char *target,
                        char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    const char *v;
    const char *const *urls;
    if (add_urls(s, target ? target : "", "opensearch:URL", err, errlen) < 0) goto fail;
    for (int i = 0, n = hf_conf_list(cfg, "opensearch.urls", &urls); i < n; i++)
        if (add_urls(s, urls[i], "opensearch.urls", err, errlen) < 0) goto fail;
    if (s->nurls == 0) {
        fail(err, errlen, "opensearch: no URL (-o opensearch:http://HOST:9200, or opensearch.urls)");
        goto fail;
    }
    char why[512];
    v = hf_conf_str(cfg, "opensearch.index");
    if (!v || hf_bulk_pattern_check(v, why, sizeof why) < 0) {
        fail(err, errlen, "opensearch.index: %s", v ? why : "not set");
        goto fail;
    }
    s->index = hf_strdup(v);
    s->user = dup_or_null(hf_conf_str(cfg, "opensearch.user"));
    s->password = dup_or_null(hf_conf_str(cfg, "opensearch.password"));
    s->api_key = dup_or_null(hf_conf_str(cfg, "opensearch.api_key"));
    s->ca_file = dup_or_null(hf_conf_str(cfg, "opensearch.ca_file"));
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
    s->tls_verify = hf_conf_bool(cfg, "opensearch.tls_verify");
    s->gzip = hf_conf_bool(cfg, "opensearch.gzip");
    s->batch_count = (int)hf_conf_int(cfg, "opensearch.batch_count");
    s->batch_bytes = (size_t)hf_conf_size(cfg, "opensearch.batch_size");
    s->batch_ms = hf_conf_ms(cfg, "opensearch.batch_time");
    s->queue_bytes = (size_t)hf_conf_size(cfg, "opensearch.queue_size");
    s->timeout_ms = hf_conf_ms(cfg, "opensearch.timeout");
    s->connect_timeout_ms = hf_conf_ms(cfg, "opensearch.connect_timeout");
    s->backoff_ms = hf_conf_ms(cfg, "opensearch.retry_backoff");
    s->backoff_max_ms = hf_conf_ms(cfg, "opensearch.retry_backoff_max");
    s->max_retries = (int)hf_conf_int(cfg, "opensearch.max_retries");
    s->template = hf_conf_bool(cfg, "opensearch.template");
    s->shards = (int)hf_conf_int(cfg, "opensearch.shards");
    s->replicas = (int)hf_conf_int(cfg, "opensearch.replicas");
    s->close_timeout_ms = hf_conf_ms(cfg, "opensearch.close_timeout");
    if (s->batch_count < 1 || s->batch_bytes < 1024 || s->batch_ms < 1 || s->backoff_ms < 1) {
        fail(err, errlen, "opensearch: the keys are not registered with the configuration "
             "(hf_io_register_keys before hf_config_defaults)");
        goto fail;
    }
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
    v = hf_conf_str(cfg, "opensearch.dead_letter");
    if (v && *v) {
        if (check_dead_letter(v, why, sizeof why) < 0) {
            fail(err, errlen, "opensearch.dead_letter: %s", why);
            goto fail;
        }
        s->dead_letter = hf_strdup(v);
    }
    v = hf_conf_str(cfg, "opensearch.template_name");
    if (!v || check_name(v, why, sizeof why) < 0) {
        fail(err, errlen, "opensearch.template_name: %s", v ? why : "not set");
        goto fail;
    }
    s->template_name = hf_strdup(v);
    v = hf_conf_str(cfg, "opensearch.retention");
    if (v && *v && parse_retention(v, &s->retention_ms) < 0) {
        check_retention(v, why, sizeof why);
        fail(err, errlen, "opensearch.retention: %s", why);
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
