/*
 * sync_misc_test.c - the smaller primitives through weft.h alone:
 * semaphores (counting, bounded, conservation of units under contention,
 * hand-off, deadlines), wait groups (many fibers, reuse, deadlines), once
 * (exactly one run under a race, recursion refused), barriers (cycles,
 * one serial party per cycle, a party that gives up) and events (set wakes
 * every waiter, clear, deadlines). Fibers and plain threads mixed.
 */
#include "weft.h"

#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define MS ((int64_t)1000000)
#define S  ((int64_t)1000000000)

/* Semaphores. */

/* Counting and bounded semaphores from a plain thread without a runtime:
 * try, value, release up to the bound and no further, and the deadline
 * forms on an empty semaphore. */
TEST(sem_counts_bounds_and_deadlines)
{
    settle();
    weft_sem s = WEFT_SEM_INIT(2), z;
    memset(&z, 0, sizeof z);
    EXPECT_EQ(weft_sem_value(&s), 2);
    EXPECT_EQ(weft_sem_try_acquire(&s), 0);
    EXPECT_EQ(weft_sem_acquire(&s), 0);
    EXPECT_EQ(weft_sem_try_acquire(&s), -EAGAIN);
    EXPECT_EQ(weft_sem_acquire_until(&s, 0), -ETIMEDOUT);
    int64_t t0 = weft_now();
    EXPECT_EQ(weft_sem_acquire_until(&s, weft_deadline_after(3 * MS)), -ETIMEDOUT);
    EXPECT(weft_now() - t0 >= 3 * MS);
    EXPECT_EQ(weft_sem_value(&s), 0);
    EXPECT_EQ(weft_sem_release(&s), 0);
    EXPECT_EQ(weft_sem_acquire_until(&s, 0), 0); /* available: at once */
    EXPECT_EQ(weft_sem_destroy(&s), 0);
    EXPECT_EQ(weft_sem_value(&z), 0); /* zeroed: count 0, no bound */
    for (int i = 0; i < 1000; i++)
        EXPECT_EQ(weft_sem_release(&z), 0);
    EXPECT_EQ(weft_sem_value(&z), 1000);

    weft_sem b = WEFT_SEM_INIT_BOUNDED(1, 1); /* Python's BoundedSemaphore(1) */
    EXPECT_EQ(weft_sem_release(&b), -EOVERFLOW);
    EXPECT_EQ(weft_sem_value(&b), 1);
    EXPECT_EQ(weft_sem_acquire(&b), 0);
    EXPECT_EQ(weft_sem_release(&b), 0);
    EXPECT_EQ(weft_sem_release(&b), -EOVERFLOW);
    CHECK_OK(weft_sem_init_bounded(&b, 0, 3));
    for (int i = 0; i < 3; i++)
        EXPECT_EQ(weft_sem_release(&b), 0);
    EXPECT_EQ(weft_sem_release(&b), -EOVERFLOW);
    EXPECT_EQ(weft_sem_value(&b), 3);
    EXPECT_EQ(weft_sem_init_bounded(&b, 4, 3), -EINVAL);
    EXPECT_EQ(weft_sem_init_bounded(&b, 0, 0), -EINVAL);
    EXPECT_EQ(weft_sem_init(&b, -1), -EINVAL);
    EXPECT_EQ(weft_sem_value(&b), 3); /* failed inits leave it alone */
}

/* A section that at most K may enter: fibers and plain threads acquire
 * (some with deadlines, some by try), count themselves in, yield, count
 * themselves out and release. Nobody sees more than K inside, and at the
 * end all K units are back. */
struct pool {
    weft_sem s;
    int k;
    atomic_int inside, max_inside;
    atomic_long entries, timeouts, bad;
    long iters;
};

