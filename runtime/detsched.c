/*
 * detsched.c - the deterministic schedule of detsched.h. The scheduler
 * (scheduler.c) routes every runnable fiber through the pool here when
 * wt_det_on(), and picks from it at random; the clock, select's case order
 * and the chaos yields draw on the same generator. All of it runs on the one
 * worker, so none of it needs atomics (vclock aside, which weft_now may read
 * from a plain thread).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "alloc.h"
#include "detsched.h"
#include "fiber.h"
#include "worker.h"

int wt_det_init(struct runtime *rt)
{
    struct det *d = &rt->det;
    *d = (struct det){0};
    if (!rt->cfg.sched_seed)
        return 0;
    d->on = true;
    d->chaos = rt->cfg.sched_chaos;
    d->seed = rt->cfg.sched_seed;
    d->rng = rt->cfg.sched_seed;
    d->cappool = 256;
    d->pool = wt_alloc(d->cappool * sizeof *d->pool);
    if (!d->pool) {
        d->on = false;
        return -ENOMEM;
    }
    atomic_init(&d->vclock, wt_os_now());
    fprintf(stderr, "weft: deterministic schedule, WEFT_SCHED=%s:%llu replays it\n",
            d->chaos ? "chaos" : "seed", (unsigned long long)d->seed);
    return 0;
}

void wt_det_fini(struct runtime *rt)
{
    wt_free(rt->det.pool);
    rt->det = (struct det){0};
}

uint32_t wt_det_rand(void)
{
    /* splitmix64: a fresh, well-mixed number per call from a counter. */
    uint64_t z = (wt_rt.det.rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

bool wt_det_push(struct fiber *f)
{
    struct det *d = &wt_rt.det;
    if (d->npool == d->cappool) {
        struct fiber **p = wt_realloc(d->pool, 2 * d->cappool * sizeof *p);
        if (!p)
            return false;
        d->pool = p;
        d->cappool *= 2;
    }
    d->pool[d->npool++] = f;
    return true;
}

struct fiber *wt_det_take(void)
{
    struct det *d = &wt_rt.det;
    if (!d->npool)
        return NULL;
    size_t i = (size_t)(((uint64_t)wt_det_rand() * d->npool) >> 32);
    struct fiber *f = d->pool[i];
    d->pool[i] = d->pool[--d->npool];
    d->hash = (d->hash ^ (f->index + 1)) * 0x100000001b3ull; /* FNV-style */
    return f;
}

void wt_det_chaos_point(void)
{
    if (!wt_det_on() || !wt_rt.det.chaos)
        return;
    struct worker *w = wt_worker_self();
    if (w && w->current && (wt_det_rand() & 1))
        weft_yield();
}

void wt_det_advance(int64_t t)
{
    if (t > atomic_load_explicit(&wt_rt.det.vclock, memory_order_relaxed))
        atomic_store_explicit(&wt_rt.det.vclock, t, memory_order_relaxed);
}
