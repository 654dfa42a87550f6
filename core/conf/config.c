/* config.c -- keys, values, and the loader of the configuration file.
 *
 * Every value, whatever its source, goes through one path: it becomes text
 * (or a list of texts), is checked against its key's declaration (type,
 * bounds, the key's own check), kept by name in cfg->values, and, for a core
 * key with a field, also stored typed in hf_config:
 *
 *   default "5s" ─┐
 *   file 5, "5s" ─┼─▶ text ─▶ check (type, bounds, key) ─▶ cfg->values["lateness"]
 *   flag -l 5s   ─┘                                     └▶ cfg->lateness_ms = 5000
 *
 * The file is Lua that returns a table; it runs in a Lua state of its own
 * that is closed once the values are copied out.  Its tables are walked by
 * the dotted names of the declarations: a key that is declared is set, a key
 * that prefixes declared ones (memory, analyses) must be a table and is
 * walked, anything else is an unknown key, named with the keys expected
 * there: a typo must not silently fall back to a default.
 *
 * A configuration is data that may compute its values: it runs with the
 * string, table and math libraries, os.getenv/time/date and the basic
 * functions, but no I/O, no require and no os.exit, and at most
 * CONFIG_MAX_STEPS Lua instructions, so a stray loop stops hostflow with a
 * message instead of hanging it. */
#include "conf/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <luajit.h>
#include <lua.h>
#include <lualib.h>

#include "base/addr.h"
#include "base/alloc.h"
#include "base/timefmt.h"

/* One key's value, as text (scalars) or texts (lists, maps). */
struct hf_conf_value {
    const hf_conf_key *key;
    char              *text;    /* scalars; LIST: items joined by ","; MAP: NULL */
    hf_strlist         list;    /* LIST items; MAP key, value pairs */
};

/* ------------------------------------------------------------------------
 * Tables of keys
 * --------------------------------------------------------------------- */

#define MAX_TABLES 32

static const hf_conf_key *tables[MAX_TABLES] = {hf_conf_core_keys};
static int ntables = 1;

void hf_conf_register(const hf_conf_key *keys)
{
    for (int i = 0; i < ntables; i++)
        if (tables[i] == keys) return;
    if (ntables < MAX_TABLES) tables[ntables++] = keys;
}

void hf_conf_each(void (*fn)(void *ctx, const hf_conf_key *k), void *ctx)
{
    for (int t = 0; t < ntables; t++)
        for (const hf_conf_key *k = tables[t]; k->name; k++) fn(ctx, k);
}

const hf_conf_key *hf_conf_find(const char *name)
{
    for (int t = 0; t < ntables; t++)
        for (const hf_conf_key *k = tables[t]; k->name; k++) {
            if (k->type == HF_CONF_HEADING) continue;
            size_t n = strlen(k->name);
            if (strcmp(k->name, name) == 0) return k;
            if (k->type == HF_CONF_MAP && strncmp(k->name, name, n) == 0 && name[n] == '.' && name[n + 1])
                return k;
        }
    return NULL;
}

/* 1 when some declared key lies below `prefix` (prefix.x...). */
static int is_section(const char *prefix)
{
    size_t n = strlen(prefix);
    for (int t = 0; t < ntables; t++)
        for (const hf_conf_key *k = tables[t]; k->name; k++)
            if (k->type != HF_CONF_HEADING && strncmp(k->name, prefix, n) == 0 && k->name[n] == '.')
                return 1;
    return 0;
}

/* The names expected directly below prefix ("" for the top), for the
 * message about an unknown key: "dir, enable, ... or watchdog". */
static void expected_names(const char *prefix, char *out, size_t cap)
{
    size_t n = strlen(prefix), used = 0;
    const char *names[128];
    int count = 0;
    for (int t = 0; t < ntables; t++)
        for (const hf_conf_key *k = tables[t]; k->name && count < 128; k++) {
            if (k->type == HF_CONF_HEADING) continue;
            if (n && (strncmp(k->name, prefix, n) != 0 || k->name[n] != '.')) continue;
            const char *rest = k->name + (n ? n + 1 : 0);
            int dup = 0;
            for (int i = 0; i < count; i++) {
                size_t a = strcspn(names[i], "."), b = strcspn(rest, ".");
                if (a == b && strncmp(names[i], rest, a) == 0) dup = 1;
            }
            if (!dup) names[count++] = rest;
        }
    out[0] = '\0';
    for (int i = 0; i < count && used + 40 < cap; i++) {
        int len = (int)strcspn(names[i], ".");
        used += (size_t)snprintf(out + used, cap - used, "%s%.*s",
                                 i == 0 ? "" : i + 1 == count ? " or " : ", ", len, names[i]);
    }
}

const char *hf_conf_type_name(int type)
{
    static const char *const names[] = {"string", "path", "integer", "boolean", "duration",
                                        "size", "list", "table", "table", ""};
    return type >= 0 && type <= HF_CONF_HEADING ? names[type] : "?";
}

/* ------------------------------------------------------------------------
 * Value parsers
 * --------------------------------------------------------------------- */

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Parse "NUMBER[unit]" with units from the table; no unit means `deflt`.
 * Returns 0 and the value times the unit's factor, or -1. */
