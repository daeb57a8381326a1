/*
 * error.c - weft_strerror and the library's version number.
 */
#include <errno.h>

#include "weft.h"

int weft_version_number(void)
{
    return WEFT_VERSION_NUMBER;
}

const char *weft_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case -EINVAL:
        return "invalid argument";
    case -EBADF:
        return "not a live handle or descriptor";
    case -ESRCH:
        return "fiber already joined or detached";
    case -EDEADLK:
        return "the call would wait for itself";
    case -EBUSY:
        return "busy: already running, or fibers were still live";
    case -ECANCELED:
        return "the runtime is not running";
    case -ENOMEM:
        return "out of memory";
    case -ENAMETOOLONG:
        return "name too long";
    case -EAGAIN:
        return "resource temporarily unavailable";
    case -EPERM:
        return "the call needs a fiber";
    case -ENOTSUP:
        return "not supported on this system";
    case -ETIMEDOUT:
        return "deadline passed";
    case -EOVERFLOW:
        return "a count would exceed its limit";
    case -ECONNRESET:
        return "connection reset by peer";
    case -ECONNREFUSED:
        return "connection refused";
    case -EMFILE:
        return "too many open files";
    case -ENOTSOCK:
        return "not a socket";
    default:
        return "unknown error";
    }
}
