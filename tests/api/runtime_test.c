/*
 * runtime_test.c - the runtime's life cycle, black box through weft.h alone:
 * weft_init with each config field and each environment variable standing
 * in for one, refusal of bad values, weft_shutdown's codes and abandonment
 * of live fibers, weft_main, weft_workers, the version and weft_strerror.
 */
#include "weft.h"

#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

static const char *const env_names[] = {"WEFT_WORKERS", "WEFT_PIN", "WEFT_STACK_SIZE",
                                        "WEFT_STACK_GUARD"};

static void clear_env(void)
{
    for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++)
        unsetenv(env_names[i]);
}

/* Start each case from a stopped runtime (settle) and a clean environment,
 * so that a case that bailed out early does not fail the ones after it. */
static void settle_env(void)
{
    settle();
    clear_env();
}

/* The running runtime runs a fiber and hands its result to a join. */
static void check_runs_fiber(void)
{
    weft_fiber f;
    void *res = NULL;
    CHECK_OK(weft_spawn(&f, add_one, (void *)(uintptr_t)41, NULL));
    CHECK_OK(weft_join(f, &res));
    CHECK_EQ((uintptr_t)res, 42);
}

/* A fresh two-worker runtime (under whatever environment is set) starts,
 * runs a fiber and stops cleanly. */
static void check_runtime_works(void)
{
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    check_runs_fiber();
    CHECK_OK(weft_shutdown());
}

/* ~6.8 MiB of deep_fiber frames: fits an 8 MiB stack, overflows the 64 KiB default. */
#define DEEP_DEPTH 1700u

/* A fiber spawned with default attributes can use about 7 MiB of stack. */
static void check_default_stack_is_big(void)
{
    weft_fiber f;
    void *res = NULL;
    CHECK_OK(weft_spawn(&f, deep_fiber, (void *)(uintptr_t)DEEP_DEPTH, NULL));
    CHECK_OK(weft_join(f, &res));
    CHECK_EQ((uint64_t)(uintptr_t)res, use_stack_expected(DEEP_DEPTH));
}

/* weft_init(NULL) starts a runtime with at least one worker that runs fibers. */
TEST(init_with_defaults_runs_fibers)
{
    settle_env();
    CHECK_OK(weft_init(NULL));
    int n = weft_workers();
    EXPECT(n >= 1 && n <= WEFT_WORKERS_MAX);
    check_runs_fiber();
    CHECK_OK(weft_shutdown());
}

/* A zeroed config is the same as NULL: all defaults. */
TEST(init_with_zeroed_config_runs_fibers)
{
    settle_env();
    CHECK_OK(weft_init(&(weft_config){0}));
    EXPECT(weft_workers() >= 1);
    check_runs_fiber();
    CHECK_OK(weft_shutdown());
}

/* Each config field, alone, at in-range values, is accepted and honoured. */
TEST(init_accepts_each_config_field)
{
    static const weft_config good[] = {
        {.workers = 1},
        {.workers = 2},
        {.workers = 3},
        {.workers = 16},
        {.pin = WEFT_PIN_ON},
        {.pin = WEFT_PIN_OFF},
        {.pin = WEFT_PIN_DEFAULT},
        {.stack_size = WEFT_STACK_MIN},
        {.stack_size = WEFT_STACK_MIN + 1},
        {.stack_size = WEFT_STACK_DEFAULT},
        {.guard = WEFT_GUARD_DEFAULT},
        {.guard = WEFT_GUARD_MPROTECT},
        {.guard = WEFT_GUARD_CANARY},
        {.workers = 2, .pin = WEFT_PIN_ON, .stack_size = 128 * 1024, .guard = WEFT_GUARD_MPROTECT},
    };
    settle_env();
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        printf("# config %zu: workers %d pin %d stack %zu guard %d\n", i, good[i].workers,
               (int)good[i].pin, good[i].stack_size, (int)good[i].guard);
        CHECK_OK(weft_init(&good[i]));
        if (good[i].workers)
            EXPECT_EQ(weft_workers(), good[i].workers);
        check_runs_fiber();
        CHECK_OK(weft_shutdown());
    }
}

/* The largest default stack size, WEFT_STACK_MAX, is accepted and fibers
 * run on it (address space is reserved, not memory). */