static int parse_scaled(const char *s, const char *const *units,
                        const double *factors, double deflt, double *out)
{
    char *end;
    while (isspace((unsigned char)*s)) s++;
    if (!*s || *s == '-' || *s == '+') return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v != v) return -1;
    while (isspace((unsigned char)*end)) end++;
    double f = deflt;
    if (*end) {
        int i;
        for (i = 0; units[i]; i++)
            if (strcasecmp(end, units[i]) == 0) break;
        if (!units[i]) return -1;
        f = factors[i];
    }
    *out = v * f;
    return 0;
}

int hf_config_parse_duration_ms(const char *s, int64_t *ms)
{
    static const char *const units[] = {"ms", "s", "m", "min", "h", "d", NULL};
    static const double f[] = {1, 1000, 60000, 60000, 3600000, 86400000};
    double v;
    if (parse_scaled(s, units, f, 1000, &v) < 0 || v < 0 || v > 1e13) return -1;
    if (v != (double)(int64_t)v) return -1;
    *ms = (int64_t)v;
    return 0;
}

int hf_config_parse_size(const char *s, size_t *bytes)
{
    static const char *const units[] = {"b", "k", "kb", "kib", "m", "mb", "mib",
                                        "g", "gb", "gib", "t", "tb", "tib", NULL};
    static const double f[] = {1, 1024, 1e3, 1024, 1048576, 1e6, 1048576,
                               1073741824, 1e9, 1073741824, 1099511627776.0,
                               1e12, 1099511627776.0};
    double v;
    if (parse_scaled(s, units, f, 1, &v) < 0 || v < 0 || v > 1e18) return -1;
    *bytes = (size_t)v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on") || !strcmp(s, "1")) *out = 1;
    else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off") || !strcmp(s, "0")) *out = 0;
    else return -1;
    return 0;
}

static int parse_int(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end) return -1;
    *out = v;
    return 0;
}

/* ------------------------------------------------------------------------
 * Lists
 * --------------------------------------------------------------------- */

static void list_clear(hf_strlist *l)
{
    for (int i = 0; i < l->n; i++) hf_free(l->v[i]);
    hf_free(l->v);
    memset(l, 0, sizeof *l);
}

static void list_push(hf_strlist *l, const char *s)
{
    l->v = hf_realloc(l->v, sizeof(char *) * (size_t)(l->n + 1));
    l->v[l->n++] = hf_strdup(s);
    l->set = 1;
}

static void list_copy(hf_strlist *dst, const hf_strlist *src)
{
    list_clear(dst);
    for (int i = 0; i < src->n; i++) list_push(dst, src->v[i]);
    dst->set = src->set;
}

/* Split a comma-separated list, trimming blanks, into l (appending). */
static void list_split(hf_strlist *l, const char *text)
{
    const char *p = text;
    l->set = 1;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len && isspace((unsigned char)*p)) { p++; len--; }
        while (len && isspace((unsigned char)p[len - 1])) len--;
        if (len) {
            char *item = hf_strndup(p, len);
            list_push(l, item);
            hf_free(item);
        }
        if (!e) break;
        p = e + 1;
    }
}

/* ------------------------------------------------------------------------
 * Values: check and keep
 * --------------------------------------------------------------------- */

static void derive_windows(hf_config *cfg);

static hf_conf_value *value_of(const hf_config *cfg, const hf_conf_key *k)
{
    for (int i = 0; i < cfg->nvalues; i++)
        if (cfg->values[i].key == k) return &cfg->values[i];
    return NULL;
}

static hf_conf_value *value_make(hf_config *cfg, const hf_conf_key *k)
{
    hf_conf_value *v = value_of(cfg, k);
    if (v) return v;
    cfg->values = hf_realloc(cfg->values, sizeof *cfg->values * (size_t)(cfg->nvalues + 1));
    v = &cfg->values[cfg->nvalues++];
    memset(v, 0, sizeof *v);
    v->key = k;
    return v;
}

static void *field_of(hf_config *cfg, const hf_conf_key *k)
{
    return k->field ? (char *)cfg + k->field - 1 : NULL;
}

/* What a value of key k must look like, for messages. */
static const char *expectation(const hf_conf_key *k, char *out, size_t n)
{
    switch (k->type) {
    case HF_CONF_INT:
        snprintf(out, n, "a whole number from %.0f to %.0f", k->min, k->max);
        break;
    case HF_CONF_BOOL: snprintf(out, n, "true or false"); break;
    case HF_CONF_DURATION: snprintf(out, n, "a duration such as \"5s\", \"500ms\" or \"1m\""); break;
    case HF_CONF_SIZE: snprintf(out, n, "a size such as \"512MiB\" or \"4GiB\""); break;
    case HF_CONF_LIST: snprintf(out, n, "a list such as { ... }"); break;
    case HF_CONF_MAP: case HF_CONF_LUA: snprintf(out, n, "a table"); break;
    default: snprintf(out, n, "a non-empty string"); break;
    }
    return out;
}

static void format_bytes(size_t b, char *out, size_t n)
{
    if (b >= ((size_t)1 << 30) && b % ((size_t)1 << 30) == 0) snprintf(out, n, "%zuGiB", b >> 30);
    else if (b >= ((size_t)1 << 20) && b % ((size_t)1 << 20) == 0) snprintf(out, n, "%zuMiB", b >> 20);
    else if (b >= 1024 && b % 1024 == 0) snprintf(out, n, "%zuKiB", b >> 10);
    else snprintf(out, n, "%zu bytes", b);
}

