/* test_bulk.c -- bulk items, index names and the answers read item by item
 * (io/bulk.c); the answers are those OpenSearch 2.19 gave to the same
 * requests (copied from tests/opensearch/server.sh's server). */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "io/bulk.h"
#include "unit.h"

/* 2026-11-26T13:59:50Z */
#define T0 1795701590000LL

TEST(item_layout)
{
    const char *doc = "{\"@type\":\"host_stats\",\"id\":\"10.0.0.1/10/1\"}";
    hf_bulk_item *it = hf_bulk_item_new("hostflow-host_stats-2026.11.26", 30, "10.0.0.1/10/1", 13,
                                        doc, strlen(doc), 0, 7, -1);
    const char *want = "{\"index\":{\"_index\":\"hostflow-host_stats-2026.11.26\",\"_id\":\"10.0.0.1/10/1\"}}\n"
                       "{\"@type\":\"host_stats\",\"id\":\"10.0.0.1/10/1\"}\n";
    CHECK_EQ_INT(it->len, strlen(want));
    CHECK(memcmp(it->data, want, it->len) == 0);
    CHECK(memcmp(it->data + it->doc_off, doc, strlen(doc)) == 0);
    CHECK(memcmp(it->data + it->index_off, "hostflow-host_stats-2026.11.26", it->index_len) == 0);
    CHECK(memcmp(it->data + it->id_off, "10.0.0.1/10/1", it->id_len) == 0);
    CHECK_EQ_INT(it->seq, 7);
    CHECK_EQ_INT(hf_bulk_item_size(it), sizeof *it + it->len);

    hf_bulk_item *two[2] = {it, it};
    hf_buf b;
    hf_buf_init(&b, 0);
    hf_bulk_body(&b, two, 2);
    CHECK_EQ_INT(b.len, 2 * it->len);
    CHECK(memcmp(b.data + it->len, want, it->len) == 0);
    hf_buf_release(&b);
    hf_free(it);
}

TEST(item_versioned)
{
    const char *doc = "{\"@type\":\"host_alert\"}";
    hf_bulk_item *it = hf_bulk_item_new("a", 1, "10.0.0.1/scan/1", 15, doc, strlen(doc), 1, 0,
                                        1795701660000LL);
    const char *want = "{\"index\":{\"_index\":\"a\",\"_id\":\"10.0.0.1/scan/1\",\"version\":1795701660000,"
                       "\"version_type\":\"external_gte\"}}\n{\"@type\":\"host_alert\"}\n";
    CHECK_EQ_INT(it->len, strlen(want));
    CHECK(memcmp(it->data, want, it->len) == 0);
    CHECK(memcmp(it->data + it->doc_off, doc, strlen(doc)) == 0);
    CHECK(memcmp(it->data + it->id_off, "10.0.0.1/scan/1", it->id_len) == 0);
    hf_free(it);
}

TEST(index_names)
{
    char out[256];
    hf_bulk_index_name("hostflow-%{type}-%Y.%m.%d", "host_stats", T0, out, sizeof out);
    CHECK_EQ_STR(out, "hostflow-host_stats-2026.11.26");
    hf_bulk_index_name("hostflow-%{type}-%Y.%m.%d", "host_alert", T0 + 10 * 3600 * 1000, out, sizeof out);
    CHECK_EQ_STR(out, "hostflow-host_alert-2026.11.26");
    hf_bulk_index_name("hostflow-%{type}-%Y.%m.%d", "host_alert", T0 + 11 * 3600 * 1000, out, sizeof out);
    CHECK_EQ_STR(out, "hostflow-host_alert-2026.11.27");   /* UTC midnight */
    hf_bulk_index_name("f-%Y-%m-%dt%H-%{type}", "host_profile", T0, out, sizeof out);
    CHECK_EQ_STR(out, "f-2026-11-26t13-host_profile");
    hf_bulk_index_name("w-%G.%V", "host_stats", T0, out, sizeof out);
    CHECK_EQ_STR(out, "w-2026.48");
    hf_bulk_index_name("pct-%%-x", "host_stats", T0, out, sizeof out);
    CHECK_EQ_STR(out, "pct-%-x");
    hf_bulk_index_name("plain", "host_stats", T0, out, sizeof out);
    CHECK_EQ_STR(out, "plain");
    hf_bulk_index_name("before-%Y", "host_stats", 0, out, sizeof out);
    CHECK_EQ_STR(out, "before-1970");
    char small[8];
    CHECK_EQ_INT(hf_bulk_index_name("hostflow-%{type}", "host_stats", T0, small, sizeof small), 7);
    CHECK_EQ_STR(small, "hostflo");
}

