/* config.c -- load and check hostflow's configuration.
 *
 * The file is Lua that returns a table; it runs in a Lua state of its own
 * that is closed once the values are copied out.  Each key is read by a
 * small typed getter that knows the key's dotted name, so every error reads
 * "conf/x.lua: windows[2]: expected a duration such as \"30s\", got \"3x\"".
 * Unknown keys are errors too: a typo must not silently fall back to a
 * default.
 *
 * A configuration is data that may compute its values: it runs with the
 * string, table and math libraries, os.getenv/time/date and the basic
 * functions, but no I/O, no require and no os.exit, and at most
 * CONFIG_MAX_STEPS Lua instructions, so a stray loop stops hostflow with a
 * message instead of hanging it. */
#include "conf/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <luajit.h>
#include <lua.h>
#include <lualib.h>

#include "base/alloc.h"
#include "prim/distinct.h"
#include "stream/prefix.h"
#include "base/timefmt.h"

/* ------------------------------------------------------------------------
 * Defaults and value parsers
 * --------------------------------------------------------------------- */

static char *join_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = hf_malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

void hf_config_defaults(hf_config *cfg, const char *base_dir)
{
    memset(cfg, 0, sizeof *cfg);
    static const int64_t windows[] = {10000, 30000, 60000, 300000};
    memcpy(cfg->windows_ms, windows, sizeof windows);
    cfg->nwindows = 4;
    cfg->lateness_ms = 5000;
    cfg->input = hf_strdup("-");
    cfg->output = hf_strdup("-");
    cfg->analyses_dir = join_path(base_dir, "analyses");
    cfg->memory_max = (size_t)4 << 30;
    cfg->max_line = 1 << 20;
    cfg->distinct_exact = HF_DISTINCT_DEFAULT_LIMIT;
    cfg->batch = 4096;
    cfg->reload = 1;
    cfg->max_errors = 1000;
    cfg->max_batch_ms = 1000;
    cfg->watchdog_ms = 10000;
    cfg->kafka_start = hf_strdup("earliest");
    cfg->commit_interval_ms = 5000;
}

void hf_config_set_kafka(hf_config *cfg, const char *key, const char *value)
{
    for (int i = 0; i < cfg->nkafka; i += 2)
        if (strcmp(cfg->kafka[i], key) == 0) {
            hf_free(cfg->kafka[i + 1]);
            cfg->kafka[i + 1] = hf_strdup(value);
            return;
        }
    cfg->kafka = hf_realloc(cfg->kafka, sizeof(char *) * (size_t)(cfg->nkafka + 2));
    cfg->kafka[cfg->nkafka++] = hf_strdup(key);
    cfg->kafka[cfg->nkafka++] = hf_strdup(value);
}

const char *hf_config_kafka(const hf_config *cfg, const char *key)
{
    for (int i = 0; i < cfg->nkafka; i += 2)
        if (strcmp(cfg->kafka[i], key) == 0) return cfg->kafka[i + 1];
    return NULL;
}

static void free_list(char **l, int n)
{
    for (int i = 0; i < n; i++) hf_free(l[i]);
    hf_free(l);
}

