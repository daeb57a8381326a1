/*
 * topology.c - hwloc and cgroup glue behind topology.h: finds the usable
 * cores, chooses one PU per core for the workers, reads the CPU quota and pins
 * threads. Starting the workers is worker.c's business.
 *
 * What the process may use. hwloc already drops the PUs that the cgroup
 * cpuset forbids, but not those outside the process binding (taskset,
 * sched_setaffinity), so we intersect its allowed set with the process
 * binding. A CPU quota (cgroup v2 cpu.max) does not hide any CPU, it only
 * throttles: with "300000 100000" on a 64-core machine, 64 workers would
 * each run a twentieth of the time and stall with locks held. So, as Go
 * 1.25 does for GOMAXPROCS, the default worker count is min(cores,
 * ceil(quota / period)). Unlike Go, which reads only the leaf cgroup, we
 * also read the ancestors, whose limits the kernel enforces too; and the
 * floor is 1, not Go's 2.
 *
 * Why cores and not PUs. Two hyperthreads of one core share its execution
 * units; a worker per PU would double the threads and mostly wait for each
 * other. So the unit is the core: usable if any of its PUs is allowed, its
 * worker pinned to the first allowed PU. A container given both hyperthreads
 * of one core thus gets one worker. A machine that reports no cores (some
 * VMs, old kernels) gets each PU treated as a core.
 */
#include "topology.h"

#include <errno.h>
#include <fcntl.h>
#include <hwloc.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"

/* A usable core and the PU its worker is pinned to. */
struct slot {
    int core;    /* hwloc logical index of the core (of the PU if no cores) */
    unsigned pu; /* OS index of the first allowed PU of the core */
};

struct wt_topology {
    hwloc_topology_t topo; /* kept for binding */
    int ncores;            /* usable cores, >= 1; length of slots */
    int quota;             /* cgroup CPU quota in whole CPUs; 0 = none */
    struct slot *slots;    /* usable cores in hwloc's logical order */
};

/* The failure of an hwloc or libc call that reported it in errno. */
static int errno_or(int fallback)
{
    return errno > 0 ? -errno : fallback;
}

/* The first PU of @obj (a core or a PU) that @allowed contains, or NULL. */
static hwloc_obj_t first_allowed_pu(hwloc_topology_t topo, hwloc_obj_t obj,
                                    hwloc_const_cpuset_t allowed)
{
    if (obj->type == HWLOC_OBJ_PU)
        return hwloc_bitmap_isset(allowed, obj->os_index) ? obj : NULL;
    hwloc_obj_t pu = NULL;
    while ((pu = hwloc_get_next_obj_inside_cpuset_by_type(topo, obj->cpuset, HWLOC_OBJ_PU, pu)))
        if (hwloc_bitmap_isset(allowed, pu->os_index))
            return pu;
    return NULL;
}

/* Fill t->slots with the cores that hold a PU of @allowed.
 * Return: 0; -ENOMEM; -ENODEV if there is none. */
static int choose_cores(struct wt_topology *t, hwloc_const_cpuset_t allowed)
{
    hwloc_obj_type_t type = HWLOC_OBJ_CORE;
    int n = hwloc_get_nbobjs_by_type(t->topo, type);
    if (n <= 0) {
        type = HWLOC_OBJ_PU;
        n = hwloc_get_nbobjs_by_type(t->topo, type);
    }
    if (n <= 0)
        return -ENODEV;
    t->slots = wt_calloc((size_t)n, sizeof *t->slots);
    if (!t->slots)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        hwloc_obj_t obj = hwloc_get_obj_by_type(t->topo, type, (unsigned)i);
        hwloc_obj_t pu = obj ? first_allowed_pu(t->topo, obj, allowed) : NULL;
        if (!pu)
            continue;
        t->slots[t->ncores].core = (int)obj->logical_index;
        t->slots[t->ncores].pu = pu->os_index;
        t->ncores++;
    }
    return t->ncores > 0 ? 0 : -ENODEV;
}

/* Read the decimal number at *@pp into @v and move *@pp past it. It must
 * have 1 to 18 digits, so it cannot overflow; that bounds every value we
 * read (PU numbers; cpu.max fields, which the kernel keeps below 2^44 us). */
