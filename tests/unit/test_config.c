/* test_config.c -- configuration values: durations, sizes, window and
 * network lists, the file loader's messages, its sandbox and its limit. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf/config.h"
#include "prim/distinct.h"
#include "unit.h"

static char path[64];

/* Load text as a configuration; returns the loader's status, message in err. */
static int load(const char *text, hf_config *cfg, char *err, size_t n)
{
    snprintf(path, sizeof path, "/tmp/hostflow-test-config-%d.lua", (int)getpid());
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    hf_config_defaults(cfg, "/nonexistent");
    err[0] = '\0';
    return hf_config_load(cfg, path, err, n);
}

TEST(durations)
{
    int64_t ms;
    CHECK(hf_config_parse_duration_ms("10s", &ms) == 0 && ms == 10000);
    CHECK(hf_config_parse_duration_ms("500ms", &ms) == 0 && ms == 500);
    CHECK(hf_config_parse_duration_ms("5m", &ms) == 0 && ms == 300000);
    CHECK(hf_config_parse_duration_ms("2h", &ms) == 0 && ms == 7200000);
    CHECK(hf_config_parse_duration_ms("30", &ms) == 0 && ms == 30000);
    CHECK(hf_config_parse_duration_ms("1.5s", &ms) == 0 && ms == 1500);
    CHECK(hf_config_parse_duration_ms("-1s", &ms) < 0);
    CHECK(hf_config_parse_duration_ms("10 parsecs", &ms) < 0);
    CHECK(hf_config_parse_duration_ms("", &ms) < 0);
    CHECK(hf_config_parse_duration_ms("nan", &ms) < 0);
}

TEST(sizes)
{
    size_t b;
    CHECK(hf_config_parse_size("4GiB", &b) == 0 && b == (size_t)4 << 30);
    CHECK(hf_config_parse_size("512MiB", &b) == 0 && b == (size_t)512 << 20);
    CHECK(hf_config_parse_size("1000000", &b) == 0 && b == 1000000);
    CHECK(hf_config_parse_size("2 GB", &b) == 0 && b == 2000000000);
    CHECK(hf_config_parse_size("lots", &b) < 0);
}

TEST(window_lists_are_sorted_and_checked)
{
    hf_config cfg;
    char err[512];
    hf_config_defaults(&cfg, "/nonexistent");
    CHECK_EQ_INT(hf_config_set_windows(&cfg, "5m, 10s,1m", err, sizeof err), 0);
    CHECK(cfg.nwindows == 3 && cfg.windows_ms[0] == 10000 && cfg.windows_ms[2] == 300000);
    CHECK(hf_config_set_windows(&cfg, "10s,10s", err, sizeof err) < 0 && strstr(err, "given twice"));
    CHECK(hf_config_set_windows(&cfg, "1500ms", err, sizeof err) < 0 && strstr(err, "whole number of seconds"));
    CHECK(hf_config_set_windows(&cfg, ",", err, sizeof err) < 0);
    hf_config_release(&cfg);
}

TEST(network_lists_name_a_bad_prefix)
{
    hf_config cfg;
    char err[512];
    hf_config_defaults(&cfg, "/nonexistent");
    CHECK_EQ_INT(hf_config_set_networks(&cfg, "10.0.0.0/8,!10.1.0.0/16,2001:db8::/32", err, sizeof err), 0);
    CHECK_EQ_INT(cfg.networks.n, 3);
    CHECK(hf_config_set_networks(&cfg, "10.0.0.0/33", err, sizeof err) < 0 && strstr(err, "10.0.0.0/33"));
    hf_config_release(&cfg);
}

TEST(the_file_sets_what_it_names)
{
    hf_config cfg;
    char err[512];
    CHECK_EQ_INT(load("return { windows = { '10s', 60 }, lateness = '2s', workers = 3,\n"
                      "  memory = { max_bytes = '64MiB', distinct_exact = 16 },\n"
                      "  kafka = { ['bootstrap.servers'] = 'k:9092', ['linger.ms'] = 5, ['enable.idempotence'] = true } }\n",
                      &cfg, err, sizeof err), 0);
    CHECK(cfg.nwindows == 2 && cfg.windows_ms[1] == 60000);
    CHECK(cfg.lateness_ms == 2000 && cfg.workers == 3);
    CHECK(cfg.memory_max == (size_t)64 << 20 && cfg.distinct_exact == 16);
    CHECK_EQ_STR(hf_config_kafka(&cfg, "bootstrap.servers"), "k:9092");
    CHECK_EQ_STR(hf_config_kafka(&cfg, "linger.ms"), "5");
    CHECK_EQ_STR(hf_config_kafka(&cfg, "enable.idempotence"), "true");
    hf_config_release(&cfg);
}

