/*
 * fls_test.c - fiber-local storage through weft.h alone: every fiber starts
 * with NULL, values belong to one fiber and follow it across workers, and
 * destructors run once per fiber that set a value, when it ends. Key
 * exhaustion lives in fls_exhaust_test.c: keys are per process, never freed.
 */
#include "weft.h"

#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

static atomic_int fls_errors; /* checks that failed inside fibers */

#define FIBER_EXPECT(cond)                                                         \
    do {                                                                           \
        if (!(cond)) {                                                             \
            printf("# in fiber: %s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
            atomic_fetch_add(&fls_errors, 1);                                      \
        }                                                                          \
    } while (0)

static weft_key null_keys[3];

static void *null_child(void *arg)
{
    (void)arg;
    for (int k = 0; k < 3; k++) {
        void *v = (void *)1;
        FIBER_EXPECT(weft_key_get(null_keys[k], &v) == 0 && v == NULL);
    }
    return NULL;
}

/* Reads every key (all NULL), sets them, reads them back, and spawns a
 * child that must not inherit them. */
static void *null_then_set(void *arg)
{
    uintptr_t tag = (uintptr_t)arg;
    for (int k = 0; k < 3; k++) {
        void *v = (void *)1;
        FIBER_EXPECT(weft_key_get(null_keys[k], &v) == 0);
        FIBER_EXPECT(v == NULL);
        FIBER_EXPECT(weft_key_set(null_keys[k], (void *)(tag * 4 + (uintptr_t)k + 1)) == 0);
        FIBER_EXPECT(weft_key_get(null_keys[k], &v) == 0);
        FIBER_EXPECT(v == (void *)(tag * 4 + (uintptr_t)k + 1));
    }
    weft_fiber c;
    FIBER_EXPECT(weft_spawn(&c, null_child, NULL, NULL) == 0);
    FIBER_EXPECT(weft_join(c, NULL) == 0);
    return NULL;
}

static void *create_key_in_fiber(void *arg)
{
    return (void *)(intptr_t)weft_key_create(arg, NULL);
}

/* Every key reads NULL in a new fiber, keys created before init, from the
 * main thread and from a fiber alike, even in fibers that reuse the slots
 * and stacks of fibers that set values (200 fibers in turn), and children
 * do not inherit their parent's values. */
TEST(keys_start_null_in_every_fiber)
{
    settle();
    atomic_store(&fls_errors, 0);
    CHECK_OK(weft_key_create(&null_keys[0], NULL));
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    CHECK_OK(weft_key_create(&null_keys[1], NULL));
    weft_fiber f;
    void *rc = (void *)1;
    CHECK_OK(weft_spawn(&f, create_key_in_fiber, &null_keys[2], NULL));
    CHECK_OK(weft_join(f, &rc));
    CHECK_EQ((intptr_t)rc, 0);
    EXPECT(null_keys[0].id != null_keys[1].id && null_keys[1].id != null_keys[2].id &&
           null_keys[0].id != null_keys[2].id);
    for (uintptr_t i = 0; i < 200; i++) {
        CHECK_OK(weft_spawn(&f, null_then_set, (void *)i, NULL));
        CHECK_OK(weft_join(f, NULL));
    }
    EXPECT_EQ(atomic_load(&fls_errors), 0);
    CHECK_OK(weft_shutdown());
}

struct own_value {
    weft_key a, b;
    uint64_t seed;
};

static struct own_value own;

/* Sets two keys to values only this fiber uses, then yields, sleeps and
 * re-sets them at random, checking that it always reads back its own. */
static void *keep_own_values(void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    uint64_t x = own.seed ^ (i * 0x9e3779b97f4a7c15ull);
    void *va = (void *)(i * 2 + 1), *vb = (void *)(~i);
    FIBER_EXPECT(weft_key_set(own.a, va) == 0);
    FIBER_EXPECT(weft_key_set(own.b, vb) == 0);
    for (int round = 0; round < 20; round++) {
        uint64_t r = splitmix(&x);
        for (uint64_t y = 0; y < r % 4; y++)
            weft_yield();
        if (r & 16)
            FIBER_EXPECT(weft_sleep(0) == 0);
        if (r & 32)
            FIBER_EXPECT(weft_sleep((int64_t)(r >> 40) % 20000) == 0);
        if (r & 64) {
            va = (void *)((uintptr_t)va + 0x10000);
            FIBER_EXPECT(weft_key_set(own.a, va) == 0);
        }
        void *ga = NULL, *gb = NULL;
        FIBER_EXPECT(weft_key_get(own.a, &ga) == 0 && ga == va);
        FIBER_EXPECT(weft_key_get(own.b, &gb) == 0 && gb == vb);
    }
    FIBER_EXPECT(weft_key_set(own.a, NULL) == 0);
    void *ga = (void *)1;
    FIBER_EXPECT(weft_key_get(own.a, &ga) == 0 && ga == NULL);
    return NULL;
}

/* 300 fibers on 4 workers (2 cores: they migrate) each keep their own
 * values for two keys through yields, sleeps and re-sets. */
TEST(values_are_per_fiber)
{
    enum { N = 300 };
    static weft_fiber f[N];
    settle();
    atomic_store(&fls_errors, 0);
    own.seed = tap_seed();
    CHECK_OK(weft_key_create(&own.a, NULL));
    CHECK_OK(weft_key_create(&own.b, NULL));
    CHECK_OK(weft_init(&(weft_config){.workers = 4}));
    for (uintptr_t i = 0; i < N; i++)
        CHECK_OK(weft_spawn(&f[i], keep_own_values, (void *)i, NULL));
    for (int i = 0; i < N; i++)
        CHECK_OK(weft_join(f[i], NULL));
    EXPECT_EQ(atomic_load(&fls_errors), 0);
    CHECK_OK(weft_shutdown());
}

enum { NDTOR = 600 };

struct dtor_record {
    weft_key key, key2;
    uintptr_t values[NDTOR];      /* &values[i] is fiber i's final value */
    uintptr_t overwritten[NDTOR]; /* values set and then replaced: never destroyed */
    atomic_int calls[NDTOR];
    atomic_int calls2[NDTOR];
    atomic_int stray; /* destructor calls with a value no fiber left set */
    atomic_int total;
    atomic_int bodies_done; /* fibers whose body has returned (or is about to) */
};

static struct dtor_record rec;

static void record_dtor(void *v)
{
    uintptr_t p = (uintptr_t)v, base = (uintptr_t)rec.values;
    if (p >= base && p < base + sizeof rec.values && (p - base) % sizeof rec.values[0] == 0)
        atomic_fetch_add(&rec.calls[(p - base) / sizeof rec.values[0]], 1);
    else
        atomic_fetch_add(&rec.stray, 1);
    atomic_fetch_add(&rec.total, 1);
}

static void record_dtor2(void *v)
{
    uintptr_t i = (uintptr_t)v - 1;
    if (i < NDTOR)
        atomic_fetch_add(&rec.calls2[i], 1);
    else
        atomic_fetch_add(&rec.stray, 1);
    atomic_fetch_add(&rec.total, 1);
}

/* Fiber i: if i % 2 == 0 sets key to &values[i], and if i % 4 == 0 first
 * sets it to &overwritten[i]; if i % 3 == 0 sets key2 to i + 1. The rest
 * set nothing. */
static void *set_for_dtor(void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    if (i % 4 == 0) {
        FIBER_EXPECT(weft_key_set(rec.key, &rec.overwritten[i]) == 0);
        weft_yield();
    }
    if (i % 2 == 0)
        FIBER_EXPECT(weft_key_set(rec.key, &rec.values[i]) == 0);
    if (i % 3 == 0)
        FIBER_EXPECT(weft_key_set(rec.key2, (void *)(i + 1)) == 0);
    weft_yield();
    atomic_fetch_add(&rec.bodies_done, 1);
    return NULL;
}

static int expected_calls(int i)
{
    return i % 2 == 0;
}

static int expected_calls2(int i)
{
    return i % 3 == 0;
}

/* Destructors run exactly once per fiber that set a non-NULL value, with
 * the value it left set, for each key that has one; not for fibers that
 * set nothing; by the time weft_join returns; for joinable and detached
 * fibers alike. */
TEST(destructors_run_once_at_fiber_end)
{
    static weft_fiber f[NDTOR];
    settle();
    atomic_store(&fls_errors, 0);
    CHECK_OK(weft_key_create(&rec.key, record_dtor));
    CHECK_OK(weft_key_create(&rec.key2, record_dtor2));
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));

    /* Joined one at a time: the destructors have run when join returns. */
    int late = 0;
    for (int i = 0; i < 100; i++) {
        CHECK_OK(weft_spawn(&f[i], set_for_dtor, (void *)(uintptr_t)i, NULL));
        CHECK_OK(weft_join(f[i], NULL));
        late += atomic_load(&rec.calls[i]) != expected_calls(i);
        late += atomic_load(&rec.calls2[i]) != expected_calls2(i);
    }
    EXPECT_EQ(late, 0);

    /* Many at once, joined later. */
    for (int i = 100; i < 400; i++)
        CHECK_OK(weft_spawn(&f[i], set_for_dtor, (void *)(uintptr_t)i, NULL));
    for (int i = 100; i < 400; i++)
        CHECK_OK(weft_join(f[i], NULL));

    /* Detached: wait until all have run their bodies and the destructors
     * have all run; a fiber still in its exit path is let finish. */
    int want_total = 0;
    for (int i = 0; i < NDTOR; i++)
        want_total += expected_calls(i) + expected_calls2(i);
    for (int i = 400; i < NDTOR; i++)
        CHECK_OK(weft_spawn(NULL, set_for_dtor, (void *)(uintptr_t)i,
                            &(weft_fiber_attr){.detached = true}));
    while (atomic_load(&rec.total) < want_total || atomic_load(&rec.bodies_done) < NDTOR)
        weft_yield();
    CHECK_OK(weft_shutdown());

    int wrong = 0;
    for (int i = 0; i < NDTOR; i++) {
        if (atomic_load(&rec.calls[i]) != expected_calls(i) ||
            atomic_load(&rec.calls2[i]) != expected_calls2(i)) {
            if (wrong++ < 5)
                printf("# fiber %d: %d and %d destructor calls\n", i, atomic_load(&rec.calls[i]),
                       atomic_load(&rec.calls2[i]));
        }
    }
    EXPECT_EQ(wrong, 0);
    EXPECT_EQ(atomic_load(&rec.stray), 0);
    EXPECT_EQ(atomic_load(&rec.total), want_total);
    EXPECT_EQ(atomic_load(&fls_errors), 0);
}

