/*
 * io_test.c - fiber-aware I/O through weft.h alone: readiness on pipes and
 * socketpairs parks the fiber and not its worker, deadlines (past, future,
 * bad), close-while-waiting wakes with -EBADF, regular files and bad fds
 * are refused with their codes, partial writes lose nothing, a peer that
 * goes away is an error code (never SIGPIPE), cancellation wakes a fiber
 * blocked in a read, EINTR never shows, and plain threads block in poll(2).
 *
 * Cases run on one worker where the property is "the worker was free while
 * the fiber waited" (then the other fiber could only run if the first one
 * parked), and on two or four elsewhere, so that wake-ups cross workers.
 */
#include "weft.h"

#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define MS ((int64_t)1000000)
#define S  ((int64_t)1000000000)

static weft_config one_worker = {.workers = 1};
static weft_config two_workers = {.workers = 2};

/* Run @fn as the root fiber of a fresh runtime with @cfg; its result is the
 * number of failed expectations it counted (fibers must not CHECK: that
 * would longjmp across threads). */
static long run_root(const weft_config *cfg, weft_fn fn, void *arg)
{
    settle();
    void *res = (void *)(intptr_t)-1;
    int r = weft_main(cfg, fn, arg, &res);
    EXPECT_EQ(r, 0);
    return (long)(intptr_t)res;
}

static void start_case(void)
{
    atomic_store(&fiber_failures, 0);
}

static void end_case(void)
{
    EXPECT_EQ(atomic_load(&fiber_failures), 0);
}

static void make_pipe(int p[2])
{
    CHECK_OK(pipe(p));
}

static bool fd_is_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

/* --- readiness ------------------------------------------------------- */

struct xfer {
    int rfd, wfd;
    _Atomic int reader_in; /* set just before the reader's blocking call */
    ssize_t got;
    char buf[64];
};

static void *reader(void *arg)
{
    struct xfer *x = arg;
    atomic_store(&x->reader_in, 1);
    x->got = weft_read(x->rfd, x->buf, sizeof x->buf);
    return NULL;
}

/* On one worker: the reader parks on the empty pipe (else the writer could
 * never run), and the write wakes it with the bytes. */
static void *pipe_read_parks_body(void *arg)
{
    (void)arg;
    int p[2];
    if (pipe(p) != 0)
        return (void *)1;
    struct xfer x = {.rfd = p[0], .wfd = p[1]};
    weft_fiber f;
    FEXPECT_EQ(weft_spawn(&f, reader, &x, NULL), 0);
    while (!atomic_load(&x.reader_in))
        weft_yield();
    /* One worker, and the reader never yields before it parks: it has. */
    FEXPECT_EQ(weft_write(p[1], "hello", 5), 5);
    FEXPECT_EQ(weft_join(f, NULL), 0);
    FEXPECT_EQ(x.got, 5);
    FEXPECT(memcmp(x.buf, "hello", 5) == 0);
    FEXPECT_EQ(weft_close(p[0]), 0);
    FEXPECT_EQ(weft_close(p[1]), 0);
    return NULL;
}

TEST(pipe_read_parks_fiber_not_worker)
{
    start_case();
    EXPECT_EQ(run_root(&one_worker, pipe_read_parks_body, NULL), 0);
    end_case();
}

/* Both directions of a socketpair, across two workers, many times: each
 * message written by one side is read whole by the other. */
struct pingpong {
    int fd;
    int rounds;
    bool starter;
};

static bool read_u32(int fd, uint32_t *v)
{
    size_t got = 0;
    while (got < sizeof *v) {
        ssize_t n = weft_read(fd, (char *)v + got, sizeof *v - got);
        if (n <= 0)
            return false;
        got += (size_t)n;
    }
    return true;
}

/* The starter sends 2i+1 and expects 2i+2 back; the other side answers
 * each value with its successor. Returns how many values were right. */
static void *pingpong_side(void *arg)
{
    struct pingpong *pp = arg;
    uintptr_t right = 0;
    for (int i = 0; i < pp->rounds; i++) {
        uint32_t in = 0, out = 2u * (uint32_t)i + 1;
        if (pp->starter) {
            FEXPECT_EQ(weft_write(pp->fd, &out, sizeof out), (ssize_t)sizeof out);
            FEXPECT(read_u32(pp->fd, &in));
            right += in == out + 1;
        } else {
            FEXPECT(read_u32(pp->fd, &in));
            right += in == out;
            in++;
            FEXPECT_EQ(weft_write(pp->fd, &in, sizeof in), (ssize_t)sizeof in);
        }
    }
    return (void *)right;
}

static void *socketpair_pingpong_body(void *arg)
{
    (void)arg;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return (void *)1;
    enum { ROUNDS = 2000 };
    struct pingpong a = {.fd = sv[0], .rounds = ROUNDS, .starter = true};
    struct pingpong b = {.fd = sv[1], .rounds = ROUNDS, .starter = false};
    weft_fiber fa, fb;
    FEXPECT_EQ(weft_spawn(&fa, pingpong_side, &a, NULL), 0);
    FEXPECT_EQ(weft_spawn(&fb, pingpong_side, &b, NULL), 0);
    void *ra, *rb;
    FEXPECT_EQ(weft_join(fa, &ra), 0);
    FEXPECT_EQ(weft_join(fb, &rb), 0);
    FEXPECT_EQ((uintptr_t)ra, ROUNDS);
    FEXPECT_EQ((uintptr_t)rb, ROUNDS);
    weft_close(sv[0]);
    weft_close(sv[1]);
    return NULL;
}

