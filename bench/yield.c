/*
 * yield.c - two fibers on one worker, each calling weft_yield() n/2 times:
 * the cost of a yield through the scheduler (queue, pick, switch). Each
 * fiber counts the yields after which the other one had run, so a yield that
 * never switches fails the check instead of looking fast.
 * Peers: Go's runtime.Gosched() with GOMAXPROCS=1, boost::this_fiber::yield().
 */
#include <stdatomic.h>
#include <stdint.h>

#include "harness.h"
#include "weft.h"

struct yielder {
    long iters;
    int me;
    _Atomic int *last; /* which fiber ran last */
    long handoffs;     /* times the other fiber had run since our last turn */
};

static void *yielder(void *arg)
{
    struct yielder *y = arg;
    for (long i = 0; i < y->iters; i++) {
        /* Relaxed: both fibers share one worker; the atomic only keeps a
         * runtime bug that ran them on two threads from being a data race. */
        if (atomic_load_explicit(y->last, memory_order_relaxed) != y->me) {
            atomic_store_explicit(y->last, y->me, memory_order_relaxed);
            y->handoffs++;
        }
        weft_yield();
    }
    return NULL;
}

static int run(struct bench_run *r)
{
    _Atomic int last = -1;
    struct yielder y[2] = {
        {.iters = r->n / 2, .me = 0, .last = &last},
        {.iters = r->n / 2, .me = 1, .last = &last},
    };
    weft_fiber f[2];
    int err;

    bench_clock_start(r);
    err = weft_spawn(&f[0], yielder, &y[0], NULL);
    if (err)
        return err;
    err = weft_spawn(&f[1], yielder, &y[1], NULL);
    if (err) {
        weft_join(f[0], NULL);
        return err;
    }
    int err0 = weft_join(f[0], NULL);
    int err1 = weft_join(f[1], NULL);
    bench_clock_stop(r);

    if (err0 || err1)
        return err0 ? err0 : err1;
    long handoffs = y[0].handoffs + y[1].handoffs;
    /* Strict alternation gives n; a quarter of that still proves switching. */
    if (handoffs < r->n / 4)
        return bench_wrong("yield", "only %ld of %ld yields let the other fiber run", handoffs,
                           r->n / 2 * 2);
    return BENCH_OK;
}

static const char *check_n(long n)
{
    return n >= 8 ? NULL : "need at least 8 yields";
}

static double ops(long n)
{
    return (double)(n / 2 * 2);
}

const struct bench bench_yield = {
    .name = "yield",
    .what = "two fibers calling weft_yield on one worker; ns per yield (default 10M yields)",
    .default_n = 10000000,
    .one_worker = true,
    .check_n = check_n,
    .ops = ops,
    .run = run,
};
