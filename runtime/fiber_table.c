/*
 * fiber_table.c - the generational fiber table of fiber_table.h. Chunks are
 * allocated under the table's lock and published with a release store, so a
 * lookup (any thread, no lock) sees either NULL or a fully initialised chunk.
 */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "fiber.h"
#include "fiber_table.h"

/* Generation high-water mark across runtimes; init and shutdown are not
 * concurrent (the runtime state machine serialises them). */
static uint32_t next_gen_base = 1;

enum {
    CACHE_MAX = 256,  /* a worker keeps at most this many free structs */
    CACHE_BATCH = 64, /* moved to or from the table at a time */
};

void wt_fiber_table_init(struct fiber_table *ft)
{
    for (size_t i = 0; i < FT_MAX_CHUNKS; i++)
        atomic_init(&ft->chunks[i], NULL);
    pthread_mutex_init(&ft->lock, NULL);
    ft->nchunks = 0;
    ft->free = NULL;
    ft->nfree = 0;
    ft->gen_base = next_gen_base;
}

void wt_fiber_table_fini(struct fiber_table *ft)
{
    uint32_t high = ft->gen_base;
    for (uint32_t i = 0; i < ft->nchunks; i++) {
        struct fiber *c = atomic_load_explicit(&ft->chunks[i], memory_order_relaxed);
        for (uint32_t j = 0; j < FT_CHUNK_SIZE; j++) {
            uint32_t gen = FIBER_GEN(atomic_load_explicit(&c[j].sync, memory_order_relaxed));
            if (gen > high)
                high = gen;
        }
        wt_free(c);
    }
    next_gen_base = high + 1 ? high + 1 : 1; /* wraps after 2^32 reuses of one slot */
    pthread_mutex_destroy(&ft->lock);
    ft->nchunks = 0;
    ft->free = NULL;
    ft->nfree = 0;
}

/* Allocate one more chunk and put its fibers on the free list. Caller holds
 * ft->lock. Returns false when out of memory or slots. */
static bool grow(struct fiber_table *ft)
{
    if (ft->nchunks == FT_MAX_CHUNKS)
        return false;
    /* Aligned like struct fiber, so each fiber's hot fields share one line. */
    struct fiber *chunk = wt_aligned_alloc(alignof(struct fiber), FT_CHUNK_SIZE * sizeof *chunk);
    if (!chunk)
        return false;
    memset(chunk, 0, FT_CHUNK_SIZE * sizeof *chunk);
    uint32_t base = ft->nchunks << FT_CHUNK_SHIFT;
    for (uint32_t i = FT_CHUNK_SIZE; i-- > 0;) {
        struct fiber *f = &chunk[i];
        f->index = base + i;
        atomic_init(&f->sync, ((uint64_t)ft->gen_base << 32) | FIBER_FREE);
        f->next = ft->free;
        ft->free = f;
    }
    ft->nfree += FT_CHUNK_SIZE;
    /* Release pairs with the acquire load in wt_fiber_lookup(). */
    atomic_store_explicit(&ft->chunks[ft->nchunks], chunk, memory_order_release);
    ft->nchunks++;
    return true;
}

/* Move up to @n free structs from the table to @c, or hand one back if @c
 * is NULL. Returns the struct taken for a NULL @c. */
static struct fiber *take(struct fiber_table *ft, struct fiber_cache *c, uint32_t n)
{
    struct fiber *got = NULL;
    pthread_mutex_lock(&ft->lock);
    if (!ft->free)
        grow(ft);
    if (!c) {
        got = ft->free;
        if (got) {
            ft->free = got->next;
            ft->nfree--;
        }
    } else {
        while (n-- && ft->free) {
            struct fiber *f = ft->free;
            ft->free = f->next;
            ft->nfree--;
            f->next = c->head;
            c->head = f;
            c->n++;
        }
    }
    pthread_mutex_unlock(&ft->lock);
    return got;
}

struct fiber *wt_fiber_alloc(struct fiber_table *ft, struct fiber_cache *c)
{
    struct fiber *f;
    if (c) {
        if (!c->head)
            take(ft, c, CACHE_BATCH);
        f = c->head;
        if (!f)
            return NULL;
        c->head = f->next;
        c->n--;
        /* The list is a pointer chase through cold structs when many
         * fibers are outstanding: start fetching the next one now. */
        if (c->head)
            __builtin_prefetch(c->head, 1);
    } else {
        f = take(ft, NULL, 1);
        if (!f)
            return NULL;
    }
    uint64_t s = atomic_load_explicit(&f->sync, memory_order_relaxed);
    /* Relaxed: the fiber is published later by a queue push (release). */
    atomic_store_explicit(&f->sync, s & ~(uint64_t)0xffffffffu, memory_order_relaxed);
    f->next = NULL;
    return f;
}

void wt_fiber_release(struct fiber_table *ft, struct fiber_cache *c, struct fiber *f)
{
    uint32_t gen = FIBER_GEN(atomic_load_explicit(&f->sync, memory_order_relaxed)) + 1;
    if (gen == 0)
        gen = 1; /* generation 0 is never issued */
    /* Release: a late claim() that reads the new generation fails cleanly. */
    atomic_store_explicit(&f->sync, ((uint64_t)gen << 32) | FIBER_FREE, memory_order_release);
    if (c && c->n < CACHE_MAX) {
        f->next = c->head;
        c->head = f;
        c->n++;
        return;
    }
    pthread_mutex_lock(&ft->lock);
    f->next = ft->free;
    ft->free = f;
    ft->nfree++;
    if (c) {
        /* Full cache: hand a batch back so it cannot hoard the table. */
        for (uint32_t i = 0; i < CACHE_BATCH && c->head; i++) {
            struct fiber *g = c->head;
            c->head = g->next;
            c->n--;
            g->next = ft->free;
            ft->free = g;
            ft->nfree++;
        }
    }
    pthread_mutex_unlock(&ft->lock);
}

struct fiber *wt_fiber_lookup(struct fiber_table *ft, uint64_t id)
{
    uint64_t slot = id & 0xffffffffu;
    if (slot == 0)
        return NULL;
    uint64_t index = slot - 1;
    uint64_t chunk = index >> FT_CHUNK_SHIFT;
    if (chunk >= FT_MAX_CHUNKS)
        return NULL;
    struct fiber *c = atomic_load_explicit(&ft->chunks[chunk], memory_order_acquire);
    return c ? &c[index & (FT_CHUNK_SIZE - 1)] : NULL;
}

void wt_fiber_table_each(struct fiber_table *ft, void (*fn)(struct fiber *f, void *arg), void *arg)
{
    for (uint32_t i = 0; i < ft->nchunks; i++) {
        struct fiber *c = atomic_load_explicit(&ft->chunks[i], memory_order_acquire);
        for (uint32_t j = 0; j < FT_CHUNK_SIZE; j++)
            fn(&c[j], arg);
    }
}
