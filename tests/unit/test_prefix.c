/* test_prefix.c -- unit tests of core/prefix.c: parsing of "[!]ADDR[/LEN]"
 * and its error messages, longest-prefix match over nested IPv4 and IPv6
 * includes and excludes, and a randomized comparison of the trie against a
 * brute-force linear scan. */
#include "stream/prefix.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    return rng_state = x;
}

/* 1 when the set monitors text address s (which must parse). */
static int matches(const hf_prefixes *p, const char *s)
{
    uint8_t a[16], f;
    if (hf_addr_parse(s, strlen(s), a, &f) != 0) {
        fprintf(stderr, "    test bug: bad address '%s'\n", s);
        return -1;
    }
    return hf_prefixes_match(p, a);
}

/* Add every prefix of a NULL-terminated list; returns the number that failed. */
static int add_all(hf_prefixes *p, const char **list)
{
    int failed = 0;
    char err[128];
    for (; *list; list++) {
        if (hf_prefixes_add(p, *list, err, sizeof err) != 0) {
            fprintf(stderr, "    add '%s': %s\n", *list, err);
            failed++;
        }
    }
    return failed;
}

/* Add cidr, expect failure with exactly the message want. */
static int add_fails_with(const char *cidr, const char *want)
{
    hf_prefixes *p = hf_prefixes_new();
    char err[128] = "";
    int rc = hf_prefixes_add(p, cidr, err, sizeof err);
    int ok = rc == -1 && strcmp(err, want) == 0 && hf_prefixes_count(p) == 0;
    if (!ok) fprintf(stderr, "    '%s': rc %d, '%s', want '%s'\n", cidr, rc, err, want);
    hf_prefixes_free(p);
    return ok;
}

TEST(empty_set_matches_everything)
{
    hf_prefixes *p = hf_prefixes_new();
    CHECK_EQ_INT(hf_prefixes_count(p), 0);
    CHECK_EQ_INT(matches(p, "10.0.0.1"), 1);
    CHECK_EQ_INT(matches(p, "2001:db8::1"), 1);
    CHECK_EQ_INT(matches(p, "::"), 1);
    /* A failed add leaves it empty, still matching everything. */
    char err[64];
    CHECK(hf_prefixes_add(p, "bogus", err, sizeof err) < 0);
    CHECK_EQ_INT(matches(p, "10.0.0.1"), 1);
    hf_prefixes_free(p);
    hf_prefixes_free(NULL);
}

