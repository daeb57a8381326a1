/*
 * loadgen.c - the load generator of the echo and http benchmarks: plain
 * epoll and non-blocking sockets, no weft, so that one client drives every
 * server (weft's, Go's, the epoll loop) and is never the difference.
 *
 *   loadgen --connect HOST:PORT [--mode echo|http] [--conns N] [--threads T]
 *           [--requests R | --duration S] [--warmup S] [--size B] [--body STR]
 *           [--timeout S] [--impl NAME] [--workers W]
 *
 * It opens N connections (blocking connects, one at a time per thread, so
 * the server's accept queue never overflows), split over T threads, each
 * with its own epoll set. Each connection keeps exactly one request
 * outstanding: it sends the next as soon as the previous answer is in and
 * checked. First a warm-up (--warmup seconds, default 0.5; not counted),
 * then the measured phase: exactly R requests (--requests, default
 * 200,000), or those sent within --duration seconds (their answers, which
 * drain after the window, included; scripts/bench_net.py uses this). The
 * time is from the start of the measured phase to the last measured
 * answer; latency is from a request's write to the last byte of its
 * answer, recorded in a histogram with 64 buckets per power of two (1.6%).
 *
 * Checked, every time: in echo mode each request is --size bytes (default
 * 64) derived from the connection and its sequence number, and the answer
 * must be those bytes, no more; in http mode the request is a keep-alive
 * "GET / HTTP/1.1" and the answer must be "HTTP/1.1 200" with a
 * Content-Length and the body --body (default "hello"), and no
 * "Connection: close". A connection the server closes, an unasked-for
 * byte, or no progress for --timeout seconds (default 30) fails the run.
 *
 * Output: a summary on stderr, and on stdout the key=value line of
 * bench/lib/harness.h, so that scripts/bench.py reads it as any other:
 *
 *   bench=echo impl=NAME workers=W n=CONNS reps=1 median_ns=T min_ns=T
 *   max_ns=T per_op_ns=T/R ok=1 requests=R rps=... p50_us=... p99_us=...
 *   max_us=...
 *
 * (ok=0 and exit status 1 on any failure). The soft fd limit is raised to
 * the hard one; too few fds for N connections is exit status 3.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hostport.h"

enum mode { MODE_ECHO, MODE_HTTP };

/* Phases, in order; main moves them on, threads read them. */
enum phase { PH_WARMUP, PH_MEASURE, PH_STOP };

enum {
    SUB_BITS = 6, /* histogram: 64 buckets per power of two, 1.6% apart */
    SUB = 1 << SUB_BITS,
    NBUCKETS = SUB * 40, /* up to 2^45 ns, nine hours */
    HTTP_RESP_MAX = 4096,
    MAX_EVENTS = 256,
};

struct options {
    const char *connect;
    enum mode mode;
    long conns;
    int threads;
    long requests; /* count mode if > 0 */
    double duration, warmup, timeout;
    size_t size;
    const char *body;
    const char *impl;
    int workers;
};

static struct options opt = {
    .mode = MODE_ECHO,
    .conns = 64,
    .threads = 1,
    .requests = 0,
    .duration = 0,
    .warmup = 0.5,
    .timeout = 30,
    .size = 64,
    .body = "hello",
    .impl = "unknown",
    .workers = 0,
};

static struct sockaddr_storage server;
static socklen_t server_len;
static char http_request[256];
static size_t http_request_len;

static _Atomic int phase;
static _Atomic bool failed; /* a thread failed: the others stop too */
/* Start of the measured phase. Written by main before its release store
 * of PH_MEASURE; threads read it after their joins (pthread_join orders). */
static int64_t t_start;

struct hist {
    uint64_t count[NBUCKETS];
    uint64_t total;
    int64_t max;
};

struct conn {
    int fd;
    uint32_t id;
    uint64_t seq;    /* requests sent on it */
    int64_t sent_at; /* write of the outstanding request */
    bool busy;       /* a request is outstanding */
    bool measured;   /* ... sent in the measured phase */
    bool want_out;   /* registered for EPOLLOUT: the request is partly written */
    size_t wrote;    /* bytes of the request written */
    size_t got;      /* bytes of the answer received */
    size_t resp_len; /* http: header + body, once the header is in; else 0 */
    unsigned char *req, *resp;
};

