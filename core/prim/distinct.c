/* distinct.c -- distinct counting: the values themselves while a set is
 * small, exact up to its limit (1,024 by default), a HyperLogLog sketch
 * beyond.
 *
 * Keys
 * ----
 *
 * Every value becomes a 64-bit key before the set sees it:
 *
 *   narrow value v < 2^32          key = v                      0 .. 2^32-1
 *   (numbers, ports, IPv4 addresses as their 32 bits)
 *   wide value (IPv6 addresses,    key = hash(value) | 2^63     2^63 .. 2^64-1
 *   strings, numbers >= 2^32 or
 *   negative or fractional)
 *
 * Distinct narrow values have distinct keys, so a set of them counts
 * exactly, always.  A wide key is a 63-bit fingerprint: two distinct wide
 * values share it with probability 2^-63 (hash.h mixes every input bit into
 * every output bit; within one IPv6 /64 the hash is even a bijection of the
 * interface identifier), so a set of n wide values is off by one or more
 * with probability at most n(n-1)/2 * 2^-63:
 *
 *      n        P(a collision)
 *      1,024    5.7e-14       (the target: below 1e-4)
 *      65,535   2.3e-10       (the largest limit)
 *
 * test_distinct checks the premise (uniform fingerprints: the number of
 * pairs sharing the low 32 bits of a million keys is the birthday
 * expectation) and the consequence (10,000 sets of 1,024 addresses, all
 * exact).  Narrow and wide values never compare equal (their keys differ in
 * the top bit).  An IPv4 address and the number of its 32 bits are the same
 * narrow value: a set holds one kind of value.
 *
 * Width
 * -----
 *
 * A set stores each key in the fewest bytes that hold all of its keys: 2
 * while every value is below 2^16 (ports), 4 while every value is narrow
 * (IPv4 peers), 8 once one is wide (then narrow keys are zero-extended).
 * The first key that does not fit widens the set: its keys are copied into
 * the layout of the wider width.  Widths 2 and 4 are what keep a typical
 * host cheap (6 ports in 16 bytes, 24 peers in 96); an IPv6 host pays 8
 * bytes a peer for the 63-bit fingerprints that make its count exact.
 *
 * Layouts (`form`: width and layout; `size`: how big)
 * ---------------------------------------------------
 *
 *   array: n * width <= 256 bytes.  Unsorted, scanned 16 bytes per SSE2
 *   compare, every group compared and the results OR-ed (no early exit).
 *   The slots after the last key up to the end of its 16-byte group repeat
 *   the first key, so a scan of whole groups finds only keys the set holds
 *   (0 is a value like any other):
 *
 *     mem -> +----+----+----+-- ... --+------+----+----+   size = bytes / 16
 *            | k0 | k1 | k2 |         | kn-1 | k0 | k0 |   bytes: 16, 32, ..., 128,
 *            +----+----+----+-- ... --+------+----+----+   160, 192, 224, 256
 *
 *   The array grows to the arena's next size class (arena.c: 16-byte steps
 *   to 128, 32-byte steps to 256), the old one going back to the arena's
 *   free list: 4 bytes a value rounded up to 16 (32 past 128): 96 bytes
 *   for 24 IPv4 peers, 16 for 6 ports.  A scan beats a hash table here:
 *   typical sets are a few dozen values, and a scan of 256 bytes is 16
 *   compares on four cache lines with no branch to mispredict, at a load of
 *   100 %.  Measured on 30-value sets of 32-bit keys, adds per second (a
 *   throwaway comparison on a busy 2-core box): one hot set: branch-free
 *   scan 119-233 M, early exit every 16 slots 55-111 M, scalar 45-66 M,
 *   open addressing at load <= 3/4 (twice the memory) 64-80 M; with 10^5
 *   sets hit at random, cache misses dominate and all land at 13-36 M.
 *
 *   table: more keys.  Open addressing, linear probing from the top bits of
 *   key * 2^64/phi (Fibonacci hashing: narrow keys such as addresses in one
 *   subnet are anything but random), 2^size slots of the set's width, at
 *   most 3/4 full, doubling when it would be fuller.  0 marks an empty
 *   slot; the value 0, when held, is a flag in `form`.  The first table is
 *   512 bytes (128 slots of 4 bytes for the 65th IPv4 peer); 1,024 IPv4
 *   peers take 8 KiB, 1,024 IPv6 peers 16 KiB.
 *
 *   bitmap: a set of width 2 that would need a table of more than 4 KiB
 *   (1,536 values) is a bitmap of all 65,536 values instead, 8 KiB, bit v
 *   of byte v / 8.  A set of width 2 is never a sketch: it is exact at any
 *   count, whatever its limit, in at most half a sketch's memory.
 *
 * The layout is a function of the width and the count only (layout_for),
 * so a set built by adds, copied by a merge or read back from its bytes
 * holds the same memory.
 *
 * The sketch
 * ----------
 *
 * When a set of width 4 or 8 would pass its limit, its keys go into
 * HF_HLL_REGISTERS = 2^14 one-byte registers (16 KiB) and the array or
 * table is released.  A key is first spread over 64 bits, x = key for a
 * wide key (already a hash), x = hf_hash_u64(key) for a narrow one; then
 *
 *      63  62           49 48                                   0
 *     +---+---------------+--------------------------------------+
 *     | - |  index (14)   |            rank source (49)          |
 *     +---+---------------+--------------------------------------+
 *
 * register[index] = max(register[index], 1 + trailing zeros of the rank
 * source), the rank being 50 when all 49 bits are zero, so registers hold
 * 0..50 (bit 63, set in every wide key, is not used).  The count is Ertl's
 * improved estimator ("New cardinality estimation algorithms for
 * HyperLogLog sketches", 2017; Redis uses it), computed from the histogram
 * of register values: the raw estimate alpha m^2 / sum(2^-register) with
 * the zero registers (which linear counting uses in the small range) and
 * the saturated ones folded into one formula, so it has no switch-over
 * point and no bias just past one (the textbook switch at 2.5 m measured
 * +1.55 % bias at 2.4 m in this module's earlier p = 12 sketch).  Relative
 * standard error 1.04 / sqrt(2^14) = 0.81 %; tests/tools/distinct_error
 * measures the mean and 99th percentile the README states.
 *
 * Merging
 * -------
 *
 * dst := dst ∪ src: exact ∪ exact adds src's keys one by one, so it stays
 * exact while the union fits dst's limit (and always at width 2), and
 * becomes the sketch of every key the moment it does not; into an empty
 * set the memory is copied as it is (a coarser window's row receiving its
 * first finer row); two bitmaps are OR-ed; anything with a sketch gives a
 * sketch, register-wise max (SSE2, 16 registers at a time), which is the
 * sketch of the union.  The result depends only on the values and dst's
 * limit, so merging fine windows into coarse ones in any order gives what
 * one coarse window fed every flow would hold, bit for bit.
 *
 * Serialised form (version 2, little-endian)
 * ------------------------------------------
 *
 *   exact:   u8 version=2 | u8 type=W | u16 limit | u32 n | key[n], W bytes each
 *            (W = 2, 4 or 8, the set's width; keys strictly increasing;
 *            the empty set has W = 2)
 *   bitmap:  u8 version=2 | u8 type=3 | u16 limit | u8 bits[8192]
 *            (a set of width 2 with more than 4,096 values, where the
 *            bitmap is the shorter)
 *   sketch:  u8 version=2 | u8 type=1 | u16 limit | u8 register[16384]
 *
 * The reader checks every field (version, type, limit >= 1, n <= limit
 * unless W = 2, W the narrowest that holds the keys, keys ordered, 8-byte
 * keys narrow or wide, a bitmap more than 4,096 bits, registers <= 50) and
 * every length before it reads, and allocates only after the input passed:
 * one set has one encoding. */
