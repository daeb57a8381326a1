/*
 * wait.c - the blocking protocol of wait.h: begin, claim, finish, the park
 * commit, deadlines through the worker's timers, and cancellation.
 *
 * Why a claim word and not a lock held across the switch (Go's gopark with
 * an unlock function)? Three kinds of party end a wait - a waker holding the
 * primitive's lock, the timer of whatever worker the fiber parked on, and a
 * canceller that knows only the fiber - and select parks on many primitives
 * at once. One CAS on one word per wait elects the single winner among all
 * of them without any of them taking another's lock; the DONE/PARKED pair
 * then makes readying safe whichever side comes second.
 *
 * Ordering. claim is an acq_rel CAS; no data rides on it. finish's acq_rel
 * fetch_or(DONE) releases what the winner handed over (the waiter's data)
 * and, when it sees PARKED, acquires the fiber's saved context published by
 * the commit's acq_rel fetch_or(PARKED); symmetrically the commit acquires
 * the handover when it sees DONE. The fiber itself reads its result only
 * after being readied through a queue (or by its own commit), both ordered
 * after those RMWs. A waker whose claim CAS already read PARKED (acquiring
 * the saved context from the commit's RMW, as finish would) skips the
 * fetch_or: the commit has decided to stay parked and only the claimer can
 * ready the fiber, so it readies it directly, and the readying queue (the
 * waker's own runnext, a deque's release/acquire, the global queue's lock)
 * carries the handover. A plain thread's finish is a release store of `done`,
 * paired with the acquire load in block_thread().
 *
 * Cancellation is a Dekker pair between the park commit, which sets PARKED
 * (seq_cst RMW) and then loads the fiber's CANCELLED flag (seq_cst), and the
 * canceller, which sets the flag (seq_cst RMW) and then loads the claim word
 * (seq_cst). One of them sees the other: either the commit ends the wait
 * as cancelled or the canceller claims it. wt_wait_begin only stores the key
 * (relaxed) and takes a cheap look at the flag, so that a wait costs no
 * full barrier of its own: the commit's RMW is needed anyway. A plain
 * thread cannot be cancelled (only shutdown ends its waits).
 *
 * tests/model/wait.pml checks this protocol with spin: a wait claimed by a
 * waker, a (possibly stale) timer or a canceller ends exactly once, readies
 * its fiber once and only when parked, and a cancel racing the park is not
 * lost.
 */
#include <errno.h>
#include <pthread.h>

#include "deadlock.h"
#include "debug.h"
#include "detsched.h"
#include "fiber.h"
#include "fiber_table.h"
#include "os.h"
#include "runtime.h"
#include "scheduler.h"
#include "wait.h"
#include "weft.h"
#include "worker.h"

static inline uint64_t reason_bits(enum wait_reason r)
{
    return (uint64_t)r << WAIT_REASON_SHIFT;
}

static int reason_code(uint64_t word)
{
    switch ((word >> WAIT_REASON_SHIFT) & 3u) {
    case WAIT_WOKEN:
        return 0;
    case WAIT_TIMEDOUT:
        return -ETIMEDOUT;
    case WAIT_CANCELED:
        return -ECANCELED;
    default:
        return -ENOMEM;
    }
}

/* Win the wait whose key is @key for @reason, if it is still undecided;
 * *@old gets the word the CAS replaced (PARKED or not). */
static bool claim_word_old(_Atomic uint64_t *word, uint64_t key, enum wait_reason reason,
                           uint64_t *old)
{
    uint64_t v = atomic_load_explicit(word, memory_order_relaxed);
    while ((v & ~(uint64_t)WAIT_PARKED) == key) {
        if (atomic_compare_exchange_weak_explicit(word, &v, v | WAIT_CLAIMED | reason_bits(reason),
                                                  memory_order_acq_rel, memory_order_relaxed)) {
            *old = v;
            return true;
        }
    }
    return false;
}

static bool claim_word(_Atomic uint64_t *word, uint64_t key, enum wait_reason reason)
{
    uint64_t old;
    return claim_word_old(word, key, reason, &old);
}

bool wt_wait_is_current(const struct fiber *f, uint64_t key)
{
    uint64_t v = atomic_load_explicit(&((struct fiber *)f)->wait, memory_order_relaxed);
    return (v & ~(uint64_t)WAIT_PARKED) == key;
}

/* Ready fiber @f from @w, the calling worker (NULL: a plain thread): its
 * runnext, or the global queue. */
