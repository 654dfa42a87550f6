/* test_profile.c -- a profile's hosts (engine/profile.c): rows made once,
 * absorbed once per window, forgotten when not seen, bounded; the file
 * written atomically and read back, its hosts shared out by worker; files
 * truncated, corrupt, of another profile or declaration refused and set
 * aside; numbers read out of records' JSON fragments; one host as a
 * changelog message (profiles.topic) read back, into the rows held aside
 * until the host is absorbed, and every malformed message refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hash.h"
#include "engine/profile.h"
#include "unit.h"

#define T0  1764165600000LL
#define MIN 60000LL

static hf_field fields[] = {{0, HF_FIELD_SUM, 0}, {8, HF_FIELD_BYTES, 16}};
static hf_schema schema = {fields, 2, 24};

static void addr_of(uint32_t i, uint8_t a[16])
{
    memset(a, 0, 16);
    a[10] = a[11] = 0xff;
    a[12] = 10;
    a[13] = (uint8_t)(i >> 16);
    a[14] = (uint8_t)(i >> 8);
    a[15] = (uint8_t)i;
}

static double *sum_of(uint8_t *row)
{
    return (double *)(void *)(row + sizeof(hf_profile_host));
}

static char dir[256];

static void path_of(const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", dir, name);
}

TEST(a_host_absorbs_a_window_once_and_a_replayed_window_is_skipped)
{
    hf_profiles *p = hf_profiles_new("p", "sig", &schema, 100);
    uint8_t a[16];
    addr_of(1, a);
    uint8_t *r = hf_profiles_absorb(p, a, 0, T0, T0 + MIN);
    CHECK(r != NULL);
    *sum_of(r) += 5;
    CHECK(hf_profiles_absorb(p, a, 0, T0, T0 + MIN) == NULL);            /* the same window */
    CHECK(hf_profiles_absorb(p, a, 0, T0 - 10000, T0) == NULL);          /* an older one */
    r = hf_profiles_absorb(p, a, 0, T0 + MIN, T0 + 2 * MIN);
    CHECK(r != NULL && *sum_of(r) == 5);
    CHECK_EQ_INT(((hf_profile_host *)(void *)r)->absorbed_until, T0 + 2 * MIN);
    hf_profile_stats st;
    hf_profiles_stats(p, &st);
    CHECK_EQ_INT(st.hosts, 1);
    CHECK_EQ_INT(st.absorbed, 2);
    CHECK_EQ_INT(st.skipped, 2);
    hf_profiles_free(p);
}

TEST(hosts_past_max_hosts_are_refused_and_those_not_seen_are_forgotten)
{
    hf_profiles *p = hf_profiles_new("p", "sig", &schema, 3000);
    uint8_t a[16];
    for (uint32_t i = 0; i < 5000; i++) {
        addr_of(i, a);
        uint8_t *r = hf_profiles_absorb(p, a, 0, T0 + (i % 2) * MIN, T0 + (i % 2 + 1) * MIN);
        CHECK((r != NULL) == (i < 3000));
        if (r) *sum_of(r) = i;
    }
    hf_profile_stats st;
    hf_profiles_stats(p, &st);
    CHECK_EQ_INT(st.hosts, 3000);
    CHECK_EQ_INT(st.refused, 2000);
    CHECK_EQ_INT(hf_profiles_expire(p, T0 + 2 * MIN), 1500);      /* those last seen in the first minute */
    for (uint32_t i = 0; i < 3000; i++) {                          /* the others are found, unchanged */
        addr_of(i, a);
        uint8_t *r = hf_profiles_find(p, a);
        CHECK((r != NULL) == (i % 2 == 1));
        if (r) CHECK(*sum_of(r) == i);
    }
    for (uint32_t i = 5000; i < 6500; i++) {                       /* their rows are taken again */
        addr_of(i, a);
        CHECK(hf_profiles_host(p, a, 0) != NULL);
    }
    hf_profiles_stats(p, &st);
    CHECK_EQ_INT(st.hosts, 3000);
    CHECK_EQ_INT(st.expired, 1500);
    CHECK_EQ_INT(hf_profiles_nrows(p), 3000);
    hf_profiles_free(p);
}