TEST(init_with_stack_max_default)
{
    settle_env();
    CHECK_OK(weft_init(&(weft_config){.workers = 2, .stack_size = WEFT_STACK_MAX}));
    check_runs_fiber();
    check_default_stack_is_big();
    CHECK_OK(weft_shutdown());
}

/* WEFT_GUARD_MADVISE is either available and works, or refused with
 * -ENOTSUP leaving the runtime stopped. */
TEST(init_guard_madvise_works_or_is_not_supported)
{
    settle_env();
    int rc = weft_init(&(weft_config){.guard = WEFT_GUARD_MADVISE});
    printf("# WEFT_GUARD_MADVISE: %d (%s)\n", rc, weft_strerror(rc));
    CHECK(rc == 0 || rc == -ENOTSUP);
    if (rc == -ENOTSUP) {
        EXPECT_EQ(weft_workers(), -ECANCELED);
        return;
    }
    check_runs_fiber();
    CHECK_OK(weft_shutdown());
}

/* config.stack_size sets the default stack of fibers spawned without one. */
TEST(init_stack_size_field_is_the_default_stack)
{
    settle_env();
    CHECK_OK(weft_init(&(weft_config){.workers = 2, .stack_size = 8u << 20}));
    check_default_stack_is_big();
    CHECK_OK(weft_shutdown());
}

/* Out-of-range fields are refused with -EINVAL and start nothing; a good
 * config works right after. */
TEST(init_refuses_bad_config)
{
    static const weft_config bad[] = {
        {.workers = -1},
        {.workers = INT_MIN},
        {.workers = WEFT_WORKERS_MAX + 1},
        {.workers = INT_MAX},
        {.stack_size = 1},
        {.stack_size = WEFT_STACK_MIN - 1},
        {.stack_size = WEFT_STACK_MAX + 1},
        {.stack_size = SIZE_MAX},
        {.guard = (enum weft_guard)(WEFT_GUARD_CANARY + 1)},
        {.guard = (enum weft_guard) - 1},
        {.pin = (enum weft_pin)(WEFT_PIN_OFF + 1)},
        {.pin = (enum weft_pin) - 1},
        {.workers = 2, .stack_size = WEFT_STACK_MAX + 1},
    };
    settle_env();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = weft_init(&bad[i]);
        if (rc != -EINVAL)
            printf("# bad config %zu: workers %d pin %d stack %zu guard %d\n", i, bad[i].workers,
                   (int)bad[i].pin, bad[i].stack_size, (int)bad[i].guard);
        EXPECT_EQ(rc, -EINVAL);
        if (rc == 0)
            (void)weft_shutdown();
        EXPECT_EQ(weft_workers(), -ECANCELED);
    }
    check_runtime_works();
}

/* WEFT_WORKERS sets the worker count when config.workers is 0; a non-zero
 * field wins over it, even over a malformed one. */
TEST(env_workers_good_values)
{
    settle_env();
    setenv("WEFT_WORKERS", "3", 1);
    CHECK_OK(weft_init(NULL));
    EXPECT_EQ(weft_workers(), 3);
    check_runs_fiber();
    CHECK_OK(weft_shutdown());

    setenv("WEFT_WORKERS", "1", 1);
    CHECK_OK(weft_init(&(weft_config){0}));
    EXPECT_EQ(weft_workers(), 1);
    CHECK_OK(weft_shutdown());

    setenv("WEFT_WORKERS", "3", 1);
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    EXPECT_EQ(weft_workers(), 2);
    CHECK_OK(weft_shutdown());

    clear_env();
}

/* An environment variable is read only when it stands in for a zero
 * field: a malformed one is ignored when the field is set. */
TEST(env_ignored_when_field_is_set)
{
    static const struct {
        const char *name, *value;
        weft_config cfg;
    } cases[] = {
        {"WEFT_WORKERS", "abc", {.workers = 2}},
        {"WEFT_PIN", "yes", {.workers = 2, .pin = WEFT_PIN_OFF}},
        {"WEFT_STACK_SIZE", "1", {.workers = 2, .stack_size = WEFT_STACK_DEFAULT}},
        {"WEFT_STACK_GUARD", "bogus", {.workers = 2, .guard = WEFT_GUARD_CANARY}},
    };
    settle_env();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        clear_env();
        setenv(cases[i].name, cases[i].value, 1);
        int rc = weft_init(&cases[i].cfg);
        if (rc != 0)
            printf("# %s=%s with its field set: %d\n", cases[i].name, cases[i].value, rc);
        EXPECT_EQ(rc, 0);
        if (rc == 0) {
            EXPECT_EQ(weft_workers(), 2);
            check_runs_fiber();
            CHECK_OK(weft_shutdown());
        }
    }
    clear_env();
}

