/*
 * alloc.h - the one seam through which the runtime allocates memory, maps
 * stack regions, starts threads and makes the system calls that can fail
 * for want of a resource, so that a test can make any one of them fail:
 * the fault sweep of tests/fault/ (SQLite's and Argobots' OOM tests; the
 * sweep itself is described in docs/TESTING.md).
 *
 * Cost. In a normal build (meson -Dfault_injection=false, the default)
 * every wrapper below is a static inline call of the libc function and
 * WT_FAULT_SYS(kind, call) is just (call): the seam compiles to exactly
 * what it replaces, so there is nothing to measure. With
 * -Dfault_injection=true (tests only: never a release) the wrappers are
 * functions in alloc.c that first ask wt_fault_check() whether to fail
 * this call (one atomic increment and two loads), and keep the counts of
 * live blocks and mappings that the sweeps compare before and after a run.
 *
 * Kinds of call, each with its own counter and the error a failure gives:
 *   WT_FAULT_ALLOC    wt_alloc, wt_calloc, wt_realloc, wt_aligned_alloc:
 *                     NULL, errno ENOMEM (wt_free never fails, is not counted)
 *   WT_FAULT_MAP      wt_map (mmap) and the guard installs wrapped with
 *                     WT_FAULT_SYS (madvise, mprotect): ENOMEM
 *   WT_FAULT_THREAD   wt_thread_create: EAGAIN (returned, as pthread_create)
 *   WT_FAULT_SYSCALL  WT_FAULT_SYS around epoll_create1, epoll_ctl,
 *                     eventfd, pipe2, signalfd: -1 with errno ENOMEM
 *                     unless armed with another code (EMFILE, ENOSPC...)
 *   WT_FAULT_EINTR    WT_FAULT_SYS around the blocking waits (futex wait,
 *                     epoll_wait and epoll_pwait2, poll): -1 with errno
 *                     EINTR at once, as a signal would
 * The wrappers have the signature and the failure convention of the call
 * they wrap, so a call site changes by its name only.
 */
#ifndef WT_ALLOC_H
#define WT_ALLOC_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "wt_config.h"

enum wt_fault_kind {
    WT_FAULT_ALLOC,
    WT_FAULT_MAP,
    WT_FAULT_THREAD,
    WT_FAULT_SYSCALL,
    WT_FAULT_EINTR,
    WT_FAULT_NKINDS,
};

#if WT_FAULT_INJECTION

void *wt_alloc(size_t size);
void *wt_calloc(size_t n, size_t size);
void *wt_realloc(void *p, size_t size);
void *wt_aligned_alloc(size_t align, size_t size);
void wt_free(void *p);
void *wt_map(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int wt_unmap(void *addr, size_t len);
int wt_thread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);

/* Count one call of kind @k; the errno value to fail it with, or 0 to make
 * the call. Any thread. */
int wt_fault_check(enum wt_fault_kind k);

/* For WT_FAULT_SYS: true (errno set) if this call of @k is to fail. */
static inline bool wt_fault_errno(enum wt_fault_kind k)
{
    int e = wt_fault_check(k);
    if (e)
        errno = e;
    return e != 0;
}

/* @call, a system call that returns -1 and sets errno on failure, unless
 * the sweep fails this call of kind @kind: then -1 without making it. */
#define WT_FAULT_SYS(kind, call) (wt_fault_errno(kind) ? -1 : (call))

/*
 * The test-only API (tests/fault/, white-box): arm, count, compare.
 *
 * wt_fault_arm - fail call number @nth (1: the next) of kind @k counted
 * from now, and then every @every-th call after it (0: that one only; 1:
 * every call from @nth on), with errno value @err (0: the kind's default
 * above). Resets @k's call and hit counts. @nth 0 disarms @k.
 */
void wt_fault_arm(enum wt_fault_kind k, unsigned long nth, unsigned long every, int err);
/* Disarm every kind and zero every call and hit count. */
void wt_fault_reset(void);
/* Calls of @k counted since it was last armed or reset. */
unsigned long wt_fault_calls(enum wt_fault_kind k);
/* Calls of @k failed since it was last armed or reset. */
unsigned long wt_fault_hits(enum wt_fault_kind k);
/* Blocks allocated through the seam and not yet freed; mappings made by
 * wt_map and not yet unmapped by wt_unmap (whole mappings only). */
long wt_fault_live_blocks(void);
long wt_fault_live_maps(void);

#else /* !WT_FAULT_INJECTION: the plain calls, nothing else */

static inline void *wt_alloc(size_t size)
{
    return malloc(size);
}

static inline void *wt_calloc(size_t n, size_t size)
{
    return calloc(n, size);
}

static inline void *wt_realloc(void *p, size_t size)
{
    return realloc(p, size);
}

static inline void *wt_aligned_alloc(size_t align, size_t size)
{
    return aligned_alloc(align, size);
}

static inline void wt_free(void *p)
{
    free(p);
}

static inline void *wt_map(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return mmap(addr, len, prot, flags, fd, off);
}

static inline int wt_unmap(void *addr, size_t len)
{
    return munmap(addr, len);
}

static inline int wt_thread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
                                   void *arg)
{
    return pthread_create(t, attr, fn, arg);
}

#define WT_FAULT_SYS(kind, call) (call)

#endif /* WT_FAULT_INJECTION */

#endif /* WT_ALLOC_H */
