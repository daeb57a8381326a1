/*
 * group_test.c - weft_group and weft_map through weft.h alone: wait for
 * all with the first error, wait for any with each member reported once,
 * cancellation of the running members and of later ones, cancel on error,
 * destroy refused while members run, and a parallel map that visits every
 * element once.
 */
#include "weft.h"

#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#define MS ((int64_t)1000000)
#define S  ((int64_t)1000000000)

static _Atomic long ran;

static int task_ok(void *arg)
{
    (void)arg;
    atomic_fetch_add(&ran, 1);
    return 0;
}

/* A member that ends in a set place: once exactly @running members of @g
 * are left (itself included), it returns @code. End order is thereby fixed
 * by the group's own count, not by timing. */
struct ordered {
    weft_group *g;
    int running, code;
};

/* Set once every ordered member is spawned: before that the count is not
 * yet the one the order is read from. */
static _Atomic int ordered_go;

static int task_ordered(void *arg)
{
    struct ordered *o = arg;
    while (!atomic_load(&ordered_go))
        weft_yield();
    while (weft_group_running(o->g) > o->running)
        weft_yield();
    return o->code;
}

static int task_code(void *arg)
{
    weft_sleep((intptr_t)arg * MS);
    return -(int)(intptr_t)arg;
}

static int task_sleep_forever_ish(void *arg)
{
    (void)arg;
    return weft_sleep(60 * S); /* -ECANCELED when the group is cancelled */
}

static void *wait_all(void *arg)
{
    (void)arg;
    weft_group g = WEFT_GROUP_INIT;
    atomic_store(&ran, 0);
    for (int i = 0; i < 100; i++)
        EXPECT_EQ(weft_group_go(&g, task_ok, NULL, NULL), i);
    EXPECT_EQ(weft_group_wait(&g), 0);
    EXPECT_EQ(atomic_load(&ran), 100);
    EXPECT_EQ(weft_group_running(&g), 0);
    EXPECT_EQ(weft_group_wait(&g), 0); /* nothing left: at once */
    EXPECT_EQ(weft_group_destroy(&g), 0);

    /* First error in end order: -3 ends second, -9 last. */
    struct ordered last = {&g, 1, -9}, second = {&g, 2, -3}, first = {&g, 3, 0};
    atomic_store(&ordered_go, 0);
    EXPECT_EQ(weft_group_go(&g, task_ordered, &last, NULL), 0);
    EXPECT_EQ(weft_group_go(&g, task_ordered, &second, NULL), 1);
    EXPECT_EQ(weft_group_go(&g, task_ordered, &first, NULL), 2);
    atomic_store(&ordered_go, 1);
    EXPECT_EQ(weft_group_wait(&g), -3);
    EXPECT_EQ(weft_group_destroy(&g), 0);
    return NULL;
}

/* weft_group_wait waits for every member and returns the first error. */
TEST(wait_for_all_and_first_error)
{
    settle();
    CHECK_OK(weft_main(&(weft_config){.workers = 2}, wait_all, NULL, NULL));
}

static void *wait_any(void *arg)
{
    (void)arg;
    weft_group g = WEFT_GROUP_INIT;
    /* Member 0 ends last, 1 first, 2 second (see task_ordered). */
    struct ordered o[3] = {{&g, 1, -30}, {&g, 3, -10}, {&g, 2, -20}};
    atomic_store(&ordered_go, 0);
    for (int i = 0; i < 3; i++)
        CHECK(weft_group_go(&g, task_ordered, &o[i], NULL) == i);
    atomic_store(&ordered_go, 1);
    int idx, err, seen = 0;
    int expect_idx[] = {1, 2, 0};
    for (int k = 0; k < 3; k++) {
        CHECK_OK(weft_group_wait_any(&g, &idx, &err, WEFT_FOREVER));
        EXPECT_EQ(idx, expect_idx[k]);
        EXPECT_EQ(err, o[idx].code);
        seen |= 1 << idx;
    }
    EXPECT_EQ(seen, 7);
    EXPECT_EQ(weft_group_wait_any(&g, &idx, &err, WEFT_FOREVER), -ECHILD);
    EXPECT_EQ(weft_group_wait(&g), 0); /* reported members do not count again */
    EXPECT_EQ(weft_group_go(&g, task_code, (void *)50, NULL), 3);
    /* One-sided: a member that sleeps 50 ms cannot have ended within 1 ms
     * of being spawned. */
    EXPECT_EQ(weft_group_wait_any(&g, &idx, &err, weft_deadline_after(MS)), -ETIMEDOUT);
    EXPECT_EQ(weft_group_wait_any(&g, &idx, &err, 0), -ETIMEDOUT);
    EXPECT_EQ(weft_group_wait_any(&g, &idx, &err, -5), -EINVAL);
    EXPECT_EQ(weft_group_destroy(&g), -EBUSY); /* a member still runs */
    EXPECT_EQ(weft_group_wait(&g), -50);
    EXPECT_EQ(weft_group_destroy(&g), 0);
    return NULL;
}

