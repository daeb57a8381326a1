/*
 * fiber_test.c - fibers through weft.h alone: spawn and join (from a plain
 * thread and from a fiber), detach, self, yield, names, stack sizes, the
 * worker index, and fibers running in parallel on more than one worker.
 */
#include "weft.h"

#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

static void *return_null(void *arg)
{
    (void)arg;
    return NULL;
}

/* A fiber's return value reaches weft_join in the main thread; a NULL
 * result pointer is accepted and a NULL return value is delivered. */
TEST(spawn_join_from_plain_thread_returns_result)
{
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    for (uintptr_t i = 0; i < 100; i++) {
        weft_fiber f = {0};
        void *res = NULL;
        CHECK_OK(weft_spawn(&f, add_one, (void *)i, NULL));
        EXPECT(f.id != 0);
        CHECK_OK(weft_join(f, &res));
        EXPECT_EQ((uintptr_t)res, i + 1);
    }
    weft_fiber f;
    void *res = (void *)1;
    CHECK_OK(weft_spawn(&f, add_one, NULL, NULL));
    CHECK_OK(weft_join(f, NULL));
    CHECK_OK(weft_spawn(&f, return_null, NULL, NULL));
    CHECK_OK(weft_join(f, &res));
    EXPECT(res == NULL);
    CHECK_OK(weft_shutdown());
}

/* Live handles are distinct: 1000 fibers outstanding at once get 1000
 * different ids, and each join gets its own fiber's result. */
TEST(outstanding_handles_are_distinct)
{
    enum { N = 1000 };
    static weft_fiber f[N];
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    for (uintptr_t i = 0; i < N; i++)
        CHECK_OK(weft_spawn(&f[i], add_one, (void *)i, NULL));
    int dups = 0;
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            dups += f[i].id == f[j].id;
    EXPECT_EQ(dups, 0);
    for (uintptr_t i = 0; i < N; i++) {
        void *res = NULL;
        CHECK_OK(weft_join(f[N - 1 - i], &res));
        EXPECT_EQ((uintptr_t)res, N - 1 - i + 1);
    }
    CHECK_OK(weft_shutdown());
}

static void *yield_then_add(void *arg)
{
    for (int i = 0; i < 10; i++)
        weft_yield();
    return (void *)((uintptr_t)arg + 1);
}

struct join_report {
    atomic_int errors;
};

static struct join_report parent_report;

/* Spawns children, some that end at once, some that yield first, joins
 * them in reverse order, and returns the sum of their results. */
static void *parent(void *arg)
{
    uintptr_t n = (uintptr_t)arg, sum = 0;
    weft_fiber f[32];
    for (uintptr_t i = 0; i < n; i++)
        if (weft_spawn(&f[i], i % 2 ? yield_then_add : add_one, (void *)i, NULL) != 0) {
            atomic_fetch_add(&parent_report.errors, 1);
            return NULL;
        }
    for (uintptr_t i = n; i-- > 0;) {
        void *r = NULL;
        if (weft_join(f[i], &r) != 0 || (uintptr_t)r != i + 1)
            atomic_fetch_add(&parent_report.errors, 1);
        sum += (uintptr_t)r;
    }
    return (void *)sum;
}

/* A fiber joins its children (parking until they end) and gets each
 * result; nested twice over through a fiber joining a parent fiber. */
TEST(join_from_fiber_returns_result)
{
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    for (int round = 0; round < 50; round++) {
        weft_fiber f;
        void *res = NULL;
        CHECK_OK(weft_spawn(&f, parent, (void *)(uintptr_t)32, NULL));
        CHECK_OK(weft_join(f, &res));
        EXPECT_EQ((uintptr_t)res, 32 * 33 / 2);
    }
    EXPECT_EQ(atomic_load(&parent_report.errors), 0);
    CHECK_OK(weft_shutdown());
}

static atomic_int early_done;

static void *mark_and_return(void *arg)
{
    atomic_store(&early_done, 1);
    return arg;
}

