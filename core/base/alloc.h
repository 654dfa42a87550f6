/* alloc.h -- the one allocation wrapper.
 *
 * hostflow does not try to limp on after malloc fails: memory is bounded by
 * configuration (see arena.h), so an allocation failure is a bug or a machine
 * in trouble, and the process stops with a message.  Every module allocates
 * through these. */
#ifndef HF_ALLOC_H
#define HF_ALLOC_H

#include <stddef.h>

void *hf_malloc(size_t size);            /* never returns NULL */
void *hf_calloc(size_t n, size_t size);  /* zeroed; never returns NULL */
void *hf_realloc(void *p, size_t size);  /* never returns NULL */
char *hf_strdup(const char *s);
char *hf_strndup(const char *s, size_t n);
void  hf_free(void *p);

#endif
