/*
 * callback_timer.c - weft_timer: a one-shot callback at a deadline, on a
 * fiber of its own that sleeps until then (the per-worker timer heap does
 * the waiting), stoppable until the callback starts.
 *
 * One state word decides the two races. STARTED (set by the timer's fiber
 * when it wakes) and STOPPED (set by weft_timer_stop) exclude each other:
 * whichever CAS comes first wins, so a stopped callback never runs and a
 * started one is never reported stopped. REAPER is taken by the one stop or
 * wait that joins the fiber; the struct stays in use by the fiber until
 * that join returns, and is idle (zero) after it.
 */
#include <assert.h>
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>

#include "weft.h"

enum {
    ARMED = 1u << 0,   /* started and not yet reaped */
    STARTED = 1u << 1, /* the callback began */
    STOPPED = 1u << 2, /* a stop won: it never will */
    REAPER = 1u << 3,  /* a stop or wait is joining the fiber */
};

struct ctimer {
    _Atomic uint32_t state;
    weft_fiber f;
    void (*fn)(void *arg);
    void *arg;
    int64_t deadline;
};

static_assert(sizeof(struct ctimer) <= sizeof(weft_timer), "grow weft_timer.opaque_");
static_assert(alignof(struct ctimer) <= alignof(weft_timer), "weft_timer is under-aligned");

static struct ctimer *ctimer_of(weft_timer *t)
{
    return (struct ctimer *)(void *)t;
}

static void *timer_main(void *arg)
{
    struct ctimer *c = arg;
    (void)weft_sleep_until(c->deadline); /* -ECANCELED: a stop; the CAS decides */
    uint32_t s = atomic_load_explicit(&c->state, memory_order_acquire);
    while (!(s & STOPPED)) {
        /* acq_rel: pairs with the stop's CAS; fn and arg were written by
         * start before the spawn published this fiber. */
        if (atomic_compare_exchange_weak_explicit(&c->state, &s, s | STARTED, memory_order_acq_rel,
                                                  memory_order_acquire)) {
            c->fn(c->arg);
            break;
        }
    }
    return NULL; /* the reaper's join orders everything we did before it */
}

int weft_timer_start(weft_timer *t, int64_t deadline, void (*fn)(void *arg), void *arg)
{
    if (!t || !fn || deadline < 0)
        return -EINVAL;
    struct ctimer *c = ctimer_of(t);
    uint32_t idle = 0;
    if (!atomic_compare_exchange_strong_explicit(&c->state, &idle, ARMED, memory_order_acq_rel,
                                                 memory_order_relaxed))
        return -EBUSY;
    c->fn = fn;
    c->arg = arg;
    c->deadline = deadline;
    weft_fiber_attr attr = {.name = "weft_timer"};
    int r = weft_spawn(&c->f, timer_main, c, &attr);
    if (r)
        atomic_store_explicit(&c->state, 0, memory_order_release);
    return r;
}

int weft_timer_after(weft_timer *t, int64_t ns, void (*fn)(void *arg), void *arg)
{
    if (ns < 0)
        return -EINVAL;
    return weft_timer_start(t, weft_deadline_after(ns), fn, arg);
}

/* Take the reaper's part, adding @stop (STOPPED if the callback has not
 * started). Returns the state before, or 0 if @t is idle or being reaped. */
static uint32_t take_reaper(struct ctimer *c, bool stop)
{
    uint32_t s = atomic_load_explicit(&c->state, memory_order_acquire);
    for (;;) {
        if (!(s & ARMED) || (s & REAPER))
            return 0;
        uint32_t add = REAPER | (stop && !(s & STARTED) ? STOPPED : 0);
        if (atomic_compare_exchange_weak_explicit(&c->state, &s, s | add, memory_order_acq_rel,
                                                  memory_order_acquire))
            return s;
    }
}

static int reap(struct ctimer *c)
{
    int r = weft_join(c->f, NULL);
    /* Release: the next start's CAS sees the fiber gone. */
    atomic_store_explicit(&c->state, 0, memory_order_release);
    return r;
}

static bool called_from_callback(struct ctimer *c)
{
    uint32_t s = atomic_load_explicit(&c->state, memory_order_acquire);
    return (s & ARMED) && weft_self().id == c->f.id;
}

int weft_timer_stop(weft_timer *t)
{
    if (!t)
        return -EINVAL;
    struct ctimer *c = ctimer_of(t);
    if (called_from_callback(c))
        return -EDEADLK;
    uint32_t s = take_reaper(c, true);
    if (!s)
        return -ESRCH;
    bool stopped = !(s & STARTED);
    if (stopped)
        (void)weft_cancel(c->f); /* end its sleep now */
    int r = reap(c);
    return r ? r : stopped ? 0 : -EALREADY;
}

int weft_timer_wait(weft_timer *t)
{
    if (!t)
        return -EINVAL;
    struct ctimer *c = ctimer_of(t);
    if (called_from_callback(c))
        return -EDEADLK;
    if (!take_reaper(c, false))
        return -ESRCH;
    return reap(c);
}