static bool read_number(const char **pp, uint64_t *v)
{
    const char *p = *pp;
    uint64_t x = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
        if (++digits > 18)
            return false;
        x = x * 10 + (uint64_t)(*p++ - '0');
    }
    *v = x;
    *pp = p;
    return digits > 0;
}

/* Parse a cpuset list like "0-1,8" into @set, strictly: hwloc's own parser
 * accepts "1-" (every PU from 1 on) and stops quietly at junk.
 * Return: 0; -EINVAL; -ENOMEM. */
static int parse_cpu_list(const char *s, hwloc_bitmap_t set)
{
    hwloc_bitmap_zero(set);
    for (;;) {
        uint64_t lo, hi;
        if (!read_number(&s, &lo))
            return -EINVAL;
        hi = lo;
        if (*s == '-') {
            s++;
            if (!read_number(&s, &hi) || hi < lo)
                return -EINVAL;
        }
        if (hi > INT_MAX)
            return -EINVAL;
        if (hwloc_bitmap_set_range(set, (unsigned)lo, (int)hi) < 0)
            return -ENOMEM;
        if (*s == '\0')
            return 0;
        if (*s++ != ',')
            return -EINVAL;
    }
}

/* Read the whole file at @path into a NUL-terminated malloc'd buffer.
 * Return: 0; -ENOMEM; the negative errno of open or read. */
