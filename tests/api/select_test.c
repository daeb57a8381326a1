/*
 * select_test.c - weft_select through weft.h alone: uniform choice among
 * ready cases (within stated statistical bounds), default (deadline 0),
 * deadlines, closed and nil cases, mixed sends and receives, the same
 * channel twice, waking from a parked select, big selects, plain threads,
 * argument errors and cancellation.
 *
 * "Parked" without sleeping: on ONE worker, a flag stored just before a
 * blocking call and seen by another fiber means the call has parked
 * (fibers are cooperative; see chan_test.c).
 */
#include "weft.h"

#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define MS ((int64_t)1000000)
#define S  ((int64_t)1000000000)

static weft_select_case recv_case(weft_chan c, void *elem)
{
    return (weft_select_case){.ch = c, .op = WEFT_SELECT_RECV, .elem = elem, .result = 1};
}

static weft_select_case send_case(weft_chan c, void *elem)
{
    return (weft_select_case){.ch = c, .op = WEFT_SELECT_SEND, .elem = elem, .result = 1};
}

/* Uniformity: K always-ready receive cases, ROUNDS selects. Each count is
 * Binomial(ROUNDS, 1/K); we accept it within 6 standard deviations of the
 * mean (sqrt(ROUNDS * p * (1 - p)): 50 for K = 2, 10000 rounds), which a
 * fair choice misses with probability below 2e-9 per count; a choice
 * biased by even 3% fails it. Then a chi-square statistic over the K
 * counts (K - 1 degrees of freedom) is compared with a bound whose upper
 * tail probability is below 1e-6 (35 for 3 dof, 24 for 1 dof). */
static void fairness(int k, long rounds)
{
    weft_chan c[8];
    weft_select_case sc[8];
    long got[8] = {0}, v[8];
    for (int i = 0; i < k; i++) {
        CHECK_OK(weft_chan_make(&c[i], sizeof(long), 1));
        long x = i;
        CHECK_OK(weft_chan_send(c[i], &x));
    }
    for (long r = 0; r < rounds; r++) {
        for (int i = 0; i < k; i++)
            sc[i] = recv_case(c[i], &v[i]);
        int w = weft_select(sc, (size_t)k, WEFT_FOREVER);
        CHECK(w >= 0 && w < k);
        CHECK_EQ(sc[w].result, 0);
        CHECK_EQ(v[w], w);
        got[w]++;
        CHECK_OK(weft_chan_send(c[w], &v[w])); /* ready again */
    }
    double mean = (double)rounds / k, var = rounds * (1.0 / k) * (1 - 1.0 / k), chi = 0;
    for (int i = 0; i < k; i++) {
        double d = (double)got[i] - mean;
        printf("# k=%d case %d: %ld of %ld (mean %.0f, variance %.0f)\n", k, i, got[i], rounds,
               mean, var);
        EXPECT(d * d <= 36 * var); /* |d| <= 6 standard deviations */
        chi += d * d / mean;
    }
    printf("# chi-square %.2f with %d dof\n", chi, k - 1);
    EXPECT(chi < (k == 2 ? 24.0 : 35.0));
    for (int i = 0; i < k; i++)
        CHECK_OK(weft_chan_free(c[i]));
}

/* With two (then four) receive cases always ready, each is chosen a fair
 * share of 10000 (20000) times, within the bounds above. */
TEST(ready_cases_are_chosen_uniformly)
{
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 1}));
    fairness(2, 10000);
    fairness(4, 20000);
    CHECK_OK(weft_shutdown());
}

