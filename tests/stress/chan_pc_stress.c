/*
 * chan_pc_stress.c - conservation through channels under contention: many
 * producers (fibers and plain threads) and consumers (receives and
 * selects) on 4 workers on 2 cores; every item must be received exactly
 * once (a seen-bitmap catches duplicates and losses, sums and counts
 * double-check), then close ends every consumer. WEFT_WORKERS=4;
 * WEFT_STRESS_SCALE scales the item counts; WEFT_TEST_SEED replays.
 */
#include "weft.h"

#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

/* What one run shares: items 0..n-1, each sent once by one producer. */
struct pc {
    weft_chan ch[2]; /* producers pick one at random when nch == 2 */
    int nch;
    long n;
    int producers;
    uint64_t seed;
    _Atomic uint64_t *seen; /* bitmap of n bits */
    atomic_long received, duplicates, failures;
    _Atomic uint64_t sum;
};

struct producer {
    struct pc *pc;
    int id;
};

static void produce(struct producer *p)
{
    struct pc *pc = p->pc;
    uint64_t x = pc->seed ^ (uint64_t)p->id * 0x9e3779b97f4a7c15ull;
    for (long v = p->id; v < pc->n; v += pc->producers) {
        int k = pc->nch == 2 ? (int)(splitmix(&x) & 1) : 0;
        if (weft_chan_send(pc->ch[k], &v) != 0)
            atomic_fetch_add(&pc->failures, 1);
    }
}

static void *producer_fiber(void *arg)
{
    produce(arg);
    return NULL;
}

static void *producer_thread(void *arg)
{
    produce(arg);
    return NULL;
}

static void take(struct pc *pc, long v, long *count, uint64_t *sum)
{
    if (v < 0 || v >= pc->n) {
        atomic_fetch_add(&pc->failures, 1);
        return;
    }
    uint64_t bit = (uint64_t)1 << (v & 63);
    if (atomic_fetch_or_explicit(&pc->seen[v >> 6], bit, memory_order_relaxed) & bit)
        atomic_fetch_add(&pc->duplicates, 1);
    (*count)++;
    *sum += (uint64_t)v;
}

/* Receive until the channel is closed and drained. */
static void *consumer_recv(void *arg)
{
    struct pc *pc = arg;
    long v, count = 0;
    uint64_t sum = 0;
    int r;
    while ((r = weft_chan_recv(pc->ch[0], &v)) == 0)
        take(pc, v, &count, &sum);
    if (r != -EPIPE)
        atomic_fetch_add(&pc->failures, 1);
    atomic_fetch_add(&pc->received, count);
    atomic_fetch_add(&pc->sum, sum);
    return NULL;
}

/* Select over both channels until both are closed and drained; a closed
 * case becomes a nil case. */
static void *consumer_select(void *arg)
{
    struct pc *pc = arg;
    long v[2], count = 0;
    uint64_t sum = 0;
    weft_select_case sc[2] = {{.ch = pc->ch[0], .op = WEFT_SELECT_RECV, .elem = &v[0]},
                              {.ch = pc->ch[1], .op = WEFT_SELECT_RECV, .elem = &v[1]}};
    for (int open = 2; open;) {
        int w = weft_select(sc, 2, WEFT_FOREVER);
        if (w < 0 || w > 1) {
            atomic_fetch_add(&pc->failures, 1);
            break;
        }
        if (sc[w].result == -EPIPE) {
            sc[w].ch = (weft_chan){0};
            open--;
        } else {
            take(pc, v[w], &count, &sum);
        }
    }
    atomic_fetch_add(&pc->received, count);
    atomic_fetch_add(&pc->sum, sum);
    return NULL;
}

struct shape {
    long n;
    size_t cap;
    int nch;
    int fiber_producers, thread_producers, consumers;
    bool select;
};