/* Check a scalar text against k; on success store it (text and field).
 * `where` names the key in messages ("windows[2]", "-l"). */
static int set_scalar(hf_config *cfg, const hf_conf_key *k, const char *text, const char *where,
                      char *err, size_t errlen)
{
    char exp[160], why[256];
    void *f = field_of(cfg, k);
    switch (k->type) {
    case HF_CONF_INT: {
        long long v;
        if (parse_int(text, &v) < 0 || v < (long long)k->min || v > (long long)k->max)
            return fail(err, errlen, "%s: expected %s, got \"%s\"", where, expectation(k, exp, sizeof exp), text);
        if (f) *(int *)f = (int)v;
        break;
    }
    case HF_CONF_BOOL: {
        int v;
        if (parse_bool(text, &v) < 0)
            return fail(err, errlen, "%s: expected true or false, got \"%s\"", where, text);
        if (f) *(int *)f = v;
        break;
    }
    case HF_CONF_DURATION: {
        int64_t ms;
        if (hf_config_parse_duration_ms(text, &ms) < 0)
            return fail(err, errlen, "%s: expected %s, got \"%s\"", where, expectation(k, exp, sizeof exp), text);
        if ((k->min || k->max) && (ms < k->min || ms > k->max))
            return fail(err, errlen, "%s: expected a duration from %.0fms to %.0fms, got \"%s\"",
                        where, k->min, k->max, text);
        if (f) *(int64_t *)f = ms;
        break;
    }
    case HF_CONF_SIZE: {
        size_t b;
        if (hf_config_parse_size(text, &b) < 0)
            return fail(err, errlen, "%s: expected %s, got \"%s\"", where, expectation(k, exp, sizeof exp), text);
        if ((k->min || k->max) && ((double)b < k->min || (double)b > k->max)) {
            char lo[32], hi[32];
            format_bytes((size_t)k->min, lo, sizeof lo);
            format_bytes((size_t)k->max, hi, sizeof hi);
            return fail(err, errlen, "%s: expected %s to %s, got \"%s\"", where, lo, hi, text);
        }
        if (f) *(size_t *)f = b;
        break;
    }
    case HF_CONF_STRING: case HF_CONF_PATH: case HF_CONF_LUA:
        if (!*text) return fail(err, errlen, "%s: expected a non-empty string", where);
        if (f) {
            hf_free(*(char **)f);
            *(char **)f = hf_strdup(text);
        }
        break;
    default:
        return fail(err, errlen, "%s: cannot be set from text", where);
    }
    if (k->check && k->check(text, why, sizeof why) < 0)
        return fail(err, errlen, "%s: %s", where, why);
    hf_conf_value *v = value_make(cfg, k);
    hf_free(v->text);
    v->text = hf_strdup(text);
    return 0;
}

/* Store a LIST key's items (each already checked) in its value and field. */
static void set_list(hf_config *cfg, const hf_conf_key *k, const hf_strlist *items)
{
    hf_conf_value *v = value_make(cfg, k);
    list_copy(&v->list, items);
    size_t n = 1;
    for (int i = 0; i < items->n; i++) n += strlen(items->v[i]) + 1;
    hf_free(v->text);
    v->text = hf_malloc(n);
    v->text[0] = '\0';
    for (int i = 0; i < items->n; i++) {
        if (i) strcat(v->text, ",");
        strcat(v->text, items->v[i]);
    }
    hf_strlist *f = field_of(cfg, k);
    if (f) list_copy(f, items);
}

/* Check every item of a list for key k; `where` is the key's name. */
static int check_items(const hf_conf_key *k, const hf_strlist *items, const char *where,
                       int indexed, char *err, size_t errlen)
{
    char why[256];
    for (int i = 0; i < items->n; i++) {
        if (!items->v[i][0]) return fail(err, errlen, "%s[%d]: expected a non-empty string", where, i + 1);
        if (k->check && k->check(items->v[i], why, sizeof why) < 0) {
            if (indexed) return fail(err, errlen, "%s[%d]: %s", where, i + 1, why);
            return fail(err, errlen, "%s: %s", where, why);
        }
    }
    if (k->max > 0 && items->n > k->max)
        return fail(err, errlen, "%s: at most %.0f items, got %d", where, k->max, items->n);
    return 0;
}

/* A MAP entry: kafka.<sub> = text. */
static void map_set(hf_config *cfg, const hf_conf_key *k, const char *sub, const char *text)
{
    hf_conf_value *v = value_make(cfg, k);
    hf_strlist *f = field_of(cfg, k);
    for (int i = 0; i < v->list.n; i += 2)
        if (strcmp(v->list.v[i], sub) == 0) {
            hf_free(v->list.v[i + 1]);
            v->list.v[i + 1] = hf_strdup(text);
            if (f) list_copy(f, &v->list);
            return;
        }
    list_push(&v->list, sub);
    list_push(&v->list, text);
    if (f) list_copy(f, &v->list);
}

