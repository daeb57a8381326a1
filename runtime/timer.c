/*
 * timer.c - the timers of timer.h: a 4-ary min-heap, alone or behind a
 * hierarchical timing wheel (WT_TIMER_WHEEL), and weft_sleep.
 *
 * The wheel. Deadlines are counted in ticks of 2^16 ns (65.5 us). The
 * wheel stands at a tick `cur` and holds every entry due after it in one
 * of 8 levels of 64 slots: an entry goes to the level of the highest 6-bit
 * group in which its tick differs from cur, in the slot its tick has in
 * that group (the placement of Linux's and Tokio's wheels). So the entries
 * of level L all lie in cur's block of 64^(L+1) ticks, in slots after
 * cur's, and every entry of a lower level comes before every entry of a
 * higher one: the earliest slot is the first occupied one of the lowest
 * occupied level. Entries due by cur (tick <= cur) are in the heap.
 * Moving the cursor to that slot's first tick empties it: each entry drops
 * to a lower level, or into the heap once its tick is cur. The cursor only
 * moves up to the time being fired, never ahead of it, so the heap holds
 * what is due now and within one tick: a few hundred entries where a plain
 * heap holds them all, and order within a tick, and exactness, are the
 * heap's. A slot is a list of chunks of 32 entries; chunks are recycled
 * through a spare list that is topped up before a slot is emptied, so that
 * emptying never fails half-way.
 */
#include <errno.h>
#include <stdlib.h>

#include "alloc.h"
#include "detsched.h"
#include "fiber.h"
#include "timer.h"
#include "wait.h"

/* A 4-ary min-heap: half the depth of a binary one, and the four children
 * of a node share a cache line or two, so a sift-down touches fewer lines
 * (the layout Go's timers use). */
enum {
    ARITY = 4,
    SWEEP_MIN = 64,  /* entries held before the first sweep */
    KEEP_SPARE = 64, /* wheel: spare chunks kept when it empties */
};

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

/* Room in the heap for @more entries. */
static int heap_room(struct timer_heap *h, size_t more)
{
    if (h->nitems + more <= h->cap)
        return 0;
    size_t cap = h->cap ? h->cap : 64;
    while (cap < h->nitems + more)
        cap *= 2;
    struct timer_entry *items = wt_realloc(h->items, cap * sizeof *items);
    if (!items)
        return -ENOMEM;
    h->items = items;
    h->cap = cap;
    return 0;
}

static inline void heap_push(struct timer_heap *h, struct timer_entry e)
{
    sift_up(h->items, h->nitems++, e);
}

static inline struct timer_entry heap_pop(struct timer_heap *h)
{
    struct timer_entry e = h->items[0];
    if (--h->nitems)
        sift_down(h->items, h->nitems, 0, h->items[h->nitems]);
    return e;
}

static inline bool is_live(const struct timer_entry *e)
{
    return wt_wait_is_current(e->f, e->key);
}

/* Drop the heap's stale entries and restore its order. */
static void heap_sweep(struct timer_heap *h)
{
    size_t kept = 0;
    for (size_t i = 0; i < h->nitems; i++)
        if (is_live(&h->items[i]))
            h->items[kept++] = h->items[i];
    h->n -= h->nitems - kept;
    h->nitems = kept;
    for (size_t i = kept / ARITY + 1; i-- > 0;)
        if (i < kept)
            sift_down(h->items, kept, i, h->items[i]);
}

#if WT_TIMER_WHEEL

enum {
    GRAN = 16, /* a tick is 2^16 ns */
    BITS = 6,  /* 64 slots a level */
    CHUNK = 32,
};

struct timer_chunk {
    struct timer_chunk *next;
    uint32_t n;
    struct timer_entry e[CHUNK];
};

static inline int64_t tick_of(int64_t deadline)
{
    return deadline >> GRAN;
}

static int top_up(struct timer_heap *h, size_t want)
{
    while (h->nfree < want) {
        struct timer_chunk *c = wt_alloc(sizeof *c);
        if (!c)
            return -ENOMEM;
        c->next = h->free;
        h->free = c;
        h->nfree++;
    }
    return 0;
}

static void give_chunk(struct timer_heap *h, struct timer_chunk *c)
{
    c->next = h->free;
    h->free = c;
    h->nfree++;
}

