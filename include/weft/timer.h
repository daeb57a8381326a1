/*
 * weft/timer.h - one-shot timers that run a callback on a fiber of its own
 * at a deadline and can be stopped before then (asyncio's call_later and
 * call_at). Included by <weft.h>; include that.
 */
#ifndef WEFT_TIMER_H
#define WEFT_TIMER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * weft_timer - a one-shot timer in caller memory; all-zero (WEFT_TIMER_INIT)
 * is an idle timer. Once started it must be stopped or waited for
 * (weft_timer_stop, weft_timer_wait) before it is started again or its
 * memory is reused: those reap the fiber that runs the callback.
 */
typedef struct weft_timer {
    uint64_t opaque_[6];
} weft_timer;

#define WEFT_TIMER_INIT \
    {                   \
        {               \
            0           \
        }               \
    }

/**
 * weft_timer_start - run @fn(@arg) on a new fiber at @deadline.
 * @deadline: absolute monotonic ns (weft_now()); a past one fires at once.
 *
 * Return: 0; -EINVAL if @t or @fn is NULL or @deadline is negative; -EBUSY
 * if @t was started and not yet stopped or waited for; -ENOMEM;
 * -ECANCELED if the runtime is not running.
 * Context: any thread.
 */
WEFT_API int weft_timer_start(weft_timer *t, int64_t deadline, void (*fn)(void *arg), void *arg);

/**
 * weft_timer_after - weft_timer_start(@t, weft_deadline_after(@ns), ...).
 *
 * Return: as weft_timer_start(); -EINVAL if @ns is negative.
 * Context: any thread.
 */
WEFT_API int weft_timer_after(weft_timer *t, int64_t ns, void (*fn)(void *arg), void *arg);

/**
 * weft_timer_stop - stop @t before its callback starts, and reap it.
 *
 * If the callback has not started, it never will. If it has, this waits
 * until it returns. Either way @t is idle afterwards.
 *
 * Return: 0 if the callback was stopped before it started; -EALREADY if it
 * had started (it has now returned); -ESRCH if @t is idle (never started,
 * or already stopped or waited for) or another stop or wait is reaping it;
 * -EDEADLK if called from the callback itself; -EINVAL if @t is NULL.
 * Context: any thread. May park (until a running callback returns).
 */
WEFT_API int weft_timer_stop(weft_timer *t);

/**
 * weft_timer_wait - wait until @t's callback has run and returned, and reap
 * it.
 *
 * Return: 0 (the callback ran, or a stop won the race before it started:
 * either way it is over); -ESRCH if @t is idle or another stop or wait is
 * reaping it; -EDEADLK from the callback itself; -EINVAL if @t is NULL.
 * A stop or wait racing this one gets -ESRCH.
 * Context: any thread. May park.
 */
WEFT_API int weft_timer_wait(weft_timer *t);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_TIMER_H */