#include "prim/distinct.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hash.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* ------------------------------------------------------------------------
 * Constants and small helpers
 * --------------------------------------------------------------------- */

#define WIDE         0x8000000000000000ULL   /* the top bit of every wide key */
#define NARROW_END   0x100000000ULL          /* narrow keys are below this */
#define U16_END      0x10000ULL              /* keys of width 2 are below this */

/* form: bits 0-1 the width code (bytes = 1 << code), bits 2-3 the layout,
 * bit 4 "a table holds the value 0"; 0 is the empty set. */
#define W2           1
#define W4           2
#define W8           3
#define WMASK        3
#define L_ARRAY      0x00
#define L_TABLE      0x04
#define L_BITMAP     0x08
#define L_SKETCH     0x0c
#define LMASK        0x0c
#define ZERO         0x10
#define F_SKETCH     L_SKETCH
#define F_BITMAP     (W2 | L_BITMAP)

#define ARRAY_MAX    256      /* bytes of the largest array */
#define TABLE_MIN    512      /* bytes of the first table */
#define U16_TABLE_LG 11       /* the largest table of width 2: 2048 slots, 4 KiB */
#define BITMAP_BYTES 8192
#define PHI64        0x9e3779b97f4a7c15ULL   /* 2^64 / golden ratio, odd */