static void pool_once(struct pool *p, uint64_t *x, bool fiber)
{
    uint64_t r = splitmix(x);
    int rc;
    switch (r % 4) {
    case 0:
        rc = weft_sem_try_acquire(&p->s);
        break;
    case 1:
        rc = weft_sem_acquire_until(&p->s, weft_deadline_after((int64_t)(r >> 8) % 200000));
        break;
    default:
        rc = weft_sem_acquire(&p->s);
    }
    if (rc == -EAGAIN || rc == -ETIMEDOUT) {
        atomic_fetch_add(&p->timeouts, 1);
        return;
    }
    if (rc) {
        atomic_fetch_add(&p->bad, 1);
        return;
    }
    int now = atomic_fetch_add(&p->inside, 1) + 1;
    int m = atomic_load(&p->max_inside);
    while (now > m && !atomic_compare_exchange_weak(&p->max_inside, &m, now))
        ;
    if (now > p->k)
        atomic_fetch_add(&p->bad, 1);
    if (fiber && (r >> 40) % 4 == 0)
        weft_yield();
    atomic_fetch_sub(&p->inside, 1);
    atomic_fetch_add(&p->entries, 1);
    if (weft_sem_release(&p->s) != 0)
        atomic_fetch_add(&p->bad, 1);
}

struct pool_job {
    struct pool *p;
    uint64_t seed;
    bool fiber;
};

static void *pool_worker(void *arg)
{
    struct pool_job *j = arg;
    uint64_t x = j->seed;
    for (long i = 0; i < j->p->iters; i++)
        pool_once(j->p, &x, j->fiber);
    return NULL;
}

/* 16 fibers on 2 workers and 2 plain threads share 3 units of a bounded
 * semaphore: never more than 3 inside, all 3 back at the end, and the
 * bound never trips (a release always has a unit to return). */
TEST(sem_conserves_units)
{
    enum { FIBERS = 16, THREADS = 2 };
    static struct pool p;
    static struct pool_job jobs[FIBERS + THREADS];
    memset(&p, 0, sizeof p);
    p.k = 3;
    p.iters = stress_scaled(5000);
    CHECK_OK(weft_sem_init_bounded(&p.s, 3, 3));
    uint64_t x = tap_seed();
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    weft_fiber f[FIBERS];
    pthread_t t[THREADS];
    for (int i = 0; i < FIBERS + THREADS; i++)
        jobs[i] = (struct pool_job){.p = &p, .seed = splitmix(&x), .fiber = i < FIBERS};
    for (int i = 0; i < FIBERS; i++)
        CHECK_OK(weft_spawn(&f[i], pool_worker, &jobs[i], NULL));
    for (int i = 0; i < THREADS; i++)
        CHECK_OK(pthread_create(&t[i], NULL, pool_worker, &jobs[FIBERS + i]));
    for (int i = 0; i < FIBERS; i++)
        CHECK_OK(weft_join(f[i], NULL));
    for (int i = 0; i < THREADS; i++)
        CHECK_OK(pthread_join(t[i], NULL));
    printf("# %ld entries, %ld timeouts, max inside %d\n", atomic_load(&p.entries),
           atomic_load(&p.timeouts), atomic_load(&p.max_inside));
    EXPECT_EQ(atomic_load(&p.bad), 0);
    EXPECT(atomic_load(&p.max_inside) <= 3);
    EXPECT_EQ(atomic_load(&p.entries) + atomic_load(&p.timeouts),
              (long)(FIBERS + THREADS) * p.iters);
    EXPECT_EQ(weft_sem_value(&p.s), 3);
    EXPECT_EQ(weft_sem_destroy(&p.s), 0);
    CHECK_OK(weft_shutdown());
}

static void *sem_take(void *arg)
{
    return (void *)(intptr_t)weft_sem_acquire(arg);
}

/* A release with waiters hands its unit to one of them: the count stays
 * 0, and N releases wake exactly N of N waiters. */
