/*
 * scheduler.c - which fiber runs next, and how idle workers find work and sleep.
 *
 * Queues. Each worker owns a Chase-Lev deque (deque.c): it pushes and pops
 * at the bottom (LIFO, so a just-spawned fiber runs next, hot in cache) and
 * thieves steal from the top (the oldest work, usually the biggest subtree).
 * Beside it sit a `runnext` slot for a just-woken fiber (ping-pong locality,
 * as Go's runnext and Tokio's LIFO slot) and a FIFO of fibers that yielded,
 * both owner-only. Plain threads inject into the global queue.
 *
 * Fairness. A LIFO deque can starve its oldest entries and a pair of fibers
 * waking each other through runnext can starve everything else, so every
 * 61st pick (Go's number) looks first at the global queue, and every 64th
 * of those steals the oldest entry of the worker's own deque; half-way
 * between, a pick looks first at the yield FIFO (its own tick, so that two
 * yielders cannot starve the global queue). Any runnable fiber is therefore picked within a bounded
 * number of picks. The own-top steal is rare on purpose: starting the oldest (biggest) subtree
 * early breaks the depth-first order that keeps a fork-join program's live stacks few (fib(30) on
 * one worker held 23,000 stacks with it at every 61st pick, a few dozen without). Yielders go
 * behind everything local, unless some worker is idle: then the yielder goes through the global
 * queue, where the idle one can take it (it is woken), as Go's Gosched always does.
 *
 * Switching. A fiber that parks, yields or exits switches straight to the
 * next local fiber when there is one, or to its worker's scheduler context
 * (the thread's own stack) otherwise. What must happen once the old context
 * is saved (publish a parked fiber to whatever may wake it, release a dead
 * fiber's stack) is recorded in w->after and run by whichever context lands
 * next (run_after()). Doing it before the switch would let another worker
 * resume a fiber whose registers are still being saved. This is Go's
 * gopark(unlockf) and Argobots' switch-with-call. Every switch passes the
 * worker along and the landing side takes it from the switch's result, never
 * from a thread-local read made before the switch (PLATFORM.md).
 *
 * Idle protocol. A worker with nothing local steals: it becomes "spinning"
 * (at most half the busy workers spin, as in Go), tries every victim in
 * random order a few times and the global queue, then goes idle: it counts
 * itself in nidle, stops spinning, re-checks every queue and sleeps on the
 * futex word idle_seq (with a timeout at its earliest timer). A producer
 * makes work visible, then calls wt_sched_wake(): if no worker spins and
 * one is idle, it bumps idle_seq and wakes one. The `waking` flag keeps a
 * burst of spawns from issuing a futex call each; every worker clears it
 * when it enters idle (after reading idle_seq) and when it leaves, each
 * time before it looks for work.
 *
 * No lost wake-up: (1) global queue - the producer's seq_cst RMW of
 * gq.size precedes its seq_cst loads of nspinning, nidle and waking; the
 * idler's seq_cst RMWs of nidle and nspinning (and the wakee's store to
 * waking) precede its seq_cst re-check of gq.size. In the single total order
 * of seq_cst operations one of the two sees the other (store-buffering is
 * forbidden), so either the producer wakes someone or the idler sees the
 * work. (2) A deque is pushed only by its owner, which cannot be idle while
 * its own deque holds work; so a local push needs no barrier for liveness,
 * only for parallelism, and the release store in the push is enough there.
 * (3) Timers belong to their worker, which sleeps no later than the earliest.
 * The same argument is checked by spin in tests/model/idle.pml (two
 * planted bugs there show what it catches).
 *
 * The netpoller (netpoll.c; Go's findrunnable/netpoll is the model). There
 * is no poller thread: fibers parked on fds are readied by whichever worker
 * polls, on its own runnext and deque. A worker that finds no local or
 * global work polls without blocking before it steals, and a busy one polls
 * on its fairness tick, so readiness is seen on a machine that never idles.
 * An idle worker that finds fibers waiting on fds (netpoll's nwaiters) takes
 * the one blocking-poll slot (netpoll's `blocked`), if no other worker holds
 * it, and sleeps in epoll_wait (timeout: its earliest timer) instead of on
 * the futex; the others sleep on the futex as before. No poll happens while
 * another worker is blocked in the poller, and none at all (not one system
 * call) while no fiber waits on an fd. The slot holder readies what it found
 * only once it has left idle, so that its own wake-ups do not aim at itself.
 * wt_sched_wake reaches that worker too: when the one idle worker it counted
 * may be the slot holder, it writes the poller's eventfd instead of a futex
 * wake (wt_netpoll_interrupt, coalesced by a pending flag).
 *
 * (4) A wake-up reaches the poller. The slot holder P takes the slot
 * (seq_cst CAS) after its nidle++ and before its re-check of the queues. If
 * that re-check misses the producer's work, P's nidle++ and CAS precede, in
 * the total order, the producer's loads of nidle and `blocked`: the producer
 * sees P counted and the slot held. If it counted one idle worker, it writes
 * the eventfd and P returns (the eventfd stays readable until a blocking
 * wait drains it, so a write that lands before P blocks still wakes it). If
 * it counted two or more, one of them, X, is not P, and as in (1) X sleeps
 * with a stale idle_seq (so the bump or the futex wake reaches it) or is on
 * its way out of idle, and looks for work after the producer's publication.
 * A stale count the other way (it counted only X, and P took the slot
 * since) wakes P instead of X, which finds the work all the same. The
 * pending flag is set by the waker after it publishes and cleared by the
 * drainer before it looks for work, so a wake it suppresses is one whose
 * wakee has yet to look. (On kqueue a non-blocking poll may consume a wake
 * meant for P; the worker that did so is running and looks for work itself:
 * it costs parallelism, not liveness.)
 *
 * (5) No readiness is left unpolled. A fiber counts itself in nwaiters
 * (seq_cst) before it queues on a pd and parks on worker V. When V next goes
 * idle it sees the count (same thread) and takes the slot, or finds it held
 * by P, which is blocked in the poller (and gets the event) or is leaving;
 * then P's release of the slot follows V's failed CAS, so P's next poll
 * before stealing, or its next idle round, sees the count too and polls.
 * While every worker stays busy, the fairness-tick poll finds the event.
 * (An edge between a fiber's failed syscall and its queueing: netpoll.c.)
 */