static int read_text(const char *path, char **out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno_or(-EIO);
    size_t cap = 4096, len = 0;
    char *buf = wt_alloc(cap);
    int err = buf ? 0 : -ENOMEM;
    while (!err) {
        if (cap - len < 2) {
            char *bigger = wt_realloc(buf, cap * 2);
            if (!bigger) {
                err = -ENOMEM;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            err = errno_or(-EIO);
        else if (n == 0)
            break;
        else
            len += (size_t)n;
    }
    close(fd);
    if (err) {
        wt_free(buf);
        return err;
    }
    buf[len] = '\0';
    *out = buf;
    return 0;
}

/* Copy the mount point of the first cgroup2 mount in /proc/self/mountinfo
 * into @out, undoing the kernel's \ooo escapes. Lines look like
 *   41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
 * and paths never hold a raw space, so " - cgroup2 " marks the line.
 * Return: 0; -ENOENT if there is none; -ENOMEM; -ENAMETOOLONG. */
static int find_cgroup2_mount(char *out, size_t len)
{
    char *text;
    int err = read_text("/proc/self/mountinfo", &text);
    if (err)
        return err;
    err = -ENOENT;
    for (char *line = text; *line && err == -ENOENT;) {
        char *end = strchr(line, '\n');
        if (end)
            *end = '\0';
        const char *p = line;
        if (strstr(line, " - cgroup2 ")) {
            for (int field = 0; field < 4 && p; field++) {
                p = strchr(p, ' ');
                p = p ? p + 1 : NULL;
            }
            size_t n = 0;
            for (; p && *p && *p != ' '; n++) {
                if (n + 1 >= len) {
                    err = -ENAMETOOLONG;
                    break;
                }
                bool octal = p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' &&
                             p[2] <= '7' && p[3] >= '0' && p[3] <= '7';
                out[n] = octal ? (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0')) : *p;
                p += octal ? 4 : 1;
            }
            if (p && err == -ENOENT && n > 0) {
                out[n] = '\0';
                err = 0;
            }
        }
        line = end ? end + 1 : line + strlen(line);
    }
    wt_free(text);
    return err;
}

/* The quota of the running process: 0 when there is none or it cannot be
 * found (no cgroup v2, no /proc). Return: >= 0; -ENOMEM. */
static int process_quota(void)
{
    char root[PATH_MAX];
    int err = find_cgroup2_mount(root, sizeof root);
    if (err == -ENOMEM)
        return err;
    if (err)
        snprintf(root, sizeof root, "/sys/fs/cgroup");
    char *text;
    err = read_text("/proc/self/cgroup", &text);
    if (err)
        return err == -ENOMEM ? err : 0;
    int quota = wt_cpu_quota_read(root, text);
    wt_free(text);
    return quota;
}

/* Shared tail of both loads: choose cores from @allowed and publish @t in
 * *@out, or free @t. */
static int finish_load(struct wt_topology *t, hwloc_const_cpuset_t allowed, int err,
                       struct wt_topology **out)
{
    if (!err)
        err = choose_cores(t, allowed);
    if (err) {
        wt_topology_free(t);
        return err;
    }
    *out = t;
    return 0;
}

/* Allocate @t and initialise its hwloc topology (not yet loaded). */
static int new_topology(struct wt_topology **tp)
{
    struct wt_topology *t = wt_calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    errno = 0;
    if (hwloc_topology_init(&t->topo) < 0) {
        int err = errno_or(-ENOMEM);
        wt_free(t);
        return err;
    }
    *tp = t;
    return 0;
}

int wt_topology_load(struct wt_topology **out)
{
    if (!out)
        return -EINVAL;
    struct wt_topology *t;
    int err = new_topology(&t);
    if (err)
        return err;
    hwloc_bitmap_t allowed = NULL, bound = NULL;
    errno = 0;
    if (hwloc_topology_load(t->topo) < 0) {
        err = errno_or(-ENODEV);
        goto out_free;
    }
    allowed = hwloc_bitmap_dup(hwloc_topology_get_allowed_cpuset(t->topo));
    bound = hwloc_bitmap_alloc();
    if (!allowed || !bound) {
        err = -ENOMEM;
        goto out_free;
    }
    /* The binding of the thread calling weft_init(): taskset binds every
     * thread alike, and the process-wide union would also count helper
     * threads some libraries (TSan's among them) start with a wider mask.
     * Fails only where hwloc cannot query it: then the cpuset is all we know. */
    if (hwloc_get_cpubind(t->topo, bound, HWLOC_CPUBIND_THREAD) == 0 &&
        hwloc_bitmap_and(allowed, allowed, bound) < 0) {
        err = -ENOMEM;
        goto out_free;
    }
    t->quota = process_quota();
    if (t->quota < 0)
        err = t->quota;
out_free:
    err = finish_load(t, allowed, err, out);
    hwloc_bitmap_free(bound);
    hwloc_bitmap_free(allowed);
    return err;
}

int wt_topology_load_synthetic(const char *desc, const char *allowed, int quota_cpus,
                               struct wt_topology **out)
{
    if (!desc || quota_cpus < 0 || !out)
        return -EINVAL;
    struct wt_topology *t;
    int err = new_topology(&t);
    if (err)
        return err;
    t->quota = quota_cpus;
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    if (!set) {
        err = -ENOMEM;
        goto out_free;
    }
    errno = 0;
    if (hwloc_topology_set_synthetic(t->topo, desc) < 0) {
        err = errno == ENOMEM ? -ENOMEM : -EINVAL;
        goto out_free;
    }
    errno = 0;
    if (hwloc_topology_load(t->topo) < 0) {
        err = errno == ENOMEM ? -ENOMEM : -EINVAL;
        goto out_free;
    }
    if (allowed) {
        err = parse_cpu_list(allowed, set);
        /* A list naming no PU of this machine is a bad argument, not a machine without cores. */
        if (!err && !hwloc_bitmap_intersects(set, hwloc_topology_get_topology_cpuset(t->topo)))
            err = -EINVAL;
    } else if (hwloc_bitmap_copy(set, hwloc_topology_get_topology_cpuset(t->topo)) < 0) {
        err = -ENOMEM;
    }
out_free:
    err = finish_load(t, set, err, out);
    hwloc_bitmap_free(set);
    return err;
}

int wt_topology_cores(const struct wt_topology *t)
{
    return t->ncores;
}

int wt_topology_default_workers(const struct wt_topology *t)
{
    int n = t->ncores;
    if (t->quota > 0 && t->quota < n)
        n = t->quota;
    return n > 0 ? n : 1;
}

int wt_topology_worker_pu(const struct wt_topology *t, int worker)
{
    if (worker < 0)
        return -EINVAL;
    return (int)t->slots[worker % t->ncores].pu;
}

int wt_topology_bind_thread(const struct wt_topology *t, int worker)
{
    if (worker < 0)
        return -EINVAL;
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    if (!set)
        return -ENOMEM;
    int err = 0;
    if (hwloc_bitmap_only(set, t->slots[worker % t->ncores].pu) < 0) {
        err = -ENOMEM;
    } else {
        errno = 0;
        if (hwloc_set_cpubind(t->topo, set, HWLOC_CPUBIND_THREAD) < 0)
            err = errno_or(-EINVAL);
    }
    hwloc_bitmap_free(set);
    return err;
}

int wt_topology_describe(const struct wt_topology *t, int worker, char *buf, size_t len)
{
    if (worker < 0 || !buf)
        return -EINVAL;
    const struct slot *s = &t->slots[worker % t->ncores];
    char line[96]; /* three ints and a fixed text always fit */
    int n = snprintf(line, sizeof line, "weft: worker %d -> core %d (PU os#%u)", worker, s->core,
                     s->pu);
    if (n < 0 || (size_t)n >= len)
        return -ENOSPC;
    memcpy(buf, line, (size_t)n + 1);
    return 0;
}

void wt_topology_free(struct wt_topology *t)
{
    if (!t)
        return;
    wt_free(t->slots);
    hwloc_topology_destroy(t->topo);
    wt_free(t);
}

int wt_cpu_quota_parse(const char *text)
{
    if (!text)
        return -EINVAL;
    const char *p = text;
    uint64_t quota = 0, period;
    bool unlimited = strncmp(p, "max", 3) == 0;
    if (unlimited)
        p += 3;
    else if (!read_number(&p, &quota) || quota == 0)
        return -EINVAL;
    /* "max" may stand alone; a number needs its period. */
    if (!(unlimited && (*p == '\0' || *p == '\n'))) {
        if (*p++ != ' ' || !read_number(&p, &period) || period == 0)
            return -EINVAL;
    }
    if (*p == '\n')
        p++;
    if (*p != '\0')
        return -EINVAL;
    if (unlimited)
        return 0;
    uint64_t cpus = quota / period + (quota % period != 0);
    return cpus > INT_MAX ? INT_MAX : (int)cpus;
}

/* The quota in @dir/cpu.max (@dir being the first @len bytes of @path), 0
 * if there is none or the file cannot be read or parsed. */
static int read_cpu_max(const char *path, size_t len)
{
    char file[PATH_MAX];
    if ((size_t)snprintf(file, sizeof file, "%.*s/cpu.max", (int)len, path) >= sizeof file)
        return 0;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char text[64]; /* two 19-digit numbers, a space and a newline fit */
    ssize_t n;
    do
        n = read(fd, text, sizeof text - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    int quota = wt_cpu_quota_parse(text);
    return quota > 0 ? quota : 0;
}

int wt_cpu_quota_read(const char *cgroup_root, const char *proc_self_cgroup)
{
    if (!cgroup_root || !proc_self_cgroup)
        return 0;
    /* The cgroup v2 line is "0::/path"; v1 lines ("4:memory:/x") precede it in hybrid setups. */
    const char *rel = NULL;
    for (const char *line = proc_self_cgroup; line && *line;) {
        if (strncmp(line, "0::/", 4) == 0) {
            rel = line + 3;
            break;
        }
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    if (!rel)
        return 0;
    size_t rel_len = strcspn(rel, "\n");
    size_t base = strlen(cgroup_root);
    while (base > 0 && cgroup_root[base - 1] == '/')
        base--;
    while (rel_len > 0 && rel[rel_len - 1] == '/')
        rel_len--;
    char path[PATH_MAX];
    if (base + rel_len >= sizeof path)
        return 0;
    memcpy(path, cgroup_root, base);
    memcpy(path + base, rel, rel_len);
    size_t len = base + rel_len;
    /* Leaf first, then each ancestor, up to and including the root. */
    int best = 0;
    for (;;) {
        int quota = read_cpu_max(path, len);
        if (quota > 0 && (best == 0 || quota < best))
            best = quota;
        if (len == base)
            break;
        while (len > base && path[len - 1] != '/')
            len--;
        while (len > base && path[len - 1] == '/')
            len--;
    }
    return best;
}