TEST(a_store_counts_against_its_pool_and_refuses_hosts_past_the_limit)
{
    hf_pool *pool = hf_pool_new(1 << 20);                       /* 1 MiB, the windows' too */
    hf_profiles *p = hf_profiles_new("p", "sig", &schema, 1000000);
    hf_profiles_pool(p, pool);
    uint8_t a[16];
    uint32_t made = 0;
    for (uint32_t i = 0; i < 100000; i++) {
        addr_of(i, a);
        if (hf_profiles_host(p, a, 0)) made++;
    }
    hf_profile_stats st;
    hf_profiles_stats(p, &st);
    CHECK(made > 1000 && made < 100000);
    CHECK_EQ_INT(st.hosts, made);
    CHECK_EQ_INT(st.refused_memory, 100000 - made);
    CHECK_EQ_INT(st.refused, 0);
    CHECK_EQ_INT(hf_pool_bytes(pool), st.bytes);                /* charged what it holds */
    CHECK(hf_pool_bytes(pool) <= (1 << 20));
    addr_of(0, a);
    CHECK(hf_profiles_host(p, a, 0) != NULL);                   /* a host kept is still found */
    hf_profiles_free(p);
    CHECK_EQ_INT(hf_pool_bytes(pool), 0);                       /* and given back */
    hf_pool_free(pool);
}

TEST(a_saved_file_reads_back_and_each_worker_keeps_its_own_hosts)
{
    char path[512];
    path_of("p.0-of-1.hfp", path, sizeof path);
    hf_profiles *p = hf_profiles_new("p", "sig", &schema, 1000);
    uint8_t a[16];
    for (uint32_t i = 0; i < 500; i++) {
        addr_of(i, a);
        *sum_of(hf_profiles_absorb(p, a, 0, T0, T0 + MIN)) = i * 2;
    }
    char err[1024];
    CHECK_EQ_INT(hf_profiles_save(p, path, 0, 1, T0 + MIN, err, sizeof err), 0);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(access(tmp, F_OK) != 0);                 /* renamed over: no temporary left */
    long total = 0;
    for (int w = 0; w < 3; w++) {
        hf_profiles *q = hf_profiles_new("p", "sig", &schema, 1000);
        int64_t until = 0;
        long n = hf_profiles_load(q, path, w, 3, &until, err, sizeof err);
        CHECK(n > 0);
        CHECK_EQ_INT(until, T0 + MIN);
        total += n;
        for (uint32_t i = 0; i < 500; i++) {
            addr_of(i, a);
            uint8_t *r = hf_profiles_find(q, a);
            int mine = (int)((hf_hash_addr(a) >> 32) % 3) == w;
            CHECK((r != NULL) == mine);
            if (r) {
                CHECK(*sum_of(r) == i * 2);
                CHECK(hf_profiles_absorb(q, a, 0, T0, T0 + MIN) == NULL);   /* absorbed before */
            }
        }
        hf_profiles_free(q);
    }
    CHECK_EQ_INT(total, 500);
    /* a host in two files: the one that absorbed further wins */
    hf_profiles *q = hf_profiles_new("p", "sig", &schema, 1000);
    addr_of(7, a);
    *sum_of(hf_profiles_absorb(q, a, 0, T0 + MIN, T0 + 2 * MIN)) = -1;
    CHECK(hf_profiles_load(q, path, 0, 1, NULL, err, sizeof err) == 499);
    CHECK(*sum_of(hf_profiles_find(q, a)) == -1);
    hf_profiles_free(q);
    hf_profiles_free(p);
    unlink(path);
}

