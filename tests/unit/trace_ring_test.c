/*
 * trace_ring_test.c - the timeline trace's per-worker event ring (trace.h):
 * a full ring drops and counts, never splits a two-slot event, marks the gap
 * it left with TRACE_LOST, and between a producer and a consumer thread
 * delivers every event it did not drop, once, in order (run it under TSan:
 * the ring's ordering argument is what it checks).
 */
#include "trace.h"

#include "tap.h"
#include "testutil.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

static struct trace_ev ev_of(uint64_t id)
{
    return (struct trace_ev){.ts = (int64_t)id, .kind = TRACE_WAKE, .id = id};
}

static uint64_t drops(struct trace_ring *r)
{
    return atomic_load_explicit(&r->drops, memory_order_relaxed);
}

/* A full ring refuses a put and counts it; after room is made, the next put
 * is preceded by one TRACE_LOST marker carrying its timestamp. */
TEST(ring_drops_counts_and_marks_the_gap)
{
    struct trace_ring r;
    CHECK_OK(wt_trace_ring_init(&r, 8));
    for (uint64_t i = 0; i < 8; i++) {
        struct trace_ev e = ev_of(i + 1);
        EXPECT(wt_trace_ring_put(&r, &e, 1));
    }
    struct trace_ev e = ev_of(99);
    EXPECT(!wt_trace_ring_put(&r, &e, 1));
    EXPECT_EQ(drops(&r), 1);
    uint64_t tail, head = wt_trace_ring_avail(&r, &tail);
    EXPECT_EQ(head - tail, 8);
    for (uint64_t i = tail; i < head; i++)
        EXPECT_EQ(wt_trace_ring_at(&r, i)->id, i - tail + 1);
    wt_trace_ring_consume(&r, head);
    e = ev_of(100);
    EXPECT(wt_trace_ring_put(&r, &e, 1));
    head = wt_trace_ring_avail(&r, &tail);
    CHECK_EQ(head - tail, 2);
    EXPECT_EQ(wt_trace_ring_at(&r, tail)->kind, TRACE_LOST);
    EXPECT_EQ(wt_trace_ring_at(&r, tail)->ts, 100);
    EXPECT_EQ(wt_trace_ring_at(&r, tail + 1)->id, 100);
    wt_trace_ring_consume(&r, head);
    e = ev_of(101);
    EXPECT(wt_trace_ring_put(&r, &e, 1));
    head = wt_trace_ring_avail(&r, &tail);
    EXPECT_EQ(head - tail, 1); /* one marker per gap */
    wt_trace_ring_fini(&r);
}

/* A two-slot event goes in whole or not at all: with one slot free it is
 * dropped (both counted), and no half of it is ever published. */
TEST(ring_never_splits_a_pair)
{
    struct trace_ring r;
    CHECK_OK(wt_trace_ring_init(&r, 8));
    for (uint64_t i = 0; i < 7; i++) {
        struct trace_ev e = ev_of(i + 1);
        CHECK(wt_trace_ring_put(&r, &e, 1));
    }
    struct trace_ev pair[2] = {ev_of(50), {.name = "named"}};
    pair[0].kind = TRACE_RUN;
    pair[0].flags = TRACE_NAMED;
    EXPECT(!wt_trace_ring_put(&r, pair, 2));
    EXPECT_EQ(drops(&r), 2);
    uint64_t tail, head = wt_trace_ring_avail(&r, &tail);
    EXPECT_EQ(head - tail, 7);
    wt_trace_ring_consume(&r, head);
    EXPECT(wt_trace_ring_put(&r, pair, 2));
    head = wt_trace_ring_avail(&r, &tail);
    CHECK_EQ(head - tail, 3); /* the marker, then the pair */
    EXPECT_EQ(wt_trace_ring_at(&r, tail)->kind, TRACE_LOST);
    EXPECT_EQ(wt_trace_ring_at(&r, tail + 1)->id, 50);
    EXPECT(strcmp(wt_trace_ring_at(&r, tail + 2)->name, "named") == 0);
    wt_trace_ring_fini(&r);
}

struct spsc {
    struct trace_ring r;
    long n;                       /* events the producer puts */
    _Atomic bool done;            /* release: the producer put its last */
    long given_up, refused_slots; /* producer: events dropped for good; slots refused */
    long received, lost_marks;    /* consumer */
    bool out_of_order, torn;
};

static void *producer(void *arg)
{
    struct spsc *s = arg;
    for (long i = 1; i <= s->n; i++) {
        struct trace_ev e[2] = {ev_of((uint64_t)i), {.name = ""}};
        unsigned n = 1;
        if (i % 3 == 0) { /* every third is a pair; its name slot repeats the id */
            e[0].flags = TRACE_NAMED;
            memcpy(e[1].name, &e[0].id, sizeof e[0].id);
            n = 2;
        }
        /* A few tries, so that the consumer mostly keeps up and the ring
         * still fills now and then. */
        int tries = 0;
        while (!wt_trace_ring_put(&s->r, e, n)) {
            s->refused_slots += n;
            if (++tries == 4) {
                s->given_up++;
                break;
            }
            sched_yield();
        }
    }
    /* Release pairs with the consumer's acquire: the last put is visible. */
    atomic_store_explicit(&s->done, true, memory_order_release);
    return NULL;
}

static void *consumer(void *arg)
{
    struct spsc *s = arg;
    uint64_t last = 0;
    for (;;) {
        bool done = atomic_load_explicit(&s->done, memory_order_acquire);
        uint64_t tail, head = wt_trace_ring_avail(&s->r, &tail);
        for (uint64_t i = tail; i < head; i++) {
            const struct trace_ev *e = wt_trace_ring_at(&s->r, i);
            if (e->kind == TRACE_LOST) {
                s->lost_marks++;
                continue;
            }
            if (e->id <= last)
                s->out_of_order = true;
            last = e->id;
            s->received++;
            if (e->flags & TRACE_NAMED) {
                uint64_t copy;
                memcpy(&copy, wt_trace_ring_at(&s->r, ++i)->name, sizeof copy);
                s->torn |= i >= head || copy != e->id;
            }
        }
        wt_trace_ring_consume(&s->r, head);
        if (done && head == tail)
            return NULL;
    }
}

/* Producer and consumer on two threads, a small ring so that it fills:
 * every event not given up arrives once, in order, pairs whole, and the
 * drop counter holds exactly the slots of the refused puts. */
TEST(ring_spsc_delivers_in_order)
{
    static struct spsc s;
    memset(&s, 0, sizeof s);
    CHECK_OK(wt_trace_ring_init(&s.r, 256));
    s.n = stress_scaled(1000000);
    atomic_init(&s.done, false);
    pthread_t p, c;
    CHECK_OK(pthread_create(&c, NULL, consumer, &s));
    CHECK_OK(pthread_create(&p, NULL, producer, &s));
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    EXPECT(!s.out_of_order);
    EXPECT(!s.torn);
    EXPECT_EQ(s.received, s.n - s.given_up);
    EXPECT_EQ(drops(&s.r), s.refused_slots);
    EXPECT(s.lost_marks <= s.refused_slots);
    printf("# %ld events, %ld received, %ld given up, %ld slots refused, %ld gaps marked\n", s.n,
           s.received, s.given_up, s.refused_slots, s.lost_marks);
    wt_trace_ring_fini(&s.r);
}

TAP_MAIN()
