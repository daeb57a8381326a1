/*
 * uts.c - Unbalanced Tree Search, the irregular fork-join workload: the
 * T1-style geometric tree of lib/uts.h (b0 = 4 expected children per node,
 * root seed 310, n the depth limit: 4,146,630 nodes at the default 10),
 * walked with a fiber per node. Each node draws its child count, spawns a
 * fiber per child (help-first, as weft spawns), joins them and returns the
 * size of its subtree; the root's answer must be the node count computed
 * once, plainly, by bench_uts_size(), and is printed as nodes=. Unlike fib
 * and skynet the subtrees differ wildly in size, so only stealing keeps
 * the workers busy. Peers: Go (goroutines + WaitGroup), TBB (task_group).
 */
#include <stdatomic.h>
#include <stdint.h>

#include "harness.h"
#include "uts.h"
#include "weft.h"

struct node {
    uint64_t state;
    int depth;
};

/* The depth limit of the current run: written before the root fiber is
 * spawned, which publishes it to every fiber of the run. */
static int uts_limit;

/* The first weft error any fiber saw; 0 if none (bench_note_err()). */
static _Atomic int uts_err;

static void *node(void *arg)
{
    const struct node *nd = arg;
    int k = bench_uts_children(nd->state, nd->depth, uts_limit);
    if (k == 0)
        return (void *)(uintptr_t)1;
    struct node kids[BENCH_UTS_MAX_CHILDREN]; /* on this stack: we outlive our children */
    weft_fiber f[BENCH_UTS_MAX_CHILDREN];
    int spawned = 0;
    uint64_t nodes = 1;
    for (; spawned < k; spawned++) {
        kids[spawned] = (struct node){bench_uts_child(nd->state, spawned), nd->depth + 1};
        int err = weft_spawn(&f[spawned], node, &kids[spawned], NULL);
        if (err) {
            bench_note_err(&uts_err, err);
            break;
        }
    }
    bench_note_err(&uts_err, bench_join_sum(f, spawned, &nodes));
    return (void *)(uintptr_t)nodes;
}

static int run(struct bench_run *r)
{
    uint64_t want = bench_uts_size(r->n); /* counted once per n, untimed */
    struct node top = {bench_uts_root(), 0};
    void *v = NULL;
    uts_limit = (int)r->n;
    int err = bench_time_root(r, node, &top, &v, &uts_err);
    if (err)
        return err;
    bench_extra(r, "nodes=%llu", (unsigned long long)(uintptr_t)v);
    if ((uintptr_t)v != want)
        return bench_wrong("uts", "counted %llu nodes, not %llu", (unsigned long long)(uintptr_t)v,
                           (unsigned long long)want);
    return BENCH_OK;
}

const struct bench bench_uts = {
    .name = "uts",
    .what = "unbalanced tree search (T1-style, b0=4, seed 310), a fiber per node; n is the "
            "depth limit; ns per fiber (default 10: 4.1M nodes)",
    .default_n = BENCH_UTS_DEPTH,
    .check_n = bench_uts_check_n,
    .ops = bench_uts_ops,
    .run = run,
    .default_reps = 3, /* Go's peer takes 5-15 s a run here: keep the suite minutes long */
};
