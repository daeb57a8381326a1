/*
 * waitgroup.c - weft_waitgroup, Go's sync.WaitGroup with deadlines. The
 * blocking protocol is wait.c's; sync.h has the shape all primitives share.
 *
 * State word: the counter (low 32 bits, 0..INT32_MAX) and WAITERS. add is
 * one CAS unless it brings the counter to 0 with WAITERS set; then, under
 * the spinlock, the same CAS also clears WAITERS and every queued waiter
 * is claimed. A waiter sets WAITERS (CAS, under the spinlock) only in the
 * step that sees the counter above 0 and is queued before the spinlock is
 * dropped, so every waiter in the queue when the counter reaches 0 was
 * waiting for that zero: a waiter that comes after the counter went up
 * again is not woken by an old zero.
 *
 * Orderings: add's CAS is release and the waiters' loads of a 0 counter
 * are acquire (the CASes of successive adds form a release sequence), so
 * what every task wrote before its done is visible to whoever saw 0;
 * woken waiters get it through wt_waiter_finish() (wait.c).
 */
#include <errno.h>

#include "debug.h"
#include "sync.h"
#include "worker.h"

#define WG_COUNT(s) ((int64_t)(uint32_t)(s))
#define WG_WAITERS  ((uint64_t)1 << 32)

struct WT_SYNC_STRUCT waitgroup {
    _Atomic uint64_t state; /* counter | WG_WAITERS */
    struct spinlock lock;   /* guards q, and setting/clearing WAITERS */
    struct wait_queue q;
};

static_assert(sizeof(struct waitgroup) <= sizeof(weft_waitgroup), "grow weft_waitgroup.opaque_");
static_assert(alignof(struct waitgroup) <= alignof(weft_waitgroup), "weft_waitgroup under-aligned");

static inline struct waitgroup *to_wg(weft_waitgroup *wg)
{
    return (struct waitgroup *)(void *)wg;
}

/* The new state for adding @delta to @v, or an error. */
static int added(uint64_t v, int delta, uint64_t *nv)
{
    int64_t c = WG_COUNT(v) + delta;
    if (c < 0)
        return -EINVAL;
    if (c > INT32_MAX)
        return -EOVERFLOW;
    *nv = (v & WG_WAITERS) | (uint64_t)c;
    return 0;
}

/* add that may reach 0 with waiters: under the spinlock. */
static int add_slow(struct waitgroup *g, int delta)
{
    struct wake_list wl = {0};
    wt_spin_lock(&g->lock);
    uint64_t v = atomic_load_explicit(&g->state, memory_order_relaxed), nv;
    int r;
    do {
        r = added(v, delta, &nv);
        if (r)
            break;
        if (WG_COUNT(nv) == 0)
            nv = 0; /* clear WAITERS: we wake them all below */
        /* Release: see the head comment. Acquire too: the waiters we wake
         * learn through our wt_waiter_finish what every earlier done
         * published, so we must have it (their release CASes head the
         * release sequence this RMW reads from). */
    } while (!atomic_compare_exchange_weak_explicit(&g->state, &v, nv, memory_order_acq_rel,
                                                    memory_order_relaxed));
    if (!r && nv == 0)
        wt_wake_list_claim_all(&wl, &g->q, 0);
    wt_spin_unlock(&g->lock);
    wt_wake_list_finish(&wl);
    return r;
}

int weft_waitgroup_add(weft_waitgroup *wg, int delta)
{
    if (WT_UNLIKELY(!wg))
        return -EINVAL;
    struct waitgroup *g = to_wg(wg);
    uint64_t v = atomic_load_explicit(&g->state, memory_order_relaxed), nv;
    do {
        int r = added(v, delta, &nv);
        if (r)
            return r;
        if (nv == WG_WAITERS)
            return add_slow(g, delta);
        /* Release: see the head comment. */
    } while (!atomic_compare_exchange_weak_explicit(&g->state, &v, nv, memory_order_release,
                                                    memory_order_relaxed));
    return 0;
}

int weft_waitgroup_done(weft_waitgroup *wg)
{
    return weft_waitgroup_add(wg, -1);
}

int weft_waitgroup_wait_until(weft_waitgroup *wg, int64_t deadline)
{
    if (WT_UNLIKELY(!wg || !wt_deadline_ok(deadline)))
        return -EINVAL;
    struct waitgroup *g = to_wg(wg);
    /* Acquire: see the head comment. */
    if (WG_COUNT(atomic_load_explicit(&g->state, memory_order_acquire)) == 0)
        return 0;
    if (wt_deadline_passed(deadline))
        return -ETIMEDOUT;
    struct worker *w = wt_worker_self();
    struct wait wt;
    int r = wt_wait_begin(&wt, w, WAITK_WAITGROUP, g);
    if (r)
        return r;
    wt_spin_lock(&g->lock);
    uint64_t v = atomic_load_explicit(&g->state, memory_order_acquire);
    do {
        if (WG_COUNT(v) == 0) {
            wt_spin_unlock(&g->lock);
            wt_wait_lapse(&wt, &w);
            return 0;
        }
    } while (!atomic_compare_exchange_weak_explicit(&g->state, &v, v | WG_WAITERS,
                                                    memory_order_acquire, memory_order_acquire));
    struct waiter n;
    wt_waiter_init(&n, &wt, NULL, 0);
    wt_wq_push(&g->q, &n);
    wt_spin_unlock(&g->lock);

    r = wt_wait_block(&wt, &w, deadline);
    if (r == 0)
        return 0;
    wt_spin_lock(&g->lock);
    if (n.queued) {
        wt_wq_remove(&g->q, &n);
        if (wt_wq_empty(&g->q))
            atomic_fetch_and_explicit(&g->state, ~WG_WAITERS, memory_order_relaxed);
    } else {
        r = 0; /* dropped by the add that reached 0 as we gave up: it did */
    }
    wt_spin_unlock(&g->lock);
    return r;
}

int weft_waitgroup_wait(weft_waitgroup *wg)
{
    return weft_waitgroup_wait_until(wg, WEFT_FOREVER);
}

int weft_waitgroup_init(weft_waitgroup *wg)
{
    if (!wg)
        return -EINVAL;
    *wg = (weft_waitgroup)WEFT_WAITGROUP_INIT;
    return 0;
}

int weft_waitgroup_destroy(weft_waitgroup *wg)
{
    if (!wg)
        return -EINVAL;
    return atomic_load_explicit(&to_wg(wg)->state, memory_order_relaxed) ? -EBUSY : 0;
}
