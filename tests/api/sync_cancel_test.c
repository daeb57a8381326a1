/*
 * sync_cancel_test.c - weft_cancel ends a wait in every sync primitive:
 * one row per blocking call. The row's blocker fiber makes the call on an
 * object set up so that it must wait; another party cancels it; the call
 * must return -ECANCELED, and the object must be left consistent (checked
 * by the row: the holder's unlock works, destroy reports nothing left
 * behind, the next normal use succeeds). Each row runs three ways: on one
 * worker with the canceller a fiber (the blocker is certainly parked when
 * it is cancelled), on two workers with the main thread as canceller (it
 * may be cancelled before, while or after it parks: all must work), and
 * with the blocker cancelled before the call (sticky cancellation).
 */
#include "weft.h"

#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define MS ((int64_t)1000000)
#define S  ((int64_t)1000000000)

/* Every object a row may need; zeroed before each run. */
struct objs {
    weft_mutex m;
    weft_rmutex rm;
    weft_rwlock rw;
    weft_cond c;
    weft_sem s;
    weft_waitgroup wg;
    weft_once once;
    weft_barrier b;
    weft_event e, release;
    atomic_int runner_inside;
    weft_fiber helper;
    bool has_helper;
    int held_after; /* cond rows: the blocker held the mutex when the call returned */
};

struct row {
    const char *what;
    int (*setup)(struct objs *o); /* make the call wait; may spawn a helper */
    int (*block)(struct objs *o); /* the blocking call, run by the blocker */
    int (*check)(struct objs *o); /* after: undo the setup, 0 if consistent */
};

static int64_t far(void)
{
    return weft_deadline_after(60 * S);
}

/* Mutex family. */
static int setup_mutex(struct objs *o)
{
    return weft_mutex_lock(&o->m);
}
static int block_mutex(struct objs *o)
{
    return weft_mutex_lock(&o->m);
}
static int block_mutex_until(struct objs *o)
{
    return weft_mutex_lock_until(&o->m, far());
}
static int check_mutex(struct objs *o)
{
    int r = weft_mutex_unlock(&o->m);
    r = r ? r : weft_mutex_destroy(&o->m);
    r = r ? r : weft_mutex_lock(&o->m);
    return r ? r : weft_mutex_unlock(&o->m);
}

static int setup_rmutex(struct objs *o)
{
    return weft_rmutex_lock(&o->rm); /* owned by whoever runs setup */
}
static int block_rmutex(struct objs *o)
{
    return weft_rmutex_lock(&o->rm);
}
static int block_rmutex_until(struct objs *o)
{
    return weft_rmutex_lock_until(&o->rm, far());
}
static int check_rmutex(struct objs *o)
{
    int r = weft_rmutex_unlock(&o->rm);
    return r ? r : weft_rmutex_destroy(&o->rm);
}

/* Reader-writer lock. */
static int setup_wrlocked(struct objs *o)
{
    return weft_rwlock_wrlock(&o->rw);
}
static int setup_rdlocked(struct objs *o)
{
    return weft_rwlock_rdlock(&o->rw);
}
static int block_rdlock(struct objs *o)
{
    return weft_rwlock_rdlock(&o->rw);
}
static int block_rdlock_until(struct objs *o)
{
    return weft_rwlock_rdlock_until(&o->rw, far());
}
static int block_wrlock(struct objs *o)
{
    return weft_rwlock_wrlock(&o->rw);
}
static int block_wrlock_until(struct objs *o)
{
    return weft_rwlock_wrlock_until(&o->rw, far());
}
static int check_rwlock(struct objs *o)
{
    int r = weft_rwlock_unlock(&o->rw);
    r = r ? r : weft_rwlock_destroy(&o->rw);
    /* A cancelled writer must not have left new readers blocked. */
    r = r ? r : weft_rwlock_tryrdlock(&o->rw);
    r = r ? r : weft_rwlock_unlock(&o->rw);
    r = r ? r : weft_rwlock_trywrlock(&o->rw);
    return r ? r : weft_rwlock_unlock(&o->rw);
}

/* Condition variable: the blocker holds the mutex and waits; it must hold
 * the mutex again when the call returns -ECANCELED. */
static int setup_nothing(struct objs *o)
{
    (void)o;
    return 0;
}
static int cond_wait_and_probe(struct objs *o, int64_t deadline)
{
    if (weft_mutex_lock(&o->m) != 0)
        return 1000;
    int r = weft_cond_wait_until(&o->c, &o->m, deadline);
    o->held_after = weft_mutex_trylock(&o->m) == -EAGAIN && weft_mutex_unlock(&o->m) == 0;
    return r;
}
static int block_cond(struct objs *o)
{
    return cond_wait_and_probe(o, WEFT_FOREVER);
}
static int block_cond_until(struct objs *o)
{
    return cond_wait_and_probe(o, far());
}
static int check_cond(struct objs *o)
{
    if (!o->held_after)
        return 2000;
    int r = weft_cond_destroy(&o->c);
    return r ? r : weft_mutex_destroy(&o->m);
}

