/*
 * signal_test.c - weft_signal_wait through weft.h alone: a fiber parked on
 * a signal set is woken by a process-directed signal (and its worker runs
 * others meanwhile); a pending signal is returned at once, even with a
 * past deadline; deadlines expire; a set with an unblocked signal, an
 * empty set and bad deadlines are refused; two signals of one set go to
 * two waits, each once; cancellation wakes a waiter; plain threads wait
 * too; no fd is left behind.
 *
 * main() blocks SIGUSR1 and SIGUSR2 before anything else, so that every
 * thread (workers included) inherits the mask. SIGALRM is the harness's
 * watchdog and stays unblocked.
 */
#include "weft.h"

#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#define MS ((int64_t)1000000)

static sigset_t usr1, usr2, both;

/* Drop whatever a failed case left pending. */
static void drain(void)
{
    while (weft_signal_wait_until(&both, 0) > 0)
        ;
}

/* The lowest fd free now: equal before and after means nothing leaked. */
static int next_fd(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
        close(fd);
    return fd;
}

static void start_case(void)
{
    settle();
    drain();
    atomic_store(&fiber_failures, 0);
}

static void end_case(void)
{
    EXPECT_EQ(atomic_load(&fiber_failures), 0);
}

static void run_root(const weft_config *cfg, weft_fn fn, void *arg)
{
    void *res = NULL;
    EXPECT_EQ(weft_main(cfg, fn, arg, &res), 0);
}

/* --- a fiber is woken ---------------------------------------------------- */

struct waiter_arg {
    const sigset_t *set;
    _Atomic int in; /* set just before the wait */
    int64_t deadline;
};

static void *wait_fiber(void *arg)
{
    struct waiter_arg *a = arg;
    atomic_store(&a->in, 1);
    return (void *)(intptr_t)weft_signal_wait_until(a->set, a->deadline);
}

static void *wake_body(void *arg)
{
    (void)arg;
    int fd0 = next_fd();
    for (int round = 0; round < 3; round++) {
        struct waiter_arg a = {.set = &usr1, .in = 0, .deadline = WEFT_FOREVER};
        weft_fiber f;
        FEXPECT_EQ(weft_spawn(&f, wait_fiber, &a, NULL), 0);
        /* One worker, and the waiter does not yield before it parks: once
         * we run again it is parked in the netpoller. */
        while (!atomic_load(&a.in))
            weft_yield();
        FEXPECT_EQ(kill(getpid(), SIGUSR1), 0);
        void *sig = NULL;
        FEXPECT_EQ(weft_join(f, &sig), 0);
        FEXPECT_EQ((intptr_t)sig, SIGUSR1);
    }
    FEXPECT_EQ(next_fd(), fd0);
    return NULL;
}

/* On one worker, a fiber parked in weft_signal_wait is woken by
 * kill(getpid(), SIGUSR1) from another fiber of that worker (so the worker
 * was free while it waited) and returns SIGUSR1; three times, no fd left. */
TEST(fiber_is_woken_by_a_process_signal)
{
    start_case();
    run_root(&(weft_config){.workers = 1}, wake_body, NULL);
    end_case();
}

/* --- pending signals, deadlines ------------------------------------------- */

static void *pending_body(void *arg)
{
    (void)arg;
    FEXPECT_EQ(kill(getpid(), SIGUSR2), 0);
    FEXPECT_EQ(weft_signal_wait_until(&usr2, 0), SIGUSR2); /* past deadline, pending */
    FEXPECT_EQ(weft_signal_wait_until(&usr2, 0), -ETIMEDOUT);
    FEXPECT_EQ(kill(getpid(), SIGUSR2), 0);
    FEXPECT_EQ(weft_signal_wait(&usr2), SIGUSR2);
    int64_t dl = weft_deadline_after(20 * MS);
    FEXPECT_EQ(weft_signal_wait_until(&usr2, dl), -ETIMEDOUT);
    FEXPECT(weft_now() >= dl);
    return NULL;
}

/* A signal sent before the wait is returned at once, even with deadline 0;
 * with nothing pending deadline 0 is -ETIMEDOUT at once and a deadline
 * 20 ms away is -ETIMEDOUT no earlier. From a fiber, then a plain thread. */
TEST(pending_signal_and_deadlines)
{
    start_case();
    run_root(&(weft_config){.workers = 2}, pending_body, NULL);
    pending_body(NULL); /* a plain thread, no runtime */
    end_case();
}

/* --- refusals ------------------------------------------------------------ */

static void check_refusals(void)
{
    int fd0 = next_fd();
    sigset_t s;
    sigemptyset(&s);
    EXPECT_EQ(weft_signal_wait_until(&s, 0), -EINVAL); /* empty */
    EXPECT_EQ(weft_signal_wait_until(NULL, 0), -EINVAL);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGWINCH); /* not blocked */
    EXPECT_EQ(weft_signal_wait(&s), -EINVAL);
    sigemptyset(&s);
    sigaddset(&s, SIGKILL); /* can never be blocked */
    EXPECT_EQ(weft_signal_wait(&s), -EINVAL);
    EXPECT_EQ(weft_signal_wait_until(&usr1, -2), -EINVAL);
    EXPECT_EQ(weft_signal_wait_until(&usr1, INT64_MIN), -EINVAL);
    EXPECT_EQ(next_fd(), fd0);
}