/* Append @e to slot @s of @level; a spare chunk is there if one is needed. */
static void slot_append(struct timer_heap *h, int level, int s, struct timer_entry e)
{
    struct timer_slot *sl = &h->slots[level][s];
    struct timer_chunk *t = sl->tail;
    if (!t || t->n == CHUNK) {
        struct timer_chunk *c = h->free;
        h->free = c->next;
        h->nfree--;
        c->next = NULL;
        c->n = 0;
        if (t)
            t->next = c;
        else
            sl->head = c;
        sl->tail = t = c;
    }
    t->e[t->n++] = e;
    sl->n++;
    h->occupied[level] |= 1ull << s;
}

/* Put @e where its tick says, relative to the cursor (the essay above). */
static void place(struct timer_heap *h, struct timer_entry e)
{
    int64_t t = tick_of(e.deadline);
    if (t <= h->cur) {
        heap_push(h, e);
        return;
    }
    /* t < 2^47 (deadlines are non-negative): the level is at most 7. */
    int level = (63 - __builtin_clzll((uint64_t)(t ^ h->cur))) / BITS;
    slot_append(h, level, (int)((t >> (BITS * level)) & (WT_WHEEL_SLOTS - 1)), e);
}

/* The wheel's earliest slot: false if the wheel is empty. */
static bool first_slot(const struct timer_heap *h, int *level, int *slot, int64_t *start)
{
    for (int l = 0; l < WT_WHEEL_LEVELS; l++) {
        if (!h->occupied[l])
            continue;
        int s = __builtin_ctzll(h->occupied[l]);
        int shift = BITS * l;
        *level = l;
        *slot = s;
        *start = (h->cur >> (shift + BITS) << (shift + BITS)) | ((int64_t)s << shift);
        return true;
    }
    return false;
}

/* How many entries of @sl fall due when the cursor moves to @start. */
static size_t count_due(const struct timer_slot *sl, int64_t start)
{
    size_t n = 0;
    for (const struct timer_chunk *c = sl->head; c; c = c->next)
        for (uint32_t i = 0; i < c->n; i++)
            n += tick_of(c->e[i].deadline) <= start;
    return n;
}

static void trim_spare(struct timer_heap *h, size_t keep)
{
    while (h->nfree > keep) {
        struct timer_chunk *c = h->free;
        h->free = c->next;
        h->nfree--;
        wt_free(c);
    }
}

/* Move the cursor up to @now_tick, emptying each slot it reaches into
 * lower levels and the heap. The memory a slot needs is got before it is
 * touched: the heap's room for those that fall due, and spare chunks for
 * the lower slots' tails. Refiling the entries of one chunk takes at most
 * one new chunk per destination slot beyond what the chunks already
 * emptied give back, and there are 64 such slots per lower level. If the
 * memory cannot be had, the cursor stops before that slot and what lies
 * beyond it fires late (the next call tries again), never out of order. */
static void advance(struct timer_heap *h, int64_t now_tick)
{
    int level, s;
    int64_t start;
    while (first_slot(h, &level, &s, &start) && start <= now_tick) {
        struct timer_slot *sl = &h->slots[level][s];
        size_t due = level == 0 ? sl->n : count_due(sl, start);
        /* One more of each than this slot needs: a fiber that reserved
         * room (wt_timer_reserve) pushes its entry only at its park
         * commit, and leaving for the next fiber may run us in between. */
        if (heap_room(h, due + 1) || top_up(h, (size_t)WT_WHEEL_SLOTS * (size_t)level + 2))
            return;
        struct timer_chunk *c = sl->head;
        *sl = (struct timer_slot){0};
        h->occupied[level] &= ~(1ull << s);
        h->cur = start;
        while (c) {
            struct timer_chunk *next = c->next;
            for (uint32_t i = 0; i < c->n; i++)
                place(h, c->e[i]);
            give_chunk(h, c);
            c = next;
        }
        if (h->nfree > 8 * KEEP_SPARE)
            trim_spare(h, KEEP_SPARE); /* no malloc churn from slot to slot */
    }
}

static void sweep(struct timer_heap *h)
{
    heap_sweep(h);
    for (int l = 0; l < WT_WHEEL_LEVELS; l++) {
        for (int s = 0; s < WT_WHEEL_SLOTS; s++) {
            struct timer_slot *sl = &h->slots[l][s];
            if (!sl->head)
                continue;
            /* Compact in place: the write position never passes the read. */
            struct timer_chunk *wc = sl->head, *c = sl->head;
            uint32_t wi = 0;
            size_t kept = 0;
            while (c) {
                for (uint32_t i = 0; i < c->n; i++) {
                    if (!is_live(&c->e[i]))
                        continue;
                    if (wi == CHUNK) {
                        wc = wc->next;
                        wi = 0;
                    }
                    wc->e[wi++] = c->e[i];
                    kept++;
                }
                c = c->next;
            }
            h->n -= sl->n - kept;
            sl->n = kept;
            if (!kept) {
                wc = NULL;
                c = sl->head;
                sl->head = sl->tail = NULL;
                h->occupied[l] &= ~(1ull << s);
            } else {
                wc->n = wi;
                c = wc->next;
                wc->next = NULL;
                sl->tail = wc;
                /* every chunk before wc is full */
            }
            while (c) {
                struct timer_chunk *next = c->next;
                give_chunk(h, c);
                c = next;
            }
        }
    }
}