void hf_config_release(hf_config *cfg)
{
    hf_free(cfg->path);
    free_list(cfg->networks, cfg->nnetworks);
    hf_free(cfg->input);
    hf_free(cfg->output);
    hf_free(cfg->stats);
    hf_free(cfg->analyses_dir);
    free_list(cfg->enable, cfg->nenable);
    free_list(cfg->disable, cfg->ndisable);
    free_list(cfg->kafka, cfg->nkafka);
    hf_free(cfg->kafka_start);
    hf_free(cfg->dead_letter);
    memset(cfg, 0, sizeof *cfg);
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
    static const char *const units[] = {"ms", "s", "m", "min", "h", NULL};
    static const double f[] = {1, 1000, 60000, 60000, 3600000};
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

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Add one granularity; checks it is a whole number of seconds >= 1. */
static int add_window(hf_config *cfg, const char *text, const char *key,
                      char *err, size_t errlen)
{
    int64_t ms;
    if (hf_config_parse_duration_ms(text, &ms) < 0 || ms < 1000 || ms % 1000)
        return fail(err, errlen, "%s: expected a whole number of seconds >= 1 "
                    "such as \"10s\" or \"5m\", got \"%s\"", key, text);
    for (int i = 0; i < cfg->nwindows; i++)
        if (cfg->windows_ms[i] == ms)
            return fail(err, errlen, "%s: granularity \"%s\" given twice", key, text);
    if (cfg->nwindows == HF_MAX_WINDOWS)
        return fail(err, errlen, "%s: at most %d granularities", key, HF_MAX_WINDOWS);
    cfg->windows_ms[cfg->nwindows++] = ms;
    qsort(cfg->windows_ms, (size_t)cfg->nwindows, sizeof(int64_t), cmp_i64);
    return 0;
}

/* Split a comma-separated list, trimming blanks; calls fn for each item. */
static int each_item(const char *list, int (*fn)(void *, const char *, char *, size_t),
                     void *ctx, char *err, size_t errlen)
{
    const char *p = list;
    int n = 0;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len && isspace((unsigned char)*p)) { p++; len--; }
        while (len && isspace((unsigned char)p[len - 1])) len--;
        if (len) {
            char *item = hf_strndup(p, len);
            int rc = fn(ctx, item, err, errlen);
            hf_free(item);
            if (rc < 0) return -1;
            n++;
        }
        if (!e) break;
        p = e + 1;
    }
    return n;
}

static int window_item(void *ctx, const char *item, char *err, size_t errlen)
{
    return add_window(ctx, item, "-w", err, errlen);
}

int hf_config_set_windows(hf_config *cfg, const char *list, char *err, size_t errlen)
{
    cfg->nwindows = 0;
    int n = each_item(list, window_item, cfg, err, errlen);
    if (n < 0) return -1;
    if (n == 0) return fail(err, errlen, "-w: expected at least one granularity");
    return 0;
}

static int check_prefix(const char *cidr, const char *key, char *err, size_t errlen)
{
    hf_prefixes *p = hf_prefixes_new();
    char why[160];
    int rc = hf_prefixes_add(p, cidr, why, sizeof why);
    hf_prefixes_free(p);
    if (rc < 0)
        return fail(err, errlen, "%s: expected a network such as \"10.0.0.0/8\", "
                    "\"2001:db8::/32\" or \"!10.1.0.0/16\", got \"%s\" (%s)", key, cidr, why);
    return 0;
}

static void push_string(char ***list, int *n, const char *s)
{
    *list = hf_realloc(*list, sizeof(char *) * (size_t)(*n + 1));
    (*list)[(*n)++] = hf_strdup(s);
}

static int network_item(void *ctx, const char *item, char *err, size_t errlen)
{
    hf_config *cfg = ctx;
    if (check_prefix(item, "-n", err, errlen) < 0) return -1;
    push_string(&cfg->networks, &cfg->nnetworks, item);
    return 0;
}

int hf_config_set_networks(hf_config *cfg, const char *list, char *err, size_t errlen)
{
    free_list(cfg->networks, cfg->nnetworks);
    cfg->networks = NULL;
    cfg->nnetworks = 0;
    return each_item(list, network_item, cfg, err, errlen) < 0 ? -1 : 0;
}

