/* config.h -- hostflow's settings: one declaration per key, and the values
 * that the defaults, the configuration file and the command line give them.
 *
 * Every key is declared once, in a table (conf/keys.c for the core's, a
 * plugin's own `<plugin>_config.c` for an input's or output's): its dotted
 * name, type, default, one line of documentation, the flag that sets it and
 * its bounds.  From that one declaration come the defaults, the loader's
 * checks and messages ("conf/x.lua: windows[2]: expected ..."), the options
 * of `hostflow run` and their --help lines, and `hostflow config`'s listing;
 * a test checks that conf/hostflow.lua mentions every key.
 *
 *   name "memory.max_bytes" is written   memory = { max_bytes = "4GiB" }
 *   in the file, set by its flag         -m 4GiB   or   --memory 4GiB
 *   and read by the code as              cfg->memory_max (core keys with a
 *                                        field) or hf_conf_size(cfg, name)
 *
 * Values are kept in two forms: every key set (or defaulted) is in a list of
 * text values that the hf_conf_* getters read by name (plugins use those);
 * a core key that declares a field is also stored, typed, in hf_config for
 * the core's own code.  Precedence: flags over the file over defaults.
 * Every value is checked before any input is read; a bad one stops hostflow
 * with a message naming the file (or flag), the key and what was expected. */
#ifndef HF_CONFIG_H
#define HF_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define HF_MAX_WINDOWS 16
/* The longest line max_line may allow: the reader holds two of them, and
 * with decoder threads each of 4 chunks per thread holds one. */
#define HF_MAX_LINE_LIMIT ((size_t)64 << 20)

/* ------------------------------------------------------------------------
 * Declarations
 * --------------------------------------------------------------------- */

enum hf_conf_type {
    HF_CONF_STRING,      /* text */
    HF_CONF_PATH,        /* text; relative paths in a file are taken from the file's directory */
    HF_CONF_INT,         /* a whole number within min..max */
    HF_CONF_BOOL,        /* true or false */
    HF_CONF_DURATION,    /* "10s", "500ms", "2h", a number of seconds; kept in ms */
    HF_CONF_SIZE,        /* "512MiB", "4GiB", a number of bytes */
    HF_CONF_LIST,        /* a list of strings (in the file a table { ... }; on the
                            command line comma-separated, or one item per flag) */
    HF_CONF_MAP,         /* string keys to values, passed through (kafka = {...}) */
    HF_CONF_LUA,         /* any table of plain values, kept as Lua text (analyses.params) */
    HF_CONF_HEADING,     /* not a key: a heading for --help (doc is its text) */
};

/* What a flag does with its argument for a LIST key. */
enum hf_conf_flag_mode {
    HF_FLAG_SPLIT = 0,   /* comma-separated, replaces the list (-w 10s,1m) */
    HF_FLAG_APPEND,      /* one item per flag; the first replaces the file's list (-o a -o b) */
};

struct hf_config;

typedef struct hf_conf_key {
    const char *name;    /* dotted: "memory.max_bytes"; NULL ends a table */
    int         type;    /* enum hf_conf_type */
    const char *deflt;   /* the default as text ("5s", "true", "a,b" for a list); NULL: none */
    const char *doc;     /* one line: what it does */
    const char *flag;    /* the flags that set it: "-w, --windows", "--stats"; NULL: none */
    const char *arg;     /* the argument's name in --help ("LIST", "DUR"); NULL: from the type */
    double      min, max;/* INT: values; DURATION: ms; SIZE: bytes; LIST: items; 0, 0: none */
    size_t      field;   /* HF_FIELD(x): where the core keeps it typed in hf_config; 0: none */
    int         flag_mode;   /* enum hf_conf_flag_mode */
    /* Optional: a further check of one value (a list item, or a scalar's
     * text), or of the whole configuration when cfg is set (finish).
     * 0, or -1 with the reason in why ("expected ..."). */
    int (*check)(const char *value, char *why, size_t whylen);
} hf_conf_key;

/* A list of strings (LIST) or of key, value pairs (MAP: n counts strings). */
typedef struct hf_strlist {
    char **v;
    int    n;
    int    set;          /* given (an empty list is not the same as none) */
} hf_strlist;

/* ------------------------------------------------------------------------
 * The core's settings
 * --------------------------------------------------------------------- */

typedef struct hf_conf_value hf_conf_value;

