/*
 * topology_test.c - which PU each worker gets and how many workers start:
 * on fake machines from hwloc synthetic descriptions (64 cores, SMT,
 * containers restricted to a few PUs, CPU quotas), on a fake cgroup tree
 * in /tmp, and on this machine, where tests that change the affinity run in
 * a child process.
 */
#include "topology.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

static struct wt_topology *synthetic(const char *desc, const char *allowed, int quota)
{
    struct wt_topology *t = NULL;
    int err = wt_topology_load_synthetic(desc, allowed, quota, &t);
    EXPECT_EQ(err, 0);
    CHECK(t != NULL);
    return t;
}

/* 64 cores without SMT: 64 workers by default, worker i on PU i. */
TEST(topology_64_cores_gives_one_worker_per_core)
{
    struct wt_topology *t = synthetic("pack:2 core:32 pu:1", NULL, 0);
    EXPECT_EQ(wt_topology_cores(t), 64);
    EXPECT_EQ(wt_topology_default_workers(t), 64);
    for (int i = 0; i < 64; i++)
        EXPECT_EQ(wt_topology_worker_pu(t, i), i);
    wt_topology_free(t);
}

/* 32 cores of 2 PUs: the workers land on 32 distinct cores, each on the
 * core's first PU, never on two hyperthreads of one core. */
TEST(topology_smt_pins_each_worker_to_first_pu_of_its_own_core)
{
    struct wt_topology *t = synthetic("pack:2 core:16 pu:2", NULL, 0);
    EXPECT_EQ(wt_topology_cores(t), 32);
    EXPECT_EQ(wt_topology_default_workers(t), 32);
    bool core_taken[32] = {false};
    for (int i = 0; i < 32; i++) {
        int pu = wt_topology_worker_pu(t, i);
        CHECK(pu >= 0 && pu < 64);
        EXPECT_EQ(pu % 2, 0); /* first PU of its core */
        EXPECT(!core_taken[pu / 2]);
        core_taken[pu / 2] = true;
    }
    wt_topology_free(t);
}

/* A container given both hyperthreads of one core has one core and starts
 * one worker; given only the second, the worker gets that one. */
TEST(topology_two_hyperthreads_of_one_core_are_one_core)
{
    struct wt_topology *t = synthetic("pack:2 core:16 pu:2", "6-7", 0);
    EXPECT_EQ(wt_topology_cores(t), 1);
    EXPECT_EQ(wt_topology_default_workers(t), 1);
    EXPECT_EQ(wt_topology_worker_pu(t, 0), 6);
    EXPECT_EQ(wt_topology_worker_pu(t, 1), 6);
    wt_topology_free(t);

    t = synthetic("pack:2 core:16 pu:2", "7", 0);
    EXPECT_EQ(wt_topology_cores(t), 1);
    EXPECT_EQ(wt_topology_worker_pu(t, 0), 7);
    wt_topology_free(t);
}

/* A scattered set: every core with an allowed PU counts once, in machine
 * order, with its first allowed PU. */
TEST(topology_scattered_set_uses_each_touched_core_once)
{
    struct wt_topology *t = synthetic("pack:2 core:16 pu:2", "1,6-7,20,33,62", 0);
    static const int want[] = {1, 6, 20, 33, 62};
    EXPECT_EQ(wt_topology_cores(t), 5);
    EXPECT_EQ(wt_topology_default_workers(t), 5);
    for (int i = 0; i < 5; i++)
        EXPECT_EQ(wt_topology_worker_pu(t, i), want[i]);
    char line[64];
    CHECK_OK(wt_topology_describe(t, 2, line, sizeof line));
    EXPECT(strcmp(line, "weft: worker 2 -> core 10 (PU os#20)") == 0);
    wt_topology_free(t);
}