int hf_config_set(hf_config *cfg, const char *name, const char *text, const char *origin,
                  int append, char *err, size_t errlen)
{
    const hf_conf_key *k = hf_conf_find(name);
    if (!k) return fail(err, errlen, "%s: unknown key \"%s\"", origin, name);
    if (!origin) origin = name;
    if (k->type == HF_CONF_MAP) {
        const char *sub = name + strlen(k->name) + 1;
        if (strlen(name) <= strlen(k->name) + 1)
            return fail(err, errlen, "%s: expected KEY=VALUE", origin);
        map_set(cfg, k, sub, text);
        return 0;
    }
    if (k->type == HF_CONF_LIST) {
        hf_strlist items = {0};
        hf_conf_value *v = value_of(cfg, k);
        if (append && v) list_copy(&items, &v->list);
        if (append) list_push(&items, text);
        else list_split(&items, text);
        int rc = check_items(k, &items, origin, 0, err, errlen);
        if (rc == 0) set_list(cfg, k, &items);
        list_clear(&items);
        derive_windows(cfg);
        return rc;
    }
    if (k->type == HF_CONF_PATH && cfg->home && text[0] != '/' && !strcmp(origin, "default")) {
        size_t n = strlen(cfg->home) + strlen(text) + 2;
        char *full = hf_malloc(n);
        snprintf(full, n, "%s/%s", cfg->home, text);
        int rc = set_scalar(cfg, k, full, origin, err, errlen);
        hf_free(full);
        return rc;
    }
    return set_scalar(cfg, k, text, origin, err, errlen);
}

/* The granularities in ms, ascending and without repeats, from the list as
 * given (bad items are left for hf_config_check to report). */
static void derive_windows(hf_config *cfg)
{
    cfg->nwindows = 0;
    for (int i = 0; i < cfg->windows.n && cfg->nwindows < HF_MAX_WINDOWS; i++) {
        int64_t ms;
        int dup = 0;
        if (hf_config_parse_duration_ms(cfg->windows.v[i], &ms) < 0) continue;
        for (int j = 0; j < cfg->nwindows; j++) dup |= cfg->windows_ms[j] == ms;
        if (dup) continue;
        int j = cfg->nwindows++;
        while (j > 0 && cfg->windows_ms[j - 1] > ms) {
            cfg->windows_ms[j] = cfg->windows_ms[j - 1];
            j--;
        }
        cfg->windows_ms[j] = ms;
    }
}

/* ------------------------------------------------------------------------
 * Defaults, checks, release
 * --------------------------------------------------------------------- */

static void default_one(void *ctx, const hf_conf_key *k)
{
    hf_config *cfg = ctx;
    char err[256];
    if (k->type == HF_CONF_HEADING || !k->deflt) return;
    if (k->type == HF_CONF_MAP) return;
    if (hf_config_set(cfg, k->name, k->deflt, "default", 0, err, sizeof err) < 0) {
        fprintf(stderr, "hostflow: bad built-in default: %s\n", err);
        abort();
    }
}

void hf_config_defaults(hf_config *cfg, const char *home)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->home = hf_strdup(home ? home : ".");
    hf_conf_each(default_one, cfg);
}

static const char *const role_names[] = {"single", "relay", "partial", "merge"};

const char *hf_config_role_name(int role)
{
    return role >= 0 && role <= HF_ROLE_MERGE ? role_names[role] : "unknown";
}

int hf_config_role_parse(const char *name)
{
    for (int i = 0; i <= HF_ROLE_MERGE; i++)
        if (name && strcmp(name, role_names[i]) == 0) return i;
    return -1;
}

int hf_config_check(hf_config *cfg, char *err, size_t errlen)
{
    for (int i = 0; i < cfg->windows.n; i++) {
        int64_t ms, other;
        if (hf_config_parse_duration_ms(cfg->windows.v[i], &ms) < 0)
            return fail(err, errlen, "windows: bad granularity \"%s\"", cfg->windows.v[i]);
        for (int j = 0; j < i; j++)
            if (hf_config_parse_duration_ms(cfg->windows.v[j], &other) == 0 && other == ms)
                return fail(err, errlen, "windows: granularity \"%s\" given twice", cfg->windows.v[i]);
    }
    derive_windows(cfg);
    cfg->role = hf_config_role_parse(cfg->role_name);
    if (cfg->role < 0) return fail(err, errlen, "role: unknown role \"%s\"", cfg->role_name);
    if (cfg->nwindows == 0) return fail(err, errlen, "windows: at least one granularity is needed");
    if (cfg->outputs.n == 0) return fail(err, errlen, "outputs: at least one output is needed");
    if (access(cfg->analyses_dir, R_OK | X_OK) < 0)
        return fail(err, errlen, "analyses.dir: cannot read directory \"%s\": %s",
                    cfg->analyses_dir, strerror(errno));
    return 0;
}

void hf_config_release(hf_config *cfg)
{
    for (int i = 0; i < cfg->nvalues; i++) {
        hf_free(cfg->values[i].text);
        list_clear(&cfg->values[i].list);
    }
    hf_free(cfg->values);
    for (int t = 0; t < ntables; t++)
        for (const hf_conf_key *k = tables[t]; k->name; k++) {
            void *f = field_of(cfg, k);
            if (!f) continue;
            if (k->type == HF_CONF_LIST || k->type == HF_CONF_MAP) list_clear(f);
            else if (k->type == HF_CONF_STRING || k->type == HF_CONF_PATH || k->type == HF_CONF_LUA) {
                hf_free(*(char **)f);
                *(char **)f = NULL;
            }
        }
    hf_free(cfg->path);
    hf_free(cfg->home);
    memset(cfg, 0, sizeof *cfg);
}

