/*
 * chan_test.c - channels through weft.h alone, Go's semantics as a battery:
 * rendezvous, FIFO order, close-and-drain, send on closed, double close,
 * len/cap, try forms, deadlines, the nil channel, stale handles, free with
 * a waiter, plain threads, and cancellation of blocked sends and receives.
 *
 * "Parked" without sleeping: on ONE worker, fibers are cooperative, so when
 * the root fiber sees a flag that another fiber set just before a blocking
 * call, that fiber is parked inside the call (it cannot be switched out
 * between the store and the park).
 */
#include "weft.h"

#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define MS ((int64_t)1000000)
#define S  ((int64_t)1000000000)

/* A fiber that makes one blocking call and records its result. */
enum blk_op { BLK_SEND, BLK_RECV, BLK_SEND_UNTIL, BLK_RECV_UNTIL };

struct blk {
    weft_chan ch;
    enum blk_op op;
    int64_t deadline;
    long value; /* sent, or received */
    _Atomic int started;
    int rc;
};

static void *blocker(void *arg)
{
    struct blk *b = arg;
    atomic_store(&b->started, 1);
    switch (b->op) {
    case BLK_SEND:
        b->rc = weft_chan_send(b->ch, &b->value);
        break;
    case BLK_RECV:
        b->rc = weft_chan_recv(b->ch, &b->value);
        break;
    case BLK_SEND_UNTIL:
        b->rc = weft_chan_send_until(b->ch, &b->value, b->deadline);
        break;
    case BLK_RECV_UNTIL:
        b->rc = weft_chan_recv_until(b->ch, &b->value, b->deadline);
        break;
    }
    return NULL;
}

/* Spawn a blocker and, on one worker, return once it is parked in its call
 * (see the file comment); a fiber that could not be spawned is {0}, which
 * the caller's join then fails on. */
static weft_fiber spawn_parked(struct blk *b)
{
    weft_fiber f = {0};
    b->rc = 1;
    (void)spawn_until_started(&f, blocker, b, &b->started);
    return f;
}

/* make refuses bad arguments and absurd sizes, and accepts the limits. */
static void *make_args(void *arg)
{
    (void)arg;
    weft_chan c = {12345};
    EXPECT_EQ(weft_chan_make(NULL, 8, 1), -EINVAL);
    EXPECT_EQ(weft_chan_make(&c, WEFT_CHAN_ELEM_MAX + 1, 0), -EINVAL);
    EXPECT_EQ(weft_chan_make(&c, 8, WEFT_CHAN_CAP_MAX + 1), -EINVAL);
    EXPECT_EQ(weft_chan_make(&c, SIZE_MAX, SIZE_MAX), -EINVAL);
    EXPECT_EQ(c.id, 12345); /* untouched after an error */
    EXPECT_EQ(weft_chan_make(&c, WEFT_CHAN_ELEM_MAX, 2), 0);
    EXPECT(c.id != 0);
    EXPECT_EQ(weft_chan_cap(c), 2);
    EXPECT_EQ(weft_chan_free(c), 0);
    EXPECT_EQ(weft_chan_make(&c, 0, WEFT_CHAN_CAP_MAX), 0); /* no buffer needed */
    EXPECT_EQ(weft_chan_cap(c), (int)WEFT_CHAN_CAP_MAX);
    EXPECT_EQ(weft_chan_free(c), 0);
    return NULL;
}

TEST(make_refuses_bad_arguments)
{
    RUN_ROOT(make_args, NULL, 1);
}

/* Without a runtime, every call from a plain thread is -ECANCELED. */
TEST(calls_without_runtime_are_cancelled)
{
    settle();
    weft_chan c = {0};
    long v = 1;
    EXPECT_EQ(weft_chan_make(&c, sizeof v, 1), -ECANCELED);
    EXPECT_EQ(weft_chan_send(c, &v), -ECANCELED);
    EXPECT_EQ(weft_chan_try_recv(c, &v), -ECANCELED);
    EXPECT_EQ(weft_chan_len(c), -ECANCELED);
    EXPECT_EQ(weft_chan_close(c), -ECANCELED);
    EXPECT_EQ(weft_chan_free(c), -ECANCELED);
    weft_select_case sc = {.ch = c, .op = WEFT_SELECT_RECV, .elem = &v};
    EXPECT_EQ(weft_select(&sc, 1, 0), -ECANCELED);
}

struct rendezvous {
    weft_chan ch;
    _Atomic int started, returned;
};

static void *rv_sender(void *arg)
{
    struct rendezvous *r = arg;
    long v = 42;
    atomic_store(&r->started, 1);
    int rc = weft_chan_send(r->ch, &v);
    atomic_store(&r->returned, 1);
    return (void *)(intptr_t)rc;
}

