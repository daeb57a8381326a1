/*
 * chan.c - buffered-channel throughput: P producers and P consumers share
 * one channel of 128 int64_t elements; producer p sends the values p, p+P,
 * p+2P, ... below n, so 0..n-1 are sent once each. Consumers receive until
 * the channel is closed (after every producer was joined) and drained. Each
 * consumer counts what it got and sums the values and their squares (mod
 * 2^64), so a lost, doubled or corrupted element fails the check. chan1,
 * chan4 and chan16 are P = 1, 4 and 16; ns per element.
 * Peers: Go (make(chan int64, 128), the same producers and consumers).
 */
#include <errno.h>
#include <stdint.h>

#include "harness.h"
#include "weft.h"

enum { CHAN_CAP = 128, CHAN_P_MAX = 16 };

struct chan_side {
    weft_chan ch;
    long n;
    int p;     /* producers, and consumers */
    int index; /* a producer's first value */
    int err;   /* read after the fiber was joined */
    uint64_t count, sum, sumsq;
};

static void *producer(void *arg)
{
    struct chan_side *s = arg;
    for (int64_t v = s->index; v < s->n; v += s->p) {
        s->err = weft_chan_send(s->ch, &v);
        if (s->err)
            break;
    }
    return NULL;
}

static void *consumer(void *arg)
{
    struct chan_side *s = arg;
    uint64_t count = 0, sum = 0, sumsq = 0;
    int64_t v;
    int err;
    while ((err = weft_chan_recv(s->ch, &v)) == 0) {
        count++;
        sum += (uint64_t)v;
        sumsq += (uint64_t)v * (uint64_t)v;
    }
    s->err = err == -EPIPE ? 0 : err; /* -EPIPE: closed and drained, the end */
    s->count = count;
    s->sum = sum;
    s->sumsq = sumsq;
    return NULL;
}

static int run_chan(struct bench_run *r, int p, const char *name)
{
    struct chan_side prod[CHAN_P_MAX], cons[CHAN_P_MAX];
    weft_fiber pf[CHAN_P_MAX], cf[CHAN_P_MAX];
    weft_chan ch;
    int np = 0, nc = 0, err = weft_chan_make(&ch, sizeof(int64_t), CHAN_CAP);
    if (err)
        return err;
    for (int i = 0; i < p; i++) {
        prod[i] = (struct chan_side){.ch = ch, .n = r->n, .p = p, .index = i};
        cons[i] = prod[i];
    }

    bench_clock_start(r);
    for (; nc < p && err == 0; nc++)
        err = weft_spawn(&cf[nc], consumer, &cons[nc], NULL);
    if (err)
        nc--;
    for (; np < p && err == 0; np++)
        err = weft_spawn(&pf[np], producer, &prod[np], NULL);
    if (err)
        np--;
    for (int i = 0; i < np; i++) {
        int jerr = weft_join(pf[i], NULL);
        if (!err)
            err = jerr ? jerr : prod[i].err;
    }
    /* Every value is in the channel or taken: let the consumers drain it. */
    int cerr = weft_chan_close(ch);
    if (!err)
        err = cerr;
    uint64_t count = 0, sum = 0, sumsq = 0;
    for (int i = 0; i < nc; i++) {
        int jerr = weft_join(cf[i], NULL);
        if (!err)
            err = jerr ? jerr : cons[i].err;
        count += cons[i].count;
        sum += cons[i].sum;
        sumsq += cons[i].sumsq;
    }
    bench_clock_stop(r);

    int ferr = weft_chan_free(ch);
    if (err || ferr)
        return err ? err : ferr;
    uint64_t want_sum = 0, want_sumsq = 0;
    for (uint64_t v = 0; v < (uint64_t)r->n; v++) {
        want_sum += v;
        want_sumsq += v * v;
    }
    if (count != (uint64_t)r->n || sum != want_sum || sumsq != want_sumsq)
        return bench_wrong(name,
                           "received %llu elements of %ld, sum %llu (want %llu), sum of "
                           "squares %llu (want %llu)",
                           (unsigned long long)count, r->n, (unsigned long long)sum,
                           (unsigned long long)want_sum, (unsigned long long)sumsq,
                           (unsigned long long)want_sumsq);
    return BENCH_OK;
}

static int run1(struct bench_run *r)
{
    return run_chan(r, 1, "chan1");
}

static int run4(struct bench_run *r)
{
    return run_chan(r, 4, "chan4");
}

static int run16(struct bench_run *r)
{
    return run_chan(r, 16, "chan16");
}

static const char *check_n(long n)
{
    return n >= 1 && n <= 1000000000 ? NULL : "1..10^9 elements";
}

static double ops(long n)
{
    return (double)n;
}

const struct bench bench_chan1 = {
    .name = "chan1",
    .what = "buffered channel (128 x int64), 1 producer, 1 consumer; ns per element "
            "(default 5M)",
    .default_n = 5000000,
    .check_n = check_n,
    .ops = ops,
    .run = run1,
};

const struct bench bench_chan4 = {
    .name = "chan4",
    .what = "buffered channel (128 x int64), 4 producers, 4 consumers; ns per element "
            "(default 5M)",
    .default_n = 5000000,
    .check_n = check_n,
    .ops = ops,
    .run = run4,
};

const struct bench bench_chan16 = {
    .name = "chan16",
    .what = "buffered channel (128 x int64), 16 producers, 16 consumers; ns per element "
            "(default 5M)",
    .default_n = 5000000,
    .check_n = check_n,
    .ops = ops,
    .run = run16,
};
