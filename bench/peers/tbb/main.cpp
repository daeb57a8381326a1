/*
 * main.cpp - weft-bench-tbb: the oneTBB peer of weft-bench, same command
 * line and output (impl=tbb), for the fork-join workloads (fib, skynet,
 * uts). TBB tasks are not fibers: a task has no stack of its own, and
 * task_group::wait() runs other tasks on the waiting thread's stack
 * instead of switching away, so this is the bar for fork-join without
 * context switches.
 */
#include "tbb_peer.hpp"

int main(int argc, char **argv)
{
    return peer::main(argc, argv, "tbb",
                      {tbb_peer::fib_bench, tbb_peer::skynet_bench, tbb_peer::uts_bench}, false);
}
