/*
 * detsched_test.c - the deterministic schedule (WEFT_SCHED / sched_seed):
 * the same seed gives the same interleaving (the order in which fibers log
 * their steps, and the scheduler's own hash of its picks), another seed a
 * different one; chaos mode too; the virtual clock jumps over sleeps; the
 * runtime runs one worker whatever the config says; bad values are refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"
#include "tap.h"
#include "testutil.h"
#include "weft.h"

#define S ((int64_t)1000000000)

enum { NFIB = 16, STEPS = 8, LOG = NFIB * STEPS * 2 };

struct run {
    int log[LOG];
    int n;
    weft_chan ch;
};

static void *stepper(void *arg)
{
    struct run *r = arg;
    int me = r->n >= 0 ? (int)(weft_self().id & 0xffff) : 0;
    for (int i = 0; i < STEPS; i++) {
        r->log[r->n++] = me;
        if (i % 3 == 0) {
            int v = me;
            weft_chan_send(r->ch, &v); /* buffered: may or may not block */
        } else if (i % 3 == 1) {
            int v;
            weft_chan_recv(r->ch, &v);
        } else {
            weft_yield();
        }
    }
    return NULL;
}

static void *root(void *arg)
{
    struct run *r = arg;
    CHECK_OK(weft_chan_make(&r->ch, sizeof(int), 4));
    weft_fiber f[NFIB];
    for (int i = 0; i < NFIB; i++)
        CHECK_OK(weft_spawn(&f[i], stepper, r, NULL));
    for (int i = 0; i < NFIB; i++)
        CHECK_OK(weft_join(f[i], NULL));
    CHECK_OK(weft_chan_free(r->ch));
    return NULL;
}

/* Run the workload under @seed; returns the scheduler's hash of its picks. */
static uint64_t run_seed(struct run *r, uint64_t seed, bool chaos)
{
    memset(r, 0, sizeof *r);
    weft_config cfg = {.workers = 4, .sched_seed = seed, .sched_chaos = chaos};
    CHECK_OK(weft_init(&cfg));
    EXPECT_EQ(weft_workers(), 1); /* one worker, whatever .workers says */
    weft_fiber f;
    CHECK_OK(weft_spawn(&f, root, r, NULL));
    CHECK_OK(weft_join(f, NULL));
    uint64_t hash = wt_rt.det.hash;
    CHECK_OK(weft_shutdown());
    return hash;
}

static void same_seed_same_schedule(bool chaos)
{
    settle();
    static struct run a, b, c;
    uint64_t ha = run_seed(&a, 42, chaos);
    uint64_t hb = run_seed(&b, 42, chaos);
    uint64_t hc = run_seed(&c, 43, chaos);
    EXPECT_EQ(a.n, NFIB * STEPS);
    EXPECT_EQ(ha, hb);
    EXPECT_EQ(a.n, b.n);
    EXPECT(memcmp(a.log, b.log, sizeof a.log) == 0);
    EXPECT(ha != hc); /* another seed, another interleaving */
    EXPECT(memcmp(a.log, c.log, sizeof a.log) != 0);
}

TEST(same_seed_same_interleaving)
{
    same_seed_same_schedule(false);
}

TEST(chaos_same_seed_same_interleaving)
{
    same_seed_same_schedule(true);
}

static void *sleep_long(void *arg)
{
    int64_t *slept = arg;
    int64_t t0 = weft_now();
    CHECK_OK(weft_sleep(10 * S));
    *slept = weft_now() - t0;
    return NULL;
}

/* The virtual clock: a 10 s sleep passes at once in real time, and weft_now
 * advanced by at least 10 s. */
TEST(virtual_clock_jumps_to_the_next_timer)
{
    settle();
    CHECK_OK(weft_init(&(weft_config){.sched_seed = 7}));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int64_t slept = 0;
    weft_fiber f;
    CHECK_OK(weft_spawn(&f, sleep_long, &slept, NULL));
    CHECK_OK(weft_join(f, NULL));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    EXPECT(slept >= 10 * S);
    EXPECT((t1.tv_sec - t0.tv_sec) < 5); /* one-sided: far less than 10 s */
    CHECK_OK(weft_shutdown());
}

TEST(bad_sched_values_refused)
{
    settle();
    const char *bad[] = {"seed", "seed:", "seed:0", "seed:x", "chaos:-1", "random:3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("WEFT_SCHED", bad[i], 1);
        EXPECT_EQ(weft_init(NULL), -EINVAL);
    }
    setenv("WEFT_SCHED", "seed:5", 1);
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    EXPECT_EQ(weft_workers(), 1);
    CHECK_OK(weft_shutdown());
    unsetenv("WEFT_SCHED");
}

TAP_MAIN()