/* weft_group_wait_any reports each member once, in the order they end. */
TEST(wait_any_reports_each_member_once_in_end_order)
{
    settle();
    CHECK_OK(weft_main(&(weft_config){.workers = 2}, wait_any, NULL, NULL));
}

static void *cancel_group(void *arg)
{
    (void)arg;
    weft_group g = WEFT_GROUP_INIT;
    for (int i = 0; i < 50; i++)
        CHECK(weft_group_go(&g, task_sleep_forever_ish, NULL, NULL) >= 0);
    weft_sleep(MS);
    int64_t t0 = weft_now();
    EXPECT_EQ(weft_group_cancel(&g), 0);
    EXPECT_EQ(weft_group_wait(&g), -ECANCELED);
    EXPECT(weft_now() - t0 < 30 * S);
    /* A member spawned into a cancelled group starts cancelled. */
    CHECK(weft_group_go(&g, task_sleep_forever_ish, NULL, NULL) >= 0);
    EXPECT_EQ(weft_group_wait(&g), -ECANCELED);
    EXPECT_EQ(weft_group_destroy(&g), 0);
    return NULL;
}

/* Cancelling a group ends every member's blocking call with -ECANCELED,
 * and members spawned afterwards start cancelled. */
TEST(cancel_reaches_running_and_later_members)
{
    settle();
    CHECK_OK(weft_main(&(weft_config){.workers = 2}, cancel_group, NULL, NULL));
}

static int fail_fast(void *arg)
{
    (void)arg;
    weft_sleep(2 * MS);
    return -EIO;
}

static void *cancel_on_error(void *arg)
{
    (void)arg;
    weft_group g;
    CHECK_OK(weft_group_init(&g, WEFT_GROUP_CANCEL_ON_ERROR));
    for (int i = 0; i < 10; i++)
        CHECK(weft_group_go(&g, task_sleep_forever_ish, NULL, NULL) >= 0);
    CHECK(weft_group_go(&g, fail_fast, NULL, NULL) >= 0);
    EXPECT_EQ(weft_group_wait(&g), -EIO); /* the error, not the cancels it caused */
    EXPECT_EQ(weft_group_destroy(&g), 0);
    EXPECT_EQ(weft_group_init(&g, 0x80), -EINVAL);
    EXPECT_EQ(weft_group_init(NULL, 0), -EINVAL);
    EXPECT_EQ(weft_group_go(&g, NULL, NULL, NULL), -EINVAL);
    EXPECT_EQ(weft_group_wait_until(&g, -2), -EINVAL);
    return NULL;
}

/* With WEFT_GROUP_CANCEL_ON_ERROR the first failure cancels the rest. */
TEST(cancel_on_error)
{
    settle();
    CHECK_OK(weft_main(&(weft_config){.workers = 2}, cancel_on_error, NULL, NULL));
}

static int square(void *elem, void *arg)
{
    (void)arg;
    long *v = elem;
    *v = *v * *v;
    return 0;
}

static int fail_at_13(void *elem, void *arg)
{
    _Atomic long *visits = arg;
    atomic_fetch_add(visits, 1);
    return *(long *)elem == 13 ? -EDOM : 0;
}

/* weft_map visits every element once; its first error stops the rest. */
TEST(map_visits_every_element_once)
{
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    enum { N = 100000 };
    long *a = malloc(N * sizeof *a);
    CHECK(a != NULL);
    for (long i = 0; i < N; i++)
        a[i] = i;
    EXPECT_EQ(weft_map(a, N, sizeof *a, square, NULL), 0);
    long bad = 0;
    for (long i = 0; i < N; i++)
        bad += a[i] != i * i;
    EXPECT_EQ(bad, 0);
    for (long i = 0; i < N; i++)
        a[i] = i;
    _Atomic long visits = 0;
    EXPECT_EQ(weft_map(a, N, sizeof *a, fail_at_13, (void *)&visits), -EDOM);
    EXPECT(atomic_load(&visits) <= N);
    EXPECT_EQ(weft_map(a, 0, sizeof *a, square, NULL), 0);
    EXPECT_EQ(weft_map(NULL, 3, sizeof *a, square, NULL), -EINVAL);
    EXPECT_EQ(weft_map(a, 3, 0, square, NULL), -EINVAL);
    EXPECT_EQ(weft_map(a, SIZE_MAX / 2, 8, square, NULL), -EINVAL);
    free(a);
    CHECK_OK(weft_shutdown());
    EXPECT_EQ(weft_map(&bad, 1, sizeof bad, square, NULL), -ECANCELED); /* no runtime */
}

TAP_MAIN()
