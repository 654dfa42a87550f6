/* test_record.c -- record batches and the host record's head
 * (engine/record.c): the text an output receives, and the key, type and
 * time that come with every record. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/addr.h"
#include "engine/record.h"
#include "engine/window.h"
#include "unit.h"

/* A window and a host row of the test's own, as window.c makes them. */
static void host_of(const char *text, hf_host *h)
{
    uint8_t fam;
    memset(h, 0, sizeof *h);
    hf_addr_parse(text, strlen(text), h->addr, &fam);
    h->v6 = fam == 6;
}

TEST(the_head_of_a_host_record_is_the_designed_json_and_its_id_is_found)
{
    hf_record_batch b;
    hf_record_batch_init(&b);
    hf_window win;
    memset(&win, 0, sizeof win);
    win.start_ms = 1764165610000;
    win.g_ms = 10000;
    hf_host h;
    host_of("192.0.2.10", &h);
    hf_record_host_head(&b, &win, &h);
    hf_buf_puts(&b.text, "\"total\":{\"flow\":1}}}");
    hf_record_end(&b);
    const char *want = "{\"@type\":\"host_stats\",\"@timestamp\":\"2025-11-26T14:00:10.000Z\","
                       "\"id\":\"192.0.2.10/10/1764165610000\",\"src_ip\":\"192.0.2.10\","
                       "\"window\":{\"start_ms\":1764165610000,\"end_ms\":1764165620000,"
                       "\"granularity_s\":10},\"stats\":{\"total\":{\"flow\":1}}}\n";
    CHECK_EQ_INT(b.text.len, strlen(want));
    CHECK(memcmp(b.text.data, want, b.text.len) == 0);
    hf_records v;
    hf_record_batch_view(&b, &v);
    CHECK_EQ_INT(v.n, 1);
    CHECK_EQ_INT(v.recs[0].off, 0);
    CHECK_EQ_INT(v.recs[0].len, strlen(want) - 1);          /* without its newline */
    CHECK(memcmp(v.text + v.recs[0].key_off, "192.0.2.10/10/1764165610000", v.recs[0].key_len) == 0);
    CHECK_EQ_INT(v.recs[0].key_len, strlen("192.0.2.10/10/1764165610000"));
    CHECK_EQ_INT(v.recs[0].type, HF_RECORD_STATS);
    CHECK_EQ_INT(v.recs[0].time_ms, 1764165610000);
    CHECK_EQ_STR(hf_record_type_name(v.recs[0].type), "host_stats");
    hf_record_batch_release(&b);
}

TEST(an_ipv6_host_is_written_in_rfc5952_text_in_its_id_and_src_ip)
{
    hf_record_batch b;
    hf_record_batch_init(&b);
    hf_window win;
    memset(&win, 0, sizeof win);
    win.start_ms = 1764165600000;
    win.g_ms = 300000;
    hf_host h;
    host_of("2001:DB8:0:0::5", &h);
    hf_record_host_head(&b, &win, &h);
    hf_buf_puts(&b.text, "}}");
    hf_record_end(&b);
    CHECK(strstr(b.text.data, "\"id\":\"2001:db8::5/300/1764165600000\",\"src_ip\":\"2001:db8::5\"") != NULL);
    CHECK(memcmp(b.text.data + b.recs[0].key_off, "2001:db8::5/300/1764165600000", b.recs[0].key_len) == 0);
    hf_record_batch_release(&b);
}

/* The head as DESIGN.md writes it, by snprintf. */
static void head_want(char *out, size_t cap, const char *addr, const char *ts, int64_t start, int64_t g)
{
    snprintf(out, cap, "{\"@type\":\"host_stats\",\"@timestamp\":\"%s\",\"id\":\"%s/%lld/%lld\","
             "\"src_ip\":\"%s\",\"window\":{\"start_ms\":%lld,\"end_ms\":%lld,\"granularity_s\":%lld},"
             "\"stats\":{}}", ts, addr, (long long)(g / 1000), (long long)start, addr,
             (long long)start, (long long)(start + g), (long long)(g / 1000));
}