#define HLL_RANK_BITS (63 - HF_HLL_P)         /* 49 */
#define HLL_MAX_RANK  (HLL_RANK_BITS + 1)     /* 50 */
#define HLL_ALPHA_INF 0.721347520444481703680 /* 1 / (2 ln 2) */

#define FORMAT_VERSION 2
#define TYPE_SKETCH  1
#define TYPE_BITMAP  3                        /* types 2, 4, 8: exact of that width */
#define HDR_BYTES    4
#define EXACT_HDR    (HDR_BYTES + 4)
#define SERIAL_BITMAP_MIN 4097                /* values from which a bitmap is shorter */

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

static inline unsigned wc_of_key(uint64_t k) { return k < U16_END ? W2 : k < NARROW_END ? W4 : W8; }
static inline unsigned width_code(const hf_distinct *d) { return d->form & WMASK; }
static inline unsigned layout(const hf_distinct *d) { return d->form & LMASK; }
static inline int is_sketch(const hf_distinct *d) { return d->form == F_SKETCH; }

/* The effective exact threshold: 0 means the default. */
static inline uint32_t eff_limit(const hf_distinct *d)
{
    return d->limit ? d->limit : HF_DISTINCT_DEFAULT_LIMIT;
}

static inline hf_arena *arena_or_current(hf_arena *a)
{
    return a ? a : hf_arena_current();
}

/* Bytes of memory of a form and size (0 for the empty set). */
static size_t bytes_of(unsigned form, unsigned size)
{
    switch (form & LMASK) {
    case L_ARRAY:  return (size_t)size * 16;
    case L_TABLE:  return ((size_t)1 << size) << (form & WMASK);
    case L_BITMAP: return BITMAP_BYTES;
    default:       return HF_HLL_REGISTERS;
    }
}

static inline size_t mem_size(const hf_distinct *d)
{
    return d->form ? bytes_of(d->form, d->size) : 0;
}

/* The form and size of a set of n >= 1 keys of width code wc: an array of
 * the arena's next size class while n keys fit 256 bytes, then the
 * smallest table at most 3/4 full, or for width 2 past 4 KiB of table the
 * bitmap.  Memory depends on the keys held, never on how they came. */
static void layout_for(unsigned wc, uint32_t n, uint8_t *form, uint8_t *size)
{
    uint32_t bytes = n << wc;
    if (bytes <= ARRAY_MAX) {
        bytes = bytes <= 128 ? (bytes + 15) & ~15u : (bytes + 31) & ~31u;
        *form = (uint8_t)(wc | L_ARRAY);
        *size = (uint8_t)(bytes / 16);
        return;
    }
    unsigned lg = (unsigned)__builtin_ctz(TABLE_MIN >> wc);
    while ((uint64_t)n * 4 > (uint64_t)3 << lg) lg++;
    if (wc == W2 && lg > U16_TABLE_LG) {
        *form = F_BITMAP;
        *size = 0;
        return;
    }
    *form = (uint8_t)(wc | L_TABLE);
    *size = (uint8_t)lg;
}

static inline void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void put_key(uint8_t *p, uint64_t k, unsigned w)
{
    for (unsigned i = 0; i < w; i++) p[i] = (uint8_t)(k >> (8 * i));
}
static inline uint64_t get_key(const uint8_t *p, unsigned w)
{
    uint64_t k = 0;
    for (unsigned i = w; i-- > 0;) k = k << 8 | p[i];
    return k;
}

/* ------------------------------------------------------------------------
 * HyperLogLog registers
 * --------------------------------------------------------------------- */

/* A key spread over 64 bits: wide keys are hashes already. */
static inline uint64_t hll_hash(uint64_t k)
{
    return k & WIDE ? k : hf_hash_u64(k);
}

static inline void hll_add(uint8_t *reg, uint64_t x)
{
    uint32_t idx = (uint32_t)(x >> HLL_RANK_BITS) & (HF_HLL_REGISTERS - 1);
    uint8_t rank = (uint8_t)(__builtin_ctzll(x | (1ULL << HLL_RANK_BITS)) + 1);
    if (reg[idx] < rank) reg[idx] = rank;
}

/* r := register-wise max(r, s), 16 registers per SSE2 instruction. */
static void hll_max(uint8_t *r, const uint8_t *s)
{
#ifdef __SSE2__
    for (int i = 0; i < HF_HLL_REGISTERS; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(r + i));
        __m128i y = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        _mm_storeu_si128((__m128i *)(void *)(r + i), _mm_max_epu8(x, y));
    }
#else
    for (int i = 0; i < HF_HLL_REGISTERS; i++) r[i] = r[i] > s[i] ? r[i] : s[i];
