/*
 * pingpong.c - round trips over two unbuffered channels between two
 * fibers: the root sends i on `ping`, a ponger fiber receives it and sends
 * i+1 back on `pong`, and the root checks every reply. n round trips; ns per
 * round trip (two rendezvous, two hand-offs of a fiber).
 *
 * pingpong runs on one worker: the hand-off cost alone. pingpong-x runs the
 * same at exactly 2 workers, where the other worker may steal either fiber:
 * weft cannot pin a fiber to a worker (nor can Go pin a goroutine to a P),
 * so "across workers" means "with a second worker free to take one side",
 * and where the two sides end up running is the scheduler's choice.
 * Peers: Go (two unbuffered channels, GOMAXPROCS=1 and 2), Boost.Fiber
 * (unbuffered_channel, pingpong only).
 */
#include <errno.h>
#include <stdint.h>

#include "harness.h"
#include "weft.h"

struct pingpong {
    weft_chan ping, pong;
    int err; /* the ponger's; read after it was joined */
};

/* Answers each value with the value plus one until a channel is closed. */
static void *ponger(void *arg)
{
    struct pingpong *pp = arg;
    int64_t v;
    int err;
    while ((err = weft_chan_recv(pp->ping, &v)) == 0) {
        v++;
        err = weft_chan_send(pp->pong, &v);
        if (err)
            break;
    }
    pp->err = err == -EPIPE ? 0 : err; /* -EPIPE: closed, the normal end */
    return NULL;
}

static int run_pingpong(struct bench_run *r, const char *name)
{
    struct pingpong pp = {0};
    weft_fiber f;
    long bad = 0, trips = r->n;
    int err = weft_chan_make(&pp.ping, sizeof(int64_t), 0);
    if (err)
        return err;
    err = weft_chan_make(&pp.pong, sizeof(int64_t), 0);
    if (err) {
        weft_chan_free(pp.ping);
        return err;
    }
    err = weft_spawn(&f, ponger, &pp, NULL);
    if (err) {
        weft_chan_free(pp.ping);
        weft_chan_free(pp.pong);
        return err;
    }

    bench_clock_start(r);
    for (long i = 0; i < trips; i++) {
        int64_t v = i, got = -1;
        err = weft_chan_send(pp.ping, &v);
        if (err == 0)
            err = weft_chan_recv(pp.pong, &got);
        if (err)
            break;
        bad += got != v + 1;
    }
    bench_clock_stop(r);

    /* Closing both ends the ponger wherever it waits. */
    weft_chan_close(pp.ping);
    weft_chan_close(pp.pong);
    int jerr = weft_join(f, NULL);
    int ferr = weft_chan_free(pp.ping);
    if (ferr == 0)
        ferr = weft_chan_free(pp.pong);
    if (err || jerr || pp.err || ferr)
        return err ? err : jerr ? jerr : pp.err ? pp.err : ferr;
    if (bad)
        return bench_wrong(name, "%ld of %ld replies were not the value sent plus one", bad, trips);
    return BENCH_OK;
}

static int run_same(struct bench_run *r)
{
    return run_pingpong(r, "pingpong");
}

static int run_cross(struct bench_run *r)
{
    return run_pingpong(r, "pingpong-x");
}

static const char *check_n(long n)
{
    return n >= 1 ? NULL : "need at least 1 round trip";
}

static double ops(long n)
{
    return (double)n;
}

const struct bench bench_pingpong = {
    .name = "pingpong",
    .what = "round trips over two unbuffered channels, one worker; ns per round trip "
            "(default 1M)",
    .default_n = 1000000,
    .one_worker = true,
    .check_n = check_n,
    .ops = ops,
    .run = run_same,
};

const struct bench bench_pingpong_x = {
    .name = "pingpong-x",
    .what = "pingpong at exactly 2 workers (either side may be stolen); ns per round trip "
            "(default 500k)",
    .default_n = 500000,
    .fixed_workers = 2,
    .check_n = check_n,
    .ops = ops,
    .run = run_cross,
};
