/* test_out_opensearch.c -- the OpenSearch output without a server: its
 * settings (defaults, checks across keys), the index template and the
 * retention policies it installs (valid JSON, the field types of
 * DESIGN.md), and what it does when nothing listens at the URL (records
 * wait, flush says so, close counts them).  Everything with a server is in
 * tests/integration/test_opensearch.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"
#include "io/io.h"
#include "io/out_opensearch.h"
#include "unit.h"

static hf_config cfg;

static void fresh_config(void)
{
    hf_config_release(&cfg);
    hf_config_defaults(&cfg, ".");
}

static int set(const char *k, const char *v)
{
    char err[512];
    return hf_config_set(&cfg, k, v, k, 0, err, sizeof err);
}

TEST(settings_defaults)
{
    fresh_config();
    hf_os_settings s;
    char err[512];
    CHECK_EQ_INT(hf_os_settings_load(&s, &cfg, "http://a:9200, https://b:9200/", err, sizeof err), 0);
    CHECK_EQ_INT(s.nurls, 2);
    CHECK_EQ_STR(s.urls[0], "http://a:9200");
    CHECK_EQ_STR(s.urls[1], "https://b:9200/");
    CHECK_EQ_STR(s.index, "hostflow-%{type}-%Y.%m.%d");
    CHECK_EQ_INT(s.batch_count, 5000);
    CHECK_EQ_INT(s.batch_bytes, 5 << 20);
    CHECK_EQ_INT(s.batch_ms, 1000);
    CHECK_EQ_INT(s.queue_bytes, 64 << 20);
    CHECK_EQ_INT(s.max_retries, 15);
    CHECK_EQ_INT(s.tls_verify, 1);
    CHECK_EQ_INT(s.gzip, 0);
    CHECK_EQ_INT(s.template, 1);
    CHECK_EQ_INT(s.retention_ms, 0);
    CHECK(s.dead_letter == NULL && s.user == NULL);
    hf_os_settings_release(&s);
}

TEST(settings_checks)
{
    hf_os_settings s;
    char err[512];
    fresh_config();
    CHECK_EQ_INT(hf_os_settings_load(&s, &cfg, "", err, sizeof err), -1);
    CHECK(strstr(err, "no URL") != NULL);
    CHECK_EQ_INT(hf_os_settings_load(&s, &cfg, "ftp://x", err, sizeof err), -1);
    CHECK(strstr(err, "expected a URL") != NULL);
    CHECK_EQ_INT(set("opensearch.urls", "http://b:9200,c:9200"), -1);     /* the loader checks items */
    CHECK_EQ_INT(set("opensearch.urls", "http://b:9200,http://c:9200"), 0);
    CHECK_EQ_INT(hf_os_settings_load(&s, &cfg, "http://a:9200", err, sizeof err), 0);
    CHECK_EQ_INT(s.nurls, 3);
    CHECK_EQ_STR(s.urls[2], "http://c:9200");
    hf_os_settings_release(&s);

    fresh_config();
    set("opensearch.password", "x");
    CHECK_EQ_INT(hf_os_settings_load(&s, &cfg, "http://a:9200", err, sizeof err), -1);
    CHECK(strstr(err, "opensearch.user is not") != NULL);
    set("opensearch.user", "u");
    set("opensearch.api_key", "k");
    CHECK_EQ_INT(hf_os_settings_load(&s, &cfg, "http://a:9200", err, sizeof err), -1);
    CHECK(strstr(err, "choose one") != NULL);

    fresh_config();
    set("opensearch.retry_backoff", "10s");
    set("opensearch.retry_backoff_max", "1s");
    CHECK_EQ_INT(hf_os_settings_load(&s, &cfg, "http://a:9200", err, sizeof err), -1);
    CHECK(strstr(err, "retry_backoff_max") != NULL);

    fresh_config();
    set("opensearch.queue_size", "1MiB");
    set("opensearch.batch_size", "2MiB");
    CHECK_EQ_INT(hf_os_settings_load(&s, &cfg, "http://a:9200", err, sizeof err), -1);
    CHECK(strstr(err, "opensearch.queue_size") != NULL);

    fresh_config();
    CHECK_EQ_INT(set("opensearch.retention", "30x"), -1);
    CHECK_EQ_INT(set("opensearch.retention", "30d"), 0);
    set("opensearch.template", "false");
    CHECK_EQ_INT(hf_os_settings_load(&s, &cfg, "http://a:9200", err, sizeof err), -1);
    CHECK(strstr(err, "needs opensearch.template") != NULL);
    set("opensearch.template", "true");
    CHECK_EQ_INT(hf_os_settings_load(&s, &cfg, "http://a:9200", err, sizeof err), 0);
    CHECK_EQ_INT(s.retention_ms, 30LL * 86400000);
    hf_os_settings_release(&s);

    fresh_config();
    CHECK_EQ_INT(set("opensearch.index", "Upper-%{type}"), -1);
    CHECK_EQ_INT(set("opensearch.template_name", "Bad Name"), -1);
    CHECK_EQ_INT(set("opensearch.dead_letter", "kafka:"), -1);
    CHECK_EQ_INT(set("opensearch.dead_letter", "kafka:refused"), 0);
    CHECK_EQ_INT(set("opensearch.batch_count", "0"), -1);
    CHECK_EQ_INT(set("opensearch.ca_file", "/nonexistent/ca.pem"), 0);
    CHECK_EQ_INT(hf_os_settings_load(&s, &cfg, "https://a:9200", err, sizeof err), -1);
    CHECK(strstr(err, "opensearch.ca_file: cannot read") != NULL);
}

