/*
 * netpoll.c - the poller-neutral half of the netpoller: the poll-descriptor
 * table, parking a fiber on an fd (or blocking a plain thread in poll(2)),
 * close-while-waiting, and the hooks through which idle and busy workers
 * poll. The kernel's side is in netpoll_<poller>.c, the contract in
 * netpoll.h, the scheduler's side of the protocol in scheduler.c.
 *
 * No lost edge. Registration is edge-triggered (each readiness transition
 * is reported once), so a fiber may park only if no edge can slip between
 * the syscall that said EAGAIN and its parking. The protocol, per call:
 *
 *   waiter (io.c, then wt_pd_wait)      poller (wt_netpoll_ready)
 *   s = seq[d]          (acquire)        epoll_wait reports the fd
 *   syscall -> EAGAIN                    lock pd
 *   lock pd                              seq[d]++        (release)
 *   if seq[d] == s: queue on q[d]        claim every waiter of q[d]
 *   unlock; park (else retry at once)    unlock; ready them
 *
 * Take an edge E (data arrives, space frees up) and ask where it falls.
 * If E happened before the syscall, the syscall saw its data (or another
 * reader took it, and then there is nothing to wait for). If E happened
 * after the syscall, the kernel reports it to some epoll_wait that returns
 * after the syscall, so its bump of seq[d] comes after our snapshot in
 * seq[d]'s modification order (the kernel's own locks order E after the
 * syscall, and the syscall after our snapshot load). The bump and our
 * queueing are both done under the pd lock, so one precedes the other:
 * bump first, and our check under the lock sees seq[d] != s and retries;
 * queueing first, and the poller finds us in q[d] and claims us. Either
 * way we do not sleep through E. An edge reported late (it happened before
 * the syscall but is processed after our queueing) only wakes us
 * spuriously: every wake-up is followed by a retry of the syscall. Every
 * waiter of a direction is woken on an edge, since an edge is not
 * repeated and one waiter may not consume all that it announced. (seq[d]
 * is 32 bits: wrapping all the way round within one syscall is not a
 * concern.)
 *
 * Closing. weft_close bumps pd->closes and claims every waiter with -EBADF
 * under the lock, unregisters the fd and only then closes it. A call that
 * began before the close and queues after it sees closes moved (it
 * snapshotted closes when it began) and returns -EBADF instead of parking;
 * one that begins after finds the fd closed (EBADF from the kernel).
 *
 * Plain threads never touch the poller or the pd queues: they block in
 * poll(2) with their deadline, in slices of PLAIN_SLICE_NS after each of
 * which they check pd->closes, so that a weft_close by someone else is
 * noticed within a slice (poll(2) is not woken by another thread's close).
 * So they need no runtime at all and never hold up weft_shutdown.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "debug.h"
#include "netpoll.h"
#include "os.h"
#include "runtime.h"
#include "worker.h"

enum {
    PD_CHUNK_SHIFT = 10,
    PD_CHUNK = 1 << PD_CHUNK_SHIFT, /* pds per chunk: 64 KiB */
    PD_NCHUNKS = 1 << 16,           /* so fds below 2^26 */
};

#define PLAIN_SLICE_NS ((int64_t)100000000) /* 100 ms */

struct netpoll wt_np = {.p = {.fd = -1, .wake_fd = -1}};

/* Chunks of the table, published with a release CAS, read with acquire. */
static _Atomic(struct pd *) pd_chunks[PD_NCHUNKS];

static_assert(sizeof(struct pd) == WT_CACHE_LINE, "a pd fills one cache line");

/* The pd of @fd (>= 0), allocating its chunk if @create. NULL if the chunk
 * is absent (or could not be allocated), or @fd is past the table. */
