/*
 * hostport.h - HOST:PORT for the examples' servers and the benchmark
 * servers and load generator in bench/net: split it (HOST may be "[v6]" or
 * empty), listen on it, say where one listens. Header-only, not part of
 * weft; plain blocking socket calls, made before any fiber runs.
 */
#ifndef WEFT_EXAMPLES_HOSTPORT_H
#define WEFT_EXAMPLES_HOSTPORT_H

#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Copy @spec's host into @host (@cap bytes, brackets stripped) and point
 * *@port at its port. False if there is no ':' or the host does not fit. */
static inline bool split_host_port(const char *spec, char *host, size_t cap, const char **port)
{
    const char *colon = strrchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= cap)
        return false;
    size_t n = (size_t)(colon - spec);
    if (n >= 2 && spec[0] == '[' && spec[n - 1] == ']') {
        memcpy(host, spec + 1, n - 2);
        host[n - 2] = '\0';
    } else {
        memcpy(host, spec, n);
        host[n] = '\0';
    }
    *port = colon + 1;
    return true;
}

/* Bind and listen on @spec with socket flags @sock_flags (SOCK_CLOEXEC,
 * SOCK_NONBLOCK...); the fd, or -1 after a message naming @who. */
static inline int listen_host_port(const char *spec, int sock_flags, const char *who)
{
    char host[256];
    const char *port;
    if (!split_host_port(spec, host, sizeof host, &port)) {
        fprintf(stderr, "%s: %s: expected HOST:PORT\n", who, spec);
        return -1;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res, *ai;
    int e = getaddrinfo(*host ? host : NULL, port, &hints, &res);
    if (e) {
        fprintf(stderr, "%s: %s: %s\n", who, spec, gai_strerror(e));
        return -1;
    }
    int fd = -1;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | sock_flags, ai->ai_protocol);
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
        fprintf(stderr, "%s: cannot listen on %s: %s\n", who, spec, strerror(errno));
    return fd;
}

/* Say on stderr where @fd listens, the port the kernel chose (for port 0)
 * included: "WHO: listening on HOST:PORT". */
static inline void print_listening(int fd, const char *who)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char host[NI_MAXHOST], port[NI_MAXSERV];
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
        getnameinfo((struct sockaddr *)&ss, sl, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return;
    fprintf(stderr,
            ss.ss_family == AF_INET6 ? "%s: listening on [%s]:%s\n" : "%s: listening on %s:%s\n",
            who, host, port);
}

#endif /* WEFT_EXAMPLES_HOSTPORT_H */
