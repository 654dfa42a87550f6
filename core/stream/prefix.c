/* prefix.c -- the monitored networks: longest-prefix match over included and
 * excluded IPv4 and IPv6 prefixes, in one path-compressed binary trie.
 *
 * Layout
 * ------
 * Every prefix is a 128-bit key plus a length; an IPv4 prefix a.b.c.d/L is
 * stored as its IPv4-mapped form ::ffff:a.b.c.d/(96+L).  The trie is a
 * Patricia tree: a node holds a whole key and length, not one bit, and its two
 * children are told apart by the bit just after that length.  A node is either
 * a prefix that was added (INCLUDE or EXCLUDE) or a GLUE node, made where two
 * keys part ways and carrying no verdict.  Nothing is ever one-child glue, so
 * the tree has at most 2n - 1 nodes for n prefixes and its depth is bounded by
 * the number of distinct prefix lengths on one path, never by the 128 bits:
 * the 96 bits of ::ffff:0:0/96 are crossed in one step.
 *
 * With 0.0.0.0/0, 10.0.0.0/8, !10.1.0.0/16, 10.1.2.0/24 and 2001:db8::/32
 * (the keys of ::ffff:0:0 and 2001:db8:: first differ at bit 2):
 *
 *                      [ ::/2  GLUE ]
 *                   0 /              \ 1
 *   [ ::ffff:0.0.0.0/96  INCLUDE ]  [ 2001:db8::/32  INCLUDE ]
 *                 0 /
 *   [ ::ffff:10.0.0.0/104  INCLUDE ]          0 / 1 \ : child by the bit
 *                 0 /                           just after the node's length
 *   [ ::ffff:10.1.0.0/112  EXCLUDE ]
 *                 0 /
 *   [ ::ffff:10.1.2.0/120  INCLUDE ]
 *
 * Looking up 10.1.2.3 visits five nodes and ends on INCLUDE; 10.1.9.9 stops
 * below the EXCLUDE; 192.0.2.1 stops at the /96 (0.0.0.0/0), INCLUDE.
 *
 * Nodes live in one array and point at each other by 32-bit index (0 is "no
 * node"), so the tree is 32 bytes a node, two to a cache line, and is freed
 * in one go.  Keys are held as two host-order 64-bit words, so that a prefix
 * test is two XORs and shifts and the branch bit is one shift.
 *
 * Lookup walks down from the root: at each node it checks that the node's
 * prefix covers the address (if not, no deeper node can), remembers the
 * node's verdict if it has one, and follows the child picked by the next bit.
 * The last verdict seen is the longest match.  No prefix at all matches
 * everything; prefixes that do not cover an address leave it unmonitored.
 *
 * Adding walks the same path; a duplicate prefix overwrites the verdict (the
 * last add wins), a new one is hung below, above or beside (through a new
 * GLUE node) the node where its key departs from the tree's.
 *
 * IPv4 jump table
 * ---------------
 * Most lookups are IPv4, and with many IPv4 prefixes the walk above the
 * ::ffff:0:0/96 node plus the first IPv4 bits is most of its length.  So an
 * IPv4 lookup starts lower: a table of 2^12 slots, one per /12 block of IPv4
 * space, holds for each block where the walk would be once the block's 108
 * bits are known, and the verdict gathered so far:
 *
 *    addr = ::ffff:a.b.c.d           slot[a.b >> 4]  (4096 slots, 16 KB)
 *    top 12 bits of a.b.c.d  ---->  +--------------------------+----+
 *                                   | node to resume at  (30)  | v  |  v: verdict
 *                                   +--------------------------+----+     so far
 *                                              |
 *                                              v  the first node on the block's
 *                                   [ ... /108 or longer ]  path that is /108 or
 *                                              |  longer; the walk goes on there
 *
 * An add refills the slots of the blocks that its prefix meets: 2^(108 - len)
 * of them for an IPv4 prefix shorter than /108 (IPv4 /12), all 4096 for an
 * IPv6 prefix that holds all IPv4 space (::/0), else one or none; so an add
 * costs at most 4096 short walks.  A block the prefix does not meet keeps a
 * valid slot: no verdict its addresses can see has changed (the prefix covers
 * none of them, a GLUE node carries none), and if the new nodes now stand
 * above the slot's resume node, that node extends a key which does not cover
 * the block (the new prefix's, or the far side of the GLUE node's bit), so a
 * walk resumed there stops at once with the slot's verdict, as a walk from
 * the root would.  The randomized and fuzz tests hold the table to this.
 */