TEST(add_errors)
{
    CHECK(add_fails_with("", "empty prefix"));
    CHECK(add_fails_with("!", "empty prefix after '!'"));
    CHECK(add_fails_with("10.0.0.300", "bad address '10.0.0.300'"));
    CHECK(add_fails_with("10.0.0.300/8", "bad address '10.0.0.300'"));
    CHECK(add_fails_with("!10.0.0.300/8", "bad address '10.0.0.300'"));
    CHECK(add_fails_with("10.0.0/8", "bad address '10.0.0'"));
    CHECK(add_fails_with("010.0.0.0/8", "bad address '010.0.0.0'"));
    CHECK(add_fails_with("2001:db8:::/32", "bad address '2001:db8:::'"));
    CHECK(add_fails_with("[2001:db8::]/32", "bad address '[2001:db8::]'"));
    CHECK(add_fails_with("fe80::1%eth0/64", "bad address 'fe80::1%eth0'"));
    CHECK(add_fails_with("!!10.0.0.0/8", "bad address '!10.0.0.0'"));
    CHECK(add_fails_with("10.0.0.0/33", "prefix length 33 out of range for IPv4"));
    CHECK(add_fails_with("10.0.0.0/255", "prefix length 255 out of range for IPv4"));
    CHECK(add_fails_with("10.0.0.0/99999999999", "prefix length 99999999999 out of range for IPv4"));
    CHECK(add_fails_with("::/129", "prefix length 129 out of range for IPv6"));
    CHECK(add_fails_with("::ffff:10.0.0.0/129", "prefix length 129 out of range for IPv6"));
    CHECK(add_fails_with("10.0.0.0/", "missing prefix length after '/' in '10.0.0.0/'"));
    CHECK(add_fails_with("/8", "missing address in prefix '/8'"));
    CHECK(add_fails_with("!/8", "missing address in prefix '!/8'"));
    CHECK(add_fails_with("10.0.0.0/8/9", "bad prefix length '8/9'"));
    CHECK(add_fails_with("10.0.0.0/-1", "bad prefix length '-1'"));
    CHECK(add_fails_with("10.0.0.0/+8", "bad prefix length '+8'"));
    CHECK(add_fails_with("10.0.0.0/0x8", "bad prefix length '0x8'"));
    CHECK(add_fails_with("10.0.0.0/08", "bad prefix length '08' (leading zero)"));
    CHECK(add_fails_with("10.0.0.0/8 ", "whitespace in prefix '10.0.0.0/8 '"));
    CHECK(add_fails_with(" 10.0.0.0/8", "whitespace in prefix ' 10.0.0.0/8'"));
    CHECK(add_fails_with("10.0.0.0 /8", "whitespace in prefix '10.0.0.0 /8'"));
    CHECK(add_fails_with("! 10.0.0.0/8", "whitespace in prefix '! 10.0.0.0/8'"));
    CHECK(add_fails_with("10.0.0.0/8\n", "whitespace in prefix '10.0.0.0/8\n'"));

    /* A long bad address is quoted but cut short. */
    hf_prefixes *p = hf_prefixes_new();
    char longtext[300], err[256];
    memset(longtext, '1', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    CHECK(hf_prefixes_add(p, longtext, err, sizeof err) < 0);
    CHECK(strlen(err) < 100);
    /* A tiny or absent message buffer is fine. */
    CHECK(hf_prefixes_add(p, "x", err, 4) < 0);
    CHECK_EQ_INT(strlen(err), 3);
    CHECK(hf_prefixes_add(p, "x", NULL, 0) < 0);
    CHECK(hf_prefixes_add(p, NULL, err, sizeof err) < 0);
    CHECK_EQ_STR(err, "empty prefix");
    CHECK_EQ_INT(hf_prefixes_count(p), 0);
    hf_prefixes_free(p);
}

TEST(ipv4_nested)
{
    hf_prefixes *p = hf_prefixes_new();
    static const char *list[] = {
        "10.0.0.0/8", "!10.1.0.0/16", "10.1.2.0/24", "!10.1.2.128/25", "10.1.2.200/32",
        "192.168.1.77/24",              /* host bits ignored: 192.168.1.0/24 */
        "!192.168.1.1",                 /* a single host */
        NULL,
    };
    CHECK_EQ_INT(add_all(p, list), 0);
    CHECK_EQ_INT(hf_prefixes_count(p), 7);

    CHECK_EQ_INT(matches(p, "10.0.0.0"), 1);
    CHECK_EQ_INT(matches(p, "10.255.255.255"), 1);
    CHECK_EQ_INT(matches(p, "10.0.255.1"), 1);
    CHECK_EQ_INT(matches(p, "10.1.0.0"), 0);
    CHECK_EQ_INT(matches(p, "10.1.255.255"), 0);
    CHECK_EQ_INT(matches(p, "10.1.1.255"), 0);
    CHECK_EQ_INT(matches(p, "10.1.2.0"), 1);
    CHECK_EQ_INT(matches(p, "10.1.2.127"), 1);
    CHECK_EQ_INT(matches(p, "10.1.2.128"), 0);
    CHECK_EQ_INT(matches(p, "10.1.2.199"), 0);
    CHECK_EQ_INT(matches(p, "10.1.2.200"), 1);
    CHECK_EQ_INT(matches(p, "10.1.2.201"), 0);
    CHECK_EQ_INT(matches(p, "10.1.3.0"), 0);
    CHECK_EQ_INT(matches(p, "10.2.0.0"), 1);
    CHECK_EQ_INT(matches(p, "11.0.0.0"), 0);
    CHECK_EQ_INT(matches(p, "9.255.255.255"), 0);
    CHECK_EQ_INT(matches(p, "192.168.1.0"), 1);
    CHECK_EQ_INT(matches(p, "192.168.1.1"), 0);
    CHECK_EQ_INT(matches(p, "192.168.1.2"), 1);
    CHECK_EQ_INT(matches(p, "192.168.1.255"), 1);
    CHECK_EQ_INT(matches(p, "192.168.2.0"), 0);
    /* IPv4 prefixes cover the mapped IPv6 text too, and nothing else. */
    CHECK_EQ_INT(matches(p, "::ffff:10.0.0.1"), 1);
    CHECK_EQ_INT(matches(p, "::10.0.0.1"), 0);
    CHECK_EQ_INT(matches(p, "2001:db8::10.0.0.1"), 0);
    CHECK_EQ_INT(matches(p, "::"), 0);
    hf_prefixes_free(p);
}

TEST(ipv4_zero_and_host_routes)
{
    hf_prefixes *p = hf_prefixes_new();
    static const char *list[] = { "0.0.0.0/0", "!0.0.0.0/1", "127.0.0.1/32", "!255.255.255.255/32", NULL };
    CHECK_EQ_INT(add_all(p, list), 0);
    CHECK_EQ_INT(matches(p, "0.0.0.0"), 0);
    CHECK_EQ_INT(matches(p, "127.0.0.0"), 0);
    CHECK_EQ_INT(matches(p, "127.0.0.1"), 1);
    CHECK_EQ_INT(matches(p, "127.0.0.2"), 0);
    CHECK_EQ_INT(matches(p, "128.0.0.0"), 1);
    CHECK_EQ_INT(matches(p, "255.255.255.254"), 1);
    CHECK_EQ_INT(matches(p, "255.255.255.255"), 0);
    /* IPv4 /0 is ::ffff:0:0/96, not all of IPv6. */
    CHECK_EQ_INT(matches(p, "2001:db8::1"), 0);
    CHECK_EQ_INT(matches(p, "::fffe:ffff:ffff"), 0);
    CHECK_EQ_INT(matches(p, "::1:0:0:0"), 0);
    hf_prefixes_free(p);

    /* The mapped IPv6 spelling is the same prefix: the last one wins. */
    p = hf_prefixes_new();
    static const char *mapped[] = { "10.0.0.0/8", "!::ffff:10.0.0.0/104", NULL };
    CHECK_EQ_INT(add_all(p, mapped), 0);
    CHECK_EQ_INT(hf_prefixes_count(p), 1);
    CHECK_EQ_INT(matches(p, "10.1.2.3"), 0);
    hf_prefixes_free(p);
}

TEST(ipv6_nested)
{
    hf_prefixes *p = hf_prefixes_new();
    static const char *list[] = {
        "2001:db8::/32", "!2001:db8:1::/48", "2001:db8:1:2::/64", "!2001:db8:1:2::1/128",
        "fe80::/10", "::1", "2001:db8:ffff:ffff::dead:beef/96",
        NULL,
    };
    CHECK_EQ_INT(add_all(p, list), 0);
    CHECK_EQ_INT(matches(p, "2001:db8::"), 1);
    CHECK_EQ_INT(matches(p, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), 1);
    CHECK_EQ_INT(matches(p, "2001:db9::"), 0);
    CHECK_EQ_INT(matches(p, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"), 0);
    CHECK_EQ_INT(matches(p, "2001:db8:1::"), 0);
    CHECK_EQ_INT(matches(p, "2001:db8:1:1::"), 0);
    CHECK_EQ_INT(matches(p, "2001:db8:1:2::"), 1);
    CHECK_EQ_INT(matches(p, "2001:db8:1:2::1"), 0);
    CHECK_EQ_INT(matches(p, "2001:db8:1:2::2"), 1);
    CHECK_EQ_INT(matches(p, "2001:db8:1:2:ffff:ffff:ffff:ffff"), 1);
    CHECK_EQ_INT(matches(p, "2001:db8:1:3::"), 0);
    CHECK_EQ_INT(matches(p, "2001:db8:2::"), 1);
    CHECK_EQ_INT(matches(p, "fe80::1"), 1);
    CHECK_EQ_INT(matches(p, "febf:ffff::"), 1);
    CHECK_EQ_INT(matches(p, "fec0::"), 0);
    CHECK_EQ_INT(matches(p, "::1"), 1);
    CHECK_EQ_INT(matches(p, "::2"), 0);
    CHECK_EQ_INT(matches(p, "::"), 0);
    CHECK_EQ_INT(matches(p, "10.0.0.1"), 0);
    hf_prefixes_free(p);

    p = hf_prefixes_new();
    static const char *all[] = { "::/0", "!::ffff:0:0/96", "!2001:db8::/32", "2001:db8::1/128", NULL };
    CHECK_EQ_INT(add_all(p, all), 0);
    CHECK_EQ_INT(matches(p, "::"), 1);
    CHECK_EQ_INT(matches(p, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 1);
    CHECK_EQ_INT(matches(p, "10.0.0.1"), 0);
    CHECK_EQ_INT(matches(p, "::fffe:ffff:ffff"), 1);
    CHECK_EQ_INT(matches(p, "::1:0:0:0"), 1);
    CHECK_EQ_INT(matches(p, "2001:db8::"), 0);
    CHECK_EQ_INT(matches(p, "2001:db8::1"), 1);
    CHECK_EQ_INT(matches(p, "2001:db8::2"), 0);
    hf_prefixes_free(p);
}

TEST(duplicates_last_wins)
{
    hf_prefixes *p = hf_prefixes_new();
    char err[64];
    CHECK_EQ_INT(hf_prefixes_add(p, "10.0.0.0/8", err, sizeof err), 0);
    CHECK_EQ_INT(matches(p, "10.1.2.3"), 1);
    CHECK_EQ_INT(hf_prefixes_add(p, "!10.0.0.0/8", err, sizeof err), 0);
    CHECK_EQ_INT(matches(p, "10.1.2.3"), 0);
    CHECK_EQ_INT(hf_prefixes_add(p, "10.9.9.9/8", err, sizeof err), 0);   /* same prefix */
    CHECK_EQ_INT(matches(p, "10.1.2.3"), 1);
    CHECK_EQ_INT(hf_prefixes_count(p), 1);

    /* A prefix landing on a glue node made by two others gets its verdict. */
    CHECK_EQ_INT(hf_prefixes_add(p, "11.0.0.0/8", err, sizeof err), 0);   /* glue at 10.0.0.0/7 */
    CHECK_EQ_INT(hf_prefixes_count(p), 2);
    CHECK_EQ_INT(matches(p, "10.0.0.0"), 1);
    CHECK_EQ_INT(matches(p, "11.0.0.0"), 1);
    CHECK_EQ_INT(hf_prefixes_add(p, "!10.0.0.0/7", err, sizeof err), 0);
    CHECK_EQ_INT(hf_prefixes_count(p), 3);
    CHECK_EQ_INT(matches(p, "10.0.0.0"), 1);
    CHECK_EQ_INT(hf_prefixes_add(p, "!10.0.0.0/8", err, sizeof err), 0);
    CHECK_EQ_INT(matches(p, "10.0.0.0"), 0);
    CHECK_EQ_INT(matches(p, "11.0.0.0"), 1);
    CHECK_EQ_INT(hf_prefixes_count(p), 3);
    hf_prefixes_free(p);

    /* Only exclusions: nothing is monitored (no included prefix covers). */
    p = hf_prefixes_new();
    CHECK_EQ_INT(hf_prefixes_add(p, "!10.0.0.0/8", err, sizeof err), 0);
    CHECK_EQ_INT(matches(p, "10.0.0.1"), 0);
    CHECK_EQ_INT(matches(p, "192.0.2.1"), 0);
    hf_prefixes_free(p);
}

TEST(insertion_order_does_not_matter)
{
    /* Same distinct prefixes, added shorter-first and longer-first. */
    static const char *list[] = {
        "0.0.0.0/0", "10.0.0.0/8", "!10.128.0.0/9", "10.128.0.0/10", "!10.128.0.0/24",
        "10.128.0.5", "::/0", "!2000::/3", "2001:db8::/32", "!2001:db8::/33", NULL,
    };
    hf_prefixes *a = hf_prefixes_new(), *b = hf_prefixes_new();
    CHECK_EQ_INT(add_all(a, list), 0);
    char err[64];
    for (int k = (int)(sizeof list / sizeof list[0]) - 2; k >= 0; k--)
        CHECK_EQ_INT(hf_prefixes_add(b, list[k], err, sizeof err), 0);
    for (int it = 0; it < 100000; it++) {
        uint8_t addr[16];
        uint64_t r1 = rnd(), r2 = rnd();
        memcpy(addr, &r1, 8);
        memcpy(addr + 8, &r2, 8);
        if (it & 1) { memset(addr, 0, 10); addr[10] = addr[11] = 0xff; addr[12] = 10; }
        if ((it & 3) == 2) { addr[0] = 0x20; addr[1] = 0x01; addr[2] = 0x0d; addr[3] = 0xb8; }
        if (hf_prefixes_match(a, addr) != hf_prefixes_match(b, addr)) {
            CHECK(0);
            break;
        }
    }
    hf_prefixes_free(a);
    hf_prefixes_free(b);
}

TEST(ipv4_jump_table_edges)
{
    /* IPv4 lookups start from a slot per /12 block: prefixes at, around and
     * below /12, and IPv6 prefixes holding all IPv4 space, added late. */
    hf_prefixes *p = hf_prefixes_new();
    static const char *first[] = {
        "10.16.0.0/12", "!10.24.0.0/13", "10.16.0.0/13", "!10.16.0.0/16", "10.31.255.0/24",
        "!10.0.0.0/11", "10.0.0.0/20", NULL,
    };
    CHECK_EQ_INT(add_all(p, first), 0);
    CHECK_EQ_INT(matches(p, "10.17.0.1"), 1);       /* /13 include */
    CHECK_EQ_INT(matches(p, "10.16.0.1"), 0);       /* /16 exclude */
    CHECK_EQ_INT(matches(p, "10.24.0.1"), 0);       /* /13 exclude */
    CHECK_EQ_INT(matches(p, "10.31.255.9"), 1);     /* /24 under the exclude */
    CHECK_EQ_INT(matches(p, "10.31.254.9"), 0);
    CHECK_EQ_INT(matches(p, "10.0.15.255"), 1);     /* /20 inside the /11 exclude */
    CHECK_EQ_INT(matches(p, "10.0.16.0"), 0);
    CHECK_EQ_INT(matches(p, "10.15.0.0"), 0);
    CHECK_EQ_INT(matches(p, "10.32.0.0"), 0);       /* nothing covers */

    static const char *later[] = { "::/0", "!::ffff:0:0/97", "::ffff:10.16.0.0/108", NULL };
    CHECK_EQ_INT(add_all(p, later), 0);
    CHECK_EQ_INT(matches(p, "10.32.0.0"), 0);       /* now under the /97 exclude */
    CHECK_EQ_INT(matches(p, "128.0.0.1"), 1);       /* ::/0 */
    CHECK_EQ_INT(matches(p, "10.16.0.1"), 0);       /* still the /16 exclude */
    CHECK_EQ_INT(matches(p, "10.17.0.1"), 1);
    CHECK_EQ_INT(matches(p, "2001:db8::1"), 1);
    CHECK_EQ_INT(matches(p, "::fffe:a00:1"), 1);

    /* Overwriting a short prefix changes the verdict for its blocks. */
    static const char *flip[] = { "::ffff:0:0/97", "!10.0.0.0/8", "10.16.0.0/16", NULL };
    CHECK_EQ_INT(add_all(p, flip), 0);
    CHECK_EQ_INT(matches(p, "10.32.0.0"), 0);
    CHECK_EQ_INT(matches(p, "11.0.0.0"), 1);
    CHECK_EQ_INT(matches(p, "10.16.0.1"), 1);
    CHECK_EQ_INT(matches(p, "10.0.15.255"), 1);
    hf_prefixes_free(p);
}

/* ---- randomized comparison against a linear scan ---------------------- */

typedef struct {
    uint8_t key[16];
    unsigned len;       /* 0..128, IPv4 already + 96 */
    int include;
} ref_prefix;

/* 1 when the first len bits of a and b agree. */
static int ref_covers(const uint8_t *key, unsigned len, const uint8_t *addr)
{
    unsigned full = len / 8, rest = len % 8;
    if (memcmp(key, addr, full) != 0) return 0;
    if (!rest) return 1;
    uint8_t m = (uint8_t)(0xff << (8 - rest));
    return (key[full] & m) == (addr[full] & m);
}

/* Longest match by scanning every prefix; the later of equal prefixes wins. */
static int ref_match(const ref_prefix *list, size_t n, const uint8_t addr[16])
{
    if (n == 0) return 1;
    int best_len = -1, verdict = 0;
    for (size_t k = 0; k < n; k++) {
        if ((int)list[k].len >= best_len && ref_covers(list[k].key, list[k].len, addr)) {
            best_len = (int)list[k].len;
            verdict = list[k].include;
        }
    }
    return verdict;
}

/* A random address: IPv4-mapped or IPv6, often close to a known prefix. */
static void random_addr(uint8_t a[16], const ref_prefix *list, size_t n)
{
    uint64_t r1 = rnd(), r2 = rnd();
    memcpy(a, &r1, 8);
    memcpy(a + 8, &r2, 8);
    unsigned mode = (unsigned)(rnd() % 4);
    if (mode == 0) {                            /* IPv4 anywhere */
        memset(a, 0, 10);
        a[10] = a[11] = 0xff;
    } else if (mode >= 2 && n) {                /* inside some prefix, flip a bit maybe */
        const ref_prefix *p = &list[rnd() % n];
        unsigned full = p->len / 8, rest = p->len % 8;
        memcpy(a, p->key, full);
        if (rest) {
            uint8_t m = (uint8_t)(0xff << (8 - rest));
            a[full] = (uint8_t)((p->key[full] & m) | (a[full] & ~m));
        }
        if (mode == 3 && p->len) {
            unsigned bit = (unsigned)(rnd() % p->len);
            a[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
        }
    }
}

/* Make a random prefix text and its reference entry. */
static void random_prefix(char *text, size_t size, ref_prefix *rp, const ref_prefix *list, size_t n)
{
    uint8_t a[16];
    int v4 = rnd() % 2;
    random_addr(a, list, n);                    /* often nests with earlier ones */
    if (v4) { memset(a, 0, 10); a[10] = a[11] = 0xff; }
    int v4addr = memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0;
    unsigned max = v4addr ? 32 : 128;
    unsigned len = (unsigned)(rnd() % (max + 1));
    if (rnd() % 4 == 0) len = max - (unsigned)(rnd() % 3);      /* host routes and near */
    int include = (int)(rnd() % 3 != 0);
    char addr[HF_ADDR_STRLEN];
    hf_addr_format(a, v4addr ? 4 : 6, addr);
    snprintf(text, size, "%s%s/%u", include ? "" : "!", addr, len);

    memcpy(rp->key, a, 16);
    rp->len = v4addr ? len + 96 : len;
    rp->include = include;
}

TEST(random_against_linear_scan)
{
    enum { ROUNDS = 8, PREFIXES = 400, LOOKUPS = 100000 };
    static ref_prefix list[PREFIXES];
    for (int round = 0; round < ROUNDS; round++) {
        hf_prefixes *p = hf_prefixes_new();
        size_t n = 0;
        int bad = 0;
        size_t nprefixes = round == 0 ? 3 : round == 1 ? 20 : PREFIXES;
        for (size_t k = 0; k < nprefixes; k++) {
            char text[80], err[128];
            random_prefix(text, sizeof text, &list[n], list, n);
            if (hf_prefixes_add(p, text, err, sizeof err) != 0) {
                fprintf(stderr, "    add '%s': %s\n", text, err);
                bad++;
                continue;
            }
            n++;
        }
        /* Distinct count: compare with the reference (masked keys). */
        size_t distinct = 0;
        for (size_t k = 0; k < n; k++) {
            int seen = 0;
            for (size_t j = k + 1; j < n && !seen; j++)
                seen = list[j].len == list[k].len && ref_covers(list[j].key, list[k].len, list[k].key);
            distinct += !seen;
        }
        CHECK_EQ_INT(hf_prefixes_count(p), distinct);

        unsigned hits = 0;
        for (int it = 0; it < LOOKUPS && bad < 5; it++) {
            uint8_t a[16];
            random_addr(a, list, n);
            int want = ref_match(list, n, a), got = hf_prefixes_match(p, a);
            hits += (unsigned)want;
            if (want != got) {
                char s[HF_ADDR_STRLEN];
                hf_addr_format(a, 6, s);
                fprintf(stderr, "    round %d: %s trie %d, scan %d\n", round, s, got, want);
                bad++;
            }
        }
        CHECK_EQ_INT(bad, 0);
        CHECK(hits > 0 && hits < LOOKUPS);      /* both verdicts exercised */
        hf_prefixes_free(p);
    }
}

int main(void)
{
    RUN(empty_set_matches_everything);
    RUN(add_errors);
    RUN(ipv4_nested);
    RUN(ipv4_zero_and_host_routes);
    RUN(ipv6_nested);
    RUN(duplicates_last_wins);
    RUN(insertion_order_does_not_matter);
    RUN(ipv4_jump_table_edges);
    RUN(random_against_linear_scan);
    return UNIT_END();
}
