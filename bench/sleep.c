/*
 * sleep.c - a million sleepers: n fibers (default 1,000,000) each check in
 * on a waitgroup and block on one weft_event; once all have, the event is
 * set (the release) and each sleeps until the release time plus its own
 * delay, uniform in 0..100 ms in steps of 1 us (splitmix64 of a fixed seed
 * and the fiber's index: the Go peer draws the same delays), then notes
 * how late it woke (wake-up time - deadline).
 *
 * The time reported is from the release to the last wake-up: at best the
 * largest delay, about 100 ms; what it takes beyond that is the runtime's
 * cost of waking n fibers at n deadlines (and of the wake-ups crowding on
 * the CPUs). Extra fields: p50_late_us, p99_late_us and max_late_us over
 * the n fibers; bytes_per_fiber, (the run's peak RSS - the RSS before this
 * workload's first run in the process) / n, where the peak is VmHWM of
 * /proc/self/status, reset before each run by writing 5 to
 * /proc/self/clear_refs, so that it covers the whole run, timers and
 * wake-ups included; and peak_rss_kb, that peak. The baseline is taken once
 * per process, as blocked-mem does (see blocked_mem.c for why); the arrays
 * of handles and lateness are the benchmark's, touched before it.
 *
 * Checked: every fiber woke, none before its deadline, and the joined
 * values are 1..n. A one-shot figure: 3 timed runs by default. Peer: Go, n
 * goroutines blocked on the close of one channel, then time.Sleep until
 * their deadline, measured the same way.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "rss.h"
#include "weft.h"

enum { SEED = 20261123 };
#define MAX_DELAY_US 100000 /* 100 ms */
#define NOT_WOKEN    INT64_MIN

static weft_event gate;
static weft_waitgroup checked_in;
/* Set before the gate: weft_event_set() (release) publishes it to every
 * waiter it wakes (acquire in the wait). */
static int64_t release_at;

static _Atomic int sleep_err; /* the first weft error a fiber saw; 0 if none */

static weft_fiber *handles;
static int64_t *late; /* late[i]: fiber i's wake-up - its deadline, ns */
static long cap;
static long base_kb = -1; /* RSS before the first fiber of the first run */

/* Fiber @i's delay: uniform in 0..100 ms, 1 us steps (as the Go peer's). */
static int64_t delay_ns(long i)
{
    uint64_t x = (uint64_t)SEED + (uint64_t)i * 0x9e3779b97f4a7c15ull; /* splitmix64 */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    x ^= x >> 31;
    return (int64_t)(x % (MAX_DELAY_US + 1)) * 1000;
}

static void *sleeper(void *arg)
{
    long i = (long)(uintptr_t)arg - 1;
    int err = weft_waitgroup_done(&checked_in);
    if (err == 0)
        err = weft_event_wait(&gate);
    if (err == 0) {
        int64_t deadline = release_at + delay_ns(i);
        err = weft_sleep_until(deadline);
        if (err == 0)
            late[i] = weft_now() - deadline; /* read after the join */
    }
    if (err)
        bench_note_err(&sleep_err, err);
    return arg;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int run(struct bench_run *r)
{
    long n = r->n, spawned = 0;
    if (n > cap) {
        free(handles);
        free(late);
        handles = malloc((size_t)n * sizeof *handles);
        late = malloc((size_t)n * sizeof *late);
        if (!handles || !late) {
            cap = 0;
            return bench_wrong("sleep", "no memory for %ld handles", n);
        }
        memset(handles, 0, (size_t)n * sizeof *handles); /* resident before the baseline */
        cap = n;
    }
    for (long i = 0; i < n; i++)
        late[i] = NOT_WOKEN;
    if (base_kb < 0)
        base_kb = bench_rss_kb();
    atomic_store_explicit(&sleep_err, 0, memory_order_relaxed); /* no fiber runs yet */
    if (base_kb < 0 || !bench_reset_peak_rss())
        return bench_wrong("sleep", "cannot read the RSS or reset the peak "
                                    "(/proc/self/status, /proc/self/clear_refs)");
    int err = weft_event_init(&gate);
    if (err == 0)
        err = weft_waitgroup_init(&checked_in);
    if (err == 0)
        err = bench_spawn_checked_in(handles, n, sleeper, &checked_in, &spawned);
    int werr = weft_waitgroup_wait(&checked_in);
    bench_clock_start(r);
    release_at = weft_now();
    int serr = weft_event_set(&gate);
    uint64_t sum = 0;
    int jerr = bench_join_sum(handles, spawned, &sum);
    bench_clock_stop(r);

    if (!err)
        err = jerr ? jerr : werr ? werr : serr ? serr : weft_event_destroy(&gate);
    if (!err)
        err = atomic_load_explicit(&sleep_err, memory_order_relaxed); /* all joined */
    if (err)
        return err;
    long peak_kb = bench_peak_rss_kb();
    int64_t last = release_at;
    for (long i = 0; i < n; i++) {
        if (late[i] == NOT_WOKEN)
            return bench_wrong("sleep", "fiber %ld never noted its wake-up", i);
        if (late[i] < 0)
            return bench_wrong("sleep", "fiber %ld woke %" PRId64 " ns before its deadline", i,
                               -late[i]);
        if (release_at + delay_ns(i) + late[i] > last)
            last = release_at + delay_ns(i) + late[i];
    }
    /* The time is the release to the last wake-up, not to the last join. */
    r->t0 = release_at;
    r->t1 = last;
    uint64_t want = (uint64_t)n * (uint64_t)(n + 1) / 2;
    if (sum != want)
        return bench_wrong("sleep", "joined values sum to %llu, not %llu", (unsigned long long)sum,
                           (unsigned long long)want);
    qsort(late, (size_t)n, sizeof *late, cmp_i64);
    bench_extra(r, "p50_late_us=%.1f", (double)late[(n - 1) / 2] / 1e3);
    bench_extra(r, "p99_late_us=%.1f", (double)late[(n - 1) * 99 / 100] / 1e3);
    bench_extra(r, "max_late_us=%.1f", (double)late[n - 1] / 1e3);
    bench_extra(r, "bytes_per_fiber=%.0f", (double)(peak_kb - base_kb) * 1024.0 / (double)n);
    bench_extra(r, "peak_rss_kb=%ld", peak_kb);
    return BENCH_OK;
}

static const char *check_n(long n)
{
    return n >= 1 && n <= 10000000 ? NULL : "1..10000000 fibers";
}

const struct bench bench_sleep = {
    .name = "sleep",
    .what = "n fibers released at once, each sleeping a random 0-100 ms: time to the last "
            "wake-up, p50/p99/max lateness, bytes_per_fiber (peak RSS) (default 1M)",
    .default_n = 1000000,
    .default_reps = 3,
    .check_n = check_n,
    .ops = bench_ops_n,
    .run = run,
};