/* ------------------------------------------------------------------------
 * Getters and shorthands
 * --------------------------------------------------------------------- */

const char *hf_conf_str(const hf_config *cfg, const char *name)
{
    const hf_conf_key *k = hf_conf_find(name);
    if (!k) return NULL;
    const hf_conf_value *v = value_of(cfg, k);
    return v ? v->text : k->deflt;
}

int64_t hf_conf_int(const hf_config *cfg, const char *name)
{
    const char *s = hf_conf_str(cfg, name);
    long long v = 0;
    if (s) parse_int(s, &v);
    return v;
}

int hf_conf_bool(const hf_config *cfg, const char *name)
{
    const char *s = hf_conf_str(cfg, name);
    int v = 0;
    if (s) parse_bool(s, &v);
    return v;
}

int64_t hf_conf_ms(const hf_config *cfg, const char *name)
{
    const char *s = hf_conf_str(cfg, name);
    int64_t v = 0;
    if (s) hf_config_parse_duration_ms(s, &v);
    return v;
}

uint64_t hf_conf_size(const hf_config *cfg, const char *name)
{
    const char *s = hf_conf_str(cfg, name);
    size_t v = 0;
    if (s) hf_config_parse_size(s, &v);
    return v;
}

int hf_conf_list(const hf_config *cfg, const char *name, const char *const **items)
{
    const hf_conf_key *k = hf_conf_find(name);
    const hf_conf_value *v = k ? value_of(cfg, k) : NULL;
    *items = v ? (const char *const *)v->list.v : NULL;
    return v ? v->list.n : 0;
}

const hf_strlist *hf_conf_map(const hf_config *cfg, const char *name)
{
    const hf_conf_key *k = hf_conf_find(name);
    const hf_conf_value *v = k ? value_of(cfg, k) : NULL;
    return v ? &v->list : NULL;
}

int hf_config_set_windows(hf_config *cfg, const char *list, char *err, size_t errlen)
{
    if (hf_config_set(cfg, "windows", list, "-w", 0, err, errlen) < 0) return -1;
    if (cfg->windows.n == 0) return fail(err, errlen, "-w: expected at least one granularity");
    char why[256];
    if (hf_config_check(cfg, why, sizeof why) < 0 && strncmp(why, "windows:", 8) == 0)
        return fail(err, errlen, "-w:%s", why + 8);
    return 0;
}

int hf_config_set_networks(hf_config *cfg, const char *list, char *err, size_t errlen)
{
    return hf_config_set(cfg, "networks", list, "-n", 0, err, errlen);
}

void hf_config_set_kafka(hf_config *cfg, const char *key, const char *value)
{
    map_set(cfg, hf_conf_find("kafka"), key, value);
}

const char *hf_config_kafka(const hf_config *cfg, const char *key)
{
    for (int i = 0; i + 1 < cfg->kafka.n; i += 2)
        if (strcmp(cfg->kafka.v[i], key) == 0) return cfg->kafka.v[i + 1];
    return NULL;
}

/* ------------------------------------------------------------------------
 * The configuration file
 * --------------------------------------------------------------------- */

typedef struct loader {
    lua_State  *L;
    hf_config  *cfg;
    const char *file;
    char       *err;
    size_t      errlen;
} loader;

static int lfail(loader *ld, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int lfail(loader *ld, const char *key, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(ld->err, ld->errlen, "%s: %s: %s", ld->file, key, msg);
    return -1;
}

/* "file: " before a message made by the value checks. */
static int prefixed(loader *ld, int rc)
{
    if (rc < 0) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", ld->err);
        snprintf(ld->err, ld->errlen, "%s: %s", ld->file, msg);
    }
    return rc;
}

/* A short description of the Lua value at idx, for messages. */
static const char *describe(lua_State *L, int idx, char *out, size_t n)
{
    int t = lua_type(L, idx);
    if (t == LUA_TSTRING) snprintf(out, n, "\"%.60s\"", lua_tostring(L, idx));
    else if (t == LUA_TNUMBER) snprintf(out, n, "%.17g", lua_tonumber(L, idx));
    else snprintf(out, n, "a %s", lua_typename(L, t));
    return out;
}

/* The value at the top of the stack as text: strings as they are, numbers
 * formatted, booleans as true/false when allowed.  0, or -1 (another type,
 * or a string with a NUL or too long). */
static int value_text(lua_State *L, char *out, size_t n, int booleans)
{
    int t = lua_type(L, -1);
    if (t == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        if (len >= n || memchr(s, '\0', len)) return -1;
        memcpy(out, s, len + 1);
        return 0;
    }
    if (t == LUA_TNUMBER) {
        double v = lua_tonumber(L, -1);
        if (v == (double)(long long)v && fabs(v) < 1e15) snprintf(out, n, "%lld", (long long)v);
        else snprintf(out, n, "%.17g", v);
        return 0;
    }
    if (t == LUA_TBOOLEAN && booleans) {
        snprintf(out, n, "%s", lua_toboolean(L, -1) ? "true" : "false");
        return 0;
    }
    return -1;
}

