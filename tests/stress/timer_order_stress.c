/*
 * timer_order_stress.c - a million timers fire in order of deadline.
 *
 * What "in order" can mean depends on the clock. On the deterministic
 * schedule (one worker, virtual clock: time stands still while fibers run
 * and jumps to the earliest timer) it is exact: every sleeper wakes at its
 * deadline to the nanosecond, and the wake-ups, logged in the order the
 * fibers run, have non-decreasing deadlines. In real time on several
 * workers each worker owns its timers, so the order holds per worker: a
 * worker fires its due entries earliest first, and timer-woken fibers run
 * on that worker in firing order (the owner-only timer FIFO). It is exact
 * there for every timer armed well before the earliest deadline; a fiber
 * whose thread the OS stalled past its own deadline between the clock read
 * and the push of its entry could fire late, so fibers that armed less than
 * SLACK before the first deadline are left out of the check (counted).
 *
 * Stale entries: in the virtual-clock case an eighth of the fibers wait on
 * an event with a deadline instead of sleeping, and one fiber sets the
 * event at a fixed time, so the timer entries of those with later
 * deadlines go stale and must be dropped, not fired. The million timers
 * there come from 250,000 fibers sleeping four times each: a million
 * fibers at once would make it a test of stacks and page faults (a
 * million fresh stacks, drawn in random order) more than of timers.
 *
 * WEFT_STRESS_SCALE (default 1) scales the counts; WEFT_TEST_SEED replays.
 * Under TSan, which holds close to 1 MiB per live fiber (million_live's
 * note in meson.build), the counts are a fiftieth of that.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "tap.h"
#include "testutil.h"
#include "weft.h"

#if defined(__SANITIZE_THREAD__)
#define TSAN_DIV 50
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TSAN_DIV 50
#endif
#endif
#ifndef TSAN_DIV
#define TSAN_DIV 1
#endif

#define MS          1000000ll
#define MAX_DELAY   (100 * MS) /* deadlines spread over 100 ms, 1 us steps */
#define NOT_WOKEN   INT64_MIN
#define STALE_EVERY 8 /* every 8th fiber waits on the event (virtual clock case) */

static long count(long n)
{
    long v = stress_scaled(n) / TSAN_DIV;
    return v > 16 ? v : 16;
}

static uint64_t seed;

/* Fiber @i's delay: 0..100 ms in 1 us steps, many equal (1M draws from
 * 100,001 values). */
static int64_t delay_of(long i)
{
    uint64_t x = seed ^ ((uint64_t)i * 0x9e3779b97f4a7c15ull);
    return (int64_t)(splitmix(&x) % (MAX_DELAY / 1000 + 1)) * 1000;
}

/* Virtual clock: exact order. */

#define ROUNDS 4 /* sleeps per fiber: a million timers from 250,000 fibers */

static long nfib;
static int64_t base;   /* fiber i's first deadline: base + delay_of(i) */
static int64_t set_at; /* when the setter sets the event */
static weft_event ev;
static int64_t *log_deadline, *log_woke; /* timer wake-ups in the order they ran */
static _Atomic long nlogged, nset_ok;
static _Atomic long nbad; /* a sleep or wait that returned what it should not */

static void note_wake(int64_t deadline)
{
    /* Relaxed: one worker; the log is read after every fiber was joined. */
    long k = atomic_fetch_add_explicit(&nlogged, 1, memory_order_relaxed);
    log_deadline[k] = deadline;
    log_woke[k] = weft_now();
}

static void *vsleeper(void *arg)
{
    long i = (long)(intptr_t)arg;
    int64_t deadline = base + delay_of(i);
    if (i % STALE_EVERY == 0) {
        int r = weft_event_wait_until(&ev, deadline);
        /* Set at set_at: those due by then time out first (their timers
         * fire before the setter, whose timer is among them, runs). */
        if (r != (deadline <= set_at ? -ETIMEDOUT : 0))
            atomic_fetch_add(&nbad, 1);
        if (r == 0) /* woken by the set: its timer entry is stale */
            atomic_fetch_add(&nset_ok, weft_now() == set_at);
        else
            note_wake(deadline);
        return NULL;
    }
    for (int r = 0; r < ROUNDS; r++) {
        if (weft_sleep_until(deadline) != 0)
            atomic_fetch_add(&nbad, 1);
        note_wake(deadline);
        deadline += delay_of(i * ROUNDS + r + 1) / ROUNDS;
    }
    return NULL;
}

static void *vsetter(void *arg)
{
    (void)arg;
    if (weft_sleep_until(set_at) != 0 || weft_event_set(&ev) != 0)
        atomic_fetch_add(&nbad, 1);
    return NULL;
}

