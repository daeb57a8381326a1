/*
 * timer.h - a worker's deadline heap: (deadline, fiber, wait key) entries
 * pushed when a fiber parks with a deadline (wait.c). Firing an entry claims
 * that wait for the timeout unless it already ended, in which case the entry
 * is stale and simply dropped (lazy deletion, as Go's timers do); stale
 * entries are swept when the heap would otherwise grow. Owner-only.
 */
#ifndef WT_TIMER_H
#define WT_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fiber;

struct timer_entry {
    int64_t deadline;
    struct fiber *f;
    uint64_t key; /* the wait it times out (wait.h); stale if no longer current */
};

struct timer_heap {
    struct timer_entry *items;
    size_t n, cap;
    struct timer_entry *expired; /* scratch of wt_timer_pop_all_expired */
    size_t expired_cap;
};

/* Make room for one more entry so that wt_timer_push() cannot fail: first
 * by dropping stale entries, then by growing. Returns 0 or -ENOMEM. */
int wt_timer_reserve(struct timer_heap *h);
/* Add an entry; room was reserved. */
void wt_timer_push(struct timer_heap *h, int64_t deadline, struct fiber *f, uint64_t key);
/* Pop the entry with the earliest deadline into *@e if that deadline is
 * <= @now. Returns false if there is none. */
bool wt_timer_pop_expired(struct timer_heap *h, int64_t now, struct timer_entry *e);
/* Pop every entry whose deadline is <= @now, earliest first, into a
 * scratch array owned by @h (*@out, valid until the next call); returns how
 * many. If the scratch cannot grow it returns fewer, leaving the rest in the
 * heap for the next call. */
size_t wt_timer_pop_all_expired(struct timer_heap *h, int64_t now, struct timer_entry **out);

/* The earliest deadline, or -1 if the heap is empty. */
int64_t wt_timer_next(const struct timer_heap *h);
void wt_timer_fini(struct timer_heap *h);

#endif /* WT_TIMER_H */