TEST(socketpair_pingpong_across_workers)
{
    start_case();
    EXPECT_EQ(run_root(&two_workers, socketpair_pingpong_body, NULL), 0);
    end_case();
}

/* weft_wait_fd: an empty socket is writable, not readable; after a write
 * the peer is readable; deadline 0 on nothing is -ETIMEDOUT. */
static void *wait_fd_body(void *arg)
{
    (void)arg;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return (void *)1;
    FEXPECT_EQ(weft_wait_fd(sv[0], WEFT_WRITABLE, WEFT_FOREVER), (int)WEFT_WRITABLE);
    FEXPECT_EQ(weft_wait_fd(sv[0], WEFT_READABLE, 0), -ETIMEDOUT);
    FEXPECT_EQ(weft_wait_fd(sv[0], WEFT_READABLE | WEFT_WRITABLE, WEFT_FOREVER),
               (int)WEFT_WRITABLE);
    FEXPECT_EQ(weft_wait_fd(sv[0], WEFT_READABLE, weft_deadline_after(5 * MS)), -ETIMEDOUT);
    FEXPECT_EQ(weft_write(sv[1], "x", 1), 1);
    FEXPECT_EQ(weft_wait_fd(sv[0], WEFT_READABLE, WEFT_FOREVER), (int)WEFT_READABLE);
    FEXPECT_EQ(weft_wait_fd(sv[0], 0, WEFT_FOREVER), -EINVAL);
    FEXPECT_EQ(weft_wait_fd(sv[0], 4, WEFT_FOREVER), -EINVAL);
    FEXPECT_EQ(weft_wait_fd(sv[0], WEFT_READABLE, -2), -EINVAL);
    FEXPECT_EQ(weft_wait_fd(-1, WEFT_READABLE, 0), -EBADF);
    weft_close(sv[0]);
    weft_close(sv[1]);
    return NULL;
}

TEST(wait_fd_reports_readiness)
{
    start_case();
    EXPECT_EQ(run_root(&one_worker, wait_fd_body, NULL), 0);
    end_case();
}

/* --- the blocked poller is reachable --------------------------------- */

static void *write_byte(void *arg)
{
    int fd = (int)(intptr_t)arg;
    FEXPECT_EQ(weft_write(fd, "w", 1), 1);
    return NULL;
}

/* One worker, blocked in epoll_wait on behalf of a fiber that reads an
 * empty pipe (no timer: no timeout). A plain thread spawns a fiber: the
 * wake-up must reach the worker through the poller's eventfd, or the new
 * fiber never runs and the reader is never fed. */
TEST(spawn_from_plain_thread_wakes_blocked_poller)
{
    start_case();
    settle();
    int p[2];
    make_pipe(p);
    struct xfer x = {.rfd = p[0], .wfd = p[1]};
    CHECK_OK(weft_init(&one_worker));
    weft_fiber r, w;
    CHECK_OK(weft_spawn(&r, reader, &x, NULL));
    while (!atomic_load(&x.reader_in))
        sched_yield();
    usleep(2000); /* very likely blocked in the poller by now; either way it must work */
    int64_t t0 = weft_now();
    CHECK_OK(weft_spawn(&w, write_byte, (void *)(intptr_t)p[1], NULL));
    EXPECT_EQ(weft_join(r, NULL), 0);
    EXPECT_EQ(x.got, 1);
    EXPECT(weft_now() - t0 < 10 * S);
    EXPECT_EQ(weft_join(w, NULL), 0);
    EXPECT_EQ(weft_shutdown(), 0);
    weft_close(p[0]);
    weft_close(p[1]);
    end_case();
}

static void *sleep_then_write(void *arg)
{
    int fd = (int)(intptr_t)arg;
    int64_t dl = weft_deadline_after(20 * MS);
    FEXPECT_EQ(weft_sleep_until(dl), 0);
    FEXPECT(weft_now() >= dl);
    FEXPECT_EQ(weft_write(fd, "t", 1), 1);
    return NULL;
}

static void *timer_while_polling_body(void *arg)
{
    (void)arg;
    int p[2];
    if (pipe(p) != 0)
        return (void *)1;
    struct xfer x = {.rfd = p[0], .wfd = p[1]};
    weft_fiber r, s;
    FEXPECT_EQ(weft_spawn(&r, reader, &x, NULL), 0);
    FEXPECT_EQ(weft_spawn(&s, sleep_then_write, (void *)(intptr_t)p[1], NULL), 0);
    FEXPECT_EQ(weft_join(s, NULL), 0);
    FEXPECT_EQ(weft_join(r, NULL), 0);
    FEXPECT_EQ(x.got, 1);
    weft_close(p[0]);
    weft_close(p[1]);
    return NULL;
}

/* One worker idles in the poller (a fiber reads an empty pipe) while
 * another fiber sleeps: the poll's timeout is the earliest timer, so the
 * sleeper wakes and feeds the reader. */
