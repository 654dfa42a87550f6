/* worker_profiles.c -- a worker's profiles (profile.h), as the Lua side
 * reaches them through the job: their stores opened and closed, the hosts
 * of a closing window that absorb and the numbers they read out of the
 * records, their host_profile records; and their files: read when the
 * worker knows its share of the hosts, saved every profiles.save and when
 * the run ends (hf_worker_save_profiles).  Part of the worker, with
 * worker.c and worker_lua.c (worker_impl.h). */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <pthread.h>

#include "base/addr.h"
#include "base/alloc.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "engine/profile.h"
#include "engine/worker_impl.h"
#include "stream/flow.h"


/* The file of profile p for this worker: DIR/NAME.W-of-N.hfp. */
static void profile_path(const hf_job *job, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s.%d-of-%d.hfp", job->cfg->profiles_dir, name, job->worker,
             job->nworkers > 0 ? job->nworkers : 1);
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read every file profiles.dir holds for p (NAME.*.hfp, in name order):
 * those of other worker counts too, keeping the hosts this worker owns. */
static void profile_load(hf_job *job, hf_profiles *p)
{
    const char *dir = job->cfg->profiles_dir, *name = hf_profiles_name(p);
    DIR *d = opendir(dir);
    if (!d) {
        if (errno != ENOENT) hf_log(HF_LOG_WARN, "profile %s: %s: cannot read: %s", name, dir, strerror(errno));
        return;
    }
    size_t nlen = strlen(name), n = 0, cap = 0;
    char **files = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= nlen + 5 || strncmp(e->d_name, name, nlen) != 0 || e->d_name[nlen] != '.' ||
            strcmp(e->d_name + len - 4, ".hfp") != 0)
            continue;
        if (n == cap) files = hf_realloc(files, sizeof *files * (cap = cap ? cap * 2 : 8));
        files[n++] = hf_strdup(e->d_name);
    }
    closedir(d);
    if (n > 1) qsort(files, n, sizeof *files, by_text);   /* none: files is NULL */
    for (size_t i = 0; i < n; i++) {
        char path[4096], err[8192];
        int64_t until = INT64_MIN;
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        long got = hf_profiles_load(p, path, job->worker, job->nworkers, &until, err, sizeof err);
        if (got == -1)
            hf_log(HF_LOG_ERROR, "profile %s: %s; those hosts start with empty profiles", name, err);
        else if (got == -2)
            hf_log(HF_LOG_WARN, "profile %s: %s", name, err);
        else {
            char ts[64] = "the end of that run's input";
            if (until == INT64_MIN) snprintf(ts, sizeof ts, "no window yet");
            else if (until != INT64_MAX) hf_time_format_iso(until, ts);
            hf_log(HF_LOG_INFO, "profile %s: worker %d took %ld hosts from %s (its windows complete "
                   "through %s)", name, job->worker, got, path, ts);
        }
        hf_free(files[i]);
    }
    hf_free(files);
}

/* Each profile's share of profiles.max_hosts: all / workers. */
static uint32_t profile_max(const hf_job *job)
{
    int n = job->nworkers > 0 ? job->nworkers : 1;
    uint32_t max = job->cfg ? (uint32_t)(job->cfg->profiles_max_hosts / n) : 1000000;
    return max ? max : 1;
}

/* Read the files of the profiles opened to be loaded, now that the worker
 * knows which hosts are its own. */
void hf_worker_profiles_ready(hf_job *job)
{
    for (int i = 0; i < job->nprofiles; i++) {
        if (job->cfg && job->cfg->profiles_topic && *job->cfg->profiles_topic)
            hf_profiles_keep_aside(job->profiles[i]);    /* rows read wait for their hosts */
        hf_profiles_limit(job->profiles[i], profile_max(job));
        if (job->windows && job->windows->pool)          /* memory.max_bytes counts it */
            hf_profiles_pool(job->profiles[i], job->windows->pool);
        if (job->to_load[i]) {
            job->to_load[i] = 0;
            profile_load(job, job->profiles[i]);
        }
    }
}

