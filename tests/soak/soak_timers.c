/*
 * soak_timers.c - the soak's timers lane: callback timers
 * (weft_timer_after), half stopped at random: fired + cancelled == started,
 * and each callback ran iff its stop did not cancel it; sleeps and timed
 * waits on an event that is never set, none returning before its deadline.
 */
#include "soak.h"

#include <errno.h>
#include <stdlib.h>

enum {
    TIMERS_MAX = 256,
    SLEEPERS = 16,
};

struct timer_rec {
    atomic_int ran;
};

static void timer_cb(void *arg)
{
    struct timer_rec *r = arg;
    atomic_fetch_add(&r->ran, 1);
    ADD(timers_fired, 1);
}

struct sleeper {
    uint64_t rng;
    weft_event *never; /* never set: timed waits on it must time out */
};

/* Sleeps and timed waits, none of which may end before its deadline. */
static void *sleeper_fiber(void *arg)
{
    struct sleeper *s = arg;
    for (int i = 0; i < 4; i++) {
        int64_t deadline = weft_deadline_after((int64_t)below(&s->rng, 1000 * 1000));
        if (i % 2 == 0) {
            FCHECK_RC(weft_sleep_until(deadline), 0);
            ADD(sleeps, 1);
        } else {
            FCHECK_RC(weft_event_wait_until(s->never, deadline), -ETIMEDOUT);
            ADD(timed_waits, 1);
        }
        if (weft_now() < deadline)
            FAILF("woke %lld ns before the deadline", (long long)(deadline - weft_now()));
    }
    return NULL;
}

static void timer_round(uint64_t *rng, bool full)
{
    int max = (int)stress_scaled(TIMERS_MAX);
    max = max < 16 ? 16 : max;
    int n = full ? max : 1 + (int)below(rng, (uint64_t)max);
    weft_timer *t = calloc((size_t)n, sizeof *t);
    struct timer_rec *rec = calloc((size_t)n, sizeof *rec);
    bool *cancelled = calloc((size_t)n, sizeof *cancelled);
    weft_event never = WEFT_EVENT_INIT;
    FCHECK(t && rec && cancelled);
    if (!t || !rec || !cancelled)
        goto out;
    for (int i = 0; i < n; i++) {
        /* Half within 1 ms (most fire before their stop or wait), half
         * 2..20 ms out (most stops cancel them). */
        int64_t ns = below(rng, 2) ? (int64_t)below(rng, 1000 * 1000)
                                   : 2 * 1000 * 1000 + (int64_t)below(rng, 18 * 1000 * 1000);
        int rc = weft_timer_after(&t[i], ns, timer_cb, &rec[i]);
        if (rc != 0) {
            FAILF("timer_after: %s", weft_strerror(rc));
            n = i;
            break;
        }
        ADD(timers_started, 1);
    }
    weft_fiber sl[SLEEPERS];
    struct sleeper sa[SLEEPERS];
    for (int i = 0; i < SLEEPERS; i++) {
        sa[i] = (struct sleeper){.rng = splitmix(rng), .never = &never};
        FCHECK_RC(weft_spawn(&sl[i], sleeper_fiber, &sa[i], NULL), 0);
    }
    FCHECK_RC(weft_sleep((int64_t)below(rng, 1000 * 1000)), 0);
    /* Stops first, then waits: a wait for a far timer before a stop would
     * let the stopped one fire first. */
    bool *waited = calloc((size_t)n, sizeof *waited);
    FCHECK(waited != NULL);
    for (int i = 0; i < n; i++) {
        if (waited)
            waited[i] = below(rng, 2);
        if (!waited || !waited[i]) {
            int rc = weft_timer_stop(&t[i]);
            if (rc == 0) {
                cancelled[i] = true;
                ADD(timers_cancelled, 1);
            } else if (rc == -EALREADY) {
                ADD(timers_late_stops, 1);
            } else {
                FAILF("timer_stop: %s", weft_strerror(rc));
            }
        }
    }
    for (int i = 0; waited && i < n; i++)
        if (waited[i])
            FCHECK_RC(weft_timer_wait(&t[i]), 0);
    free(waited);
    for (int i = 0; i < n; i++)
        if (atomic_load(&rec[i].ran) != (cancelled[i] ? 0 : 1))
            FAILF("timer %d: callback ran %d times, stop %s it", i, atomic_load(&rec[i].ran),
                  cancelled[i] ? "cancelled" : "did not cancel");
    for (int i = 0; i < SLEEPERS; i++)
        FCHECK_RC(weft_join(sl[i], NULL), 0);
    FCHECK_RC(weft_event_destroy(&never), 0);
out:
    free(t);
    free(rec);
    free(cancelled);
}

void *timer_lane(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg;
    for (long r = 0; r == 0 || !stopping(); r++) {
        timer_round(&rng, r == 0);
        ADD(rounds[LANE_TIMERS], 1);
        pace(&rng);
    }
    return NULL;
}