TEST(poller_timeout_is_earliest_timer)
{
    start_case();
    EXPECT_EQ(run_root(&one_worker, timer_while_polling_body, NULL), 0);
    end_case();
}

/* --- deadlines ------------------------------------------------------- */

static void *deadlines_body(void *arg)
{
    (void)arg;
    int p[2];
    if (pipe(p) != 0)
        return (void *)1;
    char c;
    /* Past deadlines never wait: 0, 1 and a moment ago. */
    int64_t t0 = weft_now();
    FEXPECT_EQ(weft_read_until(p[0], &c, 1, 0), -ETIMEDOUT);
    FEXPECT_EQ(weft_read_until(p[0], &c, 1, 1), -ETIMEDOUT);
    FEXPECT_EQ(weft_read_until(p[0], &c, 1, weft_now() - MS), -ETIMEDOUT);
    FEXPECT(weft_now() - t0 < 1 * S); /* one-sided: no waiting happened */
    /* A future deadline is kept: not before it. */
    int64_t dl = weft_deadline_after(20 * MS);
    FEXPECT_EQ(weft_read_until(p[0], &c, 1, dl), -ETIMEDOUT);
    FEXPECT(weft_now() >= dl);
    /* Negative deadlines other than WEFT_FOREVER are refused. */
    FEXPECT_EQ(weft_read_until(p[0], &c, 1, -2), -EINVAL);
    FEXPECT_EQ(weft_write_until(p[1], "a", 1, INT64_MIN), -EINVAL);
    FEXPECT_EQ(weft_accept_until(p[0], NULL, NULL, -5), -EINVAL);
    /* A call that can complete at once does, even with deadline 0. */
    FEXPECT_EQ(weft_write_until(p[1], "z", 1, 0), 1);
    FEXPECT_EQ(weft_read_until(p[0], &c, 1, 0), 1);
    FEXPECT_EQ(c, 'z');
    /* A write that waits for room times out too. */
    static char big[1 << 16];
    ssize_t n;
    while ((n = weft_write_until(p[1], big, sizeof big, 0)) > 0)
        ;
    FEXPECT_EQ(n, -ETIMEDOUT);
    dl = weft_deadline_after(10 * MS);
    FEXPECT_EQ(weft_write_until(p[1], big, sizeof big, dl), -ETIMEDOUT);
    FEXPECT(weft_now() >= dl);
    weft_close(p[0]);
    weft_close(p[1]);
    return NULL;
}

TEST(deadlines_past_future_and_bad)
{
    start_case();
    EXPECT_EQ(run_root(&two_workers, deadlines_body, NULL), 0);
    end_case();
}

/* --- close while waiting --------------------------------------------- */

struct closer {
    int fd;
    _Atomic int in;
    ssize_t r;
    bool write;
};

static void *blocked_io(void *arg)
{
    struct closer *c = arg;
    static char buf[1 << 16];
    atomic_store(&c->in, 1);
    if (c->write) {
        ssize_t n;
        while ((n = weft_write(c->fd, buf, sizeof buf)) > 0)
            ;
        c->r = n;
    } else {
        c->r = weft_read(c->fd, buf, sizeof buf);
    }
    return NULL;
}

static void *close_while_reading_body(void *arg)
{
    bool write = arg != NULL;
    int p[2];
    if (pipe(p) != 0)
        return (void *)1;
    struct closer c = {.fd = write ? p[1] : p[0], .write = write};
    weft_fiber f;
    FEXPECT_EQ(weft_spawn(&f, blocked_io, &c, NULL), 0);
    while (!atomic_load(&c.in))
        weft_yield();
    /* One worker: the fiber is parked on the fd now. */
    FEXPECT_EQ(weft_close(c.fd), 0);
    FEXPECT_EQ(weft_join(f, NULL), 0);
    FEXPECT_EQ(c.r, -EBADF);
    FEXPECT(!fd_is_open(c.fd));
    /* Later calls on the closed fd, and a second close, say -EBADF too. */
    char ch;
    FEXPECT_EQ(weft_read(c.fd, &ch, 1), -EBADF);
    FEXPECT_EQ(weft_close(c.fd), -EBADF);
    weft_close(write ? p[0] : p[1]);
    return NULL;
}

/* A fiber parked in weft_read on a pipe, another weft_close()s it: the
 * reader returns -EBADF at once (no hang) and the fd is closed. */
TEST(close_wakes_blocked_reader_with_ebadf)
{
    start_case();
    EXPECT_EQ(run_root(&one_worker, close_while_reading_body, NULL), 0);
    end_case();
}

/* The same for a writer parked on a full pipe. */
TEST(close_wakes_blocked_writer_with_ebadf)
{
    start_case();
    EXPECT_EQ(run_root(&one_worker, close_while_reading_body, (void *)1), 0);
    end_case();
}

