/*
 * uts.h - the tree of the uts workload (Unbalanced Tree Search, Olivier et
 * al., LCPC 2006): its shape, its size and the sizes uts accepts.
 * Header-only C that also compiles as C++, so that weft-bench (uts.c) and
 * the oneTBB peer (peers/tbb/uts.cpp) walk the same tree; the Go peer has
 * its own copy (peers/go/uts.go): change them together.
 *
 * The tree is UTS's T1 kind, a geometric tree with a fixed shape: every
 * node above the depth limit has a geometrically distributed number of
 * children with mean b0 = 4, P(k or more children) = (4/5)^k (capped at
 * UTS's 100), and a node at the depth limit has none: UTS's T1 is
 * "-t 1 -a 3 -d 10 -b 4 -r 19". T1 proper draws with SHA-1 and has
 * 4,130,071 nodes; this generator with T1's seed 19 gives a tree of
 * 1,849,910, so the root seed here is 310, the first seed whose tree is
 * within 0.5% of T1's size: 4,146,630 nodes, 80.00% of them leaves (T1:
 * 80.03%), depth 10. The root has 13 children whose subtrees hold from 1
 * to 1,478,848 nodes: an irregular load that only stealing balances.
 *
 * The random numbers are SplitMix64's (Steele, Lea and Flood, OOPSLA 2014),
 * used as a splittable generator, not SHA-1: a node's state s seeds the
 * stream x_k = mix(s + k * GAMMA), k = 1, 2, ...; x_1 draws the node's
 * child count and x_{i+2} is child i's state (i = 0, 1, ...). The root's
 * state is mix(seed). Everything is integer arithmetic on uint64_t, so C,
 * C++ and Go agree bit for bit. The child count is the inverse CDF taken
 * in integers: with t_0 = 2^64 - 1 and t_k = t_{k-1} - t_{k-1} / 5, a node
 * has the largest k with x_1 < t_k (t_k / 2^64 is (4/5)^k, to within
 * k * 2^-64).
 *
 * weft-bench's n for uts is the depth limit; the seed is fixed.
 */
#ifndef WEFT_BENCH_UTS_H
#define WEFT_BENCH_UTS_H

#include <stddef.h>
#include <stdint.h>

enum {
    BENCH_UTS_SEED = 310,         /* gives a tree of T1's size (see above) */
    BENCH_UTS_DEPTH = 10,         /* T1's depth limit: the default n */
    BENCH_UTS_DEPTH_MAX = 12,     /* 66,374,958 nodes (11: 16,590,667) */
    BENCH_UTS_MAX_CHILDREN = 100, /* UTS's MAXNUMCHILDREN */
};

#define BENCH_UTS_GAMMA 0x9e3779b97f4a7c15ull /* SplitMix64's increment */

/* SplitMix64's output function (its "mix64" finaliser). */
static inline uint64_t bench_uts_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The root's state. */
static inline uint64_t bench_uts_root(void)
{
    return bench_uts_mix(BENCH_UTS_SEED);
}

/* The state of child @i (0-based) of the node whose state is @state. */
static inline uint64_t bench_uts_child(uint64_t state, int i)
{
    return bench_uts_mix(state + (uint64_t)(i + 2) * BENCH_UTS_GAMMA);
}

/* How many children the node with @state at @depth has, under depth limit
 * @limit: 0..BENCH_UTS_MAX_CHILDREN, geometric with mean 4 above the limit. */
static inline int bench_uts_children(uint64_t state, int depth, int limit)
{
    if (depth >= limit)
        return 0;
    uint64_t x = bench_uts_mix(state + BENCH_UTS_GAMMA), t = UINT64_MAX;
    int k = 0;
    for (;;) {
        t -= t / 5; /* t_{k+1} */
        if (x >= t || k == BENCH_UTS_MAX_CHILDREN)
            return k;
        k++;
    }
}

/* Nodes in the subtree of the node with @state at @depth, counted plainly. */
static inline uint64_t bench_uts_count_from(uint64_t state, int depth, int limit)
{
    int k = bench_uts_children(state, depth, limit);
    uint64_t nodes = 1;
    for (int i = 0; i < k; i++)
        nodes += bench_uts_count_from(bench_uts_child(state, i), depth + 1, limit);
    return nodes;
}

/* Nodes in the whole tree with depth limit @limit: the answer uts must
 * give. Counted once per limit and remembered, unlocked: calls must not
 * overlap (the harness makes them one at a time, between runs). */
static inline uint64_t bench_uts_size(long limit)
{
    static long cached_limit = -1;
    static uint64_t cached_nodes;
    if (limit != cached_limit) {
        cached_nodes = bench_uts_count_from(bench_uts_root(), 0, (int)limit);
        cached_limit = limit;
    }
    return cached_nodes;
}

/* NULL if uts can run with depth limit @n, else why not. */
static inline const char *bench_uts_check_n(long n)
{
    return n >= 1 && n <= BENCH_UTS_DEPTH_MAX ? NULL : "a depth limit of 1..12";
}

/* A fiber (or task, or goroutine) per node. */
static inline double bench_uts_ops(long n)
{
    return (double)bench_uts_size(n);
}

#endif /* WEFT_BENCH_UTS_H */