/* A quota caps the default worker count, not the cores that may be used. */
TEST(topology_quota_caps_default_workers)
{
    static const struct {
        int quota, cores, workers;
    } rows[] = {{3, 64, 3}, {1, 64, 1}, {64, 64, 64}, {100, 64, 64}, {0, 64, 64}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct wt_topology *t = synthetic("pack:1 core:64 pu:1", NULL, rows[i].quota);
        EXPECT_EQ(wt_topology_cores(t), rows[i].cores);
        EXPECT_EQ(wt_topology_default_workers(t), rows[i].workers);
        wt_topology_free(t);
    }
    struct wt_topology *t = synthetic("pack:2 core:16 pu:2", "6-7", 3);
    EXPECT_EQ(wt_topology_default_workers(t), 1); /* the cores cap the quota too */
    wt_topology_free(t);
}

/* More workers than cores: worker i goes to core i % cores. */
TEST(topology_workers_beyond_cores_go_round_robin)
{
    struct wt_topology *t = synthetic("pack:1 core:4 pu:2", NULL, 0);
    EXPECT_EQ(wt_topology_cores(t), 4);
    for (int i = 0; i < 12; i++)
        EXPECT_EQ(wt_topology_worker_pu(t, i), 2 * (i % 4));
    char line[64];
    CHECK_OK(wt_topology_describe(t, 9, line, sizeof line));
    EXPECT(strcmp(line, "weft: worker 9 -> core 1 (PU os#2)") == 0);
    EXPECT_EQ(wt_topology_worker_pu(t, -1), -EINVAL);
    wt_topology_free(t);
}

/* A machine that reports no cores: each PU counts as a core. */
TEST(topology_without_cores_treats_each_pu_as_core)
{
    struct wt_topology *t = synthetic("pack:2 pu:4", NULL, 0);
    EXPECT_EQ(wt_topology_cores(t), 8);
    EXPECT_EQ(wt_topology_worker_pu(t, 5), 5);
    wt_topology_free(t);
    t = synthetic("pack:2 pu:4", "3,5", 0);
    EXPECT_EQ(wt_topology_cores(t), 2);
    EXPECT_EQ(wt_topology_worker_pu(t, 0), 3);
    EXPECT_EQ(wt_topology_worker_pu(t, 1), 5);
    wt_topology_free(t);
}