/* Several fibers parked on one fd, readers and a writer, all woken. */
static void *close_many_body(void *arg)
{
    (void)arg;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return (void *)1;
    enum { N = 8 };
    struct closer c[N + 1];
    weft_fiber f[N + 1];
    static char fill[1 << 16];
    /* Fill sv[0]'s send buffer so that a writer waits too. */
    while (weft_write_until(sv[0], fill, sizeof fill, 0) > 0)
        ;
    for (int i = 0; i <= N; i++) {
        c[i] = (struct closer){.fd = sv[0], .write = i == N};
        FEXPECT_EQ(weft_spawn(&f[i], blocked_io, &c[i], NULL), 0);
    }
    for (int i = 0; i <= N; i++)
        while (!atomic_load(&c[i].in))
            weft_yield();
    FEXPECT_EQ(weft_close(sv[0]), 0);
    for (int i = 0; i <= N; i++) {
        FEXPECT_EQ(weft_join(f[i], NULL), 0);
        FEXPECT_EQ(c[i].r, -EBADF);
    }
    weft_close(sv[1]);
    return NULL;
}

TEST(close_wakes_every_waiter)
{
    start_case();
    EXPECT_EQ(run_root(&one_worker, close_many_body, NULL), 0);
    end_case();
}

/* A plain thread closes an fd a fiber is parked on: -EBADF, never a hang.
 * One worker: the herald, queued before the read, runs only once the
 * reader has parked, and tells the plain thread so (closing an fd that a
 * call may still be using is the caller's race, as with close(2); TSan
 * would rightly flag it). */
static void *herald(void *arg)
{
    struct closer *c = arg;
    atomic_store(&c->in, 1);
    return NULL;
}

static void *read_with_herald(void *arg)
{
    struct closer *c = arg;
    char buf[8];
    if (weft_spawn(NULL, herald, c, &(weft_fiber_attr){.detached = true}) != 0)
        return NULL;
    c->r = weft_read(c->fd, buf, sizeof buf);
    return NULL;
}

static void *plain_closer_body(void *arg)
{
    weft_fiber f;
    FEXPECT_EQ(weft_spawn(&f, read_with_herald, arg, NULL), 0);
    FEXPECT_EQ(weft_join(f, NULL), 0);
    return NULL;
}

static void *close_from_thread(void *arg)
{
    struct closer *c = arg;
    while (!atomic_load(&c->in))
        sched_yield();
    FEXPECT_EQ(weft_close(c->fd), 0);
    return NULL;
}

TEST(close_from_plain_thread_wakes_fiber)
{
    start_case();
    int p[2];
    make_pipe(p);
    struct closer c = {.fd = p[0]};
    pthread_t t;
    CHECK_OK(pthread_create(&t, NULL, close_from_thread, &c));
    EXPECT_EQ(run_root(&one_worker, plain_closer_body, &c), 0);
    pthread_join(t, NULL);
    EXPECT_EQ(c.r, -EBADF);
    close(p[1]);
    end_case();
}

/* A plain thread blocked in weft_read notices a fiber's weft_close. */
static void *close_from_fiber(void *arg)
{
    struct closer *c = arg;
    while (!atomic_load(&c->in))
        weft_yield();
    weft_sleep(MS);
    FEXPECT_EQ(weft_close(c->fd), 0);
    return NULL;
}

TEST(close_from_fiber_wakes_plain_thread)
{
    start_case();
    settle();
    int p[2];
    make_pipe(p);
    struct closer c = {.fd = p[0]};
    CHECK_OK(weft_init(&two_workers));
    weft_fiber f;
    CHECK_OK(weft_spawn(&f, close_from_fiber, &c, NULL));
    blocked_io(&c); /* this plain thread, in poll(2) */
    EXPECT_EQ(c.r, -EBADF);
    EXPECT_EQ(weft_join(f, NULL), 0);
    EXPECT_EQ(weft_shutdown(), 0);
    close(p[1]);
    end_case();
}

/* --- refused fds ----------------------------------------------------- */

static int temp_file(void)
{
    char path[] = "/tmp/weft-io-test-XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0)
        unlink(path);
    return fd;
}

static void *refused_body(void *arg)
{
    (void)arg;
    char buf[4] = "abc";
    int fd = temp_file();
    FEXPECT(fd >= 0);
    FEXPECT_EQ(weft_write(fd, buf, 3), -ENOTSUP);
    FEXPECT_EQ(weft_read(fd, buf, 3), -ENOTSUP);
    FEXPECT_EQ(weft_wait_fd(fd, WEFT_READABLE, 0), -ENOTSUP);
    FEXPECT_EQ(weft_close(fd), 0);
    /* /dev/null: a character device epoll will not watch. */
    int dn = open("/dev/null", O_RDWR | O_CLOEXEC);
    FEXPECT(dn >= 0);
    FEXPECT_EQ(weft_read(dn, buf, 3), -ENOTSUP);
    FEXPECT_EQ(weft_close(dn), 0);
    /* A directory. */
    int d = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    FEXPECT(d >= 0);
    FEXPECT_EQ(weft_read(d, buf, 3), -ENOTSUP);
    FEXPECT_EQ(weft_close(d), 0);
    return NULL;
}

/* A regular file (and /dev/null, a directory) is refused with -ENOTSUP,
 * from a fiber; the file is left as it was. */
TEST(regular_file_is_refused_with_enotsup)
{
    start_case();
    EXPECT_EQ(run_root(&one_worker, refused_body, NULL), 0);
    end_case();
}

/* From a plain thread too (no runtime): a regular file is -ENOTSUP. */
TEST(regular_file_is_refused_from_plain_thread)
{
    settle();
    int fd = temp_file();
    CHECK(fd >= 0);
    char buf[4];
    EXPECT_EQ(weft_write(fd, "abc", 3), -ENOTSUP);
    EXPECT_EQ(weft_read(fd, buf, 3), -ENOTSUP);
    EXPECT_EQ(weft_close(fd), 0);
}