struct thread {
    pthread_t tid;
    int index;
    int ep;
    struct conn *conns;
    long nconns;
    long budget;            /* count mode: measured requests this thread sends */
    long issued, completed; /* measured */
    long busy;              /* connections with a request outstanding */
    int64_t last_done;      /* time of the last measured answer */
    int64_t last_progress;  /* time of the last answer of any kind */
    struct hist h;
    char error[256]; /* "" unless this thread failed */
};

static pthread_barrier_t connected;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Records @why as @t's failure (the first one only) and stops everyone. */
__attribute__((format(printf, 2, 3))) static bool fail(struct thread *t, const char *why, ...)
{
    if (!t->error[0]) {
        va_list ap;
        va_start(ap, why);
        vsnprintf(t->error, sizeof t->error, why, ap);
        va_end(ap);
    }
    atomic_store(&failed, true);
    return false;
}

static int bucket_of(int64_t v)
{
    if (v < SUB)
        return v < 0 ? 0 : (int)v;
    int e = 63 - __builtin_clzll((unsigned long long)v); /* >= SUB_BITS */
    int b = (e - SUB_BITS + 1) * SUB + (int)((v >> (e - SUB_BITS)) - SUB);
    return b < NBUCKETS ? b : NBUCKETS - 1;
}

/* The middle of bucket @b's range. */
static double bucket_value(int b)
{
    if (b < SUB)
        return b;
    int e = b / SUB - 1 + SUB_BITS;
    double lo = (double)((uint64_t)(b % SUB + SUB) << (e - SUB_BITS));
    return lo + (double)(1ull << (e - SUB_BITS)) / 2;
}

static void hist_add(struct hist *h, int64_t v)
{
    h->count[bucket_of(v)]++;
    h->total++;
    if (v > h->max)
        h->max = v;
}

static double hist_percentile(const struct hist *h, double p)
{
    uint64_t want = (uint64_t)(p * (double)h->total + 0.5), seen = 0;
    if (want < 1)
        want = 1;
    for (int b = 0; b < NBUCKETS; b++) {
        seen += h->count[b];
        if (seen >= want)
            return bucket_value(b);
    }
    return (double)h->max;
}

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull; /* splitmix64 */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Echo mode: fills c->req with the bytes of message c->seq. */
static void fill_message(struct conn *c)
{
    uint64_t base = mix64(((uint64_t)c->id << 40) ^ c->seq);
    for (size_t k = 0; k < opt.size; k += 8) {
        uint64_t v = mix64(base + k);
        size_t n = opt.size - k < 8 ? opt.size - k : 8;
        memcpy(c->req + k, &v, n);
    }
}

