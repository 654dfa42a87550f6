/* out_opensearch_template.c -- what the OpenSearch output installs at start:
 * the index template that gives the host records their field types, and
 * the retention policy (ISM on OpenSearch, ILM on Elasticsearch).
 *
 * The template is composable (_index_template, OpenSearch 1+ and
 * Elasticsearch 7.8+) and matches every index the index pattern makes
 * ("hostflow-%{type}-%Y.%m.%d" -> "hostflow-*-*.*.*").  Field types, from the
 * records of DESIGN.md:
 *
 *   @type, id, rule            keyword          src_ip, *_ip       ip
 *   @timestamp                 date             window.start_ms,   date (epoch_millis)
 *   window.granularity_s       long               window.end_ms
 *   stats.total.*, counts      long             averages, score,   double
 *   stats.tcp_flags.*          long               observed, expected
 *
 * Fields that analyses add later are typed by dynamic templates: whole
 * numbers long (but avg_* / *_avg / *_ratio / *_rate double, so that an
 * average that happens to be whole in the first record does not make the
 * field long and truncate the next), fractions double, strings keyword
 * (aggregatable in Dashboards, no full-text analysis), *_ip strings ip.
 * A record whose field contradicts the mapping is refused by the server for
 * good: it goes to the dead letters, never retried. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "io/bulk.h"
#include "io/out_opensearch.h"

static const char mappings[] =
    "{\"dynamic_templates\":["
      "{\"averages\":{\"match_pattern\":\"regex\","
        "\"match\":\"^(avg|mean)_.*|.*_(avg|average|mean|ratio|rate)$\","
        "\"match_mapping_type\":\"long\",\"mapping\":{\"type\":\"double\"}}},"
      "{\"addresses\":{\"match\":\"*_ip\",\"match_mapping_type\":\"string\","
        "\"mapping\":{\"type\":\"ip\"}}},"
      "{\"fractions\":{\"match_mapping_type\":\"double\",\"mapping\":{\"type\":\"double\"}}},"
      "{\"whole_numbers\":{\"match_mapping_type\":\"long\",\"mapping\":{\"type\":\"long\"}}},"
      "{\"strings\":{\"match_mapping_type\":\"string\","
        "\"mapping\":{\"type\":\"keyword\",\"ignore_above\":1024}}}],"
    "\"properties\":{"
      "\"@type\":{\"type\":\"keyword\"},"
      "\"@timestamp\":{\"type\":\"date\"},"
      "\"id\":{\"type\":\"keyword\"},"
      "\"src_ip\":{\"type\":\"ip\"},"
      "\"rule\":{\"type\":\"keyword\"},"
      "\"observed\":{\"type\":\"double\"},"
      "\"expected\":{\"type\":\"double\"},"
      "\"score\":{\"type\":\"double\"},"
      "\"window\":{\"properties\":{"
        "\"start_ms\":{\"type\":\"date\",\"format\":\"epoch_millis\"},"
        "\"end_ms\":{\"type\":\"date\",\"format\":\"epoch_millis\"},"
        "\"granularity_s\":{\"type\":\"long\"}}},"
      "\"stats\":{\"properties\":{"
        "\"total\":{\"properties\":{"
          "\"flow\":{\"type\":\"long\"},\"packets\":{\"type\":\"long\"},\"bytes\":{\"type\":\"long\"}}},"
        "\"avg_flow_duration\":{\"type\":\"double\"},"
        "\"dport_count\":{\"type\":\"long\"},"
        "\"peer_number\":{\"type\":\"long\"},"
        "\"tcp_flags\":{\"properties\":{"
          "\"FIN\":{\"type\":\"long\"},\"SYN\":{\"type\":\"long\"},\"RST\":{\"type\":\"long\"},"
          "\"PSH\":{\"type\":\"long\"},\"ACK\":{\"type\":\"long\"},\"URG\":{\"type\":\"long\"},"
          "\"ECE\":{\"type\":\"long\"},\"CWR\":{\"type\":\"long\"}}}}},"
      "\"details\":{\"properties\":{"
        "\"dst_ip\":{\"type\":\"ip\"},"
        "\"targets\":{\"type\":\"long\"},"
        "\"flows_increment\":{\"type\":\"long\"}}}}}";

/* The priority of the template (and of the ISM policy's index patterns):
 * above the built-in ones (100 and below), so it wins where they overlap. */
