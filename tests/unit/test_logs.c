/* test_logs.c -- log events: lines as rsyslog and syslog-ng write them into
 * hf_event (stream/logs.c), with other field names, every reason a line is
 * refused; and a host's events in a window (engine/logs.c): counts,
 * programs kept and the rest, the newest messages, merging, the JSON. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/addr.h"
#include "base/arena.h"
#include "engine/logs.h"
#include "stream/logs.h"
#include "unit.h"

static int decode(const hf_log_fields *f, const char *line, hf_event *ev)
{
    return hf_log_decode(f, line, strlen(line), ev);
}

TEST(rsyslog_jsonmesg_lines_become_events)
{
    hf_log_fields f;
    char err[256];
    CHECK_EQ_INT(hf_log_fields_init(&f, "rsyslog", NULL, 0, err, sizeof err), 0);
    hf_event ev;
    CHECK_EQ_INT(decode(&f, "{\"msg\":\" Failed password for root\",\"timereported\":\"2026-11-26T15:00:03.120+01:00\","
                            "\"hostname\":\"web1\",\"fromhost-ip\":\"10.0.0.7\",\"syslogseverity\":\"3\","
                            "\"programname\":\"sshd\"}", &ev), HF_LOG_OK);
    char text[64];
    hf_addr_format(ev.host, ev.family, text);
    CHECK_EQ_STR(text, "10.0.0.7");
    CHECK(ev.time_ms == 1795701603120.0);
    CHECK_EQ_INT(ev.severity, 3);
    CHECK_EQ_STR(ev.program, "sshd");
    CHECK_EQ_STR(ev.message, "Failed password for root");       /* the space after the tag dropped */
    /* a name as the host key, an address in the next one */
    CHECK_EQ_INT(decode(&f, "{\"fromhost-ip\":\"relay.example\",\"hostname\":\"2001:db8::5\",\"timereported\":1795701603}",
                        &ev), HF_LOG_OK);
    hf_addr_format(ev.host, ev.family, text);
    CHECK_EQ_STR(text, "2001:db8::5");
    CHECK(ev.time_ms == 1795701603000.0);                          /* seconds */
    CHECK_EQ_INT(ev.severity, HF_SEV_NONE);
}

TEST(syslog_ng_and_fields_of_ones_own)
{
    hf_log_fields f;
    char err[256];
    CHECK_EQ_INT(hf_log_fields_init(&f, "syslog-ng", NULL, 0, err, sizeof err), 0);
    hf_event ev;
    CHECK_EQ_INT(decode(&f, "{\"SOURCEIP\":\"192.168.1.9\",\"ISODATE\":\"2026-11-26T14:00:00Z\",\"PRIORITY\":\"warning\","
                            "\"PROGRAM\":\"kernel\",\"MESSAGE\":\"eth0: link down\"}", &ev), HF_LOG_OK);
    CHECK_EQ_INT(ev.severity, 4);
    CHECK_EQ_STR(ev.message, "eth0: link down");
    char *over[] = {"host", "ip", "time", "at,when", "severity", "level"};
    CHECK_EQ_INT(hf_log_fields_init(&f, "syslog-ng", over, 6, err, sizeof err), 0);
    CHECK_EQ_INT(decode(&f, "{\"ip\":\"10.1.2.3\",\"when\":1795701600000,\"level\":\"error\"}", &ev), HF_LOG_OK);
    CHECK(ev.time_ms == 1795701600000.0);
    CHECK_EQ_INT(ev.severity, 3);
    char *bad[] = {"hots", "x"};
    CHECK_EQ_INT(hf_log_fields_init(&f, "syslog-ng", bad, 2, err, sizeof err), -1);
    CHECK(strstr(err, "logs.fields.hots: expected host, time, severity, program or message") != NULL);
    CHECK_EQ_INT(hf_log_fields_init(&f, "journald", NULL, 0, err, sizeof err), -1);
}

