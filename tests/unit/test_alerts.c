/* test_alerts.c -- open alerts (engine/alerts.c): a new alert, held while
 * open, updated when it grows, raised anew after the hold; the flag on
 * records of overlapping windows; eviction at max_open; expiry; rule names;
 * the records' text. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/addr.h"
#include "engine/alerts.h"
#include "unit.h"

#define T0 1764165600000LL        /* a 5-minute boundary */
#define MIN 60000LL

static uint8_t A[16], B[16];

static void addrs(void)
{
    uint8_t fam;
    hf_addr_parse("10.0.0.1", 8, A, &fam);
    hf_addr_parse("2001:db8::7", 11, B, &fam);
}

static hf_alert at(const uint8_t *addr, const char *rule, int64_t start, double observed)
{
    hf_alert a = {addr, addr == B, rule, strlen(rule), start, MIN, observed, 20, observed / 20,
                  "{\"n\":1}", 7};
    return a;
}

/* The text of record i of b (without its newline), in a static buffer. */
static const char *record(const hf_record_batch *b, size_t i)
{
    static char out[2048];
    snprintf(out, sizeof out, "%.*s", (int)b->recs[i].len, b->text.data + b->recs[i].off);
    return out;
}

static const char *key(const hf_record_batch *b, size_t i)
{
    static char out[256];
    snprintf(out, sizeof out, "%.*s", (int)b->recs[i].key_len, b->text.data + b->recs[i].key_off);
    return out;
}

TEST(a_first_raise_writes_a_host_alert_record_with_the_window_start_in_its_id)
{
    hf_alerts *a = hf_alerts_new(10 * MIN, 100, 5 * MIN);
    hf_record_batch b;
    hf_record_batch_init(&b);
    hf_alert in = at(A, "port_scan", T0, 1000);
    CHECK_EQ_INT(hf_alerts_raise(a, &in, &b), HF_ALERT_NEW);
    CHECK_EQ_INT(b.n, 1);
    CHECK_EQ_INT(b.recs[0].type, HF_RECORD_ALERT);
    CHECK_EQ_INT(b.recs[0].time_ms, T0);
    CHECK_EQ_STR(key(&b, 0), "10.0.0.1/port_scan/1764165600000");
    CHECK_EQ_STR(record(&b, 0),
                 "{\"@type\":\"host_alert\",\"@timestamp\":\"2025-11-26T14:00:00.000Z\","
                 "\"id\":\"10.0.0.1/port_scan/1764165600000\",\"src_ip\":\"10.0.0.1\","
                 "\"rule\":\"port_scan\",\"window\":{\"start_ms\":1764165600000,"
                 "\"end_ms\":1764165660000,\"granularity_s\":60},\"observed\":1000,"
                 "\"expected\":20,\"score\":50,\"details\":{\"n\":1}}");
    hf_record_batch_release(&b);
    hf_alerts_free(a);
}

TEST(while_open_a_raise_is_held_unless_it_grew_then_it_updates_under_the_same_id)
{
    hf_alerts *a = hf_alerts_new(10 * MIN, 100, 5 * MIN);
    hf_record_batch b;
    hf_record_batch_init(&b);
    hf_alert in = at(A, "port_scan", T0, 1000);
    hf_alerts_raise(a, &in, &b);
    in = at(A, "port_scan", T0 + MIN, 900);
    CHECK_EQ_INT(hf_alerts_raise(a, &in, &b), HF_ALERT_HELD);
    in = at(A, "port_scan", T0 + 2 * MIN, 1000);
    CHECK_EQ_INT(hf_alerts_raise(a, &in, &b), HF_ALERT_HELD);
    in = at(A, "port_scan", T0 + 3 * MIN, 1500);
    CHECK_EQ_INT(hf_alerts_raise(a, &in, &b), HF_ALERT_UPDATE);
    CHECK_EQ_INT(b.n, 2);
    CHECK_EQ_STR(key(&b, 1), "10.0.0.1/port_scan/1764165600000");
    CHECK_EQ_INT(b.recs[1].time_ms, T0);
    CHECK(strstr(record(&b, 1), "\"window\":{\"start_ms\":1764165780000,") != NULL);
    CHECK(strstr(record(&b, 1), "\"observed\":1500,") != NULL);
    CHECK(strstr(record(&b, 1), ",\"update\":1,\"increment\":500}") != NULL);
    CHECK(fabs(hf_alerts_reported(a, A, "port_scan", 9, T0 + 4 * MIN) - 1500) < 1e-9);
    hf_alert_stats st;
    hf_alerts_stats(a, &st);
    CHECK_EQ_INT(st.raised, 1);
    CHECK_EQ_INT(st.updated, 1);
    CHECK_EQ_INT(st.held, 2);
    hf_record_batch_release(&b);
    hf_alerts_free(a);
}

