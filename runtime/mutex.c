/*
 * mutex.c - weft_mutex, Go's sync.Mutex with deadlines and cancellation,
 * and weft_rmutex, a recursive mutex on top of it. Condition variables are
 * in cond.c; the blocking protocol in wait.c.
 *
 * The problem. A fiber mutex must cost one atomic instruction when nobody
 * contends (Go's benchmark is the bar), must not park a fiber whose holder
 * is about to let go (a park and a wake cost two context switches and
 * maybe an idle worker's futex wake), and must not let a waiter starve
 * while runnable fibers keep taking the lock ahead of it.
 *
 * Rejected: a FIFO ticket lock with direct hand-off on every unlock. It is
 * fair, but every contended unlock then waits for the next owner to be
 * scheduled before anyone can use the lock (lock convoys): under the
 * 4-fibers-per-worker benchmark the lock would spend most of its time owned
 * by a fiber sitting in a run queue. Rejected too: Go's design literally,
 * with a waiter count in the state word and a semaphore beside it. Its
 * count is settled by the unlocker on the waiter's behalf, which cannot be
 * undone when the waiter's deadline passes or it is cancelled; with
 * wait.h's claim word a waiter that leaves early simply was not claimed,
 * and a bit kept exact under the queue's spinlock replaces the count.
 *
 * The protocol. One 32-bit state word:
 *
 *   LOCKED    held.
 *   WAITERS   the queue may hold waiters. Set by a waiter (CAS, under the
 *             spinlock, in the same step that sees LOCKED) before it queues;
 *             cleared under the spinlock when the queue is seen empty.
 *   WOKEN     a locker is on its way: an unlock woke a waiter to retry and
 *             it has not retried yet, or a spinning locker set it (as in
 *             Go) while waiters sleep. Further unlocks wake nobody (one
 *             retrier at a time, no thundering herd). Its owner clears it
 *             in the CAS that takes the lock or queues it, or when it
 *             gives up.
 *   STARVING  hand-off mode: unlock keeps LOCKED set and passes the lock to
 *             the oldest waiter; newcomers neither spin nor take the lock.
 *
 * lock:   CAS 0 -> LOCKED (fast path). Else spin up to 4 x 30 pauses while
 *         LOCKED without STARVING (only if another worker could be running
 *         the holder), taking the lock if it comes free; then begin a wait,
 *         and under the spinlock either take the lock (it came free) or set
 *         WAITERS and queue: at the tail the first time, at the head after
 *         being woken (it is older than everyone behind it). Woken with a
 *         RETRY token: start over, owning WOKEN. Woken with HANDOFF: the
 *         lock is ours. A waiter that finds, on waking, that it has waited
 *         more than 1 ms since it first queued sets STARVING as it
 *         re-queues.
 * unlock: CAS LOCKED -> 0 (fast path). Else, not STARVING: clear LOCKED,
 *         and if WAITERS without WOKEN also set WOKEN and wake the head
 *         waiter with RETRY. STARVING: under the spinlock claim the head
 *         waiter and hand it the lock (HANDOFF), LOCKED staying set.
 *         Hand-off mode ends when the queue empties, or when the waiter
 *         handed the lock had waited less than 1 ms (as Go).
 *
 * Why nothing is lost. Every decision is taken on a value read by an RMW
 * of the one state word, so all of them are ordered by its modification
 * order. A waiter sets WAITERS in a CAS that saw LOCKED, holding the
 * spinlock until it is queued; the unlock that clears LOCKED comes later in
 * that order, so it sees WAITERS, and the spinlock it then takes to wake
 * someone is only free once the waiter is in the queue. An unlock that
 * sees WOKEN wakes nobody, but the woken waiter's next CAS either takes the
 * lock or re-queues (and the holder at that moment will see WAITERS
 * without WOKEN); a woken waiter that must give up (deadline, cancel)
 * clears WOKEN in a CAS that sees LOCKED, or takes the lock if it is free.
 * A waiter whose deadline passes or that is cancelled was, by wait.h's
 * claim, not woken: unlock's wt_wq_claim_first skips it and wakes the next.
 *
 * Orderings: lock's successful CASes are acquire and unlock's are release,
 * pairing with each other as any lock does; the hand-off passes ownership
 * through wt_waiter_finish(), which releases what the unlocker wrote and
 * which the waiter acquires when it is readied (wait.c). WAITERS, WOKEN
 * and STARVING carry no data: their RMWs are relaxed.
 */