static void *rendezvous_one(void *arg)
{
    (void)arg;
    static struct rendezvous r;
    atomic_store(&r.started, 0);
    atomic_store(&r.returned, 0);
    EXPECT_EQ(weft_chan_make(&r.ch, sizeof(long), 0), 0);
    weft_fiber f;
    EXPECT_EQ(weft_spawn(&f, rv_sender, &r, NULL), 0);
    while (!atomic_load(&r.started))
        weft_yield();
    for (int i = 0; i < 100; i++)
        weft_yield(); /* it has every chance to run; it must stay blocked */
    EXPECT_EQ(atomic_load(&r.returned), 0);
    EXPECT_EQ(weft_chan_len(r.ch), 0);
    long v = 0;
    EXPECT_EQ(weft_chan_recv(r.ch, &v), 0);
    EXPECT_EQ(v, 42);
    void *rc = (void *)1;
    EXPECT_EQ(weft_join(f, &rc), 0);
    EXPECT_EQ((intptr_t)rc, 0);
    EXPECT_EQ(atomic_load(&r.returned), 1);
    EXPECT_EQ(weft_chan_free(r.ch), 0);
    return NULL;
}

/* Unbuffered: a sender with no receiver stays blocked however long others
 * run, and returns 0 once the receiver has taken its value. */
TEST(unbuffered_send_waits_for_receiver)
{
    RUN_ROOT(rendezvous_one, NULL, 1);
}

struct rv_rounds {
    weft_chan ch;
    long rounds;
    _Atomic long entered; /* receiver: rounds whose recv it has entered */
    long early;           /* sender: sends that returned before that */
    long wrong;           /* receiver: values out of order */
};

static void *rv_recv_rounds(void *arg)
{
    struct rv_rounds *r = arg;
    for (long i = 0; i < r->rounds; i++) {
        long v = -1;
        atomic_store(&r->entered, i + 1);
        if (weft_chan_recv(r->ch, &v) != 0 || v != i)
            r->wrong++;
    }
    return NULL;
}

static void *rv_send_rounds(void *arg)
{
    struct rv_rounds *r = arg;
    for (long i = 0; i < r->rounds; i++) {
        if (weft_chan_send(r->ch, &i) != 0)
            r->early++;
        /* The receiver announced round i before its recv: a send that
         * returns must have been taken by that recv. */
        if (atomic_load(&r->entered) < i + 1)
            r->early++;
    }
    return NULL;
}

/* Across two workers, 20000 rendezvous: no send returns before the
 * receiver of that round has entered its receive, and every value arrives
 * in order. */
TEST(unbuffered_rendezvous_across_workers)
{
    static struct rv_rounds r;
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    r = (struct rv_rounds){.rounds = 20000};
    CHECK_OK(weft_chan_make(&r.ch, sizeof(long), 0));
    weft_fiber s, v;
    CHECK_OK(weft_spawn(&v, rv_recv_rounds, &r, NULL));
    CHECK_OK(weft_spawn(&s, rv_send_rounds, &r, NULL));
    CHECK_OK(weft_join(s, NULL));
    CHECK_OK(weft_join(v, NULL));
    EXPECT_EQ(r.early, 0);
    EXPECT_EQ(r.wrong, 0);
    CHECK_OK(weft_chan_free(r.ch));
    CHECK_OK(weft_shutdown());
}

struct fifo {
    weft_chan ch;
    int senders;
    long per;
    long out_of_order, received;
};

struct sender_arg {
    void *shared;
    long id;
};

static void *fifo_sender(void *arg)
{
    struct fifo *q = ((struct sender_arg *)arg)->shared;
    long id = ((struct sender_arg *)arg)->id;
    for (long i = 0; i < q->per; i++) {
        long v = id << 32 | i;
        if (weft_chan_send(q->ch, &v) != 0)
            return (void *)1;
        if ((i & 7) == id % 8)
            weft_yield();
    }
    return NULL;
}

/* Per sender, values arrive in the order sent: 4 senders into one channel
 * (buffered 8, then unbuffered) on 2 workers, one receiver checks that each
 * sender's sequence numbers come in increasing order without gaps. */
TEST(fifo_order_per_sender)
{
    enum { SENDERS = 4 };
    static struct fifo q;
    static struct sender_arg args[SENDERS];
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    for (int cap = 8; cap >= 0; cap -= 8) {
        q = (struct fifo){.senders = SENDERS, .per = 20000};
        CHECK_OK(weft_chan_make(&q.ch, sizeof(long), (size_t)cap));
        weft_fiber f[SENDERS];
        for (long i = 0; i < SENDERS; i++) {
            args[i] = (struct sender_arg){&q, i};
            CHECK_OK(weft_spawn(&f[i], fifo_sender, &args[i], NULL));
        }
        long next[SENDERS] = {0};
        for (long n = 0; n < SENDERS * q.per; n++) {
            long v;
            CHECK_OK(weft_chan_recv(q.ch, &v));
            long id = v >> 32, seq = v & 0xffffffff;
            CHECK(id >= 0 && id < SENDERS);
            q.out_of_order += seq != next[id];
            next[id] = seq + 1;
        }
        for (int i = 0; i < SENDERS; i++) {
            void *rc = (void *)1;
            CHECK_OK(weft_join(f[i], &rc));
            EXPECT(rc == NULL);
        }
        EXPECT_EQ(q.out_of_order, 0);
        EXPECT_EQ(weft_chan_len(q.ch), 0);
        CHECK_OK(weft_chan_free(q.ch));
    }
    CHECK_OK(weft_shutdown());
}