static void *defaults(void *arg)
{
    (void)arg;
    weft_chan u, b;
    long v = 3, w = 4;
    EXPECT_EQ(weft_chan_make(&u, sizeof v, 0), 0);
    EXPECT_EQ(weft_chan_make(&b, sizeof v, 1), 0);
    EXPECT_EQ(weft_chan_send(b, &v), 0); /* b full: a send on it is not ready */
    weft_select_case sc[3] = {recv_case(u, &w), send_case(u, &v), send_case(b, &v)};
    EXPECT_EQ(weft_select(sc, 3, 0), -EAGAIN);
    EXPECT_EQ(sc[0].result, 1); /* results untouched */
    EXPECT_EQ(sc[1].result, 1);
    EXPECT_EQ(sc[2].result, 1);
    EXPECT_EQ(w, 4);
    EXPECT_EQ(weft_chan_len(b), 1);
    EXPECT_EQ(weft_select(NULL, 0, 0), -EAGAIN); /* no cases at all */
    /* A ready case wins over the default. */
    sc[0] = recv_case(b, &w);
    EXPECT_EQ(weft_select(sc, 1, 0), 0);
    EXPECT_EQ(sc[0].result, 0);
    EXPECT_EQ(w, 3);
    EXPECT_EQ(weft_chan_free(u), 0);
    EXPECT_EQ(weft_chan_free(b), 0);
    return NULL;
}

/* Deadline 0 is Go's default: -EAGAIN when nothing is ready, leaving the
 * cases untouched; a ready case completes instead. */
TEST(default_when_none_ready)
{
    RUN_ROOT(defaults, NULL, 1);
}

static void deadline_checks(void)
{
    weft_chan u;
    long v = 0;
    CHECK_OK(weft_chan_make(&u, sizeof v, 0));
    weft_select_case sc[2] = {recv_case(u, &v), send_case(u, &v)};
    EXPECT_EQ(weft_select(sc, 2, 1), -ETIMEDOUT); /* past, not 0: not a default */
    EXPECT_EQ(weft_select(sc, 2, weft_now() - MS), -ETIMEDOUT);
    EXPECT_EQ(weft_select(sc, 2, -2), -EINVAL);
    EXPECT_EQ(weft_select(sc, 2, INT64_MIN), -EINVAL);
    for (int i = 0; i < 3; i++) {
        int64_t dl = weft_deadline_after(5 * MS);
        EXPECT_EQ(weft_select(sc, 2, dl), -ETIMEDOUT);
        EXPECT(weft_now() >= dl);
    }
    EXPECT_EQ(sc[0].result, 1);
    int64_t dl = weft_deadline_after(5 * MS);
    EXPECT_EQ(weft_select(NULL, 0, dl), -ETIMEDOUT);
    EXPECT(weft_now() >= dl);
    EXPECT_EQ(weft_chan_free(u), 0); /* no waiter left behind */
}

/* A past non-zero deadline is -ETIMEDOUT (distinct from the default's
 * -EAGAIN), negative ones are -EINVAL, future ones pass no earlier than
 * asked and leave no waiter queued; in a fiber and on a plain thread. */
TEST(deadlines)
{
    RUN_IN_FIBER_AND_THREAD(deadline_checks, 2);
}

/* A fiber parked in one select; the caller fills the cases. */
struct psel {
    weft_select_case sc[4];
    size_t n;
    int64_t deadline;
    _Atomic int started;
    int rc;
};

static void *selector(void *arg)
{
    struct psel *p = arg;
    atomic_store(&p->started, 1);
    p->rc = weft_select(p->sc, p->n, p->deadline);
    return NULL;
}

/* Spawn a selector and, on one worker, return once it is parked in its
 * select ({0} if it could not be spawned: the caller's join fails). */
static weft_fiber spawn_parked(struct psel *p)
{
    weft_fiber f = {0};
    p->rc = 1000;
    (void)spawn_until_started(&f, selector, p, &p->started);
    return f;
}

