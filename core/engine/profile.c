/* profile.c -- a profile's hosts: rows, the table that finds them, expiry,
 * and the file they are saved in (see profile.h for the layout).
 *
 * The table is open addressing with linear probing on the hash of the
 * address, at most half full, holding row number + 1 (0: empty); a
 * forgotten host leaves by shifting its probe run back (no tombstones) and
 * its row goes on a free list.  The file is written through stdio with a
 * large buffer; its checksum chains hf_hash_bytes over the head and each
 * row, so reading checks it in the same steps before taking any row. */
#include "engine/profile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/hash.h"

#define ROUND8(x)   (((x) + 7) & ~(size_t)7)
#define MAGIC       "hfprof1\n"
#define ENDIAN      0x01020304u
#define HEAD_FIXED  (8 + 4 * 6 + 8 * 3 + 4 * 2)   /* the head before name and signature */
#define HEAD_MAX    (64 * 1024)

struct hf_profiles {
    char            *name, *sig;
    hf_schema        schema;
    size_t           row_size;
    uint8_t        **chunks;
    uint32_t         nchunks;
    uint32_t         nrows;          /* rows made, live or free */
    uint32_t        *free_rows;
    uint32_t         nfree, free_cap;
    uint32_t        *table;
    uint32_t         mask;
    uint32_t         max_hosts;
    hf_profiles     *aside;          /* hosts held but not owned now (profiles.topic), or NULL */
    hf_pool         *pool;           /* charged with `charged` bytes, or NULL */
    size_t           charged;
    hf_profile_stats st;
};

/* The bytes the store holds: rows, table, free list. */
static size_t store_bytes(const hf_profiles *p)
{
    return (size_t)p->nchunks * HF_PROFILE_CHUNK * p->row_size +
           sizeof *p->table * ((size_t)p->mask + 1) + sizeof *p->free_rows * p->free_cap;
}

/* Bring the pool's charge up (or down) to what the store holds now. */
static void account(hf_profiles *p)
{
    if (!p->pool) return;
    size_t now = store_bytes(p);
    if (now > p->charged) hf_pool_charge(p->pool, now - p->charged);
    else hf_pool_uncharge(p->pool, p->charged - now);
    p->charged = now;
}

/* ------------------------------------------------------------------------
 * Rows and the table
 * --------------------------------------------------------------------- */

hf_profiles *hf_profiles_new(const char *name, const char *signature, const hf_schema *schema,
                             uint32_t max_hosts)
{
    hf_profiles *p = hf_calloc(1, sizeof *p);
    p->name = hf_strdup(name);
    p->sig = hf_strdup(signature);
    p->schema.nfields = schema->nfields;
    p->schema.size = schema->size;
    p->schema.fields = hf_malloc(sizeof(hf_field) * (size_t)(schema->nfields ? schema->nfields : 1));
    if (schema->nfields) memcpy(p->schema.fields, schema->fields, sizeof(hf_field) * (size_t)schema->nfields);
    p->row_size = sizeof(hf_profile_host) + ROUND8(schema->size);
    p->max_hosts = max_hosts ? max_hosts : 1;
    p->mask = 1023;
    p->table = hf_calloc(p->mask + 1, sizeof *p->table);
    return p;
}

void hf_profiles_free(hf_profiles *p)
{
    if (!p) return;
    hf_profiles_free(p->aside);
    if (p->pool) hf_pool_uncharge(p->pool, p->charged);
    for (uint32_t c = 0; c < p->nchunks; c++) hf_free(p->chunks[c]);
    hf_free(p->chunks);
    hf_free(p->free_rows);
    hf_free(p->table);
    hf_free(p->schema.fields);
    hf_free(p->name);
    hf_free(p->sig);
    hf_free(p);
}

void hf_profiles_limit(hf_profiles *p, uint32_t max_hosts)
{
    p->max_hosts = max_hosts ? max_hosts : 1;
    if (p->aside) hf_profiles_limit(p->aside, max_hosts);
}

void hf_profiles_pool(hf_profiles *p, hf_pool *pool)
{
    if (p->aside) hf_profiles_pool(p->aside, pool);
    if (p->pool) return;
    p->pool = pool;
    account(p);
}