#include <errno.h>

#include "debug.h"
#include "detsched.h"
#include "runtime.h"
#include "sync.h"
#include "worker.h"

enum {
    SPIN_ROUNDS = 4,     /* Go's active_spin */
    SPIN_PAUSES = 30,    /* Go's active_spin_cnt */
    TOKEN_RETRY = 0,     /* woken: try again (WOKEN is ours) */
    TOKEN_HANDOFF = 1,   /* woken: the lock is ours */
    STARVE_NS = 1000000, /* a waiter this old switches to hand-off mode */
    RMUTEX_MAX = 0x7fffffff,
};

static_assert(sizeof(struct mutex) <= sizeof(weft_mutex), "grow weft_mutex.opaque_");
static_assert(alignof(struct mutex) <= alignof(weft_mutex), "weft_mutex under-aligned");

uintptr_t wt_sync_self(void)
{
    static _Thread_local char tag; /* a plain thread never switches: no stale TLS */
    struct worker *w = wt_worker_self();
    if (w && w->current)
        return (uintptr_t)w->current;
    return (uintptr_t)&tag;
}

static inline struct mutex *to_mutex(weft_mutex *m)
{
    return (struct mutex *)(void *)m;
}

/* Spinning helps only if the holder can run meanwhile: on a plain thread,
 * or with other workers. A fiber on a one-worker runtime would spin while
 * the holder sits in its own run queue. */
static bool can_spin(const struct worker *w, int round)
{
    return round < SPIN_ROUNDS && (!w || w->rt->nworkers > 1);
}

/* Clear WAITERS (and leave hand-off mode) if the queue is empty. Caller
 * holds m->lock. */
static void note_if_empty(struct mutex *m)
{
    if (wt_wq_empty(&m->q))
        atomic_fetch_and_explicit(&m->state, ~(uint32_t)(MUTEX_WAITERS | MUTEX_STARVING),
                                  memory_order_relaxed);
}

/* The caller must not wait (deadline passed, cancelled, no timer). If it
 * was woken to retry it owns WOKEN and must not leave with it set, or no
 * unlock would wake anyone again: clear it in a CAS that sees the lock
 * held (its holder's unlock then wakes the next waiter), or take the lock
 * if it is free. Returns 0 (took it) or @err. */
static int give_up(struct mutex *m, bool woken, int err)
{
    if (!woken)
        return err;
    uint32_t s = atomic_load_explicit(&m->state, memory_order_relaxed);
    for (;;) {
        if (!(s & (MUTEX_LOCKED | MUTEX_STARVING))) {
            /* Acquire pairs with the release of the last unlock. */
            if (atomic_compare_exchange_weak_explicit(&m->state, &s,
                                                      (s | MUTEX_LOCKED) & ~(uint32_t)MUTEX_WOKEN,
                                                      memory_order_acquire, memory_order_relaxed))
                return 0;
        } else if (atomic_compare_exchange_weak_explicit(&m->state, &s, s & ~(uint32_t)MUTEX_WOKEN,
                                                         memory_order_relaxed,
                                                         memory_order_relaxed)) {
            return err;
        }
    }
}

