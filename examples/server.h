/*
 * server.h - what the example TCP servers (echo.c, http_hello.c) share:
 * everything but the conversation on one connection. A header of static
 * functions, included by one .c file each; not part of weft.
 *
 * server_main(argc, argv, name, default_listen, connection) is the whole
 * main() of such a server:
 *
 *   - parses [--listen HOST:PORT] [--workers N] (HOST:PORT may be
 *     [v6addr]:port; port 0 picks a free port), and answers anything else
 *     with a usage line and exit status 2;
 *   - raises the open-file limit to the hard limit (one fd per connection)
 *     and keeps one byte per possible fd to track open connections;
 *   - binds and listens, and prints "NAME: listening on HOST:PORT" on
 *     stderr with the port the kernel chose;
 *   - blocks SIGINT and SIGTERM before weft_main starts any thread, so that
 *     a stopper fiber takes them with weft_signal_wait (no handler);
 *   - runs weft_main: an accept loop that spawns one detached fiber per
 *     connection running @connection(fd as intptr_t), counted on a
 *     weft_waitgroup. On SIGINT/SIGTERM the stopper sets srv.stopping,
 *     closes the listener (the accept loop gets -EBADF) and shuts every
 *     open connection down (its fiber reads end of file); the accept loop
 *     then waits for the last connection fiber, so weft_main returns with no
 *     fiber left;
 *   - returns 0 after a clean stop (the caller prints its summary and exits
 *     with it), 1 on a setup or weft error, 2 on bad arguments.
 *
 * The connection function calls server_conn_begin(fd) first, loops while
 * !server_stopping(), and ends with server_conn_end(fd), which closes fd
 * and counts the fiber out. srv.served counts the connections accepted.
 */
#ifndef EXAMPLES_SERVER_H
#define EXAMPLES_SERVER_H

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <weft.h>

#include "hostport.h"

#define MS ((int64_t)1000000)

struct server {
    const char *name; /* the program's, for messages */
    int lfd;
    sigset_t stop_signals; /* SIGINT, SIGTERM: blocked in every thread */
    _Atomic int stopping;
    weft_waitgroup live;         /* connection fibers running */
    long served;                 /* connections accepted (the acceptor's own count) */
    _Atomic unsigned char *open; /* open[fd]: a connection fiber owns fd */
    size_t nopen;
    void *(*connection)(void *); /* the example's, one fiber per connection */
};

static struct server srv = {.lfd = -1};

/* First thing a connection fiber does with its @fd. */
static void server_conn_begin(int fd)
{
    /* seq_cst, with the load of stopping in server_stopping(), pairs with
     * the stopper's store of stopping and its loads of open[]: either it
     * sees this fd open and shuts it down, or this fiber sees it stopping
     * and leaves. */
    if ((size_t)fd < srv.nopen)
        atomic_store(&srv.open[fd], 1);
}

/* Is the server stopping? A connection fiber checks before each read. */
static bool server_stopping(void)
{
    return atomic_load(&srv.stopping);
}

/* Last thing a connection fiber does: closes @fd, counts itself out. */
static void server_conn_end(int fd)
{
    if ((size_t)fd < srv.nopen)
        atomic_store(&srv.open[fd], 0);
    weft_close(fd);
    weft_waitgroup_done(&srv.live);
}

/* Wait for SIGINT/SIGTERM, then stop accepting and end every connection. */
static void *server_stopper(void *arg)
{
    (void)arg;
    int sig = weft_signal_wait(&srv.stop_signals);
    if (sig < 0) { /* the server goes on, but only SIGKILL stops it now */
        fprintf(stderr, "%s: weft_signal_wait: %s\n", srv.name, weft_strerror(sig));
        return NULL;
    }
    fprintf(stderr, "%s: %s, stopping\n", srv.name, sig == SIGINT ? "SIGINT" : "SIGTERM");
    atomic_store(&srv.stopping, 1);
    weft_close(srv.lfd); /* the accept loop returns -EBADF */
    for (size_t fd = 0; fd < srv.nopen; fd++)
        if (atomic_load(&srv.open[fd]))
            shutdown((int)fd, SHUT_RDWR); /* its reader sees end of file */
    return NULL;
}

static void *server_serve(void *arg)
{
    (void)arg;
    weft_fiber stop;
    if (weft_spawn(&stop, server_stopper, NULL, &(weft_fiber_attr){.name = "stopper"}) != 0)
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
        weft_waitgroup_add(&srv.live, 1);
        srv.served++;
        weft_fiber_attr attr = {.detached = true, .stack_size = 64 * 1024};
        if (weft_spawn(NULL, srv.connection, (void *)(intptr_t)fd, &attr) != 0) {
            weft_close(fd);
            weft_waitgroup_done(&srv.live);
        }
    }
    /* No add follows: every connection fiber is counted, and the stopper
     * has shut each down or it saw stopping. Wait for the last. */
    weft_join(stop, NULL);
    weft_waitgroup_wait(&srv.live);
    return NULL;
}

static int server_usage(void)
{
    fprintf(stderr, "usage: %s [--listen HOST:PORT] [--workers N]\n", srv.name);
    return 2;
}

/* The server's main(), as the comment at the top says. */
static int server_main(int argc, char **argv, const char *name, const char *default_listen,
                       void *(*connection)(void *))
{
    srv.name = name;
    srv.connection = connection;
    const char *listen_spec = default_listen;
    weft_config cfg = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--listen") && i + 1 < argc) {
            listen_spec = argv[++i];
        } else if (!strcmp(argv[i], "--workers") && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > WEFT_WORKERS_MAX)
                return server_usage();
            cfg.workers = (int)n;
        } else {
            return server_usage();
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
    if (!srv.open) {
        perror(name);
        return 1;
    }
    srv.lfd = listen_host_port(listen_spec, SOCK_CLOEXEC, srv.name);
    if (srv.lfd < 0)
        return 1;
    /* Blocked here, before weft_main starts any thread, so that every
     * thread inherits the mask and the signals wait for weft_signal_wait. */
    sigemptyset(&srv.stop_signals);
    sigaddset(&srv.stop_signals, SIGINT);
    sigaddset(&srv.stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &srv.stop_signals, NULL);
    print_listening(srv.lfd, srv.name);
    int err = weft_main(&cfg, server_serve, NULL, NULL);
    if (err) {
        fprintf(stderr, "%s: %s\n", name, weft_strerror(err));
        return 1;
    }
    return 0;
}

#endif /* EXAMPLES_SERVER_H */
