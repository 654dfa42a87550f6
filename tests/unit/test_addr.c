/* test_addr.c -- unit tests of core/addr.c: strict parsing of IPv4 and IPv6
 * text, RFC 5952 formatting, round trips, and a differential check against
 * glibc's inet_pton()/inet_ntop() on many random and mutated strings. */
#include "base/addr.h"
#include "unit.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    return rng_state = x;
}

/* Parse a NUL-terminated string; returns hf_addr_parse's status. */
static int parse(const char *s, uint8_t out[16], uint8_t *family)
{
    return hf_addr_parse(s, strlen(s), out, family);
}

/* Parse s, expect success with family fam, and format back to want. */
static int roundtrip_is(const char *s, int fam, const char *want)
{
    uint8_t a[16], f = 0;
    char buf[HF_ADDR_STRLEN];
    if (parse(s, a, &f) != 0) {
        fprintf(stderr, "    could not parse '%s'\n", s);
        return 0;
    }
    size_t n = hf_addr_format(a, f, buf);
    if (f != fam || strcmp(buf, want) != 0 || n != strlen(want)) {
        fprintf(stderr, "    '%s' -> family %d '%s', want %d '%s'\n", s, f, buf, fam, want);
        return 0;
    }
    return 1;
}

TEST(ipv4_valid)
{
    uint8_t a[16], f = 0;
    CHECK_EQ_INT(parse("192.0.2.10", a, &f), 0);
    CHECK_EQ_INT(f, 4);
    static const uint8_t want[16] = {0,0,0,0,0,0,0,0,0,0,0xff,0xff,192,0,2,10};
    CHECK(memcmp(a, want, 16) == 0);

    CHECK(roundtrip_is("0.0.0.0", 4, "0.0.0.0"));
    CHECK(roundtrip_is("255.255.255.255", 4, "255.255.255.255"));
    CHECK(roundtrip_is("10.0.0.1", 4, "10.0.0.1"));
    CHECK(roundtrip_is("1.22.133.250", 4, "1.22.133.250"));
    CHECK(roundtrip_is("100.99.9.0", 4, "100.99.9.0"));
}

TEST(ipv4_invalid)
{
    static const char *bad[] = {
        "", "1", "1.2", "1.2.3", "1.2.3.4.5", "1.2.3.", ".1.2.3", "1..2.3",
        "256.0.0.1", "1.2.3.256", "1.2.3.300", "10.0.0.300", "999.1.1.1",
        "01.2.3.4", "1.02.3.4", "1.2.3.04", "00.0.0.0", "1.2.3.00", "1.2.3.0000",
        "1.2.3.1234", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4\n", "1.2.3.-4", "1.2.3.+4",
        "0x1.2.3.4", "1.2.3.4/8", "1.2.3.a", "a.b.c.d", "1,2,3,4", "1.2.3.4.",
        "4294967295", "1.2.65535", "1.2.3.4%eth0", "1e2.1.1.1", "...", "1 .2.3.4",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        uint8_t a[16], f;
        if (parse(bad[k], a, &f) == 0) {
            fprintf(stderr, "    accepted '%s'\n", bad[k]);
            CHECK(0);
        }
    }
    /* An embedded NUL ends nothing: it is just a bad byte. */
    uint8_t a[16], f;
    CHECK(hf_addr_parse("1.2.3.4\0", 8, a, &f) < 0);
    CHECK(hf_addr_parse("1.2\0.3.4", 8, a, &f) < 0);
}