/* A buffered channel holds what was sent, in order, across close: receives
 * drain it, then see -EPIPE (again and again); sends after close are
 * -EPIPE; a second close is -EALREADY. From a plain thread. */
TEST(close_drains_then_reports_closed)
{
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 1}));
    weft_chan c;
    CHECK_OK(weft_chan_make(&c, sizeof(int), 4));
    for (int i = 1; i <= 3; i++)
        CHECK_OK(weft_chan_send(c, &i));
    EXPECT_EQ(weft_chan_len(c), 3);
    CHECK_OK(weft_chan_close(c));
    EXPECT_EQ(weft_chan_close(c), -EALREADY);
    int v = 7;
    EXPECT_EQ(weft_chan_send(c, &v), -EPIPE);
    EXPECT_EQ(weft_chan_try_send(c, &v), -EPIPE);
    EXPECT_EQ(weft_chan_send_until(c, &v, weft_deadline_after(MS)), -EPIPE);
    EXPECT_EQ(weft_chan_len(c), 3);
    EXPECT_EQ(weft_chan_cap(c), 4);
    for (int i = 1; i <= 3; i++) {
        v = 0;
        EXPECT_EQ(i % 2 ? weft_chan_recv(c, &v) : weft_chan_try_recv(c, &v), 0);
        EXPECT_EQ(v, i);
    }
    v = 99;
    EXPECT_EQ(weft_chan_recv(c, &v), -EPIPE);
    EXPECT_EQ(weft_chan_try_recv(c, &v), -EPIPE);
    EXPECT_EQ(weft_chan_recv_until(c, &v, 0), -EPIPE);
    EXPECT_EQ(weft_chan_recv(c, &v), -EPIPE);
    EXPECT_EQ(v, 99); /* untouched by the errors */
    EXPECT_EQ(weft_chan_len(c), 0);
    EXPECT_EQ(weft_chan_close(c), -EALREADY);
    CHECK_OK(weft_chan_free(c));
    CHECK_OK(weft_shutdown());
}

static void *close_wakes(void *arg)
{
    (void)arg;
    enum { N = 5 };
    static struct blk rx[N], tx[N];
    weft_chan u, b;
    EXPECT_EQ(weft_chan_make(&u, sizeof(long), 0), 0);
    EXPECT_EQ(weft_chan_make(&b, sizeof(long), 1), 0);
    long one = 1;
    EXPECT_EQ(weft_chan_send(b, &one), 0); /* full: senders block */
    weft_fiber fr[N], ft[N];
    for (int i = 0; i < N; i++) {
        rx[i] = (struct blk){.ch = u,
                             .op = i % 2 ? BLK_RECV : BLK_RECV_UNTIL,
                             .deadline = weft_deadline_after(60 * S),
                             .value = -5};
        fr[i] = spawn_parked(&rx[i]);
        tx[i] = (struct blk){.ch = b,
                             .op = i % 2 ? BLK_SEND : BLK_SEND_UNTIL,
                             .deadline = weft_deadline_after(60 * S),
                             .value = 100 + i};
        ft[i] = spawn_parked(&tx[i]);
    }
    /* All ten are parked; freeing is refused while they wait. */
    EXPECT_EQ(weft_chan_free(u), -EBUSY);
    EXPECT_EQ(weft_chan_free(b), -EBUSY);
    EXPECT_EQ(weft_chan_close(u), 0);
    EXPECT_EQ(weft_chan_close(b), 0);
    for (int i = 0; i < N; i++) {
        EXPECT_EQ(weft_join(fr[i], NULL), 0);
        EXPECT_EQ(weft_join(ft[i], NULL), 0);
        EXPECT_EQ(rx[i].rc, -EPIPE);
        EXPECT_EQ(rx[i].value, -5); /* untouched */
        EXPECT_EQ(tx[i].rc, -EPIPE);
    }
    /* The buffered element is still there, then closed. */
    long v = 0;
    EXPECT_EQ(weft_chan_recv(b, &v), 0);
    EXPECT_EQ(v, 1);
    EXPECT_EQ(weft_chan_recv(b, &v), -EPIPE);
    EXPECT_EQ(weft_chan_free(u), 0);
    EXPECT_EQ(weft_chan_free(b), 0);
    return NULL;
}

/* close wakes every parked receiver and sender with -EPIPE (with and
 * without deadlines), after free was refused with -EBUSY while they waited. */