static uint64_t next_random(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Random restrictions of a 16-core, 4-PU-per-core machine against a model:
 * the usable cores are those with an allowed PU, in order, each with its
 * lowest allowed PU, and the default is min(cores, quota). */
TEST(topology_random_restrictions_match_the_model)
{
    uint64_t x = tap_seed() | 1;
    for (int round = 0; round < 200; round++) {
        uint64_t mask = next_random(&x);
        if (round % 4 == 0)
            mask &= next_random(&x) & next_random(&x); /* sparse sets too */
        mask |= (uint64_t)1 << (next_random(&x) % 64);
        int quota = (int)(next_random(&x) % 20);
        char list[64 * 3 + 1] = "";
        int want_pu[16], want_cores = 0;
        for (int pu = 0; pu < 64; pu++) {
            if (!(mask >> pu & 1))
                continue;
            size_t n = strlen(list);
            snprintf(list + n, sizeof list - n, "%s%d", n ? "," : "", pu);
            if (want_cores == 0 || want_pu[want_cores - 1] / 4 != pu / 4)
                want_pu[want_cores++] = pu;
        }
        struct wt_topology *t = synthetic("pack:2 core:8 pu:4", list, quota);
        EXPECT_EQ(wt_topology_cores(t), want_cores);
        int want_workers = quota > 0 && quota < want_cores ? quota : want_cores;
        EXPECT_EQ(wt_topology_default_workers(t), want_workers);
        for (int i = 0; i < want_cores; i++)
            EXPECT_EQ(wt_topology_worker_pu(t, i), want_pu[i]);
        wt_topology_free(t);
        if (tap_case_failed) {
            printf("# failed with allowed \"%s\", quota %d\n", list, quota);
            break;
        }
    }
}

/* describe() writes the documented line, refuses a buffer one byte short
 * and leaves it untouched. */
TEST(topology_describe_fits_or_reports_enospc)
{
    static const char want[] = "weft: worker 3 -> core 3 (PU os#6)";
    struct wt_topology *t = synthetic("pack:2 core:16 pu:2", NULL, 0);
    char buf[64];
    CHECK_OK(wt_topology_describe(t, 3, buf, sizeof want));
    EXPECT(strcmp(buf, want) == 0);
    memset(buf, 'x', sizeof buf);
    EXPECT_EQ(wt_topology_describe(t, 3, buf, sizeof want - 1), -ENOSPC);
    EXPECT_EQ(buf[0], 'x');
    EXPECT_EQ(buf[sizeof want - 2], 'x');
    EXPECT_EQ(wt_topology_describe(t, 3, buf, 0), -ENOSPC);
    EXPECT_EQ(wt_topology_describe(t, 3, NULL, 64), -EINVAL);
    EXPECT_EQ(wt_topology_describe(t, -1, buf, sizeof buf), -EINVAL);
    wt_topology_free(t);
}

/* Bad descriptions, bad or empty PU lists and negative quotas are refused
 * and leave the output alone. */
TEST(topology_synthetic_refuses_bad_arguments)
{
    static const struct {
        const char *desc, *allowed;
        int quota, err;
    } rows[] = {
        {"nonsense:3", NULL, 0, -EINVAL},
        {NULL, NULL, 0, -EINVAL},
        {"pack:1 core:64 pu:1", NULL, -1, -EINVAL},
        {"pack:1 core:64 pu:1", "garbage", 0, -EINVAL},
        {"pack:1 core:64 pu:1", "", 0, -EINVAL},
        {"pack:1 core:64 pu:1", "1-", 0, -EINVAL},
        {"pack:1 core:64 pu:1", "5-2", 0, -EINVAL},
        {"pack:1 core:64 pu:1", "0x3", 0, -EINVAL},
        {"pack:1 core:64 pu:1", "1,", 0, -EINVAL},
        {"pack:1 core:64 pu:1", "-1", 0, -EINVAL},
        {"pack:1 core:64 pu:1", "0-1,8\n", 0, -EINVAL},
        {"pack:1 core:64 pu:1", "99999999999", 0, -EINVAL},
        {"pack:1 core:64 pu:1", "64-100", 0, -EINVAL}, /* no PU of this machine */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct wt_topology *sentinel = (struct wt_topology *)&rows[i], *t = sentinel;
        int err = wt_topology_load_synthetic(rows[i].desc, rows[i].allowed, rows[i].quota, &t);
        if (err != rows[i].err)
            printf("# row %zu: %s / %s\n", i, rows[i].desc ? rows[i].desc : "NULL",
                   rows[i].allowed ? rows[i].allowed : "NULL");
        EXPECT_EQ(err, rows[i].err);
        EXPECT(t == sentinel);
    }
    struct wt_topology *t = synthetic("pack:1 core:64 pu:1", "60-100", 0); /* partly outside */
    EXPECT_EQ(wt_topology_cores(t), 4);
    wt_topology_free(t);
}

/* cpu.max rounds the quota up to whole CPUs; "max" is no limit. */
TEST(cpu_quota_parse_table)
{
    static const struct {
        const char *text;
        int want;
    } rows[] = {
        {"max", 0},
        {"max 100000", 0},
        {"max 100000\n", 0},
        {"150000 100000", 2},
        {"150000 100000\n", 2},
        {"100000 100000", 1},
        {"50000 100000", 1},
        {"1000 100000", 1},
        {"200000 100000", 2},
        {"200001 100000", 3},
        {"17592186044416 1000", INT_MAX}, /* the kernel's largest quota, saturated */
        {"garbage", -EINVAL},
        {"", -EINVAL},
        {"100000", -EINVAL},
        {"100000 ", -EINVAL},
        {"-1 100000", -EINVAL},
        {"0 100000", -EINVAL},
        {"100000 0", -EINVAL},
        {" 100000 100000", -EINVAL},
        {"100000  100000", -EINVAL},
        {"100000 100000 junk", -EINVAL},
        {"100000 100000\n\n", -EINVAL},
        {"maxx 100000", -EINVAL},
        {"max junk", -EINVAL},
        {"1e5 100000", -EINVAL},
        {"99999999999999999999 100000", -EINVAL},
        {NULL, -EINVAL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int got = wt_cpu_quota_parse(rows[i].text);
        if (got != rows[i].want)
            printf("# row %zu: \"%s\"\n", i, rows[i].text ? rows[i].text : "NULL");
        EXPECT_EQ(got, rows[i].want);
    }
}

/* A fake cgroup v2 tree: <root>/a/b/c with cpu.max at several levels. */
struct fake_cgroup {
    char root[64];
};

static void write_file(const char *root, const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    CHECK(fclose(f) == 0);
}

static void fake_cgroup_make(struct fake_cgroup *cg)
{
    snprintf(cg->root, sizeof cg->root, "/tmp/weft-cgroup-XXXXXX");
    CHECK(mkdtemp(cg->root) != NULL);
    static const char *const dirs[] = {"a", "a/b", "a/b/c"};
    for (size_t i = 0; i < 3; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", cg->root, dirs[i]);
        CHECK(mkdir(path, 0700) == 0);
    }
}

static void fake_cgroup_remove(struct fake_cgroup *cg)
{
    static const char *const rels[] = {"a/b/c/cpu.max", "a/b/cpu.max", "a/cpu.max", "cpu.max",
                                       "a/b/c",         "a/b",         "a",         ""};
    for (size_t i = 0; i < sizeof rels / sizeof rels[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", cg->root, rels[i]);
        if (strstr(rels[i], "cpu.max"))
            unlink(path);
        else
            EXPECT(rmdir(path) == 0);
    }
}

/* The kernel enforces every ancestor's cpu.max, so the tightest one along
 * the path from the leaf to the root wins, whichever level it sits at. */
TEST(cpu_quota_read_takes_smallest_limit_on_the_path)
{
    struct fake_cgroup cg;
    fake_cgroup_make(&cg);
    write_file(cg.root, "a/cpu.max", "200000 100000\n");
    write_file(cg.root, "a/b/cpu.max", "max 100000\n");
    write_file(cg.root, "a/b/c/cpu.max", "400000 100000\n");
    /* Hybrid layout: v1 lines before the v2 one. */
    const char *hybrid = "4:memory:/elsewhere\n1:cpu:/\n0::/a/b/c\n";
    EXPECT_EQ(wt_cpu_quota_read(cg.root, hybrid), 2); /* the parent is tighter */
    EXPECT_EQ(wt_cpu_quota_read(cg.root, "0::/a/b/c"), 2);
    EXPECT_EQ(wt_cpu_quota_read(cg.root, "0::/a/b/c/\n"), 2);
    char slashed[80];
    snprintf(slashed, sizeof slashed, "%s/", cg.root);
    EXPECT_EQ(wt_cpu_quota_read(slashed, "0::/a/b/c\n"), 2);
    EXPECT_EQ(wt_cpu_quota_read(cg.root, "0::/a/b\n"), 2);
    EXPECT_EQ(wt_cpu_quota_read(cg.root, "0::/\n"), 0); /* the root has no cpu.max */
    EXPECT_EQ(wt_cpu_quota_read(cg.root, "0::/gone\n"), 0);
    EXPECT_EQ(wt_cpu_quota_read(cg.root, "4:memory:/a/b/c\n"), 0); /* no v2 line */
    EXPECT_EQ(wt_cpu_quota_read(cg.root, "10::/a/b/c\n"), 0);
    EXPECT_EQ(wt_cpu_quota_read(cg.root, ""), 0);
    EXPECT_EQ(wt_cpu_quota_read(NULL, "0::/a/b/c\n"), 0);
    EXPECT_EQ(wt_cpu_quota_read(cg.root, NULL), 0);

    write_file(cg.root, "a/b/c/cpu.max", "50000 100000\n"); /* now the leaf is tighter */
    EXPECT_EQ(wt_cpu_quota_read(cg.root, hybrid), 1);
    write_file(cg.root, "a/b/c/cpu.max", "junk\n"); /* malformed: no limit there */
    write_file(cg.root, "cpu.max", "300000 100000\n");
    EXPECT_EQ(wt_cpu_quota_read(cg.root, hybrid), 2);
    EXPECT_EQ(wt_cpu_quota_read(cg.root, "0::/\n"), 3); /* a root file is read too */
    fake_cgroup_remove(&cg);
}

/* This machine: at least one core, no more cores than allowed CPUs, and a
 * default that fits both. */
TEST(topology_loads_this_machine)
{
    struct wt_topology *t = NULL;
    CHECK_OK(wt_topology_load(&t));
    cpu_set_t set;
    CHECK_OK(sched_getaffinity(0, sizeof set, &set));
    int cores = wt_topology_cores(t);
    EXPECT(cores >= 1);
    EXPECT(cores <= CPU_COUNT(&set));
    int workers = wt_topology_default_workers(t);
    EXPECT(workers >= 1 && workers <= cores);
    for (int i = 0; i < cores; i++)
        EXPECT(CPU_ISSET(wt_topology_worker_pu(t, i), &set));
    char line[64];
    CHECK_OK(wt_topology_describe(t, 0, line, sizeof line));
    printf("# %s; %d cores, %d default workers\n", line, cores, workers);
    wt_topology_free(t);
}

/* Run @fn in a child process, so that affinity changes stay there; return
 * its exit status (128 + signal if killed). */
static int in_child(int (*fn)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        exit(fn()); /* exit, not _exit: LeakSanitizer runs in the child too */
    CHECK(pid > 0);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#define CHILD_CHECK(cond)                                                            \
    do {                                                                             \
        if (!(cond)) {                                                               \
            printf("# child: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            return 1;                                                                \
        }                                                                            \
    } while (0)

static int bind_and_check(void)
{
    struct wt_topology *t;
    CHILD_CHECK(wt_topology_load(&t) == 0);
    int pu = wt_topology_worker_pu(t, 0);
    CHILD_CHECK(wt_topology_bind_thread(t, 0) == 0);
    cpu_set_t set;
    CHILD_CHECK(sched_getaffinity(0, sizeof set, &set) == 0);
    CHILD_CHECK(CPU_COUNT(&set) == 1);
    CHILD_CHECK(CPU_ISSET(pu, &set));
    CHILD_CHECK(wt_topology_bind_thread(t, -1) == -EINVAL);
    wt_topology_free(t);
    return 0;
}

/* bind_thread(0) leaves the thread able to run on exactly worker 0's PU. */
TEST(topology_bind_thread_pins_to_the_chosen_pu)
{
    EXPECT_EQ(in_child(bind_and_check), 0);
}

static int restrict_and_load(void)
{
    cpu_set_t set;
    CHILD_CHECK(sched_getaffinity(0, sizeof set, &set) == 0);
    int cpu = -1;
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &set))
            cpu = i; /* the last one, so that "PU 0" cannot pass by luck */
    CHILD_CHECK(cpu >= 0);
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    CHILD_CHECK(sched_setaffinity(0, sizeof set, &set) == 0);
    struct wt_topology *t;
    CHILD_CHECK(wt_topology_load(&t) == 0);
    CHILD_CHECK(wt_topology_cores(t) == 1);
    CHILD_CHECK(wt_topology_default_workers(t) == 1);
    CHILD_CHECK(wt_topology_worker_pu(t, 0) == cpu);
    CHILD_CHECK(wt_topology_worker_pu(t, 1) == cpu);
    wt_topology_free(t);
    return 0;
}

/* A process restricted to one CPU (as by taskset), which hwloc alone does not
 * see, gets one core: that CPU's. */
TEST(topology_process_affinity_of_one_cpu_gives_one_core)
{
    EXPECT_EQ(in_child(restrict_and_load), 0);
}

static int bind_synthetic(void)
{
    cpu_set_t before, after;
    CHILD_CHECK(sched_getaffinity(0, sizeof before, &before) == 0);
    struct wt_topology *t;
    CHILD_CHECK(wt_topology_load_synthetic("pack:2 core:32 pu:1", NULL, 0, &t) == 0);
    CHILD_CHECK(wt_topology_bind_thread(t, 63) == 0);
    CHILD_CHECK(sched_getaffinity(0, sizeof after, &after) == 0);
    CHILD_CHECK(CPU_EQUAL(&before, &after));
    wt_topology_free(t);
    return 0;
}

/* On a fake machine binding succeeds and changes nothing, so a runtime can
 * start 64 workers of a synthetic machine on this one. */
TEST(topology_bind_on_synthetic_machine_is_a_no_op)
{
    EXPECT_EQ(in_child(bind_synthetic), 0);
}

TAP_MAIN()
