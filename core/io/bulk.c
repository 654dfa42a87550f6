/* bulk.c -- bulk requests made, and their answers read item by item (see
 * bulk.h).
 *
 * An item is made once, when the record is written to the output: its
 * action line and document are laid out as they will be sent, so a request
 * body is one memcpy per item, and a retried item is sent again as it is.
 * The answer is asked for with filter_path (status and error of each item,
 * nothing else); one that says "errors":false is not parsed further. */
#include "io/bulk.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/alloc.h"

hf_bulk_item *hf_bulk_item_new(const char *index, size_t ilen, const char *id, size_t idlen,
                               const char *doc, size_t dlen, int type, uint64_t seq, int64_t version)
{
    static const char a0[] = "{\"index\":{\"_index\":\"", a1[] = "\",\"_id\":\"", a2[] = "\"}}\n";
    char ver[64] = "";
    int vlen = version >= 0 ? snprintf(ver, sizeof ver, "\",\"version\":%lld,\"version_type\":\"external_gte",
                                       (long long)version) : 0;
    size_t alen = sizeof a0 - 1 + ilen + sizeof a1 - 1 + idlen + (size_t)vlen + sizeof a2 - 1;
    hf_bulk_item *it = hf_malloc(sizeof *it + alen + dlen + 1);
    memset(it, 0, sizeof *it);
    char *p = it->data;
    memcpy(p, a0, sizeof a0 - 1), p += sizeof a0 - 1;
    it->index_off = (uint16_t)(p - it->data);
    it->index_len = (uint16_t)ilen;
    memcpy(p, index, ilen), p += ilen;
    memcpy(p, a1, sizeof a1 - 1), p += sizeof a1 - 1;
    it->id_off = (uint32_t)(p - it->data);
    it->id_len = (uint16_t)idlen;
    memcpy(p, id, idlen), p += idlen;
    memcpy(p, ver, (size_t)vlen), p += vlen;
    memcpy(p, a2, sizeof a2 - 1), p += sizeof a2 - 1;
    it->doc_off = (uint32_t)(p - it->data);
    memcpy(p, doc, dlen), p += dlen;
    *p++ = '\n';
    it->len = (uint32_t)(p - it->data);
    it->seq = seq;
    it->type = (uint8_t)type;
    return it;
}

/* ------------------------------------------------------------------------
 * Index names
 * --------------------------------------------------------------------- */

/* Expand pattern into out; unknown codes are kept as they are (the check
 * refuses them first).  Returns the length it needed. */
static size_t expand(const char *pattern, const char *type, int64_t time_ms, char *out, size_t n)
{
    struct tm tm;
    time_t t = (time_t)(time_ms >= 0 ? time_ms / 1000 : (time_ms - 999) / 1000);
    gmtime_r(&t, &tm);
    size_t len = 0;
#define PUT(s, l) do { \
        size_t l_ = (l); \
        if (len + l_ < n) memcpy(out + len, (s), l_); \
        len += l_; \
    } while (0)
    for (const char *p = pattern; *p; p++) {
        if (*p != '%') {
            PUT(p, 1);
            continue;
        }
        char num[16];
        int k = -1;
        switch (p[1]) {
        case '{':
            if (strncmp(p, "%{type}", 7) == 0) {
                PUT(type, strlen(type));
                p += 6;
                continue;
            }
            PUT(p, 1);
            continue;
        case 'Y': k = snprintf(num, sizeof num, "%04d", tm.tm_year + 1900); break;
        case 'm': k = snprintf(num, sizeof num, "%02d", tm.tm_mon + 1); break;
        case 'd': k = snprintf(num, sizeof num, "%02d", tm.tm_mday); break;
        case 'H': k = snprintf(num, sizeof num, "%02d", tm.tm_hour); break;
        case 'G': k = (int)strftime(num, sizeof num, "%G", &tm); break;
        case 'V': k = (int)strftime(num, sizeof num, "%V", &tm); break;
        case '%': k = snprintf(num, sizeof num, "%%"); break;
        default: PUT(p, 1); continue;
        }
        PUT(num, (size_t)k);
        p++;
    }
