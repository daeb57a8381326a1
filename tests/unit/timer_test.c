/*
 * timer_test.c - a worker's timers (the wheel, or the heap with
 * -DWT_TIMER_WHEEL=0): entries come out in deadline order, only once their
 * deadline has passed, whatever their spread (nanoseconds to years, pushed
 * while time moves on), stale entries (whose wait ended otherwise) are swept
 * instead of growing the structure, and the sleep benchmark's mix of a
 * million deadlines in 100 ms, whose cost per push and pop it prints.
 * WEFT_STRESS_SCALE scales the million.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fiber.h"
#include "os.h"
#include "tap.h"
#include "testutil.h"
#include "timer.h"
#include "wait.h"

enum { N = 10000 };

static uint64_t rng_state;
static int64_t rnd(int64_t bound)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (int64_t)((rng_state >> 33) % (uint64_t)bound);
}

/* A key that is current for @f: a wait in progress, as wt_wait_begin sets. */
static uint64_t live_key(struct fiber *f)
{
    uint64_t key = ((uint64_t)1 << WAIT_SEQ_SHIFT) | WAIT_WAITING;
    atomic_store(&f->wait, key);
    return key;
}

TEST(pops_in_deadline_order_with_duplicates)
{
    static struct fiber fibers[N];
    struct timer_heap h = {0};
    rng_state = tap_seed();
    EXPECT_EQ(wt_timer_next(&h), -1);
    for (int i = 0; i < N; i++) {
        uint64_t key = live_key(&fibers[i]);
        CHECK_OK(wt_timer_reserve(&h));
        wt_timer_push(&h, rnd(N / 4), &fibers[i], key); /* many equal deadlines */
    }
    EXPECT_EQ(h.n, N);
    int64_t last = -1;
    size_t count = 0;
    struct timer_entry e;
    while (wt_timer_pop_expired(&h, INT64_MAX, &e)) {
        EXPECT(e.deadline >= last);
        last = e.deadline;
        count++;
    }
    EXPECT_EQ(count, N);
    EXPECT_EQ(wt_timer_next(&h), -1);
    wt_timer_fini(&h);
}

TEST(only_expired_deadlines_come_out)
{
    static struct fiber fibers[100];
    struct timer_heap h = {0};
    for (int i = 99; i >= 0; i--) { /* worst order for a min-heap */
        CHECK_OK(wt_timer_reserve(&h));
        wt_timer_push(&h, 1000 + i * 10, &fibers[i], live_key(&fibers[i]));
    }
    EXPECT_EQ(wt_timer_next(&h), 1000);
    struct timer_entry e;
    EXPECT(!wt_timer_pop_expired(&h, 999, &e));
    int got = 0;
    while (wt_timer_pop_expired(&h, 1495, &e))
        got++;
    EXPECT_EQ(got, 50); /* 1000, 1010, ..., 1490 */
    EXPECT_EQ(wt_timer_next(&h), 1500);
    wt_timer_fini(&h);
}

/* A full heap whose entries are mostly stale is swept, not grown, and the
 * live entries still come out in order. */
TEST(stale_entries_are_swept_before_growing)
{
    static struct fiber fibers[64];
    struct timer_heap h = {0};
    for (int i = 0; i < 64; i++) {
        CHECK_OK(wt_timer_reserve(&h));
        wt_timer_push(&h, 64 - i, &fibers[i], live_key(&fibers[i]));
    }
    size_t limit = h.sweep_at;
    EXPECT_EQ(h.n, limit); /* full: the next reserve sweeps */
    for (int i = 0; i < 64; i++)
        if (i % 8) /* 7 in 8 waits end otherwise: their entries go stale */
            atomic_store(&fibers[i].wait, atomic_load(&fibers[i].wait) | WAIT_CLAIMED);
    CHECK_OK(wt_timer_reserve(&h));
    EXPECT_EQ(h.sweep_at, limit); /* not grown */
    EXPECT_EQ(h.n, 8);
    int64_t last = -1;
    struct timer_entry e;
    int got = 0;
    while (wt_timer_pop_expired(&h, INT64_MAX, &e)) {
        EXPECT(e.deadline > last);
        EXPECT_EQ((e.f - fibers) % 8, 0);
        last = e.deadline;
        got++;
    }
    EXPECT_EQ(got, 8);
    wt_timer_fini(&h);
}

/* This thread's CPU time in ns: the figures below should not depend much
 * on what else the machine runs. */
static int64_t cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Deadlines from a nanosecond to years ahead of a clock that moves on
 * while entries are pushed and popped (so the wheel's cursor moves and
 * entries land at every level, and in the heap when already due): each pop
 * is due, the pops are in order and are exactly the sorted pushes, and
 * wt_timer_next() is never later than the next entry to come out. */