/* Semaphore (count 0). */
static int block_sem(struct objs *o)
{
    return weft_sem_acquire(&o->s);
}
static int block_sem_until(struct objs *o)
{
    return weft_sem_acquire_until(&o->s, far());
}
static int check_sem(struct objs *o)
{
    int r = weft_sem_destroy(&o->s);
    r = r ? r : weft_sem_release(&o->s);
    r = r ? r : weft_sem_try_acquire(&o->s); /* the unit was not given to the leaver */
    return r;
}

/* Wait group (counter 1). */
static int setup_wg(struct objs *o)
{
    return weft_waitgroup_add(&o->wg, 1);
}
static int block_wg(struct objs *o)
{
    return weft_waitgroup_wait(&o->wg);
}
static int block_wg_until(struct objs *o)
{
    return weft_waitgroup_wait_until(&o->wg, far());
}
static int check_wg(struct objs *o)
{
    int r = weft_waitgroup_done(&o->wg);
    r = r ? r : weft_waitgroup_destroy(&o->wg);
    return r ? r : weft_waitgroup_wait_until(&o->wg, 0);
}

/* Once: a helper fiber runs the function, which waits on an event; the
 * blocker waits for the helper's call. */
static void once_blocking(void *arg)
{
    struct objs *o = arg;
    atomic_store(&o->runner_inside, 1);
    weft_event_wait(&o->release);
}
static void *once_helper(void *arg)
{
    struct objs *o = arg;
    return (void *)(intptr_t)weft_once_call(&o->once, once_blocking, o);
}
static void once_never(void *arg)
{
    (void)arg;
}
static int setup_once(struct objs *o)
{
    int r = weft_spawn(&o->helper, once_helper, o, NULL);
    if (r)
        return r;
    o->has_helper = true;
    while (!atomic_load(&o->runner_inside))
        weft_yield();
    return 0;
}
static int block_once(struct objs *o)
{
    return weft_once_call(&o->once, once_never, NULL);
}
static int block_once_until(struct objs *o)
{
    return weft_once_call_until(&o->once, once_never, NULL, far());
}
static int check_once(struct objs *o)
{
    int r = weft_event_set(&o->release);
    void *res = (void *)1;
    r = r ? r : weft_join(o->helper, &res);
    o->has_helper = false;
    r = r ? r : (int)(intptr_t)res;
    return r ? r : weft_once_call(&o->once, once_never, NULL);
}

/* Barrier for 2: the blocker is the only one there. */
static int setup_barrier(struct objs *o)
{
    return weft_barrier_init(&o->b, 2);
}
static int block_barrier(struct objs *o)
{
    return weft_barrier_wait(&o->b);
}
static int block_barrier_until(struct objs *o)
{
    return weft_barrier_wait_until(&o->b, far());
}
static int check_barrier(struct objs *o)
{
    /* The cancelled party did not count: a lone party still times out. */
    int r = weft_barrier_destroy(&o->b);
    if (r)
        return r;
    return weft_barrier_wait_until(&o->b, 0) == -ETIMEDOUT ? 0 : 3000;
}

/* Event (clear). */
static int block_event(struct objs *o)
{
    return weft_event_wait(&o->e);
}
static int block_event_until(struct objs *o)
{
    return weft_event_wait_until(&o->e, far());
}
static int check_event(struct objs *o)
{
    int r = weft_event_destroy(&o->e);
    r = r ? r : weft_event_set(&o->e);
    return r ? r : weft_event_wait_until(&o->e, 0);
}

static const struct row rows[] = {
    {"mutex_lock", setup_mutex, block_mutex, check_mutex},
    {"mutex_lock_until", setup_mutex, block_mutex_until, check_mutex},
    {"rmutex_lock", setup_rmutex, block_rmutex, check_rmutex},
    {"rmutex_lock_until", setup_rmutex, block_rmutex_until, check_rmutex},
    {"rwlock_rdlock", setup_wrlocked, block_rdlock, check_rwlock},
    {"rwlock_rdlock_until", setup_wrlocked, block_rdlock_until, check_rwlock},
    {"rwlock_wrlock (reader holds)", setup_rdlocked, block_wrlock, check_rwlock},
    {"rwlock_wrlock_until (writer holds)", setup_wrlocked, block_wrlock_until, check_rwlock},
    {"cond_wait", setup_nothing, block_cond, check_cond},
    {"cond_wait_until", setup_nothing, block_cond_until, check_cond},
    {"sem_acquire", setup_nothing, block_sem, check_sem},
    {"sem_acquire_until", setup_nothing, block_sem_until, check_sem},
    {"waitgroup_wait", setup_wg, block_wg, check_wg},
    {"waitgroup_wait_until", setup_wg, block_wg_until, check_wg},
    {"once_call", setup_once, block_once, check_once},
    {"once_call_until", setup_once, block_once_until, check_once},
    {"barrier_wait", setup_barrier, block_barrier, check_barrier},
    {"barrier_wait_until", setup_barrier, block_barrier_until, check_barrier},
    {"event_wait", setup_nothing, block_event, check_event},
    {"event_wait_until", setup_nothing, block_event_until, check_event},
};
enum { NROWS = sizeof rows / sizeof rows[0] };

