/*
 * chan.c - channels: make, free, close, send, receive, len and cap. select
 * (select.c) reuses the locked steps below.
 *
 * A channel is one cache line in the channel handle table (handle.h): a
 * spinlock, a ring buffer of cap elements (head and count; no allocation
 * per operation, the ring is allocated by make), and two FIFO queues of
 * waiters (wait.h): receivers blocked on an empty channel, senders blocked
 * on a full one. An unbuffered channel (cap 0) is always both.
 *
 * Direct hand-off. A sender that finds a receiver queued claims it (one CAS
 * on the receiver's claim word, wait.h) and copies the element straight
 * into the receiver's buffer (waiter->data), then readies it: no copy
 * through the ring, which is what makes unbuffered ping-pong cheap.
 * Symmetrically a receiver on an unbuffered channel copies from the first
 * queued sender's element. On a full buffered channel a receiver takes the
 * oldest element and refills the slot it freed from the first queued
 * sender, so FIFO order holds across the buffer and the queue (Go's
 * recv()). Because a receiver queues only on an empty ring and a sender
 * only on a full one, a sender that finds receivers queued may bypass the
 * ring without reordering anything.
 *
 * Claimed waiters are finished (their fiber readied, their thread woken)
 * after the lock is dropped: a claimed waiter cannot go away before its
 * finish (wait.h, lifetimes), and a futex wake has no business under a
 * spinlock. A waker writes the outcome (struct chan_wait: which waiter,
 * 0 or -EPIPE) between claim and finish; finish releases it.
 *
 * Waiters whose wait ended otherwise (a timeout, a cancellation, another
 * select case) stay queued until their owner removes them; wt_wq_claim_first
 * skips and drops them, so a dead waiter never takes an element.
 *
 * Close claims every queued waiter with -EPIPE. Free refuses a channel
 * with any waiter queued (-EBUSY): the owner of a dead-but-queued waiter
 * still has to take this lock to unqueue it, so the queues must outlive it.
 *
 * Locks. A channel's lock is a leaf, held for a few instructions, never
 * across a park or a system call (the clock read of a deadline is a vDSO
 * call), except that select holds the locks of all its channels at once,
 * taken in address order (select.c). The table's mutex is never taken
 * under a channel lock.
 *
 * Plain threads bracket every call with wt_foreign_enter/leave, a blocked
 * one included (as weft_join), so that shutdown never frees the runtime
 * under a thread that may still ready a fiber.
 */
#include <assert.h>
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

static_assert(sizeof(struct chan) == 64, "struct chan is one cache line");
static_assert(offsetof(struct chan, h) == 0, "the handle header comes first");
static_assert(WEFT_CHAN_ELEM_MAX <= UINT16_MAX, "elem_size is a uint16_t");
static_assert(WEFT_CHAN_CAP_MAX <= UINT32_MAX, "cap is a uint32_t");

struct handle_table wt_chan_table = WT_HANDLE_TABLE_INIT(struct chan);

/*
 * Contended channel lock. Plain test-and-test-and-set retries the exchange
 * the moment the holder's release is seen, so with producers on one core
 * and consumers on another the line (lock, ring indices) changes cores on
 * every operation. Pausing a little longer after each failure (4, 8, then
 * 16 pauses between looks) lets the holder run several operations in a
 * row on a line it keeps. Measured on the 2-core machine, buffered channel
 * of 128, 2 workers, median of 7: 16 producers and 16 consumers went from
 * 56 to 28 ns per element, 4+4 from 59 to 21. A longer cap (256, 2048
 * pauses) gained nothing there and slowed selects contending for two locks
 * with plain threads oversubscribing the cores by 2-3 times.
 */
void wt_chan_lock_slow(struct spinlock *l)
{
    unsigned spins = 4;
    for (;;) {
        for (unsigned i = 0; i < spins; i++)
            wt_cpu_relax();
        /* Relaxed: only a hint; the exchange decides (acquire pairs with
         * the release in wt_spin_unlock()). */
        if (!atomic_load_explicit(&l->held, memory_order_relaxed) &&
            !atomic_exchange_explicit(&l->held, true, memory_order_acquire))
            return;
        if (spins < 16)
            spins *= 2;
    }
}

static inline struct chan_wait *chan_wait_of(struct waiter *n)
{
    return (struct chan_wait *)((char *)n->wait - offsetof(struct chan_wait, wt));
}

