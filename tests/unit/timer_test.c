/*
 * timer_test.c - the deadline heap: fibers come out in deadline order, and
 * only once their deadline has passed.
 */
#include <stdlib.h>

#include "fiber.h"
#include "tap.h"
#include "timer.h"

enum { N = 10000 };

static uint64_t rng_state;
static int64_t rnd(int64_t bound)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (int64_t)((rng_state >> 33) % (uint64_t)bound);
}

TEST(pops_in_deadline_order_with_duplicates)
{
    static struct fiber fibers[N];
    struct timer_heap h = {0};
    rng_state = tap_seed();
    EXPECT_EQ(wt_timer_next(&h), -1);
    for (int i = 0; i < N; i++) {
        fibers[i].deadline = rnd(N / 4); /* many equal deadlines */
        CHECK_OK(wt_timer_reserve(&h));
        wt_timer_push(&h, &fibers[i]);
    }
    EXPECT_EQ(h.n, N);
    int64_t last = -1;
    size_t count = 0;
    struct fiber *f;
    while ((f = wt_timer_pop_expired(&h, INT64_MAX))) {
        EXPECT(f->deadline >= last);
        last = f->deadline;
        count++;
    }
    EXPECT_EQ(count, N);
    EXPECT_EQ(wt_timer_next(&h), -1);
    wt_timer_fini(&h);
}

TEST(only_expired_deadlines_come_out)
{
    static struct fiber fibers[100];
    struct timer_heap h = {0};
    for (int i = 0; i < 100; i++)
        fibers[i].deadline = 1000 + i * 10;
    for (int i = 99; i >= 0; i--) { /* worst order for a min-heap */
        CHECK_OK(wt_timer_reserve(&h));
        wt_timer_push(&h, &fibers[i]);
    }
    EXPECT_EQ(wt_timer_next(&h), 1000);
    EXPECT(wt_timer_pop_expired(&h, 999) == NULL);
    int got = 0;
    while (wt_timer_pop_expired(&h, 1495))
        got++;
    EXPECT_EQ(got, 50); /* 1000, 1010, ..., 1490 */
    EXPECT_EQ(wt_timer_next(&h), 1500);
    wt_timer_fini(&h);
}

TAP_MAIN()
