/*
 * foreign_test.c - plain (non-worker) threads using weft.h: spawning and
 * joining concurrently from several pthreads, joining fibers that other
 * threads or fibers spawned, and waking idle workers without losing a
 * wake-up.
 */
#include "weft.h"

#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

static void *triple_plus_one(void *arg)
{
    uintptr_t v = (uintptr_t)arg;
    if (v % 7 == 0)
        weft_yield();
    return (void *)(v * 3 + 1);
}

enum { THREADS = 4, PER_THREAD = 1000, BATCH = 50 };

/* Spawns PER_THREAD fibers in batches, joins each batch, and counts wrong
 * results and failed calls. */
static void *spawn_join_many(void *arg)
{
    uintptr_t t = (uintptr_t)arg, errors = 0;
    weft_fiber f[BATCH];
    for (uintptr_t base = 0; base < PER_THREAD; base += BATCH) {
        for (uintptr_t i = 0; i < BATCH; i++)
            if (weft_spawn(&f[i], triple_plus_one, (void *)(t << 32 | (base + i)), NULL) != 0)
                return (void *)(uintptr_t)PER_THREAD;
        for (uintptr_t i = 0; i < BATCH; i++) {
            void *r = NULL;
            errors += weft_join(f[i], &r) != 0;
            errors += (uintptr_t)r != (t << 32 | (base + i)) * 3 + 1;
        }
    }
    return (void *)errors;
}

/* Four pthreads each spawn and join 1000 fibers at the same time; every
 * join gets its own fiber's result. */
TEST(four_threads_spawn_and_join_concurrently)
{
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    pthread_t t[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++)
        CHECK_OK(pthread_create(&t[i], NULL, spawn_join_many, (void *)(i + 1)));
    for (int i = 0; i < THREADS; i++) {
        void *errors = (void *)1;
        CHECK_OK(pthread_join(t[i], &errors));
        EXPECT_EQ((uintptr_t)errors, 0);
    }
    CHECK_OK(weft_shutdown());
}

struct handoff {
    _Atomic uint64_t child; /* the grandchild's handle, once spawned */
    int join_rc;
    void *result;
};

static void *yield_a_while(void *arg)
{
    for (int i = 0; i < 50; i++)
        weft_yield();
    return arg;
}

/* Spawns a child, hands its handle to a plain thread, and ends without
 * joining it. */
static void *spawn_and_hand_off(void *arg)
{
    struct handoff *h = arg;
    weft_fiber c;
    if (weft_spawn(&c, yield_a_while, (void *)(uintptr_t)4242, NULL) != 0)
        return (void *)1;
    atomic_store(&h->child, c.id);
    return NULL;
}

static void *join_handed_off(void *arg)
{
    struct handoff *h = arg;
    uint64_t id;
    while ((id = atomic_load(&h->child)) == 0)
        weft_yield();
    h->join_rc = weft_join((weft_fiber){.id = id}, &h->result);
    return NULL;
}

/* A pthread joins a fiber that a fiber spawned (the spawner has ended by
 * then or not), 200 times. */
TEST(thread_joins_fiber_spawned_by_fiber)
{
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    for (int round = 0; round < 200; round++) {
        struct handoff h = {.join_rc = 1};
        pthread_t t;
        weft_fiber p;
        void *prc = (void *)1;
        CHECK_OK(pthread_create(&t, NULL, join_handed_off, &h));
        CHECK_OK(weft_spawn(&p, spawn_and_hand_off, &h, NULL));
        CHECK_OK(pthread_join(t, NULL));
        CHECK_OK(weft_join(p, &prc));
        EXPECT(prc == NULL);
        EXPECT_EQ(h.join_rc, 0);
        EXPECT_EQ((uintptr_t)h.result, 4242);
    }
    CHECK_OK(weft_shutdown());
}

static void *join_arg(void *arg)
{
    const weft_fiber *f = arg;
    void *r = NULL;
    if (weft_join(*f, &r) != 0)
        return NULL;
    return r;
}

/* A fiber joins a fiber that the main thread spawned, and a pthread joins
 * a fiber that another pthread (main) spawned. */
