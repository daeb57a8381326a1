/*
 * calltimer_test.c - weft_timer (call_later / call_at) through weft.h alone:
 * a callback runs once, not before its deadline; a stop before the deadline
 * means it never runs; a stop after it started waits for it and says so;
 * racing stops and deadlines decide each timer exactly one way; misuse
 * codes; a thousand timers fire in deadline order on one worker.
 */
#include "weft.h"

#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

#define MS ((int64_t)1000000)
#define S  ((int64_t)1000000000)

struct shot {
    _Atomic int runs;
    int64_t at, deadline;
};

static void record(void *arg)
{
    struct shot *s = arg;
    s->at = weft_now();
    atomic_fetch_add(&s->runs, 1);
}

static void *basics(void *arg)
{
    (void)arg;
    weft_timer t = WEFT_TIMER_INIT;
    struct shot s = {0};
    s.deadline = weft_deadline_after(5 * MS);
    CHECK_OK(weft_timer_start(&t, s.deadline, record, &s));
    EXPECT_EQ(weft_timer_start(&t, s.deadline, record, &s), -EBUSY);
    CHECK_OK(weft_timer_wait(&t));
    EXPECT_EQ(atomic_load(&s.runs), 1);
    EXPECT(s.at >= s.deadline);             /* never early */
    EXPECT_EQ(weft_timer_wait(&t), -ESRCH); /* reaped: idle */
    EXPECT_EQ(weft_timer_stop(&t), -ESRCH);

    /* Stopped long before its deadline: never runs. */
    struct shot never = {0};
    CHECK_OK(weft_timer_after(&t, 60 * S, record, &never));
    int64_t t0 = weft_now();
    EXPECT_EQ(weft_timer_stop(&t), 0);
    EXPECT(weft_now() - t0 < 30 * S);
    weft_sleep(2 * MS);
    EXPECT_EQ(atomic_load(&never.runs), 0);

    /* Stopped after it ran: -EALREADY, and it ran once. */
    struct shot done = {0};
    CHECK_OK(weft_timer_after(&t, 0, record, &done));
    while (atomic_load(&done.runs) == 0)
        weft_yield();
    EXPECT_EQ(weft_timer_stop(&t), -EALREADY);
    EXPECT_EQ(atomic_load(&done.runs), 1);

    EXPECT_EQ(weft_timer_start(NULL, 0, record, &s), -EINVAL);
    EXPECT_EQ(weft_timer_start(&t, 0, NULL, &s), -EINVAL);
    EXPECT_EQ(weft_timer_start(&t, -1, record, &s), -EINVAL);
    EXPECT_EQ(weft_timer_after(&t, -5, record, &s), -EINVAL);
    EXPECT_EQ(weft_timer_stop(NULL), -EINVAL);
    EXPECT_EQ(weft_timer_wait(NULL), -EINVAL);
    return NULL;
}

/* Start, wait, stop, and their errors. */
TEST(callback_runs_once_and_stop_prevents_it)
{
    settle();
    CHECK_OK(weft_main(&(weft_config){.workers = 2}, basics, NULL, NULL));
}

static weft_timer self_t = WEFT_TIMER_INIT;
static _Atomic int self_rc;

static void stop_self(void *arg)
{
    (void)arg;
    atomic_store(&self_rc, weft_timer_stop(&self_t));
}

static void *self_stop(void *arg)
{
    (void)arg;
    CHECK_OK(weft_timer_after(&self_t, 0, stop_self, NULL));
    CHECK_OK(weft_timer_wait(&self_t));
    EXPECT_EQ(atomic_load(&self_rc), -EDEADLK);
    return NULL;
}

/* A callback that stops its own timer is told -EDEADLK, not hung. */
TEST(stop_from_the_callback_is_edeadlk)
{
    settle();
    CHECK_OK(weft_main(&(weft_config){.workers = 1}, self_stop, NULL, NULL));
}

enum { RACERS = 500 };

static void *races(void *arg)
{
    (void)arg;
    static weft_timer t[RACERS];
    static struct shot s[RACERS];
    uint64_t rng = tap_seed();
    for (int i = 0; i < RACERS; i++) {
        t[i] = (weft_timer)WEFT_TIMER_INIT;
        s[i] = (struct shot){0};
        CHECK_OK(weft_timer_after(&t[i], (int64_t)(splitmix(&rng) % (4 * MS)), record, &s[i]));
    }
    int stopped = 0, ran = 0;
    for (int i = 0; i < RACERS; i++) {
        if (splitmix(&rng) % 4 == 0)
            weft_yield();
        int r = weft_timer_stop(&t[i]);
        EXPECT(r == 0 || r == -EALREADY);
        int runs = atomic_load(&s[i].runs);
        EXPECT_EQ(runs, r == 0 ? 0 : 1); /* stopped: never ran; else ran once */
        stopped += r == 0;
        ran += r == -EALREADY;
    }
    printf("# %d stopped before running, %d ran\n", stopped, ran);
    EXPECT_EQ(stopped + ran, RACERS);
    return NULL;
}

/* Stops racing deadlines on 2 workers: each timer is decided one way. */
TEST(stop_races_deadline_each_decided_once)
{
    settle();
    CHECK_OK(weft_main(&(weft_config){.workers = 2}, races, NULL, NULL));
}

enum { ORDERED = 1000 };
static int64_t fired[ORDERED];
static _Atomic int nfired;

static void note(void *arg)
{
    fired[atomic_fetch_add(&nfired, 1)] = (int64_t)(intptr_t)arg;
}

static void *order(void *arg)
{
    (void)arg;
    static weft_timer t[ORDERED];
    uint64_t rng = tap_seed();
    int64_t base = weft_deadline_after(20 * MS);
    atomic_store(&nfired, 0);
    for (int i = 0; i < ORDERED; i++) {
        t[i] = (weft_timer)WEFT_TIMER_INIT;
        int64_t d = base + (int64_t)(splitmix(&rng) % 1000) * 10000; /* 10 us steps */
        CHECK_OK(weft_timer_start(&t[i], d, note, (void *)(intptr_t)d));
    }
    for (int i = 0; i < ORDERED; i++)
        CHECK_OK(weft_timer_wait(&t[i]));
    EXPECT_EQ(atomic_load(&nfired), ORDERED);
    int inversions = 0;
    for (int i = 1; i < ORDERED; i++)
        inversions += fired[i] < fired[i - 1];
    EXPECT_EQ(inversions, 0);
    return NULL;
}

/* A thousand timers fire in deadline order. On a deterministic schedule
 * (virtual clock): in real time a timer whose fiber first runs after its
 * deadline - a loaded machine, a sanitizer - fires late, so the order would
 * test the machine's load, not the timers. */
TEST(timers_fire_in_deadline_order)
{
    settle();
    weft_config cfg = {.workers = 1, .sched_seed = tap_seed() | 1};
    CHECK_OK(weft_main(&cfg, order, NULL, NULL));
}

TAP_MAIN()
