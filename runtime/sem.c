/*
 * sem.c - weft_sem, a counting semaphore with an optional bound (Python's
 * Semaphore and BoundedSemaphore). The blocking protocol is wait.c's;
 * sync.h has the shape all primitives share.
 *
 * State word: the count (low 32 bits) and WAITERS. acquire takes a unit
 * with one CAS while the count is positive; release adds one with one CAS
 * while nobody waits. A waiter sets WAITERS (CAS, under the spinlock) only
 * in the step that sees the count at 0, and is queued before the spinlock
 * is dropped; while WAITERS is set the count stays 0 (releases go to the
 * slow path), and a release hands its unit straight to the oldest waiter
 * still waiting, so a woken waiter owns its unit and never retries. A
 * waiter that leaves (deadline, cancel) was not claimed (wait.h), so no
 * unit was handed to it; the last one out clears WAITERS.
 *
 * Orderings: acquire's CAS is acquire and release's is release, so what a
 * releaser wrote before releasing is visible to whoever takes the unit; a
 * hand-off goes through wt_waiter_finish() (release) and the waiter's
 * wake-up (acquire), see wait.c.
 */
#include <errno.h>
#include <stddef.h>

#include "debug.h"
#include "sync.h"
#include "worker.h"

#define SEM_COUNT(s) ((uint32_t)(s))
#define SEM_WAITERS  ((uint64_t)1 << 32)

struct WT_SYNC_STRUCT sem {
    _Atomic uint64_t state; /* count | SEM_WAITERS; WEFT_SEM_INIT(n) writes n here */
    int64_t bound;          /* 0: none (only WEFT_SEM_MAX); set before the sem is shared */
    struct spinlock lock;   /* guards q, and setting/clearing WAITERS */
    struct wait_queue q;
};

static_assert(sizeof(struct sem) <= sizeof(weft_sem), "grow weft_sem.opaque_");
static_assert(alignof(struct sem) <= alignof(weft_sem), "weft_sem under-aligned");
static_assert(offsetof(struct sem, state) == 0 && offsetof(struct sem, bound) == 8,
              "WEFT_SEM_INIT writes opaque_[0] and opaque_[1]");

static inline struct sem *to_sem(weft_sem *s)
{
    return (struct sem *)(void *)s;
}

static inline uint32_t limit(const struct sem *s)
{
    return s->bound > 0 ? (uint32_t)s->bound : WEFT_SEM_MAX;
}

static int acquire_slow(struct sem *s, int64_t deadline)
{
    if (wt_deadline_passed(deadline))
        return -ETIMEDOUT;
    struct worker *w = wt_worker_self();
    struct wait wt;
    int r = wt_wait_begin(&wt, w, WAITK_SEM, s);
    if (r)
        return r;
    wt_spin_lock(&s->lock);
    uint64_t v = atomic_load_explicit(&s->state, memory_order_relaxed);
    for (;;) {
        if (SEM_COUNT(v)) {
            /* Acquire pairs with the release of the releaser. */
            if (atomic_compare_exchange_weak_explicit(&s->state, &v, v - 1, memory_order_acquire,
                                                      memory_order_relaxed)) {
                wt_spin_unlock(&s->lock);
                wt_wait_lapse(&wt, &w);
                return 0;
            }
        } else if (atomic_compare_exchange_weak_explicit(&s->state, &v, v | SEM_WAITERS,
                                                         memory_order_relaxed,
                                                         memory_order_relaxed)) {
            break;
        }
    }
    struct waiter n;
    wt_waiter_init(&n, &wt, NULL, 0);
    wt_wq_push(&s->q, &n);
    wt_spin_unlock(&s->lock);

    r = wt_wait_block(&wt, &w, deadline);
    if (r == 0)
        return 0; /* a release handed us its unit */
    wt_spin_lock(&s->lock);
    wt_wq_remove(&s->q, &n);
    if (wt_wq_empty(&s->q))
        atomic_fetch_and_explicit(&s->state, ~SEM_WAITERS, memory_order_relaxed);
    wt_spin_unlock(&s->lock);
    return r;
}

static int acquire(weft_sem *sm, int64_t deadline, bool try)
{
    if (WT_UNLIKELY(!sm || !wt_deadline_ok(deadline)))
        return -EINVAL;
    struct sem *s = to_sem(sm);
    uint64_t v = atomic_load_explicit(&s->state, memory_order_relaxed);
    while (SEM_COUNT(v)) {
        /* Acquire pairs with the release of the releaser. */
        if (atomic_compare_exchange_weak_explicit(&s->state, &v, v - 1, memory_order_acquire,
                                                  memory_order_relaxed))
            return 0;
    }
    return try ? -EAGAIN : acquire_slow(s, deadline);
}

/* Release with WAITERS set: hand the unit to the oldest waiter. */
static int release_slow(struct sem *s)
{
    wt_spin_lock(&s->lock);
    struct waiter *n = wt_wq_claim_first(&s->q);
    int r = 0;
    if (wt_wq_empty(&s->q)) {
        /* Every waiter left (or this was the last): the count takes the
         * unit unless a waiter did. Release pairs with acquirers. */
        uint64_t v = atomic_load_explicit(&s->state, memory_order_relaxed), nv;
        do {
            nv = v & ~SEM_WAITERS;
            if (!n) {
                if (SEM_COUNT(v) >= limit(s)) {
                    r = -EOVERFLOW;
                    break;
                }
                nv++;
            }
        } while (!atomic_compare_exchange_weak_explicit(&s->state, &v, nv, memory_order_release,
                                                        memory_order_relaxed));
    }
    wt_spin_unlock(&s->lock);
    if (n)
        wt_waiter_finish(n);
    return r;
}

int weft_sem_release(weft_sem *sm)
{
    if (WT_UNLIKELY(!sm))
        return -EINVAL;
    struct sem *s = to_sem(sm);
    uint64_t v = atomic_load_explicit(&s->state, memory_order_relaxed);
    do {
        if (v & SEM_WAITERS)
            return release_slow(s);
        if (SEM_COUNT(v) >= limit(s))
            return -EOVERFLOW;
        /* Release pairs with the acquire of whoever takes the unit. */
    } while (!atomic_compare_exchange_weak_explicit(&s->state, &v, v + 1, memory_order_release,
                                                    memory_order_relaxed));
    return 0;
}

int weft_sem_init(weft_sem *s, int count)
{
    if (!s || count < 0)
        return -EINVAL;
    *s = (weft_sem)WEFT_SEM_INIT(count);
    return 0;
}

int weft_sem_init_bounded(weft_sem *s, int count, int max)
{
    if (!s || max < 1 || count < 0 || count > max)
        return -EINVAL;
    *s = (weft_sem)WEFT_SEM_INIT_BOUNDED(count, max);
    return 0;
}

int weft_sem_destroy(weft_sem *s)
{
    if (!s)
        return -EINVAL;
    uint64_t v = atomic_load_explicit(&to_sem(s)->state, memory_order_relaxed);
    return (v & SEM_WAITERS) ? -EBUSY : 0;
}

int weft_sem_acquire(weft_sem *s)
{
    return acquire(s, WEFT_FOREVER, false);
}

int weft_sem_acquire_until(weft_sem *s, int64_t deadline)
{
    return acquire(s, deadline, false);
}

int weft_sem_try_acquire(weft_sem *s)
{
    return acquire(s, 0, true);
}

int weft_sem_value(weft_sem *s)
{
    if (!s)
        return -EINVAL;
    return (int)SEM_COUNT(atomic_load_explicit(&to_sem(s)->state, memory_order_relaxed));
}
