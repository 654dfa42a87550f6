/* cpus.c -- the CPUs this process may use (see cpus.h).
 *
 * Two limits, whichever is smaller:
 *
 *   the affinity mask      sched_getaffinity(): taskset -c 0, a cpuset;
 *   a CPU quota            the cgroup's bandwidth limit, QUOTA us of CPU
 *                          time every PERIOD us: QUOTA / PERIOD CPUs,
 *                          rounded up (1.5 CPUs of quota are 2 workers,
 *                          each busy three quarters of the time).
 *
 * Where the quota is.  /proc/self/cgroup names the process's cgroup in
 * each hierarchy ("0::/system.slice/x.service" for v2, "4:cpu,cpuacct:/docker/id"
 * for the v1 hierarchy that has the cpu controller); /proc/self/mountinfo
 * says where each hierarchy is mounted, and which cgroup its mount point
 * shows (field 4, "/" unless the mount is of a sub-tree):
 *
 *   32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu,cpuacct
 *               ^root ^mount point                            ^controllers (v1)
 *   41 31 0:38 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw
 *
 * so the cgroup's directory is the mount point followed by its path less
 * the mount's root.  A limit on any ancestor bounds the cgroup too, so the
 * directories are read from the cgroup's up to the mount point, and the
 * smallest limit wins.  In a container with its own cgroup namespace both
 * files say "/" and the mount point is the container's cgroup: one read.
 *
 * Every file is read whole, up to a bound (64 KiB for the two lists, 64
 * bytes for a limit; what is past it is not seen), and each directory of
 * the walk costs two small reads: the work is bounded by the depth of the
 * cgroup, a few levels. */
#include "base/cpus.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"

#define PATH_BYTES  4096
#define TEXT_BYTES  65536       /* /proc/self/mountinfo of a busy host fits */

/* ------------------------------------------------------------------------
 * Small helpers
 * --------------------------------------------------------------------- */

/* Read a whole file (at most cap - 1 bytes) into buf, NUL-terminated.
 * Returns the length, or -1. */
static long read_text(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return (long)n;
}

/* Whether word is one of the comma-separated items of list[0..len). */
static int in_list(const char *list, size_t len, const char *word)
{
    size_t wl = strlen(word);
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && list[j] != ',') j++;
        if (j - i == wl && memcmp(list + i, word, wl) == 0) return 1;
        i = j + 1;
    }
    return 0;
}

/* Copy mountinfo's field s[0..len) into out (cap bytes), undoing its octal
 * escapes (\040 for a space).  0, or -1 when it does not fit. */
static int unescape(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '\\' && i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '3') {
            c = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        }
        if (o + 1 >= cap) return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

/* The whole CPUs of quota / period, rounded up; 0 when there is no limit. */
static int whole_cpus(long long quota, long long period)
{
    if (quota <= 0 || period <= 0) return 0;
    long long n = (quota + period - 1) / period;
    return n > 4096 ? 4096 : (int)n;
}

/* The smaller of two limits, 0 meaning none. */
static int tighter(int a, int b)
{
    if (!a) return b;
    if (!b) return a;
    return a < b ? a : b;
}

/* ------------------------------------------------------------------------
 * The quota of one directory
 * --------------------------------------------------------------------- */

/* v2: dir/cpu.max, "QUOTA PERIOD" or "max PERIOD". */
static int quota_v2(const char *dir)
{
    char path[PATH_BYTES + 16], text[64], q[32];
    long long period;
    snprintf(path, sizeof path, "%s/cpu.max", dir);
    if (read_text(path, text, sizeof text) < 0) return 0;
    if (sscanf(text, "%31s %lld", q, &period) != 2 || strcmp(q, "max") == 0) return 0;
    return whole_cpus(atoll(q), period);
}

/* v1: dir/cpu.cfs_quota_us (-1: none) over dir/cpu.cfs_period_us. */
static int quota_v1(const char *dir)
{
    char path[PATH_BYTES + 32], text[64];
    snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir);
    if (read_text(path, text, sizeof text) < 0) return 0;
    long long quota = atoll(text);
    snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
    if (read_text(path, text, sizeof text) < 0) return 0;
    return whole_cpus(quota, atoll(text));
}

/* The tightest quota from the cgroup at mount + rel up to mount itself. */
static int quota_up(const char *mount, const char *rel, int v2)
{
    char dir[PATH_BYTES];
    size_t base = strlen(mount);
    if (snprintf(dir, sizeof dir, "%s%s", mount, strcmp(rel, "/") ? rel : "") >= (int)sizeof dir)
        return 0;
    int best = 0;
    for (;;) {
        best = tighter(best, v2 ? quota_v2(dir) : quota_v1(dir));
        size_t len = strlen(dir);
        if (len <= base) break;
        while (len > base && dir[len - 1] != '/') len--;   /* to the parent */
        if (len > base) len--;                             /* and its slash */
        dir[len] = '\0';
    }
    return best;
}

