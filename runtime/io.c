/*
 * io.c - the public I/O calls of weft/io.h: try the system call; on EAGAIN
 * wait for the fd through netpoll (park the fiber, or poll(2) on a plain
 * thread) and try again. What waiting means, and why no readiness edge is
 * lost between the try and the wait, is netpoll.c's business.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "debug.h"
#include "netpoll.h"
#include "weft.h"
#include "wt_config.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* macOS: SO_NOSIGPIPE is set on the socket instead (netpoll.c) */
#endif

static_assert(WEFT_READABLE == WT_POLL_READ && WEFT_WRITABLE == WT_POLL_WRITE,
              "public and internal readiness bits agree");

enum op_kind {
    OP_READ,
    OP_WRITE,
    OP_READV,
    OP_WRITEV,
    OP_RECV,
    OP_SEND,
    OP_RECVFROM,
    OP_SENDTO,
    OP_RECVMSG,
    OP_SENDMSG,
    OP_ACCEPT,
};

/* One call's arguments, whatever the call. */
struct io_op {
    enum op_kind kind;
    int fd;
    int flags; /* send/recv flags */
    void *buf;
    const void *cbuf;
    size_t len;
    const struct iovec *iov;
    int iovcnt;
    struct sockaddr *addr;
    const struct sockaddr *caddr;
    socklen_t *addrlenp;
    socklen_t addrlen;
    struct msghdr *msg;
    const struct msghdr *cmsg;
};

/* The socket calls' flags: never block in the kernel (even if someone
 * cleared O_NONBLOCK), never raise SIGPIPE. */
#define RECV_FLAGS MSG_DONTWAIT
#define SEND_FLAGS (MSG_DONTWAIT | MSG_NOSIGNAL)

/* accept4 where there is one (Linux, FreeBSD); accept and two fcntls
 * elsewhere (macOS), where an exec racing us may inherit the fd. */
