/*
 * cancel_test.c - weft_cancel through weft.h alone: a fiber blocked in a
 * weft call wakes with -ECANCELED, cancellation is sticky and reaches calls
 * made after it, running code is not interrupted, and bad handles get their
 * codes.
 */
#include "weft.h"

#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define MS ((int64_t)1000000)
#define S  ((int64_t)1000000000)

static _Atomic int started;

static void *sleep_long(void *arg)
{
    (void)arg;
    atomic_store(&started, 1);
    intptr_t r = weft_sleep(60 * S);
    return (void *)r;
}

static void *cancel_sleeper(void *arg)
{
    (void)arg;
    atomic_store(&started, 0);
    weft_fiber f;
    CHECK_OK(weft_spawn(&f, sleep_long, NULL, NULL));
    while (!atomic_load(&started))
        weft_yield();
    weft_sleep(MS); /* very likely parked by now; either way it must end */
    int64_t t0 = weft_now();
    EXPECT_EQ(weft_cancel(f), 0);
    void *res;
    EXPECT_EQ(weft_join(f, &res), 0);
    EXPECT_EQ((intptr_t)res, -ECANCELED);
    EXPECT(weft_now() - t0 < 30 * S); /* one-sided: it did not sleep it out */
    return NULL;
}

/* A fiber asleep for a minute is woken by weft_cancel with -ECANCELED. */
TEST(cancel_wakes_a_sleeping_fiber)
{
    settle();
    CHECK_OK(weft_main(NULL, cancel_sleeper, NULL, NULL));
}

static void *sticky(void *arg)
{
    (void)arg;
    EXPECT(!weft_cancelled());
    CHECK_OK(weft_cancel(weft_self()));
    EXPECT(weft_cancelled());
    EXPECT_EQ(weft_sleep(S), -ECANCELED);
    EXPECT_EQ(weft_sleep(0), -ECANCELED);
    EXPECT_EQ(weft_cancel(weft_self()), 0); /* twice is fine */
    return NULL;
}

/* Cancelling oneself makes every later blocking call fail at once. */
TEST(cancellation_is_sticky)
{
    settle();
    CHECK_OK(weft_main(NULL, sticky, NULL, NULL));
}

static void *spin_until_cancelled(void *arg)
{
    _Atomic long *spins = arg;
    while (!weft_cancelled()) { /* yields: weft does not preempt */
        atomic_fetch_add(spins, 1);
        weft_yield();
    }
    return (void *)(intptr_t)weft_sleep(S);
}

static void *cancel_runner(void *arg)
{
    (void)arg;
    _Atomic long spins = 0;
    weft_fiber f;
    CHECK_OK(weft_spawn(&f, spin_until_cancelled, (void *)&spins, NULL));
    while (atomic_load(&spins) < 1000)
        weft_yield();
    EXPECT_EQ(weft_cancel(f), 0);
    void *res;
    CHECK_OK(weft_join(f, &res));
    EXPECT_EQ((intptr_t)res, -ECANCELED);
    return NULL;
}

/* A running fiber is not interrupted: it sees weft_cancelled() and its
 * next blocking call fails. */
TEST(running_fiber_polls_cancellation)
{
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    weft_fiber f;
    CHECK_OK(weft_spawn(&f, cancel_runner, NULL, NULL));
    CHECK_OK(weft_join(f, NULL));
    CHECK_OK(weft_shutdown());
}

static void *quick(void *arg)
{
    return arg;
}

/* Handles: zero or garbage is -EBADF, a reaped fiber -ESRCH, an exited but
 * unjoined one 0 (nothing left to cancel), and its result is intact. */
TEST(cancel_handle_codes)
{
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 1}));
    EXPECT_EQ(weft_cancel((weft_fiber){0}), -EBADF);
    EXPECT_EQ(weft_cancel((weft_fiber){UINT64_MAX}), -EBADF);
    weft_fiber f;
    CHECK_OK(weft_spawn(&f, quick, (void *)7, NULL));
    weft_sleep(10 * MS);
    EXPECT_EQ(weft_cancel(f), 0);
    void *res;
    CHECK_OK(weft_join(f, &res));
    EXPECT_EQ((intptr_t)res, 7);
    EXPECT_EQ(weft_cancel(f), -ESRCH);
    EXPECT(!weft_cancelled()); /* a plain thread is never cancelled */
    CHECK_OK(weft_shutdown());
}

struct many {
    _Atomic long cancelled, slept;
};

static void *sleep_short(void *arg)
{
    struct many *m = arg;
    int r = weft_sleep((int64_t)(weft_now() % 3) * MS);
    if (r == -ECANCELED)
        atomic_fetch_add(&m->cancelled, 1);
    else if (r == 0)
        atomic_fetch_add(&m->slept, 1);
    return NULL;
}

/* Timer and canceller race for the same waits from two workers and a plain
 * thread: every sleep ends exactly once, with one of the two codes. */
TEST(cancel_races_timers)
{
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    uint64_t rng = tap_seed();
    enum { N = 2000 };
    static weft_fiber fs[N];
    struct many m = {0};
    for (int i = 0; i < N; i++) {
        CHECK_OK(weft_spawn(&fs[i], sleep_short, &m, NULL));
        if (splitmix(&rng) % 2)
            EXPECT_EQ(weft_cancel(fs[i]), 0);
    }
    for (int i = 0; i < N; i++)
        CHECK_OK(weft_join(fs[i], NULL));
    EXPECT_EQ(atomic_load(&m.cancelled) + atomic_load(&m.slept), N);
    EXPECT(atomic_load(&m.cancelled) > 0);
    CHECK_OK(weft_shutdown());
}

TAP_MAIN()
