/* test_recscan.c -- the record scanner (io/recscan.c) against cJSON: the
 * same members with the same paths, kinds and values on generated records
 * (nested objects, arrays, escaped keys, numbers of every shape, compared
 * bit for bit with strtod); refusal of what is not one object (every
 * truncation, bad numbers, too deep); and mutated records, walked from
 * buffers of their exact size under ASan, never read outside. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cJSON.h>

#include "base/buf.h"
#include "io/recscan.h"
#include "unit.h"

#define MAX_ITEMS 4096
#define DEPTH     4

/* The members a walk reports, as lines "path kind value". */
typedef struct list {
    char *line[MAX_ITEMS];
    int   n;
} list;

static void list_add(list *l, const char *path, const char *kind, const char *value)
{
    if (l->n == MAX_ITEMS) return;
    size_t n = strlen(path) + strlen(kind) + strlen(value) + 3;
    l->line[l->n] = malloc(n);
    snprintf(l->line[l->n++], n, "%s %s %s", path, kind, value);
}

static void list_free(list *l)
{
    for (int i = 0; i < l->n; i++) free(l->line[i]);
    l->n = 0;
}

static void number_text(double v, char *out, size_t n)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    snprintf(out, n, "%.17g/%016llx", v, (unsigned long long)bits);
}

static void on_item(void *ctx, const hf_recscan_item *it)
{
    list *l = ctx;
    char v[512];
    switch (it->kind) {
    case HF_RECSCAN_NUMBER: number_text(it->num, v, sizeof v); list_add(l, it->path, "number", v); break;
    case HF_RECSCAN_STRING: snprintf(v, sizeof v, "%.*s", (int)it->len, it->str); list_add(l, it->path, "string", v); break;
    case HF_RECSCAN_TRUE: list_add(l, it->path, "true", ""); break;
    case HF_RECSCAN_FALSE: list_add(l, it->path, "false", ""); break;
    case HF_RECSCAN_NULL: list_add(l, it->path, "null", ""); break;
    case HF_RECSCAN_OBJECT: list_add(l, it->path, "object", it->nonempty ? "1" : "0"); break;
    case HF_RECSCAN_ARRAY: list_add(l, it->path, "array", it->nonempty ? "1" : "0"); break;
    }
}

/* The same from cJSON's tree; strings as printed by cJSON (escaped) are
 * compared only where the generator wrote no escape. */
static void flatten(const cJSON *o, char *path, size_t plen, int depth, list *l)
{
    for (const cJSON *c = o->child; c; c = c->next) {
        size_t kl = strlen(c->string);
        size_t at = plen ? plen + 1 : 0;
        if (at + kl > HF_RECSCAN_MAX_PATH) continue;
        if (plen) path[plen] = '.';
        memcpy(path + at, c->string, kl + 1);
        char v[512];
        if (cJSON_IsNumber(c)) {
            number_text(c->valuedouble, v, sizeof v);
            list_add(l, path, "number", v);
        } else if (cJSON_IsString(c)) {
            list_add(l, path, "string", c->valuestring);
        } else if (cJSON_IsTrue(c)) {
            list_add(l, path, "true", "");
        } else if (cJSON_IsFalse(c)) {
            list_add(l, path, "false", "");
        } else if (cJSON_IsNull(c)) {
            list_add(l, path, "null", "");
        } else if (cJSON_IsArray(c)) {
            list_add(l, path, "array", c->child ? "1" : "0");
        } else if (cJSON_IsObject(c)) {
            list_add(l, path, "object", c->child ? "1" : "0");
            if (depth < DEPTH) flatten(c, path, at + kl, depth + 1, l);
        }
        path[plen] = '\0';
    }
}

