/*
 * select.c - weft_select: complete one of many channel operations, chosen
 * uniformly at random among the ready ones, or wait on all of them at once.
 * The channel steps it takes are chan.c's (chan.h).
 *
 * Protocol (Go's selectgo, on wait.h's claim word instead of Go's
 * selectDone flag and sudog lock dance):
 *
 *  1. Resolve every case's handle; shuffle the cases into a random poll
 *     order; sort the distinct channels by address: the lock order.
 *  2. Lock every channel in that order and check every handle's
 *     generation (a stale case is -EBADF before anything happens).
 *  3. Poll: the first case in poll order that can complete now does so,
 *     with the same locked step a send or receive takes. The first ready
 *     case of a uniformly random permutation is uniform among the ready
 *     cases, so this is the fair choice. Unlock; done.
 *  4. Nothing ready: a deadline of 0 (Go's default) gives -EAGAIN, a past
 *     one -ETIMEDOUT. Otherwise begin ONE wait and queue one waiter per
 *     case, all pointing at it (token: the case index), while every lock
 *     is still held, so no waker sees half a select. Unlock, block.
 *  5. Whoever claims the wait first - a waker on any of the channels,
 *     close, the timer, a canceller - wins alone; a waker writes the case
 *     index and its outcome into the struct chan_wait. Wakers on the other
 *     channels fail the claim and drop those waiters.
 *  6. Woken, remove every waiter still queued, one channel lock at a time
 *     (the others are never held together again), then report.
 *
 * Why lock everything in step 2 instead of polling channel by channel?
 * Polling one at a time would let a case complete on channel B after a
 * waiter queued on channel A was already claimed (and its element
 * delivered), completing two cases. Holding all the locks makes "poll,
 * then queue" one atomic step for every waker; address order makes two
 * selects over the same channels unable to deadlock. A select never
 * pairs with itself: its waiters are queued only after polling, and a
 * queued waiter is matched only by an active operation.
 *
 * Per-case state lives on the caller's stack up to SELECT_STACK_CASES
 * cases; a bigger select allocates it once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "chan.h"
#include "debug.h"
#include "detsched.h"
#include "os.h"
#include "runtime.h"
#include "weft.h"
#include "worker.h"

enum { SELECT_STACK_CASES = 16 };

struct sel {
    struct chan *c; /* NULL: the nil channel */
    struct waiter n;
};

/* The calling thread's generator (splitmix64). Not inlined, and used only
 * before the select parks, so its thread-local address is never carried
 * across a switch (PLATFORM.md). */
static _Thread_local uint64_t rng_state;

__attribute__((noinline)) static uint32_t rng32(void)
{
    if (WT_UNLIKELY(wt_det_on()) && wt_worker_self())
        return wt_det_rand(); /* the deterministic schedule's generator */
    uint64_t x = rng_state;
    if (WT_UNLIKELY(x == 0))
        x = (uint64_t)(uintptr_t)&rng_state ^ (uint64_t)wt_os_now();
    x += 0x9e3779b97f4a7c15ull;
    rng_state = x;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return (uint32_t)((x ^ (x >> 31)) >> 32);
}

/* Uniform in [0, n), n <= 2^16: the bias of multiply-shift is below 2^-16. */
static inline uint32_t below(uint32_t n)
{
    return (uint32_t)(((uint64_t)rng32() * n) >> 32);
}

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (struct chan *const *)a, y = (uintptr_t) * (struct chan *const *)b;
    return (x > y) - (x < y);
}

/* Sort @locks[0..n) by address and drop duplicates; returns the count. */
static size_t lock_order(struct chan **locks, size_t n)
{
    if (n <= SELECT_STACK_CASES) {
        for (size_t i = 1; i < n; i++) {
            struct chan *c = locks[i];
            size_t j = i;
            for (; j > 0 && (uintptr_t)locks[j - 1] > (uintptr_t)c; j--)
                locks[j] = locks[j - 1];
            locks[j] = c;
        }
    } else {
        qsort(locks, n, sizeof *locks, by_address);
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || locks[m - 1] != locks[i])
            locks[m++] = locks[i];
    return m;
}

static void unlock_all(struct chan **locks, size_t n)
{
    for (size_t i = n; i-- > 0;)
        wt_chan_unlock(locks[i]);
}

static struct wait_queue *queue_of(struct chan *c, int op)
{
    return op == WEFT_SELECT_SEND ? &c->sendq : &c->recvq;
}

/* The select proper, once the arguments are checked and the per-case
 * arrays are at hand. @w is the calling worker or NULL. */
