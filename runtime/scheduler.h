/*
 * scheduler.h - the scheduler: which fiber runs next, parking and readying,
 * yielding, and waking idle workers. The design essay is in scheduler.c.
 */
#ifndef WT_SCHEDULER_H
#define WT_SCHEDULER_H

#include <stdbool.h>

struct fiber;
struct worker;
struct runtime;

/* The worker's scheduler loop; returns when the runtime stops. */
void wt_sched_loop(struct worker *w);

/* Run what the context that switched to us left to do (w->after); called
 * first thing by a fiber's entry. */
void wt_sched_landed(struct worker *w);

/* Make @f runnable on @w, the calling worker: it runs next (runnext). */
void wt_sched_ready(struct worker *w, struct fiber *f);
/* Make @f, woken by one of @w's timers, runnable on @w's timer FIFO (taken
 * right after runnext, in the order readied; owner-only, not stealable). */
void wt_sched_ready_timer(struct worker *w, struct fiber *f);
/* Queue a new fiber @f on @w (stealable), or run it at once (work-first). */
void wt_sched_spawn(struct worker *w, struct fiber *f);
/* Queue @f from a plain thread: global queue, then wake a worker. */
void wt_sched_inject(struct runtime *rt, struct fiber *f);

/* Park the running fiber of @w. After it is switched out, @fn(f, @arg) runs
 * on the worker's next context; if it returns false the fiber is readied
 * again at once. Returns the worker the fiber resumed on. */
struct worker *wt_sched_park(struct worker *w, bool (*fn)(struct fiber *f, void *arg), void *arg);

/* Let the other runnable fibers of @w go first. Returns the worker the
 * fiber resumed on. */
struct worker *wt_sched_yield(struct worker *w);

/* Leave the running fiber of @w for good. */
_Noreturn void wt_sched_exit(struct worker *w);

/* A fiber became runnable somewhere: wake an idle worker if none is looking. */
void wt_sched_wake(struct runtime *rt);

/* Wake every idle worker (shutdown). */
void wt_sched_wake_all(struct runtime *rt);

#endif /* WT_SCHEDULER_H */
