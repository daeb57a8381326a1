/*
 * weft/io.h - fiber-aware I/O on file descriptors: the POSIX calls with a
 * weft_ prefix, which park the calling fiber (never its worker) until the
 * fd is ready, so a server reads like blocking code, one fiber per
 * connection, and runs on an epoll (Linux) or kqueue (BSD, macOS) loop.
 * Included by <weft.h>: include that, not this.
 *
 * Porting blocking code means adding the prefix and checking for < 0:
 *
 *     ssize_t n = weft_read(fd, buf, sizeof buf);   // was: read(fd, ...)
 *     if (n < 0) fprintf(stderr, "%s\n", weft_strerror((int)n));
 *
 * Conventions of this header, beside those of <weft.h>:
 *  - Arguments are those of the POSIX call of the same name. A call returns
 *    what POSIX returns on success (a byte count, 0, a new fd) and a
 *    negative errno code on failure: weft never sets errno, because a fiber
 *    may resume on another thread and a compiler may keep the old thread's
 *    errno address across the switch. The kernel's own codes (-ECONNRESET,
 *    -EPIPE, -ECONNREFUSED...) pass through unchanged.
 *  - Counts may be partial, as in POSIX: weft_read returns what is there
 *    (at least one byte, or 0 at end of file), weft_write what fitted (at
 *    least one byte). Loop to move a whole buffer.
 *  - EINTR is retried inside; a signal never shows through.
 *  - On its first use by weft an fd is checked to be pollable and put in
 *    O_NONBLOCK (a flag of the open file description, so dups and other
 *    processes sharing it see it too), and, when a fiber uses it, registered
 *    once with the kernel poller, edge-triggered. Do not clear O_NONBLOCK
 *    afterwards: a fiber would then block its worker thread.
 *  - Close such an fd with weft_close(), not close(2): weft_close wakes the
 *    fibers waiting on it and forgets weft's state for it. After close(2)
 *    the number's next user may inherit stale state and wait forever (fds
 *    from weft_accept() are always started afresh).
 *  - Regular files, directories and block devices are always "ready" to a
 *    poller and block in read/write anyway: they are refused with -ENOTSUP
 *    (as is any fd the kernel poller will not watch, e.g. /dev/null under
 *    epoll, from a fiber). Regular-file I/O belongs to weft_offload() (a
 *    separate change).
 *  - Sockets never raise SIGPIPE: every send path (weft_write and
 *    weft_writev on a socket included) passes MSG_NOSIGNAL, so a peer that
 *    has gone returns -EPIPE or -ECONNRESET. A pipe whose read end is
 *    closed raises SIGPIPE on write as write(2) does; a program that writes
 *    to pipes it does not control should ignore SIGPIPE (signal(SIGPIPE,
 *    SIG_IGN)), and then gets -EPIPE.
 *  - Blocking calls come in two forms: weft_x() waits without limit,
 *    weft_x_until(..., deadline) until an absolute weft_now() deadline
 *    (WEFT_FOREVER waits without limit; other negatives are -EINVAL; a
 *    deadline already past, 0 included, never waits and gives -ETIMEDOUT
 *    if the call cannot complete at once). A timed-out call has transferred
 *    nothing.
 *  - A fiber blocked in one of these calls returns -ECANCELED when
 *    weft_cancel() names it (and at once in every later blocking call).
 *  - From a plain thread (not a fiber), with or without a running runtime,
 *    every call works and blocks the thread in poll(2) instead of parking.
 *    A weft_close() of the fd by someone else is noticed by such a thread
 *    within 0.1 s (-EBADF); a fiber is woken at once.
 *  - One fd may be used by several fibers at once (say, one reading, one
 *    writing). All fibers waiting in the same direction are woken when the
 *    fd becomes ready; those that find nothing wait again.
 *
 * Error codes of this header, beside the kernel's:
 *   -EBADF      @fd is negative or not open, or weft_close() closed it while
 *               the call waited
 *   -ENOTSUP    @fd cannot be polled (a regular file...; see above)
 *   -ETIMEDOUT  the deadline passed before the call could complete
 *   -ECANCELED  the calling fiber was cancelled
 *   -EINVAL     a bad argument (deadline, events)
 *   -ENOMEM     out of memory (weft's per-fd state, or a fiber's timer)
 *   -EMFILE     from weft_accept: the process is out of fds (back off)
 */
#ifndef WEFT_IO_H
#define WEFT_IO_H

#ifndef WEFT_H
#error "include <weft.h>, not <weft/io.h>"
#endif

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/** weft_wait_fd() events: the fd can be read from / written to. */
#define WEFT_READABLE 1u
#define WEFT_WRITABLE 2u

