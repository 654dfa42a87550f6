/* io.c -- the one list of inputs and outputs.
 *
 * Adding an output is a new file (copy out_file.c) and one line in
 * `outputs` below; adding an input, one line in `inputs`.  Nothing else in
 * the core names a plugin. */
#include "io/io.h"

#include <stdio.h>
#include <string.h>

#include "io/out_opensearch.h"

static const hf_output_ops *const outputs[] = {
    &hf_output_opensearch,
    NULL,
};

void hf_io_register_keys(void)
{
    for (int i = 0; outputs[i]; i++)
        if (outputs[i]->keys) hf_conf_register(outputs[i]->keys);
}

const hf_output_ops *hf_output_find(const char *spec, const char **target, char *err, size_t errlen)
{
    const hf_output_ops *file = NULL;
    for (int i = 0; outputs[i]; i++) {
        size_t n = strlen(outputs[i]->scheme);
        if (!strcmp(outputs[i]->scheme, "file")) file = outputs[i];
        if (strncmp(spec, outputs[i]->scheme, n) == 0 && spec[n] == ':') {
            *target = spec + n + 1;
            return outputs[i];
        }
    }
    /* "name:rest" with an unknown name is a mistake, unless it looks like a path */
    const char *colon = strchr(spec, ':');
    if (colon && !strchr(spec, '/') && colon != spec) {
        size_t used = (size_t)snprintf(err, errlen, "unknown output \"%.*s:\" (known:", (int)(colon - spec), spec);
        for (int i = 0; outputs[i] && used < errlen; i++)
            used += (size_t)snprintf(err + used, errlen - used, " %s:", outputs[i]->scheme);
        if (used < errlen) snprintf(err + used, errlen - used, ")");
        return NULL;
    }
    *target = spec;
    if (!file) snprintf(err, errlen, "no file output");
    return file;
}