#include <errno.h>
#include <sched.h>

#include "deadlock.h"
#include "debug.h"
#include "deque.h"
#include "detsched.h"
#include "fiber.h"
#include "netpoll.h"
#include "os.h"
#include "overflow.h"
#include "runtime.h"
#include "scheduler.h"
#include "trace.h"
#include "wait.h"
#include "worker.h"

enum {
    FAIRNESS_TICK = 61,
    OLDEST_ROUNDS = 64, /* own-top steal every 64th tick: it breaks depth-first order */
    STEAL_ROUNDS = 4,
};

static inline bool stopping(const struct runtime *rt)
{
    return atomic_load_explicit(&rt->state, memory_order_relaxed) >= RT_STOPPING;
}

static uint32_t rng_next(struct worker *w)
{
    /* xorshift64*: owner-only state, good enough to spread victims. */
    uint64_t x = w->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    w->rng = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
}

static void yieldq_push(struct worker *w, struct fiber *f)
{
    f->next = NULL;
    if (w->yield_tail)
        w->yield_tail->next = f;
    else
        w->yield_head = f;
    w->yield_tail = f;
}

static struct fiber *yieldq_pop(struct worker *w)
{
    struct fiber *f = w->yield_head;
    if (f) {
        w->yield_head = f->next;
        if (!w->yield_head)
            w->yield_tail = NULL;
    }
    return f;
}