/* ------------------------------------------------------------------------
 * Finding the cgroups
 * --------------------------------------------------------------------- */

/* The process's cgroup path in the v2 hierarchy (v2) or in the v1 one with
 * the cpu controller, from /proc/self/cgroup's text.  0, or -1. */
static int cgroup_path(const char *text, int v2, char *out, size_t cap)
{
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        if (!end) end = line + strlen(line);
        const char *c1 = memchr(line, ':', (size_t)(end - line));
        const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
        if (c2) {
            size_t clen = (size_t)(c2 - c1 - 1);
            int match = v2 ? clen == 0 && c1 - line == 1 && line[0] == '0'
                           : in_list(c1 + 1, clen, "cpu");
            size_t plen = (size_t)(end - c2 - 1);
            if (match && plen + 1 <= cap) {
                memcpy(out, c2 + 1, plen);
                out[plen] = '\0';
                return 0;
            }
        }
        line = *end ? end + 1 : end;
    }
    return -1;
}

/* The mount (root + its mount point) of the v2 hierarchy, or of the v1 one
 * with the cpu controller, and the cgroup its mount point shows.  0, or -1. */
static int cgroup_mount(const char *text, int v2, const char *root, char *mount, size_t mcap,
                        char *shown, size_t scap)
{
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        if (!end) end = line + strlen(line);
        const char *f[5];        /* fields 1 .. 5: id, parent, dev, root, mount point */
        size_t flen[5];
        const char *p = line;
        int n = 0;
        while (n < 5 && p < end) {
            const char *s = p;
            while (p < end && *p != ' ') p++;
            f[n] = s;
            flen[n++] = (size_t)(p - s);
            while (p < end && *p == ' ') p++;
        }
        const char *sep = n == 5 ? strstr(p, " - ") : NULL;
        if (sep && sep < end) {
            const char *type = sep + 3, *t = type;
            while (t < end && *t != ' ') t++;
            size_t tlen = (size_t)(t - type);
            const char *opts = t;                     /* after the source: the super options */
            while (opts < end && *opts == ' ') opts++;
            while (opts < end && *opts != ' ') opts++;
            while (opts < end && *opts == ' ') opts++;
            int match = v2 ? tlen == 7 && memcmp(type, "cgroup2", 7) == 0
                           : tlen == 6 && memcmp(type, "cgroup", 6) == 0 &&
                             in_list(opts, (size_t)(end - opts), "cpu");
            if (match) {
                char mp[PATH_BYTES];
                if (unescape(f[3], flen[3], shown, scap) < 0 ||
                    unescape(f[4], flen[4], mp, sizeof mp) < 0 ||
                    snprintf(mount, mcap, "%s%s", root, mp) >= (int)mcap)
                    return -1;
                return 0;
            }
        }
        line = *end ? end + 1 : end;
    }
    return -1;
}

/* The quota of one hierarchy (v2, or v1's cpu). */
static int hierarchy_quota(const char *root, const char *cgroups, const char *mounts, int v2)
{
    char path[PATH_BYTES], mount[PATH_BYTES], shown[PATH_BYTES];
    if (cgroup_path(cgroups, v2, path, sizeof path) < 0) return 0;
    if (cgroup_mount(mounts, v2, root, mount, sizeof mount, shown, sizeof shown) < 0) return 0;
    /* the cgroup's place under the mount point: its path less the shown one */
    const char *rel = path;
    size_t sl = strlen(shown);
    if (strcmp(shown, "/") != 0) {
        if (strncmp(path, shown, sl) == 0 && (path[sl] == '/' || path[sl] == '\0')) rel = path + sl;
        else rel = "/";                               /* outside what is mounted: the mount itself */
        if (!*rel) rel = "/";
    }
    return quota_up(mount, rel, v2);
}

/* ------------------------------------------------------------------------
 * API
 * --------------------------------------------------------------------- */

int hf_cpus_quota(const char *root, const char *self_cgroup, const char *mountinfo)
{
    char *cgroups = hf_malloc(TEXT_BYTES), *mounts = hf_malloc(TEXT_BYTES);
    int n = 0;
    if (read_text(self_cgroup, cgroups, TEXT_BYTES) >= 0 && read_text(mountinfo, mounts, TEXT_BYTES) >= 0)
        n = tighter(hierarchy_quota(root, cgroups, mounts, 1), hierarchy_quota(root, cgroups, mounts, 0));
    hf_free(cgroups);
    hf_free(mounts);
    return n;
}

int hf_cpus_usable(void)
{
    int n = 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    int quota = hf_cpus_quota("", "/proc/self/cgroup", "/proc/self/mountinfo");
    if (quota > 0 && quota < n) n = quota;
    return n > 0 ? n : 1;
}