static void ready_from(struct fiber *f, struct worker *w)
{
    if (w) {
        wt_sched_ready(w, f);
    } else {
        wt_deadlock_note_foreign();
        wt_stat_inc_shared(&wt_rt.shared_stats.wakeups);
        wt_sched_inject(&wt_rt, f);
    }
}

/* Finish a claimed fiber wait: the second of DONE and PARKED readies it. */
static void finish_fiber_from(struct fiber *f, struct worker *w)
{
    uint64_t old = atomic_fetch_or_explicit(&f->wait, WAIT_DONE, memory_order_acq_rel);
    if (old & WAIT_PARKED)
        ready_from(f, w);
}

static void finish_fiber(struct fiber *f)
{
    uint64_t old = atomic_fetch_or_explicit(&f->wait, WAIT_DONE, memory_order_acq_rel);
    if (old & WAIT_PARKED)
        ready_from(f, wt_worker_self());
}

int wt_wait_begin(struct wait *wt, struct worker *w, enum wait_kind kind, const void *obj)
{
    struct fiber *f = w ? w->current : NULL;
    wt->f = f;
    wt->kind = kind;
    wt->obj = obj;
    wt->deadline = WEFT_FOREVER;
    wt->w = w;
    if (!f) {
        wt_deadlock_note_foreign();
        wt->key = ((uint64_t)1 << WAIT_SEQ_SHIFT) | WAIT_WAITING;
        atomic_init(&wt->own, wt->key);
        atomic_init(&wt->done, 0);
        wt->word = &wt->own;
        return 0;
    }
    wt->word = &f->wait;
    /* Relaxed: between waits only we write the word (every CAS of another
     * party needs WAITING without CLAIMED, and the last wait is decided). */
    uint64_t old = atomic_load_explicit(&f->wait, memory_order_relaxed);
    wt->key = (((old >> WAIT_SEQ_SHIFT) + 1) << WAIT_SEQ_SHIFT) | WAIT_WAITING;
    /* Relaxed: a waker learns the key from the waiter, under the queue's
     * lock; a canceller that reads the previous key fails its claim, and
     * then the commit sees its flag (the Dekker pair, see commit()). */
    atomic_store_explicit(&f->wait, wt->key, memory_order_relaxed);
    /* The common case, cheaply: cancelled long ago. A cancel racing with
     * this wait is caught by the commit. */
    if (atomic_load_explicit(&f->sync, memory_order_relaxed) & FIBER_CANCELLED) {
        if (claim_word(&f->wait, wt->key, WAIT_CANCELED)) {
            atomic_fetch_or_explicit(&f->wait, WAIT_DONE, memory_order_relaxed);
            return -ECANCELED;
        }
    }
    return 0;
}

/* Park commit (runs on the worker's next context, after the switch). */
static bool commit(struct fiber *f, void *arg)
{
    struct wait *wt = arg;
    uint64_t key = wt->key;
    if (wt->deadline >= 0) /* room was reserved before parking */
        wt_timer_push(&wt->w->timers, wt->deadline, f, key);
    /* From here on wt may be gone (the fiber may run elsewhere at once).
     * seq_cst: with the load of sync below, one half of the cancel Dekker
     * pair; wt_wait_cancel's RMW of sync and load of this word is the other.
     * In their total order either the canceller reads PARKED (and our key)
     * and claims, or we read its CANCELLED flag. */
    uint64_t old = atomic_fetch_or_explicit(&f->wait, WAIT_PARKED, memory_order_seq_cst);
    if (old & WAIT_DONE)
        return false; /* ended before we parked: run again at once */
    if (!(old & WAIT_CLAIMED) &&
        (atomic_load_explicit(&f->sync, memory_order_seq_cst) & FIBER_CANCELLED) &&
        claim_word(&f->wait, key, WAIT_CANCELED)) {
        atomic_fetch_or_explicit(&f->wait, WAIT_DONE, memory_order_relaxed);
        return false;
    }
    return true;
}

static int block_thread_listed(struct wait *wt, int64_t deadline)
{
    for (;;) {
        /* Acquire pairs with the release store in wt_waiter_finish(). */
        if (atomic_load_explicit(&wt->done, memory_order_acquire))
            break;
        if (wt_os_wait(&wt->done, 0, deadline) == -ETIMEDOUT) {
            if (claim_word(&wt->own, wt->key, WAIT_TIMEDOUT))
                return -ETIMEDOUT;
            deadline = WEFT_FOREVER; /* someone won: they finish soon */
        }
    }
    return reason_code(atomic_load_explicit(&wt->own, memory_order_relaxed));
}

