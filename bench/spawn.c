/*
 * spawn.c - spawn n empty fibers from the root fiber, all outstanding at
 * once, then join them all: the cost of a fiber's whole life (handle, queue,
 * stack bind, run, exit, join). Each fiber returns its ordinal; the sum of
 * the joined values is the answer checked.
 * Peers: Go's go f() + WaitGroup, boost::fibers::fiber + join.
 */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "weft.h"

static void *empty(void *arg)
{
    return arg;
}

static int run(struct bench_run *r)
{
    long n = r->n, spawned = 0;
    uint64_t sum = 0;
    int err = 0;
    weft_fiber *f = malloc((size_t)n * sizeof *f);
    if (!f)
        return bench_wrong("spawn", "out of memory for %ld handles", n);

    bench_clock_start(r);
    for (; spawned < n; spawned++) {
        err = weft_spawn(&f[spawned], empty, (void *)(uintptr_t)spawned, NULL);
        if (err)
            break;
    }
    for (long i = 0; i < spawned; i++) {
        void *v = NULL;
        int jerr = weft_join(f[i], &v);
        if (jerr && !err)
            err = jerr;
        sum += (uintptr_t)v;
    }
    bench_clock_stop(r);

    free(f);
    if (err)
        return err;
    uint64_t want = (uint64_t)n * (uint64_t)(n - 1) / 2;
    if (sum != want)
        return bench_wrong("spawn", "joined values sum to %llu, not %llu", (unsigned long long)sum,
                           (unsigned long long)want);
    return BENCH_OK;
}

static const char *check_n(long n)
{
    return n >= 1 && n <= 100000000 ? NULL : "1..100000000 fibers";
}

static double ops(long n)
{
    return (double)n;
}

const struct bench bench_spawn = {
    .name = "spawn",
    .what = "spawn n empty fibers, then join them all; ns per fiber (default 1M)",
    .default_n = 1000000,
    .check_n = check_n,
    .ops = ops,
    .run = run,
};