/* The mapping's type of a dotted field, from a template's JSON. */
static const char *field_type(const cJSON *mappings, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(mappings, "properties"), *f = NULL;
    for (char *part = strtok(buf, "."); part; part = strtok(NULL, ".")) {
        f = cJSON_GetObjectItemCaseSensitive(props, part);
        if (!f) return NULL;
        props = cJSON_GetObjectItemCaseSensitive(f, "properties");
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(f, "type");
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

TEST(template_json)
{
    fresh_config();
    hf_os_settings s;
    char err[512];
    set("opensearch.replicas", "0");
    CHECK_EQ_INT(hf_os_settings_load(&s, &cfg, "http://a:9200", err, sizeof err), 0);
    hf_buf b;
    hf_buf_init(&b, 0);
    hf_os_template_json(&b, &s, 0);
    cJSON *t = cJSON_ParseWithLength(b.data, b.len);
    CHECK(t != NULL);
    const cJSON *pat = cJSON_GetArrayItem(cJSON_GetObjectItem(t, "index_patterns"), 0);
    CHECK(cJSON_IsString(pat) && !strcmp(pat->valuestring, "hostflow-*-*.*.*"));
    const cJSON *tpl = cJSON_GetObjectItem(t, "template");
    const cJSON *settings = cJSON_GetObjectItem(tpl, "settings");
    CHECK_EQ_INT(cJSON_GetObjectItem(settings, "number_of_replicas")->valueint, 0);
    CHECK(cJSON_GetObjectItem(settings, "index.lifecycle.name") == NULL);
    const cJSON *m = cJSON_GetObjectItem(tpl, "mappings");
    CHECK_EQ_STR(field_type(m, "src_ip"), "ip");
    CHECK_EQ_STR(field_type(m, "@timestamp"), "date");
    CHECK_EQ_STR(field_type(m, "@type"), "keyword");
    CHECK_EQ_STR(field_type(m, "id"), "keyword");
    CHECK_EQ_STR(field_type(m, "rule"), "keyword");
    CHECK_EQ_STR(field_type(m, "window.start_ms"), "date");
    CHECK_EQ_STR(field_type(m, "window.end_ms"), "date");
    CHECK_EQ_STR(field_type(m, "window.granularity_s"), "long");
    CHECK_EQ_STR(field_type(m, "stats.total.flow"), "long");
    CHECK_EQ_STR(field_type(m, "stats.total.bytes"), "long");
    CHECK_EQ_STR(field_type(m, "stats.avg_flow_duration"), "double");
    CHECK_EQ_STR(field_type(m, "stats.peer_number"), "long");
    CHECK_EQ_STR(field_type(m, "stats.tcp_flags.SYN"), "long");
    CHECK_EQ_STR(field_type(m, "score"), "double");
    CHECK_EQ_STR(field_type(m, "details.dst_ip"), "ip");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(m, "dynamic_templates")) == 5);
    cJSON_Delete(t);

    /* Elasticsearch with retention: the template names the ILM policy */
    hf_os_settings_release(&s);
    set("opensearch.retention", "12h");
    set("opensearch.index", "flows-%Y.%m");
    CHECK_EQ_INT(hf_os_settings_load(&s, &cfg, "http://a:9200", err, sizeof err), 0);
    b.len = 0;
    hf_os_template_json(&b, &s, 1);
    t = cJSON_ParseWithLength(b.data, b.len);
    CHECK(t != NULL);
    settings = cJSON_GetObjectItem(cJSON_GetObjectItem(t, "template"), "settings");
    const cJSON *lc = cJSON_GetObjectItem(settings, "index.lifecycle.name");
    CHECK(cJSON_IsString(lc) && !strcmp(lc->valuestring, "hostflow-retention"));
    pat = cJSON_GetArrayItem(cJSON_GetObjectItem(t, "index_patterns"), 0);
    CHECK(cJSON_IsString(pat) && !strcmp(pat->valuestring, "flows-*.*"));
    cJSON_Delete(t);
    hf_buf_release(&b);
    hf_os_settings_release(&s);
}