TEST(cross_spawner_joins)
{
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    for (uintptr_t round = 0; round < 200; round++) {
        weft_fiber c, j;
        void *r = NULL;
        CHECK_OK(weft_spawn(&c, yield_a_while, (void *)(round + 1), NULL));
        CHECK_OK(weft_spawn(&j, join_arg, &c, NULL));
        CHECK_OK(weft_join(j, &r));
        EXPECT_EQ((uintptr_t)r, round + 1);

        pthread_t t;
        CHECK_OK(weft_spawn(&c, yield_a_while, (void *)(round + 2), NULL));
        CHECK_OK(pthread_create(&t, NULL, join_arg, &c));
        CHECK_OK(pthread_join(t, &r));
        EXPECT_EQ((uintptr_t)r, round + 2);
    }
    CHECK_OK(weft_shutdown());
}

/* 10000 spawns from the main thread, each joined before the next, so that
 * the workers go idle in between (now and then for a random pause of up to
 * 300 us, long enough for them to stop spinning and sleep): every spawn
 * wakes a worker, none is lost (a lost one hangs the join: the watchdog
 * fails the case). With 1, 2 and 4 workers. */
TEST(spawn_into_idle_workers_loses_no_wakeup)
{
    uint64_t x = tap_seed();
    settle();
    for (int workers = 1; workers <= 4; workers *= 2) {
        CHECK_OK(weft_init(&(weft_config){.workers = workers}));
        int wrong = 0;
        for (uintptr_t i = 0; i < 10000; i++) {
            weft_fiber f;
            void *r = NULL;
            CHECK_OK(weft_spawn(&f, identity, (void *)i, NULL));
            CHECK_OK(weft_join(f, &r));
            wrong += (uintptr_t)r != i;
            uint64_t roll = splitmix(&x);
            if (roll % 16 == 0) /* not synchronisation: lets the workers fall asleep */
                CHECK_OK(weft_sleep((int64_t)(roll >> 32) % 300000));
        }
        EXPECT_EQ(wrong, 0);
        CHECK_OK(weft_shutdown());
    }
}

static atomic_int flag_seen;

static void *raise_flag(void *arg)
{
    atomic_store(&flag_seen, (int)(uintptr_t)arg);
    return NULL;
}

/* Detached fibers spawned from the main thread into idle workers all run:
 * the main thread waits for each by polling (a lost wake-up would leave it
 * polling until the watchdog fires). */
TEST(detached_spawn_into_idle_workers_runs)
{
    uint64_t x = tap_seed() ^ 0xabcdef;
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    for (int i = 1; i <= 3000; i++) {
        CHECK_OK(weft_spawn(NULL, raise_flag, (void *)(uintptr_t)i,
                            &(weft_fiber_attr){.detached = true}));
        while (atomic_load(&flag_seen) != i)
            weft_yield();
        uint64_t roll = splitmix(&x);
        if (roll % 16 == 0)
            CHECK_OK(weft_sleep((int64_t)(roll >> 32) % 300000));
    }
    CHECK_OK(weft_shutdown());
}

static weft_fiber shared_fibers[8][100];

static void *join_row(void *arg)
{
    uintptr_t row = (uintptr_t)arg, errors = 0;
    for (uintptr_t i = 0; i < 100; i++) {
        void *r = NULL;
        errors += weft_join(shared_fibers[row][i], &r) != 0;
        errors += (uintptr_t)r != (row * 100 + i) * 3 + 1;
    }
    return (void *)errors;
}

/* Eight pthreads join, concurrently, 800 fibers that the main thread
 * spawned and that are still running or already done. */
TEST(threads_join_fibers_spawned_by_main)
{
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    for (uintptr_t row = 0; row < 8; row++)
        for (uintptr_t i = 0; i < 100; i++)
            CHECK_OK(
                weft_spawn(&shared_fibers[row][i], triple_plus_one, (void *)(row * 100 + i), NULL));
    pthread_t t[8];
    for (uintptr_t row = 0; row < 8; row++)
        CHECK_OK(pthread_create(&t[row], NULL, join_row, (void *)row));
    for (int row = 0; row < 8; row++) {
        void *errors = (void *)1;
        CHECK_OK(pthread_join(t[row], &errors));
        EXPECT_EQ((uintptr_t)errors, 0);
    }
    CHECK_OK(weft_shutdown());
}

TAP_MAIN()
