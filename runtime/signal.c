/*
 * signal.c - weft_signal_wait: the checks every platform shares (a valid
 * set, every signal of it blocked); the waiting itself is the backend's
 * (signals.h).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>

#include "signals.h"
#include "sync.h"
#include "weft.h"

/* Is @set non-empty, with every member blocked in the calling thread? */
static bool set_is_blocked(const sigset_t *set)
{
    sigset_t cur;
    if (pthread_sigmask(SIG_BLOCK, NULL, &cur) != 0)
        return false;
    int n = 0;
    for (int s = 1; s < NSIG; s++) {
        if (sigismember(set, s) != 1)
            continue;
        if (sigismember(&cur, s) != 1)
            return false;
        n++;
    }
    return n > 0;
}

int weft_signal_wait_until(const sigset_t *set, int64_t deadline)
{
    if (!set || !wt_deadline_ok(deadline))
        return -EINVAL;
    int saved = errno;
    bool ok = set_is_blocked(set);
    errno = saved;
    if (!ok)
        return -EINVAL;
    return wt_signal_wait_os(set, deadline);
}

int weft_signal_wait(const sigset_t *set)
{
    return weft_signal_wait_until(set, WEFT_FOREVER);
}
