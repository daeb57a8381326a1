/*
 * sync_cond_test.c - weft_cond through weft.h alone: signal wakes exactly
 * one waiter and broadcast every waiter present (none spuriously, none
 * lost), a ping-pong between fibers and plain threads loses no wake-up,
 * and wait_until re-acquires the mutex before it returns, after a timeout
 * too.
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

/* Waiters take "tickets" under a mutex; each return from weft_cond_wait is
 * counted, so a spurious or extra wake-up shows as more returns than
 * tickets, and a lost one as a hang (the watchdog). */
struct box {
    weft_mutex m;
    weft_cond c;
    int waiting; /* waiters inside their wait loop; guarded by m */
    int tickets; /* guarded by m */
    int go;      /* broadcast generation; guarded by m */
    int wakeups; /* returns from weft_cond_wait; guarded by m */
    int done;    /* waiters that finished; guarded by m */
    int errors;  /* guarded by m */
};

static void *take_ticket(void *arg)
{
    struct box *b = arg;
    weft_mutex_lock(&b->m);
    b->waiting++;
    while (b->tickets == 0) {
        if (weft_cond_wait(&b->c, &b->m) != 0)
            b->errors++;
        b->wakeups++;
    }
    b->tickets--;
    b->waiting--;
    b->done++;
    weft_mutex_unlock(&b->m);
    return NULL;
}

static void *wait_go(void *arg)
{
    struct box *b = arg;
    weft_mutex_lock(&b->m);
    int gen = b->go;
    b->waiting++;
    while (b->go == gen) {
        if (weft_cond_wait(&b->c, &b->m) != 0)
            b->errors++;
        b->wakeups++;
    }
    b->waiting--;
    b->done++;
    weft_mutex_unlock(&b->m);
    return NULL;
}

/* Wait (yielding) until @n waiters are inside their wait loop; they are
 * then all queued on the cond, because each one released the mutex only
 * inside weft_cond_wait. */
static bool await_waiting(struct box *b, int n)
{
    int64_t give_up = weft_deadline_after(30 * S);
    for (;;) {
        weft_mutex_lock(&b->m);
        int w = b->waiting;
        weft_mutex_unlock(&b->m);
        if (w == n)
            return true;
        if (weft_now() > give_up)
            return false;
        weft_yield();
    }
}

static bool await_done(struct box *b, int n)
{
    int64_t give_up = weft_deadline_after(30 * S);
    for (;;) {
        weft_mutex_lock(&b->m);
        int d = b->done;
        weft_mutex_unlock(&b->m);
        if (d >= n)
            return true;
        if (weft_now() > give_up)
            return false;
        weft_yield();
    }
}

/* 16 fiber waiters and 2 plain-thread waiters on 2 workers; with all of
 * them queued, one ticket and one signal at a time: each signal lets
 * exactly one waiter through, and in all there are exactly 18 returns from
 * weft_cond_wait (no extra, no spurious, none lost). */
TEST(cond_signal_wakes_exactly_one)
{
    enum { FIBERS = 16, THREADS = 2, N = FIBERS + THREADS };
    static struct box b;
    memset(&b, 0, sizeof b);
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    weft_fiber f[FIBERS];
    pthread_t t[THREADS];
    for (int i = 0; i < FIBERS; i++)
        CHECK_OK(weft_spawn(&f[i], take_ticket, &b, NULL));
    for (int i = 0; i < THREADS; i++)
        CHECK_OK(pthread_create(&t[i], NULL, take_ticket, &b));
    CHECK(await_waiting(&b, N));
    for (int k = 1; k <= N; k++) {
        weft_mutex_lock(&b.m);
        b.tickets++;
        CHECK_OK(weft_cond_signal(&b.c));
        weft_mutex_unlock(&b.m);
        CHECK(await_done(&b, k));
        weft_mutex_lock(&b.m);
        EXPECT_EQ(b.done, k);
        EXPECT_EQ(b.waiting, N - k);
        weft_mutex_unlock(&b.m);
    }
    for (int i = 0; i < FIBERS; i++)
        CHECK_OK(weft_join(f[i], NULL));
    for (int i = 0; i < THREADS; i++)
        CHECK_OK(pthread_join(t[i], NULL));
    EXPECT_EQ(b.wakeups, N);
    EXPECT_EQ(b.errors, 0);
    EXPECT_EQ(weft_cond_destroy(&b.c), 0);
    EXPECT_EQ(weft_mutex_destroy(&b.m), 0);
    CHECK_OK(weft_shutdown());
}