typedef struct hf_config {
    char      *path;                       /* the file loaded, or NULL */
    char      *home;                       /* where conf/, lua/, analyses/ live */
    hf_strlist networks;                   /* CIDR prefixes, "!" excludes */
    hf_strlist windows;                    /* granularities as given */
    int64_t    windows_ms[HF_MAX_WINDOWS]; /* ... ascending, distinct (set by hf_config_check) */
    int        nwindows;
    int64_t    lateness_ms;                /* allowed lateness of the watermark */
    int64_t    future_slack_ms;            /* a flow further ahead of its stream is held aside */
    int        workers;                    /* 0: one per core */
    char      *input;                      /* file path, "-" or "kafka:TOPICS" */
    hf_strlist outputs;                    /* where records go: paths, "-", "kafka:TOPIC", ... */
    char      *stats;                      /* counters as JSON at exit, or NULL */
    char      *analyses_dir;
    hf_strlist enable;                     /* analyses to run (not set: all in the dir) */
    hf_strlist disable;                    /* analyses to leave out */
    hf_strlist order;                      /* the order of the analyses' fields in a record */
    char      *params;                     /* analyses.params as Lua text, or NULL */
    size_t     memory_max;                 /* bytes of window state, all workers */
    size_t     max_line;                   /* longest accepted input record, <= HF_MAX_LINE_LIMIT */
    char      *input_tz;                   /* zone of input times without an offset ("UTC") */
    int64_t    max_skew_ms;                /* a flow ending this much before its start is taken */
    int        distinct_exact;             /* default exact limit of hf.distinct() */
    int        batch;                      /* flows per batch handed to Lua */
    int        verbose;                    /* log at debug level: analyses' tracebacks, timings */

    /* Hot reload and isolation of the analyses (engine/reload.h) */
    int        reload;                     /* watch analyses.dir (inotify); SIGHUP reloads always */
    hf_strlist trusted;                    /* analysis files run outside the sandbox */
    int        max_errors;                 /* an analysis raising more per minute is disabled */
    int        max_host_errors;            /* ... counting at most this many of one host */
    size_t     max_memory;                 /* Lua memory one analysis may hold in a worker */
    size_t     max_result;                 /* a longer result is left out of the record */
    int64_t    max_batch_ms;               /* one taking longer over a batch is interrupted, disabled */
    int64_t    watchdog_ms;                /* still stuck this much later: hostflow stops (0: never) */

    /* Alerts (engine/alerts.h) */
    int64_t    alerts_hold_ms;             /* an alert stays open this long from its window */
    int        alerts_max_open;            /* open alerts kept, all workers together */

    /* Profiles (engine/profile.h) */
    char      *profiles_dir;               /* their files, or NULL: in memory only */
    int64_t    profiles_save_ms;           /* how often they are saved */
    int64_t    profiles_report_ms;         /* period of the host_profile records */
    int64_t    profiles_expire_ms;         /* hosts not seen this long are forgotten */
    int        profiles_max_hosts;         /* hosts per profile, all workers together */
    char      *profiles_topic;             /* their changelog (a Kafka topic), or NULL: none */

    /* Log events (stream/logs.h, engine/logs.h) */
    char      *logs_input;                 /* a file, "-" or "kafka:TOPICS"; NULL: none */
    char      *logs_format;                /* the preset: "rsyslog", "syslog-ng" */
    hf_strlist logs_fields;                /* field, keys, field, keys, ... over the preset */
    int        logs_messages;              /* last messages kept per host and window */
    char      *logs_dead_letter;           /* "kafka:TOPIC" for malformed events, or NULL */

    /* Kafka (input or output "kafka:TOPIC[,TOPIC...]") */
    hf_strlist kafka;                      /* librdkafka settings: key, value, key, value, ... */
    char      *kafka_start;                /* "earliest", "latest" or an ISO 8601 time */
    char      *dead_letter;                /* "kafka:TOPIC" for undecodable messages, or NULL */
    int64_t    commit_interval_ms;         /* how often offsets are committed */
    int        exit_at_end;                /* stop when every partition is read to its end */

    /* Several instances (role) */
    char      *role_name;                  /* "single", "relay", "partial" or "merge" */
    int        role;                       /* ... as enum hf_role (set by hf_config_check) */
    char      *relay_format;               /* the relay's flows: "binary" or "json" */

    hf_conf_value *values;                 /* every key's value as text (hf_conf_* getters) */
    int            nvalues;
} hf_config;

/* What an instance does (role): README, "Several instances". */
enum hf_role {
    HF_ROLE_SINGLE = 0,    /* flows in, host records out */
    HF_ROLE_RELAY,         /* flows in, the same flows out keyed by their host */
    HF_ROLE_PARTIAL,       /* flows in, partial windows out (serialised states) */
    HF_ROLE_MERGE,         /* partial windows in, host records out */
};

