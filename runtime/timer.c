/*
 * timer.c - the binary min-heap of timer.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "fiber.h"
#include "timer.h"

int wt_timer_reserve(struct timer_heap *h)
{
    if (h->n < h->cap)
        return 0;
    size_t cap = h->cap ? h->cap * 2 : 64;
    struct fiber **items = realloc(h->items, cap * sizeof *items);
    if (!items)
        return -ENOMEM;
    h->items = items;
    h->cap = cap;
    return 0;
}

void wt_timer_push(struct timer_heap *h, struct fiber *f)
{
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->items[parent]->deadline <= f->deadline)
            break;
        h->items[i] = h->items[parent];
        i = parent;
    }
    h->items[i] = f;
}

struct fiber *wt_timer_pop_expired(struct timer_heap *h, int64_t now)
{
    if (h->n == 0 || h->items[0]->deadline > now)
        return NULL;
    struct fiber *top = h->items[0];
    struct fiber *last = h->items[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->items[c + 1]->deadline < h->items[c]->deadline)
            c++;
        if (last->deadline <= h->items[c]->deadline)
            break;
        h->items[i] = h->items[c];
        i = c;
    }
    if (h->n)
        h->items[i] = last;
    return top;
}

int64_t wt_timer_next(const struct timer_heap *h)
{
    return h->n ? h->items[0]->deadline : -1;
}

void wt_timer_fini(struct timer_heap *h)
{
    free(h->items);
    h->items = NULL;
    h->n = h->cap = 0;
}

/* The public face of the clock and of sleeping. */

#include "os.h"
#include "scheduler.h"
#include "worker.h"

int64_t weft_now(void)
{
    return wt_os_now();
}

int64_t weft_deadline_after(int64_t ns)
{
    if (ns < 0)
        return WEFT_FOREVER;
    int64_t now = wt_os_now();
    return ns > INT64_MAX - now ? INT64_MAX : now + ns;
}

/* Park commit of a sleeper: onto the heap of the worker it parked on. */
static bool sleep_commit(struct fiber *f, void *arg)
{
    struct worker *w = arg;
    wt_timer_push(&w->timers, f);
    return true;
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
    if (deadline <= wt_os_now())
        return 0;
    if (wt_timer_reserve(&w->timers) != 0)
        return -ENOMEM;
    w->current->deadline = deadline;
    /* The commit runs on this same worker, right after the switch. */
    wt_sched_park(w, sleep_commit, w);
    return 0;
}

int weft_sleep(int64_t ns)
{
    if (ns < 0)
        return -EINVAL;
    return weft_sleep_until(weft_deadline_after(ns));
}