/* Signal and broadcast with nobody waiting are no-ops that leave nothing
 * behind: a waiter that comes afterwards is not woken by them. */
TEST(cond_signal_without_waiters_is_not_remembered)
{
    static weft_mutex m;
    static weft_cond c = WEFT_COND_INIT;
    settle();
    CHECK_OK(weft_cond_signal(&c));
    CHECK_OK(weft_cond_broadcast(&c));
    CHECK_OK(weft_mutex_lock(&m));
    int64_t t0 = weft_now();
    EXPECT_EQ(weft_cond_wait_until(&c, &m, weft_deadline_after(5 * MS)), -ETIMEDOUT);
    EXPECT(weft_now() - t0 >= 5 * MS);
    EXPECT_EQ(weft_mutex_unlock(&m), 0);
    EXPECT_EQ(weft_cond_destroy(&c), 0);
}

/* broadcast wakes every waiter queued at that moment (32 fibers and a
 * plain thread, each exactly once), and no later one. */
TEST(cond_broadcast_wakes_all_present)
{
    enum { FIBERS = 32, N = FIBERS + 1 };
    static struct box b;
    memset(&b, 0, sizeof b);
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    weft_fiber f[FIBERS];
    pthread_t t;
    for (int i = 0; i < FIBERS; i++)
        CHECK_OK(weft_spawn(&f[i], wait_go, &b, NULL));
    CHECK_OK(pthread_create(&t, NULL, wait_go, &b));
    CHECK(await_waiting(&b, N));
    weft_mutex_lock(&b.m);
    b.go++; /* a new generation: every waiter queued now may leave */
    CHECK_OK(weft_cond_broadcast(&b.c));
    weft_mutex_unlock(&b.m);
    for (int i = 0; i < FIBERS; i++)
        CHECK_OK(weft_join(f[i], NULL));
    CHECK_OK(pthread_join(t, NULL));
    EXPECT_EQ(b.done, N);
    EXPECT_EQ(b.wakeups, N);
    EXPECT_EQ(b.errors, 0);
    /* The broadcast is not remembered for a newcomer. */
    weft_mutex_lock(&b.m);
    EXPECT_EQ(weft_cond_wait_until(&b.c, &b.m, weft_deadline_after(2 * MS)), -ETIMEDOUT);
    weft_mutex_unlock(&b.m);
    EXPECT_EQ(weft_cond_destroy(&b.c), 0);
    CHECK_OK(weft_shutdown());
}

/* Ping-pong: two sides take turns through one mutex and two conds. A lost
 * wake-up hangs it. */
struct pingpong {
    weft_mutex m;
    weft_cond turn[2];
    int whose; /* guarded by m */
    long rounds;
    long moves[2];
};

struct side {
    struct pingpong *p;
    int me;
};

static void *play(void *arg)
{
    struct side *s = arg;
    struct pingpong *p = s->p;
    weft_mutex_lock(&p->m);
    for (long i = 0; i < p->rounds; i++) {
        while (p->whose != s->me)
            weft_cond_wait(&p->turn[s->me], &p->m);
        p->moves[s->me]++;
        p->whose = !s->me;
        weft_cond_signal(&p->turn[!s->me]);
    }
    weft_mutex_unlock(&p->m);
    return NULL;
}