static struct pd *pd_lookup(int fd, bool create)
{
    size_t c = (size_t)fd >> PD_CHUNK_SHIFT;
    if (c >= PD_NCHUNKS)
        return NULL;
    /* Acquire pairs with the release CAS below: the chunk's zeroes are seen. */
    struct pd *chunk = atomic_load_explicit(&pd_chunks[c], memory_order_acquire);
    if (!chunk && create) {
        struct pd *fresh = wt_aligned_alloc(WT_CACHE_LINE, PD_CHUNK * sizeof(struct pd));
        if (!fresh)
            return NULL;
        memset(fresh, 0, PD_CHUNK * sizeof(struct pd)); /* unlocked, empty queues */
        if (atomic_compare_exchange_strong_explicit(&pd_chunks[c], &chunk, fresh,
                                                    memory_order_acq_rel, memory_order_acquire))
            chunk = fresh;
        else
            wt_free(fresh); /* another thread published one first: chunk is it */
    }
    return chunk ? &chunk[fd & (PD_CHUNK - 1)] : NULL;
}

/* System calls (see WT_NOIPA in netpoll.h). */

WT_NOIPA static int sys_fstat_mode(int fd, mode_t *mode)
{
    int saved = errno;
    struct stat st;
    int r = fstat(fd, &st) == 0 ? 0 : -errno;
    *mode = r ? 0 : st.st_mode;
    errno = saved;
    return r;
}

WT_NOIPA static int sys_set_nonblock(int fd)
{
    int saved = errno;
    int r = 0;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        r = -errno;
    else if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        r = -errno;
    errno = saved;
    return r;
}

WT_NOIPA static int sys_poll1(int fd, short events, int ms, short *revents)
{
    int saved = errno;
    struct pollfd p = {.fd = fd, .events = events, .revents = 0};
    int r = WT_FAULT_SYS(WT_FAULT_EINTR, poll(&p, 1, ms));
    if (r < 0)
        r = -errno;
    *revents = p.revents;
    errno = saved;
    return r;
}

WT_NOIPA static int sys_close(int fd)
{
    int saved = errno;
    int r = close(fd) == 0 ? 0 : -errno;
    errno = saved;
    /* Linux (and POSIX 2024 for this case) has released the fd even when
     * close says EINTR: retrying could close someone else's new fd. */
    return r == -EINTR ? 0 : r;
}

/* Startup and shutdown. */

int wt_netpoll_init(int nworkers)
{
    WT_ASSERT(!wt_np.open);
    int r = wt_poller_open(&wt_np.p, nworkers);
    if (r)
        return r;
    atomic_store_explicit(&wt_np.blocked, 0, memory_order_relaxed);
    atomic_store_explicit(&wt_np.nwaiters, 0, memory_order_relaxed);
    uint32_t gen = atomic_load_explicit(&wt_np.gen, memory_order_relaxed) + 1;
    /* Relaxed: the workers that read it are created after this (pthread_create
     * orders it). Never 0, which means "not armed". */
    atomic_store_explicit(&wt_np.gen, gen ? gen : 1, memory_order_relaxed);
    wt_np.open = true;
    return 0;
}

void wt_netpoll_fini(void)
{
    if (!wt_np.open)
        return;
    wt_poller_close(&wt_np.p);
    wt_np.open = false;
    /* The workers are gone and no plain thread is inside weft_close (its
     * foreign bracket has been waited out): what is still queued belongs
     * to abandoned fibers whose stacks are about to be unmapped. Forget it
     * without touching it. Registrations went with the poller: pd->armed
     * names an old generation, so the next runtime arms afresh. */
    for (size_t c = 0; c < PD_NCHUNKS; c++) {
        struct pd *chunk = atomic_load_explicit(&pd_chunks[c], memory_order_acquire);
        if (!chunk)
            continue;
        for (size_t i = 0; i < PD_CHUNK; i++) {
            struct pd *pd = &chunk[i];
            wt_spin_lock(&pd->lock);
            pd->q[0] = (struct wait_queue)WT_WAIT_QUEUE_INIT;
            pd->q[1] = (struct wait_queue)WT_WAIT_QUEUE_INIT;
            wt_spin_unlock(&pd->lock);
        }
    }
}

/* The poller's side. */