TEST(every_defect_has_its_reason)
{
    hf_log_fields f;
    char err[256];
    hf_log_fields_init(&f, "rsyslog", NULL, 0, err, sizeof err);
    hf_event ev;
    CHECK_EQ_INT(decode(&f, "{\"msg\":", &ev), HF_LOG_MALFORMED);
    CHECK_EQ_INT(decode(&f, "\"a string\"", &ev), HF_LOG_NOT_OBJECT);
    CHECK_EQ_INT(decode(&f, "{\"timereported\":1}", &ev), HF_LOG_NO_HOST);
    CHECK_EQ_INT(decode(&f, "{\"fromhost-ip\":\"a.b\",\"timereported\":1}", &ev), HF_LOG_BAD_HOST);
    CHECK_EQ_INT(decode(&f, "{\"fromhost-ip\":7,\"timereported\":1}", &ev), HF_LOG_BAD_HOST);
    CHECK_EQ_INT(decode(&f, "{\"fromhost-ip\":\"10.0.0.1\"}", &ev), HF_LOG_NO_TIME);
    CHECK_EQ_INT(decode(&f, "{\"fromhost-ip\":\"10.0.0.1\",\"timereported\":\"soon\"}", &ev), HF_LOG_BAD_TIME);
    CHECK_EQ_INT(decode(&f, "{\"fromhost-ip\":\"10.0.0.1\",\"timereported\":-5}", &ev), HF_LOG_BAD_TIME);
    CHECK_EQ_INT(decode(&f, "{\"fromhost-ip\":\"10.0.0.1\",\"timereported\":1,\"syslogseverity\":9}", &ev),
                 HF_LOG_BAD_SEVERITY);
    CHECK_EQ_INT(decode(&f, "{\"fromhost-ip\":\"10.0.0.1\",\"timereported\":1,\"syslogseverity\":\"loud\"}", &ev),
                 HF_LOG_BAD_SEVERITY);
    CHECK_EQ_STR(hf_log_reason_name(HF_LOG_BAD_SEVERITY), "bad_severity");
}

TEST(long_programs_and_messages_are_cut_at_a_character)
{
    hf_log_fields f;
    char err[256], line[1024], msg[400];
    hf_log_fields_init(&f, "rsyslog", NULL, 0, err, sizeof err);
    for (int i = 0; i < 100; i++) memcpy(msg + 3 * i, "\xc3\xa9x", 3);   /* "éx" a hundred times */
    msg[300] = '\0';
    snprintf(line, sizeof line, "{\"fromhost-ip\":\"10.0.0.1\",\"timereported\":1,\"msg\":\"%s\","
             "\"programname\":\"a-very-long-program-name-beyond-the-limit\"}", msg);
    hf_event ev;
    CHECK_EQ_INT(decode(&f, line, &ev), HF_LOG_OK);
    CHECK(ev.message_len < HF_EVENT_MESSAGE && ev.message_len % 3 == 0);   /* no é cut in two */
    CHECK_EQ_INT(ev.program_len, HF_EVENT_PROGRAM - 1);
}

static hf_event event(double t, int sev, const char *prog, const char *msg)
{
    hf_event ev;
    memset(&ev, 0, sizeof ev);
    ev.time_ms = t;
    ev.severity = (uint8_t)sev;
    ev.program_len = (uint8_t)strlen(prog);
    memcpy(ev.program, prog, ev.program_len);
    ev.message_len = (uint8_t)strlen(msg);
    memcpy(ev.message, msg, ev.message_len);
    return ev;
}

static const char *json(const hf_logstate *s)
{
    static hf_buf b;
    if (!b.data) hf_buf_init(&b, 256);
    b.len = 0;
    hf_logs_json(s, &b);
    hf_buf_putc(&b, '\0');
    return b.data;
}

