/*
 * timer_oom_test.c - a fiber's timed wait whose timer cannot be queued
 * (the worker's timer heap cannot grow: every allocation fails) returns
 * -ENOMEM without parking, for every blocking primitive, and leaves the
 * primitive as it found it: the next waiter, untimed by the failure, gets
 * the lock, the element, the wake-up, the byte that the failed one would
 * have taken, and the failed one consumed nothing (a semaphore's count, a
 * barrier's arrivals).
 *
 * The failed wait queues its waiter before it learns that its timer cannot
 * be set, so this checks that every primitive takes that waiter out again
 * and passes on nothing to it.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "sweep.h"

#define SEC ((int64_t)1000000000)

static weft_mutex mu;
static weft_rmutex rmu;
static weft_rwlock rw;
static weft_cond cv;
static weft_sem sem;
static weft_waitgroup wg;
static weft_once once;
static weft_barrier bar;
static weft_event ev, gate;
static weft_chan ch, ch2;
static weft_group grp;
static int pfd[2];
static int next_val, got_val;
static weft_fiber holder;

/* One primitive: make it block (hold), wait on it (the call under test,
 * then whatever undoes a success), let one waiter through (release). */
struct prim {
    const char *name;
    void (*hold)(void);
    int (*wait)(int64_t deadline);
    void (*release)(void);
    void (*fini)(void);
};

static void nothing(void)
{
}

static int mutex_wait(int64_t dl)
{
    int r = weft_mutex_lock_until(&mu, dl);
    return r ? r : weft_mutex_unlock(&mu);
}

static void mutex_hold(void)
{
    CHECK_OK(weft_mutex_lock(&mu));
}

static void mutex_release(void)
{
    CHECK_OK(weft_mutex_unlock(&mu));
}

static int rmutex_wait(int64_t dl)
{
    int r = weft_rmutex_lock_until(&rmu, dl);
    return r ? r : weft_rmutex_unlock(&rmu);
}

static void rmutex_hold(void)
{
    CHECK_OK(weft_rmutex_lock(&rmu));
}

static void rmutex_release(void)
{
    CHECK_OK(weft_rmutex_unlock(&rmu));
}

static int rd_wait(int64_t dl)
{
    int r = weft_rwlock_rdlock_until(&rw, dl);
    return r ? r : weft_rwlock_unlock(&rw);
}

static int wr_wait(int64_t dl)
{
    int r = weft_rwlock_wrlock_until(&rw, dl);
    return r ? r : weft_rwlock_unlock(&rw);
}

static void wr_hold(void)
{
    CHECK_OK(weft_rwlock_wrlock(&rw));
}

static void rd_hold(void)
{
    CHECK_OK(weft_rwlock_rdlock(&rw));
}

static void rw_release(void)
{
    CHECK_OK(weft_rwlock_unlock(&rw));
}

static int cond_wait(int64_t dl)
{
    CHECK_OK(weft_mutex_lock(&mu));
    int r = weft_cond_wait_until(&cv, &mu, dl);
    CHECK_OK(weft_mutex_unlock(&mu));
    return r;
}

static void cond_release(void)
{
    CHECK_OK(weft_mutex_lock(&mu));
    CHECK_OK(weft_cond_signal(&cv));
    CHECK_OK(weft_mutex_unlock(&mu));
}

static int sem_wait(int64_t dl)
{
    return weft_sem_acquire_until(&sem, dl);
}

static void sem_release(void)
{
    CHECK_OK(weft_sem_release(&sem));
}

static void sem_fini(void)
{
    EXPECT_EQ(weft_sem_value(&sem), 0); /* the failed acquire took nothing */
}

static int wg_wait(int64_t dl)
{
    return weft_waitgroup_wait_until(&wg, dl);
}

static void wg_hold(void)
{
    CHECK_OK(weft_waitgroup_add(&wg, 1));
}

static void wg_release(void)
{
    CHECK_OK(weft_waitgroup_done(&wg));
}

static void once_body(void *arg)
{
    (void)arg;
    EXPECT_EQ(weft_event_wait(&gate), 0);
}

static void *once_runner(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)weft_once_call(&once, once_body, NULL);
}

static int once_wait(int64_t dl)
{
    return weft_once_call_until(&once, once_body, NULL, dl);
}