#define HF_FIELD(member) (offsetof(hf_config, member) + 1)

/* ------------------------------------------------------------------------
 * Tables
 * --------------------------------------------------------------------- */

/* The core's keys (conf/keys.c). */
extern const hf_conf_key hf_conf_core_keys[];

/* Add a table of keys (a plugin's) to those the loader knows.  Before the
 * first hf_config_defaults(); the table must outlive the process.  Adding
 * a table twice is harmless. */
void hf_conf_register(const hf_conf_key *keys);
/* The declaration of a key by its dotted name (a MAP's entries: the MAP's),
 * or NULL. */
const hf_conf_key *hf_conf_find(const char *name);
/* Call fn for every declared key, headings included, in table order. */
void hf_conf_each(void (*fn)(void *ctx, const hf_conf_key *k), void *ctx);

/* ------------------------------------------------------------------------
 * Loading and setting
 * --------------------------------------------------------------------- */

/* Fill cfg with every key's default (home: where conf/ and analyses/ live,
 * normally the directory of the executable). */
void hf_config_defaults(hf_config *cfg, const char *home);

/* Load a configuration file over cfg.  Returns 0, or -1 with a message in
 * err naming the file, the key and what was expected. */
int hf_config_load(hf_config *cfg, const char *path, char *err, size_t errlen);

/* Set a key from text, as a flag does (origin names it in messages: "-w").
 * For a MAP key, name is "kafka.linger.ms".  `append` is for a LIST flag
 * given again (HF_FLAG_APPEND).  Returns 0, or -1 with a message in err. */
int hf_config_set(hf_config *cfg, const char *name, const char *text, const char *origin,
                  int append, char *err, size_t errlen);

/* The name of a role ("single", ...), and the role of a name (-1: none). */
const char *hf_config_role_name(int role);
int hf_config_role_parse(const char *name);

/* Cross-field checks and derived values (the windows in ms), after the
 * file and the flags.  Returns 0, or -1 with a message in err. */
int hf_config_check(hf_config *cfg, char *err, size_t errlen);

void hf_config_release(hf_config *cfg);

/* ------------------------------------------------------------------------
 * Reading values by name (plugins; anything not kept in a field)
 * --------------------------------------------------------------------- */

/* The value as text (the default when not set), NULL when it has none.
 * LIST: the items joined by ","; MAP: NULL (use hf_conf_map). */
const char *hf_conf_str(const hf_config *cfg, const char *name);
int64_t     hf_conf_int(const hf_config *cfg, const char *name);
int         hf_conf_bool(const hf_config *cfg, const char *name);
int64_t     hf_conf_ms(const hf_config *cfg, const char *name);
uint64_t    hf_conf_size(const hf_config *cfg, const char *name);
/* A LIST's items: their count, *items pointing at them (valid while cfg
 * is); 0 when it is empty or not set. */
int         hf_conf_list(const hf_config *cfg, const char *name, const char *const **items);
/* A MAP's entries as key, value, key, value, ... (n counts strings). */
const hf_strlist *hf_conf_map(const hf_config *cfg, const char *name);

/* ------------------------------------------------------------------------
 * Value parsers, shared with the command line
 * --------------------------------------------------------------------- */

int hf_config_parse_duration_ms(const char *s, int64_t *ms);  /* "10s" "1m" "500ms" "2h" "30" */
int hf_config_parse_size(const char *s, size_t *bytes);       /* "512MiB" "2G" "1000000" */
/* Shorthands of hf_config_set for the flags -w and -n. */
int hf_config_set_windows(hf_config *cfg, const char *list, char *err, size_t errlen);
int hf_config_set_networks(hf_config *cfg, const char *list, char *err, size_t errlen);
/* Set (or replace) one librdkafka setting: kafka.<key>. */
void hf_config_set_kafka(hf_config *cfg, const char *key, const char *value);
/* The value of a librdkafka setting, or NULL. */
const char *hf_config_kafka(const hf_config *cfg, const char *key);

/* ------------------------------------------------------------------------
 * Documentation
 * --------------------------------------------------------------------- */

/* The --help lines of every key with a flag, under the heading of its
 * section (a section without such a key shows none), wrapped at 80
 * columns: "  -w, --windows LIST     window granularities ... (default 10s,30s,1m,5m)". */
void hf_conf_usage(void (*put)(void *ctx, const char *line), void *ctx);
/* The name of a type as the docs write it ("duration", "list", ...). */
const char *hf_conf_type_name(int type);

#endif