#endif
}

/* sigma(x) = x + sum_{k>=1} x^(2^k) 2^(k-1): the zero registers' term of
 * Ertl's estimator (Redis's hllSigma).  Converges in a few dozen steps. */
static double hll_sigma(double x)
{
    if (x == 1.0) return INFINITY;
    double y = 1.0, z = x, prev;
    do {
        x *= x;
        prev = z;
        z += x * y;
        y += y;
    } while (z != prev);
    return z;
}

/* tau(x) = (1 - x - sum_{k>=1} (1 - x^(2^-k))^2 2^-k) / 3: the saturated
 * registers' term (Redis's hllTau). */
static double hll_tau(double x)
{
    if (x == 0.0 || x == 1.0) return 0.0;
    double y = 1.0, z = 1.0 - x, prev;
    do {
        x = sqrt(x);
        prev = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
    } while (z != prev);
    return z / 3.0;
}

/* The estimate of the registers (Ertl 2017, the improved raw estimator):
 * alpha_inf m^2 / (m sigma(C0/m) + sum_{k=1..q} C_k 2^-k + m tau(1 - C_{q+1}/m) 2^-q)
 * where C_k counts the registers holding k and q = 49; at most 2^64, the
 * number of keys.  O(HF_HLL_REGISTERS). */
static double hll_count(const uint8_t *reg)
{
    /* Four histograms, so that runs of equal registers do not serialise on
     * one counter (2.5x faster than one). */
    uint32_t h4[4][64] = {{0}}, hist[64];
    for (int i = 0; i < HF_HLL_REGISTERS; i += 4) {
        h4[0][reg[i] & 63]++;
        h4[1][reg[i + 1] & 63]++;
        h4[2][reg[i + 2] & 63]++;
        h4[3][reg[i + 3] & 63]++;
    }
    for (int k = 0; k < 64; k++) hist[k] = h4[0][k] + h4[1][k] + h4[2][k] + h4[3][k];
    const double m = HF_HLL_REGISTERS;
    double z = m * hll_tau((m - hist[HLL_MAX_RANK]) / m);
    for (int k = HLL_RANK_BITS; k >= 1; k--) z = 0.5 * (z + hist[k]);
    z += m * hll_sigma(hist[0] / m);
    double e = HLL_ALPHA_INF * m * m / z;
    return e < 18446744073709551616.0 ? e : 18446744073709551616.0;   /* all saturated: z = 0 */
}

/* ------------------------------------------------------------------------
 * Arrays: scans of whole 16-byte groups
 * --------------------------------------------------------------------- */

/* Nonzero when v is among the first n keys of s (the rest of the last
 * group repeats s[0]).  Branch-free: every group is compared and the
 * results OR-ed, one test at the end; with at most 16 groups this beats an
 * early exit, whose exit branch mispredicts on nearly every add. */
static inline int find16(const uint16_t *s, uint32_t n, uint16_t v)
{
#ifdef __SSE2__
    __m128i k = _mm_set1_epi16((short)v), acc = _mm_setzero_si128();
    for (uint32_t i = 0; i < n; i += 8)
        acc = _mm_or_si128(acc, _mm_cmpeq_epi16(
                  _mm_loadu_si128((const __m128i *)(const void *)(s + i)), k));
    return _mm_movemask_epi8(acc);
#else
    uint32_t hit = 0;
    for (uint32_t i = 0; i < n; i++) hit |= s[i] == v;
    return (int)hit;
#endif
}

static inline int find32(const uint32_t *s, uint32_t n, uint32_t v)
{
#ifdef __SSE2__
    __m128i k = _mm_set1_epi32((int)v), acc = _mm_setzero_si128();
    for (uint32_t i = 0; i < n; i += 4)
        acc = _mm_or_si128(acc, _mm_cmpeq_epi32(
                  _mm_loadu_si128((const __m128i *)(const void *)(s + i)), k));
    return _mm_movemask_epi8(acc);
#else
    uint32_t hit = 0;
    for (uint32_t i = 0; i < n; i++) hit |= s[i] == v;
    return (int)hit;
#endif
}

/* 64-bit keys: two per group; a lane matches when both its halves do. */
static inline int find64(const uint64_t *s, uint32_t n, uint64_t v)
{
#ifdef __SSE2__
    __m128i k = _mm_set1_epi64x((long long)v), acc = _mm_setzero_si128();
    for (uint32_t i = 0; i < n; i += 2) {
        __m128i eq = _mm_cmpeq_epi32(_mm_loadu_si128((const __m128i *)(const void *)(s + i)), k);
        acc = _mm_or_si128(acc, _mm_and_si128(eq, _mm_shuffle_epi32(eq, _MM_SHUFFLE(2, 3, 0, 1))));
    }
    return _mm_movemask_epi8(acc);
#else
    uint32_t hit = 0;
    for (uint32_t i = 0; i < n; i++) hit |= s[i] == v;
    return (int)hit;
#endif
}