TEST(policies_json)
{
    fresh_config();
    hf_os_settings s;
    char err[512];
    set("opensearch.retention", "30d");
    CHECK_EQ_INT(hf_os_settings_load(&s, &cfg, "http://a:9200", err, sizeof err), 0);
    hf_buf b;
    hf_buf_init(&b, 0);
    hf_os_policy_json(&b, &s, 0);          /* ISM */
    cJSON *p = cJSON_ParseWithLength(b.data, b.len);
    CHECK(p != NULL);
    const cJSON *pol = cJSON_GetObjectItem(p, "policy");
    CHECK_EQ_STR(cJSON_GetObjectItem(pol, "default_state")->valuestring, "hot");
    const cJSON *hot = cJSON_GetArrayItem(cJSON_GetObjectItem(pol, "states"), 0);
    const cJSON *cond = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(hot, "transitions"), 0),
                                            "conditions");
    CHECK_EQ_STR(cJSON_GetObjectItem(cond, "min_index_age")->valuestring, "30d");
    const cJSON *ism = cJSON_GetArrayItem(cJSON_GetObjectItem(pol, "ism_template"), 0);
    CHECK_EQ_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(ism, "index_patterns"), 0)->valuestring,
                 "hostflow-*-*.*.*");
    cJSON_Delete(p);
    b.len = 0;
    hf_os_policy_json(&b, &s, 1);          /* ILM */
    p = cJSON_ParseWithLength(b.data, b.len);
    CHECK(p != NULL);
    const cJSON *del = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "policy"), "phases"),
                                           "delete");
    CHECK_EQ_STR(cJSON_GetObjectItem(del, "min_age")->valuestring, "30d");
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(del, "actions"), "delete") != NULL);
    cJSON_Delete(p);
    char name[64];
    hf_os_policy_name(&s, name, sizeof name);
    CHECK_EQ_STR(name, "hostflow-retention");
    hf_buf_release(&b);
    hf_os_settings_release(&s);
}

/* A port on 127.0.0.1 where nothing listens (bound, then closed). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

TEST(nobody_listening)
{
    fresh_config();
    set("opensearch.close_timeout", "0s");
    set("opensearch.connect_timeout", "200ms");
    set("opensearch.retry_backoff", "50ms");
    set("opensearch.retry_backoff_max", "100ms");
    char url[64], err[1024];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", free_port());
    const hf_output_ops *ops = &hf_out_opensearch;
    int level = hf_log_level;
    hf_log_level = -1;                     /* the warnings are expected */
    void *o = ops->open(&cfg, url, err, sizeof err);
    CHECK(o != NULL);                      /* a server away is no error at start */
    const char text[] = "{\"@type\":\"host_stats\",\"@timestamp\":\"2026-11-26T13:59:50.000Z\","
                        "\"id\":\"10.0.0.1/10/1795701590000\"}\n";
    hf_record r = {.off = 0, .len = sizeof text - 2, .key_len = 25, .type = 0,
                   .time_ms = 1795701590000LL};
    r.key_off = (uint32_t)(strstr(text, "10.0.0.1/") - text);
    hf_records batch = {text, sizeof text - 1, &r, 1};
    CHECK_EQ_INT(ops->write(o, &batch), HF_OUT_OK);
    CHECK_EQ_INT(ops->flush(o, 300), HF_OUT_PENDING);
    hf_output_counters c;
    ops->counters(o, &c);
    CHECK_EQ_INT(c.written, 0);
    CHECK_EQ_INT(c.pending, 1);
    CHECK_EQ_STR(c.state, "down");
    CHECK_EQ_INT(ops->close(o), -1);       /* one record not acknowledged */
    hf_log_level = level;

    /* and one that cannot be a URL at all stops at open */
    CHECK(ops->open(&cfg, "http://", err, sizeof err) == NULL);
    CHECK(strstr(err, "expected a URL") != NULL);
}

int main(void)
{
    hf_io_register_keys();
    hf_config_defaults(&cfg, ".");
    RUN(settings_defaults);
    RUN(settings_checks);
    RUN(template_json);
    RUN(policies_json);
    RUN(nobody_listening);
    hf_config_release(&cfg);
    return UNIT_END();
}
