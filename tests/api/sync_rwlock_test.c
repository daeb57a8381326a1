/*
 * sync_rwlock_test.c - weft_rwlock through weft.h alone: readers hold it
 * together, a writer holds it alone, a waiting writer stops new readers
 * (and gets the lock while readers keep coming), readers queued behind a
 * writer that gives up get in, and the try and deadline forms.
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

/* Zeroed and initialized locks; try forms and deadlines on each state,
 * from a plain thread with no runtime. */
TEST(rwlock_states_try_and_deadlines)
{
    settle();
    weft_rwlock rw = WEFT_RWLOCK_INIT;
    EXPECT_EQ(weft_rwlock_destroy(&rw), 0);
    EXPECT_EQ(weft_rwlock_unlock(&rw), -EPERM);
    /* Read-held: more readers yes, writer no. */
    EXPECT_EQ(weft_rwlock_tryrdlock(&rw), 0);
    EXPECT_EQ(weft_rwlock_rdlock(&rw), 0);
    EXPECT_EQ(weft_rwlock_rdlock_until(&rw, 0), 0);
    EXPECT_EQ(weft_rwlock_trywrlock(&rw), -EAGAIN);
    EXPECT_EQ(weft_rwlock_wrlock_until(&rw, 0), -ETIMEDOUT);
    int64_t t0 = weft_now();
    EXPECT_EQ(weft_rwlock_wrlock_until(&rw, weft_deadline_after(3 * MS)), -ETIMEDOUT);
    EXPECT(weft_now() - t0 >= 3 * MS);
    EXPECT_EQ(weft_rwlock_destroy(&rw), -EBUSY);
    for (int i = 0; i < 3; i++)
        EXPECT_EQ(weft_rwlock_unlock(&rw), 0);
    EXPECT_EQ(weft_rwlock_unlock(&rw), -EPERM);
    EXPECT_EQ(weft_rwlock_destroy(&rw), 0);
    /* Write-held: nobody else. */
    CHECK_OK(weft_rwlock_init(&rw));
    EXPECT_EQ(weft_rwlock_trywrlock(&rw), 0);
    EXPECT_EQ(weft_rwlock_trywrlock(&rw), -EAGAIN);
    EXPECT_EQ(weft_rwlock_tryrdlock(&rw), -EAGAIN);
    EXPECT_EQ(weft_rwlock_rdlock_until(&rw, 0), -ETIMEDOUT);
    t0 = weft_now();
    EXPECT_EQ(weft_rwlock_rdlock_until(&rw, weft_deadline_after(3 * MS)), -ETIMEDOUT);
    EXPECT(weft_now() - t0 >= 3 * MS);
    EXPECT_EQ(weft_rwlock_destroy(&rw), -EBUSY);
    EXPECT_EQ(weft_rwlock_unlock(&rw), 0);
    EXPECT_EQ(weft_rwlock_unlock(&rw), -EPERM);
    EXPECT_EQ(weft_rwlock_wrlock(&rw), 0);
    EXPECT_EQ(weft_rwlock_unlock(&rw), 0);
    EXPECT_EQ(weft_rwlock_destroy(&rw), 0);
}

struct readers {
    weft_rwlock rw;
    atomic_int inside, max_inside;
    int n;
    atomic_int failed;
};

static void *read_together(void *arg)
{
    struct readers *r = arg;
    if (weft_rwlock_rdlock(&r->rw) != 0) {
        atomic_fetch_add(&r->failed, 1);
        return NULL;
    }
    int now = atomic_fetch_add(&r->inside, 1) + 1;
    int m = atomic_load(&r->max_inside);
    while (now > m && !atomic_compare_exchange_weak(&r->max_inside, &m, now))
        ;
    /* Hold the read lock until every reader is inside (or give up). */
    int64_t give_up = weft_deadline_after(20 * S);
    while (atomic_load(&r->inside) < r->n && weft_now() < give_up)
        weft_yield();
    if (atomic_load(&r->inside) < r->n)
        atomic_fetch_add(&r->failed, 1);
    weft_rwlock_unlock(&r->rw);
    return NULL;
}

/* 16 fiber readers on 2 workers and 2 plain-thread readers are all inside
 * at once: readers do not exclude each other. */