hf_profiles *hf_profiles_aside(const hf_profiles *p)
{
    return p->aside;
}

void hf_profiles_keep_aside(hf_profiles *p)
{
    if (p->aside) return;
    p->aside = hf_profiles_new(p->name, p->sig, &p->schema, p->max_hosts);
    if (p->pool) hf_profiles_pool(p->aside, p->pool);
}

const char *hf_profiles_name(const hf_profiles *p)
{
    return p->name;
}

size_t hf_profiles_row_size(const hf_profiles *p)
{
    return p->row_size;
}

uint32_t hf_profiles_nrows(const hf_profiles *p)
{
    return p->nrows;
}

static uint8_t *row_at(const hf_profiles *p, uint32_t i)
{
    return p->chunks[i / HF_PROFILE_CHUNK] + (size_t)(i % HF_PROFILE_CHUNK) * p->row_size;
}

uint8_t *hf_profiles_row(const hf_profiles *p, uint32_t i)
{
    if (i >= p->nrows) return NULL;
    uint8_t *r = row_at(p, i);
    return ((hf_profile_host *)(void *)r)->live ? r : NULL;
}

static uint32_t home(const hf_profiles *p, const uint8_t addr[16])
{
    return (uint32_t)hf_hash_addr(addr) & p->mask;
}

/* The table slot that holds addr's row, or the empty slot where it would go. */
static uint32_t slot_of(const hf_profiles *p, const uint8_t addr[16])
{
    uint32_t j = home(p, addr);
    while (p->table[j] && memcmp(row_at(p, p->table[j] - 1), addr, 16) != 0) j = (j + 1) & p->mask;
    return j;
}

void hf_profiles_prefetch(const hf_profiles *p, const uint8_t addr[16], int stage)
{
    uint32_t j = home(p, addr);
    if (stage == 0) {
        __builtin_prefetch(&p->table[j]);
        return;
    }
    uint32_t r = p->table[j];
    if (r) __builtin_prefetch(row_at(p, r - 1));
}

uint8_t *hf_profiles_find(const hf_profiles *p, const uint8_t addr[16])
{
    uint32_t j = slot_of(p, addr);
    return p->table[j] ? row_at(p, p->table[j] - 1) : NULL;
}

static void table_grow(hf_profiles *p)
{
    uint32_t size = (p->mask + 1) * 2;
    hf_free(p->table);
    p->table = hf_calloc(size, sizeof *p->table);
    p->mask = size - 1;
    for (uint32_t i = 0; i < p->nrows; i++) {
        const hf_profile_host *h = (const hf_profile_host *)(const void *)row_at(p, i);
        if (!h->live) continue;
        uint32_t j = home(p, h->addr);
        while (p->table[j]) j = (j + 1) & p->mask;
        p->table[j] = i + 1;
    }
}

/* A row for a new host (from the free list, or a new one). */
static uint32_t row_take(hf_profiles *p)
{
    if (p->nfree) return p->free_rows[--p->nfree];
    uint32_t i = p->nrows++;
    if (i % HF_PROFILE_CHUNK == 0) {
        uint32_t c = i / HF_PROFILE_CHUNK;
        p->chunks = hf_realloc(p->chunks, sizeof(uint8_t *) * (c + 1));
        p->chunks[c] = hf_malloc(p->row_size * HF_PROFILE_CHUNK);
        p->nchunks = c + 1;
    }
    return i;
}

