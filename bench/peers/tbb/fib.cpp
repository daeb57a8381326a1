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

long fib_plain(long n)
{
    long a = 0, b = 1;
    for (long i = 0; i < n; i++) {
        long t = a + b;
        a = b;
        b = t;
    }
    return a;
}

std::string run(long n, int workers, peer::Clock &c)
{
    long got = 0;
    tbb_peer::in_arena(workers, [&] {
        c.start();
        got = fib(n);
        c.stop();
    });
    if (got != fib_plain(n))
        return "fib(" + std::to_string(n) + ") = " + std::to_string(got);
    return "";
}

const char *check_n(long n)
{
    return n >= 2 && n <= 45 ? nullptr : "2..45";
}

double ops(long n)
{
    return (double)(fib_plain(n + 1) - 1);
}

const char what[] = "fib(n), a task per call (task_group run + wait); ns per task (default 30)";

} // namespace

const peer::Bench tbb_peer::fib_bench = {"fib", what, 30, false, check_n, ops, run};