/* Joining a fiber that has already ended returns its result at once. */
TEST(join_after_fiber_ended)
{
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 1}));
    weft_fiber f;
    void *res = NULL;
    CHECK_OK(weft_spawn(&f, mark_and_return, (void *)(uintptr_t)1234, NULL));
    while (!atomic_load(&early_done))
        weft_yield();
    CHECK_OK(weft_join(f, &res));
    EXPECT_EQ((uintptr_t)res, 1234);
    CHECK_OK(weft_shutdown());
}

static atomic_int detached_done;

static void *count_done(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++)
        weft_yield();
    atomic_fetch_add(&detached_done, 1);
    return NULL;
}

/* Detached fibers, whether detached at spawn (with or without an out
 * handle) or by weft_detach before or after they end, all run and are
 * reaped: shutdown reports no leak. */
TEST(detach_reaps_fibers)
{
    enum { N = 200 };
    settle();
    atomic_store(&detached_done, 0);
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    for (int i = 0; i < N; i++) {
        weft_fiber f;
        switch (i % 3) {
        case 0:
            CHECK_OK(weft_spawn(NULL, count_done, NULL, &(weft_fiber_attr){.detached = true}));
            break;
        case 1:
            CHECK_OK(weft_spawn(&f, count_done, NULL, &(weft_fiber_attr){.detached = true}));
            break;
        default:
            CHECK_OK(weft_spawn(&f, count_done, NULL, NULL));
            for (int k = 0; k < (i % 2) * 20; k++) /* it may or may not have ended */
                weft_yield();
            CHECK_OK(weft_detach(f));
            break;
        }
    }
    while (atomic_load(&detached_done) < N)
        weft_yield();
    CHECK_OK(weft_shutdown());
}

static atomic_int detach_self_done;

static void *detach_self(void *arg)
{
    (void)arg;
    int rc = weft_detach(weft_self());
    atomic_store(&detach_self_done, rc == 0 ? 1 : 2);
    return NULL;
}

/* Detaching a fiber that has already ended reaps it. */
TEST(detach_after_end)
{
    settle();
    atomic_store(&early_done, 0);
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    weft_fiber f;
    CHECK_OK(weft_spawn(&f, mark_and_return, NULL, NULL));
    while (!atomic_load(&early_done))
        weft_yield();
    CHECK_OK(weft_detach(f));
    CHECK_OK(weft_shutdown());
}

/* A fiber may detach itself (as pthread_detach(pthread_self()) may). */
TEST(detach_self_is_allowed)
{
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    weft_fiber f;
    CHECK_OK(weft_spawn(&f, detach_self, NULL, NULL));
    while (!atomic_load(&detach_self_done))
        weft_yield();
    EXPECT_EQ(atomic_load(&detach_self_done), 1);
    EXPECT_EQ(weft_join(f, NULL), -ESRCH);
    CHECK_OK(weft_shutdown());
}

struct self_slot {
    weft_fiber self;
    weft_fiber self_after_yield;
};

static void *record_self(void *arg)
{
    struct self_slot *s = arg;
    s->self = weft_self();
    weft_yield();
    s->self_after_yield = weft_self();
    return NULL;
}

/* weft_self is zero in a plain thread and, in a fiber, equal to the handle
 * its spawner got, before and after a yield; fibers' selves differ. */
TEST(self_is_the_spawned_handle)
{
    enum { N = 64 };
    static struct self_slot slot[N];
    weft_fiber f[N];
    settle();
    EXPECT_EQ(weft_self().id, 0);
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    EXPECT_EQ(weft_self().id, 0);
    for (int i = 0; i < N; i++)
        CHECK_OK(weft_spawn(&f[i], record_self, &slot[i], NULL));
    for (int i = 0; i < N; i++)
        CHECK_OK(weft_join(f[i], NULL));
    for (int i = 0; i < N; i++) {
        EXPECT(slot[i].self.id != 0);
        EXPECT_EQ(slot[i].self.id, f[i].id);
        EXPECT_EQ(slot[i].self_after_yield.id, f[i].id);
    }
    CHECK_OK(weft_shutdown());
}