/* A file of p's, damaged by fn, is refused with `why`, and set aside. */
static void refused(void (*fn)(const char *path), const char *name, const char *sig, const char *why)
{
    char path[512], err[2048];
    path_of("r.hfp", path, sizeof path);
    hf_profiles *p = hf_profiles_new("p", "sig", &schema, 100);
    uint8_t a[16];
    addr_of(1, a);
    hf_profiles_absorb(p, a, 0, T0, T0 + MIN);
    CHECK_EQ_INT(hf_profiles_save(p, path, 0, 1, T0 + MIN, err, sizeof err), 0);
    if (fn) fn(path);
    hf_profiles *q = hf_profiles_new(name, sig, &schema, 100);
    CHECK_EQ_INT(hf_profiles_load(q, path, 0, 1, NULL, err, sizeof err), -1);
    if (!strstr(err, why)) fprintf(stderr, "  (message: %s)\n", err);
    CHECK(strstr(err, why) != NULL);
    CHECK(strstr(err, path) == err);                       /* the message names the file */
    CHECK(strstr(err, "; set aside as ") != NULL);
    CHECK(access(path, F_OK) != 0);                        /* renamed aside */
    CHECK(hf_profiles_find(q, a) == NULL);
    char aside[600];
    snprintf(aside, sizeof aside, "%s.bad-", path);
    char *at = strstr(err, aside);
    CHECK(at != NULL);
    if (at) unlink(at);
    hf_profiles_free(q);
    hf_profiles_free(p);
}

static void truncate_it(const char *path)
{
    CHECK_EQ_INT(truncate(path, 100), 0);
}

static void flip_a_byte(const char *path)
{
    FILE *f = fopen(path, "r+b");
    fseek(f, -20, SEEK_END);
    int c = fgetc(f);
    fseek(f, -20, SEEK_END);
    fputc(c ^ 0x40, f);
    fclose(f);
}

static void garbage(const char *path)
{
    FILE *f = fopen(path, "wb");
    fputs("this is not a profile file at all, but long enough to have a head.........", f);
    fclose(f);
}

TEST(a_truncated_corrupt_foreign_or_other_file_is_refused_and_set_aside)
{
    refused(truncate_it, "p", "sig", "truncated or padded");
    refused(flip_a_byte, "p", "sig", "corrupt: its checksum does not match");
    refused(garbage, "p", "sig", "not a hostflow profile file");
    refused(NULL, "p", "other sig", "written for another declaration of p's state");
    refused(NULL, "q", "sig", "the profile of another analysis (p, not q)");
}

TEST(a_missing_file_is_not_set_aside)
{
    char path[512], err[1024];
    path_of("none.hfp", path, sizeof path);
    hf_profiles *p = hf_profiles_new("p", "sig", &schema, 100);
    CHECK_EQ_INT(hf_profiles_load(p, path, 0, 1, NULL, err, sizeof err), -2);
    hf_profiles_free(p);
}

TEST(numbers_are_read_out_of_a_records_json_fragment_by_path)
{
    const char *t = "{\"flow\":12,\"packets\":340,\"bytes\":123456.5,\"s\":\"x,}\\\"y\",\"n\":{\"a\":[1,{\"b\":2}],\"c\":-3e2}}";
    size_t n = strlen(t);
    CHECK(hf_profile_json_number(t, n, "flow") == 12);
    CHECK(hf_profile_json_number(t, n, "bytes") == 123456.5);
    CHECK(hf_profile_json_number(t, n, "n.c") == -300);
    CHECK(isnan(hf_profile_json_number(t, n, "s")));
    CHECK(isnan(hf_profile_json_number(t, n, "n")));
    CHECK(isnan(hf_profile_json_number(t, n, "n.a.b")));
    CHECK(isnan(hf_profile_json_number(t, n, "missing")));
    CHECK(hf_profile_json_number("42", 2, "") == 42);
    CHECK(isnan(hf_profile_json_number("true", 4, "")));
    CHECK(isnan(hf_profile_json_number("{\"a\":1", 6, "b")));      /* cut short */
    CHECK(hf_profile_json_number("{\"a\":7}", 6, "a") == 7);        /* the length bounds it */
}


