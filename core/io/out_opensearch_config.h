/* out_opensearch_config.h -- the settings of the OpenSearch / Elasticsearch
 * output: its configuration keys (one declaration each, opensearch.* in the
 * configuration file) and the checked values the output runs with.
 *
 * The work is in out_opensearch.c; this file only reads and checks, so that
 * a bad value stops hostflow at start with the key and what was expected. */
#ifndef HF_OUT_OPENSEARCH_CONFIG_H
#define HF_OUT_OPENSEARCH_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"

/* The keys (registered with the loader through the output's table), ending
 * in {NULL}. */
extern const hf_conf_key hf_opensearch_keys[];

typedef struct hf_os_settings {
    char   **urls;            /* the -o target's URLs, then opensearch.urls */
    int      nurls;
    char    *index;           /* index name pattern */
    char    *user, *password, *api_key, *ca_file;
    int      tls_verify;
    int      gzip;
    int      batch_count;     /* records per bulk request, at most */
    size_t   batch_bytes;     /* bytes per bulk request, at most (one larger record goes alone) */
    int64_t  batch_ms;        /* a record waits at most this long for its batch to fill */
    size_t   queue_bytes;     /* records held (queued, in flight, waiting to be retried), at most */
    int64_t  timeout_ms, connect_timeout_ms;
    int64_t  backoff_ms, backoff_max_ms;
    int      max_retries;     /* sends of an item refused for now, before it is dead-lettered */
    char    *dead_letter;     /* a file path or "kafka:TOPIC"; NULL: refused records are counted as lost */
    int      template;        /* install the index template at start */
    char    *template_name;
    int      shards, replicas;
    int64_t  retention_ms;    /* 0: keep indices for ever */
    int64_t  close_timeout_ms;
} hf_os_settings;

/* Read and check the settings for target ("http://h:9200[,http://h2:9200]")
 * from cfg.  Returns 0, or -1 with a message naming the key in err. */
int hf_os_settings_load(hf_os_settings *s, const hf_config *cfg, const char *target,
                        char *err, size_t errlen);
void hf_os_settings_release(hf_os_settings *s);

#endif
