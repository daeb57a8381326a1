/*
 * switch.cpp - Boost.Context's raw switch: two boost::context::fiber
 * resuming each other, no scheduler (weft: bench/switch.c, same shape).
 * Both fibers run the same loop; n switches; each increments a value that
 * the other side checks. The main context starts the first fiber and gets
 * control back when the count is spent.
 */
#include <boost/context/fiber.hpp>

#include "boost_peer.hpp"

namespace ctx = boost::context;

namespace
{

struct state {
    long left = 0;                    /* switches still to make */
    long bad = 0;                     /* values that came back wrong */
    volatile unsigned long value = 0; /* the value handed over */
    ctx::fiber main;                  /* where the run goes back to */
};

/* Both players: resume the other, which hands back its own continuation,
 * until the count is spent; then go back to main. */
ctx::fiber play(state &s, ctx::fiber &&other)
{
    for (;;) {
        if (s.left-- <= 0)
            return std::move(s.main);
        unsigned long v = s.value + 1;
        s.value = v;
        other = std::move(other).resume();
        s.bad += s.value != v + 1;
    }
}

std::string run(long n, int, peer::Clock &c)
{
    state s;
    s.left = n;
    ctx::fiber second{std::allocator_arg, ctx::fixedsize_stack(64 * 1024),
                      [&s](ctx::fiber &&first) { return play(s, std::move(first)); }};
    ctx::fiber first{std::allocator_arg, ctx::fixedsize_stack(64 * 1024),
                     [&s, &second](ctx::fiber &&main) {
                         s.main = std::move(main);
                         return play(s, std::move(second));
                     }};
    c.start();
    first = std::move(first).resume();
    c.stop();
    /* The player that was not running is still suspended: destroying it
     * unwinds its stack, untimed. */
    if (s.bad)
        return std::to_string(s.bad) + " switches came back with a wrong value";
    return "";
}

const char *check_n(long n)
{
    return n >= 2 ? nullptr : "need at least 2 switches";
}

double ops(long n)
{
    return (double)n;
}

const char what[] = "two boost::context::fiber resuming each other; ns per switch (default 10M)";

} // namespace

const peer::Bench boost_peer::switch_bench = {"switch", what, 10000000, true, check_n, ops, run};
