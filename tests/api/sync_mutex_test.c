/*
 * sync_mutex_test.c - weft_mutex and weft_rmutex through weft.h alone:
 * mutual exclusion under contention among fibers on several workers and
 * plain threads, hand-off (starvation) mode letting a waiter in while
 * others hammer the lock, deadlines, trylock, and the recursive mutex's
 * depth and ownership rules.
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

/* Zeroed, WEFT_MUTEX_INIT and weft_mutex_init all give an unlocked mutex;
 * lock state moves as documented, from a plain thread with no runtime. */
TEST(mutex_initial_states_and_trylock)
{
    settle();
    weft_mutex a = WEFT_MUTEX_INIT, b, c;
    memset(&b, 0, sizeof b);
    CHECK_OK(weft_mutex_init(&c));
    weft_mutex *all[] = {&a, &b, &c};
    for (int i = 0; i < 3; i++) {
        weft_mutex *m = all[i];
        EXPECT_EQ(weft_mutex_destroy(m), 0);
        EXPECT_EQ(weft_mutex_trylock(m), 0);
        EXPECT_EQ(weft_mutex_trylock(m), -EAGAIN);
        EXPECT_EQ(weft_mutex_destroy(m), -EBUSY);
        EXPECT_EQ(weft_mutex_lock_until(m, 0), -ETIMEDOUT);
        EXPECT_EQ(weft_mutex_lock_until(m, weft_now() - 1), -ETIMEDOUT);
        EXPECT_EQ(weft_mutex_unlock(m), 0);
        EXPECT_EQ(weft_mutex_unlock(m), -EPERM);
        EXPECT_EQ(weft_mutex_lock_until(m, 0), 0); /* free: completes at once */
        EXPECT_EQ(weft_mutex_unlock(m), 0);
        EXPECT_EQ(weft_mutex_lock(m), 0);
        EXPECT_EQ(weft_mutex_unlock(m), 0);
        EXPECT_EQ(weft_mutex_destroy(m), 0);
    }
}

/* A shared counter under one mutex: fibers and plain threads increment it
 * with a read, an optional yield while holding the lock, and a write; an
 * `inside` count checks that nobody else is in the critical section. */
struct counter {
    weft_mutex m;
    long value;          /* guarded by m; plain on purpose (TSan checks it) */
    atomic_int inside;   /* holders right now */
    atomic_long overlap; /* times someone found another holder inside */
    long iters;
};

static void count_once(struct counter *c, uint64_t *rng, bool fiber)
{
    if (weft_mutex_lock(&c->m) != 0) {
        atomic_fetch_add(&c->overlap, 1000000);
        return;
    }
    if (atomic_fetch_add(&c->inside, 1) != 0)
        atomic_fetch_add(&c->overlap, 1);
    long v = c->value;
    if (fiber && splitmix(rng) % 16 == 0)
        weft_yield(); /* park others behind us while we hold it */
    c->value = v + 1;
    atomic_fetch_sub(&c->inside, 1);
    if (weft_mutex_unlock(&c->m) != 0)
        atomic_fetch_add(&c->overlap, 1000000);
}

struct count_job {
    struct counter *c;
    uint64_t seed;
};

static void *count_fiber(void *arg)
{
    struct count_job *j = arg;
    uint64_t x = j->seed;
    for (long i = 0; i < j->c->iters; i++)
        count_once(j->c, &x, true);
    return NULL;
}

static void *count_thread(void *arg)
{
    struct count_job *j = arg;
    uint64_t x = j->seed;
    for (long i = 0; i < j->c->iters; i++)
        count_once(j->c, &x, false);
    return NULL;
}

