/*
 * debug_test.c - looking inside the runtime through weft.h alone: the
 * counters add up, a short size reads a prefix (ABI growth), the dump names
 * parked fibers and what they wait on, schedtrace prints its lines, the stall
 * detector reports a fiber that does not yield, SIGQUIT dumps and carries
 * on, bad WEFT_DEBUG values are refused, and shutdown ends plain threads'
 * blocked calls with -ECANCELED.
 */
#include "weft.h"

#include "child.h"
#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS ((int64_t)1000000)

static void *nothing(void *arg)
{
    return arg;
}

/* What @print (weft_stats_print, weft_dump) writes, in @buf (cut to
 * @len - 1 bytes, NUL-terminated); returns @print's answer. */
static int capture(int (*print)(FILE *out), char *buf, size_t len)
{
    FILE *tmp = tmpfile();
    CHECK(tmp != NULL);
    int r = print(tmp);
    rewind(tmp);
    size_t got = fread(buf, 1, len - 1, tmp);
    buf[got] = '\0';
    fclose(tmp);
    return r;
}

/* Spawns, switches and the live count add up; a short size fills a prefix. */
TEST(stats_count_and_size_prefix)
{
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    struct weft_stats before, after;
    CHECK_OK(weft_stats(&before, sizeof before));
    enum { N = 1000 };
    static weft_fiber f[N];
    for (int i = 0; i < N; i++)
        CHECK_OK(weft_spawn(&f[i], nothing, NULL, NULL));
    for (int i = 0; i < N; i++)
        CHECK_OK(weft_join(f[i], NULL));
    CHECK_OK(weft_stats(&after, sizeof after));
    if (after.switches == 0) {
        CHECK_OK(weft_shutdown());
        SKIP("counters compiled out (-Dstats=false)");
    }
    EXPECT(after.spawns - before.spawns >= N);
    EXPECT(after.switches - before.switches >= N); /* each ran at least once */
    EXPECT_EQ(after.fibers_live, 0);
    EXPECT_EQ(after.workers, 2);

    struct weft_stats part;
    memset(&part, 0xAB, sizeof part);
    CHECK_OK(weft_stats(&part, offsetof(struct weft_stats, switches)));
    EXPECT(part.spawns >= after.spawns);
    EXPECT_EQ(part.switches, 0xABABABABABABABABull); /* untouched */
    EXPECT_EQ(weft_stats(NULL, sizeof part), -EINVAL);
    EXPECT_EQ(weft_stats(&part, 3), -EINVAL);

    char text[2048];
    CHECK_OK(capture(weft_stats_print, text, sizeof text));
    EXPECT(strstr(text, "spawns ") != NULL);
    EXPECT(strstr(text, "workers 2\n") != NULL);
    EXPECT_EQ(weft_stats_print(NULL), -EINVAL);
    CHECK_OK(weft_shutdown());
    EXPECT_EQ(weft_stats(&part, sizeof part), -ECANCELED);
    EXPECT_EQ(weft_dump(stderr), -ECANCELED);
}

static int wait_own(void *arg)
{
    return weft_group_wait(arg);
}

static void *recv_one(void *arg)
{
    weft_chan *ch = arg;
    int v;
    return (void *)(intptr_t)weft_chan_recv(*ch, &v);
}

/* The dump shows parked fibers with their names, the primitive they wait
 * on (kind and address) and where they were spawned. */
