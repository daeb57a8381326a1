/*
 * rwlock.c - weft_rwlock: many readers or one writer, writers not starved.
 * The blocking protocol is wait.c's; sync.h has the shape all primitives share.
 *
 * State word: WRITER (a writer holds it), WWAIT (writers are queued: new
 * readers must queue too), RWAIT (readers are queued) and the reader count
 * above them. Fast paths are one CAS: a reader adds itself while neither
 * WRITER nor WWAIT is set, a writer takes 0 -> WRITER, unlock undoes either
 * when nobody waits. Everything else runs under the spinlock, which guards
 * both queues and the WWAIT/RWAIT bits.
 *
 * Policy (Go's, with hand-off): a queued writer stops new readers; the last
 * reader out hands the lock to the oldest writer; a writer's unlock hands
 * it to every reader queued meanwhile if there are any, else to the next
 * writer. Writers and readers thus alternate under contention and neither
 * starves. The lock is handed over, never re-contended: the releaser sets
 * the new owner's bits in the state word under the spinlock and claims the
 * waiter, so a woken waiter returns at once.
 *
 * Why nothing is lost: a waiter queues under the spinlock after a CAS that
 * saw the lock unavailable (WRITER, WWAIT or readers) and set its WAIT bit;
 * an unlock that could pass the lock to a waiter sees that bit in its own
 * RMW (the fast unlock CASes fail unless the word shows nobody waiting) and
 * then takes the spinlock, free only once the waiter is queued. A waiter
 * that leaves (deadline, cancel) was not claimed (wait.h), re-runs the
 * hand-off under the spinlock (readers queued behind a leaving writer may
 * now enter) and fixes the WAIT bits.
 *
 * Orderings: acquiring CASes are acquire, releasing ones release; hand-off
 * goes through wt_waiter_finish() (release) and the waiter's wake-up
 * (acquire), see wait.c. Whoever hands the lock over first acquires the
 * state word (unlock_slow's acq_rel CAS, dispatch's acquire load), so that
 * the releases of every earlier unlock - readers leaving by the fast path
 * included - reach the new owner through the hand-off, not only its own.
 * The WAIT bits carry no data (relaxed). TSan found the missing acquire:
 * a reader's fast-path unlock raced the writer handed the lock by the last
 * reader out (sync_stress).
 */
#include <errno.h>

#include "debug.h"
#include "sync.h"
#include "worker.h"

enum {
    RW_WRITER = 1u << 0,
    RW_WWAIT = 1u << 1,
    RW_RWAIT = 1u << 2,
    RW_READER = 1u << 3, /* one reader; 2^29 - 1 at most, more than fibers can exist */
};

#define RW_READERS(s) ((s) / RW_READER)

struct WT_SYNC_STRUCT rwlock {
    _Atomic uint32_t state;
    struct spinlock lock; /* guards rq, wq, and setting/clearing WWAIT and RWAIT */
    struct wait_queue rq; /* readers */
    struct wait_queue wq; /* writers */
};

static_assert(sizeof(struct rwlock) <= sizeof(weft_rwlock), "grow weft_rwlock.opaque_");
static_assert(alignof(struct rwlock) <= alignof(weft_rwlock), "weft_rwlock under-aligned");

static inline struct rwlock *to_rwlock(weft_rwlock *rw)
{
    return (struct rwlock *)(void *)rw;
}

/* Admit every queued reader (claimable ones), onto @wl. Returns how many.
 * Caller holds rw->lock. */
static unsigned admit_readers(struct rwlock *rw, struct wake_list *wl)
{
    unsigned k = wt_wake_list_claim_all(wl, &rw->rq, 0);
    /* Relaxed: the readers' access is ordered by wt_waiter_finish. */
    atomic_fetch_add_explicit(&rw->state, k * RW_READER, memory_order_relaxed);
    return k;
}

/* Admit the oldest claimable writer, onto @wl. Caller holds rw->lock and
 * the lock is free. */
static bool admit_writer(struct rwlock *rw, struct wake_list *wl)
{
    struct waiter *n = wt_wq_claim_first(&rw->wq);
    if (!n)
        return false;
    atomic_fetch_or_explicit(&rw->state, RW_WRITER, memory_order_relaxed); /* as above */
    wt_wake_list_add(wl, n);
    return true;
}