static void run_pingpong(int workers, bool thread_side, long rounds)
{
    static struct pingpong p;
    memset(&p, 0, sizeof p);
    p.rounds = rounds;
    struct side a = {&p, 0}, b = {&p, 1};
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = workers}));
    weft_fiber fa, fb;
    pthread_t tb;
    CHECK_OK(weft_spawn(&fa, play, &a, NULL));
    if (thread_side)
        CHECK_OK(pthread_create(&tb, NULL, play, &b));
    else
        CHECK_OK(weft_spawn(&fb, play, &b, NULL));
    CHECK_OK(weft_join(fa, NULL));
    if (thread_side)
        CHECK_OK(pthread_join(tb, NULL));
    else
        CHECK_OK(weft_join(fb, NULL));
    EXPECT_EQ(p.moves[0], rounds);
    EXPECT_EQ(p.moves[1], rounds);
    CHECK_OK(weft_shutdown());
}

/* 100000 turns between two fibers on one worker, on two workers, and
 * between a fiber and a plain thread: none lost. */
TEST(cond_pingpong_loses_no_wakeup)
{
    long n = stress_scaled(100000);
    run_pingpong(1, false, n);
    run_pingpong(2, false, n);
    run_pingpong(2, true, n / 4 + 1);
}

struct reacquire {
    weft_mutex m;
    weft_cond c;
    atomic_int waiter_in_wait; /* the waiter has called wait_until */
    atomic_int helper_released;
    int rc;
    int64_t took;
    int held_after; /* trylock from the waiter failed: it holds m */
    int unlock_rc;
};

static void *timed_waiter(void *arg)
{
    struct reacquire *r = arg;
    weft_mutex_lock(&r->m);
    atomic_store(&r->waiter_in_wait, 1);
    int64_t t0 = weft_now();
    r->rc = weft_cond_wait_until(&r->c, &r->m, weft_deadline_after(10 * MS));
    r->took = weft_now() - t0;
    /* The helper held m well past our deadline: we must have waited for it. */
    r->held_after = atomic_load(&r->helper_released) && weft_mutex_trylock(&r->m) == -EAGAIN;
    r->unlock_rc = weft_mutex_unlock(&r->m);
    return NULL;
}

static void *hold_past_deadline(void *arg)
{
    struct reacquire *r = arg;
    while (!atomic_load(&r->waiter_in_wait))
        weft_yield();
    weft_mutex_lock(&r->m); /* free once the waiter is queued */
    int64_t until = weft_deadline_after(30 * MS);
    while (weft_now() < until)
        weft_yield(); /* hold m across the waiter's deadline */
    atomic_store(&r->helper_released, 1);
    weft_mutex_unlock(&r->m);
    return NULL;
}

/* wait_until times out no earlier than its deadline and returns with the
 * mutex held, even when another fiber held the mutex at the deadline: it
 * waits for that fiber's unlock first. Also deadline 0, from a plain
 * thread: -ETIMEDOUT at once, mutex still held. */
TEST(cond_wait_until_timeout_reacquires_mutex)
{
    static struct reacquire r;
    memset(&r, 0, sizeof r);
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    weft_fiber w, h;
    CHECK_OK(weft_spawn(&w, timed_waiter, &r, NULL));
    CHECK_OK(weft_spawn(&h, hold_past_deadline, &r, NULL));
    CHECK_OK(weft_join(w, NULL));
    CHECK_OK(weft_join(h, NULL));
    EXPECT_EQ(r.rc, -ETIMEDOUT);
    EXPECT(r.took >= 10 * MS);
    EXPECT_EQ(r.held_after, 1);
    EXPECT_EQ(r.unlock_rc, 0);

    CHECK_OK(weft_mutex_lock(&r.m));
    EXPECT_EQ(weft_cond_wait_until(&r.c, &r.m, 0), -ETIMEDOUT);
    EXPECT_EQ(weft_cond_wait_until(&r.c, &r.m, weft_now() - 1), -ETIMEDOUT);
    EXPECT_EQ(weft_mutex_trylock(&r.m), -EAGAIN);
    EXPECT_EQ(weft_mutex_unlock(&r.m), 0);
    EXPECT_EQ(weft_cond_destroy(&r.c), 0);
    EXPECT_EQ(weft_mutex_destroy(&r.m), 0);
    CHECK_OK(weft_shutdown());
}