static void *yield_codes(void *arg)
{
    uintptr_t bad = 0;
    for (uintptr_t i = 0; i < (uintptr_t)arg; i++)
        bad += weft_yield() != 0;
    return (void *)bad;
}

/* weft_yield returns 0 from a fiber and from a plain thread, with and
 * without a runtime. */
TEST(yield_returns_zero)
{
    settle();
    EXPECT_EQ(weft_yield(), 0);
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    EXPECT_EQ(weft_yield(), 0);
    weft_fiber f[4];
    for (int i = 0; i < 4; i++)
        CHECK_OK(weft_spawn(&f[i], yield_codes, (void *)(uintptr_t)1000, NULL));
    for (int i = 0; i < 4; i++) {
        void *bad = (void *)1;
        CHECK_OK(weft_join(f[i], &bad));
        EXPECT_EQ((uintptr_t)bad, 0);
    }
    CHECK_OK(weft_shutdown());
    EXPECT_EQ(weft_yield(), 0);
}

/* Names up to WEFT_NAME_MAX - 1 bytes are accepted (the empty one too);
 * WEFT_NAME_MAX bytes or more is -ENAMETOOLONG with *out untouched. */
TEST(names_fit_or_are_refused)
{
    char name[WEFT_NAME_MAX + 8];
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    for (size_t len = 0; len < sizeof name; len++) {
        memset(name, 'a' + (int)(len % 26), len);
        name[len] = '\0';
        weft_fiber f = {.id = 0xfeed};
        int rc = weft_spawn(&f, add_one, (void *)len, &(weft_fiber_attr){.name = name});
        if (len < WEFT_NAME_MAX) {
            CHECK_OK(rc);
            name[0] = 'Z'; /* the name was copied: changing ours harms nothing */
            void *res = NULL;
            CHECK_OK(weft_join(f, &res));
            EXPECT_EQ((uintptr_t)res, len + 1);
        } else {
            EXPECT_EQ(rc, -ENAMETOOLONG);
            EXPECT_EQ(f.id, 0xfeed);
        }
    }
    CHECK_OK(weft_shutdown());
}

/* Runs deep_fiber (testutil.h: depth + 1 frames of FRAME_BYTES, each
 * written and read back) on a stack of @stack_size bytes. */
static void check_stack(size_t stack_size, unsigned depth)
{
    weft_fiber f;
    void *res = NULL;
    printf("# stack %zu bytes, %u frames of %d\n", stack_size, depth + 1, FRAME_BYTES);
    CHECK_OK(weft_spawn(&f, deep_fiber, (void *)(uintptr_t)depth,
                        &(weft_fiber_attr){.stack_size = stack_size}));
    CHECK_OK(weft_join(f, &res));
    EXPECT_EQ((uint64_t)(uintptr_t)res, use_stack_expected(depth));
}

/* Stack sizes from WEFT_STACK_MIN to WEFT_STACK_MAX are accepted and
 * usable: 8 KiB of frames on the minimum stack, 32 KiB on the default,
 * ~6.8 MiB on an 8 MiB stack; sizes out of range are -EINVAL with *out
 * untouched. */
TEST(stack_sizes)
{
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    check_stack(WEFT_STACK_MIN, 1);
    check_stack(WEFT_STACK_MIN + 1, 1);
    check_stack(0, 7);
    check_stack(WEFT_STACK_DEFAULT, 7);
    check_stack((size_t)8 << 20, 1700);
    check_stack(WEFT_STACK_MAX, 1700);
    static const size_t bad[] = {1, WEFT_STACK_MIN - 1, WEFT_STACK_MAX + 1, SIZE_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        weft_fiber f = {.id = 0xfeed};
        EXPECT_EQ(weft_spawn(&f, add_one, NULL, &(weft_fiber_attr){.stack_size = bad[i]}), -EINVAL);
        EXPECT_EQ(f.id, 0xfeed);
        EXPECT_EQ(weft_spawn(NULL, add_one, NULL,
                             &(weft_fiber_attr){.stack_size = bad[i], .detached = true}),
                  -EINVAL);
    }
    CHECK_OK(weft_shutdown());
}