/* Each environment variable with a malformed or out-of-range value makes
 * weft_init fail with -EINVAL and start nothing. */
TEST(env_bad_values_are_refused)
{
    static const struct {
        const char *name, *value;
    } bad[] = {
        {"WEFT_WORKERS", "0"},
        {"WEFT_WORKERS", "-1"},
        {"WEFT_WORKERS", "1025"},
        {"WEFT_WORKERS", "99999999999999999999"},
        {"WEFT_WORKERS", "abc"},
        {"WEFT_WORKERS", "3x"},
        {"WEFT_PIN", "2"},
        {"WEFT_PIN", "-1"},
        {"WEFT_PIN", "yes"},
        {"WEFT_STACK_SIZE", "0"},
        {"WEFT_STACK_SIZE", "16383"},
        {"WEFT_STACK_SIZE", "1073741825"},
        {"WEFT_STACK_SIZE", "-16384"},
        {"WEFT_STACK_SIZE", "abc"},
        {"WEFT_STACK_SIZE", "99999999999999999999999"},
        {"WEFT_STACK_GUARD", "bogus"},
        {"WEFT_STACK_GUARD", "mprotectx"},
        {"WEFT_STACK_GUARD", "7"},
    };
    settle_env();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clear_env();
        setenv(bad[i].name, bad[i].value, 1);
        int rc = weft_init(NULL);
        if (rc != -EINVAL)
            printf("# %s=%s gave %d\n", bad[i].name, bad[i].value, rc);
        EXPECT_EQ(rc, -EINVAL);
        if (rc == 0)
            (void)weft_shutdown();
        EXPECT_EQ(weft_workers(), -ECANCELED);
    }
    clear_env();
    CHECK_OK(weft_init(NULL));
    CHECK_OK(weft_shutdown());
}

/* WEFT_PIN=0 and WEFT_PIN=1 are both accepted and the runtime works. */
TEST(env_pin_good_values)
{
    static const char *const values[] = {"0", "1"};
    settle_env();
    for (size_t i = 0; i < 2; i++) {
        setenv("WEFT_PIN", values[i], 1);
        check_runtime_works();
    }
    clear_env();
}

/* WEFT_STACK_SIZE is the default stack size: 16384 works, 8 MiB lets a
 * fiber use ~7 MiB of stack. */
TEST(env_stack_size_good_values)
{
    settle_env();
    setenv("WEFT_STACK_SIZE", "16384", 1);
    check_runtime_works();

    setenv("WEFT_STACK_SIZE", "8388608", 1);
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    check_default_stack_is_big();
    CHECK_OK(weft_shutdown());
    clear_env();
}

/* WEFT_STACK_GUARD accepts mprotect and canary, and madvise where the kernel
 * has it (-ENOTSUP otherwise). */
TEST(env_stack_guard_good_values)
{
    static const char *const values[] = {"mprotect", "canary", "madvise"};
    settle_env();
    for (size_t i = 0; i < 3; i++) {
        setenv("WEFT_STACK_GUARD", values[i], 1);
        int rc = weft_init(&(weft_config){.workers = 2});
        printf("# WEFT_STACK_GUARD=%s: %d\n", values[i], rc);
        if (i == 2 && rc == -ENOTSUP)
            continue;
        CHECK_OK(rc);
        check_runs_fiber();
        CHECK_OK(weft_shutdown());
    }
    clear_env();
}

/* A second weft_init while running is -EBUSY and leaves the first runtime
 * (and its worker count) untouched. */
TEST(double_init_is_busy)
{
    settle_env();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    EXPECT_EQ(weft_init(&(weft_config){.workers = 3}), -EBUSY);
    EXPECT_EQ(weft_init(NULL), -EBUSY);
    EXPECT_EQ(weft_workers(), 2);
    check_runs_fiber();
    CHECK_OK(weft_shutdown());
}

/* weft_shutdown with no runtime is -ECANCELED, before any init and after a
 * shutdown. */