static void *bad_fds_body(void *arg)
{
    (void)arg;
    char c;
    int p[2];
    if (pipe(p) != 0)
        return (void *)1;
    int closed = p[0];
    close(p[0]); /* a number that is not open (nothing else opens meanwhile) */
    FEXPECT_EQ(weft_read(-1, &c, 1), -EBADF);
    FEXPECT_EQ(weft_write(-7, &c, 1), -EBADF);
    FEXPECT_EQ(weft_read(closed, &c, 1), -EBADF);
    FEXPECT_EQ(weft_recv(closed, &c, 1, 0), -EBADF);
    FEXPECT_EQ(weft_accept(-1, NULL, NULL), -EBADF);
    FEXPECT_EQ(weft_connect(-1, NULL, 0), -EBADF);
    FEXPECT_EQ(weft_close(-1), -EBADF);
    FEXPECT_EQ(weft_close(closed), -EBADF);
    FEXPECT_EQ(weft_wait_fd(closed, WEFT_READABLE, 0), -EBADF);
    FEXPECT_EQ(weft_recvmsg(p[1], NULL, 0), -EINVAL);
    FEXPECT_EQ(weft_sendmsg(p[1], NULL, 0), -EINVAL);
    /* recv on a pipe: the kernel's code, passed through. */
    FEXPECT_EQ(weft_send(p[1], "x", 1, 0), -ENOTSOCK);
    FEXPECT_EQ(weft_close(p[1]), 0);
    return NULL;
}

/* Negative and closed fds are -EBADF everywhere; bad arguments -EINVAL. */
TEST(bad_fds_are_ebadf)
{
    start_case();
    EXPECT_EQ(run_root(&one_worker, bad_fds_body, NULL), 0);
    end_case();
}

/* --- partial writes -------------------------------------------------- */

struct stream {
    int fd;
    size_t total;
    long partial; /* writes that returned less than asked */
    long mismatches;
    size_t got;
    uint64_t seed;
};

static unsigned char pattern(size_t i, uint64_t seed)
{
    return (unsigned char)((i * 131u) ^ (i >> 9) ^ seed);
}

static void *stream_writer(void *arg)
{
    struct stream *s = arg;
    enum { CHUNK = 256 * 1024 };
    static unsigned char buf[CHUNK];
    size_t off = 0;
    while (off < s->total) {
        size_t n = s->total - off < CHUNK ? s->total - off : CHUNK;
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(off + i, s->seed);
        size_t done = 0;
        while (done < n) {
            ssize_t w = weft_write(s->fd, buf + done, n - done);
            if (w <= 0) {
                FEXPECT(w > 0);
                return NULL;
            }
            if ((size_t)w < n - done)
                s->partial++;
            done += (size_t)w;
        }
        off += n;
    }
    weft_close(s->fd); /* end of stream */
    return NULL;
}

static void *stream_reader(void *arg)
{
    struct stream *s = arg;
    unsigned char buf[4096 + 17];
    for (;;) {
        ssize_t n = weft_read(s->fd, buf, sizeof buf);
        if (n < 0) {
            FEXPECT(n >= 0);
            return NULL;
        }
        if (n == 0)
            return NULL;
        for (ssize_t i = 0; i < n; i++)
            s->mismatches += buf[i] != pattern(s->got + (size_t)i, s->seed);
        s->got += (size_t)n;
    }
}

/* One fiber writes 4 MiB into a pipe (64 KiB of buffer) in 256 KiB calls
 * while another reads in odd-sized chunks: writes come back partial, and
 * every byte arrives, in order. */
static void *partial_writes_body(void *arg)
{
    (void)arg;
    int p[2];
    if (pipe(p) != 0)
        return (void *)1;
    struct stream w = {.fd = p[1], .total = 4u << 20, .seed = tap_seed()};
    struct stream r = {.fd = p[0], .seed = tap_seed()};
    weft_fiber fw, fr;
    FEXPECT_EQ(weft_spawn(&fr, stream_reader, &r, NULL), 0);
    FEXPECT_EQ(weft_spawn(&fw, stream_writer, &w, NULL), 0);
    FEXPECT_EQ(weft_join(fw, NULL), 0);
    FEXPECT_EQ(weft_join(fr, NULL), 0);
    FEXPECT_EQ(r.got, w.total);
    FEXPECT_EQ(r.mismatches, 0);
    FEXPECT(w.partial > 0);
    weft_close(p[0]);
    return NULL;
}

TEST(partial_writes_deliver_every_byte_in_order)
{
    start_case();
    EXPECT_EQ(run_root(&two_workers, partial_writes_body, NULL), 0);
    end_case();
}

