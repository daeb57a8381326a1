/*
 * netpoll_kqueue.c - the FreeBSD/macOS backend of netpoll.h: one kqueue,
 * every fd registered once with an EVFILT_READ and an EVFILT_WRITE filter
 * (EV_CLEAR: edge-triggered), and an EVFILT_USER event that
 * wt_poller_wake() triggers to interrupt a blocked kevent(). The only file
 * that includes <sys/event.h>.
 *
 * Not built or run on the Linux machines this project is developed on;
 * meson compiles it only on FreeBSD and macOS (README, platform table).
 * Written against the contract in netpoll.h and the FreeBSD kqueue(2) and
 * macOS kevent(2) pages; nothing here is Linux-only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/event.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "debug.h"
#include "netpoll.h"
#include "os.h"

enum { NEVENTS = 128 };

struct slot {
    alignas(WT_CACHE_LINE) struct kevent ev[NEVENTS];
};

/* The ident of the wake-up event ("weft"); EVFILT_USER idents are ours. */
#define WAKE_IDENT ((uintptr_t)0x77656674)

/* kevent() with a change list and receipts for each change (EV_RECEIPT),
 * so that every change is applied and the first error is reported. */
WT_NOIPA static int sys_kevent_changes(int kq, struct kevent *ch, int n)
{
    int saved = errno;
    struct kevent out[2];
    struct timespec zero = {0, 0};
    int r = 0;
    WT_ASSERT(n <= 2);
    for (int i = 0; i < n; i++)
        ch[i].flags |= EV_RECEIPT;
    int got;
    do
        got = kevent(kq, ch, n, out, n, &zero);
    while (got < 0 && errno == EINTR); /* changes are idempotent: safe to apply again */
    if (got < 0)
        r = -errno;
    for (int i = 0; i < got && !r; i++)
        if ((out[i].flags & EV_ERROR) && out[i].data != 0)
            r = -(int)out[i].data;
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
    p->fd = kqueue(); /* macOS has no kqueue1(O_CLOEXEC) */
    if (p->fd < 0) {
        r = -errno;
        goto out_free;
    }
    if (fcntl(p->fd, F_SETFD, FD_CLOEXEC) < 0) {
        r = -errno;
        goto out_close;
    }
    struct kevent kev;
    EV_SET(&kev, WAKE_IDENT, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, NULL);
    r = sys_kevent_changes(p->fd, &kev, 1);
    if (r)
        goto out_close;
    goto out;

out_close:
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
    if (p->fd >= 0)
        close(p->fd);
    errno = saved;
    p->fd = -1;
    wt_free(p->slots);
    p->slots = NULL;
}

int wt_poller_arm(struct poller *p, int fd, struct pd *pd)
{
    struct kevent ch[2];
    /* EV_ADD of a knote that exists only updates it: arming twice is fine. */
    EV_SET(&ch[0], (uintptr_t)fd, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, pd);
    EV_SET(&ch[1], (uintptr_t)fd, EVFILT_WRITE, EV_ADD | EV_CLEAR, 0, 0, pd);
    int r = sys_kevent_changes(p->fd, ch, 2);
    /* A descriptor kqueue cannot watch (some devices) is refused with
     * EINVAL or ENODEV: the same case as epoll's EPERM. */
    if (r == -EINVAL || r == -ENODEV || r == -EPERM)
        r = -ENOTSUP;
    return r;
}

void wt_poller_disarm(struct poller *p, int fd)
{
    struct kevent ch[2];
    EV_SET(&ch[0], (uintptr_t)fd, EVFILT_READ, EV_DELETE, 0, 0, NULL);
    EV_SET(&ch[1], (uintptr_t)fd, EVFILT_WRITE, EV_DELETE, 0, 0, NULL);
    (void)sys_kevent_changes(p->fd, ch, 2); /* ENOENT: dropped already */
}

/* kevent() until @deadline (0: do not block; -1: no limit). Returns the
 * event count, 0 on EINTR. */
WT_NOIPA static int sys_kevent_wait(int kq, struct kevent *ev, int64_t deadline)
{
    int saved = errno;
    struct timespec ts, *tsp = NULL;
    if (deadline >= 0) {
        int64_t rel = deadline == 0 ? 0 : deadline - wt_os_now();
        if (rel < 0)
            rel = 0;
        ts.tv_sec = (time_t)(rel / 1000000000);
        ts.tv_nsec = (long)(rel % 1000000000);
        tsp = &ts;
    }
    int n = kevent(kq, NULL, 0, ev, NEVENTS, tsp);
    if (n < 0) {
        WT_ASSERT(errno == EINTR); /* anything else: our own kqueue is broken */
        n = 0;
    }
    errno = saved;
    return n;
}

void wt_poller_wait(struct poller *p, int slot, int64_t deadline, struct waiter **ready)
{
    WT_ASSERT(slot >= 0 && slot < p->nslots);
    struct kevent *ev = ((struct slot *)p->slots)[slot].ev;
    int n = sys_kevent_wait(p->fd, ev, deadline);
    for (int i = 0; i < n; i++) {
        if (ev[i].filter == EVFILT_USER) {
            /* EV_CLEAR: reporting it consumed it, whether or not we block
             * (netpoll.h says why that is still correct); so the flag is
             * cleared here in every case, or later wakes would be lost. */
            if (ev[i].ident == WAKE_IDENT)
                atomic_store_explicit(&p->wake_pending, 0, memory_order_seq_cst);
            continue;
        }
        unsigned bits = 0;
        if (ev[i].flags & EV_ERROR)
            bits = WT_POLL_READ | WT_POLL_WRITE;
        else if (ev[i].filter == EVFILT_READ)
            bits = WT_POLL_READ; /* EV_EOF included: the read reports it */
        else if (ev[i].filter == EVFILT_WRITE)
            bits = WT_POLL_WRITE;
        if (bits && ev[i].udata)
            wt_netpoll_ready((struct pd *)ev[i].udata, bits, ready);
    }
}

WT_NOIPA void wt_poller_wake(struct poller *p)
{
    /* seq_cst: the waker's side of scheduler.c's argument (4). */
    if (atomic_exchange_explicit(&p->wake_pending, 1, memory_order_seq_cst))
        return;
    int saved = errno;
    struct kevent kev;
    EV_SET(&kev, WAKE_IDENT, EVFILT_USER, 0, NOTE_TRIGGER, 0, NULL);
    while (kevent(p->fd, &kev, 1, NULL, 0, NULL) < 0 && errno == EINTR)
        ;
    errno = saved;
}
