/*
 * million_test.c - a million fibers at once, with the default stack size:
 * all spawned before any is joined (from a plain thread and from a fiber),
 * a hundred thousand alive at the same time, and a million detached ones
 * that all finish. Prints the time taken and
 * the peak RSS. WEFT_STRESS_SCALE (default 1) scales the count.
 */
#include "weft.h"

#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/resource.h>

static uintptr_t count(void)
{
    return (uintptr_t)stress_scaled(1000000);
}

static void report(const char *what, uintptr_t n, int64_t t0)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("# %s: %ju fibers in %.2f s, peak RSS %ld MiB\n", what, (uintmax_t)n,
           (double)(weft_now() - t0) / 1e9, ru.ru_maxrss / 1024);
}

/* Starts a runtime and runs @fn(@arg) as its root fiber to the end, then
 * reports the time that took for @n fibers; returns the root's result. */
static void *run_root(const char *what, uintptr_t n, weft_fn fn, void *arg)
{
    CHECK_OK(weft_init(NULL));
    int64_t t0 = weft_now();
    weft_fiber root;
    void *r = (void *)1;
    CHECK_OK(weft_spawn(&root, fn, arg, NULL));
    CHECK_OK(weft_join(root, &r));
    report(what, n, t0);
    return r;
}

/* Joins every fiber in @f, checking each returns its index. */
static int join_all(const weft_fiber *f, uintptr_t n, uintptr_t *sum, uintptr_t *wrong)
{
    for (uintptr_t i = 0; i < n; i++) {
        void *r = NULL;
        int rc = weft_join(f[i], &r);
        if (rc != 0)
            return rc;
        *sum += (uintptr_t)r;
        *wrong += (uintptr_t)r != i;
    }
    return 0;
}

/* A million joinable fibers spawned by the main thread, all outstanding,
 * then joined: each returns its index and the sum is n(n-1)/2. */
TEST(million_joinable_from_plain_thread)
{
    uintptr_t n = count(), sum = 0, wrong = 0;
    weft_fiber *f = malloc(n * sizeof *f);
    CHECK(f != NULL);
    CHECK_OK(weft_init(NULL));
    int64_t t0 = weft_now();
    for (uintptr_t i = 0; i < n; i++)
        CHECK_OK(weft_spawn(&f[i], identity, (void *)i, NULL));
    CHECK_OK(join_all(f, n, &sum, &wrong));
    report("joinable, spawned by a plain thread", n, t0);
    EXPECT_EQ(wrong, 0);
    EXPECT_EQ(sum, n * (n - 1) / 2);
    free(f);
    CHECK_OK(weft_shutdown());
}

struct fan {
    weft_fiber *f;
    uintptr_t n, sum, wrong;
    int rc;
};

static void *spawn_all_then_join(void *arg)
{
    struct fan *fan = arg;
    for (uintptr_t i = 0; i < fan->n; i++) {
        fan->rc = weft_spawn(&fan->f[i], identity, (void *)i, NULL);
        if (fan->rc != 0)
            return NULL;
    }
    fan->rc = join_all(fan->f, fan->n, &fan->sum, &fan->wrong);
    return NULL;
}

/* The same, spawned by one fiber without yielding: they pile up in its
 * worker's queue and the other workers must steal them. */
TEST(million_joinable_from_fiber)
{
    struct fan fan = {.n = count(), .rc = 1};
    fan.f = malloc(fan.n * sizeof *fan.f);
    CHECK(fan.f != NULL);
    (void)run_root("joinable, spawned by a fiber", fan.n, spawn_all_then_join, &fan);
    EXPECT_EQ(fan.rc, 0);
    EXPECT_EQ(fan.wrong, 0);
    EXPECT_EQ(fan.sum, fan.n * (fan.n - 1) / 2);
    free(fan.f);
    CHECK_OK(weft_shutdown());
}

/* @n spinners (spin_until_stopped): each counts itself in, then stays
 * alive (yielding) until released. */
struct crowd {
    uintptr_t n;
    struct spin_gate gate;
};

static void *spawn_crowd(void *arg)
{
    struct crowd *c = arg;
    weft_fiber *f = malloc(c->n * sizeof *f);
    uintptr_t failed = 0;
    if (!f)
        return (void *)c->n;
    for (uintptr_t i = 0; i < c->n; i++)
        failed += weft_spawn(&f[i], spin_until_stopped, &c->gate, NULL) != 0;
    if (failed == 0) {
        while (atomic_load(&c->gate.started) < c->n)
            weft_yield();
        atomic_store(&c->gate.stop, 1);
        for (uintptr_t i = 0; i < c->n; i++)
            failed += weft_join(f[i], NULL) != 0;
    }
    free(f);
    return (void *)failed;
}

/* TSan keeps close to 1 MiB of its own state per live fiber. */
#if defined(__SANITIZE_THREAD__)
#define CROWD_CAP 1000
#else
#define CROWD_CAP UINTPTR_MAX
#endif

/* A tenth as many fibers all alive at the same time, each on its own
 * stack: all start, wait for each other, and end. */
TEST(hundred_thousand_alive_at_once)
{
    static struct crowd c;
    c.n = count() / 10 + 1;
    if (c.n > CROWD_CAP)
        c.n = CROWD_CAP;
    void *failed = run_root("alive at once", c.n, spawn_crowd, &c);
    EXPECT_EQ((uintptr_t)failed, 0);
    EXPECT_EQ(atomic_load(&c.gate.started), c.n);
    CHECK_OK(weft_shutdown());
}

static atomic_uintptr_t detached_done, detached_sum;

static void *count_detached(void *arg)
{
    atomic_fetch_add(&detached_sum, (uintptr_t)arg);
    atomic_fetch_add(&detached_done, 1);
    return NULL;
}

static void *spawn_detached_then_wait(void *arg)
{
    uintptr_t n = (uintptr_t)arg, failed = 0;
    for (uintptr_t i = 0; i < n; i++)
        failed +=
            weft_spawn(NULL, count_detached, (void *)i, &(weft_fiber_attr){.detached = true}) != 0;
    while (atomic_load(&detached_done) < n - failed)
        weft_yield();
    return (void *)failed;
}

/* A million detached fibers (spawned by a fiber, which then waits for them
 * by yielding) all run and are reaped: shutdown reports no leak. */
TEST(million_detached_all_finish)
{
    uintptr_t n = count();
    (void)tap_seed(); /* nothing random here */
    void *failed = run_root("detached", n, spawn_detached_then_wait, (void *)n);
    EXPECT_EQ((uintptr_t)failed, 0);
    EXPECT_EQ(atomic_load(&detached_done), n);
    EXPECT_EQ(atomic_load(&detached_sum), n * (n - 1) / 2);
    CHECK_OK(weft_shutdown());
}

TAP_MAIN()