#define TEMPLATE_PRIORITY 200

void hf_os_policy_name(const hf_os_settings *s, char *out, size_t n)
{
    snprintf(out, n, "%s-retention", s->template_name);
}

/* An age as the servers write it: "30d", "12h", "90m", "45s". */
static void put_age(hf_buf *b, int64_t ms)
{
    char t[32];
    if (ms % 86400000 == 0) snprintf(t, sizeof t, "%" PRId64 "d", ms / 86400000);
    else if (ms % 3600000 == 0) snprintf(t, sizeof t, "%" PRId64 "h", ms / 3600000);
    else if (ms % 60000 == 0) snprintf(t, sizeof t, "%" PRId64 "m", ms / 60000);
    else snprintf(t, sizeof t, "%" PRId64 "s", ms / 1000);
    hf_buf_put_string(b, t, strlen(t));
}

void hf_os_template_json(hf_buf *b, const hf_os_settings *s, int elasticsearch)
{
    char glob[512], policy[300];
    hf_bulk_pattern_glob(s->index, glob, sizeof glob);
    hf_buf_puts(b, "{\"index_patterns\":[");
    hf_buf_put_string(b, glob, strlen(glob));
    hf_buf_puts(b, "],\"priority\":");
    hf_buf_put_int(b, TEMPLATE_PRIORITY);
    hf_buf_puts(b, ",\"_meta\":{\"description\":\"hostflow host records: installed by hostflow at "
                   "each start (opensearch.template)\",\"hostflow_template\":1},"
                   "\"template\":{\"settings\":{\"number_of_shards\":");
    hf_buf_put_int(b, s->shards);
    hf_buf_puts(b, ",\"number_of_replicas\":");
    hf_buf_put_int(b, s->replicas);
    if (elasticsearch && s->retention_ms) {
        hf_os_policy_name(s, policy, sizeof policy);
        hf_buf_puts(b, ",\"index.lifecycle.name\":");
        hf_buf_put_string(b, policy, strlen(policy));
    }
    hf_buf_puts(b, "},\"mappings\":");
    hf_buf_puts(b, mappings);
    hf_buf_puts(b, "}}");
}

void hf_os_policy_json(hf_buf *b, const hf_os_settings *s, int elasticsearch)
{
    if (elasticsearch) {      /* ILM: a delete phase min_age after rollover/creation */
        hf_buf_puts(b, "{\"policy\":{\"_meta\":{\"description\":\"hostflow: delete indices "
                       "older than opensearch.retention\"},\"phases\":{\"hot\":{\"actions\":{}},"
                       "\"delete\":{\"min_age\":");
        put_age(b, s->retention_ms);
        hf_buf_puts(b, ",\"actions\":{\"delete\":{}}}}}}");
        return;
    }
    /* ISM: hot, then delete at the age; attached to new indices by ism_template */
    char glob[512];
    hf_bulk_pattern_glob(s->index, glob, sizeof glob);
    hf_buf_puts(b, "{\"policy\":{\"description\":\"hostflow: delete indices older than "
                   "opensearch.retention\",\"default_state\":\"hot\",\"states\":["
                   "{\"name\":\"hot\",\"actions\":[],\"transitions\":[{\"state_name\":\"delete\","
                   "\"conditions\":{\"min_index_age\":");
    put_age(b, s->retention_ms);
    hf_buf_puts(b, "}}]},{\"name\":\"delete\",\"actions\":[{\"delete\":{}}],\"transitions\":[]}],"
                   "\"ism_template\":[{\"index_patterns\":[");
    hf_buf_put_string(b, glob, strlen(glob));
    hf_buf_puts(b, "],\"priority\":");
    hf_buf_put_int(b, TEMPLATE_PRIORITY);
    hf_buf_puts(b, "}]}}");
}