/* Push on the owner's deque; if it cannot grow, the global queue takes it. */
static void push_local(struct worker *w, struct fiber *f)
{
    if (WT_UNLIKELY(wt_deque_push(&w->runq, f) != 0))
        wt_gq_push(&w->rt->gq, f);
}

/* Fire the expired timers: the timers give them earliest first and their
 * fibers go onto the worker's timer FIFO, which pick_local() takes right
 * after runnext, so timer-woken fibers run in deadline order (a LIFO deque
 * would reverse each batch). Owner-only, like the timers. */
static void fire_timers(struct worker *w)
{
    struct timer_entry *e;
    size_t n = wt_timer_pop_all_expired(&w->timers, wt_now(), &e);
    for (size_t i = 0; i < n; i++)
        if (wt_wait_fire_timer(w, e[i].f, e[i].key)) /* readies it unless the entry is stale */
            WT_STAT(w, timers_fired);
}

static struct fiber *timerq_pop(struct worker *w)
{
    struct fiber *f = w->timer_head;
    if (f) {
        w->timer_head = f->next;
        if (!w->timer_head)
            w->timer_tail = NULL;
    }
    return f;
}

/* Take a fiber from the global queue; if more wait there, pass the word
 * on to an idle worker (a burst of spawns from a plain thread issues one
 * wake-up, see `waking`, so each taker wakes the next). */
static struct fiber *take_global(struct worker *w)
{
    struct fiber *f = wt_gq_pop(&w->rt->gq);
    if (f && !wt_gq_is_empty(&w->rt->gq))
        wt_sched_wake(w->rt);
    return f;
}

/* The next local fiber, in the order the essay above gives. Owner only. */
/* Under a deterministic schedule: every runnable fiber goes into the pool
 * (detsched.c), whichever queue it was put on, and the next one is drawn
 * from it at random. One worker, so nobody steals from those queues. */
static struct fiber *pick_det(struct worker *w)
{
    struct fiber *f;
    if (w->timers.n)
        fire_timers(w);
    if ((f = w->runnext)) {
        w->runnext = NULL;
        if (!wt_det_push(f))
            return f;
    }
    while ((f = timerq_pop(w)) || (f = wt_deque_pop(&w->runq)) || (f = yieldq_pop(w)) ||
           (f = wt_gq_pop(&w->rt->gq)))
        if (!wt_det_push(f))
            return f; /* no room: run it now, still the same every time */
    return wt_det_take();
}

static struct fiber *pick_local(struct worker *w)
{
    struct fiber *f;
    if (WT_UNLIKELY(wt_det_on()))
        return pick_det(w);
    if (w->timers.n)
        fire_timers(w);
    /* A counter that wraps at FAIRNESS_TICK, not a modulo: a division on
     * every pick cost ~5% of a yield. */
    uint32_t phase = ++w->tick;
    if (WT_UNLIKELY(phase == FAIRNESS_TICK)) {
        w->tick = 0;
        /* A busy worker sees I/O too (the essay, (5)). */
        wt_trace_poll(w, wt_netpoll_poll(w), false);
        if ((f = take_global(w)))
            return f;
        if (++w->fair_rounds % OLDEST_ROUNDS == 0 && (f = wt_deque_steal(&w->runq)))
            return f;
    } else if (WT_UNLIKELY(phase == FAIRNESS_TICK / 2) && (f = yieldq_pop(w))) {
        return f; /* on its own tick: yielders must not starve the global queue */
    }
    if ((f = w->runnext)) {
        w->runnext = NULL;
        return f;
    }
    if ((f = timerq_pop(w)))
        return f;
    if ((f = wt_deque_pop(&w->runq)))
        return f;
    return yieldq_pop(w);
}

/* Give @f its stack on first run. If none can be had, @f ends at once with
 * -ENOMEM for its joiner, and false tells the caller to pick another. */
