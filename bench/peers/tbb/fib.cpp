/*
 * fib.cpp - fib(n) with tbb::task_group: fib(k), k >= 2, runs fib(k-1) as a
 * task, computes fib(k-2) itself and waits (weft: bench/fib.c). F(n+1)-1
 * tasks; ns per task.
 */
#include "tbb_peer.hpp"

namespace
{

long fib(long n)
{
    if (n < 2)
        return n;
    long x = 0;
    tbb::task_group g;
    g.run([&x, n] { x = fib(n - 1); });
    long y = fib(n - 2);
    g.wait();
    return x + y;
}

std::string run(long n, int workers, peer::Clock &c)
{
    long got = 0;
    tbb_peer::in_arena(workers, [&] {
        c.start();
        got = fib(n);
        c.stop();
    });
    return peer::check_fib(n, got);
}

const char what[] = "fib(n), a task per call (task_group run + wait); ns per task (default 30)";

} // namespace

const peer::Bench tbb_peer::fib_bench = {
    "fib", what, 30, false, bench_fib_check_n, bench_fib_ops, run,
};
