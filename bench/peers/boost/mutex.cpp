/*
 * mutex.cpp - one boost::fibers::mutex, one shared counter, 4 fibers per
 * thread sharing n increments as evenly as they go (weft: bench/mutex.c).
 * The counter must end at n; ns per lock+increment+unlock. At W > 1 the
 * fibers are started on the main thread and work_stealing spreads them.
 */
#include <vector>

#include "boost_peer.hpp"

namespace
{

constexpr int fibers_per_worker = 4;

std::string run(long n, int workers, peer::Clock &c)
{
    boost_peer::run_scope scope(workers);
    if (!scope.error().empty())
        return scope.error();
    boost::fibers::mutex m;
    long count = 0; /* under m */
    long nf = fibers_per_worker * workers;
    std::vector<boost::fibers::fiber> f;
    f.reserve((size_t)nf);
    c.start();
    for (long i = 0; i < nf; i++) {
        long iters = n / nf + (i < n % nf);
        f.emplace_back(std::allocator_arg, boost_peer::stack(), [&m, &count, iters] {
            for (long j = 0; j < iters; j++) {
                m.lock();
                count++;
                m.unlock();
            }
        });
    }
    for (boost::fibers::fiber &x : f)
        x.join();
    c.stop();
    if (count != n)
        return "the counter ended at " + std::to_string(count) + ", not " + std::to_string(n);
    return "";
}

const char *check_n(long n)
{
    return n >= 1 ? nullptr : "need at least 1 increment";
}

double ops(long n)
{
    return (double)n;
}

const char what[] = "4 fibers per thread incrementing one counter under one "
                    "boost::fibers::mutex; ns per lock+inc+unlock (default 10M)";

} // namespace

const peer::Bench boost_peer::mutex_bench = {"mutex", what, 10000000, false, check_n, ops, run};