static void *closed_cases(void *arg)
{
    (void)arg;
    weft_chan a, b;
    long v = 5, w = 6;
    EXPECT_EQ(weft_chan_make(&a, sizeof v, 2), 0);
    EXPECT_EQ(weft_chan_make(&b, sizeof v, 0), 0);
    EXPECT_EQ(weft_chan_send(a, &v), 0);
    EXPECT_EQ(weft_chan_close(a), 0);
    /* Receive on closed: first the buffered element, then -EPIPE. */
    weft_select_case sc[2] = {recv_case(a, &w), recv_case(b, &w)};
    EXPECT_EQ(weft_select(sc, 2, WEFT_FOREVER), 0);
    EXPECT_EQ(sc[0].result, 0);
    EXPECT_EQ(w, 5);
    w = 6;
    sc[0].result = 1;
    EXPECT_EQ(weft_select(sc, 2, WEFT_FOREVER), 0);
    EXPECT_EQ(sc[0].result, -EPIPE);
    EXPECT_EQ(w, 6);
    /* Send on closed completes with -EPIPE (Go would panic). */
    sc[0] = send_case(a, &v);
    EXPECT_EQ(weft_select(sc, 2, 0), 0);
    EXPECT_EQ(sc[0].result, -EPIPE);
    EXPECT_EQ(sc[1].result, 1);
    /* Closing a channel a select is parked on wakes it with -EPIPE. */
    static struct psel p;
    for (int op = 0; op < 2; op++) {
        weft_chan c;
        EXPECT_EQ(weft_chan_make(&c, sizeof v, 0), 0);
        p = (struct psel){.n = 2, .deadline = WEFT_FOREVER};
        p.sc[0] = recv_case(b, &w);
        p.sc[1] = op ? send_case(c, &v) : recv_case(c, &w);
        weft_fiber f = spawn_parked(&p);
        EXPECT_EQ(weft_chan_free(c), -EBUSY);
        EXPECT_EQ(weft_chan_close(c), 0);
        EXPECT_EQ(weft_join(f, NULL), 0);
        EXPECT_EQ(p.rc, 1);
        EXPECT_EQ(p.sc[1].result, -EPIPE);
        EXPECT_EQ(p.sc[0].result, 1);
        EXPECT_EQ(weft_chan_free(c), 0);
    }
    EXPECT_EQ(w, 6);
    EXPECT_EQ(weft_chan_free(a), 0);
    EXPECT_EQ(weft_chan_free(b), 0); /* the parked selects left b's queue */
    return NULL;
}

/* Closed channels make ready cases: a receive drains then reports -EPIPE,
 * a send reports -EPIPE; closing under a parked select wakes it so. */
TEST(closed_channel_cases)
{
    RUN_ROOT(closed_cases, NULL, 1);
}

static void *nil_cases(void *arg)
{
    (void)arg;
    weft_chan nil = {0}, b;
    long v = 1, w = 0;
    EXPECT_EQ(weft_chan_make(&b, sizeof v, 1), 0);
    weft_select_case sc[3] = {recv_case(nil, &w), send_case(nil, &v), recv_case(b, &w)};
    EXPECT_EQ(weft_select(sc, 2, 0), -EAGAIN);
    int64_t dl = weft_deadline_after(5 * MS);
    EXPECT_EQ(weft_select(sc, 2, dl), -ETIMEDOUT);
    EXPECT(weft_now() >= dl);
    EXPECT_EQ(weft_chan_send(b, &v), 0);
    for (int i = 0; i < 100; i++) { /* nil never wins over a ready case */
        EXPECT_EQ(weft_select(sc, 3, WEFT_FOREVER), 2);
        EXPECT_EQ(weft_chan_send(b, &v), 0);
    }
    /* Only nil cases, or none, with no deadline: parked until cancelled. */
    static struct psel p;
    for (size_t n = 0; n <= 2; n += 2) {
        p = (struct psel){.n = n, .deadline = WEFT_FOREVER};
        p.sc[0] = recv_case(nil, &w);
        p.sc[1] = send_case(nil, &v);
        weft_fiber f = spawn_parked(&p);
        EXPECT_EQ(weft_cancel(f), 0);
        EXPECT_EQ(weft_join(f, NULL), 0);
        EXPECT_EQ(p.rc, -ECANCELED);
    }
    EXPECT_EQ(weft_chan_free(b), 0);
    return NULL;
}

/* Nil-channel cases are never ready; a select of only those (or of none)
 * waits for its deadline or a cancellation, like Go's select {}. */
TEST(nil_cases_are_never_ready)
{
    RUN_ROOT(nil_cases, NULL, 1);
}

struct peer {
    weft_chan ch;
    int send; /* 1: send value; 0: receive into value */
    long value;
    int rc;
};

static void *peer_op(void *arg)
{
    struct peer *p = arg;
    p->rc = p->send ? weft_chan_send(p->ch, &p->value) : weft_chan_recv(p->ch, &p->value);
    return NULL;
}

