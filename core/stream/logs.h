/* logs.h -- log events: what a JSON log line (syslog as rsyslog or
 * syslog-ng writes it, or any object with a host, a time and a message)
 * becomes on its way to the host records, and how it is read.
 *
 * An event is the host it concerns (an address: the sender, as the relay
 * saw it), its time, a severity (RFC 5424: 0 emerg .. 7 debug), a program
 * and a message.  The field names come from a preset and may be set one by
 * one (logs.fields); each names one key or several, the first present
 * wins ("fromhost-ip,hostname": the relay's view of the sender, else the
 * name it gave, when that is an address):
 *
 *   preset      host                 time           severity         program      message
 *   rsyslog     fromhost-ip,hostname timereported   syslogseverity   programname  msg
 *               (template: "%jsonmesg%"; severity a number, maybe as text)
 *   syslog-ng   SOURCEIP,HOST        ISODATE,DATE   PRIORITY         PROGRAM      MESSAGE
 *               ($(format-json --scope rfc5424 --scope selected-macros --key ISODATE))
 *
 * A time is ISO 8601 text (RFC 3339, as both write it) or a number (ms
 * since the epoch; seconds when below 10^11).  A severity is a number 0-7
 * (as text too) or a name (emerg, alert, crit, err/error, warning/warn,
 * notice, info, debug); absent, the event counts as "unknown".  A program
 * is cut to HF_EVENT_PROGRAM - 1 bytes and a message to HF_EVENT_MESSAGE - 1,
 * at a character boundary.  Lines are parsed with cJSON: logs are the
 * irregular input, and far fewer than flows. */
#ifndef HF_LOGS_H
#define HF_LOGS_H

#include <stddef.h>
#include <stdint.h>

#define HF_EVENT_PROGRAM 32
#define HF_EVENT_MESSAGE 160
#define HF_SEV_NONE      8          /* no severity given */
#define HF_LOG_KEYS      4          /* alternatives per field */

typedef struct hf_event {
    uint8_t  host[16];              /* IPv4 mapped into IPv6 */
    uint8_t  family;                /* 4 or 6 */
    uint8_t  severity;              /* 0 .. 7, HF_SEV_NONE */
    uint8_t  program_len, message_len;
    uint32_t pad;
    double   time_ms;
    char     program[HF_EVENT_PROGRAM];
    char     message[HF_EVENT_MESSAGE];
} hf_event;

/* Why a line is not an event. */
enum hf_log_reason {
    HF_LOG_OK = 0,
    HF_LOG_MALFORMED,               /* not JSON */
    HF_LOG_NOT_OBJECT,
    HF_LOG_NO_HOST,                 /* none of the host keys */
    HF_LOG_BAD_HOST,                /* a host that is not an address */
    HF_LOG_NO_TIME,
    HF_LOG_BAD_TIME,
    HF_LOG_BAD_SEVERITY,            /* given, but neither 0-7 nor a name */
    HF_LOG_TOO_LONG,                /* over max_line (the input skipped it) */
    HF_LOG_FUTURE,                  /* more than a day after the machine's clock */
    HF_LOG_REASONS
};

enum { HF_LF_HOST, HF_LF_TIME, HF_LF_SEVERITY, HF_LF_PROGRAM, HF_LF_MESSAGE, HF_LF_N };

/* The keys read for each field. */
typedef struct hf_log_fields {
    char keys[HF_LF_N][HF_LOG_KEYS][64];
    int  nkeys[HF_LF_N];
} hf_log_fields;

/* The fields of preset ("rsyslog", "syslog-ng"), with overrides: pairs of
 * field name (host, time, severity, program, message) and comma-separated
 * keys, n strings in all (the logs.fields map).  0, or -1 with a message
 * naming the preset or field that is wrong. */
int hf_log_fields_init(hf_log_fields *f, const char *preset, char *const *overrides, int n,
                       char *err, size_t errlen);

/* Read one line into ev.  Returns HF_LOG_OK or a reason. */
int hf_log_decode(const hf_log_fields *f, const char *line, size_t len, hf_event *ev);

/* The name of a reason ("malformed_json", ...) and of a severity ("err"; "unknown"). */
const char *hf_log_reason_name(int reason);
const char *hf_log_severity_name(int severity);

#endif
