/*
 * echo.c - a TCP echo server with one fiber per connection, written as
 * blocking code: accept, then read and write until the peer hangs up. The
 * fibers park on the netpoller, never their workers.
 *
 *   examples/echo [--listen HOST:PORT] [--workers N]
 *
 * Defaults: 127.0.0.1:7007, one worker per core; port 0 picks a free port,
 * and the "listening on" line says which. SIGINT or SIGTERM stops it
 * cleanly: a fiber waits for them with weft_signal_wait, closes the
 * listener (the accept loop returns -EBADF) and shuts every connection
 * down (their fibers see end of file and leave); the accept loop then waits
 * for the last of them on a weft_waitgroup, so weft_main returns with no
 * fiber left. All but the connection loop below is in server.h, shared
 * with http_hello.c. Try it with `nc 127.0.0.1 7007`.
 */
#include "server.h"

static void *connection(void *arg)
{
    int fd = (int)(intptr_t)arg;
    server_conn_begin(fd);
    char buf[16384];
    while (!server_stopping()) {
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
    server_conn_end(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    int rc = server_main(argc, argv, "echo", "127.0.0.1:7007", connection);
    if (rc == 0)
        fprintf(stderr, "echo: stopped after %ld connections\n", srv.served);
    return rc;
}