uint8_t *hf_profiles_host(hf_profiles *p, const uint8_t addr[16], int v6)
{
    uint32_t j = slot_of(p, addr);
    if (p->table[j]) return row_at(p, p->table[j] - 1);
    if (p->st.hosts >= p->max_hosts) {
        p->st.refused++;
        return NULL;
    }
    if (p->pool) {              /* what the new host would add: a chunk, a larger table */
        size_t more = 0;
        if (!p->nfree && p->nrows % HF_PROFILE_CHUNK == 0) more += p->row_size * HF_PROFILE_CHUNK;
        if ((p->st.hosts + 1) * 2 > p->mask + 1) more += sizeof *p->table * ((size_t)p->mask + 1) * 2;
        if (more && !hf_pool_fits(p->pool, more)) {
            p->st.refused_memory++;
            return NULL;
        }
    }
    uint32_t i = row_take(p);
    uint8_t *r = row_at(p, i);
    memset(r, 0, sizeof(hf_profile_host));
    hf_profile_host *h = (hf_profile_host *)(void *)r;
    memcpy(h->addr, addr, 16);
    h->v6 = v6 ? 1 : 0;
    h->live = 1;
    const uint8_t *kept = p->aside ? hf_profiles_find(p->aside, addr) : NULL;
    if (kept) {                /* a host held aside (its row from the changelog): it comes back */
        h->absorbed_until = ((const hf_profile_host *)(const void *)kept)->absorbed_until;
        h->dirty = 1;          /* (from a file, it may be newer than the changelog's row) */
        memcpy(r + sizeof(hf_profile_host), kept + sizeof(hf_profile_host), p->row_size - sizeof(hf_profile_host));
        hf_profiles_drop(p->aside, addr);
        p->st.taken_back++;
    } else {
        hf_state_init(&p->schema, r + sizeof(hf_profile_host));
    }
    p->table[j] = i + 1;
    p->st.hosts++;
    if (p->st.hosts * 2 > p->mask + 1) table_grow(p);
    account(p);
    return r;
}

uint8_t *hf_profiles_absorb(hf_profiles *p, const uint8_t addr[16], int v6, int64_t start_ms,
                            int64_t end_ms)
{
    uint8_t *r = hf_profiles_host(p, addr, v6);
    if (!r) return NULL;
    hf_profile_host *h = (hf_profile_host *)(void *)r;
    if (start_ms < h->absorbed_until) {
        p->st.skipped++;
        return NULL;
    }
    h->absorbed_until = end_ms;
    h->dirty = 1;
    p->st.absorbed++;
    return r;
}

/* Take row i's host out of the table (shifting its probe run back) and
 * put the row on the free list. */
static void forget(hf_profiles *p, uint32_t i)
{
    hf_profile_host *h = (hf_profile_host *)(void *)row_at(p, i);
    uint32_t s = home(p, h->addr);
    while (p->table[s] != i + 1) s = (s + 1) & p->mask;
    p->table[s] = 0;
    for (uint32_t j = (s + 1) & p->mask; p->table[j]; j = (j + 1) & p->mask) {
        uint32_t k = home(p, row_at(p, p->table[j] - 1));
        int stays = s <= j ? (k > s && k <= j) : (k > s || k <= j);
        if (!stays) {
            p->table[s] = p->table[j];
            p->table[j] = 0;
            s = j;
        }
    }
    h->live = 0;
    if (p->nfree == p->free_cap) {
        p->free_cap = p->free_cap ? p->free_cap * 2 : 256;
        p->free_rows = hf_realloc(p->free_rows, sizeof *p->free_rows * p->free_cap);
    }
    p->free_rows[p->nfree++] = i;
    p->st.hosts--;
}

uint64_t hf_profiles_expire_each(hf_profiles *p, int64_t before_ms,
                                 void (*gone)(void *ctx, const hf_profile_host *h), void *ctx)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < p->nrows; i++) {
        const hf_profile_host *h = (const hf_profile_host *)(const void *)row_at(p, i);
        if (h->live && h->absorbed_until < before_ms) {
            if (gone) gone(ctx, h);
            forget(p, i);
            n++;
        }
    }
    p->st.expired += n;
    if (p->aside) hf_profiles_expire_each(p->aside, before_ms, NULL, NULL);   /* quietly: not ours */
    account(p);
    return n;
}

uint64_t hf_profiles_expire(hf_profiles *p, int64_t before_ms)
{
    return hf_profiles_expire_each(p, before_ms, NULL, NULL);
}

void hf_profiles_drop(hf_profiles *p, const uint8_t addr[16])
{
    uint32_t j = slot_of(p, addr);
    if (p->table[j]) {
        forget(p, p->table[j] - 1);
        account(p);
    }
}

/* Copy row (a row of p's layout) into dst's row of its host, made when
 * new, when it has absorbed further than dst's; 1 when it did. */
