/* keys.c -- the core's configuration keys, one declaration each.
 *
 * Everything about a key is here: its name in the file, its type, default,
 * the flag that sets it, its bounds and its one line of documentation.  The
 * loader, its messages, `hostflow run --help`, `hostflow config` and the
 * man page are made from this table; tests/integration/test_cli.sh checks
 * that conf/hostflow.lua mentions every key.  The order is the order of
 * --help, under its headings.  A plugin declares its own keys the same way
 * (io/<plugin>_config.c) and registers them (hf_conf_register). */
#include "conf/config.h"

#include <stdio.h>
#include <string.h>

#include "base/addr.h"
#include "base/timefmt.h"
#include "base/tz.h"

/* ------------------------------------------------------------------------
 * Checks of single values
 * --------------------------------------------------------------------- */

static int check_network(const char *v, char *why, size_t n)
{
    uint8_t a[16];
    unsigned len;
    int excl;
    char msg[160];
    if (hf_cidr_parse(v, a, &len, &excl, msg, sizeof msg) == 0) return 0;
    snprintf(why, n, "expected a network such as \"10.0.0.0/8\", \"2001:db8::/32\" or "
             "\"!10.1.0.0/16\", got \"%s\" (%s)", v, msg);
    return -1;
}

static int check_window(const char *v, char *why, size_t n)
{
    int64_t ms;
    if (hf_config_parse_duration_ms(v, &ms) == 0 && ms >= 1000 && ms % 1000 == 0) return 0;
    snprintf(why, n, "expected a whole number of seconds >= 1 such as \"10s\" or \"5m\", got \"%s\"", v);
    return -1;
}

static int check_start(const char *v, char *why, size_t n)
{
    int64_t ms;
    if (!strcmp(v, "earliest") || !strcmp(v, "latest") || hf_time_parse_iso(v, strlen(v), &ms) == 0)
        return 0;
    snprintf(why, n, "expected \"earliest\", \"latest\" or a time such as "
             "\"2026-11-26T14:00:00Z\", got \"%s\"", v);
    return -1;
}

static int check_kafka_topic(const char *v, char *why, size_t n)
{
    if (strncmp(v, "kafka:", 6) == 0 && v[6]) return 0;
    snprintf(why, n, "expected \"kafka:TOPIC\", got \"%s\"", v);
    return -1;
}

static int check_role(const char *v, char *why, size_t n)
{
    if (hf_config_role_parse(v) >= 0) return 0;
    snprintf(why, n, "expected single, relay, partial or merge, got \"%s\"", v);
    return -1;
}

static int check_relay_format(const char *v, char *why, size_t n)
{
    if (!strcmp(v, "binary") || !strcmp(v, "json")) return 0;
    snprintf(why, n, "expected binary or json, got \"%s\"", v);
    return -1;
}

static int check_logs_format(const char *v, char *why, size_t n)
{
    if (!strcmp(v, "rsyslog") || !strcmp(v, "syslog-ng")) return 0;
    snprintf(why, n, "expected \"rsyslog\" or \"syslog-ng\", got \"%s\"", v);
    return -1;
}

static int check_analysis_name(const char *v, char *why, size_t n)
{
    for (const char *p = v; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_')) {
            snprintf(why, n, "expected the name of an analysis (letters, digits and _), got \"%s\"", v);
            return -1;
        }
    return 0;
}

static int check_zone(const char *v, char *why, size_t n)
{
    char err[256];
    hf_tz *tz = hf_tz_load(v, err, sizeof err);
    hf_tz_free(tz);
    if (tz || !err[0]) return 0;
    snprintf(why, n, "expected a time zone such as \"UTC\" or \"Europe/Prague\" (%s)", err);
    return -1;
}

/* ------------------------------------------------------------------------
 * The table
 * --------------------------------------------------------------------- */

#define MiB (1024.0 * 1024.0)