static void *mixed(void *arg)
{
    (void)arg;
    weft_chan a, b;
    long out = 11, in = 0;
    EXPECT_EQ(weft_chan_make(&a, sizeof out, 0), 0);
    EXPECT_EQ(weft_chan_make(&b, sizeof out, 0), 0);
    static struct peer pr, ps;
    /* Ready by a parked receiver: the send case completes. */
    pr = (struct peer){.ch = a, .send = 0, .value = -1};
    weft_fiber f;
    EXPECT_EQ(weft_spawn(&f, peer_op, &pr, NULL), 0);
    weft_yield(); /* one worker: it runs and parks (or we block below) */
    weft_select_case sc[2] = {send_case(a, &out), recv_case(b, &in)};
    EXPECT_EQ(weft_select(sc, 2, WEFT_FOREVER), 0);
    EXPECT_EQ(sc[0].result, 0);
    EXPECT_EQ(weft_join(f, NULL), 0);
    EXPECT_EQ(pr.rc, 0);
    EXPECT_EQ(pr.value, 11);
    /* Parked select, woken by a sender on b: the receive case fires. */
    static struct psel p;
    p = (struct psel){.n = 2, .deadline = WEFT_FOREVER};
    p.sc[0] = send_case(a, &out);
    p.sc[1] = recv_case(b, &in);
    weft_fiber g = spawn_parked(&p);
    ps = (struct peer){.ch = b, .send = 1, .value = 12};
    peer_op(&ps);
    EXPECT_EQ(ps.rc, 0);
    EXPECT_EQ(weft_join(g, NULL), 0);
    EXPECT_EQ(p.rc, 1);
    EXPECT_EQ(p.sc[1].result, 0);
    EXPECT_EQ(p.sc[0].result, 1);
    EXPECT_EQ(in, 12);
    /* Parked select, woken by a receiver on a: the send case fires. */
    g = spawn_parked(&p);
    pr = (struct peer){.ch = a, .send = 0, .value = -1};
    peer_op(&pr);
    EXPECT_EQ(pr.rc, 0);
    EXPECT_EQ(pr.value, 11);
    EXPECT_EQ(weft_join(g, NULL), 0);
    EXPECT_EQ(p.rc, 0);
    /* Neither left a waiter behind. */
    EXPECT_EQ(weft_chan_free(a), 0);
    EXPECT_EQ(weft_chan_free(b), 0);
    return NULL;
}

/* A select mixing a send and a receive completes whichever a partner
 * makes ready, at once or after parking, and only that one. */
TEST(mixed_send_and_recv_cases)
{
    RUN_ROOT(mixed, NULL, 1);
}

static void *same_twice(void *arg)
{
    (void)arg;
    weft_chan u, b;
    long out = 21, in1 = 0, in2 = 0;
    EXPECT_EQ(weft_chan_make(&u, sizeof out, 0), 0);
    EXPECT_EQ(weft_chan_make(&b, sizeof out, 4), 0);
    /* A select never pairs its own send with its own receive. */
    weft_select_case sc[3] = {recv_case(u, &in1), send_case(u, &out), recv_case(u, &in2)};
    EXPECT_EQ(weft_select(sc, 3, 0), -EAGAIN);
    EXPECT_EQ(weft_select(sc, 3, weft_deadline_after(2 * MS)), -ETIMEDOUT);
    /* Two receive cases on one buffered channel take exactly one element. */
    for (long i = 0; i < 3; i++)
        EXPECT_EQ(weft_chan_send(b, &i), 0);
    sc[0] = recv_case(b, &in1);
    sc[1] = recv_case(b, &in2);
    in1 = in2 = -1;
    int w = weft_select(sc, 2, WEFT_FOREVER);
    EXPECT(w == 0 || w == 1);
    EXPECT_EQ(w == 0 ? in1 : in2, 0);
    EXPECT_EQ(w == 0 ? in2 : in1, -1);
    EXPECT_EQ(weft_chan_len(b), 2);
    /* Send and receive of one buffered channel: both ready, one runs. */
    sc[0] = send_case(b, &out);
    sc[1] = recv_case(b, &in1);
    w = weft_select(sc, 2, WEFT_FOREVER);
    EXPECT_EQ(weft_chan_len(b), w == 0 ? 3 : 1);
    /* Parked on u twice (send and receive): a partner's receive takes the
     * send case, a partner's send fills the receive case. */
    static struct psel p;
    static struct peer pr;
    for (int k = 0; k < 2; k++) {
        p = (struct psel){.n = 2, .deadline = WEFT_FOREVER};
        p.sc[0] = recv_case(u, &in1);
        p.sc[1] = send_case(u, &out);
        weft_fiber f = spawn_parked(&p);
        pr = (struct peer){.ch = u, .send = k, .value = k ? 22 : -1};
        peer_op(&pr);
        EXPECT_EQ(pr.rc, 0);
        EXPECT_EQ(weft_join(f, NULL), 0);
        EXPECT_EQ(p.rc, k ? 0 : 1);
        EXPECT_EQ(p.sc[p.rc].result, 0);
        EXPECT_EQ(p.sc[1 - p.rc].result, 1);
        if (k)
            EXPECT_EQ(in1, 22);
        else
            EXPECT_EQ(pr.value, 21);
    }
    EXPECT_EQ(weft_chan_free(u), 0);
    EXPECT_EQ(weft_chan_free(b), 0);
    return NULL;
}

