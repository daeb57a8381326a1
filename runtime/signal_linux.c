/*
 * signal_linux.c - the Linux backend of signals.h: a signalfd for the set,
 * read until it yields a signal, waited on through weft_wait_fd (the
 * netpoller for a fiber, poll(2) for a plain thread), closed with
 * weft_close. One signalfd per call: a wait is rare, and a shared one
 * would need a set per waiter anyway.
 *
 * Readiness of a signalfd is judged by the thread that polls it: signals
 * queued for the process are seen from every thread, those queued for one
 * thread only from that one (weft/signal.h says to use process signals).
 */
#include <errno.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "alloc.h"
#include "netpoll.h"
#include "signals.h"
#include "weft.h"

WT_NOIPA static int sys_signalfd(const sigset_t *set)
{
    int saved = errno;
    int fd = WT_FAULT_SYS(WT_FAULT_SYSCALL, signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC));
    int r = fd >= 0 ? fd : -errno;
    errno = saved;
    return r;
}

/* Take one signal: its number, -EAGAIN if none is pending, or -errno. */
WT_NOIPA static int sys_take(int fd)
{
    int saved = errno;
    struct signalfd_siginfo si;
    ssize_t n;
    do
        n = read(fd, &si, sizeof si);
    while (n < 0 && errno == EINTR);
    int r = n == (ssize_t)sizeof si ? (int)si.ssi_signo : n < 0 ? -errno : -EIO;
    errno = saved;
    return r == -EWOULDBLOCK ? -EAGAIN : r;
}

int wt_signal_wait_os(const sigset_t *set, int64_t deadline)
{
    int fd = sys_signalfd(set);
    if (fd < 0)
        return fd;
    int r;
    for (;;) {
        r = sys_take(fd);
        if (r != -EAGAIN)
            break;
        r = weft_wait_fd(fd, WEFT_READABLE, deadline);
        if (r < 0)
            break;
    }
    (void)weft_close(fd);
    return r;
}
