/*
 * sync_stress.c - every sync primitive at once, in rounds, with deadlines
 * and cancellation thrown in. Per round, behind an event used as a start
 * gate: producers and consumers pass items through a bounded buffer built
 * from a mutex and two conds (every item received exactly once); mixers
 * (fibers and a plain thread) take a semaphore-limited section, read and
 * write a table under a reader-writer lock (its sum is invariant), call a
 * per-round once, and meet at a barrier; victims block in a random
 * primitive and are cancelled. A wait group tells the orchestrator when
 * the mixers are done. After each round every object must be idle
 * (destroy returns 0) and every invariant hold. Seeded, scaled by
 * WEFT_STRESS_SCALE; WEFT_WORKERS=4 on 2 cores.
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

enum {
    PRODUCERS = 4,
    CONSUMERS = 4,
    QCAP = 8,
    FIBER_MIXERS = 8,
    MIXERS = FIBER_MIXERS + 1, /* and one plain thread */
    VICTIMS = 8,
    SECTION = 3, /* semaphore units */
    TABLE = 16,
    TABLE_UNIT = 100,
    BARRIER_EVERY = 16,
};

struct world {
    /* Start gate. */
    weft_event start;
    /* Bounded buffer. */
    weft_mutex qm;
    weft_cond not_empty, not_full;
    long q[QCAP];
    int qhead, qlen; /* guarded by qm */
    long items;      /* per producer */
    atomic_long received, received_sum;
    /* Mixers. */
    weft_sem section;
    atomic_int inside;
    weft_rwlock tl;
    long table[TABLE]; /* guarded by tl; sums to TABLE * TABLE_UNIT */
    weft_once once;
    atomic_int once_runs;
    weft_barrier bar;
    weft_waitgroup mixers_done;
    long mix_iters;
    /* Victims: objects nobody will release. */
    weft_mutex jail_m;
    weft_rmutex jail_rm;
    weft_rwlock jail_rw;
    weft_cond jail_c;
    weft_mutex jail_cm;
    weft_sem jail_s;
    weft_waitgroup jail_wg;
    weft_event jail_e;
    weft_barrier jail_b;
    atomic_int victims_ready;
    int victim_rc[VICTIMS];
    /* Outcome. */
    atomic_long errors;
};

static struct world W;

static void fail(void)
{
    atomic_fetch_add(&W.errors, 1);
}