static void run_counter(int workers, int fibers, int threads, long iters)
{
    static struct counter c;
    static struct count_job jobs[64];
    memset(&c, 0, sizeof c);
    c.iters = iters;
    uint64_t x = tap_seed() ^ (uint64_t)workers;
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = workers}));
    weft_fiber f[48];
    pthread_t t[8];
    for (int i = 0; i < fibers + threads; i++)
        jobs[i] = (struct count_job){.c = &c, .seed = splitmix(&x)};
    for (int i = 0; i < fibers; i++)
        CHECK_OK(weft_spawn(&f[i], count_fiber, &jobs[i], NULL));
    for (int i = 0; i < threads; i++)
        CHECK_OK(pthread_create(&t[i], NULL, count_thread, &jobs[fibers + i]));
    for (int i = 0; i < fibers; i++)
        CHECK_OK(weft_join(f[i], NULL));
    for (int i = 0; i < threads; i++)
        CHECK_OK(pthread_join(t[i], NULL));
    EXPECT_EQ(c.value, (long)(fibers + threads) * iters);
    EXPECT_EQ(atomic_load(&c.overlap), 0);
    EXPECT_EQ(weft_mutex_destroy(&c.m), 0);
    CHECK_OK(weft_shutdown());
}

/* 16 fibers on 2 workers, 20000 increments each: none lost, no overlap. */
TEST(mutex_excludes_fibers_on_two_workers)
{
    run_counter(2, 16, 0, stress_scaled(20000));
}

/* The same with 4 workers on 2 cores (workers preempted while holding it)
 * and 2 plain threads among 12 fibers. */
TEST(mutex_excludes_fibers_and_plain_threads)
{
    run_counter(4, 12, 2, stress_scaled(20000));
}

/* One worker: every contended lock parks (no spinning), the holder yields. */
TEST(mutex_excludes_on_one_worker)
{
    run_counter(1, 8, 0, stress_scaled(20000));
}

/* Hand-off mode: hammerers take and release the lock back to back; a
 * victim that asks for it once must get it while they go on. */
struct hammer {
    weft_mutex m;
    atomic_int stop;
    atomic_int started;
    atomic_long rounds; /* hammerer critical sections */
    long value;
    int64_t victim_waited;
    int victim_rc;
};

static void hold_briefly(struct hammer *h)
{
    h->value++;
    for (int i = 0; i < 50; i++)
        atomic_signal_fence(memory_order_seq_cst);
}

static void *hammer_fiber(void *arg)
{
    struct hammer *h = arg;
    atomic_fetch_add(&h->started, 1);
    for (long i = 0; !atomic_load(&h->stop); i++) {
        if (weft_mutex_lock(&h->m) != 0)
            return (void *)1;
        hold_briefly(h);
        weft_mutex_unlock(&h->m);
        atomic_fetch_add(&h->rounds, 1);
        if (i % 256 == 255)
            weft_yield();
    }
    return NULL;
}

static void *hammer_thread(void *arg)
{
    struct hammer *h = arg;
    atomic_fetch_add(&h->started, 1);
    while (!atomic_load(&h->stop)) {
        weft_mutex_lock(&h->m);
        hold_briefly(h);
        weft_mutex_unlock(&h->m);
        atomic_fetch_add(&h->rounds, 1);
    }
    return NULL;
}

static void *victim(void *arg)
{
    struct hammer *h = arg;
    while (atomic_load(&h->started) < 6 || atomic_load(&h->rounds) < 20000)
        weft_yield();
    int64_t t0 = weft_now();
    h->victim_rc = weft_mutex_lock(&h->m);
    h->victim_waited = weft_now() - t0;
    hold_briefly(h);
    weft_mutex_unlock(&h->m);
    atomic_store(&h->stop, 1);
    return NULL;
}

/* 4 hammering fibers on 2 workers and 2 hammering plain threads; the victim
 * fiber gets the lock (the hammerers only stop once it has) - in bounded
 * time, checked one-sidedly. */
