/*
 * epoll_echo.c - the echo benchmark's event-loop peer: one thread, one
 * epoll set (level-triggered), non-blocking sockets, the loop that nginx
 * and redis are made of, with no runtime under it. What weft's examples/echo
 * does with a fiber per connection, written by hand as a state machine.
 *
 *   epoll_echo [--listen HOST:PORT] [--workers N]
 *
 * Defaults: 127.0.0.1:7008; port 0 picks a free port, and the "listening
 * on" line says which. --workers is accepted for the benchmark script's
 * sake and must be 1 or absent: the loop is single-threaded by design.
 * Each readable connection is read once (16 KiB) and the bytes written
 * back; what the socket will not take is kept and the connection waits for
 * EPOLLOUT, reading nothing more until it is flushed. Out of fds, the
 * listener gives up a spare fd to accept and drop the connection (libev's
 * trick), so a level-triggered loop does not spin. SIGINT/SIGTERM (a
 * signalfd in the set) stop it: every connection is closed, status 0.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hostport.h"

enum { BUF = 16384, MAX_EVENTS = 256 };

/* Bytes read but not yet written back, per connection (by fd). */
struct pending {
    char *data;
    size_t off, len;
};

static struct pending *pend;
static size_t npend;
static bool *open_fd;
static int ep;

static void drop(int fd)
{
    if ((size_t)fd < npend) {
        free(pend[fd].data);
        pend[fd] = (struct pending){0};
        open_fd[fd] = false;
    }
    close(fd); /* also leaves the epoll set */
}

static bool watch(int fd, uint32_t events, int op)
{
    struct epoll_event ev = {.events = events, .data.fd = fd};
    return epoll_ctl(ep, op, fd, &ev) == 0;
}

/* Writes what @fd has pending; false if the connection is to be dropped. */
static bool flush(int fd)
{
    struct pending *p = &pend[fd];
    while (p->off < p->len) {
        ssize_t n = send(fd, p->data + p->off, p->len - p->off, MSG_NOSIGNAL);
        if (n > 0)
            p->off += (size_t)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else if (n < 0 && errno == EAGAIN)
            return true; /* still waiting for EPOLLOUT */
        else
            return false;
    }
    free(p->data);
    *p = (struct pending){0};
    return watch(fd, EPOLLIN, EPOLL_CTL_MOD); /* back to reading */
}

/* One readable connection: read once, write it all back, or keep the rest. */
static bool echo(int fd, char *buf)
{
    ssize_t n;
    do
        n = recv(fd, buf, BUF, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN)
        return true;
    if (n <= 0)
        return false; /* end of file, or an error such as a reset */
    ssize_t off = 0;
    while (off < n) {
        ssize_t w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
        if (w > 0)
            off += w;
        else if (w < 0 && errno == EINTR)
            continue;
        else if (w < 0 && errno == EAGAIN)
            break;
        else
            return false;
    }
    if (off == n)
        return true;
    struct pending *p = &pend[fd];
    p->len = (size_t)(n - off);
    p->off = 0;
    p->data = malloc(p->len);
    if (!p->data)
        return false;
    memcpy(p->data, buf + off, p->len);
    return watch(fd, EPOLLOUT, EPOLL_CTL_MOD); /* read no more until it is out */
}

int main(int argc, char **argv)
{
    const char *spec = "127.0.0.1:7008";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--listen") && i + 1 < argc) {
            spec = argv[++i];
        } else if (!strcmp(argv[i], "--workers") && i + 1 < argc) {
            if (strcmp(argv[++i], "1") != 0)
                fprintf(stderr, "epoll_echo: single-threaded: --workers %s ignored\n", argv[i]);
        } else {
            fprintf(stderr, "usage: epoll_echo [--listen HOST:PORT] [--workers 1]\n");
            return 2;
        }
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    npend = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (size_t)rl.rlim_cur
                                                                               : 65536;
    pend = calloc(npend, sizeof *pend);
    open_fd = calloc(npend, sizeof *open_fd);
    char *buf = malloc(BUF);
    if (!pend || !open_fd || !buf) {
        perror("epoll_echo");
        return 1;
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    int sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
    int lfd = listen_host_port(spec, SOCK_CLOEXEC | SOCK_NONBLOCK, "epoll_echo");
    if (lfd >= 0)
        print_listening(lfd, "epoll_echo");
    int spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (sfd < 0 || lfd < 0 || spare < 0 || ep < 0 || !watch(sfd, EPOLLIN, EPOLL_CTL_ADD) ||
        !watch(lfd, EPOLLIN, EPOLL_CTL_ADD)) {
        perror("epoll_echo");
        return 1;
    }
    long served = 0;
    struct epoll_event evs[MAX_EVENTS];
    for (bool stop = false; !stop;) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
        if (n < 0 && errno != EINTR) {
            perror("epoll_echo: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == sfd) {
                stop = true;
            } else if (fd == lfd) {
                for (;;) {
                    int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (c < 0 && (errno == EMFILE || errno == ENFILE)) {
                        close(spare); /* take the connection off the queue and drop it */
                        c = accept(lfd, NULL, NULL);
                        if (c >= 0)
                            close(c);
                        spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
                        break;
                    }
                    if (c < 0)
                        break; /* EAGAIN: all taken; or an aborted connection */
                    if ((size_t)c >= npend || !watch(c, EPOLLIN, EPOLL_CTL_ADD)) {
                        close(c);
                        continue;
                    }
                    int one = 1;
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    open_fd[c] = true;
                    served++;
                }
            } else if (pend[fd].data ? !flush(fd) : !echo(fd, buf)) {
                drop(fd);
            }
        }
    }
    fprintf(stderr, "epoll_echo: stopping\n");
    for (size_t fd = 0; fd < npend; fd++)
        if (open_fd[fd])
            drop((int)fd);
    close(lfd);
    fprintf(stderr, "epoll_echo: stopped after %ld connections\n", served);
    free(buf);
    free(pend);
    free(open_fd);
    return 0;
}