int hf_config_check(hf_config *cfg, char *err, size_t errlen)
{
    if (cfg->nwindows == 0) return fail(err, errlen, "windows: at least one granularity is needed");
    if (cfg->workers < 0 || cfg->workers > 256)
        return fail(err, errlen, "workers: expected 0 (one per core) to 256, got %d", cfg->workers);
    if (cfg->batch < 1 || cfg->batch > 65536)
        return fail(err, errlen, "batch: expected 1 to 65536, got %d", cfg->batch);
    if (cfg->max_line < 256 || cfg->max_line > HF_MAX_LINE_LIMIT)
        return fail(err, errlen, "max_line: expected 256 bytes to 64MiB");
    if (cfg->memory_max < ((size_t)1 << 20))
        return fail(err, errlen, "memory.max_bytes: expected at least 1MiB");
    if (cfg->distinct_exact < 1 || cfg->distinct_exact > HF_DISTINCT_MAX_LIMIT)
        return fail(err, errlen, "memory.distinct_exact: expected 1 to %d, got %d",
                    HF_DISTINCT_MAX_LIMIT, cfg->distinct_exact);
    if (cfg->max_batch_ms < 1)
        return fail(err, errlen, "analyses.max_batch: expected a duration of at least 1ms");
    if (access(cfg->analyses_dir, R_OK | X_OK) < 0)
        return fail(err, errlen, "analyses.dir: cannot read directory \"%s\": %s",
                    cfg->analyses_dir, strerror(errno));
    return 0;
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

/* A short description of the Lua value at idx, for messages. */
static const char *describe(lua_State *L, int idx, char *out, size_t n)
{
    int t = lua_type(L, idx);
    if (t == LUA_TSTRING) snprintf(out, n, "\"%.60s\"", lua_tostring(L, idx));
    else if (t == LUA_TNUMBER) snprintf(out, n, "%.17g", lua_tonumber(L, idx));
    else snprintf(out, n, "a %s", lua_typename(L, t));
    return out;
}

/* Read the value at the top of the stack as text: strings as they are,
 * numbers formatted. Returns 0 or -1. */
static int value_text(lua_State *L, char *out, size_t n)
{
    if (lua_type(L, -1) == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        if (len >= n || memchr(s, '\0', len)) return -1;
        memcpy(out, s, len + 1);
        return 0;
    }
    if (lua_type(L, -1) == LUA_TNUMBER) {
        snprintf(out, n, "%.17g", lua_tonumber(L, -1));
        return 0;
    }
    return -1;
}

static int get_string(loader *ld, const char *key, char **dst)
{
    lua_State *L = ld->L;
    char d[96];
    if (lua_type(L, -1) != LUA_TSTRING)
        return lfail(ld, key, "expected a string, got %s", describe(L, -1, d, sizeof d));
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    if (len == 0 || memchr(s, '\0', len))
        return lfail(ld, key, "expected a non-empty string");
    hf_free(*dst);
    *dst = hf_strndup(s, len);
    return 0;
}

static int get_int(loader *ld, const char *key, int lo, int hi, int *dst)
{
    lua_State *L = ld->L;
    char d[96];
    double v = lua_tonumber(L, -1);
    if (lua_type(L, -1) != LUA_TNUMBER || v != (double)(int)v || v < lo || v > hi)
        return lfail(ld, key, "expected a whole number from %d to %d, got %s", lo, hi,
                     describe(L, -1, d, sizeof d));
    *dst = (int)v;
    return 0;
}

static int get_bool(loader *ld, const char *key, int *dst)
{
    char d[96];
    if (lua_type(ld->L, -1) != LUA_TBOOLEAN)
        return lfail(ld, key, "expected true or false, got %s", describe(ld->L, -1, d, sizeof d));
    *dst = lua_toboolean(ld->L, -1);
    return 0;
}

static int get_duration(loader *ld, const char *key, int64_t *ms)
{
    char text[64], d[96];
    if (value_text(ld->L, text, sizeof text) < 0 || hf_config_parse_duration_ms(text, ms) < 0)
        return lfail(ld, key, "expected a duration such as \"5s\", \"500ms\" or \"1m\", got %s",
                     describe(ld->L, -1, d, sizeof d));
    return 0;
}

static int get_size(loader *ld, const char *key, size_t *bytes)
{
    char text[64], d[96];
    if (value_text(ld->L, text, sizeof text) < 0 || hf_config_parse_size(text, bytes) < 0)
        return lfail(ld, key, "expected a size such as \"512MiB\" or \"4GiB\", got %s",
                     describe(ld->L, -1, d, sizeof d));
    return 0;
}

/* Iterate the array at the top of the stack; fn sees each element on top. */
static int get_list(loader *ld, const char *key,
                    int (*fn)(loader *, const char *, void *), void *ctx)
{
    lua_State *L = ld->L;
    char d[96];
    if (lua_type(L, -1) != LUA_TTABLE)
        return lfail(ld, key, "expected a list such as { ... }, got %s", describe(L, -1, d, sizeof d));
    size_t n = lua_objlen(L, -1);
    int count = 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) count++, lua_pop(L, 1);
    if ((size_t)count != n)
        return lfail(ld, key, "expected a list (keys 1..n), got a table with other keys");
    for (size_t i = 1; i <= n; i++) {
        char ikey[128];
        snprintf(ikey, sizeof ikey, "%s[%zu]", key, i);
        lua_rawgeti(L, -1, (int)i);
        int rc = fn(ld, ikey, ctx);
        lua_pop(L, 1);
        if (rc < 0) return -1;
    }
    return 0;
}

