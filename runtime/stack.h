/*
 * stack.h - fiber stacks: mmap'd with a guard below each, cached per worker
 * so that binding a stack to a fiber makes no system call in steady state.
 *
 * Guard modes, chosen once at start-up (enum weft_guard):
 *  - madvise:  stacks are carved from large MAP_NORESERVE regions and each
 *              guard page is installed with MADV_GUARD_INSTALL, which does
 *              not split the mapping (Linux 6.13+; probed, since qemu-user
 *              accepts the call without enforcing it).
 *  - mprotect: a PROT_NONE page per stack; each splits the region's mapping,
 *              so they are budgeted against vm.max_map_count, and stacks
 *              past the budget fall back to
 *  - canary:   no guard page; a pattern at the bottom of the stack is
 *              checked at every switch away from the fiber.
 * Default-size stacks are pooled; other sizes are mapped one by one and
 * unmapped when released.
 */
#ifndef WT_STACK_H
#define WT_STACK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spinlock.h"
#include "weft.h"

struct region;

/* Bookkeeping of one stack; kept off the stack itself so that returning the
 * stack's pages to the kernel never loses it. */
struct stack {
    struct stack *next; /* pool link */
    char *lo;           /* lowest usable byte (just above the guard, if any) */
    size_t size;        /* usable bytes; the stack's top is lo + size */
    struct region *region;
    uint8_t guard; /* enum weft_guard of this stack: MADVISE, MPROTECT or CANARY */
    bool warm;     /* pages not yet returned to the kernel */
    unsigned vg_id;
};

/* Per-worker cache of default-size stacks (owner only). */
struct stack_pool {
    struct stack *head;
    uint32_t n;
};

struct stack_global {
    struct spinlock lock; /* guards everything below */
    struct stack *free;   /* cold default-size stacks shared by all workers */
    size_t nfree;
    _Atomic bool warm_hint; /* the free list may hold warm stacks; read unlocked */
    struct region *regions; /* every mapping, for shutdown */
    size_t mprotect_guards; /* guard pages made with mprotect so far */
    size_t mprotect_budget;
    size_t default_size; /* usable bytes of a pooled stack, page multiple */
    enum weft_guard mode;
};

/* Decide the guard mode (@want: WEFT_GUARD_DEFAULT for the best available)
 * and the pooled size. Returns 0, -ENOTSUP if @want is unavailable, -ENOMEM
 * if the probe of MADV_GUARD_INSTALL could not be mapped. */
int wt_stack_global_init(struct stack_global *g, size_t default_size, enum weft_guard want);
/* Unmap everything, used or not (workers stopped). */
void wt_stack_global_fini(struct stack_global *g);

/* A stack of @size usable bytes (0: default), or NULL when out of memory. */
struct stack *wt_stack_get(struct stack_global *g, struct stack_pool *p, size_t size);
/* Give @s back to @p (or unmap it, if not pooled). */
void wt_stack_put(struct stack_global *g, struct stack_pool *p, struct stack *s);
/* An idle worker returns the pages of its spare stacks, and of the global
 * pool's, to the kernel. */
void wt_stack_trim(struct stack_global *g, struct stack_pool *p);
/* Return a worker's pool to the global one. */
void wt_stack_pool_drain(struct stack_global *g, struct stack_pool *p);

/* Round a requested size up to whole pages; -EINVAL if out of range. */
int wt_stack_check_size(size_t size, size_t *rounded);

/* Canary mode: is the pattern at the bottom of @s intact? */
bool wt_stack_canary_ok(const struct stack *s);
static inline bool wt_stack_needs_canary_check(const struct stack *s)
{
    return s->guard == WEFT_GUARD_CANARY;
}

/* Does @addr lie in the guard page below @s? */
bool wt_stack_in_guard(const struct stack *s, const void *addr);

const char *wt_stack_mode_name(enum weft_guard mode);

#endif /* WT_STACK_H */
