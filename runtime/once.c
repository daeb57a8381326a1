/*
 * once.c - weft_once: the first caller runs the function, the others park
 * until it has returned. The blocking protocol is wait.c's; sync.h has the
 * shape all primitives share.
 *
 * State word: NEW -> RUNNING (the CAS that elects the runner) -> DONE
 * (an exchange after the function returned), plus WAITERS, set by a waiter
 * (CAS, under the spinlock) only in a step that sees RUNNING, and queued
 * before the spinlock is dropped. The runner's exchange to DONE returns
 * WAITERS if anyone queued; it then claims them all under the spinlock.
 *
 * Orderings: the exchange to DONE is release and the fast path's load of
 * DONE is acquire, so the function's effects are visible to every caller
 * that returns 0; woken waiters get them through wt_waiter_finish()
 * (wait.c).
 */
#include <errno.h>

#include "debug.h"
#include "sync.h"
#include "worker.h"

enum {
    ONCE_NEW = 0,
    ONCE_RUNNING = 1,
    ONCE_DONE = 2,
    ONCE_WAITERS = 4,
};

struct WT_SYNC_STRUCT once {
    _Atomic uint32_t state;
    struct spinlock lock; /* guards q, and setting WAITERS */
    /* The runner's wt_sync_self(), to refuse a recursive call. Relaxed: a
     * caller can read its own id there only if it stored it itself. */
    _Atomic uintptr_t runner;
    struct wait_queue q;
};

static_assert(sizeof(struct once) <= sizeof(weft_once), "grow weft_once.opaque_");
static_assert(alignof(struct once) <= alignof(weft_once), "weft_once under-aligned");

static int wait_done(struct once *o, int64_t deadline)
{
    if (atomic_load_explicit(&o->runner, memory_order_relaxed) == wt_sync_self())
        return -EDEADLK;
    if (wt_deadline_passed(deadline))
        return -ETIMEDOUT;
    struct worker *w = wt_worker_self();
    struct wait wt;
    int r = wt_wait_begin(&wt, w, WAITK_ONCE, o);
    if (r)
        return r;
    wt_spin_lock(&o->lock);
    uint32_t s = atomic_load_explicit(&o->state, memory_order_acquire);
    do {
        if (s & ONCE_DONE) {
            wt_spin_unlock(&o->lock);
            wt_wait_lapse(&wt, &w);
            return 0;
        }
    } while (!atomic_compare_exchange_weak_explicit(&o->state, &s, s | ONCE_WAITERS,
                                                    memory_order_acquire, memory_order_acquire));
    struct waiter n;
    wt_waiter_init(&n, &wt, NULL, 0);
    wt_wq_push(&o->q, &n);
    wt_spin_unlock(&o->lock);

    r = wt_wait_block(&wt, &w, deadline);
    if (r == 0)
        return 0;
    wt_spin_lock(&o->lock);
    if (n.queued)
        wt_wq_remove(&o->q, &n); /* WAITERS may stay set: the runner finds nobody */
    else
        r = 0; /* dropped by the runner as we gave up: it finished */
    wt_spin_unlock(&o->lock);
    return r;
}

int weft_once_call_until(weft_once *ov, void (*fn)(void *arg), void *arg, int64_t deadline)
{
    if (WT_UNLIKELY(!ov || !fn || !wt_deadline_ok(deadline)))
        return -EINVAL;
    struct once *o = (struct once *)(void *)ov;
    /* Acquire pairs with the runner's release exchange. */
    uint32_t s = atomic_load_explicit(&o->state, memory_order_acquire);
    if (WT_LIKELY(s & ONCE_DONE))
        return 0;
    if (s == ONCE_NEW &&
        atomic_compare_exchange_strong_explicit(&o->state, &s, ONCE_RUNNING, memory_order_acquire,
                                                memory_order_acquire)) {
        atomic_store_explicit(&o->runner, wt_sync_self(), memory_order_relaxed);
        fn(arg);
        atomic_store_explicit(&o->runner, 0, memory_order_relaxed);
        /* Release: the function's effects, to every later caller. */
        s = atomic_exchange_explicit(&o->state, ONCE_DONE, memory_order_release);
        if (s & ONCE_WAITERS) {
            struct wake_list wl = {0};
            wt_spin_lock(&o->lock);
            wt_wake_list_claim_all(&wl, &o->q, 0);
            wt_spin_unlock(&o->lock);
            wt_wake_list_finish(&wl);
        }
        return 0;
    }
    if (s & ONCE_DONE)
        return 0;
    return wait_done(o, deadline);
}

int weft_once_call(weft_once *o, void (*fn)(void *arg), void *arg)
{
    return weft_once_call_until(o, fn, arg, WEFT_FOREVER);
}
