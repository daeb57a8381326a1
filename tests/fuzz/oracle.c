/*
 * oracle.c - the API fuzzer's check (api_fuzz.c, "The oracle"): a call's
 * result as a class (0, positive, which -Exxx), and the report and abort()
 * when the class is not in the mask the call site built.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

static const char *const rc_names[] = {
    "0",          "positive", "-EINVAL",       "-EBADF",  "-ESRCH",      "-EDEADLK",   "-EBUSY",
    "-ECANCELED", "-ENOMEM",  "-ENAMETOOLONG", "-EAGAIN", "-EPERM",      "-ETIMEDOUT", "-EPIPE",
    "-EALREADY",  "-ENOTSUP", "-EOVERFLOW",    "-ECHILD", "-ECONNRESET", "-EIO",       "other"};

static enum rc classify(long long r)
{
    if (r == 0)
        return R_ZERO;
    if (r > 0)
        return R_POS;
    switch (-r) {
    case EINVAL:
        return R_EINVAL;
    case EBADF:
        return R_EBADF;
    case ESRCH:
        return R_ESRCH;
    case EDEADLK:
        return R_EDEADLK;
    case EBUSY:
        return R_EBUSY;
    case ECANCELED:
        return R_ECANCELED;
    case ENOMEM:
        return R_ENOMEM;
    case ENAMETOOLONG:
        return R_ENAMETOOLONG;
    case EAGAIN:
        return R_EAGAIN;
    case EPERM:
        return R_EPERM;
    case ETIMEDOUT:
        return R_ETIMEDOUT;
    case EPIPE:
        return R_EPIPE;
    case EALREADY:
        return R_EALREADY;
    case ENOTSUP:
        return R_ENOTSUP;
    case EOVERFLOW:
        return R_EOVERFLOW;
    case ECHILD:
        return R_ECHILD;
    case ECONNRESET:
        return R_ECONNRESET;
    case EIO:
        return R_EIO;
    default:
        return R_OTHER;
    }
}

static void fail(struct ex *x, const char *what, long long r, unsigned mask, const char *file,
                 int line)
{
    fprintf(stderr, "api_fuzz: %s:%d: %s (op %s, args %lld %lld %lld %lld, %s) returned %lld", file,
            line, what, x->op ? x->op : "?", x->a[0], x->a[1], x->a[2], x->a[3],
            x->child   ? "child fiber"
            : x->fiber ? "root fiber"
                       : "plain thread",
            r);
    fprintf(stderr, " (%s); allowed:", rc_names[classify(r)]);
    for (int i = 0; i <= R_OTHER; i++)
        if (mask & (1u << i))
            fprintf(stderr, " %s", rc_names[i]);
    fprintf(stderr, "\n");
    abort();
}

/* The check behind CHECK (fuzz.h): @r must be in @mask, else report and abort(). */
long long fz_check_rc(struct ex *x, long long r, unsigned mask, const char *what, const char *file,
                      int line)
{
    if (!(mask & (1u << classify(r))))
        fail(x, what, r, mask, file, line);
    return r;
}
