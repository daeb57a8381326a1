/*
 * uts.cpp - Unbalanced Tree Search with tbb::task_group over the tree of
 * bench/lib/uts.h (weft: bench/uts.c): each node runs a task per child,
 * waits, and sums their subtree sizes. n is the depth limit (default 10:
 * 4,146,630 nodes); ns per task, a task per node, the root included.
 */
#include <cstdint>
#include <string>

#include "../../lib/uts.h"
#include "tbb_peer.hpp"

namespace
{

int limit;

uint64_t node(uint64_t state, int depth)
{
    int k = bench_uts_children(state, depth, limit);
    if (k == 0)
        return 1;
    uint64_t res[BENCH_UTS_MAX_CHILDREN], nodes = 1;
    tbb::task_group g;
    for (int i = 0; i < k; i++)
        g.run([&res, i, state, depth] { res[i] = node(bench_uts_child(state, i), depth + 1); });
    g.wait();
    for (int i = 0; i < k; i++)
        nodes += res[i];
    return nodes;
}

std::string run(long n, int workers, peer::Clock &c)
{
    uint64_t want = bench_uts_size(n), got = 0; /* counted once per n, untimed */
    limit = (int)n;
    tbb_peer::in_arena(workers, [&] {
        c.start();
        tbb::task_group top;
        top.run([&got] { got = node(bench_uts_root(), 0); });
        top.wait();
        c.stop();
    });
    c.add_extra("nodes", std::to_string(got));
    if (got == want)
        return "";
    return "counted " + std::to_string(got) + " nodes, not " + std::to_string(want);
}

const char what[] = "unbalanced tree search (T1-style, b0=4, seed 310) with task_group; n is the "
                    "depth limit; ns per task (default 10: 4.1M nodes)";

} // namespace

const peer::Bench tbb_peer::uts_bench = {
    "uts", what, BENCH_UTS_DEPTH, false, bench_uts_check_n, bench_uts_ops, run,
};
