/*
 * wait.h - blocking on anything: the one protocol every weft primitive
 * (mutex, channel, select, fd readiness, sleep) parks with, for a fiber or a
 * plain thread alike, with a deadline and cancellation.
 *
 * Vocabulary. A *wait* is one blocking operation of one context (a fiber,
 * or a plain thread): struct wait, on the caller's stack. It owns one or
 * more *waiters* (struct waiter), one per queue it waits on (select waits
 * on many channels at once); each sits in a primitive's wait_queue, under
 * that primitive's lock. Whoever ends the wait *claims* it first (one CAS on
 * its claim word, so exactly one of: a waker, the timer, a canceller, the
 * deadline check), then may hand data over through the waiter it found, and
 * then *finishes* it (readies the fiber or wakes the thread).
 *
 * Claim word (64 bits): sequence number of the wait (high 48 bits, never
 * reused, so a stale timer entry or canceller cannot claim a later wait)
 * and the WAIT_* bits below. For a fiber the word is fiber->wait (stable
 * memory: fiber structs are never freed while the runtime runs); for a
 * plain thread it is in struct wait.
 *
 *   begin:  word = seq | WAITING                    (the waiting context)
 *   claim:  CAS seq|WAITING.. -> ..|CLAIMED|reason  (exactly one winner)
 *   finish: fetch_or DONE; if PARKED was set, ready the fiber
 *           (a waker whose claim CAS already saw PARKED readies it
 *           without the fetch_or: wt_waiter_finish_from)
 *   commit: fetch_or PARKED after the switch;       (park after-action)
 *           if DONE was set, ready it at once
 *
 * The fiber runs again only when both DONE and PARKED are set, by whichever
 * side set the second: so a winner can claim before the fiber has even
 * switched out, and hand data over between claim and finish, and the fiber
 * never runs on a half-saved stack nor sees half-written data.
 *
 * Lifetimes. A waiter lives on the waiting context's stack, so a waker may
 * touch it only (a) under the lock of the queue that holds it, or (b) after
 * it won the claim and before it finishes (the owner cannot return before
 * DONE). After finish, never. The owner, once woken, removes its waiters
 * from every queue still holding them (wt_wq_remove under each lock).
 */
#ifndef WT_WAIT_H
#define WT_WAIT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fiber;
struct worker;

enum {
    WAIT_WAITING = 1u << 0, /* a wait is in progress with this sequence */
    WAIT_CLAIMED = 1u << 1, /* someone won it; the reason is in WAIT_REASON */
    WAIT_DONE = 1u << 2,    /* the winner has finished handing over */
    WAIT_PARKED = 1u << 3,  /* the fiber has switched out (fibers only) */
    WAIT_REASON_SHIFT = 4,  /* 2 bits: enum wait_reason */
    WAIT_SEQ_SHIFT = 16,
};

/* Why a wait ended; wt_wait_block() maps it to 0, -ETIMEDOUT, -ECANCELED,
 * -ENOMEM. */
enum wait_reason {
    WAIT_WOKEN = 0,    /* a waker claimed it (data, if any, is in the waiter) */
    WAIT_TIMEDOUT = 1, /* the deadline passed */
    WAIT_CANCELED = 2, /* weft_cancel() or a group's cancel */
    WAIT_NOMEM = 3,    /* the deadline's timer could not be queued */
};

/* What a fiber or plain thread is blocked on, for dumps and the deadlock
 * detector. */
enum wait_kind {
    WAITK_NONE = 0,
    WAITK_SLEEP,
    WAITK_MUTEX,
    WAITK_RWLOCK,
    WAITK_COND,
    WAITK_SEM,
    WAITK_WAITGROUP,
    WAITK_ONCE,
    WAITK_BARRIER,
    WAITK_EVENT,
    WAITK_CHAN_SEND,
    WAITK_CHAN_RECV,
    WAITK_SELECT,
    WAITK_GROUP,
    WAITK_FD,
    WAITK_OFFLOAD,
    WAITK_SIGNAL,
    WAITK_JOIN, /* weft_join (fiber.c); not a struct wait of this protocol */
};

struct wait {
    struct fiber *f;        /* the waiting fiber; NULL: a plain thread */
    _Atomic uint64_t *word; /* &f->wait, or &own below */
    uint64_t key;           /* seq | WAITING, as begun */
    _Atomic uint64_t own;   /* claim word of a plain thread */
    _Atomic uint32_t done;  /* a plain thread's futex word: 1 once finished */
    enum wait_kind kind;
    const void *obj;            /* the primitive waited on (first one for select) */
    int64_t deadline;           /* set by wt_wait_block: WEFT_FOREVER or absolute ns */
    struct worker *w;           /* the worker it parked on, for the park commit */
    struct wait *pprev, *pnext; /* a plain thread's, while blocked: see below */
};

