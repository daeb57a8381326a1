/*
 * blocked_mem.c - memory per blocked fiber: spawn n fibers (default
 * 1,000,000) that each check in on a waitgroup and block on one
 * weft_event; once all have checked in, read the process's resident set
 * (VmRSS, lib/rss.h), then set the event and join them all. Reports, as
 * extra fields, bytes_per_fiber: (that RSS - the RSS before this
 * workload's first fiber in this process) / n, and peak_rss_kb, the
 * process's high-water mark (getrusage). The time is that of the whole
 * life of n fibers that block once (spawn, run, park, wake, exit, join).
 *
 * The baseline is taken once per process, not before each run: the
 * runtime keeps fiber structs and stacks (the latter returned with
 * MADV_FREE, which leaves them in the RSS), so a run after the first
 * grows the RSS hardly at all, yet holds as much memory. Measured from
 * the first run's start, every run reports the memory that n blocked
 * fibers hold, warm or cold. Run it in a process of its own (bench.py
 * does) for a clean baseline. The handle array joining needs is kept
 * across runs and touched before the baseline: it is the benchmark's,
 * not the fibers'.
 *
 * Checked: every fiber checked in before the event was set, none returned
 * from its wait before it was set, and the joined values are 1..n.
 * A one-shot figure: 3 timed runs by default. Peer: Go, n goroutines
 * blocked on the close of one channel, the RSS read the same way.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "harness.h"
#include "rss.h"
#include "weft.h"

static weft_event gate;
static weft_waitgroup checked_in;

/* Set just before the gate: a waiter that returns and sees it clear left
 * before the event was set. */
static _Atomic bool opened;
static _Atomic long early; /* waiters that did so */

/* The first weft error any fiber saw; 0 if none (bench_note_err()). */
static _Atomic int blocked_err;

static weft_fiber *handles;
static long handles_cap;
static long base_kb = -1; /* RSS before the first fiber of the first run */

static void *waiter(void *arg)
{
    int err = weft_waitgroup_done(&checked_in);
    if (err == 0)
        err = weft_event_wait(&gate);
    if (err)
        bench_note_err(&blocked_err, err);
    /* Relaxed: the event orders it after run()'s store of true, if the
     * event was set when the wait returned (see run()). */
    else if (!atomic_load_explicit(&opened, memory_order_relaxed))
        atomic_fetch_add_explicit(&early, 1, memory_order_relaxed); /* read after the joins */
    return arg;
}

/* Sets everything up for @n fibers; false, having said why, if it cannot. */
static bool setup(long n)
{
    if (n > handles_cap) {
        free(handles);
        handles = malloc((size_t)n * sizeof *handles);
        if (!handles) {
            handles_cap = 0;
            return false;
        }
        /* Resident before the baseline. Not 0: GCC may turn malloc+memset(0)
         * into calloc, which leaves fresh pages untouched. */
        memset(handles, 0xff, (size_t)n * sizeof *handles);
        handles_cap = n;
    }
    if (base_kb < 0)
        base_kb = bench_rss_kb();
    atomic_store_explicit(&opened, false, memory_order_relaxed); /* no waiter runs yet */
    atomic_store_explicit(&early, 0, memory_order_relaxed);
    atomic_store_explicit(&blocked_err, 0, memory_order_relaxed);
    return base_kb >= 0 && weft_event_init(&gate) == 0 && weft_waitgroup_init(&checked_in) == 0;
}

static int run(struct bench_run *r)
{
    long n = r->n, spawned = 0;
    uint64_t sum = 0;
    if (!setup(n))
        return bench_wrong("blocked-mem", "no memory for %ld handles, or no /proc/self/status", n);

    bench_clock_start(r);
    int err = bench_spawn_checked_in(handles, n, waiter, &checked_in, &spawned);
    int werr = weft_waitgroup_wait(&checked_in);
    long blocked_kb = bench_rss_kb();
    /* Relaxed: weft_event_set() (release) publishes it to every waiter it
     * wakes (acquire in the wait), so their loads below see it. */
    atomic_store_explicit(&opened, true, memory_order_relaxed);
    int serr = weft_event_set(&gate);
    int jerr = bench_join_sum(handles, spawned, &sum);
    bench_clock_stop(r);

    if (!err)
        err = jerr ? jerr : werr ? werr : serr ? serr : weft_event_destroy(&gate);
    if (!err)
        err = atomic_load_explicit(&blocked_err, memory_order_relaxed); /* all joined */
    if (err)
        return err;
    if (blocked_kb < 0)
        return bench_wrong("blocked-mem", "could not read /proc/self/status");
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    bench_extra(r, "bytes_per_fiber=%.0f", (double)(blocked_kb - base_kb) * 1024.0 / (double)n);
    bench_extra(r, "peak_rss_kb=%ld", ru.ru_maxrss);
    long left_early = atomic_load_explicit(&early, memory_order_relaxed);
    if (left_early)
        return bench_wrong("blocked-mem", "%ld of %ld fibers left their wait before the set",
                           left_early, n);
    uint64_t want = (uint64_t)n * (uint64_t)(n + 1) / 2;
    if (sum != want)
        return bench_wrong("blocked-mem", "joined values sum to %llu, not %llu",
                           (unsigned long long)sum, (unsigned long long)want);
    return BENCH_OK;
}

static const char *check_n(long n)
{
    return n >= 1 && n <= 10000000 ? NULL : "1..10000000 fibers";
}

const struct bench bench_blocked_mem = {
    .name = "blocked-mem",
    .what = "n fibers blocked on one event at once: bytes_per_fiber (RSS), peak_rss_kb; "
            "ns per fiber (default 1M)",
    .default_n = 1000000,
    .default_reps = 3,
    .check_n = check_n,
    .ops = bench_ops_n,
    .run = run,
};
