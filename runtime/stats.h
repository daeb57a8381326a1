/*
 * stats.h - the scheduler's counters: one set per worker, on the worker's
 * own lines, written only by that worker (a relaxed load and store: one
 * writer, so no RMW is needed) and summed by weft_stats() and schedtrace.
 * Counters bumped by threads that are not the owner (offload threads) live
 * in the runtime and use a relaxed RMW. -Dstats=false compiles them out.
 */
#ifndef WT_STATS_H
#define WT_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "wt_config.h"

struct wt_stats {
    _Atomic uint64_t spawns;
    _Atomic uint64_t switches; /* also the stall detector's progress mark */
    _Atomic uint64_t steal_attempts;
    _Atomic uint64_t steals;
    _Atomic uint64_t parks;
    _Atomic uint64_t wakeups;
    _Atomic uint64_t polls;
    _Atomic uint64_t timers_fired;
    _Atomic uint64_t idle_sleeps;
};

/* Owner-only increment. */
static inline void wt_stat_inc(_Atomic uint64_t *c)
{
#if WT_STATS
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
#else
    (void)c;
#endif
}

/* Any-thread increment, for the runtime-wide counters. */
static inline void wt_stat_inc_shared(_Atomic uint64_t *c)
{
#if WT_STATS
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
#else
    (void)c;
#endif
}

#define WT_STAT(w, field) wt_stat_inc(&(w)->stats.field)

#endif /* WT_STATS_H */
