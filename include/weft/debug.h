/*
 * weft/debug.h - looking inside the runtime: counters (weft_stats), and a
 * dump of every fiber (weft_dump). The environment adds schedtrace, the
 * stall detector and a SIGQUIT dump (docs/DEBUGGING.md). Included by
 * <weft.h>; include that.
 */
#ifndef WEFT_DEBUG_H
#define WEFT_DEBUG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct weft_stats - the runtime's counters, summed over its workers since
 * weft_init(). A struct tag, not a typedef: the function that fills it has
 * the same name.
 *
 * Fields may be added at the end in later versions: pass sizeof of the
 * struct you compiled against, and weft fills that much.
 */
struct weft_stats {
    uint64_t spawns;          /* fibers spawned */
    uint64_t switches;        /* context switches into a fiber */
    uint64_t steal_attempts;  /* tries at another worker's deque or the global queue */
    uint64_t steals;          /* fibers taken from another worker or the global queue */
    uint64_t parks;           /* fibers that parked (any wait, join, sleep) */
    uint64_t wakeups;         /* fibers readied by another party */
    uint64_t polls;           /* netpoller polls */
    uint64_t timers_fired;    /* deadlines that ended a wait */
    uint64_t offloads;        /* calls run on the offload pool */
    uint64_t idle_sleeps;     /* times a worker went to sleep with nothing to do */
    int64_t fibers_live;      /* spawned and not yet ended */
    int32_t workers;          /* worker threads */
    int32_t workers_idle;     /* asleep now */
    int32_t workers_spinning; /* looking for work now */
    int32_t reserved_;
    uint64_t global_queue; /* fibers in the global queue now */
};

/**
 * weft_stats - copy the counters into @s: `weft_stats(&s, sizeof s)`.
 * @size: sizeof *@s as the caller was compiled (at most sizeof(weft_stats)
 *        of this header is filled; a larger size leaves the rest alone).
 *
 * Counters are read without stopping the workers: each is exact, their sum
 * is a moment's approximation.
 *
 * Return: 0; -EINVAL if @s is NULL or @size is smaller than the first
 * field; -ECANCELED if the runtime is not running.
 * Context: any thread.
 */
WEFT_API int weft_stats(struct weft_stats *s, size_t size);

/**
 * weft_stats_print - print the counters on @out, one "name value" per line.
 *
 * Return: 0; -EINVAL if @out is NULL; -ECANCELED if the runtime is not
 * running; -EIO if writing failed.
 * Context: any thread.
 */
WEFT_API int weft_stats_print(FILE *out);

/**
 * weft_dump - print every fiber of the runtime on @out: number, name, handle,
 * state (running on worker N, runnable, parked on what - the primitive's
 * kind and address, and its deadline -, exited and not yet joined) and the
 * address it was spawned from (symbolised where the dynamic symbol table
 * allows).
 *
 * Diagnostic: fibers move while it prints, so a line is a moment's view.
 * WEFT_DEBUG=sigquit makes SIGQUIT print the same to stderr.
 *
 * Return: the number of fibers printed; -EINVAL if @out is NULL;
 * -ECANCELED if the runtime is not running.
 * Context: any thread.
 */
WEFT_API int weft_dump(FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_DEBUG_H */
