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
#include "prim/group.h"
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
/* A group's value for a number or an address key: created when new (one
 * more to its weight), or only found (NULL when absent). */
uint8_t *hf_ffi_group_at_num(hf_group *g, const hf_schema *of, double key);
uint8_t *hf_ffi_group_at_addr(hf_group *g, const hf_schema *of, const uint8_t *addr16);
uint8_t *hf_ffi_group_find_num(const hf_group *g, const hf_schema *of, double key);
uint8_t *hf_ffi_group_find_addr(const hf_group *g, const hf_schema *of, const uint8_t *addr16);
/* g:add(key, v) of a group whose value is a set (of = hf.distinct): v into
 * the set of key, in one call; key and v numbers or addresses. */
void hf_ffi_group_add_num_num(hf_group *g, const hf_schema *of, double key, double v);
void hf_ffi_group_add_num_addr(hf_group *g, const hf_schema *of, double key, const uint8_t *v16);
void hf_ffi_group_add_addr_num(hf_group *g, const hf_schema *of, const uint8_t *key16, double v);
void hf_ffi_group_add_addr_addr(hf_group *g, const hf_schema *of, const uint8_t *key16, const uint8_t *v16);

/* A log line from Lua at HF_LOG_ERROR .. HF_LOG_DEBUG (see log.h). */
void hf_ffi_log(int level, const char *msg);
/* Monotonic time in nanoseconds. */
double hf_ffi_now_ns(void);
/* The ABI, for the Lua side to check its declarations against: sizeof of a
 * shared struct by name ("hf_flow", "hf_lua_window", ...; 0 for an unknown
 * name); and entry i of the table of every field of every shared struct
 * (its struct's name, *field NULL for the struct's own size), NULL past the
 * last, so the Lua side compares offsets, not only sizes. */
size_t hf_ffi_sizeof(const char *name);
const char *hf_ffi_abi(int i, const char **field, size_t *offset, size_t *size);
/* A constant the Lua side needs ("HF_NAME_MAX", "HF_FIELD_SUM", ...), so it
 * never copies one by hand; NaN for an unknown name. */
double hf_ffi_const(const char *name);
/* Outside a worker (tests, `hostflow check`): arenas of one's own, made
 * current with hf_ffi_arena_use() before the primitives are used. */
hf_arena *hf_ffi_arena_new(void);
void hf_ffi_arena_use(hf_arena *a);
void hf_ffi_arena_free(hf_arena *a);

/* A job of its own, for driving a runtime outside a worker (the specs):
 * counters, slots and open alerts (held hold_ms) as a worker's;
 * hf_ffi_job_window sets the window the batch's rows belong to
 * (hf_job_omit). */
struct hf_job;
struct hf_window;
struct hf_job *hf_ffi_job_new(int64_t hold_ms);
void hf_ffi_job_window(struct hf_job *job, struct hf_window *w);
void hf_ffi_job_free(struct hf_job *job);
/* The alert records raised through the job so far (NDJSON, *len bytes;
 * valid until the next call), emptied when reset is set. */
const char *hf_ffi_job_alerts(struct hf_job *job, size_t *len, int reset);

#endif