void wt_netpoll_ready(struct pd *pd, unsigned ev, struct waiter **ready)
{
    wt_spin_lock(&pd->lock);
    for (int d = 0; d < 2; d++) {
        if (!(ev & (1u << d)))
            continue;
        /* Release pairs with the acquire of wt_pd_snapshot() (the essay). */
        atomic_fetch_add_explicit(&pd->seq[d], 1, memory_order_release);
        struct waiter *n;
        while ((n = wt_wq_claim_first(&pd->q[d]))) {
            /* Ours until finished: unqueued, and its owner cannot return
             * before DONE, so its link is free to carry our list. */
            n->token = 0;
            n->next = *ready;
            *ready = n;
        }
    }
    wt_spin_unlock(&pd->lock);
}

void wt_netpoll_finish(struct waiter *ready)
{
    while (ready) {
        struct waiter *next = ready->next; /* before finishing: then it is gone */
        wt_waiter_finish(ready);
        ready = next;
    }
}

bool wt_netpoll_poll_slow(struct worker *w)
{
    struct waiter *ready = NULL;
    wt_poller_wait(&wt_np.p, w->index, 0, &ready);
    if (!ready)
        return false;
    wt_netpoll_finish(ready);
    return true;
}

bool wt_netpoll_claim(void)
{
    /* seq_cst, both: scheduler.c's argument (5) orders this load after a
     * failed claim of another worker, and the CAS before our re-check. */
    if (atomic_load_explicit(&wt_np.nwaiters, memory_order_seq_cst) <= 0)
        return false;
    int expected = 0;
    return atomic_compare_exchange_strong_explicit(&wt_np.blocked, &expected, NP_BLOCKED_WORKER,
                                                   memory_order_seq_cst, memory_order_seq_cst);
}

struct waiter *wt_netpoll_block(struct worker *w, int64_t deadline)
{
    struct waiter *ready = NULL;
    wt_poller_wait(&wt_np.p, w->index, deadline, &ready);
    return ready;
}

void wt_netpoll_unclaim(void)
{
    atomic_store_explicit(&wt_np.blocked, 0, memory_order_seq_cst);
}

void wt_netpoll_interrupt(void)
{
    if (wt_np.open)
        wt_poller_wake(&wt_np.p);
}

/* The I/O calls' side. */

/* First use of @fd since it was opened (or weft_close()d): is it pollable,
 * is it a socket; put it in O_NONBLOCK. */
static int prepare(int fd, uint32_t *flags)
{
    mode_t mode;
    int r = sys_fstat_mode(fd, &mode);
    if (r)
        return r;
    /* Always "ready" to poll(2), refused by epoll: they belong to offload. */
    if (S_ISREG(mode) || S_ISDIR(mode) || S_ISBLK(mode))
        return -ENOTSUP;
    r = sys_set_nonblock(fd);
    if (r)
        return r;
#ifdef SO_NOSIGPIPE
    /* Where send has no MSG_NOSIGNAL (macOS), the socket says it instead. */
    if (S_ISSOCK(mode)) {
        int saved = errno, one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
        errno = saved;
    }
#endif
    *flags = PD_PREPARED | (S_ISSOCK(mode) ? PD_SOCKET : 0);
    return 0;
}