TEST(a_hosts_events_count_by_severity_and_program_and_keep_the_newest_messages)
{
    hf_pool *pool = hf_pool_new(0);
    hf_arena *a = hf_arena_new(pool);
    hf_logstate *s = hf_logs_new(a, 2);
    hf_event e1 = event(1000, 3, "sshd", "one"), e2 = event(3000, 6, "sshd", "three"),
             e3 = event(2000, 8, "", "two"), e4 = event(3000, 4, "sudo", "three again");
    hf_logs_add(s, 2, &e1, 1);
    hf_logs_add(s, 2, &e2, 2);
    hf_logs_add(s, 2, &e3, 3);
    hf_logs_add(s, 2, &e4, 4);
    CHECK_EQ_STR(json(s), "{\"events\":4,\"severity\":{\"err\":1,\"warning\":1,\"info\":1,\"unknown\":1},"
                          "\"programs\":{\"sshd\":2,\"sudo\":1},\"messages\":["
                          "{\"time\":\"1970-01-01T00:00:03.000Z\",\"severity\":\"warning\",\"program\":\"sudo\",\"message\":\"three again\"},"
                          "{\"time\":\"1970-01-01T00:00:03.000Z\",\"severity\":\"info\",\"program\":\"sshd\",\"message\":\"three\"}]}");
    hf_arena_free(a);
    hf_pool_free(pool);
}

/* Twenty events of nprog programs, as one window and as two merged. */
static void halves(int nprog, char *whole_json, size_t n, char *merged_json, size_t m)
{
    hf_pool *pool = hf_pool_new(0);
    hf_arena *a = hf_arena_new(pool);
    hf_logstate *whole = hf_logs_new(a, 3), *x = hf_logs_new(a, 3), *y = hf_logs_new(a, 3);
    char prog[16], msg[16];
    for (int i = 0; i < 20; i++) {
        snprintf(prog, sizeof prog, "p%d", i % nprog);
        snprintf(msg, sizeof msg, "m%d", i);
        hf_event e = event(1000.0 * (i % 7), i % 8, prog, msg);
        hf_logs_add(whole, 3, &e, (uint64_t)i);
        hf_logs_add(i < 10 ? x : y, 3, &e, (uint64_t)i);
    }
    snprintf(whole_json, n, "%s", json(whole));
    hf_logs_merge(x, y, 3);
    snprintf(merged_json, m, "%s", json(x));
    hf_arena_free(a);
    hf_pool_free(pool);
}

TEST(merging_windows_gives_what_one_window_of_every_event_holds)
{
    char whole[4096], merged[4096];
    halves(6, whole, sizeof whole, merged, sizeof merged);
    CHECK_EQ_STR(merged, whole);
}

static uint32_t counted(const hf_logstate *s)
{
    uint32_t n = s->other;
    for (uint32_t i = 0; i < s->nprograms; i++) n += s->programs[i].n;
    return n;
}

TEST(past_eight_programs_merging_keeps_every_event_counted)
{
    hf_pool *pool = hf_pool_new(0);
    hf_arena *a = hf_arena_new(pool);
    hf_logstate *whole = hf_logs_new(a, 3), *x = hf_logs_new(a, 3), *y = hf_logs_new(a, 3);
    char prog[16];
    for (int i = 0; i < 20; i++) {
        snprintf(prog, sizeof prog, "p%d", i % 11);                 /* 11 programs: over HF_LOG_PROGRAMS */
        hf_event e = event(1000.0 * (i % 7), i % 8, prog, "m");
        hf_logs_add(whole, 3, &e, (uint64_t)i);
        hf_logs_add(i < 10 ? x : y, 3, &e, (uint64_t)i);
    }
    hf_logs_merge(x, y, 3);
    CHECK_EQ_INT(whole->nprograms, HF_LOG_PROGRAMS);
    CHECK(whole->other > 0 && x->other > 0);
    CHECK_EQ_INT(counted(whole), 20);
    CHECK_EQ_INT(counted(x), 20);
    CHECK_EQ_INT(x->events, 20);
    hf_arena_free(a);
    hf_pool_free(pool);
}

int main(void)
{
    RUN(rsyslog_jsonmesg_lines_become_events);
    RUN(syslog_ng_and_fields_of_ones_own);
    RUN(every_defect_has_its_reason);
    RUN(long_programs_and_messages_are_cut_at_a_character);
    RUN(a_hosts_events_count_by_severity_and_program_and_keep_the_newest_messages);
    RUN(merging_windows_gives_what_one_window_of_every_event_holds);
    RUN(past_eight_programs_merging_keeps_every_event_counted);
    return UNIT_END();
}