TEST(after_the_hold_the_same_condition_is_a_new_alert_with_a_new_id)
{
    hf_alerts *a = hf_alerts_new(10 * MIN, 100, 5 * MIN);
    hf_record_batch b;
    hf_record_batch_init(&b);
    hf_alert in = at(A, "port_scan", T0, 1000);
    hf_alerts_raise(a, &in, &b);
    in = at(A, "port_scan", T0 + 9 * MIN, 1000);
    CHECK_EQ_INT(hf_alerts_raise(a, &in, &b), HF_ALERT_HELD);
    CHECK(isnan(hf_alerts_reported(a, A, "port_scan", 9, T0 + 10 * MIN)));
    in = at(A, "port_scan", T0 + 10 * MIN, 1000);
    CHECK_EQ_INT(hf_alerts_raise(a, &in, &b), HF_ALERT_NEW);
    CHECK_EQ_STR(key(&b, 1), "10.0.0.1/port_scan/1764166200000");
    CHECK(strstr(record(&b, 1), "\"update\"") == NULL);
    hf_record_batch_release(&b);
    hf_alerts_free(a);
}

TEST(rules_and_hosts_are_apart_and_a_hold_of_zero_raises_every_time)
{
    hf_alerts *a = hf_alerts_new(0, 100, 0);
    hf_record_batch b;
    hf_record_batch_init(&b);
    hf_alert in = at(A, "r1", T0, 5);
    CHECK_EQ_INT(hf_alerts_raise(a, &in, &b), HF_ALERT_NEW);
    in = at(A, "r1", T0, 5);
    CHECK_EQ_INT(hf_alerts_raise(a, &in, &b), HF_ALERT_NEW);
    hf_alerts_free(a);
    a = hf_alerts_new(10 * MIN, 100, 0);
    in = at(A, "r1", T0, 5);
    CHECK_EQ_INT(hf_alerts_raise(a, &in, &b), HF_ALERT_NEW);
    in = at(A, "r2", T0, 5);
    CHECK_EQ_INT(hf_alerts_raise(a, &in, &b), HF_ALERT_NEW);
    in = at(B, "r1", T0, 5);
    CHECK_EQ_INT(hf_alerts_raise(a, &in, &b), HF_ALERT_NEW);
    CHECK_EQ_STR(key(&b, 4), "2001:db8::7/r1/1764165600000");
    hf_record_batch_release(&b);
    hf_alerts_free(a);
}

TEST(bad_rule_names_are_refused)
{
    hf_alerts *a = hf_alerts_new(MIN, 10, 0);
    hf_record_batch b;
    hf_record_batch_init(&b);
    const char *bad[] = {"", "1abc", "a/b", "a b", "a-b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hf_alert in = at(A, bad[i], T0, 1);
        CHECK_EQ_INT(hf_alerts_raise(a, &in, &b), HF_ALERT_BAD);
    }
    char longname[80];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    hf_alert in = at(A, longname, T0, 1);
    CHECK_EQ_INT(hf_alerts_raise(a, &in, &b), HF_ALERT_BAD);
    CHECK_EQ_INT(b.n, 0);
    CHECK(hf_alerts_rule_ok("port_scan_vertical", 18));
    hf_record_batch_release(&b);
    hf_alerts_free(a);
}

TEST(records_of_windows_that_overlap_an_open_alert_carry_its_rules_sorted)
{
    hf_alerts *a = hf_alerts_new(10 * MIN, 100, 5 * MIN);
    hf_record_batch b;
    hf_record_batch_init(&b);
    hf_alert in = at(A, "zeta", T0 + MIN, 5);
    hf_alerts_raise(a, &in, &b);
    in = at(A, "alpha", T0 + MIN, 5);
    hf_alerts_raise(a, &in, &b);
    hf_buf out;
    hf_buf_init(&out, 64);
    CHECK_EQ_INT(hf_alerts_flag(a, A, T0, T0 + 5 * MIN, &out), 2);     /* the 5 min around it */
    CHECK_EQ_INT(out.len, strlen("\"alert\":[\"alpha\",\"zeta\"],"));
    CHECK(memcmp(out.data, "\"alert\":[\"alpha\",\"zeta\"],", out.len) == 0);
    out.len = 0;
    CHECK_EQ_INT(hf_alerts_flag(a, A, T0, T0 + MIN, &out), 0);          /* the minute before */
    CHECK_EQ_INT(hf_alerts_flag(a, B, T0, T0 + 5 * MIN, &out), 0);      /* another host */
    CHECK_EQ_INT(hf_alerts_flag(a, A, T0 + 11 * MIN, T0 + 12 * MIN, &out), 0);  /* after the hold */
    CHECK_EQ_INT(out.len, 0);
    hf_buf_release(&out);
    hf_record_batch_release(&b);
    hf_alerts_free(a);
}