hf_profiles *hf_job_profile_open(hf_job *job, const char *name, const char *signature,
                                 const hf_schema *schema, int load)
{
    if (job->nprofiles == HF_MAX_PROFILES) return NULL;
    hf_profiles *p = hf_profiles_new(name, signature, schema, profile_max(job));
    job->to_load[job->nprofiles] = load && job->cfg && job->cfg->profiles_dir;
    job->profiles[job->nprofiles++] = p;
    if (job->shared) hf_worker_profiles_ready(job);   /* a profile added by a reload */
    return p;
}

void hf_job_profile_close(hf_job *job, hf_profiles *p)
{
    for (int i = 0; i < job->nprofiles; i++)
        if (job->profiles[i] == p) {
            job->nprofiles--;
            job->profiles[i] = job->profiles[job->nprofiles];
            job->to_load[i] = job->to_load[job->nprofiles];
            hf_profiles_free(p);
            return;
        }
}

int hf_job_absorb(hf_job *job, const hf_lua_window *v, hf_profiles *p, int k, const int *frag,
                  const char *const *paths, double *vals, uint8_t **rows)
{
    int64_t end = v->start_ms + v->g_ms;
    int n = 0;
    for (uint32_t i = 0; i < v->n; i++) {
        /* the table slots of the hosts 8 ahead, the rows of those 4 ahead */
        if (i + 8 < v->n) hf_profiles_prefetch(p, ((const hf_host *)(const void *)v->rows[i + 8])->addr, 0);
        if (i + 4 < v->n) hf_profiles_prefetch(p, ((const hf_host *)(const void *)v->rows[i + 4])->addr, 1);
        const hf_host *h = (const hf_host *)(const void *)v->rows[i];
        uint8_t *r = hf_profiles_absorb(p, h->addr, h->v6, v->start_ms, end);
        rows[i] = r;
        if (!r) continue;
        n++;
        uint64_t omit = v->omit ? v->omit[i] : 0;
        for (int j = 0; j < k; j++) {
            double x = NAN;
            int a = frag[j];
            const hf_fragments *f = a >= 0 && !(omit >> a & 1) ? &v->frags[a]
                                  : a == HF_FRAG_LOGS ? job->logs_frags : NULL;
            if (f && f->len[i]) x = hf_profile_json_number(f->buf.data + f->off[i], f->len[i], paths[j]);
            vals[(size_t)i * (size_t)k + (size_t)j] = x;
        }
    }
    return n;
}

void hf_job_profile_record(hf_job *job, hf_profiles *p, const uint8_t *row, int64_t start_ms,
                           int64_t end_ms, const char *json, size_t len)
{
    const hf_profile_host *h = (const hf_profile_host *)(const void *)row;
    hf_record_batch *rb = job->alerts_out;
    hf_buf *b = &rb->text;
    char addr[HF_ADDR_STRLEN], ts[32];
    size_t alen = hf_addr_format(h->addr, h->v6 ? HF_AF_INET6 : HF_AF_INET, addr);
    const char *name = hf_profiles_name(p);
    hf_record_begin(rb, HF_RECORD_PROFILE, start_ms);
    hf_time_format_iso(start_ms, ts);
    hf_buf_puts(b, "{\"@type\":\"host_profile\",\"@timestamp\":\"");
    hf_buf_puts(b, ts);
    hf_buf_puts(b, "\",\"id\":\"");
    size_t key = b->len;
    hf_buf_put(b, addr, alen);
    hf_buf_putc(b, '/');
    hf_buf_puts(b, name);
    hf_buf_putc(b, '/');
    hf_buf_put_int(b, start_ms);
    hf_record_key(rb, key, b->len - key);
    hf_buf_puts(b, "\",\"src_ip\":\"");
    hf_buf_put(b, addr, alen);
    hf_buf_puts(b, "\",\"name\":\"");
    hf_buf_puts(b, name);
    hf_buf_puts(b, "\",\"period\":{\"start_ms\":");
    hf_buf_put_int(b, start_ms);
    hf_buf_puts(b, ",\"end_ms\":");
    hf_buf_put_int(b, end_ms);
    hf_buf_puts(b, "},\"absorbed_until\":");
    hf_buf_put_int(b, h->absorbed_until);
    hf_buf_puts(b, ",\"profile\":");
    if (len) hf_buf_put(b, json, len);
    else hf_buf_puts(b, "null");
    hf_buf_putc(b, '}');
    hf_record_end(rb);
}

