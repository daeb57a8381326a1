/*
 * os.h - what weft needs from the kernel beyond pthreads: a monotonic clock,
 * futex-style wait/wake on a 32-bit word, and the page size. os_linux.c
 * implements it; a BSD port would add os_<bsd>.c.
 */
#ifndef WT_OS_H
#define WT_OS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t wt_os_now(void);

/* Sleep until @word != @expected, a wake, a spurious wake-up, or the absolute
 * monotonic @deadline (-1: none). Returns 0, -ETIMEDOUT, -EINTR or -EAGAIN. */
int wt_os_wait(_Atomic uint32_t *word, uint32_t expected, int64_t deadline);

/* Wake up to @n threads waiting on @word (INT32_MAX: all). */
void wt_os_wake(_Atomic uint32_t *word, int n);

/* Sleep the calling thread until the absolute monotonic @deadline. */
void wt_os_sleep_until(int64_t deadline);

/* The page size, read once. */
size_t wt_os_page_size(void);

#endif /* WT_OS_H */