TEST(rwlock_readers_hold_it_together)
{
    enum { FIBERS = 16, THREADS = 2 };
    static struct readers r;
    memset(&r, 0, sizeof r);
    r.n = FIBERS + THREADS;
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    weft_fiber f[FIBERS];
    pthread_t t[THREADS];
    for (int i = 0; i < FIBERS; i++)
        CHECK_OK(weft_spawn(&f[i], read_together, &r, NULL));
    for (int i = 0; i < THREADS; i++)
        CHECK_OK(pthread_create(&t[i], NULL, read_together, &r));
    for (int i = 0; i < FIBERS; i++)
        CHECK_OK(weft_join(f[i], NULL));
    for (int i = 0; i < THREADS; i++)
        CHECK_OK(pthread_join(t[i], NULL));
    EXPECT_EQ(atomic_load(&r.max_inside), r.n);
    EXPECT_EQ(atomic_load(&r.failed), 0);
    EXPECT_EQ(weft_rwlock_destroy(&r.rw), 0);
    CHECK_OK(weft_shutdown());
}

/* Writers keep two fields equal, in two steps with a yield between;
 * readers check them. A reader seeing them differ, or anyone seeing a
 * writer inside with someone else, is a violation. */
struct shared {
    weft_rwlock rw;
    long a, b;          /* guarded by rw */
    atomic_int writers; /* writers inside */
    atomic_int readers; /* readers inside */
    atomic_long violations, reads, writes;
    long iters;
};

static void *writer_body(void *arg)
{
    struct shared *s = arg;
    for (long i = 0; i < s->iters; i++) {
        int rc = i % 3 ? weft_rwlock_wrlock(&s->rw)
                       : weft_rwlock_wrlock_until(&s->rw, weft_deadline_after(100 * MS));
        if (rc == -ETIMEDOUT)
            continue;
        if (rc) {
            atomic_fetch_add(&s->violations, 1);
            continue;
        }
        if (atomic_fetch_add(&s->writers, 1) != 0 || atomic_load(&s->readers) != 0)
            atomic_fetch_add(&s->violations, 1);
        s->a++;
        if (i % 8 == 0)
            weft_yield();
        s->b++;
        atomic_fetch_sub(&s->writers, 1);
        atomic_fetch_add(&s->writes, 1);
        weft_rwlock_unlock(&s->rw);
    }
    return NULL;
}

static void *reader_body(void *arg)
{
    struct shared *s = arg;
    for (long i = 0; i < 4 * s->iters; i++) {
        int rc = i % 2 ? weft_rwlock_rdlock(&s->rw) : weft_rwlock_tryrdlock(&s->rw);
        if (rc == -EAGAIN)
            continue;
        if (rc) {
            atomic_fetch_add(&s->violations, 1);
            continue;
        }
        atomic_fetch_add(&s->readers, 1);
        if (atomic_load(&s->writers) != 0)
            atomic_fetch_add(&s->violations, 1);
        long a = s->a;
        if (i % 16 == 0)
            weft_yield();
        if (s->b != a)
            atomic_fetch_add(&s->violations, 1);
        atomic_fetch_sub(&s->readers, 1);
        atomic_fetch_add(&s->reads, 1);
        weft_rwlock_unlock(&s->rw);
    }
    return NULL;
}

/* 4 writers and 12 readers on 2 workers, plus a plain-thread reader and a
 * plain-thread writer: writers exclude everyone, readers never see a half
 * write, and every write is counted. */
TEST(rwlock_writer_excludes)
{
    enum { W = 4, R = 12 };
    static struct shared s;
    memset(&s, 0, sizeof s);
    s.iters = stress_scaled(5000);
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    weft_fiber f[W + R];
    pthread_t tw, tr;
    for (int i = 0; i < W + R; i++)
        CHECK_OK(weft_spawn(&f[i], i < W ? writer_body : reader_body, &s, NULL));
    CHECK_OK(pthread_create(&tw, NULL, writer_body, &s));
    CHECK_OK(pthread_create(&tr, NULL, reader_body, &s));
    for (int i = 0; i < W + R; i++)
        CHECK_OK(weft_join(f[i], NULL));
    CHECK_OK(pthread_join(tw, NULL));
    CHECK_OK(pthread_join(tr, NULL));
    printf("# %ld writes, %ld reads\n", atomic_load(&s.writes), atomic_load(&s.reads));
    EXPECT_EQ(atomic_load(&s.violations), 0);
    EXPECT_EQ(s.a, atomic_load(&s.writes));
    EXPECT_EQ(s.b, s.a);
    EXPECT_EQ(weft_rwlock_destroy(&s.rw), 0);
    CHECK_OK(weft_shutdown());
}

