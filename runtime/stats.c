/*
 * stats.c - weft_stats and weft_stats_print: the counters of stats.h summed
 * over the workers, plus a few gauges (idle, spinning, global queue, live).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "runtime.h"
#include "stats.h"
#include "stats_print.h"
#include "weft.h"
#include "worker.h"

static uint64_t load(_Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* Fill @s from the running runtime @rt. */
static void collect(struct runtime *rt, struct weft_stats *s)
{
    memset(s, 0, sizeof *s);
    s->spawns = load(&rt->shared_stats.spawns);
    s->wakeups = load(&rt->shared_stats.wakeups);
    s->offloads = load(&rt->shared_stats.offloads);
    s->polls = load(&rt->shared_stats.polls);
    s->fibers_live = atomic_load_explicit(&rt->foreign_live, memory_order_relaxed);
    for (int i = 0; i < rt->nworkers; i++) {
        struct worker *w = &rt->workers[i];
        struct wt_stats *c = &w->stats;
        s->spawns += load(&c->spawns);
        s->switches += load(&c->switches);
        s->steal_attempts += load(&c->steal_attempts);
        s->steals += load(&c->steals);
        s->parks += load(&c->parks);
        s->wakeups += load(&c->wakeups);
        s->polls += load(&c->polls);
        s->timers_fired += load(&c->timers_fired);
        s->idle_sleeps += load(&c->idle_sleeps);
        s->fibers_live += atomic_load_explicit(&w->live_delta, memory_order_relaxed);
    }
    s->workers = rt->nworkers;
    s->workers_idle = atomic_load_explicit(&rt->nidle, memory_order_relaxed);
    s->workers_spinning = atomic_load_explicit(&rt->nspinning, memory_order_relaxed);
    s->global_queue = atomic_load_explicit(&rt->gq.size, memory_order_relaxed);
}

/* Run @fn with the runtime held up (plain threads bracket, workers are
 * inside it anyway). */
static int with_runtime(void (*fn)(struct runtime *rt, void *arg), void *arg)
{
    struct worker *w = wt_worker_self();
    if (w ? !wt_rt_running() : wt_foreign_enter() != 0)
        return -ECANCELED;
    fn(&wt_rt, arg);
    if (!w)
        wt_foreign_leave();
    return 0;
}

struct copy {
    void *dst;
    size_t size;
};

static void copy_out(struct runtime *rt, void *arg)
{
    struct copy *c = arg;
    struct weft_stats s;
    collect(rt, &s);
    memcpy(c->dst, &s, c->size < sizeof s ? c->size : sizeof s);
}

int weft_stats(struct weft_stats *s, size_t size)
{
    if (!s || size < sizeof s->spawns)
        return -EINVAL;
    struct copy c = {s, size};
    return with_runtime(copy_out, &c);
}

int wt_stats_print_rt(FILE *out, struct runtime *rt)
{
    struct weft_stats s;
    collect(rt, &s);
    int n = fprintf(out,
                    "spawns %llu\nswitches %llu\nsteal_attempts %llu\nsteals %llu\nparks %llu\n"
                    "wakeups %llu\npolls %llu\ntimers_fired %llu\noffloads %llu\n"
                    "idle_sleeps %llu\nfibers_live %lld\nworkers %d\nworkers_idle %d\n"
                    "workers_spinning %d\nglobal_queue %llu\n",
                    (unsigned long long)s.spawns, (unsigned long long)s.switches,
                    (unsigned long long)s.steal_attempts, (unsigned long long)s.steals,
                    (unsigned long long)s.parks, (unsigned long long)s.wakeups,
                    (unsigned long long)s.polls, (unsigned long long)s.timers_fired,
                    (unsigned long long)s.offloads, (unsigned long long)s.idle_sleeps,
                    (long long)s.fibers_live, s.workers, s.workers_idle, s.workers_spinning,
                    (unsigned long long)s.global_queue);
    return n < 0 ? -EIO : 0;
}

static void print(struct runtime *rt, void *arg)
{
    FILE *out = ((void **)arg)[0];
    int *err = ((void **)arg)[1];
    *err = wt_stats_print_rt(out, rt);
}

int weft_stats_print(FILE *out)
{
    if (!out)
        return -EINVAL;
    int err = 0, saved = errno; /* stdio may set it; weft never does */
    void *args[2] = {out, &err};
    int r = with_runtime(print, args);
    errno = saved;
    return r ? r : err;
}
