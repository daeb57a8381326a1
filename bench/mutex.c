/*
 * mutex.c - one weft_mutex, one shared counter, 4 fibers per worker: the
 * fibers share n increments out as evenly as they go (n/F each, the first
 * n%F one more), each a lock, an increment of a plain counter and an
 * unlock. The counter must end at n. On one worker fibers are never
 * preempted, so they rarely contend; at 2 and more the workers fight over
 * the lock, and spinning, parking and hand-off are what is timed. ns per
 * lock+increment+unlock.
 * Peers: Go (sync.Mutex, 4*GOMAXPROCS goroutines), Boost.Fiber
 * (boost::fibers::mutex, 4 fibers per thread).
 */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "weft.h"

enum { FIBERS_PER_WORKER = 4 };

struct counter {
    weft_mutex m;
    long count; /* under m */
};

struct incrementer {
    struct counter *c;
    long iters;
    int err; /* read after the fiber was joined */
};

static void *incrementer(void *arg)
{
    struct incrementer *in = arg;
    struct counter *c = in->c;
    for (long i = 0; i < in->iters; i++) {
        int err = weft_mutex_lock(&c->m);
        if (err) {
            in->err = err;
            break;
        }
        c->count++;
        err = weft_mutex_unlock(&c->m);
        if (err) {
            in->err = err;
            break;
        }
    }
    return NULL;
}

static int run(struct bench_run *r)
{
    struct counter c = {.m = WEFT_MUTEX_INIT, .count = 0};
    int nf = FIBERS_PER_WORKER * r->workers, spawned = 0, err = 0;
    struct incrementer *in = calloc((size_t)nf, sizeof *in);
    weft_fiber *f = calloc((size_t)nf, sizeof *f);
    if (!in || !f) {
        free(in);
        free(f);
        return bench_wrong("mutex", "out of memory for %d fibers", nf);
    }
    for (int i = 0; i < nf; i++)
        in[i] = (struct incrementer){.c = &c, .iters = r->n / nf + (i < r->n % nf)};

    bench_clock_start(r);
    for (; spawned < nf; spawned++) {
        err = weft_spawn(&f[spawned], incrementer, &in[spawned], NULL);
        if (err)
            break;
    }
    for (int i = 0; i < spawned; i++) {
        int jerr = weft_join(f[i], NULL);
        if (!err)
            err = jerr ? jerr : in[i].err;
    }
    bench_clock_stop(r);

    free(in);
    free(f);
    int derr = weft_mutex_destroy(&c.m); /* -EBUSY if left locked */
    if (err || derr)
        return err ? err : derr;
    if (c.count != r->n)
        return bench_wrong("mutex", "the counter ended at %ld, not %ld", c.count, r->n);
    return BENCH_OK;
}

static const char *check_n(long n)
{
    return n >= 1 ? NULL : "need at least 1 increment";
}

static double ops(long n)
{
    return (double)n;
}

const struct bench bench_mutex = {
    .name = "mutex",
    .what = "4 fibers per worker incrementing one counter under one weft_mutex; ns per "
            "lock+inc+unlock (default 10M)",
    .default_n = 10000000,
    .check_n = check_n,
    .ops = ops,
    .run = run,
};