TEST(messages_name_the_file_the_key_and_the_expectation)
{
    hf_config cfg;
    char err[512];
    CHECK(load("return { windos = {} }", &cfg, err, sizeof err) < 0);
    CHECK(strstr(err, path) && strstr(err, "windos: unknown key"));
    hf_config_release(&cfg);
    CHECK(load("return { workers = 'many' }", &cfg, err, sizeof err) < 0);
    CHECK(strstr(err, "workers: expected a whole number from 0 to 256, got \"many\""));
    hf_config_release(&cfg);
    CHECK(load("return { networks = { '10.0.0.0/8', 7 } }", &cfg, err, sizeof err) < 0);
    CHECK(strstr(err, "networks[2]: expected a network such as"));
    hf_config_release(&cfg);
    CHECK(load("return { kafka_start = 'yesterday' }", &cfg, err, sizeof err) < 0);
    CHECK(strstr(err, "kafka_start: expected \"earliest\", \"latest\" or a time"));
    hf_config_release(&cfg);
    CHECK(load("return { max_line = '1GiB' }", &cfg, err, sizeof err) < 0);
    CHECK(strstr(err, "max_line: expected 256 bytes to 64MiB"));
    hf_config_release(&cfg);
    CHECK_EQ_INT(load("return { max_line = '64MiB' }", &cfg, err, sizeof err), 0);
    err[0] = '\0';
    hf_config_check(&cfg, err, sizeof err);
    CHECK(strstr(err, "max_line") == NULL);
    hf_config_release(&cfg);
    CHECK(load("return {", &cfg, err, sizeof err) < 0);
    CHECK(strstr(err, path) != NULL);
    hf_config_release(&cfg);
}

TEST(the_file_runs_sandboxed_and_bounded)
{
    hf_config cfg;
    char err[512];
    CHECK(load("io.open('/tmp/x', 'w') return {}", &cfg, err, sizeof err) < 0);
    hf_config_release(&cfg);
    CHECK(load("os.exit(3)", &cfg, err, sizeof err) < 0);
    hf_config_release(&cfg);
    CHECK(load("while true do end", &cfg, err, sizeof err) < 0);
    CHECK(strstr(err, "more than") != NULL);
    hf_config_release(&cfg);
    CHECK_EQ_INT(load("local w = {} for i = 1, 2 do w[i] = (i * 10) .. 's' end\n"
                      "return { windows = w, lateness = os.getenv('NO_SUCH_VAR_HF') or '1s' }",
                      &cfg, err, sizeof err), 0);
    CHECK(cfg.nwindows == 2 && cfg.windows_ms[1] == 20000 && cfg.lateness_ms == 1000);
    hf_config_release(&cfg);
}

/* The declarations: every default is valid (hf_config_defaults aborts on
 * a bad one), every name is unique, and every key is found by its name. */
static int names_seen;
static void check_decl(void *ctx, const hf_conf_key *k)
{
    (void)ctx;
    if (k->type == HF_CONF_HEADING) return;
    names_seen++;
    CHECK(hf_conf_find(k->name) == k);
    CHECK(k->doc && *k->doc);
}

TEST(every_key_is_declared_once_with_a_valid_default)
{
    hf_config cfg;
    hf_config_defaults(&cfg, "/nonexistent");
    hf_conf_each(check_decl, NULL);
    CHECK(names_seen > 20);
    CHECK_EQ_STR(hf_conf_str(&cfg, "lateness"), "5s");
    CHECK(hf_conf_ms(&cfg, "lateness") == 5000 && cfg.lateness_ms == 5000);
    CHECK(hf_conf_size(&cfg, "memory.max_bytes") == (uint64_t)4 << 30);
    CHECK(hf_conf_bool(&cfg, "analyses.reload") == 1 && hf_conf_int(&cfg, "batch") == 4096);
    CHECK_EQ_STR(cfg.analyses_dir, "/nonexistent/analyses");   /* a default path is under home */
    const char *const *items;
    CHECK_EQ_INT(hf_conf_list(&cfg, "windows", &items), 4);
    CHECK_EQ_STR(items[3], "5m");
    /* conf and prim are siblings: keys.c repeats distinct.h's limits */
    CHECK_EQ_INT(cfg.distinct_exact, HF_DISTINCT_DEFAULT_LIMIT);
    CHECK(hf_conf_find("memory.distinct_exact")->max == HF_DISTINCT_MAX_LIMIT);
    hf_config_release(&cfg);
}