static int accept_nb(int fd, struct sockaddr *addr, socklen_t *len)
{
#if WT_HAVE_ACCEPT4
    return accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    int nfd = accept(fd, addr, len);
    if (nfd >= 0) {
        int fl = fcntl(nfd, F_GETFL);
        if (fl < 0 || fcntl(nfd, F_SETFL, fl | O_NONBLOCK) < 0 ||
            fcntl(nfd, F_SETFD, FD_CLOEXEC) < 0) {
            int e = errno;
            close(nfd);
            errno = e;
            return -1;
        }
#ifdef SO_NOSIGPIPE
        int one = 1; /* no MSG_NOSIGNAL there: wt_pd_accepted skips prepare() */
        (void)setsockopt(nfd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    }
    return nfd;
#endif
}

/*
 * One try of @op's system call. Returns its result or -errno; EINTR (and
 * ECONNABORTED for accept) are retried here. WT_NOIPA: see netpoll.h.
 */
WT_NOIPA static ssize_t attempt(const struct io_op *op, uint32_t pdflags)
{
    int saved = errno;
    ssize_t r;
    bool sock = pdflags & PD_SOCKET;
    for (;;) {
        switch (op->kind) {
        case OP_READ:
            r = read(op->fd, op->buf, op->len);
            break;
        case OP_WRITE:
            r = sock ? send(op->fd, op->cbuf, op->len, SEND_FLAGS)
                     : write(op->fd, op->cbuf, op->len);
            break;
        case OP_READV:
            r = readv(op->fd, op->iov, op->iovcnt);
            break;
        case OP_WRITEV:
            if (sock) {
                struct msghdr m = {.msg_iov = (struct iovec *)op->iov,
                                   .msg_iovlen = (size_t)op->iovcnt};
                r = op->iovcnt < 0 ? (errno = EINVAL, -1) : sendmsg(op->fd, &m, SEND_FLAGS);
            } else {
                r = writev(op->fd, op->iov, op->iovcnt);
            }
            break;
        case OP_RECV:
            r = recv(op->fd, op->buf, op->len, op->flags | RECV_FLAGS);
            break;
        case OP_SEND:
            r = send(op->fd, op->cbuf, op->len, op->flags | SEND_FLAGS);
            break;
        case OP_RECVFROM:
            r = recvfrom(op->fd, op->buf, op->len, op->flags | RECV_FLAGS, op->addr, op->addrlenp);
            break;
        case OP_SENDTO:
            r = sendto(op->fd, op->cbuf, op->len, op->flags | SEND_FLAGS, op->caddr, op->addrlen);
            break;
        case OP_RECVMSG:
            r = recvmsg(op->fd, op->msg, op->flags | RECV_FLAGS);
            break;
        case OP_SENDMSG:
            r = sendmsg(op->fd, op->cmsg, op->flags | SEND_FLAGS);
            break;
        case OP_ACCEPT:
            r = accept_nb(op->fd, op->addr, op->addrlenp);
            break;
        default:
            r = -1;
            errno = EINVAL;
            break;
        }
        if (r >= 0)
            break;
        int e = errno;
        if (e == EINTR || (op->kind == OP_ACCEPT && e == ECONNABORTED))
            continue;
        r = e == EWOULDBLOCK ? -EAGAIN : -e;
        break;
    }
    errno = saved;
    return r;
}

static bool op_is_socket_call(enum op_kind k)
{
    return k >= OP_RECV && k <= OP_SENDMSG;
}

static unsigned op_direction(enum op_kind k)
{
    switch (k) {
    case OP_WRITE:
    case OP_WRITEV:
    case OP_SEND:
    case OP_SENDTO:
    case OP_SENDMSG:
        return WT_POLL_WRITE;
    default:
        return WT_POLL_READ;
    }
}

/* Try, wait, retry: the loop every call of this file runs. */
static ssize_t run(const struct io_op *op, int64_t deadline)
{
    if (deadline < WEFT_FOREVER)
        return -EINVAL;
    struct pd_ticket t;
    int r = wt_pd_open(op->fd, &t);
    if (r)
        return r;
    bool dontwait = op_is_socket_call(op->kind) && (op->flags & MSG_DONTWAIT);
    unsigned dir = op_direction(op->kind);
    for (;;) {
        uint32_t seq[2];
        wt_pd_snapshot(&t, seq); /* before the try: netpoll.c's essay */
        ssize_t n = attempt(op, t.flags);
        if (WT_UNLIKELY(n == -ENOTSOCK) && (t.flags & PD_SOCKET) &&
            (op->kind == OP_WRITE || op->kind == OP_WRITEV)) {
            wt_pd_not_socket(&t); /* stale state of a reused fd number */
            continue;
        }
        if (n != -EAGAIN || dontwait)
            return n;
        r = wt_pd_wait(&t, dir, seq, deadline);
        if (r)
            return r;
    }
}

/* Level-triggered check of @fd for @events (WT_POLL_*), without waiting:
 * the ready subset, 0, or -EBADF. */
WT_NOIPA static int ready_now(int fd, unsigned events)
{
    int saved = errno;
    struct pollfd p = {.fd = fd,
                       .events = (short)(((events & WT_POLL_READ) ? POLLIN : 0) |
                                         ((events & WT_POLL_WRITE) ? POLLOUT : 0)),
                       .revents = 0};
    int r;
    do
        r = poll(&p, 1, 0);
    while (r < 0 && errno == EINTR);
    int e = errno;
    errno = saved;
    if (r < 0)
        return -e;
    if (p.revents & POLLNVAL)
        return -EBADF;
    unsigned got = 0;
    if (p.revents & (POLLIN | POLLHUP | POLLERR))
        got |= WT_POLL_READ;
    if (p.revents & (POLLOUT | POLLHUP | POLLERR))
        got |= WT_POLL_WRITE;
    return (int)(got & events);
}

/* Wait, level-triggered, until @t's fd is ready for @events: the ready
 * subset (> 0) or an error. */
static int wait_ready(const struct pd_ticket *t, unsigned events, int64_t deadline)
{
    for (;;) {
        uint32_t seq[2];
        wt_pd_snapshot(t, seq); /* before the check, as before a try */
        int got = ready_now(t->fd, events);
        if (got != 0)
            return got;
        int r = wt_pd_wait(t, events, seq, deadline);
        if (r)
            return r;
    }
}

ssize_t weft_read_until(int fd, void *buf, size_t count, int64_t deadline)
{
    struct io_op op = {.kind = OP_READ, .fd = fd, .buf = buf, .len = count};
    return run(&op, deadline);
}

ssize_t weft_read(int fd, void *buf, size_t count)
{
    return weft_read_until(fd, buf, count, WEFT_FOREVER);
}

ssize_t weft_write_until(int fd, const void *buf, size_t count, int64_t deadline)
{
    struct io_op op = {.kind = OP_WRITE, .fd = fd, .cbuf = buf, .len = count};
    return run(&op, deadline);
}

ssize_t weft_write(int fd, const void *buf, size_t count)
{
    return weft_write_until(fd, buf, count, WEFT_FOREVER);
}

ssize_t weft_readv_until(int fd, const struct iovec *iov, int iovcnt, int64_t deadline)
{
    struct io_op op = {.kind = OP_READV, .fd = fd, .iov = iov, .iovcnt = iovcnt};
    return run(&op, deadline);
}

ssize_t weft_readv(int fd, const struct iovec *iov, int iovcnt)
{
    return weft_readv_until(fd, iov, iovcnt, WEFT_FOREVER);
}

ssize_t weft_writev_until(int fd, const struct iovec *iov, int iovcnt, int64_t deadline)
{
    struct io_op op = {.kind = OP_WRITEV, .fd = fd, .iov = iov, .iovcnt = iovcnt};
    return run(&op, deadline);
}

ssize_t weft_writev(int fd, const struct iovec *iov, int iovcnt)
{
    return weft_writev_until(fd, iov, iovcnt, WEFT_FOREVER);
}

ssize_t weft_recv_until(int fd, void *buf, size_t len, int flags, int64_t deadline)
{
    struct io_op op = {.kind = OP_RECV, .fd = fd, .buf = buf, .len = len, .flags = flags};
    return run(&op, deadline);
}

ssize_t weft_recv(int fd, void *buf, size_t len, int flags)
{
    return weft_recv_until(fd, buf, len, flags, WEFT_FOREVER);
}

ssize_t weft_send_until(int fd, const void *buf, size_t len, int flags, int64_t deadline)
{
    struct io_op op = {.kind = OP_SEND, .fd = fd, .cbuf = buf, .len = len, .flags = flags};
    return run(&op, deadline);
}

ssize_t weft_send(int fd, const void *buf, size_t len, int flags)
{
    return weft_send_until(fd, buf, len, flags, WEFT_FOREVER);
}

ssize_t weft_recvfrom_until(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
                            socklen_t *addrlen, int64_t deadline)
{
    struct io_op op = {.kind = OP_RECVFROM,
                       .fd = fd,
                       .buf = buf,
                       .len = len,
                       .flags = flags,
                       .addr = addr,
                       .addrlenp = addrlen};
    return run(&op, deadline);
}

ssize_t weft_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
                      socklen_t *addrlen)
{
    return weft_recvfrom_until(fd, buf, len, flags, addr, addrlen, WEFT_FOREVER);
}

