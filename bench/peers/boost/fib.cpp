/*
 * fib.cpp - fib(n), a boost::fibers::fiber per call: fib(k), k >= 2, makes
 * a fiber for fib(k-1), computes fib(k-2) itself and joins (weft:
 * bench/fib.c). F(n+1)-1 fibers; ns per fiber.
 */
#include "boost_peer.hpp"

namespace
{

long fib(long n)
{
    if (n < 2)
        return n;
    long x = 0;
    boost::fibers::fiber f{std::allocator_arg, boost_peer::stack(), [&x, n] { x = fib(n - 1); }};
    long y = fib(n - 2);
    f.join();
    return x + y;
}

std::string run(long n, int workers, peer::Clock &c)
{
    boost_peer::run_scope scope(workers);
    if (!scope.error().empty())
        return scope.error();
    c.start();
    long got = fib(n);
    c.stop();
    return peer::check_fib(n, got);
}

const char what[] = "fib(n), a boost fiber per call (fiber + join); ns per fiber (default 30)";

} // namespace

const peer::Bench boost_peer::fib_bench = {
    "fib", what, 30, false, bench_fib_check_n, bench_fib_ops, run,
};
