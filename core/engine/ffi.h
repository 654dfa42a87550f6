/* ffi.h -- the functions the Lua side reaches through the LuaJIT FFI, beyond
 * the primitives' own (distinct.h, topk.h, buf.h, window.h).
 *
 * Plain functions over scalars, pointers and lengths (lua-resty-core's
 * habit); the ones that allocate use the arena of the window being worked
 * on (hf_arena_current()), which the worker sets before it calls Lua.  Their
 * declarations are repeated, guarded, in lua/hostflow/base.lua. */
#ifndef HF_FFI_H
#define HF_FFI_H

#include <stddef.h>
#include <stdint.h>

#include "prim/distinct.h"
#include "prim/topk.h"

void hf_ffi_distinct_add_num(hf_distinct *d, double v);
void hf_ffi_distinct_add_addr(hf_distinct *d, const uint8_t *addr16);
void hf_ffi_distinct_add_str(hf_distinct *d, const char *s, size_t n);
void hf_ffi_distinct_merge(hf_distinct *dst, const hf_distinct *src);
/* HF_DISTINCT_DEFAULT_LIMIT, for the Lua side (never copied there). */
uint32_t hf_ffi_distinct_default_limit(void);
void hf_ffi_topk_add_num(hf_topk *t, double key, double weight);
void hf_ffi_topk_add_addr(hf_topk *t, const uint8_t *addr16, double weight);
void hf_ffi_topk_merge(hf_topk *dst, const hf_topk *src);

/* A log line from Lua at HF_LOG_ERROR .. HF_LOG_DEBUG (see log.h). */
void hf_ffi_log(int level, const char *msg);
/* Monotonic time in nanoseconds. */
double hf_ffi_now_ns(void);
/* sizeof of a shared struct by name ("hf_flow", "hf_job", ...), so the Lua
 * side can check its declarations match; 0 for an unknown name. */
size_t hf_ffi_sizeof(const char *name);
/* Outside a worker (tests, `hostflow check`): arenas of one's own, made
 * current with hf_ffi_arena_use() before the primitives are used. */
hf_arena *hf_ffi_arena_new(void);
void hf_ffi_arena_use(hf_arena *a);
void hf_ffi_arena_free(hf_arena *a);

#endif