/* Append k (absent, and fitting the width) to an array with room for it;
 * the first key of a new group also fills the rest of that group with
 * the array's first key. */
static inline void array_place(hf_distinct *d, uint64_t k)
{
    unsigned wc = width_code(d);
    uint32_t i = d->n, group = 16u >> wc;
    switch (wc) {
    case W2: {
        uint16_t *s = d->mem;
        s[i] = (uint16_t)k;
        if (i % group == 0)
            for (uint32_t j = i + 1; j < i + group; j++) s[j] = s[0];
        break;
    }
    case W4: {
        uint32_t *s = d->mem;
        s[i] = (uint32_t)k;
        if (i % group == 0)
            for (uint32_t j = i + 1; j < i + group; j++) s[j] = s[0];
        break;
    }
    default: {
        uint64_t *s = d->mem;
        s[i] = k;
        if (i % group == 0) s[i + 1] = s[0];
        break;
    }
    }
    d->n++;
}

/* ------------------------------------------------------------------------
 * Tables and the bitmap
 * --------------------------------------------------------------------- */

static inline uint32_t home_slot(uint64_t k, unsigned lg)
{
    return (uint32_t)((k * PHI64) >> (64 - lg));
}

static inline uint64_t slot_get(const void *m, unsigned wc, uint32_t i)
{
    switch (wc) {
    case W2:  return ((const uint16_t *)m)[i];
    case W4:  return ((const uint32_t *)m)[i];
    default:  return ((const uint64_t *)m)[i];
    }
}

static inline void slot_set(void *m, unsigned wc, uint32_t i, uint64_t k)
{
    switch (wc) {
    case W2:  ((uint16_t *)m)[i] = (uint16_t)k; break;
    case W4:  ((uint32_t *)m)[i] = (uint32_t)k; break;
    default:  ((uint64_t *)m)[i] = k; break;
    }
}

/* The slot of k (nonzero, fitting the width) in the table, or of the
 * empty slot where it goes.  The table is at most 3/4 full, so the probe
 * ends. */
static inline uint32_t table_slot(const hf_distinct *d, uint64_t k)
{
    unsigned wc = width_code(d);
    uint32_t mask = (1u << d->size) - 1, i = home_slot(k, d->size);
    for (;;) {
        uint64_t s = slot_get(d->mem, wc, i);
        if (s == k || s == 0) return i;
        i = (i + 1) & mask;
    }
}

static inline int bit_get(const uint8_t *b, uint64_t v) { return b[v >> 3] >> (v & 7) & 1; }

/* Nonzero when a table or bitmap holds k. */
static int other_find(const hf_distinct *d, uint64_t k)
{
    if (wc_of_key(k) > width_code(d)) return 0;
    if (layout(d) == L_BITMAP) return bit_get(d->mem, k);
    if (k == 0) return d->form & ZERO;
    return slot_get(d->mem, width_code(d), table_slot(d, k)) != 0;
}

/* Put k, absent and fitting the width, into a set whose layout has room. */
static inline void place(hf_distinct *d, uint64_t k)
{
    switch (layout(d)) {
    case L_ARRAY:
        array_place(d, k);
        return;
    case L_TABLE:
        if (k == 0) d->form |= ZERO;
        else slot_set(d->mem, width_code(d), table_slot(d, k), k);
        break;
    default:                                       /* L_BITMAP */
        ((uint8_t *)d->mem)[k >> 3] |= (uint8_t)(1u << (k & 7));
        break;
    }
    d->n++;
}

/* Run body with k bound to every key of an exact set (form != 0). */
#define FOREACH_KEY(d, k, body) do { \
    const hf_distinct *fe_d = (d); \
    unsigned fe_wc = width_code(fe_d); \
    if (layout(fe_d) == L_ARRAY) { \
        for (uint32_t fe_i = 0; fe_i < fe_d->n; fe_i++) { \
            uint64_t k = slot_get(fe_d->mem, fe_wc, fe_i); \
            body; \
        } \
    } else if (layout(fe_d) == L_TABLE) { \
        if (fe_d->form & ZERO) { uint64_t k = 0; body; } \
        for (uint32_t fe_i = 0; fe_i < (1u << fe_d->size); fe_i++) { \
            uint64_t k = slot_get(fe_d->mem, fe_wc, fe_i); \
            if (k) { body; } \
        } \
    } else { \
        const uint8_t *fe_b = fe_d->mem; \
        for (uint32_t fe_i = 0; fe_i < BITMAP_BYTES; fe_i++) \
            for (unsigned fe_bit = 0; fe_b[fe_i] >> fe_bit; fe_bit++) \
                if (fe_b[fe_i] >> fe_bit & 1) { uint64_t k = (uint64_t)fe_i * 8 + fe_bit; body; } \
    } } while (0)