static bool bind_stack(struct worker *w, struct fiber *f)
{
    struct stack *s = wt_stack_get(&w->rt->stacks, &w->stacks, f->stack_size);
    if (WT_UNLIKELY(!s)) {
        /* Relaxed: published by the acq_rel EXITED fetch_or that follows. */
        atomic_fetch_or_explicit(&f->sync, FIBER_NOSTACK, memory_order_relaxed);
        wt_fiber_finish_exit(w, f);
        return false;
    }
    f->stack = s;
    char *top = s->lo + s->size - WEFT_KEYS_MAX * sizeof(void *);
    f->fls_used = false;
    wt_context_init(&f->ctx, top, wt_fiber_main);
    wt_san_fiber_init(&f->san, s->lo, s->size);
    wt_trace(w, TRACE_FIRST, f, 0);
    return true;
}

static struct fiber *pick_runnable(struct worker *w)
{
    for (;;) {
        struct fiber *f = pick_local(w);
        if (!f || WT_LIKELY(f->stack != NULL) || bind_stack(w, f))
            return f;
    }
}

/* Run the action the context we just left recorded (see the essay). */
static void run_after(struct worker *w)
{
    struct after *a = &w->after;
    enum after_kind kind = a->kind;
    if (kind == AFTER_NONE)
        return;
    /* Reset first: the actions below may ready fibers but never switch. */
    a->kind = AFTER_NONE;
    switch (kind) {
    case AFTER_NONE:
        break;
    case AFTER_PARK:
        if (!a->park_fn(a->f, a->park_arg))
            wt_sched_ready(w, a->f);
        break;
    case AFTER_EXIT:
        wt_san_fiber_fini(&a->dead_san);
        wt_stack_put(&w->rt->stacks, &w->stacks, a->dead_stack);
        if (a->f)
            wt_fiber_release(w->rt->ft, &w->fibers, a->f);
        break;
    case AFTER_PUSH:
        push_local(w, a->f);
        wt_sched_wake(w->rt);
        break;
    case AFTER_INJECT:
        wt_sched_inject(w->rt, a->f);
        break;
    }
}

void wt_sched_landed(struct worker *w)
{
    run_after(w);
}

/* Record @next as @w's running fiber, for the scheduler and, through
 * w->running and the switch counter, for readers on other threads (the
 * stall detector, weft_dump, weft_stats). */
static inline void set_current(struct worker *w, struct fiber *next)
{
    w->current = next;
    /* Release: a reader that loads it with acquire (monitor, dump) may read
     * the fiber's name and number, written before it was queued. */
    atomic_store_explicit(&w->running, next, memory_order_release);
    if (next)
        WT_STAT(w, switches);
    wt_trace(w, TRACE_RUN, next, 0);
}

/* Switch from @cur (NULL: the scheduler context) to @next (NULL: the
 * scheduler context). Returns the worker the caller resumes on. */
static struct worker *switch_to(struct worker *w, struct fiber *cur, struct fiber *next, bool dying)
{
    struct wt_context *from = cur ? &cur->ctx : &w->sched_ctx;
    struct wt_san *from_san = cur ? &cur->san : &w->sched_san;
    struct wt_context *to = next ? &next->ctx : &w->sched_ctx;
    struct wt_san *to_san = next ? &next->san : &w->sched_san;
    if (cur && WT_UNLIKELY(wt_stack_needs_canary_check(cur->stack)) &&
        !wt_stack_canary_ok(cur->stack))
        wt_overflow_report(cur, "its stack canary was overwritten");
    set_current(w, next);
    wt_san_switch(from_san, to_san, dying);
    w = wt_context_switch(from, to, w);
    /* From here on we may be on another thread: only the result names it. */
    wt_san_landed(from_san);
    run_after(w);
    return w;
}