/**
 * weft_read_until - read up to @count bytes from @fd into @buf.
 * @fd:       a pipe, socket, terminal, or other pollable fd.
 * @buf:      where the bytes go.
 * @count:    the most to read.
 * @deadline: absolute weft_now() time; WEFT_FOREVER to wait without limit.
 *
 * Waits until at least one byte can be read or end of file is reached.
 *
 * Return: the number of bytes read (0 at end of file, or if @count is 0);
 * -ETIMEDOUT; -ECANCELED; -EBADF; -ENOTSUP; -EINVAL for a bad @deadline;
 * -ENOMEM; or the kernel's code (-ECONNRESET...).
 * Context: any thread. May park.
 */
WEFT_API ssize_t weft_read_until(int fd, void *buf, size_t count, int64_t deadline);

/**
 * weft_read - weft_read_until() with no deadline.
 *
 * Return: as weft_read_until(), without -ETIMEDOUT.
 * Context: any thread. May park.
 */
WEFT_API ssize_t weft_read(int fd, void *buf, size_t count);

/**
 * weft_write_until - write up to @count bytes from @buf to @fd.
 * @fd:       a pipe, socket, terminal, or other pollable fd.
 * @buf:      the bytes.
 * @count:    how many.
 * @deadline: absolute weft_now() time; WEFT_FOREVER to wait without limit.
 *
 * Waits until some can be written, writes what fits and returns: the count
 * may be less than @count (loop to write it all). On a socket this is
 * send(MSG_NOSIGNAL).
 *
 * Return: the number of bytes written (at least 1 if @count > 0);
 * -ETIMEDOUT; -ECANCELED; -EBADF; -ENOTSUP; -EINVAL for a bad @deadline;
 * -ENOMEM; or the kernel's code (-EPIPE, -ECONNRESET...).
 * Context: any thread. May park.
 */
WEFT_API ssize_t weft_write_until(int fd, const void *buf, size_t count, int64_t deadline);

/**
 * weft_write - weft_write_until() with no deadline.
 *
 * Return: as weft_write_until(), without -ETIMEDOUT.
 * Context: any thread. May park.
 */
WEFT_API ssize_t weft_write(int fd, const void *buf, size_t count);

/**
 * weft_readv_until - read into the @iovcnt buffers of @iov (readv(2)).
 * @fd:       as for weft_read_until().
 * @iov:      the buffers, filled in order.
 * @iovcnt:   how many, 0..IOV_MAX.
 * @deadline: absolute weft_now() time; WEFT_FOREVER to wait without limit.
 *
 * Return: as weft_read_until(); -EINVAL also for a bad @iovcnt.
 * Context: any thread. May park.
 */
WEFT_API ssize_t weft_readv_until(int fd, const struct iovec *iov, int iovcnt, int64_t deadline);

/**
 * weft_readv - weft_readv_until() with no deadline.
 *
 * Return: as weft_readv_until(), without -ETIMEDOUT.
 * Context: any thread. May park.
 */
WEFT_API ssize_t weft_readv(int fd, const struct iovec *iov, int iovcnt);

/**
 * weft_writev_until - write from the @iovcnt buffers of @iov (writev(2)).
 * @fd:       as for weft_write_until().
 * @iov:      the buffers, written in order.
 * @iovcnt:   how many, 0..IOV_MAX.
 * @deadline: absolute weft_now() time; WEFT_FOREVER to wait without limit.
 *
 * May write less than the total, as weft_write_until(). On a socket this
 * is sendmsg(MSG_NOSIGNAL).
 *
 * Return: as weft_write_until(); -EINVAL also for a bad @iovcnt.
 * Context: any thread. May park.
 */
WEFT_API ssize_t weft_writev_until(int fd, const struct iovec *iov, int iovcnt, int64_t deadline);

/**
 * weft_writev - weft_writev_until() with no deadline.
 *
 * Return: as weft_writev_until(), without -ETIMEDOUT.
 * Context: any thread. May park.
 */
WEFT_API ssize_t weft_writev(int fd, const struct iovec *iov, int iovcnt);

/**
 * weft_recv_until - receive up to @len bytes from socket @fd (recv(2)).
 * @fd:       a socket.
 * @buf:      where the bytes go.
 * @len:      the most to receive.
 * @flags:    recv(2) flags. With MSG_DONTWAIT the call never waits and
 *            gives -EAGAIN if nothing is there.
 * @deadline: absolute weft_now() time; WEFT_FOREVER to wait without limit.
 *
 * Return: the number of bytes received (0: the peer shut down); -EAGAIN
 * only with MSG_DONTWAIT; otherwise as weft_read_until(), and -ENOTSOCK if
 * @fd is not a socket.
 * Context: any thread. May park.
 */
WEFT_API ssize_t weft_recv_until(int fd, void *buf, size_t len, int flags, int64_t deadline);