/* Run one configuration and check conservation. */
static void run(const struct shape *s, uint64_t seed)
{
    static struct pc pc;
    enum { MAXP = 16, MAXC = 16 };
    static struct producer prod[MAXP];
    weft_fiber pf[MAXP], cf[MAXC];
    pthread_t pt[MAXP];
    int np = s->fiber_producers + s->thread_producers;
    CHECK(np <= MAXP && s->consumers <= MAXC);
    size_t words = (size_t)(s->n + 63) / 64;
    _Atomic uint64_t *seen = calloc(words, sizeof *seen);
    CHECK(seen != NULL);
    pc = (struct pc){.nch = s->nch, .n = s->n, .producers = np, .seed = seed, .seen = seen};
    int64_t t0 = weft_now();
    settle();
    CHECK_OK(weft_init(NULL));
    for (int k = 0; k < s->nch; k++)
        CHECK_OK(weft_chan_make(&pc.ch[k], sizeof(long), s->cap));
    for (int i = 0; i < s->consumers; i++)
        CHECK_OK(weft_spawn(&cf[i], s->select ? consumer_select : consumer_recv, &pc, NULL));
    for (int i = 0; i < np; i++) {
        prod[i] = (struct producer){.pc = &pc, .id = i};
        if (i < s->fiber_producers)
            CHECK_OK(weft_spawn(&pf[i], producer_fiber, &prod[i], NULL));
        else
            CHECK_OK(pthread_create(&pt[i], NULL, producer_thread, &prod[i]));
    }
    for (int i = 0; i < np; i++) {
        if (i < s->fiber_producers)
            CHECK_OK(weft_join(pf[i], NULL));
        else
            CHECK_OK(pthread_join(pt[i], NULL));
    }
    for (int k = 0; k < s->nch; k++)
        CHECK_OK(weft_chan_close(pc.ch[k]));
    for (int i = 0; i < s->consumers; i++)
        CHECK_OK(weft_join(cf[i], NULL));
    for (int k = 0; k < s->nch; k++)
        CHECK_OK(weft_chan_free(pc.ch[k]));
    CHECK_OK(weft_shutdown());
    long missing = 0;
    for (long v = 0; v < s->n; v++)
        missing += !(atomic_load_explicit(&seen[v >> 6], memory_order_relaxed) >> (v & 63) & 1);
    free(seen);
    double secs = (double)(weft_now() - t0) / 1e9;
    printf(
        "# %ld items, cap %zu, %d chan, %d+%d producers, %d %s consumers: %.3f s, %.0f ns/item\n",
        s->n, s->cap, s->nch, s->fiber_producers, s->thread_producers, s->consumers,
        s->select ? "select" : "recv", secs, secs * 1e9 / (double)s->n);
    EXPECT_EQ(atomic_load(&pc.failures), 0);
    EXPECT_EQ(atomic_load(&pc.duplicates), 0);
    EXPECT_EQ(missing, 0);
    EXPECT_EQ(atomic_load(&pc.received), s->n);
    EXPECT_EQ(atomic_load(&pc.sum), (uint64_t)s->n * (uint64_t)(s->n - 1) / 2);
}

/* 10^7 items through one buffered channel (capacity 128), 8 producer
 * fibers, 8 consumer fibers: each item received exactly once. */
TEST(buffered_conservation)
{
    struct shape s = {
        .n = stress_scaled(10000000), .cap = 128, .nch = 1, .fiber_producers = 8, .consumers = 8};
    run(&s, tap_seed());
}

/* 10^6 items through one unbuffered channel, 8 + 8 fibers: every item is
 * a rendezvous, mostly a direct hand-off to a parked partner. */
TEST(unbuffered_conservation)
{
    struct shape s = {
        .n = stress_scaled(1000000), .cap = 0, .nch = 1, .fiber_producers = 8, .consumers = 8};
    run(&s, tap_seed() ^ 1);
}

/* 2 x 400000 items over two channels (unbuffered and small), producers pick a
 * channel at random, 3 of the 6 producers are plain threads, 6 consumers
 * select over both channels (and race each other's claims). */
TEST(select_consumers_with_thread_producers)
{
    for (size_t cap = 0; cap <= 4; cap += 4) {
        struct shape s = {.n = stress_scaled(400000),
                          .cap = cap,
                          .nch = 2,
                          .fiber_producers = 3,
                          .thread_producers = 3,
                          .consumers = 6,
                          .select = true};
        run(&s, tap_seed() ^ (2 + cap));
    }
}

/* Selects with short random deadlines on both sides: producers select a
 * send on either channel, consumers a receive on either (cases listed in
 * the other order, so the two sides lock the same channels from opposite
 * ends of their case lists), each retrying on -ETIMEDOUT. Timeouts race
 * with partners' claims all the time, leaving dead waiters that partners
 * must skip; an item is still delivered exactly once. */
struct timed {
    struct pc *pc;
    uint64_t seed;
    int id; /* a producer sends id, id + producers, ... */
    long timeouts;
};