/* A signal is not lost on a waiter whose wait already ended (here by
 * cancellation) but which has not yet left the queue: it goes to the next
 * waiter. On one worker, a spinning fiber keeps the cancelled waiter from
 * running (and leaving the queue) while the main thread signals. */
struct skip {
    weft_mutex m;
    weft_cond c;
    int waiting; /* guarded by m */
    int tickets; /* guarded by m */
    int got[2];  /* tickets each waiter took; guarded by m */
    int rc[2];
    atomic_int spinning, release;
};

struct skip_arg {
    struct skip *k;
    int me;
};

static void *skip_waiter(void *arg)
{
    struct skip_arg *a = arg;
    struct skip *k = a->k;
    weft_mutex_lock(&k->m);
    while (k->waiting != a->me) { /* waiter 0 queues first, then waiter 1 */
        weft_mutex_unlock(&k->m);
        weft_yield();
        weft_mutex_lock(&k->m);
    }
    k->waiting++;
    int rc = 0;
    while (k->tickets == 0 && rc == 0)
        rc = weft_cond_wait(&k->c, &k->m);
    if (rc == 0) {
        k->tickets--;
        k->got[a->me]++;
    }
    k->rc[a->me] = rc;
    weft_mutex_unlock(&k->m);
    return NULL;
}

static void *skip_spinner(void *arg)
{
    struct skip *k = arg;
    for (;;) {
        weft_mutex_lock(&k->m);
        int w = k->waiting;
        weft_mutex_unlock(&k->m);
        if (w == 2)
            break;
        weft_yield();
    }
    atomic_store(&k->spinning, 1);
    while (!atomic_load(&k->release))
        ; /* hold the only worker: the waiters cannot run */
    return NULL;
}

TEST(cond_signal_skips_ended_wait)
{
    static struct skip k;
    memset(&k, 0, sizeof k);
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 1}));
    struct skip_arg a0 = {&k, 0}, a1 = {&k, 1};
    weft_fiber w0, w1, sp;
    CHECK_OK(weft_spawn(&w0, skip_waiter, &a0, NULL));
    CHECK_OK(weft_spawn(&w1, skip_waiter, &a1, NULL));
    CHECK_OK(weft_spawn(&sp, skip_spinner, &k, NULL));
    while (!atomic_load(&k.spinning))
        sched_yield();
    /* Waiter 0 heads the queue; its wait ends (cancelled) but it cannot
     * run to leave the queue. One ticket, one signal: waiter 1 gets it. */
    CHECK_OK(weft_cancel(w0));
    CHECK_OK(weft_mutex_lock(&k.m));
    k.tickets = 1;
    CHECK_OK(weft_cond_signal(&k.c));
    CHECK_OK(weft_mutex_unlock(&k.m));
    atomic_store(&k.release, 1);
    CHECK_OK(weft_join(sp, NULL));
    CHECK_OK(weft_join(w0, NULL));
    CHECK_OK(weft_join(w1, NULL));
    EXPECT_EQ(k.rc[0], -ECANCELED);
    EXPECT_EQ(k.got[0], 0);
    EXPECT_EQ(k.rc[1], 0);
    EXPECT_EQ(k.got[1], 1);
    EXPECT_EQ(k.tickets, 0);
    EXPECT_EQ(weft_cond_destroy(&k.c), 0);
    CHECK_OK(weft_shutdown());
}

TAP_MAIN()
