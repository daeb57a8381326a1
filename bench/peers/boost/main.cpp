/*
 * main.cpp - weft-bench-boost: the Boost.Context / Boost.Fiber peer of
 * weft-bench, same command line and output (impl=boost).
 *
 * Workers: 1 is the main thread with Boost.Fiber's default round_robin
 * scheduler. W > 1 is the main thread plus W-1 threads under
 * boost::fibers::algo::work_stealing, as in Boost's own work_stealing
 * example: each extra thread installs the algorithm and, during a run, parks
 * its main fiber on a fiber condition variable so that its dispatcher
 * steals. The algorithm is made with suspend=false, so a thread with nothing
 * to do spins (with true, an idle thread sleeps until a fiber is readied
 * from another thread and never steals work made locally). Between runs the
 * extra threads block on a plain condition variable instead, so that they
 * do not spin while another implementation is being timed. work_stealing
 * can be set up once per process, so the harness runs one process per worker
 * count, and the threads outlive the runs of that process.
 */
#include <condition_variable>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include <sys/mman.h>

#include "boost_peer.hpp"

namespace boost_peer
{

namespace
{
constexpr std::size_t slab_stacks = 64;
thread_local std::vector<void *> free_stacks;
} // namespace

boost::context::stack_context cached_stack::allocate()
{
    if (free_stacks.empty()) {
        void *slab = mmap(nullptr, size * slab_stacks, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (slab == MAP_FAILED)
            throw std::bad_alloc();
        for (std::size_t i = 0; i < slab_stacks; i++)
            free_stacks.push_back(static_cast<char *>(slab) + i * size);
    }
    boost::context::stack_context sctx;
    sctx.size = size;
    sctx.sp = static_cast<char *>(free_stacks.back()) + size;
    free_stacks.pop_back();
    return sctx;
}

void cached_stack::deallocate(boost::context::stack_context &sctx) noexcept
{
    /* To this thread's list, whichever thread allocated it: a stack is a
     * stack. push_back may allocate; out of memory here ends the process. */
    free_stacks.push_back(static_cast<char *>(sctx.sp) - sctx.size);
}

namespace
{
std::vector<std::thread> pool;
int pool_workers = 1;
std::mutex gate_mtx;
std::condition_variable gate_sleep;               /* blocks a thread between runs */
boost::fibers::condition_variable_any gate_steal; /* parks its main fiber during one */
bool gate_open = false, pool_done = false;

void pool_thread(int workers)
{
    boost::fibers::use_scheduling_algorithm<boost::fibers::algo::work_stealing>(
        (std::uint32_t)workers);
    std::unique_lock<std::mutex> lk(gate_mtx);
    for (;;) {
        gate_sleep.wait(lk, [] { return gate_open || pool_done; });
        if (pool_done)
            return;
        gate_steal.wait(lk, [] { return !gate_open || pool_done; });
    }
}
} // namespace

run_scope::run_scope(int workers)
{
    if (workers != pool_workers && pool_workers != 1) {
        error_ = "work_stealing was already set up for " + std::to_string(pool_workers) +
                 " workers in this process";
        return;
    }
    if (workers != pool_workers) {
        for (int i = 1; i < workers; i++)
            pool.emplace_back(pool_thread, workers);
        boost::fibers::use_scheduling_algorithm<boost::fibers::algo::work_stealing>(
            (std::uint32_t)workers);
        pool_workers = workers;
    }
    if (pool.empty())
        return;
    {
        std::lock_guard<std::mutex> lk(gate_mtx);
        gate_open = true;
    }
    gate_sleep.notify_all();
    opened_ = true;
}

run_scope::~run_scope()
{
    if (!opened_)
        return;
    {
        std::lock_guard<std::mutex> lk(gate_mtx);
        gate_open = false;
    }
    gate_steal.notify_all();
}

void stop_workers()
{
    {
        std::lock_guard<std::mutex> lk(gate_mtx);
        pool_done = true;
    }
    gate_sleep.notify_all();
    gate_steal.notify_all();
    for (std::thread &t : pool)
        t.join();
    pool.clear();
}

} // namespace boost_peer

int main(int argc, char **argv)
{
    using namespace boost_peer;
    return peer::main(argc, argv, "boost",
                      {switch_bench, yield_bench, spawn_bench, fib_bench, skynet_bench,
                       pingpong_bench, mutex_bench},
                      true, stop_workers);
}
