/*
 * sync_misuse_test.c - every documented misuse of the sync primitives, one
 * table, one row per case with the code it must return: unlocking what is
 * not locked, destroying what is in use, a recursive mutex unlocked by a
 * non-owner, a wait group driven negative, a bounded semaphore released
 * past its bound, bad deadlines and NULL objects. Each row also checks
 * that the failed call changed nothing (the object still works as before).
 */
#include "weft.h"

#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

/* A row returns this if the failed call left a side effect. */
#define WRONG_SIDE_EFFECT 1000000

struct misuse {
    const char *what;
    bool runtime; /* run with a runtime started (2 workers) */
    int (*run)(void);
    int want;
};

/* Mutex. */
static int mutex_unlock_unlocked(void)
{
    weft_mutex m = WEFT_MUTEX_INIT;
    int r = weft_mutex_unlock(&m);
    return weft_mutex_destroy(&m) == 0 && weft_mutex_trylock(&m) == 0 ? r : WRONG_SIDE_EFFECT;
}

static int mutex_destroy_locked(void)
{
    weft_mutex m = WEFT_MUTEX_INIT;
    weft_mutex_lock(&m);
    int r = weft_mutex_destroy(&m);
    return weft_mutex_unlock(&m) == 0 ? r : WRONG_SIDE_EFFECT;
}

struct held {
    weft_mutex m;
    atomic_int waiting;
};

static void *wait_for_mutex(void *arg)
{
    struct held *h = arg;
    atomic_store(&h->waiting, 1);
    intptr_t r = weft_mutex_lock(&h->m);
    if (r == 0)
        weft_mutex_unlock(&h->m);
    return (void *)r;
}

/* Destroy while held by the caller and waited on by a fiber: -EBUSY; the
 * waiter then gets it on unlock, and afterwards destroy is 0. */
static int mutex_destroy_waited_on(void)
{
    static struct held h;
    memset(&h, 0, sizeof h);
    weft_mutex_lock(&h.m);
    weft_fiber f;
    if (weft_spawn(&f, wait_for_mutex, &h, NULL) != 0)
        return WRONG_SIDE_EFFECT;
    while (!atomic_load(&h.waiting))
        weft_yield();
    int r = weft_mutex_destroy(&h.m);
    weft_mutex_unlock(&h.m);
    void *res = (void *)1;
    if (weft_join(f, &res) != 0 || res != NULL || weft_mutex_destroy(&h.m) != 0)
        return WRONG_SIDE_EFFECT;
    return r;
}

static int mutex_lock_until_negative(void)
{
    weft_mutex m = WEFT_MUTEX_INIT;
    int r = weft_mutex_lock_until(&m, -2);
    int r2 = weft_mutex_lock_until(&m, INT64_MIN);
    if (r2 != r || weft_mutex_destroy(&m) != 0) /* not locked by the failed call */
        return WRONG_SIDE_EFFECT;
    return r;
}

static int mutex_null(void)
{
    int r = weft_mutex_lock(NULL);
    if (weft_mutex_unlock(NULL) != r || weft_mutex_trylock(NULL) != r ||
        weft_mutex_lock_until(NULL, 0) != r || weft_mutex_destroy(NULL) != r ||
        weft_mutex_init(NULL) != r)
        return WRONG_SIDE_EFFECT;
    return r;
}

/* Recursive mutex. */
static void *rm_unlock(void *arg)
{
    return (void *)(intptr_t)weft_rmutex_unlock(arg);
}

static int rmutex_unlock_by_non_owner(void)
{
    static weft_rmutex m;
    weft_rmutex_init(&m);
    weft_rmutex_lock(&m); /* owned by the main thread */
    weft_fiber f;
    void *res = NULL;
    if (weft_spawn(&f, rm_unlock, &m, NULL) != 0 || weft_join(f, &res) != 0)
        return WRONG_SIDE_EFFECT;
    /* Still ours, at depth 1. */
    if (weft_rmutex_unlock(&m) != 0 || weft_rmutex_unlock(&m) != -EPERM)
        return WRONG_SIDE_EFFECT;
    return (int)(intptr_t)res;
}

static int rmutex_unlock_unlocked(void)
{
    weft_rmutex m = WEFT_RMUTEX_INIT;
    return weft_rmutex_unlock(&m);
}