static void once_hold(void)
{
    CHECK_OK(weft_spawn(&holder, once_runner, NULL, NULL));
    weft_yield(); /* it runs and parks inside once_body */
}

static void gate_release(void)
{
    CHECK_OK(weft_event_set(&gate));
}

static void holder_fini(void)
{
    void *res = NULL;
    CHECK_OK(weft_join(holder, &res));
    EXPECT_EQ((int)(intptr_t)res, 0);
}

static int barrier_wait(int64_t dl)
{
    int r = weft_barrier_wait_until(&bar, dl);
    return r == 1 ? 0 : r;
}

static void barrier_release(void)
{
    /* A second party: only the waiting one may count as arrived. */
    int r = weft_barrier_wait_until(&bar, weft_deadline_after(5 * SEC));
    EXPECT(r == 0 || r == 1);
}

static int event_wait(int64_t dl)
{
    return weft_event_wait_until(&ev, dl);
}

static void event_release(void)
{
    CHECK_OK(weft_event_set(&ev));
}

static int recv_wait(int64_t dl)
{
    int v = 0;
    int r = weft_chan_recv_until(ch, &v, dl);
    if (!r)
        got_val = v;
    return r;
}

static void send_release(void)
{
    int v = 42;
    CHECK_OK(weft_chan_send(ch, &v));
}

static void recv_fini(void)
{
    EXPECT_EQ(got_val, 42); /* the live waiter got it, not the failed one */
}

static int send_wait(int64_t dl)
{
    int v = ++next_val;
    return weft_chan_send_until(ch, &v, dl);
}

static void recv_release(void)
{
    int v = 0;
    CHECK_OK(weft_chan_recv_until(ch, &v, weft_deadline_after(5 * SEC)));
    EXPECT_EQ(v, 2); /* the second sender's element: the failed one sent nothing */
}

static int select_wait(int64_t dl)
{
    int a = 0, b = 0;
    weft_select_case c[2] = {{.ch = ch, .op = WEFT_SELECT_RECV, .elem = &a},
                             {.ch = ch2, .op = WEFT_SELECT_RECV, .elem = &b}};
    int r = weft_select(c, 2, dl);
    if (r == 1)
        got_val = b;
    return r < 0 ? r : r == 1 ? 0 : -EPROTO;
}

static void select_release(void)
{
    int v = 42;
    CHECK_OK(weft_chan_send(ch2, &v));
}

static int read_wait(int64_t dl)
{
    char c = 0;
    ssize_t n = weft_read_until(pfd[0], &c, 1, dl);
    return n == 1 ? (c == 'r' ? 0 : -EPROTO) : n < 0 ? (int)n : -EIO;
}

static void read_release(void)
{
    EXPECT_EQ(write(pfd[1], "r", 1), 1);
}

static int grp_member(void *arg)
{
    (void)arg;
    return weft_event_wait(&gate);
}

static int grp_wait(int64_t dl)
{
    return weft_group_wait_until(&grp, dl);
}

static void grp_hold(void)
{
    CHECK(weft_group_go(&grp, grp_member, NULL, NULL) >= 0);
}

static void grp_fini(void)
{
    EXPECT_EQ(weft_group_destroy(&grp), 0);
}

static int sleep_wait(int64_t dl)
{
    (void)dl;
    return weft_sleep(1000000);
}

static const struct prim prims[] = {
    {"mutex", mutex_hold, mutex_wait, mutex_release, nothing},
    {"rmutex", rmutex_hold, rmutex_wait, rmutex_release, nothing},
    {"rwlock rdlock", wr_hold, rd_wait, rw_release, nothing},
    {"rwlock wrlock", rd_hold, wr_wait, rw_release, nothing},
    {"cond", nothing, cond_wait, cond_release, nothing},
    {"sem", nothing, sem_wait, sem_release, sem_fini},
    {"waitgroup", wg_hold, wg_wait, wg_release, nothing},
    {"once", once_hold, once_wait, gate_release, holder_fini},
    {"barrier", nothing, barrier_wait, barrier_release, nothing},
    {"event", nothing, event_wait, event_release, nothing},
    {"chan recv", nothing, recv_wait, send_release, recv_fini},
    {"chan send", nothing, send_wait, recv_release, nothing},
    {"select", nothing, select_wait, select_release, nothing},
    {"read", nothing, read_wait, read_release, nothing},
    {"group wait", grp_hold, grp_wait, gate_release, grp_fini},
    {"sleep", nothing, sleep_wait, nothing, nothing},
};