static weft_key cleared_key;
static atomic_int cleared_dtor_calls;

static void count_cleared(void *v)
{
    (void)v;
    atomic_fetch_add(&cleared_dtor_calls, 1);
}

static void *set_then_clear(void *arg)
{
    (void)arg;
    FIBER_EXPECT(weft_key_set(cleared_key, &cleared_key) == 0);
    FIBER_EXPECT(weft_key_set(cleared_key, NULL) == 0);
    void *v = (void *)1;
    FIBER_EXPECT(weft_key_get(cleared_key, &v) == 0 && v == NULL);
    return NULL;
}

/* A value set back to NULL before the fiber ends is not destroyed. */
TEST(value_reset_to_null_is_not_destroyed)
{
    settle();
    atomic_store(&fls_errors, 0);
    CHECK_OK(weft_key_create(&cleared_key, count_cleared));
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    for (int i = 0; i < 50; i++) {
        weft_fiber f;
        CHECK_OK(weft_spawn(&f, set_then_clear, NULL, NULL));
        CHECK_OK(weft_join(f, NULL));
    }
    EXPECT_EQ(atomic_load(&cleared_dtor_calls), 0);
    EXPECT_EQ(atomic_load(&fls_errors), 0);
    CHECK_OK(weft_shutdown());
}

TAP_MAIN()