struct waiter {
    struct waiter *prev, *next; /* in a wait_queue, under its lock */
    struct wait *wait;
    void *data; /* the primitive's payload (element buffer, rw mode...) */
    int token;  /* the primitive's: select case index, a result code */
    bool queued;
    bool parked; /* set by wt_waiter_claim(): the fiber had parked already */
};

/* FIFO of waiters; guarded by the lock of the primitive that holds it. */
struct wait_queue {
    struct waiter *head, *tail;
};

#define WT_WAIT_QUEUE_INIT \
    {                      \
        NULL, NULL         \
    }

/*
 * Begin a wait of the calling context: a fiber if @w (wt_worker_self()) has
 * a current fiber, else a plain thread. @kind and @obj are for dumps.
 * Returns 0, or -ECANCELED if the calling fiber is cancelled (then nothing
 * was begun and the caller must not block). Cheap: no system call.
 */
int wt_wait_begin(struct wait *wt, struct worker *w, enum wait_kind kind, const void *obj);
/* Every wait begun with 0 must end in wt_wait_block(), also one that turns
 * out not to be needed (the object became free): a deadline of 0 ends it at
 * once, or waits for whoever claimed it meanwhile (a canceller) to finish,
 * so that no late DONE lands on the next wait. */

/* Point @n at @wt, with the primitive's payload. Does not queue it. */
static inline void wt_waiter_init(struct waiter *n, struct wait *wt, void *data, int token)
{
    n->prev = n->next = NULL;
    n->wait = wt;
    n->data = data;
    n->token = token;
    n->queued = false;
    n->parked = false;
}

/*
 * Block until the wait is claimed and finished, or @deadline (absolute
 * monotonic ns; WEFT_FOREVER = -1: none) passes. Call with no lock held,
 * after queueing the waiters. A deadline already past claims the wait for
 * the timeout at once unless someone else has claimed it. Returns 0 (woken),
 * -ETIMEDOUT, -ECANCELED or -ENOMEM (no room for the timer); *@w is updated to the worker the fiber
 * resumed on (pass NULL when not a fiber). Afterwards the caller removes its waiters from their
 * queues (wt_wq_remove) before returning to its caller.
 */
int wt_wait_block(struct wait *wt, struct worker **w, int64_t deadline);

/* Claim the wait of @n for WAIT_WOKEN. Call under the lock of the queue
 * holding @n (or with @n otherwise known to be valid). True if we won: then
 * hand data over through @n and call wt_waiter_finish(). */
bool wt_waiter_claim(struct waiter *n);

/* Finish a wait we claimed: ready its fiber (on the calling worker, or
 * through the global queue from a plain thread) or wake its thread. @n must
 * not be touched afterwards. May be called with or without the lock. */
void wt_waiter_finish(struct waiter *n);
/* The same, when the caller knows its worker @w (wt_worker_self() since its
 * last switch; NULL on a plain thread): saves the thread-local lookup. */
void wt_waiter_finish_from(struct waiter *n, struct worker *w);

/* Queue operations; the caller holds the queue's lock. */
void wt_wq_push(struct wait_queue *q, struct waiter *n);
void wt_wq_remove(struct wait_queue *q, struct waiter *n); /* no-op if !n->queued */
static inline bool wt_wq_empty(const struct wait_queue *q)
{
    return q->head == NULL;
}
/* Unqueue waiters from the head until one is claimed for WAIT_WOKEN; those
 * whose wait already ended otherwise are dropped. Returns the claimed one
 * (the caller then hands over and finishes it) or NULL if none is left. */
struct waiter *wt_wq_claim_first(struct wait_queue *q);

/*
 * Cancellation: mark fiber @f cancelled (sticky: every later blocking call
 * of it returns -ECANCELED at once) and end its current wait, if any, with
 * WAIT_CANCELED. @gen is the generation the caller's handle names; returns
 * 0, or -ESRCH if @f is no longer that fiber (it ended).
 */
int wt_wait_cancel(struct fiber *f, uint32_t gen);

/* weft_shutdown: end every plain thread's blocked wait with WAIT_CANCELED
 * (the calls return -ECANCELED). The workers are stopped. */
void wt_wait_cancel_plain_all(void);

/* Has the calling fiber been cancelled? (false on a plain thread) */
bool wt_wait_cancelled(struct worker *w);

/* Timers. A worker's timers (timer.h) hold (deadline, fiber, key) entries; one is
 * pushed when a fiber parks with a deadline, and firing it claims the wait
 * with WAIT_TIMEDOUT if its key still matches (else the entry is stale and
 * dropped). Run by the owner worker only. True if it ended the wait. */
bool wt_wait_fire_timer(struct worker *w, struct fiber *f, uint64_t key);

/* Is @key still the undecided wait of @f? (A timer entry is stale if not.) */
bool wt_wait_is_current(const struct fiber *f, uint64_t key);

#endif /* WT_WAIT_H */