TEST(ipv6_valid)
{
    CHECK(roundtrip_is("::", 6, "::"));
    CHECK(roundtrip_is("::1", 6, "::1"));
    CHECK(roundtrip_is("1::", 6, "1::"));
    CHECK(roundtrip_is("2001:db8::1", 6, "2001:db8::1"));
    CHECK(roundtrip_is("2001:DB8::1", 6, "2001:db8::1"));
    CHECK(roundtrip_is("2001:0db8:0000:0000:0000:0000:0000:0001", 6, "2001:db8::1"));
    CHECK(roundtrip_is("2001:db8:0:0:1:0:0:1", 6, "2001:db8::1:0:0:1"));       /* leftmost tie */
    CHECK(roundtrip_is("2001:0:0:1:0:0:0:1", 6, "2001:0:0:1::1"));            /* longest run */
    CHECK(roundtrip_is("2001:db8:0:1:1:1:1:1", 6, "2001:db8:0:1:1:1:1:1"));   /* one 0 kept */
    CHECK(roundtrip_is("2001:db8::1:1:1:1:1", 6, "2001:db8:0:1:1:1:1:1"));    /* "::" for one group */
    CHECK(roundtrip_is("1:2:3:4:5:6:7::", 6, "1:2:3:4:5:6:7:0"));
    CHECK(roundtrip_is("::2:3:4:5:6:7:8", 6, "0:2:3:4:5:6:7:8"));
    CHECK(roundtrip_is("1:0:0:0:0:0:0:0", 6, "1::"));
    CHECK(roundtrip_is("0:0:0:0:0:0:0:1", 6, "::1"));
    CHECK(roundtrip_is("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 6,
                       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
    CHECK(roundtrip_is("fe80::1:2", 6, "fe80::1:2"));
    CHECK(roundtrip_is("1:0:0:2:0:0:0:3", 6, "1:0:0:2::3"));
    CHECK(roundtrip_is("0:0:1:0:0:0:0:0", 6, "0:0:1::"));
    CHECK(roundtrip_is("0:0:1:0:0:1:0:0", 6, "::1:0:0:1:0:0"));
    CHECK(roundtrip_is("1:2:3:4:5:6:7:8", 6, "1:2:3:4:5:6:7:8"));
    CHECK(roundtrip_is("0001:0020:0300:4000:0:0:0:0", 6, "1:20:300:4000::"));

    /* Embedded IPv4: mapped keeps mixed notation, everything else is hex. */
    CHECK(roundtrip_is("::ffff:192.0.2.1", 6, "::ffff:192.0.2.1"));
    CHECK(roundtrip_is("::FFFF:192.0.2.1", 6, "::ffff:192.0.2.1"));
    CHECK(roundtrip_is("0:0:0:0:0:ffff:c000:201", 6, "::ffff:192.0.2.1"));
    CHECK(roundtrip_is("::ffff:0.0.0.0", 6, "::ffff:0.0.0.0"));
    CHECK(roundtrip_is("::1.2.3.4", 6, "::102:304"));
    CHECK(roundtrip_is("64:ff9b::192.0.2.33", 6, "64:ff9b::c000:221"));
    CHECK(roundtrip_is("1:2:3:4:5:6:1.2.3.4", 6, "1:2:3:4:5:6:102:304"));
    CHECK(roundtrip_is("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 6,
                       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));

    /* The mapped IPv6 text is family 6 but the same 16 bytes as IPv4 text. */
    uint8_t a[16], b[16], fa, fb;
    CHECK_EQ_INT(parse("::ffff:10.1.2.3", a, &fa), 0);
    CHECK_EQ_INT(parse("10.1.2.3", b, &fb), 0);
    CHECK(memcmp(a, b, 16) == 0);
    CHECK_EQ_INT(fa, 6);
    CHECK_EQ_INT(fb, 4);
}

TEST(ipv6_invalid)
{
    static const char *bad[] = {
        ":", ":::", "1:", ":1", "1:2", "1::2::3", "::1::", "1:::2", ":1::2", "1::2:",
        "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8",
        "1:2:3:4::5:6:7:8", "12345::", "::12345", "g::", "::g", "1:2:3:4:5:6:7:8 ",
        " ::1", "::1 ", "[::1]", "fe80::1%eth0", "fe80::1%1", "::1/128", "::-1", "::+1",
        "::ffff:1.2.3", "::ffff:1.2.3.4.5", "::ffff:01.2.3.4", "::ffff:256.1.1.1",
        "::1.2.3.4:1", "::1.2.3.4::", "1.2.3.4::", "1:2:3:4:5:6:7:1.2.3.4",
        "::1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:8:1.2.3.4", "::ffff:1.2.3.4x",
        "::ffff:a.2.3.4", "::ffff:1.2.3.", "0000:0000:0000:0000:0000:0000:0000:00000",
        "02001:db8::1", "2001:db8:::1", "2001:db8::1::", "::0x1", "1::2\n",
        "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255:", "1:2:3:4:5:6:7:8:",
        "0000:0000:0000:0000:0000:0000:0000:0000:", /* 40 bytes */
        "00000000000000000000000000000000000000000000::", /* 46 bytes */
        "::ffff:1.2.3.4.", "::.", "::ffff:.1.2.3", "::ffff:1..2.3",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        uint8_t a[16], f;
        if (parse(bad[k], a, &f) == 0) {
            fprintf(stderr, "    accepted '%s'\n", bad[k]);
            CHECK(0);
        }
    }
}

TEST(length_bounded)
{
    /* Only len bytes are read: a valid prefix of a longer buffer parses. */
    uint8_t a[16], f;
    char buf[HF_ADDR_STRLEN];
    CHECK_EQ_INT(hf_addr_parse("10.0.0.1xyz", 8, a, &f), 0);
    hf_addr_format(a, f, buf);
    CHECK_EQ_STR(buf, "10.0.0.1");
    CHECK_EQ_INT(hf_addr_parse("10.0.0.123", 8, a, &f), 0);
    hf_addr_format(a, f, buf);
    CHECK_EQ_STR(buf, "10.0.0.1");
    CHECK_EQ_INT(hf_addr_parse("2001:db8::1\"", 11, a, &f), 0);
    hf_addr_format(a, f, buf);
    CHECK_EQ_STR(buf, "2001:db8::1");

    /* Exactly at an allocation's end: ASan catches any read past len. */
    static const char *texts[] = { "1.2.3.4", "::", "::1", "2001:db8::ffff:1.2.3.4",
                                   "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" };
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        size_t n = strlen(texts[k]);
        char *p = malloc(n);
        memcpy(p, texts[k], n);
        for (size_t cut = 0; cut <= n; cut++)
            (void)hf_addr_parse(p + (n - cut), cut, a, &f);
        CHECK_EQ_INT(hf_addr_parse(p, n, a, &f), 0);
        free(p);
    }
    CHECK(hf_addr_parse("1.2.3.4", 0, a, &f) < 0);
}

TEST(format_matches_inet_ntop)
{
    /* Random addresses, biased to zero groups so that runs and ties occur. */
    for (int it = 0; it < 200000; it++) {
        uint8_t a[16];
        uint64_t r = rnd(), mask = rnd();
        for (int k = 0; k < 8; k++) {
            unsigned v = (unsigned)(rnd() >> 48);
            if ((mask >> (2 * k)) & 1) v = 0;
            else if ((mask >> (2 * k + 1)) & 1) v &= 0xf;
            a[2 * k] = (uint8_t)(v >> 8);
            a[2 * k + 1] = (uint8_t)v;
        }
        if ((r & 7) == 0) {             /* IPv4-mapped */
            memset(a, 0, 10);
            a[10] = a[11] = 0xff;
        }
        char mine[HF_ADDR_STRLEN], libc[INET6_ADDRSTRLEN];
        size_t n = hf_addr_format(a, 6, mine);
        CHECK_EQ_INT(n, strlen(mine));
        inet_ntop(AF_INET6, a, libc, sizeof libc);
        /* glibc alone writes the deprecated IPv4-compatible ::a.b.c.d form. */
        int compat = memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0", 12) == 0 &&
                     (a[12] | a[13]) != 0;
        if (!compat && strcmp(mine, libc) != 0) {
            fprintf(stderr, "    format '%s', inet_ntop '%s'\n", mine, libc);
            CHECK(0);
            break;
        }
        uint8_t b[16], f;
        if (hf_addr_parse(mine, n, b, &f) != 0 || f != 6 || memcmp(a, b, 16) != 0) {
            fprintf(stderr, "    '%s' does not parse back\n", mine);
            CHECK(0);
            break;
        }
    }
    /* And IPv4. */
    for (int it = 0; it < 100000; it++) {
        uint8_t a[16] = {0,0,0,0,0,0,0,0,0,0,0xff,0xff}, b[16], f;
        uint32_t v = (uint32_t)rnd();
        if (it & 1) v &= 0x0f0f0f0f;
        memcpy(a + 12, &v, 4);
        char mine[HF_ADDR_STRLEN], libc[INET_ADDRSTRLEN];
        size_t n = hf_addr_format(a, 4, mine);
        inet_ntop(AF_INET, a + 12, libc, sizeof libc);
        CHECK_EQ_STR(mine, libc);
        CHECK(hf_addr_parse(mine, n, b, &f) == 0 && f == 4 && memcmp(a, b, 16) == 0);
    }
}

/* hf_addr_parse_v4, with 16 bytes to read (the way without a branch per
 * digit) and without, takes exactly what hf_addr_parse takes as IPv4. */
TEST(the_ipv4_parser_agrees_with_the_general_one)
{
    static const char alphabet[] = "0123456789....0129.:x/ 5";
    char buf[32];
    int bad = 0;
    for (int it = 0; it < 2000000 && bad < 5; it++) {
        uint64_t r = rnd();
        size_t len = 1 + (size_t)(r % 17);
        if (it & 1) {                        /* well-formed quads with random parts */
            int n = snprintf(buf, sizeof buf, "%u.%u.%u.%u", (unsigned)(rnd() % 300),
                             (unsigned)(rnd() % 260), (unsigned)(rnd() % 1000), (unsigned)(rnd() % 256));
            len = (size_t)n;
            if ((r >> 40) % 5 == 0) buf[(r >> 8) % len] = alphabet[(r >> 16) % (sizeof alphabet - 1)];
            if ((r >> 44) % 7 == 0) { memmove(buf + 1, buf, len); buf[0] = '0'; len++; }
        } else {
            for (size_t i = 0; i < len; i++) buf[i] = alphabet[(rnd() >> 20) % (sizeof alphabet - 1)];
        }
        for (size_t i = len; i < sizeof buf; i++) buf[i] = "9.1"[(i + (size_t)r) % 3];  /* after the text */
        uint8_t a[16], b[16], c[16], f;
        int g = hf_addr_parse(buf, len, a, &f) == 0 && f == 4;
        int v16 = hf_addr_parse_v4(buf, len, sizeof buf, b) == 0;
        int vn = hf_addr_parse_v4(buf, len, len, c) == 0;
        if (g != v16 || g != vn || (g && (memcmp(a, b, 16) != 0 || memcmp(a, c, 16) != 0))) {
            fprintf(stderr, "    '%.*s': general %d, v4 (16) %d, v4 (len) %d\n", (int)len, buf, g, v16, vn);
            bad++;
        }
    }
    CHECK_EQ_INT(bad, 0);
}

TEST(every_byte_value_is_formatted_as_inet_ntop_does_in_every_place)
{
    for (unsigned v = 0; v < 256; v++)
        for (int k = 0; k < 4; k++) {
            uint8_t a[16] = {0,0,0,0,0,0,0,0,0,0,0xff,0xff, 1, 22, 233, 4};
            a[12 + k] = (uint8_t)v;
            char mine[HF_ADDR_STRLEN], libc[INET6_ADDRSTRLEN];
            memset(mine, 'x', sizeof mine);
            size_t n = hf_addr_format(a, 4, mine);
            inet_ntop(AF_INET, a + 12, libc, sizeof libc);
            CHECK_EQ_STR(mine, libc);
            CHECK_EQ_INT(n, strlen(libc));
            hf_addr_format(a, 6, mine);
            inet_ntop(AF_INET6, a, libc, sizeof libc);
            CHECK_EQ_STR(mine, libc);
        }
}

/* Compare hf_addr_parse with inet_pton on s[0..len).  Returns 1 if they agree. */
static int agrees_with_libc(const char *s, size_t len)
{
    uint8_t mine[16], f, libc[16];
    char z[64];
    int ok = hf_addr_parse(s, len, mine, &f) == 0;
    if (len >= sizeof z || memchr(s, '\0', len)) return !ok || len < sizeof z;
    memcpy(z, s, len);
    z[len] = '\0';
    int lok;
    if (memchr(s, ':', len)) {
        lok = inet_pton(AF_INET6, z, libc) == 1;
    } else {
        memset(libc, 0, 10);
        libc[10] = libc[11] = 0xff;
        lok = inet_pton(AF_INET, z, libc + 12) == 1;
    }
    if (ok != lok || (ok && memcmp(mine, libc, 16) != 0)) {
        fprintf(stderr, "    '%s': mine %d, inet_pton %d\n", z, ok, lok);
        return 0;
    }
    return 1;
}

TEST(parse_matches_inet_pton)
{
    /* Random strings over the address alphabet: mostly invalid, some valid. */
    static const char alpha[] = "0123456789abcdefABCDEF::::....";
    int bad = 0;
    for (int it = 0; it < 300000 && bad < 5; it++) {
        char s[48];
        size_t len = (size_t)(rnd() % 20);
        for (size_t k = 0; k < len; k++) s[k] = alpha[rnd() % (sizeof alpha - 1)];
        if (!agrees_with_libc(s, len)) bad++;
    }
    /* Structured: groups with random widths, maybe a "::", maybe a v4 tail,
     * then one random mutation. */
    static const char *v4s[] = { "1.2.3.4", "255.0.10.200", "0.0.0.0", "01.2.3.4", "1.2.3" };
    for (int it = 0; it < 300000 && bad < 10; it++) {
        char s[128];
        size_t len = 0;
        int ngroups = (int)(rnd() % 9), gap = (int)(rnd() % 12), tail = (rnd() % 4) == 0;
        for (int g = 0; g < ngroups; g++) {
            if (g == gap) { s[len++] = ':'; s[len++] = ':'; }
            else if (g) s[len++] = ':';
            int w = 1 + (int)(rnd() % 5);
            for (int k = 0; k < w; k++) s[len++] = "0123456789abcdefABCDEF"[rnd() % 22];
        }
        if (gap == ngroups) { s[len++] = ':'; s[len++] = ':'; }
        if (tail) {
            const char *t = v4s[rnd() % 5];
            if (len && s[len - 1] != ':') s[len++] = ':';
            memcpy(s + len, t, strlen(t));
            len += strlen(t);
        }
        if (rnd() % 3 == 0 && len) {
            size_t at = (size_t)(rnd() % len);
            s[at] = ":.0aG"[rnd() % 5];
        }
        if (len <= 60 && !agrees_with_libc(s, len)) bad++;
    }
    CHECK_EQ_INT(bad, 0);
}

int main(void)
{
    RUN(ipv4_valid);
    RUN(ipv4_invalid);
    RUN(ipv6_valid);
    RUN(ipv6_invalid);
    RUN(length_bounded);
    RUN(format_matches_inet_ntop);
    RUN(every_byte_value_is_formatted_as_inet_ntop_does_in_every_place);
    RUN(the_ipv4_parser_agrees_with_the_general_one);
    RUN(parse_matches_inet_pton);
    return UNIT_END();
}
