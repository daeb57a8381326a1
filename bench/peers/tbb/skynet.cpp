/*
 * skynet.cpp - skynet with tbb::task_group: each node runs its 10 children
 * as tasks, waits, and sums their results (weft: bench/skynet.c). n a power
 * of 10; (10n-1)/9 tasks, the root included; ns per task.
 */
#include <cstdint>

#include "tbb_peer.hpp"

namespace
{

constexpr int fanout = 10;

uint64_t skynet(uint64_t num, uint64_t size)
{
    if (size == 1)
        return num;
    uint64_t res[fanout], step = size / fanout, sum = 0;
    tbb::task_group g;
    for (int i = 0; i < fanout; i++)
        g.run([&res, i, num, step] { res[i] = skynet(num + (uint64_t)i * step, step); });
    g.wait();
    for (int i = 0; i < fanout; i++)
        sum += res[i];
    return sum;
}

std::string run(long n, int workers, peer::Clock &c)
{
    uint64_t got = 0, un = (uint64_t)n;
    tbb_peer::in_arena(workers, [&] {
        c.start();
        tbb::task_group top;
        top.run([&got, un] { got = skynet(0, un); });
        top.wait();
        c.stop();
    });
    return peer::check_skynet(n, got);
}

const char what[] = "skynet with task_group (run 10, wait); ns per task (default 1M leaves)";

} // namespace

const peer::Bench tbb_peer::skynet_bench = {
    "skynet", what, 1000000, false, bench_skynet_check_n, bench_skynet_ops, run,
};