const hf_conf_key hf_conf_core_keys[] = {
    {.name = "#run", .type = HF_CONF_HEADING, .doc = "Flows in, records out:"},
    {.name = "input", .type = HF_CONF_STRING, .deflt = "-", .flag = "-i, --input", .arg = "SOURCE",
     .doc = "flows to read: a file (plain or gzip), - for standard input, or "
            "kafka:TOPIC[,TOPIC...]",
     .field = HF_FIELD(input)},
    {.name = "outputs", .type = HF_CONF_LIST, .deflt = "-", .flag = "-o, --output", .arg = "SINK",
     .doc = "where records go: a file, - for standard output, or SCHEME:TARGET (below); "
            "repeat -o for several",
     .field = HF_FIELD(outputs), .flag_mode = HF_FLAG_APPEND},
    {.name = "networks", .type = HF_CONF_LIST,
     .deflt = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7,2001:db8::/32", .flag = "-n, --networks",
     .doc = "monitored networks, CIDR prefixes; !PREFIX excludes; an empty list (-n '') monitors "
            "every address",
     .field = HF_FIELD(networks), .check = check_network},
    {.name = "windows", .type = HF_CONF_LIST, .deflt = "10s,30s,1m,5m", .flag = "-w, --windows",
     .doc = "window granularities, whole seconds", .max = HF_MAX_WINDOWS,
     .field = HF_FIELD(windows), .check = check_window},
    {.name = "lateness", .type = HF_CONF_DURATION, .deflt = "5s", .flag = "-l, --lateness",
     .doc = "allowed lateness of flows behind the newest", .min = 0, .max = 86400000.0 * 7,
     .field = HF_FIELD(lateness_ms)},
    {.name = "future_slack", .type = HF_CONF_DURATION, .deflt = "1h", .flag = "--future-slack",
     .doc = "a flow ending this much after the newest of its stream (or, from Kafka, after the "
            "clock) is held aside: rejected as future_time unless the stream follows it",
     .min = 1000, .max = 86400000.0 * 365, .field = HF_FIELD(future_slack_ms)},
    {.name = "workers", .type = HF_CONF_INT, .deflt = "0", .flag = "-j, --workers",
     .doc = "worker threads (and as many decoder threads when N > 1); 0 is one per core",
     .min = 0, .max = 256, .field = HF_FIELD(workers)},
    {.name = "stats", .type = HF_CONF_STRING, .flag = "--stats", .arg = "FILE",
     .doc = "write the counters as JSON to FILE at exit", .field = HF_FIELD(stats)},
    {.name = "max_line", .type = HF_CONF_SIZE, .deflt = "1MiB",
     .doc = "input records longer than this are rejected (too_long)", .min = 256,
     .max = (double)HF_MAX_LINE_LIMIT, .field = HF_FIELD(max_line)},
    {.name = "input_tz", .type = HF_CONF_STRING, .deflt = "UTC", .flag = "--input-tz",
     .arg = "ZONE", .doc = "time zone of input times written without an offset (nfdump prints "
     "local time): an IANA name such as Europe/Prague", .field = HF_FIELD(input_tz),
     .check = check_zone},
    {.name = "max_clock_skew", .type = HF_CONF_DURATION, .deflt = "1s", .flag = "--max-clock-skew",
     .arg = "DUR", .doc = "a flow ending up to this much before it starts is taken, its start "
     "set to its end, and counted (softflowd does this)", .min = 0, .max = 3600000,
     .field = HF_FIELD(max_skew_ms)},
    {.name = "batch", .type = HF_CONF_INT, .deflt = "4096",
     .doc = "flows handed to the analyses at a time", .min = 1, .max = 65536,
     .field = HF_FIELD(batch)},
    {.name = "verbose", .type = HF_CONF_BOOL, .deflt = "false", .flag = "-v, --verbose",
     .doc = "log more: the Lua traceback under each analysis error logged, the reloads' timings",
     .field = HF_FIELD(verbose)},

    {.name = "#analyses", .type = HF_CONF_HEADING, .doc = "Analyses:"},
    {.name = "analyses.dir", .type = HF_CONF_PATH, .deflt = "analyses", .flag = "-a, --analyses",
     .doc = "directory of the Lua analyses (every *.lua file in it)", .field = HF_FIELD(analyses_dir)},
    {.name = "analyses.enable", .type = HF_CONF_LIST,
     .doc = "run only these analyses (by name); not set: all", .field = HF_FIELD(enable),
     .check = check_analysis_name},
    {.name = "analyses.disable", .type = HF_CONF_LIST, .deflt = "",
     .doc = "leave these analyses out", .field = HF_FIELD(disable), .check = check_analysis_name},
    {.name = "analyses.order", .type = HF_CONF_LIST,
     .deflt = "total,avg_flow_duration,dport_count,peer_number,tcp_flags",
     .doc = "the order of the analyses' fields in a record; others follow by name",
     .field = HF_FIELD(order), .check = check_analysis_name},
    {.name = "analyses.params", .type = HF_CONF_LUA,
     .doc = "parameters of analyses: { NAME = { key = value, ... } } over their defaults",
     .field = HF_FIELD(params)},
    {.name = "analyses.reload", .type = HF_CONF_BOOL, .deflt = "true",
     .doc = "watch the directory: an edit is checked and taken over at a window boundary",
     .field = HF_FIELD(reload)},
    {.name = "analyses.trusted", .type = HF_CONF_LIST, .deflt = "",
     .doc = "analysis files (names without .lua) run outside the sandbox, with every library: "
            "only code you trust",
     .field = HF_FIELD(trusted)},
    {.name = "analyses.max_errors", .type = HF_CONF_INT, .deflt = "1000",
     .doc = "an analysis raising more errors than this in a minute (counting at most "
            "max_host_errors of each host) is disabled until a reload",
     .min = 1, .max = 1e9, .field = HF_FIELD(max_errors)},
    {.name = "analyses.max_host_errors", .type = HF_CONF_INT, .deflt = "10",
     .doc = "errors of one host in a minute that count toward max_errors; past them only that "
            "host's field is left out",
     .min = 1, .max = 1e9, .field = HF_FIELD(max_host_errors)},
    {.name = "analyses.max_memory", .type = HF_CONF_SIZE, .deflt = "256MiB",
     .doc = "Lua memory an analysis may hold in a worker; one over it is disabled and its "
            "memory freed", .min = MiB, .max = 1e15, .field = HF_FIELD(max_memory)},
    {.name = "analyses.max_result", .type = HF_CONF_SIZE, .deflt = "64KiB",
     .doc = "a result longer than this (its JSON text) is left out of the host's record, "
            "an error of the analysis", .min = 64, .max = 1e9, .field = HF_FIELD(max_result)},
    {.name = "analyses.max_batch", .type = HF_CONF_DURATION, .deflt = "1s",
     .doc = "an analysis running longer over one batch is interrupted and disabled",
     .min = 1, .max = 3600000, .field = HF_FIELD(max_batch_ms)},
    {.name = "analyses.watchdog", .type = HF_CONF_DURATION, .deflt = "10s",
     .doc = "one still running this much later stops hostflow with a report (0: never)",
     .field = HF_FIELD(watchdog_ms)},

    {.name = "#alerts", .type = HF_CONF_HEADING, .doc = "Alerts (lua/README.md, \"Alerts\"):"},
    {.name = "alerts.hold", .type = HF_CONF_DURATION, .deflt = "10m",
     .doc = "an alert stays open this long (event time) from its window: raised again "
            "meanwhile it is updated when it grew, never repeated",
     .min = 0, .max = 86400000.0 * 366, .field = HF_FIELD(alerts_hold_ms)},
    {.name = "alerts.max_open", .type = HF_CONF_INT, .deflt = "100000",
     .doc = "open alerts kept, all workers together; past it the oldest closes early (counted)",
     .min = 1, .max = 1e8, .field = HF_FIELD(alerts_max_open)},

    {.name = "#profiles", .type = HF_CONF_HEADING,
     .doc = "Profiles: rules that live across windows (lua/README.md, \"Profiles\"):"},
    {.name = "profiles.dir", .type = HF_CONF_PATH, .flag = "--profiles", .arg = "DIR",
     .doc = "keep the profiles in files here (saved atomically; read at start); not set: "
            "in memory only, a restart starts them afresh",
     .field = HF_FIELD(profiles_dir)},
    {.name = "profiles.save", .type = HF_CONF_DURATION, .deflt = "5m",
     .doc = "how often the profiles are saved (and at exit); Kafka offsets are committed only "
            "as far as the profiles are saved",
     .min = 1000, .max = 86400000.0, .field = HF_FIELD(profiles_save_ms)},
    {.name = "profiles.report", .type = HF_CONF_DURATION, .deflt = "1d",
     .doc = "period of the host_profile records (event time, from midnight UTC)",
     .min = 60000, .max = 86400000.0 * 366, .field = HF_FIELD(profiles_report_ms)},
    {.name = "profiles.expire", .type = HF_CONF_DURATION, .deflt = "30d",
     .doc = "a host not seen this long (event time) is forgotten (counted)",
     .min = 60000, .max = 86400000.0 * 3660, .field = HF_FIELD(profiles_expire_ms)},
    {.name = "profiles.max_hosts", .type = HF_CONF_INT, .deflt = "1000000",
     .doc = "hosts each profile keeps, all workers together; new hosts past it are refused (counted)",
     .min = 1, .max = 1e9, .field = HF_FIELD(profiles_max_hosts)},
    {.name = "profiles.topic", .type = HF_CONF_STRING, .flag = "--profiles-topic", .arg = "TOPIC",
     .doc = "a compacted Kafka topic that the profiles' changes are written to, and read from when "
            "partitions are assigned, so a host's profile follows it to its new owner at a rebalance "
            "(README, \"Several instances\"); a Kafka input only; not set: each instance keeps its own",
     .field = HF_FIELD(profiles_topic)},

    {.name = "#logs", .type = HF_CONF_HEADING,
     .doc = "Log events, merged into the host records under stats.logs (README, \"Logs\"):"},
    {.name = "logs.input", .type = HF_CONF_STRING, .flag = "--logs", .arg = "SOURCE",
     .doc = "JSON log events to merge: a file (plain or gzip), - for standard input, or "
            "kafka:TOPIC[,TOPIC...]; not set: none",
     .field = HF_FIELD(logs_input)},
    {.name = "logs.format", .type = HF_CONF_STRING, .deflt = "rsyslog", .flag = "--logs-format",
     .arg = "PRESET",
     .doc = "the field names of the events: rsyslog (%jsonmesg%) or syslog-ng (format-json "
            "--scope rfc5424 --scope selected-macros --key ISODATE)",
     .field = HF_FIELD(logs_format), .check = check_logs_format},
    {.name = "logs.fields", .type = HF_CONF_MAP,
     .doc = "field names over the preset's: host, time, severity, program, message = \"key[,key...]\"",
     .field = HF_FIELD(logs_fields)},
    {.name = "logs.messages", .type = HF_CONF_INT, .deflt = "3",
     .doc = "the last messages of a host kept in each window's record", .min = 0, .max = 100,
     .field = HF_FIELD(logs_messages)},
    {.name = "logs.dead_letter", .type = HF_CONF_STRING, .flag = "--logs-dead-letter", .arg = "kafka:TOPIC",
     .doc = "copy malformed events of a Kafka log input there, with the reason",
     .field = HF_FIELD(logs_dead_letter), .check = check_kafka_topic},

    {.name = "#memory", .type = HF_CONF_HEADING, .doc = "Memory:"},
    {.name = "memory.max_bytes", .type = HF_CONF_SIZE, .deflt = "4GiB", .flag = "-m, --memory",
     .doc = "window state and profiles of all workers together; new hosts over it are refused and counted",
     .min = MiB, .max = 1e18, .field = HF_FIELD(memory_max)},
    /* HF_DISTINCT_DEFAULT_LIMIT and HF_DISTINCT_MAX_LIMIT (prim/distinct.h, a
     * sibling layer; test_config checks they agree) */
    {.name = "memory.distinct_exact", .type = HF_CONF_INT, .deflt = "1024",
     .doc = "hf.distinct() counts exactly up to this many values, then estimates (0.81 %; ports: always exact)",
     .min = 1, .max = 65535, .field = HF_FIELD(distinct_exact)},

    {.name = "#kafka", .type = HF_CONF_HEADING,
     .doc = "Kafka (-i kafka:TOPIC[,TOPIC...] consumes in a group; -o kafka:TOPIC produces):"},
    {.name = "kafka", .type = HF_CONF_MAP,
     .doc = "librdkafka settings, passed unchanged (-K KEY=VALUE; -b BROKERS; -g GROUP)",
     .field = HF_FIELD(kafka)},
    {.name = "kafka_start", .type = HF_CONF_STRING, .deflt = "earliest", .flag = "--from",
     .arg = "WHERE",
     .doc = "earliest, latest or an ISO 8601 time: where a group with no committed offsets "
            "starts; a time also rewinds",
     .field = HF_FIELD(kafka_start), .check = check_start},
    {.name = "dead_letter", .type = HF_CONF_STRING, .flag = "--dead-letter", .arg = "kafka:TOPIC",
     .doc = "copy undecodable messages there, with the reason", .field = HF_FIELD(dead_letter),
     .check = check_kafka_topic},
    {.name = "commit_interval", .type = HF_CONF_DURATION, .deflt = "5s", .flag = "--commit-interval",
     .doc = "how often offsets are committed", .min = 100, .max = 3600000,
     .field = HF_FIELD(commit_interval_ms)},
    {.name = "exit_at_end", .type = HF_CONF_BOOL, .deflt = "false", .flag = "--exit-at-end",
     .doc = "stop once every partition is read to its end", .field = HF_FIELD(exit_at_end)},

    {.name = "#roles", .type = HF_CONF_HEADING,
     .doc = "Several instances sharing the work through Kafka (README, \"Several instances\"):"},
    {.name = "role", .type = HF_CONF_STRING, .deflt = "single", .flag = "--role", .arg = "ROLE",
     .doc = "single: flows to records; relay: flows to a topic keyed by host; partial: flows "
            "to partial windows; merge: partial windows to records",
     .field = HF_FIELD(role_name), .check = check_role},
    {.name = "relay.format", .type = HF_CONF_STRING, .deflt = "binary", .flag = "--relay-format",
     .arg = "FORMAT",
     .doc = "the relay's flows: binary (27 bytes for IPv4; Kafka outputs only) or json "
            "(normalised, nfdump's keys)",
     .field = HF_FIELD(relay_format), .check = check_relay_format},
    {.name = NULL},
};