TEST(close_wakes_blocked_receivers_and_senders)
{
    RUN_ROOT(close_wakes, NULL, 1);
}

static void *len_cap(void *arg)
{
    (void)arg;
    weft_chan c, u;
    EXPECT_EQ(weft_chan_make(&c, sizeof(short), 3), 0);
    EXPECT_EQ(weft_chan_cap(c), 3);
    short s = 1;
    for (int i = 0; i < 3; i++) {
        EXPECT_EQ(weft_chan_len(c), i);
        EXPECT_EQ(weft_chan_try_send(c, &s), 0);
    }
    EXPECT_EQ(weft_chan_len(c), 3);
    EXPECT_EQ(weft_chan_try_send(c, &s), -EAGAIN);
    EXPECT_EQ(weft_chan_try_recv(c, &s), 0);
    EXPECT_EQ(weft_chan_len(c), 2);
    EXPECT_EQ(weft_chan_make(&u, sizeof(long), 0), 0);
    EXPECT_EQ(weft_chan_cap(u), 0);
    static struct blk b;
    b = (struct blk){.ch = u, .op = BLK_SEND, .value = 3};
    weft_fiber f = spawn_parked(&b);
    EXPECT_EQ(weft_chan_len(u), 0); /* a parked sender is not buffered */
    long v = 0;
    EXPECT_EQ(weft_chan_recv(u, &v), 0);
    EXPECT_EQ(v, 3);
    EXPECT_EQ(weft_join(f, NULL), 0);
    EXPECT_EQ(b.rc, 0);
    EXPECT_EQ(weft_chan_free(c), 0);
    EXPECT_EQ(weft_chan_free(u), 0);
    return NULL;
}

/* len counts buffered elements (never waiting senders), cap is as made. */
TEST(len_and_cap)
{
    RUN_ROOT(len_cap, NULL, 1);
}

static void *try_forms(void *arg)
{
    (void)arg;
    weft_chan u, b;
    long v = 5;
    EXPECT_EQ(weft_chan_make(&u, sizeof v, 0), 0);
    EXPECT_EQ(weft_chan_make(&b, sizeof v, 1), 0);
    EXPECT_EQ(weft_chan_try_recv(u, &v), -EAGAIN);
    EXPECT_EQ(weft_chan_try_send(u, &v), -EAGAIN); /* nobody to take it */
    EXPECT_EQ(weft_chan_try_recv(b, &v), -EAGAIN);
    EXPECT_EQ(weft_chan_try_send(b, &v), 0);
    EXPECT_EQ(weft_chan_try_send(b, &v), -EAGAIN);
    /* A parked receiver makes try_send succeed on an unbuffered channel. */
    static struct blk r;
    r = (struct blk){.ch = u, .op = BLK_RECV, .value = 0};
    weft_fiber f = spawn_parked(&r);
    v = 77;
    EXPECT_EQ(weft_chan_try_send(u, &v), 0);
    EXPECT_EQ(weft_join(f, NULL), 0);
    EXPECT_EQ(r.rc, 0);
    EXPECT_EQ(r.value, 77);
    /* And a parked sender makes try_recv succeed. */
    r = (struct blk){.ch = u, .op = BLK_SEND, .value = 78};
    f = spawn_parked(&r);
    v = 0;
    EXPECT_EQ(weft_chan_try_recv(u, &v), 0);
    EXPECT_EQ(v, 78);
    EXPECT_EQ(weft_join(f, NULL), 0);
    EXPECT_EQ(r.rc, 0);
    EXPECT_EQ(weft_chan_free(u), 0);
    EXPECT_EQ(weft_chan_free(b), 0);
    return NULL;
}

/* The try forms never wait: -EAGAIN when the operation would, 0 when a
 * partner is parked or the buffer allows. */
TEST(try_forms_never_wait)
{
    RUN_ROOT(try_forms, NULL, 1);
}

/* Deadline checks common to fibers and plain threads. */
static void deadline_checks(void)
{
    weft_chan u, b;
    long v = 1;
    CHECK_OK(weft_chan_make(&u, sizeof v, 0));
    CHECK_OK(weft_chan_make(&b, sizeof v, 1));
    CHECK_OK(weft_chan_send(b, &v));
    /* Past deadlines, 0 included, fail at once. */
    EXPECT_EQ(weft_chan_recv_until(u, &v, 0), -ETIMEDOUT);
    EXPECT_EQ(weft_chan_recv_until(u, &v, 1), -ETIMEDOUT);
    EXPECT_EQ(weft_chan_send_until(u, &v, weft_now() - MS), -ETIMEDOUT);
    EXPECT_EQ(weft_chan_send_until(b, &v, 0), -ETIMEDOUT);
    /* ...but an operation that can complete does, whatever the deadline. */
    EXPECT_EQ(weft_chan_recv_until(b, &v, 0), 0);
    EXPECT_EQ(weft_chan_send_until(b, &v, 1), 0);
    /* Negative deadlines other than WEFT_FOREVER are refused. */
    EXPECT_EQ(weft_chan_recv_until(u, &v, -2), -EINVAL);
    EXPECT_EQ(weft_chan_send_until(u, &v, INT64_MIN), -EINVAL);
    /* A future deadline passes: not before it. */
    for (int i = 0; i < 3; i++) {
        int64_t dl = weft_deadline_after((i + 1) * 5 * MS);
        int r = i % 2 ? weft_chan_send_until(b, &v, dl) : weft_chan_recv_until(u, &v, dl);
        EXPECT_EQ(r, -ETIMEDOUT);
        EXPECT(weft_now() >= dl);
    }
    EXPECT_EQ(weft_chan_len(b), 1);  /* the timed-out sends left nothing */
    EXPECT_EQ(weft_chan_free(u), 0); /* and no waiter behind */
    EXPECT_EQ(weft_chan_free(b), 0);
}