static int rmutex_destroy_locked(void)
{
    weft_rmutex m = WEFT_RMUTEX_INIT;
    weft_rmutex_lock(&m);
    int r = weft_rmutex_destroy(&m);
    return weft_rmutex_unlock(&m) == 0 ? r : WRONG_SIDE_EFFECT;
}

static int rmutex_lock_until_negative(void)
{
    weft_rmutex m = WEFT_RMUTEX_INIT;
    int r = weft_rmutex_lock_until(&m, -5);
    return weft_rmutex_unlock(&m) == -EPERM ? r : WRONG_SIDE_EFFECT;
}

/* Reader-writer lock. */
static int rwlock_unlock_unlocked(void)
{
    weft_rwlock rw = WEFT_RWLOCK_INIT;
    int r = weft_rwlock_unlock(&rw);
    return weft_rwlock_trywrlock(&rw) == 0 ? r : WRONG_SIDE_EFFECT;
}

static int rwlock_destroy_read_held(void)
{
    weft_rwlock rw = WEFT_RWLOCK_INIT;
    weft_rwlock_rdlock(&rw);
    int r = weft_rwlock_destroy(&rw);
    return weft_rwlock_unlock(&rw) == 0 ? r : WRONG_SIDE_EFFECT;
}

static int rwlock_until_negative(void)
{
    weft_rwlock rw = WEFT_RWLOCK_INIT;
    int r = weft_rwlock_rdlock_until(&rw, -2);
    if (weft_rwlock_wrlock_until(&rw, -3) != r || weft_rwlock_destroy(&rw) != 0)
        return WRONG_SIDE_EFFECT;
    return r;
}

/* Condition variable. */
static int cond_wait_unlocked_mutex(void)
{
    weft_mutex m = WEFT_MUTEX_INIT;
    weft_cond c = WEFT_COND_INIT;
    int r = weft_cond_wait(&c, &m);
    if (weft_cond_wait_until(&c, &m, 0) != r || weft_cond_destroy(&c) != 0 ||
        weft_mutex_destroy(&m) != 0)
        return WRONG_SIDE_EFFECT;
    return r;
}

static int cond_wait_until_negative(void)
{
    weft_mutex m = WEFT_MUTEX_INIT;
    weft_cond c = WEFT_COND_INIT;
    weft_mutex_lock(&m);
    int r = weft_cond_wait_until(&c, &m, -2);
    /* Nothing waited and the mutex is still held. */
    if (weft_mutex_trylock(&m) != -EAGAIN || weft_mutex_unlock(&m) != 0 ||
        weft_cond_destroy(&c) != 0)
        return WRONG_SIDE_EFFECT;
    return r;
}

struct cwait {
    weft_mutex m;
    weft_cond c;
    int waiting; /* guarded by m */
    int go;      /* guarded by m */
};

static void *cond_waiter(void *arg)
{
    struct cwait *w = arg;
    weft_mutex_lock(&w->m);
    w->waiting = 1;
    while (!w->go)
        weft_cond_wait(&w->c, &w->m);
    weft_mutex_unlock(&w->m);
    return NULL;
}

static int cond_destroy_waited_on(void)
{
    static struct cwait w;
    memset(&w, 0, sizeof w);
    weft_fiber f;
    if (weft_spawn(&f, cond_waiter, &w, NULL) != 0)
        return WRONG_SIDE_EFFECT;
    for (;;) { /* until it waits: it set waiting, then queued, atomically */
        weft_mutex_lock(&w.m);
        int in = w.waiting;
        weft_mutex_unlock(&w.m);
        if (in)
            break;
        weft_yield();
    }
    int r = weft_cond_destroy(&w.c);
    weft_mutex_lock(&w.m);
    w.go = 1;
    weft_cond_signal(&w.c);
    weft_mutex_unlock(&w.m);
    if (weft_join(f, NULL) != 0 || weft_cond_destroy(&w.c) != 0)
        return WRONG_SIDE_EFFECT;
    return r;
}

static int cond_null(void)
{
    weft_mutex m = WEFT_MUTEX_INIT;
    weft_cond c = WEFT_COND_INIT;
    int r = weft_cond_wait(NULL, &m);
    if (weft_cond_wait(&c, NULL) != r || weft_cond_signal(NULL) != r ||
        weft_cond_broadcast(NULL) != r || weft_cond_destroy(NULL) != r)
        return WRONG_SIDE_EFFECT;
    return r;
}