static int take_row(hf_profiles *dst, const uint8_t *row)
{
    const hf_profile_host *fh = (const hf_profile_host *)(const void *)row;
    uint8_t *mine = hf_profiles_find(dst, fh->addr);
    if (mine && ((hf_profile_host *)(void *)mine)->absorbed_until >= fh->absorbed_until) return 0;
    if (!mine) mine = hf_profiles_host(dst, fh->addr, fh->v6);
    if (!mine) return 0;                                 /* refused: max_hosts (counted) */
    hf_profile_host *mh = (hf_profile_host *)(void *)mine;
    mh->absorbed_until = fh->absorbed_until;
    memcpy(mine + sizeof(hf_profile_host), row + sizeof(hf_profile_host), dst->row_size - sizeof(hf_profile_host));
    return 1;
}

/* A row read from a file or a message, for the host's owner: into the
 * rows held aside when p keeps some (and its live row, if any, is not
 * further), else into p's live rows; 1 when taken. */
static int take(hf_profiles *p, const uint8_t *row)
{
    if (!p->aside) return take_row(p, row);
    const hf_profile_host *fh = (const hf_profile_host *)(const void *)row;
    uint8_t *live = hf_profiles_find(p, fh->addr);
    if (live) {
        if (((hf_profile_host *)(void *)live)->absorbed_until >= fh->absorbed_until) return 0;
        ((hf_profile_host *)(void *)live)->dirty = 1;
        return take_row(p, row);
    }
    return take_row(p->aside, row);
}

uint64_t hf_profiles_put_aside(hf_profiles *p)
{
    if (!p->aside) return 0;
    uint64_t n = 0;
    for (uint32_t i = 0; i < p->nrows; i++) {
        const uint8_t *r = row_at(p, i);
        if (!((const hf_profile_host *)(const void *)r)->live) continue;
        take_row(p->aside, r);
        forget(p, i);
        n++;
    }
    account(p);
    return n;
}

void hf_profiles_stats(const hf_profiles *p, hf_profile_stats *st)
{
    *st = p->st;
    st->bytes = store_bytes(p);
    if (p->aside) {
        st->aside = p->aside->st.hosts;
        st->bytes += store_bytes(p->aside);
    }
}

/* ------------------------------------------------------------------------
 * The file
 * --------------------------------------------------------------------- */

static void put32(uint8_t **w, uint32_t v)
{
    memcpy(*w, &v, 4);
    *w += 4;
}

static void put64(uint8_t **w, uint64_t v)
{
    memcpy(*w, &v, 8);
    *w += 8;
}

static uint32_t get32(const uint8_t **r)
{
    uint32_t v;
    memcpy(&v, *r, 4);
    *r += 4;
    return v;
}

static uint64_t get64(const uint8_t **r)
{
    uint64_t v;
    memcpy(&v, *r, 8);
    *r += 8;
    return v;
}

static uint64_t chain(uint64_t h, const void *p, size_t n)
{
    return hf_hash_u64(h ^ hf_hash_bytes(p, n));
}

/* fsync the directory of path, so that a rename in it is on disk too. */
static void sync_dir(const char *path)
{
    char *copy = hf_strdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    hf_free(copy);
}

/* The head of a file (or message) of rows rows of p, written by worker
 * `worker` of `workers`, complete through saved_until: hf_malloc'ed, its
 * length in *len. */
static uint8_t *head_make(const hf_profiles *p, int worker, int workers, uint64_t rows,
                          int64_t saved_until, size_t *len)
{
    size_t nlen = strlen(p->name), slen = strlen(p->sig), hlen = HEAD_FIXED + nlen + slen;
    uint8_t *head = hf_malloc(hlen), *w = head;
    memcpy(w, MAGIC, 8);
    w += 8;
    put32(&w, ENDIAN);
    put32(&w, (uint32_t)hlen);
    put32(&w, (uint32_t)p->row_size);
    put32(&w, (uint32_t)p->schema.size);
    put32(&w, (uint32_t)worker);
    put32(&w, (uint32_t)workers);
    put64(&w, rows);
    put64(&w, (uint64_t)saved_until);
    put64(&w, (uint64_t)time(NULL) * 1000);
    put32(&w, (uint32_t)nlen);
    put32(&w, (uint32_t)slen);
    memcpy(w, p->name, nlen);
    memcpy(w + nlen, p->sig, slen);
    *len = hlen;
    return head;
}