int wt_pd_open(int fd, struct pd_ticket *t)
{
    if (fd < 0)
        return -EBADF;
    struct pd *pd = pd_lookup(fd, true);
    if (!pd) {
        if (((size_t)fd >> PD_CHUNK_SHIFT) < PD_NCHUNKS)
            return -ENOMEM;
        /* Past the table (fds >= 2^26): a number that is not open is -EBADF
         * as anywhere else; an open one cannot be tracked, so weft cannot
         * poll it (-ENOTSUP). Found by tests/fuzz (it was -EMFILE). */
        mode_t mode;
        int r = sys_fstat_mode(fd, &mode);
        return r ? r : -ENOTSUP;
    }
    t->pd = pd;
    t->fd = fd;
    /* Acquire: pairs with weft_close's release bump, so that what it reset
     * (flags, armed) is seen if its count is. */
    t->closes = atomic_load_explicit(&pd->closes, memory_order_acquire);
    uint32_t flags = atomic_load_explicit(&pd->flags, memory_order_acquire);
    if (WT_UNLIKELY(!(flags & PD_PREPARED))) {
        int r = prepare(fd, &flags);
        if (r)
            return r;
        wt_spin_lock(&pd->lock);
        bool closed = atomic_load_explicit(&pd->closes, memory_order_relaxed) != t->closes;
        if (!closed) /* Release: pairs with the acquire load above. */
            atomic_store_explicit(&pd->flags, flags, memory_order_release);
        wt_spin_unlock(&pd->lock);
        if (closed)
            return -EBADF;
    }
    t->flags = flags;
    struct worker *w = wt_worker_self();
    if (!w || !w->current)
        return 0; /* a plain thread: poll(2), no registration */
    uint32_t gen = atomic_load_explicit(&wt_np.gen, memory_order_relaxed); /* set before we ran */
    if (WT_LIKELY(atomic_load_explicit(&pd->armed, memory_order_acquire) == gen))
        return 0;
    /* Concurrent first uses may both arm: the second finds it registered,
     * which the backend accepts. No lock across the system call. */
    int r = wt_poller_arm(&wt_np.p, fd, pd);
    wt_spin_lock(&pd->lock);
    bool closed = atomic_load_explicit(&pd->closes, memory_order_relaxed) != t->closes;
    if (!closed && !r) /* Release: pairs with the acquire load above. */
        atomic_store_explicit(&pd->armed, gen, memory_order_release);
    wt_spin_unlock(&pd->lock);
    /* A weft_close racing the arm (its EPOLL_CTL_DEL between a racing
     * first use's ADD and our MOD gives ENOENT, its close(2) EBADF) is
     * the fd's close, whatever the poller said: -EBADF, as after the
     * arm. Found by tests/fuzz (weft_wait_fd returned -ENOENT). */
    return closed ? -EBADF : r;
}

void wt_pd_accepted(int fd)
{
    struct pd *pd = pd_lookup(fd, true);
    if (!pd)
        return; /* its first use will say why */
    /* A brand-new file: whatever the number's last user left (an fd closed
     * with close(2), not weft_close, and still marked registered) is stale.
     * The closes count stays, so that calls racing a weft_close still see it. */
    wt_spin_lock(&pd->lock);
    atomic_store_explicit(&pd->flags, PD_PREPARED | PD_SOCKET, memory_order_release);
    atomic_store_explicit(&pd->armed, 0, memory_order_release);
    wt_spin_unlock(&pd->lock);
}

void wt_pd_not_socket(struct pd_ticket *t)
{
    t->flags &= ~(uint32_t)PD_SOCKET;
    wt_spin_lock(&t->pd->lock);
    if (atomic_load_explicit(&t->pd->closes, memory_order_relaxed) == t->closes)
        atomic_fetch_and_explicit(&t->pd->flags, ~(uint32_t)PD_SOCKET, memory_order_release);
    wt_spin_unlock(&t->pd->lock);
}

/* Has @t's fd been weft_close()d since the call began? Under the pd lock,
 * as weft_close bumps the count: so that our use of the fd before the
 * check happens before its close(2) if we find it open, and we touch the
 * fd no more if we find it closed. (TSan checks exactly this pairing.) */
static bool closed_since(const struct pd_ticket *t)
{
    wt_spin_lock(&t->pd->lock);
    bool closed = atomic_load_explicit(&t->pd->closes, memory_order_relaxed) != t->closes;
    wt_spin_unlock(&t->pd->lock);
    return closed;
}

/* A plain thread: poll(2) until ready, the deadline, or a weft_close. */
static int wait_thread(const struct pd_ticket *t, unsigned events, int64_t deadline)
{
    short pev =
        (short)(((events & WT_POLL_READ) ? POLLIN : 0) | ((events & WT_POLL_WRITE) ? POLLOUT : 0));
    for (;;) {
        if (closed_since(t))
            return -EBADF;
        int64_t now = wt_os_now();
        if (deadline >= 0 && now >= deadline)
            return -ETIMEDOUT;
        int64_t slice = PLAIN_SLICE_NS;
        if (deadline >= 0 && deadline - now < slice)
            slice = deadline - now;
        int ms = (int)((slice + 999999) / 1000000); /* round up: never wake early */
        short rev;
        int r = sys_poll1(t->fd, pev, ms, &rev);
        if (r > 0)
            return (rev & POLLNVAL) || closed_since(t) ? -EBADF : 0;
        if (r < 0 && r != -EINTR && r != -EAGAIN)
            return r;
    }
}

