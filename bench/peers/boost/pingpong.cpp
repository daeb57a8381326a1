/*
 * pingpong.cpp - round trips over two boost::fibers::unbuffered_channel
 * between the main fiber and a ponger fiber on one thread (round_robin)
 * (weft: bench/pingpong.c). Every reply is checked; ns per round trip.
 * pingpong-x is not here: this harness has no fixed worker count but 1.
 */
#include <cstdint>

#include "boost_peer.hpp"

namespace
{

using chan = boost::fibers::unbuffered_channel<int64_t>;

std::string run(long n, int, peer::Clock &c)
{
    boost_peer::run_scope scope(1);
    if (!scope.error().empty())
        return scope.error();
    chan ping, pong;
    boost::fibers::fiber ponger{std::allocator_arg, boost_peer::stack(), [&ping, &pong] {
                                    int64_t v;
                                    while (ping.pop(v) == boost::fibers::channel_op_status::success)
                                        if (pong.push(v + 1) !=
                                            boost::fibers::channel_op_status::success)
                                            break;
                                }};
    long bad = 0, broken = 0;
    c.start();
    for (long i = 0; i < n; i++) {
        int64_t got = -1;
        if (ping.push(i) != boost::fibers::channel_op_status::success ||
            pong.pop(got) != boost::fibers::channel_op_status::success) {
            broken++;
            break;
        }
        bad += got != i + 1;
    }
    c.stop();
    ping.close();
    pong.close();
    ponger.join();
    if (broken)
        return "a channel operation failed";
    if (bad)
        return std::to_string(bad) + " of " + std::to_string(n) +
               " replies were not the value sent plus one";
    return "";
}

const char *check_n(long n)
{
    return n >= 1 ? nullptr : "need at least 1 round trip";
}

double ops(long n)
{
    return (double)n;
}

const char what[] =
    "round trips over two unbuffered_channels, one thread; ns per round trip (default 1M)";

} // namespace

const peer::Bench boost_peer::pingpong_bench = {"pingpong", what, 1000000, true, check_n, ops, run};