static void *worker_index_range(void *arg)
{
    int n = (int)(intptr_t)arg;
    uintptr_t bad = 0;
    for (int i = 0; i < 200; i++) {
        int w = weft_worker_index();
        bad += w < 0 || w >= n;
        weft_yield();
    }
    return (void *)bad;
}

/* weft_worker_index is in 0..workers-1 in fibers (before and after yields
 * that may migrate them) and -EPERM in a plain thread. */
TEST(worker_index_in_range)
{
    settle();
    EXPECT_EQ(weft_worker_index(), -EPERM);
    for (int n = 1; n <= 3; n++) {
        CHECK_OK(weft_init(&(weft_config){.workers = n}));
        EXPECT_EQ(weft_worker_index(), -EPERM);
        weft_fiber f[8];
        for (int i = 0; i < 8; i++)
            CHECK_OK(weft_spawn(&f[i], worker_index_range, (void *)(intptr_t)n, NULL));
        for (int i = 0; i < 8; i++) {
            void *bad = (void *)1;
            CHECK_OK(weft_join(f[i], &bad));
            EXPECT_EQ((uintptr_t)bad, 0);
        }
        CHECK_OK(weft_shutdown());
    }
}

/* Fibers that spin (yielding) until two distinct workers have been seen
 * running one of them, or 20 s have passed. */
static atomic_uint seen_mask;

static void *spin_until_two_workers(void *arg)
{
    int64_t give_up = *(const int64_t *)arg;
    for (;;) {
        int w = weft_worker_index();
        if (w >= 0 && w < 32)
            atomic_fetch_or(&seen_mask, 1u << w);
        unsigned m = atomic_load(&seen_mask);
        if ((m & (m - 1)) != 0 || weft_now() > give_up)
            return NULL;
        for (volatile int i = 0; i < 1000; i++) /* a little work between yields */
            ;
        weft_yield();
    }
}

static void *spawn_spinners(void *arg)
{
    weft_fiber f[4];
    uintptr_t err = 0;
    for (int i = 0; i < 4; i++)
        err += weft_spawn(&f[i], spin_until_two_workers, arg, NULL) != 0;
    for (int i = 0; i < 4 && !err; i++)
        err += weft_join(f[i], NULL) != 0;
    return (void *)err;
}

static int popcount(unsigned m)
{
    int n = 0;
    for (; m; m &= m - 1)
        n++;
    return n;
}

/* With two workers and parallel work, fibers run on both workers: when
 * spawned from a plain thread (global queue) and when spawned by a fiber
 * (the other worker must steal them). */
TEST(parallel_work_uses_both_workers)
{
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    int64_t give_up = weft_deadline_after((int64_t)20 * 1000000000);

    atomic_store(&seen_mask, 0);
    weft_fiber f[4];
    for (int i = 0; i < 4; i++)
        CHECK_OK(weft_spawn(&f[i], spin_until_two_workers, &give_up, NULL));
    for (int i = 0; i < 4; i++)
        CHECK_OK(weft_join(f[i], NULL));
    printf("# from a plain thread: worker mask %#x\n", atomic_load(&seen_mask));
    EXPECT_EQ(popcount(atomic_load(&seen_mask)), 2);

    atomic_store(&seen_mask, 0);
    give_up = weft_deadline_after((int64_t)20 * 1000000000);
    weft_fiber root;
    void *err = (void *)1;
    CHECK_OK(weft_spawn(&root, spawn_spinners, &give_up, NULL));
    CHECK_OK(weft_join(root, &err));
    EXPECT_EQ((uintptr_t)err, 0);
    printf("# from a fiber: worker mask %#x\n", atomic_load(&seen_mask));
    EXPECT_EQ(popcount(atomic_load(&seen_mask)), 2);
    CHECK_OK(weft_shutdown());
}

