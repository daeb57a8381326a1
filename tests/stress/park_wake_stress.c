/*
 * park_wake_stress.c - parking and waking lose nothing: fibers join children
 * that yield a random number of times (so the joiner parks, or not, and is
 * woken from another worker), chains where each fiber joins the next, and
 * plain threads blocked in joins. A lost wake-up hangs a join and the
 * watchdog fails the case. WEFT_WORKERS=4 on 2 cores; WEFT_STRESS_SCALE
 * (default 1) scales the counts; WEFT_TEST_SEED replays a seed.
 */
#include "weft.h"

#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

static atomic_long failed_calls;

/* Yields (arg & 15) % 9 times, sleeps 0 if bit 4 is set, returns arg. */
static void *yield_n(void *arg)
{
    uintptr_t a = (uintptr_t)arg;
    for (uintptr_t i = 0; i < (a & 15) % 9; i++)
        weft_yield();
    if ((a & 16) && weft_sleep(0) != 0)
        atomic_fetch_add(&failed_calls, 1);
    return arg;
}

struct joiner {
    long rounds;
    uint64_t seed;
    long ok; /* results that came back right */
};

static void *join_children(void *arg)
{
    struct joiner *j = arg;
    uint64_t x = j->seed;
    for (long i = 0; i < j->rounds; i++) {
        uintptr_t v = (uintptr_t)(splitmix(&x) >> 8);
        weft_fiber f;
        void *r = NULL;
        if (weft_spawn(&f, yield_n, (void *)v, NULL) != 0 || weft_join(f, &r) != 0) {
            atomic_fetch_add(&failed_calls, 1);
            continue;
        }
        j->ok += (uintptr_t)r == v;
    }
    return NULL;
}

/* 500000 rounds, split over 8 fibers, of a fiber spawning a child that
 * yields 0..8 times and joining it at once: every result arrives. */
TEST(join_of_yielding_child)
{
    enum { JOINERS = 8 };
    static struct joiner j[JOINERS];
    uint64_t x = tap_seed();
    long per = stress_scaled(500000) / JOINERS + 1;
    atomic_store(&failed_calls, 0);
    CHECK_OK(weft_init(NULL));
    printf("# %d workers, %d joiners x %ld rounds\n", weft_workers(), JOINERS, per);
    weft_fiber f[JOINERS];
    for (int i = 0; i < JOINERS; i++) {
        j[i] = (struct joiner){.rounds = per, .seed = splitmix(&x)};
        CHECK_OK(weft_spawn(&f[i], join_children, &j[i], NULL));
    }
    long ok = 0;
    for (int i = 0; i < JOINERS; i++) {
        CHECK_OK(weft_join(f[i], NULL));
        ok += j[i].ok;
    }
    EXPECT_EQ(ok, per * JOINERS);
    EXPECT_EQ(atomic_load(&failed_calls), 0);
    CHECK_OK(weft_shutdown());
}

/* Fiber at depth d spawns depth d + 1 and joins it; the last one yields a
 * random number of times. Returns the chain's length below and including
 * itself. */
static void *nested_chain(void *arg)
{
    uintptr_t left = (uintptr_t)arg >> 8, jit = (uintptr_t)arg & 255;
    if (left == 0) {
        for (uintptr_t i = 0; i < jit % 13; i++)
            weft_yield();
        return (void *)1;
    }
    if (jit & 1)
        weft_yield();
    weft_fiber f;
    void *r = NULL;
    uintptr_t next = (left - 1) << 8 | ((jit * 37 + 11) & 255);
    if (weft_spawn(&f, nested_chain, (void *)next, NULL) != 0 || weft_join(f, &r) != 0) {
        atomic_fetch_add(&failed_calls, 1);
        return NULL;
    }
    return (void *)((uintptr_t)r + 1);
}

/* Four chains of 300 nested spawn-and-join fibers at a time, 200 times:
 * each wake-up passes up the whole chain. */
TEST(nested_join_chains)
{
    enum { CHAINS = 4, LEN = 300 };
    uint64_t x = tap_seed() ^ 1;
    long reps = stress_scaled(200);
    atomic_store(&failed_calls, 0);
    CHECK_OK(weft_init(NULL));
    for (long rep = 0; rep < reps; rep++) {
        weft_fiber f[CHAINS];
        for (int c = 0; c < CHAINS; c++)
            CHECK_OK(weft_spawn(&f[c], nested_chain,
                                (void *)((uintptr_t)(LEN - 1) << 8 | (splitmix(&x) & 255)), NULL));
        for (int c = 0; c < CHAINS; c++) {
            void *r = NULL;
            CHECK_OK(weft_join(f[c], &r));
            EXPECT_EQ((uintptr_t)r, LEN);
        }
    }
    EXPECT_EQ(atomic_load(&failed_calls), 0);
    CHECK_OK(weft_shutdown());
}

/* A chain spawned all at once by the main thread: fiber i joins fiber
 * i + 1, which it finds in the handle array (spawned before it). */
enum { FLAT_LEN = 1000 };
static weft_fiber flat[FLAT_LEN];
static uint8_t flat_jitter[FLAT_LEN];

static void *flat_link(void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    for (uint8_t y = 0; y < flat_jitter[i] % 5; y++)
        weft_yield();
    if (i == FLAT_LEN - 1)
        return (void *)1;
    void *r = NULL;
    if (weft_join(flat[i + 1], &r) != 0) {
        atomic_fetch_add(&failed_calls, 1);
        return NULL;
    }
    return (void *)((uintptr_t)r + 1);
}

/* 1000 fibers, each joining the next, spawned last-first from the main
 * thread and run in whatever order the workers pick, 300 times: the wake-ups
 * cascade down the whole chain. */
TEST(flat_join_chains)
{
    uint64_t x = tap_seed() ^ 2;
    long reps = stress_scaled(300);
    atomic_store(&failed_calls, 0);
    CHECK_OK(weft_init(NULL));
    for (long rep = 0; rep < reps; rep++) {
        for (int i = 0; i < FLAT_LEN; i++)
            flat_jitter[i] = (uint8_t)splitmix(&x);
        for (uintptr_t i = FLAT_LEN; i-- > 0;)
            CHECK_OK(weft_spawn(&flat[i], flat_link, (void *)i, NULL));
        void *r = NULL;
        CHECK_OK(weft_join(flat[0], &r));
        EXPECT_EQ((uintptr_t)r, FLAT_LEN);
    }
    EXPECT_EQ(atomic_load(&failed_calls), 0);
    CHECK_OK(weft_shutdown());
}

/* The main thread (a plain thread: it blocks, not parks) joins 50000
 * children that yield 0..8 times. */
TEST(plain_thread_join_of_yielding_child)
{
    uint64_t x = tap_seed() ^ 3;
    long n = stress_scaled(50000), ok = 0;
    atomic_store(&failed_calls, 0);
    CHECK_OK(weft_init(NULL));
    for (long i = 0; i < n; i++) {
        uintptr_t v = (uintptr_t)(splitmix(&x) >> 8);
        weft_fiber f;
        void *r = NULL;
        CHECK_OK(weft_spawn(&f, yield_n, (void *)v, NULL));
        CHECK_OK(weft_join(f, &r));
        ok += (uintptr_t)r == v;
    }
    EXPECT_EQ(ok, n);
    EXPECT_EQ(atomic_load(&failed_calls), 0);
    CHECK_OK(weft_shutdown());
}

TAP_MAIN()
