/*
 * topology.h - which CPU each worker thread runs on: one worker per usable
 * core, pinned to one hardware thread (PU) of it, and how many workers to
 * start by default. topology.c is the only file that knows hwloc; the cgroup
 * CPU quota is read here too because it caps the same number.
 *
 * Vocabulary: a PU is a hardware thread (what the kernel calls a CPU), a core
 * holds one or more PUs. A core is usable when the process may run on at
 * least one of its PUs: the cgroup cpuset and the process's own affinity
 * (taskset, sched_setaffinity) both restrict that. Cores are numbered by
 * hwloc's logical index; PUs by their OS index, the number sched_setaffinity
 * takes.
 */
#ifndef WT_TOPOLOGY_H
#define WT_TOPOLOGY_H

#include <stddef.h>

/* The usable cores of a machine and the PU each worker is pinned to. */
struct wt_topology;

/**
 * wt_topology_load - discover this machine's usable cores.
 * @out: receives the topology on success; untouched on error.
 *
 * Loads the hwloc topology (which honours the cgroup cpuset), keeps the PUs
 * that the process binding also allows, and reads the cgroup v2 CPU quota
 * (cpu.max of the process's cgroup and its ancestors).
 *
 * Return: 0; -ENOMEM; -ENODEV if no PU is usable; another negative errno if
 * hwloc fails.
 * Context: any thread, before workers are pinned (the process binding read
 * here is the union over all of its threads).
 */
int wt_topology_load(struct wt_topology **out);

/**
 * wt_topology_load_synthetic - a fake machine, for tests.
 * @desc: hwloc synthetic description, e.g. "pack:2 core:16 pu:2"; PUs get OS
 *        indexes 0, 1, 2, ... in order, so core 3 of that machine holds PUs 6, 7.
 * @allowed: PUs the process may use, as a list like "0-1,8", standing in for
 *           the cgroup cpuset and process binding; NULL allows all.
 * @quota_cpus: CPU quota in whole CPUs, as wt_cpu_quota_read() would give; 0
 *              for none.
 * @out: receives the topology on success; untouched on error.
 *
 * Binding a thread on the result is a no-op that succeeds (hwloc's rule for
 * topologies that are not this system), so a runtime can start on a fake machine.
 *
 * Return: 0; -EINVAL if @desc or @allowed is malformed, @allowed names no PU
 * of the machine, or @quota_cpus < 0; -ENOMEM.
 * Context: any thread.
 */
int wt_topology_load_synthetic(const char *desc, const char *allowed, int quota_cpus,
                               struct wt_topology **out);

/**
 * wt_topology_cores - the number of usable cores.
 * @t: a loaded topology.
 *
 * Return: >= 1.
 */
int wt_topology_cores(const struct wt_topology *t);

/**
 * wt_topology_default_workers - how many workers to start when the user did
 * not say.
 * @t: a loaded topology.
 *
 * One per usable core, but no more than the CPU quota rounded up: running
 * more threads than the quota pays for only gets them throttled.
 *
 * Return: min(usable cores, quota), at least 1.
 */
int wt_topology_default_workers(const struct wt_topology *t);

/**
 * wt_topology_worker_pu - the PU that worker @worker is pinned to.
 * @t: a loaded topology.
 * @worker: worker index, >= 0; any value, workers beyond the number of cores
 *          share cores round-robin (worker i gets core i % cores).
 *
 * The PU is the first allowed one of the worker's core, so workers on
 * different cores never share a core through hyperthreads.
 *
 * Return: the PU's OS index (>= 0); -EINVAL if @worker < 0.
 */
int wt_topology_worker_pu(const struct wt_topology *t, int worker);

/**
 * wt_topology_bind_thread - pin the calling thread to worker @worker's PU.
 * @t: a loaded topology.
 * @worker: worker index, >= 0, as for wt_topology_worker_pu().
 *
 * Return: 0; -EINVAL if @worker < 0 or the kernel refuses the PU (it was
 * taken offline or out of the cpuset since loading); -ENOMEM; another
 * negative errno from the kernel.
 * Context: the thread to pin. Workers may call it at once on one topology:
 * hwloc binding calls only read it.
 */
int wt_topology_bind_thread(const struct wt_topology *t, int worker);

/**
 * wt_topology_describe - one line saying where worker @worker runs.
 * @t: a loaded topology.
 * @worker: worker index, >= 0.
 * @buf: receives "weft: worker 3 -> core 3 (PU os#6)", NUL-terminated, with
 *       no newline; untouched on error.
 * @len: size of @buf in bytes.
 *
 * Return: 0; -EINVAL if @worker < 0 or @buf is NULL; -ENOSPC if the line and
 * its NUL do not fit in @len bytes.
 */
int wt_topology_describe(const struct wt_topology *t, int worker, char *buf, size_t len);

/**
 * wt_topology_free - release a topology; NULL is ignored.
 * @t: a topology from wt_topology_load() or wt_topology_load_synthetic().
 */
void wt_topology_free(struct wt_topology *t);

/**
 * wt_cpu_quota_parse - read the text of a cgroup v2 cpu.max file.
 * @text: "QUOTA PERIOD" in microseconds, or "max PERIOD" (or "max") for no
 *        limit, optionally followed by a newline.
 *
 * Return: ceil(QUOTA / PERIOD) >= 1, capped at INT_MAX; 0 for no limit;
 * -EINVAL if @text is NULL or malformed, or QUOTA or PERIOD is 0.
 */
int wt_cpu_quota_parse(const char *text);

/**
 * wt_cpu_quota_read - the CPU quota of the process, in whole CPUs.
 * @cgroup_root: where the cgroup v2 hierarchy is mounted, normally
 *               "/sys/fs/cgroup".
 * @proc_self_cgroup: the contents of /proc/self/cgroup; its "0::/path" line
 *                    names the process's cgroup under @cgroup_root.
 *
 * Reads cpu.max in that cgroup and in each ancestor up to @cgroup_root,
 * since the kernel enforces every one of them, and keeps the smallest limit.
 * Missing, unreadable or malformed files count as no limit.
 *
 * Return: the quota (>= 1), or 0 if there is none, no cgroup v2 line, or an
 * argument is NULL or too long for a path.
 * Context: any thread. Reads the file system.
 */
int wt_cpu_quota_read(const char *cgroup_root, const char *proc_self_cgroup);

#endif /* WT_TOPOLOGY_H */