#include "stream/prefix.h"

#include "base/alloc.h"

#include <stdio.h>
#include <string.h>

enum { GLUE = 0, INCLUDE = 1, EXCLUDE = 2 };

#define NIL 0u                  /* child index meaning "none"; node 0 is unused */
#define MAX_NODES (1u << 30)    /* a jump-table slot keeps a node index in 30 bits */

typedef struct node {
    uint64_t hi, lo;            /* key bits, host order; bits past len are 0 */
    uint8_t len;                /* 0..128 */
    uint8_t kind;               /* GLUE, INCLUDE or EXCLUDE */
    uint32_t child[2];          /* by the bit at position len */
} node;

struct hf_prefixes {
    node *nodes;                /* nodes[0] unused, so that index 0 is NIL */
    uint32_t used, cap;
    uint32_t root;
    size_t count;               /* distinct prefixes (non-GLUE nodes) */
    uint32_t *v4;               /* V4_SLOTS entries: resume node << 2 | verdict */
};

/* The IPv4 jump table: one slot per /V4_BITS block of IPv4 space.  12 bits
 * (16 KB) does nearly as well as 16 (256 KB) on bench_prefix and keeps the
 * table in cache; 8 bits is a quarter slower at 1000 prefixes. */
#define V4_BITS   12
#define V4_SLOTS  (1u << V4_BITS)
#define V4_DEPTH  (96 + V4_BITS)    /* key length the table resolves */

/* ------------------------------------------------------------------------
 * Bits
 * --------------------------------------------------------------------- */

/* The 8 bytes at b as a big-endian number: one load and one bswap (a byte
 * loop is not turned into that by gcc 12). */
