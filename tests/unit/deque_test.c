/*
 * deque_test.c - the Chase–Lev deque (runtime/deque.c): its two ends, growth,
 * argument checks, and seeded stress runs of one owner against three thieves
 * that must hand out every item exactly once, also under TSan.
 */
#include "deque.h"
#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Single-thread cases push small integers, never 0 (NULL means "empty"),
 * cast to pointers; the stress cases push pointers to plain memory. */
static void *item(uintptr_t v)
{
    return (void *)v;
}

static uintptr_t value(void *p)
{
    return (uintptr_t)p;
}

/* White-box: the current buffer's capacity, and all buffers' slots summed. */
static size_t capacity(struct deque *dq)
{
    return (size_t)atomic_load_explicit(&dq->buf, memory_order_relaxed)->mask + 1;
}

static size_t slots_held(struct deque *dq, size_t *nbufs)
{
    size_t slots = 0;
    *nbufs = 0;
    for (struct deque_buf *a = atomic_load_explicit(&dq->buf, memory_order_relaxed); a;
         a = a->prev) {
        slots += (size_t)a->mask + 1;
        ++*nbufs;
    }
    return slots;
}

/* Anything that is not a power of two >= 2 is refused, and @dq is left as it was. */
TEST(deque_init_rejects_bad_capacity)
{
    static const size_t bad[] = {0, 1, 3, 6, 100, 1023, SIZE_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct deque dq, before;
        memset(&dq, 0xa5, sizeof dq);
        memcpy(&before, &dq, sizeof dq);
        EXPECT_EQ(wt_deque_init(&dq, bad[i]), -EINVAL);
        EXPECT_EQ(memcmp(&dq, &before, sizeof dq), 0);
    }
    /* A power of two whose buffer size overflows size_t: no memory for it. */
    struct deque dq;
    EXPECT_EQ(wt_deque_init(&dq, (size_t)1 << 62), -ENOMEM);
    CHECK_OK(wt_deque_init(&dq, 2));
    EXPECT_EQ(capacity(&dq), 2);
    wt_deque_destroy(&dq);
    wt_deque_destroy(&dq); /* a destroyed deque, like a zeroed one, is safe to destroy */
}

/* Pop takes the newest item, steal the oldest, both give NULL on empty, and
 * size and is_empty agree; the owner's last item goes through the CAS path. */
TEST(deque_pop_is_lifo_and_steal_is_fifo)
{
    struct deque dq;
    CHECK_OK(wt_deque_init(&dq, 8));
    EXPECT(wt_deque_is_empty(&dq));
    EXPECT(wt_deque_pop(&dq) == NULL);
    EXPECT(wt_deque_steal(&dq) == NULL);
    for (uintptr_t v = 1; v <= 5; v++)
        CHECK_OK(wt_deque_push(&dq, item(v)));
    EXPECT_EQ(wt_deque_size(&dq), 5);
    EXPECT(!wt_deque_is_empty(&dq));
    EXPECT_EQ(value(wt_deque_pop(&dq)), 5);
    EXPECT_EQ(value(wt_deque_steal(&dq)), 1);
    EXPECT_EQ(value(wt_deque_pop(&dq)), 4);
    EXPECT_EQ(value(wt_deque_steal(&dq)), 2);
    EXPECT_EQ(wt_deque_size(&dq), 1);
    EXPECT_EQ(value(wt_deque_pop(&dq)), 3); /* the last item: pop's CAS */
    EXPECT(wt_deque_pop(&dq) == NULL);
    EXPECT(wt_deque_steal(&dq) == NULL);
    EXPECT_EQ(wt_deque_size(&dq), 0);
    EXPECT(wt_deque_is_empty(&dq));
    CHECK_OK(wt_deque_push(&dq, item(6)));
    EXPECT_EQ(value(wt_deque_steal(&dq)), 6); /* the last item, stolen */
    EXPECT(wt_deque_pop(&dq) == NULL);        /* pop must see the steal */
    CHECK_OK(wt_deque_push(&dq, item(7)));
    EXPECT_EQ(value(wt_deque_pop(&dq)), 7);
    EXPECT(wt_deque_is_empty(&dq));
    wt_deque_destroy(&dq);
}