TEST(sem_release_hands_unit_to_waiter)
{
    enum { N = 10 };
    static weft_sem s;
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    weft_fiber f[N];
    for (int i = 0; i < N; i++)
        CHECK_OK(weft_spawn(&f[i], sem_take, &s, NULL));
    for (int i = 0; i < N; i++)
        CHECK_OK(weft_sem_release(&s));
    for (int i = 0; i < N; i++) {
        void *rc = (void *)1;
        CHECK_OK(weft_join(f[i], &rc));
        EXPECT_EQ((intptr_t)rc, 0);
    }
    EXPECT_EQ(weft_sem_value(&s), 0);
    EXPECT_EQ(weft_sem_destroy(&s), 0);
    CHECK_OK(weft_shutdown());
}

/* Wait groups. */

struct wg_job {
    weft_waitgroup *wg;
    atomic_long *work;
    int yields;
};

static void *wg_task(void *arg)
{
    struct wg_job *j = arg;
    for (int i = 0; i < j->yields; i++)
        weft_yield();
    atomic_fetch_add(j->work, 1);
    weft_waitgroup_done(j->wg);
    return NULL;
}

struct wg_waiter {
    weft_waitgroup *wg;
    atomic_long *work;
    long expect;
    int rc;
    long seen;
};

static void *wg_wait(void *arg)
{
    struct wg_waiter *w = arg;
    w->rc = weft_waitgroup_wait(w->wg);
    w->seen = atomic_load(w->work);
    return NULL;
}

/* 2000 fibers, each done once; 4 fibers and the main thread wait
 * for them; every waiter returns after all of them, seeing all their work.
 * Then the same wait group is used again, 20 rounds. */
TEST(waitgroup_many_fibers)
{
    enum { N = 2000, WAITERS = 4 };
    static weft_waitgroup wg = WEFT_WAITGROUP_INIT;
    static atomic_long work;
    static struct wg_job jobs[N];
    static weft_fiber tasks[N];
    static struct wg_waiter ws[WAITERS];
    uint64_t x = tap_seed();
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    long rounds = stress_scaled(20);
    for (long round = 0; round < rounds; round++) {
        atomic_store(&work, 0);
        CHECK_OK(weft_waitgroup_add(&wg, N));
        weft_fiber wf[WAITERS];
        for (int i = 0; i < WAITERS; i++) {
            ws[i] = (struct wg_waiter){.wg = &wg, .work = &work};
            CHECK_OK(weft_spawn(&wf[i], wg_wait, &ws[i], NULL));
        }
        for (int i = 0; i < N; i++) {
            jobs[i] = (struct wg_job){.wg = &wg, .work = &work, .yields = (int)(splitmix(&x) % 4)};
            CHECK_OK(weft_spawn(&tasks[i], wg_task, &jobs[i], NULL));
        }
        CHECK_OK(weft_waitgroup_wait(&wg));
        EXPECT_EQ(atomic_load(&work), N);
        for (int i = 0; i < WAITERS; i++) {
            CHECK_OK(weft_join(wf[i], NULL));
            EXPECT_EQ(ws[i].rc, 0);
            EXPECT_EQ(ws[i].seen, N);
        }
        EXPECT_EQ(weft_waitgroup_destroy(&wg), 0);
        for (int i = 0; i < N; i++)
            CHECK_OK(weft_join(tasks[i], NULL));
    }
    CHECK_OK(weft_shutdown());
}

/* The counter never goes negative: such an add fails and changes nothing.
 * A wait on a non-zero counter times out; the deadline forms. */