/* The list at the top of the stack (a table with keys 1..n, or a single
 * string or number) as texts. */
static int get_list(loader *ld, const hf_conf_key *k, hf_strlist *out)
{
    lua_State *L = ld->L;
    char d[96], text[4096];
    if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER) {
        if (value_text(L, text, sizeof text, 0) < 0) return lfail(ld, k->name, "expected a list of strings");
        list_push(out, text);
        return 0;
    }
    if (lua_type(L, -1) != LUA_TTABLE)
        return lfail(ld, k->name, "expected a list such as { ... }, got %s", describe(L, -1, d, sizeof d));
    size_t n = lua_objlen(L, -1);
    size_t count = 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) count++, lua_pop(L, 1);
    if (count != n) return lfail(ld, k->name, "expected a list (keys 1..n), got a table with other keys");
    out->set = 1;
    for (size_t i = 1; i <= n; i++) {
        char ikey[160];
        snprintf(ikey, sizeof ikey, "%s[%zu]", k->name, i);
        lua_rawgeti(L, -1, (int)i);
        int bad = value_text(L, text, sizeof text, 0) < 0;
        if (bad) describe(L, -1, d, sizeof d);
        lua_pop(L, 1);
        if (bad) return lfail(ld, ikey, "expected a string, got %s", d);
        list_push(out, text);
    }
    return 0;
}

/* kafka = { ["bootstrap.servers"] = "...", ... }: every entry as text. */
static int get_map(loader *ld, const hf_conf_key *k)
{
    lua_State *L = ld->L;
    char d[96], text[1024];
    if (lua_type(L, -1) != LUA_TTABLE)
        return lfail(ld, k->name, "expected a table, got %s", describe(L, -1, d, sizeof d));
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        char key[256];
        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 2);
            return lfail(ld, k->name, "expected only named keys");
        }
        snprintf(key, sizeof key, "%s.%s", k->name, lua_tostring(L, -2));
        if (value_text(L, text, sizeof text, 1) < 0) {
            describe(L, -1, d, sizeof d);
            lua_pop(L, 2);
            return lfail(ld, key, "expected a string, a number or a boolean, got %s", d);
        }
        map_set(ld->cfg, k, lua_tostring(L, -2), text);
        lua_pop(L, 1);
    }
    return 0;
}

/* Write the plain Lua value at idx as Lua source text: tables with string
 * keys (sorted) or 1..n, strings, numbers, booleans; at most `depth`
 * levels.  0, or -1 with a message. */
static int serialize(loader *ld, const char *key, int idx, int depth, luaL_Buffer *b)
{
    lua_State *L = ld->L;
    char d[96];
    if (idx < 0) idx = lua_gettop(L) + idx + 1;
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER: {
        char t[64];
        double v = lua_tonumber(L, idx);
        if (v != v || isinf(v)) return lfail(ld, key, "expected a finite number");
        snprintf(t, sizeof t, "%.17g", v);
        luaL_addstring(b, t);
        return 0;
    }
    case LUA_TBOOLEAN:
        luaL_addstring(b, lua_toboolean(L, idx) ? "true" : "false");
        return 0;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        luaL_addchar(b, '"');
        for (size_t i = 0; i < n; i++) {
            char t[8];
            unsigned char c = (unsigned char)s[i];
            if (c == '"' || c == '\\') { luaL_addchar(b, '\\'); luaL_addchar(b, (char)c); }
            else if (c < 32 || c == 127) { snprintf(t, sizeof t, "\\%03u", c); luaL_addstring(b, t); }
            else luaL_addchar(b, (char)c);
        }
        luaL_addchar(b, '"');
        return 0;
    }
    case LUA_TTABLE: {
        if (depth == 0) return lfail(ld, key, "nested too deep (at most 8 levels)");
        /* the keys, sorted: numbers 1..n first, then strings */
        size_t n = lua_objlen(L, idx);
        const char *names[256];
        int nnames = 0;
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            lua_pop(L, 1);
            if (lua_type(L, -1) == LUA_TNUMBER) {
                double v = lua_tonumber(L, -1);
                if (v >= 1 && v <= (double)n && v == (double)(size_t)v) continue;
            }
            if (lua_type(L, -1) != LUA_TSTRING) {
                describe(L, -1, d, sizeof d);
                lua_pop(L, 1);
                return lfail(ld, key, "expected a table with names or a list, got a key %s", d);
            }
            if (nnames == 256) { lua_pop(L, 1); return lfail(ld, key, "at most 256 keys"); }
            names[nnames++] = lua_tostring(L, -1);
        }
        for (int i = 1; i < nnames; i++)
            for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
                const char *t = names[j]; names[j] = names[j - 1]; names[j - 1] = t;
            }
        luaL_addchar(b, '{');
        for (size_t i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, (int)i);
            int rc = serialize(ld, key, -1, depth - 1, b);
            lua_pop(L, 1);
            if (rc < 0) return -1;
            luaL_addchar(b, ',');
        }
        for (int i = 0; i < nnames; i++) {
            const char *s = names[i];
            int ident = isalpha((unsigned char)s[0]) || s[0] == '_';
            for (const char *p = s; *p && ident; p++) ident = isalnum((unsigned char)*p) || *p == '_';
            char sub[256];
            snprintf(sub, sizeof sub, "%s.%s", key, s);
            if (ident) luaL_addstring(b, s);
            else {
                luaL_addchar(b, '[');
                lua_pushstring(L, s);
                int rc = serialize(ld, sub, -1, depth, b);
                lua_pop(L, 1);
                if (rc < 0) return -1;
                luaL_addchar(b, ']');
            }
            luaL_addchar(b, '=');
            lua_getfield(L, idx, s);
            int rc = serialize(ld, sub, -1, depth - 1, b);
            lua_pop(L, 1);
            if (rc < 0) return -1;
            luaL_addchar(b, ',');
        }
        luaL_addchar(b, '}');
        return 0;
    }
    default:
        return lfail(ld, key, "expected plain values (tables, strings, numbers, booleans), got %s",
                     describe(L, idx, d, sizeof d));
    }
}

