/*
 * switch.cpp - Boost.Context's raw switch: boost::context::fiber resume
 * ping-pong between the main context and one fiber, no scheduler (weft:
 * bench/switch.c). n switches are n/2 round trips; each increments a value
 * the other side checks.
 */
#include <boost/context/fiber.hpp>

#include "boost_peer.hpp"

namespace ctx = boost::context;

namespace
{

std::string run(long n, int, peer::Clock &c)
{
    long trips = n / 2, bad = 0;
    volatile unsigned long value = 0; /* the value handed over, both ways */
    ctx::fiber pong{std::allocator_arg, ctx::fixedsize_stack(64 * 1024),
                    [&value](ctx::fiber &&back) {
                        for (;;) {
                            value = value + 1;
                            back = std::move(back).resume();
                        }
                        return std::move(back);
                    }};
    c.start();
    for (long i = 0; i < trips; i++) {
        value = (unsigned long)i;
        pong = std::move(pong).resume();
        bad += value != (unsigned long)i + 1;
    }
    c.stop();
    /* Destroying the suspended pong unwinds its stack, untimed. */
    if (bad)
        return std::to_string(bad) + " round trips came back with a wrong value";
    return "";
}

const char *check_n(long n)
{
    return n >= 2 ? nullptr : "need at least 2 switches";
}

double ops(long n)
{
    return (double)(n / 2 * 2);
}

const char what[] = "boost::context::fiber resume ping-pong; ns per switch (default 10M)";

} // namespace

const peer::Bench boost_peer::switch_bench = {"switch", what, 10000000, true, check_n, ops, run};