/* Leave the running fiber for the next local one, or the scheduler loop. */
static struct worker *leave(struct worker *w, struct fiber *cur, bool dying)
{
    struct fiber *next = WT_UNLIKELY(stopping(w->rt)) ? NULL : pick_runnable(w);
    return switch_to(w, cur, next, dying);
}

void wt_sched_ready_timer(struct worker *w, struct fiber *f)
{
    WT_STAT(w, wakeups);
    f->next = NULL;
    if (w->timer_tail)
        w->timer_tail->next = f;
    else
        w->timer_head = f;
    w->timer_tail = f;
}

void wt_sched_ready(struct worker *w, struct fiber *f)
{
    WT_STAT(w, wakeups);
    wt_trace(w, TRACE_WAKE, f, 0);
    struct fiber *old = w->runnext;
    w->runnext = f;
    if (old) {
        push_local(w, old);
        wt_sched_wake(w->rt);
    }
}

void wt_sched_spawn(struct worker *w, struct fiber *f)
{
    wt_trace(w, TRACE_SPAWN, f, 0);
    struct fiber *cur = w->current;
    if (w->rt->cfg.spawn == SPAWN_WORK_FIRST && cur) {
        if (!bind_stack(w, f))
            return;
        w->after = (struct after){.kind = AFTER_PUSH, .f = cur};
        switch_to(w, cur, f, false);
        return;
    }
    push_local(w, f);
    wt_sched_wake(w->rt);
}

void wt_sched_inject(struct runtime *rt, struct fiber *f)
{
    wt_gq_push(&rt->gq, f);
    wt_sched_wake(rt);
}

struct worker *wt_sched_park(struct worker *w, bool (*fn)(struct fiber *f, void *arg), void *arg)
{
    struct fiber *cur = w->current;
    WT_ASSERT(cur != NULL);
    WT_STAT(w, parks);
    wt_trace(w, TRACE_PARK, cur, 0);
    w->after = (struct after){.kind = AFTER_PARK, .f = cur, .park_fn = fn, .park_arg = arg};
    return leave(w, cur, false);
}

struct worker *wt_sched_yield(struct worker *w)
{
    struct fiber *cur = w->current;
    if (WT_UNLIKELY(stopping(w->rt)))
        return switch_to(w, cur, NULL, false); /* abandoned: never resumed */
    if (atomic_load_explicit(&w->rt->nidle, memory_order_relaxed) > 0) {
        /* Someone is idle: yield through the global queue, where they can
         * take us (Go's Gosched does so always). After the switch, since
         * another worker may take cur as soon as it is there. */
        w->after = (struct after){.kind = AFTER_INJECT, .f = cur};
        return leave(w, cur, false);
    }
    struct fiber *next = pick_runnable(w);
    if (!next)
        return w; /* nothing else to run here: carry on */
    /* Owner-only FIFO: nobody can take cur before the switch saves it. */
    yieldq_push(w, cur);
    return switch_to(w, cur, next, false);
}

/*
 * A dying fiber publishes its exit before it switches away, so that its
 * joiner, readied into runnext, is the very fiber we switch to: one switch
 * per exit instead of two through the scheduler context. That is safe
 * because runnext is owner-only (nobody can run the joiner before we leave)
 * and because, once published, the fiber struct is never touched again: its
 * registers go to w->dead_ctx, and its stack and sanitizer state travel in
 * the after-action, which releases the stack once we are off it.
 */
_Noreturn void wt_sched_exit(struct worker *w)
{
    struct fiber *cur = w->current;
    if (WT_UNLIKELY(wt_stack_needs_canary_check(cur->stack)) && !wt_stack_canary_ok(cur->stack))
        wt_overflow_report(cur, "its stack canary was overwritten");
    w->after = (struct after){.kind = AFTER_EXIT, .dead_stack = cur->stack, .dead_san = cur->san};
    cur->stack = NULL;
    if (wt_fiber_publish_exit(w, cur))
        w->after.f = cur; /* detached: ours to release, after the switch */
    struct fiber *next = WT_UNLIKELY(stopping(w->rt)) ? NULL : pick_runnable(w);
    struct wt_san *to_san = next ? &next->san : &w->sched_san;
    set_current(w, next);
    wt_san_switch(&w->dead_san, to_san, true);
    wt_context_switch(&w->dead_ctx, next ? &next->ctx : &w->sched_ctx, w);
    wt_fatal(__FILE__, __LINE__, "a dead fiber was resumed");
}