/* Past deadlines never wait, negative ones are -EINVAL, future ones pass
 * no earlier than asked; in a fiber and on a plain thread. */
TEST(deadlines)
{
    RUN_IN_FIBER_AND_THREAD(deadline_checks, 2);
}

struct late {
    weft_chan ch;
    _Atomic int go;
};

static void *late_sender(void *arg)
{
    struct late *l = arg;
    while (!atomic_load(&l->go))
        weft_yield();
    long v = 31;
    return (void *)(intptr_t)weft_chan_send(l->ch, &v);
}

/* A receive with a deadline far ahead completes when a sender arrives and
 * leaves no timer behind to fire later. */
TEST(deadline_not_reached_completes)
{
    static struct late l;
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    CHECK_OK(weft_chan_make(&l.ch, sizeof(long), 0));
    for (int i = 0; i < 200; i++) {
        atomic_store(&l.go, 0);
        weft_fiber f;
        CHECK_OK(weft_spawn(&f, late_sender, &l, NULL));
        atomic_store(&l.go, 1);
        long v = 0;
        CHECK_OK(weft_chan_recv_until(l.ch, &v, weft_deadline_after(60 * S)));
        EXPECT_EQ(v, 31);
        void *rc = (void *)1;
        CHECK_OK(weft_join(f, &rc));
        EXPECT_EQ((intptr_t)rc, 0);
    }
    CHECK_OK(weft_chan_free(l.ch));
    CHECK_OK(weft_shutdown());
}

static void *nil_channel(void *arg)
{
    (void)arg;
    weft_chan nil = {0};
    long v = 1;
    EXPECT_EQ(weft_chan_try_send(nil, &v), -EAGAIN);
    EXPECT_EQ(weft_chan_try_recv(nil, &v), -EAGAIN);
    EXPECT_EQ(weft_chan_recv_until(nil, &v, 0), -ETIMEDOUT);
    int64_t dl = weft_deadline_after(5 * MS);
    EXPECT_EQ(weft_chan_recv_until(nil, &v, dl), -ETIMEDOUT);
    EXPECT(weft_now() >= dl);
    dl = weft_deadline_after(5 * MS);
    EXPECT_EQ(weft_chan_send_until(nil, &v, dl), -ETIMEDOUT);
    EXPECT(weft_now() >= dl);
    EXPECT_EQ(weft_chan_len(nil), -EBADF);
    EXPECT_EQ(weft_chan_cap(nil), -EBADF);
    EXPECT_EQ(weft_chan_close(nil), -EBADF);
    EXPECT_EQ(weft_chan_free(nil), -EBADF);
    /* Blocked forever on nil: only a cancellation ends it. */
    static struct blk b[2];
    b[0] = (struct blk){.ch = nil, .op = BLK_RECV};
    b[1] = (struct blk){.ch = nil, .op = BLK_SEND};
    for (int i = 0; i < 2; i++) {
        weft_fiber f = spawn_parked(&b[i]);
        EXPECT_EQ(weft_cancel(f), 0);
        EXPECT_EQ(weft_join(f, NULL), 0);
        EXPECT_EQ(b[i].rc, -ECANCELED);
    }
    return NULL;
}

/* The nil channel is never ready: try forms -EAGAIN, deadlines pass,
 * blocking calls wait until cancelled; it has no len, cap, close or free. */
TEST(nil_channel_is_never_ready)
{
    RUN_ROOT(nil_channel, NULL, 1);
}

/* Every call on a freed handle is -EBADF, also once its slot is reused by
 * a new channel (which the old handle must not reach), and so are forged
 * handles. */
