/* fuzz_config.c -- libFuzzer target for the configuration loader and the
 * command-line value parsers.
 *
 * The input is written to a file and loaded as a configuration (Lua run in
 * the loader's sandbox, interpreter only, under its instruction limit); the
 * same bytes also go, as text, through the duration, size, window-list and
 * network-list parsers.  Whatever happens, the loader must answer 0 or -1
 * with a message, never crash, leak or run away. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/config.h"

static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(path, sizeof path, "/tmp/hostflow-fuzz-config-%d.lua", (int)getpid());
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);

    char err[1024];
    hf_config cfg;
    hf_config_defaults(&cfg, "/nonexistent");
    err[0] = '\0';
    if (hf_config_load(&cfg, path, err, sizeof err) < 0 && err[0] == '\0') abort();   /* a failure says why */
    hf_config_check(&cfg, err, sizeof err);
    hf_config_release(&cfg);

    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    int64_t ms;
    size_t bytes;
    hf_config_parse_duration_ms(text, &ms);
    hf_config_parse_size(text, &bytes);
    hf_config_defaults(&cfg, "/nonexistent");
    hf_config_set_windows(&cfg, text, err, sizeof err);
    for (int i = 1; i < cfg.nwindows; i++)
        if (cfg.windows_ms[i] <= cfg.windows_ms[i - 1]) abort();   /* ascending, distinct */
    hf_config_set_networks(&cfg, text, err, sizeof err);
    hf_config_release(&cfg);
    free(text);
    return 0;
}