/* Tell the owner of claimed waiter @n how its operation ended. */
static inline void tell(struct waiter *n, int result)
{
    struct chan_wait *cw = chan_wait_of(n);
    cw->fired = n->token;
    cw->result = result;
}

static inline unsigned char *slot(struct chan *c, uint32_t i)
{
    return c->buf + (size_t)i * c->elem_size;
}

/* Copy one element. The common sizes are inlined moves rather than a call
 * to memcpy; size 0 copies nothing (elem may then be NULL). */
static inline void copy(void *dst, const void *src, size_t n)
{
    switch (n) {
    case 0:
        return;
    case 4:
        memcpy(dst, src, 4);
        return;
    case 8:
        memcpy(dst, src, 8);
        return;
    case 16:
        memcpy(dst, src, 16);
        return;
    default:
        memcpy(dst, src, n);
    }
}

/* The first waiter of @q whose wait we could claim, or NULL. */
static inline struct waiter *claim_first(struct wait_queue *q)
{
    return wt_wq_empty(q) ? NULL : wt_wq_claim_first(q);
}

/* wt_chan_send_locked(), inlined into the operations below. */
static inline __attribute__((always_inline)) int send_step(struct chan *c, const void *elem,
                                                           struct waiter **wake)
{
    if (c->closed)
        return -EPIPE;
    struct waiter *r = claim_first(&c->recvq);
    if (r) {
        WT_ASSERT(c->count == 0);
        copy(r->data, elem, c->elem_size);
        tell(r, 0);
        *wake = r;
        return 0;
    }
    if (c->count < c->cap) {
        uint32_t tail = c->head + c->count;
        if (tail >= c->cap)
            tail -= c->cap;
        copy(slot(c, tail), elem, c->elem_size);
        c->count++;
        return 0;
    }
    return -EAGAIN;
}

/* wt_chan_recv_locked(), inlined into the operations below. */
static inline __attribute__((always_inline)) int recv_step(struct chan *c, void *elem,
                                                           struct waiter **wake)
{
    if (c->count) {
        unsigned char *p = slot(c, c->head);
        copy(elem, p, c->elem_size);
        struct waiter *s = claim_first(&c->sendq);
        if (s) {
            /* Full ring: the slot just emptied is the tail; refill it. */
            WT_ASSERT(c->count == c->cap);
            copy(p, s->data, c->elem_size);
            tell(s, 0);
            *wake = s;
        } else {
            c->count--;
        }
        if (++c->head == c->cap)
            c->head = 0;
        return 0;
    }
    struct waiter *s = claim_first(&c->sendq);
    if (s) {
        WT_ASSERT(c->cap == 0);
        copy(elem, s->data, c->elem_size);
        tell(s, 0);
        *wake = s;
        return 0;
    }
    return c->closed ? -EPIPE : -EAGAIN;
}

int wt_chan_send_locked(struct chan *c, const void *elem, struct waiter **wake)
{
    return send_step(c, elem, wake);
}

int wt_chan_recv_locked(struct chan *c, void *elem, struct waiter **wake)
{
    return recv_step(c, elem, wake);
}

/* Is @deadline (valid: >= WEFT_FOREVER) already past? */
static bool passed(int64_t deadline)
{
    return deadline == 0 || (deadline > 0 && deadline <= wt_now());
}

/* Wait on the nil channel: for the deadline or a cancellation. */
static int block_nil(struct worker *w, enum wait_kind kind, int64_t deadline)
{
    if (passed(deadline))
        return -ETIMEDOUT;
    struct wait wt;
    int r = wt_wait_begin(&wt, w, kind, NULL);
    if (r)
        return r;
    return wt_wait_block(&wt, w ? &w : NULL, deadline);
}

/* Lock @c if @id still names it; -EBADF (unlocked) if not. */
static inline int lock_live(struct chan *c, uint64_t id)
{
    if (!c)
        return -EBADF;
    wt_chan_lock(c);
    if (WT_LIKELY(wt_handle_live(&c->h, id)))
        return 0;
    wt_chan_unlock(c);
    return -EBADF;
}

enum op_mode {
    OP_BLOCK, /* wait until the deadline */
    OP_TRY,   /* never wait: -EAGAIN */
};

/* The waiting half of op(): @c is locked and the operation could not
 * complete at once. Queue a waiter, block, and report. */