/* Let in whoever may enter now, onto @wl, and make WWAIT/RWAIT match the
 * queues. @readers_first: a writer just left, so the readers that queued
 * behind it go before the next writer. Caller holds rw->lock. */
static void dispatch(struct rwlock *rw, struct wake_list *wl, bool readers_first)
{
    /* Acquire: whoever we let in must see what the last holders did (the
     * releases of their unlocks); our wt_waiter_finish passes it on. */
    uint32_t s = atomic_load_explicit(&rw->state, memory_order_acquire);
    if (!(s & RW_WRITER)) {
        bool admitted = false;
        if (!wt_wq_empty(&rw->rq) && (readers_first || wt_wq_empty(&rw->wq)))
            admitted = admit_readers(rw, wl) > 0;
        if (RW_READERS(s) == 0 && !admitted && !admit_writer(rw, wl))
            admit_readers(rw, wl); /* every writer left: the readers behind them go */
    }
    uint32_t bits = (wt_wq_empty(&rw->wq) ? 0 : RW_WWAIT) | (wt_wq_empty(&rw->rq) ? 0 : RW_RWAIT);
    s = atomic_load_explicit(&rw->state, memory_order_relaxed);
    /* A CAS loop: fast-path lockers and unlockers change the word meanwhile. */
    while (!atomic_compare_exchange_weak_explicit(&rw->state, &s,
                                                  (s & ~(uint32_t)(RW_WWAIT | RW_RWAIT)) | bits,
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

/* Queue the caller as a reader or writer and wait to be let in. */
static int rw_wait(struct rwlock *rw, bool writer, int64_t deadline)
{
    if (wt_deadline_passed(deadline))
        return -ETIMEDOUT;
    struct worker *w = wt_worker_self();
    struct wait wt;
    int r = wt_wait_begin(&wt, w, WAITK_RWLOCK, rw);
    if (r)
        return r;
    wt_spin_lock(&rw->lock);
    uint32_t s = atomic_load_explicit(&rw->state, memory_order_relaxed);
    for (;;) {
        /* Under the lock the queues are never left waiting on a free lock
         * (dispatch), so "free" means nobody is queued ahead of us. */
        bool enter =
            writer ? !(s & RW_WRITER) && RW_READERS(s) == 0 : !(s & (RW_WRITER | RW_WWAIT));
        uint32_t ns =
            enter ? (writer ? s | RW_WRITER : s + RW_READER) : s | (writer ? RW_WWAIT : RW_RWAIT);
        /* Acquire (when entering) pairs with the release of the last unlock. */
        if (atomic_compare_exchange_weak_explicit(&rw->state, &s, ns, memory_order_acquire,
                                                  memory_order_relaxed)) {
            if (enter) {
                wt_spin_unlock(&rw->lock);
                wt_wait_lapse(&wt, &w);
                return 0;
            }
            break;
        }
    }
    struct waiter n;
    wt_waiter_init(&n, &wt, NULL, 0);
    wt_wq_push(writer ? &rw->wq : &rw->rq, &n);
    wt_spin_unlock(&rw->lock);

    r = wt_wait_block(&wt, &w, deadline);
    if (r == 0)
        return 0; /* handed over: the releaser set our bits */
    struct wake_list wl = {0};
    wt_spin_lock(&rw->lock);
    wt_wq_remove(writer ? &rw->wq : &rw->rq, &n);
    dispatch(rw, &wl, false); /* readers behind a leaving writer may enter now */
    wt_spin_unlock(&rw->lock);
    wt_wake_list_finish(&wl);
    return r;
}

static int rdlock(weft_rwlock *l, int64_t deadline, bool try)
{
    if (WT_UNLIKELY(!l || !wt_deadline_ok(deadline)))
        return -EINVAL;
    struct rwlock *rw = to_rwlock(l);
    uint32_t s = atomic_load_explicit(&rw->state, memory_order_relaxed);
    while (!(s & (RW_WRITER | RW_WWAIT))) {
        /* Acquire pairs with the release of the last writer's unlock. */
        if (atomic_compare_exchange_weak_explicit(&rw->state, &s, s + RW_READER,
                                                  memory_order_acquire, memory_order_relaxed))
            return 0;
    }
    return try ? -EAGAIN : rw_wait(rw, false, deadline);
}

static int wrlock(weft_rwlock *l, int64_t deadline, bool try)
{
    if (WT_UNLIKELY(!l || !wt_deadline_ok(deadline)))
        return -EINVAL;
    struct rwlock *rw = to_rwlock(l);
    uint32_t zero = 0;
    /* Acquire pairs with the release of the last unlock. */
    if (atomic_compare_exchange_strong_explicit(&rw->state, &zero, RW_WRITER, memory_order_acquire,
                                                memory_order_relaxed))
        return 0;
    return try ? -EAGAIN : rw_wait(rw, true, deadline);
}

/* Unlock with someone queued: under the spinlock, release and hand over. */
static int unlock_slow(struct rwlock *rw)
{
    struct wake_list wl = {0};
    wt_spin_lock(&rw->lock);
    uint32_t s = atomic_load_explicit(&rw->state, memory_order_relaxed), ns;
    do {
        if (s & RW_WRITER) {
            ns = s & ~(uint32_t)RW_WRITER;
        } else if (RW_READERS(s)) {
            ns = s - RW_READER;
        } else {
            wt_spin_unlock(&rw->lock);
            return -EPERM;
        }
        /* Release pairs with the acquire of whoever takes it next. Acquire
         * too: we may hand the lock over (dispatch), and the new owner must
         * see what the readers that left before us did; their release CASes
         * head the release sequence this RMW reads from. */
    } while (!atomic_compare_exchange_weak_explicit(&rw->state, &s, ns, memory_order_acq_rel,
                                                    memory_order_relaxed));
    dispatch(rw, &wl, (s & RW_WRITER) != 0);
    wt_spin_unlock(&rw->lock);
    wt_wake_list_finish(&wl);
    return 0;
}

int weft_rwlock_unlock(weft_rwlock *l)
{
    if (WT_UNLIKELY(!l))
        return -EINVAL;
    struct rwlock *rw = to_rwlock(l);
    uint32_t s = atomic_load_explicit(&rw->state, memory_order_relaxed), ns;
    do {
        if (s == RW_WRITER)
            ns = 0;
        else if (!(s & RW_WRITER) && RW_READERS(s) > (s & (RW_WWAIT | RW_RWAIT) ? 1u : 0u))
            ns = s - RW_READER; /* not the last reader out with someone queued */
        else if ((s & RW_WRITER) || RW_READERS(s))
            return unlock_slow(rw);
        else
            return -EPERM;
        /* Release pairs with the acquire of whoever takes it next. */
    } while (!atomic_compare_exchange_weak_explicit(&rw->state, &s, ns, memory_order_release,
                                                    memory_order_relaxed));
    return 0;
}

int weft_rwlock_init(weft_rwlock *rw)
{
    if (!rw)
        return -EINVAL;
    *rw = (weft_rwlock)WEFT_RWLOCK_INIT;
    return 0;
}

int weft_rwlock_destroy(weft_rwlock *rw)
{
    if (!rw)
        return -EINVAL;
    return atomic_load_explicit(&to_rwlock(rw)->state, memory_order_relaxed) ? -EBUSY : 0;
}

int weft_rwlock_rdlock(weft_rwlock *rw)
{
    return rdlock(rw, WEFT_FOREVER, false);
}

int weft_rwlock_rdlock_until(weft_rwlock *rw, int64_t deadline)
{
    return rdlock(rw, deadline, false);
}

int weft_rwlock_tryrdlock(weft_rwlock *rw)
{
    return rdlock(rw, 0, true);
}

int weft_rwlock_wrlock(weft_rwlock *rw)
{
    return wrlock(rw, WEFT_FOREVER, false);
}

int weft_rwlock_wrlock_until(weft_rwlock *rw, int64_t deadline)
{
    return wrlock(rw, deadline, false);
}

int weft_rwlock_trywrlock(weft_rwlock *rw)
{
    return wrlock(rw, 0, true);
}