/* The same channel in several cases: a select never meets itself, takes
 * exactly one element, and a partner completes exactly one of its cases. */
TEST(same_channel_twice)
{
    RUN_ROOT(same_twice, NULL, 1);
}

/* Cancelling a fiber parked in a select ends it with -ECANCELED, no case
 * completed, no waiter left on any of its channels. */
static void *cancel_select(void *arg)
{
    (void)arg;
    weft_chan a, b;
    long v = 1, w = 2;
    EXPECT_EQ(weft_chan_make(&a, sizeof v, 0), 0);
    EXPECT_EQ(weft_chan_make(&b, sizeof v, 1), 0);
    EXPECT_EQ(weft_chan_send(b, &v), 0);
    static struct psel p;
    for (int k = 0; k < 2; k++) {
        p = (struct psel){.n = 3, .deadline = k ? weft_deadline_after(60 * S) : WEFT_FOREVER};
        p.sc[0] = recv_case(a, &w);
        p.sc[1] = send_case(a, &v);
        p.sc[2] = send_case(b, &v);
        weft_fiber f = spawn_parked(&p);
        EXPECT_EQ(weft_cancel(f), 0);
        EXPECT_EQ(weft_join(f, NULL), 0);
        EXPECT_EQ(p.rc, -ECANCELED);
        for (int i = 0; i < 3; i++)
            EXPECT_EQ(p.sc[i].result, 1);
    }
    EXPECT_EQ(w, 2);
    EXPECT_EQ(weft_chan_len(b), 1);
    EXPECT_EQ(weft_chan_free(a), 0);
    EXPECT_EQ(weft_chan_free(b), 0);
    return NULL;
}

TEST(cancel_while_blocked_in_select)
{
    RUN_ROOT(cancel_select, NULL, 1);
}

static void *bad_args(void *arg)
{
    (void)arg;
    weft_chan a, stale;
    long v = 0;
    EXPECT_EQ(weft_chan_make(&a, sizeof v, 1), 0);
    EXPECT_EQ(weft_chan_make(&stale, sizeof v, 1), 0);
    EXPECT_EQ(weft_chan_free(stale), 0);
    weft_select_case sc[2] = {recv_case(a, &v), recv_case(stale, &v)};
    EXPECT_EQ(weft_select(NULL, 1, 0), -EINVAL);
    EXPECT_EQ(weft_select(sc, WEFT_SELECT_MAX + 1, 0), -EINVAL);
    EXPECT_EQ(weft_select(sc, 2, 0), -EBADF);
    EXPECT_EQ(weft_select(sc, 2, WEFT_FOREVER), -EBADF); /* before any wait */
    sc[1] = (weft_select_case){.ch = a, .op = 0, .elem = &v};
    EXPECT_EQ(weft_select(sc, 2, 0), -EINVAL);
    sc[1].op = 3;
    EXPECT_EQ(weft_select(sc, 2, 0), -EINVAL);
    sc[1] = recv_case(a, NULL);
    EXPECT_EQ(weft_select(sc, 2, 0), -EINVAL);
    EXPECT_EQ(weft_chan_send(a, &v), 0);
    /* A stale case fails the select even with another case ready, and
     * nothing was taken. */
    sc[1] = recv_case(stale, &v);
    EXPECT_EQ(weft_select(sc, 2, WEFT_FOREVER), -EBADF);
    EXPECT_EQ(weft_chan_len(a), 1);
    EXPECT_EQ(weft_chan_free(a), 0);
    return NULL;
}

