/*
 * yield.cpp - two boost::fibers::fiber on one thread (round_robin), each
 * calling boost::this_fiber::yield() n/2 times (weft: bench/yield.c). Each
 * counts the yields after which the other had run.
 */
#include "boost_peer.hpp"

namespace
{

std::string run(long n, int, peer::Clock &c)
{
    boost_peer::run_scope scope(1);
    if (!scope.error().empty())
        return scope.error();
    int last = -1; /* plain: both fibers run on this thread */
    long handoffs[2] = {0, 0};
    auto yielder = [&](int me) {
        for (long i = 0; i < n / 2; i++) {
            if (last != me) {
                last = me;
                handoffs[me]++;
            }
            boost::this_fiber::yield();
        }
    };
    c.start();
    boost::fibers::fiber a{std::allocator_arg, boost_peer::stack(), yielder, 0};
    boost::fibers::fiber b{std::allocator_arg, boost_peer::stack(), yielder, 1};
    a.join();
    b.join();
    c.stop();
    if (handoffs[0] + handoffs[1] < n / 4)
        return "yields did not let the other fiber run";
    return "";
}

const char *check_n(long n)
{
    return n >= 8 ? nullptr : "need at least 8 yields";
}

double ops(long n)
{
    return (double)(n / 2 * 2);
}

const char what[] =
    "two fibers calling boost::this_fiber::yield, one thread; ns per yield (default 10M)";

} // namespace

const peer::Bench boost_peer::yield_bench = {"yield", what, 10000000, true, check_n, ops, run};
