/* ffi.c -- functions for the Lua side (see ffi.h). */
#include "engine/ffi.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "engine/window.h"
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

/* Whole numbers from 0 to 65535 (ports, protocols) go in as 16-bit values:
 * the same set, in half the memory while it is small (distinct.c). */
void hf_ffi_distinct_add_num(hf_distinct *d, double v)
{
    if (v >= 0 && v <= 65535 && v == (double)(uint16_t)v)
        hf_distinct_add_u16(d, (uint16_t)v, hf_arena_current());
    else
        hf_distinct_add_u64(d, number_bits(v), hf_arena_current());
}

void hf_ffi_distinct_add_addr(hf_distinct *d, const uint8_t *addr16)
{
    hf_distinct_add_hash(d, hf_hash_addr(addr16), hf_arena_current());
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

void hf_ffi_topk_add_addr(hf_topk *t, const uint8_t *addr16, double weight)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    uint8_t kind = memcmp(addr16, mapped, 12) == 0 ? HF_KEY_INET : HF_KEY_INET6;
    hf_topk_add(t, addr16, kind, weight, hf_arena_current());
}

void hf_ffi_topk_merge(hf_topk *dst, const hf_topk *src)
{
    hf_topk_merge(dst, src, hf_arena_current());
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

size_t hf_ffi_sizeof(const char *name)
{
    static const struct { const char *name; size_t size; } types[] = {
        {"hf_flow", sizeof(hf_flow)},           {"hf_distinct", sizeof(hf_distinct)},
        {"hf_topk", sizeof(hf_topk)},           {"hf_topk_item", sizeof(hf_topk_item)},
        {"hf_buf", sizeof(hf_buf)},             {"hf_field", sizeof(hf_field)},
        {"hf_schema", sizeof(hf_schema)},
        {"hf_host", sizeof(hf_host)},           {"hf_window", sizeof(hf_window)},
        {"hf_fragments", sizeof(hf_fragments)}, {"hf_job", sizeof(hf_job)},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(types[i].name, name) == 0) return types[i].size;
    return 0;
}

/* Arenas outside a worker come from one unlimited pool per thread. */
static _Thread_local hf_pool *scratch_pool;

hf_arena *hf_ffi_arena_new(void)
{
    if (!scratch_pool) scratch_pool = hf_pool_new(0);
    return hf_arena_new(scratch_pool);
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