#undef PUT
    if (n) out[len < n ? len : n - 1] = '\0';
    return len;
}

int hf_bulk_pattern_check(const char *pattern, char *err, size_t errlen)
{
    for (const char *p = pattern; *p; p++) {
        if (*p != '%') continue;
        if (strncmp(p, "%{type}", 7) == 0) { p += 6; continue; }
        if (p[1] && strchr("YmdHGV%", p[1])) { p++; continue; }
        snprintf(err, errlen, "\"%s\": unknown code \"%.*s\" (known: %%{type} %%Y %%m %%d %%H "
                 "%%G %%V %%%%)", pattern, p[1] == '{' ? (int)strcspn(p, "}") + 1 : 2, p);
        return -1;
    }
    static const char *const types[] = {"host_stats", "host_alert", "host_profile"};
    for (int i = 0; i < 3; i++) {
        char name[512];
        size_t n = expand(pattern, types[i], 1795701590000LL, name, sizeof name);
        const char *bad = NULL;
        if (n == 0) bad = "it is empty";
        else if (n > 255) bad = "it is longer than 255 bytes";
        else if (strchr("-_+", name[0])) bad = "it starts with -, _ or +";
        else if (!strcmp(name, ".") || !strcmp(name, "..")) bad = "it is . or ..";
        for (size_t j = 0; !bad && j < n; j++) {
            unsigned char c = (unsigned char)name[j];
            if (c >= 'A' && c <= 'Z') bad = "it has upper-case letters";
            else if (strchr("\\/*?\"<>| ,#:", c) || c < 0x20) bad = "it has one of \\ / * ? \" < > | , # : or a space";
        }
        if (bad) {
            snprintf(err, errlen, "\"%s\": gives index names such as \"%s\", and an index name "
                     "cannot be that: %s", pattern, name, bad);
            return -1;
        }
    }
    return 0;
}

size_t hf_bulk_index_name(const char *pattern, const char *type, int64_t time_ms,
                          char *out, size_t n)
{
    size_t len = expand(pattern, type, time_ms, out, n);
    return len < n ? len : n - 1;
}

void hf_bulk_pattern_glob(const char *pattern, char *out, size_t n)
{
    size_t len = 0;
    for (const char *p = pattern; *p && len + 2 < n; p++) {
        if (*p == '%' && p[1]) {
            if (p[1] == '%') { out[len++] = '%'; p++; continue; }
            p += p[1] == '{' ? strcspn(p, "}") : 1;
            if (!*p) break;
            if (len == 0 || out[len - 1] != '*') out[len++] = '*';
            continue;
        }
        out[len++] = *p;
    }
    out[len] = '\0';
}

/* ------------------------------------------------------------------------
 * Requests and answers
 * --------------------------------------------------------------------- */

void hf_bulk_body(hf_buf *b, hf_bulk_item *const *items, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += items[i]->len;
    hf_buf_reserve(b, total);
    for (size_t i = 0; i < n; i++) hf_buf_put(b, items[i]->data, items[i]->len);
}

int hf_bulk_verdict(int status, const char *error_type)
{
    if (status >= 200 && status < 300) return HF_BULK_DONE;
    /* a versioned copy older than the one stored (an alert's update sent
     * again after a newer one): the newer stays, nothing to send */
    if (status == 409 && error_type && strcmp(error_type, "version_conflict_engine_exception") == 0)
        return HF_BULK_DONE;
    if (status == 429 || status >= 500) return HF_BULK_RETRY;
    /* es_rejected_execution_exception (Elasticsearch), rejected_execution_exception
     * (OpenSearch): a full write queue; cluster_block_exception: an index made
     * read-only for a while (a full disk) */
    if (error_type && (strstr(error_type, "rejected_execution_exception") ||
                       strcmp(error_type, "cluster_block_exception") == 0 ||
                       strcmp(error_type, "circuit_breaking_exception") == 0))
        return HF_BULK_RETRY;
    return HF_BULK_REFUSED;
}