/* What a head says (head_fixed). */
typedef struct head_info {
    uint32_t hlen, row_size, state_size, nlen, slen;
    uint64_t rows;
    int64_t  until;
} head_info;

/* Check the fixed part of a head (HEAD_FIXED bytes) of something of size
 * bytes: 0, or -1 with why. */
static int head_fixed(const uint8_t *fixed, uint64_t size, head_info *hi, char *why, size_t n)
{
    if (memcmp(fixed, MAGIC, 8) != 0) {
        snprintf(why, n, "not a hostflow profile file");
        return -1;
    }
    const uint8_t *r = fixed + 8;
    uint32_t endian = get32(&r);
    hi->hlen = get32(&r);
    hi->row_size = get32(&r);
    hi->state_size = get32(&r);
    get32(&r);                                   /* the worker that wrote it */
    get32(&r);                                   /* ... of how many */
    hi->rows = get64(&r);
    hi->until = (int64_t)get64(&r);
    get64(&r);                                   /* when */
    hi->nlen = get32(&r);
    hi->slen = get32(&r);
    if (endian != ENDIAN) {
        snprintf(why, n, "written on a machine of another byte order");
        return -1;
    }
    if (hi->hlen > HEAD_MAX || hi->hlen != (uint64_t)HEAD_FIXED + hi->nlen + hi->slen || hi->hlen > size) {
        snprintf(why, n, "corrupt: a head of %u bytes", hi->hlen);
        return -1;
    }
    return 0;
}

/* Whether the whole head (hi->hlen bytes) is p's: 0; -1 another profile's
 * (why); -2 another declaration of p's state (why). */
static int head_match(const hf_profiles *p, const uint8_t *head, const head_info *hi, char *why, size_t n)
{
    const char *name = (const char *)head + HEAD_FIXED, *sig = name + hi->nlen;
    if (hi->nlen != strlen(p->name) || memcmp(name, p->name, hi->nlen) != 0) {
        snprintf(why, n, "the profile of another analysis (%.*s, not %s)", (int)(hi->nlen > 64 ? 64 : hi->nlen),
                 name, p->name);
        return -1;
    }
    if (hi->slen != strlen(p->sig) || memcmp(sig, p->sig, hi->slen) != 0 || hi->row_size != p->row_size ||
        hi->state_size != p->schema.size) {
        snprintf(why, n, "written for another declaration of %s's state (a changed "
                 "state: its learned values cannot be read as this one's)", p->name);
        return -2;
    }
    return 0;
}

/* Whether worker `worker` of `workers` owns the host at addr (the
 * pipeline's shard: the hash of the address, modulo the workers). */
static int owns(const uint8_t addr[16], int worker, int workers)
{
    return hf_hash_shard(addr, workers) == worker;
}

int hf_profiles_save(const hf_profiles *p, const char *path, int worker, int workers,
                     int64_t saved_until, char *err, size_t errlen)
{
    size_t hlen;
    uint8_t *head = head_make(p, worker, workers, p->st.hosts, saved_until, &hlen);

    size_t tlen = strlen(path) + 5;
    char *tmp = hf_malloc(tlen);
    snprintf(tmp, tlen, "%s.tmp", path);
    int rc = -1;
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
        goto fail;
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    uint64_t h = chain(0, head, hlen);
    int ok = fwrite(head, 1, hlen, f) == hlen;
    for (uint32_t i = 0; ok && i < p->nrows; i++) {
        const uint8_t *r = row_at(p, i);
        if (!((const hf_profile_host *)(const void *)r)->live) continue;
        h = chain(h, r, p->row_size);
        ok = fwrite(r, 1, p->row_size, f) == p->row_size;
    }
    if (ok) ok = fwrite(&h, 1, 8, f) == 8;
    if (ok) ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    int saved_errno = errno;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        saved_errno = errno;
    }
    if (!ok) {
        snprintf(err, errlen, "%s: cannot write: %s", tmp, strerror(saved_errno));
        unlink(tmp);
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        goto fail;
    }
    sync_dir(path);
    rc = 0;
fail:
    hf_free(tmp);
    hf_free(head);
    return rc;
}

/* Rename a refused file aside: PATH.bad-<unix time>; the new name in out. */
static void set_aside(const char *path, char *out, size_t n)
{
    snprintf(out, n, "%s.bad-%lld", path, (long long)time(NULL));
    if (rename(path, out) != 0) snprintf(out, n, "(it could not be renamed: %s)", strerror(errno));
}

