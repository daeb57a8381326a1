/*
 * deadlock.c - detect "every fiber is blocked and nothing can wake one",
 * report it as Go does, and abort or fail weft_main.
 *
 * When. The last worker to go idle (nidle == nworkers, nothing visible in
 * any queue) runs the check before it sleeps. It is cheap when the answer
 * is no: a handful of counter loads.
 *
 * What "nothing can wake one" means here, and why there are no false
 * positives within its assumptions:
 *  - every live fiber is blocked in a weft primitive or a join with no
 *    deadline (live == blocked, summed over the per-worker counters);
 *    a fiber waiting on an fd, an offload, a signal or a sleep is not
 *    "blocked" in this sense, so any of them makes live > blocked;
 *  - no worker holds a timer (any entry, even a stale one, defers the
 *    check to when it has fired);
 *  - no plain thread can act: under weft_main exactly one is inside weft,
 *    weft_main's own thread joined on the root fiber; otherwise none. And no
 *    plain thread has ever waited on a primitive, woken a fiber, spawned
 *    (other than the root) or cancelled one in this runtime
 *    (foreign_used): weft cannot see what such a thread will do next, so the
 *    check turns itself off for good. A plain thread that has never touched
 *    weft and will only later wake a fiber is outside what weft can see;
 *    a program that does that sets WEFT_DEADLOCK=off (documented).
 *    weft's own offload threads are exempt (wt_deadlock_mark_internal):
 *    they wake fibers, and run user code that may, only while the fiber
 *    that offloaded waits on them, a wait that keeps live above blocked.
 *  - the counters are read while every worker is idle, each written by its
 *    owner before that owner's seq_cst increment of nidle, which our
 *    seq_cst load of nidle reads; a worker that leaves idle in between
 *    bumps idle_epoch, which we compare before and after.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "deadlock.h"
#include "dump.h"
#include "fiber.h"
#include "fiber_table.h"
#include "os.h"
#include "runtime.h"
#include "worker.h"

enum { REPORT_MAX = 100 };

static const char *const kind_names[] = {
    [WAITK_NONE] = "running",
    [WAITK_SLEEP] = "sleep",
    [WAITK_MUTEX] = "mutex",
    [WAITK_RWLOCK] = "rwlock",
    [WAITK_COND] = "cond",
    [WAITK_SEM] = "semaphore",
    [WAITK_WAITGROUP] = "waitgroup",
    [WAITK_ONCE] = "once",
    [WAITK_BARRIER] = "barrier",
    [WAITK_EVENT] = "event",
    [WAITK_CHAN_SEND] = "chan send",
    [WAITK_CHAN_RECV] = "chan receive",
    [WAITK_SELECT] = "select",
    [WAITK_GROUP] = "group wait",
    [WAITK_FD] = "fd",
    [WAITK_OFFLOAD] = "offload",
    [WAITK_SIGNAL] = "signal",
    [WAITK_JOIN] = "join",
};

const char *wt_wait_kind_name(enum wait_kind kind)
{
    if ((unsigned)kind < sizeof kind_names / sizeof kind_names[0] && kind_names[kind])
        return kind_names[kind];
    return "?";
}

/* Set on weft's own helper threads (deadlock.h). Read only by its thread. */
static _Thread_local bool internal_thread;

void wt_deadlock_mark_internal(void)
{
    internal_thread = true;
}

void wt_deadlock_note_foreign(void)
{
    if (internal_thread)
        return;
    /* Load first: set once, read by every later call on this path. */
    if (!atomic_load_explicit(&wt_rt.foreign_used, memory_order_relaxed))
        atomic_store_explicit(&wt_rt.foreign_used, true, memory_order_seq_cst);
}

