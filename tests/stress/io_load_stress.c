/*
 * io_load_stress.c - the netpoller under load: 1,000 loopback TCP
 * connections, each a client fiber sending messages of random sizes to an
 * echo fiber (the examples/echo.c pattern) and checking every byte that
 * comes back; and an EAGAIN storm, many fibers reading one pipe while a
 * writer trickles records into it, where each record must be read exactly
 * once. A lost wake-up hangs a fiber and the watchdog fails the case.
 * WEFT_WORKERS=4 on 2 cores; WEFT_STRESS_SCALE scales the message counts
 * (not the connection count); WEFT_TEST_SEED replays a seed.
 */
#include "weft.h"

#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
    CONNS = 1000,
    MSG_MAX = 4096,
    FD_SLACK = 64, /* stdio, the poller, the listener, the test's pipes */
};

static _Atomic long failures;

#define FAIL(what)                                                 \
    do {                                                           \
        printf("# %s:%d: failed: %s\n", __FILE__, __LINE__, what); \
        atomic_fetch_add(&failures, 1);                            \
    } while (0)
#define FAIL_IF(cond)    \
    do {                 \
        if (cond)        \
            FAIL(#cond); \
    } while (0)

/* How many connections the fd limit allows (raising the soft limit to the
 * hard one if need be): each costs two fds in this one process. */
static int usable_conns(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    rlim_t need = 2 * (rlim_t)CONNS + FD_SLACK;
    if (rl.rlim_cur < need && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur >= need)
        return CONNS;
    return rl.rlim_cur > FD_SLACK ? (int)((rl.rlim_cur - FD_SLACK) / 2) : 0;
}

static unsigned char pattern(uint64_t conn, uint64_t msg, size_t i)
{
    return (unsigned char)((conn * 7919u) ^ (msg * 131u) ^ (i * 31u) ^ (i >> 8));
}

struct load {
    int lfd;
    struct sockaddr_in addr;
    int conns;
    long msgs;
    uint64_t seed;
    weft_fiber *echoers;  /* filled by the acceptor */
    _Atomic long echoed;  /* bytes the echo fibers wrote back */
    _Atomic long checked; /* bytes the clients read back and compared */
    _Atomic long sent;    /* bytes the clients wrote */
};

static bool write_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t w = weft_write(fd, p, n);
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static bool read_all(int fd, unsigned char *p, size_t n)
{
    while (n) {
        ssize_t r = weft_read(fd, p, n);
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

struct echo_arg {
    struct load *ld;
    int fd;
};

/* examples/echo.c's connection fiber: echo until EOF, then close. */
static void *echo_conn(void *arg)
{
    struct echo_arg *ea = arg;
    unsigned char buf[MSG_MAX];
    for (;;) {
        ssize_t n = weft_read(ea->fd, buf, sizeof buf);
        if (n == 0)
            break;
        if (n < 0) {
            FAIL_IF(n < 0);
            break;
        }
        FAIL_IF(!write_all(ea->fd, buf, (size_t)n));
        atomic_fetch_add_explicit(&ea->ld->echoed, n, memory_order_relaxed);
    }
    FAIL_IF(weft_close(ea->fd) != 0);
    free(ea);
    return NULL;
}

static void *acceptor(void *arg)
{
    struct load *ld = arg;
    for (int i = 0; i < ld->conns; i++) {
        int fd = weft_accept(ld->lfd, NULL, NULL);
        if (fd < 0) {
            FAIL_IF(fd < 0);
            printf("# accept: %s\n", weft_strerror(fd));
            return NULL;
        }
        struct echo_arg *ea = malloc(sizeof *ea);
        FAIL_IF(!ea);
        if (!ea)
            return NULL;
        *ea = (struct echo_arg){.ld = ld, .fd = fd};
        FAIL_IF(weft_spawn(&ld->echoers[i], echo_conn, ea, NULL) != 0);
    }
    return NULL;
}

struct client_arg {
    struct load *ld;
    uint64_t id;
};

static void *client(void *arg)
{
    struct client_arg *ca = arg;
    struct load *ld = ca->ld;
    uint64_t x = ld->seed ^ (ca->id * 0x9e3779b97f4a7c15ull);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FAIL_IF(fd < 0);
    if (fd < 0)
        return NULL;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int r = weft_connect(fd, (struct sockaddr *)&ld->addr, sizeof ld->addr);
    FAIL_IF(r != 0);
    unsigned char out[MSG_MAX], in[MSG_MAX];
    for (long m = 0; r == 0 && m < ld->msgs; m++) {
        size_t n = 1 + splitmix(&x) % MSG_MAX;
        for (size_t i = 0; i < n; i++)
            out[i] = pattern(ca->id, (uint64_t)m, i);
        if (!write_all(fd, out, n) || !read_all(fd, in, n)) {
            FAIL("a message was not echoed");
            break;
        }
        atomic_fetch_add_explicit(&ld->sent, (long)n, memory_order_relaxed);
        if (memcmp(in, out, n) != 0)
            FAIL("an echoed message differs");
        else
            atomic_fetch_add_explicit(&ld->checked, (long)n, memory_order_relaxed);
    }
    FAIL_IF(weft_close(fd) != 0);
    return NULL;
}

static void *load_root(void *arg)
{
    struct load *ld = arg;
    weft_fiber acc;
    FAIL_IF(weft_spawn(&acc, acceptor, ld, NULL) != 0);
    weft_fiber *clients = calloc((size_t)ld->conns, sizeof *clients);
    struct client_arg *cargs = calloc((size_t)ld->conns, sizeof *cargs);
    FAIL_IF(!clients || !cargs);
    if (!clients || !cargs)
        return NULL;
    for (int i = 0; i < ld->conns; i++) {
        cargs[i] = (struct client_arg){.ld = ld, .id = (uint64_t)i};
        FAIL_IF(weft_spawn(&clients[i], client, &cargs[i], NULL) != 0);
    }
    for (int i = 0; i < ld->conns; i++)
        FAIL_IF(weft_join(clients[i], NULL) != 0);
    FAIL_IF(weft_join(acc, NULL) != 0);
    for (int i = 0; i < ld->conns; i++)
        FAIL_IF(weft_join(ld->echoers[i], NULL) != 0);
    free(clients);
    free(cargs);
    return NULL;
}

/* 1,000 connections at once (fewer, with a note, if the fd limit cannot be
 * raised far enough), every byte echoed and checked, nothing lost, and
 * every fiber and fd accounted for at shutdown. */
TEST(loopback_echo_1000_connections)
{
    settle();
    int conns = usable_conns();
    if (conns < 16)
        SKIP("RLIMIT_NOFILE too low for a meaningful load");
    if (conns < CONNS)
        printf("# only %d connections: RLIMIT_NOFILE's hard limit is too low for %d\n", conns,
               CONNS);
    struct load ld = {.conns = conns, .msgs = stress_scaled(16), .seed = tap_seed()};
    if (ld.msgs < 4)
        ld.msgs = 4; /* even under sanitizers: several round trips each */
    ld.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(ld.lfd >= 0);
    ld.addr =
        (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof ld.addr;
    CHECK_OK(bind(ld.lfd, (struct sockaddr *)&ld.addr, sizeof ld.addr));
    CHECK_OK(listen(ld.lfd, conns));
    CHECK_OK(getsockname(ld.lfd, (struct sockaddr *)&ld.addr, &len));
    ld.echoers = calloc((size_t)conns, sizeof *ld.echoers);
    CHECK(ld.echoers != NULL);
    atomic_store(&failures, 0);
    int64_t t0 = weft_now();
    CHECK_OK(weft_main(NULL, load_root, &ld, NULL));
    printf("# %d connections x %ld messages: %.2f s, %ld bytes each way\n", conns, ld.msgs,
           (double)(weft_now() - t0) / 1e9, atomic_load(&ld.sent));
    EXPECT_EQ(atomic_load(&failures), 0);
    EXPECT(atomic_load(&ld.sent) >= (long)conns * ld.msgs);
    EXPECT_EQ(atomic_load(&ld.checked), atomic_load(&ld.sent));
    EXPECT_EQ(atomic_load(&ld.echoed), atomic_load(&ld.sent));
    EXPECT_EQ(weft_close(ld.lfd), 0);
    free(ld.echoers);
}

/* --- EAGAIN storm ------------------------------------------------------ */

struct storm {
    int rfd, wfd;
    long records;
    int readers;
    _Atomic long got;
    _Atomic uint64_t sum;
    _Atomic long dup; /* a record seen twice */
    _Atomic unsigned char *seen;
};

static void *storm_reader(void *arg)
{
    struct storm *s = arg;
    for (;;) {
        uint32_t v;
        /* 4-byte writes to a pipe are atomic and every write is 4 bytes,
         * so a 4-byte read gets one whole record. */
        ssize_t n = weft_read(s->rfd, &v, sizeof v);
        if (n != (ssize_t)sizeof v) {
            FAIL_IF(n != (ssize_t)sizeof v);
            return NULL;
        }
        if (v == 0)
            return NULL; /* one terminator per reader */
        if (atomic_exchange(&s->seen[v - 1], 1))
            atomic_fetch_add(&s->dup, 1);
        atomic_fetch_add(&s->got, 1);
        atomic_fetch_add(&s->sum, v);
    }
}

static void *storm_writer(void *arg)
{
    struct storm *s = arg;
    for (long i = 1; i <= s->records; i++) {
        uint32_t v = (uint32_t)i;
        FAIL_IF(weft_write(s->wfd, &v, sizeof v) != (ssize_t)sizeof v);
        if (i % 7 == 0)
            weft_yield(); /* let the readers drain: more empty-pipe waits */
    }
    for (int i = 0; i < s->readers; i++) {
        uint32_t zero = 0;
        FAIL_IF(weft_write(s->wfd, &zero, sizeof zero) != (ssize_t)sizeof zero);
    }
    return NULL;
}

static void *storm_root(void *arg)
{
    struct storm *s = arg;
    weft_fiber *r = calloc((size_t)s->readers, sizeof *r);
    FAIL_IF(!r);
    if (!r)
        return NULL;
    for (int i = 0; i < s->readers; i++)
        FAIL_IF(weft_spawn(&r[i], storm_reader, s, NULL) != 0);
    weft_fiber w;
    FAIL_IF(weft_spawn(&w, storm_writer, s, NULL) != 0);
    FAIL_IF(weft_join(w, NULL) != 0);
    for (int i = 0; i < s->readers; i++)
        FAIL_IF(weft_join(r[i], NULL) != 0);
    free(r);
    return NULL;
}

/* 32 fibers block on one empty pipe; a writer trickles records in: every
 * edge wakes them all, most find EAGAIN and wait again, and each record is
 * read exactly once. */
TEST(eagain_storm_each_record_once)
{
    settle();
    int p[2];
    CHECK_OK(pipe(p));
    struct storm s = {.rfd = p[0], .wfd = p[1], .records = stress_scaled(20000), .readers = 32};
    s.seen = calloc((size_t)s.records, 1);
    CHECK(s.seen != NULL);
    atomic_store(&failures, 0);
    CHECK_OK(weft_main(NULL, storm_root, &s, NULL));
    EXPECT_EQ(atomic_load(&failures), 0);
    EXPECT_EQ(atomic_load(&s.got), s.records);
    EXPECT_EQ(atomic_load(&s.dup), 0);
    EXPECT_EQ(atomic_load(&s.sum), (uint64_t)s.records * (uint64_t)(s.records + 1) / 2);
    free((void *)s.seen);
    EXPECT_EQ(weft_close(p[0]), 0);
    EXPECT_EQ(weft_close(p[1]), 0);
}

TAP_MAIN()