static int room_for_one(struct timer_heap *h)
{
    if (h->n == 0)
        h->cur = tick_of(wt_now()); /* an empty wheel starts at now */
    return heap_room(h, 1) || top_up(h, 1) ? -ENOMEM : 0;
}

static inline void prepare_pop(struct timer_heap *h, int64_t now)
{
    advance(h, tick_of(now));
}

void wt_timer_push(struct timer_heap *h, int64_t deadline, struct fiber *f, uint64_t key)
{
    place(h, (struct timer_entry){.deadline = deadline, .f = f, .key = key});
    h->n++;
}

int64_t wt_timer_next(const struct timer_heap *h)
{
    int level, s;
    int64_t start;
    if (h->nitems)
        return h->items[0].deadline;
    if (first_slot(h, &level, &s, &start))
        return start << GRAN;
    return -1;
}

void wt_timer_fini(struct timer_heap *h)
{
    for (int l = 0; l < WT_WHEEL_LEVELS; l++)
        for (int s = 0; s < WT_WHEEL_SLOTS; s++)
            for (struct timer_chunk *c = h->slots[l][s].head, *next; c; c = next) {
                next = c->next;
                wt_free(c);
            }
    trim_spare(h, 0);
    wt_free(h->items);
    wt_free(h->expired);
    *h = (struct timer_heap){0};
}

#else /* the plain heap */

static void sweep(struct timer_heap *h)
{
    heap_sweep(h);
}

static void trim_spare(struct timer_heap *h, size_t keep)
{
    (void)h;
    (void)keep;
}

static int room_for_one(struct timer_heap *h)
{
    return heap_room(h, 1);
}

static inline void prepare_pop(struct timer_heap *h, int64_t now)
{
    (void)h;
    (void)now;
}

void wt_timer_push(struct timer_heap *h, int64_t deadline, struct fiber *f, uint64_t key)
{
    heap_push(h, (struct timer_entry){.deadline = deadline, .f = f, .key = key});
    h->n++;
}

int64_t wt_timer_next(const struct timer_heap *h)
{
    return h->nitems ? h->items[0].deadline : -1;
}

void wt_timer_fini(struct timer_heap *h)
{
    wt_free(h->items);
    wt_free(h->expired);
    *h = (struct timer_heap){0};
}

#endif /* WT_TIMER_WHEEL */

int wt_timer_reserve(struct timer_heap *h)
{
    if (h->n >= h->sweep_at) {
        /* Sweep first, and allow more only if at least half is still
         * live, so that the timers hold at most twice the live deadlines
         * (amortised O(1), as Go's timers). */
        sweep(h);
        if (h->n >= h->sweep_at / 2)
            h->sweep_at = h->sweep_at ? 2 * h->sweep_at : SWEEP_MIN;
    }
    return room_for_one(h);
}

bool wt_timer_pop_expired(struct timer_heap *h, int64_t now, struct timer_entry *e)
{
    if (h->n == 0)
        return false;
    prepare_pop(h, now);
    if (h->nitems == 0 || h->items[0].deadline > now)
        return false;
    *e = heap_pop(h);
    h->n--;
    return true;
}

size_t wt_timer_pop_all_expired(struct timer_heap *h, int64_t now, struct timer_entry **out)
{
    size_t n = 0;
    if (h->n)
        prepare_pop(h, now);
    while (h->nitems && h->items[0].deadline <= now) {
        if (n == h->expired_cap) {
            size_t cap = h->expired_cap ? 2 * h->expired_cap : 64;
            struct timer_entry *e = wt_realloc(h->expired, cap * sizeof *e);
            if (!e)
                break; /* the rest stay in the heap, for the next call */
            h->expired = e;
            h->expired_cap = cap;
        }
        h->expired[n++] = heap_pop(h);
        h->n--;
    }
    if (h->n == 0)
        trim_spare(h, KEEP_SPARE);
    *out = h->expired;
    return n;
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
