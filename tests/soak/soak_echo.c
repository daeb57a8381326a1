/*
 * soak_echo.c - the soak's echo lane: a listener fiber accepts loopback
 * TCP connections, one fiber per connection echoes framed messages
 * (checksum checked on the server too); client fibers connect, send
 * messages of random sizes, check every byte back, say bye, see EOF, close
 * and connect again (the server closes first, so TIME_WAIT lands on the
 * listener's side and the client ports never run out).
 */
#include "soak.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum {
    CLIENTS = 6,
    MSG_MAX = 16384,
    MSGS_PER_CONN = 12,
};

#define MSG_MAGIC 0x77656674u

struct msg_hdr {
    uint32_t magic;
    uint32_t len; /* body bytes; 0 is "bye": the server closes */
    uint64_t hash;
};

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t w = weft_write(fd, p, n);
        if (w <= 0)
            return w < 0 ? (int)w : -EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* 1 when all @n bytes came, 0 at EOF before the first, else an error. */
static int read_all(int fd, unsigned char *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = weft_read(fd, p + got, n - got);
        if (r < 0)
            return (int)r;
        if (r == 0)
            return got ? -EPROTO : 0;
        got += (size_t)r;
    }
    return 1;
}

struct echo_lane {
    int lfd;
    struct sockaddr_in addr;
    weft_waitgroup conns; /* one per accepted connection, done when it closed */
};

struct echo_conn {
    struct echo_lane *lane;
    int fd;
};

/* One connection: echo framed messages until bye, then close first. */
static void *echo_conn(void *arg)
{
    struct echo_conn *ec = arg;
    int fd = ec->fd;
    unsigned char *buf = malloc(sizeof(struct msg_hdr) + MSG_MAX);
    FCHECK(buf != NULL);
    while (buf) {
        struct msg_hdr h;
        int rc = read_all(fd, buf, sizeof h);
        if (rc != 1) {
            FAILF("echo: header: %s", rc ? weft_strerror(rc) : "EOF before bye");
            break;
        }
        memcpy(&h, buf, sizeof h);
        if (h.magic != MSG_MAGIC || h.len > MSG_MAX) {
            FAILF("echo: bad header magic %#x len %u", (unsigned)h.magic, (unsigned)h.len);
            break;
        }
        if (h.len == 0) {
            ADD(conns_byed, 1);
            break;
        }
        rc = read_all(fd, buf + sizeof h, h.len);
        if (rc != 1) {
            FAILF("echo: body: %s", rc ? weft_strerror(rc) : "EOF");
            break;
        }
        if (fnv1a(buf + sizeof h, h.len) != h.hash)
            FAILF("echo: checksum mismatch on a %u-byte message", (unsigned)h.len);
        rc = write_all(fd, buf, sizeof h + h.len);
        if (rc != 0) {
            FAILF("echo: write: %s", weft_strerror(rc));
            break;
        }
        ADD(msgs_echoed, 1);
        ADD(bytes_echoed, (long)h.len);
    }
    FCHECK_RC(weft_close(fd), 0);
    ADD(conns_srv_closed, 1);
    free(buf);
    FCHECK_RC(weft_waitgroup_done(&ec->lane->conns), 0);
    free(ec);
    return NULL;
}

/* Accept until cancelled; each connection gets a detached fiber. */
static void *acceptor(void *arg)
{
    struct echo_lane *el = arg;
    for (;;) {
        int fd = weft_accept(el->lfd, NULL, NULL);
        if (fd == -ECANCELED)
            break;
        if (fd < 0) {
            FAILF("accept: %s", weft_strerror(fd));
            continue;
        }
        ADD(conns_accepted, 1);
        struct echo_conn *ec = malloc(sizeof *ec);
        FCHECK(ec != NULL);
        if (!ec) {
            weft_close(fd);
            continue;
        }
        *ec = (struct echo_conn){.lane = el, .fd = fd};
        FCHECK_RC(weft_waitgroup_add(&el->conns, 1), 0);
        int rc = weft_spawn(NULL, echo_conn, ec, &(weft_fiber_attr){.detached = true});
        if (rc != 0) {
            FAILF("spawn echo: %s", weft_strerror(rc));
            weft_close(fd);
            weft_waitgroup_done(&el->conns);
            free(ec);
        }
    }
    return NULL;
}

struct client {
    struct echo_lane *lane;
    uint64_t rng;
};

/* One connection's life: connect, messages checked byte for byte, bye,
 * EOF from the server, close. */