int wt_pd_wait(const struct pd_ticket *t, unsigned events, const uint32_t seq[2], int64_t deadline)
{
    struct worker *w = wt_worker_self();
    if (!w || !w->current)
        return wait_thread(t, events, deadline);
    if (deadline >= 0 && deadline <= wt_os_now())
        return -ETIMEDOUT; /* never park for a deadline already past */
    struct pd *pd = t->pd;
    struct wait wt;
    int r = wt_wait_begin(&wt, w, WAITK_FD, pd);
    if (r)
        return r;
    struct waiter n[2];
    wt_waiter_init(&n[0], &wt, NULL, 1);
    wt_waiter_init(&n[1], &wt, NULL, 1);
    /* Before queueing, so that the worker we park on, or the holder of
     * the blocking poll, sees a waiter (scheduler.c, (5)). */
    atomic_fetch_add_explicit(&wt_np.nwaiters, 1, memory_order_seq_cst);
    wt_spin_lock(&pd->lock);
    bool closed = atomic_load_explicit(&pd->closes, memory_order_relaxed) != t->closes;
    bool edge = false;
    for (int d = 0; d < 2; d++)
        if ((events & (1u << d)) &&
            atomic_load_explicit(&pd->seq[d], memory_order_relaxed) != seq[d])
            edge = true;
    if (!closed && !edge)
        for (int d = 0; d < 2; d++)
            if (events & (1u << d))
                wt_wq_push(&pd->q[d], &n[d]);
    wt_spin_unlock(&pd->lock);
    if (closed || edge) {
        /* End the begun wait without parking: deadline 0 claims it for the
         * timeout unless a canceller got there first. */
        r = wt_wait_block(&wt, &w, 0);
        r = r == -ECANCELED ? r : closed ? -EBADF : 0;
    } else {
        r = wt_wait_block(&wt, &w, deadline);
        wt_spin_lock(&pd->lock);
        wt_wq_remove(&pd->q[0], &n[0]);
        wt_wq_remove(&pd->q[1], &n[1]);
        wt_spin_unlock(&pd->lock);
        /* The token was handed over between claim and finish (wait.h). */
        if (r == 0 && (n[0].token == -EBADF || n[1].token == -EBADF))
            r = -EBADF;
    }
    atomic_fetch_sub_explicit(&wt_np.nwaiters, 1, memory_order_seq_cst);
    return r;
}

int wt_pd_close(int fd)
{
    if (fd < 0)
        return -EBADF;
    struct pd *pd = pd_lookup(fd, false);
    if (pd) {
        struct worker *w = wt_worker_self();
        /* The queues and the poller belong to the running runtime: a plain
         * thread holds it open with the foreign bracket while it uses them. */
        bool live = w != NULL || wt_foreign_enter() == 0;
        struct waiter *woken = NULL;
        wt_spin_lock(&pd->lock);
        /* Release: pairs with the acquire loads of closes (wt_pd_open, a
         * plain thread's wait): they see the reset fields below with it. */
        atomic_fetch_add_explicit(&pd->closes, 1, memory_order_release);
        uint32_t armed = atomic_load_explicit(&pd->armed, memory_order_relaxed);
        atomic_store_explicit(&pd->armed, 0, memory_order_relaxed);
        atomic_store_explicit(&pd->flags, 0, memory_order_relaxed);
        for (int d = 0; live && d < 2; d++) {
            struct waiter *n;
            while ((n = wt_wq_claim_first(&pd->q[d]))) {
                n->token = -EBADF;
                n->next = woken;
                woken = n;
            }
        }
        wt_spin_unlock(&pd->lock);
        if (live) {
            wt_netpoll_finish(woken);
            if (armed && armed == atomic_load_explicit(&wt_np.gen, memory_order_relaxed))
                wt_poller_disarm(&wt_np.p, fd);
            if (!w)
                wt_foreign_leave();
        }
    }
    return sys_close(fd);
}