/* "type: reason (caused by type: reason (caused by ...))" into b. */
static void put_reason(hf_buf *b, const cJSON *e, int depth)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(e, "type");
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(e, "reason");
    if (cJSON_IsString(type)) hf_buf_puts(b, type->valuestring);
    if (cJSON_IsString(type) && cJSON_IsString(reason)) hf_buf_puts(b, ": ");
    if (cJSON_IsString(reason)) hf_buf_puts(b, reason->valuestring);
    if (!cJSON_IsString(type) && !cJSON_IsString(reason)) {
        char *s = cJSON_PrintUnformatted(e);
        if (s) hf_buf_puts(b, s);
        cJSON_free(s);
    }
    const cJSON *cause = cJSON_GetObjectItemCaseSensitive(e, "caused_by");
    if (cJSON_IsObject(cause) && depth < 8) {
        hf_buf_puts(b, " (caused by ");
        put_reason(b, cause, depth + 1);
        hf_buf_putc(b, ')');
    }
}

long hf_bulk_parse(const char *answer, size_t len, size_t n, hf_bulk_outcome *out,
                   char *err, size_t errlen)
{
    static const char all_ok[] = "{\"errors\":false";
    if (len >= sizeof all_ok - 1 && memcmp(answer, all_ok, sizeof all_ok - 1) == 0) {
        for (size_t i = 0; i < n; i++) out[i] = (hf_bulk_outcome){HF_BULK_DONE, 200, NULL};
        return 0;
    }
    cJSON *root = cJSON_ParseWithLength(answer, len);
    const cJSON *items = root ? cJSON_GetObjectItemCaseSensitive(root, "items") : NULL;
    long refused = 0;
    if (!cJSON_IsArray(items)) {
        snprintf(err, errlen, root ? "the answer has no \"items\" array"
                                   : "the answer is not JSON");
        goto fail;
    }
    if ((size_t)cJSON_GetArraySize(items) != n) {
        snprintf(err, errlen, "the answer has %d items for %zu sent",
                 cJSON_GetArraySize(items), n);
        goto fail;
    }
    size_t i = 0;
    hf_buf reason;
    hf_buf_init(&reason, 0);
    for (const cJSON *it = items->child; it; it = it->next, i++) {
        const cJSON *action = it->child;   /* {"index": {...}} */
        const cJSON *status = action ? cJSON_GetObjectItemCaseSensitive(action, "status") : NULL;
        const cJSON *e = action ? cJSON_GetObjectItemCaseSensitive(action, "error") : NULL;
        int st = cJSON_IsNumber(status) ? status->valueint : 0;
        const cJSON *type = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "type") : NULL;
        out[i].status = st;
        out[i].verdict = st ? hf_bulk_verdict(st, cJSON_IsString(type) ? type->valuestring : NULL)
                            : HF_BULK_RETRY;
        out[i].reason = NULL;
        if (out[i].verdict == HF_BULK_DONE) continue;
        refused++;
        reason.len = 0;
        if (e) put_reason(&reason, e, 0);
        else if (!st) hf_buf_puts(&reason, "an item without a status in the answer");
        else hf_buf_puts(&reason, "refused without an error text");
        out[i].reason = hf_strndup(reason.data, reason.len);
    }
    hf_buf_release(&reason);
    cJSON_Delete(root);
    return refused;
fail:
    cJSON_Delete(root);
    return -1;
}

void hf_bulk_outcomes_release(hf_bulk_outcome *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        hf_free(out[i].reason);
        out[i].reason = NULL;
    }
}
