/*
 * netpoll_epoll.c - the Linux backend of netpoll.h: one epoll instance,
 * every fd registered once with EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET, and a
 * level-triggered eventfd that wt_poller_wake() writes to interrupt a
 * blocked epoll_wait. The only file that includes <sys/epoll.h>.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "debug.h"
#include "netpoll.h"
#include "os.h"

enum { NEVENTS = 128 }; /* per slot, per wait: 1.5 KiB */

struct slot {
    alignas(WT_CACHE_LINE) struct epoll_event ev[NEVENTS];
};

/* epoll_event.data of the eventfd; a pd pointer is never NULL. */
#define WAKE_TOKEN NULL

WT_NOIPA static int sys_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    int saved = errno;
    int r = WT_FAULT_SYS(WT_FAULT_SYSCALL, epoll_ctl(epfd, op, fd, ev)) == 0 ? 0 : -errno;
    errno = saved;
    return r;
}

int wt_poller_open(struct poller *p, int nslots)
{
    int saved = errno;
    int r = 0;
    p->fd = p->wake_fd = -1;
    atomic_store_explicit(&p->wake_pending, 0, memory_order_relaxed);
    p->nslots = nslots;
    p->slots = wt_aligned_alloc(WT_CACHE_LINE, (size_t)nslots * sizeof(struct slot));
    if (!p->slots) {
        r = -ENOMEM;
        goto out;
    }
    p->fd = WT_FAULT_SYS(WT_FAULT_SYSCALL, epoll_create1(EPOLL_CLOEXEC));
    if (p->fd < 0) {
        r = -errno;
        goto out_free;
    }
    p->wake_fd = WT_FAULT_SYS(WT_FAULT_SYSCALL, eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (p->wake_fd < 0) {
        r = -errno;
        goto out_close_epoll;
    }
    /* Level-triggered: a non-blocking wait that sees it leaves it set, so
     * the blocked worker the wake was meant for is woken all the same. */
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = WAKE_TOKEN};
    r = sys_epoll_ctl(p->fd, EPOLL_CTL_ADD, p->wake_fd, &ev);
    if (r)
        goto out_close_eventfd;
    goto out;

out_close_eventfd:
    close(p->wake_fd);
    p->wake_fd = -1;
out_close_epoll:
    close(p->fd);
    p->fd = -1;
out_free:
    wt_free(p->slots);
    p->slots = NULL;
out:
    errno = saved;
    return r;
}

void wt_poller_close(struct poller *p)
{
    int saved = errno;
    if (p->wake_fd >= 0)
        close(p->wake_fd);
    if (p->fd >= 0)
        close(p->fd);
    errno = saved;
    p->fd = p->wake_fd = -1;
    wt_free(p->slots);
    p->slots = NULL;
}

int wt_poller_arm(struct poller *p, int fd, struct pd *pd)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = pd};
    /* Registered already (a racing first use): point it at pd. A MOD that
     * finds it gone (ENOENT: a racing close or another first use's failed
     * arm unregistered it in between) adds it again; a few rounds at most,
     * then the fd is in flux under a racing close: -EBADF. */
    int r = sys_epoll_ctl(p->fd, EPOLL_CTL_ADD, fd, &ev);
    for (int round = 0; r == -EEXIST && round < 4; round++) {
        r = sys_epoll_ctl(p->fd, EPOLL_CTL_MOD, fd, &ev);
        if (r == -ENOENT)
            r = sys_epoll_ctl(p->fd, EPOLL_CTL_ADD, fd, &ev);
    }
    if (r == -EEXIST || r == -ENOENT)
        r = -EBADF;
    if (r == -EPERM) /* epoll's word for "this file does not support polling" */
        r = -ENOTSUP;
    return r;
}

void wt_poller_disarm(struct poller *p, int fd)
{
    struct epoll_event ev = {0}; /* ignored, but kernels before 2.6.9 wanted one */
    (void)sys_epoll_ctl(p->fd, EPOLL_CTL_DEL, fd, &ev);
}