TEST(heads_of_windows_and_hosts_in_turn_are_each_their_own)
{
    /* the window's part of the head is made once per window: going back
     * and forth between windows, and between short and long addresses,
     * must give every record its own head */
    static const char *const hosts[] = {"1.2.3.4",   /* (the IPv6 ones in RFC 5952 text) */ "255.255.255.255", "2001:db8::1",
                                        "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff", "0.0.0.0"};
    static const struct { int64_t start, g; const char *ts; } wins[] = {
        {1764165610000, 10000, "2025-11-26T14:00:10.000Z"},
        {1764165600000, 300000, "2025-11-26T14:00:00.000Z"},
        {0, 3600000, "1970-01-01T00:00:00.000Z"},
        {1764165610000, 30000, "2025-11-26T14:00:10.000Z"},
    };
    hf_record_batch b;
    hf_record_batch_init(&b);
    size_t k = 0;
    for (int round = 0; round < 3; round++)
        for (size_t wi = 0; wi < 4; wi++)
            for (size_t hi = 0; hi < 5; hi++, k++) {
                size_t w = (wi + (size_t)round) % 4, hh = (hi * 3 + wi) % 5;
                hf_window win;
                memset(&win, 0, sizeof win);
                win.start_ms = wins[w].start;
                win.g_ms = wins[w].g;
                hf_host h;
                host_of(hosts[hh], &h);
                hf_record_host_head(&b, &win, &h);
                hf_buf_puts(&b.text, "}}");
                hf_record_end(&b);
                char want[512], id[128];
                head_want(want, sizeof want, hosts[hh], wins[w].ts, wins[w].start, wins[w].g);
                CHECK_EQ_INT(b.recs[k].len, strlen(want));
                CHECK(memcmp(b.text.data + b.recs[k].off, want, strlen(want)) == 0);
                snprintf(id, sizeof id, "%s/%lld/%lld", hosts[hh], (long long)(wins[w].g / 1000),
                         (long long)wins[w].start);
                CHECK_EQ_INT(b.recs[k].key_len, strlen(id));
                CHECK(memcmp(b.text.data + b.recs[k].key_off, id, strlen(id)) == 0);
                CHECK_EQ_INT(b.recs[k].time_ms, wins[w].start);
            }
    hf_record_batch_release(&b);
}

TEST(a_batch_holds_many_records_of_several_types_and_resets)
{
    hf_record_batch b;
    hf_record_batch_init(&b);
    for (int i = 0; i < 5000; i++) {
        hf_record_begin(&b, i % 2 ? HF_RECORD_ALERT : HF_RECORD_PROFILE, 1000 + i);
        size_t off = b.text.len;
        hf_buf_puts(&b.text, "{\"id\":\"");
        size_t key = b.text.len;
        hf_buf_put_int(&b.text, i);
        hf_record_key(&b, key, b.text.len - key);
        hf_buf_puts(&b.text, "\"}");
        hf_record_end(&b);
        CHECK_EQ_INT(b.recs[i].off, off);
    }
    hf_records v;
    hf_record_batch_view(&b, &v);
    CHECK_EQ_INT(v.n, 5000);
    size_t lines = 0;
    for (size_t i = 0; i < v.len; i++) lines += v.text[i] == '\n';
    CHECK_EQ_INT(lines, 5000);
    CHECK(memcmp(v.text + v.recs[4321].key_off, "4321", 4) == 0 && v.recs[4321].key_len == 4);
    CHECK_EQ_INT(v.recs[4321].type, HF_RECORD_ALERT);
    CHECK_EQ_STR(hf_record_type_name(HF_RECORD_PROFILE), "host_profile");
    CHECK_EQ_STR(hf_record_type_name(99), "unknown");
    hf_record_batch_reset(&b);
    hf_record_batch_view(&b, &v);
    CHECK_EQ_INT(v.n, 0);
    CHECK_EQ_INT(v.len, 0);
    hf_record_batch_release(&b);
}

int main(void)
{
    RUN(the_head_of_a_host_record_is_the_designed_json_and_its_id_is_found);
    RUN(an_ipv6_host_is_written_in_rfc5952_text_in_its_id_and_src_ip);
    RUN(heads_of_windows_and_hosts_in_turn_are_each_their_own);
    RUN(a_batch_holds_many_records_of_several_types_and_resets);
    return UNIT_END();
}
