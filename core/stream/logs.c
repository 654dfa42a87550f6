/* logs.c -- a JSON log line into an hf_event (see logs.h): the presets and
 * field overrides, then one cJSON parse per line. */
#include "stream/logs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "base/addr.h"
#include "base/timefmt.h"

static const char *const field_names[HF_LF_N] = {"host", "time", "severity", "program", "message"};

static const struct preset {
    const char *name;
    const char *keys[HF_LF_N];
} presets[] = {
    {"rsyslog", {"fromhost-ip,hostname", "timereported,timegenerated", "syslogseverity",
                 "programname,app-name", "msg"}},
    {"syslog-ng", {"SOURCEIP,HOST", "ISODATE,DATE", "PRIORITY", "PROGRAM", "MESSAGE"}},
};

static const char *const severities[8] = {"emerg", "alert", "crit", "err", "warning", "notice",
                                          "info", "debug"};

const char *hf_log_reason_name(int r)
{
    static const char *const names[HF_LOG_REASONS] = {
        "ok", "malformed_json", "not_object", "missing_host", "bad_host", "missing_time", "bad_time",
        "bad_severity", "too_long", "future_time"};
    return r >= 0 && r < HF_LOG_REASONS ? names[r] : "unknown";
}

const char *hf_log_severity_name(int s)
{
    return s >= 0 && s < 8 ? severities[s] : "unknown";
}

/* Set field i's keys from a comma-separated list. */
static int set_keys(hf_log_fields *f, int i, const char *list, char *err, size_t errlen)
{
    f->nkeys[i] = 0;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= sizeof f->keys[i][0] || f->nkeys[i] == HF_LOG_KEYS) {
            snprintf(err, errlen, "logs.fields.%s: expected up to %d keys separated by commas, got \"%s\"",
                     field_names[i], HF_LOG_KEYS, list);
            return -1;
        }
        memcpy(f->keys[i][f->nkeys[i]], p, n);
        f->keys[i][f->nkeys[i]++][n] = '\0';
        p += n;
        if (*p == ',') p++;
    }
    if (f->nkeys[i] == 0 && (i == HF_LF_HOST || i == HF_LF_TIME)) {
        snprintf(err, errlen, "logs.fields.%s: an event needs it: expected a key", field_names[i]);
        return -1;
    }
    return 0;
}

int hf_log_fields_init(hf_log_fields *f, const char *preset, char *const *overrides, int n,
                       char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    const struct preset *ps = NULL;
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(presets[i].name, preset ? preset : "rsyslog") == 0) ps = &presets[i];
    if (!ps) {
        snprintf(err, errlen, "logs.format: expected \"rsyslog\" or \"syslog-ng\", got \"%s\"", preset);
        return -1;
    }
    for (int i = 0; i < HF_LF_N; i++)
        if (set_keys(f, i, ps->keys[i], err, errlen) < 0) return -1;
    for (int k = 0; k + 1 < n; k += 2) {
        int i = -1;
        for (int j = 0; j < HF_LF_N; j++)
            if (strcmp(overrides[k], field_names[j]) == 0) i = j;
        if (i < 0) {
            snprintf(err, errlen, "logs.fields.%s: expected host, time, severity, program or message",
                     overrides[k]);
            return -1;
        }
        if (set_keys(f, i, overrides[k + 1], err, errlen) < 0) return -1;
    }
    return 0;
}

/* The first of field i's keys that o has (and is not null), or NULL. */
static const cJSON *field(const hf_log_fields *f, const cJSON *o, int i)
{
    for (int k = 0; k < f->nkeys[i]; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, f->keys[i][k]);
        if (v && !cJSON_IsNull(v)) return v;
    }
    return NULL;
}

/* Copy up to cap - 1 bytes of s, not cutting a UTF-8 character. */
static uint8_t copy_text(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) n--;   /* s[n] continues a character */
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
    return (uint8_t)n;
}

static int parse_severity(const cJSON *v)
{
    double d;
    if (cJSON_IsNumber(v)) {
        d = v->valuedouble;
    } else if (cJSON_IsString(v)) {
        const char *s = v->valuestring;
        char *end;
        d = strtod(s, &end);
        if (end == s || *end) {
            if (!strcasecmp(s, "error")) return 3;
            if (!strcasecmp(s, "warn")) return 4;
            if (!strcasecmp(s, "panic")) return 0;
            for (int i = 0; i < 8; i++)
                if (!strcasecmp(s, severities[i])) return i;
            return -1;
        }
    } else {
        return -1;
    }
    return d >= 0 && d <= 7 && d == floor(d) ? (int)d : -1;
}

int hf_log_decode(const hf_log_fields *f, const char *line, size_t len, hf_event *ev)
{
    memset(ev, 0, offsetof(hf_event, program));
    ev->program[0] = ev->message[0] = '\0';
    cJSON *o = cJSON_ParseWithLength(line, len);
    int rc = HF_LOG_OK;
    if (!o) return HF_LOG_MALFORMED;
    if (!cJSON_IsObject(o)) {
        rc = HF_LOG_NOT_OBJECT;
        goto done;
    }
    const cJSON *v = field(f, o, HF_LF_HOST);
    if (!v) {
        rc = HF_LOG_NO_HOST;
        goto done;
    }
    if (!cJSON_IsString(v) || hf_addr_parse(v->valuestring, strlen(v->valuestring), ev->host, &ev->family) != 0) {
        /* a later key may hold an address where the first holds a name */
        rc = HF_LOG_BAD_HOST;
        for (int k = 0; k < f->nkeys[HF_LF_HOST]; k++) {
            const cJSON *w = cJSON_GetObjectItemCaseSensitive(o, f->keys[HF_LF_HOST][k]);
            if (cJSON_IsString(w) &&
                hf_addr_parse(w->valuestring, strlen(w->valuestring), ev->host, &ev->family) == 0) {
                rc = HF_LOG_OK;
                break;
            }
        }
        if (rc) goto done;
    }
    v = field(f, o, HF_LF_TIME);
    if (!v) {
        rc = HF_LOG_NO_TIME;
        goto done;
    }
    if (cJSON_IsNumber(v)) {
        double t = v->valuedouble;
        if (!(t > 0 && t < 1e15)) {
            rc = HF_LOG_BAD_TIME;
            goto done;
        }
        ev->time_ms = t < 1e11 ? floor(t * 1000) : floor(t);
    } else {
        int64_t ms;
        if (!cJSON_IsString(v) || hf_time_parse_iso(v->valuestring, strlen(v->valuestring), &ms) != 0) {
            rc = HF_LOG_BAD_TIME;
            goto done;
        }
        ev->time_ms = (double)ms;
    }
    v = field(f, o, HF_LF_SEVERITY);
    ev->severity = HF_SEV_NONE;
    if (v) {
        int s = parse_severity(v);
        if (s < 0) {
            rc = HF_LOG_BAD_SEVERITY;
            goto done;
        }
        ev->severity = (uint8_t)s;
    }
    v = field(f, o, HF_LF_PROGRAM);
    if (cJSON_IsString(v)) ev->program_len = copy_text(ev->program, sizeof ev->program, v->valuestring);
    v = field(f, o, HF_LF_MESSAGE);
    if (cJSON_IsString(v)) {
        const char *m = v->valuestring;
        while (*m == ' ') m++;                  /* rsyslog's msg starts with the space after the tag */
        ev->message_len = copy_text(ev->message, sizeof ev->message, m);
    }
done:
    cJSON_Delete(o);
    return rc;
}
