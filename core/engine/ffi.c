/* ffi.c -- functions for the Lua side (see ffi.h). */
#include "engine/ffi.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "engine/alerts.h"
#include "engine/profile.h"
#include "engine/window.h"
#include "prim/state.h"
#include "engine/worker.h"
#include "stream/flow.h"

/* Numbers hash by value: 80 and 80.0 are one port; -0 is 0. */
static uint64_t number_bits(double v)
{
    if (v == 0) v = 0;
    if (v > -9.2e18 && v < 9.2e18 && (double)(int64_t)v == v) return (uint64_t)(int64_t)v;
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits ^ 0x8000000000000000ULL;
}

/* Whole numbers from 0 to 2^32 - 1 are narrow values (kept as themselves;
 * ports and protocols in 2 bytes each); any other number is the wide value
 * of its bits, as hf_distinct_add_u64() makes of a number >= 2^32. */
void hf_ffi_distinct_add_num(hf_distinct *d, double v)
{
    if (v >= 0 && v <= 65535 && v == (double)(uint16_t)v)
        hf_distinct_add_u16(d, (uint16_t)v, hf_arena_current());
    else if (v > 0 && v < 4294967296.0 && v == (double)(uint32_t)v)
        hf_distinct_add_u64(d, (uint32_t)v, hf_arena_current());
    else
        hf_distinct_add_hash(d, hf_hash_u64(number_bits(v)), hf_arena_current());
}

void hf_ffi_distinct_add_addr(hf_distinct *d, const uint8_t *addr16)
{
    hf_distinct_add_addr(d, addr16, hf_arena_current());
}

void hf_ffi_distinct_add_str(hf_distinct *d, const char *s, size_t n)
{
    hf_distinct_add_bytes(d, s, n, hf_arena_current());
}

void hf_ffi_distinct_merge(hf_distinct *dst, const hf_distinct *src)
{
    hf_distinct_merge(dst, src, hf_arena_current());
}

void hf_ffi_topk_add_num(hf_topk *t, double key, double weight)
{
    hf_topk_add_number(t, key, weight, hf_arena_current());
}

/* An address's key kind: IPv4 (mapped into IPv6) or IPv6. */
static uint8_t addr_kind(const uint8_t *addr16)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(addr16, mapped, 12) == 0 ? HF_KEY_INET : HF_KEY_INET6;
}

void hf_ffi_topk_add_addr(hf_topk *t, const uint8_t *addr16, double weight)
{
    hf_topk_add(t, addr16, addr_kind(addr16), weight, hf_arena_current());
}

void hf_ffi_topk_merge(hf_topk *dst, const hf_topk *src)
{
    hf_topk_merge(dst, src, hf_arena_current());
}

uint8_t *hf_ffi_group_at_num(hf_group *g, const hf_schema *of, double key)
{
    return hf_group_at_number(g, of, &hf_state_ops, key, hf_arena_current());
}

uint8_t *hf_ffi_group_at_addr(hf_group *g, const hf_schema *of, const uint8_t *addr16)
{
    return hf_group_at(g, of, &hf_state_ops, addr16, addr_kind(addr16), hf_arena_current());
}

uint8_t *hf_ffi_group_find_num(const hf_group *g, const hf_schema *of, double key)
{
    return hf_group_find_number(g, of, &hf_state_ops, key);
}

uint8_t *hf_ffi_group_find_addr(const hf_group *g, const hf_schema *of, const uint8_t *addr16)
{
    return hf_group_find(g, of, &hf_state_ops, addr16, addr_kind(addr16));
}

void hf_ffi_group_add_num_num(hf_group *g, const hf_schema *of, double key, double v)
{
    hf_ffi_distinct_add_num((hf_distinct *)(void *)hf_ffi_group_at_num(g, of, key), v);
}

void hf_ffi_group_add_num_addr(hf_group *g, const hf_schema *of, double key, const uint8_t *v16)
{
    hf_ffi_distinct_add_addr((hf_distinct *)(void *)hf_ffi_group_at_num(g, of, key), v16);
}

void hf_ffi_group_add_addr_num(hf_group *g, const hf_schema *of, const uint8_t *key16, double v)
{
    hf_ffi_distinct_add_num((hf_distinct *)(void *)hf_ffi_group_at_addr(g, of, key16), v);
}

void hf_ffi_group_add_addr_addr(hf_group *g, const hf_schema *of, const uint8_t *key16, const uint8_t *v16)
{
    hf_ffi_distinct_add_addr((hf_distinct *)(void *)hf_ffi_group_at_addr(g, of, key16), v16);
}

uint32_t hf_ffi_distinct_default_limit(void)
{
    return HF_DISTINCT_DEFAULT_LIMIT;
}

void hf_ffi_log(int level, const char *msg)
{
    if (level < HF_LOG_ERROR) level = HF_LOG_ERROR;
    if (level > HF_LOG_DEBUG) level = HF_LOG_DEBUG;
    hf_log(level, "%s", msg);
}