/* Indices run far past the capacity without growth when the deque never
 * holds more than it can: the ring wraps and keeps order. */
TEST(deque_wraps_around_without_growing)
{
    struct deque dq;
    CHECK_OK(wt_deque_init(&dq, 4));
    struct deque_buf *first = atomic_load_explicit(&dq.buf, memory_order_relaxed);
    uintptr_t next = 1, oldest = 1;
    for (int round = 0; round < 10000; round++) {
        for (int k = 0; k < 3; k++)
            CHECK_OK(wt_deque_push(&dq, item(next++)));
        EXPECT_EQ(value(wt_deque_steal(&dq)), oldest++);
        EXPECT_EQ(value(wt_deque_steal(&dq)), oldest++);
        EXPECT_EQ(value(wt_deque_pop(&dq)), next - 1);
        oldest++;
    }
    EXPECT(wt_deque_is_empty(&dq));
    EXPECT(atomic_load_explicit(&dq.buf, memory_order_relaxed) == first);
    EXPECT_EQ(capacity(&dq), 4);
    wt_deque_destroy(&dq);
}

/* From capacity 2 to 2^20 by doubling, with steals moving top so that the
 * copies wrap: every item survives, in order, and the retired buffers with
 * the live one hold fewer than twice the final capacity in slots. */
TEST(deque_grows_from_2_to_1m_keeping_every_item)
{
    enum { N = 1 << 20 };
    struct deque dq;
    CHECK_OK(wt_deque_init(&dq, 2));
    uintptr_t oldest = 1;
    for (uintptr_t v = 1; v <= N; v++) {
        CHECK_OK(wt_deque_push(&dq, item(v)));
        if (v % 4 == 0)
            EXPECT_EQ(value(wt_deque_steal(&dq)), oldest++);
    }
    EXPECT_EQ(wt_deque_size(&dq), N - N / 4);
    EXPECT_EQ(capacity(&dq), N);
    size_t nbufs, slots = slots_held(&dq, &nbufs);
    EXPECT_EQ(nbufs, 20); /* 2, 4, ..., 2^20 */
    EXPECT(slots < 2 * (size_t)N);
    /* Drain from both ends; they must meet with nothing lost or repeated. */
    uintptr_t newest = N;
    size_t bad = 0;
    for (bool from_top = false; oldest <= newest; from_top = !from_top) {
        if (from_top)
            bad += value(wt_deque_steal(&dq)) != oldest++;
        else
            bad += value(wt_deque_pop(&dq)) != newest--;
    }
    EXPECT_EQ(bad, 0);
    EXPECT(wt_deque_pop(&dq) == NULL);
    EXPECT(wt_deque_steal(&dq) == NULL);
    wt_deque_destroy(&dq);
}

/* ---- Stress: one owner, STRESS_THIEVES thieves, every item taken once ---- */

enum { STRESS_THIEVES = 3, STRESS_ROUNDS = 4, STRESS_ITEMS = 500000 };

struct stress {
    struct deque dq;
    size_t nitems;
    uint64_t *payload;  /* items are &payload[v], v in 1..nitems: plain memory */
    atomic_uchar *seen; /* seen[v]: item v was taken */
    atomic_bool go;     /* thieves start */
    atomic_int ready;   /* thieves that have started: the owner waits for all */
    atomic_bool done;   /* the owner pushes no more and has drained the deque */
    atomic_size_t by_thieves;
    atomic_size_t dups;
    atomic_size_t bad;
};

static uint64_t payload_of(size_t v)
{
    return v * 0x9e3779b97f4a7c15u | 1;
}

