/*
 * switch.c - the raw context switch: wt_context_switch() between two fiber
 * contexts, no runtime, no queue. Both fibers run the same loop, so each
 * switch leaves one fiber at the call site where the other was suspended:
 * the runtime's own pattern (every switch in weft but a dying fiber's last
 * goes through the one call in scheduler.c's switch_to()). n switches;
 * each carries a counter that the resumed side increments, which is the
 * answer checked.
 * Peer: Boost.Context's fiber, two fibers resuming each other the same way.
 *
 * (Before session 3 this benchmark switched between the main thread and one
 * fiber, from two different call sites; weft's switch ends with ret, which
 * the return stack buffer mispredicts in that pattern and predicts in this
 * one. See arch/x86_64/switch.S for why weft keeps ret.)
 */
#include <stdint.h>
#include <stdlib.h>

#include "context.h"
#include "harness.h"

enum { PLAYER_STACK = 64 * 1024 };

static struct wt_context main_ctx, player_ctx[2];
static long switches_left; /* switches still to make, across both players */
static long bad;           /* values that came back wrong */

/* Player i: hand the other player the value it was given plus one, until
 * the count is spent, then go back to main. Both run this one loop. */
static void player(void *arg)
{
    uintptr_t v = (uintptr_t)arg;
    int self = (int)(v & 1); /* player 0 starts with an even value */
    for (;;) {
        if (switches_left-- <= 0)
            v = (uintptr_t)wt_context_switch(&player_ctx[self], &main_ctx, (void *)v);
        uintptr_t got =
            (uintptr_t)wt_context_switch(&player_ctx[self], &player_ctx[!self], (void *)(v + 1));
        bad += got != v + 2;
        v = got;
    }
}

static int run(struct bench_run *r)
{
    void *stack[2] = {aligned_alloc(64, PLAYER_STACK), aligned_alloc(64, PLAYER_STACK)};
    if (!stack[0] || !stack[1]) {
        free(stack[0]);
        free(stack[1]);
        return bench_wrong("switch", "out of memory for the stacks");
    }
    for (int i = 0; i < 2; i++)
        wt_context_init(&player_ctx[i], (char *)stack[i] + PLAYER_STACK, player);
    bad = 0;
    /* Start player 1 (odd value), which switches at once to player 0 with
     * the value + 1 (even): from then on, each switch adds one. A player's
     * entry is not a checked switch; every later arrival is. */
    switches_left = r->n;
    bench_clock_start(r);
    wt_context_switch(&main_ctx, &player_ctx[1], (void *)(uintptr_t)1);
    bench_clock_stop(r);

    free(stack[0]);
    free(stack[1]);
    if (bad)
        return bench_wrong("switch", "%ld of %ld switches came back with a wrong value", bad, r->n);
    return BENCH_OK;
}

static const char *check_n(long n)
{
    return n >= 2 ? NULL : "need at least 2 switches";
}

static double ops(long n)
{
    return (double)n;
}

const struct bench bench_switch = {
    .name = "switch",
    .what = "wt_context_switch between two fibers, no runtime; ns per switch (default 10M)",
    .default_n = 10000000,
    .one_worker = true,
    .no_runtime = true,
    .check_n = check_n,
    .ops = ops,
    .run = run,
};