TEST(mixed_spreads_pop_exactly_in_order_as_time_moves)
{
    enum { M = 200000 };
    static struct fiber fibers[M];
    static int64_t pushed[M], popped[M];
    struct timer_heap h = {0};
    uint64_t x = tap_seed();
    int64_t now = wt_os_now();
    size_t np = 0, nq = 0, bad_next = 0, early = 0;
    while (nq < M) {
        int64_t next = wt_timer_next(&h);
        if (np < M && splitmix(&x) % 3) {
            int span = (int)(splitmix(&x) % 56); /* up to 2^56 ns: 2.3 years */
            int64_t d = now + (int64_t)(splitmix(&x) & (((uint64_t)1 << span) - 1));
            CHECK_OK(wt_timer_reserve(&h));
            wt_timer_push(&h, d, &fibers[np], live_key(&fibers[np]));
            pushed[np++] = d;
            continue;
        }
        if (np == M)
            now = next > now ? next : now + 1; /* nothing more to push: follow next() */
        else
            now += (int64_t)(splitmix(&x) % 100000);
        struct timer_entry e;
        bool first = true;
        while (wt_timer_pop_expired(&h, now, &e)) {
            bad_next += first && next > e.deadline;
            first = false;
            early += e.deadline > now;
            popped[nq++] = e.deadline;
        }
    }
    EXPECT_EQ(wt_timer_next(&h), -1);
    EXPECT_EQ(h.n, 0);
    EXPECT_EQ(bad_next, 0);
    EXPECT_EQ(early, 0);
    qsort(pushed, M, sizeof *pushed, cmp_i64);
    size_t mismatched = 0;
    for (size_t i = 0; i < M; i++)
        mismatched += pushed[i] != popped[i];
    EXPECT_EQ(mismatched, 0);
    wt_timer_fini(&h);
}

/* The sleep benchmark's mix: a million deadlines uniform in 0-100 ms (1 us
 * steps) pushed at once, then fired as time passes in 10 us steps; an
 * eighth go stale before they are due (dropped when popped, as wait.c
 * does). Checks the order, prints CPU ns per push, per pop and the memory. */
TEST(sleep_mix_of_a_million_deadlines_in_order)
{
    size_t m = (size_t)stress_scaled(1000000);
    struct fiber *fibers = calloc(m, sizeof *fibers);
    uint64_t *keys = calloc(m, sizeof *keys);
    CHECK(fibers && keys);
    uint64_t x = tap_seed();
    struct timer_heap h = {0};
    for (size_t i = 0; i < m; i++)
        keys[i] = live_key(&fibers[i]);
    int64_t base = wt_os_now(); /* the release: every deadline is ahead */
    int64_t t0 = cpu_now();
    for (size_t i = 0; i < m; i++) {
        CHECK_OK(wt_timer_reserve(&h));
        wt_timer_push(&h, base + (int64_t)(splitmix(&x) % 100001) * 1000, &fibers[i], keys[i]);
    }
    int64_t t1 = cpu_now();
    size_t bytes = h.cap * sizeof(struct timer_entry);
#if WT_TIMER_WHEEL
    for (int l = 0; l < WT_WHEEL_LEVELS; l++)
        for (int s = 0; s < WT_WHEEL_SLOTS; s++)
            bytes += (h.slots[l][s].n + 31) / 32 * (32 * sizeof(struct timer_entry) + 16);
    bytes += h.nfree * (32 * sizeof(struct timer_entry) + 16);
#endif
    for (size_t i = 0; i < m; i += 8) /* these waits end otherwise */
        atomic_store(&fibers[i].wait, keys[i] | WAIT_CLAIMED);
    struct timer_entry *out = malloc(m * sizeof *out); /* the pops, checked afterwards */
    CHECK(out);
    size_t npop = 0, early = 0;
    int64_t t2 = cpu_now();
    for (int64_t t = base; npop < m; t += 10000) {
        struct timer_entry *e;
        size_t k = wt_timer_pop_all_expired(&h, t, &e);
        memcpy(out + npop, e, k * sizeof *e);
        npop += k;
        early += k && e[k - 1].deadline > t; /* the last is the latest */
    }
    int64_t t3 = cpu_now();
    printf("# %s, %zu deadlines: %.1f ns per push, %.1f ns per pop, %.1f ms in all (CPU time), "
           "%.1f MiB held after the pushes\n",
           WT_TIMER_WHEEL ? "wheel" : "4-ary heap", m, (double)(t1 - t0) / (double)m,
           (double)(t3 - t2) / (double)m, (double)(t3 - t2 + t1 - t0) / 1e6,
           (double)bytes / (1 << 20));
    size_t fired = 0, stale = 0, inversions = 0;
    for (size_t i = 0; i < m; i++) {
        inversions += out[i].deadline < (i ? out[i - 1].deadline : 0);
        if (wt_wait_is_current(out[i].f, out[i].key))
            fired++;
        else
            stale++;
    }
    free(out);
    EXPECT_EQ(inversions, 0);
    EXPECT_EQ(early, 0);
    EXPECT_EQ(stale, (m + 7) / 8);
    EXPECT_EQ(fired + stale, m);
    EXPECT_EQ(h.n, 0);
    wt_timer_fini(&h);
    free(fibers);
    free(keys);
}

TAP_MAIN()
