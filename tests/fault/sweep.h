/*
 * sweep.h - the fault-sweep harness of tests/fault/ (white-box: it drives
 * the seam of runtime/alloc.h, built with -Dfault_injection=true).
 *
 * A sweep runs one scenario again and again, the Nth call of one kind
 * (allocation, mapping, thread, system call) failing in run N, for N = 1,
 * 2, ... until a run in which that call is never reached: the scenario has
 * then run through every failure point once and succeeded. Each run must
 *  - return 0 (the failure was tolerated: a deque that cannot grow spills
 *    to the global queue) or one of the scenario's documented codes;
 *  - leave weft_shutdown() with the answer it owes (0 after a scenario
 *    that cleaned up, -ECANCELED after a weft_init that failed);
 *  - leave nothing behind: no block allocated through the seam (beyond the
 *    tables that live as long as the process: pd chunks, handle chunks),
 *    no mapping, no fd, no thread. LeakSanitizer checks the rest at exit.
 * The runtime's own calls are the only ones counted: the test's (pipe,
 * printf) do not go through the seam.
 */
#ifndef WT_TEST_SWEEP_H
#define WT_TEST_SWEEP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "tap.h"
#include "testutil.h"
#include "weft.h"

#if !WT_FAULT_INJECTION
#error "tests/fault needs -Dfault_injection=true"
#endif

/* A sweep gives up past this many failure points: a scenario that never
 * stops reaching new ones is a failure of its own. */
#define SWEEP_MAX_POINTS 2000

/* What one run reports back to the sweep. */
struct outcome {
    int op;       /* first failing call's code, or 0 */
    int shutdown; /* weft_shutdown()'s answer */
    int want_shutdown;
};

/* One sweep: which calls fail, in which scenario, and what may come back. */
struct sweep {
    const char *name;
    enum wt_fault_kind kind;
    int err;        /* errno value the failed call gives; 0: the kind's default */
    int expect[3];  /* documented codes of a failing run (0-terminated) */
    long permanent; /* blocks the scenario may keep for the life of the process */
    /* One run: bring the runtime up, call sweep_arm() where the swept part
     * begins, and leave the runtime stopped, filling *@out. */
    void (*run)(struct outcome *out);
};

/* What the running sweep arms (set by sweep_run for each run). */
static struct {
    enum wt_fault_kind kind;
    unsigned long nth;
    int err;
} sweep_now;

__attribute__((unused)) static void sweep_arm(void)
{
    wt_fault_arm(sweep_now.kind, sweep_now.nth, 0, sweep_now.err);
}

struct snap {
    long blocks, maps;
    int fds, threads;
};

__attribute__((unused)) static void snap_take(struct snap *s)
{
    s->blocks = wt_fault_live_blocks();
    s->maps = wt_fault_live_maps();
    s->fds = count_entries("/proc/self/fd");
    s->threads = count_entries("/proc/self/task");
}

/* The thread count, once the threads that were joined have left the
 * kernel's list too (a joined thread may linger there for a moment). */
__attribute__((unused)) static int threads_settled(int want)
{
    int n = count_entries("/proc/self/task");
    for (int i = 0; i < 1000 && n > want; i++) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 1000000};
        nanosleep(&ts, NULL);
        n = count_entries("/proc/self/task");
    }
    return n;
}

/* Start and stop a runtime once before the first sweep: a sanitizer may
 * start a helper thread of its own at the first thread a process makes
 * (TSan does), which would count as a thread left behind. */
static void sweep_settle(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    weft_fiber f;
    CHECK_OK(weft_init(&(weft_config){.workers = 1}));
    CHECK_OK(weft_spawn(&f, identity, NULL, NULL));
    CHECK_OK(weft_join(f, NULL));
    CHECK_OK(weft_shutdown());
}

static bool expected_code(const struct sweep *s, int r)
{
    for (int i = 0; i < 3 && s->expect[i]; i++)
        if (r == s->expect[i])
            return true;
    return false;
}

/* Run sweep @s to the end; returns the number of failure points swept.
 * Failures are reported through tap (EXPECT), with the point's number. */
