/*
 * sync.h - what the fiber-parking sync primitives (mutex.c, rwlock.c,
 * cond.c, sem.c, waitgroup.c, once.c, barrier.c, event.c) share: deadline
 * checks, the caller's identity, waking a batch of waiters after the lock
 * is dropped, and the mutex internals that cond.c and the recursive mutex
 * build on. The blocking protocol itself is wait.h's.
 *
 * Every primitive follows the same shape: a state word read and changed
 * with one CAS on the fast path; a spinlock guarding the wait queue(s) and
 * the "someone waits" bits of the state word on the slow path; waiters
 * queued under the spinlock, which is dropped before wt_wait_block(); a
 * waker that claims waiters under the spinlock, hands the resource over
 * through the waiter (so a woken waiter never has to retry), and finishes
 * them after dropping it. Lock order: a primitive's spinlock is a leaf;
 * cond.c takes the cond's spinlock and, after dropping it, the mutex's.
 */
#ifndef WT_SYNC_H
#define WT_SYNC_H

#include <assert.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "debug.h"
#include "detsched.h"
#include "os.h"
#include "spinlock.h"
#include "wait.h"
#include "weft.h"

/* The internal structs overlay the callers' opaque uint64_t arrays (and
 * the static initializers write them as such), so they are exempt from
 * type-based alias analysis. */
#define WT_SYNC_STRUCT __attribute__((may_alias))

/* A deadline argument is WEFT_FOREVER or >= 0. */
static inline bool wt_deadline_ok(int64_t deadline)
{
    return deadline >= 0 || deadline == WEFT_FOREVER;
}

/* Has @deadline (valid) passed? Reads the clock unless it is WEFT_FOREVER:
 * weft's clock, virtual under a deterministic schedule, as wt_wait_block's. */
static inline bool wt_deadline_passed(int64_t deadline)
{
    return deadline >= 0 && deadline <= wt_now();
}

/*
 * End a wait that was begun (wt_wait_begin returned 0) but will not block,
 * because the object came free under its lock before the waiter was
 * queued. Nobody can wake it (it was never queued), but weft_cancel can
 * claim any begun wait of a fiber, and a canceller that claimed this one
 * may still be about to set DONE: were the fiber to begin its next wait
 * first, that late DONE would land on the new wait and end it as if woken,
 * still queued. wt_wait_block with a past deadline settles it: it claims
 * the wait for a timeout at once (no park), or, if a canceller won, parks
 * until the canceller has finished. Plain threads cannot be cancelled.
 */
static inline void wt_wait_lapse(struct wait *wt, struct worker **w)
{
    if (wt->f)
        (void)wt_wait_block(wt, w, 0);
}

/* The calling context, for owner checks: the running fiber's struct, or,
 * on a plain thread, the address of a thread-local. Unique among live
 * fibers and threads; never 0. */
uintptr_t wt_sync_self(void);

/* Waiters claimed under a primitive's lock, to be finished after it is
 * dropped. A claimed waiter is out of its queue and ours until finished,
 * so its next field is free to chain it here (FIFO). */
struct wake_list {
    struct waiter *head, *tail;
};

static inline void wt_wake_list_add(struct wake_list *wl, struct waiter *n)
{
    n->next = NULL;
    if (wl->tail)
        wl->tail->next = n;
    else
        wl->head = n;
    wl->tail = n;
}

/* Claim every waiter of @q (dropping those whose wait ended otherwise),
 * setting each one's token to @token. Returns how many were claimed.
 * Caller holds @q's lock. */
static inline unsigned wt_wake_list_claim_all(struct wake_list *wl, struct wait_queue *q, int token)
{
    unsigned n = 0;
    struct waiter *w;
    while ((w = wt_wq_claim_first(q))) {
        w->token = token;
        wt_wake_list_add(wl, w);
        n++;
    }
    return n;
}

/* Finish every waiter on @wl. No lock needed; the waiters are gone after. */
static inline void wt_wake_list_finish(struct wake_list *wl)
{
    struct waiter *n = wl->head;
    while (n) {
        struct waiter *next = n->next; /* read before n may vanish */
        wt_waiter_finish(n);
        n = next;
    }
    wl->head = wl->tail = NULL;
}

/* Push @n at the head of @q: a waiter that was woken and lost the race
 * goes back in front of those that came after it. Caller holds @q's lock. */
static inline void wt_wq_push_front(struct wait_queue *q, struct waiter *n)
{
    if (!q->head) {
        wt_wq_push(q, n);
        return;
    }
    n->prev = NULL;
    n->next = q->head;
    q->head->prev = n;
    q->head = n;
    n->queued = true;
}

/* The mutex (mutex.c has the design). */

enum {
    MUTEX_LOCKED = 1u << 0,   /* held */
    MUTEX_WAITERS = 1u << 1,  /* the queue may be non-empty; set and cleared under lock */
    MUTEX_WOKEN = 1u << 2,    /* a waiter was woken to retry and has not yet */
    MUTEX_STARVING = 1u << 3, /* hand-off mode: unlock passes the lock to the oldest waiter */
};

struct WT_SYNC_STRUCT mutex {
    _Atomic uint32_t state; /* MUTEX_* */
    struct spinlock lock;   /* guards q, and setting/clearing WAITERS */
    struct wait_queue q;
};

int wt_mutex_lock_slow(struct mutex *m, int64_t deadline);
int wt_mutex_unlock_slow(struct mutex *m);

/* Lock @m without limit; never fails, not even for a cancelled fiber
 * (which then yields until the mutex is free instead of parking). For
 * weft_cond_wait, which must return with the mutex held. */
void wt_mutex_relock(struct mutex *m);

static inline bool wt_mutex_trylock_fast(struct mutex *m)
{
    uint32_t zero = 0;
    /* Acquire pairs with the release in every unlock path: what the last
     * holder wrote is visible to us. */
    return atomic_compare_exchange_strong_explicit(&m->state, &zero, MUTEX_LOCKED,
                                                   memory_order_acquire, memory_order_relaxed);
}

static inline int wt_mutex_lock(struct mutex *m, int64_t deadline)
{
    if (WT_LIKELY(wt_mutex_trylock_fast(m)))
        return 0;
    return wt_mutex_lock_slow(m, deadline);
}

static inline int wt_mutex_unlock(struct mutex *m)
{
    uint32_t locked = MUTEX_LOCKED;
    /* Release pairs with the acquire of the next locker. */
    if (WT_LIKELY(atomic_compare_exchange_strong_explicit(
            &m->state, &locked, 0, memory_order_release, memory_order_relaxed)))
        return 0;
    return wt_mutex_unlock_slow(m);
}

#endif /* WT_SYNC_H */
