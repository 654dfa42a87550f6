/* test_cpus.c -- the CPUs a process may use: cgroup CPU quotas found
 * through /proc/self/cgroup and /proc/self/mountinfo, in trees of the
 * test's own (v1 and v2, nested cgroups and their ancestors, namespaced
 * mounts, mounts of a sub-tree, escaped mount points, no quota), and the
 * affinity mask of this process. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cpus.h"
#include "unit.h"

static char root[256];

/* Write text to root/path, making its directories. */
static void put(const char *path, const char *text)
{
    char full[1024];
    snprintf(full, sizeof full, "%s/%s", root, path);
    for (char *p = full + strlen(root) + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(full, 0755);
            *p = '/';
        }
    FILE *f = fopen(full, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* A fresh, empty tree (the last one removed). */
static void fresh(void)
{
    char cmd[512];
    if (root[0]) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        CHECK(system(cmd) == 0);
    }
    snprintf(root, sizeof root, "/tmp/hf-test-cpus-%d-XXXXXX", (int)getpid());
    CHECK(mkdtemp(root) != NULL);
}

static int quota(void)
{
    char cg[512], mi[512];
    snprintf(cg, sizeof cg, "%s/proc/self/cgroup", root);
    snprintf(mi, sizeof mi, "%s/proc/self/mountinfo", root);
    return hf_cpus_quota(root, cg, mi);
}

#define V1_MOUNTS \
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n" \
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n" \
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"

TEST(v1_the_quota_of_the_cgroup_rounded_up)
{
    fresh();
    put("proc/self/mountinfo", V1_MOUNTS);
    put("proc/self/cgroup", "5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n");
    put("sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "150000\n");
    put("sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
    CHECK_EQ_INT(quota(), 2);                        /* 1.5 CPUs: 2 */
    put("sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_quota_us", "50000\n");
    put("sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_period_us", "100000\n");
    CHECK_EQ_INT(quota(), 1);                        /* a parent's tighter limit */
    put("sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_quota_us", "-1\n");
    put("sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "-1\n");
    CHECK_EQ_INT(quota(), 0);                        /* none */
    put("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "400000\n");
    put("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
    CHECK_EQ_INT(quota(), 4);                        /* the hierarchy's root */
}

TEST(v2_cpu_max_of_the_cgroup_and_its_ancestors)
{
    fresh();
    put("proc/self/mountinfo", "41 23 0:38 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n");
    put("proc/self/cgroup", "0::/system.slice/hostflow.service\n");
    put("sys/fs/cgroup/system.slice/hostflow.service/cpu.max", "max 100000\n");
    CHECK_EQ_INT(quota(), 0);
    put("sys/fs/cgroup/system.slice/hostflow.service/cpu.max", "300000 100000\n");
    CHECK_EQ_INT(quota(), 3);
    put("sys/fs/cgroup/system.slice/cpu.max", "120000 100000\n");
    CHECK_EQ_INT(quota(), 2);
    put("sys/fs/cgroup/system.slice/cpu.max", "25000 100000\n");
    CHECK_EQ_INT(quota(), 1);                        /* a quarter of a CPU is still one */
}

TEST(a_container_s_own_namespace_reads_the_mount_point)
{
    fresh();
    put("proc/self/mountinfo", "600 500 0:40 / /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw\n");
    put("proc/self/cgroup", "0::/\n");
    put("sys/fs/cgroup/cpu.max", "100000 100000\n");
    CHECK_EQ_INT(quota(), 1);
}

TEST(a_mount_of_a_sub_tree_places_the_cgroup_under_it)
{
    fresh();
    /* v1 inside a container without a cgroup namespace: the mount shows
     * /docker/abc at its mount point */
    put("proc/self/mountinfo",
        "700 600 0:29 /docker/abc /sys/fs/cgroup/cpu ro,nosuid - cgroup cgroup rw,cpu\n");
    put("proc/self/cgroup", "3:cpu:/docker/abc\n");
    put("sys/fs/cgroup/cpu/cpu.cfs_quota_us", "200000\n");
    put("sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n");
    CHECK_EQ_INT(quota(), 2);
    /* a cgroup outside what is mounted: the mount point's limit */
    put("proc/self/cgroup", "3:cpu:/elsewhere\n");
    CHECK_EQ_INT(quota(), 2);
}

TEST(both_hierarchies_the_tighter_wins_and_escapes_are_undone)
{
    fresh();
    put("proc/self/mountinfo",
        "32 31 0:29 / /sys/fs/cgroup/cpu\\040x rw - cgroup cgroup rw,cpuacct,cpu\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n");
    put("proc/self/cgroup", "1:cpuacct,cpu:/a\n0::/a\n");
    put("sys/fs/cgroup/cpu x/a/cpu.cfs_quota_us", "700000\n");
    put("sys/fs/cgroup/cpu x/a/cpu.cfs_period_us", "100000\n");
    CHECK_EQ_INT(quota(), 7);
    put("sys/fs/cgroup/unified/a/cpu.max", "500000 100000\n");
    CHECK_EQ_INT(quota(), 5);
}

TEST(nothing_to_read_is_no_quota)
{
    fresh();
    CHECK_EQ_INT(quota(), 0);                        /* no files at all */
    put("proc/self/cgroup", "4:cpu:/x\n");
    put("proc/self/mountinfo", V1_MOUNTS);           /* its directory holds no limit */
    CHECK_EQ_INT(quota(), 0);
    put("proc/self/cgroup", "garbage\n::\n0:cpu\n");
    CHECK_EQ_INT(quota(), 0);
    put("proc/self/mountinfo", "1 2 3\n - cgroup2\n");
    CHECK_EQ_INT(quota(), 0);
}

TEST(the_usable_cpus_are_at_most_the_affinity_mask)
{
    cpu_set_t set;
    CHECK(sched_getaffinity(0, sizeof set, &set) == 0);
    int n = hf_cpus_usable();
    CHECK(n >= 1);
    CHECK(n <= CPU_COUNT(&set));
    /* pinned to one CPU: one */
    cpu_set_t one;
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set)) {
            CPU_SET(c, &one);
            break;
        }
    CHECK(sched_setaffinity(0, sizeof one, &one) == 0);
    CHECK_EQ_INT(hf_cpus_usable(), 1);
    CHECK(sched_setaffinity(0, sizeof set, &set) == 0);
}

int main(void)
{
    RUN(v1_the_quota_of_the_cgroup_rounded_up);
    RUN(v2_cpu_max_of_the_cgroup_and_its_ancestors);
    RUN(a_container_s_own_namespace_reads_the_mount_point);
    RUN(a_mount_of_a_sub_tree_places_the_cgroup_under_it);
    RUN(both_hierarchies_the_tighter_wins_and_escapes_are_undone);
    RUN(nothing_to_read_is_no_quota);
    RUN(the_usable_cpus_are_at_most_the_affinity_mask);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) return 1;
    return UNIT_END();
}
