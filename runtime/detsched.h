/*
 * detsched.h - the deterministic schedule (WEFT_SCHED=seed:N / chaos:N):
 * one worker, every choice of "which runnable fiber next" and of select's
 * case order drawn from one seeded generator, a virtual clock that jumps to
 * the next timer when nothing is runnable, and (chaos) yields injected at
 * the points where fibers race: before a park, at channel operations, at
 * spawns. The same seed replays the same interleaving, as long as no plain
 * thread and no fd readiness feeds the runtime (those come from outside).
 */
#ifndef WT_DETSCHED_H
#define WT_DETSCHED_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "os.h"
#include "runtime.h"

struct fiber;
struct worker;

/* Is the runtime on a deterministic schedule? (read-mostly, set at init) */
static inline bool wt_det_on(void)
{
    return __builtin_expect(wt_rt.det.on, 0);
}

/* The clock deadlines are measured on: virtual under a deterministic
 * schedule, CLOCK_MONOTONIC otherwise. */
static inline int64_t wt_now(void)
{
    if (wt_det_on())
        return atomic_load_explicit(&wt_rt.det.vclock, memory_order_relaxed);
    return wt_os_now();
}

/* Set up @rt's deterministic state from its config; 0 or -ENOMEM. */
int wt_det_init(struct runtime *rt);
void wt_det_fini(struct runtime *rt);

/* The next number of the seeded generator (owner worker only). */
uint32_t wt_det_rand(void);

/* Add @f to the pool; false if it could not grow (the caller queues @f the
 * ordinary way, still deterministic, just not shuffled). */
bool wt_det_push(struct fiber *f);
/* Take a uniformly random fiber from the pool, or NULL if empty. */
struct fiber *wt_det_take(void);

/* chaos: yield the calling fiber with probability 1/2 (no lock may be held). */
void wt_det_chaos_point(void);

/* Jump the virtual clock to @t if that is later. */
void wt_det_advance(int64_t t);

#endif /* WT_DETSCHED_H */