struct relay {
    weft_rwlock rw;
    atomic_int stop;
    atomic_long reads;
    atomic_int inside;
    atomic_int writer_in;
    int writer_try_rc;
    int64_t writer_waited;
};

/* Readers hand over hand: one leaves only once another is inside, so the
 * read lock is never free - unless new readers are held back, which a
 * tryrdlock that fails while the lock is read-held shows: then a writer
 * waits, and the reader lets go. Without writer preference the writer
 * would wait forever. */
static void *relay_reader(void *arg)
{
    struct relay *r = arg;
    while (!atomic_load(&r->stop)) {
        if (weft_rwlock_rdlock(&r->rw) != 0)
            return (void *)1;
        atomic_fetch_add(&r->reads, 1);
        atomic_fetch_add(&r->inside, 1);
        int64_t give_up = weft_deadline_after(20 * S);
        while (atomic_load(&r->inside) < 2 && !atomic_load(&r->stop)) {
            if (weft_rwlock_tryrdlock(&r->rw) == -EAGAIN)
                break; /* a writer is queued */
            weft_rwlock_unlock(&r->rw);
            if (weft_now() > give_up)
                return (void *)1;
            weft_yield();
        }
        atomic_fetch_sub(&r->inside, 1);
        weft_rwlock_unlock(&r->rw);
        weft_yield(); /* let the writer run */
    }
    return NULL;
}

static void *relay_writer(void *arg)
{
    struct relay *r = arg;
    while (atomic_load(&r->reads) < 1000)
        weft_yield();
    /* Come when the lock is read-held (the premise): a try that finds a
     * gap between readers gives the lock back and tries again. */
    for (int tries = 0; (r->writer_try_rc = weft_rwlock_trywrlock(&r->rw)) == 0; tries++) {
        weft_rwlock_unlock(&r->rw);
        if (tries == 100000) {
            atomic_store(&r->stop, 1); /* never read-held: let the readers go */
            return (void *)1;
        }
        weft_yield();
    }
    int64_t t0 = weft_now();
    if (weft_rwlock_wrlock(&r->rw) != 0) {
        atomic_store(&r->stop, 1);
        return (void *)1;
    }
    r->writer_waited = weft_now() - t0;
    atomic_store(&r->writer_in, 1);
    weft_rwlock_unlock(&r->rw);
    atomic_store(&r->stop, 1);
    return NULL;
}

/* 8 readers keep the read lock held without a gap; a writer still gets
 * it (the readers only stop once it has), in bounded time. */
TEST(rwlock_writer_not_starved_by_readers)
{
    enum { R = 8 };
    static struct relay r;
    memset(&r, 0, sizeof r);
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    weft_fiber f[R], w;
    for (int i = 0; i < R; i++)
        CHECK_OK(weft_spawn(&f[i], relay_reader, &r, NULL));
    CHECK_OK(weft_spawn(&w, relay_writer, &r, NULL));
    void *bad = (void *)1;
    CHECK_OK(weft_join(w, &bad));
    EXPECT(bad == NULL);
    for (int i = 0; i < R; i++) {
        bad = (void *)1;
        CHECK_OK(weft_join(f[i], &bad));
        EXPECT(bad == NULL);
    }
    printf("# writer waited %lld ns after %ld reads\n", (long long)r.writer_waited,
           atomic_load(&r.reads));
    EXPECT_EQ(r.writer_try_rc, -EAGAIN); /* it was read-held when the writer came */
    EXPECT_EQ(atomic_load(&r.writer_in), 1);
    EXPECT(r.writer_waited < 10 * S);
    EXPECT_EQ(weft_rwlock_destroy(&r.rw), 0);
    CHECK_OK(weft_shutdown());
}

struct queued {
    weft_rwlock rw;
    int64_t writer_deadline;
    int writer_rc, reader_rc;
    atomic_int reader_in;
};

static void *queued_writer(void *arg)
{
    struct queued *q = arg;
    q->writer_rc = weft_rwlock_wrlock_until(&q->rw, q->writer_deadline);
    if (q->writer_rc == 0)
        weft_rwlock_unlock(&q->rw);
    return NULL;
}