TEST(unknown_keys_are_named_with_those_expected_there)
{
    hf_config cfg;
    char err[1024];
    CHECK(load("return { memory = { max_byte = '1GiB' } }", &cfg, err, sizeof err) < 0);
    CHECK(strstr(err, "memory.max_byte: unknown key (expected max_bytes or distinct_exact)"));
    hf_config_release(&cfg);
    CHECK(load("return { analyses = 'dir' }", &cfg, err, sizeof err) < 0);
    CHECK(strstr(err, "analyses: expected a table, got \"dir\""));
    hf_config_release(&cfg);
}

TEST(flags_set_keys_by_the_same_checks)
{
    hf_config cfg;
    char err[512];
    hf_config_defaults(&cfg, "/nonexistent");
    CHECK_EQ_INT(hf_config_set(&cfg, "outputs", "a.ndjson", "-o", 0, err, sizeof err), 0);
    CHECK_EQ_INT(hf_config_set(&cfg, "outputs", "kafka:hosts", "-o", 1, err, sizeof err), 0);
    CHECK(cfg.outputs.n == 2 && !strcmp(cfg.outputs.v[1], "kafka:hosts"));
    CHECK(hf_config_set(&cfg, "lateness", "soon", "-l", 0, err, sizeof err) < 0);
    CHECK(strstr(err, "-l: expected a duration"));
    CHECK(hf_config_set(&cfg, "workers", "300", "-j", 0, err, sizeof err) < 0);
    CHECK(strstr(err, "-j: expected a whole number from 0 to 256, got \"300\""));
    CHECK_EQ_INT(hf_config_set(&cfg, "kafka.linger.ms", "7", "-K", 0, err, sizeof err), 0);
    CHECK_EQ_STR(hf_config_kafka(&cfg, "linger.ms"), "7");
    CHECK(hf_config_set(&cfg, "exit_at_end", "maybe", "--exit-at-end", 0, err, sizeof err) < 0);
    hf_config_release(&cfg);
}

TEST(analysis_params_are_kept_as_canonical_lua)
{
    hf_config cfg;
    char err[512];
    CHECK_EQ_INT(load("return { analyses = { params = { scan = { threshold = 20, ports = { 22, 23 },"
                      " name = 'a\"b', on = true } } } }", &cfg, err, sizeof err), 0);
    CHECK_EQ_STR(cfg.params, "{scan={name=\"a\\\"b\",on=true,ports={22,23,},threshold=20,},}");
    hf_config_release(&cfg);
    CHECK(load("return { analyses = { params = { x = { f = function() end } } } }", &cfg, err, sizeof err) < 0);
    CHECK(strstr(err, "analyses.params.x.f: expected plain values"));
    hf_config_release(&cfg);
}

static const hf_conf_key plugin_keys[] = {
    {.name = "testout.url", .type = HF_CONF_STRING, .deflt = "http://x", .doc = "where"},
    {.name = "testout.batch", .type = HF_CONF_INT, .deflt = "10", .doc = "how many", .min = 1, .max = 100},
    {.name = NULL},
};

TEST(a_plugin_registers_keys_of_its_own)
{
    hf_conf_register(plugin_keys);
    hf_config cfg;
    char err[512];
    CHECK_EQ_INT(load("return { testout = { batch = 50 } }", &cfg, err, sizeof err), 0);
    CHECK(hf_conf_int(&cfg, "testout.batch") == 50);
    CHECK_EQ_STR(hf_conf_str(&cfg, "testout.url"), "http://x");
    hf_config_release(&cfg);
    CHECK(load("return { testout = { batch = 500 } }", &cfg, err, sizeof err) < 0);
    CHECK(strstr(err, "testout.batch: expected a whole number from 1 to 100, got \"500\""));
    hf_config_release(&cfg);
}

int main(void)
{
    RUN(durations);
    RUN(sizes);
    RUN(window_lists_are_sorted_and_checked);
    RUN(network_lists_name_a_bad_prefix);
    RUN(the_file_sets_what_it_names);
    RUN(messages_name_the_file_the_key_and_the_expectation);
    RUN(the_file_runs_sandboxed_and_bounded);
    RUN(every_key_is_declared_once_with_a_valid_default);
    RUN(unknown_keys_are_named_with_those_expected_there);
    RUN(flags_set_keys_by_the_same_checks);
    RUN(analysis_params_are_kept_as_canonical_lua);
    RUN(a_plugin_registers_keys_of_its_own);
    unlink(path);
    return UNIT_END();
}
