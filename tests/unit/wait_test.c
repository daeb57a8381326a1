/*
 * wait_test.c - the blocking protocol of wait.h, hammered through a toy
 * token queue: waiters (fibers on 4 workers and plain threads) take tokens
 * with random deadlines while others put tokens and cancel fibers. Every
 * token put is taken exactly once or still in the queue at the end, and
 * every wait ends exactly once with a code that matches what happened.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "spinlock.h"
#include "tap.h"
#include "testutil.h"
#include "wait.h"
#include "worker.h"

struct toy {
    struct spinlock lock;
    struct wait_queue q;
    long tokens; /* under lock */
};

static struct toy toy;
static _Atomic long put, taken, timedout, cancelled;

/* Take a token, blocking until @deadline. Returns 0, -ETIMEDOUT or -ECANCELED. */
static int toy_take(int64_t deadline)
{
    wt_spin_lock(&toy.lock);
    if (toy.tokens > 0) {
        toy.tokens--;
        wt_spin_unlock(&toy.lock);
        return 0;
    }
    struct worker *w = wt_worker_self();
    struct wait wt;
    int r = wt_wait_begin(&wt, w, WAITK_SEM, &toy);
    if (r) {
        wt_spin_unlock(&toy.lock);
        return r;
    }
    struct waiter n;
    wt_waiter_init(&n, &wt, NULL, 0);
    wt_wq_push(&toy.q, &n);
    wt_spin_unlock(&toy.lock);
    r = wt_wait_block(&wt, w ? &w : NULL, deadline);
    wt_spin_lock(&toy.lock);
    wt_wq_remove(&toy.q, &n);
    wt_spin_unlock(&toy.lock);
    if (r == 0)
        EXPECT_EQ(n.token, 42); /* the hand-over reached us */
    return r;
}

static void toy_put(void)
{
    wt_spin_lock(&toy.lock);
    struct waiter *n = wt_wq_claim_first(&toy.q);
    if (!n)
        toy.tokens++;
    wt_spin_unlock(&toy.lock);
    if (n) {
        n->token = 42; /* hand over between claim and finish */
        wt_waiter_finish(n);
    }
    atomic_fetch_add(&put, 1);
}

static void count(int r)
{
    if (r == 0)
        atomic_fetch_add(&taken, 1);
    else if (r == -ETIMEDOUT)
        atomic_fetch_add(&timedout, 1);
    else if (r == -ECANCELED)
        atomic_fetch_add(&cancelled, 1);
    else
        EXPECT_EQ(r, 0);
}

static int64_t random_deadline(uint64_t *rng)
{
    switch (splitmix(rng) % 4) {
    case 0:
        return 0; /* already past */
    case 1:
        return WEFT_FOREVER;
    default:
        return weft_deadline_after((int64_t)(splitmix(rng) % 200000));
    }
}

enum { ROUNDS = 200 };

static void *taker(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg;
    for (int i = 0; i < ROUNDS; i++) {
        int r = toy_take(random_deadline(&rng));
        count(r);
        if (r == -ECANCELED)
            break; /* sticky: every later take would fail too */
    }
    return NULL;
}

static void *putter(void *arg)
{
    long n = (long)(intptr_t)arg;
    for (long i = 0; i < n; i++) {
        toy_put();
        if (i % 16 == 0)
            weft_yield();
    }
    return NULL;
}

static void *thread_taker(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg;
    for (int i = 0; i < ROUNDS; i++) {
        int64_t d = random_deadline(&rng);
        count(toy_take(d == WEFT_FOREVER ? weft_deadline_after(1000000) : d));
    }
    return NULL;
}

TEST(every_token_taken_once_and_every_wait_ends_once)
{
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 4}));
    uint64_t seed = tap_seed();
    enum { TAKERS = 64, THREADS = 2 };
    static weft_fiber takers[TAKERS];
    for (int i = 0; i < TAKERS; i++)
        CHECK_OK(weft_spawn(&takers[i], taker, (void *)(uintptr_t)(seed + (uint64_t)i), NULL));
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_create(&th[i], NULL, thread_taker,
                             (void *)(uintptr_t)(seed * 7 + (uint64_t)i)) == 0);
    weft_fiber putters[4];
    for (int i = 0; i < 4; i++)
        CHECK_OK(weft_spawn(&putters[i], putter, (void *)(intptr_t)(TAKERS * ROUNDS / 8), NULL));
    uint64_t rng = seed ^ 0x5555;
    for (int i = 0; i < TAKERS / 4; i++) /* a quarter get cancelled mid-run */
        EXPECT_EQ(weft_cancel(takers[splitmix(&rng) % TAKERS]), 0);
    for (int i = 0; i < 4; i++)
        CHECK_OK(weft_join(putters[i], NULL));
    /* Takers still blocked without a deadline are ended by cancelling. */
    for (int i = 0; i < TAKERS; i++) {
        EXPECT_EQ(weft_cancel(takers[i]), 0); /* ends a FOREVER wait left over */
        CHECK_OK(weft_join(takers[i], NULL));
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    CHECK_OK(weft_shutdown());
    long p = atomic_load(&put), t = atomic_load(&taken);
    printf("# put %ld taken %ld left %ld timedout %ld cancelled %ld\n", p, t, toy.tokens,
           atomic_load(&timedout), atomic_load(&cancelled));
    fflush(stdout);
    EXPECT_EQ(p, t + toy.tokens); /* conservation: nothing lost, nothing doubled */
    EXPECT(toy.q.head == NULL);
    EXPECT(atomic_load(&timedout) > 0);
    EXPECT(atomic_load(&cancelled) > 0);
}

TAP_MAIN()