double hf_ffi_now_ns(void)
{
    return hf_now_ns();
}

/* ------------------------------------------------------------------------
 * The ABI the Lua side checks: every field of every shared struct, and the
 * constants it must not copy by hand
 * --------------------------------------------------------------------- */

#define FIELD(type, field) {#type, #field, offsetof(type, field), sizeof(((type *)0)->field)}
#define WHOLE(type) {#type, NULL, 0, sizeof(type)}

static const struct abi_field {
    const char *type, *field;     /* field NULL: the struct's size */
    size_t      offset, size;
} abi[] = {
    WHOLE(hf_flow), FIELD(hf_flow, src), FIELD(hf_flow, dst), FIELD(hf_flow, start_ms),
    FIELD(hf_flow, end_ms), FIELD(hf_flow, packets), FIELD(hf_flow, bytes), FIELD(hf_flow, sport),
    FIELD(hf_flow, dport), FIELD(hf_flow, proto), FIELD(hf_flow, tcp_flags), FIELD(hf_flow, family),
    FIELD(hf_flow, mark),
    WHOLE(hf_distinct), FIELD(hf_distinct, n), FIELD(hf_distinct, mem),
    WHOLE(hf_topk_item), FIELD(hf_topk_item, key), FIELD(hf_topk_item, count),
    FIELD(hf_topk_item, error), FIELD(hf_topk_item, kind),
    WHOLE(hf_topk), FIELD(hf_topk, k), FIELD(hf_topk, n), FIELD(hf_topk, cap),
    WHOLE(hf_group), FIELD(hf_group, max), FIELD(hf_group, n), FIELD(hf_group, cap),
    FIELD(hf_group, mem),
    WHOLE(hf_group_entry), FIELD(hf_group_entry, key), FIELD(hf_group_entry, weight),
    FIELD(hf_group_entry, error), FIELD(hf_group_entry, kind),
    WHOLE(hf_buf), FIELD(hf_buf, data), FIELD(hf_buf, len), FIELD(hf_buf, cap),
    WHOLE(hf_field), FIELD(hf_field, offset), FIELD(hf_field, kind), FIELD(hf_field, param),
    WHOLE(hf_schema), FIELD(hf_schema, fields), FIELD(hf_schema, nfields), FIELD(hf_schema, size),
    WHOLE(hf_host), FIELD(hf_host, addr),
    WHOLE(hf_fragments), FIELD(hf_fragments, buf), FIELD(hf_fragments, off),
    FIELD(hf_fragments, len), FIELD(hf_fragments, cap),
    WHOLE(hf_lua_batch), FIELD(hf_lua_batch, flows), FIELD(hf_lua_batch, rows),
    FIELD(hf_lua_batch, n), FIELD(hf_lua_batch, gen), FIELD(hf_lua_batch, not_run),
    FIELD(hf_lua_batch, dst_flows), FIELD(hf_lua_batch, dst_rows), FIELD(hf_lua_batch, dst_n),
    FIELD(hf_lua_batch, start_ms), FIELD(hf_lua_batch, g_ms),
    WHOLE(hf_window), FIELD(hf_window, start_ms), FIELD(hf_window, g_ms), FIELD(hf_window, arena),
    FIELD(hf_window, nhosts), FIELD(hf_window, layout), FIELD(hf_window, omit_any),
    WHOLE(hf_profile_host), FIELD(hf_profile_host, addr), FIELD(hf_profile_host, absorbed_until),
    WHOLE(hf_lua_window), FIELD(hf_lua_window, rows), FIELD(hf_lua_window, omit),
    FIELD(hf_lua_window, omit_any), FIELD(hf_lua_window, n), FIELD(hf_lua_window, gen),
    FIELD(hf_lua_window, start_ms), FIELD(hf_lua_window, g_ms), FIELD(hf_lua_window, frags),
    FIELD(hf_lua_window, sparse), FIELD(hf_lua_window, sparse_slots),
    WHOLE(hf_sparse), FIELD(hf_sparse, key), FIELD(hf_sparse, row), FIELD(hf_sparse, index), FIELD(hf_sparse, state),
};

size_t hf_ffi_sizeof(const char *name)
{
    for (size_t i = 0; i < sizeof abi / sizeof abi[0]; i++)
        if (!abi[i].field && strcmp(abi[i].type, name) == 0) return abi[i].size;
    return 0;
}

const char *hf_ffi_abi(int i, const char **field, size_t *offset, size_t *size)
{
    if (i < 0 || (size_t)i >= sizeof abi / sizeof abi[0]) return NULL;
    *field = abi[i].field;
    *offset = abi[i].offset;
    *size = abi[i].size;
    return abi[i].type;
}

