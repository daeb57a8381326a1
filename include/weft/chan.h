/*
 * weft/chan.h - channels and select, Go's semantics in C: typed by element
 * size, unbuffered (rendezvous) or buffered, closed by the sender side;
 * select over any number of send and receive cases. Included by <weft.h>:
 * include that, not this.
 *
 * Every call works from a fiber (a blocking call parks the fiber, never its
 * worker) and from a plain thread (a blocking call blocks the thread), while
 * the runtime runs. Elements are copied in and out by value, elem_size bytes
 * at a time; to pass ownership of an object, send its pointer.
 *
 * Blocking calls come in three forms: weft_chan_x() blocks without limit,
 * weft_chan_x_until(..., deadline) until an absolute weft_now() deadline
 * (WEFT_FOREVER blocks; other negatives are -EINVAL; a deadline already
 * past, 0 included, never parks and gives -ETIMEDOUT if the operation cannot
 * complete at once), and weft_chan_try_x() never blocks (-EAGAIN). A blocked
 * call of a cancelled fiber returns -ECANCELED (weft_cancel()); one that can
 * complete at once still does.
 *
 * Error codes of this header:
 *   -EBADF      not a live channel: freed, never made, or garbage
 *   -EPIPE      the channel is closed (and, for a receive, drained)
 *   -EALREADY   weft_chan_close() of a channel already closed
 *   -EBUSY      weft_chan_free() of a channel something is blocked on
 *   -EAGAIN     a try form (or a select with deadline 0) could not complete
 *   -ETIMEDOUT  the deadline passed first
 *   -ECANCELED  the calling fiber was cancelled, or the runtime is not running
 *   -EINVAL     a bad argument
 *   -ENOMEM     out of memory
 */
#ifndef WEFT_CHAN_H
#define WEFT_CHAN_H

#ifndef WEFT_H
#error "include <weft.h>, not <weft/chan.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/**
 * weft_chan - a handle to a channel: slot index and generation.
 *
 * The zero handle is the nil channel of Go: an operation on it never
 * completes, so a blocking one waits for its deadline or a cancellation and
 * a try form gives -EAGAIN. A handle made by weft_chan_make() stays valid
 * until weft_chan_free(); after that every call on it returns -EBADF.
 */
typedef struct weft_chan {
    uint64_t id;
} weft_chan;

/** WEFT_CHAN_ELEM_MAX - the largest element size, in bytes (as Go's). */
#define WEFT_CHAN_ELEM_MAX ((size_t)65535)

/** WEFT_CHAN_CAP_MAX - the largest capacity: weft_chan_len() must fit an int. */
#define WEFT_CHAN_CAP_MAX ((size_t)0x7fffffff)

/**
 * weft_chan_make - make a channel of @capacity elements of @elem_size bytes.
 * @ch:        receives the handle.
 * @elem_size: bytes per element, 0..WEFT_CHAN_ELEM_MAX; 0 makes a channel of
 *             signals that carries no data (elem arguments may be NULL).
 * @capacity:  0 for an unbuffered channel, where a send completes only when
 *             a receiver takes the element (a rendezvous); else how many
 *             elements it buffers, up to WEFT_CHAN_CAP_MAX.
 *
 * The buffer (@elem_size * @capacity bytes) is allocated here, once: no
 * operation allocates.
 *
 * Return: 0; -EINVAL if @ch is NULL, @elem_size > WEFT_CHAN_ELEM_MAX or
 * @capacity > WEFT_CHAN_CAP_MAX; -ENOMEM if the buffer or a handle slot
 * cannot be had; -ECANCELED if the runtime is not running.
 * Context: any thread.
 */
WEFT_API int weft_chan_make(weft_chan *ch, size_t elem_size, size_t capacity);

/**
 * weft_chan_free - release channel @ch and its buffer.
 *
 * Elements still buffered are dropped. A channel need not be closed first.
 * Freeing a channel that a fiber or thread is blocked on (in a send, a
 * receive or a select) is refused: close it, let them return, then free it.
 * A select that completed on another channel leaves this one a moment after
 * it was woken, so -EBUSY can also mean "still leaving".
 *
 * Return: 0; -EBADF if @ch is not a live channel (the nil channel
 * included); -EBUSY if something is blocked on @ch (nothing was done);
 * -ECANCELED if the runtime is not running.
 * Context: any thread.
 */
