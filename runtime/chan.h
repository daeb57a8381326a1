/*
 * chan.h - struct chan and the locked steps that chan.c's operations and
 * select.c share. The design (ring, waiter queues, direct hand-off, close)
 * is told at the head of chan.c; select's protocol at the head of select.c.
 */
#ifndef WT_CHAN_H
#define WT_CHAN_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "debug.h"
#include "handle.h"
#include "spinlock.h"
#include "wait.h"

/*
 * One channel: exactly one cache line, in a slot of the channel table
 * (never freed, so a stale handle still leads here; handle.h). Everything
 * below the header is guarded by @lock; the handle's generation is written
 * under it too.
 *
 * Invariants (under the lock): count <= cap; a sender waits only when the
 * buffer is full (for cap 0: always) and a receiver only when it is empty,
 * so at most one of the queues holds live waiters, and closed => no live
 * waiter in either queue.
 */
struct chan {
    struct handle h; /* first: the table's header */
    struct spinlock lock;
    bool closed;
    uint16_t elem_size;
    uint32_t cap;   /* ring slots; 0: unbuffered */
    uint32_t count; /* elements in the ring */
    uint32_t head;  /* ring index of the oldest element */
    unsigned char *buf;
    struct wait_queue recvq; /* waiter->data: where the element goes */
    struct wait_queue sendq; /* waiter->data: the element to take */
} __attribute__((aligned(64)));

/*
 * A channel operation's wait: the wait.h wait plus what a waker tells the
 * owner. A waker that claimed one of its waiters writes @fired (the
 * waiter's token: the select case, or 0) and @result before it finishes
 * the wait, which orders both before the owner's return from
 * wt_wait_block().
 */
struct chan_wait {
    struct wait wt;
    int fired;
    int result; /* 0: the element moved; -EPIPE: the channel was closed */
};

extern struct handle_table wt_chan_table;

/* The contended path of wt_chan_lock(), with backoff (chan.c). */
void wt_chan_lock_slow(struct spinlock *l);

/*
 * A channel's lock: spinlock.h's lock word, taken with one exchange when
 * free and with exponential backoff when not (chan.c tells why). Released
 * with wt_spin_unlock().
 */
static inline void wt_chan_lock(struct chan *c)
{
    /* Acquire pairs with the release in wt_spin_unlock(). */
    if (WT_LIKELY(!atomic_exchange_explicit(&c->lock.held, true, memory_order_acquire)))
        return;
    wt_chan_lock_slow(&c->lock);
}

static inline void wt_chan_unlock(struct chan *c)
{
    wt_spin_unlock(&c->lock);
}

/* The channel @id points into (its generation still to be checked under
 * its lock with wt_handle_live()), or NULL if it cannot name one. */
static inline struct chan *wt_chan_lookup(uint64_t id)
{
    return wt_handle_lookup_sized(&wt_chan_table, id, sizeof(struct chan));
}

/*
 * Send *@elem on @c if that needs no waiting. Returns 0 (sent: buffered, or
 * copied into a claimed receiver, which is then in *@wake and must be
 * passed to wt_waiter_finish() once the lock is dropped), -EPIPE (closed)
 * or -EAGAIN (would wait). Caller holds c->lock.
 */
int wt_chan_send_locked(struct chan *c, const void *elem, struct waiter **wake);

/* Receive into @elem, the same way: 0 (*@wake may be a claimed sender to
 * finish), -EPIPE (closed and drained) or -EAGAIN. Caller holds c->lock. */
int wt_chan_recv_locked(struct chan *c, void *elem, struct waiter **wake);

/* Retire every live channel (their handles go stale) and free their
 * buffers, for weft_shutdown() once workers and plain threads are out of
 * the runtime. Channels that still hold waiters (of abandoned fibers, whose
 * stacks are gone) keep their slot forever and their queues untouched.
 * Returns how many channels were live (leaked). */
size_t wt_chan_reclaim_all(void);

#endif /* WT_CHAN_H */
