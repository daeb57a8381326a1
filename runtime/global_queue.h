/*
 * global_queue.h - the runtime-wide FIFO of runnable fibers: spawns from
 * plain threads and fibers woken off their worker go here. A short lock
 * guards the list; the size is an atomic that the idle protocol reads
 * without the lock (scheduler.c has the argument).
 */
#ifndef WT_GLOBAL_QUEUE_H
#define WT_GLOBAL_QUEUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "spinlock.h"

struct fiber;

struct global_queue {
    struct spinlock lock;
    struct fiber *head, *tail; /* guarded by lock */
    _Atomic size_t size;       /* seq_cst RMW on push/pop, seq_cst loads */
};

/* Append @f (any thread). */
void wt_gq_push(struct global_queue *q, struct fiber *f);
/* Take the oldest fiber, or NULL (any thread). */
struct fiber *wt_gq_pop(struct global_queue *q);

static inline bool wt_gq_is_empty(struct global_queue *q)
{
    return atomic_load_explicit(&q->size, memory_order_seq_cst) == 0;
}

#endif /* WT_GLOBAL_QUEUE_H */