static bool set_out_interest(struct thread *t, struct conn *c, bool out)
{
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(t->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        return fail(t, "epoll_ctl: %s", strerror(errno));
    c->want_out = out;
    return true;
}

/* Writes what is left of c's request; waits for EPOLLOUT if it must. */
static bool write_request(struct thread *t, struct conn *c)
{
    size_t len = opt.mode == MODE_ECHO ? opt.size : http_request_len;
    while (c->wrote < len) {
        ssize_t n = send(c->fd, c->req + c->wrote, len - c->wrote, MSG_NOSIGNAL);
        if (n > 0) {
            c->wrote += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            return c->want_out || set_out_interest(t, c, true);
        } else {
            return fail(t, "connection %u: send: %s", c->id, strerror(errno));
        }
    }
    return !c->want_out || set_out_interest(t, c, false);
}

/* Sends c's next request, if the phase (and in count mode the budget) lets it. */
static bool send_next(struct thread *t, struct conn *c, int ph, int64_t now)
{
    if (ph == PH_STOP)
        return true;
    c->measured = ph == PH_MEASURE;
    if (c->measured && opt.requests > 0) {
        if (t->issued == t->budget)
            return true; /* this thread has sent its share */
        t->issued++;
    }
    c->seq++;
    if (opt.mode == MODE_ECHO)
        fill_message(c);
    c->busy = true;
    t->busy++;
    c->wrote = c->got = c->resp_len = 0;
    c->sent_at = now;
    return write_request(t, c);
}

/* http: checks the header in c->resp[0, hdr) and sets c->resp_len. */
static bool parse_http_header(struct thread *t, struct conn *c, size_t hdr)
{
    const char *p = (const char *)c->resp, *end = p + hdr;
    if (hdr < 13 || memcmp(p, "HTTP/1.1 200 ", 13) != 0)
        return fail(t, "connection %u: not a 200 response: '%.40s'", c->id, p);
    long long length = -1;
    const char *status_end = memchr(p, '\n', hdr); /* there: the header ends in CRLFCRLF */
    for (const char *line = status_end + 1; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            break;
        if (eol - line > 15 && strncasecmp(line, "Content-Length:", 15) == 0) {
            length = 0;
            for (const char *d = line + 15; d < eol; d++)
                if (*d >= '0' && *d <= '9')
                    length = length * 10 + (*d - '0');
        } else if (eol - line >= 17 && strncasecmp(line, "Connection: close", 17) == 0) {
            return fail(t, "connection %u: the server closes a keep-alive connection", c->id);
        }
        line = eol + 1;
    }
    if (length < 0 || hdr + (size_t)length > HTTP_RESP_MAX)
        return fail(t, "connection %u: no Content-Length, or too long", c->id);
    c->resp_len = hdr + (size_t)length;
    return true;
}

/* Reads what c's socket has; true unless something was wrong. *@done is set
 * once the whole answer is in and checked. */
static bool read_answer(struct thread *t, struct conn *c, bool *done)
{
    size_t cap = opt.mode == MODE_ECHO ? opt.size + 1 : HTTP_RESP_MAX; /* +1: see extra bytes */
    *done = false;
    ssize_t n;
    do
        n = recv(c->fd, c->resp + c->got, cap - c->got, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN)
        return true;
    if (n < 0)
        return fail(t, "connection %u: recv: %s", c->id, strerror(errno));
    if (n == 0)
        return fail(t, "connection %u: the server closed it", c->id);
    if (!c->busy)
        return fail(t, "connection %u: %zd bytes nobody asked for", c->id, n);
    c->got += (size_t)n;
    if (opt.mode == MODE_ECHO) {
        if (c->got > opt.size)
            return fail(t, "connection %u: more bytes back than were sent", c->id);
        if (c->got < opt.size)
            return true;
        if (memcmp(c->resp, c->req, opt.size) != 0)
            return fail(t, "connection %u: message %" PRIu64 " came back changed", c->id, c->seq);
        *done = true;
        return true;
    }
    if (c->resp_len == 0) {
        unsigned char *blank = memmem(c->resp, c->got, "\r\n\r\n", 4);
        if (!blank)
            return c->got < cap || fail(t, "connection %u: header too long", c->id);
        if (!parse_http_header(t, c, (size_t)(blank - c->resp) + 4))
            return false;
    }
    if (c->got > c->resp_len)
        return fail(t, "connection %u: bytes after the answer", c->id);
    if (c->got < c->resp_len)
        return true;
    size_t blen = strlen(opt.body);
    if (c->resp_len - blen < 4 || c->resp_len < blen ||
        memcmp(c->resp + c->resp_len - blen, opt.body, blen) != 0 ||
        memcmp(c->resp + c->resp_len - blen - 4, "\r\n\r\n", 4) != 0)
        return fail(t, "connection %u: the body is not '%s'", c->id, opt.body);
    *done = true;
    return true;
}

static bool on_event(struct thread *t, struct conn *c, uint32_t events, int ph)
{
    if ((events & EPOLLOUT) && c->busy && !write_request(t, c))
        return false;
    if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        return true;
    bool done;
    if (!read_answer(t, c, &done))
        return false;
    if (!done)
        return true;
    int64_t now = now_ns();
    if (c->wrote < (opt.mode == MODE_ECHO ? opt.size : http_request_len))
        return fail(t, "connection %u: answered before the request was sent", c->id);
    c->busy = false;
    t->busy--;
    t->last_progress = now;
    if (c->measured) {
        hist_add(&t->h, now - c->sent_at);
        t->completed++;
        t->last_done = now;
    }
    return send_next(t, c, ph, now);
}

static bool connect_all(struct thread *t)
{
    for (long i = 0; i < t->nconns; i++) {
        struct conn *c = &t->conns[i];
        c->fd = socket(server.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
            return fail(t, "socket: %s", strerror(errno));
        int r;
        do
            r = connect(c->fd, (struct sockaddr *)&server, server_len);
        while (r != 0 && errno == EINTR);
        if (r != 0)
            return fail(t, "connect %s (connection %u of %ld): %s", opt.connect, c->id, opt.conns,
                        strerror(errno));
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int fl = fcntl(c->fd, F_GETFL);
        if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) != 0)
            return fail(t, "fcntl: %s", strerror(errno));
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(t->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
            return fail(t, "epoll_ctl: %s", strerror(errno));
    }
    return true;
}

/* Has @t done its part? */
static bool finished(const struct thread *t, int ph)
{
    if (opt.requests > 0) /* count mode: every measured answer is in */
        return ph >= PH_MEASURE && t->completed == t->budget;
    return ph == PH_STOP && t->busy == 0; /* duration: drained */
}

static void *run_thread(void *arg)
{
    struct thread *t = arg;
    bool ok = connect_all(t);
    pthread_barrier_wait(&connected); /* main starts the clock for the warm-up */
    if (!ok || atomic_load(&failed))
        return NULL;
    /* Acquire pairs with main's release store of PH_MEASURE (t_start). */
    int ph = atomic_load_explicit(&phase, memory_order_acquire);
    int64_t now = now_ns();
    t->last_progress = now;
    for (long i = 0; i < t->nconns; i++)
        if (!send_next(t, &t->conns[i], ph, now))
            return NULL;
    struct epoll_event evs[MAX_EVENTS];
    int64_t timeout_ns = (int64_t)(opt.timeout * 1e9);
    while (!finished(t, ph)) {
        int n = epoll_wait(t->ep, evs, MAX_EVENTS, 10);
        if (n < 0 && errno != EINTR) {
            fail(t, "epoll_wait: %s", strerror(errno));
            return NULL;
        }
        if (atomic_load_explicit(&failed, memory_order_relaxed)) /* someone said why */
            return NULL;
        /* A new phase applies from each connection's next request on. */
        ph = atomic_load_explicit(&phase, memory_order_acquire); /* pairs as above */
        for (int i = 0; i < n; i++)
            if (!on_event(t, evs[i].data.ptr, evs[i].events, ph))
                return NULL;
        if (n <= 0 && t->busy > 0 && now_ns() - t->last_progress > timeout_ns) {
            fail(t, "no answer for %.0f s on %ld connections", opt.timeout, t->busy);
            return NULL;
        }
    }
    return NULL;
}

/* Parses HOST:PORT (or [v6]:PORT) into server. */
static bool resolve(const char *spec)
{
    char host[256];
    const char *port;
    if (!split_host_port(spec, host, sizeof host, &port) || !*host)
        return false;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    int e = getaddrinfo(host, port, &hints, &res);
    if (e) {
        fprintf(stderr, "loadgen: %s: %s\n", spec, gai_strerror(e));
        return false;
    }
    memcpy(&server, res->ai_addr, res->ai_addrlen);
    server_len = res->ai_addrlen;
    freeaddrinfo(res);
    return true;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: loadgen --connect HOST:PORT [--mode echo|http] [--conns N] [--threads T]\n"
            "               [--requests R | --duration S] [--warmup S] [--size B] [--body STR]\n"
            "               [--timeout S] [--impl NAME] [--workers W]\n");
    return 2;
}

