/*
 * tbb_peer.hpp - what the TBB workloads share: running a run's work in a
 * fresh task_arena on @workers threads. One workload per file, as in bench/.
 */
#ifndef WEFT_BENCH_TBB_PEER_HPP
#define WEFT_BENCH_TBB_PEER_HPP

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include "../peer.hpp"

namespace tbb_peer
{

/* Runs @work on @workers threads (the caller and workers-1 of TBB's), with
 * TBB's parallelism capped to match, in an arena made for this run. */
template <typename F> void in_arena(int workers, F &&work)
{
    tbb::global_control cap(tbb::global_control::max_allowed_parallelism, (std::size_t)workers);
    tbb::task_arena arena(workers);
    arena.initialize();
    arena.execute(work);
}

extern const peer::Bench fib_bench, skynet_bench, uts_bench;

} // namespace tbb_peer

#endif /* WEFT_BENCH_TBB_PEER_HPP */
