/*
 * timer.h - a worker's timers: (deadline, fiber, wait key) entries pushed
 * when a fiber parks with a deadline (wait.c). Firing an entry claims that
 * wait for the timeout unless it already ended, in which case the entry is
 * stale and simply dropped (lazy deletion, as Go's timers do); stale
 * entries are swept when the structure would otherwise grow. Owner-only.
 *
 * Two structures sit behind this interface (docs/ARCHITECTURE.md, "Timers",
 * has the measurement): a hierarchical timing wheel in front of a small
 * 4-ary heap (WT_TIMER_WHEEL=1, the default) and a plain 4-ary heap
 * (WT_TIMER_WHEEL=0, e.g. -Dc_args=-DWT_TIMER_WHEEL=0). Both fire entries
 * in exact deadline order.
 */
#ifndef WT_TIMER_H
#define WT_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef WT_TIMER_WHEEL
#define WT_TIMER_WHEEL 1
#endif

struct fiber;

struct timer_entry {
    int64_t deadline;
    struct fiber *f;
    uint64_t key; /* the wait it times out (wait.h); stale if no longer current */
};

#if WT_TIMER_WHEEL
enum {
    WT_WHEEL_LEVELS = 8, /* 16 + 8 * 6 bits: every int64_t deadline */
    WT_WHEEL_SLOTS = 64,
};

struct timer_chunk;

struct timer_slot {
    struct timer_chunk *head, *tail;
    size_t n;
};
#endif

struct timer_heap {
    size_t n; /* entries held, stale ones included */
    /* The heap: every entry (WT_TIMER_WHEEL=0), or only those due by the
     * wheel's cursor (WT_TIMER_WHEEL=1). */
    struct timer_entry *items;
    size_t nitems, cap;
    struct timer_entry *expired; /* scratch of wt_timer_pop_all_expired */
    size_t expired_cap;
    size_t sweep_at; /* sweep stale entries before holding more than this */
#if WT_TIMER_WHEEL
    int64_t cur;                        /* the tick (deadline >> 16) the wheel stands at */
    uint64_t occupied[WT_WHEEL_LEVELS]; /* bit s: slots[level][s] holds entries */
    struct timer_slot slots[WT_WHEEL_LEVELS][WT_WHEEL_SLOTS];
    struct timer_chunk *free; /* spare chunks */
    size_t nfree;
#endif
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

/* When the worker must look again: -1 if there are no entries, else a time
 * no later than the earliest deadline. The heap gives that deadline; the
 * wheel gives it once the entry is due by its cursor, and before that the
 * start of the entry's slot (sleeping until then and calling
 * wt_timer_pop_expired moves it closer; at most WT_WHEEL_LEVELS steps). */
int64_t wt_timer_next(const struct timer_heap *h);
void wt_timer_fini(struct timer_heap *h);

#endif /* WT_TIMER_H */
