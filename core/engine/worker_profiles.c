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
    qsort(files, n, sizeof *files, by_text);
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

/* Save every profile to its file, complete for the windows emitted so far
 * (forgetting first the hosts not seen for profiles.expire).  Nothing to
 * do without profiles.dir. */
void hf_worker_save_profiles(hf_worker *w)
{
    w->last_save_ns = hf_now_ns();
    const char *dir = w->cfg->profiles_dir;
    if (!dir || !w->job.nprofiles) return;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        hf_log(HF_LOG_ERROR, "profiles: %s: cannot make the directory: %s", dir, strerror(errno));
    int ok = 1;
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
    if (ok) {
        w->saved_until = w->closed_until;
        w->saves++;
    } else {
        w->save_errors++;
    }
}