/* Push item v. Its payload is written with plain stores before the push, as
 * a fiber is filled in before it is queued: the taker's read is a data race
 * for TSan unless the deque orders it (R1). */
static int put(struct stress *st, size_t v)
{
    st->payload[v] = payload_of(v);
    return wt_deque_push(&st->dq, &st->payload[v]);
}

/* Record that @p was taken: check and clear its payload (plain accesses, so
 * two takers of one item also race under TSan), and flag it. Relaxed: each
 * flag stands alone, the exchange's atomicity catches a second taker, and the
 * joins order the final reads. */
static void mark(struct stress *st, void *p)
{
    uint64_t *slot = p;
    if (slot <= st->payload || slot > st->payload + st->nitems) {
        atomic_fetch_add_explicit(&st->bad, 1, memory_order_relaxed);
        return;
    }
    size_t v = (size_t)(slot - st->payload);
    uint64_t got = *slot;
    if (atomic_exchange_explicit(&st->seen[v], 1, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&st->dups, 1, memory_order_relaxed);
        return;
    }
    if (got != payload_of(v))
        atomic_fetch_add_explicit(&st->bad, 1, memory_order_relaxed);
    *slot = 0;
}

static void *thief(void *arg)
{
    struct stress *st = arg;
    size_t taken = 0;
    unsigned misses = 0;
    /* Acquire pairs with the release store of go: the deque is set up. */
    while (!atomic_load_explicit(&st->go, memory_order_acquire))
        sched_yield();
    /* Relaxed: a head count for the owner's start, which orders nothing. */
    atomic_fetch_add_explicit(&st->ready, 1, memory_order_relaxed);
    for (;;) {
        void *p = wt_deque_steal(&st->dq);
        if (p) {
            mark(st, p);
            taken++;
            continue;
        }
        /* Acquire pairs with the owner's release store of done. Once it is
         * set the deque is empty for good: nobody pushes any more. */
        if (atomic_load_explicit(&st->done, memory_order_acquire))
            break;
        if (++misses % 64 == 0) {
            (void)wt_deque_size(&st->dq); /* exercise the shared readers too */
            (void)wt_deque_is_empty(&st->dq);
            sched_yield(); /* 2 cores, 4 threads: let the owner run */
        } else {
            wt_cpu_relax();
        }
    }
    atomic_fetch_add_explicit(&st->by_thieves, taken, memory_order_relaxed);
    return NULL;
}

/* Burst length: mostly short, sometimes long enough to force growth. */
static size_t burst_len(uint64_t r, bool last_item_only)
{
    if (last_item_only)
        return 1 + r % 2;
    switch (r % 20) {
    case 0:
        return 1 + (r >> 8) % 4096;
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
    case 7:
    case 8:
    case 9:
        return 1 + (r >> 8) % 4;
    default:
        return 1 + (r >> 8) % 64;
    }
}

/*
 * One round: the calling thread owns a deque of capacity 2 and pushes
 * @nitems items in random bursts, each followed by a random number of pops,
 * one in 16 of them a steal from its own top, yielding the CPU one burst
 * in 64; then it pops until empty.
 * With @last_item_only, bursts are one or two items, all popped again, so
 * nearly every pop races the thieves for the last item.
 */
