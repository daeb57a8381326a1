/*
 * syscall_fault_test.c - the system calls that fail for want of a resource
 * fail in turn, with the errno the kernel would give (sweep.h): the
 * poller's epoll_create1, eventfd and epoll_ctl and the monitor's pipe2 at
 * weft_init; epoll_ctl when a fiber first waits on an fd; pthread_create
 * for each worker, the monitor and an offload thread; signalfd. Each
 * failure comes back as its code, leaves nothing behind, and a retry once
 * the resource is back succeeds.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "sweep.h"

static const weft_config one = {.workers = 1, .pin = WEFT_PIN_OFF};

static void up(const weft_config *cfg)
{
    CHECK_OK(weft_init(cfg));
    weft_fiber f;
    CHECK_OK(weft_spawn(&f, identity, NULL, NULL));
    CHECK_OK(weft_join(f, NULL));
}

/* weft_init with three workers and the monitor: 4 threads, and the
 * poller's and the monitor's descriptors. */
static void run_init3(struct outcome *out)
{
    run_init(out, "schedtrace=1000", &(weft_config){.workers = 3, .pin = WEFT_PIN_OFF});
}

TEST(init_fails_cleanly_when_any_descriptor_cannot_be_made)
{
    static const struct sweep nomem = {
        "init syscalls (ENOMEM)", WT_FAULT_SYSCALL, ENOMEM, {-ENOMEM}, 0, run_init3};
    static const struct sweep nofd = {
        "init syscalls (EMFILE)", WT_FAULT_SYSCALL, EMFILE, {-EMFILE}, 0, run_init3};
    /* epoll_create1, eventfd, epoll_ctl(eventfd), pipe2. */
    EXPECT_EQ(sweep_run(&nomem), 4);
    EXPECT_EQ(sweep_run(&nofd), 4);
}

TEST(init_fails_with_eagain_when_any_thread_cannot_start)
{
    static const struct sweep s = {"init threads", WT_FAULT_THREAD, 0, {-EAGAIN}, 0, run_init3};
    EXPECT_EQ(sweep_run(&s), 4); /* three workers, then the monitor */
}

/* epoll_ctl fails when a fiber first reads a pipe: the read says so, the
 * fd is not left half-registered, and the next read registers it. */

static ssize_t read_in_fiber(int fd, char *c, int wfd)
{
    struct rd x = {.fd = fd, .got = 0, .c = 0};
    weft_fiber f;
    CHECK_OK(weft_spawn(&f, rd_fiber, &x, NULL));
    if (wfd >= 0)
        EXPECT_EQ(write(wfd, "y", 1), 1);
    CHECK_OK(weft_join(f, NULL));
    *c = x.c;
    return x.got;
}

static void registration_fails_with(int err)
{
    struct snap before;
    snap_take(&before);
    up(&one);
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    wt_fault_arm(WT_FAULT_SYSCALL, 1, 0, err);
    char c = 0;
    /* Nothing written: only the registration can end this read. */
    EXPECT_EQ(read_in_fiber(p[0], &c, -1), -err);
    EXPECT_EQ(wt_fault_hits(WT_FAULT_SYSCALL), 1);
    wt_fault_reset();
    EXPECT_EQ(read_in_fiber(p[0], &c, p[1]), 1);
    EXPECT_EQ(c, 'y');
    EXPECT_EQ(weft_close(p[0]), 0);
    EXPECT_EQ(close(p[1]), 0);
    CHECK_OK(weft_shutdown());
    EXPECT_EQ(wt_fault_live_maps(), before.maps);
    EXPECT_EQ(count_entries("/proc/self/fd"), before.fds);
    EXPECT_EQ(threads_settled(before.threads), before.threads);
}

TEST(first_wait_on_fd_reports_epoll_ctl_failure_and_retries)
{
    registration_fails_with(ENOMEM);
    registration_fails_with(ENOSPC); /* fs.epoll.max_user_watches */
}

/* Offload: the pool thread cannot be created. */

static void run_offload(struct outcome *out)
{
    up(&one);
    sweep_arm();
    spawn_join_into(&out->op, offloader, NULL, NULL);
    out->shutdown = weft_shutdown();
    out->want_shutdown = 0;
}

TEST(offload_reports_eagain_when_its_thread_cannot_start)
{
    static const struct sweep s = {"offload thread", WT_FAULT_THREAD, 0, {-EAGAIN}, 0, run_offload};
    EXPECT_EQ(sweep_run(&s), 1);
}

/* weft_signal_wait in a fiber: its signalfd, and the registration of it. */

static void *sigwaiter(void *arg)
{
    sigset_t *set = arg;
    return (void *)(intptr_t)weft_signal_wait_until(set, weft_deadline_after(10 * 1000000000ll));
}

static void *killer(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)(kill(getpid(), SIGUSR1) == 0 ? 0 : -EPERM);
}

static void run_signal(struct outcome *out)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    up(&one);
    sweep_arm();
    weft_fiber f;
    int r = weft_spawn(&f, sigwaiter, &set, NULL);
    first(&out->op, r);
    if (!r) {
        /* Queued behind the waiter on the one worker: it sends once the
         * waiter has parked on its signalfd (or failed). */
        weft_fiber k;
        CHECK_OK(weft_spawn(&k, killer, NULL, NULL));
        join_into(&out->op, k);
        void *res = NULL;
        first(&out->op, weft_join(f, &res));
        int got = (int)(intptr_t)res;
        if (got < 0) {
            first(&out->op, got);
            /* The wait failed: the signal is still pending; take it. */
            struct timespec zero = {0, 0};
            EXPECT_EQ(sigtimedwait(&set, NULL, &zero), SIGUSR1);
        } else {
            EXPECT_EQ(got, SIGUSR1);
        }
    }
    out->shutdown = weft_shutdown();
    out->want_shutdown = 0;
}

TEST(signal_wait_reports_descriptor_failures)
{
    static const struct sweep nomem = {
        "signal wait (ENOMEM)", WT_FAULT_SYSCALL, ENOMEM, {-ENOMEM}, 0, run_signal};
    static const struct sweep nofd = {
        "signal wait (EMFILE)", WT_FAULT_SYSCALL, EMFILE, {-EMFILE}, 0, run_signal};
    /* signalfd, epoll_ctl(ADD), then epoll_ctl(DEL) at its weft_close (ignored). */
    EXPECT_EQ(sweep_run(&nomem), 3);
    EXPECT_EQ(sweep_run(&nofd), 3);
}

int main(void)
{
    /* Before any thread: every thread weft makes inherits the mask, so the
     * signal is queued for the wait, never delivered (weft/signal.h). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    return tap_run();
}