TEST(expiry_keeps_an_alert_for_the_coarsest_window_past_its_hold)
{
    hf_alerts *a = hf_alerts_new(2 * MIN, 100, 5 * MIN);
    hf_record_batch b;
    hf_record_batch_init(&b);
    hf_alert in = at(A, "r", T0, 5);
    hf_alerts_raise(a, &in, &b);
    CHECK(hf_alerts_any(a));
    hf_alerts_expire(a, T0 + 6 * MIN);                  /* hold ends T0+2m; + 5m linger */
    CHECK(hf_alerts_any(a));
    hf_buf out;
    hf_buf_init(&out, 64);
    CHECK_EQ_INT(hf_alerts_flag(a, A, T0, T0 + 5 * MIN, &out), 1);
    hf_alerts_expire(a, T0 + 7 * MIN);
    CHECK(!hf_alerts_any(a));
    CHECK_EQ_INT(hf_alerts_flag(a, A, T0, T0 + 5 * MIN, &out), 1 - 1);
    hf_buf_release(&out);
    hf_record_batch_release(&b);
    hf_alerts_free(a);
}

TEST(at_max_open_the_oldest_alert_closes_early_and_is_counted)
{
    hf_alerts *a = hf_alerts_new(60 * MIN, 3, 0);
    hf_record_batch b;
    hf_record_batch_init(&b);
    uint8_t h[5][16];
    for (int i = 0; i < 5; i++) {
        char text[16];
        uint8_t fam;
        int n = snprintf(text, sizeof text, "10.0.1.%d", i + 1);
        hf_addr_parse(text, (size_t)n, h[i], &fam);
        hf_alert in = at(h[i], "r", T0 + i * MIN, 5);
        CHECK_EQ_INT(hf_alerts_raise(a, &in, &b), HF_ALERT_NEW);
    }
    hf_alert_stats st;
    hf_alerts_stats(a, &st);
    CHECK_EQ_INT(st.evicted, 2);
    CHECK_EQ_INT(st.open, 3);
    /* the two oldest are gone: raised again they are new; the newest is held */
    hf_alert in = at(h[4], "r", T0 + 5 * MIN, 5);
    CHECK_EQ_INT(hf_alerts_raise(a, &in, &b), HF_ALERT_HELD);
    in = at(h[0], "r", T0 + 5 * MIN, 5);
    CHECK_EQ_INT(hf_alerts_raise(a, &in, &b), HF_ALERT_NEW);
    /* the table stays consistent through evictions: every kept one is found */
    CHECK(!isnan(hf_alerts_reported(a, h[4], "r", 1, T0 + 6 * MIN)));
    CHECK(!isnan(hf_alerts_reported(a, h[3], "r", 1, T0 + 6 * MIN)));
    CHECK(isnan(hf_alerts_reported(a, h[2], "r", 1, T0 + 6 * MIN)));
    hf_record_batch_release(&b);
    hf_alerts_free(a);
}

TEST(many_hosts_through_a_small_ring_keep_the_table_consistent)
{
    hf_alerts *a = hf_alerts_new(1000 * MIN, 64, 0);
    hf_record_batch b;
    hf_record_batch_init(&b);
    for (int i = 0; i < 5000; i++) {
        uint8_t h[16] = {0};
        h[10] = h[11] = 0xff;
        h[12] = 10;
        h[13] = (uint8_t)(i >> 8);
        h[14] = (uint8_t)i;
        h[15] = (uint8_t)(i % 7);
        hf_alert in = at(h, i % 3 ? "a" : "b", T0 + i, 5);
        CHECK_EQ_INT(hf_alerts_raise(a, &in, &b), HF_ALERT_NEW);
        hf_record_batch_reset(&b);
    }
    for (int i = 5000 - 64; i < 5000; i++) {       /* the last 64 are all there */
        uint8_t h[16] = {0};
        h[10] = h[11] = 0xff;
        h[12] = 10;
        h[13] = (uint8_t)(i >> 8);
        h[14] = (uint8_t)i;
        h[15] = (uint8_t)(i % 7);
        CHECK(!isnan(hf_alerts_reported(a, h, i % 3 ? "a" : "b", 1, T0 + 5000)));
    }
    hf_alert_stats st;
    hf_alerts_stats(a, &st);
    CHECK_EQ_INT(st.open, 64);
    CHECK_EQ_INT(st.evicted, 5000 - 64);
    hf_record_batch_release(&b);
    hf_alerts_free(a);
}

int main(void)
{
    addrs();
    RUN(a_first_raise_writes_a_host_alert_record_with_the_window_start_in_its_id);
    RUN(while_open_a_raise_is_held_unless_it_grew_then_it_updates_under_the_same_id);
    RUN(after_the_hold_the_same_condition_is_a_new_alert_with_a_new_id);
    RUN(rules_and_hosts_are_apart_and_a_hold_of_zero_raises_every_time);
    RUN(bad_rule_names_are_refused);
    RUN(records_of_windows_that_overlap_an_open_alert_carry_its_rules_sorted);
    RUN(expiry_keeps_an_alert_for_the_coarsest_window_past_its_hold);
    RUN(at_max_open_the_oldest_alert_closes_early_and_is_counted);
    RUN(many_hosts_through_a_small_ring_keep_the_table_consistent);
    return UNIT_END();
}