WEFT_API int weft_chan_free(weft_chan ch);

/**
 * weft_chan_close - close @ch: no more sends.
 *
 * Every blocked receiver and sender returns -EPIPE at once (a select
 * reports it in its case's result). Later receives drain the elements still
 * buffered, then return -EPIPE; later sends return -EPIPE. Unlike Go,
 * closing twice is an error code, not a panic.
 *
 * Return: 0; -EALREADY if @ch was already closed; -EBADF if @ch is not a
 * live channel (the nil channel included); -ECANCELED if the runtime is not
 * running.
 * Context: any thread.
 */
WEFT_API int weft_chan_close(weft_chan ch);

/**
 * weft_chan_send_until - copy *@elem into @ch, waiting until @deadline.
 * @ch:       the channel.
 * @elem:     @elem_size bytes to send (NULL allowed when @elem_size is 0).
 * @deadline: absolute weft_now() time; WEFT_FOREVER to wait without limit.
 *
 * If a receiver is blocked, the element is copied straight into its buffer
 * and it is woken; else it goes into the channel's buffer if there is room;
 * else the caller waits in FIFO order with the other senders. On an
 * unbuffered channel a successful send returns only once a receiver has
 * taken the element. Elements from one sender arrive in the order sent.
 *
 * Return: 0; -EPIPE if @ch is closed, or is closed while waiting (the
 * element was not sent); -ETIMEDOUT; -ECANCELED if the calling fiber is
 * cancelled while it would wait, or the runtime is not running; -EBADF;
 * -EINVAL if @elem is NULL with a non-zero element size or @deadline is
 * negative and not WEFT_FOREVER; -ENOMEM if a fiber's timer could not be
 * queued. The nil channel waits for the deadline or a cancellation.
 * Context: any thread. May park.
 */
WEFT_API int weft_chan_send_until(weft_chan ch, const void *elem, int64_t deadline);

/**
 * weft_chan_send - weft_chan_send_until() with no deadline.
 *
 * Return: as weft_chan_send_until(), without -ETIMEDOUT.
 * Context: any thread. May park.
 */
WEFT_API int weft_chan_send(weft_chan ch, const void *elem);

/**
 * weft_chan_try_send - send only if that can be done without waiting.
 *
 * Return: 0; -EAGAIN if no receiver waits and the buffer is full (always,
 * on the nil channel); -EPIPE if @ch is closed; -EBADF; -EINVAL as for
 * weft_chan_send_until(); -ECANCELED if the runtime is not running.
 * Context: any thread.
 */
WEFT_API int weft_chan_try_send(weft_chan ch, const void *elem);

/**
 * weft_chan_recv_until - take one element from @ch into *@elem, waiting
 * until @deadline.
 * @ch:       the channel.
 * @elem:     receives @elem_size bytes (NULL allowed when @elem_size is 0).
 * @deadline: absolute weft_now() time; WEFT_FOREVER to wait without limit.
 *
 * Takes the oldest buffered element (refilling the buffer from the first
 * blocked sender), or on an unbuffered channel the first blocked sender's
 * element; else waits in FIFO order with the other receivers. A closed
 * channel still yields what it buffers, then -EPIPE. On any error *@elem is
 * left untouched.
 *
 * Return: 0; -EPIPE if @ch is closed and empty, or is closed while waiting;
 * -ETIMEDOUT; -ECANCELED if the calling fiber is cancelled while it would
 * wait, or the runtime is not running; -EBADF; -EINVAL as for
 * weft_chan_send_until(); -ENOMEM if a fiber's timer could not be queued.
 * The nil channel waits for the deadline or a cancellation.
 * Context: any thread. May park.
 */
WEFT_API int weft_chan_recv_until(weft_chan ch, void *elem, int64_t deadline);

/**
 * weft_chan_recv - weft_chan_recv_until() with no deadline.
 *
 * Return: as weft_chan_recv_until(), without -ETIMEDOUT.
 * Context: any thread. May park.
 */
