/*
 * os_linux.c - os.h on Linux: clock_gettime, futex(2) with an absolute
 * CLOCK_MONOTONIC deadline (FUTEX_WAIT_BITSET), clock_nanosleep.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "os.h"

int64_t wt_os_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct timespec to_timespec(int64_t ns)
{
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    return ts;
}

int wt_os_wait(_Atomic uint32_t *word, uint32_t expected, int64_t deadline)
{
    struct timespec ts, *tp = NULL;
    if (deadline >= 0) {
        ts = to_timespec(deadline);
        tp = &ts;
    }
    /* errno is ours to read here: this runs on a plain thread stack, never
     * across a fiber switch. */
    int saved = errno;
    long r = WT_FAULT_SYS(WT_FAULT_EINTR, syscall(SYS_futex, (uint32_t *)word,
                                                  FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected,
                                                  tp, NULL, FUTEX_BITSET_MATCH_ANY));
    int err = r < 0 ? errno : 0;
    errno = saved;
    return -err;
}

void wt_os_wake(_Atomic uint32_t *word, int n)
{
    int saved = errno;
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, n, NULL, NULL, 0);
    errno = saved;
}

void wt_os_sleep_until(int64_t deadline)
{
    struct timespec ts = to_timespec(deadline);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

size_t wt_os_page_size(void)
{
    /* Relaxed: every thread computes the same value; racing stores agree. */
    static _Atomic size_t page;
    size_t p = atomic_load_explicit(&page, memory_order_relaxed);
    if (!p) {
        p = (size_t)sysconf(_SC_PAGESIZE);
        atomic_store_explicit(&page, p, memory_order_relaxed);
    }
    return p;
}