#ifdef SYS_epoll_pwait2
/* epoll_pwait2 (Linux 5.11) takes a timespec; older kernels say ENOSYS once. */
static _Atomic bool no_pwait2;
#endif

/* epoll_wait until @deadline (0: do not block; -1: no limit). Returns the
 * event count, 0 on EINTR. */
WT_NOIPA static int sys_epoll_wait(int epfd, struct epoll_event *ev, int64_t deadline)
{
    int saved = errno;
    int n;
    int64_t rel = 0;
    if (deadline > 0) {
        rel = deadline - wt_os_now();
        if (rel < 0)
            rel = 0;
    }
#ifdef SYS_epoll_pwait2
    /* Relaxed: a hint; every thread that reads it stale just asks again. */
    if (deadline > 0 && !atomic_load_explicit(&no_pwait2, memory_order_relaxed)) {
        struct timespec ts = {.tv_sec = rel / 1000000000, .tv_nsec = rel % 1000000000};
        n = (int)WT_FAULT_SYS(WT_FAULT_EINTR,
                              syscall(SYS_epoll_pwait2, epfd, ev, NEVENTS, &ts, NULL, (size_t)0));
        if (n >= 0 || errno != ENOSYS)
            goto out;
        atomic_store_explicit(&no_pwait2, true, memory_order_relaxed);
    }
#endif
    int ms = deadline < 0 ? -1 : 0;
    if (deadline > 0) /* round up, so that a timer is never woken for early */
        ms = rel / 1000000 >= INT_MAX ? INT_MAX : (int)((rel + 999999) / 1000000);
    n = WT_FAULT_SYS(WT_FAULT_EINTR, epoll_wait(epfd, ev, NEVENTS, ms));
#ifdef SYS_epoll_pwait2
out:
#endif
    if (n < 0) {
        /* EINTR: a signal (epoll_wait is never restarted). Anything else
         * is a defect: our own descriptors and buffer. */
        WT_ASSERT(errno == EINTR);
        n = 0;
    }
    errno = saved;
    return n;
}

WT_NOIPA static void drain_eventfd(int fd)
{
    int saved = errno;
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v); /* EAGAIN: drained by another already */
    (void)r;
    errno = saved;
}

void wt_poller_wait(struct poller *p, int slot, int64_t deadline, struct waiter **ready)
{
    WT_ASSERT(slot >= 0 && slot < p->nslots);
    struct epoll_event *ev = ((struct slot *)p->slots)[slot].ev;
    int n = sys_epoll_wait(p->fd, ev, deadline);
    for (int i = 0; i < n; i++) {
        if (ev[i].data.ptr == WAKE_TOKEN) {
            /* Only a blocking wait consumes the wake (netpoll.h). Drain,
             * then clear the flag: a wake after the drain writes again. */
            if (deadline != 0) {
                drain_eventfd(p->wake_fd);
                atomic_store_explicit(&p->wake_pending, 0, memory_order_seq_cst);
            }
            continue;
        }
        uint32_t e = ev[i].events;
        unsigned bits = 0;
        if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            bits |= WT_POLL_READ;
        if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
            bits |= WT_POLL_WRITE;
        if (bits)
            wt_netpoll_ready(ev[i].data.ptr, bits, ready);
    }
}

WT_NOIPA void wt_poller_wake(struct poller *p)
{
    /* seq_cst: the waker's side of scheduler.c's argument (4); a wake
     * already pending will make the blocked worker look for work. */
    if (atomic_exchange_explicit(&p->wake_pending, 1, memory_order_seq_cst))
        return;
    int saved = errno;
    uint64_t one = 1;
    ssize_t r;
    do
        r = write(p->wake_fd, &one, sizeof one);
    while (r < 0 && errno == EINTR);
    /* EAGAIN: the counter is full, so the eventfd is readable anyway. */
    errno = saved;
}
