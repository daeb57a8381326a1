/*
 * timer_test.c - the deadline heap: entries come out in deadline order, only
 * once their deadline has passed, and stale entries (whose wait ended
 * otherwise) are swept instead of growing the heap.
 */
#include <stdlib.h>

#include "fiber.h"
#include "tap.h"
#include "timer.h"
#include "wait.h"

enum { N = 10000 };

static uint64_t rng_state;
static int64_t rnd(int64_t bound)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (int64_t)((rng_state >> 33) % (uint64_t)bound);
}

/* A key that is current for @f: a wait in progress, as wt_wait_begin sets. */
static uint64_t live_key(struct fiber *f)
{
    uint64_t key = ((uint64_t)1 << WAIT_SEQ_SHIFT) | WAIT_WAITING;
    atomic_store(&f->wait, key);
    return key;
}

TEST(pops_in_deadline_order_with_duplicates)
{
    static struct fiber fibers[N];
    struct timer_heap h = {0};
    rng_state = tap_seed();
    EXPECT_EQ(wt_timer_next(&h), -1);
    for (int i = 0; i < N; i++) {
        uint64_t key = live_key(&fibers[i]);
        CHECK_OK(wt_timer_reserve(&h));
        wt_timer_push(&h, rnd(N / 4), &fibers[i], key); /* many equal deadlines */
    }
    EXPECT_EQ(h.n, N);
    int64_t last = -1;
    size_t count = 0;
    struct timer_entry e;
    while (wt_timer_pop_expired(&h, INT64_MAX, &e)) {
        EXPECT(e.deadline >= last);
        last = e.deadline;
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
    for (int i = 99; i >= 0; i--) { /* worst order for a min-heap */
        CHECK_OK(wt_timer_reserve(&h));
        wt_timer_push(&h, 1000 + i * 10, &fibers[i], live_key(&fibers[i]));
    }
    EXPECT_EQ(wt_timer_next(&h), 1000);
    struct timer_entry e;
    EXPECT(!wt_timer_pop_expired(&h, 999, &e));
    int got = 0;
    while (wt_timer_pop_expired(&h, 1495, &e))
        got++;
    EXPECT_EQ(got, 50); /* 1000, 1010, ..., 1490 */
    EXPECT_EQ(wt_timer_next(&h), 1500);
    wt_timer_fini(&h);
}

/* A full heap whose entries are mostly stale is swept, not grown, and the
 * live entries still come out in order. */
TEST(stale_entries_are_swept_before_growing)
{
    static struct fiber fibers[64];
    struct timer_heap h = {0};
    for (int i = 0; i < 64; i++) {
        CHECK_OK(wt_timer_reserve(&h));
        wt_timer_push(&h, 64 - i, &fibers[i], live_key(&fibers[i]));
    }
    size_t cap = h.cap;
    EXPECT_EQ(h.n, cap); /* full */
    for (int i = 0; i < 64; i++)
        if (i % 8) /* 7 in 8 waits end otherwise: their entries go stale */
            atomic_store(&fibers[i].wait, atomic_load(&fibers[i].wait) | WAIT_CLAIMED);
    CHECK_OK(wt_timer_reserve(&h));
    EXPECT_EQ(h.cap, cap); /* not grown */
    EXPECT_EQ(h.n, 8);
    int64_t last = -1;
    struct timer_entry e;
    int got = 0;
    while (wt_timer_pop_expired(&h, INT64_MAX, &e)) {
        EXPECT(e.deadline > last);
        EXPECT_EQ((e.f - fibers) % 8, 0);
        last = e.deadline;
        got++;
    }
    EXPECT_EQ(got, 8);
    wt_timer_fini(&h);
}

TAP_MAIN()
