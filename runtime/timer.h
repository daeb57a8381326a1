/*
 * timer.h - a worker's deadline heap: fibers parked in weft_sleep_until(),
 * ordered by fiber->deadline. Owner-only; a binary min-heap for now.
 */
#ifndef WT_TIMER_H
#define WT_TIMER_H

#include <stddef.h>
#include <stdint.h>

struct fiber;

struct timer_heap {
    struct fiber **items;
    size_t n, cap;
};

/* Make room for one more entry so that wt_timer_push() cannot fail.
 * Returns 0 or -ENOMEM. */
int wt_timer_reserve(struct timer_heap *h);
/* Add @f keyed by f->deadline; room was reserved. */
void wt_timer_push(struct timer_heap *h, struct fiber *f);
/* The fiber with the earliest deadline if that deadline is <= @now, else NULL. */
struct fiber *wt_timer_pop_expired(struct timer_heap *h, int64_t now);
/* The earliest deadline, or -1 if the heap is empty. */
int64_t wt_timer_next(const struct timer_heap *h);
void wt_timer_fini(struct timer_heap *h);

#endif /* WT_TIMER_H */