static void *refusal_body(void *arg)
{
    (void)arg;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGWINCH);
    FEXPECT_EQ(weft_signal_wait(&s), -EINVAL);
    sigemptyset(&s);
    FEXPECT_EQ(weft_signal_wait(&s), -EINVAL);
    FEXPECT_EQ(weft_signal_wait_until(&usr1, -3), -EINVAL);
    return NULL;
}

/* A set holding a signal the calling thread does not block (SIGWINCH,
 * SIGKILL), an empty or NULL set, and bad deadlines are -EINVAL, without
 * waiting and without an fd left open; from plain threads and fibers. */
TEST(unblocked_signal_and_bad_arguments_refused)
{
    start_case();
    check_refusals();
    CHECK_OK(weft_init(&(weft_config){.workers = 1}));
    check_refusals();
    CHECK_OK(weft_shutdown());
    run_root(&(weft_config){.workers = 1}, refusal_body, NULL);
    end_case();
}

/* --- two signals ----------------------------------------------------------- */

static void *two_body(void *arg)
{
    (void)arg;
    /* Both pending, one wait each: each signal is returned once. */
    FEXPECT_EQ(kill(getpid(), SIGUSR1), 0);
    FEXPECT_EQ(kill(getpid(), SIGUSR2), 0);
    int a = weft_signal_wait(&both), b = weft_signal_wait(&both);
    FEXPECT((a == SIGUSR1 && b == SIGUSR2) || (a == SIGUSR2 && b == SIGUSR1));
    FEXPECT_EQ(weft_signal_wait_until(&both, 0), -ETIMEDOUT);

    /* Two fibers parked on the set, then both signals: one each. */
    struct waiter_arg wa[2];
    weft_fiber f[2];
    for (int i = 0; i < 2; i++) {
        wa[i] = (struct waiter_arg){.set = &both, .in = 0, .deadline = WEFT_FOREVER};
        FEXPECT_EQ(weft_spawn(&f[i], wait_fiber, &wa[i], NULL), 0);
    }
    while (!atomic_load(&wa[0].in) || !atomic_load(&wa[1].in))
        weft_yield();
    FEXPECT_EQ(kill(getpid(), SIGUSR1), 0);
    FEXPECT_EQ(kill(getpid(), SIGUSR2), 0);
    void *r[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++)
        FEXPECT_EQ(weft_join(f[i], &r[i]), 0);
    intptr_t x = (intptr_t)r[0], y = (intptr_t)r[1];
    FEXPECT((x == SIGUSR1 && y == SIGUSR2) || (x == SIGUSR2 && y == SIGUSR1));
    return NULL;
}

/* A set of two signals: both pending give one each to two waits; two
 * parked fibers (on two workers) get one each. */
TEST(two_signals_in_a_set)
{
    start_case();
    run_root(&(weft_config){.workers = 2}, two_body, NULL);
    end_case();
}

/* --- cancellation ----------------------------------------------------------- */

static void *cancel_body(void *arg)
{
    (void)arg;
    int fd0 = next_fd();
    struct waiter_arg a = {.set = &usr1, .in = 0, .deadline = WEFT_FOREVER};
    weft_fiber f;
    FEXPECT_EQ(weft_spawn(&f, wait_fiber, &a, NULL), 0);
    while (!atomic_load(&a.in))
        weft_yield();
    FEXPECT_EQ(weft_cancel(f), 0);
    void *r = NULL;
    FEXPECT_EQ(weft_join(f, &r), 0);
    FEXPECT_EQ((intptr_t)r, -ECANCELED);
    FEXPECT_EQ(next_fd(), fd0);
    return NULL;
}

/* weft_cancel wakes a fiber parked in weft_signal_wait with -ECANCELED,
 * and its signalfd is closed. */
TEST(cancel_wakes_a_signal_waiter)
{
    start_case();
    run_root(&(weft_config){.workers = 1}, cancel_body, NULL);
    end_case();
}

/* --- plain threads ------------------------------------------------------------ */

static void *plain_waiter(void *arg)
{
    struct waiter_arg *a = arg;
    atomic_store(&a->in, 1);
    return (void *)(intptr_t)weft_signal_wait_until(a->set, a->deadline);
}

/* A plain thread (no runtime) blocked in weft_signal_wait gets a signal
 * sent after it began waiting (or, if the kill wins the race, just
 * before: it stays pending either way). */
TEST(plain_thread_waits_for_a_signal)
{
    start_case();
    struct waiter_arg a = {.set = &usr2, .in = 0, .deadline = weft_deadline_after(10000 * MS)};
    pthread_t t;
    CHECK_OK(pthread_create(&t, NULL, plain_waiter, &a));
    while (!atomic_load(&a.in))
        sched_yield();
    EXPECT_EQ(kill(getpid(), SIGUSR2), 0);
    void *r = NULL;
    CHECK_OK(pthread_join(t, &r));
    EXPECT_EQ((intptr_t)r, SIGUSR2);
    end_case();
}

int main(void)
{
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigemptyset(&both);
    sigaddset(&both, SIGUSR1);
    sigaddset(&both, SIGUSR2);
    /* Before any thread exists: every thread inherits it. */
    if (pthread_sigmask(SIG_BLOCK, &both, NULL) != 0)
        return 1;
    return tap_run();
}
