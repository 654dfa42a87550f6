/* plan.h -- one reload of the analyses: the files as read once, what each
 * worker found when it checked them, and the decision.
 *
 * A plan goes through three hands (reload.h tells the whole story): the
 * supervisor reads every analysis file into a plan and posts it to every
 * worker; each worker checks the new and changed files in its own Lua state
 * and writes its findings into its row of `results`, then reports; the
 * last report decides (hf_plan_decide): a new version is taken only where
 * it passed in every worker, and each refusal is logged with file, line and
 * message.  The plan is reference-counted: the supervisor, the workers'
 * mailboxes and the commit batches in their queues each hold it.
 *
 * This module is a leaf of the engine: the worker and the supervisor both
 * include it, and it includes neither. */
#ifndef HF_PLAN_H
#define HF_PLAN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define HF_NAME_MAX 64      /* an analysis name and its NUL */

/* What a worker found for one file of a plan. */
enum hf_file_state {
    HF_FILE_SAME = 1,      /* the version running: nothing to do */
    HF_FILE_NEW,           /* new or changed, and it passed the check */
    HF_FILE_FAILED,        /* new or changed, and it failed the check */
    HF_FILE_SKIPPED,       /* not enabled by the configuration */
};

typedef struct hf_file_result {
    int    state;
    char   name[HF_NAME_MAX];       /* the new version's name, "" when unknown */
    double version;
    char   old_name[HF_NAME_MAX];   /* the version running from this file, "" when none */
    double old_version;
    char  *why;                     /* FAILED: file, line and message (heap) */
} hf_file_result;

enum { HF_PLAN_CHECKING, HF_PLAN_DECIDED, HF_PLAN_DONE };

typedef struct hf_plan {
    uint64_t        id;
    int             manual;       /* SIGHUP: also re-enable disabled analyses */
    int             nfiles;
    char          **paths;
    char          **srcs;
    size_t         *lens;
    int             nworkers;
    hf_file_result *results;      /* [worker * nfiles + file] */
    int            *removed;      /* per worker: running analyses whose file is gone */
    int            *disabled;     /* per worker: analyses disabled now */
    unsigned char  *accepted;     /* per file, once decided: take the new version */
    char           *params;       /* analyses.params as the configuration says now (Lua text), or NULL */
    atomic_int      reports;
    atomic_int      state;        /* HF_PLAN_* */
    atomic_int      refs;
    /* called by the last report, after hf_plan_decide (the supervisor's) */
    void          (*decided)(struct hf_plan *plan, int changes);
    void           *owner;
} hf_plan;

/* 1 when a file name is an analysis's: *.lua, not hidden (editors'
 * ".#x.lua", ".x.lua.swp"). */
int hf_is_analysis_file(const char *name);

/* The analysis files of dir (*.lua, not hidden), sorted, as "dir/name";
 * the caller frees each and the array.  NULL with a message in err. */
char **hf_analysis_files(const char *dir, int *n, char *err, size_t errlen);

/* A plan of every analysis file in dir, each read once (a file that is
 * gone or unreadable meanwhile is as if removed), for nworkers to check.
 * One reference, the caller's.  NULL when dir cannot be read (err). */
hf_plan *hf_plan_new(const char *dir, uint64_t id, int manual, int nworkers,
                     char *err, size_t errlen);
/* The analysis files of dir as the workers load them at the start, each
 * read once, so that every worker runs the same text of each (a file saved
 * while the workers are made is seen by all or none).  A file that cannot
 * be read here keeps its path with srcs[i] NULL: each worker then reads
 * it itself, and says why it cannot.  No findings (nworkers 0).  NULL when
 * dir cannot be read (err). */
hf_plan *hf_plan_start(const char *dir, char *err, size_t errlen);
/* 1 when a and b hold the same paths with the same texts. */
int hf_plan_same_files(const hf_plan *a, const hf_plan *b);
void hf_plan_hold(hf_plan *plan);
void hf_plan_release(hf_plan *plan);

/* A worker has written its findings (its results row, removed, disabled):
 * the last of nworkers reports decides and calls plan->decided. */
void hf_plan_report(hf_plan *plan);

/* Decide from every worker's findings: accepted[i] for each file that passed
 * everywhere; a refusal is logged once, naming the file, what keeps running
 * and why.  Returns the number of changes (accepted files, removed files,
 * and on SIGHUP analyses to re-enable); 0 means nothing to commit. */
int hf_plan_decide(hf_plan *plan);

#endif
