/*
 * skynet_chan.c - skynet as the original Go program has it
 * (github.com/atemerev/skynet): each node makes an unbuffered channel,
 * spawns its 10 children, which each send their sum on it, receives the 10
 * sums and sends its own to its parent; a leaf sends its ordinal. The root
 * receives n(n-1)/2. n is a power of 10; (10n-1)/9 fibers, ns per fiber.
 *
 * Go reclaims a finished goroutine without being told; a weft fiber must be
 * joined or detached. Here each node joins its children after it has sent
 * its own sum (by then they have sent theirs and nearly always ended), and
 * frees its channel then. Detached children would need no join, but then
 * nothing would say when the last of them has finished exiting, and
 * weft_shutdown() counts a fiber that has not as a leak. bench/skynet.c is
 * the same tree with join alone, no channels.
 * Peers: Go (the original, the same code as its skynet workload).
 */
#include <stdatomic.h>
#include <stdint.h>

#include "fork_join.h"
#include "harness.h"
#include "weft.h"

enum { FANOUT = 10 };

struct node {
    weft_chan parent; /* where this node sends its sum */
    uint64_t num;     /* ordinal of the first leaf below this node */
    uint64_t size;    /* leaves below this node */
};

/* The first weft error any fiber saw; 0 if none. */
static _Atomic int skynet_chan_err;

static void note_err(int err)
{
    int none = 0;
    /* Relaxed: read once, after every fiber was joined. */
    atomic_compare_exchange_strong_explicit(&skynet_chan_err, &none, err, memory_order_relaxed,
                                            memory_order_relaxed);
}

static void *node(void *arg)
{
    const struct node *nd = arg; /* on the parent's stack: it joins us */
    uint64_t sum = 0;
    if (nd->size == 1) {
        sum = nd->num;
        int err = weft_chan_send(nd->parent, &sum);
        if (err)
            note_err(err);
        return NULL;
    }
    struct node kids[FANOUT];
    weft_fiber f[FANOUT];
    weft_chan rc;
    int spawned = 0, err = weft_chan_make(&rc, sizeof(uint64_t), 0);
    if (err) {
        note_err(err);
        weft_chan_close(nd->parent); /* our parent waits for our sum: fail it */
        return NULL;
    }
    uint64_t step = nd->size / FANOUT;
    for (; spawned < FANOUT; spawned++) {
        kids[spawned] =
            (struct node){.parent = rc, .num = nd->num + (uint64_t)spawned * step, .size = step};
        err = weft_spawn(&f[spawned], node, &kids[spawned], NULL);
        if (err) {
            note_err(err);
            break;
        }
    }
    for (int i = 0; i < spawned; i++) {
        uint64_t v = 0;
        err = weft_chan_recv(rc, &v);
        if (err) {
            note_err(err);
            weft_chan_close(rc); /* a child that has not sent yet gets -EPIPE */
            break;
        }
        sum += v;
    }
    err = weft_chan_send(nd->parent, &sum);
    if (err)
        note_err(err);
    for (int i = 0; i < spawned; i++) {
        err = weft_join(f[i], NULL);
        if (err)
            note_err(err);
    }
    err = weft_chan_free(rc);
    if (err)
        note_err(err);
    return NULL;
}

static int run(struct bench_run *r)
{
    struct node top = {.num = 0, .size = (uint64_t)r->n};
    weft_fiber f;
    uint64_t got = 0;
    atomic_store_explicit(&skynet_chan_err, 0, memory_order_relaxed); /* no fiber runs yet */

    bench_clock_start(r);
    int err = weft_chan_make(&top.parent, sizeof(uint64_t), 0);
    if (err) {
        bench_clock_stop(r);
        return err;
    }
    err = weft_spawn(&f, node, &top, NULL);
    int rerr = err ? err : weft_chan_recv(top.parent, &got);
    bench_clock_stop(r);

    if (err == 0)
        err = weft_join(f, NULL);
    int ferr = weft_chan_free(top.parent);
    int tree_err = atomic_load_explicit(&skynet_chan_err, memory_order_relaxed); /* all joined */
    if (err || rerr || tree_err || ferr)
        return err ? err : tree_err ? tree_err : rerr ? rerr : ferr;
    uint64_t want = bench_skynet_sum((uint64_t)r->n);
    if (got != want)
        return bench_wrong("skynet-chan", "sum %llu, not %llu", (unsigned long long)got,
                           (unsigned long long)want);
    return BENCH_OK;
}

const struct bench bench_skynet_chan = {
    .name = "skynet-chan",
    .what = "skynet, each node's sum sent to its parent over a channel (the Go original); "
            "ns per fiber (default 1M leaves)",
    .default_n = 1000000,
    .check_n = bench_skynet_check_n,
    .ops = bench_skynet_ops,
    .run = run,
};