ssize_t weft_sendto_until(int fd, const void *buf, size_t len, int flags,
                          const struct sockaddr *addr, socklen_t addrlen, int64_t deadline)
{
    struct io_op op = {.kind = OP_SENDTO,
                       .fd = fd,
                       .cbuf = buf,
                       .len = len,
                       .flags = flags,
                       .caddr = addr,
                       .addrlen = addrlen};
    return run(&op, deadline);
}

ssize_t weft_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *addr,
                    socklen_t addrlen)
{
    return weft_sendto_until(fd, buf, len, flags, addr, addrlen, WEFT_FOREVER);
}

ssize_t weft_recvmsg_until(int fd, struct msghdr *msg, int flags, int64_t deadline)
{
    if (!msg)
        return -EINVAL;
    struct io_op op = {.kind = OP_RECVMSG, .fd = fd, .msg = msg, .flags = flags};
    return run(&op, deadline);
}

ssize_t weft_recvmsg(int fd, struct msghdr *msg, int flags)
{
    return weft_recvmsg_until(fd, msg, flags, WEFT_FOREVER);
}

ssize_t weft_sendmsg_until(int fd, const struct msghdr *msg, int flags, int64_t deadline)
{
    if (!msg)
        return -EINVAL;
    struct io_op op = {.kind = OP_SENDMSG, .fd = fd, .cmsg = msg, .flags = flags};
    return run(&op, deadline);
}

ssize_t weft_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    return weft_sendmsg_until(fd, msg, flags, WEFT_FOREVER);
}

int weft_accept_until(int fd, struct sockaddr *addr, socklen_t *addrlen, int64_t deadline)
{
    struct io_op op = {.kind = OP_ACCEPT, .fd = fd, .addr = addr, .addrlenp = addrlen};
    ssize_t nfd = run(&op, deadline);
    if (nfd >= 0)
        wt_pd_accepted((int)nfd);
    return (int)nfd;
}

int weft_accept(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
    return weft_accept_until(fd, addr, addrlen, WEFT_FOREVER);
}

WT_NOIPA static int sys_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    int saved = errno;
    int r = connect(fd, addr, len) == 0 ? 0 : -errno;
    errno = saved;
    return r;
}

WT_NOIPA static int sys_so_error(int fd)
{
    int saved = errno;
    int err = 0;
    socklen_t len = sizeof err;
    int r = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 ? -err : -errno;
    errno = saved;
    return r;
}

int weft_connect_until(int fd, const struct sockaddr *addr, socklen_t addrlen, int64_t deadline)
{
    if (deadline < WEFT_FOREVER)
        return -EINVAL;
    struct pd_ticket t;
    int r = wt_pd_open(fd, &t);
    if (r)
        return r;
    r = sys_connect(fd, addr, addrlen);
    /* EINTR: the attempt goes on in the background, as EINPROGRESS says;
     * calling connect again would say EALREADY. Wait for it either way. */
    if (r != -EINPROGRESS && r != -EINTR)
        return r;
    r = wait_ready(&t, WT_POLL_WRITE, deadline);
    return r < 0 ? r : sys_so_error(fd);
}

int weft_connect(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
    return weft_connect_until(fd, addr, addrlen, WEFT_FOREVER);
}

int weft_close(int fd)
{
    return wt_pd_close(fd);
}

int weft_wait_fd(int fd, unsigned events, int64_t deadline)
{
    if (events == 0 || (events & ~(WEFT_READABLE | WEFT_WRITABLE)) || deadline < WEFT_FOREVER)
        return -EINVAL;
    struct pd_ticket t;
    int r = wt_pd_open(fd, &t);
    if (r)
        return r;
    return wait_ready(&t, events, deadline);
}