/* ------------------------------------------------------------------------
 * Changes of layout
 * --------------------------------------------------------------------- */

/* Move the keys of an exact set into fresh memory of this form and size
 * (an array of the same width grows by a copy). */
static void relayout(hf_distinct *d, uint8_t form, uint8_t size, hf_arena *a)
{
    hf_distinct old = *d;
    size_t bytes = bytes_of(form, size);
    d->form = form;
    d->size = size;
    if (old.form == form && layout(&old) == L_ARRAY) {
        d->mem = hf_arena_alloc(a, bytes);
        memcpy(d->mem, old.mem, mem_size(&old));
    } else {
        d->mem = hf_arena_calloc(a, bytes);
        d->n = 0;
        if (old.form) FOREACH_KEY(&old, k, place(d, k));
    }
    if (old.form) hf_arena_release(a, old.mem, mem_size(&old));
}

/* Turn an exact set into the sketch of its keys. */
static void to_sketch(hf_distinct *d, hf_arena *a)
{
    uint8_t *reg = hf_arena_calloc(a, HF_HLL_REGISTERS);
    if (d->form) {
        FOREACH_KEY(d, k, hll_add(reg, hll_hash(k)));
        hf_arena_release(a, d->mem, mem_size(d));
    }
    d->mem = reg;
    d->form = F_SKETCH;
    d->size = 0;
    d->n = 0;
}

/* The slow path of an add: k is new to an exact set.  Appends it when the
 * layout has room for n + 1 keys of its width (then the layout is already
 * layout_for's), else widens or grows the set first, or turns it into a
 * sketch when a set of width 4 or 8 would pass its limit. */
static __attribute__((noinline)) void add_new(hf_distinct *d, uint64_t k, hf_arena *a)
{
    unsigned wc = width_code(d) > wc_of_key(k) ? width_code(d) : wc_of_key(k);
    uint32_t n = d->n + 1;
    if (wc != W2 && n > eff_limit(d)) {
        a = arena_or_current(a);
        to_sketch(d, a);
        hll_add(d->mem, hll_hash(k));
        return;
    }
    if (d->form && wc == width_code(d)) {
        if (layout(d) == L_ARRAY ? n << wc <= (uint32_t)d->size * 16
            : layout(d) == L_TABLE ? (uint64_t)n * 4 <= (uint64_t)3 << d->size
            : 1) {                                 /* a bitmap holds every key of width 2 */
            place(d, k);
            return;
        }
    }
    uint8_t form, size;
    layout_for(wc, n, &form, &size);
    relayout(d, form, size, arena_or_current(a));
    place(d, k);
}

/* Add key k: the hot path stays inline and branch-light (a scan that finds
 * the key, a sketch update), the rest is add_new(). */
static inline __attribute__((always_inline)) void add_key(hf_distinct *d, uint64_t k, hf_arena *a)
{
    switch (d->form) {
    case W4 | L_ARRAY:
        if (k < NARROW_END && find32(d->mem, d->n, (uint32_t)k)) return;
        break;
    case W2 | L_ARRAY:
        if (k < U16_END && find16(d->mem, d->n, (uint16_t)k)) return;
        break;
    case W8 | L_ARRAY:
        if (find64(d->mem, d->n, k)) return;
        break;
    case F_SKETCH:
        hll_add(d->mem, hll_hash(k));
        return;
    case 0:
        break;
    default:
        if (other_find(d, k)) return;
        break;
    }
    add_new(d, k, a);
}

/* ------------------------------------------------------------------------
 * API: adding and counting
 * --------------------------------------------------------------------- */

/* Below 2^32 the number itself; above, a fingerprint of it.  A NULL arena
 * means the thread's current one; memory is taken only when a set grows. */
void hf_distinct_add_u64(hf_distinct *d, uint64_t v, hf_arena *a)
{
    add_key(d, v < NARROW_END ? v : hf_hash_u64(v) | WIDE, a);
}

/* A port or protocol: the same as hf_distinct_add_u64(d, v, a). */
void hf_distinct_add_u16(hf_distinct *d, uint16_t v, hf_arena *a)
{
    add_key(d, v, a);
}