TEST(shutdown_when_not_running_is_canceled)
{
    settle_env();
    EXPECT_EQ(weft_shutdown(), -ECANCELED);
    CHECK_OK(weft_init(&(weft_config){.workers = 1}));
    CHECK_OK(weft_shutdown());
    EXPECT_EQ(weft_shutdown(), -ECANCELED);
    EXPECT_EQ(weft_shutdown(), -ECANCELED);
}

/* 50 init/shutdown cycles with random worker counts, pinning and guards
 * each run fibers and leak nothing. */
TEST(init_shutdown_cycles)
{
    static const enum weft_guard guards[] = {WEFT_GUARD_DEFAULT, WEFT_GUARD_MPROTECT,
                                             WEFT_GUARD_CANARY};
    uint64_t x = tap_seed() | 1;
    settle_env();
    for (int i = 0; i < 50; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        weft_config cfg = {
            .workers = 1 + (int)(x % 4),
            .pin = (x >> 8) & 1 ? WEFT_PIN_ON : WEFT_PIN_OFF,
            .guard = guards[(x >> 16) % 3],
        };
        CHECK_OK(weft_init(&cfg));
        CHECK_EQ(weft_workers(), cfg.workers);
        weft_fiber f[10];
        for (uintptr_t j = 0; j < 10; j++)
            CHECK_OK(weft_spawn(&f[j], add_one, (void *)j, NULL));
        for (uintptr_t j = 0; j < 10; j++) {
            void *res = NULL;
            CHECK_OK(weft_join(f[j], &res));
            EXPECT_EQ((uintptr_t)res, j + 1);
        }
        CHECK_OK(weft_shutdown());
    }
}

/* weft_workers reports the configured count while running and -ECANCELED
 * before and after. */
TEST(workers_reports_count)
{
    settle_env();
    EXPECT_EQ(weft_workers(), -ECANCELED);
    for (int n = 1; n <= 4; n++) {
        CHECK_OK(weft_init(&(weft_config){.workers = n}));
        EXPECT_EQ(weft_workers(), n);
        CHECK_OK(weft_shutdown());
        EXPECT_EQ(weft_workers(), -ECANCELED);
    }
}

static void *workers_from_fiber(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)weft_workers();
}

/* weft_main runs the root fiber, returns 0 and its result, and leaves the
 * runtime stopped; the config is honoured. */
TEST(main_returns_root_result)
{
    void *res = NULL;
    settle_env();
    CHECK_OK(weft_main(NULL, add_one, (void *)(uintptr_t)99, &res));
    EXPECT_EQ((uintptr_t)res, 100);
    EXPECT_EQ(weft_workers(), -ECANCELED);

    CHECK_OK(weft_main(&(weft_config){.workers = 3}, workers_from_fiber, NULL, &res));
    EXPECT_EQ((intptr_t)res, 3);
    CHECK_OK(weft_main(&(weft_config){.workers = 1}, add_one, NULL, NULL));
    EXPECT_EQ(weft_workers(), -ECANCELED);
    EXPECT_EQ(weft_shutdown(), -ECANCELED);
}

static void *root_spawns_tree(void *arg)
{
    uintptr_t n = (uintptr_t)arg, sum = 0;
    weft_fiber f[64];
    for (uintptr_t i = 0; i < n; i++)
        if (weft_spawn(&f[i], add_one, (void *)i, NULL) != 0)
            return NULL;
    for (uintptr_t i = 0; i < n; i++) {
        void *r;
        if (weft_join(f[i], &r) != 0)
            return NULL;
        sum += (uintptr_t)r;
    }
    return (void *)sum;
}

/* The root fiber of weft_main can spawn and join fibers. */
TEST(main_root_spawns_and_joins)
{
    void *res = NULL;
    settle_env();
    CHECK_OK(
        weft_main(&(weft_config){.workers = 2}, root_spawns_tree, (void *)(uintptr_t)64, &res));
    EXPECT_EQ((uintptr_t)res, 64 * 65 / 2);
}

static atomic_int never_ran;

static void *must_not_run(void *arg)
{
    (void)arg;
    atomic_fetch_add(&never_ran, 1);
    return NULL;
}

/* weft_main refuses a NULL root, a bad config and a running runtime, and
 * runs nothing when it does. */