TEST(waitgroup_negative_and_deadlines)
{
    settle();
    weft_waitgroup wg;
    CHECK_OK(weft_waitgroup_init(&wg));
    EXPECT_EQ(weft_waitgroup_done(&wg), -EINVAL);
    EXPECT_EQ(weft_waitgroup_add(&wg, -1), -EINVAL);
    EXPECT_EQ(weft_waitgroup_wait_until(&wg, 0), 0);
    EXPECT_EQ(weft_waitgroup_add(&wg, 2), 0);
    EXPECT_EQ(weft_waitgroup_add(&wg, -3), -EINVAL);
    EXPECT_EQ(weft_waitgroup_destroy(&wg), -EBUSY);
    EXPECT_EQ(weft_waitgroup_wait_until(&wg, 0), -ETIMEDOUT);
    int64_t t0 = weft_now();
    EXPECT_EQ(weft_waitgroup_wait_until(&wg, weft_deadline_after(3 * MS)), -ETIMEDOUT);
    EXPECT(weft_now() - t0 >= 3 * MS);
    EXPECT_EQ(weft_waitgroup_done(&wg), 0);
    EXPECT_EQ(weft_waitgroup_wait_until(&wg, 0), -ETIMEDOUT); /* still 1 */
    EXPECT_EQ(weft_waitgroup_add(&wg, -1), 0);
    EXPECT_EQ(weft_waitgroup_wait(&wg), 0);
    EXPECT_EQ(weft_waitgroup_add(&wg, INT32_MAX), 0);
    EXPECT_EQ(weft_waitgroup_add(&wg, 1), -EOVERFLOW);
    EXPECT_EQ(weft_waitgroup_add(&wg, -INT32_MAX), 0);
    EXPECT_EQ(weft_waitgroup_destroy(&wg), 0);
}

/* Once. */

struct once_race {
    weft_once once;
    atomic_int runs;
    atomic_int go;
    int ready; /* written by the function, read by every caller after */
    atomic_int stale, errors;
};

static void once_fn(void *arg)
{
    struct once_race *o = arg;
    atomic_fetch_add(&o->runs, 1);
    for (int i = 0; i < 5; i++)
        weft_yield(); /* the others arrive and park meanwhile */
    o->ready = 1;
}

static void *once_caller(void *arg)
{
    struct once_race *o = arg;
    while (!atomic_load(&o->go))
        weft_yield();
    if (weft_once_call(&o->once, once_fn, o) != 0)
        atomic_fetch_add(&o->errors, 1);
    if (o->ready != 1)
        atomic_fetch_add(&o->stale, 1);
    return NULL;
}

/* 32 fibers on 2 workers and 2 plain threads race to one weft_once, 100
 * times over: exactly one runs the function each time, and every caller
 * returns only after it has finished (sees its effect). */
TEST(once_runs_exactly_once_under_race)
{
    enum { FIBERS = 32, THREADS = 2 };
    static struct once_race o;
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    long rounds = stress_scaled(100);
    for (long round = 0; round < rounds; round++) {
        memset(&o, 0, sizeof o);
        weft_fiber f[FIBERS];
        pthread_t t[THREADS];
        for (int i = 0; i < FIBERS; i++)
            CHECK_OK(weft_spawn(&f[i], once_caller, &o, NULL));
        for (int i = 0; i < THREADS; i++)
            CHECK_OK(pthread_create(&t[i], NULL, once_caller, &o));
        atomic_store(&o.go, 1);
        for (int i = 0; i < FIBERS; i++)
            CHECK_OK(weft_join(f[i], NULL));
        for (int i = 0; i < THREADS; i++)
            CHECK_OK(pthread_join(t[i], NULL));
        EXPECT_EQ(atomic_load(&o.runs), 1);
        EXPECT_EQ(atomic_load(&o.stale), 0);
        EXPECT_EQ(atomic_load(&o.errors), 0);
    }
    CHECK_OK(weft_shutdown());
}

struct once_rec {
    weft_once once;
    int inner_rc;
};

static void once_nop(void *arg)
{
    (void)arg;
}

static void once_recurse(void *arg)
{
    struct once_rec *o = arg;
    o->inner_rc = weft_once_call(&o->once, once_nop, NULL);
}

