/*
 * sleep_test.c - the clock and sleeping through weft.h alone: weft_now is
 * CLOCK_MONOTONIC, weft_deadline_after saturates, a sleeping fiber parks
 * (its worker runs others), and nobody wakes before its deadline.
 */
#include "weft.h"

#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

#define MS ((int64_t)1000000)
#define S  ((int64_t)1000000000)

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * S + ts.tv_nsec;
}

/* weft_now never goes backwards and reads CLOCK_MONOTONIC: it lies between
 * two clock_gettime calls around it. */
TEST(now_is_monotonic_clock)
{
    int64_t prev = weft_now();
    int backwards = 0;
    for (int i = 0; i < 100000; i++) {
        int64_t t = weft_now();
        backwards += t < prev;
        prev = t;
    }
    EXPECT_EQ(backwards, 0);
    EXPECT(prev > 0);
    for (int i = 0; i < 1000; i++) {
        int64_t a = mono_ns(), n = weft_now(), b = mono_ns();
        if (!(a <= n && n <= b)) {
            printf("# %lld <= %lld <= %lld fails\n", (long long)a, (long long)n, (long long)b);
            EXPECT(a <= n && n <= b);
            break;
        }
    }
}

/* weft_deadline_after adds to now, saturates at INT64_MAX, and turns a
 * negative delay into WEFT_FOREVER. */
TEST(deadline_after_saturates)
{
    int64_t a = weft_now(), d = weft_deadline_after(0), b = weft_now();
    EXPECT(a <= d && d <= b);
    a = weft_now(), d = weft_deadline_after(S), b = weft_now();
    EXPECT(a + S <= d && d <= b + S);
    EXPECT_EQ(weft_deadline_after(INT64_MAX), INT64_MAX);
    EXPECT_EQ(weft_deadline_after(INT64_MAX - 1), INT64_MAX);
    EXPECT_EQ(weft_deadline_after(INT64_MAX - weft_now() + 1), INT64_MAX);
    EXPECT_EQ(weft_deadline_after(-1), WEFT_FOREVER);
    EXPECT_EQ(weft_deadline_after(-12345), WEFT_FOREVER);
    EXPECT_EQ(weft_deadline_after(INT64_MIN), WEFT_FOREVER);
}

/* From a plain thread (with and without a runtime), weft_sleep sleeps at
 * least as long as asked and 0 or a past deadline returns 0. */
TEST(plain_thread_sleeps)
{
    settle();
    for (int run = 0; run < 2; run++) {
        if (run)
            CHECK_OK(weft_init(&(weft_config){.workers = 1}));
        int64_t t0 = weft_now();
        CHECK_OK(weft_sleep(2 * MS));
        EXPECT(weft_now() - t0 >= 2 * MS);
        int64_t dl = weft_deadline_after(3 * MS);
        CHECK_OK(weft_sleep_until(dl));
        EXPECT(weft_now() >= dl);
        EXPECT_EQ(weft_sleep(0), 0);
        EXPECT_EQ(weft_sleep_until(0), 0);
        EXPECT_EQ(weft_sleep_until(1), 0);
        EXPECT_EQ(weft_sleep_until(weft_now() - MS), 0);
    }
    CHECK_OK(weft_shutdown());
}

struct park_probe {
    atomic_int asleep;       /* the sleeper is inside weft_sleep */
    atomic_int done;         /* the sleeper has returned */
    atomic_long seen_asleep; /* yields the other fiber made while it slept */
    int64_t slept_ns;
    int rc;
};

static void *sleeper(void *arg)
{
    struct park_probe *p = arg;
    int64_t t0 = weft_now();
    atomic_store(&p->asleep, 1);
    p->rc = weft_sleep(50 * MS);
    atomic_store(&p->asleep, 0);
    p->slept_ns = weft_now() - t0;
    atomic_store(&p->done, 1);
    return NULL;
}

static void *counter(void *arg)
{
    struct park_probe *p = arg;
    int64_t give_up = weft_deadline_after(30 * S);
    while (!atomic_load(&p->done) && weft_now() < give_up) {
        if (atomic_load(&p->asleep))
            atomic_fetch_add(&p->seen_asleep, 1);
        weft_yield();
    }
    return NULL;
}

/* On one worker, a fiber sleeping 50 ms does not block the worker: the
 * other fiber runs (and counts yields) while the sleeper is in weft_sleep.
 * Were the worker thread blocked, the count would be exactly 0. */
TEST(sleeping_fiber_does_not_block_worker)
{
    static struct park_probe p;
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 1}));
    weft_fiber s, c;
    CHECK_OK(weft_spawn(&s, sleeper, &p, NULL));
    CHECK_OK(weft_spawn(&c, counter, &p, NULL));
    CHECK_OK(weft_join(s, NULL));
    CHECK_OK(weft_join(c, NULL));
    printf("# %ld yields while the sleeper slept %lld ns\n", atomic_load(&p.seen_asleep),
           (long long)p.slept_ns);
    EXPECT_EQ(p.rc, 0);
    EXPECT(p.slept_ns >= 50 * MS);
    EXPECT(atomic_load(&p.seen_asleep) > 0);
    CHECK_OK(weft_shutdown());
}