static bool parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi))
        return false;
    *out = v;
    return true;
}

static int parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        double v;
        if (!val)
            return usage();
        i++;
        if (!strcmp(a, "--connect"))
            opt.connect = val;
        else if (!strcmp(a, "--mode") && (!strcmp(val, "echo") || !strcmp(val, "http")))
            opt.mode = !strcmp(val, "echo") ? MODE_ECHO : MODE_HTTP;
        else if (!strcmp(a, "--conns") && parse_num(val, 1, 1e6, &v))
            opt.conns = (long)v;
        else if (!strcmp(a, "--threads") && parse_num(val, 1, 64, &v))
            opt.threads = (int)v;
        else if (!strcmp(a, "--requests") && parse_num(val, 1, 1e12, &v))
            opt.requests = (long)v;
        else if (!strcmp(a, "--duration") && parse_num(val, 0.001, 1e6, &v))
            opt.duration = v;
        else if (!strcmp(a, "--warmup") && parse_num(val, 0, 1e6, &v))
            opt.warmup = v;
        else if (!strcmp(a, "--timeout") && parse_num(val, 0.001, 1e6, &v))
            opt.timeout = v;
        else if (!strcmp(a, "--size") && parse_num(val, 1, 65536, &v))
            opt.size = (size_t)v;
        else if (!strcmp(a, "--body") && strlen(val) < HTTP_RESP_MAX / 2)
            opt.body = val;
        else if (!strcmp(a, "--impl"))
            opt.impl = val;
        else if (!strcmp(a, "--workers") && parse_num(val, 0, 1e6, &v))
            opt.workers = (int)v;
        else
            return usage();
    }
    if (!opt.connect || (opt.requests > 0 && opt.duration > 0))
        return usage();
    if (opt.requests == 0 && opt.duration == 0)
        opt.requests = 200000;
    if (opt.threads > opt.conns)
        opt.threads = (int)opt.conns;
    return 0;
}

