/*
 * echo.c - a TCP echo server with one fiber per connection, written as
 * blocking code: accept, then read and write until the peer hangs up. The
 * fibers park on the netpoller, never their workers.
 *
 *   examples/echo [--listen HOST:PORT] [--workers N]
 *
 * Defaults: 127.0.0.1:7007, one worker per core; port 0 picks a free port,
 * and the "listening on" line says which. SIGINT or SIGTERM stops
 * it cleanly: a fiber reads the signal from a self-pipe with weft_read,
 * closes the listener (which wakes the accept loop with -EBADF), shuts
 * every connection down (their fibers see end of file and leave), waits
 * for the last one and returns, so weft_main ends with no fiber left.
 * Try it with `nc 127.0.0.1 7007`.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <weft.h>

#define MS ((int64_t)1000000)

struct server {
    int lfd;
    int sig_pipe[2];  /* the signal handler writes, the stopper fiber reads */
    int done_pipe[2]; /* the last connection out writes, the stopper reads */
    _Atomic int stopping;
    _Atomic long live;           /* connection fibers running */
    long served;                 /* connections accepted (the acceptor's own count) */
    _Atomic unsigned char *open; /* open[fd]: a connection fiber owns fd */
    size_t nopen;
};

static struct server srv = {.lfd = -1};

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char c = (unsigned char)sig;
    ssize_t r = write(srv.sig_pipe[1], &c, 1); /* async-signal-safe */
    (void)r;
    errno = saved;
}

static void connection_done(void)
{
    /* seq_cst pairs with the stopper's store of stopping and load of live:
     * either it sees us gone, or we see it stopping and tell it. */
    if (atomic_fetch_sub(&srv.live, 1) == 1 && atomic_load(&srv.stopping)) {
        ssize_t r = weft_write(srv.done_pipe[1], "x", 1);
        (void)r;
    }
}

static void *connection(void *arg)
{
    int fd = (int)(intptr_t)arg;
    if ((size_t)fd < srv.nopen)
        atomic_store(&srv.open[fd], 1);
    char buf[16384];
    while (!atomic_load(&srv.stopping)) {
        ssize_t n = weft_read(fd, buf, sizeof buf);
        if (n <= 0) /* 0: the peer (or the stopper's shutdown) ended it */
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = weft_write(fd, buf + off, (size_t)(n - off));
            if (w < 0)
                goto out;
            off += w;
        }
    }
out:
    if ((size_t)fd < srv.nopen)
        atomic_store(&srv.open[fd], 0);
    weft_close(fd);
    connection_done();
    return NULL;
}

/* Wait for SIGINT/SIGTERM, then stop everything, then wait for the
 * connection fibers to finish. */
static void *stopper(void *arg)
{
    (void)arg;
    unsigned char sig;
    while (weft_read(srv.sig_pipe[0], &sig, 1) != 1)
        ;
    fprintf(stderr, "echo: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    atomic_store(&srv.stopping, 1);
    weft_close(srv.lfd); /* the accept loop returns -EBADF */
    for (size_t fd = 0; fd < srv.nopen; fd++)
        if (atomic_load(&srv.open[fd]))
            shutdown((int)fd, SHUT_RDWR); /* its reader sees end of file */
    while (atomic_load(&srv.live) > 0) {
        char c;
        weft_read(srv.done_pipe[0], &c, 1);
    }
    return NULL;
}

static void *serve(void *arg)
{
    (void)arg;
    weft_fiber stop;
    if (weft_spawn(&stop, stopper, NULL, &(weft_fiber_attr){.name = "stopper"}) != 0)
        return (void *)1;
    for (;;) {
        int fd = weft_accept(srv.lfd, NULL, NULL);
        if (fd == -EMFILE || fd == -ENFILE) {
            weft_sleep(10 * MS); /* out of fds: back off, or we would spin */
            continue;
        }
        if (fd < 0)
            break; /* -EBADF: the stopper closed the listener */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        atomic_fetch_add(&srv.live, 1);
        srv.served++;
        weft_fiber_attr attr = {.detached = true, .stack_size = 64 * 1024};
        if (weft_spawn(NULL, connection, (void *)(intptr_t)fd, &attr) != 0) {
            weft_close(fd);
            connection_done();
        }
    }
    weft_join(stop, NULL);
    return NULL;
}

/* Bind and listen on HOST:PORT ([v6addr]:port for IPv6). */
static int listen_on(const char *spec)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= sizeof host)
        return -1;
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    char *h = host;
    if (h[0] == '[' && h[strlen(h) - 1] == ']') {
        h[strlen(h) - 1] = '\0';
        h++;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res, *ai;
    int e = getaddrinfo(*h ? h : NULL, colon + 1, &hints, &res);
    if (e) {
        fprintf(stderr, "echo: %s: %s\n", spec, gai_strerror(e));
        return -1;
    }
    int fd = -1;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 4096) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        fprintf(stderr, "echo: cannot listen on %s: %s\n", spec, strerror(errno));
    return fd;
}

/* Says where @fd listens, the port the kernel chose (for port 0) included. */
static void print_listening(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char host[NI_MAXHOST], port[NI_MAXSERV];
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
        getnameinfo((struct sockaddr *)&ss, sl, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return;
    fprintf(stderr,
            ss.ss_family == AF_INET6 ? "echo: listening on [%s]:%s\n"
                                     : "echo: listening on %s:%s\n",
            host, port);
}

static int usage(void)
{
    fprintf(stderr, "usage: echo [--listen HOST:PORT] [--workers N]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *listen_spec = "127.0.0.1:7007";
    weft_config cfg = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--listen") && i + 1 < argc) {
            listen_spec = argv[++i];
        } else if (!strcmp(argv[i], "--workers") && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > WEFT_WORKERS_MAX)
                return usage();
            cfg.workers = (int)n;
        } else {
            return usage();
        }
    }
    /* One fd per connection: take all the hard limit allows. Connections
     * are tracked by fd number, up to the limit. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    srv.nopen = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                    ? (size_t)rl.rlim_cur
                    : 65536;
    srv.open = calloc(srv.nopen, 1);
    if (!srv.open || pipe(srv.sig_pipe) != 0 || pipe(srv.done_pipe) != 0) {
        perror("echo");
        return 1;
    }
    srv.lfd = listen_on(listen_spec);
    if (srv.lfd < 0)
        return 1;
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    print_listening(srv.lfd);
    int err = weft_main(&cfg, serve, NULL, NULL);
    if (err) {
        fprintf(stderr, "echo: %s\n", weft_strerror(err));
        return 1;
    }
    fprintf(stderr, "echo: stopped after %ld connections\n", srv.served);
    return 0;
}
