/* fuzz_prefix.c -- libFuzzer target for core/addr.c and core/prefix.c.
 *
 * The input is read as lines:
 *
 *   10.0.0.0/8          a prefix to add ("!" for an exclusion)
 *   ?10.1.2.3           an address to look up
 *
 * Every line, whatever it is, is also fed to hf_addr_parse() straight from the
 * fuzzer's buffer (length-bounded, no NUL), and must agree with glibc's
 * inet_pton(); what parses must format and parse back to the same bytes, and
 * format to the same text again.  Every prefix line goes to hf_prefixes_add()
 * and to an independent reference parser, which must agree on accept/reject.
 * Then the trie is compared with a brute-force linear scan on the '?' addresses,
 * on the first and last address of every prefix and their neighbours, and on
 * the input's bytes taken 16 at a time.  Any disagreement aborts.
 *
 * Build: make build/fuzz/fuzz_prefix.  Seeds: tests/fuzz/seeds/prefix/. */
#include "base/addr.h"
#include "stream/prefix.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PREFIXES 256
#define MAX_LINE     128

typedef struct {
    uint8_t key[16];
    unsigned len;           /* 0..128 (IPv4 already + 96) */
    int include;
} ref_prefix;

static ref_prefix refs[MAX_PREFIXES];
static size_t nrefs;

static void fail(const char *what, const uint8_t *s, size_t len)
{
    fprintf(stderr, "fuzz_prefix: %s: '%.*s'\n", what, (int)len, (const char *)s);
    abort();
}

/* 1 when the first len bits of key and addr agree. */
static int ref_covers(const uint8_t *key, unsigned len, const uint8_t *addr)
{
    unsigned full = len / 8, rest = len % 8;
    if (memcmp(key, addr, full) != 0) return 0;
    if (!rest) return 1;
    uint8_t m = (uint8_t)(0xff << (8 - rest));
    return (key[full] & m) == (addr[full] & m);
}

static int ref_match(const uint8_t addr[16])
{
    if (nrefs == 0) return 1;
    int best = -1, verdict = 0;
    for (size_t k = 0; k < nrefs; k++)
        if ((int)refs[k].len >= best && ref_covers(refs[k].key, refs[k].len, addr)) {
            best = (int)refs[k].len;
            verdict = refs[k].include;
        }
    return verdict;
}

/* The reference reading of "[!]ADDR[/LEN]", written apart from prefix.c:
 * returns 1 and fills r when the text is a valid prefix. */
static int ref_parse(const char *s, ref_prefix *r)
{
    r->include = 1;
    if (*s == '!') { r->include = 0; s++; }
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    uint8_t fam;
    if (hf_addr_parse(s, alen, r->key, &fam) != 0) return 0;
    unsigned max = fam == 4 ? 32 : 128, len = max;
    if (slash) {
        const char *l = slash + 1;
        char *end;
        if (l[0] < '0' || l[0] > '9' || (l[0] == '0' && l[1] != '\0')) return 0;
        unsigned long v = strtoul(l, &end, 10);
        if (*end || v > max) return 0;
        len = (unsigned)v;
    }
    r->len = fam == 4 ? len + 96 : len;
    return 1;
}

/* Check hf_addr_parse/format on s[0..len) against inet_pton and themselves. */
static void check_addr(const uint8_t *s, size_t len)
{
    uint8_t a[16], b[16], fam, fam2;
    char text[HF_ADDR_STRLEN], text2[HF_ADDR_STRLEN];
    int ok = hf_addr_parse((const char *)s, len, a, &fam) == 0;

    if (len < 64 && !memchr(s, '\0', len)) {
        char z[64];
        uint8_t libc[16] = {0};
        memcpy(z, s, len);
        z[len] = '\0';
        int lok;
        if (memchr(s, ':', len)) {
            lok = inet_pton(AF_INET6, z, libc) == 1;
        } else {
            libc[10] = libc[11] = 0xff;
            lok = inet_pton(AF_INET, z, libc + 12) == 1;
        }
        if (ok != lok) fail(ok ? "parsed, inet_pton refused" : "refused, inet_pton parsed", s, len);
        if (ok && memcmp(a, libc, 16) != 0) fail("parsed unlike inet_pton", s, len);
    }
    if (!ok) return;
    if (fam != 4 && fam != 6) fail("bad family", s, len);
    size_t n = hf_addr_format(a, fam, text);
    if (n != strlen(text) || n >= HF_ADDR_STRLEN) fail("format length", s, len);
    if (hf_addr_parse(text, n, b, &fam2) != 0) fail("formatted text does not parse", s, len);
    if (memcmp(a, b, 16) != 0 || fam2 != fam) fail("round trip changed the address", s, len);
    hf_addr_format(b, fam2, text2);
    if (strcmp(text, text2) != 0) fail("format is not stable", s, len);
    if (fam == 6) {                     /* and agrees with inet_ntop but for ::a.b.c.d */
        char libc[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, a, libc, sizeof libc);
        int compat = memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0", 12) == 0 && (a[12] | a[13]);
        if (!compat && strcmp(text, libc) != 0) fail("format differs from inet_ntop", s, len);
    }
}