static int save_changelog(hf_worker *w);

/* Save every profile to its file, complete for the windows emitted so far
 * (forgetting first the hosts not seen for profiles.expire), and write
 * their changes to profiles.topic.  Nothing to do without either. */
void hf_worker_save_profiles(hf_worker *w)
{
    w->last_save_ns = hf_now_ns();
    const char *dir = w->cfg->profiles_dir;
    if (!hf_worker_keeps_profiles(w)) return;
    int ok = 1;
    if (w->changelog && save_changelog(w) < 0) ok = 0;     /* its expiry writes tombstones */
    if (!dir) goto saved;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        hf_log(HF_LOG_ERROR, "profiles: %s: cannot make the directory: %s", dir, strerror(errno));
    for (int i = 0; i < w->job.nprofiles; i++) {
        hf_profiles *p = w->job.profiles[i];
        if (w->clock_ms != INT64_MIN) hf_profiles_expire(p, w->clock_ms - w->cfg->profiles_expire_ms);
        char path[4096], err[8192];
        profile_path(&w->job, hf_profiles_name(p), path, sizeof path);
        if (hf_profiles_save(p, path, w->id, w->job.nworkers, w->closed_until, err, sizeof err) < 0) {
            static hf_ratelimit rl = HF_RATELIMIT_INIT(1);
            hf_log_limited(&rl, HF_LOG_ERROR, "profile %s: %s (the last file saved stays; Kafka "
                           "offsets are not committed past it)", hf_profiles_name(p), err);
            ok = 0;
        }
    }
saved:
    if (ok) {
        w->saved_until = w->closed_until;
        w->saves++;
    } else {
        w->save_errors++;
    }
}


/* ------------------------------------------------------------------------
 * The changelog (profiles.topic; changelog.h)
 * --------------------------------------------------------------------- */

void hf_worker_changelog(hf_worker *w, const hf_changelog *cl)
{
    w->changelog = cl;
}

/* The key of host h of profile name: "NAME/ADDRESS" into out; its length. */
static size_t changelog_key(const char *name, const uint8_t addr[16], int v6, char *out, size_t n)
{
    char text[HF_ADDR_STRLEN];
    hf_addr_format(addr, v6 ? HF_AF_INET6 : HF_AF_INET, text);
    int len = snprintf(out, n, "%s/%s", name, text);
    return len < 0 ? 0 : (size_t)len < n ? (size_t)len : n - 1;
}

typedef struct tomb_ctx {
    hf_worker  *w;
    const char *name;
    int         failed;
} tomb_ctx;

/* A host expired: its tombstone, so the compacted topic forgets it. */
static void tombstone(void *ctx, const hf_profile_host *h)
{
    tomb_ctx *t = ctx;
    char key[HF_NAME_MAX + HF_ADDR_STRLEN + 2];
    size_t klen = changelog_key(t->name, h->addr, h->v6, key, sizeof key);
    if (t->w->changelog->put(t->w->changelog->ctx, key, klen, NULL, 0) < 0) t->failed = 1;
    else t->w->published++;
}

/* Write p's changed hosts (every live one after a failed publish) to the
 * changelog: 0, or -1 when one can never be written. */