static void *spawn_grandchild(void *arg)
{
    weft_fiber f;
    void *r = NULL;
    if (weft_spawn(&f, add_one, arg, &(weft_fiber_attr){.name = "grandchild"}) != 0)
        return NULL;
    if (weft_join(f, &r) != 0)
        return NULL;
    return (void *)((uintptr_t)r * 2);
}

/* Fibers spawned by fibers with attributes, joined at several levels, pass
 * results up intact, with the seeded random worker count. */
TEST(nested_spawn_with_attrs)
{
    uint64_t seed = tap_seed();
    int workers = 1 + (int)(seed % 3);
    printf("# workers %d\n", workers);
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = workers}));
    weft_fiber f[16];
    for (uintptr_t i = 0; i < 16; i++)
        CHECK_OK(weft_spawn(&f[i], spawn_grandchild, (void *)i,
                            &(weft_fiber_attr){.stack_size = 32 * 1024, .name = "child"}));
    for (uintptr_t i = 0; i < 16; i++) {
        void *r = NULL;
        CHECK_OK(weft_join(f[i], &r));
        EXPECT_EQ((uintptr_t)r, (i + 1) * 2);
    }
    CHECK_OK(weft_shutdown());
}

struct crowd_flags {
    struct spin_gate spin; /* the spinners: started, and told to end */
    atomic_int marks;      /* late fibers that have run */
};

static void *mark(void *arg)
{
    struct crowd_flags *c = arg;
    atomic_fetch_add(&c->marks, 1);
    return NULL;
}

/* Spawns two spinners that yield to each other, then (from the main thread,
 * through the global queue) @late fibers that only count themselves; waits
 * up to 20 s for all of them to run, then stops the spinners. Returns how
 * many late fibers ran in time. */
static int late_fibers_run(int workers, int late, bool wait_for_spinners)
{
    static struct crowd_flags c;
    atomic_store(&c.spin.started, 0);
    atomic_store(&c.spin.stop, 0);
    atomic_store(&c.marks, 0);
    CHECK_OK(weft_init(&(weft_config){.workers = workers}));
    weft_fiber sp[2], lf[8];
    for (int i = 0; i < 2; i++)
        CHECK_OK(weft_spawn(&sp[i], spin_until_stopped, &c.spin, NULL));
    while (wait_for_spinners && atomic_load(&c.spin.started) < 2)
        weft_yield();
    for (int i = 0; i < late; i++)
        CHECK_OK(weft_spawn(&lf[i], mark, &c, NULL));
    int64_t give_up = weft_deadline_after((int64_t)20 * 1000000000);
    while (atomic_load(&c.marks) < late && weft_now() < give_up)
        weft_yield();
    int ran = atomic_load(&c.marks);
    atomic_store(&c.spin.stop, 1);
    for (int i = 0; i < 2; i++)
        CHECK_OK(weft_join(sp[i], NULL));
    for (int i = 0; i < late; i++)
        CHECK_OK(weft_join(lf[i], NULL));
    CHECK_OK(weft_shutdown());
    return ran;
}

/* Fibers yielding to each other on the only worker do not starve a fiber
 * that a plain thread spawned (it waits in the global queue): it runs
 * within a bounded number of picks, here within 20 s. */
TEST(yielders_do_not_starve_global_queue)
{
    settle();
    EXPECT_EQ(late_fibers_run(1, 1, true), 1);
}

/* Fibers spawned from a plain thread in a burst, while two workers are
 * idle, all run (within 20 s) even though two of them yield until told to
 * stop: a wake-up is not lost, and none starves. Up to 20 rounds, stopping
 * at the first that falls short. */
TEST(burst_from_plain_thread_all_run)
{
    settle();
    for (int round = 0; round < 20; round++) {
        int ran = late_fibers_run(2, 8, false);
        if (ran != 8) {
            printf("# round %d: %d of 8 ran in 20 s\n", round, ran);
            EXPECT_EQ(ran, 8);
            break;
        }
    }
}

TAP_MAIN()
