/*
 * million_live_test.c - a million fibers alive at once, each with its own
 * stack: fiber i spawns fiber i+1 and joins it, so when the last one runs,
 * every other one is parked in weft_join holding a stack. Checks that the
 * chain unwinds with the right sum and that nothing leaked. Prints the peak
 * RSS and the guard mode. WEFT_STRESS_SCALE (default 1) scales the count.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "tap.h"
#include "testutil.h"
#include "weft.h"

static uintptr_t chain_len;
static _Atomic uintptr_t deepest;

static void *link_fiber(void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    if (i > deepest)
        deepest = i; /* only one fiber of the chain runs at a time */
    if (i + 1 == chain_len)
        return (void *)i;
    weft_fiber next;
    void *r;
    if (weft_spawn(&next, link_fiber, (void *)(i + 1), NULL) != 0)
        return (void *)UINTPTR_MAX;
    if (weft_join(next, &r) != 0 || (uintptr_t)r == UINTPTR_MAX)
        return (void *)UINTPTR_MAX;
    return (void *)((uintptr_t)r + i);
}

/* Every one of the million fibers is parked with a bound stack at the
 * moment the last one runs; the sum proves each ran exactly once. */
TEST(a_million_fibers_alive_at_once_in_a_join_chain)
{
    chain_len = (uintptr_t)stress_scaled(1000000);
    if (chain_len < 2)
        chain_len = 2;
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    int64_t t0 = weft_now();
    weft_fiber head;
    void *r = NULL;
    CHECK_OK(weft_spawn(&head, link_fiber, (void *)0, NULL));
    CHECK_OK(weft_join(head, &r));
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("# %ju fibers alive at once in %.2f s, peak RSS %ld MiB (%.1f KiB per fiber)\n",
           (uintmax_t)chain_len, (double)(weft_now() - t0) / 1e9, ru.ru_maxrss / 1024,
           (double)ru.ru_maxrss / (double)chain_len);
    EXPECT_EQ(deepest, chain_len - 1);
    EXPECT_EQ((uintptr_t)r, chain_len * (chain_len - 1) / 2);
    CHECK_OK(weft_shutdown());
}

TAP_MAIN()
