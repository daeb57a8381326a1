/*
 * netpoll.h - the netpoller: fds watched for readiness, and fibers parked on
 * them until the kernel says an fd is ready. netpoll.c is the poller-neutral
 * half (poll descriptors, parking, the hooks the scheduler calls); one
 * backend file per kernel poller implements the contract below, and meson
 * compiles exactly one of them. io.c builds the public calls on top.
 *
 * The backend contract (after Go's netpoll.go and redis's ae.c). A backend
 * defines these six functions and nothing else, and may assume that
 * netpoll.c calls open/close with no other call in flight:
 *
 *   wt_poller_open(p, nslots)   create the kernel poller and its wake-up
 *       channel, with event buffers for @nslots concurrent callers of
 *       wt_poller_wait (one per worker, named by the worker's index).
 *       Returns 0 or a negative errno code.
 *   wt_poller_close(p)          release all of it.
 *   wt_poller_arm(p, fd, pd)    register @fd once, edge-triggered, for both
 *       read and write readiness (and hang-up/error, which wake both), with
 *       @pd handed back with every event. Arming an fd that is registered
 *       already is not an error. Returns 0; -ENOTSUP if the kernel cannot
 *       poll @fd (epoll answers EPERM for a regular file); -EBADF; -ENOMEM.
 *   wt_poller_disarm(p, fd)     stop watching @fd; called before it is
 *       closed. Errors are ignored (it may have been dropped already).
 *   wt_poller_wait(p, slot, deadline, ready)  collect pending events and,
 *       for each, call wt_netpoll_ready(pd, WT_POLL_* bits, ready). Never
 *       blocks if @deadline is 0; otherwise blocks until an event, a wake or
 *       the absolute monotonic @deadline (-1: none), and may return early
 *       (EINTR). Only the thread of worker @slot uses that slot's buffer.
 *   wt_poller_wake(p)           make a blocked wt_poller_wait return soon;
 *       any thread. Coalesced through p->wake_pending: write the wake only
 *       if exchanging the flag to 1 found 0, and clear it (after consuming
 *       the wake) in whichever wait consumes it.
 *
 * A wake should be consumed only by a blocking wait (deadline != 0): then
 * the worker it was meant for really leaves epoll_wait. epoll can: its
 * eventfd is level-triggered and non-blocking waits leave it set. kqueue
 * cannot (an EV_CLEAR user event is consumed by whichever wait reports it);
 * that is still correct, because a non-blocking caller is a running worker
 * that looks for work afterwards, and costs only parallelism (scheduler.c,
 * argument (4)).
 *
 * Poll descriptors. One struct pd per fd number, in a table indexed by fd
 * that grows by chunks and is never freed (Go never frees its pollDescs
 * either): a pointer to a pd stays valid for the life of the process, so
 * the poller, a plain thread and weft_close may all hold one without a
 * reference count, and an event for an fd closed meanwhile lands in memory
 * that is still a pd (at worst it wakes waiters spuriously; they retry).
 */
#ifndef WT_NETPOLL_H
#define WT_NETPOLL_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"
#include "debug.h"
#include "spinlock.h"
#include "wait.h"

struct worker;

/*
 * System calls that report through errno go through small functions marked
 * WT_NOIPA, which save errno, make the call, turn a failure into -errno and
 * put errno back (weft never changes the caller's errno). Opaque to the
 * optimiser on purpose: a function that parks a fiber and then reads errno
 * could otherwise use the errno address of the thread it started on
 * (PLATFORM.md, "errno and thread-local storage"). WT_NOIPA is in debug.h.
 */

/* Readiness directions: the bit values of WEFT_READABLE / WEFT_WRITABLE. */
enum {
    WT_POLL_READ = 1u << 0,
    WT_POLL_WRITE = 1u << 1,
};

/* pd->flags: what the first use of the fd found (reset by weft_close). */
enum {
    PD_PREPARED = 1u << 0, /* checked pollable and put in O_NONBLOCK */
    PD_SOCKET = 1u << 1,   /* a socket: sends go through send(MSG_NOSIGNAL) */
};

/*
 * A poll descriptor. Readiness is edge-triggered, so a fiber parks only
 * after a syscall said EAGAIN, and an edge that arrives between that
 * syscall and the parking must not be lost: seq[] counts the edges the
 * poller has delivered, and a waiter that sees it move between its
 * snapshot (taken before the syscall) and its queueing (under the lock)
 * retries instead of parking (the argument is in netpoll.c).
 */
struct pd {
    alignas(WT_CACHE_LINE) struct spinlock lock;
    _Atomic uint32_t seq[2]; /* edges delivered, [0] read, [1] write; bumped under lock */
    _Atomic uint32_t closes; /* weft_close()s of this fd number; bumped under lock */
    _Atomic uint32_t armed;  /* generation of the poller the fd is registered in; 0: none */
    _Atomic uint32_t flags;  /* PD_*; written under lock */
    struct wait_queue q[2];  /* parked waiters, [0] read, [1] write; under lock */
};

/* A backend's state; the fields are the backend's to use. */
struct poller {
    int fd;                        /* the epoll or kqueue descriptor; -1 when closed */
    int wake_fd;                   /* epoll: the eventfd; kqueue: unused (-1) */
    int nslots;                    /* event buffers, one per worker */
    void *slots;                   /* the buffers, in the backend's event type */
    _Atomic uint32_t wake_pending; /* a wake is written and not yet consumed */
};

/* The backend (netpoll_<poller>.c); the contract is above. */
int wt_poller_open(struct poller *p, int nslots);
void wt_poller_close(struct poller *p);
int wt_poller_arm(struct poller *p, int fd, struct pd *pd);
void wt_poller_disarm(struct poller *p, int fd);
void wt_poller_wait(struct poller *p, int slot, int64_t deadline, struct waiter **ready);
void wt_poller_wake(struct poller *p);