/* ------------------------------------------------------------------------
 * Generated records
 * --------------------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void gen_number(hf_buf *b)
{
    char t[64];
    switch (rnd() % 8) {
    case 0: snprintf(t, sizeof t, "%llu", (unsigned long long)(rnd() % 1000000)); break;
    case 1: snprintf(t, sizeof t, "-%llu", (unsigned long long)(rnd() >> (rnd() % 64))); break;
    case 2: snprintf(t, sizeof t, "%.17g", (double)(rnd() % 100000) / 1000.0); break;
    case 3: snprintf(t, sizeof t, "%.17g", (double)rnd() / 3.0); break;
    case 4: snprintf(t, sizeof t, "%llue%d", (unsigned long long)(rnd() % 100000), (int)(rnd() % 60) - 30); break;
    case 5: snprintf(t, sizeof t, "0.%06llu", (unsigned long long)(rnd() % 1000000)); break;
    case 6: snprintf(t, sizeof t, "%llu.%llu", (unsigned long long)(rnd() >> 20), (unsigned long long)(rnd() % 1000)); break;
    default: snprintf(t, sizeof t, "%.15g", ldexp((double)(rnd() % 1000), (int)(rnd() % 200) - 100)); break;
    }
    hf_buf_puts(b, t);
}

static void gen_key(hf_buf *b, int i)
{
    static const char *const keys[] = {"total", "flow", "bytes", "a.b", "tcp_flags", "SYN",
                                       "caf\\u00e9", "q\\\"uote", "tab\\t", "\\ud83d\\ude00x", ""};
    char t[64];
    snprintf(t, sizeof t, "\"%s%d\"", keys[rnd() % 11], i);
    hf_buf_puts(b, t);
}

static void gen_value(hf_buf *b, int depth);

static void gen_object(hf_buf *b, int depth)
{
    int n = depth > 5 ? 0 : (int)(rnd() % 6);
    hf_buf_putc(b, '{');
    for (int i = 0; i < n; i++) {
        if (i) hf_buf_puts(b, rnd() % 4 ? "," : " ,\n ");
        gen_key(b, i);
        hf_buf_puts(b, rnd() % 3 ? ":" : " : ");
        gen_value(b, depth + 1);
    }
    hf_buf_putc(b, '}');
}

static void gen_value(hf_buf *b, int depth)
{
    switch (rnd() % 9) {
    case 0: case 1: case 2: gen_number(b); break;
    case 3: hf_buf_puts(b, rnd() % 2 ? "\"10.0.0.1\"" : "\"esc \\\" \\\\ \\n \\u0041\""); break;
    case 4: hf_buf_puts(b, rnd() % 3 ? "true" : rnd() % 2 ? "false" : "null"); break;
    case 5: case 6: gen_object(b, depth); break;
    default: {
        int n = depth > 5 ? 0 : (int)(rnd() % 4);
        hf_buf_putc(b, '[');
        for (int i = 0; i < n; i++) {
            if (i) hf_buf_putc(b, ',');
            gen_value(b, depth + 1);
        }
        hf_buf_putc(b, ']');
    }
    }
}

/* Walk text (len bytes, in a buffer of exactly that size) into l. */
static int walk(const char *text, size_t len, list *l)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, text, len);
    int rc = hf_recscan_walk(copy, len, DEPTH, on_item, l);
    free(copy);
    return rc;
}