/* Bad arguments are refused before anything happens: NULL cases, too many
 * cases, a bad op, a NULL element, a stale channel (-EBADF). */
TEST(bad_arguments)
{
    RUN_ROOT(bad_args, NULL, 1);
}

enum { BIG = 100 };

struct big_sel {
    weft_chan ch[BIG];
    long v[BIG];
    int rc;
};

static void *big_selector(void *arg)
{
    struct big_sel *b = arg;
    weft_select_case sc[BIG];
    for (int i = 0; i < BIG; i++)
        sc[i] = recv_case(b->ch[i], &b->v[i]);
    b->rc = weft_select(sc, BIG, WEFT_FOREVER);
    return NULL;
}

/* A select of 100 cases (past the on-stack size) parks on all of them and
 * is completed by a send to any one; every channel is left clean. */
TEST(many_cases)
{
    static struct big_sel b;
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    for (int i = 0; i < BIG; i++)
        CHECK_OK(weft_chan_make(&b.ch[i], sizeof(long), 0));
    uint64_t x = tap_seed();
    for (int round = 0; round < 50; round++) {
        int k = (int)(splitmix(&x) % BIG);
        weft_fiber f;
        CHECK_OK(weft_spawn(&f, big_selector, &b, NULL));
        long v = round;
        CHECK_OK(weft_chan_send(b.ch[k], &v)); /* blocks until the select takes it */
        CHECK_OK(weft_join(f, NULL));
        EXPECT_EQ(b.rc, k);
        EXPECT_EQ(b.v[k], round);
    }
    for (int i = 0; i < BIG; i++)
        CHECK_OK(weft_chan_free(b.ch[i]));
    CHECK_OK(weft_shutdown());
}

struct pt {
    weft_chan a, b;
    long n;
    long got_a, got_b, bad;
};

static void *pt_fiber_sender(void *arg)
{
    struct pt *p = arg;
    for (long i = 0; i < p->n; i++)
        if (weft_chan_send(i % 3 ? p->a : p->b, &i) != 0)
            return (void *)1;
    weft_chan_close(p->a);
    weft_chan_close(p->b);
    return NULL;
}

/* A plain thread selects (blocking the thread) over two channels that a
 * fiber feeds, until both are closed: every value arrives once, on the
 * channel it was sent to. */
TEST(plain_thread_selects)
{
    static struct pt p;
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    p = (struct pt){.n = 30000};
    CHECK_OK(weft_chan_make(&p.a, sizeof(long), 0));
    CHECK_OK(weft_chan_make(&p.b, sizeof(long), 2));
    weft_fiber f;
    CHECK_OK(weft_spawn(&f, pt_fiber_sender, &p, NULL));
    long va, vb, sum = 0;
    weft_select_case sc[2] = {recv_case(p.a, &va), recv_case(p.b, &vb)};
    int open = 2;
    while (open) {
        int w = weft_select(sc, 2, WEFT_FOREVER);
        CHECK(w == 0 || w == 1);
        if (sc[w].result == -EPIPE) {
            sc[w].ch = (weft_chan){0}; /* closed: make it a nil case */
            open--;
            continue;
        }
        long v = w ? vb : va;
        p.bad += (v % 3 != 0) != (w == 0);
        sum += v;
        if (w)
            p.got_b++;
        else
            p.got_a++;
    }
    CHECK_OK(weft_join(f, NULL));
    EXPECT_EQ(p.bad, 0);
    EXPECT_EQ(p.got_a + p.got_b, p.n);
    EXPECT_EQ(sum, p.n * (p.n - 1) / 2);
    CHECK_OK(weft_chan_free(p.a));
    CHECK_OK(weft_chan_free(p.b));
    CHECK_OK(weft_shutdown());
}

TAP_MAIN()
