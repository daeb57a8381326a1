/*
 * signals.h - waiting for signals (weft/signal.h): signal.c checks the
 * arguments, and one backend file per OS waits. signal_linux.c reads a
 * signalfd through the netpoller; a kqueue port would add an EVFILT_SIGNAL
 * backend (the signals still blocked, kqueue only counts them, so it would
 * take them with sigtimedwait(0) once woken).
 */
#ifndef WT_SIGNALS_H
#define WT_SIGNALS_H

#include <signal.h>
#include <stdint.h>

/* Wait until a signal of @set (non-empty, every member blocked in the
 * calling thread) is pending for the process or this thread, take it and
 * return its number; or return -ETIMEDOUT once the absolute @deadline
 * (valid; WEFT_FOREVER: none) has passed, -ECANCELED, or an error code
 * from the kernel (-EMFILE...). Parks a fiber, blocks a plain thread. */
int wt_signal_wait_os(const sigset_t *set, int64_t deadline);

#endif /* WT_SIGNALS_H */