static int network_elem(loader *ld, const char *key, void *ctx)
{
    char *s = NULL;
    if (get_string(ld, key, &s) < 0) return -1;
    int rc = check_prefix(s, key, ld->err, ld->errlen);
    if (rc < 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", ld->err);
        snprintf(ld->err, ld->errlen, "%s: %s", ld->file, msg);
    } else {
        push_string(&ld->cfg->networks, &ld->cfg->nnetworks, s);
    }
    hf_free(s);
    return rc;
}

static int window_elem(loader *ld, const char *key, void *ctx)
{
    char text[64], d[96];
    if (value_text(ld->L, text, sizeof text) < 0)
        return lfail(ld, key, "expected a duration such as \"10s\", got %s",
                     describe(ld->L, -1, d, sizeof d));
    char msg[400];
    if (add_window(ld->cfg, text, key, msg, sizeof msg) < 0) {
        snprintf(ld->err, ld->errlen, "%s: %s", ld->file, msg);
        return -1;
    }
    return 0;
}

typedef struct name_list {
    char ***list;
    int    *n;
} name_list;

static int name_elem(loader *ld, const char *key, void *ctx)
{
    name_list *nl = ctx;
    char *s = NULL;
    if (get_string(ld, key, &s) < 0) return -1;
    push_string(nl->list, nl->n, s);
    hf_free(s);
    return 0;
}

/* Walk the table at the top of the stack: every key must be a known one. */
typedef int (*key_fn)(loader *ld, const char *key, const char *name);

static int walk_table(loader *ld, const char *prefix, key_fn fn)
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
        const char *name = lua_tostring(L, -2);
        char key[128];
        snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", name);
        if (fn(ld, key, name) < 0) {
            lua_pop(L, 2);
            return -1;
        }
        lua_pop(L, 1);
    }
    return 0;
}

/* analyses.dir: a relative path is taken from the configuration file's
 * directory, so a configuration and its analyses can move together. */
static int get_dir(loader *ld, const char *key, char **dst)
{
    char *dir = NULL;
    if (get_string(ld, key, &dir) < 0) return -1;
    const char *slash = strrchr(ld->file, '/');
    if (dir[0] != '/' && slash) {
        size_t n = (size_t)(slash - ld->file) + strlen(dir) + 2;
        char *full = hf_malloc(n);
        snprintf(full, n, "%.*s/%s", (int)(slash - ld->file), ld->file, dir);
        hf_free(dir);
        dir = full;
    }
    hf_free(*dst);
    *dst = dir;
    return 0;
}

static int analyses_key(loader *ld, const char *key, const char *name)
{
    hf_config *c = ld->cfg;
    if (!strcmp(name, "dir")) return get_dir(ld, key, &c->analyses_dir);
    if (!strcmp(name, "enable")) {
        name_list nl = {&c->enable, &c->nenable};
        return get_list(ld, key, name_elem, &nl);
    }
    if (!strcmp(name, "disable")) {
        name_list nl = {&c->disable, &c->ndisable};
        return get_list(ld, key, name_elem, &nl);
    }
    if (!strcmp(name, "reload")) return get_bool(ld, key, &c->reload);
    if (!strcmp(name, "max_errors")) return get_int(ld, key, 1, 1000000000, &c->max_errors);
    if (!strcmp(name, "max_batch")) return get_duration(ld, key, &c->max_batch_ms);
    if (!strcmp(name, "watchdog")) return get_duration(ld, key, &c->watchdog_ms);
    return lfail(ld, key, "unknown key (expected dir, enable, disable, reload, max_errors, "
                 "max_batch or watchdog)");
}

/* kafka = { ["bootstrap.servers"] = "...", ... }: every key goes to
 * librdkafka as it is; values may be strings, numbers or booleans. */