static int publish(hf_worker *w, hf_profiles *p)
{
    const char *name = hf_profiles_name(p);
    char key[HF_NAME_MAX + HF_ADDR_STRLEN + 2];
    int rc = 0;
    for (uint32_t i = 0, n = hf_profiles_nrows(p); i < n; i++) {
        uint8_t *r = hf_profiles_row(p, i);
        hf_profile_host *h = (hf_profile_host *)(void *)r;
        if (!r || (!h->dirty && !w->republish)) continue;
        w->ser.len = 0;
        hf_profiles_encode(p, r, w->closed_until, &w->ser);
        size_t klen = changelog_key(name, h->addr, h->v6, key, sizeof key);
        if (w->changelog->put(w->changelog->ctx, key, klen, w->ser.data, w->ser.len) < 0) {
            rc = -1;
            continue;                                   /* dirty still: tried again next time */
        }
        h->dirty = 0;
        w->published++;
    }
    return rc;
}

/* The changelog's part of a save (hf_worker_save_profiles): expired hosts'
 * tombstones, the changed hosts' rows, and everything acknowledged.  0, or
 * -1 (the save does not count: commits stay behind it). */
static int save_changelog(hf_worker *w)
{
    int ok = 1;
    for (int i = 0; i < w->job.nprofiles; i++) {
        hf_profiles *p = w->job.profiles[i];
        tomb_ctx t = {w, hf_profiles_name(p), 0};
        if (w->clock_ms != INT64_MIN)
            hf_profiles_expire_each(p, w->clock_ms - w->cfg->profiles_expire_ms, tombstone, &t);
        if (publish(w, p) < 0 || t.failed) ok = 0;
    }
    if (w->changelog->flush(w->changelog->ctx, w->id, 10000) < 0) ok = 0;
    if (!ok) {
        static hf_ratelimit rl = HF_RATELIMIT_INIT(1);
        hf_log_limited(&rl, HF_LOG_ERROR, "profiles: not every change could be written to "
                       "profiles.topic %s (see the lines above): Kafka offsets are not committed "
                       "past the last save that was; every host is written again at the next save",
                       w->changelog->topic);
        w->republish = 1;
        return -1;
    }
    w->republish = 0;
    return 0;
}

void hf_worker_restore(hf_worker *w, const void *key, size_t klen, const void *val, size_t vlen)
{
    uint32_t lens[2] = {(uint32_t)klen, val ? (uint32_t)vlen : UINT32_MAX};
    pthread_mutex_lock(&w->lock);
    hf_buf_put(&w->inbox, lens, sizeof lens);
    hf_buf_put(&w->inbox, key, klen);
    if (val) hf_buf_put(&w->inbox, val, vlen);
    w->inbox_n++;
    pthread_mutex_unlock(&w->lock);
}

/* The profile key names ("NAME/ADDRESS"), or NULL with why; *addr its host. */
static hf_profiles *key_profile(hf_worker *w, const char *key, size_t klen, uint8_t addr[16],
                                char *why, size_t n)
{
    long parsed = hf_changelog_key_host(key, klen, addr);
    if (parsed < 0) {
        snprintf(why, n, parsed == -1 ? "a key that is not NAME/ADDRESS" : "a key whose host is not an address");
        return NULL;
    }
    size_t nlen = (size_t)parsed;
    for (int i = 0; i < w->job.nprofiles; i++) {
        const char *name = hf_profiles_name(w->job.profiles[i]);
        if (strlen(name) == nlen && memcmp(name, key, nlen) == 0) return w->job.profiles[i];
    }
    why[0] = '\0';
    return NULL;                                        /* a profile not running here: not ours */
}

