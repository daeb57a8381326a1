/*
 * handle.h - a generational handle table for objects that API users name by
 * value (weft_chan, and any later handle type): objects live in chunks that
 * are never freed, so a handle, however stale or forged, always leads to
 * readable memory, and a generation per slot says whether it still names
 * the object it was issued for. The object's own lock orders its checks.
 *
 * A handle id is (generation << 32) | (slot index + 1); id 0 is never
 * issued. A slot's generation is even while the slot is free and odd while
 * its object is live, so a forged id carrying a free slot's generation is
 * refused too. Each object embeds struct handle as its first member.
 *
 * Life of a slot:
 *   wt_handle_alloc()    free list -> caller (generation still even)
 *   wt_handle_publish()  generation + 1 (odd): the id is live
 *   wt_handle_retire()   generation + 1 (even): every copy of the id is stale
 *   wt_handle_release()  back on the free list; reused LIFO
 * publish and retire are made under the object's lock, and every operation
 * checks wt_handle_live() under that same lock, so an operation either runs
 * wholly before the retire or sees a stale id. The lock must therefore be
 * usable in a zeroed slot and is never re-initialised.
 */
#ifndef WT_HANDLE_H
#define WT_HANDLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pthread.h>

#define HT_CHUNK_SHIFT 10 /* 1024 objects per chunk */
#define HT_CHUNK_SIZE  (1u << HT_CHUNK_SHIFT)
#define HT_MAX_CHUNKS  (1u << 14) /* 16 Mi objects per table */

/* The first member of every object a table holds. */
struct handle {
    _Atomic uint32_t gen; /* odd: live; even: free; written under the object's lock */
    uint32_t next_free;   /* index + 1 of the next free slot (free list, under t->lock) */
};

struct handle_table {
    size_t size;  /* bytes per object: sizeof, a multiple of align */
    size_t align; /* alignof the object type */
    /* Published with release once zeroed; never freed (see the file comment). */
    _Atomic(unsigned char *) chunks[HT_MAX_CHUNKS];
    /* A mutex, not a spinlock: growing allocates under it. Taken once per
     * alloc and release, never on an operation's path. */
    pthread_mutex_t lock;
    uint32_t nchunks;   /* under lock */
    uint32_t free_head; /* index + 1 of the first free slot, 0: none; under lock */
    uint32_t nlive;     /* allocated and not yet released; under lock */
};

/* A table of objects of type T, ready to use (a static object). */
#define WT_HANDLE_TABLE_INIT(T)                                                    \
    {                                                                              \
        .size = sizeof(T), .align = _Alignof(T), .lock = PTHREAD_MUTEX_INITIALIZER \
    }

/*
 * A free slot, zeroed on its first use and as the last owner left it
 * afterwards, except for its header; *@id receives the id it will have once
 * published. NULL if out of memory or out of slots. Any thread.
 */
void *wt_handle_alloc(struct handle_table *t, uint64_t *id);

/* Make @h's id live. The caller has initialised the object and holds its
 * lock (or the release below orders the initialisation for lock-free
 * readers, who load the generation with acquire). */
static inline void wt_handle_publish(struct handle *h)
{
    uint32_t g = atomic_load_explicit(&h->gen, memory_order_relaxed); /* only we write it now */
    /* Release pairs with the acquire in wt_handle_live(). */
    atomic_store_explicit(&h->gen, g + 1, memory_order_release);
}

/* Make every copy of @h's id stale. The caller holds the object's lock. */
static inline void wt_handle_retire(struct handle *h)
{
    uint32_t g = atomic_load_explicit(&h->gen, memory_order_relaxed); /* only we write it now */
    /* Release pairs with the acquire in wt_handle_live(). */
    atomic_store_explicit(&h->gen, g + 1, memory_order_release);
}

/* Give the slot of @id back to the free list; it was retired. Any thread. */
void wt_handle_release(struct handle_table *t, uint64_t id);

/* The object @id points into, or NULL if @id cannot name one (0, an index
 * past the table, a free generation). The caller then checks
 * wt_handle_live() under the object's lock. Two loads, no lock. @size is
 * t->size, passed by a caller that knows it as a constant (a shift then). */
static inline void *wt_handle_lookup_sized(struct handle_table *t, uint64_t id, size_t size)
{
    uint32_t slot = (uint32_t)id;
    if (!(id >> 32 & 1) || slot == 0)
        return NULL;
    uint32_t index = slot - 1, chunk = index >> HT_CHUNK_SHIFT;
    if (chunk >= HT_MAX_CHUNKS)
        return NULL;
    /* Acquire pairs with the release in grow(): the chunk is zeroed. */
    unsigned char *c = atomic_load_explicit(&t->chunks[chunk], memory_order_acquire);
    return c ? c + (size_t)(index & (HT_CHUNK_SIZE - 1)) * size : NULL;
}

static inline void *wt_handle_lookup(struct handle_table *t, uint64_t id)
{
    return wt_handle_lookup_sized(t, id, t->size);
}

/* Does @id still name the object @h heads? Meaningful under the object's
 * lock (which orders publish and retire); without it, only a hint. */
static inline bool wt_handle_live(struct handle *h, uint64_t id)
{
    /* Acquire pairs with the release in publish/retire, for lock-free
     * callers; under the lock it costs nothing more on x86 or arm64. */
    return atomic_load_explicit(&h->gen, memory_order_acquire) == (uint32_t)(id >> 32);
}

/* Call @fn(object, id, @arg) on every live object; the caller makes sure no
 * other thread allocates, publishes or retires meanwhile. Returns how many. */
size_t wt_handle_each_live(struct handle_table *t, void (*fn)(void *obj, uint64_t id, void *arg),
                           void *arg);

#endif /* WT_HANDLE_H */
