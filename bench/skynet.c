/*
 * skynet.c - the skynet benchmark (github.com/atemerev/skynet): a tree of
 * fibers with n leaves, 10 children per node; each node spawns its children
 * and joins them, each leaf returns its ordinal, and the root's sum must be
 * n(n-1)/2. n is a power of 10; the tree has (10n-1)/9 fibers, the root
 * included (it is spawned inside the timed part, as in the original).
 * Peers: Go (goroutines + channels, the original), Boost.Fiber, TBB.
 */
#include <stdatomic.h>
#include <stdint.h>

#include "fork_join.h"
#include "harness.h"
#include "weft.h"

enum { FANOUT = 10 };

struct node {
    uint64_t num;  /* ordinal of the first leaf below this node */
    uint64_t size; /* leaves below this node */
};

/* The first weft error any fiber saw; 0 if none (bench_note_err()). */
static _Atomic int skynet_err;

static void *node(void *arg)
{
    const struct node *nd = arg;
    if (nd->size == 1)
        return (void *)(uintptr_t)nd->num;
    struct node kids[FANOUT]; /* on this stack: we outlive our children */
    weft_fiber f[FANOUT];
    int spawned = 0;
    uint64_t step = nd->size / FANOUT, sum = 0;
    for (; spawned < FANOUT; spawned++) {
        kids[spawned] = (struct node){.num = nd->num + (uint64_t)spawned * step, .size = step};
        int err = weft_spawn(&f[spawned], node, &kids[spawned], NULL);
        if (err) {
            bench_note_err(&skynet_err, err);
            break;
        }
    }
    bench_note_err(&skynet_err, bench_join_sum(f, spawned, &sum));
    return (void *)(uintptr_t)sum;
}

static int run(struct bench_run *r)
{
    struct node top = {.num = 0, .size = (uint64_t)r->n};
    void *v = NULL;
    int err = bench_time_root(r, node, &top, &v, &skynet_err);
    if (err)
        return err;
    uint64_t want = bench_skynet_sum((uint64_t)r->n);
    if ((uintptr_t)v != want)
        return bench_wrong("skynet", "sum %llu, not %llu", (unsigned long long)(uintptr_t)v,
                           (unsigned long long)want);
    return BENCH_OK;
}

const struct bench bench_skynet = {
    .name = "skynet",
    .what = "skynet: fiber tree, 10 children per node, n leaves; ns per fiber (default 1M)",
    .default_n = 1000000,
    .check_n = bench_skynet_check_n,
    .ops = bench_skynet_ops,
    .run = run,
};
