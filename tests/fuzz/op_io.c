/*
 * op_io.c - the API fuzzer's I/O ops on the fd table: read, write and
 * wait_fd (inline or probed), close, and reopening what was closed.
 */
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"

int fz_open_pipes(struct fz *z, int slot)
{
    int p[2];
    if (slot < 2 && z->fd[0] < 0 && z->fd[1] < 0) {
        if (pipe2(p, O_CLOEXEC) != 0)
            return -1;
        z->fd[0] = p[0];
        z->fd[1] = p[1];
    } else if (slot >= 2 && slot < 4 && z->fd[2] < 0 && z->fd[3] < 0) {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) != 0)
            return -1;
        z->fd[2] = p[0];
        z->fd[3] = p[1];
    } else if (slot == 4 && z->fd[4] < 0) {
        z->fd[4] = memfd_create("weft-fuzz", MFD_CLOEXEC);
    }
    return 0;
}

void fz_op_io(struct ex *x, uint8_t sub)
{
    struct fz *z = x->z;
    struct call c;
    switch (sub % 5) {
    case 0:
        fz_decode_call(z, &c, K_READ);
        fz_call_here(x, &c);
        break;
    case 1:
        fz_decode_call(z, &c, K_WRITE);
        fz_call_here(x, &c);
        break;
    case 2:
        fz_decode_call(z, &c, K_WAIT_FD);
        fz_call_here(x, &c);
        break;
    case 3: { /* close: table fds are closed once, then the closed number */
        uint8_t s = u8(z);
        enum fdk k;
        int fd = fz_pick_fd(z, s, &k);
        set_op(x, "close", fd, k, 0, 0);
        if (fd == CLOSED_FD || fd < 0 || fd == INT_MAX || fd == (1 << 20) || k == FD_BAD) {
            CHECK(x, M(EBADF), weft_close(fd));
            break;
        }
        CHECK(x, M(ZERO), weft_close(fd));
        for (int i = 0; i < 5; i++)
            if (z->fd[i] == fd)
                z->fd[i] = -1;
        if (z->nulldev == fd)
            z->nulldev = -1;
        break;
    }
    default: /* reopen what was closed */
        INVARIANT(fz_open_pipes(z, u8(z) % 5) == 0, "pipe");
        break;
    }
}
