/*
 * deadlock_test.c - the deadlock detector through weft.h alone: a join
 * cycle and a group waiting on itself are reported ("all fibers are asleep
 * - deadlock!", every blocked fiber named) and weft_main fails with
 * -EDEADLK in error mode or the process aborts in the default mode; a slow
 * but live program (sleepers, a plain thread that acts later) is never
 * reported.
 */
#include "weft.h"

#include "child.h"
#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MS ((int64_t)1000000)

static weft_fiber fa, fb;
static _Atomic int ready;

static void *join_b(void *arg)
{
    (void)arg;
    while (atomic_load(&ready) < 2)
        weft_yield();
    return (void *)(intptr_t)weft_join(fb, NULL);
}

static void *join_a(void *arg)
{
    (void)arg;
    while (atomic_load(&ready) < 2)
        weft_yield();
    return (void *)(intptr_t)weft_join(fa, NULL);
}

static int wait_own_group(void *arg)
{
    return weft_group_wait(arg); /* a member waiting for its own group */
}

static void *join_cycle(void *arg)
{
    (void)arg;
    atomic_store(&ready, 0);
    weft_fiber_attr aa = {.name = "cycle-a"}, ab = {.name = "cycle-b"};
    CHECK_OK(weft_spawn(&fa, join_b, NULL, &aa));
    atomic_fetch_add(&ready, 1);
    CHECK_OK(weft_spawn(&fb, join_a, NULL, &ab));
    atomic_fetch_add(&ready, 1);
    /* a joins b and b joins a; we cannot join either (each has its joiner),
     * so we block on a group whose member waits for the group itself. */
    static weft_group g = WEFT_GROUP_INIT;
    CHECK(weft_group_go(&g, wait_own_group, &g, NULL) >= 0);
    weft_group_wait(&g); /* never returns */
    return NULL;
}

struct main_args {
    weft_fn fn;
    enum weft_deadlock mode;
};

static int main_body(void *arg)
{
    struct main_args *m = arg;
    return weft_main(&(weft_config){.workers = 2, .deadlock = m->mode}, m->fn, NULL, NULL);
}

/* Run @fn under weft_main in a child process with stderr captured; returns
 * the wait status, weft_main's result in *@main_ret, the text in @buf. */
static int run_child(weft_fn fn, enum weft_deadlock mode, int *main_ret, char *buf, size_t len)
{
    struct main_args m = {fn, mode};
    return run_in_child(main_body, &m, main_ret, buf, len);
}

/* Error mode: the report names every blocked fiber and what it waits on,
 * and weft_main returns -EDEADLK. */
TEST(join_cycle_reported_and_main_fails)
{
    settle();
    static char buf[8192];
    int ret;
    int status = run_child(join_cycle, WEFT_DEADLOCK_ERROR, &ret, buf, sizeof buf);
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_EQ(ret, -EDEADLK);
    EXPECT(strstr(buf, "all fibers are asleep - deadlock!") != NULL);
    EXPECT(strstr(buf, "\"cycle-a\"") != NULL);
    EXPECT(strstr(buf, "\"cycle-b\"") != NULL);
    EXPECT(strstr(buf, "\"main\"") != NULL);
    EXPECT(strstr(buf, "[join ") != NULL);
    show_child_output(buf);
}

