/*
 * spinlock.h - a short lock for a thread: held for a few instructions, never
 * across a park or a system call. Test-and-test-and-set.
 */
#ifndef WT_SPINLOCK_H
#define WT_SPINLOCK_H

#include <stdatomic.h>
#include <stdbool.h>

#include "cpu.h"

struct spinlock {
    _Atomic bool held;
};

static inline void wt_spin_lock(struct spinlock *l)
{
    /* Acquire pairs with the release in wt_spin_unlock(). */
    while (atomic_exchange_explicit(&l->held, true, memory_order_acquire)) {
        /* Relaxed: only a hint to retry; the exchange decides. */
        while (atomic_load_explicit(&l->held, memory_order_relaxed))
            wt_cpu_relax();
    }
}

static inline void wt_spin_unlock(struct spinlock *l)
{
    atomic_store_explicit(&l->held, false, memory_order_release);
}

#endif /* WT_SPINLOCK_H */