TEST(stale_and_garbage_handles_are_ebadf)
{
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 1}));
    weft_chan c, d;
    long v = 1;
    CHECK_OK(weft_chan_make(&c, sizeof v, 2));
    CHECK_OK(weft_chan_send(c, &v));
    CHECK_OK(weft_chan_free(c));
    for (int round = 0; round < 2; round++) {
        EXPECT_EQ(weft_chan_send(c, &v), -EBADF);
        EXPECT_EQ(weft_chan_try_send(c, &v), -EBADF);
        EXPECT_EQ(weft_chan_send_until(c, &v, weft_deadline_after(S)), -EBADF);
        EXPECT_EQ(weft_chan_recv(c, &v), -EBADF);
        EXPECT_EQ(weft_chan_try_recv(c, &v), -EBADF);
        EXPECT_EQ(weft_chan_recv_until(c, &v, 0), -EBADF);
        EXPECT_EQ(weft_chan_len(c), -EBADF);
        EXPECT_EQ(weft_chan_cap(c), -EBADF);
        EXPECT_EQ(weft_chan_close(c), -EBADF);
        EXPECT_EQ(weft_chan_free(c), -EBADF);
        weft_select_case sc = {.ch = c, .op = WEFT_SELECT_RECV, .elem = &v};
        EXPECT_EQ(weft_select(&sc, 1, 0), -EBADF);
        if (round == 0) {
            CHECK_OK(weft_chan_make(&d, sizeof v, 2)); /* likely the same slot */
            CHECK_OK(weft_chan_send(d, &v));
        }
    }
    EXPECT(d.id != c.id);
    EXPECT_EQ(weft_chan_len(d), 1); /* the stale handle changed nothing */
    CHECK_OK(weft_chan_free(d));
    uint64_t x = tap_seed();
    const uint64_t forged[] = {1,
                               2,
                               (uint64_t)1 << 32,
                               c.id + 1,
                               c.id ^ ((uint64_t)1 << 33),
                               ~(uint64_t)0,
                               (uint64_t)3 << 32 | 0xffffffffu};
    for (size_t i = 0; i < sizeof forged / sizeof *forged + 1000; i++) {
        weft_chan g = {i < sizeof forged / sizeof *forged ? forged[i] : splitmix(&x)};
        if (g.id == 0)
            continue;
        EXPECT_EQ(weft_chan_len(g), -EBADF);
        EXPECT_EQ(weft_chan_try_send(g, &v), -EBADF);
        EXPECT_EQ(weft_chan_free(g), -EBADF);
    }
    CHECK_OK(weft_shutdown());
}

static void *free_busy(void *arg)
{
    (void)arg;
    weft_chan c;
    EXPECT_EQ(weft_chan_make(&c, sizeof(long), 0), 0);
    static struct blk b;
    b = (struct blk){.ch = c, .op = BLK_RECV};
    weft_fiber f = spawn_parked(&b);
    EXPECT_EQ(weft_chan_free(c), -EBUSY);
    long v = 8;
    EXPECT_EQ(weft_chan_send(c, &v), 0); /* still fully usable */
    EXPECT_EQ(weft_join(f, NULL), 0);
    EXPECT_EQ(b.rc, 0);
    EXPECT_EQ(b.value, 8);
    EXPECT_EQ(weft_chan_free(c), 0);
    return NULL;
}

/* free of a channel with a parked receiver is -EBUSY and changes nothing. */
TEST(free_with_blocked_waiter_is_busy)
{
    RUN_ROOT(free_busy, NULL, 1);
}

static void *signals(void *arg)
{
    (void)arg;
    weft_chan s, u;
    EXPECT_EQ(weft_chan_make(&s, 0, 3), 0);
    EXPECT_EQ(weft_chan_make(&u, 8, 1), 0);
    for (int i = 0; i < 3; i++)
        EXPECT_EQ(weft_chan_try_send(s, NULL), 0);
    EXPECT_EQ(weft_chan_try_send(s, NULL), -EAGAIN);
    EXPECT_EQ(weft_chan_len(s), 3);
    EXPECT_EQ(weft_chan_recv(s, NULL), 0);
    EXPECT_EQ(weft_chan_len(s), 2);
    EXPECT_EQ(weft_chan_send(u, NULL), -EINVAL);
    EXPECT_EQ(weft_chan_try_recv(u, NULL), -EINVAL);
    EXPECT_EQ(weft_chan_free(s), 0);
    EXPECT_EQ(weft_chan_free(u), 0);
    return NULL;
}

/* Element size 0 makes a signal channel (NULL elements fine, counts kept);
 * a NULL element with a real size is -EINVAL. */
TEST(zero_size_elements_are_signals)
{
    RUN_ROOT(signals, NULL, 1);
}

struct big {
    unsigned char b[WEFT_CHAN_ELEM_MAX];
};

static void *big_recv(void *arg)
{
    weft_chan c = *(weft_chan *)arg;
    static struct big v;
    long bad = 0;
    for (int i = 0; i < 20; i++) {
        if (weft_chan_recv(c, &v) != 0)
            return (void *)1000;
        for (size_t k = 0; k < sizeof v.b; k += 97)
            bad += v.b[k] != (unsigned char)(i + k);
    }
    return (void *)bad;
}