double hf_ffi_const(const char *name)
{
    static const struct { const char *name; double value; } consts[] = {
        {"HF_NAME_MAX", HF_NAME_MAX},
        {"HF_MAX_ANALYSES", HF_MAX_ANALYSES},
        {"HF_FIELD_SUM", HF_FIELD_SUM},
        {"HF_FIELD_MIN", HF_FIELD_MIN},
        {"HF_FIELD_MAX", HF_FIELD_MAX},
        {"HF_FIELD_DISTINCT", HF_FIELD_DISTINCT},
        {"HF_FIELD_TOPK", HF_FIELD_TOPK},
        {"HF_FIELD_COUNT32", HF_FIELD_COUNT32},
        {"HF_FIELD_BYTES", HF_FIELD_BYTES},
        {"HF_FRAG_LOGS", HF_FRAG_LOGS},
        {"HF_FIELD_GROUP", HF_FIELD_GROUP},
        {"HF_FIELD_OF", HF_FIELD_OF},
        {"HF_GROUP_MAX_KEYS", HF_GROUP_MAX_KEYS},
        {"HF_LOG_ERROR", HF_LOG_ERROR},
        {"HF_LOG_WARN", HF_LOG_WARN},
        {"HF_LOG_INFO", HF_LOG_INFO},
        {"HF_LOG_DEBUG", HF_LOG_DEBUG},
        {"HF_KEY_NUMBER", HF_KEY_NUMBER},
        {"HF_LAYOUT_BY_DST", HF_LAYOUT_BY_DST},
        {"HF_FLOW_SRC_OUT", HF_FLOW_SRC_OUT},
        {"HF_LAYOUT_SPARSE", HF_LAYOUT_SPARSE},
        {"HF_LAYOUT_BOTH", HF_LAYOUT_BOTH},
        {"HF_KEY_INET", HF_KEY_INET},
        {"HF_KEY_INET6", HF_KEY_INET6},
    };
    for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++)
        if (strcmp(consts[i].name, name) == 0) return consts[i].value;
    return NAN;
}

/* Arenas outside a worker (an analysis's sample run when it is checked, a
 * spec's windows) come from one unlimited pool per thread, freed when the
 * thread ends: the threads that make the workers end once the workers are
 * made.  A pool with an arena still open is left, not freed under it. */
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_end(void *pool)
{
    if (hf_pool_arenas(pool) == 0) hf_pool_free(pool);
}

static void scratch_init(void)
{
    if (pthread_key_create(&scratch_key, scratch_end) != 0) {
        fprintf(stderr, "hostflow: cannot create a thread-specific key\n");
        abort();
    }
}

hf_arena *hf_ffi_arena_new(void)
{
    pthread_once(&scratch_once, scratch_init);
    hf_pool *pool = pthread_getspecific(scratch_key);
    if (!pool) {
        pool = hf_pool_new(0);
        if (pthread_setspecific(scratch_key, pool) != 0) {
            fprintf(stderr, "hostflow: out of memory keeping a thread's pool\n");
            abort();
        }
    }
    return hf_arena_new(pool);
}

void hf_ffi_arena_use(hf_arena *a)
{
    hf_arena_set_current(a);
}

void hf_ffi_arena_free(hf_arena *a)
{
    if (hf_arena_current() == a) hf_arena_set_current(NULL);
    hf_arena_free(a);
}

/* ------------------------------------------------------------------------
 * A job outside a worker (the specs drive a runtime as a worker does)
 * --------------------------------------------------------------------- */

typedef struct free_job {
    hf_job  job;
    hf_record_batch alerts_out;
    double  ns[HF_MAX_ANALYSES], result_ns[HF_MAX_ANALYSES], errors[HF_MAX_ANALYSES];
    char    names[HF_MAX_ANALYSES * HF_NAME_MAX];
    uint8_t disabled[HF_MAX_ANALYSES];
} free_job;

hf_job *hf_ffi_job_new(int64_t hold_ms)
{
    free_job *f = hf_calloc(1, sizeof *f);
    f->job.analysis_ns = f->ns;
    f->job.result_ns = f->result_ns;
    f->job.analysis_errors = f->errors;
    f->job.slot_names = f->names;
    f->job.slot_disabled = f->disabled;
    atomic_init(&f->job.current, -1);
    hf_record_batch_init(&f->alerts_out);
    f->job.alerts = hf_alerts_new(hold_ms, 1000, 0);
    f->job.alerts_out = &f->alerts_out;
    return &f->job;
}

const char *hf_ffi_job_alerts(hf_job *job, size_t *len, int reset)
{
    free_job *f = (free_job *)(void *)job;
    static _Thread_local char *copy;
    hf_free(copy);
    copy = hf_strndup(f->alerts_out.text.data ? f->alerts_out.text.data : "", f->alerts_out.text.len);
    *len = f->alerts_out.text.len;
    if (reset) hf_record_batch_reset(&f->alerts_out);
    return copy;
}

void hf_ffi_job_window(hf_job *job, hf_window *w)
{
    job->window = w;
}

void hf_ffi_job_free(hf_job *job)
{
    free_job *f = (free_job *)(void *)job;
    hf_alerts_free(job->alerts);
    hf_record_batch_release(&f->alerts_out);
    hf_free(job);
}
