/*
 * handle.c - the generational handle table of handle.h: chunks grown under
 * the table's mutex and published with a release store, so that a lookup
 * (any thread, no lock) sees NULL or a zeroed chunk; a LIFO free list of
 * slot indices under the same mutex. Whether an id is live is the object's
 * business, under its own lock (handle.h).
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "debug.h"
#include "handle.h"

static unsigned char *slot_at(struct handle_table *t, uint32_t index)
{
    /* Acquire pairs with the release in grow() (each_live reads unlocked). */
    unsigned char *c =
        atomic_load_explicit(&t->chunks[index >> HT_CHUNK_SHIFT], memory_order_acquire);
    return c + (size_t)(index & (HT_CHUNK_SIZE - 1)) * t->size;
}

/* One more chunk of free slots. Caller holds t->lock. False when out of
 * memory or out of chunks. */
static bool grow(struct handle_table *t)
{
    if (t->nchunks == HT_MAX_CHUNKS)
        return false;
    size_t bytes = (size_t)HT_CHUNK_SIZE * t->size;
    unsigned char *c = wt_aligned_alloc(t->align, bytes);
    if (!c)
        return false;
    memset(c, 0, bytes); /* generation 0 (free), lock unlocked, queues empty */
    uint32_t base = t->nchunks << HT_CHUNK_SHIFT;
    for (uint32_t i = HT_CHUNK_SIZE; i-- > 0;) {
        struct handle *h = (struct handle *)(c + (size_t)i * t->size);
        h->next_free = t->free_head;
        t->free_head = base + i + 1;
    }
    /* Release pairs with the acquire in wt_handle_lookup(). */
    atomic_store_explicit(&t->chunks[t->nchunks], c, memory_order_release);
    t->nchunks++;
    return true;
}

void *wt_handle_alloc(struct handle_table *t, uint64_t *id)
{
    WT_ASSERT(t->size >= sizeof(struct handle) && t->size % t->align == 0);
    pthread_mutex_lock(&t->lock);
    if (!t->free_head && !grow(t)) {
        pthread_mutex_unlock(&t->lock);
        return NULL;
    }
    uint32_t index = t->free_head - 1;
    unsigned char *obj = slot_at(t, index);
    struct handle *h = (struct handle *)obj;
    t->free_head = h->next_free;
    h->next_free = 0;
    t->nlive++;
    pthread_mutex_unlock(&t->lock);
    /* Relaxed: a free slot's generation is written only by its owner, and
     * the release() that freed it was ordered before us by t->lock. */
    uint32_t gen = atomic_load_explicit(&h->gen, memory_order_relaxed);
    WT_ASSERT(!(gen & 1));
    /* Generations wrap after 2^31 reuses of one slot; odd values only. */
    *id = (uint64_t)(gen + 1) << 32 | (index + 1);
    return obj;
}

void wt_handle_release(struct handle_table *t, uint64_t id)
{
    uint32_t index = (uint32_t)id - 1;
    pthread_mutex_lock(&t->lock);
    struct handle *h = (struct handle *)slot_at(t, index);
    WT_ASSERT(!(atomic_load_explicit(&h->gen, memory_order_relaxed) & 1));
    h->next_free = t->free_head;
    t->free_head = index + 1;
    t->nlive--;
    pthread_mutex_unlock(&t->lock);
}

size_t wt_handle_each_live(struct handle_table *t, void (*fn)(void *obj, uint64_t id, void *arg),
                           void *arg)
{
    size_t n = 0;
    pthread_mutex_lock(&t->lock);
    uint32_t nchunks = t->nchunks;
    pthread_mutex_unlock(&t->lock);
    for (uint32_t i = 0; i < (nchunks << HT_CHUNK_SHIFT); i++) {
        unsigned char *obj = slot_at(t, i);
        uint32_t gen = atomic_load_explicit(&((struct handle *)obj)->gen, memory_order_acquire);
        if (gen & 1) {
            fn(obj, (uint64_t)gen << 32 | (i + 1), arg);
            n++;
        }
    }
    return n;
}
