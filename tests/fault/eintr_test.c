/*
 * eintr_test.c - every other blocking wait the runtime makes returns EINTR
 * at once, as if a signal had arrived (WT_FAULT_EINTR in runtime/alloc.h):
 * the futex waits of idle workers and blocked plain threads, the worker
 * blocked in epoll_wait, a plain thread's poll(2) on an fd, the monitor's
 * poll. Every call still completes with its right result, and never
 * before its deadline: an interrupted wait is retried, never taken for a
 * wake-up or a timeout.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "sweep.h"

#define MS ((int64_t)1000000)

struct pipe_job {
    int fd;
    int64_t delay;
};

/* Sleep, then write one byte. */
static void *late_writer(void *arg)
{
    struct pipe_job *j = arg;
    if (weft_sleep(j->delay))
        return (void *)(intptr_t)-1;
    return (void *)(intptr_t)(write(j->fd, "z", 1) == 1 ? 0 : -1);
}

static void *late_sender(void *arg)
{
    weft_chan *ch = arg;
    int v = 5;
    if (weft_sleep(10 * MS))
        return (void *)(intptr_t)-1;
    return (void *)(intptr_t)weft_chan_send(*ch, &v);
}

static void *sleeper(void *arg)
{
    (void)arg;
    int64_t t0 = weft_now();
    int r = weft_sleep(30 * MS);
    return (void *)(intptr_t)(r ? r : weft_now() - t0 >= 30 * MS ? 0 : -ETIME);
}

static void *reader(void *arg)
{
    int fd = *(int *)arg;
    char c = 0;
    ssize_t n = weft_read_until(fd, &c, 1, weft_deadline_after(10000 * MS));
    return (void *)(intptr_t)(n == 1 && c == 'z' ? 0 : n < 0 ? (int)n : -EIO);
}

static void *timed_recv(void *arg)
{
    weft_chan *ch = arg;
    int v;
    int64_t deadline = weft_deadline_after(20 * MS);
    int r = weft_chan_recv_until(*ch, &v, deadline);
    return (void *)(intptr_t)(r == -ETIMEDOUT && weft_now() >= deadline ? 0 : r ? r : -EPROTO);
}

static int join_result(weft_fiber f)
{
    void *res = NULL;
    int r = weft_join(f, &res);
    return r ? r : (int)(intptr_t)res;
}

/* The workload, with the runtime up and EINTR armed. */
static void workload(void)
{
    /* A plain thread joins a sleeping fiber (futex on both sides). */
    weft_fiber f;
    CHECK_OK(weft_spawn(&f, sleeper, NULL, NULL));
    EXPECT_EQ(join_result(f), 0);

    /* A plain thread receives from a fiber that sends late. */
    weft_chan ch;
    CHECK_OK(weft_chan_make(&ch, sizeof(int), 0));
    CHECK_OK(weft_spawn(&f, late_sender, &ch, NULL));
    int v = 0;
    EXPECT_EQ(weft_chan_recv(ch, &v), 0);
    EXPECT_EQ(v, 5);
    EXPECT_EQ(join_result(f), 0);

    /* Timeouts, from a plain thread and from a fiber, are not early. */
    int64_t deadline = weft_deadline_after(20 * MS);
    EXPECT_EQ(weft_chan_recv_until(ch, &v, deadline), -ETIMEDOUT);
    EXPECT(weft_now() >= deadline);
    CHECK_OK(weft_spawn(&f, timed_recv, &ch, NULL));
    EXPECT_EQ(join_result(f), 0);
    CHECK_OK(weft_chan_free(ch));

    /* A fiber waits on a pipe (a worker blocks in epoll_wait); a plain
     * thread waits on another (poll). */
    int p[2], q[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0 && pipe2(q, O_CLOEXEC) == 0);
    struct pipe_job jp = {p[1], 20 * MS}, jq = {q[1], 20 * MS};
    weft_fiber rd, wp, wq;
    CHECK_OK(weft_spawn(&rd, reader, &p[0], NULL));
    CHECK_OK(weft_spawn(&wp, late_writer, &jp, NULL));
    CHECK_OK(weft_spawn(&wq, late_writer, &jq, NULL));
    char c = 0;
    EXPECT_EQ(weft_read_until(q[0], &c, 1, weft_deadline_after(10000 * MS)), 1);
    EXPECT_EQ(c, 'z');
    EXPECT_EQ(join_result(rd), 0);
    EXPECT_EQ(join_result(wp), 0);
    EXPECT_EQ(join_result(wq), 0);
    for (int i = 0; i < 2; i++) {
        EXPECT_EQ(weft_close(p[i]), 0);
        EXPECT_EQ(weft_close(q[i]), 0);
    }
}

/* Each blocking wait in turn, or every other one. */
static void run_with_eintr(unsigned long every, const char *label)
{
    setenv("WEFT_DEBUG", "stall=5", 1); /* the monitor polls every few ms */
    CHECK_OK(weft_init(&(weft_config){.workers = 2, .pin = WEFT_PIN_OFF}));
    unsetenv("WEFT_DEBUG");
    wt_fault_arm(WT_FAULT_EINTR, 1, every, EINTR);
    workload();
    unsigned long calls = wt_fault_calls(WT_FAULT_EINTR), hits = wt_fault_hits(WT_FAULT_EINTR);
    wt_fault_reset();
    CHECK_OK(weft_shutdown());
    printf("# %s: %lu blocking waits, %lu of them interrupted\n", label, calls, hits);
    EXPECT(hits > 0);
}

TEST(blocking_waits_retry_after_eintr)
{
    run_with_eintr(2, "every other wait interrupted");
    run_with_eintr(3, "every third wait interrupted");
}

TAP_MAIN()