TEST(walks_members_with_their_paths)
{
    const char *rec = "{\"@type\":\"host_stats\",\"src_ip\":\"10.0.0.1\",\"window\":{\"start_ms\":1795701600000,"
                      "\"granularity_s\":10},\"stats\":{\"total\":{\"flow\":12,\"bytes\":1.5e3},\"alert\":true,"
                      "\"top\":[1,{\"x\":2}],\"deep\":{\"a\":{\"b\":{\"c\":1}}},\"e\":{}}}";
    list l = {0};
    CHECK_EQ_INT(walk(rec, strlen(rec), &l), 0);
    static const char *const want[] = {
        "@type string host_stats", "src_ip string 10.0.0.1", "window object 1",
        "window.start_ms number 1795701600000", "window.granularity_s number 10", "stats object 1",
        "stats.total object 1", "stats.total.flow number 12", "stats.total.bytes number 1500",
        "stats.alert true ", "stats.top array 1", "stats.deep object 1", "stats.deep.a object 1",
        "stats.deep.a.b object 1", "stats.e object 0"};
    CHECK_EQ_INT(l.n, (int)(sizeof want / sizeof want[0]));
    for (int i = 0; i < l.n && i < (int)(sizeof want / sizeof want[0]); i++) {
        char *bits = strchr(l.line[i], '/');        /* numbers: the value, not its bits */
        if (bits && strstr(l.line[i], " number ")) *bits = '\0';
        CHECK_EQ_STR(l.line[i], want[i]);
    }
    list_free(&l);
}

TEST(agrees_with_cjson_on_generated_records)
{
    hf_buf b;
    hf_buf_init(&b, 4096);
    int compared = 0;
    for (int k = 0; k < 3000; k++) {
        b.len = 0;
        gen_object(&b, 0);
        list mine = {0}, ref = {0};
        int rc = walk(b.data, b.len, &mine);
        cJSON *o = cJSON_ParseWithLength(b.data, b.len);
        CHECK(rc == 0 && o != NULL);
        if (o) {
            char path[HF_RECSCAN_MAX_PATH + 8] = "";
            flatten(o, path, 0, 1, &ref);
            cJSON_Delete(o);
        }
        int same = mine.n == ref.n;
        for (int i = 0; same && i < mine.n; i++) {
            /* strings: recscan hands them raw; compare those without escapes */
            if (strstr(mine.line[i], " string ") && strchr(mine.line[i], '\\')) continue;
            same = strcmp(mine.line[i], ref.line[i]) == 0;
            if (!same) fprintf(stderr, "  %s\n  %s\n", mine.line[i], ref.line[i]);
        }
        CHECK(same);
        if (!same) fprintf(stderr, "  record: %.*s\n", (int)b.len, b.data);
        compared += same;
        list_free(&mine);
        list_free(&ref);
        if (!same) break;
    }
    CHECK_EQ_INT(compared, 3000);
    hf_buf_release(&b);
}

TEST(numbers_convert_as_strtod_does)
{
    static const char *const fixed[] = {
        "0", "-0", "1", "-1", "0.1", "0.3", "1.5", "123456789012345", "1234567890123456",
        "9007199254740993", "12345678901234567890", "1e22", "1e23", "1.7976931348623157e308",
        "4.9e-324", "2.2250738585072014e-308", "0.000001", "123.456e-5", "5e-324", "1E+2",
        "0.25681658291457282", "3.0000000000000004", "100000000000000000000000"};
    int bad = 0;
    for (int k = 0; k < (int)(sizeof fixed / sizeof fixed[0]) + 20000; k++) {
        char t[64], rec[128];
        if (k < (int)(sizeof fixed / sizeof fixed[0])) {
            snprintf(t, sizeof t, "%s", fixed[k]);
        } else {
            hf_buf b;
            hf_buf_init(&b, 64);
            gen_number(&b);
            snprintf(t, sizeof t, "%.*s", (int)b.len, b.data);
            hf_buf_release(&b);
        }
        snprintf(rec, sizeof rec, "{\"n\":%s}", t);
        list l = {0};
        char want[64];
        number_text(strtod(t, NULL), want, sizeof want);
        if (walk(rec, strlen(rec), &l) != 0 || l.n != 1 || strcmp(l.line[0] + 9, want) != 0) {
            if (bad++ < 5) fprintf(stderr, "  %s: %s, want %s\n", t, l.n ? l.line[0] : "refused", want);
        }
        list_free(&l);
    }
    CHECK_EQ_INT(bad, 0);
}

