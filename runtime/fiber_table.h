/*
 * fiber_table.h - the generational table behind weft_fiber handles: fiber
 * structs live in chunks that are never freed while the runtime runs, so a
 * handle always leads to readable memory, and its generation says whether
 * it still names the same fiber. Free structs are cached per worker.
 */
#ifndef WT_FIBER_TABLE_H
#define WT_FIBER_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include <pthread.h>

struct fiber;
struct worker;

#define FT_CHUNK_SHIFT 12 /* 4096 fibers per chunk */
#define FT_CHUNK_SIZE  (1u << FT_CHUNK_SHIFT)
#define FT_MAX_CHUNKS  16384 /* 64 Mi fibers */

struct fiber_table {
    _Atomic(struct fiber *) chunks[FT_MAX_CHUNKS]; /* published with release */
    /* A mutex, not a spinlock: growing the table allocates (and may mmap)
     * under it. Taken once per batch of CACHE_BATCH fibers, not per spawn. */
    pthread_mutex_t lock; /* guards everything below */
    uint32_t nchunks;
    struct fiber *free; /* global free list, shared by plain threads and overflow */
    size_t nfree;
    uint32_t gen_base; /* first generation of new structs (see below) */
};

/* Per-worker cache of free fiber structs (owner only). */
struct fiber_cache {
    struct fiber *head;
    uint32_t n;
};

/* Handles outlive a runtime: a table starts its generations above every
 * generation the previous table issued (a process-wide high-water mark that
 * wt_fiber_table_fini() raises), so an old handle is -ESRCH, never a live
 * fiber of the new runtime. */
void wt_fiber_table_init(struct fiber_table *ft);
void wt_fiber_table_fini(struct fiber_table *ft);

/* A free fiber struct with its generation set and FREE cleared; @c is the
 * calling worker's cache or NULL on a plain thread. NULL if out of memory. */
struct fiber *wt_fiber_alloc(struct fiber_table *ft, struct fiber_cache *c);

/* Give @f back: bumps its generation, so every handle to it goes stale. */
void wt_fiber_release(struct fiber_table *ft, struct fiber_cache *c, struct fiber *f);

/* The fiber a handle id points into, or NULL if the id cannot be one. The
 * caller still checks the generation. */
struct fiber *wt_fiber_lookup(struct fiber_table *ft, uint64_t id);

/* Call @fn on every fiber struct ever allocated (workers stopped). */
void wt_fiber_table_each(struct fiber_table *ft, void (*fn)(struct fiber *f, void *arg), void *arg);

#endif /* WT_FIBER_TABLE_H */
