/*
 * switch.c - the raw context switch: wt_context_switch() ping-pong between
 * the main thread's context and one fiber context, no runtime, no queue.
 * n switches are n/2 round trips; each carries a counter the other side
 * increments, which is the answer checked. Peer: Boost.Context's fiber.
 */
#include <stdint.h>
#include <stdlib.h>

#include "context.h"
#include "harness.h"

enum { PONG_STACK = 64 * 1024 };

static struct wt_context main_ctx, pong_ctx;

/* The other side: hands back each value it is given plus one, forever. The
 * last switch leaves it suspended; its stack is freed unused. */
static void pong(void *arg)
{
    uintptr_t v = (uintptr_t)arg;
    for (;;)
        v = (uintptr_t)wt_context_switch(&pong_ctx, &main_ctx, (void *)(v + 1));
}

static int run(struct bench_run *r)
{
    long trips = r->n / 2;
    long bad = 0;
    void *stack = aligned_alloc(64, PONG_STACK);
    if (!stack)
        return bench_wrong("switch", "out of memory for the stack");
    wt_context_init(&pong_ctx, (char *)stack + PONG_STACK, pong);

    bench_clock_start(r);
    for (long i = 0; i < trips; i++) {
        uintptr_t got = (uintptr_t)wt_context_switch(&main_ctx, &pong_ctx, (void *)(uintptr_t)i);
        bad += got != (uintptr_t)i + 1;
    }
    bench_clock_stop(r);

    free(stack);
    if (bad)
        return bench_wrong("switch", "%ld of %ld round trips came back with a wrong value", bad,
                           trips);
    return BENCH_OK;
}

static const char *check_n(long n)
{
    return n >= 2 ? NULL : "need at least 2 switches";
}

static double ops(long n)
{
    return (double)(n / 2 * 2);
}

const struct bench bench_switch = {
    .name = "switch",
    .what = "wt_context_switch ping-pong, no runtime; ns per switch (default 10M switches)",
    .default_n = 10000000,
    .one_worker = true,
    .no_runtime = true,
    .check_n = check_n,
    .ops = ops,
    .run = run,
};