TEST(pattern_checks)
{
    char err[512];
    CHECK_EQ_INT(hf_bulk_pattern_check("hostflow-%{type}-%Y.%m.%d", err, sizeof err), 0);
    CHECK_EQ_INT(hf_bulk_pattern_check("x-%G.%V-%H", err, sizeof err), 0);
    CHECK_EQ_INT(hf_bulk_pattern_check("Hostflow-%{type}", err, sizeof err), -1);
    CHECK(strstr(err, "upper-case") != NULL);
    CHECK_EQ_INT(hf_bulk_pattern_check("a b", err, sizeof err), -1);
    CHECK_EQ_INT(hf_bulk_pattern_check("a/b", err, sizeof err), -1);
    CHECK_EQ_INT(hf_bulk_pattern_check("a*b", err, sizeof err), -1);
    CHECK_EQ_INT(hf_bulk_pattern_check("_x", err, sizeof err), -1);
    CHECK(strstr(err, "starts with") != NULL);
    CHECK_EQ_INT(hf_bulk_pattern_check("", err, sizeof err), -1);
    CHECK_EQ_INT(hf_bulk_pattern_check("x-%q", err, sizeof err), -1);
    CHECK(strstr(err, "unknown code \"%q\"") != NULL);
    CHECK_EQ_INT(hf_bulk_pattern_check("x-%{host}", err, sizeof err), -1);
    CHECK(strstr(err, "%{host}") != NULL);
    char longer[300];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    CHECK_EQ_INT(hf_bulk_pattern_check(longer, err, sizeof err), -1);
}

TEST(pattern_globs)
{
    char g[256];
    hf_bulk_pattern_glob("hostflow-%{type}-%Y.%m.%d", g, sizeof g);
    CHECK_EQ_STR(g, "hostflow-*-*.*.*");
    hf_bulk_pattern_glob("flows-%Y%m%d", g, sizeof g);
    CHECK_EQ_STR(g, "flows-*");
    hf_bulk_pattern_glob("plain", g, sizeof g);
    CHECK_EQ_STR(g, "plain");
    hf_bulk_pattern_glob("p%%-%{type}", g, sizeof g);
    CHECK_EQ_STR(g, "p%-*");
}

TEST(verdicts)
{
    CHECK_EQ_INT(hf_bulk_verdict(200, NULL), HF_BULK_DONE);
    CHECK_EQ_INT(hf_bulk_verdict(201, NULL), HF_BULK_DONE);
    CHECK_EQ_INT(hf_bulk_verdict(429, "es_rejected_execution_exception"), HF_BULK_RETRY);
    CHECK_EQ_INT(hf_bulk_verdict(429, "rejected_execution_exception"), HF_BULK_RETRY);
    CHECK_EQ_INT(hf_bulk_verdict(503, "unavailable_shards_exception"), HF_BULK_RETRY);
    CHECK_EQ_INT(hf_bulk_verdict(500, NULL), HF_BULK_RETRY);
    CHECK_EQ_INT(hf_bulk_verdict(403, "cluster_block_exception"), HF_BULK_RETRY);
    CHECK_EQ_INT(hf_bulk_verdict(400, "mapper_parsing_exception"), HF_BULK_REFUSED);
    CHECK_EQ_INT(hf_bulk_verdict(400, "invalid_index_name_exception"), HF_BULK_REFUSED);
    CHECK_EQ_INT(hf_bulk_verdict(400, "es_rejected_execution_exception"), HF_BULK_RETRY);
    CHECK_EQ_INT(hf_bulk_verdict(404, "index_not_found_exception"), HF_BULK_REFUSED);
    /* an alert's copy older than the stored one: the newer stays */
    CHECK_EQ_INT(hf_bulk_verdict(409, "version_conflict_engine_exception"), HF_BULK_DONE);
    CHECK_EQ_INT(hf_bulk_verdict(409, NULL), HF_BULK_REFUSED);
}

static const char answer_mixed[] =
    "{\"errors\":true,\"items\":[{\"index\":{\"status\":200}},"
    "{\"index\":{\"status\":400,\"error\":{\"type\":\"mapper_parsing_exception\",\"reason\":\"failed "
    "to parse field [x] of type [long] in document with id 'a/2'. Preview of field's value: "
    "'notnum'\",\"caused_by\":{\"type\":\"illegal_argument_exception\",\"reason\":\"For input string: "
    "\\\"notnum\\\"\"}}}},"
    "{\"index\":{\"status\":429,\"error\":{\"type\":\"rejected_execution_exception\",\"reason\":"
    "\"rejected execution of coordinating operation\"}}},"
    "{\"index\":{\"status\":201}}]}";