/* Semaphore. */
static int sem_bounded_release_overflow(void)
{
    weft_sem s = WEFT_SEM_INIT_BOUNDED(2, 2);
    int r = weft_sem_release(&s);
    return weft_sem_value(&s) == 2 ? r : WRONG_SIDE_EFFECT;
}

static int sem_init_bounded_count_above_max(void)
{
    weft_sem s = WEFT_SEM_INIT(7);
    int r = weft_sem_init_bounded(&s, 3, 2);
    return weft_sem_value(&s) == 7 ? r : WRONG_SIDE_EFFECT;
}

static int sem_init_negative(void)
{
    weft_sem s = WEFT_SEM_INIT(7);
    int r = weft_sem_init(&s, -1);
    return weft_sem_value(&s) == 7 ? r : WRONG_SIDE_EFFECT;
}

static int sem_acquire_until_negative(void)
{
    weft_sem s = WEFT_SEM_INIT(1);
    int r = weft_sem_acquire_until(&s, -2);
    return weft_sem_value(&s) == 1 ? r : WRONG_SIDE_EFFECT; /* no unit taken */
}

static void *sem_waiter(void *arg)
{
    return (void *)(intptr_t)weft_sem_acquire(arg);
}

static int sem_destroy_waited_on(void)
{
    static weft_sem s;
    weft_sem_init(&s, 0);
    weft_fiber f;
    if (weft_spawn(&f, sem_waiter, &s, NULL) != 0)
        return WRONG_SIDE_EFFECT;
    int r;
    while ((r = weft_sem_destroy(&s)) == 0) /* until it has queued */
        weft_yield();
    void *res = (void *)1;
    if (weft_sem_release(&s) != 0 || weft_join(f, &res) != 0 || res != NULL ||
        weft_sem_destroy(&s) != 0 || weft_sem_value(&s) != 0)
        return WRONG_SIDE_EFFECT;
    return r;
}

/* Wait group. */
static int waitgroup_negative(void)
{
    weft_waitgroup wg = WEFT_WAITGROUP_INIT;
    weft_waitgroup_add(&wg, 1);
    int r = weft_waitgroup_add(&wg, -2);
    if (weft_waitgroup_wait_until(&wg, 0) != -ETIMEDOUT || weft_waitgroup_done(&wg) != 0 ||
        weft_waitgroup_wait_until(&wg, 0) != 0)
        return WRONG_SIDE_EFFECT;
    return r;
}

static int waitgroup_done_at_zero(void)
{
    weft_waitgroup wg = WEFT_WAITGROUP_INIT;
    int r = weft_waitgroup_done(&wg);
    return weft_waitgroup_destroy(&wg) == 0 ? r : WRONG_SIDE_EFFECT;
}

static int waitgroup_wait_until_negative(void)
{
    weft_waitgroup wg = WEFT_WAITGROUP_INIT;
    return weft_waitgroup_wait_until(&wg, -2);
}

/* Once, barrier, event. */
static int once_null_fn(void)
{
    weft_once o = WEFT_ONCE_INIT;
    return weft_once_call(&o, NULL, NULL);
}

static int once_ran;

static void once_mark(void *arg)
{
    (void)arg;
    once_ran++;
}

static int once_until_negative(void)
{
    weft_once o = WEFT_ONCE_INIT;
    once_ran = 0;
    int r = weft_once_call_until(&o, once_mark, NULL, -2);
    /* Refused without running; a valid call then runs it. */
    if (once_ran != 0 || weft_once_call(&o, once_mark, NULL) != 0 || once_ran != 1)
        return WRONG_SIDE_EFFECT;
    return r;
}

static int barrier_init_zero(void)
{
    weft_barrier b = WEFT_BARRIER_INIT(3);
    int r = weft_barrier_init(&b, 0);
    return r;
}

static int barrier_zeroed_wait(void)
{
    weft_barrier b;
    memset(&b, 0, sizeof b);
    return weft_barrier_wait(&b);
}

static int barrier_until_negative(void)
{
    weft_barrier b = WEFT_BARRIER_INIT(1);
    return weft_barrier_wait_until(&b, -2);
}

static int event_until_negative(void)
{
    weft_event e = WEFT_EVENT_INIT;
    weft_event_set(&e);
    return weft_event_wait_until(&e, -2); /* refused even though it is set */
}

static int event_null(void)
{
    int r = weft_event_set(NULL);
    if (weft_event_clear(NULL) != r || weft_event_wait(NULL) != r || weft_event_is_set(NULL))
        return WRONG_SIDE_EFFECT;
    return r;
}