/* 64 KiB elements, through the buffer and handed over directly, arrive
 * whole. */
TEST(largest_elements_arrive_whole)
{
    static struct big v;
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    for (int cap = 0; cap <= 3; cap += 3) {
        weft_chan c;
        CHECK_OK(weft_chan_make(&c, sizeof v, (size_t)cap));
        weft_fiber f;
        CHECK_OK(weft_spawn(&f, big_recv, &c, NULL));
        for (int i = 0; i < 20; i++) {
            for (size_t k = 0; k < sizeof v.b; k++)
                v.b[k] = (unsigned char)(i + k);
            CHECK_OK(weft_chan_send(c, &v));
        }
        void *bad = (void *)1;
        CHECK_OK(weft_join(f, &bad));
        EXPECT_EQ((intptr_t)bad, 0);
        CHECK_OK(weft_chan_free(c));
    }
    CHECK_OK(weft_shutdown());
}

enum { THREADS = 3, PER_THREAD = 20000, RECEIVERS = 4 };

struct mixed {
    weft_chan ch;
    _Atomic long sum, count, bad;
};

static void *thread_sender(void *arg)
{
    struct mixed *m = ((struct sender_arg *)arg)->shared;
    long t = ((struct sender_arg *)arg)->id;
    for (long i = 0; i < PER_THREAD; i++) {
        long v = t * PER_THREAD + i;
        if (weft_chan_send(m->ch, &v) != 0)
            atomic_fetch_add(&m->bad, 1);
    }
    return NULL;
}

static void *fiber_receiver(void *arg)
{
    struct mixed *m = arg;
    long v, sum = 0, n = 0;
    while (weft_chan_recv(m->ch, &v) == 0) {
        sum += v;
        n++;
    }
    atomic_fetch_add(&m->sum, sum);
    atomic_fetch_add(&m->count, n);
    return NULL;
}

/* Plain threads send into a channel that fibers drain (each thread blocks
 * when the buffer is full or no fiber waits), then close it: every value
 * arrives once. Unbuffered and buffered. */
TEST(plain_threads_send_to_fibers)
{
    static struct mixed m;
    static struct sender_arg args[THREADS];
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    for (int cap = 0; cap <= 16; cap += 16) {
        m = (struct mixed){0};
        CHECK_OK(weft_chan_make(&m.ch, sizeof(long), (size_t)cap));
        weft_fiber f[RECEIVERS];
        for (int i = 0; i < RECEIVERS; i++)
            CHECK_OK(weft_spawn(&f[i], fiber_receiver, &m, NULL));
        pthread_t t[THREADS];
        for (long i = 0; i < THREADS; i++) {
            args[i] = (struct sender_arg){&m, i};
            CHECK_OK(pthread_create(&t[i], NULL, thread_sender, &args[i]));
        }
        for (int i = 0; i < THREADS; i++)
            CHECK_OK(pthread_join(t[i], NULL));
        CHECK_OK(weft_chan_close(m.ch));
        for (int i = 0; i < RECEIVERS; i++)
            CHECK_OK(weft_join(f[i], NULL));
        long n = THREADS * PER_THREAD;
        EXPECT_EQ(atomic_load(&m.bad), 0);
        EXPECT_EQ(atomic_load(&m.count), n);
        EXPECT_EQ(atomic_load(&m.sum), n * (n - 1) / 2);
        CHECK_OK(weft_chan_free(m.ch));
    }
    CHECK_OK(weft_shutdown());
}

static void *fiber_sender(void *arg)
{
    weft_chan c = *(weft_chan *)arg;
    for (long i = 0; i < PER_THREAD; i++)
        if (weft_chan_send(c, &i) != 0)
            return (void *)1;
    return NULL;
}

/* A plain thread receives (blocking the thread) what fibers send. */
TEST(fibers_send_to_plain_thread)
{
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    weft_chan c;
    CHECK_OK(weft_chan_make(&c, sizeof(long), 0));
    weft_fiber f[2];
    for (int i = 0; i < 2; i++)
        CHECK_OK(weft_spawn(&f[i], fiber_sender, &c, NULL));
    long sum = 0, v;
    for (long i = 0; i < 2 * PER_THREAD; i++) {
        CHECK_OK(weft_chan_recv(c, &v));
        sum += v;
    }
    EXPECT_EQ(sum, (long)PER_THREAD * (PER_THREAD - 1));
    for (int i = 0; i < 2; i++) {
        void *rc = (void *)1;
        CHECK_OK(weft_join(f[i], &rc));
        EXPECT(rc == NULL);
    }
    EXPECT_EQ(weft_chan_try_recv(c, &v), -EAGAIN);
    CHECK_OK(weft_chan_free(c));
    CHECK_OK(weft_shutdown());
}