static void check_lookup(const hf_prefixes *p, const uint8_t addr[16])
{
    if (hf_prefixes_match(p, addr) != ref_match(addr)) {
        char text[HF_ADDR_STRLEN];
        hf_addr_format(addr, 6, text);
        fail("trie and linear scan disagree", (const uint8_t *)text, strlen(text));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hf_prefixes *p = hf_prefixes_new();
    nrefs = 0;

    /* Pass 1: parse every line, add the prefixes. */
    for (size_t at = 0; at < size; ) {
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t end = nl ? (size_t)(nl - data) : size, len = end - at;
        const uint8_t *line = data + at;
        at = end + 1;

        check_addr(line, len);
        if (len && line[0] == '?') check_addr(line + 1, len - 1);
        if ((len && line[0] == '?') || len >= MAX_LINE || nrefs == MAX_PREFIXES) continue;

        char cidr[MAX_LINE];
        memcpy(cidr, line, len);
        cidr[len] = '\0';
        char err[96];
        int rc = hf_prefixes_add(p, cidr, err, sizeof err);
        ref_prefix r;
        int ref_ok = ref_parse(cidr, &r);     /* both read up to a NUL */
        if ((rc == 0) != ref_ok) fail(rc == 0 ? "added, reference refused" : "refused, reference added", line, len);
        if (rc != 0 && err[0] == '\0') fail("refused without a message", line, len);
        if (rc == 0) refs[nrefs++] = r;
    }

    /* Distinct prefixes, counted the slow way. */
    size_t distinct = 0;
    for (size_t k = 0; k < nrefs; k++) {
        int seen = 0;
        for (size_t j = k + 1; j < nrefs && !seen; j++)
            seen = refs[j].len == refs[k].len && ref_covers(refs[j].key, refs[k].len, refs[k].key);
        distinct += !seen;
    }
    if (hf_prefixes_count(p) != distinct) fail("count", data, 0);

    /* Pass 2: look up. */
    for (size_t at = 0; at < size; ) {
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t end = nl ? (size_t)(nl - data) : size, len = end - at;
        const uint8_t *line = data + at;
        at = end + 1;
        uint8_t a[16], fam;
        if (len && line[0] == '?' && hf_addr_parse((const char *)line + 1, len - 1, a, &fam) == 0)
            check_lookup(p, a);
    }
    for (size_t k = 0; k < nrefs; k++) {
        uint8_t a[16];
        memcpy(a, refs[k].key, 16);
        unsigned full = refs[k].len / 8, rest = refs[k].len % 8;
        /* first address, last address, and one past either end */
        if (full < 16) {
            if (rest) a[full] &= (uint8_t)(0xff << (8 - rest));
            else a[full] = 0;
            memset(a + full + 1, 0, 15 - full);
        }
        check_lookup(p, a);
        for (int i = 15; i >= 0 && a[i]-- == 0; i--) {}
        check_lookup(p, a);
        memcpy(a, refs[k].key, 16);
        if (full < 16) {
            if (rest) a[full] |= (uint8_t)(0xff >> rest);
            else a[full] = 0xff;
            memset(a + full + 1, 0xff, 15 - full);
        }
        check_lookup(p, a);
        for (int i = 15; i >= 0 && ++a[i] == 0; i--) {}
        check_lookup(p, a);
    }
    for (size_t at = 0; at + 16 <= size; at += 16) {
        uint8_t a[16];
        memcpy(a, data + at, 16);
        check_lookup(p, a);
        memset(a, 0, 10);               /* and the same bits as IPv4 */
        a[10] = a[11] = 0xff;
        check_lookup(p, a);
    }

    hf_prefixes_free(p);
    return 0;
}