static inline uint64_t load_be64(const uint8_t *b)
{
    uint64_t v;
    memcpy(&v, b, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* The bit at position pos (0 = most significant) of hi:lo; pos < 128. */
static inline unsigned bit_at(uint64_t hi, uint64_t lo, unsigned pos)
{
    return pos < 64 ? (unsigned)(hi >> (63 - pos)) & 1 : (unsigned)(lo >> (127 - pos)) & 1;
}

/* Clear the bits of *hi:*lo from position len on. */
static inline void mask_to(uint64_t *hi, uint64_t *lo, unsigned len)
{
    if (len == 0) { *hi = 0; *lo = 0; }
    else if (len < 64) { *hi &= ~0ULL << (64 - len); *lo = 0; }
    else if (len == 64) { *lo = 0; }
    else if (len < 128) { *lo &= ~0ULL << (128 - len); }
}

/* 1 when the first len bits of two keys are equal, given their XOR dh:dl. */
static inline int same_prefix(uint64_t dh, uint64_t dl, unsigned len)
{
    if (len <= 64) return len == 0 || (dh >> (64 - len)) == 0;
    return dh == 0 && (dl >> (128 - len)) == 0;
}

/* Number of leading bits two keys share, at most max. */
static inline unsigned common_len(uint64_t dh, uint64_t dl, unsigned max)
{
    unsigned c = dh ? (unsigned)__builtin_clzll(dh)
               : dl ? 64 + (unsigned)__builtin_clzll(dl) : 128;
    return c < max ? c : max;
}

/* ------------------------------------------------------------------------
 * Tree
 * --------------------------------------------------------------------- */

/* Create an empty set: it matches every address until a prefix is added. */
hf_prefixes *hf_prefixes_new(void)
{
    hf_prefixes *p = hf_calloc(1, sizeof *p);
    p->cap = 16;
    p->nodes = hf_malloc(p->cap * sizeof *p->nodes);
    p->used = 1;                /* node 0 is NIL */
    p->root = NIL;
    p->v4 = hf_calloc(V4_SLOTS, sizeof *p->v4);    /* all (NIL, GLUE): right for no prefix */
    return p;
}

/* Free the set and all its nodes; p may be NULL. */
void hf_prefixes_free(hf_prefixes *p)
{
    if (!p) return;
    hf_free(p->nodes);
    hf_free(p->v4);
    hf_free(p);
}

/* Append a node and return its index.  Grows the array, so node pointers
 * taken before the call are stale after it. */
static uint32_t node_new(hf_prefixes *p, uint64_t hi, uint64_t lo, unsigned len, int kind)
{
    if (p->used == p->cap) {
        p->cap *= 2;
        p->nodes = hf_realloc(p->nodes, p->cap * sizeof *p->nodes);
    }
    uint32_t i = p->used++;
    node *n = &p->nodes[i];
    n->hi = hi;
    n->lo = lo;
    n->len = (uint8_t)len;
    n->kind = (uint8_t)kind;
    n->child[0] = n->child[1] = NIL;
    return i;
}

/* Put key hi:lo (already masked to len) in the tree with verdict kind,
 * replacing the verdict of an equal prefix.  Adds at most two nodes; returns
 * the node that holds the prefix. */
static uint32_t tree_insert(hf_prefixes *p, uint64_t hi, uint64_t lo, unsigned len, int kind)
{
    uint32_t parent = NIL;      /* the link to rewrite: parent's child[dir], or root */
    unsigned dir = 0;
    uint32_t cur = p->root;

    while (cur != NIL) {
        node *n = &p->nodes[cur];
        unsigned max = len < n->len ? len : n->len;
        unsigned c = common_len(hi ^ n->hi, lo ^ n->lo, max);
        if (c < n->len) break;                  /* the key leaves the tree above n */
        if (n->len == len) {                    /* the same prefix: last add wins */
            if (n->kind == GLUE) p->count++;
            n->kind = (uint8_t)kind;
            return cur;
        }
        parent = cur;
        dir = bit_at(hi, lo, n->len);
        cur = n->child[dir];
    }

    uint32_t fresh, held;       /* the node linked in, the node of the prefix */
    if (cur == NIL) {
        fresh = held = node_new(p, hi, lo, len, kind);      /* a new leaf */
    } else {
        node old = p->nodes[cur];
        unsigned max = len < old.len ? len : old.len;
        unsigned c = common_len(hi ^ old.hi, lo ^ old.lo, max);
        if (c == len) {                         /* the key is above cur */
            fresh = held = node_new(p, hi, lo, len, kind);
            p->nodes[fresh].child[bit_at(old.hi, old.lo, len)] = cur;
        } else {                                /* they part at bit c: glue */
            uint64_t gh = hi, gl = lo;
            mask_to(&gh, &gl, c);
            fresh = node_new(p, gh, gl, c, GLUE);
            held = node_new(p, hi, lo, len, kind);
            p->nodes[fresh].child[bit_at(hi, lo, c)] = held;
            p->nodes[fresh].child[bit_at(old.hi, old.lo, c)] = cur;
        }
    }
    if (parent == NIL) p->root = fresh;
    else p->nodes[parent].child[dir] = fresh;
    p->count++;
    return held;
}

/* Recompute slot b of the IPv4 table: walk from the root towards the block,
 * taking the verdicts of nodes shorter than V4_DEPTH, and stop at the first
 * node of V4_DEPTH bits or more, where lookups in the block will resume (a
 * node of exactly V4_DEPTH bits covers the whole block, but which child comes
 * next depends on the bits below it). */
static void v4_slot_fill(hf_prefixes *p, uint32_t b)
{
    uint64_t hi = 0, lo = 0xffff00000000ULL | (uint64_t)b << (32 - V4_BITS);
    int verdict = GLUE;
    uint32_t cur = p->root;
    while (cur != NIL) {
        const node *n = &p->nodes[cur];
        if (n->len >= V4_DEPTH) break;
        if (!same_prefix(hi ^ n->hi, lo ^ n->lo, n->len)) { cur = NIL; break; }
        if (n->kind != GLUE) verdict = n->kind;
        cur = n->child[bit_at(hi, lo, n->len)];
    }
    p->v4[b] = cur << 2 | (uint32_t)verdict;
}

/* Bring the IPv4 table up to date after an add put a verdict on node held:
 * refill the slots of the blocks its prefix meets, at most V4_SLOTS.  The
 * others stay valid (see "IPv4 jump table" above). */
static void v4_update(hf_prefixes *p, uint32_t held)
{
    const node *t = &p->nodes[held];
    uint64_t mh = 0, ml = 0xffff00000000ULL;          /* ::ffff:0.0.0.0 */
    unsigned plen = t->len < 96 ? t->len : 96;
    if (!same_prefix(t->hi ^ mh, t->lo ^ ml, plen)) return;    /* not IPv4 space */
    uint32_t first = 0, nslots = V4_SLOTS;
    if (t->len > 96) {
        unsigned bits = t->len - 96 < V4_BITS ? t->len - 96 : V4_BITS;
        first = (uint32_t)(t->lo >> (32 - V4_BITS)) & (V4_SLOTS - 1);
        nslots = 1u << (V4_BITS - bits);
    }
    for (uint32_t b = first; b < first + nslots; b++) v4_slot_fill(p, b);
}

/* ------------------------------------------------------------------------
 * API
 * --------------------------------------------------------------------- */

/* Add "ADDR[/LEN]", or "!ADDR[/LEN]" for an exclusion (the text is checked
 * by hf_cidr_parse).  Returns 0, or -1 with a message in err naming the
 * fault (the set is then unchanged). */
int hf_prefixes_add(hf_prefixes *p, const char *cidr, char *err, size_t errlen)
{
    uint8_t a[16];
    unsigned len;
    int exclude;
    if (hf_cidr_parse(cidr, a, &len, &exclude, err, errlen) < 0) return -1;
    int kind = exclude ? EXCLUDE : INCLUDE;
    if (p->used > MAX_NODES - 2) {
        if (err && errlen) snprintf(err, errlen, "too many prefixes (%zu)", p->count);
        return -1;
    }
    uint64_t hi = load_be64(a), lo = load_be64(a + 8);
    mask_to(&hi, &lo, len);
    v4_update(p, tree_insert(p, hi, lo, len, kind));
    return 0;
}

/* Number of distinct prefixes held, included and excluded; adding one that
 * is already there does not count twice. */
size_t hf_prefixes_count(const hf_prefixes *p)
{
    return p->count;
}

/* 1 when the longest held prefix covering addr is an included one, or when no
 * prefix is held at all; else 0.  Visits at most one node per distinct prefix
 * length on the path (at most 129), usually a handful; an IPv4 address starts
 * from its jump-table slot, below the first 108 bits. */
int hf_prefixes_match(const hf_prefixes *p, const uint8_t addr[16])
{
    if (p->count == 0) return 1;

    uint64_t hi = load_be64(addr), lo = load_be64(addr + 8);
    const node *nodes = p->nodes;
    int verdict = GLUE;
    uint32_t cur = p->root;
    if (hi == 0 && lo >> 32 == 0xffff) {            /* IPv4: jump to the block */
        uint32_t slot = p->v4[(uint32_t)lo >> (32 - V4_BITS)];
        verdict = (int)(slot & 3);
        cur = slot >> 2;
    }

    while (cur != NIL) {
        const node *n = &nodes[cur];
        if (!same_prefix(hi ^ n->hi, lo ^ n->lo, n->len)) break;
        if (n->kind != GLUE) verdict = n->kind;
        if (n->len == 128) break;
        cur = n->child[bit_at(hi, lo, n->len)];
    }
    return verdict == INCLUDE;
}