static __attribute__((noinline)) int block(struct worker *w, struct chan *c, void *elem,
                                           int64_t deadline, bool send)
{
    if (passed(deadline)) {
        wt_chan_unlock(c);
        return -ETIMEDOUT;
    }
    struct chan_wait cw;
    int r = wt_wait_begin(&cw.wt, w, send ? WAITK_CHAN_SEND : WAITK_CHAN_RECV, c);
    if (r) {
        wt_chan_unlock(c);
        return r;
    }
    cw.fired = -1;
    cw.result = 0;
    struct waiter n;
    wt_waiter_init(&n, &cw.wt, elem, 0);
    struct wait_queue *q = send ? &c->sendq : &c->recvq;
    wt_wq_push(q, &n);
    wt_chan_unlock(c);
    r = wt_wait_block(&cw.wt, w ? &w : NULL, deadline);
    if (r == 0)
        return cw.result; /* the waker unqueued n and told us */
    /* Timed out, cancelled or no timer: nobody handed anything over (the
     * claim is exclusive), but n may still be queued. */
    wt_chan_lock(c);
    wt_wq_remove(q, &n);
    wt_chan_unlock(c);
    return r;
}

/* Send (@send) or receive through @id; @w is the calling worker or NULL.
 * Inlined into each entry point, so that the common case (no waiting) is
 * one straight path. */
static inline __attribute__((always_inline)) int op(struct worker *w, uint64_t id, void *elem,
                                                    int64_t deadline, bool send, enum op_mode mode)
{
    if (id == 0)
        return mode == OP_TRY ? -EAGAIN
                              : block_nil(w, send ? WAITK_CHAN_SEND : WAITK_CHAN_RECV, deadline);
    struct chan *c = wt_chan_lookup(id);
    int r = lock_live(c, id);
    if (r)
        return r;
    struct waiter *wake = NULL;
    if (WT_UNLIKELY(!elem && c->elem_size))
        r = -EINVAL;
    else
        r = send ? send_step(c, elem, &wake) : recv_step(c, elem, &wake);
    if (WT_UNLIKELY(r == -EAGAIN) && mode == OP_BLOCK)
        return block(w, c, elem, deadline, send);
    wt_chan_unlock(c);
    if (wake)
        wt_waiter_finish_from(wake, w); /* no switch since w was read */
    return r;
}

/* An API call's bracket: the calling worker (NULL on a plain thread, which
 * is then counted in nforeign until chan_leave()). */
static inline int chan_enter(struct worker **w)
{
    *w = wt_worker_self();
    if (*w || wt_foreign_enter() == 0)
        return 0;
    return -ECANCELED;
}

static inline void chan_leave(bool foreign)
{
    if (foreign)
        wt_foreign_leave();
}

static inline __attribute__((always_inline)) int op_api(weft_chan ch, void *elem, int64_t deadline,
                                                        bool send, enum op_mode mode)
{
    if (deadline < WEFT_FOREVER)
        return -EINVAL;
    wt_det_chaos_point(); /* WEFT_SCHED=chaos: a yield before racing */
    struct worker *w;
    if (chan_enter(&w))
        return -ECANCELED;
    bool foreign = !w;
    int r = op(w, ch.id, elem, deadline, send, mode);
    chan_leave(foreign);
    return r;
}

int weft_chan_send_until(weft_chan ch, const void *elem, int64_t deadline)
{
    /* The element is only read: a send waiter's data is never written. */
    return op_api(ch, (void *)elem, deadline, true, OP_BLOCK);
}

int weft_chan_send(weft_chan ch, const void *elem)
{
    return op_api(ch, (void *)elem, WEFT_FOREVER, true, OP_BLOCK);
}

int weft_chan_try_send(weft_chan ch, const void *elem)
{
    return op_api(ch, (void *)elem, 0, true, OP_TRY);
}

int weft_chan_recv_until(weft_chan ch, void *elem, int64_t deadline)
{
    return op_api(ch, elem, deadline, false, OP_BLOCK);
}

int weft_chan_recv(weft_chan ch, void *elem)
{
    return op_api(ch, elem, WEFT_FOREVER, false, OP_BLOCK);
}

int weft_chan_try_recv(weft_chan ch, void *elem)
{
    return op_api(ch, elem, 0, false, OP_TRY);
}

/* The ring of a channel that needs no bytes (unbuffered, or elements of
 * size 0): a real address, so that slot() never offsets a null pointer. */
static unsigned char no_ring[1];

static void free_ring(unsigned char *buf)
{
    if (buf != no_ring)
        wt_free(buf);
}

