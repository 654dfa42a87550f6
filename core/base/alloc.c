/* alloc.c -- the one allocation wrapper: allocate or stop with a message. */
#include "base/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t size)
{
    fprintf(stderr, "hostflow: out of memory allocating %zu bytes\n", size);
    abort();
}

void *hf_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p) oom(size);
    return p;
}

void *hf_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size);
    return p;
}

void *hf_realloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q) oom(size);
    return q;
}

char *hf_strndup(const char *s, size_t n)
{
    char *p = hf_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *hf_strdup(const char *s)
{
    return hf_strndup(s, strlen(s));
}

void hf_free(void *p)
{
    free(p);
}