TEST(a_host_as_a_message_reads_back_aside_until_it_is_absorbed)
{
    hf_profiles *p = hf_profiles_new("p", "sig", &schema, 100);
    uint8_t a[16], b[16];
    addr_of(1, a);
    addr_of(2, b);
    uint8_t *r = hf_profiles_absorb(p, a, 0, T0, T0 + MIN);
    *sum_of(r) = 42;
    CHECK(((hf_profile_host *)(void *)r)->dirty);
    hf_buf m;
    hf_buf_init(&m, 64);
    CHECK(hf_profiles_encode(p, r, T0 + MIN, &m) == m.len);

    hf_profiles *q = hf_profiles_new("p", "sig", &schema, 100);
    hf_profiles_keep_aside(q);
    char why[512];
    CHECK_EQ_INT(hf_profiles_take(q, m.data, m.len, a, 0, 1, why, sizeof why), HF_PROFILE_TAKEN);
    CHECK_EQ_INT(hf_profiles_take(q, m.data, m.len, a, 0, 1, why, sizeof why), HF_PROFILE_KEPT);  /* not newer */
    CHECK(hf_profiles_find(q, a) == NULL);                        /* aside: not reported */
    CHECK_EQ_INT(hf_profiles_nrows(q), 0);
    hf_profile_stats st;
    hf_profiles_stats(q, &st);
    CHECK_EQ_INT(st.aside, 1);
    /* the window it absorbed is skipped; the next one finds its state */
    CHECK(hf_profiles_absorb(q, a, 0, T0, T0 + MIN) == NULL);
    r = hf_profiles_absorb(q, a, 0, T0 + MIN, T0 + 2 * MIN);
    CHECK(r != NULL && *sum_of(r) == 42);
    hf_profiles_stats(q, &st);
    CHECK_EQ_INT(st.aside, 0);
    CHECK_EQ_INT(st.taken_back, 1);
    /* a revocation sets the live rows aside; a newer row wins over an older */
    CHECK_EQ_INT(hf_profiles_put_aside(q), 1);
    CHECK(hf_profiles_find(q, a) == NULL);
    CHECK_EQ_INT(hf_profiles_take(q, m.data, m.len, a, 0, 1, why, sizeof why), HF_PROFILE_KEPT);
    r = hf_profiles_absorb(q, a, 0, T0 + 2 * MIN, T0 + 3 * MIN);
    CHECK(r != NULL && *sum_of(r) == 42 &&
          ((hf_profile_host *)(void *)r)->absorbed_until == T0 + 3 * MIN);
    /* a host another worker owns is not taken */
    int other = (int)((hf_hash_addr(a) >> 32) % 2) ^ 1;
    hf_profiles *o = hf_profiles_new("p", "sig", &schema, 100);
    hf_profiles_keep_aside(o);
    CHECK_EQ_INT(hf_profiles_take(o, m.data, m.len, a, other, 2, why, sizeof why), HF_PROFILE_KEPT);
    CHECK_EQ_INT(hf_profiles_take(o, m.data, m.len, NULL, other ^ 1, 2, why, sizeof why), HF_PROFILE_TAKEN);
    /* the key names another host */
    CHECK_EQ_INT(hf_profiles_take(o, m.data, m.len, b, 0, 1, why, sizeof why), HF_PROFILE_BAD);
    CHECK(strstr(why, "another host") != NULL);
    hf_profiles_free(o);
    hf_buf_release(&m);
    hf_profiles_free(p);
    hf_profiles_free(q);
}

