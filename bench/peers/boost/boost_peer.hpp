/*
 * boost_peer.hpp - what the Boost workloads share: the worker set-up and the
 * fiber stack allocator. One workload per file, as in bench/.
 */
#ifndef WEFT_BENCH_BOOST_PEER_HPP
#define WEFT_BENCH_BOOST_PEER_HPP

#include <string>

#include <boost/fiber/all.hpp>

#include "../peer.hpp"

namespace boost_peer
{

/*
 * Fiber stacks: 16 KiB (WEFT_STACK_MIN), cut from 1 MiB mmap'd slabs and
 * kept on a per-thread free list for the life of the process, never given
 * back. Boost binds a stack when a fiber is made, not when it first runs, so
 * a million outstanding fibers hold a million stacks. Its default allocator
 * (fixedsize_stack: 128 KiB from malloc) does not fit that, and smaller
 * malloc'd stacks spend most of the time in page faults, because glibc hands
 * the freed heap back to the kernel after every run; this cache is Boost at
 * its best (as pooled_fixedsize_stack, which is not thread-safe). The warm-up
 * run fills it, so timed runs fault no stack pages.
 */
class cached_stack
{
  public:
    static constexpr std::size_t size = 16 * 1024;
    boost::context::stack_context allocate();
    void deallocate(boost::context::stack_context &sctx) noexcept;
};

inline cached_stack stack()
{
    return cached_stack();
}

/*
 * Runs this process's fibers on @workers threads for one run, from its
 * construction to its destruction (after the run's fibers are joined): the
 * main thread's round_robin for 1; else the main thread and workers-1 more
 * under work_stealing, made on first use (work_stealing keeps its thread
 * count in statics: one count per process). Between runs the extra threads
 * sleep instead of spinning. error() is "" or why the run cannot go on.
 */
class run_scope
{
  public:
    explicit run_scope(int workers);
    ~run_scope();
    run_scope(const run_scope &) = delete;
    run_scope &operator=(const run_scope &) = delete;
    const std::string &error() const
    {
        return error_;
    }

  private:
    std::string error_;
    bool opened_ = false;
};

/* Stops the work_stealing threads, if any. */
void stop_workers();

extern const peer::Bench switch_bench, yield_bench, spawn_bench, fib_bench, skynet_bench,
    pingpong_bench, mutex_bench;

} // namespace boost_peer

#endif /* WEFT_BENCH_BOOST_PEER_HPP */