int wt_mutex_lock_slow(struct mutex *m, int64_t deadline)
{
    struct worker *w = wt_worker_self();
    int64_t start = 0;  /* when it first queued; 0 before */
    bool woken = false; /* we own WOKEN: an unlock woke us, or we set it spinning */
    bool starving = false;
    int round = 0;
    uint32_t s = atomic_load_explicit(&m->state, memory_order_relaxed);
    for (;;) {
        uint32_t unwoken = woken ? ~(uint32_t)MUTEX_WOKEN : ~(uint32_t)0;
        if ((s & (MUTEX_LOCKED | MUTEX_STARVING)) == MUTEX_LOCKED && can_spin(w, round)) {
            /* Go's trick: while we spin, WOKEN tells unlockers that a
             * locker is on its way, so they wake no sleeper (who would
             * only find the lock taken again). It is ours to clear. */
            if (!woken && (s & (MUTEX_WAITERS | MUTEX_WOKEN)) == MUTEX_WAITERS &&
                atomic_compare_exchange_weak_explicit(&m->state, &s, s | MUTEX_WOKEN,
                                                      memory_order_relaxed, memory_order_relaxed)) {
                woken = true;
                s |= MUTEX_WOKEN;
            }
            for (int i = 0; i < SPIN_PAUSES; i++)
                wt_cpu_relax();
            round++;
            s = atomic_load_explicit(&m->state, memory_order_relaxed);
            continue;
        }
        if (!(s & (MUTEX_LOCKED | MUTEX_STARVING))) {
            /* Acquire pairs with the release of the last unlock. */
            if (atomic_compare_exchange_weak_explicit(&m->state, &s, (s | MUTEX_LOCKED) & unwoken,
                                                      memory_order_acquire, memory_order_relaxed))
                return 0;
            continue;
        }
        int64_t now = wt_now();
        if (deadline >= 0 && deadline <= now)
            return give_up(m, woken, -ETIMEDOUT);
        bool requeue = start != 0; /* woken from the queue before: go back in front */
        if (!requeue)
            start = now;
        else
            starving = starving || now - start > STARVE_NS;
        struct wait wt;
        int r = wt_wait_begin(&wt, w, WAITK_MUTEX, m);
        if (r)
            return give_up(m, woken, r);

        wt_spin_lock(&m->lock);
        s = atomic_load_explicit(&m->state, memory_order_relaxed);
        for (;;) {
            if (!(s & (MUTEX_LOCKED | MUTEX_STARVING))) {
                /* It came free: take it, and end the wait we began. */
                if (atomic_compare_exchange_weak_explicit(
                        &m->state, &s, (s | MUTEX_LOCKED) & unwoken, memory_order_acquire,
                        memory_order_relaxed)) {
                    wt_spin_unlock(&m->lock);
                    wt_wait_lapse(&wt, &w);
                    return 0;
                }
                continue;
            }
            uint32_t ns = (s | MUTEX_WAITERS) & unwoken;
            if (starving)
                ns |= MUTEX_STARVING;
            if (atomic_compare_exchange_weak_explicit(&m->state, &s, ns, memory_order_relaxed,
                                                      memory_order_relaxed))
                break;
        }
        struct waiter n;
        wt_waiter_init(&n, &wt, NULL, TOKEN_RETRY);
        if (requeue)
            wt_wq_push_front(&m->q, &n);
        else
            wt_wq_push(&m->q, &n);
        wt_spin_unlock(&m->lock);
        woken = false;

        r = wt_wait_block(&wt, &w, deadline);
        if (r == 0) {
            if (n.token == TOKEN_HANDOFF) {
                /* LOCKED stayed set for us. A short wait ends hand-off mode. */
                if (wt_now() - start <= STARVE_NS)
                    atomic_fetch_and_explicit(&m->state, ~(uint32_t)MUTEX_STARVING,
                                              memory_order_relaxed);
                return 0;
            }
            woken = true;
            round = 0;
            s = atomic_load_explicit(&m->state, memory_order_relaxed);
            continue;
        }
        /* Not claimed by a waker (wait.h): nothing was handed to us. */
        wt_spin_lock(&m->lock);
        wt_wq_remove(&m->q, &n);
        note_if_empty(m);
        wt_spin_unlock(&m->lock);
        return r;
    }
}