struct sleep_job {
    int64_t ns;      /* in: how long to sleep */
    int by_deadline; /* in: weft_sleep_until rather than weft_sleep */
    int rc;          /* out */
    int64_t early;   /* out: how many ns before its deadline it woke, if it did */
};

static void *sleep_job(void *arg)
{
    struct sleep_job *j = arg;
    int64_t deadline = weft_deadline_after(j->ns);
    j->rc = j->by_deadline ? weft_sleep_until(deadline) : weft_sleep(j->ns);
    int64_t now = weft_now();
    j->early = now < deadline ? deadline - now : 0;
    return (void *)j;
}

/* 1000 fibers sleeping random times of 0..10 ms (by delay and by deadline),
 * on two workers, all wake, none before its deadline, and every join
 * returns its own fiber's result. */
TEST(thousand_sleepers_all_wake_on_time)
{
    enum { N = 1000 };
    static struct sleep_job jobs[N];
    static weft_fiber f[N];
    uint64_t x = tap_seed();
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    for (int i = 0; i < N; i++) {
        jobs[i] =
            (struct sleep_job){.ns = (int64_t)(splitmix(&x) % (10 * MS)), .by_deadline = i % 2};
        if (i % 10 == 0)
            jobs[i].ns = 0;
        CHECK_OK(weft_spawn(&f[i], sleep_job, &jobs[i], NULL));
    }
    int woke = 0, early = 0, bad_rc = 0;
    for (int i = 0; i < N; i++) {
        void *r = NULL;
        CHECK_OK(weft_join(f[i], &r));
        woke += r == &jobs[i];
        early += jobs[i].early != 0;
        bad_rc += jobs[i].rc != 0;
        if (jobs[i].early)
            printf("# fiber %d woke %lld ns early\n", i, (long long)jobs[i].early);
    }
    EXPECT_EQ(woke, N);
    EXPECT_EQ(early, 0);
    EXPECT_EQ(bad_rc, 0);
    CHECK_OK(weft_shutdown());
}

/* Longer sleeps on one worker, several at once, also wake no earlier than
 * their deadlines (a one-sided check: late is fine). */
TEST(sleeps_never_wake_early)
{
    enum { N = 20 };
    static struct sleep_job jobs[N];
    weft_fiber f[N];
    uint64_t x = tap_seed() ^ 0x5bd1e995;
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 1}));
    for (int i = 0; i < N; i++) {
        jobs[i] = (struct sleep_job){.ns = 5 * MS + (int64_t)(splitmix(&x) % (40 * MS)),
                                     .by_deadline = i % 2};
        CHECK_OK(weft_spawn(&f[i], sleep_job, &jobs[i], NULL));
    }
    for (int i = 0; i < N; i++) {
        CHECK_OK(weft_join(f[i], NULL));
        EXPECT_EQ(jobs[i].rc, 0);
        EXPECT_EQ(jobs[i].early, 0);
    }
    CHECK_OK(weft_shutdown());
}

static void *sleep_until_past(void *arg)
{
    (void)arg;
    uintptr_t bad = 0;
    for (int i = 0; i < 1000; i++) {
        bad += weft_sleep_until(0) != 0;
        bad += weft_sleep_until(weft_now() - 1) != 0;
        bad += weft_sleep(0) != 0;
    }
    return (void *)bad;
}

/* weft_sleep_until(0), a past deadline and weft_sleep(0) return 0 at once
 * in a fiber: 3000 of them take far less than 3000 timer ticks would. */
TEST(sleep_until_zero_returns_at_once)
{
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 1}));
    int64_t t0 = weft_now();
    weft_fiber f;
    void *bad = (void *)1;
    CHECK_OK(weft_spawn(&f, sleep_until_past, NULL, NULL));
    CHECK_OK(weft_join(f, &bad));
    int64_t took = weft_now() - t0;
    printf("# 3000 zero sleeps took %lld ns\n", (long long)took);
    EXPECT_EQ((uintptr_t)bad, 0);
    EXPECT(took < 10 * S);
    CHECK_OK(weft_shutdown());
}

static void *sleep_to(void *arg)
{
    const int64_t *deadline = arg;
    return (void *)(intptr_t)weft_sleep_until(*deadline);
}

/* A plain thread blocked in weft_join on a sleeping fiber is woken when the
 * fiber wakes and ends, no earlier than the fiber's deadline. */
TEST(plain_join_of_sleeping_fiber)
{
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    for (int i = 0; i < 20; i++) {
        int64_t deadline = weft_deadline_after(MS * (i % 5));
        weft_fiber f;
        void *rc = (void *)1;
        CHECK_OK(weft_spawn(&f, sleep_to, &deadline, NULL));
        CHECK_OK(weft_join(f, &rc));
        EXPECT_EQ((intptr_t)rc, 0);
        EXPECT(weft_now() >= deadline);
    }
    CHECK_OK(weft_shutdown());
}

TAP_MAIN()
