/*
 * weft/debug.h - looking inside the runtime: counters (weft_stats), a
 * dump of every fiber (weft_dump) and a timeline trace (weft_trace_start).
 * The environment adds schedtrace, the stall detector, a SIGQUIT dump and
 * WEFT_TRACE (docs/DEBUGGING.md). Included by <weft.h>; include that.
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

/**
 * weft_trace_start - record a timeline of the runtime into the file @path,
 * as Chrome Trace Event JSON (open it in ui.perfetto.dev or speedscope).
 * @path: the file to write; created, or truncated if it exists.
 *
 * The trace has one track per worker; a slice per run of a fiber, named
 * after the fiber and its number; flow arrows from a spawn to the child's
 * first run and from a steal's victim to the thief's run of the stolen
 * fiber; and instants for park, wake and netpoller polls that found work.
 * Each worker records into a bounded buffer of its own, without locks; the
 * runtime's monitor thread writes the buffers out every 10 ms. When a
 * buffer is full, events are dropped and counted: the file's
 * otherData.dropped_events says how many. WEFT_TRACE=FILE starts the same
 * at weft_init(). Diagnostic: recording costs each switch a clock read.
 *
 * Return: 0; -EINVAL if @path is NULL or empty; -EBUSY if a trace is
 * already recording; -ECANCELED if the runtime is not running; -ENOMEM;
 * -ENOTSUP if the library was built without the trace hooks; or the
 * negative errno of creating @path (-ENOENT, -EACCES, -EISDIR...).
 * Context: any thread. Blocks the calling thread while it creates the file.
 */
WEFT_API int weft_trace_start(const char *path);

/**
 * weft_trace_stop - finish the trace that weft_trace_start() or WEFT_TRACE
 * began: write out what the workers' buffers hold, end the JSON and close
 * the file. weft_shutdown() does the same for a trace still recording.
 *
 * Fibers running at this moment get a slice up to now.
 *
 * Return: 0; -ESRCH if no trace is recording; -EIO if writing the file
 * failed (it is closed all the same); -ECANCELED if the runtime is not
 * running; -ENOTSUP if the library was built without the trace hooks.
 * Context: any thread. Blocks the calling thread while it writes.
 */
WEFT_API int weft_trace_stop(void);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_DEBUG_H */