static void *once_recurse_fiber(void *arg)
{
    struct once_rec *o = arg;
    return (void *)(intptr_t)weft_once_call(&o->once, once_recurse, o);
}

/* The function calling weft_once_call on its own once gets -EDEADLK (from
 * a plain thread and from a fiber); WEFT_ONCE_INIT; a later call returns 0
 * without running anything. */
TEST(once_recursion_is_refused)
{
    static struct once_rec o = {WEFT_ONCE_INIT, 1};
    settle();
    EXPECT_EQ(weft_once_call(&o.once, once_recurse, &o), 0);
    EXPECT_EQ(o.inner_rc, -EDEADLK);
    EXPECT_EQ(weft_once_call(&o.once, once_recurse, &o), 0);
    memset(&o, 0, sizeof o);
    CHECK_OK(weft_init(&(weft_config){.workers = 1}));
    weft_fiber f;
    void *rc = (void *)1;
    CHECK_OK(weft_spawn(&f, once_recurse_fiber, &o, NULL));
    CHECK_OK(weft_join(f, &rc));
    EXPECT_EQ((intptr_t)rc, 0);
    EXPECT_EQ(o.inner_rc, -EDEADLK);
    CHECK_OK(weft_shutdown());
}

struct once_slow {
    weft_once once;
    weft_event release;
    atomic_int inside;
};

static void once_blocking(void *arg)
{
    struct once_slow *o = arg;
    atomic_store(&o->inside, 1);
    weft_event_wait(&o->release);
}

static void *once_slow_runner(void *arg)
{
    struct once_slow *o = arg;
    return (void *)(intptr_t)weft_once_call(&o->once, once_blocking, o);
}

/* While the function runs (blocked on an event), another caller's
 * deadline passes: -ETIMEDOUT; after it returns, calls return 0. */
TEST(once_call_until_times_out_while_running)
{
    static struct once_slow o;
    memset(&o, 0, sizeof o);
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    weft_fiber f;
    CHECK_OK(weft_spawn(&f, once_slow_runner, &o, NULL));
    while (!atomic_load(&o.inside))
        sched_yield();
    EXPECT_EQ(weft_once_call_until(&o.once, once_nop, NULL, 0), -ETIMEDOUT);
    int64_t t0 = weft_now();
    EXPECT_EQ(weft_once_call_until(&o.once, once_nop, NULL, weft_deadline_after(3 * MS)),
              -ETIMEDOUT);
    EXPECT(weft_now() - t0 >= 3 * MS);
    CHECK_OK(weft_event_set(&o.release));
    void *r = (void *)1;
    CHECK_OK(weft_join(f, &r));
    EXPECT_EQ((intptr_t)r, 0);
    EXPECT_EQ(weft_once_call_until(&o.once, once_nop, NULL, 0), 0);
    CHECK_OK(weft_shutdown());
}

/* Barriers. */

enum { BAR_PARTIES = 9, BAR_MAX_CYCLES = 400 };

struct bar {
    weft_barrier b;
    long cycles;
    atomic_long slot[BAR_PARTIES]; /* the cycle each party last arrived at */
    atomic_int serial[BAR_MAX_CYCLES];
    atomic_long bad;
};

struct bar_party {
    struct bar *b;
    int me;
    bool fiber;
};

static void *bar_run(void *arg)
{
    struct bar_party *p = arg;
    struct bar *b = p->b;
    for (long c = 1; c <= b->cycles; c++) {
        atomic_store(&b->slot[p->me], c);
        if (p->fiber && (c + p->me) % 3 == 0)
            weft_yield();
        int rc = weft_barrier_wait(&b->b);
        if (rc == 1)
            atomic_fetch_add(&b->serial[c - 1], 1);
        else if (rc != 0)
            atomic_fetch_add(&b->bad, 1);
        /* Everyone arrived at cycle c; nobody can be past c + 1. */
        for (int i = 0; i < BAR_PARTIES; i++) {
            long s = atomic_load(&b->slot[i]);
            if (s < c || s > c + 1)
                atomic_fetch_add(&b->bad, 1);
        }
    }
    return NULL;
}

