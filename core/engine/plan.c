/* plan.c -- a reload's files, findings and decision (see plan.h). */
#include "engine/plan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"

#define MAX_FILE_BYTES (4 << 20)    /* a bigger "analysis" is refused */

/* ------------------------------------------------------------------------
 * The files
 * --------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int hf_is_analysis_file(const char *name)
{
    size_t len = strlen(name);
    return len >= 5 && name[0] != '.' && strcmp(name + len - 4, ".lua") == 0;
}

char **hf_analysis_files(const char *dir, int *n, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "analyses: cannot open directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    char **names = hf_malloc(sizeof(char *));
    size_t k = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!hf_is_analysis_file(e->d_name)) continue;
        names = hf_realloc(names, sizeof(char *) * (k + 1));
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        names[k] = hf_malloc(len);
        snprintf(names[k], len, "%s/%s", dir, e->d_name);
        k++;
    }
    closedir(d);
    qsort(names, k, sizeof(char *), cmp_str);
    *n = (int)k;
    return names;
}

/* The whole file, or NULL (gone, unreadable, not a regular file, too big). */
static char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_FILE_BYTES) {
        close(fd);
        return NULL;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = hf_malloc(cap + 1);
    for (;;) {
        if (n == cap) buf = hf_realloc(buf, (cap *= 2) + 1);
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            hf_free(buf);
            close(fd);
            return NULL;
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    close(fd);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* ------------------------------------------------------------------------
 * Plans
 * --------------------------------------------------------------------- */

static void plan_free(hf_plan *p)
{
    for (int i = 0; i < p->nfiles; i++) {
        hf_free(p->paths[i]);
        hf_free(p->srcs[i]);
    }
    for (int i = 0; i < p->nfiles * p->nworkers; i++) hf_free(p->results[i].why);
    hf_free(p->paths);
    hf_free(p->srcs);
    hf_free(p->lens);
    hf_free(p->results);
    hf_free(p->removed);
    hf_free(p->disabled);
    hf_free(p->accepted);
    hf_free(p->params);
    hf_free(p);
}

void hf_plan_hold(hf_plan *plan)
{
    atomic_fetch_add(&plan->refs, 1);
}

void hf_plan_release(hf_plan *plan)
{
    if (plan && atomic_fetch_sub(&plan->refs, 1) == 1) plan_free(plan);
}

hf_plan *hf_plan_start(const char *dir, char *err, size_t errlen)
{
    int n;
    char **paths = hf_analysis_files(dir, &n, err, errlen);
    if (!paths) return NULL;
    hf_plan *p = hf_calloc(1, sizeof *p);
    p->nfiles = n;
    p->paths = paths;
    p->srcs = hf_calloc((size_t)n + 1, sizeof(char *));
    p->lens = hf_calloc((size_t)n + 1, sizeof(size_t));
    for (int i = 0; i < n; i++) p->srcs[i] = read_file(paths[i], &p->lens[i]);
    atomic_init(&p->reports, 0);
    atomic_init(&p->state, HF_PLAN_DONE);
    atomic_init(&p->refs, 1);
    return p;
}

hf_plan *hf_plan_new(const char *dir, uint64_t id, int manual, int nworkers,
                     char *err, size_t errlen)
{
    hf_plan *p = hf_plan_start(dir, err, errlen);
    if (!p) return NULL;
    int kept = 0;
    for (int i = 0; i < p->nfiles; i++) {
        if (!p->srcs[i]) {          /* gone meanwhile: as if removed */
            hf_free(p->paths[i]);
            continue;
        }
        p->paths[kept] = p->paths[i];
        p->srcs[kept] = p->srcs[i];
        p->lens[kept] = p->lens[i];
        kept++;
    }
    p->nfiles = kept;
    p->id = id;
    p->manual = manual;
    p->nworkers = nworkers;
    p->results = hf_calloc((size_t)(p->nfiles * p->nworkers) + 1, sizeof(hf_file_result));
    p->removed = hf_calloc((size_t)p->nworkers, sizeof(int));
    p->disabled = hf_calloc((size_t)p->nworkers, sizeof(int));
    p->accepted = hf_calloc((size_t)p->nfiles + 1, 1);
    atomic_store(&p->state, HF_PLAN_CHECKING);
    return p;
}

int hf_plan_same_files(const hf_plan *a, const hf_plan *b)
{
    if (a->nfiles != b->nfiles) return 0;
    for (int i = 0; i < a->nfiles; i++) {
        if (strcmp(a->paths[i], b->paths[i]) != 0 || !a->srcs[i] != !b->srcs[i]) return 0;
        if (a->srcs[i] && (a->lens[i] != b->lens[i] || memcmp(a->srcs[i], b->srcs[i], a->lens[i]) != 0))
            return 0;
    }
    return 1;
}

void hf_plan_report(hf_plan *plan)
{
    if (atomic_fetch_add(&plan->reports, 1) + 1 == plan->nworkers && plan->decided)
        plan->decided(plan, hf_plan_decide(plan));
}

int hf_plan_decide(hf_plan *p)
{
    int changes = 0, disabled = 0;
    for (int i = 0; i < p->nfiles; i++) {
        int nnew = 0, failed = -1;
        for (int k = 0; k < p->nworkers; k++) {
            const hf_file_result *res = &p->results[k * p->nfiles + i];
            if (res->state == HF_FILE_NEW) nnew++;
            if (res->state == HF_FILE_FAILED && failed < 0) failed = k;
        }
        p->accepted[i] = nnew == p->nworkers;
        changes += p->accepted[i];
        if (failed >= 0) {
            const hf_file_result *res = &p->results[failed * p->nfiles + i];
            char keeps[160];
            if (res->old_name[0])
                snprintf(keeps, sizeof keeps, "%s version %g keeps running", res->old_name,
                         res->old_version);
            else
                snprintf(keeps, sizeof keeps, "not loaded");
            char where[32] = "";
            if (p->nworkers > 1 && nnew > 0) snprintf(where, sizeof where, " in worker %d", failed);
            hf_log(HF_LOG_ERROR, "%s: reload refused (%s)%s: %s", p->paths[i], keeps, where,
                   res->why ? res->why : "?");
        } else if (nnew > 0 && nnew < p->nworkers) {
            hf_log(HF_LOG_ERROR, "%s: reload refused: the workers disagree about it", p->paths[i]);
        }
    }
    int removed = 0;
    for (int k = 0; k < p->nworkers; k++) {
        if (p->removed[k] > removed) removed = p->removed[k];
        if (p->disabled[k] > disabled) disabled = p->disabled[k];
    }
    changes += removed;
    if (p->manual && disabled) changes++;
    return changes;
}