/* Raises the soft fd limit to the hard one; false if N connections still
 * do not fit. */
static bool enough_fds(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return false;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)opt.conns + 32 > rl.rlim_cur) {
        fprintf(stderr, "loadgen: the fd limit (%llu) is too low for %ld connections\n",
                (unsigned long long)rl.rlim_cur, opt.conns);
        return false;
    }
    return true;
}

static void print_line(bool ok, long done, int64_t elapsed, const struct hist *h)
{
    printf("bench=%s impl=%s workers=%d n=%ld reps=1 median_ns=%" PRId64 " min_ns=%" PRId64
           " max_ns=%" PRId64 " per_op_ns=%.2f ok=%d",
           opt.mode == MODE_ECHO ? "echo" : "http", opt.impl, opt.workers, opt.conns, elapsed,
           elapsed, elapsed, done ? (double)elapsed / (double)done : 0.0, ok ? 1 : 0);
    if (ok)
        printf(" requests=%ld rps=%.0f p50_us=%.1f p99_us=%.1f max_us=%.1f", done,
               (double)done * 1e9 / (double)elapsed, hist_percentile(h, 0.50) / 1e3,
               hist_percentile(h, 0.99) / 1e3, (double)h->max / 1e3);
    printf("\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int rc = parse_args(argc, argv);
    if (rc)
        return rc;
    if (!resolve(opt.connect))
        return usage();
    if (!enough_fds())
        return 3;
    signal(SIGPIPE, SIG_IGN);
    if (opt.mode == MODE_HTTP)
        http_request_len = (size_t)snprintf(http_request, sizeof http_request,
                                            "GET / HTTP/1.1\r\nHost: %s\r\n"
                                            "User-Agent: weft-loadgen\r\n\r\n",
                                            opt.connect);

    struct thread *threads = calloc((size_t)opt.threads, sizeof *threads);
    struct conn *conns = calloc((size_t)opt.conns, sizeof *conns);
    size_t req_size = opt.mode == MODE_ECHO ? opt.size : 0;
    size_t resp_size = opt.mode == MODE_ECHO ? opt.size + 1 : HTTP_RESP_MAX;
    unsigned char *bufs = calloc((size_t)opt.conns, req_size + resp_size);
    if (!threads || !conns || !bufs) {
        perror("loadgen");
        return 1;
    }
    for (long i = 0; i < opt.conns; i++) {
        conns[i].fd = -1;
        conns[i].id = (uint32_t)i;
        unsigned char *b = bufs + (size_t)i * (req_size + resp_size);
        conns[i].req = opt.mode == MODE_ECHO ? b : (unsigned char *)http_request;
        conns[i].resp = b + req_size;
    }
    long per = opt.conns / opt.threads, extra = opt.conns % opt.threads;
    long first = 0;
    atomic_store(&phase, opt.warmup > 0 ? PH_WARMUP : PH_MEASURE);
    pthread_barrier_init(&connected, NULL, (unsigned)opt.threads + 1);
    for (int i = 0; i < opt.threads; i++) {
        struct thread *t = &threads[i];
        t->index = i;
        t->conns = conns + first;
        t->nconns = per + (i < extra);
        first += t->nconns;
        if (opt.requests > 0)
            t->budget = opt.requests / opt.threads + (i < opt.requests % opt.threads);
        t->ep = epoll_create1(EPOLL_CLOEXEC);
        if (t->ep < 0 || pthread_create(&t->tid, NULL, run_thread, t) != 0) {
            perror("loadgen");
            return 1;
        }
    }

    pthread_barrier_wait(&connected); /* every connection is open */
    int64_t t_connected = now_ns();
    if (opt.warmup > 0) {
        sleep_ns((int64_t)(opt.warmup * 1e9));
        t_start = now_ns();
        /* Release pairs with the threads' acquire loads of phase. */
        atomic_store_explicit(&phase, PH_MEASURE, memory_order_release);
    } else {
        t_start = t_connected;
    }
    if (opt.duration > 0) {
        int64_t end = t_start + (int64_t)(opt.duration * 1e9);
        while (!atomic_load(&failed) && now_ns() < end)
            sleep_ns(10000000 < end - now_ns() ? 10000000 : end - now_ns());
        atomic_store_explicit(&phase, PH_STOP, memory_order_release);
    }

    struct hist *h = calloc(1, sizeof *h);
    long done = 0;
    int64_t last = t_start;
    bool ok = h != NULL;
    for (int i = 0; i < opt.threads; i++) {
        struct thread *t = &threads[i];
        pthread_join(t->tid, NULL);
        if (t->error[0]) {
            fprintf(stderr, "loadgen: %s\n", t->error);
            ok = false;
        }
        if (!h)
            continue;
        for (int b = 0; b < NBUCKETS; b++)
            h->count[b] += t->h.count[b];
        h->total += t->h.total;
        if (t->h.max > h->max)
            h->max = t->h.max;
        done += t->completed;
        if (t->last_done > last)
            last = t->last_done;
    }
    /* Close with a reset (SO_LINGER 0): no TIME_WAIT left behind on the
     * client's ports, which the next run's 10,000 connections need. */
    for (long i = 0; i < opt.conns; i++) {
        if (conns[i].fd < 0)
            continue;
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(conns[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(conns[i].fd);
    }
    int64_t elapsed = last - t_start;
    if (ok && (done == 0 || elapsed <= 0)) {
        fprintf(stderr, "loadgen: no answer in the measured phase\n");
        ok = false;
    }
    print_line(ok, done, elapsed, h);
    if (ok)
        fprintf(stderr,
                "loadgen: %s %s, %ld connections, %d thread(s): %ld requests in %.3f s = %.0f "
                "req/s; latency p50 %.1f us, p99 %.1f us, max %.1f us; every answer checked\n",
                opt.mode == MODE_ECHO ? "echo" : "http", opt.connect, opt.conns, opt.threads, done,
                (double)elapsed / 1e9, (double)done * 1e9 / (double)elapsed,
                hist_percentile(h, 0.5) / 1e3, hist_percentile(h, 0.99) / 1e3,
                (double)h->max / 1e3);
    return ok ? 0 : 1;
}