TEST(main_refusals)
{
    void *res = (void *)(uintptr_t)0x5a5a;
    settle_env();
    EXPECT_EQ(weft_main(NULL, NULL, NULL, &res), -EINVAL);
    EXPECT_EQ(weft_main(&(weft_config){.workers = -1}, must_not_run, NULL, &res), -EINVAL);
    EXPECT_EQ(weft_main(&(weft_config){.stack_size = 1}, must_not_run, NULL, &res), -EINVAL);
    EXPECT_EQ(weft_workers(), -ECANCELED);
    CHECK_OK(weft_init(&(weft_config){.workers = 1}));
    EXPECT_EQ(weft_main(NULL, must_not_run, NULL, &res), -EBUSY);
    EXPECT_EQ(weft_workers(), 1);
    CHECK_OK(weft_shutdown());
    EXPECT_EQ(atomic_load(&never_ran), 0);
    EXPECT_EQ((uintptr_t)res, 0x5a5a);
}

/* The spinners here (spin_until_stopped) are never told to stop: runnable
 * forever, they must be abandoned and never block a shutdown. */
static struct spin_gate main_spin;

static void *root_leaves_detached_spinner(void *arg)
{
    (void)arg;
    if (weft_spawn(NULL, spin_until_stopped, &main_spin, &(weft_fiber_attr){.detached = true}) != 0)
        return NULL;
    while (!atomic_load(&main_spin.started))
        weft_yield();
    return (void *)(uintptr_t)7;
}

/* A root that returns while a detached fiber is still runnable makes
 * weft_main return -EBUSY, with the result set and the runtime stopped. */
TEST(main_with_live_detached_fiber_is_busy)
{
    void *res = NULL;
    settle_env();
    EXPECT_EQ(weft_main(&(weft_config){.workers = 1}, root_leaves_detached_spinner, NULL, &res),
              -EBUSY);
    EXPECT_EQ((uintptr_t)res, 7);
    EXPECT_EQ(weft_workers(), -ECANCELED);
    check_runtime_works();
}

static atomic_int unjoined_ran;

static void *mark_ran(void *arg)
{
    (void)arg;
    atomic_store(&unjoined_ran, 1);
    return NULL;
}

static void *root_leaves_unjoined(void *arg)
{
    (void)arg;
    weft_fiber f;
    if (weft_spawn(&f, mark_ran, NULL, NULL) != 0)
        return NULL;
    while (!atomic_load(&unjoined_ran))
        weft_yield();
    return (void *)(uintptr_t)8;
}

/* A fiber that ended but was never joined is a leak: weft_main is -EBUSY. */
TEST(main_with_ended_unjoined_fiber_is_busy)
{
    void *res = NULL;
    settle_env();
    EXPECT_EQ(weft_main(&(weft_config){.workers = 2}, root_leaves_unjoined, NULL, &res), -EBUSY);
    EXPECT_EQ((uintptr_t)res, 8);
    EXPECT_EQ(weft_workers(), -ECANCELED);
}

static struct spin_gate abandon_spin;

static void *join_spinner(void *arg)
{
    (void)arg;
    weft_fiber f;
    if (weft_spawn(&f, spin_until_stopped, &abandon_spin, NULL) != 0)
        return NULL;
    (void)weft_join(f, NULL); /* parks for good: the child never stops */
    return NULL;
}

/* Shutdown with fibers runnable (joinable and detached), parked in a join,
 * and ended but unjoined returns -EBUSY, does not hang, and a fresh runtime
 * works afterwards. */
TEST(shutdown_abandons_live_fibers)
{
    settle_env();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    weft_fiber runnable, parked, ended;
    CHECK_OK(weft_spawn(&runnable, spin_until_stopped, &abandon_spin, NULL));
    CHECK_OK(
        weft_spawn(NULL, spin_until_stopped, &abandon_spin, &(weft_fiber_attr){.detached = true}));
    CHECK_OK(weft_spawn(&parked, join_spinner, NULL, NULL));
    atomic_store(&unjoined_ran, 0);
    CHECK_OK(weft_spawn(&ended, mark_ran, NULL, NULL));
    while (atomic_load(&abandon_spin.started) < 3 || !atomic_load(&unjoined_ran))
        weft_yield();
    EXPECT_EQ(weft_shutdown(), -EBUSY);
    EXPECT_EQ(weft_workers(), -ECANCELED);
    EXPECT_EQ(weft_shutdown(), -ECANCELED);
    check_runtime_works();
}

static atomic_int sleeper_started;

static void *long_sleeper(void *arg)
{
    (void)arg;
    atomic_store(&sleeper_started, 1);
    (void)weft_sleep((int64_t)3600 * 1000000000);
    return NULL;
}