static void *queued_reader(void *arg)
{
    struct queued *q = arg;
    q->reader_rc = weft_rwlock_rdlock(&q->rw);
    atomic_store(&q->reader_in, 1);
    if (q->reader_rc == 0)
        weft_rwlock_unlock(&q->rw);
    return NULL;
}

/* Wait (bounded) until a writer is queued on @rw: tryrdlock fails while
 * the lock is only read-held. */
static bool writer_queued(weft_rwlock *rw)
{
    int64_t give_up = weft_deadline_after(20 * S);
    while (weft_now() < give_up) {
        if (weft_rwlock_tryrdlock(rw) == -EAGAIN)
            return true;
        weft_rwlock_unlock(rw);
        sched_yield();
    }
    return false;
}

/* The main thread reads; a writer queues (with a deadline), which stops
 * new readers: a reader queues behind it. When the writer gives up, the
 * reader gets in at once, while the main thread still holds its read lock. */
TEST(rwlock_readers_behind_leaving_writer_get_in)
{
    static struct queued q;
    memset(&q, 0, sizeof q);
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    CHECK_OK(weft_rwlock_rdlock(&q.rw));
    q.writer_deadline = weft_deadline_after(50 * MS);
    weft_fiber w, r;
    CHECK_OK(weft_spawn(&w, queued_writer, &q, NULL));
    CHECK(writer_queued(&q.rw));
    CHECK_OK(weft_spawn(&r, queued_reader, &q, NULL));
    EXPECT_EQ(weft_rwlock_rdlock_until(&q.rw, 0), -ETIMEDOUT); /* a writer waits */
    CHECK_OK(weft_join(w, NULL));
    EXPECT_EQ(q.writer_rc, -ETIMEDOUT);
    CHECK_OK(weft_join(r, NULL)); /* we still hold our read lock */
    EXPECT_EQ(q.reader_rc, 0);
    EXPECT_EQ(weft_rwlock_unlock(&q.rw), 0);
    EXPECT_EQ(weft_rwlock_destroy(&q.rw), 0);
    CHECK_OK(weft_shutdown());
}

/* After a writer unlocks, the readers that queued behind it go before the
 * next writer: writer W1 holds, writer W2 and reader R queue (W2 first);
 * on W1's unlock R gets in even though W2 queued earlier. */
struct order {
    weft_rwlock rw;
    atomic_int seq;
    int w2_at, r_at;
};

static void *order_w2(void *arg)
{
    struct order *o = arg;
    weft_rwlock_wrlock(&o->rw);
    o->w2_at = atomic_fetch_add(&o->seq, 1);
    weft_rwlock_unlock(&o->rw);
    return NULL;
}

static void *order_r(void *arg)
{
    struct order *o = arg;
    weft_rwlock_rdlock(&o->rw);
    o->r_at = atomic_fetch_add(&o->seq, 1);
    weft_rwlock_unlock(&o->rw);
    return NULL;
}

/* Runs as the root fiber on one worker: each fiber it spawns runs, and
 * parks, within a few of its yields. */
static void *order_root(void *arg)
{
    struct order *o = arg;
    if (weft_rwlock_wrlock(&o->rw) != 0) /* this fiber is W1 */
        return (void *)1;
    weft_fiber w2, r;
    if (weft_spawn(&w2, order_w2, o, NULL) != 0)
        return (void *)1;
    for (int i = 0; i < 10; i++)
        weft_yield();
    if (weft_spawn(&r, order_r, o, NULL) != 0)
        return (void *)1;
    for (int i = 0; i < 10; i++)
        weft_yield();
    uintptr_t bad = weft_rwlock_tryrdlock(&o->rw) != -EAGAIN; /* both wait */
    bad += weft_rwlock_unlock(&o->rw) != 0;
    bad += weft_join(w2, NULL) != 0;
    bad += weft_join(r, NULL) != 0;
    return (void *)bad;
}

TEST(rwlock_writer_unlock_admits_readers_first)
{
    static struct order o;
    memset(&o, 0, sizeof o);
    settle();
    void *bad = (void *)1;
    CHECK_OK(weft_main(&(weft_config){.workers = 1}, order_root, &o, &bad));
    EXPECT(bad == NULL);
    printf("# reader went %d, writer %d\n", o.r_at, o.w2_at);
    EXPECT_EQ(o.r_at, 0);
    EXPECT_EQ(o.w2_at, 1);
    EXPECT_EQ(weft_rwlock_destroy(&o.rw), 0);
}

TAP_MAIN()