static void *vroot(void *arg)
{
    weft_fiber *h = arg, setter;
    base = weft_now() + MS;
    set_at = base + MAX_DELAY / 2 + 500; /* between two 1-us steps */
    long spawned = 0;
    for (; spawned < nfib; spawned++)
        if (weft_spawn(&h[spawned], vsleeper, (void *)(intptr_t)spawned, NULL) != 0)
            break;
    bool setter_ok = weft_spawn(&setter, vsetter, NULL, NULL) == 0;
    for (long i = 0; i < spawned; i++)
        if (weft_join(h[i], NULL) != 0)
            atomic_fetch_add(&nbad, 1);
    if (!setter_ok || weft_join(setter, NULL) != 0 || spawned != nfib)
        atomic_fetch_add(&nbad, 1);
    return NULL;
}

/* A million timers (250,000 fibers sleeping four times each; an eighth of
 * the fibers in an event wait that a set ends half-way instead, leaving
 * their timers stale) on the virtual clock: each timer-woken fiber wakes
 * exactly at its deadline, the wake-ups come in non-decreasing deadline
 * order, none is lost, and no stale entry fires. */
TEST(a_million_timers_fire_in_deadline_order_on_the_virtual_clock)
{
    settle();
    nfib = count(1000000 / ROUNDS);
    seed = tap_seed();
    size_t cap = (size_t)nfib * ROUNDS;
    weft_fiber *h = calloc((size_t)nfib, sizeof *h);
    log_deadline = malloc(cap * sizeof *log_deadline);
    log_woke = malloc(cap * sizeof *log_woke);
    CHECK(h && log_deadline && log_woke);
    atomic_store(&nlogged, 0);
    atomic_store(&nset_ok, 0);
    atomic_store(&nbad, 0);
    weft_event_init(&ev);
    weft_config cfg = {.workers = 1, .sched_seed = seed | 1};
    int64_t t0 = weft_now();
    CHECK_OK(weft_main(&cfg, vroot, h, NULL));
    long n = atomic_load(&nlogged);
    printf("# %ld timers fired on the virtual clock in %.2f s\n", n,
           (double)(weft_now() - t0) / 1e9);
    EXPECT_EQ(atomic_load(&nbad), 0);

    long victims = 0, timed_out = 0;
    for (long i = 0; i < nfib; i += STALE_EVERY) {
        victims++;
        timed_out += base + delay_of(i) <= set_at;
    }
    EXPECT_EQ(n, (nfib - victims) * ROUNDS + timed_out); /* each once, no stale one */
    EXPECT_EQ(atomic_load(&nset_ok), victims - timed_out);
    long not_at_deadline = 0, inversions = 0;
    for (long k = 0; k < n; k++) {
        not_at_deadline += log_woke[k] != log_deadline[k];
        inversions += k > 0 && log_deadline[k] < log_deadline[k - 1];
    }
    EXPECT_EQ(not_at_deadline, 0);
    EXPECT_EQ(inversions, 0);
    printf("# %ld ended by the set (stale entries), %ld late or early, %ld out of order\n",
           victims - timed_out, not_at_deadline, inversions);
    free(h);
    free(log_deadline);
    free(log_woke);
}

/* Real time, several workers: the order per worker. */

#define SLACK (50 * MS) /* armed at least this long before the first deadline */

struct rlog {
    _Atomic long n;
    int64_t *deadline; /* the deadlines of this worker's wake-ups, in run order */
    long *who;
};

static int nworkers;
static struct rlog *rlogs;
static weft_event gate;
static weft_waitgroup checked_in;
static int64_t *armed_at;
static int64_t *woke_at; /* per fiber: weft_now() on waking, NOT_WOKEN before */

static void *rsleeper(void *arg)
{
    long i = (long)(intptr_t)arg;
    if (weft_waitgroup_done(&checked_in) != 0 || weft_event_wait(&gate) != 0) {
        atomic_fetch_add(&nbad, 1);
        return NULL;
    }
    int64_t deadline = base + delay_of(i); /* base: published by the set */
    armed_at[i] = weft_now();
    if (weft_sleep_until(deadline) != 0) {
        atomic_fetch_add(&nbad, 1);
        return NULL;
    }
    int64_t now = weft_now();
    int wi = weft_worker_index(); /* the worker that fired our timer: timer-woken fibers stay */
    woke_at[i] = now;
    if (wi < 0 || wi >= nworkers) {
        atomic_fetch_add(&nbad, 1);
        return NULL;
    }
    struct rlog *l = &rlogs[wi];
    /* Relaxed: only fibers on worker wi, one at a time, take slots here;
     * the logs are read after every fiber was joined. */
    long k = atomic_fetch_add_explicit(&l->n, 1, memory_order_relaxed);
    l->deadline[k] = deadline;
    l->who[k] = i;
    return NULL;
}