TEST(dump_names_parked_fibers)
{
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    weft_chan ch;
    CHECK_OK(weft_chan_make(&ch, sizeof(int), 0));
    weft_fiber r;
    weft_fiber_attr a = {.name = "receiver"};
    CHECK_OK(weft_spawn(&r, recv_one, &ch, &a));
    static weft_group g = WEFT_GROUP_INIT;
    CHECK(weft_group_go(&g, wait_own, &g, &(weft_fiber_attr){.name = "self-waiter"}) >= 0);
    /* Dump until both show as parked: they park within microseconds, but
     * a slow machine (qemu, sanitizers) may take a while to run them. */
    static char text[8192];
    int n = 0;
    for (int tries = 0; tries < 1000; tries++) {
        n = capture(weft_dump, text, sizeof text);
        if (strstr(text, "[chan receive 0x") && strstr(text, "[group wait 0x"))
            break;
        weft_sleep(10 * MS);
    }
    EXPECT(n >= 2);
    EXPECT(strstr(text, "\"receiver\"") != NULL);
    EXPECT(strstr(text, "[chan receive 0x") != NULL);
    EXPECT(strstr(text, "\"self-waiter\"") != NULL);
    EXPECT(strstr(text, "[group wait 0x") != NULL);
    EXPECT(strstr(text, "spawned at 0x") != NULL);
    EXPECT_EQ(weft_dump(NULL), -EINVAL);
    CHECK_OK(weft_cancel(r));
    void *res;
    CHECK_OK(weft_join(r, &res));
    EXPECT_EQ((intptr_t)res, -ECANCELED);
    CHECK_OK(weft_group_cancel(&g));
    EXPECT_EQ(weft_group_wait(&g), -ECANCELED);
    CHECK_OK(weft_group_destroy(&g));
    CHECK_OK(weft_chan_free(ch));
    CHECK_OK(weft_shutdown());
}

/* Long enough for the monitor, itself slow to start under qemu, to sample
 * the stall twice. */
static void *spin_300ms(void *arg)
{
    (void)arg;
    int64_t end = weft_now() + 300 * MS;
    while (weft_now() < end)
        ; /* never yields */
    return NULL;
}

/* A child's program: weft_main on @workers workers running @root, under
 * WEFT_DEBUG=@debug. */
struct debug_run {
    const char *debug;
    int workers;
    weft_fn root;
};

/* The child's answer: weft_main's error, else the root's result. */
static int debug_body(void *arg)
{
    const struct debug_run *d = arg;
    setenv("WEFT_DEBUG", d->debug, 1);
    void *res = NULL;
    int r = weft_main(&(weft_config){.workers = d->workers}, d->root, NULL, &res);
    return r ? r : (int)(intptr_t)res;
}

/* Run @d in a child, its stderr in @buf: it exits normally, answering
 * @want. */
static void run_debug_child(struct debug_run *d, int want, char *buf, size_t len)
{
    int ret;
    int status = run_in_child(debug_body, d, &ret, buf, len);
    EXPECT(WIFEXITED(status));
    EXPECT_EQ(ret, want);
}

/* Are the counters compiled in (-Dstats, on by default)? */
static bool stats_compiled_in(void)
{
    CHECK_OK(weft_init(&(weft_config){.workers = 1}));
    weft_fiber f;
    CHECK_OK(weft_spawn(&f, nothing, NULL, NULL));
    CHECK_OK(weft_join(f, NULL));
    struct weft_stats s;
    CHECK_OK(weft_stats(&s, sizeof s));
    CHECK_OK(weft_shutdown());
    return s.switches > 0;
}

/* stall=5: a fiber that runs 300 ms without yielding is reported by name,
 * once; schedtrace=10 prints its lines meanwhile. */
TEST(stall_and_schedtrace_reported)
{
    settle();
    if (!stats_compiled_in())
        SKIP("the stall detector reads the counters, compiled out (-Dstats=false)");
    static char buf[16384];
    run_debug_child(&(struct debug_run){"stall=5,schedtrace=10", 1, spin_300ms}, 0, buf,
                    sizeof buf);
    EXPECT(strstr(buf, "weft: stall: fiber") != NULL);
    EXPECT(strstr(buf, "\"main\"") != NULL); /* weft_main's root fiber */
    const char *first = strstr(buf, "weft: stall:");
    EXPECT(first && !strstr(first + 1, "weft: stall:")); /* once per stall */
    EXPECT(strstr(buf, "ms: workers=1 idle=") != NULL);
    show_child_output(buf);
}