/* Plain threads blocked in a wait, so that weft_shutdown can end them:
 * linked and unlinked under plain_lock by the thread itself. */
static pthread_mutex_t plain_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wait *plain_head;

static void plain_link(struct wait *wt)
{
    pthread_mutex_lock(&plain_lock);
    wt->pprev = NULL;
    wt->pnext = plain_head;
    if (plain_head)
        plain_head->pprev = wt;
    plain_head = wt;
    pthread_mutex_unlock(&plain_lock);
}

static void plain_unlink(struct wait *wt)
{
    pthread_mutex_lock(&plain_lock);
    if (wt->pprev)
        wt->pprev->pnext = wt->pnext;
    else
        plain_head = wt->pnext;
    if (wt->pnext)
        wt->pnext->pprev = wt->pprev;
    pthread_mutex_unlock(&plain_lock);
}

void wt_wait_cancel_plain_all(void)
{
    pthread_mutex_lock(&plain_lock);
    /* A listed thread cannot return (nor unlink) before we finish its wait
     * and drop the lock, so its struct wait is valid here. */
    for (struct wait *wt = plain_head; wt; wt = wt->pnext) {
        if (claim_word(&wt->own, wt->key, WAIT_CANCELED)) {
            atomic_fetch_or_explicit(&wt->own, WAIT_DONE, memory_order_relaxed);
            /* Release pairs with the acquire load in block_thread(). */
            atomic_store_explicit(&wt->done, 1, memory_order_release);
            wt_os_wake(&wt->done, 1);
        }
    }
    pthread_mutex_unlock(&plain_lock);
}

static int block_thread(struct wait *wt, int64_t deadline)
{
    plain_link(wt);
    int r = block_thread_listed(wt, deadline);
    plain_unlink(wt);
    return r;
}

int wt_wait_block(struct wait *wt, struct worker **wp, int64_t deadline)
{
    if (!wt->f)
        return block_thread(wt, deadline);
    struct fiber *f = wt->f;
    struct worker *w = *wp;
    WT_ASSERT(w && w->current == f);
    if (WT_UNLIKELY(wt_det_on())) {
        wt_det_chaos_point(); /* widen the queue-to-park window (chaos) */
        w = *wp = wt_worker_self();
    }
    if (deadline >= 0) {
        enum wait_reason why = WAIT_TIMEDOUT;
        if (deadline > wt_now()) {
            if (wt_timer_reserve(&w->timers) == 0)
                wt->deadline = deadline;
            else
                why = WAIT_NOMEM;
        }
        if (wt->deadline < 0 && claim_word(&f->wait, wt->key, why)) {
            atomic_fetch_or_explicit(&f->wait, WAIT_DONE, memory_order_relaxed);
            return why == WAIT_TIMEDOUT ? -ETIMEDOUT : -ENOMEM;
        }
    }
    wt->w = w;
    atomic_store_explicit(&f->waiting, wt, memory_order_release); /* for dumps */
    /* Only another fiber can end a wait with no deadline on a primitive:
     * the deadlock check counts them (deadlock.c). */
    bool prone = wt->deadline < 0 && wt_kind_is_deadlock_prone(wt->kind);
    if (prone)
        wt_count(&w->blocked_delta, 1);
    w = wt_sched_park(w, commit, wt);
    if (prone)
        wt_count(&w->blocked_delta, -1);
    atomic_store_explicit(&f->waiting, NULL, memory_order_relaxed);
    *wp = w;
    /* Relaxed: we were readied after DONE (see the essay's ordering). */
    return reason_code(atomic_load_explicit(&f->wait, memory_order_relaxed));
}

bool wt_waiter_claim(struct waiter *n)
{
    uint64_t old;
    if (!claim_word_old(n->wait->word, n->wait->key, WAIT_WOKEN, &old))
        return false;
    n->parked = (old & WAIT_PARKED) != 0;
    return true;
}

void wt_waiter_finish(struct waiter *n)
{
    wt_waiter_finish_from(n, wt_worker_self());
}