static int run(struct worker *w, weft_select_case *cases, size_t n, int64_t deadline,
               struct sel *sc, uint32_t *poll, struct chan **locks)
{
    size_t nlive = 0;
    for (size_t i = 0; i < n; i++) {
        sc[i].c = NULL;
        if (cases[i].ch.id == 0)
            continue;
        struct chan *c = wt_chan_lookup(cases[i].ch.id);
        if (!c)
            return -EBADF;
        sc[i].c = c;
        /* Inside-out Fisher-Yates over the live cases. */
        uint32_t j = below((uint32_t)nlive + 1);
        poll[nlive] = poll[j];
        poll[j] = (uint32_t)i;
        locks[nlive++] = c;
    }
    size_t nlocks = lock_order(locks, nlive);
    for (size_t i = 0; i < nlocks; i++)
        wt_chan_lock(locks[i]);
    int r = 0;
    for (size_t i = 0; i < n; i++) {
        struct chan *c = sc[i].c;
        if (!c)
            continue;
        if (!wt_handle_live(&c->h, cases[i].ch.id)) {
            r = -EBADF;
            break;
        }
        if (!cases[i].elem && c->elem_size) {
            r = -EINVAL;
            break;
        }
    }
    if (r) {
        unlock_all(locks, nlocks);
        return r;
    }

    /* 3. Poll in random order. */
    for (size_t k = 0; k < nlive; k++) {
        uint32_t i = poll[k];
        struct waiter *wake = NULL;
        struct chan *c = sc[i].c;
        r = cases[i].op == WEFT_SELECT_SEND ? wt_chan_send_locked(c, cases[i].elem, &wake)
                                            : wt_chan_recv_locked(c, cases[i].elem, &wake);
        if (r != -EAGAIN) {
            unlock_all(locks, nlocks);
            if (wake)
                wt_waiter_finish(wake);
            cases[i].result = r;
            return (int)i;
        }
    }

    /* 4. Nothing ready. */
    if (deadline == 0) {
        unlock_all(locks, nlocks);
        return -EAGAIN;
    }
    if (deadline > 0 && deadline <= wt_now()) {
        unlock_all(locks, nlocks);
        return -ETIMEDOUT;
    }
    struct chan_wait cw;
    r = wt_wait_begin(&cw.wt, w, WAITK_SELECT, nlocks ? locks[0] : NULL);
    if (r) {
        unlock_all(locks, nlocks);
        return r;
    }
    cw.fired = -1;
    cw.result = 0;
    for (size_t i = 0; i < n; i++) {
        if (!sc[i].c)
            continue;
        wt_waiter_init(&sc[i].n, &cw.wt, cases[i].elem, (int)i);
        wt_wq_push(queue_of(sc[i].c, cases[i].op), &sc[i].n);
    }
    unlock_all(locks, nlocks);
    r = wt_wait_block(&cw.wt, w ? &w : NULL, deadline);

    /* 6. Leave every queue; the fired waiter was unqueued by its waker.
     * The channels are still allocated: a queued waiter keeps its channel
     * from being freed, and an unqueued one is not touched. */
    for (size_t i = 0; i < n; i++) {
        struct chan *c = sc[i].c;
        if (!c || (r == 0 && (int)i == cw.fired))
            continue;
        wt_chan_lock(c);
        wt_wq_remove(queue_of(c, cases[i].op), &sc[i].n);
        wt_chan_unlock(c);
    }
    if (r)
        return r;
    WT_ASSERT(cw.fired >= 0 && (size_t)cw.fired < n);
    cases[cw.fired].result = cw.result;
    return cw.fired;
}

int weft_select(weft_select_case *cases, size_t n, int64_t deadline)
{
    if ((!cases && n) || n > WEFT_SELECT_MAX || deadline < WEFT_FOREVER)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (cases[i].op != WEFT_SELECT_SEND && cases[i].op != WEFT_SELECT_RECV)
            return -EINVAL;
    struct worker *w = wt_worker_self();
    bool foreign = !w;
    if (foreign && wt_foreign_enter() != 0)
        return -ECANCELED;
    struct sel sc_stack[SELECT_STACK_CASES];
    uint32_t poll_stack[SELECT_STACK_CASES];
    struct chan *locks_stack[SELECT_STACK_CASES];
    struct sel *sc = sc_stack;
    uint32_t *poll = poll_stack;
    struct chan **locks = locks_stack;
    void *heap = NULL;
    int r;
    if (n > SELECT_STACK_CASES) {
        heap = wt_alloc(n * (sizeof *sc + sizeof *poll + sizeof *locks));
        if (!heap) {
            r = -ENOMEM;
            goto out;
        }
        sc = heap;
        locks = (struct chan **)(sc + n);
        poll = (uint32_t *)(locks + n);
    }
    r = run(w, cases, n, deadline, sc, poll, locks);
    wt_free(heap);
out:
    if (foreign)
        wt_foreign_leave();
    return r;
}
