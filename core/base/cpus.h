/* cpus.h -- how many CPUs this process may use: the CPUs of its affinity
 * mask (taskset, a container's cpuset), bounded by a CPU quota of its
 * cgroup (a container's --cpus, systemd's CPUQuota=), cgroup v2 or v1.
 * `workers = 0` starts one worker per CPU counted here (engine.c). */
#ifndef HF_CPUS_H
#define HF_CPUS_H

/* The CPUs this process may use: min(CPUs in its affinity mask, the
 * quota of its cgroup rounded up); at least 1. */
int hf_cpus_usable(void);

/* The CPU quota of a process, rounded up to whole CPUs: the smallest over
 * its cgroup and every ancestor of it, in both hierarchies (v2: cpu.max
 * "QUOTA PERIOD" or "max PERIOD"; v1, the hierarchy with the cpu
 * controller: cpu.cfs_quota_us, -1 for none, over cpu.cfs_period_us).
 * self_cgroup and mountinfo are the paths of /proc/self/cgroup and
 * /proc/self/mountinfo; root is put in front of every mount point read
 * from mountinfo ("" on a live system; a directory for a test's tree).
 * 0 when no quota is set or nothing can be read. */
int hf_cpus_quota(const char *root, const char *self_cgroup, const char *mountinfo);

#endif
