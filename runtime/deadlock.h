/*
 * deadlock.h - "all fibers are asleep - deadlock!": the check an idle
 * worker runs when every worker is idle, and the counters it reads.
 */
#ifndef WT_DEADLOCK_H
#define WT_DEADLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "wait.h"

struct runtime;
struct worker;

/* Add @d to an owner-only counter of @w (relaxed load + store: one writer). */
static inline void wt_count(_Atomic int64_t *c, int64_t d)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + d,
                          memory_order_relaxed);
}

/* Does a block of @kind with no deadline count as one that only another
 * fiber can end? (I/O, offload and signals can end by themselves.) */
static inline bool wt_kind_is_deadlock_prone(enum wait_kind kind)
{
    return kind != WAITK_FD && kind != WAITK_OFFLOAD && kind != WAITK_SIGNAL &&
           kind != WAITK_SLEEP && kind != WAITK_NONE;
}

/* A plain thread waited or woke a fiber: from now on the check can no
 * longer know who might wake whom, and stays off for this runtime. */
void wt_deadlock_note_foreign(void);

/* Mark the calling thread as one of weft's own helper threads (the offload
 * pool, offload.c): wt_deadlock_note_foreign() ignores it from then on, for
 * the thread's life. Sound only for a thread that acts on fibers while some
 * fiber is in a wait the check does not count as blocked (an offload): the
 * check cannot fire then, and the thread does nothing once that wait ends. */
void wt_deadlock_mark_internal(void);

/* Called by an idle worker @w about to sleep, with @w counted in nidle and
 * no work visible. Checks, reports and acts if every fiber is blocked. */
void wt_deadlock_check(struct worker *w);

/* The name of a wait kind, for reports and dumps. */
const char *wt_wait_kind_name(enum wait_kind kind);

#endif /* WT_DEADLOCK_H */
