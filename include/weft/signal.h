/*
 * weft/signal.h - waiting for POSIX signals as a blocking call: a fiber
 * parks until one of a set of signals arrives, then handles it as ordinary
 * code (no handler, no async-signal-safety rules). Linux: signalfd(2)
 * through the netpoller. Included by <weft.h>; include that.
 *
 *     sigset_t set;                          // in main(), before weft_init
 *     sigemptyset(&set);
 *     sigaddset(&set, SIGINT);
 *     sigaddset(&set, SIGTERM);
 *     pthread_sigmask(SIG_BLOCK, &set, NULL); // workers inherit the mask
 *     ...
 *     int sig = weft_signal_wait(&set);       // in a fiber: SIGINT or SIGTERM
 *
 * The signals waited for must be blocked in every thread of the process,
 * or the kernel delivers them (default action or handler) to a thread that
 * does not block them instead of queueing them for the wait. Block them in
 * main() before weft_init() and before starting any other thread: every
 * thread made afterwards (weft's workers and offload threads included)
 * inherits the mask. The calls check the calling thread only and refuse a
 * set with a signal that is not blocked there.
 *
 * A signal is queued for the process (kill(getpid(), sig), another
 * process's kill, the terminal's ^C) or for one thread (raise(),
 * pthread_kill(), a fault). Only the former can be waited for reliably
 * from a fiber, which may run on any worker: send kill(getpid(), sig), not
 * raise(). A signal that arrives while nobody waits stays pending (a
 * standard signal once, however often it was sent) and is returned by the
 * next wait. Each arrival is returned to one waiter.
 */
#ifndef WEFT_SIGNAL_H
#define WEFT_SIGNAL_H

#ifndef WEFT_H
#error "include <weft.h>, not <weft/signal.h>"
#endif

#include <signal.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * weft_signal_wait_until - wait for one of the signals in @set.
 * @set:      the signals; each must be blocked in the calling thread (see
 *            above).
 * @deadline: absolute weft_now() time; WEFT_FOREVER to wait without limit;
 *            a deadline already past takes a pending signal, if any,
 *            without waiting.
 *
 * Takes one pending signal of @set (the lowest-numbered first) and returns
 * its number; if none is pending, parks the calling fiber (a plain thread
 * blocks in poll(2)) until one arrives.
 *
 * Return: the signal number (> 0); -ETIMEDOUT; -ECANCELED if the calling
 * fiber was cancelled; -EINVAL if @set is NULL or empty, holds a signal
 * that is not blocked in the calling thread (SIGKILL and SIGSTOP never
 * are), or @deadline is negative but not WEFT_FOREVER; -EMFILE, -ENFILE
 * or -ENOMEM if the signalfd or weft's state for it could not be made.
 * Context: any thread. May park.
 */
WEFT_API int weft_signal_wait_until(const sigset_t *set, int64_t deadline);

/**
 * weft_signal_wait - weft_signal_wait_until() with no deadline.
 *
 * Return: as weft_signal_wait_until(), without -ETIMEDOUT.
 * Context: any thread. May park.
 */
WEFT_API int weft_signal_wait(const sigset_t *set);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_SIGNAL_H */
