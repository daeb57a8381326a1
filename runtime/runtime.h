/*
 * runtime.h - the one runtime of the process: its workers, queues, tables
 * and the counters of the idle protocol. The struct is static, so that a
 * plain thread racing weft_shutdown() reads valid memory; what it points to
 * lives from weft_init() to weft_shutdown().
 */
#ifndef WT_RUNTIME_H
#define WT_RUNTIME_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "cpu.h"
#include "fiber_table.h"
#include "global_queue.h"
#include "stack.h"

struct worker;
struct wt_topology;
struct fiber;

/* The deterministic schedule's state (detsched.c); `on` is read-mostly. */
struct det {
    bool on, chaos;
    uint64_t seed;
    uint64_t rng;           /* the one generator: owner worker only */
    _Atomic int64_t vclock; /* virtual monotonic time, ns */
    uint64_t hash;          /* of the sequence of picks, for tests */
    struct fiber **pool;    /* runnable fibers, picked at random */
    size_t npool, cappool;
};

enum rt_state {
    RT_STOPPED = 0,
    RT_STARTING,
    RT_RUNNING,
    RT_STOPPING,
};

struct runtime {
    /* Read on hot paths, written only by weft_init and weft_shutdown. */
    _Atomic int state; /* enum rt_state; seq_cst */
    struct wt_config cfg;
    struct det det;
    int nworkers;
    struct worker *workers;
    struct wt_topology *topo;
    struct fiber_table *ft;
    struct stack_global stacks;

    /* Written by plain threads entering API calls (see runtime.c). */
    alignas(WT_CACHE_LINE) _Atomic int nforeign;
    /* The deadlock detector's view of plain threads (deadlock.c). */
    _Atomic int64_t foreign_live; /* fibers spawned by plain threads, minus none */
    _Atomic bool foreign_used;    /* a plain thread other than weft_main's waited or woke */
    _Atomic bool checking;        /* a deadlock check is running */
    bool main_mode;               /* started by weft_main: its thread waits in one join */
    bool monitor_on;              /* the monitor thread runs (monitor.c) */
    _Atomic uint64_t main_root;   /* weft_main's root fiber handle; 0 before it exists */

    /* The idle protocol (scheduler.c), written whenever a worker spins,
     * idles or wakes: on a line of its own, so that those writes do not
     * evict the fields above from every worker's cache. */
    alignas(WT_CACHE_LINE) _Atomic uint32_t idle_seq; /* futex word idle workers sleep on */
    _Atomic int nidle;                                /* workers in idle() */
    _Atomic int nspinning;                            /* workers looking for work to steal */
    _Atomic bool waking;                              /* a wake-up is in flight */
    _Atomic uint32_t idle_epoch;                      /* idle() exits, for the deadlock check */

    /* Counters bumped by threads other than a worker (stats.h). */
    alignas(WT_CACHE_LINE) struct {
        _Atomic uint64_t spawns, wakeups, offloads, polls;
    } shared_stats;

    /* Written by every injection from a plain thread. */
    alignas(WT_CACHE_LINE) struct global_queue gq;
};

extern struct runtime wt_rt;

static inline bool wt_rt_running(void)
{
    return atomic_load_explicit(&wt_rt.state, memory_order_seq_cst) == RT_RUNNING;
}

/* Bracket an API call made by a plain thread, so that weft_shutdown() waits
 * for it before freeing what it uses. enter returns -ECANCELED if the
 * runtime is not running (and then the call must not leave). */
int wt_foreign_enter(void);
void wt_foreign_leave(void);

#endif /* WT_RUNTIME_H */
