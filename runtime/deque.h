/*
 * deque.h - the Chase–Lev work-stealing deque of void * items: its owner
 * pushes and pops at the bottom, any thread steals at the top. Whom to steal
 * from, and when, is scheduler.c's business. Push and pop are inline here
 * because the scheduler runs them per spawn; their ordering argument, rules
 * R1-R5, is at the top of deque.c with the rest of the algorithm.
 */
#ifndef WT_DEQUE_H
#define WT_DEQUE_H

#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu.h"

/*
 * A ring of 2^k slots: index i lives in slot[i & mask]. Growth replaces a
 * buffer, never resizes it; the replaced one stays reachable through @prev
 * until wt_deque_destroy() (deque.c, R4).
 */
struct deque_buf {
    int64_t mask;           /* capacity - 1 */
    struct deque_buf *prev; /* the buffer this one replaced; NULL for the first */
    _Atomic(void *) slot[]; /* a thief may read a slot while the owner reuses it */
};

/*
 * Items are at indices [top, bottom). Both are 64-bit and only ever count
 * up by one (bottom also steps back one in pop), so they never wrap in
 * practice (deque.c). Top and bottom sit on separate cache lines: thieves
 * CAS top, the owner writes bottom on every push and pop.
 */
struct deque {
    /* Shared: changed only by a CAS from t to t + 1 (steal, pop's last item). */
    alignas(WT_CACHE_LINE) _Atomic int64_t top;
    /* Written by the owner alone, read by thieves. */
    alignas(WT_CACHE_LINE) _Atomic int64_t bottom;
    _Atomic(struct deque_buf *) buf;
    /* Owner-only: a value of top the owner loaded; top never falls below it. */
    int64_t top_cache;
};

/**
 * wt_deque_init - make @dq an empty deque with room for @capacity items.
 *
 * The deque grows on demand, so @capacity is only a starting size.
 *
 * Return: 0; -EINVAL if @capacity is not a power of two >= 2; -ENOMEM.
 * After an error @dq is untouched.
 * Context: any thread. @dq is not in use.
 */
int wt_deque_init(struct deque *dq, size_t capacity);

/**
 * wt_deque_destroy - free the buffers of @dq, the retired ones included.
 *
 * Items still in @dq are dropped, not freed: they belong to the caller.
 * Safe on a zeroed deque and on one whose init failed.
 *
 * Context: any thread. No concurrent users, and none later.
 */
void wt_deque_destroy(struct deque *dq);

/**
 * wt_deque_make_room - slow path of wt_deque_push(): room for index @b.
 *
 * Reloads top; if the buffer is really full, replaces it by one twice the
 * size holding the same items (deque.c, R4).
 *
 * Return: the buffer to store index @b into; NULL if growth failed, in which
 * case @dq holds the same items in the same buffer.
 * Context: owner thread only, from wt_deque_push().
 */
struct deque_buf *wt_deque_make_room(struct deque *dq, int64_t b);

/**
 * wt_deque_push - add @item at the bottom (the LIFO end) of @dq.
 *
 * Costs a relaxed store of the slot and a release store of bottom; top, on
 * the thieves' cache line, is reloaded only when the buffer looks full.
 *
 * Return: 0; -ENOMEM if the deque had to grow and could not, in which case
 * @dq is unchanged.
 * Context: owner thread only. @item is not NULL.
 */
static inline int wt_deque_push(struct deque *dq, void *item)
{
    /* Relaxed: only the owner writes bottom and buf. */
    int64_t b = atomic_load_explicit(&dq->bottom, memory_order_relaxed);
    struct deque_buf *a = atomic_load_explicit(&dq->buf, memory_order_relaxed);
    if (b - dq->top_cache > a->mask) {
        a = wt_deque_make_room(dq, b);
        if (!a)
            return -ENOMEM;
    }
    /* Relaxed: a late thief may still read this slot; its CAS on top decides (R2). */
    atomic_store_explicit(&a->slot[b & a->mask], item, memory_order_relaxed);
    /* Release pairs with the bottom load in wt_deque_steal(): publishes the slot (R1). */
    atomic_store_explicit(&dq->bottom, b + 1, memory_order_release);
    return 0;
}

/**
 * wt_deque_pop - take the item at the bottom (the LIFO end) of @dq.
 *
 * An empty deque costs one relaxed load. Otherwise a seq_cst store of bottom
 * and a seq_cst load of top settle the race with thieves (R3), and a CAS on
 * top settles it for the last item.
 *
 * Return: the item; NULL if @dq is empty or a thief took its last item.
 * Context: owner thread only.
 */
static inline void *wt_deque_pop(struct deque *dq)
{
    /* Relaxed: only the owner writes bottom. */
    int64_t b = atomic_load_explicit(&dq->bottom, memory_order_relaxed) - 1;
    if (b < dq->top_cache)
        return NULL; /* bottom <= top_cache <= top: empty */
    /* Relaxed: only the owner writes buf. */
    struct deque_buf *a = atomic_load_explicit(&dq->buf, memory_order_relaxed);
    atomic_store_explicit(&dq->bottom, b, memory_order_seq_cst);
    int64_t t = atomic_load_explicit(&dq->top, memory_order_seq_cst);
    dq->top_cache = t;
    if (t < b) /* not the last item: no thief can reach index b (R3) */
        return atomic_load_explicit(&a->slot[b & a->mask], memory_order_relaxed);
    void *item = NULL;
    if (t == b) { /* the last item: race the thieves for it on top */
        item = atomic_load_explicit(&a->slot[b & a->mask], memory_order_relaxed);
        /* Seq_cst on failure too: it acquires the winner's CAS, as R2 needs
         * before top_cache may pass b. */
        if (!atomic_compare_exchange_strong_explicit(&dq->top, &t, t + 1, memory_order_seq_cst,
                                                     memory_order_seq_cst))
            item = NULL;
        dq->top_cache = b + 1; /* top is b + 1 whoever won */
    }
    /* Release pairs with the bottom load in wt_deque_steal() (R1). */
    atomic_store_explicit(&dq->bottom, b + 1, memory_order_release);
    return item;
}

/**
 * wt_deque_steal - take the item at the top (the FIFO end) of @dq.
 *
 * Retries when another taker wins the race for the same item, so it gives up
 * only on a deque it saw empty. The owner may call it too: the scheduler's
 * fairness rule runs its own oldest item.
 *
 * Return: the item; NULL if @dq was seen empty.
 * Context: any thread.
 */
void *wt_deque_steal(struct deque *dq);

/**
 * wt_deque_size - how many items @dq holds, approximately.
 *
 * Exact for the owner when no thief is active; otherwise a snapshot that may
 * be stale by the time it returns. No ordering: use it for heuristics only.
 *
 * Return: the number of items, never negative.
 * Context: any thread.
 */
size_t wt_deque_size(const struct deque *dq);

/**
 * wt_deque_is_empty - whether @dq looked empty.
 *
 * Loads top, then bottom, both seq_cst, for the idle protocol's recheck. It
 * pairs only with seq_cst operations: wt_deque_push() stores bottom with
 * release, so a pusher that must not miss an idle worker follows its push
 * with a seq_cst operation of its own (see deque.c, R5).
 *
 * Return: true if @dq held no item a thief could take at some instant during
 * the call (an item the owner is popping counts as taken).
 * Context: any thread.
 */
bool wt_deque_is_empty(const struct deque *dq);

#endif /* WT_DEQUE_H */