/* The printable start of a key, for a message. */
static void key_text(const char *key, size_t klen, char *out, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; i < klen && j + 5 < n && i < 80; i++) {
        unsigned char c = (unsigned char)key[i];
        j += (size_t)snprintf(out + j, n - j, c >= 0x20 && c < 0x7f && c != '"' ? "%c" : "\\x%02x", c);
    }
    out[j] = '\0';
}

void hf_worker_take_changelog(hf_worker *w)
{
    hf_buf in;
    pthread_mutex_lock(&w->lock);
    uint64_t count = w->inbox_n;
    in = w->inbox;
    if (count) hf_buf_init(&w->inbox, 256);
    w->inbox_n = 0;
    pthread_mutex_unlock(&w->lock);
    if (!count) return;
    uint64_t taken = 0, kept = 0, bad = 0, gone = 0, other[HF_MAX_PROFILES] = {0};
    const uint8_t *r = (const uint8_t *)in.data, *end = r + in.len;
    while (r + 8 <= end) {
        uint32_t lens[2];
        memcpy(lens, r, sizeof lens);
        r += 8;
        const char *key = (const char *)r;
        const uint8_t *val = lens[1] == UINT32_MAX ? NULL : r + lens[0];
        r += lens[0] + (val ? lens[1] : 0);
        uint8_t addr[16];
        char why[512], kt[400];
        hf_profiles *p = key_profile(w, key, lens[0], addr, why, sizeof why);
        int rc = HF_PROFILE_BAD;
        if (p && !val) {                                /* a tombstone: the host expired */
            if (hf_profiles_aside(p)) hf_profiles_drop(hf_profiles_aside(p), addr);
            gone++;
            continue;
        }
        if (p) rc = hf_profiles_take(p, val, lens[1], addr, w->id, w->job.nworkers, why, sizeof why);
        else if (!*why) continue;                       /* another analysis's profile */
        if (rc == HF_PROFILE_TAKEN) taken++;
        else if (rc == HF_PROFILE_KEPT) kept++;
        else if (rc == HF_PROFILE_OTHER) {
            for (int i = 0; i < w->job.nprofiles; i++) other[i] += w->job.profiles[i] == p;
        } else if (bad++ < 8) {                         /* the first few of a read, by name */
            key_text(key, lens[0], kt, sizeof kt);
            hf_log(HF_LOG_ERROR, "profiles.topic %s: a message (key \"%s\", %u bytes) refused: %s; "
                   "it is skipped, the others are read", w->changelog->topic, kt, val ? lens[1] : 0, why);
        }
    }
    hf_buf_release(&in);
    for (int i = 0; i < w->job.nprofiles; i++) {
        if (!other[i]) continue;
        const char *name = hf_profiles_name(w->job.profiles[i]);
        hf_log(HF_LOG_ERROR, "profile %s: %llu hosts' rows of profiles.topic %s were written for "
               "another declaration of %s's state (a changed state: their learned values cannot be "
               "read as this one's): dropped, those hosts start with empty profiles", name,
               (unsigned long long)other[i], w->changelog->topic, name);
        w->cl_other += other[i];
    }
    w->cl_taken += taken;
    w->cl_refused += bad;
    hf_log(HF_LOG_INFO, "profiles: worker %d read %llu messages of profiles.topic %s: %llu rows "
           "taken (held aside until their hosts are seen), %llu not newer than one it had, %llu "
           "tombstones (expired hosts), %llu refused",
           w->id, (unsigned long long)count, w->changelog->topic, (unsigned long long)taken,
           (unsigned long long)kept, (unsigned long long)gone, (unsigned long long)bad);
}

void hf_worker_profiles_aside(hf_worker *w)
{
    uint64_t n = 0;
    for (int i = 0; i < w->job.nprofiles; i++) n += hf_profiles_put_aside(w->job.profiles[i]);
    if (n) hf_log(HF_LOG_INFO, "profiles: worker %d set %llu hosts aside (partitions revoked: "
                  "they are taken back if they come here again)", w->id, (unsigned long long)n);
}