TEST(mutex_starvation_mode_lets_waiter_in)
{
    static struct hammer h;
    memset(&h, 0, sizeof h);
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    weft_fiber f[4], v;
    pthread_t t[2];
    for (int i = 0; i < 4; i++)
        CHECK_OK(weft_spawn(&f[i], hammer_fiber, &h, NULL));
    for (int i = 0; i < 2; i++)
        CHECK_OK(pthread_create(&t[i], NULL, hammer_thread, &h));
    CHECK_OK(weft_spawn(&v, victim, &h, NULL));
    CHECK_OK(weft_join(v, NULL));
    for (int i = 0; i < 4; i++) {
        void *r = NULL;
        CHECK_OK(weft_join(f[i], &r));
        EXPECT(r == NULL);
    }
    for (int i = 0; i < 2; i++)
        CHECK_OK(pthread_join(t[i], NULL));
    printf("# victim waited %lld ns while hammerers did %ld rounds\n", (long long)h.victim_waited,
           atomic_load(&h.rounds));
    EXPECT_EQ(h.victim_rc, 0);
    EXPECT(h.victim_waited < 10 * S);
    EXPECT_EQ(h.value, atomic_load(&h.rounds) + 1);
    EXPECT_EQ(weft_mutex_destroy(&h.m), 0);
    CHECK_OK(weft_shutdown());
}

struct timed {
    weft_mutex *m;
    int64_t wait_ns;
    int rc;
    int64_t took;
};

static void *lock_timed(void *arg)
{
    struct timed *t = arg;
    int64_t t0 = weft_now();
    t->rc = weft_mutex_lock_until(t->m, weft_deadline_after(t->wait_ns));
    t->took = weft_now() - t0;
    if (t->rc == 0)
        weft_mutex_unlock(t->m);
    return NULL;
}

static void *lock_and_hold(void *arg)
{
    struct timed *t = arg;
    t->rc = weft_mutex_lock(t->m);
    return NULL;
}

/* lock_until on a held mutex times out no earlier than its deadline, from
 * a fiber (holder: the main thread) and from a plain thread (holder: a
 * fiber); the waiters leave no trace (destroy is 0 once unlocked). */
TEST(mutex_lock_until_times_out)
{
    static weft_mutex m;
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    CHECK_OK(weft_mutex_lock(&m));
    struct timed t[4];
    weft_fiber f[4];
    for (int i = 0; i < 4; i++) {
        t[i] = (struct timed){.m = &m, .wait_ns = (i + 1) * 5 * MS};
        CHECK_OK(weft_spawn(&f[i], lock_timed, &t[i], NULL));
    }
    for (int i = 0; i < 4; i++) {
        CHECK_OK(weft_join(f[i], NULL));
        EXPECT_EQ(t[i].rc, -ETIMEDOUT);
        EXPECT(t[i].took >= t[i].wait_ns);
    }
    EXPECT_EQ(weft_mutex_unlock(&m), 0);
    EXPECT_EQ(weft_mutex_destroy(&m), 0);

    /* The holder is a fiber (it ends holding the lock); the waiter is us. */
    struct timed h = {.m = &m};
    weft_fiber hf;
    CHECK_OK(weft_spawn(&hf, lock_and_hold, &h, NULL));
    CHECK_OK(weft_join(hf, NULL));
    CHECK_OK(h.rc);
    struct timed me = {.m = &m, .wait_ns = 10 * MS};
    lock_timed(&me);
    EXPECT_EQ(me.rc, -ETIMEDOUT);
    EXPECT(me.took >= 10 * MS);
    EXPECT_EQ(weft_mutex_unlock(&m), 0); /* not owner-checked: any context */
    EXPECT_EQ(weft_mutex_destroy(&m), 0);
    CHECK_OK(weft_shutdown());
}

/* A waiter with a deadline that gets the lock before it passes returns 0:
 * the holder lets go while the waiter waits. */
static void *unlock_later(void *arg)
{
    weft_mutex *m = arg;
    for (int i = 0; i < 100; i++)
        weft_yield();
    weft_mutex_unlock(m);
    return NULL;
}

