/* config.h -- hostflow's settings: defaults, the Lua configuration file
 * (conf/hostflow.lua returns a table), and the command-line flags that
 * override it.  Every value is checked before any input is read; a bad one
 * stops hostflow with a message naming the file, the key and what was
 * expected. */
#ifndef HF_CONFIG_H
#define HF_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define HF_MAX_WINDOWS 16
/* The longest line max_line may allow: the reader holds two of them, and
 * with decoder threads each of 4 chunks per thread holds one. */
#define HF_MAX_LINE_LIMIT ((size_t)64 << 20)

typedef struct hf_config {
    char    *path;                        /* the file loaded, or NULL */
    char   **networks;                    /* CIDR prefixes, "!" excludes */
    int      nnetworks;
    int64_t  windows_ms[HF_MAX_WINDOWS];  /* granularities, ascending, distinct */
    int      nwindows;
    int64_t  lateness_ms;                 /* allowed lateness of the watermark */
    int      workers;                     /* 0: one per core */
    char    *input;                       /* file path or "-" */
    char    *output;                      /* file path or "-" */
    char    *stats;                       /* counters as JSON at exit, or NULL */
    char    *analyses_dir;
    char   **enable;                      /* analyses to run (NULL: all in the dir) */
    int      nenable;
    char   **disable;                     /* analyses to leave out */
    int      ndisable;
    size_t   memory_max;                  /* bytes of window state, all workers */
    size_t   max_line;                    /* longest accepted input line, <= HF_MAX_LINE_LIMIT */
    int      distinct_exact;              /* default exact limit of hf.distinct() */
    int      batch;                       /* flows per batch handed to Lua */

    /* Hot reload and isolation of the analyses (core/reload.h) */
    int      reload;                      /* watch analyses.dir (inotify); SIGHUP reloads always */
    int      max_errors;                  /* an analysis raising more per minute is disabled */
    int64_t  max_batch_ms;                /* one taking longer over a batch is interrupted, disabled */
    int64_t  watchdog_ms;                 /* still stuck this much later: hostflow stops (0: never) */

    /* Kafka (input or output "kafka:TOPIC[,TOPIC...]") */
    char   **kafka;                       /* librdkafka settings: key, value, key, value, ... */
    int      nkafka;                      /* number of strings (2 per setting) */
    char    *kafka_start;                 /* "earliest", "latest" or an ISO 8601 time */
    char    *dead_letter;                 /* "kafka:TOPIC" for undecodable messages, or NULL */
    int64_t  commit_interval_ms;          /* how often offsets are committed */
    int      exit_at_end;                 /* stop when every partition is read to its end */
} hf_config;

/* Fill cfg with the built-in defaults (base_dir: where conf/ and analyses/
 * live, normally the directory of the executable). */
void hf_config_defaults(hf_config *cfg, const char *base_dir);

/* Load a configuration file over cfg.  Returns 0, or -1 with a message in
 * err naming the file, the key and what was expected. */
int hf_config_load(hf_config *cfg, const char *path, char *err, size_t errlen);

/* Parsers shared with the command line.  Each returns 0 or -1. */
int hf_config_parse_duration_ms(const char *s, int64_t *ms);  /* "10s" "1m" "500ms" "2h" "30" */
int hf_config_parse_size(const char *s, size_t *bytes);       /* "512MiB" "2G" "1000000" */
int hf_config_set_windows(hf_config *cfg, const char *list, char *err, size_t errlen);
int hf_config_set_networks(hf_config *cfg, const char *list, char *err, size_t errlen);
/* Set (or replace) one librdkafka setting. */
void hf_config_set_kafka(hf_config *cfg, const char *key, const char *value);
/* The value of a librdkafka setting, or NULL. */
const char *hf_config_kafka(const hf_config *cfg, const char *key);

/* Cross-field checks (called after the file and the flags). */
int hf_config_check(hf_config *cfg, char *err, size_t errlen);

void hf_config_release(hf_config *cfg);

#endif
