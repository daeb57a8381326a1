/*
 * event.c - weft_event, Python's threading.Event: set wakes every waiter
 * and stays set until cleared. The blocking protocol is wait.c's; sync.h
 * has the shape all primitives share.
 *
 * State word: SET and WAITERS. A waiter sets WAITERS (CAS, under the
 * spinlock) only in the step that sees the event clear, and is queued
 * before the spinlock is dropped. set is one CAS while nobody waits; with
 * WAITERS it takes the spinlock, sets SET and clears WAITERS in one CAS,
 * and claims every queued waiter: exactly those that began waiting before
 * this set (later ones see SET, or queue after a clear and wait for the
 * next set). So SET and WAITERS are never both set, and a waiter woken by a
 * set returns 0 even if the event was cleared again before it ran.
 *
 * Orderings: set's CAS is release and the waiters' loads of SET are
 * acquire, so what the setter wrote before set is visible to whoever
 * sees it set; woken waiters get it through wt_waiter_finish() (wait.c).
 */
#include <errno.h>

#include "debug.h"
#include "sync.h"
#include "worker.h"

enum {
    EV_SET = 1u << 0,
    EV_WAITERS = 1u << 1,
};

struct WT_SYNC_STRUCT event {
    _Atomic uint32_t state;
    struct spinlock lock; /* guards q, and setting/clearing WAITERS */
    struct wait_queue q;
};

static_assert(sizeof(struct event) <= sizeof(weft_event), "grow weft_event.opaque_");
static_assert(alignof(struct event) <= alignof(weft_event), "weft_event under-aligned");

static inline struct event *to_event(weft_event *e)
{
    return (struct event *)(void *)e;
}

int weft_event_set(weft_event *ev)
{
    if (WT_UNLIKELY(!ev))
        return -EINVAL;
    struct event *e = to_event(ev);
    uint32_t s = atomic_load_explicit(&e->state, memory_order_relaxed);
    do {
        if (s & EV_WAITERS)
            goto slow;
        if (s & EV_SET)
            return 0;
        /* Release pairs with the waiters' acquire loads. */
    } while (!atomic_compare_exchange_weak_explicit(&e->state, &s, s | EV_SET, memory_order_release,
                                                    memory_order_relaxed));
    return 0;

slow:;
    struct worker *w = wt_worker_self();
    wt_spin_lock(&e->lock);
    s = atomic_load_explicit(&e->state, memory_order_relaxed);
    /* Release, as above; the loop only races clear's fetch_and. */
    while (!atomic_compare_exchange_weak_explicit(&e->state, &s,
                                                  (s | EV_SET) & ~(uint32_t)EV_WAITERS,
                                                  memory_order_release, memory_order_relaxed))
        ;
    /* Finish each waiter as it is claimed, still under the lock: its lines
     * are hot (a set that releases a million fibers walked a million cold
     * stacks twice otherwise), and the woken start running at once. Only
     * the finish's wake-ups run under the lock: nothing here parks. */
    struct waiter *n;
    while ((n = wt_wq_claim_first(&e->q)))
        wt_waiter_finish_from(n, w);
    wt_spin_unlock(&e->lock);
    return 0;
}

int weft_event_clear(weft_event *e)
{
    if (!e)
        return -EINVAL;
    /* Relaxed: clearing publishes nothing. */
    atomic_fetch_and_explicit(&to_event(e)->state, ~(uint32_t)EV_SET, memory_order_relaxed);
    return 0;
}

bool weft_event_is_set(weft_event *e)
{
    /* Acquire pairs with set's release. */
    return e && (atomic_load_explicit(&to_event(e)->state, memory_order_acquire) & EV_SET);
}

int weft_event_wait_until(weft_event *ev, int64_t deadline)
{
    if (WT_UNLIKELY(!ev || !wt_deadline_ok(deadline)))
        return -EINVAL;
    struct event *e = to_event(ev);
    /* Acquire pairs with set's release. */
    if (atomic_load_explicit(&e->state, memory_order_acquire) & EV_SET)
        return 0;
    if (wt_deadline_passed(deadline))
        return -ETIMEDOUT;
    struct worker *w = wt_worker_self();
    struct wait wt;
    int r = wt_wait_begin(&wt, w, WAITK_EVENT, e);
    if (r)
        return r;
    wt_spin_lock(&e->lock);
    uint32_t s = atomic_load_explicit(&e->state, memory_order_acquire);
    do {
        if (s & EV_SET) {
            wt_spin_unlock(&e->lock);
            wt_wait_lapse(&wt, &w);
            return 0;
        }
    } while (!atomic_compare_exchange_weak_explicit(&e->state, &s, s | EV_WAITERS,
                                                    memory_order_acquire, memory_order_acquire));
    struct waiter n;
    wt_waiter_init(&n, &wt, NULL, 0);
    wt_wq_push(&e->q, &n);
    wt_spin_unlock(&e->lock);

    r = wt_wait_block(&wt, &w, deadline);
    if (r == 0)
        return 0;
    wt_spin_lock(&e->lock);
    if (n.queued) {
        wt_wq_remove(&e->q, &n);
        if (wt_wq_empty(&e->q))
            atomic_fetch_and_explicit(&e->state, ~(uint32_t)EV_WAITERS, memory_order_relaxed);
    } else {
        r = 0; /* dropped by a set as we gave up: it was set */
    }
    wt_spin_unlock(&e->lock);
    return r;
}

int weft_event_wait(weft_event *e)
{
    return weft_event_wait_until(e, WEFT_FOREVER);
}

int weft_event_init(weft_event *e)
{
    if (!e)
        return -EINVAL;
    *e = (weft_event)WEFT_EVENT_INIT;
    return 0;
}

int weft_event_destroy(weft_event *e)
{
    if (!e)
        return -EINVAL;
    uint32_t s = atomic_load_explicit(&to_event(e)->state, memory_order_relaxed);
    return (s & EV_WAITERS) ? -EBUSY : 0;
}
