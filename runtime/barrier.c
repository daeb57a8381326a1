/*
 * barrier.c - weft_barrier: n parties meet, the last to arrive lets the
 * others go and gets the "serial" return; then the next cycle starts. The
 * blocking protocol is wait.c's; sync.h has the shape all primitives share.
 *
 * All state is under the spinlock: the arrival count and the queue. The
 * party that makes the count reach n resets it to 0 and claims every
 * queued party in the same critical section, so parties of the next cycle
 * (which queue after that) are never woken by this one. A party whose
 * deadline passes, or that is cancelled, was not claimed (wait.h); under
 * the spinlock it is still queued, so it un-arrives and leaves. If it is
 * no longer queued the cycle completed as it gave up (wt_wq_claim_first
 * dropped it): it counted as arrived, so it returns 0 like the others.
 *
 * Orderings: every party's arrival passes through the spinlock (acquire
 * and release), and the serial party's wt_waiter_finish() releases to each
 * woken party (wait.c), so what any party wrote before arriving is visible
 * to all of them after the barrier.
 */
#include <errno.h>
#include <stddef.h>

#include "debug.h"
#include "sync.h"
#include "worker.h"

struct WT_SYNC_STRUCT barrier {
    uint64_t n;           /* parties per cycle; WEFT_BARRIER_INIT(n) writes it; 0: unset */
    struct spinlock lock; /* guards arrived and q */
    uint32_t arrived;     /* parties of this cycle waiting */
    struct wait_queue q;
};

static_assert(sizeof(struct barrier) <= sizeof(weft_barrier), "grow weft_barrier.opaque_");
static_assert(alignof(struct barrier) <= alignof(weft_barrier), "weft_barrier under-aligned");
static_assert(offsetof(struct barrier, n) == 0, "WEFT_BARRIER_INIT writes opaque_[0]");

static inline struct barrier *to_barrier(weft_barrier *b)
{
    return (struct barrier *)(void *)b;
}

int weft_barrier_wait_until(weft_barrier *bv, int64_t deadline)
{
    if (!bv || !wt_deadline_ok(deadline))
        return -EINVAL;
    struct barrier *b = to_barrier(bv);
    if (b->n == 0)
        return -EINVAL;
    bool past = wt_deadline_passed(deadline);
    struct worker *w = wt_worker_self();
    struct wait wt;
    struct waiter n;
    wt_spin_lock(&b->lock);
    if (b->arrived + 1 == b->n) {
        struct wake_list wl = {0};
        b->arrived = 0;
        wt_wake_list_claim_all(&wl, &b->q, 0);
        wt_spin_unlock(&b->lock);
        wt_wake_list_finish(&wl);
        return 1;
    }
    int r = past ? -ETIMEDOUT : wt_wait_begin(&wt, w, WAITK_BARRIER, b);
    if (r) {
        wt_spin_unlock(&b->lock);
        return r;
    }
    b->arrived++;
    wt_waiter_init(&n, &wt, NULL, 0);
    wt_wq_push(&b->q, &n);
    wt_spin_unlock(&b->lock);

    r = wt_wait_block(&wt, &w, deadline);
    if (r == 0)
        return 0;
    wt_spin_lock(&b->lock);
    if (n.queued) {
        wt_wq_remove(&b->q, &n);
        b->arrived--;
    } else {
        r = 0; /* the cycle completed as we gave up: we counted */
    }
    wt_spin_unlock(&b->lock);
    return r;
}

int weft_barrier_wait(weft_barrier *b)
{
    return weft_barrier_wait_until(b, WEFT_FOREVER);
}

int weft_barrier_init(weft_barrier *b, unsigned n)
{
    if (!b || n == 0)
        return -EINVAL;
    *b = (weft_barrier)WEFT_BARRIER_INIT(n);
    return 0;
}

int weft_barrier_destroy(weft_barrier *bv)
{
    if (!bv)
        return -EINVAL;
    struct barrier *b = to_barrier(bv);
    wt_spin_lock(&b->lock);
    bool busy = b->arrived != 0;
    wt_spin_unlock(&b->lock);
    return busy ? -EBUSY : 0;
}
