/*
 * worker.h - one OS thread per core, pinned, running the scheduler loop.
 * Fields are grouped by who may touch them.
 */
#ifndef WT_WORKER_H
#define WT_WORKER_H

#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>

#include "context.h"
#include "cpu.h"
#include "deque.h"
#include "fiber_table.h"
#include "sanitizer.h"
#include "stack.h"
#include "stats.h"
#include "timer.h"

struct fiber;
struct runtime;

/* What the context we switch to must do for the one we leave, once the
 * leaving context is fully saved (see scheduler.c, "after the switch"). */
enum after_kind {
    AFTER_NONE,
    AFTER_PARK,   /* run park_fn(fiber, park_arg); if false, ready the fiber again */
    AFTER_EXIT,   /* a fiber died: release dead_stack (and f, if detached) */
    AFTER_PUSH,   /* make the fiber runnable (work-first spawn's parent) */
    AFTER_INJECT, /* put the fiber on the global queue (a yield with idle workers) */
};

struct after {
    enum after_kind kind;
    struct fiber *f;          /* AFTER_EXIT: NULL unless detached (ours to release) */
    struct stack *dead_stack; /* AFTER_EXIT: the dead fiber's stack */
    struct wt_san dead_san;   /* AFTER_EXIT: its sanitizer state */
    bool (*park_fn)(struct fiber *f, void *arg);
    void *park_arg;
};

struct worker {
    /* Owner-only: this worker's thread alone reads and writes these. */
    struct fiber *current;       /* running fiber; NULL in the scheduler loop */
    struct wt_context sched_ctx; /* the scheduler loop's context */
    struct wt_san sched_san;
    struct wt_context dead_ctx; /* where a dying fiber's registers go */
    struct wt_san dead_san;
    struct after after;                    /* pending action for the next context to land */
    struct fiber *runnext;                 /* a just-woken fiber runs next; not stealable */
    struct fiber *yield_head, *yield_tail; /* FIFO of yielders, not stealable */
    struct fiber *timer_head, *timer_tail; /* FIFO of timer-woken fibers, deadline order */
    uint64_t rng;                          /* victim choice in steal_work() */
    uint32_t tick;                         /* picks since the last fairness tick */
    uint32_t fair_rounds;                  /* fairness ticks so far */
    bool spinning;                         /* counted in rt->nspinning */
    int index;
    struct runtime *rt;
    struct timer_heap timers;
    struct stack_pool stacks;
    struct fiber_cache fibers;
    pthread_t thread;
    void *altstack; /* SIGSEGV handler stack */

    /* Written by the owner only (relaxed load + store), read by the
     * deadlock check while every worker is idle (deadlock.c). Deltas: a
     * fiber may be counted up here and down on another worker. */
    _Atomic int64_t live_delta;    /* fibers spawned here minus fibers that ended here */
    _Atomic int64_t blocked_delta; /* fibers that began a deadlock-prone block here, minus ends */
    _Atomic int64_t idle_timer;    /* earliest timer while idle, -1: none */

    /* Owner-written, read by weft_stats, schedtrace, the stall detector and
     * weft_dump from any thread (relaxed). */
    struct wt_stats stats;
    _Atomic(struct fiber *) running; /* w->current for the readers above (release) */

    /* Shared: thieves steal from runq (deque.c has the ordering argument). */
    alignas(WT_CACHE_LINE) struct deque runq;
};

/* The worker the calling thread is, or NULL on a plain thread. Not inlined
 * and re-read after every switch: a fiber may resume on another thread, and
 * a compiler may cache a thread-local's address across the switch. */
struct worker *wt_worker_self(void);

/* Start @w's thread / wait for it to end. */
int wt_worker_start(struct worker *w);
void wt_worker_join(struct worker *w);

#endif /* WT_WORKER_H */