static void *producer(void *arg)
{
    long base = (long)(intptr_t)arg * W.items;
    if (weft_event_wait(&W.start) != 0)
        fail();
    for (long i = 1; i <= W.items; i++) {
        weft_mutex_lock(&W.qm);
        while (W.qlen == QCAP)
            if (weft_cond_wait(&W.not_full, &W.qm) != 0)
                fail();
        W.q[(W.qhead + W.qlen++) % QCAP] = base + i;
        weft_cond_signal(&W.not_empty);
        weft_mutex_unlock(&W.qm);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    if (weft_event_wait(&W.start) != 0)
        fail();
    for (;;) {
        weft_mutex_lock(&W.qm);
        while (W.qlen == 0) {
            /* Short deadlines: most waits time out and wait again. */
            int rc = weft_cond_wait_until(&W.not_empty, &W.qm, weft_deadline_after(200000));
            if (rc != 0 && rc != -ETIMEDOUT)
                fail();
        }
        long v = W.q[W.qhead];
        W.qhead = (W.qhead + 1) % QCAP;
        W.qlen--;
        weft_cond_signal(&W.not_full);
        weft_mutex_unlock(&W.qm);
        if (v == 0)
            return NULL; /* poison */
        atomic_fetch_add(&W.received, 1);
        atomic_fetch_add(&W.received_sum, v);
    }
}

static void once_init(void *arg)
{
    (void)arg;
    atomic_fetch_add(&W.once_runs, 1);
}

static void mix_once(uint64_t *x, bool fiber)
{
    uint64_t r = splitmix(x);
    switch (r % 5) {
    case 0: { /* semaphore-limited section */
        int rc = weft_sem_acquire_until(&W.section, weft_deadline_after((int64_t)(r >> 8) % 50000));
        if (rc == -ETIMEDOUT)
            break;
        if (rc) {
            fail();
            break;
        }
        if (atomic_fetch_add(&W.inside, 1) >= SECTION)
            fail();
        if (fiber && (r >> 30) % 2)
            weft_yield();
        atomic_fetch_sub(&W.inside, 1);
        if (weft_sem_release(&W.section) != 0)
            fail();
        break;
    }
    case 1:
    case 2: { /* read the table */
        if (weft_rwlock_rdlock(&W.tl) != 0) {
            fail();
            break;
        }
        long sum = 0;
        for (int i = 0; i < TABLE; i++)
            sum += W.table[i];
        if (sum != TABLE * TABLE_UNIT)
            fail();
        weft_rwlock_unlock(&W.tl);
        break;
    }
    case 3: { /* move a unit in the table, maybe with a deadline */
        int rc = (r >> 8) % 2 ? weft_rwlock_wrlock(&W.tl)
                              : weft_rwlock_wrlock_until(&W.tl, weft_deadline_after(50000));
        if (rc == -ETIMEDOUT)
            break;
        if (rc) {
            fail();
            break;
        }
        int a = (int)((r >> 16) % TABLE), b = (int)((r >> 24) % TABLE);
        W.table[a]--;
        if (fiber && (r >> 32) % 4 == 0)
            weft_yield();
        W.table[b]++;
        weft_rwlock_unlock(&W.tl);
        break;
    }
    default:
        if (weft_once_call(&W.once, once_init, NULL) != 0 || atomic_load(&W.once_runs) != 1)
            fail();
    }
}

struct mixer {
    uint64_t seed;
    bool fiber;
};

static void *mixer(void *arg)
{
    struct mixer *m = arg;
    uint64_t x = m->seed;
    if (weft_event_wait(&W.start) != 0)
        fail();
    for (long i = 1; i <= W.mix_iters; i++) {
        mix_once(&x, m->fiber);
        if (i % BARRIER_EVERY == 0) {
            int rc = weft_barrier_wait(&W.bar);
            if (rc != 0 && rc != 1)
                fail();
        }
    }
    if (weft_waitgroup_done(&W.mixers_done) != 0)
        fail();
    return NULL;
}

/* A victim blocks, forever, in the primitive its number names. */
static void *victim(void *arg)
{
    int k = (int)(intptr_t)arg;
    if (weft_event_wait(&W.start) != 0)
        fail();
    int rc;
    atomic_fetch_add(&W.victims_ready, 1);
    switch (k % VICTIMS) {
    case 0:
        rc = weft_mutex_lock(&W.jail_m);
        break;
    case 1:
        rc = weft_rwlock_wrlock_until(&W.jail_rw, weft_deadline_after(60000000000));
        break;
    case 2:
        weft_mutex_lock(&W.jail_cm);
        rc = weft_cond_wait(&W.jail_c, &W.jail_cm);
        if (weft_mutex_unlock(&W.jail_cm) != 0) /* held again on return */
            fail();
        break;
    case 3:
        rc = weft_sem_acquire(&W.jail_s);
        break;
    case 4:
        rc = weft_waitgroup_wait(&W.jail_wg);
        break;
    case 5:
        rc = weft_event_wait(&W.jail_e);
        break;
    case 6:
        rc = weft_barrier_wait(&W.jail_b);
        break;
    default:
        rc = weft_rmutex_lock(&W.jail_rm);
        break;
    }
    W.victim_rc[k] = rc;
    return NULL;
}

static void reset_world(long items, long mix_iters)
{
    memset(&W, 0, sizeof W);
    W.items = items;
    W.mix_iters = mix_iters;
    weft_sem_init_bounded(&W.section, SECTION, SECTION);
    for (int i = 0; i < TABLE; i++)
        W.table[i] = TABLE_UNIT;
    weft_barrier_init(&W.bar, MIXERS);
    weft_waitgroup_add(&W.mixers_done, MIXERS);
    weft_barrier_init(&W.jail_b, 2);
    weft_waitgroup_add(&W.jail_wg, 1);
}

/* Every object idle and every invariant holding after a round. */
static void check_world(void)
{
    long n = (long)PRODUCERS * W.items;
    EXPECT_EQ(atomic_load(&W.received), n);
    /* Producer p sends p*items + 1 .. p*items + items. */
    long want = 0;
    for (long p = 0; p < PRODUCERS; p++)
        want += p * W.items * W.items + W.items * (W.items + 1) / 2;
    EXPECT_EQ(atomic_load(&W.received_sum), want);
    long sum = 0;
    for (int i = 0; i < TABLE; i++)
        sum += W.table[i];
    EXPECT_EQ(sum, TABLE * TABLE_UNIT);
    EXPECT_EQ(atomic_load(&W.once_runs) <= 1, 1);
    EXPECT_EQ(weft_sem_value(&W.section), SECTION);
    for (int k = 0; k < VICTIMS; k++)
        EXPECT_EQ(W.victim_rc[k], -ECANCELED);
    EXPECT_EQ(atomic_load(&W.errors), 0);
    EXPECT_EQ(weft_event_destroy(&W.start), 0);
    EXPECT_EQ(weft_mutex_destroy(&W.qm), 0);
    EXPECT_EQ(weft_cond_destroy(&W.not_empty), 0);
    EXPECT_EQ(weft_cond_destroy(&W.not_full), 0);
    EXPECT_EQ(weft_sem_destroy(&W.section), 0);
    EXPECT_EQ(weft_rwlock_destroy(&W.tl), 0);
    EXPECT_EQ(weft_barrier_destroy(&W.bar), 0);
    EXPECT_EQ(weft_waitgroup_destroy(&W.mixers_done), 0);
    EXPECT_EQ(weft_cond_destroy(&W.jail_c), 0);
    EXPECT_EQ(weft_mutex_destroy(&W.jail_cm), 0);
    EXPECT_EQ(weft_sem_destroy(&W.jail_s), 0);
    EXPECT_EQ(weft_event_destroy(&W.jail_e), 0);
    EXPECT_EQ(weft_barrier_destroy(&W.jail_b), 0);
}

TEST(mixed_sync_rounds)
{
    uint64_t x = tap_seed();
    long rounds = stress_scaled(40);
    long items = stress_scaled(10000) + 1;
    long mix = BARRIER_EVERY * (stress_scaled(2000) / BARRIER_EVERY + 1);
    CHECK_OK(weft_init(NULL));
    printf("# %d workers, %ld rounds of %ld items x %d producers, %ld mixer ops x %d\n",
           weft_workers(), rounds, items, PRODUCERS, mix, MIXERS);
    for (long round = 0; round < rounds; round++) {
        reset_world(items, mix);
        /* The main thread holds the jail locks. */
        CHECK_OK(weft_mutex_lock(&W.jail_m));
        CHECK_OK(weft_rwlock_rdlock(&W.jail_rw));
        CHECK_OK(weft_rmutex_lock(&W.jail_rm));
        weft_fiber p[PRODUCERS], c[CONSUMERS], m[FIBER_MIXERS], v[VICTIMS];
        pthread_t mt;
        struct mixer mx[MIXERS];
        for (int i = 0; i < MIXERS; i++)
            mx[i] = (struct mixer){.seed = splitmix(&x), .fiber = i < FIBER_MIXERS};
        for (int i = 0; i < PRODUCERS; i++)
            CHECK_OK(weft_spawn(&p[i], producer, (void *)(intptr_t)i, NULL));
        for (int i = 0; i < CONSUMERS; i++)
            CHECK_OK(weft_spawn(&c[i], consumer, NULL, NULL));
        for (int i = 0; i < FIBER_MIXERS; i++)
            CHECK_OK(weft_spawn(&m[i], mixer, &mx[i], NULL));
        CHECK_OK(pthread_create(&mt, NULL, mixer, &mx[FIBER_MIXERS]));
        for (int i = 0; i < VICTIMS; i++)
            CHECK_OK(weft_spawn(&v[i], victim, (void *)(intptr_t)i, NULL));
        if (splitmix(&x) % 2)
            sched_yield();
        CHECK_OK(weft_event_set(&W.start));
        /* Cancel the victims, at random moments: before, while or after
         * they park. */
        for (int i = 0; i < VICTIMS; i++) {
            if (splitmix(&x) % 2)
                while (atomic_load(&W.victims_ready) <= i)
                    sched_yield();
            CHECK_OK(weft_cancel(v[i]));
        }
        for (int i = 0; i < VICTIMS; i++)
            CHECK_OK(weft_join(v[i], NULL));
        CHECK_OK(weft_waitgroup_wait(&W.mixers_done));
        for (int i = 0; i < PRODUCERS; i++)
            CHECK_OK(weft_join(p[i], NULL));
        for (int i = 0; i < FIBER_MIXERS; i++)
            CHECK_OK(weft_join(m[i], NULL));
        CHECK_OK(pthread_join(mt, NULL));
        /* Poison pills: one per consumer. */
        for (int i = 0; i < CONSUMERS; i++) {
            CHECK_OK(weft_mutex_lock(&W.qm));
            while (W.qlen == QCAP)
                CHECK_OK(weft_cond_wait(&W.not_full, &W.qm));
            W.q[(W.qhead + W.qlen++) % QCAP] = 0;
            CHECK_OK(weft_cond_signal(&W.not_empty));
            CHECK_OK(weft_mutex_unlock(&W.qm));
        }
        for (int i = 0; i < CONSUMERS; i++)
            CHECK_OK(weft_join(c[i], NULL));
        CHECK_OK(weft_mutex_unlock(&W.jail_m));
        CHECK_OK(weft_rwlock_unlock(&W.jail_rw));
        CHECK_OK(weft_rmutex_unlock(&W.jail_rm));
        EXPECT_EQ(weft_rmutex_destroy(&W.jail_rm), 0);
        EXPECT_EQ(weft_mutex_destroy(&W.jail_m), 0);
        EXPECT_EQ(weft_rwlock_destroy(&W.jail_rw), 0);
        CHECK_OK(weft_waitgroup_done(&W.jail_wg));
        check_world();
    }
    CHECK_OK(weft_shutdown());
}

TAP_MAIN()