/* 8 fibers on 2 workers and one plain thread meet at a barrier 400 times:
 * in each cycle every party arrived before any left, and exactly one
 * party got the serial return. */
TEST(barrier_cycles)
{
    static struct bar b;
    static struct bar_party parts[BAR_PARTIES];
    memset(&b, 0, sizeof b);
    b.cycles = stress_scaled(BAR_MAX_CYCLES);
    if (b.cycles > BAR_MAX_CYCLES)
        b.cycles = BAR_MAX_CYCLES;
    CHECK_OK(weft_barrier_init(&b.b, BAR_PARTIES));
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    weft_fiber f[BAR_PARTIES - 1];
    pthread_t t;
    for (int i = 0; i < BAR_PARTIES; i++)
        parts[i] = (struct bar_party){.b = &b, .me = i, .fiber = i < BAR_PARTIES - 1};
    for (int i = 0; i < BAR_PARTIES - 1; i++)
        CHECK_OK(weft_spawn(&f[i], bar_run, &parts[i], NULL));
    CHECK_OK(pthread_create(&t, NULL, bar_run, &parts[BAR_PARTIES - 1]));
    for (int i = 0; i < BAR_PARTIES - 1; i++)
        CHECK_OK(weft_join(f[i], NULL));
    CHECK_OK(pthread_join(t, NULL));
    int wrong = 0;
    for (long c = 0; c < b.cycles; c++)
        wrong += atomic_load(&b.serial[c]) != 1;
    EXPECT_EQ(wrong, 0);
    EXPECT_EQ(atomic_load(&b.bad), 0);
    EXPECT_EQ(weft_barrier_destroy(&b.b), 0);
    CHECK_OK(weft_shutdown());
}

static void *bar_wait(void *arg)
{
    return (void *)(intptr_t)weft_barrier_wait(arg);
}

/* A party whose deadline passes leaves without counting: the barrier then
 * still needs all its parties. WEFT_BARRIER_INIT(1) never waits; a zeroed
 * barrier and n = 0 are refused. */
TEST(barrier_deadline_and_single_party)
{
    settle();
    weft_barrier one = WEFT_BARRIER_INIT(1), zero, two;
    memset(&zero, 0, sizeof zero);
    EXPECT_EQ(weft_barrier_wait(&one), 1);
    EXPECT_EQ(weft_barrier_wait(&one), 1);
    EXPECT_EQ(weft_barrier_wait(&zero), -EINVAL);
    EXPECT_EQ(weft_barrier_init(&zero, 0), -EINVAL);
    CHECK_OK(weft_barrier_init(&two, 2));
    EXPECT_EQ(weft_barrier_wait_until(&two, 0), -ETIMEDOUT);
    int64_t t0 = weft_now();
    EXPECT_EQ(weft_barrier_wait_until(&two, weft_deadline_after(3 * MS)), -ETIMEDOUT);
    EXPECT(weft_now() - t0 >= 3 * MS);
    EXPECT_EQ(weft_barrier_destroy(&two), 0); /* nobody left behind */
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    weft_fiber f;
    CHECK_OK(weft_spawn(&f, bar_wait, &two, NULL));
    int mine = weft_barrier_wait(&two);
    void *theirs = (void *)-1;
    CHECK_OK(weft_join(f, &theirs));
    EXPECT_EQ(mine + (intptr_t)theirs, 1); /* one serial, one not */
    EXPECT(mine == 0 || mine == 1);
    EXPECT_EQ(weft_barrier_destroy(&two), 0);
    CHECK_OK(weft_shutdown());
}

/* Events. */

struct ev_waiter {
    weft_event *e;
    int rc;
};

static void *ev_wait(void *arg)
{
    struct ev_waiter *w = arg;
    w->rc = weft_event_wait(w->e);
    return NULL;
}