long hf_profiles_load(hf_profiles *p, const char *path, int worker, int workers,
                      int64_t *saved_until, char *err, size_t errlen)
{
    char why[512] = "", aside[4096 + 64];
    uint8_t *head = NULL, *row = NULL;
    long taken = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return -2;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        fclose(f);
        return -2;
    }
    uint64_t size = (uint64_t)sb.st_size;
    uint8_t fixed[HEAD_FIXED];
    head_info hi;
    if (size < HEAD_FIXED + 8 || fread(fixed, 1, HEAD_FIXED, f) != HEAD_FIXED) {
        snprintf(why, sizeof why, "truncated: %llu bytes, shorter than a head", (unsigned long long)size);
        goto refuse;
    }
    if (head_fixed(fixed, size, &hi, why, sizeof why) < 0) goto refuse;
    uint32_t hlen = hi.hlen, row_size = hi.row_size;
    uint64_t rows = hi.rows;
    int64_t until = hi.until;
    head = hf_malloc(hlen);
    memcpy(head, fixed, HEAD_FIXED);
    if (fread(head + HEAD_FIXED, 1, hlen - HEAD_FIXED, f) != hlen - HEAD_FIXED) {
        snprintf(why, sizeof why, "truncated in its head");
        goto refuse;
    }
    if (head_match(p, head, &hi, why, sizeof why) < 0) goto refuse;
    if (rows > (size - hlen - 8) / row_size || hlen + rows * row_size + 8 != size) {
        snprintf(why, sizeof why, "truncated or padded: %llu bytes, %llu expected for %llu hosts",
                 (unsigned long long)size, (unsigned long long)(hlen + rows * row_size + 8),
                 (unsigned long long)rows);
        goto refuse;
    }
    /* first pass: the checksum, before any row is taken */
    row = hf_malloc(row_size);
    uint64_t h = chain(0, head, hlen), want;
    for (uint64_t i = 0; i < rows; i++) {
        if (fread(row, 1, row_size, f) != row_size) {
            snprintf(why, sizeof why, "truncated while read");
            goto refuse;
        }
        h = chain(h, row, row_size);
    }
    if (fread(&want, 1, 8, f) != 8 || want != h) {
        snprintf(why, sizeof why, "corrupt: its checksum does not match its contents");
        goto refuse;
    }
    /* second pass: the rows this worker owns, where the file is further */
    if (fseek(f, (long)hlen, SEEK_SET) != 0) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        taken = -2;
        goto done;
    }
    for (uint64_t i = 0; i < rows; i++) {
        if (fread(row, 1, row_size, f) != row_size) break;
        if (owns(((const hf_profile_host *)(const void *)row)->addr, worker, workers)) taken += take(p, row);
    }
    if (saved_until) *saved_until = until;
    goto done;
refuse:
    fclose(f);
    f = NULL;
    set_aside(path, aside, sizeof aside);
    snprintf(err, errlen, "%s: %s; set aside as %s", path, why, aside);
    taken = -1;
done:
    if (f) fclose(f);
    hf_free(head);
    hf_free(row);
    return taken;
}

/* ------------------------------------------------------------------------
 * One host as a message (the changelog: profiles.topic)
 * --------------------------------------------------------------------- */

size_t hf_profiles_encode(const hf_profiles *p, const uint8_t *row, int64_t saved_until, hf_buf *out)
{
    size_t hlen, start = out->len;
    uint8_t *head = head_make(p, 0, 1, 1, saved_until, &hlen);
    uint64_t h = chain(chain(0, head, hlen), row, p->row_size);
    hf_buf_put(out, head, hlen);
    hf_buf_put(out, row, p->row_size);
    hf_buf_put(out, &h, 8);
    hf_free(head);
    return out->len - start;
}