TEST(mutex_lock_until_succeeds_before_deadline)
{
    static weft_mutex m;
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    for (int i = 0; i < 200; i++) {
        CHECK_OK(weft_mutex_lock(&m));
        weft_fiber f;
        CHECK_OK(weft_spawn(&f, unlock_later, &m, NULL));
        EXPECT_EQ(weft_mutex_lock_until(&m, weft_deadline_after(30 * S)), 0);
        CHECK_OK(weft_join(f, NULL));
        EXPECT_EQ(weft_mutex_unlock(&m), 0);
    }
    EXPECT_EQ(weft_mutex_destroy(&m), 0);
    CHECK_OK(weft_shutdown());
}

struct mixed {
    weft_mutex m;
    atomic_int got;
};

static void *take_and_flag(void *arg)
{
    struct mixed *x = arg;
    if (weft_mutex_lock(&x->m) != 0)
        return (void *)1;
    atomic_store(&x->got, 1);
    weft_mutex_unlock(&x->m);
    return NULL;
}

/* Plain thread holds, fiber waits: the fiber does not get in until the
 * thread unlocks, then it does; and the other way round (a fiber holds,
 * the plain main thread blocks until it unlocks). */
TEST(mutex_shared_by_fiber_and_plain_thread)
{
    static struct mixed x;
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    for (int round = 0; round < 50; round++) {
        atomic_store(&x.got, 0);
        CHECK_OK(weft_mutex_lock(&x.m));
        weft_fiber f;
        CHECK_OK(weft_spawn(&f, take_and_flag, &x, NULL));
        for (int i = 0; i < 200; i++) {
            EXPECT_EQ(atomic_load(&x.got), 0);
            sched_yield();
        }
        CHECK_OK(weft_mutex_unlock(&x.m));
        void *r = (void *)1;
        CHECK_OK(weft_join(f, &r));
        EXPECT(r == NULL);
        EXPECT_EQ(atomic_load(&x.got), 1);
    }
    /* A fiber holds it; we block until it lets go. */
    CHECK_OK(weft_mutex_lock(&x.m));
    weft_fiber f;
    CHECK_OK(weft_spawn(&f, unlock_later, &x.m, NULL));
    int64_t t0 = weft_now();
    (void)t0;
    EXPECT_EQ(weft_mutex_lock(&x.m), 0); /* the fiber's unlock hands it to us */
    EXPECT_EQ(weft_mutex_unlock(&x.m), 0);
    CHECK_OK(weft_join(f, NULL));
    EXPECT_EQ(weft_mutex_destroy(&x.m), 0);
    CHECK_OK(weft_shutdown());
}

/* Recursive mutex. */

struct rm_probe {
    weft_rmutex *m;
    int unlock_rc, trylock_rc, until_rc;
};

static void *rm_stranger(void *arg)
{
    struct rm_probe *p = arg;
    p->unlock_rc = weft_rmutex_unlock(p->m);
    p->trylock_rc = weft_rmutex_trylock(p->m);
    p->until_rc = weft_rmutex_lock_until(p->m, weft_deadline_after(2 * MS));
    return NULL;
}

static void *rm_owner(void *arg)
{
    weft_rmutex *m = arg;
    uintptr_t bad = 0;
    bad += weft_rmutex_lock(m) != 0;
    bad += weft_rmutex_lock(m) != 0;
    bad += weft_rmutex_trylock(m) != 0;
    bad += weft_rmutex_lock_until(m, 0) != 0; /* owner: no waiting needed */
    struct rm_probe p = {.m = m};
    weft_fiber s;
    bad += weft_spawn(&s, rm_stranger, &p, NULL) != 0;
    for (int i = 0; i < 64; i++)
        weft_yield(); /* and maybe move to the other worker: the owner is the fiber */
    bad += weft_join(s, NULL) != 0;
    bad += p.unlock_rc != -EPERM;
    bad += p.trylock_rc != -EAGAIN;
    bad += p.until_rc != -ETIMEDOUT;
    for (int i = 0; i < 4; i++)
        bad += weft_rmutex_unlock(m) != 0;
    bad += weft_rmutex_unlock(m) != -EPERM;
    return (void *)bad;
}

