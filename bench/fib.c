/*
 * fib.c - fib(n) the naive way, a fiber per call: fib(k) for k >= 2 spawns
 * a fiber for fib(k-1), computes fib(k-2) itself, then joins (Go's
 * `go fib(k-1)` and wait). Nearly all the time is spawn, steal and join, so
 * this is the work-stealing benchmark: F(n+1)-1 fibers, ns per fiber.
 * Peers: Go (go + WaitGroup), Boost.Fiber (fiber + join), TBB (task_group).
 */
#include <stdatomic.h>
#include <stdint.h>

#include "fork_join.h"
#include "harness.h"
#include "weft.h"

/* The first weft error any fiber saw; 0 if none. */
static _Atomic int fib_err;

static long fib(long n);

static void *fib_fiber(void *arg)
{
    return (void *)(intptr_t)fib((long)(intptr_t)arg);
}

static long fib(long n)
{
    if (n < 2)
        return n;
    weft_fiber f;
    int err = weft_spawn(&f, fib_fiber, (void *)(intptr_t)(n - 1), NULL);
    if (err) {
        int none = 0;
        /* Relaxed: read once, after every fiber was joined. */
        atomic_compare_exchange_strong_explicit(&fib_err, &none, err, memory_order_relaxed,
                                                memory_order_relaxed);
        return 0;
    }
    long y = fib(n - 2);
    void *x = NULL;
    err = weft_join(f, &x);
    if (err) {
        int none = 0;
        atomic_compare_exchange_strong_explicit(&fib_err, &none, err, memory_order_relaxed,
                                                memory_order_relaxed);
    }
    return (long)(intptr_t)x + y;
}

static int run(struct bench_run *r)
{
    atomic_store_explicit(&fib_err, 0, memory_order_relaxed); /* no fiber runs yet */
    bench_clock_start(r);
    long got = fib(r->n);
    bench_clock_stop(r);

    int err = atomic_load_explicit(&fib_err, memory_order_relaxed); /* all joined */
    if (err)
        return err;
    long want = bench_fib_plain(r->n);
    if (got != want)
        return bench_wrong("fib", "fib(%ld) = %ld, not %ld", r->n, got, want);
    return BENCH_OK;
}

const struct bench bench_fib = {
    .name = "fib",
    .what = "fib(n), a fiber per call (spawn fib(n-1), join); ns per fiber (default n=30)",
    .default_n = 30,
    .check_n = bench_fib_check_n,
    .ops = bench_fib_ops,
    .run = run,
};
