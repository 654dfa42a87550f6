/* conf_shim.h -- TEMPORARY: the configuration key table's shape (issue 9),
 * until core/conf/config.h has it.  Delete this file and conf_shim.c when
 * it lands; the outputs' key tables (out_http_config.c) stay as they are.
 *
 * Plugins declare their keys as a table of hf_conf_key ending in {NULL}
 * and read them with the typed getters.  This shim knows only the defaults
 * and the overrides that hf_conf_shim_set() makes (the test driver's -s). */
#ifndef HF_CONF_SHIM_H
#define HF_CONF_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"

#ifndef HF_CONF_HAS_KEYS
enum { HF_CONF_STRING, HF_CONF_INT, HF_CONF_BOOL, HF_CONF_DURATION, HF_CONF_SIZE,
       HF_CONF_LIST, HF_CONF_MAP };

typedef struct hf_conf_key {
    const char *name;     /* dotted, e.g. "http.listen" */
    int         type;
    const char *deflt;    /* the default, as text */
    const char *doc;      /* one line */
    const char *flag;     /* e.g. "--http", or NULL */
    double      min, max;
} hf_conf_key;

/* Make a table's keys known (once per table). */
void hf_conf_shim_register(const hf_conf_key *keys);
/* Override a key's value (checked against its type and range): 0, or -1
 * with a message. */
int hf_conf_shim_set(const char *name, const char *value, char *err, size_t errlen);

const char *hf_conf_str(const hf_config *cfg, const char *name);
int64_t     hf_conf_int(const hf_config *cfg, const char *name);
int         hf_conf_bool(const hf_config *cfg, const char *name);
int64_t     hf_conf_ms(const hf_config *cfg, const char *name);
size_t      hf_conf_size(const hf_config *cfg, const char *name);
#endif

#endif