int hf_profiles_take(hf_profiles *p, const void *msg, size_t len, const uint8_t addr[16], int worker,
                     int workers, char *why, size_t n)
{
    const uint8_t *m = msg;
    head_info hi;
    if (!m || len < HEAD_FIXED + 8) {
        snprintf(why, n, "truncated: %zu bytes, shorter than a head", len);
        return HF_PROFILE_BAD;
    }
    if (head_fixed(m, len, &hi, why, n) < 0) return HF_PROFILE_BAD;
    int match = head_match(p, m, &hi, why, n);
    if (match < 0) return match == -2 ? HF_PROFILE_OTHER : HF_PROFILE_BAD;
    if (hi.rows != 1 || (uint64_t)hi.hlen + p->row_size + 8 != len) {
        snprintf(why, n, "not one host: %zu bytes for %llu rows", len, (unsigned long long)hi.rows);
        return HF_PROFILE_BAD;
    }
    const uint8_t *row = m + hi.hlen;
    uint64_t h = chain(chain(0, m, hi.hlen), row, p->row_size), want;
    memcpy(&want, row + p->row_size, 8);
    if (h != want) {
        snprintf(why, n, "corrupt: its checksum does not match its contents");
        return HF_PROFILE_BAD;
    }
    /* the row, where its head can be read (it lies at any offset of the message) */
    uint8_t *copy = hf_malloc(p->row_size);
    memcpy(copy, row, p->row_size);
    const hf_profile_host *fh = (const hf_profile_host *)(const void *)copy;
    int rc;
    if (!fh->live) {
        snprintf(why, n, "corrupt: a free row");
        rc = HF_PROFILE_BAD;
    } else if (addr && memcmp(addr, fh->addr, 16) != 0) {
        snprintf(why, n, "its key names another host than its row");
        rc = HF_PROFILE_BAD;
    } else if (!owns(fh->addr, worker, workers)) {
        rc = HF_PROFILE_KEPT;
    } else {
        rc = take(p, copy) ? HF_PROFILE_TAKEN : HF_PROFILE_KEPT;
    }
    hf_free(copy);
    return rc;
}

/* ------------------------------------------------------------------------
 * A number in a record's JSON fragment
 * --------------------------------------------------------------------- */

static const char *skip_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* Past the string that starts at p (its opening quote); NULL when it does
 * not end. */
static const char *skip_string(const char *p, const char *e)
{
    for (p++; p < e; p++) {
        if (*p == '\\') p++;
        else if (*p == '"') return p + 1;
    }
    return NULL;
}

/* Past the value that starts at p; NULL when it does not end. */
static const char *skip_value(const char *p, const char *e)
{
    if (p >= e) return NULL;
    if (*p == '"') return skip_string(p, e);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (p < e) {
            if (*p == '"') {
                p = skip_string(p, e);
                if (!p) return NULL;
                continue;
            }
            if (*p == '{' || *p == '[') depth++;
            else if (*p == '}' || *p == ']') {
                if (--depth == 0) return p + 1;
            }
            p++;
        }
        return NULL;
    }
    while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n') p++;
    return p;
}

double hf_profile_json_number(const char *text, size_t len, const char *path)
{
    const char *p = text, *e = text + len;
    while (*path) {
        const char *dot = strchr(path, '.');
        size_t seg = dot ? (size_t)(dot - path) : strlen(path);
        p = skip_ws(p, e);
        if (p >= e || *p != '{') return NAN;
        p++;
        for (;;) {
            p = skip_ws(p, e);
            if (p >= e || *p != '"') return NAN;
            const char *k = p + 1, *after = skip_string(p, e);
            if (!after) return NAN;
            int match = (size_t)(after - 1 - k) == seg && memcmp(k, path, seg) == 0;
            p = skip_ws(after, e);
            if (p >= e || *p != ':') return NAN;
            p++;
            if (match) break;
            p = skip_value(skip_ws(p, e), e);
            if (!p) return NAN;
            p = skip_ws(p, e);
            if (p >= e || *p != ',') return NAN;
            p++;
        }
        path += seg + (dot ? 1 : 0);
    }
    p = skip_ws(p, e);
    char num[64];
    size_t n = 0;
    while (p < e && n < sizeof num - 1 &&
           ((*p >= '0' && *p <= '9') || *p == '-' || *p == '+' || *p == '.' || *p == 'e' || *p == 'E'))
        num[n++] = *p++;
    num[n] = '\0';
    if (!n) return NAN;
    char *end;
    double v = strtod(num, &end);
    return *end ? NAN : v;
}