/**
 * weft_recv - weft_recv_until() with no deadline.
 *
 * Return: as weft_recv_until(), without -ETIMEDOUT.
 * Context: any thread. May park.
 */
WEFT_API ssize_t weft_recv(int fd, void *buf, size_t len, int flags);

/**
 * weft_send_until - send up to @len bytes on socket @fd (send(2)).
 * @fd:       a socket.
 * @buf:      the bytes.
 * @len:      how many.
 * @flags:    send(2) flags; MSG_NOSIGNAL is always added. With MSG_DONTWAIT
 *            the call never waits and gives -EAGAIN if nothing fits.
 * @deadline: absolute weft_now() time; WEFT_FOREVER to wait without limit.
 *
 * Return: the number of bytes sent (possibly fewer than @len on a stream
 * socket); -EAGAIN only with MSG_DONTWAIT; otherwise as
 * weft_write_until(), and -ENOTSOCK if @fd is not a socket.
 * Context: any thread. May park.
 */
WEFT_API ssize_t weft_send_until(int fd, const void *buf, size_t len, int flags, int64_t deadline);

/**
 * weft_send - weft_send_until() with no deadline.
 *
 * Return: as weft_send_until(), without -ETIMEDOUT.
 * Context: any thread. May park.
 */
WEFT_API ssize_t weft_send(int fd, const void *buf, size_t len, int flags);

/**
 * weft_recvfrom_until - receive a datagram or bytes, and the sender's
 * address (recvfrom(2)).
 * @fd:       a socket.
 * @buf:      where the bytes go.
 * @len:      the most to receive.
 * @flags:    as for weft_recv_until().
 * @addr:     NULL, or where the sender's address goes.
 * @addrlen:  NULL if @addr is; else in: the size of *@addr, out: the
 *            address's size.
 * @deadline: absolute weft_now() time; WEFT_FOREVER to wait without limit.
 *
 * Return: as weft_recv_until().
 * Context: any thread. May park.
 */
WEFT_API ssize_t weft_recvfrom_until(int fd, void *buf, size_t len, int flags,
                                     struct sockaddr *addr, socklen_t *addrlen, int64_t deadline);

/**
 * weft_recvfrom - weft_recvfrom_until() with no deadline.
 *
 * Return: as weft_recvfrom_until(), without -ETIMEDOUT.
 * Context: any thread. May park.
 */
WEFT_API ssize_t weft_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
                               socklen_t *addrlen);

/**
 * weft_sendto_until - send to address @addr (sendto(2)).
 * @fd:       a socket.
 * @buf:      the bytes.
 * @len:      how many.
 * @flags:    as for weft_send_until().
 * @addr:     the destination, or NULL on a connected socket.
 * @addrlen:  its size.
 * @deadline: absolute weft_now() time; WEFT_FOREVER to wait without limit.
 *
 * Return: as weft_send_until().
 * Context: any thread. May park.
 */
WEFT_API ssize_t weft_sendto_until(int fd, const void *buf, size_t len, int flags,
                                   const struct sockaddr *addr, socklen_t addrlen,
                                   int64_t deadline);

/**
 * weft_sendto - weft_sendto_until() with no deadline.
 *
 * Return: as weft_sendto_until(), without -ETIMEDOUT.
 * Context: any thread. May park.
 */
WEFT_API ssize_t weft_sendto(int fd, const void *buf, size_t len, int flags,
                             const struct sockaddr *addr, socklen_t addrlen);

/**
 * weft_recvmsg_until - receive a message (recvmsg(2)).
 * @fd:       a socket.
 * @msg:      the message header, filled in as by recvmsg(2).
 * @flags:    as for weft_recv_until().
 * @deadline: absolute weft_now() time; WEFT_FOREVER to wait without limit.
 *
 * Return: as weft_recv_until(); -EINVAL also if @msg is NULL.
 * Context: any thread. May park.
 */
WEFT_API ssize_t weft_recvmsg_until(int fd, struct msghdr *msg, int flags, int64_t deadline);

/**
 * weft_recvmsg - weft_recvmsg_until() with no deadline.
 *
 * Return: as weft_recvmsg_until(), without -ETIMEDOUT.
 * Context: any thread. May park.
 */
WEFT_API ssize_t weft_recvmsg(int fd, struct msghdr *msg, int flags);

/**
 * weft_sendmsg_until - send a message (sendmsg(2)).
 * @fd:       a socket.
 * @msg:      the message header.
 * @flags:    as for weft_send_until().
 * @deadline: absolute weft_now() time; WEFT_FOREVER to wait without limit.
 *
 * Return: as weft_send_until(); -EINVAL also if @msg is NULL.
 * Context: any thread. May park.
 */