enum mode {
    PARKED, /* one worker; a fiber cancels the blocker once it parked */
    RACING, /* two workers; the main thread cancels it whenever */
    BEFORE, /* the blocker cancels itself, then makes the call */
};

struct run {
    const struct row *row;
    struct objs o;
    enum mode mode;
    atomic_int about_to_block;
    int rc; /* the blocking call's result */
    int setup_rc, check_rc, cancel_rc;
};

static void *blocker(void *arg)
{
    struct run *r = arg;
    if (r->mode == BEFORE) {
        r->cancel_rc = weft_cancel(weft_self());
        if (!weft_cancelled())
            r->cancel_rc = 4000;
    }
    atomic_store(&r->about_to_block, 1);
    r->rc = r->row->block(&r->o);
    return NULL;
}

/* The root fiber: set up, spawn the blocker, cancel it (modes PARKED and
 * BEFORE; RACING leaves that to the main thread), join, check. */
static void *root(void *arg)
{
    struct run *r = arg;
    r->setup_rc = r->row->setup(&r->o);
    if (r->setup_rc)
        return NULL;
    weft_fiber b;
    if (weft_spawn(&b, blocker, r, NULL) != 0) {
        r->setup_rc = 5000;
        return NULL;
    }
    if (r->mode == PARKED) {
        /* One worker: the blocker runs until it parks, so once we see its
         * flag it is parked (a yield more gives it the chance to). */
        while (!atomic_load(&r->about_to_block))
            weft_yield();
        weft_yield();
        r->cancel_rc = weft_cancel(b);
    } else if (r->mode == RACING) {
        while (!atomic_load(&r->about_to_block))
            weft_yield();
        r->cancel_rc = weft_cancel(b);
    }
    weft_join(b, NULL);
    r->check_rc = r->row->check(&r->o);
    if (r->o.has_helper) {
        weft_event_set(&r->o.release);
        weft_join(r->o.helper, NULL);
    }
    return NULL;
}

static void run_row(const struct row *row, enum mode mode)
{
    static struct run r;
    memset(&r, 0, sizeof r);
    r.row = row;
    r.mode = mode;
    settle();
    CHECK_OK(weft_main(&(weft_config){.workers = mode == RACING ? 2 : 1}, root, &r, NULL));
    if (r.setup_rc || r.rc != -ECANCELED || r.check_rc || r.cancel_rc)
        printf("# %s (mode %d): setup %d, call %d, check %d, cancel %d\n", row->what, mode,
               r.setup_rc, r.rc, r.check_rc, r.cancel_rc);
    EXPECT_EQ(r.setup_rc, 0);
    EXPECT_EQ(r.cancel_rc, 0);
    EXPECT_EQ(r.rc, -ECANCELED);
    EXPECT_EQ(r.check_rc, 0);
}

/* Every blocking call of every primitive returns -ECANCELED when its
 * fiber is cancelled while parked in it. */
TEST(cancel_while_parked_in_each_primitive)
{
    for (int i = 0; i < NROWS; i++)
        run_row(&rows[i], PARKED);
}

/* The same with the cancel racing the park, 5 times per row. */
TEST(cancel_racing_the_park_in_each_primitive)
{
    for (int rep = 0; rep < 5; rep++)
        for (int i = 0; i < NROWS; i++)
            run_row(&rows[i], RACING);
}

/* A fiber cancelled before the call gets -ECANCELED from any call that
 * would wait, without waiting. */
TEST(cancelled_fiber_cannot_wait_in_any_primitive)
{
    for (int i = 0; i < NROWS; i++)
        run_row(&rows[i], BEFORE);
}

static void *cancelled_uncontended(void *arg)
{
    (void)arg;
    weft_cancel(weft_self());
    static weft_mutex m;
    static weft_sem s = WEFT_SEM_INIT(1);
    static weft_event e;
    static weft_rwlock rw;
    static weft_waitgroup wg;
    uintptr_t bad = 0;
    bad += weft_mutex_lock(&m) != 0;
    bad += weft_mutex_unlock(&m) != 0;
    bad += weft_sem_acquire(&s) != 0;
    bad += weft_rwlock_wrlock(&rw) != 0;
    bad += weft_rwlock_unlock(&rw) != 0;
    bad += weft_waitgroup_wait(&wg) != 0;
    weft_event_set(&e);
    bad += weft_event_wait(&e) != 0;
    bad += weft_sem_acquire(&s) != -ECANCELED; /* now it would wait */
    return (void *)bad;
}

/* Calls that need no waiting still succeed in a cancelled fiber. */
TEST(cancelled_fiber_still_takes_free_objects)
{
    settle();
    void *bad = (void *)1;
    CHECK_OK(weft_main(&(weft_config){.workers = 1}, cancelled_uncontended, NULL, &bad));
    EXPECT_EQ((uintptr_t)bad, 0);
}

TAP_MAIN()