/* The default under weft_main is to abort, as Go exits. */
TEST(default_mode_aborts)
{
    settle();
    static char buf[8192];
    int ret;
    int status = run_child(join_cycle, WEFT_DEADLOCK_DEFAULT, &ret, buf, sizeof buf);
    EXPECT(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    EXPECT(strstr(buf, "all fibers are asleep - deadlock!") != NULL);
}

static void *group_self_wait(void *arg)
{
    (void)arg;
    static weft_group g = WEFT_GROUP_INIT;
    CHECK(weft_group_go(&g, wait_own_group, &g, NULL) >= 0);
    return (void *)(intptr_t)weft_group_wait(&g);
}

/* A wait on a primitive (here a group) counts as blocked too. */
TEST(group_waiting_on_itself_reported)
{
    settle();
    static char buf[8192];
    int ret;
    int status = run_child(group_self_wait, WEFT_DEADLOCK_ERROR, &ret, buf, sizeof buf);
    EXPECT(WIFEXITED(status));
    EXPECT_EQ(ret, -EDEADLK);
    EXPECT(strstr(buf, "[group wait ") != NULL);
}

static void *sleeper(void *arg)
{
    weft_sleep((intptr_t)arg * MS);
    return NULL;
}

static void *slow_but_live(void *arg)
{
    (void)arg;
    /* Everyone is blocked for a while, but a timer will fire: a chain of
     * joins ending in a sleeper is live. */
    weft_fiber s, j;
    CHECK_OK(weft_spawn(&s, sleeper, (void *)50, NULL));
    CHECK_OK(weft_spawn(&j, join_b, NULL, NULL));
    fb = s;
    atomic_store(&ready, 2);
    CHECK_OK(weft_join(j, NULL));
    return NULL;
}

/* Blocked fibers behind a pending timer are not a deadlock. */
TEST(slow_but_live_not_reported)
{
    settle();
    static char buf[8192];
    int ret;
    int status = run_child(slow_but_live, WEFT_DEADLOCK_ERROR, &ret, buf, sizeof buf);
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_EQ(ret, 0);
    EXPECT(strstr(buf, "deadlock") == NULL);
}

static weft_group late_group = WEFT_GROUP_INIT;
static weft_fiber root_fiber;
static _Atomic int touched;

static void *late_thread(void *arg)
{
    (void)arg;
    EXPECT_EQ(weft_cancel((weft_fiber){0}), -EBADF); /* it has used weft */
    atomic_store(&touched, 1);
    usleep(100 * 1000); /* every fiber is blocked meanwhile */
    EXPECT_EQ(weft_cancel(root_fiber), 0);
    return NULL;
}

static void *plain_thread_acts_later(void *arg)
{
    (void)arg;
    atomic_store(&touched, 0);
    root_fiber = weft_self();
    pthread_t t;
    CHECK(pthread_create(&t, NULL, late_thread, NULL) == 0);
    while (!atomic_load(&touched))
        weft_yield();
    /* Blocked with no deadline and no other fiber to help: only the plain
     * thread can end this, by cancelling us. */
    CHECK(weft_group_go(&late_group, wait_own_group, &late_group, NULL) >= 0);
    EXPECT_EQ(weft_group_wait(&late_group), -ECANCELED);
    CHECK_OK(weft_group_cancel(&late_group));
    while (weft_group_running(&late_group) > 0)
        weft_yield();
    EXPECT_EQ(weft_group_wait(&late_group), -ECANCELED); /* the member's code */
    CHECK_OK(weft_group_destroy(&late_group));
    pthread_join(t, NULL);
    return NULL;
}

/* A plain thread that has used weft may still act: never reported. */
TEST(plain_thread_keeps_it_live)
{
    settle();
    static char buf[8192];
    int ret;
    int status = run_child(plain_thread_acts_later, WEFT_DEADLOCK_ERROR, &ret, buf, sizeof buf);
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_EQ(ret, 0);
    EXPECT(strstr(buf, "deadlock") == NULL);
}

/* weft_init leaves it off by default; a bad value is refused. */
TEST(config_values)
{
    settle();
    EXPECT_EQ(weft_init(&(weft_config){.deadlock = (enum weft_deadlock)77}), -EINVAL);
    setenv("WEFT_DEADLOCK", "sometimes", 1);
    EXPECT_EQ(weft_init(NULL), -EINVAL);
    setenv("WEFT_DEADLOCK", "off", 1);
    CHECK_OK(weft_init(NULL));
    CHECK_OK(weft_shutdown());
    unsetenv("WEFT_DEADLOCK");
}

TAP_MAIN()