void wt_waiter_finish_from(struct waiter *n, struct worker *w)
{
    struct wait *wt = n->wait;
    struct fiber *f = wt->f;
    if (f) {
        /* Claimed after its park commit: that commit saw no DONE and kept
         * the fiber parked, and no one else can claim it, so the claimer
         * alone readies it, and DONE (which only the commit reads) need not
         * be set: one atomic RMW less per hand-over (a channel's pingpong
         * does four). Ordering: what we wrote reaches the fiber through the
         * readying (the same worker, or its deque's release/acquire when
         * it is stolen, or the global queue's lock), as after the RMW. */
        if (n->parked)
            ready_from(f, w);
        else
            finish_fiber_from(f, w);
        return;
    }
    _Atomic uint32_t *done = &wt->done;
    atomic_fetch_or_explicit(&wt->own, WAIT_DONE, memory_order_relaxed);
    /* Release pairs with the acquire load in block_thread(). After it the
     * thread may return: the wake below only names the address. */
    atomic_store_explicit(done, 1, memory_order_release);
    wt_os_wake(done, 1);
}

void wt_wq_push(struct wait_queue *q, struct waiter *n)
{
    WT_ASSERT(!n->queued);
    n->next = NULL;
    n->prev = q->tail;
    if (q->tail)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
    n->queued = true;
}

void wt_wq_remove(struct wait_queue *q, struct waiter *n)
{
    if (!n->queued)
        return;
    if (n->prev)
        n->prev->next = n->next;
    else
        q->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        q->tail = n->prev;
    n->prev = n->next = NULL;
    n->queued = false;
}

struct waiter *wt_wq_claim_first(struct wait_queue *q)
{
    struct waiter *n;
    while ((n = q->head)) {
        wt_wq_remove(q, n);
        if (wt_waiter_claim(n))
            return n;
    }
    return NULL;
}

bool wt_wait_fire_timer(struct worker *w, struct fiber *f, uint64_t key)
{
    if (!claim_word(&f->wait, key, WAIT_TIMEDOUT))
        return false;
    /* PARKED is set: the entry was pushed by this worker's commit, which
     * set it before this worker could fire anything. */
    uint64_t old = atomic_fetch_or_explicit(&f->wait, WAIT_DONE, memory_order_acq_rel);
    WT_ASSERT(old & WAIT_PARKED);
    wt_sched_ready_timer(w, f);
    return true;
}

int wt_wait_cancel(struct fiber *f, uint32_t gen)
{
    uint64_t s = atomic_load_explicit(&f->sync, memory_order_acquire);
    do {
        if (FIBER_GEN(s) != gen || (s & FIBER_FREE))
            return -ESRCH;
        if (s & (FIBER_EXITED | FIBER_CANCELLED))
            return 0; /* nothing left to cancel, or done before */
    } while (!atomic_compare_exchange_weak_explicit(&f->sync, &s, s | FIBER_CANCELLED,
                                                    memory_order_seq_cst, memory_order_acquire));
    uint64_t v = atomic_load_explicit(&f->wait, memory_order_seq_cst);
    if (!(v & WAIT_WAITING) || (v & WAIT_CLAIMED))
        return 0; /* running: its next wait sees the flag */
    /* The key we read is this fiber's, not a later one's, if the struct was
     * not recycled in between: the seq_cst load of the key happens after
     * the key's store, which follows any recycling (generation bump). */
    if (FIBER_GEN(atomic_load_explicit(&f->sync, memory_order_seq_cst)) != gen)
        return 0;
    if (claim_word(&f->wait, v & ~(uint64_t)WAIT_PARKED, WAIT_CANCELED))
        finish_fiber(f);
    return 0;
}

bool wt_wait_cancelled(struct worker *w)
{
    return w && w->current &&
           (atomic_load_explicit(&w->current->sync, memory_order_relaxed) & FIBER_CANCELLED);
}

/* The public face of cancellation. */

int weft_cancel(weft_fiber h)
{
    struct worker *w = wt_worker_self();
    if (!w && wt_foreign_enter() != 0)
        return -ECANCELED;
    if (!w)
        wt_deadlock_note_foreign();
    struct fiber *f = wt_fiber_lookup(wt_rt.ft, h.id);
    uint32_t gen = (uint32_t)(h.id >> 32);
    int r = -EBADF;
    if (f) {
        uint32_t cur = FIBER_GEN(atomic_load_explicit(&f->sync, memory_order_acquire));
        r = gen == 0 || gen > cur ? -EBADF : wt_wait_cancel(f, gen);
    }
    if (!w)
        wt_foreign_leave();
    return r;
}

bool weft_cancelled(void)
{
    return wt_wait_cancelled(wt_worker_self());
}
