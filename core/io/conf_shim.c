/* conf_shim.c -- TEMPORARY getters over declared keys (see conf_shim.h):
 * a key's value is its override, else its default, parsed by its type. */
#include "io/conf_shim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"

#define MAX_TABLES 8
#define MAX_SET    64

static const hf_conf_key *tables[MAX_TABLES];
static int ntables;
static struct { const char *name; char *value; } set[MAX_SET];
static int nset;

void hf_conf_shim_register(const hf_conf_key *keys)
{
    for (int i = 0; i < ntables; i++)
        if (tables[i] == keys) return;
    if (ntables < MAX_TABLES) tables[ntables++] = keys;
}

static const hf_conf_key *find(const char *name)
{
    for (int t = 0; t < ntables; t++)
        for (const hf_conf_key *k = tables[t]; k->name; k++)
            if (strcmp(k->name, name) == 0) return k;
    return NULL;
}

/* The value as a number of its type: 0, or -1. */
static int parse(const hf_conf_key *k, const char *s, double *v)
{
    int64_t ms;
    size_t sz;
    char *end;
    switch (k->type) {
    case HF_CONF_INT:
        *v = strtod(s, &end);
        if (*end || end == s || *v != (double)(long long)*v) return -1;
        break;
    case HF_CONF_BOOL:
        if (!strcmp(s, "true") || !strcmp(s, "1")) *v = 1;
        else if (!strcmp(s, "false") || !strcmp(s, "0")) *v = 0;
        else return -1;
        return 0;
    case HF_CONF_DURATION:
        if (hf_config_parse_duration_ms(s, &ms) < 0) return -1;
        *v = (double)ms;
        return 0;
    case HF_CONF_SIZE:
        if (hf_config_parse_size(s, &sz) < 0) return -1;
        *v = (double)sz;
        return 0;
    default:
        *v = 0;
        return 0;
    }
    return (k->min || k->max) && (*v < k->min || *v > k->max) ? -1 : 0;
}

int hf_conf_shim_set(const char *name, const char *value, char *err, size_t errlen)
{
    const hf_conf_key *k = find(name);
    double v;
    if (!k) {
        snprintf(err, errlen, "%s: unknown key", name);
        return -1;
    }
    if (parse(k, value, &v) < 0) {
        snprintf(err, errlen, "%s: expected %s, got \"%s\"", name, k->doc, value);
        return -1;
    }
    for (int i = 0; i < nset; i++)
        if (strcmp(set[i].name, name) == 0) {
            hf_free(set[i].value);
            set[i].value = hf_strdup(value);
            return 0;
        }
    if (nset == MAX_SET) {
        snprintf(err, errlen, "%s: too many settings", name);
        return -1;
    }
    set[nset].name = k->name;
    set[nset++].value = hf_strdup(value);
    return 0;
}

const char *hf_conf_str(const hf_config *cfg, const char *name)
{
    (void)cfg;
    for (int i = 0; i < nset; i++)
        if (strcmp(set[i].name, name) == 0) return set[i].value;
    const hf_conf_key *k = find(name);
    return k ? k->deflt : "";
}

static double number(const char *name)
{
    const hf_conf_key *k = find(name);
    double v = 0;
    if (k && parse(k, hf_conf_str(NULL, name), &v) < 0) parse(k, k->deflt, &v);
    return v;
}

int64_t hf_conf_int(const hf_config *cfg, const char *name) { (void)cfg; return (int64_t)number(name); }
int hf_conf_bool(const hf_config *cfg, const char *name) { (void)cfg; return number(name) != 0; }
int64_t hf_conf_ms(const hf_config *cfg, const char *name) { (void)cfg; return (int64_t)number(name); }
size_t hf_conf_size(const hf_config *cfg, const char *name) { (void)cfg; return (size_t)number(name); }