WEFT_API int weft_chan_recv(weft_chan ch, void *elem);

/**
 * weft_chan_try_recv - receive only if that can be done without waiting.
 *
 * Return: 0; -EAGAIN if nothing is buffered and no sender waits (always,
 * on the nil channel); -EPIPE if @ch is closed and empty; -EBADF; -EINVAL
 * as for weft_chan_recv_until(); -ECANCELED if the runtime is not running.
 * Context: any thread.
 */
WEFT_API int weft_chan_try_recv(weft_chan ch, void *elem);

/**
 * weft_chan_len - how many elements @ch buffers now (Python's Queue.qsize).
 *
 * Stale as soon as it returns, unless nothing else uses @ch. Always 0 for an
 * unbuffered channel, whatever waits on it.
 *
 * Return: the count, 0..capacity; -EBADF if @ch is not a live channel (the
 * nil channel included); -ECANCELED if the runtime is not running.
 * Context: any thread.
 */
WEFT_API int weft_chan_len(weft_chan ch);

/**
 * weft_chan_cap - the capacity @ch was made with (0: unbuffered).
 *
 * Return: the capacity; -EBADF if @ch is not a live channel (the nil
 * channel included); -ECANCELED if the runtime is not running.
 * Context: any thread.
 */
WEFT_API int weft_chan_cap(weft_chan ch);

/** The operation of a select case. */
enum weft_select_op {
    WEFT_SELECT_SEND = 1,
    WEFT_SELECT_RECV = 2,
};

/** WEFT_SELECT_MAX - the most cases one weft_select() takes (as Go's). */
#define WEFT_SELECT_MAX ((size_t)65536)

/**
 * weft_select_case - one case of weft_select().
 * @ch:     the channel; the nil channel makes a case that is never ready.
 * @op:     WEFT_SELECT_SEND or WEFT_SELECT_RECV.
 * @elem:   for a send, the element to copy in; for a receive, where the
 *          element goes (NULL allowed when the element size is 0).
 * @result: out, for the case that completed: 0, or -EPIPE if its channel
 *          was closed (a receive from a closed, drained channel, or a send
 *          on a closed one: Go panics there, weft reports). Other cases'
 *          results are left untouched.
 */
typedef struct weft_select_case {
    weft_chan ch;
    int op;
    void *elem;
    int result;
} weft_select_case;

/**
 * weft_select - complete exactly one of @n channel operations, waiting
 * until @deadline for one to become possible (Go's select).
 * @cases:    the cases; NULL only if @n is 0.
 * @n:        how many, 0..WEFT_SELECT_MAX.
 * @deadline: 0 for Go's `default` (never wait: -EAGAIN if no case is
 *            ready); WEFT_FOREVER to wait without limit; else an absolute
 *            weft_now() time.
 *
 * When several cases are ready, one is chosen uniformly at random. A
 * receive on a closed channel is ready (it drains the buffer, then
 * completes with result -EPIPE), and so is a send on a closed channel
 * (result -EPIPE, nothing sent). The same channel may appear in several
 * cases, sends and receives alike; a select never pairs its own send with
 * its own receive. With no cases, or only nil channels, select waits for
 * the deadline or a cancellation (Go's `select {}` waits forever; so does
 * this one on a plain thread with WEFT_FOREVER).
 *
 * Return: the index of the completed case (its result says how); -EAGAIN
 * if @deadline is 0 and no case was ready; -ETIMEDOUT if a non-zero
 * @deadline passed first (a past one included); -ECANCELED if the calling
 * fiber is cancelled while it would wait, or the runtime is not running;
 * -EBADF if a case names a channel that is not live (nothing was done);
 * -EINVAL if @cases is NULL with @n > 0, @n > WEFT_SELECT_MAX, an @op is
 * neither SEND nor RECV, an @elem is NULL with a non-zero element size, or
 * @deadline is negative and not WEFT_FOREVER; -ENOMEM if the per-case
 * state of a select of more than 16 cases, or a fiber's timer, could not be
 * allocated.
 * Context: any thread. May park.
 */
WEFT_API int weft_select(weft_select_case *cases, size_t n, int64_t deadline);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_CHAN_H */