/* Hand-off mode: pass the lock, still LOCKED, to the oldest waiter. */
static void hand_off(struct mutex *m)
{
    wt_spin_lock(&m->lock);
    struct waiter *n = wt_wq_claim_first(&m->q);
    if (!n) /* every waiter left: unlock and leave hand-off mode */
        atomic_fetch_and_explicit(&m->state,
                                  ~(uint32_t)(MUTEX_LOCKED | MUTEX_WAITERS | MUTEX_STARVING),
                                  memory_order_release); /* pairs with the next lock's acquire */
    else
        note_if_empty(m);
    wt_spin_unlock(&m->lock);
    if (n) {
        n->token = TOKEN_HANDOFF;
        wt_waiter_finish(n);
    }
}

/* We cleared LOCKED and set WOKEN: wake the oldest waiter to retry. */
static void wake_one(struct mutex *m)
{
    wt_spin_lock(&m->lock);
    struct waiter *n = wt_wq_claim_first(&m->q);
    if (wt_wq_empty(&m->q))
        atomic_fetch_and_explicit(&m->state, ~(uint32_t)(MUTEX_WAITERS | (n ? 0u : MUTEX_WOKEN)),
                                  memory_order_relaxed);
    wt_spin_unlock(&m->lock);
    if (n) {
        n->token = TOKEN_RETRY;
        wt_waiter_finish(n);
    }
}

int wt_mutex_unlock_slow(struct mutex *m)
{
    uint32_t s = atomic_load_explicit(&m->state, memory_order_relaxed);
    for (;;) {
        if (!(s & MUTEX_LOCKED))
            return -EPERM;
        if (s & MUTEX_STARVING) {
            hand_off(m);
            return 0;
        }
        bool wake = (s & (MUTEX_WAITERS | MUTEX_WOKEN)) == MUTEX_WAITERS;
        uint32_t ns = (s & ~(uint32_t)MUTEX_LOCKED) | (wake ? MUTEX_WOKEN : 0u);
        /* Release pairs with the acquire of the next locker. */
        if (atomic_compare_exchange_weak_explicit(&m->state, &s, ns, memory_order_release,
                                                  memory_order_relaxed)) {
            if (wake)
                wake_one(m);
            return 0;
        }
    }
}

void wt_mutex_relock(struct mutex *m)
{
    if (wt_mutex_lock(m, WEFT_FOREVER) == 0)
        return;
    /* Only a cancelled fiber gets here: wait.h fails every wait it begins,
     * so it cannot park. It yields until it can take the lock. */
    for (;;) {
        uint32_t s = atomic_load_explicit(&m->state, memory_order_relaxed);
        /* Acquire pairs with the release of the last unlock. */
        if (!(s & (MUTEX_LOCKED | MUTEX_STARVING)) &&
            atomic_compare_exchange_weak_explicit(&m->state, &s, s | MUTEX_LOCKED,
                                                  memory_order_acquire, memory_order_relaxed))
            return;
        weft_yield();
    }
}

/* The public mutex. */

int weft_mutex_init(weft_mutex *m)
{
    if (!m)
        return -EINVAL;
    *m = (weft_mutex)WEFT_MUTEX_INIT;
    return 0;
}

int weft_mutex_destroy(weft_mutex *m)
{
    if (!m)
        return -EINVAL;
    /* Relaxed: a destroy racing a use is the caller's bug; we report what
     * is visible. Any waiter keeps WAITERS or WOKEN set. */
    return atomic_load_explicit(&to_mutex(m)->state, memory_order_relaxed) ? -EBUSY : 0;
}

int weft_mutex_lock(weft_mutex *m)
{
    if (WT_UNLIKELY(!m))
        return -EINVAL;
    return wt_mutex_lock(to_mutex(m), WEFT_FOREVER);
}