void wt_sched_wake(struct runtime *rt)
{
    /* seq_cst loads: the load half of the Dekker pair in the essay. */
    if (atomic_load_explicit(&rt->nspinning, memory_order_seq_cst) != 0)
        return;
    int idlers = atomic_load_explicit(&rt->nidle, memory_order_seq_cst);
    if (idlers == 0)
        return;
    if (atomic_exchange_explicit(&rt->waking, true, memory_order_seq_cst))
        return; /* a wake-up is already on its way; its wakee will look */
    atomic_fetch_add_explicit(&rt->idle_seq, 1, memory_order_seq_cst);
    /* If the one idle worker counted may be blocked in the poller, only its
     * eventfd reaches it (the essay, (4)). */
    if (idlers == 1 && wt_netpoll_blocked())
        wt_netpoll_interrupt();
    else
        wt_os_wake(&rt->idle_seq, 1);
}

void wt_sched_wake_all(struct runtime *rt)
{
    atomic_fetch_add_explicit(&rt->idle_seq, 1, memory_order_seq_cst);
    wt_os_wake(&rt->idle_seq, INT32_MAX);
    wt_netpoll_interrupt(); /* and the one blocked in the poller, if any */
}

static void stop_spinning(struct worker *w)
{
    w->spinning = false;
    /* The last spinner found work: there may be more, so hand the search
     * to another idle worker (Go's resetspinning). */
    if (atomic_fetch_sub_explicit(&w->rt->nspinning, 1, memory_order_seq_cst) == 1)
        wt_sched_wake(w->rt);
}

static struct fiber *steal_work(struct worker *w)
{
    struct runtime *rt = w->rt;
    int n = rt->nworkers;
    if (n == 1)
        return NULL;
    if (!w->spinning) {
        int spinning = atomic_load_explicit(&rt->nspinning, memory_order_relaxed);
        int idle = atomic_load_explicit(&rt->nidle, memory_order_relaxed);
        if (2 * spinning >= n - idle)
            return NULL;
        w->spinning = true;
        atomic_fetch_add_explicit(&rt->nspinning, 1, memory_order_seq_cst);
    }
    for (int round = 0; round < STEAL_ROUNDS && !stopping(rt); round++) {
        int start = (int)(rng_next(w) % (uint32_t)n);
        for (int i = 0; i < n; i++) {
            struct worker *v = &rt->workers[(start + i) % n];
            if (v == w)
                continue;
            WT_STAT(w, steal_attempts);
            struct fiber *f = wt_deque_steal(&v->runq);
            if (f) {
                WT_STAT(w, steals);
                wt_trace(w, TRACE_STEAL, f, (unsigned)v->index);
                return f;
            }
        }
        WT_STAT(w, steal_attempts);
        struct fiber *f = take_global(w);
        if (f) {
            WT_STAT(w, steals);
            return f;
        }
        for (int k = 0; k < 64; k++)
            wt_cpu_relax();
    }
    return NULL;
}

/* Is there work any worker could take? seq_cst loads: the idle re-check. */
static bool work_visible(struct runtime *rt)
{
    if (!wt_gq_is_empty(&rt->gq))
        return true;
    for (int i = 0; i < rt->nworkers; i++)
        if (!wt_deque_is_empty(&rt->workers[i].runq))
            return true;
    return false;
}