TEST(answer_item_by_item)
{
    hf_bulk_outcome out[4];
    char err[256];
    long n = hf_bulk_parse(answer_mixed, strlen(answer_mixed), 4, out, err, sizeof err);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(out[0].verdict, HF_BULK_DONE);
    CHECK(out[0].reason == NULL);
    CHECK_EQ_INT(out[1].verdict, HF_BULK_REFUSED);
    CHECK_EQ_INT(out[1].status, 400);
    CHECK_EQ_STR(out[1].reason, "mapper_parsing_exception: failed to parse field [x] of type [long] in "
                 "document with id 'a/2'. Preview of field's value: 'notnum' (caused by "
                 "illegal_argument_exception: For input string: \"notnum\")");
    CHECK_EQ_INT(out[2].verdict, HF_BULK_RETRY);
    CHECK_EQ_INT(out[2].status, 429);
    CHECK_EQ_STR(out[2].reason, "rejected_execution_exception: rejected execution of coordinating operation");
    CHECK_EQ_INT(out[3].verdict, HF_BULK_DONE);
    hf_bulk_outcomes_release(out, 4);
    CHECK(out[1].reason == NULL);
}

TEST(answer_without_errors_is_not_parsed)
{
    const char a[] = "{\"errors\":false,\"items\":[{\"index\":{\"status\":201}},{\"index\":{\"status\":200}}]}";
    hf_bulk_outcome out[2];
    char err[256];
    CHECK_EQ_INT(hf_bulk_parse(a, strlen(a), 2, out, err, sizeof err), 0);
    CHECK_EQ_INT(out[0].verdict, HF_BULK_DONE);
    CHECK_EQ_INT(out[1].verdict, HF_BULK_DONE);
}

TEST(long_reason_kept_whole)
{
    hf_buf a;
    hf_buf_init(&a, 0);
    hf_buf_puts(&a, "{\"errors\":true,\"items\":[{\"index\":{\"status\":400,\"error\":{\"type\":\"t\",\"reason\":\"");
    for (int i = 0; i < 5000; i++) hf_buf_putc(&a, (char)('a' + i % 26));
    hf_buf_puts(&a, "\"}}}]}");
    hf_bulk_outcome out[1];
    char err[256];
    CHECK_EQ_INT(hf_bulk_parse(a.data, a.len, 1, out, err, sizeof err), 1);
    CHECK_EQ_INT(strlen(out[0].reason), 3 + 5000);
    hf_bulk_outcomes_release(out, 1);
    hf_buf_release(&a);
}

TEST(not_a_bulk_answer)
{
    hf_bulk_outcome out[2];
    char err[256];
    const char html[] = "<html><body>Welcome to nginx!</body></html>";
    CHECK_EQ_INT(hf_bulk_parse(html, strlen(html), 2, out, err, sizeof err), -1);
    CHECK_EQ_STR(err, "the answer is not JSON");
    const char other[] = "{\"name\":\"node-1\",\"version\":{}}";
    CHECK_EQ_INT(hf_bulk_parse(other, strlen(other), 2, out, err, sizeof err), -1);
    CHECK_EQ_STR(err, "the answer has no \"items\" array");
    const char fewer[] = "{\"errors\":true,\"items\":[{\"index\":{\"status\":200}}]}";
    CHECK_EQ_INT(hf_bulk_parse(fewer, strlen(fewer), 2, out, err, sizeof err), -1);
    CHECK_EQ_STR(err, "the answer has 1 items for 2 sent");
}

TEST(item_without_status_is_retried)
{
    const char a[] = "{\"errors\":true,\"items\":[{\"index\":{}}]}";
    hf_bulk_outcome out[1];
    char err[256];
    CHECK_EQ_INT(hf_bulk_parse(a, strlen(a), 1, out, err, sizeof err), 1);
    CHECK_EQ_INT(out[0].verdict, HF_BULK_RETRY);
    CHECK(out[0].reason && strstr(out[0].reason, "without a status"));
    hf_bulk_outcomes_release(out, 1);
}

int main(void)
{
    RUN(item_layout);
    RUN(item_versioned);
    RUN(index_names);
    RUN(pattern_checks);
    RUN(pattern_globs);
    RUN(verdicts);
    RUN(answer_item_by_item);
    RUN(answer_without_errors_is_not_parsed);
    RUN(long_reason_kept_whole);
    RUN(not_a_bulk_answer);
    RUN(item_without_status_is_retried);
    return UNIT_END();
}