static void stress_round(uint64_t seed, size_t nitems, bool last_item_only)
{
    struct stress st;
    memset(&st, 0, sizeof st);
    st.nitems = nitems;
    st.seen = calloc(nitems + 1, sizeof st.seen[0]);
    st.payload = calloc(nitems + 1, sizeof st.payload[0]);
    CHECK(st.seen != NULL && st.payload != NULL);
    CHECK_OK(wt_deque_init(&st.dq, 2));

    pthread_t tid[STRESS_THIEVES];
    int nthreads = 0;
    while (nthreads < STRESS_THIEVES && pthread_create(&tid[nthreads], NULL, thief, &st) == 0)
        nthreads++;
    EXPECT_EQ(nthreads, STRESS_THIEVES);
    /* Release pairs with the thieves' acquire load of go. */
    atomic_store_explicit(&st.go, true, memory_order_release);
    /* Start racing only once every thief runs, or a fast owner may finish
     * first. Relaxed: see thief(). */
    while (atomic_load_explicit(&st.ready, memory_order_relaxed) < nthreads)
        sched_yield();

    uint64_t rng = seed;
    size_t next = 1, by_owner = 0, found_stolen = 0;
    int push_err = 0;
    while (next <= nitems && !push_err) {
        uint64_t r = splitmix(&rng);
        size_t burst = burst_len(r, last_item_only);
        if (!last_item_only && r >> 58 == 0)
            sched_yield(); /* now and then, so thieves get the CPU on a busy machine */
        size_t pushed = 0;
        for (; pushed < burst && next <= nitems; pushed++) {
            push_err = put(&st, next);
            if (push_err)
                break;
            next++;
        }
        size_t pops = last_item_only ? pushed : (size_t)(r >> 32) % (burst + 1);
        if (last_item_only) /* hold the items out a moment, so thieves meet the pops */
            for (unsigned spin = (unsigned)(r >> 40) % 16; spin > 0; spin--)
                wt_cpu_relax();
        for (size_t k = 0; k < pops; k++) {
            bool own_top = splitmix(&rng) % 16 == 0;
            void *p = own_top ? wt_deque_steal(&st.dq) : wt_deque_pop(&st.dq);
            if (!p) {
                found_stolen++;
                break;
            }
            mark(&st, p);
            by_owner++;
        }
    }
    EXPECT_EQ(push_err, 0);
    for (void *p; (p = wt_deque_pop(&st.dq)) != NULL; by_owner++)
        mark(&st, p);
    EXPECT(wt_deque_is_empty(&st.dq));
    /* Release pairs with the thieves' acquire load of done. */
    atomic_store_explicit(&st.done, true, memory_order_release);
    for (int i = 0; i < nthreads; i++)
        pthread_join(tid[i], NULL);

    size_t missing = 0;
    for (size_t v = 1; v <= nitems; v++)
        missing += !atomic_load_explicit(&st.seen[v], memory_order_relaxed) || st.payload[v] != 0;
    size_t by_thieves = atomic_load_explicit(&st.by_thieves, memory_order_relaxed);
    size_t nbufs, slots = slots_held(&st.dq, &nbufs);
    printf("# seed %" PRIu64 ": %zu items, %zu by the owner, %zu by thieves, %zu owner pops"
           " found the deque emptied by thieves, capacity 2 -> %zu\n",
           seed, nitems, by_owner, by_thieves, found_stolen, capacity(&st.dq));
    EXPECT_EQ(missing, 0);
    EXPECT_EQ(atomic_load(&st.dups), 0);
    EXPECT_EQ(atomic_load(&st.bad), 0);
    EXPECT_EQ(by_owner + by_thieves, nitems);
    EXPECT(slots < 2 * capacity(&st.dq));
    EXPECT_EQ(nbufs, (size_t)__builtin_ctzll(capacity(&st.dq)));
    wt_deque_destroy(&st.dq);
    free(st.seen);
    free(st.payload);
}

/* Random push/pop bursts against three thieves, growing under contention
 * from capacity 2: 4 rounds of 500,000 items, each taken exactly once. */
TEST(deque_owner_and_thieves_take_each_item_once)
{
    for (uint64_t round = 0; round < STRESS_ROUNDS; round++)
        stress_round(tap_seed() + round, STRESS_ITEMS, false);
}

/* The owner pushes one or two items and pops them back while three thieves
 * steal: pop's and steal's CAS race for the last item over and over. */
TEST(deque_pop_and_steal_race_for_the_last_item)
{
    stress_round(tap_seed() ^ 0x5eed, STRESS_ITEMS, true);
}

TAP_MAIN()