struct call {
    const struct prim *p;
    int r;
};

static void *waiter(void *arg)
{
    struct call *c = arg;
    c->r = c->p->wait(weft_deadline_after(5 * SEC));
    return NULL;
}

/* Fresh objects for each primitive, in a fresh runtime (a fresh timer heap). */
static void reset_objects(void)
{
    mu = (weft_mutex)WEFT_MUTEX_INIT;
    rmu = (weft_rmutex)WEFT_RMUTEX_INIT;
    rw = (weft_rwlock)WEFT_RWLOCK_INIT;
    cv = (weft_cond)WEFT_COND_INIT;
    sem = (weft_sem)WEFT_SEM_INIT(0);
    wg = (weft_waitgroup)WEFT_WAITGROUP_INIT;
    once = (weft_once)WEFT_ONCE_INIT;
    bar = (weft_barrier)WEFT_BARRIER_INIT(2);
    ev = (weft_event)WEFT_EVENT_INIT;
    gate = (weft_event)WEFT_EVENT_INIT;
    grp = (weft_group)WEFT_GROUP_INIT;
    CHECK_OK(weft_group_init(&grp, 0));
    next_val = got_val = 0;
}

static void *check_prim(void *arg)
{
    const struct prim *p = arg;
    p->hold();
    struct call h1 = {p, 0}, h2 = {p, 0};
    weft_fiber f1, f2;
    /* Every allocation fails: the fiber's timed wait cannot grow the heap. */
    wt_fault_arm(WT_FAULT_ALLOC, 1, 1, 0);
    CHECK_OK(weft_spawn(&f1, waiter, &h1, NULL));
    CHECK_OK(weft_join(f1, NULL));
    unsigned long hits = wt_fault_hits(WT_FAULT_ALLOC);
    wt_fault_reset();
    if (h1.r != -ENOMEM || hits == 0)
        printf("# %s: the timed wait returned %d (%s), %lu allocations refused\n", p->name, h1.r,
               weft_strerror(h1.r), hits);
    EXPECT_EQ(h1.r, -ENOMEM);
    /* The next waiter parks (one worker: it runs at our yield), and gets
     * what the release lets through. */
    CHECK_OK(weft_spawn(&f2, waiter, &h2, NULL));
    weft_yield();
    p->release();
    CHECK_OK(weft_join(f2, NULL));
    if (h2.r != 0)
        printf("# %s: the waiter after the failed one returned %d (%s)\n", p->name, h2.r,
               weft_strerror(h2.r));
    EXPECT_EQ(h2.r, 0);
    p->fini();
    return NULL;
}

static void *noop(void *arg)
{
    return arg;
}

TEST(timed_waits_without_a_timer_fail_with_enomem_and_leave_the_primitive_intact)
{
    CHECK(pipe2(pfd, O_CLOEXEC) == 0);
    char c;
    /* Its pd now exists: the armed read below fails for its timer only. */
    EXPECT_EQ(weft_read_until(pfd[0], &c, 1, 0), -ETIMEDOUT);
    for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++) {
        CHECK_OK(weft_init(&(weft_config){.workers = 1, .pin = WEFT_PIN_OFF}));
        weft_fiber f;
        CHECK_OK(weft_spawn(&f, noop, NULL, NULL)); /* warm: stack pool, fiber cache */
        CHECK_OK(weft_join(f, NULL));
        reset_objects();
        CHECK_OK(weft_chan_make(&ch, sizeof(int), 0));
        CHECK_OK(weft_chan_make(&ch2, sizeof(int), 0));
        CHECK_OK(weft_spawn(&f, check_prim, (void *)&prims[i], NULL));
        CHECK_OK(weft_join(f, NULL));
        EXPECT_EQ(weft_chan_free(ch), 0);
        EXPECT_EQ(weft_chan_free(ch2), 0);
        EXPECT_EQ(weft_shutdown(), 0);
    }
    EXPECT_EQ(weft_close(pfd[0]), 0);
    EXPECT_EQ(close(pfd[1]), 0);
    printf("# %zu primitives checked\n", sizeof prims / sizeof prims[0]);
}

TAP_MAIN()
