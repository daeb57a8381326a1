/*
 * spawn.cpp - n boost::fibers::fiber started from the main fiber, all
 * outstanding, then joined (weft: bench/spawn.c). Each stores its ordinal;
 * their sum is checked. Boost allocates each fiber's stack (16 KiB) when the
 * fiber is made, so n outstanding fibers hold n stacks.
 */
#include <vector>

#include "boost_peer.hpp"

namespace
{

std::string run(long n, int workers, peer::Clock &c)
{
    boost_peer::run_scope scope(workers);
    if (!scope.error().empty())
        return scope.error();
    std::vector<long> res((size_t)n);
    std::vector<boost::fibers::fiber> f;
    f.reserve((size_t)n);
    c.start();
    for (long i = 0; i < n; i++)
        f.emplace_back(std::allocator_arg, boost_peer::stack(), [&res, i] { res[(size_t)i] = i; });
    for (boost::fibers::fiber &x : f)
        x.join();
    c.stop();
    long sum = 0;
    for (long v : res)
        sum += v;
    if (sum != n * (n - 1) / 2)
        return "ordinals do not add up";
    return "";
}

const char *check_n(long n)
{
    return n >= 1 && n <= 100000000 ? nullptr : "1..100000000 fibers";
}

double ops(long n)
{
    return (double)n;
}

const char what[] = "n boost fibers, all outstanding, then join; ns per fiber (default 1M)";

} // namespace

const peer::Bench boost_peer::spawn_bench = {"spawn", what, 1000000, false, check_n, ops, run};