static void *rroot(void *arg)
{
    weft_fiber *h = arg;
    int64_t t0 = weft_now();
    long spawned = 0;
    if (weft_waitgroup_add(&checked_in, (int)nfib) != 0)
        atomic_fetch_add(&nbad, 1);
    for (; spawned < nfib; spawned++)
        if (weft_spawn(&h[spawned], rsleeper, (void *)(intptr_t)spawned, NULL) != 0)
            break;
    if (spawned != nfib) {
        atomic_fetch_add(&nbad, 1);
        weft_waitgroup_add(&checked_in, -(int)(nfib - spawned));
    }
    if (weft_waitgroup_wait(&checked_in) != 0)
        atomic_fetch_add(&nbad, 1);
    /* Running every fiber once more takes about what checking in took:
     * leave twice that, and the slack, before the first deadline. */
    int64_t t1 = weft_now();
    base = t1 + 2 * (t1 - t0) + 2 * SLACK;
    if (weft_event_set(&gate) != 0) /* release: publishes base */
        atomic_fetch_add(&nbad, 1);
    for (long i = 0; i < spawned; i++)
        if (weft_join(h[i], NULL) != 0)
            atomic_fetch_add(&nbad, 1);
    return NULL;
}

/* Fibers on several workers (WEFT_WORKERS=4 on two cores) sleep until
 * random deadlines in real time: none wakes early, and on each worker the
 * timer wake-ups of fibers armed in time run in deadline order. */
TEST(timers_fire_in_deadline_order_per_worker_in_real_time)
{
    settle();
    nfib = count(100000);
    seed = tap_seed() ^ 0x5bd1e995;
    weft_fiber *h = calloc((size_t)nfib, sizeof *h);
    woke_at = malloc((size_t)nfib * sizeof *woke_at);
    armed_at = malloc((size_t)nfib * sizeof *armed_at);
    CHECK(h && woke_at && armed_at);
    for (long i = 0; i < nfib; i++)
        woke_at[i] = armed_at[i] = NOT_WOKEN;
    atomic_store(&nbad, 0);
    weft_event_init(&gate);
    weft_waitgroup_init(&checked_in);
    CHECK_OK(weft_init(NULL));
    nworkers = weft_workers();
    rlogs = calloc((size_t)nworkers, sizeof *rlogs);
    CHECK(rlogs);
    for (int w = 0; w < nworkers; w++) {
        rlogs[w].deadline = malloc((size_t)nfib * sizeof(int64_t));
        rlogs[w].who = malloc((size_t)nfib * sizeof(long));
        CHECK(rlogs[w].deadline && rlogs[w].who);
    }
    weft_fiber root;
    CHECK_OK(weft_spawn(&root, rroot, h, NULL));
    CHECK_OK(weft_join(root, NULL));
    CHECK_OK(weft_shutdown());
    EXPECT_EQ(atomic_load(&nbad), 0);

    long early = 0, woken = 0, armed_late = 0, checked = 0, inversions = 0;
    for (long i = 0; i < nfib; i++) {
        woken += woke_at[i] != NOT_WOKEN;
        early += woke_at[i] != NOT_WOKEN && woke_at[i] < base + delay_of(i);
        armed_late += armed_at[i] > base - SLACK;
    }
    EXPECT_EQ(woken, nfib);
    EXPECT_EQ(early, 0);
    for (int w = 0; w < nworkers; w++) {
        struct rlog *l = &rlogs[w];
        int64_t last = INT64_MIN;
        for (long k = 0; k < atomic_load(&l->n); k++) {
            if (armed_at[l->who[k]] > base - SLACK)
                continue;
            checked++;
            inversions += l->deadline[k] < last;
            last = l->deadline[k];
        }
        printf("# worker %d: %ld timer wake-ups\n", w, atomic_load(&l->n));
        free(l->deadline);
        free(l->who);
    }
    printf("# %ld timers on %d workers; %ld checked, %ld armed too late to check, "
           "%ld out of order\n",
           nfib, nworkers, checked, armed_late, inversions);
    EXPECT_EQ(inversions, 0);
    EXPECT(checked >= nfib / 2); /* the check did check something */
    free(rlogs);
    free(h);
    free(woke_at);
    free(armed_at);
}

TAP_MAIN()