TEST(a_truncated_corrupt_foreign_or_other_message_is_refused)
{
    hf_profiles *p = hf_profiles_new("p", "sig", &schema, 100);
    uint8_t a[16];
    addr_of(7, a);
    uint8_t *r = hf_profiles_absorb(p, a, 0, T0, T0 + MIN);
    hf_buf m;
    hf_buf_init(&m, 64);
    hf_profiles_encode(p, r, T0 + MIN, &m);
    hf_profiles *q = hf_profiles_new("p", "sig", &schema, 100);
    hf_profiles_keep_aside(q);
    char why[512];
    /* every truncation, and every single flipped byte, is refused */
    for (size_t n = 0; n < m.len; n++)
        CHECK(hf_profiles_take(q, m.data, n, a, 0, 1, why, sizeof why) < 0);
    for (size_t i = 0; i < m.len; i++) {
        m.data[i] ^= 0x40;
        int rc = hf_profiles_take(q, m.data, m.len, a, 0, 1, why, sizeof why);
        CHECK(rc < 0);
        m.data[i] ^= 0x40;
    }
    CHECK_EQ_INT(hf_profiles_take(q, NULL, 0, a, 0, 1, why, sizeof why), HF_PROFILE_BAD);
    CHECK_EQ_INT(hf_profiles_take(q, "{\"json\":1}", 10, a, 0, 1, why, sizeof why), HF_PROFILE_BAD);
    CHECK(strstr(why, "not a hostflow profile") || strstr(why, "truncated"));
    /* huge: a message with bytes after the row */
    hf_buf_put(&m, "xxxxxxxx", 8);
    CHECK_EQ_INT(hf_profiles_take(q, m.data, m.len, a, 0, 1, why, sizeof why), HF_PROFILE_BAD);
    m.len -= 8;
    /* another declaration of the same profile: told apart */
    hf_profiles *d = hf_profiles_new("p", "sig2", &schema, 100);
    CHECK_EQ_INT(hf_profiles_take(d, m.data, m.len, a, 0, 1, why, sizeof why), HF_PROFILE_OTHER);
    CHECK(strstr(why, "another declaration") != NULL);
    hf_profiles *e = hf_profiles_new("other", "sig", &schema, 100);
    CHECK_EQ_INT(hf_profiles_take(e, m.data, m.len, a, 0, 1, why, sizeof why), HF_PROFILE_BAD);
    hf_profile_stats st;
    hf_profiles_stats(q, &st);
    CHECK_EQ_INT(st.aside, 0);                                /* nothing taken from any of them */
    CHECK_EQ_INT(hf_profiles_take(q, m.data, m.len, a, 0, 1, why, sizeof why), HF_PROFILE_TAKEN);
    hf_profiles_free(d);
    hf_profiles_free(e);
    hf_buf_release(&m);
    hf_profiles_free(p);
    hf_profiles_free(q);
}

static void count_gone(void *ctx, const hf_profile_host *h)
{
    (void)h;
    (*(int *)ctx)++;
}

TEST(an_expired_host_is_told_and_those_aside_expire_quietly)
{
    hf_profiles *p = hf_profiles_new("p", "sig", &schema, 100);
    hf_profiles_keep_aside(p);
    uint8_t a[16], b[16];
    addr_of(1, a);
    addr_of(2, b);
    hf_profiles_absorb(p, a, 0, T0, T0 + MIN);
    hf_profiles_absorb(p, b, 0, T0, T0 + MIN);
    hf_profiles_put_aside(p);
    hf_profiles_absorb(p, a, 0, T0 + MIN, T0 + 2 * MIN);     /* a comes back; b stays aside */
    int told = 0;
    CHECK_EQ_INT(hf_profiles_expire_each(p, T0 + 5 * MIN, count_gone, &told), 1);
    CHECK_EQ_INT(told, 1);
    hf_profile_stats st;
    hf_profiles_stats(p, &st);
    CHECK_EQ_INT(st.hosts, 0);
    CHECK_EQ_INT(st.aside, 0);
    hf_profiles_free(p);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/hf-test-profile-%d", (int)getpid());
    mkdir(dir, 0700);
    RUN(a_host_absorbs_a_window_once_and_a_replayed_window_is_skipped);
    RUN(hosts_past_max_hosts_are_refused_and_those_not_seen_are_forgotten);
    RUN(a_store_counts_against_its_pool_and_refuses_hosts_past_the_limit);
    RUN(a_saved_file_reads_back_and_each_worker_keeps_its_own_hosts);
    RUN(a_truncated_corrupt_foreign_or_other_file_is_refused_and_set_aside);
    RUN(a_missing_file_is_not_set_aside);
    RUN(numbers_are_read_out_of_a_records_json_fragment_by_path);
    RUN(a_host_as_a_message_reads_back_aside_until_it_is_absorbed);
    RUN(a_truncated_corrupt_foreign_or_other_message_is_refused);
    RUN(an_expired_host_is_told_and_those_aside_expire_quietly);
    rmdir(dir);
    return UNIT_END();
}