static void *raise_quit(void *arg)
{
    (void)arg;
    weft_fiber f;
    weft_fiber_attr a = {.name = "sleepy"};
    CHECK_OK(weft_spawn(&f, spin_300ms, NULL, &a));
    raise(SIGQUIT);
    weft_sleep(30 * MS); /* the monitor prints meanwhile */
    CHECK_OK(weft_join(f, NULL));
    return (void *)7;
}

/* WEFT_DEBUG=sigquit: SIGQUIT prints the dump and the program goes on. */
TEST(sigquit_dumps_and_continues)
{
    settle();
    static char buf[16384];
    run_debug_child(&(struct debug_run){"sigquit,stall=0", 2, raise_quit}, 7, buf, sizeof buf);
    EXPECT(strstr(buf, "weft: 2 workers, fibers:") != NULL);
    EXPECT(strstr(buf, "\"main\"") != NULL);
}

static void *spawn_100(void *arg)
{
    (void)arg;
    weft_fiber f[100];
    for (int i = 0; i < 100; i++)
        CHECK_OK(weft_spawn(&f[i], nothing, NULL, NULL));
    for (int i = 0; i < 100; i++)
        CHECK_OK(weft_join(f[i], NULL));
    return NULL;
}

/* WEFT_DEBUG=stats prints the final counters at shutdown: the counters
 * after a benchmark in one command (WEFT_DEBUG=stats weft-bench fib). */
TEST(stats_printed_at_shutdown)
{
    settle();
    if (!stats_compiled_in())
        SKIP("counters compiled out (-Dstats=false)");
    static char buf[8192];
    run_debug_child(&(struct debug_run){"stats,stall=0", 2, spawn_100}, 0, buf, sizeof buf);
    const char *head = strstr(buf, "weft: counters at shutdown:\n");
    EXPECT(head != NULL);
    long spawns = -1, live = -1;
    const char *p = head ? strstr(head, "\nspawns ") : NULL;
    if (p)
        spawns = strtol(p + 8, NULL, 10);
    p = head ? strstr(head, "\nfibers_live ") : NULL;
    if (p)
        live = strtol(p + 13, NULL, 10);
    EXPECT(spawns >= 101); /* the root and its hundred */
    EXPECT_EQ(live, 0);
    show_child_output(buf);
}

/* A bad WEFT_DEBUG is refused with -EINVAL (and a message). */
TEST(bad_debug_values_refused)
{
    settle();
    const char *bad[] = {"stall", "stall=x", "schedtrace=-1", "stall=99999999", "bogus"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("WEFT_DEBUG", bad[i], 1);
        EXPECT_EQ(weft_init(NULL), -EINVAL);
    }
    setenv("WEFT_DEBUG", "stall=0,schedtrace=0,bind", 1);
    CHECK_OK(weft_init(&(weft_config){.workers = 1}));
    CHECK_OK(weft_shutdown());
    unsetenv("WEFT_DEBUG");
}

static weft_chan plain_ch;
static _Atomic int plain_entered;

static void *plain_receiver(void *arg)
{
    (void)arg;
    atomic_store(&plain_entered, 1);
    int v;
    return (void *)(intptr_t)weft_chan_recv(plain_ch, &v);
}

/* weft_shutdown ends a plain thread's blocked call with -ECANCELED instead
 * of waiting for it forever. */
TEST(shutdown_cancels_plain_threads_blocked_calls)
{
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 1}));
    CHECK_OK(weft_chan_make(&plain_ch, sizeof(int), 0));
    atomic_store(&plain_entered, 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, plain_receiver, NULL) == 0);
    while (!atomic_load(&plain_entered))
        sched_yield();
    usleep(20000); /* one-sided: it is blocked by then, or blocks later */
    int r = weft_shutdown();
    EXPECT(r == -EBUSY); /* the channel was never freed: retired, reported */
    void *res;
    pthread_join(t, &res);
    EXPECT_EQ((intptr_t)res, -ECANCELED);
    EXPECT_EQ(weft_chan_len(plain_ch), -ECANCELED); /* no runtime any more */
}

TAP_MAIN()
