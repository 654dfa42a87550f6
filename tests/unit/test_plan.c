/* test_plan.c -- a reload plan (engine/plan.c): the files read once, and
 * the decision from every worker's findings: a new version only where it
 * passed in all of them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "engine/plan.h"
#include "unit.h"

static char dir[64];

static void write_file(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* A plan of 3 files for 2 workers, results set by hand. */
static hf_plan *plan3(void)
{
    char err[256];
    hf_plan *p = hf_plan_new(dir, 7, 0, 2, err, sizeof err);
    CHECK(p != NULL);
    return p;
}

static hf_file_result *res(hf_plan *p, int worker, int file)
{
    return &p->results[worker * p->nfiles + file];
}

TEST(a_plan_reads_every_analysis_file_once_sorted_and_skips_others)
{
    hf_plan *p = plan3();
    CHECK_EQ_INT(p->nfiles, 3);
    CHECK(strstr(p->paths[0], "/a.lua") && strstr(p->paths[1], "/b.lua") && strstr(p->paths[2], "/c.lua"));
    CHECK_EQ_STR(p->srcs[1], "return 'b'");
    CHECK_EQ_INT(p->lens[1], strlen("return 'b'"));
    CHECK_EQ_INT(p->id, 7);
    CHECK(hf_is_analysis_file("x.lua") && !hf_is_analysis_file(".x.lua") && !hf_is_analysis_file("x.lua.swp")
          && !hf_is_analysis_file(".lua"));
    hf_plan_release(p);
    char err[256];
    CHECK(hf_plan_new("/nonexistent/dir", 1, 0, 1, err, sizeof err) == NULL);
    CHECK(strstr(err, "/nonexistent/dir") != NULL);
}

TEST(a_new_version_is_taken_only_where_it_passed_in_every_worker)
{
    hf_log_level = -1;                         /* the refusals are logged: quiet here */
    hf_plan *p = plan3();
    for (int w = 0; w < 2; w++) {
        res(p, w, 0)->state = HF_FILE_NEW;     /* a: passed everywhere */
        res(p, w, 2)->state = HF_FILE_SAME;    /* c: unchanged */
    }
    res(p, 0, 1)->state = HF_FILE_NEW;         /* b: passed in worker 0 ... */
    res(p, 1, 1)->state = HF_FILE_FAILED;      /* ... failed in worker 1 */
    res(p, 1, 1)->why = hf_strdup("b.lua:1: boom");
    CHECK_EQ_INT(hf_plan_decide(p), 1);
    CHECK(p->accepted[0] && !p->accepted[1] && !p->accepted[2]);
    hf_plan_release(p);
}

TEST(removed_files_and_a_sighup_with_disabled_analyses_are_changes)
{
    hf_plan *p = plan3();
    for (int w = 0; w < 2; w++)
        for (int f = 0; f < 3; f++) res(p, w, f)->state = HF_FILE_SAME;
    CHECK_EQ_INT(hf_plan_decide(p), 0);        /* nothing to commit */
    p->removed[1] = 1;
    CHECK_EQ_INT(hf_plan_decide(p), 1);
    p->removed[1] = 0;
    p->disabled[0] = 2;
    CHECK_EQ_INT(hf_plan_decide(p), 0);        /* a change only on SIGHUP */
    p->manual = 1;
    CHECK_EQ_INT(hf_plan_decide(p), 1);
    hf_plan_release(p);
}

static int decided_changes = -1;
static void on_decided(hf_plan *p, int changes)
{
    (void)p;
    decided_changes = changes;
}

TEST(the_last_report_decides)
{
    hf_plan *p = plan3();
    p->decided = on_decided;
    for (int w = 0; w < 2; w++) res(p, w, 0)->state = HF_FILE_NEW;
    hf_plan_report(p);
    CHECK_EQ_INT(decided_changes, -1);         /* one of two */
    hf_plan_report(p);
    CHECK_EQ_INT(decided_changes, 1);
    hf_plan_hold(p);                           /* a held plan outlives one release */
    hf_plan_release(p);
    CHECK_EQ_INT(p->nfiles, 3);
    hf_plan_release(p);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/hostflow-test-plan-%d", (int)getpid());
    mkdir(dir, 0700);
    write_file("b.lua", "return 'b'");
    write_file("a.lua", "return 'a'");
    write_file("c.lua", "return 'c'");
    write_file(".hidden.lua", "x");
    write_file("notes.txt", "x");
    RUN(a_plan_reads_every_analysis_file_once_sorted_and_skips_others);
    RUN(a_new_version_is_taken_only_where_it_passed_in_every_worker);
    RUN(removed_files_and_a_sighup_with_disabled_analyses_are_changes);
    RUN(the_last_report_decides);
    const char *names[] = {"a.lua", "b.lua", "c.lua", ".hidden.lua", "notes.txt"};
    for (int i = 0; i < 5; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    return UNIT_END();
}