static void idle(struct worker *w)
{
    struct runtime *rt = w->rt;
    if (WT_UNLIKELY(wt_det_on())) {
        /* Deterministic schedule: nothing can run, so time jumps to the
         * next timer instead of passing (the virtual clock). */
        int64_t next = wt_timer_next(&w->timers);
        if (next >= 0) {
            /* A plain thread that has used weft may act any moment: give it
             * a real millisecond before time jumps over its chance. */
            if (atomic_load_explicit(&rt->foreign_used, memory_order_seq_cst)) {
                uint32_t s = atomic_load_explicit(&rt->idle_seq, memory_order_seq_cst);
                if (!work_visible(rt))
                    wt_os_wait(&rt->idle_seq, s, wt_os_now() + 1000000);
                if (work_visible(rt))
                    return;
            }
            wt_det_advance(next);
            return;
        }
    }
    uint32_t seq = atomic_load_explicit(&rt->idle_seq, memory_order_seq_cst);
    /* Relaxed: published to the deadlock check by the nidle RMW below. */
    atomic_store_explicit(&w->idle_timer, wt_timer_next(&w->timers), memory_order_relaxed);
    atomic_fetch_add_explicit(&rt->nidle, 1, memory_order_seq_cst);
    if (w->spinning) {
        w->spinning = false;
        atomic_fetch_sub_explicit(&rt->nspinning, 1, memory_order_seq_cst);
    }
    /* A wake-up issued before we read idle_seq cannot reach us, and may
     * have reached nobody: clear its flag, or it could stay set with every
     * worker asleep and silence all later wakes. Clearing only allows more
     * wake-ups, and our re-check below comes after it. */
    atomic_store_explicit(&rt->waking, false, memory_order_seq_cst);
    /* The blocking-poll slot, if fibers wait on fds: taken after nidle++
     * and before the re-check (the essay, (4) and (5)). */
    bool poller = wt_netpoll_claim();
    struct waiter *ready = NULL;
    if (!work_visible(rt) && !stopping(rt)) {
        wt_stack_trim(&rt->stacks, &w->stacks);
        wt_deadlock_check(w);
        WT_STAT(w, idle_sleeps);
        if (poller)
            ready = wt_netpoll_block(w, wt_timer_next(&w->timers));
        else
            wt_os_wait(&rt->idle_seq, seq, wt_timer_next(&w->timers));
    }
    if (poller)
        wt_netpoll_unclaim();
    wt_trace_poll(w, ready != NULL, true);
    atomic_fetch_add_explicit(&rt->idle_epoch, 1, memory_order_seq_cst);
    atomic_fetch_sub_explicit(&rt->nidle, 1, memory_order_seq_cst);
    /* Before looking for work, so that a waker that saw waking set and
     * left it to us is seen (the essay's argument (1)). */
    atomic_store_explicit(&rt->waking, false, memory_order_seq_cst);
    wt_netpoll_finish(ready); /* what the poller found runs here, now we are not idle */
}

void wt_sched_loop(struct worker *w)
{
    struct runtime *rt = w->rt;
    while (!stopping(rt)) {
        struct fiber *f = pick_runnable(w);
        if (!f) {
            f = take_global(w);
            /* Fibers whose fds are ready, before stealing (Go's order);
             * they are readied here, so pick again. Never spinning here:
             * steal_work's spinning ends in stop_spinning or idle. */
            if (!f && !w->spinning && wt_trace_poll(w, wt_netpoll_poll(w), false))
                continue;
            if (!f)
                f = steal_work(w);
            if (f && w->spinning)
                stop_spinning(w);
            if (f && !f->stack && !bind_stack(w, f))
                continue;
        }
        if (f)
            switch_to(w, NULL, f, false);
        else
            idle(w);
    }
    if (w->spinning) {
        w->spinning = false;
        atomic_fetch_sub_explicit(&rt->nspinning, 1, memory_order_seq_cst);
    }
}