WEFT_API ssize_t weft_sendmsg_until(int fd, const struct msghdr *msg, int flags, int64_t deadline);

/**
 * weft_sendmsg - weft_sendmsg_until() with no deadline.
 *
 * Return: as weft_sendmsg_until(), without -ETIMEDOUT.
 * Context: any thread. May park.
 */
WEFT_API ssize_t weft_sendmsg(int fd, const struct msghdr *msg, int flags);

/**
 * weft_accept_until - take a connection from listening socket @fd
 * (accept(2)).
 * @fd:       a listening socket.
 * @addr:     NULL, or where the peer's address goes.
 * @addrlen:  NULL if @addr is; else in: the size of *@addr, out: the
 *            address's size.
 * @deadline: absolute weft_now() time; WEFT_FOREVER to wait without limit.
 *
 * The new fd is non-blocking and close-on-exec, ready for the calls of this
 * header. A connection aborted before it was taken (ECONNABORTED) is
 * skipped, as Go does. Out of fds, the call returns -EMFILE (or -ENFILE) at
 * once: an accept loop should back off (weft_sleep) before trying again,
 * or it spins.
 *
 * Return: the new fd (>= 0); -EMFILE, -ENFILE; -ETIMEDOUT; -ECANCELED;
 * -EBADF; -ENOTSUP; -EINVAL for a bad @deadline or a socket that is not
 * listening; -ENOMEM; or the kernel's code.
 * Context: any thread. May park.
 */
WEFT_API int weft_accept_until(int fd, struct sockaddr *addr, socklen_t *addrlen, int64_t deadline);

/**
 * weft_accept - weft_accept_until() with no deadline.
 *
 * Return: as weft_accept_until(), without -ETIMEDOUT.
 * Context: any thread. May park.
 */
WEFT_API int weft_accept(int fd, struct sockaddr *addr, socklen_t *addrlen);

/**
 * weft_connect_until - connect socket @fd to @addr (connect(2)).
 * @fd:       a socket.
 * @addr:     the address.
 * @addrlen:  its size.
 * @deadline: absolute weft_now() time; WEFT_FOREVER to wait without limit.
 *
 * Starts the connection and waits until it is made or refused. After
 * -ETIMEDOUT or -ECANCELED the attempt may still be in progress in the
 * kernel: close the socket.
 *
 * Return: 0; -ECONNREFUSED, -ENETUNREACH... (the kernel's verdict);
 * -ETIMEDOUT; -ECANCELED; -EBADF; -ENOTSUP; -EINVAL for a bad @deadline;
 * -ENOMEM; -EISCONN if already connected.
 * Context: any thread. May park.
 */
WEFT_API int weft_connect_until(int fd, const struct sockaddr *addr, socklen_t addrlen,
                                int64_t deadline);

/**
 * weft_connect - weft_connect_until() with no deadline.
 *
 * Return: as weft_connect_until(), without -ETIMEDOUT.
 * Context: any thread. May park.
 */
WEFT_API int weft_connect(int fd, const struct sockaddr *addr, socklen_t addrlen);

/**
 * weft_close - close @fd, waking every fiber waiting on it.
 * @fd: an fd, used with weft's calls or not.
 *
 * Every fiber blocked in a call of this header on @fd returns -EBADF at
 * once (a plain thread within 0.1 s); @fd is removed from the kernel
 * poller, then closed. A call that begins on @fd afterwards gets -EBADF
 * (unless the number has been reused by then: as with close(2), do not
 * close an fd that another fiber may be about to use). Never blocks; EINTR
 * from close(2) counts as closed (Linux has released the fd).
 *
 * Return: 0; -EBADF if @fd is negative or not open; -EIO or another code
 * of close(2) (the fd is closed all the same).
 * Context: any thread.
 */
WEFT_API int weft_close(int fd);

/**
 * weft_wait_fd - wait until @fd is ready for @events.
 * @fd:       a pollable fd.
 * @events:   WEFT_READABLE, WEFT_WRITABLE, or both.
 * @deadline: absolute weft_now() time; WEFT_FOREVER to wait without limit.
 *
 * For calls this header lacks (a library's own non-blocking I/O, an
 * SSL_read that wants more): returns as soon as @fd is ready for one of
 * @events. A hang-up or an error counts as ready for every requested event:
 * the next call on the fd reports it. Readiness is a hint, as with poll(2):
 * the next call may still find nothing and should then wait again.
 *
 * Return: the ready subset of @events (> 0); -ETIMEDOUT; -ECANCELED;
 * -EBADF; -ENOTSUP; -EINVAL if @events is 0 or has other bits, or
 * @deadline is bad; -ENOMEM.
 * Context: any thread. May park.
 */
WEFT_API int weft_wait_fd(int fd, unsigned events, int64_t deadline);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_IO_H */
