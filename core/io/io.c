/* io.c -- the one list of inputs and outputs.
 *
 * Adding an output is a new file (copy out_file.c) and one line in
 * `outputs` below; adding an input, one line in `inputs`.  Nothing else in
 * the core names a plugin. */
#include "io/io.h"

#include <stdio.h>
#include <string.h>

extern const hf_output_ops hf_out_file, hf_out_kafka, hf_out_opensearch, hf_out_http,
    hf_out_top;
extern const hf_input_ops hf_in_file, hf_in_kafka;

static const hf_input_ops *const inputs[] = {
    &hf_in_file,
    &hf_in_kafka,
    NULL,
};

static const hf_output_ops *const outputs[] = {
    &hf_out_file,
    &hf_out_kafka,
    &hf_out_opensearch,
    &hf_out_http,
    &hf_out_top,
    NULL,
};

void hf_io_usage(void (*put)(void *ctx, const char *line), void *ctx)
{
    char line[256];
    for (int i = 0; outputs[i]; i++) {
        snprintf(line, sizeof line, "  -o %s", outputs[i]->usage);
        put(ctx, line);
    }
}

void hf_io_register_keys(void)
{
    for (int i = 0; outputs[i]; i++)
        if (outputs[i]->keys) hf_conf_register(outputs[i]->keys);
    for (int i = 0; inputs[i]; i++)
        if (inputs[i]->keys) hf_conf_register(inputs[i]->keys);
}

/* The plugin of a spec among n schemes: "scheme:target", else the one
 * named "file" with the whole spec as its target (a path, or -). */
static int find(const char *const *schemes, int n, const char *kind, const char *spec,
                const char **target, char *err, size_t errlen)
{
    int file = -1;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(schemes[i]);
        if (!strcmp(schemes[i], "file")) file = i;
        if (strncmp(spec, schemes[i], len) == 0 && spec[len] == ':') {
            *target = spec + len + 1;
            return i;
        }
    }
    /* "name:rest" with an unknown name is a mistake, unless it looks like a path */
    const char *colon = strchr(spec, ':');
    if (colon && !strchr(spec, '/') && colon != spec) {
        size_t used = (size_t)snprintf(err, errlen, "unknown %s \"%.*s:\" (known:", kind,
                                       (int)(colon - spec), spec);
        for (int i = 0; i < n && used < errlen; i++)
            used += (size_t)snprintf(err + used, errlen - used, " %s:", schemes[i]);
        if (used < errlen) snprintf(err + used, errlen - used, ")");
        return -1;
    }
    *target = spec;
    if (file < 0) snprintf(err, errlen, "no file %s", kind);
    return file;
}

const hf_input_ops *hf_input_find(const char *spec, const char **target, char *err, size_t errlen)
{
    const char *schemes[16];
    int n = 0;
    for (; inputs[n] && n < 16; n++) schemes[n] = inputs[n]->scheme;
    int i = find(schemes, n, "input", spec, target, err, errlen);
    return i < 0 ? NULL : inputs[i];
}

const hf_output_ops *hf_output_nth(int i)
{
    for (int k = 0; outputs[k]; k++)
        if (k == i) return outputs[k];
    return NULL;
}

const hf_output_ops *hf_output_find(const char *spec, const char **target, char *err, size_t errlen)
{
    const char *schemes[16];
    int n = 0;
    for (; outputs[n] && n < 16; n++) schemes[n] = outputs[n]->scheme;
    int i = find(schemes, n, "output", spec, target, err, errlen);
    return i < 0 ? NULL : outputs[i];
}