/* Set declared key k from the Lua value at the top of the stack. */
static int set_from_lua(loader *ld, const hf_conf_key *k)
{
    lua_State *L = ld->L;
    hf_config *cfg = ld->cfg;
    char text[4096], d[96], exp[160];
    switch (k->type) {
    case HF_CONF_MAP:
        return get_map(ld, k);
    case HF_CONF_LIST: {
        hf_strlist items = {0};
        int rc = get_list(ld, k, &items);
        if (rc == 0) rc = prefixed(ld, check_items(k, &items, k->name, 1, ld->err, ld->errlen));
        if (rc == 0) set_list(cfg, k, &items);
        list_clear(&items);
        derive_windows(cfg);
        return rc;
    }
    case HF_CONF_LUA: {
        if (lua_type(L, -1) != LUA_TTABLE)
            return lfail(ld, k->name, "expected a table, got %s", describe(L, -1, d, sizeof d));
        luaL_Buffer b;
        int top = lua_gettop(L);
        luaL_buffinit(L, &b);
        int rc = serialize(ld, k->name, top, 8, &b);
        if (rc < 0) {
            lua_settop(L, top);
            return -1;
        }
        luaL_pushresult(&b);
        rc = prefixed(ld, set_scalar(cfg, k, lua_tostring(L, -1), k->name, ld->err, ld->errlen));
        lua_pop(L, 1);
        return rc;
    }
    case HF_CONF_BOOL:
        if (lua_type(L, -1) != LUA_TBOOLEAN)
            return lfail(ld, k->name, "expected true or false, got %s", describe(L, -1, d, sizeof d));
        return prefixed(ld, set_scalar(cfg, k, lua_toboolean(L, -1) ? "true" : "false", k->name,
                                       ld->err, ld->errlen));
    case HF_CONF_INT:
        if (lua_type(L, -1) != LUA_TNUMBER)
            return lfail(ld, k->name, "expected %s, got %s", expectation(k, exp, sizeof exp),
                         describe(L, -1, d, sizeof d));
        break;
    case HF_CONF_STRING: case HF_CONF_PATH:
        if (lua_type(L, -1) != LUA_TSTRING)
            return lfail(ld, k->name, "expected a string, got %s", describe(L, -1, d, sizeof d));
        break;
    default:
        break;
    }
    if (value_text(L, text, sizeof text, 0) < 0)
        return lfail(ld, k->name, "expected %s, got %s", expectation(k, exp, sizeof exp),
                     describe(L, -1, d, sizeof d));
    if (k->type == HF_CONF_PATH && text[0] != '/') {
        /* a relative path is taken from the configuration file's directory,
         * so a configuration and its analyses can move together */
        const char *slash = strrchr(ld->file, '/');
        if (slash) {
            char full[4096 + 512];
            snprintf(full, sizeof full, "%.*s/%s", (int)(slash - ld->file), ld->file, text);
            return prefixed(ld, set_scalar(cfg, k, full, k->name, ld->err, ld->errlen));
        }
    }
    return prefixed(ld, set_scalar(cfg, k, text, k->name, ld->err, ld->errlen));
}

/* Walk the table at the top of the stack, whose keys lie below prefix. */
static int walk_table(loader *ld, const char *prefix)
{
    lua_State *L = ld->L;
    char d[96];
    if (lua_type(L, -1) != LUA_TTABLE)
        return lfail(ld, *prefix ? prefix : "(file)", "expected a table, got %s",
                     describe(L, -1, d, sizeof d));
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 2);
            return lfail(ld, *prefix ? prefix : "(file)", "expected only named keys");
        }
        char key[256];
        snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", lua_tostring(L, -2));
        const hf_conf_key *k = hf_conf_find(key);
        int rc;
        if (k && strcmp(k->name, key) == 0) rc = set_from_lua(ld, k);
        else if (is_section(key)) rc = walk_table(ld, key);
        else {
            char names[1024];
            expected_names(prefix, names, sizeof names);
            rc = lfail(ld, key, "unknown key (expected %s)", names);
        }
        if (rc < 0) {
            lua_pop(L, 2);
            return -1;
        }
        lua_pop(L, 1);
    }
    return 0;
}

#define CONFIG_MAX_STEPS 10000000

static void too_long(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    luaL_error(L, "the configuration ran for more than %d Lua instructions", CONFIG_MAX_STEPS);
}