int weft_chan_make(weft_chan *ch, size_t elem_size, size_t capacity)
{
    if (!ch || elem_size > WEFT_CHAN_ELEM_MAX || capacity > WEFT_CHAN_CAP_MAX)
        return -EINVAL;
    size_t bytes;
    if (__builtin_mul_overflow(elem_size, capacity, &bytes))
        return -ENOMEM; /* not with the limits above on 64 bits; kept for 32 */
    struct worker *w;
    if (chan_enter(&w))
        return -ECANCELED;
    int r = -ENOMEM;
    unsigned char *buf = no_ring;
    if (bytes && !(buf = wt_alloc(bytes)))
        goto out;
    uint64_t id;
    struct chan *c = wt_handle_alloc(&wt_chan_table, &id);
    if (!c) {
        free_ring(buf);
        goto out;
    }
    wt_chan_lock(c);
    /* A slot is released only with empty queues (see weft_chan_free). */
    WT_ASSERT(wt_wq_empty(&c->recvq) && wt_wq_empty(&c->sendq));
    c->closed = false;
    c->elem_size = (uint16_t)elem_size;
    c->cap = (uint32_t)capacity;
    c->count = 0;
    c->head = 0;
    c->buf = buf;
    wt_handle_publish(&c->h);
    wt_chan_unlock(c);
    ch->id = id;
    r = 0;
out:
    chan_leave(!w);
    return r;
}

int weft_chan_free(weft_chan ch)
{
    struct worker *w;
    if (chan_enter(&w))
        return -ECANCELED;
    struct chan *c = wt_chan_lookup(ch.id);
    int r = lock_live(c, ch.id);
    if (r)
        goto out;
    if (!wt_wq_empty(&c->recvq) || !wt_wq_empty(&c->sendq)) {
        wt_chan_unlock(c);
        r = -EBUSY;
        goto out;
    }
    wt_handle_retire(&c->h);
    unsigned char *buf = c->buf;
    c->buf = NULL;
    c->count = 0;
    wt_chan_unlock(c);
    free_ring(buf);
    wt_handle_release(&wt_chan_table, ch.id);
out:
    chan_leave(!w);
    return r;
}

/* Claim every waiter of @q for -EPIPE, chaining them on *@list through
 * their next links (free once claimed: wt_wq_claim_first unqueued them). */
static void claim_all(struct wait_queue *q, struct waiter **list)
{
    struct waiter *n;
    while ((n = wt_wq_claim_first(q))) {
        tell(n, -EPIPE);
        n->next = *list;
        *list = n;
    }
}

int weft_chan_close(weft_chan ch)
{
    struct worker *w;
    if (chan_enter(&w))
        return -ECANCELED;
    struct chan *c = wt_chan_lookup(ch.id);
    int r = lock_live(c, ch.id);
    if (r)
        goto out;
    if (c->closed) {
        wt_chan_unlock(c);
        r = -EALREADY;
        goto out;
    }
    c->closed = true;
    struct waiter *list = NULL;
    claim_all(&c->recvq, &list);
    claim_all(&c->sendq, &list);
    wt_chan_unlock(c);
    while (list) {
        struct waiter *next = list->next; /* read before finish frees it */
        wt_waiter_finish(list);
        list = next;
    }
out:
    chan_leave(!w);
    return r;
}

/* len (@want_cap false) or cap of @ch. */
static int query(weft_chan ch, bool want_cap)
{
    struct worker *w;
    if (chan_enter(&w))
        return -ECANCELED;
    struct chan *c = wt_chan_lookup(ch.id);
    int r = lock_live(c, ch.id);
    if (r == 0) {
        r = (int)(want_cap ? c->cap : c->count);
        wt_chan_unlock(c);
    }
    chan_leave(!w);
    return r;
}

int weft_chan_len(weft_chan ch)
{
    return query(ch, false);
}

int weft_chan_cap(weft_chan ch)
{
    return query(ch, true);
}

static void reclaim_one(void *obj, uint64_t id, void *arg)
{
    (void)arg;
    struct chan *c = obj;
    wt_chan_lock(c);
    wt_handle_retire(&c->h);
    bool idle = wt_wq_empty(&c->recvq) && wt_wq_empty(&c->sendq);
    unsigned char *buf = c->buf;
    c->buf = NULL;
    c->count = 0;
    wt_chan_unlock(c);
    free_ring(buf);
    if (idle)
        wt_handle_release(&wt_chan_table, id);
}

size_t wt_chan_reclaim_all(void)
{
    return wt_handle_each_live(&wt_chan_table, reclaim_one, NULL);
}