/* A fiber parked in a one-hour sleep is abandoned at shutdown: -EBUSY,
 * well before its deadline. */
TEST(shutdown_abandons_sleeping_fiber)
{
    settle_env();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    weft_fiber f;
    CHECK_OK(weft_spawn(&f, long_sleeper, NULL, NULL));
    CHECK_OK(weft_spawn(NULL, long_sleeper, NULL, &(weft_fiber_attr){.detached = true}));
    while (!atomic_load(&sleeper_started))
        weft_yield();
    int64_t t0 = weft_now();
    EXPECT_EQ(weft_shutdown(), -EBUSY);
    EXPECT(weft_now() - t0 < (int64_t)60 * 1000000000);
    EXPECT_EQ(weft_workers(), -ECANCELED);
}

struct join_waiter {
    weft_fiber f;
    atomic_int entered;
    int rc;
};

static void *join_from_thread(void *arg)
{
    struct join_waiter *w = arg;
    atomic_store(&w->entered, 1);
    w->rc = weft_join(w->f, NULL);
    return NULL;
}

static struct spin_gate join_spin;

/* A plain thread blocked in weft_join on a fiber that never ends gets
 * -ECANCELED when the runtime shuts down. */
TEST(shutdown_cancels_plain_thread_join)
{
    settle_env();
    CHECK_OK(weft_init(&(weft_config){.workers = 1}));
    struct join_waiter w = {.rc = 1};
    CHECK_OK(weft_spawn(&w.f, spin_until_stopped, &join_spin, NULL));
    pthread_t t;
    CHECK_OK(pthread_create(&t, NULL, join_from_thread, &w));
    while (!atomic_load(&w.entered) || !atomic_load(&join_spin.started))
        weft_yield();
    for (int i = 0; i < 1000; i++) /* most likely blocked in the join by now */
        weft_yield();
    EXPECT_EQ(weft_shutdown(), -EBUSY);
    CHECK_OK(pthread_join(t, NULL));
    EXPECT_EQ(w.rc, -ECANCELED);
}

static void *shutdown_from_thread(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)weft_shutdown();
}

/* Any plain thread may shut down the runtime, not only the one that
 * started it. */
TEST(shutdown_from_other_thread)
{
    settle_env();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    check_runs_fiber();
    pthread_t t;
    void *rc = (void *)1;
    CHECK_OK(pthread_create(&t, NULL, shutdown_from_thread, NULL));
    CHECK_OK(pthread_join(t, &rc));
    EXPECT_EQ((intptr_t)rc, 0);
    EXPECT_EQ(weft_workers(), -ECANCELED);
}

/* The library was built from the header the test was compiled against. */
TEST(version_matches_header)
{
    EXPECT_EQ(weft_version_number(), WEFT_VERSION_NUMBER);
    EXPECT_EQ(WEFT_VERSION_NUMBER,
              WEFT_VERSION_MAJOR * 10000 + WEFT_VERSION_MINOR * 100 + WEFT_VERSION_PATCH);
}

/* weft_strerror gives a distinct, non-empty string for every code weft
 * documents, and "unknown error" for codes it does not use. */
TEST(strerror_distinct_for_every_code)
{
    static const int codes[] = {0,          -EINVAL, -EBADF,        -ESRCH,  -EDEADLK, -EBUSY,
                                -ECANCELED, -ENOMEM, -ENAMETOOLONG, -EAGAIN, -EPERM,   -ENOTSUP};
    enum { N = sizeof codes / sizeof codes[0] };
    const char *s[N];
    for (int i = 0; i < N; i++) {
        s[i] = weft_strerror(codes[i]);
        CHECK(s[i] != NULL);
        EXPECT(s[i][0] != '\0');
        EXPECT(strcmp(s[i], "unknown error") != 0);
        EXPECT(s[i] == weft_strerror(codes[i]) || strcmp(s[i], weft_strerror(codes[i])) == 0);
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            if (strcmp(s[i], s[j]) == 0) {
                printf("# codes %d and %d share \"%s\"\n", codes[i], codes[j], s[i]);
                EXPECT(strcmp(s[i], s[j]) != 0);
            }
    static const int unknown[] = {-99999, INT_MIN, -4095};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *u = weft_strerror(unknown[i]);
        CHECK(u != NULL);
        EXPECT(strcmp(u, "unknown error") == 0);
    }
}

TAP_MAIN()