/* set wakes every waiter (24 fibers and 2 plain threads); it stays set
 * (a late wait returns at once) until cleared; a cleared event makes
 * waits wait again (deadline forms). */
TEST(event_set_wakes_all_and_clear_resets)
{
    enum { FIBERS = 24, THREADS = 2 };
    static weft_event e = WEFT_EVENT_INIT;
    static struct ev_waiter w[FIBERS + THREADS];
    settle();
    EXPECT(!weft_event_is_set(&e));
    EXPECT_EQ(weft_event_wait_until(&e, 0), -ETIMEDOUT);
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    for (int round = 0; round < 20; round++) {
        weft_fiber f[FIBERS];
        pthread_t t[THREADS];
        for (int i = 0; i < FIBERS + THREADS; i++)
            w[i] = (struct ev_waiter){.e = &e, .rc = 1};
        for (int i = 0; i < FIBERS; i++)
            CHECK_OK(weft_spawn(&f[i], ev_wait, &w[i], NULL));
        for (int i = 0; i < THREADS; i++)
            CHECK_OK(pthread_create(&t[i], NULL, ev_wait, &w[FIBERS + i]));
        if (round % 2)
            sched_yield(); /* sometimes set before some have started */
        CHECK_OK(weft_event_set(&e));
        EXPECT(weft_event_is_set(&e));
        EXPECT_EQ(weft_event_wait(&e), 0);
        CHECK_OK(weft_event_set(&e)); /* setting a set event: no-op */
        for (int i = 0; i < FIBERS; i++)
            CHECK_OK(weft_join(f[i], NULL));
        for (int i = 0; i < THREADS; i++)
            CHECK_OK(pthread_join(t[i], NULL));
        for (int i = 0; i < FIBERS + THREADS; i++)
            EXPECT_EQ(w[i].rc, 0);
        CHECK_OK(weft_event_clear(&e));
        EXPECT(!weft_event_is_set(&e));
        EXPECT_EQ(weft_event_wait_until(&e, 0), -ETIMEDOUT);
    }
    int64_t t0 = weft_now();
    EXPECT_EQ(weft_event_wait_until(&e, weft_deadline_after(3 * MS)), -ETIMEDOUT);
    EXPECT(weft_now() - t0 >= 3 * MS);
    EXPECT_EQ(weft_event_destroy(&e), 0);
    CHECK_OK(weft_shutdown());
}

struct ev_gen {
    weft_event e;
    atomic_int waiting;
    int rc;
    atomic_int returned;
};

static void *ev_gen_wait(void *arg)
{
    struct ev_gen *g = arg;
    atomic_fetch_add(&g->waiting, 1);
    g->rc = weft_event_wait(&g->e);
    atomic_store(&g->returned, 1);
    return NULL;
}

/* A waiter that started after a set and a clear is not woken by that
 * set: it waits for the next one (one worker, so it is parked when the
 * main thread looks). */
TEST(event_waiter_after_clear_waits_for_next_set)
{
    static struct ev_gen g;
    memset(&g, 0, sizeof g);
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 1}));
    CHECK_OK(weft_event_set(&g.e));
    CHECK_OK(weft_event_clear(&g.e));
    weft_fiber f;
    CHECK_OK(weft_spawn(&f, ev_gen_wait, &g, NULL));
    while (!atomic_load(&g.waiting))
        sched_yield();
    for (int i = 0; i < 1000; i++) {
        EXPECT_EQ(atomic_load(&g.returned), 0);
        sched_yield();
    }
    CHECK_OK(weft_event_set(&g.e));
    CHECK_OK(weft_join(f, NULL));
    EXPECT_EQ(g.rc, 0);
    EXPECT_EQ(weft_event_destroy(&g.e), 0);
    CHECK_OK(weft_shutdown());
}

TAP_MAIN()