TEST(refuses_what_is_not_one_object)
{
    const char *rec = "{\"src_ip\":\"10.0.0.1\",\"stats\":{\"a\":[1,2,{\"b\":\"x\\\"y\"}],\"c\":-1.5e-3,\"d\":null}}";
    size_t n = strlen(rec);
    list l = {0};
    int refused = 0;
    for (size_t len = 0; len < n; len++) {        /* every truncation */
        refused += walk(rec, len, &l) < 0;
        list_free(&l);
    }
    CHECK_EQ_INT(refused, (int)n);
    CHECK_EQ_INT(walk(rec, n, &l), 0);
    list_free(&l);
    static const char *const bad[] = {
        "[1]", "{} x", "{\"a\":01}", "{\"a\":-}", "{\"a\":1.}", "{\"a\":1e}", "{\"a\" 1}",
        "{\"a\":1,}", "{\"a\":\"x}", "{,}", "{\"a\":tru}", "{\"a\":[1,]}", "{\"a\":[1 2]}",
        "{\"a\\q\":1}", "{\"\\ud800\":1}", "", "  ", "{\"a\":1}}", "{\"a\":+1}", "{\"a\":.5}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = walk(bad[i], strlen(bad[i]), &l);
        if (rc != -1) fprintf(stderr, "  accepted: %s\n", bad[i]);
        CHECK_EQ_INT(rc, -1);
        list_free(&l);
    }
    char deep[1024];
    size_t k = 0;
    for (int i = 0; i < HF_RECSCAN_MAX_NEST; i++) k += (size_t)snprintf(deep + k, sizeof deep - k, "{\"a\":");
    k += (size_t)snprintf(deep + k, sizeof deep - k, "1");
    for (int i = 0; i < HF_RECSCAN_MAX_NEST; i++) deep[k++] = '}';
    CHECK_EQ_INT(walk(deep, k, &l), 0);             /* as deep as allowed */
    list_free(&l);
    char deeper[1100];
    snprintf(deeper, sizeof deeper, "{\"z\":%.*s}", (int)k, deep);
    CHECK_EQ_INT(walk(deeper, strlen(deeper), &l), -1);
    list_free(&l);
}

TEST(mutated_records_are_walked_safely)
{
    const char *rec = "{\"@type\":\"host_stats\",\"id\":\"10.0.0.1/10/1\",\"src_ip\":\"10.0.0.1\","
                      "\"window\":{\"start_ms\":1795701600000,\"end_ms\":1795701610000,\"granularity_s\":10},"
                      "\"stats\":{\"total\":{\"flow\":12,\"packets\":340,\"bytes\":123456},"
                      "\"avg_flow_duration\":1.234,\"k\\u00e9y\":[1,{\"x\":\"y\"}]}}";
    size_t n = strlen(rec);
    char buf[1024];
    int accepted = 0;
    for (int k = 0; k < 30000; k++) {
        memcpy(buf, rec, n);
        size_t len = n;
        for (int m = 0; m < 1 + (int)(rnd() % 3); m++) {
            size_t at = rnd() % len;
            switch (rnd() % 3) {
            case 0: buf[at] = (char)(rnd() & 0xff); break;
            case 1: memmove(buf + at, buf + at + 1, len - at - 1), len--; break;
            default:
                if (len < sizeof buf - 1) {
                    memmove(buf + at + 1, buf + at, len - at);
                    buf[at] = "{}[]\":,\\0e-."[rnd() % 13];
                    len++;
                }
            }
        }
        list l = {0};
        accepted += walk(buf, len, &l) == 0;
        list_free(&l);
    }
    CHECK(accepted > 0 && accepted < 30000);
}

int main(void)
{
    RUN(walks_members_with_their_paths);
    RUN(agrees_with_cjson_on_generated_records);
    RUN(numbers_convert_as_strtod_does);
    RUN(refuses_what_is_not_one_object);
    RUN(mutated_records_are_walked_safely);
    return UNIT_END();
}