static int kafka_key(loader *ld, const char *key, const char *name)
{
    lua_State *L = ld->L;
    char text[1024], d[96];
    if (lua_type(L, -1) == LUA_TBOOLEAN) {
        snprintf(text, sizeof text, "%s", lua_toboolean(L, -1) ? "true" : "false");
    } else if (lua_type(L, -1) == LUA_TNUMBER) {
        double v = lua_tonumber(L, -1);
        if (v == (double)(long long)v) snprintf(text, sizeof text, "%lld", (long long)v);
        else snprintf(text, sizeof text, "%.17g", v);
    } else if (value_text(L, text, sizeof text) < 0) {
        return lfail(ld, key, "expected a string, a number or a boolean for librdkafka, got %s",
                     describe(L, -1, d, sizeof d));
    }
    hf_config_set_kafka(ld->cfg, name, text);
    return 0;
}

static int memory_key(loader *ld, const char *key, const char *name)
{
    if (!strcmp(name, "max_bytes")) return get_size(ld, key, &ld->cfg->memory_max);
    if (!strcmp(name, "distinct_exact"))
        return get_int(ld, key, 1, HF_DISTINCT_MAX_LIMIT, &ld->cfg->distinct_exact);
    return lfail(ld, key, "unknown key (expected max_bytes or distinct_exact)");
}

static int check_start(loader *ld, const char *key, const char *v)
{
    int64_t ms;
    if (!strcmp(v, "earliest") || !strcmp(v, "latest") ||
        hf_time_parse_iso(v, strlen(v), &ms) == 0)
        return 0;
    return lfail(ld, key, "expected \"earliest\", \"latest\" or a time such as "
                 "\"2026-11-26T14:00:00Z\", got \"%s\"", v);
}

static int top_key(loader *ld, const char *key, const char *name)
{
    hf_config *c = ld->cfg;
    if (!strcmp(name, "networks")) {
        free_list(c->networks, c->nnetworks);
        c->networks = NULL;
        c->nnetworks = 0;
        return get_list(ld, key, network_elem, NULL);
    }
    if (!strcmp(name, "windows")) {
        c->nwindows = 0;
        if (get_list(ld, key, window_elem, NULL) < 0) return -1;
        if (c->nwindows == 0) return lfail(ld, key, "expected at least one granularity");
        return 0;
    }
    if (!strcmp(name, "lateness")) return get_duration(ld, key, &c->lateness_ms);
    if (!strcmp(name, "workers")) return get_int(ld, key, 0, 256, &c->workers);
    if (!strcmp(name, "input")) return get_string(ld, key, &c->input);
    if (!strcmp(name, "output")) return get_string(ld, key, &c->output);
    if (!strcmp(name, "stats")) return get_string(ld, key, &c->stats);
    if (!strcmp(name, "max_line")) return get_size(ld, key, &c->max_line);
    if (!strcmp(name, "batch")) return get_int(ld, key, 1, 65536, &c->batch);
    if (!strcmp(name, "analyses")) {
        if (lua_type(ld->L, -1) == LUA_TSTRING) return get_dir(ld, key, &c->analyses_dir);
        return walk_table(ld, key, analyses_key);
    }
    if (!strcmp(name, "memory")) return walk_table(ld, key, memory_key);
    if (!strcmp(name, "kafka")) return walk_table(ld, key, kafka_key);
    if (!strcmp(name, "kafka_start")) {
        if (get_string(ld, key, &c->kafka_start) < 0) return -1;
        return check_start(ld, key, c->kafka_start);
    }
    if (!strcmp(name, "dead_letter")) {
        if (get_string(ld, key, &c->dead_letter) < 0) return -1;
        if (strncmp(c->dead_letter, "kafka:", 6) != 0 || !c->dead_letter[6])
            return lfail(ld, key, "expected \"kafka:TOPIC\", got \"%s\"", c->dead_letter);
        return 0;
    }
    if (!strcmp(name, "commit_interval")) return get_duration(ld, key, &c->commit_interval_ms);
    if (!strcmp(name, "exit_at_end")) return get_bool(ld, key, &c->exit_at_end);
    return lfail(ld, key, "unknown key (expected networks, windows, lateness, workers, "
                 "input, output, stats, max_line, batch, analyses, memory, kafka, kafka_start, "
                 "dead_letter, commit_interval or exit_at_end)");
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
    if (walk_table(&ld, "", top_key) < 0) goto done;
    hf_free(cfg->path);
    cfg->path = hf_strdup(path);
    rc = 0;
done:
    lua_close(L);
    return rc;
}
