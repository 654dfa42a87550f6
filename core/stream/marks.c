/* marks.c -- the merge role's watermark from the partial instances' progress
 * (see marks.h).
 *
 * The input partitions are laid out topic after topic, in the order their
 * topics were first named: topic t's partition i is source base[t] + i.
 * Each partition of the intermediate topic has a row with, per source, the
 * highest mark seen and the offset of the message that brought the newest
 * mark.  A topic seen with more partitions than before, or a new topic,
 * lays the rows out again (rare: a topic is created once). */
#include "stream/marks.h"

#include <string.h>

#include "base/alloc.h"
#include "stream/offsets.h"

typedef struct topic {
    char    *name;
    int32_t  n;           /* its partitions */
    int      base;        /* its first source */
} topic;

typedef struct row {
    int64_t *through;     /* per source: the highest mark, INT64_MIN: none */
    int64_t *offset;      /* per source: where its newest mark was read, -1: none */
} row;

struct hf_marks {
    topic   *topics;
    int      ntopics;
    int      nsources;
    row      rows[HF_MAX_PARTITIONS];
};

hf_marks *hf_marks_new(void)
{
    return hf_calloc(1, sizeof(hf_marks));
}

static void row_free(row *r)
{
    hf_free(r->through);
    hf_free(r->offset);
    r->through = r->offset = NULL;
}

void hf_marks_free(hf_marks *m)
{
    if (!m) return;
    for (int i = 0; i < HF_MAX_PARTITIONS; i++) row_free(&m->rows[i]);
    for (int t = 0; t < m->ntopics; t++) hf_free(m->topics[t].name);
    hf_free(m->topics);
    hf_free(m);
}

/* Lay every row out for the topics as they are now, keeping the marks. */
static void relayout(hf_marks *m, const int *old_base, const int32_t *old_n, int old_ntopics)
{
    int total = 0;
    for (int t = 0; t < m->ntopics; t++) {
        m->topics[t].base = total;
        total += m->topics[t].n;
    }
    for (int i = 0; i < HF_MAX_PARTITIONS; i++) {
        row *r = &m->rows[i];
        if (!r->through) continue;
        int64_t *through = hf_malloc(sizeof(int64_t) * (size_t)(total ? total : 1));
        int64_t *offset = hf_malloc(sizeof(int64_t) * (size_t)(total ? total : 1));
        for (int s = 0; s < total; s++) {
            through[s] = INT64_MIN;
            offset[s] = -1;
        }
        for (int t = 0; t < old_ntopics; t++)
            for (int32_t k = 0; k < old_n[t]; k++) {
                through[m->topics[t].base + k] = r->through[old_base[t] + k];
                offset[m->topics[t].base + k] = r->offset[old_base[t] + k];
            }
        row_free(r);
        r->through = through;
        r->offset = offset;
    }
    m->nsources = total;
}

/* The index of topic name (len bytes) with at least n partitions. */
static int topic_of(hf_marks *m, const char *name, size_t len, int32_t n)
{
    int t = 0;
    while (t < m->ntopics && !(strlen(m->topics[t].name) == len && !memcmp(m->topics[t].name, name, len))) t++;
    if (t < m->ntopics && m->topics[t].n >= n) return t;
    int old_base[64];
    int32_t old_n[64];
    int old = m->ntopics < 64 ? m->ntopics : 64;
    for (int k = 0; k < old; k++) {
        old_base[k] = m->topics[k].base;
        old_n[k] = m->topics[k].n;
    }
    if (t == m->ntopics) {
        if (m->ntopics == 64) return -1;
        m->topics = hf_realloc(m->topics, sizeof(topic) * (size_t)(m->ntopics + 1));
        m->topics[t].name = hf_strndup(name, len);
        m->topics[t].n = 0;
        m->ntopics++;
    }
    m->topics[t].n = n;
    relayout(m, old_base, old_n, old);
    return t;
}

static row *row_of(hf_marks *m, int part)
{
    row *r = &m->rows[part];
    if (!r->through) {
        int n = m->nsources ? m->nsources : 1;
        r->through = hf_malloc(sizeof(int64_t) * (size_t)n);
        r->offset = hf_malloc(sizeof(int64_t) * (size_t)n);
        for (int s = 0; s < n; s++) {
            r->through[s] = INT64_MIN;
            r->offset[s] = -1;
        }
    }
    return r;
}

void hf_marks_read(hf_marks *m, int part, int64_t offset, const hf_wire_progress *p)
{
    if (part < 1 || part >= HF_MAX_PARTITIONS) return;
    row_of(m, part);
    int t = topic_of(m, p->topic, p->topic_len, p->partitions);
    if (t < 0) return;
    row *r = &m->rows[part];
    for (int i = 0; i < p->n; i++) {
        if (p->marks[i].partition >= m->topics[t].n) continue;
        int s = m->topics[t].base + p->marks[i].partition;
        if (p->marks[i].through > r->through[s]) r->through[s] = p->marks[i].through;
        r->offset[s] = offset;
    }
}

int64_t hf_marks_through(const hf_marks *m, int part)
{
    if (part < 1 || part >= HF_MAX_PARTITIONS || m->nsources == 0) return INT64_MIN;
    const row *r = &m->rows[part];
    if (!r->through) return INT64_MIN;
    int64_t low = INT64_MAX;
    for (int s = 0; s < m->nsources; s++)
        if (r->through[s] < low) low = r->through[s];
    return low;
}

int64_t hf_marks_pin(const hf_marks *m, int part)
{
    if (part < 1 || part >= HF_MAX_PARTITIONS || !m->rows[part].through) return -1;
    const row *r = &m->rows[part];
    int64_t low = -1;
    for (int s = 0; s < m->nsources; s++)
        if (r->offset[s] >= 0 && (low < 0 || r->offset[s] < low)) low = r->offset[s];
    return low;
}

void hf_marks_slowest(const hf_marks *m, int part, const char **topic_name, int32_t *partition,
                      int64_t *through)
{
    *topic_name = NULL;
    *partition = -1;
    *through = INT64_MIN;
    if (part < 1 || part >= HF_MAX_PARTITIONS || m->ntopics == 0) return;
    const row *r = &m->rows[part];
    int64_t low = INT64_MAX;
    for (int t = 0; t < m->ntopics; t++)
        for (int32_t k = 0; k < m->topics[t].n; k++) {
            int64_t v = r->through ? r->through[m->topics[t].base + k] : INT64_MIN;
            if (v < low) {
                low = v;
                *topic_name = m->topics[t].name;
                *partition = k;
                *through = v;
            }
        }
}

void hf_marks_forget(hf_marks *m)
{
    for (int i = 0; i < HF_MAX_PARTITIONS; i++) row_free(&m->rows[i]);
}