/* The same through writev/readv on a socketpair, on one worker. */
static void *vector_body(void *arg)
{
    (void)arg;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return (void *)1;
    char a[3] = "abc", b[4] = "defg", out[7];
    struct iovec wv[2] = {{a, 3}, {b, 4}};
    FEXPECT_EQ(weft_writev(sv[0], wv, 2), 7);
    struct iovec rv[2] = {{out, 2}, {out + 2, 5}};
    FEXPECT_EQ(weft_readv(sv[1], rv, 2), 7);
    FEXPECT(memcmp(out, "abcdefg", 7) == 0);
    /* sendmsg / recvmsg */
    struct msghdr m = {.msg_iov = wv, .msg_iovlen = 2};
    FEXPECT_EQ(weft_sendmsg(sv[1], &m, 0), 7);
    memset(out, 0, sizeof out);
    struct msghdr rm = {.msg_iov = rv, .msg_iovlen = 2};
    FEXPECT_EQ(weft_recvmsg(sv[0], &rm, 0), 7);
    FEXPECT(memcmp(out, "abcdefg", 7) == 0);
    /* MSG_DONTWAIT never waits: -EAGAIN on an empty socket. */
    FEXPECT_EQ(weft_recv(sv[0], out, 1, MSG_DONTWAIT), -EAGAIN);
    weft_close(sv[0]);
    weft_close(sv[1]);
    return NULL;
}

TEST(vectored_and_msg_calls)
{
    start_case();
    EXPECT_EQ(run_root(&one_worker, vector_body, NULL), 0);
    end_case();
}

/* --- sockets: accept, connect, datagrams, resets --------------------- */