static void *timed_producer(void *arg)
{
    struct timed *t = arg;
    struct pc *pc = t->pc;
    uint64_t x = t->seed;
    for (long v = t->id; v < pc->n; v += pc->producers) {
        weft_select_case sc[2] = {{.ch = pc->ch[0], .op = WEFT_SELECT_SEND, .elem = &v},
                                  {.ch = pc->ch[1], .op = WEFT_SELECT_SEND, .elem = &v}};
        int w;
        while ((w = weft_select(sc, 2, weft_deadline_after((int64_t)(splitmix(&x) % 20000)))) ==
               -ETIMEDOUT)
            t->timeouts++;
        if (w < 0 || sc[w].result != 0)
            atomic_fetch_add(&pc->failures, 1);
    }
    return NULL;
}

static void *timed_consumer(void *arg)
{
    struct timed *t = arg;
    struct pc *pc = t->pc;
    uint64_t x = t->seed;
    long v[2], count = 0;
    uint64_t sum = 0;
    weft_select_case sc[2] = {{.ch = pc->ch[1], .op = WEFT_SELECT_RECV, .elem = &v[1]},
                              {.ch = pc->ch[0], .op = WEFT_SELECT_RECV, .elem = &v[0]}};
    for (int open = 2; open;) {
        int w = weft_select(sc, 2, weft_deadline_after((int64_t)(splitmix(&x) % 20000)));
        if (w == -ETIMEDOUT) {
            t->timeouts++;
        } else if (w < 0 || w > 1) {
            atomic_fetch_add(&pc->failures, 1);
            break;
        } else if (sc[w].result == -EPIPE) {
            sc[w].ch = (weft_chan){0};
            open--;
        } else {
            take(pc, w ? v[0] : v[1], &count, &sum);
        }
    }
    atomic_fetch_add(&pc->received, count);
    atomic_fetch_add(&pc->sum, sum);
    return NULL;
}

/* 200000 items, 4 producers and 4 consumers, both selecting with random
 * deadlines of 0..20 us over an unbuffered and a 1-slot channel. */
TEST(select_deadlines_race_with_partners)
{
    enum { P = 4, C = 4 };
    static struct pc pc;
    static struct timed tp[P], tc[C];
    long n = stress_scaled(200000);
    _Atomic uint64_t *seen = calloc((size_t)(n + 63) / 64, sizeof *seen);
    CHECK(seen != NULL);
    pc = (struct pc){.nch = 2, .n = n, .producers = P, .seen = seen};
    uint64_t x = tap_seed() ^ 7;
    settle();
    CHECK_OK(weft_init(NULL));
    CHECK_OK(weft_chan_make(&pc.ch[0], sizeof(long), 0));
    CHECK_OK(weft_chan_make(&pc.ch[1], sizeof(long), 1));
    weft_fiber fp[P], fc[C];
    for (int i = 0; i < C; i++) {
        tc[i] = (struct timed){.pc = &pc, .seed = splitmix(&x)};
        CHECK_OK(weft_spawn(&fc[i], timed_consumer, &tc[i], NULL));
    }
    for (int i = 0; i < P; i++) {
        tp[i] = (struct timed){.pc = &pc, .seed = splitmix(&x), .id = i};
        CHECK_OK(weft_spawn(&fp[i], timed_producer, &tp[i], NULL));
    }
    long timeouts = 0;
    for (int i = 0; i < P; i++) {
        CHECK_OK(weft_join(fp[i], NULL));
        timeouts += tp[i].timeouts;
    }
    CHECK_OK(weft_chan_close(pc.ch[0]));
    CHECK_OK(weft_chan_close(pc.ch[1]));
    for (int i = 0; i < C; i++) {
        CHECK_OK(weft_join(fc[i], NULL));
        timeouts += tc[i].timeouts;
    }
    CHECK_OK(weft_chan_free(pc.ch[0]));
    CHECK_OK(weft_chan_free(pc.ch[1]));
    CHECK_OK(weft_shutdown());
    long missing = 0;
    for (long v = 0; v < n; v++)
        missing += !(atomic_load_explicit(&seen[v >> 6], memory_order_relaxed) >> (v & 63) & 1);
    free(seen);
    printf("# %ld items, %ld timeouts\n", n, timeouts);
    EXPECT_EQ(atomic_load(&pc.failures), 0);
    EXPECT_EQ(atomic_load(&pc.duplicates), 0);
    EXPECT_EQ(missing, 0);
    EXPECT_EQ(atomic_load(&pc.received), n);
    EXPECT_EQ(atomic_load(&pc.sum), (uint64_t)n * (uint64_t)(n - 1) / 2);
}

TAP_MAIN()