int weft_mutex_lock_until(weft_mutex *m, int64_t deadline)
{
    if (WT_UNLIKELY(!m || !wt_deadline_ok(deadline)))
        return -EINVAL;
    return wt_mutex_lock(to_mutex(m), deadline);
}

int weft_mutex_trylock(weft_mutex *m)
{
    if (WT_UNLIKELY(!m))
        return -EINVAL;
    struct mutex *mx = to_mutex(m);
    uint32_t s = 0;
    /* Acquire pairs with the release of the last unlock. */
    while (!atomic_compare_exchange_weak_explicit(&mx->state, &s, s | MUTEX_LOCKED,
                                                  memory_order_acquire, memory_order_relaxed))
        if (s & (MUTEX_LOCKED | MUTEX_STARVING))
            return -EAGAIN;
    return 0;
}

int weft_mutex_unlock(weft_mutex *m)
{
    if (WT_UNLIKELY(!m))
        return -EINVAL;
    return wt_mutex_unlock(to_mutex(m));
}

/* The recursive mutex: a mutex, its owner and a depth. */

struct WT_SYNC_STRUCT rmutex {
    struct mutex m;
    /* Written by the owner only (its id on taking m, 0 before releasing
     * it); relaxed loads suffice: a caller can read its own id there only
     * if it stored it itself and has not overwritten it since (coherence
     * with its own later store of 0). */
    _Atomic uintptr_t owner;
    uint32_t depth; /* the owner's; handed over with m */
};

static_assert(sizeof(struct rmutex) <= sizeof(weft_rmutex), "grow weft_rmutex.opaque_");
static_assert(alignof(struct rmutex) <= alignof(weft_rmutex), "weft_rmutex under-aligned");

static inline struct rmutex *to_rmutex(weft_rmutex *m)
{
    return (struct rmutex *)(void *)m;
}

/* Lock @rm; @deadline 0 with @try: only if that needs no waiting. */
static int rmutex_lock(weft_rmutex *m, int64_t deadline, bool try)
{
    if (!m || !wt_deadline_ok(deadline))
        return -EINVAL;
    struct rmutex *rm = to_rmutex(m);
    uintptr_t me = wt_sync_self();
    if (atomic_load_explicit(&rm->owner, memory_order_relaxed) == me) {
        if (rm->depth == RMUTEX_MAX)
            return -EOVERFLOW;
        rm->depth++;
        return 0;
    }
    int r;
    if (try)
        r = weft_mutex_trylock((weft_mutex *)(void *)&rm->m);
    else
        r = wt_mutex_lock(&rm->m, deadline);
    if (r)
        return r;
    atomic_store_explicit(&rm->owner, me, memory_order_relaxed);
    rm->depth = 1;
    return 0;
}

int weft_rmutex_init(weft_rmutex *m)
{
    if (!m)
        return -EINVAL;
    *m = (weft_rmutex)WEFT_RMUTEX_INIT;
    return 0;
}

int weft_rmutex_destroy(weft_rmutex *m)
{
    if (!m)
        return -EINVAL;
    return atomic_load_explicit(&to_rmutex(m)->m.state, memory_order_relaxed) ? -EBUSY : 0;
}

int weft_rmutex_lock(weft_rmutex *m)
{
    return rmutex_lock(m, WEFT_FOREVER, false);
}

int weft_rmutex_lock_until(weft_rmutex *m, int64_t deadline)
{
    return rmutex_lock(m, deadline, false);
}

int weft_rmutex_trylock(weft_rmutex *m)
{
    return rmutex_lock(m, 0, true);
}

int weft_rmutex_unlock(weft_rmutex *m)
{
    if (!m)
        return -EINVAL;
    struct rmutex *rm = to_rmutex(m);
    if (atomic_load_explicit(&rm->owner, memory_order_relaxed) != wt_sync_self())
        return -EPERM;
    if (--rm->depth)
        return 0;
    atomic_store_explicit(&rm->owner, 0, memory_order_relaxed);
    return wt_mutex_unlock(&rm->m);
}