static void *cancel_blocked(void *arg)
{
    (void)arg;
    weft_chan u, full;
    EXPECT_EQ(weft_chan_make(&u, sizeof(long), 0), 0);
    EXPECT_EQ(weft_chan_make(&full, sizeof(long), 1), 0);
    long v = 1;
    EXPECT_EQ(weft_chan_send(full, &v), 0);
    static struct blk b[6];
    b[0] = (struct blk){.ch = u, .op = BLK_SEND, .value = 9};
    b[1] = (struct blk){.ch = u, .op = BLK_RECV, .value = -1};
    b[2] = (struct blk){.ch = full, .op = BLK_SEND, .value = 9};
    b[3] = (struct blk){
        .ch = u, .op = BLK_SEND_UNTIL, .value = 9, .deadline = weft_deadline_after(60 * S)};
    b[4] = (struct blk){
        .ch = u, .op = BLK_RECV_UNTIL, .value = -1, .deadline = weft_deadline_after(60 * S)};
    b[5] = (struct blk){
        .ch = full, .op = BLK_SEND_UNTIL, .value = 9, .deadline = weft_deadline_after(60 * S)};
    for (int i = 0; i < 6; i++) {
        weft_fiber f = spawn_parked(&b[i]);
        EXPECT_EQ(weft_cancel(f), 0);
        EXPECT_EQ(weft_join(f, NULL), 0);
        EXPECT_EQ(b[i].rc, -ECANCELED);
    }
    EXPECT_EQ(b[1].value, -1);
    EXPECT_EQ(b[4].value, -1);
    /* Nothing was sent or left queued by the cancelled calls. */
    EXPECT_EQ(weft_chan_try_recv(u, &v), -EAGAIN);
    EXPECT_EQ(weft_chan_len(full), 1);
    EXPECT_EQ(weft_chan_free(u), 0);
    EXPECT_EQ(weft_chan_free(full), 0);
    return NULL;
}

/* A fiber parked in send or receive (unbuffered, full, with and without a
 * deadline) returns -ECANCELED when another fiber cancels it, having moved
 * no element and leaving no waiter behind (free succeeds). */
TEST(cancel_while_blocked_in_send_and_recv)
{
    RUN_ROOT(cancel_blocked, NULL, 1);
}

static void *cancelled_ops(void *arg)
{
    (void)arg;
    weft_chan c;
    EXPECT_EQ(weft_chan_make(&c, sizeof(long), 1), 0);
    EXPECT_EQ(weft_cancel(weft_self()), 0);
    long v = 4;
    /* What can complete at once still does... */
    EXPECT_EQ(weft_chan_send(c, &v), 0);
    EXPECT_EQ(weft_chan_recv(c, &v), 0);
    EXPECT_EQ(v, 4);
    /* ...what would wait fails at once. */
    EXPECT_EQ(weft_chan_recv(c, &v), -ECANCELED);
    EXPECT_EQ(weft_chan_recv_until(c, &v, weft_deadline_after(S)), -ECANCELED);
    EXPECT_EQ(weft_chan_try_recv(c, &v), -EAGAIN);
    EXPECT_EQ(weft_chan_free(c), 0);
    return NULL;
}

/* A cancelled fiber still completes operations that need no waiting; any
 * that would wait returns -ECANCELED at once. */
TEST(cancelled_fiber_completes_ready_operations)
{
    RUN_ROOT(cancelled_ops, NULL, 1);
}

struct cancel_race {
    weft_chan ch;
    _Atomic long cancelled, received, other;
};

static void *race_recv(void *arg)
{
    struct cancel_race *r = arg;
    long v;
    int rc = weft_chan_recv(r->ch, &v);
    atomic_fetch_add(rc == 0 ? &r->received : rc == -ECANCELED ? &r->cancelled : &r->other, 1);
    return NULL;
}

/* Cancellation racing with a send across two workers: each of 2000
 * receivers ends exactly once, either with the value or -ECANCELED, and
 * values are conserved (every successful try_send was received). */
TEST(cancel_races_with_send)
{
    static struct cancel_race r;
    settle();
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    r = (struct cancel_race){0};
    CHECK_OK(weft_chan_make(&r.ch, sizeof(long), 0));
    long sent = 0;
    for (int i = 0; i < 2000; i++) {
        weft_fiber f;
        CHECK_OK(weft_spawn(&f, race_recv, &r, NULL));
        long v = i;
        for (int k = 0; k < i % 7; k++)
            weft_yield();
        CHECK_OK(weft_cancel(f));
        sent += weft_chan_try_send(r.ch, &v) == 0;
        CHECK_OK(weft_join(f, NULL));
    }
    EXPECT_EQ(atomic_load(&r.other), 0);
    EXPECT_EQ(atomic_load(&r.received) + atomic_load(&r.cancelled), 2000);
    EXPECT_EQ(atomic_load(&r.received), sent);
    CHECK_OK(weft_chan_free(r.ch));
    CHECK_OK(weft_shutdown());
}

TAP_MAIN()
