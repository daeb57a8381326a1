/*
 * skynet.cpp - skynet with boost::fibers::fiber: each node makes its 10
 * children, joins them and sums their results (weft: bench/skynet.c; the
 * same join-based shape, not Boost's channel variant). n a power of 10;
 * (10n-1)/9 fibers, the root included; ns per fiber.
 */
#include <cstdint>

#include "boost_peer.hpp"

namespace
{

constexpr int fanout = 10;

uint64_t skynet(uint64_t num, uint64_t size)
{
    if (size == 1)
        return num;
    uint64_t res[fanout], step = size / fanout, sum = 0;
    boost::fibers::fiber f[fanout];
    for (int i = 0; i < fanout; i++)
        f[i] = boost::fibers::fiber{std::allocator_arg, boost_peer::stack(), [&res, i, num, step] {
                                        res[i] = skynet(num + (uint64_t)i * step, step);
                                    }};
    for (int i = 0; i < fanout; i++) {
        f[i].join();
        sum += res[i];
    }
    return sum;
}

std::string run(long n, int workers, peer::Clock &c)
{
    boost_peer::run_scope scope(workers);
    if (!scope.error().empty())
        return scope.error();
    uint64_t got = 0, un = (uint64_t)n;
    c.start();
    boost::fibers::fiber top{std::allocator_arg, boost_peer::stack(),
                             [&got, un] { got = skynet(0, un); }};
    top.join();
    c.stop();
    return peer::check_skynet(n, got);
}

const char what[] =
    "skynet with boost fibers (spawn 10, join 10); ns per fiber (default 1M leaves)";

} // namespace

const peer::Bench boost_peer::skynet_bench = {
    "skynet", what, 1000000, false, bench_skynet_check_n, bench_skynet_ops, run,
};