/* Called by the backend for each event: record the edge(s) @ev (WT_POLL_*)
 * of @pd and claim every waiter of those directions onto the list @ready
 * (linked through waiter->next; netpoll.c finishes them later). */
void wt_netpoll_ready(struct pd *pd, unsigned ev, struct waiter **ready);

/*
 * The netpoller of the running runtime. `blocked` and `nwaiters` are read by
 * the scheduler's idle protocol (scheduler.c argues the orderings); each is
 * on its own cache line, since nwaiters is written by every wait on an fd.
 */
/* Values of netpoll.blocked. */
enum {
    NP_BLOCKED_WORKER = 1, /* an idle worker holds the blocking-poll slot */
    NP_BLOCKED_THREAD = 2, /* the dedicated poller thread holds it for good */
};

struct netpoll {
    struct poller p;
    _Atomic uint32_t gen; /* generation of the open poller (never 0); bumped by init */
    bool open;
    alignas(WT_CACHE_LINE) _Atomic int blocked;   /* who holds the blocking poll: 0, NP_BLOCKED_* */
    alignas(WT_CACHE_LINE) _Atomic long nwaiters; /* fibers parked, or parking, on a pd */
};

extern struct netpoll wt_np;

/* Runtime start and stop (runtime.c): open the poller for @nworkers
 * workers / close it and forget every parked waiter of the runtime that
 * ended (its fibers were abandoned). The pd table itself stays. */
int wt_netpoll_init(int nworkers);
void wt_netpoll_fini(void);

/* The scheduler's side (scheduler.c has the protocol and its argument). */

bool wt_netpoll_poll_slow(struct worker *w);

/* Poll without blocking if some fiber waits on an fd and no worker is
 * blocked in the poller; ready what it finds on @w. True if it readied
 * any. Relaxed loads: a hint only, liveness rests on the idle path. */
static inline bool wt_netpoll_poll(struct worker *w)
{
    if (atomic_load_explicit(&wt_np.nwaiters, memory_order_relaxed) <= 0 ||
        atomic_load_explicit(&wt_np.blocked, memory_order_relaxed))
        return false;
    return wt_netpoll_poll_slow(w);
}

/* An idle worker: take the one blocking-poll slot, if some fiber waits on
 * an fd and no other worker holds it. seq_cst (scheduler.c, (4)). */
bool wt_netpoll_claim(void);
/* Holder of the slot only: block in the poller until an event, a wake or
 * @deadline; returns the claimed waiters, to finish once no longer idle. */
struct waiter *wt_netpoll_block(struct worker *w, int64_t deadline);
/* Give the slot back (seq_cst). */
void wt_netpoll_unclaim(void);
/* Finish claimed waiters: their fibers become runnable on this worker. */
void wt_netpoll_finish(struct waiter *ready);

/* Is a worker holding the blocking-poll slot (not the dedicated thread,
 * which no wake-up of the idle protocol is for)? seq_cst: the waker's side. */
static inline bool wt_netpoll_blocked(void)
{
    return atomic_load_explicit(&wt_np.blocked, memory_order_seq_cst) == NP_BLOCKED_WORKER;
}

/* Make the worker blocked in the poller (if any) return. Any thread. */
void wt_netpoll_interrupt(void);

/* The I/O calls' side (io.c). */

/* What a call learnt of its fd when it began: io.c passes it back. */
struct pd_ticket {
    struct pd *pd;
    int fd;
    uint32_t closes; /* pd->closes when the call began: a close since is -EBADF */
    uint32_t flags;  /* PD_* */
};

/*
 * Begin an I/O call on @fd: find its pd and, on first use, check that it
 * can be polled and put it in O_NONBLOCK; from a fiber, also register it
 * with the poller (once per runtime). Returns 0; -EBADF if @fd is negative
 * or not open; -ENOTSUP if it cannot be polled (regular file, directory,
 * block device, or refused by the poller); -ENOMEM; -EMFILE if @fd is past
 * what the table can index (2^26).
 */
int wt_pd_open(int fd, struct pd_ticket *t);

/* The edge counts of @t's pd, to snapshot before each attempt. Acquire:
 * pairs with the release bump in wt_netpoll_ready(). */
static inline void wt_pd_snapshot(const struct pd_ticket *t, uint32_t seq[2])
{
    seq[0] = atomic_load_explicit(&t->pd->seq[0], memory_order_acquire);
    seq[1] = atomic_load_explicit(&t->pd->seq[1], memory_order_acquire);
}

/*
 * Wait until @t's fd may be ready for @events (WT_POLL_*) after an attempt
 * that said EAGAIN, @seq being the snapshot taken before that attempt. A
 * fiber parks on the pd; a plain thread blocks in poll(2). May return 0
 * spuriously: the caller retries its syscall either way. Returns 0;
 * -ETIMEDOUT once @deadline has passed; -EBADF if weft_close() closed the
 * fd; -ECANCELED if the calling fiber is cancelled; -ENOMEM.
 */
int wt_pd_wait(const struct pd_ticket *t, unsigned events, const uint32_t seq[2], int64_t deadline);

/* @fd was just made by accept4 (non-blocking, a socket): start its pd
 * afresh, whatever a previous fd of that number left in it. */
void wt_pd_accepted(int fd);

/* A send on @t's fd said ENOTSOCK: it is not a socket after all. */
void wt_pd_not_socket(struct pd_ticket *t);

/* weft_close(): wake every fiber waiting on @fd with -EBADF, unregister
 * it, close it. Returns 0 or a negative errno code from close(2). */
int wt_pd_close(int fd);

#endif /* WT_NETPOLL_H */