/* The owner fiber locks four times (lock, lock, trylock, lock_until(0)),
 * another fiber can neither unlock nor take it, the owner unlocks four
 * times and a fifth unlock is -EPERM. */
TEST(rmutex_depth_and_ownership_in_fibers)
{
    static weft_rmutex m = WEFT_RMUTEX_INIT;
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    for (int i = 0; i < 20; i++) {
        weft_fiber f;
        void *bad = (void *)1;
        CHECK_OK(weft_spawn(&f, rm_owner, &m, NULL));
        CHECK_OK(weft_join(f, &bad));
        EXPECT_EQ((uintptr_t)bad, 0);
    }
    EXPECT_EQ(weft_rmutex_destroy(&m), 0);
    CHECK_OK(weft_shutdown());
}

/* A plain thread owns it too: a fiber may not unlock what the main thread
 * holds, and the main thread may lock it again. */
TEST(rmutex_owned_by_plain_thread)
{
    static weft_rmutex m;
    settle();
    CHECK_OK(weft_rmutex_init(&m));
    CHECK_OK(weft_init(&(weft_config){.workers = 1}));
    CHECK_OK(weft_rmutex_lock(&m));
    CHECK_OK(weft_rmutex_lock(&m));
    EXPECT_EQ(weft_rmutex_destroy(&m), -EBUSY);
    struct rm_probe p = {.m = &m};
    weft_fiber s;
    CHECK_OK(weft_spawn(&s, rm_stranger, &p, NULL));
    CHECK_OK(weft_join(s, NULL));
    EXPECT_EQ(p.unlock_rc, -EPERM);
    EXPECT_EQ(p.trylock_rc, -EAGAIN);
    EXPECT_EQ(p.until_rc, -ETIMEDOUT);
    EXPECT_EQ(weft_rmutex_unlock(&m), 0);
    EXPECT_EQ(weft_rmutex_unlock(&m), 0);
    EXPECT_EQ(weft_rmutex_unlock(&m), -EPERM);
    EXPECT_EQ(weft_rmutex_destroy(&m), 0);
    CHECK_OK(weft_shutdown());
}

struct rm_counter {
    weft_rmutex m;
    long value;
    atomic_int inside;
    atomic_long bad;
    long iters;
};

static void *rm_count(void *arg)
{
    struct rm_counter *c = arg;
    for (long i = 0; i < c->iters; i++) {
        if (weft_rmutex_lock(&c->m) || weft_rmutex_lock(&c->m)) {
            atomic_fetch_add(&c->bad, 1);
            continue;
        }
        if (atomic_fetch_add(&c->inside, 1))
            atomic_fetch_add(&c->bad, 1);
        long v = c->value;
        if (i % 32 == 0)
            weft_yield();
        c->value = v + 1;
        atomic_fetch_sub(&c->inside, 1);
        if (weft_rmutex_unlock(&c->m) || weft_rmutex_unlock(&c->m))
            atomic_fetch_add(&c->bad, 1);
    }
    return NULL;
}

/* Recursive locking under contention still excludes: 8 fibers on 2
 * workers and a plain thread, each taking it twice per increment. */
TEST(rmutex_excludes_under_contention)
{
    static struct rm_counter c;
    memset(&c, 0, sizeof c);
    c.iters = stress_scaled(10000);
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    weft_fiber f[8];
    pthread_t t;
    for (int i = 0; i < 8; i++)
        CHECK_OK(weft_spawn(&f[i], rm_count, &c, NULL));
    CHECK_OK(pthread_create(&t, NULL, rm_count, &c));
    for (int i = 0; i < 8; i++)
        CHECK_OK(weft_join(f[i], NULL));
    CHECK_OK(pthread_join(t, NULL));
    EXPECT_EQ(c.value, 9 * c.iters);
    EXPECT_EQ(atomic_load(&c.bad), 0);
    EXPECT_EQ(weft_rmutex_destroy(&c.m), 0);
    CHECK_OK(weft_shutdown());
}

TAP_MAIN()