/* Under weft_main: is its thread waiting in the join of the root fiber? */
static bool main_thread_waits(struct runtime *rt)
{
    /* Acquire pairs with the release store in weft_main(). */
    uint64_t id = atomic_load_explicit(&rt->main_root, memory_order_acquire);
    struct fiber *root = id ? wt_fiber_lookup(rt->ft, id) : NULL;
    if (!root)
        return false;
    uint64_t s = atomic_load_explicit(&root->sync, memory_order_acquire);
    return wt_fiber_handle(root, s).id == id && (s & FIBER_JOINWAIT) && (s & FIBER_FOREIGN) &&
           !(s & FIBER_EXITED);
}

static bool everyone_blocked(struct runtime *rt)
{
    int n = rt->nworkers;
    if (atomic_load_explicit(&rt->nidle, memory_order_seq_cst) != n ||
        atomic_load_explicit(&rt->foreign_used, memory_order_seq_cst))
        return false;
    uint32_t epoch = atomic_load_explicit(&rt->idle_epoch, memory_order_seq_cst);
    int64_t live = atomic_load_explicit(&rt->foreign_live, memory_order_seq_cst), blocked = 0;
    for (int i = 0; i < n; i++) {
        struct worker *v = &rt->workers[i];
        if (atomic_load_explicit(&v->idle_timer, memory_order_relaxed) >= 0)
            return false;
        live += atomic_load_explicit(&v->live_delta, memory_order_relaxed);
        blocked += atomic_load_explicit(&v->blocked_delta, memory_order_relaxed);
    }
    if (live <= 0 || live != blocked)
        return false;
    int foreign = atomic_load_explicit(&rt->nforeign, memory_order_seq_cst);
    if (rt->main_mode ? foreign != 1 || !main_thread_waits(rt) : foreign != 0)
        return false;
    return atomic_load_explicit(&rt->nidle, memory_order_seq_cst) == n &&
           atomic_load_explicit(&rt->idle_epoch, memory_order_seq_cst) == epoch &&
           !atomic_load_explicit(&rt->foreign_used, memory_order_seq_cst);
}

struct report {
    struct runtime *rt;
    int64_t now;
    size_t shown, total;
};

static void report_one(struct fiber *f, void *arg)
{
    struct report *r = arg;
    uint64_t s = atomic_load_explicit(&f->sync, memory_order_acquire);
    if (s & (FIBER_FREE | FIBER_EXITED))
        return;
    if (r->shown++ < REPORT_MAX)
        wt_dump_fiber(stderr, r->rt, f, r->now);
    r->total++;
}

static void report(struct runtime *rt)
{
    struct report r = {.rt = rt, .now = wt_os_now()};
    flockfile(stderr);
    fputs("weft: all fibers are asleep - deadlock!\n\n", stderr);
    wt_fiber_table_each(rt->ft, report_one, &r);
    if (r.total > REPORT_MAX)
        fprintf(stderr, "... and %zu more fibers\n", r.total - REPORT_MAX);
    fputc('\n', stderr);
    funlockfile(stderr);
    fflush(stderr);
}

void wt_deadlock_check(struct worker *w)
{
    struct runtime *rt = w->rt;
    if (atomic_load_explicit(&rt->nidle, memory_order_relaxed) != rt->nworkers)
        return;
    if (atomic_exchange_explicit(&rt->checking, true, memory_order_acquire))
        return;
    /* cfg.deadlock is written below, only under `checking`. */
    bool dead = rt->cfg.deadlock != WEFT_DEADLOCK_OFF && everyone_blocked(rt);
    if (dead) {
        report(rt);
        if (rt->cfg.deadlock == WEFT_DEADLOCK_ABORT)
            abort();
        /* ERROR: fail weft_main's join of the root (which clears the
         * condition, so this fires once); without weft_main, stop looking. */
        uint64_t id = atomic_load_explicit(&rt->main_root, memory_order_acquire);
        struct fiber *root = rt->main_mode && id ? wt_fiber_lookup(rt->ft, id) : NULL;
        if (root)
            wt_fiber_fail_foreign_join(root, -EDEADLK);
        else
            rt->cfg.deadlock = WEFT_DEADLOCK_OFF;
    }
    /* Release pairs with the acquire exchange above. */
    atomic_store_explicit(&rt->checking, false, memory_order_release);
}