/* An IPv4 address (::ffff:a.b.c.d) is the narrow value a.b.c.d read as a
 * big-endian number; any other address is wide. */
void hf_distinct_add_addr(hf_distinct *d, const uint8_t addr[16], hf_arena *a)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(addr, mapped, 12) == 0)
        add_key(d, (uint64_t)addr[12] << 24 | (uint64_t)addr[13] << 16 |
                   (uint64_t)addr[14] << 8 | addr[15], a);
    else
        add_key(d, hf_hash_addr(addr) | WIDE, a);
}

/* len bytes (a string) as one wide value. */
void hf_distinct_add_bytes(hf_distinct *d, const void *p, size_t len, hf_arena *a)
{
    add_key(d, hf_hash_bytes(p, len) | WIDE, a);
}

/* The wide value whose hash is h (its low 63 bits are the fingerprint). */
void hf_distinct_add_hash(hf_distinct *d, uint64_t h, hf_arena *a)
{
    add_key(d, h | WIDE, a);
}

/* n while exact; the HyperLogLog estimate (O(2^14)) once a sketch. */
double hf_distinct_count(const hf_distinct *d)
{
    return is_sketch(d) ? hll_count(d->mem) : (double)d->n;
}

int hf_distinct_is_sketch(const hf_distinct *d)
{
    return is_sketch(d);
}

/* The keys of a set of width 2 (numbers below 2^16, such as ports): a
 * profile reads a window's ports. */
int hf_distinct_values16(const hf_distinct *d, uint16_t *out, int max)
{
    if (!d->form) return 0;
    if (is_sketch(d) || width_code(d) != W2 || d->n > (uint32_t)max) return -1;
    int n = 0;
    FOREACH_KEY(d, k, out[n++] = (uint16_t)k);
    return n;
}

uint32_t hf_distinct_limit(const hf_distinct *d)
{
    return eff_limit(d);
}

size_t hf_distinct_mem_bytes(const hf_distinct *d)
{
    return mem_size(d);
}

void hf_distinct_release(hf_distinct *d, hf_arena *a)
{
    if (d->form) hf_arena_release(arena_or_current(a), d->mem, mem_size(d));
    d->mem = NULL;
    d->form = 0;
    d->size = 0;
    d->n = 0;
}

/* ------------------------------------------------------------------------
 * API: merging
 * --------------------------------------------------------------------- */

/* dst := src for an empty dst (a coarser window's row receiving its first
 * finer row): one allocation and a copy, the same layout, or the sketch of
 * src's keys when they pass dst's limit. */
static void copy_into_empty(hf_distinct *dst, const hf_distinct *src, hf_arena *a)
{
    if (!is_sketch(src) && width_code(src) != W2 && src->n > eff_limit(dst)) {
        to_sketch(dst, a);
        FOREACH_KEY(src, k, hll_add(dst->mem, hll_hash(k)));
        return;
    }
    size_t bytes = mem_size(src);
    dst->mem = hf_arena_alloc(a, bytes);
    memcpy(dst->mem, src->mem, bytes);
    dst->form = src->form;
    dst->size = src->size;
    dst->n = src->n;
}

/* dst := dst ∪ src under dst's limit.  Exact src: O(src.n) adds (two
 * bitmaps: an OR of 8 KiB); a sketch on either side makes dst a sketch
 * (register-wise max, O(2^14)). */
void hf_distinct_merge(hf_distinct *dst, const hf_distinct *src, hf_arena *a)
{
    if (dst == src || src->form == 0) return;
    a = arena_or_current(a);
    if (dst->form == 0) {
        copy_into_empty(dst, src, a);
        return;
    }
    if (is_sketch(src)) {
        if (!is_sketch(dst)) to_sketch(dst, a);
        hll_max(dst->mem, src->mem);
        return;
    }
    if (is_sketch(dst)) {
        FOREACH_KEY(src, k, hll_add(dst->mem, hll_hash(k)));
        return;
    }
    if (dst->form == F_BITMAP && src->form == F_BITMAP) {
        uint64_t *x = dst->mem, n = 0;
        const uint64_t *y = src->mem;
        for (int i = 0; i < BITMAP_BYTES / 8; i++) {
            x[i] |= y[i];
            n += (uint64_t)__builtin_popcountll(x[i]);
        }
        dst->n = (uint32_t)n;
        return;
    }
    FOREACH_KEY(src, k, add_key(dst, k, a));
}

/* ------------------------------------------------------------------------
 * API: serialisation
 * --------------------------------------------------------------------- */

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

