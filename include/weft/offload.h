/*
 * weft/offload.h - running a call that must block (regular-file I/O,
 * fsync, getaddrinfo, a library with no non-blocking mode) without blocking
 * a worker: the call runs on a helper thread of a bounded pool while the
 * calling fiber parks (asyncio's run_in_executor, Go's blocking syscalls
 * handed to another thread). Included by <weft.h>; include that.
 *
 *     struct pread_args a = {fd, buf, sizeof buf, 0};
 *     void *n;
 *     int r = weft_offload(do_pread, &a, &n);   // do_pread calls pread(2)
 *
 * The pool. It starts with no thread, starts one when a call finds every
 * pool thread busy, up to a bound (WEFT_OFFLOAD_MAX, default 4 per worker:
 * docs/ENVIRONMENT.md), and a thread that has been idle for a second
 * exits. Calls beyond the bound wait in a FIFO queue. Pool threads run on
 * every CPU the thread that called weft_init() may use, not on a worker's
 * core, with that thread's signal mask.
 *
 * What @fn may do: anything a plain thread may, weft's own calls included
 * (they block the pool thread, as on any plain thread), except
 * weft_shutdown(), which waits for the pool. It must return: a job that
 * never returns holds a pool thread for good, and weft_shutdown() waits
 * for it.
 */
#ifndef WEFT_OFFLOAD_H
#define WEFT_OFFLOAD_H

#ifndef WEFT_H
#error "include <weft.h>, not <weft/offload.h>"
#endif

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * weft_offload_until - run @fn(@arg) on a pool thread and wait for it.
 * @fn:       the blocking call; its return value is the result.
 * @arg:      passed to @fn; it may point into the caller's stack, since the
 *            caller does not return while @fn runs (see below).
 * @result:   NULL, or where @fn's return value goes (only on 0).
 * @deadline: absolute weft_now() time by which a pool thread must have
 *            *started* @fn; WEFT_FOREVER to wait without limit.
 *
 * Parks the calling fiber, never its worker, until @fn has returned on a
 * pool thread. From a plain thread (not a fiber) @fn runs at once on the
 * calling thread, with or without a runtime.
 *
 * A call waiting in the queue is removed and fails if the calling fiber is
 * cancelled (-ECANCELED) or @deadline passes (-ETIMEDOUT): @fn never runs.
 * Once a pool thread has started @fn nothing interrupts it, and the caller
 * waits for it and returns 0 with its result even if it was cancelled or
 * @deadline passed meanwhile: @fn may be using memory the caller owns
 * (@arg, its stack), and its result may own something (an fd, a buffer)
 * that would leak if dropped. The cancellation stays set: the fiber's next
 * blocking call returns -ECANCELED.
 *
 * Return: 0; -ECANCELED if the calling fiber is cancelled before @fn
 * started, or the runtime is shutting down (@fn did not run); -ETIMEDOUT if
 * @deadline passed before @fn started (a deadline already past never runs
 * it, from a plain thread neither); -EINVAL if @fn is NULL or @deadline is
 * negative but not WEFT_FOREVER; -EAGAIN if the pool had no thread and
 * none could be started; -ENOMEM if the deadline's timer could not be
 * queued.
 * Context: any thread. May park.
 */
WEFT_API int weft_offload_until(weft_fn fn, void *arg, void **result, int64_t deadline);

/**
 * weft_offload - weft_offload_until() with no deadline.
 *
 * Return: as weft_offload_until(), without -ETIMEDOUT.
 * Context: any thread. May park.
 */
WEFT_API int weft_offload(weft_fn fn, void *arg, void **result);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_OFFLOAD_H */