/* The environment a configuration runs in (see the top of this file). */
static const char SANDBOX[] =
    "local env = { string = string, table = table, math = math,\n"
    "  os = { getenv = os.getenv, time = os.time, date = os.date },\n"
    "  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs,\n"
    "  pcall = pcall, select = select, tonumber = tonumber, tostring = tostring,\n"
    "  type = type, unpack = unpack }\n"
    "return env\n";

int hf_config_load(hf_config *cfg, const char *path, char *err, size_t errlen)
{
    lua_State *L = luaL_newstate();
    if (!L) return fail(err, errlen, "%s: cannot create a Lua state", path);
    luaL_openlibs(L);
    luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);   /* count hooks need the interpreter */
    loader ld = {L, cfg, path, err, errlen};
    int rc = -1;
    if (luaL_loadfile(L, path) != 0) goto lua_failed;
    if (luaL_loadstring(L, SANDBOX) != 0 || lua_pcall(L, 0, 1, 0) != 0) goto lua_failed;
    lua_setfenv(L, -2);
    lua_sethook(L, too_long, LUA_MASKCOUNT, CONFIG_MAX_STEPS);
    if (lua_pcall(L, 0, 1, 0) != 0) {
lua_failed:;
        const char *msg = lua_tostring(L, -1);
        fail(err, errlen, "%s", msg ? msg : "cannot load the configuration");
        if (!strstr(err, path)) {
            char tmp[512];
            snprintf(tmp, sizeof tmp, "%s", err);
            snprintf(err, errlen, "%s: %s", path, tmp);
        }
        goto done;
    }
    lua_sethook(L, NULL, 0, 0);
    if (lua_type(L, -1) != LUA_TTABLE) {
        char d[96];
        lfail(&ld, "(file)", "expected the file to return a table, got %s",
              describe(L, -1, d, sizeof d));
        goto done;
    }
    if (walk_table(&ld, "") < 0) goto done;
    hf_free(cfg->path);
    cfg->path = hf_strdup(path);
    rc = 0;
done:
    lua_close(L);
    return rc;
}

/* ------------------------------------------------------------------------
 * --help
 * --------------------------------------------------------------------- */

typedef struct usage_ctx {
    void (*put)(void *ctx, const char *line);
    void *ctx;
    const char *heading;  /* not printed yet: it waits for a key with a flag */
} usage_ctx;

/* A section none of whose keys has a flag still shows its heading, so
 * that every kind of input and output is named in --help. */
static void usage_flush(usage_ctx *u)
{
    char line[512];
    if (!u->heading) return;
    snprintf(line, sizeof line, "\n%s", u->heading);
    u->put(u->ctx, line);
    u->put(u->ctx, "  keys of the configuration file only (hostflow config lists them)");
    u->heading = NULL;
}

static void usage_one(void *arg, const hf_conf_key *k)
{
    usage_ctx *u = arg;
    char line[512], left[128], text[512];
    if (k->type == HF_CONF_HEADING) {
        usage_flush(u);
        u->heading = k->doc;
        return;
    }
    if (!k->flag) return;
    if (u->heading) {
        snprintf(line, sizeof line, "\n%s", u->heading);
        u->put(u->ctx, line);
        u->heading = NULL;
    }
    const char *arg_name = k->arg;
    if (!arg_name) {
        switch (k->type) {
        case HF_CONF_BOOL: arg_name = ""; break;
        case HF_CONF_DURATION: arg_name = "DUR"; break;
        case HF_CONF_SIZE: arg_name = "SIZE"; break;
        case HF_CONF_INT: arg_name = "N"; break;
        case HF_CONF_LIST: arg_name = "LIST"; break;
        case HF_CONF_PATH: arg_name = "DIR"; break;
        default: arg_name = "VALUE"; break;
        }
    }
    snprintf(left, sizeof left, "  %s%s%s", strncmp(k->flag, "--", 2) == 0 ? "    " : "", k->flag,
             "");
    if (*arg_name) {
        size_t n = strlen(left);
        snprintf(left + n, sizeof left - n, " %s", arg_name);
    }
    if (k->deflt && *k->deflt && k->type != HF_CONF_BOOL)
        snprintf(text, sizeof text, "%s (default %s)", k->doc, k->deflt);
    else
        snprintf(text, sizeof text, "%s", k->doc);
    /* wrap the text at 80 columns, in a column from 27 */
    const int col = 27, width = 80 - col;
    const char *p = text;
    int first = 1;
    while (*p) {
        int n = (int)strlen(p);
        if (n > width) {
            n = width;
            while (n > 0 && p[n] != ' ') n--;
            if (n == 0) n = width;
        }
        if (first && (int)strlen(left) < col - 1)
            snprintf(line, sizeof line, "%-*s%.*s", col, left, n, p);
        else if (first) {
            u->put(u->ctx, left);
            snprintf(line, sizeof line, "%*s%.*s", col, "", n, p);
        } else
            snprintf(line, sizeof line, "%*s%.*s", col, "", n, p);
        u->put(u->ctx, line);
        first = 0;
        p += n;
        while (*p == ' ') p++;
    }
}

void hf_conf_usage(void (*put)(void *ctx, const char *line), void *ctx)
{
    usage_ctx u = {put, ctx, NULL};
    hf_conf_each(usage_one, &u);
    usage_flush(&u);
}