/* Serialise into out (cap bytes): 16388 bytes for a sketch, 8196 for a
 * bitmap, 8 + width * n for an exact set.  Returns the size needed;
 * writes nothing unless it fits. */
size_t hf_distinct_serialize(const hf_distinct *d, uint8_t *out, size_t cap)
{
    unsigned wc = d->form ? width_code(d) : W2, w = 1u << wc;
    int bitmap = !is_sketch(d) && wc == W2 && d->n >= SERIAL_BITMAP_MIN;
    size_t need = is_sketch(d) ? HDR_BYTES + HF_HLL_REGISTERS
                : bitmap ? HDR_BYTES + BITMAP_BYTES
                : EXACT_HDR + (size_t)d->n * w;
    if (need > cap || !out) return need;
    out[0] = FORMAT_VERSION;
    out[1] = (uint8_t)(is_sketch(d) ? TYPE_SKETCH : bitmap ? TYPE_BITMAP : w);
    put16(out + 2, (uint16_t)eff_limit(d));
    if (is_sketch(d) || bitmap) {              /* a bitmap past 4096 values is one in memory too */
        memcpy(out + HDR_BYTES, d->mem, need - HDR_BYTES);
        return need;
    }
    put32(out + HDR_BYTES, d->n);
    if (d->n == 0) return need;
    uint64_t *keys = hf_malloc(sizeof *keys * d->n);
    uint32_t i = 0;
    FOREACH_KEY(d, k, keys[i++] = k);
    qsort(keys, d->n, sizeof *keys, cmp_u64);
    for (i = 0; i < d->n; i++) put_key(out + EXACT_HDR + (size_t)i * w, keys[i], w);
    hf_free(keys);
    return need;
}

/* Read a serialised set into *d.  Returns the bytes consumed, or -1 (and
 * *d empty) when the input is truncated, of another version, or breaks any
 * invariant.  O(len); allocates only for valid input. */
long hf_distinct_deserialize(hf_distinct *d, const uint8_t *in, size_t len, hf_arena *a)
{
    memset(d, 0, sizeof *d);
    if (!in || len < HDR_BYTES || in[0] != FORMAT_VERSION) return -1;
    uint16_t limit = get16(in + 2);
    if (limit == 0) return -1;
    unsigned type = in[1];

    if (type == TYPE_SKETCH || type == TYPE_BITMAP) {
        size_t bytes = type == TYPE_SKETCH ? HF_HLL_REGISTERS : BITMAP_BYTES;
        if (len < HDR_BYTES + bytes) return -1;
        const uint8_t *p = in + HDR_BYTES;
        uint32_t n = 0;
        for (size_t i = 0; i < bytes; i++) {
            if (type == TYPE_SKETCH && p[i] > HLL_MAX_RANK) return -1;
            n += (uint32_t)__builtin_popcount(p[i]);
        }
        if (type == TYPE_BITMAP && n < SERIAL_BITMAP_MIN) return -1;
        d->mem = hf_arena_alloc(arena_or_current(a), bytes);
        memcpy(d->mem, p, bytes);
        d->form = type == TYPE_SKETCH ? F_SKETCH : F_BITMAP;
        d->n = type == TYPE_SKETCH ? 0 : n;
        d->limit = limit;
        return (long)(HDR_BYTES + bytes);
    }
    if ((type != 2 && type != 4 && type != 8) || len < EXACT_HDR) return -1;
    unsigned w = type, wc = (unsigned)__builtin_ctz(w);
    uint32_t n = get32(in + HDR_BYTES);
    if ((size_t)n > (len - EXACT_HDR) / w) return -1;
    if (wc == W2 ? n >= SERIAL_BITMAP_MIN : n > limit) return -1;
    if (n == 0 && wc != W2) return -1;                    /* the empty set has width 2 */
    const uint8_t *p = in + EXACT_HDR;
    uint64_t prev = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t k = get_key(p + (size_t)i * w, w);
        if (i > 0 && k <= prev) return -1;                /* duplicate or out of order */
        if (k >= NARROW_END && !(k & WIDE)) return -1;    /* neither narrow nor wide */
        prev = k;
    }
    if (n > 0 && wc_of_key(prev) != wc) return -1;       /* not the narrowest width */
    d->limit = limit;
    if (n > 0) {
        layout_for(wc, n, &d->form, &d->size);
        d->mem = hf_arena_calloc(arena_or_current(a), mem_size(d));
        for (uint32_t i = 0; i < n; i++) place(d, get_key(p + (size_t)i * w, w));
    }
    return (long)(EXACT_HDR + (size_t)n * w);
}