__attribute__((unused)) static unsigned long sweep_run(const struct sweep *s)
{
    long permanent = s->permanent;
    unsigned long failed = 0, tolerated = 0;
    bool verbose = getenv("WEFT_FAULT_VERBOSE") != NULL;
    sweep_settle();
    for (unsigned long n = 1;; n++) {
        if (n > SWEEP_MAX_POINTS) {
            printf("# %s: more than %d failure points\n", s->name, SWEEP_MAX_POINTS);
            tap_fail(__FILE__, __LINE__, "sweep did not end");
            return n - 1;
        }
        struct snap before, after;
        snap_take(&before);
        sweep_now.kind = s->kind;
        sweep_now.nth = n;
        sweep_now.err = s->err;
        struct outcome out = {.op = 0, .shutdown = 0, .want_shutdown = 0};
        s->run(&out);
        unsigned long hits = wt_fault_hits(s->kind);
        wt_fault_reset();
        after.blocks = wt_fault_live_blocks();
        after.maps = wt_fault_live_maps();
        after.fds = count_entries("/proc/self/fd");
        after.threads = threads_settled(before.threads);
        if (verbose)
            printf("# %s: point %lu: hits %lu, op %d (%s), shutdown %d\n", s->name, n, hits, out.op,
                   weft_strerror(out.op), out.shutdown);
        bool ok = true;
        char what[256] = "";
        if (hits == 0 && out.op != 0) {
            snprintf(what, sizeof what, "the run without a failure returned %d (%s)", out.op,
                     weft_strerror(out.op));
            ok = false;
        } else if (hits && out.op != 0 && !expected_code(s, out.op)) {
            snprintf(what, sizeof what, "returned %d (%s), not a documented code", out.op,
                     weft_strerror(out.op));
            ok = false;
        } else if (out.shutdown != out.want_shutdown) {
            snprintf(what, sizeof what, "weft_shutdown returned %d (%s), wanted %d", out.shutdown,
                     weft_strerror(out.shutdown), out.want_shutdown);
            ok = false;
        } else if (after.maps != before.maps || after.fds != before.fds ||
                   after.threads != before.threads) {
            snprintf(what, sizeof what, "left behind %ld mappings, %d fds, %d threads",
                     after.maps - before.maps, after.fds - before.fds,
                     after.threads - before.threads);
            ok = false;
        } else if (after.blocks < before.blocks || after.blocks - before.blocks > permanent) {
            snprintf(what, sizeof what, "left behind %ld blocks (%ld may stay)",
                     after.blocks - before.blocks, permanent);
            ok = false;
        }
        if (ok)
            permanent -= after.blocks - before.blocks; /* a table made for good */
        if (!ok) {
            char line[400];
            snprintf(line, sizeof line, "%s: failure point %lu: %s", s->name, n, what);
            tap_fail(__FILE__, __LINE__, line);
            if (++failed >= 5)
                return n;
        }
        if (hits == 0) {
            printf("# %s: %lu failure points swept (%lu failed with a documented code, %lu "
                   "tolerated)\n",
                   s->name, n - 1, n - 1 - tolerated, tolerated);
            return n - 1;
        }
        tolerated += out.op == 0;
    }
}

/* Parts of scenarios. A run's calls report the first error they meet in
 * out->op: first() keeps it, join_into() and spawn_join_into() fold a
 * fiber's spawn, its join and its result (an error it returns) into it. */

__attribute__((unused)) static void first(int *op, int r)
{
    if (r < 0 && !*op)
        *op = r;
}

/* Join @f and fold its error (returned as its result) into *@op. */
__attribute__((unused)) static void join_into(int *op, weft_fiber f)
{
    void *res = NULL;
    int r = weft_join(f, &res);
    first(op, r);
    if (!r)
        first(op, (int)(intptr_t)res);
}

/* Spawn @fn(@arg) with @attr and join it, all folded into *@op. */
__attribute__((unused)) static void spawn_join_into(int *op, weft_fn fn, void *arg,
                                                    const weft_fiber_attr *attr)
{
    weft_fiber f;
    int r = weft_spawn(&f, fn, arg, attr);
    first(op, r);
    if (!r)
        join_into(op, f);
}

/* weft_init (swept from its first call) and weft_shutdown, with
 * WEFT_DEBUG=@debug: with a monitor (schedtrace) or without (stall=0). */
__attribute__((unused)) static void run_init(struct outcome *out, const char *debug,
                                             const weft_config *cfg)
{
    setenv("WEFT_DEBUG", debug, 1);
    sweep_arm();
    out->op = weft_init(cfg);
    out->shutdown = weft_shutdown();
    out->want_shutdown = out->op ? -ECANCELED : 0;
    unsetenv("WEFT_DEBUG");
}

/* A fiber's weft_read of one byte from @fd (10 s deadline): a netpoll
 * registration, then a park until a writer comes. */
struct rd {
    int fd;
    ssize_t got;
    char c;
};

__attribute__((unused)) static void *rd_fiber(void *arg)
{
    struct rd *x = arg;
    x->got = weft_read_until(x->fd, &x->c, 1, weft_deadline_after(10 * 1000000000ll));
    return NULL;
}

/* A fiber that offloads a job returning 42: 0, the call's error, or
 * -EPROTO for a wrong result (the offload scenarios of both sweeps). */
static void *answer(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)42;
}

__attribute__((unused)) static void *offloader(void *arg)
{
    (void)arg;
    void *res = NULL;
    int r = weft_offload(answer, NULL, &res);
    if (!r && res != (void *)(intptr_t)42)
        r = -EPROTO;
    return (void *)(intptr_t)r;
}

#endif /* WT_TEST_SWEEP_H */
