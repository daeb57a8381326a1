/*
 * cond.c - weft_cond, a condition variable for weft_mutex (mutex.c). The
 * blocking protocol is wait.c's; sync.h has the shape all primitives share.
 *
 * A waiter queues itself on the cond (under the cond's spinlock) before it
 * unlocks the mutex, so a signaller that holds the mutex, or got it after
 * the waiter let go, finds the waiter queued: no lost wake-up. signal
 * claims the oldest waiter whose wait has not already ended (a waiter
 * whose deadline passed, or that was cancelled, is skipped by
 * wt_wq_claim_first, so its signal goes to the next one instead of being
 * lost); broadcast claims them all. Every waiter then re-locks the mutex
 * before it returns, whatever ended its wait.
 *
 * `waiters` mirrors "the queue is not empty", written under the spinlock,
 * so that signal and broadcast with nobody waiting take no lock. Its
 * relaxed load is enough: a waiter stores 1 before it unlocks the mutex,
 * and a signaller that knows of the waiter (through the mutex, or anything
 * ordered after the waiter's unlock) reads that store or a later one by
 * coherence; a later 0 means the queue was emptied, of this waiter too.
 */
#include <errno.h>

#include "debug.h"
#include "sync.h"
#include "worker.h"

struct WT_SYNC_STRUCT cond {
    struct spinlock lock;     /* guards q and the stores to waiters */
    _Atomic uint32_t waiters; /* 1 while q is not empty */
    struct wait_queue q;
};

static_assert(sizeof(struct cond) <= sizeof(weft_cond), "grow weft_cond.opaque_");
static_assert(alignof(struct cond) <= alignof(weft_cond), "weft_cond under-aligned");

static inline struct cond *to_cond(weft_cond *c)
{
    return (struct cond *)(void *)c;
}

/* Caller holds c->lock. */
static void note_waiters(struct cond *c)
{
    atomic_store_explicit(&c->waiters, !wt_wq_empty(&c->q), memory_order_relaxed);
}

/* Wake one waiter (all: @all) onto @wl; returns how many. */
static unsigned wake(struct cond *c, bool all)
{
    /* Relaxed: see the head comment. */
    if (!atomic_load_explicit(&c->waiters, memory_order_relaxed))
        return 0;
    struct wake_list wl = {0};
    unsigned k = 0;
    wt_spin_lock(&c->lock);
    if (all) {
        k = wt_wake_list_claim_all(&wl, &c->q, 0);
    } else {
        struct waiter *n = wt_wq_claim_first(&c->q);
        if (n) {
            wt_wake_list_add(&wl, n);
            k = 1;
        }
    }
    note_waiters(c);
    wt_spin_unlock(&c->lock);
    wt_wake_list_finish(&wl);
    return k;
}

int weft_cond_wait_until(weft_cond *cv, weft_mutex *mx, int64_t deadline)
{
    if (!cv || !mx || !wt_deadline_ok(deadline))
        return -EINVAL;
    struct cond *c = to_cond(cv);
    struct mutex *m = (struct mutex *)(void *)mx;
    if (!(atomic_load_explicit(&m->state, memory_order_relaxed) & MUTEX_LOCKED))
        return -EPERM;
    struct worker *w = wt_worker_self();
    struct wait wt;
    int r = wt_wait_begin(&wt, w, WAITK_COND, c);
    if (r)
        return r;
    struct waiter n;
    wt_waiter_init(&n, &wt, NULL, 0);
    wt_spin_lock(&c->lock);
    wt_wq_push(&c->q, &n);
    note_waiters(c);
    wt_spin_unlock(&c->lock);

    if (wt_mutex_unlock(m) != 0) {
        /* Misuse raced us (someone unlocked the mutex we held). Leave the
         * queue; if a signaller claimed us meanwhile, let it finish (it may
         * touch our wait) and pass its signal on. */
        wt_spin_lock(&c->lock);
        wt_wq_remove(&c->q, &n);
        note_waiters(c);
        wt_spin_unlock(&c->lock);
        if (wt_wait_block(&wt, &w, 0) == 0)
            wake(c, false);
        return -EPERM;
    }

    r = wt_wait_block(&wt, &w, deadline);
    if (r) {
        /* Not claimed (wait.h): leave the queue ourselves. */
        wt_spin_lock(&c->lock);
        wt_wq_remove(&c->q, &n);
        note_waiters(c);
        wt_spin_unlock(&c->lock);
    }
    wt_mutex_relock(m);
    return r;
}

int weft_cond_wait(weft_cond *c, weft_mutex *m)
{
    return weft_cond_wait_until(c, m, WEFT_FOREVER);
}

int weft_cond_signal(weft_cond *c)
{
    if (!c)
        return -EINVAL;
    wake(to_cond(c), false);
    return 0;
}

int weft_cond_broadcast(weft_cond *c)
{
    if (!c)
        return -EINVAL;
    wake(to_cond(c), true);
    return 0;
}

int weft_cond_init(weft_cond *c)
{
    if (!c)
        return -EINVAL;
    *c = (weft_cond)WEFT_COND_INIT;
    return 0;
}

int weft_cond_destroy(weft_cond *c)
{
    if (!c)
        return -EINVAL;
    return atomic_load_explicit(&to_cond(c)->waiters, memory_order_relaxed) ? -EBUSY : 0;
}