static int listen_loopback(struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    *addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof *addr;
    if (bind(fd, (struct sockaddr *)addr, sizeof *addr) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)addr, &len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

struct server {
    int lfd;
    int reset; /* close the accepted socket with an RST */
};

static void *accept_echo_once(void *arg)
{
    struct server *sv = arg;
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    int fd = weft_accept(sv->lfd, (struct sockaddr *)&peer, &len);
    FEXPECT(fd >= 0);
    if (fd < 0)
        return NULL;
    FEXPECT_EQ(len, (socklen_t)sizeof peer);
    FEXPECT((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    FEXPECT((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    char buf[16];
    ssize_t n = weft_recv(fd, buf, sizeof buf, 0);
    FEXPECT_EQ(n, 4);
    if (sv->reset) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    } else if (n > 0) {
        FEXPECT_EQ(weft_send(fd, buf, (size_t)n, 0), n);
    }
    FEXPECT_EQ(weft_close(fd), 0);
    return NULL;
}

static void *tcp_body(void *arg)
{
    (void)arg;
    struct sockaddr_in addr;
    struct server sv = {.lfd = listen_loopback(&addr)};
    FEXPECT(sv.lfd >= 0);
    weft_fiber f;
    FEXPECT_EQ(weft_spawn(&f, accept_echo_once, &sv, NULL), 0);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FEXPECT_EQ(weft_connect(c, (struct sockaddr *)&addr, sizeof addr), 0);
    FEXPECT_EQ(weft_send(c, "ping", 4, 0), 4);
    char buf[8];
    FEXPECT_EQ(weft_recv(c, buf, sizeof buf, 0), 4);
    FEXPECT(memcmp(buf, "ping", 4) == 0);
    FEXPECT_EQ(weft_recv(c, buf, sizeof buf, 0), 0); /* the server closed */
    FEXPECT_EQ(weft_join(f, NULL), 0);
    FEXPECT_EQ(weft_close(c), 0);
    /* An accept with a deadline and nobody connecting times out. */
    int64_t dl = weft_deadline_after(10 * MS);
    FEXPECT_EQ(weft_accept_until(sv.lfd, NULL, NULL, dl), -ETIMEDOUT);
    FEXPECT(weft_now() >= dl);
    /* Nobody listens any more: connection refused. */
    FEXPECT_EQ(weft_close(sv.lfd), 0);
    c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FEXPECT_EQ(weft_connect(c, (struct sockaddr *)&addr, sizeof addr), -ECONNREFUSED);
    weft_close(c);
    return NULL;
}

/* accept and connect over loopback TCP: the accepted fd is non-blocking and
 * close-on-exec, bytes go both ways, EOF is 0, a refused connect says so. */
TEST(tcp_accept_connect_echo)
{
    start_case();
    EXPECT_EQ(run_root(&two_workers, tcp_body, NULL), 0);
    end_case();
}

/* The peer resets (SO_LINGER 0): a blocked reader gets -ECONNRESET, a
 * writer -EPIPE or -ECONNRESET; nothing raises SIGPIPE (which would kill
 * this test: its disposition is the default here). */
static void *reset_body(void *arg)
{
    (void)arg;
    struct sockaddr_in addr;
    struct server sv = {.lfd = listen_loopback(&addr), .reset = 1};
    weft_fiber f;
    FEXPECT_EQ(weft_spawn(&f, accept_echo_once, &sv, NULL), 0);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FEXPECT_EQ(weft_connect(c, (struct sockaddr *)&addr, sizeof addr), 0);
    FEXPECT_EQ(weft_write(c, "ping", 4), 4);
    char buf[8];
    FEXPECT_EQ(weft_read(c, buf, sizeof buf), -ECONNRESET);
    ssize_t w = weft_write(c, "more", 4);
    FEXPECT(w == -EPIPE || w == -ECONNRESET);
    w = weft_send(c, "more", 4, 0);
    FEXPECT(w == -EPIPE || w == -ECONNRESET);
    FEXPECT_EQ(weft_join(f, NULL), 0);
    weft_close(c);
    weft_close(sv.lfd);
    /* A socketpair whose peer is gone: -EPIPE, no signal. */
    int sp[2];
    FEXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    FEXPECT_EQ(weft_close(sp[1]), 0);
    FEXPECT_EQ(weft_write(sp[0], "x", 1), -EPIPE);
    struct iovec v = {"x", 1};
    FEXPECT_EQ(weft_writev(sp[0], &v, 1), -EPIPE);
    FEXPECT_EQ(weft_read(sp[0], buf, 1), 0);
    weft_close(sp[0]);
    return NULL;
}

TEST(peer_reset_is_an_error_code_not_sigpipe)
{
    start_case();
    CHECK(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
    EXPECT_EQ(run_root(&two_workers, reset_body, NULL), 0);
    end_case();
}

/* A pipe without readers: with SIGPIPE ignored (as the header asks of a
 * program writing to such pipes), weft_write returns -EPIPE. */
TEST(pipe_without_reader_is_epipe_when_sigpipe_ignored)
{
    settle();
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    int p[2];
    make_pipe(p);
    close(p[0]);
    EXPECT_EQ(weft_write(p[1], "x", 1), -EPIPE);
    EXPECT_EQ(weft_close(p[1]), 0);
    signal(SIGPIPE, old);
}

/* weft_strerror names the kernel codes an I/O call commonly returns. */
TEST(strerror_knows_io_codes)
{
    static const int codes[] = {-ECONNRESET, -ECONNREFUSED, -EMFILE, -ENOTSOCK, -ENOTSUP};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        EXPECT(strcmp(weft_strerror(codes[i]), "unknown error") != 0);
}

static void *udp_body(void *arg)
{
    (void)arg;
    int a = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int b = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in ba = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof ba;
    FEXPECT_EQ(bind(b, (struct sockaddr *)&ba, sizeof ba), 0);
    FEXPECT_EQ(getsockname(b, (struct sockaddr *)&ba, &len), 0);
    FEXPECT_EQ(weft_sendto(a, "dgram", 5, 0, (struct sockaddr *)&ba, sizeof ba), 5);
    char buf[16];
    struct sockaddr_in from;
    socklen_t flen = sizeof from;
    FEXPECT_EQ(weft_recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen), 5);
    FEXPECT(memcmp(buf, "dgram", 5) == 0);
    FEXPECT_EQ(from.sin_family, AF_INET);
    /* Nothing more: a deadline ends the wait. */
    FEXPECT_EQ(weft_recvfrom_until(b, buf, sizeof buf, 0, NULL, NULL, weft_deadline_after(MS)),
               -ETIMEDOUT);
    weft_close(a);
    weft_close(b);
    return NULL;
}

TEST(udp_sendto_recvfrom)
{
    start_case();
    EXPECT_EQ(run_root(&one_worker, udp_body, NULL), 0);
    end_case();
}

/* --- cancellation ---------------------------------------------------- */

static void *read_forever(void *arg)
{
    struct closer *c = arg;
    char buf[8];
    atomic_store(&c->in, 1);
    c->r = weft_read(c->fd, buf, sizeof buf);
    /* Sticky: a later blocking read is cancelled at once... */
    ssize_t again = weft_read_until(c->fd, buf, sizeof buf, weft_deadline_after(10 * S));
    FEXPECT_EQ(again, -ECANCELED);
    return NULL;
}

static void *cancel_body(void *arg)
{
    (void)arg;
    int p[2];
    if (pipe(p) != 0)
        return (void *)1;
    struct closer c = {.fd = p[0]};
    weft_fiber f;
    FEXPECT_EQ(weft_spawn(&f, read_forever, &c, NULL), 0);
    while (!atomic_load(&c.in))
        weft_yield();
    /* One worker: it is parked in the read. */
    int64_t t0 = weft_now();
    FEXPECT_EQ(weft_cancel(f), 0);
    FEXPECT_EQ(weft_join(f, NULL), 0);
    FEXPECT_EQ(c.r, -ECANCELED);
    FEXPECT(weft_now() - t0 < 5 * S);
    /* The fd is intact: data written now is there to read. */
    FEXPECT_EQ(weft_write(p[1], "ok", 2), 2);
    char buf[4];
    FEXPECT_EQ(weft_read(p[0], buf, sizeof buf), 2);
    weft_close(p[0]);
    weft_close(p[1]);
    return NULL;
}

/* weft_cancel wakes a fiber blocked in weft_read with -ECANCELED. */
TEST(cancel_wakes_fiber_blocked_in_read)
{
    start_case();
    EXPECT_EQ(run_root(&one_worker, cancel_body, NULL), 0);
    end_case();
}

/* --- plain threads --------------------------------------------------- */

static void *delayed_writer(void *arg)
{
    int fd = (int)(intptr_t)arg;
    weft_sleep(5 * MS);
    FEXPECT_EQ(weft_write(fd, "thread", 6), 6);
    return NULL;
}

/* A plain thread's weft_read blocks it until a fiber writes; deadlines
 * work there too; and without a runtime the calls still work. */
TEST(plain_thread_blocks_in_poll)
{
    start_case();
    settle();
    int p[2];
    make_pipe(p);
    char buf[8];
    /* No runtime. */
    EXPECT_EQ(weft_read_until(p[0], buf, sizeof buf, 0), -ETIMEDOUT);
    int64_t dl = weft_deadline_after(10 * MS);
    EXPECT_EQ(weft_read_until(p[0], buf, sizeof buf, dl), -ETIMEDOUT);
    EXPECT(weft_now() >= dl);
    EXPECT_EQ(weft_read_until(p[0], buf, sizeof buf, -3), -EINVAL);
    EXPECT_EQ(weft_write(p[1], "ab", 2), 2);
    EXPECT_EQ(weft_read(p[0], buf, sizeof buf), 2);
    EXPECT((fcntl(p[0], F_GETFL) & O_NONBLOCK) != 0); /* first use set it */
    /* With a runtime: a fiber writes later, this thread waits for it. */
    CHECK_OK(weft_init(&two_workers));
    weft_fiber f;
    CHECK_OK(weft_spawn(&f, delayed_writer, (void *)(intptr_t)p[1], NULL));
    EXPECT_EQ(weft_read(p[0], buf, sizeof buf), 6);
    EXPECT(memcmp(buf, "thread", 6) == 0);
    EXPECT_EQ(weft_join(f, NULL), 0);
    EXPECT_EQ(weft_shutdown(), 0);
    EXPECT_EQ(weft_close(p[0]), 0);
    EXPECT_EQ(weft_close(p[1]), 0);
    end_case();
}

/* --- EINTR ----------------------------------------------------------- */

static void on_usr1(int sig)
{
    (void)sig;
}

struct eintr {
    int fd;
    _Atomic int done;
    ssize_t r;
};

static void *eintr_reader(void *arg)
{
    struct eintr *e = arg;
    char buf[4];
    e->r = weft_read(e->fd, buf, sizeof buf);
    atomic_store(&e->done, 1);
    return NULL;
}

/* Signals that interrupt poll(2) (no SA_RESTART) on a plain thread, and
 * epoll_wait on the workers, never show through as -EINTR. */
TEST(eintr_is_retried)
{
    start_case();
    settle();
    struct sigaction sa = {.sa_handler = on_usr1}, old;
    sigemptyset(&sa.sa_mask);
    CHECK_OK(sigaction(SIGUSR1, &sa, &old));
    int p[2];
    make_pipe(p);
    struct eintr e = {.fd = p[0]};
    pthread_t t;
    CHECK_OK(pthread_create(&t, NULL, eintr_reader, &e));
    for (int i = 0; i < 50 && !atomic_load(&e.done); i++) {
        pthread_kill(t, SIGUSR1);
        usleep(200); /* spacing the signals out, not synchronisation */
    }
    EXPECT_EQ(write(p[1], "x", 1), 1);
    pthread_join(t, NULL);
    EXPECT_EQ(e.r, 1);
    /* The same for a fiber, with its worker interrupted in epoll_wait. */
    CHECK_OK(weft_init(&one_worker));
    e = (struct eintr){.fd = p[0]};
    weft_fiber f;
    CHECK_OK(weft_spawn(&f, eintr_reader, &e, NULL));
    for (int i = 0; i < 50; i++) {
        kill(getpid(), SIGUSR1); /* delivered to any thread: workers too */
        usleep(200);
    }
    EXPECT_EQ(write(p[1], "y", 1), 1);
    EXPECT_EQ(weft_join(f, NULL), 0);
    EXPECT_EQ(e.r, 1);
    EXPECT_EQ(weft_shutdown(), 0);
    sigaction(SIGUSR1, &old, NULL);
    weft_close(p[0]);
    weft_close(p[1]);
    end_case();
}

/* --- shutdown -------------------------------------------------------- */

static void *park_in_read(void *arg)
{
    struct closer *c = arg;
    char buf[4];
    atomic_store(&c->in, 1);
    c->r = weft_read(c->fd, buf, sizeof buf);
    return NULL;
}

/* Shutdown with a fiber parked in weft_read abandons it (-EBUSY) and leaves
 * the user's fds open; a new runtime registers them afresh and works. */
TEST(shutdown_leaves_user_fds_open)
{
    start_case();
    settle();
    int p[2];
    make_pipe(p);
    struct closer c = {.fd = p[0]};
    CHECK_OK(weft_init(&one_worker));
    CHECK_OK(weft_spawn(NULL, park_in_read, &c, &(weft_fiber_attr){.detached = true}));
    while (!atomic_load(&c.in))
        sched_yield();
    EXPECT_EQ(weft_shutdown(), -EBUSY);
    EXPECT(fd_is_open(p[0]));
    EXPECT(fd_is_open(p[1]));
    /* Second runtime, same fds. */
    struct xfer x = {.rfd = p[0], .wfd = p[1]};
    CHECK_OK(weft_init(&one_worker));
    weft_fiber f;
    CHECK_OK(weft_spawn(&f, reader, &x, NULL));
    while (!atomic_load(&x.reader_in))
        sched_yield();
    EXPECT_EQ(weft_write(p[1], "again", 5), 5);
    EXPECT_EQ(weft_join(f, NULL), 0);
    EXPECT_EQ(x.got, 5);
    EXPECT_EQ(weft_shutdown(), 0);
    EXPECT_EQ(weft_close(p[0]), 0);
    EXPECT_EQ(weft_close(p[1]), 0);
    end_case();
}

TAP_MAIN()