static const struct misuse table[] = {
    {"mutex unlock of unlocked", false, mutex_unlock_unlocked, -EPERM},
    {"mutex destroy while locked", false, mutex_destroy_locked, -EBUSY},
    {"mutex destroy while waited on", true, mutex_destroy_waited_on, -EBUSY},
    {"mutex lock_until negative deadline", false, mutex_lock_until_negative, -EINVAL},
    {"mutex NULL", false, mutex_null, -EINVAL},
    {"rmutex unlock by non-owner", true, rmutex_unlock_by_non_owner, -EPERM},
    {"rmutex unlock of unlocked", false, rmutex_unlock_unlocked, -EPERM},
    {"rmutex destroy while locked", false, rmutex_destroy_locked, -EBUSY},
    {"rmutex lock_until negative deadline", false, rmutex_lock_until_negative, -EINVAL},
    {"rwlock unlock of unlocked", false, rwlock_unlock_unlocked, -EPERM},
    {"rwlock destroy while read-held", false, rwlock_destroy_read_held, -EBUSY},
    {"rwlock _until negative deadline", false, rwlock_until_negative, -EINVAL},
    {"cond wait with unlocked mutex", false, cond_wait_unlocked_mutex, -EPERM},
    {"cond wait_until negative deadline", false, cond_wait_until_negative, -EINVAL},
    {"cond destroy while waited on", true, cond_destroy_waited_on, -EBUSY},
    {"cond NULL", false, cond_null, -EINVAL},
    {"bounded sem release past bound", false, sem_bounded_release_overflow, -EOVERFLOW},
    {"sem init_bounded count above max", false, sem_init_bounded_count_above_max, -EINVAL},
    {"sem init negative", false, sem_init_negative, -EINVAL},
    {"sem acquire_until negative deadline", false, sem_acquire_until_negative, -EINVAL},
    {"sem destroy while waited on", true, sem_destroy_waited_on, -EBUSY},
    {"waitgroup driven negative", false, waitgroup_negative, -EINVAL},
    {"waitgroup done at zero", false, waitgroup_done_at_zero, -EINVAL},
    {"waitgroup wait_until negative deadline", false, waitgroup_wait_until_negative, -EINVAL},
    {"once NULL function", false, once_null_fn, -EINVAL},
    {"once call_until negative deadline", false, once_until_negative, -EINVAL},
    {"barrier init 0 parties", false, barrier_init_zero, -EINVAL},
    {"barrier wait on zeroed barrier", false, barrier_zeroed_wait, -EINVAL},
    {"barrier wait_until negative deadline", false, barrier_until_negative, -EINVAL},
    {"event wait_until negative deadline", false, event_until_negative, -EINVAL},
    {"event NULL", false, event_null, -EINVAL},
};

struct fiber_row {
    const struct misuse *row;
    int got;
};

static void *run_in_fiber(void *arg)
{
    struct fiber_row *fr = arg;
    fr->got = fr->row->run();
    return NULL;
}

/* Every row from the main thread (a runtime started where the row needs
 * one, and shut down cleanly after: nothing leaked), then every row once
 * more from a fiber. */
TEST(sync_misuse_table)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const struct misuse *row = &table[i];
        settle();
        if (row->runtime)
            CHECK_OK(weft_init(&(weft_config){.workers = 2}));
        int got = row->run();
        if (got != row->want)
            printf("# %s: got %d (%s), want %d\n", row->what, got, weft_strerror(got), row->want);
        EXPECT_EQ(got, row->want);
        if (row->runtime)
            EXPECT_EQ(weft_shutdown(), 0);
    }
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        struct fiber_row fr = {.row = &table[i]};
        weft_fiber f;
        CHECK_OK(weft_spawn(&f, run_in_fiber, &fr, NULL));
        CHECK_OK(weft_join(f, NULL));
        if (fr.got != table[i].want)
            printf("# in a fiber: %s: got %d, want %d\n", table[i].what, fr.got, table[i].want);
        EXPECT_EQ(fr.got, table[i].want);
    }
    EXPECT_EQ(weft_shutdown(), 0);
}

/* weft_strerror knows the one code the sync primitives add. */
TEST(strerror_knows_eoverflow)
{
    EXPECT(strcmp(weft_strerror(-EOVERFLOW), "unknown error") != 0);
}

TAP_MAIN()
