/*
 * timer.c - the binary min-heap of timer.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "alloc.h"
#include "fiber.h"
#include "timer.h"
#include "wait.h"

/* A 4-ary min-heap: half the depth of a binary one, and the four children
 * of a node share a cache line or two, so a sift-down touches fewer lines
 * (the layout Go's timers use). */
enum { ARITY = 4 };

static void sift_up(struct timer_entry *items, size_t i, struct timer_entry e)
{
    while (i > 0) {
        size_t parent = (i - 1) / ARITY;
        if (items[parent].deadline <= e.deadline)
            break;
        items[i] = items[parent];
        i = parent;
    }
    items[i] = e;
}

static void sift_down(struct timer_entry *items, size_t n, size_t i, struct timer_entry e)
{
    for (;;) {
        size_t c = ARITY * i + 1, best = c;
        if (c >= n)
            break;
        size_t end = c + ARITY < n ? c + ARITY : n;
        for (size_t k = c + 1; k < end; k++)
            if (items[k].deadline < items[best].deadline)
                best = k;
        if (e.deadline <= items[best].deadline)
            break;
        items[i] = items[best];
        i = best;
    }
    items[i] = e;
}

/* Drop the entries whose wait has ended otherwise, then restore the heap.
 * Owner-only, like every entry point here. */
static void sweep_stale(struct timer_heap *h)
{
    size_t kept = 0;
    for (size_t i = 0; i < h->n; i++)
        if (wt_wait_is_current(h->items[i].f, h->items[i].key))
            h->items[kept++] = h->items[i];
    h->n = kept;
    for (size_t i = kept / ARITY + 1; i-- > 0;)
        if (i < kept)
            sift_down(h->items, kept, i, h->items[i]);
}

int wt_timer_reserve(struct timer_heap *h)
{
    if (h->n < h->cap)
        return 0;
    /* Full: sweep first, and grow only if at least half is still live, so
     * that the heap stays within twice the live timers, amortised O(1). */
    sweep_stale(h);
    if (h->n < h->cap / 2)
        return 0;
    size_t cap = h->cap ? h->cap * 2 : 64;
    struct timer_entry *items = wt_realloc(h->items, cap * sizeof *items);
    if (!items)
        return h->n < h->cap ? 0 : -ENOMEM;
    h->items = items;
    h->cap = cap;
    return 0;
}

void wt_timer_push(struct timer_heap *h, int64_t deadline, struct fiber *f, uint64_t key)
{
    struct timer_entry e = {.deadline = deadline, .f = f, .key = key};
    sift_up(h->items, h->n++, e);
}

bool wt_timer_pop_expired(struct timer_heap *h, int64_t now, struct timer_entry *e)
{
    if (h->n == 0 || h->items[0].deadline > now)
        return false;
    *e = h->items[0];
    if (--h->n)
        sift_down(h->items, h->n, 0, h->items[h->n]);
    return true;
}

int64_t wt_timer_next(const struct timer_heap *h)
{
    return h->n ? h->items[0].deadline : -1;
}

size_t wt_timer_pop_all_expired(struct timer_heap *h, int64_t now, struct timer_entry **out)
{
    size_t n = 0;
    while (h->n && h->items[0].deadline <= now) {
        if (n == h->expired_cap) {
            size_t cap = h->expired_cap ? 2 * h->expired_cap : 64;
            struct timer_entry *e = wt_realloc(h->expired, cap * sizeof *e);
            if (!e)
                break; /* the rest stay in the heap, for the next call */
            h->expired = e;
            h->expired_cap = cap;
        }
        wt_timer_pop_expired(h, now, &h->expired[n++]);
    }
    *out = h->expired;
    return n;
}

void wt_timer_fini(struct timer_heap *h)
{
    wt_free(h->items);
    wt_free(h->expired);
    h->items = NULL;
    h->expired = NULL;
    h->n = h->cap = h->expired_cap = 0;
}

/* The public face of the clock and of sleeping. */

#include "detsched.h"
#include "os.h"
#include "scheduler.h"
#include "worker.h"

int64_t weft_now(void)
{
    return wt_now(); /* virtual under a deterministic schedule */
}

int64_t weft_deadline_after(int64_t ns)
{
    if (ns < 0)
        return WEFT_FOREVER;
    int64_t now = wt_now();
    return ns > INT64_MAX - now ? INT64_MAX : now + ns;
}

int weft_sleep_until(int64_t deadline)
{
    if (deadline < 0)
        return -EINVAL;
    struct worker *w = wt_worker_self();
    if (!w || !w->current) {
        wt_os_sleep_until(deadline);
        return 0;
    }
    struct wait wt;
    int r = wt_wait_begin(&wt, w, WAITK_SLEEP, NULL);
    if (r)
        return r;
    /* Nothing else can wake a sleeper: only the timer or a cancel. */
    r = wt_wait_block(&wt, &w, deadline);
    return r == -ETIMEDOUT ? 0 : r;
}

int weft_sleep(int64_t ns)
{
    if (ns < 0)
        return -EINVAL;
    return weft_sleep_until(weft_deadline_after(ns));
}