static void client_session(struct client *c, unsigned char *out, unsigned char *in)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        FAILF("socket: %s", strerror(errno));
        return;
    }
    int rc = weft_connect(fd, (struct sockaddr *)&c->lane->addr, sizeof c->lane->addr);
    if (rc != 0) {
        FAILF("connect: %s", weft_strerror(rc));
        FCHECK_RC(weft_close(fd), 0);
        return;
    }
    ADD(conns_opened, 1);
    int msgs = 1 + (int)below(&c->rng, MSGS_PER_CONN);
    for (int m = 0; m < msgs; m++) {
        /* Mostly small messages, a quarter up to MSG_MAX. */
        uint32_t len = 1 + (uint32_t)below(&c->rng, below(&c->rng, 4) ? 512 : MSG_MAX);
        unsigned char *body = out + sizeof(struct msg_hdr);
        for (uint32_t i = 0; i < len; i += 8) {
            uint64_t x = splitmix(&c->rng);
            memcpy(body + i, &x, len - i < 8 ? len - i : 8);
        }
        struct msg_hdr h = {.magic = MSG_MAGIC, .len = len, .hash = fnv1a(body, len)};
        memcpy(out, &h, sizeof h);
        rc = write_all(fd, out, sizeof h + len);
        if (rc != 0) {
            FAILF("client write: %s", weft_strerror(rc));
            goto out_close;
        }
        ADD(msgs_sent, 1);
        ADD(bytes_sent, (long)len);
        rc = read_all(fd, in, sizeof h + len);
        if (rc != 1) {
            FAILF("client read: %s", rc ? weft_strerror(rc) : "EOF");
            goto out_close;
        }
        if (memcmp(in, out, sizeof h + len) != 0) {
            FAILF("client: a %u-byte message came back different", (unsigned)len);
            goto out_close;
        }
        ADD(msgs_checked, 1);
        ADD(bytes_checked, (long)len);
    }
    struct msg_hdr bye = {.magic = MSG_MAGIC};
    memcpy(out, &bye, sizeof bye);
    rc = write_all(fd, out, sizeof bye);
    if (rc != 0) {
        FAILF("client bye: %s", weft_strerror(rc));
        goto out_close;
    }
    rc = read_all(fd, in, 1);
    if (rc != 0)
        FAILF("client: after bye, want EOF, got %s", rc == 1 ? "data" : weft_strerror(rc));
out_close:
    FCHECK_RC(weft_close(fd), 0);
    ADD(conns_cli_closed, 1);
}

static void *client_fiber(void *arg)
{
    struct client *c = arg;
    unsigned char *out = malloc(sizeof(struct msg_hdr) + MSG_MAX);
    unsigned char *in = malloc(sizeof(struct msg_hdr) + MSG_MAX);
    FCHECK(out && in);
    while (out && in && !stopping()) {
        client_session(c, out, in);
        pace(&c->rng);
    }
    free(out);
    free(in);
    return NULL;
}

/* The echo lane: a listener for the whole run, clients reconnecting until
 * the stop; then every server fiber is waited for and the acceptor
 * cancelled (which also exercises weft_cancel on a fiber parked in I/O). */
void *echo_lane(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg;
    struct echo_lane el = {.addr.sin_family = AF_INET};
    el.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    el.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    socklen_t alen = sizeof el.addr;
    if (el.lfd < 0 || bind(el.lfd, (struct sockaddr *)&el.addr, sizeof el.addr) != 0 ||
        listen(el.lfd, 128) != 0 || getsockname(el.lfd, (struct sockaddr *)&el.addr, &alen) != 0) {
        FAILF("listener: %s", strerror(errno));
        return NULL;
    }
    FCHECK_RC(weft_waitgroup_init(&el.conns), 0);
    weft_fiber acc, cl[CLIENTS];
    struct client cs[CLIENTS];
    FCHECK_RC(weft_spawn(&acc, acceptor, &el, NULL), 0);
    for (int i = 0; i < CLIENTS; i++) {
        cs[i] = (struct client){.lane = &el, .rng = splitmix(&rng)};
        FCHECK_RC(weft_spawn(&cl[i], client_fiber, &cs[i], NULL), 0);
    }
    for (int i = 0; i < CLIENTS; i++)
        FCHECK_RC(weft_join(cl[i], NULL), 0);
    FCHECK_RC(weft_waitgroup_wait(&el.conns), 0);
    FCHECK_RC(weft_cancel(acc), 0);
    FCHECK_RC(weft_join(acc, NULL), 0);
    FCHECK_RC(weft_waitgroup_destroy(&el.conns), 0);
    FCHECK_RC(weft_close(el.lfd), 0);
    ADD(rounds[LANE_ECHO], 1);
    return NULL;
}
