/* out_opensearch.h -- host records into OpenSearch or Elasticsearch through
 * the _bulk API: `-o opensearch:http://127.0.0.1:9200` (see out_opensearch.c
 * for how, out_opensearch_config.h for the settings). */
#ifndef HF_OUT_OPENSEARCH_H
#define HF_OUT_OPENSEARCH_H

#include "base/buf.h"
#include "io/io.h"
#include "io/out_opensearch_config.h"

/* The output's table (scheme "opensearch"). */
extern const hf_output_ops hf_out_opensearch;

/* What is installed at start (out_opensearch_template.c): the composable
 * index template, and the retention policy (ILM for Elasticsearch, ISM for
 * OpenSearch), as JSON appended to b. */
void hf_os_template_json(hf_buf *b, const hf_os_settings *s, int elasticsearch);
void hf_os_policy_json(hf_buf *b, const hf_os_settings *s, int elasticsearch);
/* The policy's name: "<template_name>-retention". */
void hf_os_policy_name(const hf_os_settings *s, char *out, size_t n);

#endif
