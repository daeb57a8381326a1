/*
 * fiber.h - struct fiber and its life: spawn, first run, exit, join, detach.
 *
 * A fiber's state is split in two. Who may run it is told by which queue
 * holds it (scheduler's business, sched.c). Who may reap it is one atomic
 * word, fiber->sync: generation (high 32 bits) and the flags below. Every
 * transition is a CAS or fetch_or on that word, so a stale handle (old
 * generation) can never claim a reused fiber.
 *
 *   state          sync flags              owner of struct / stack
 *   free           FREE                    a free list / none
 *   queued         -                       the queue holding it / none until first run
 *   running        -                       its worker / bound stack
 *   parked         -                       the wait it parked on (joinee, the timers)
 *   exited         EXITED (+CLAIMED...)    the joiner (or reaper if DETACHED) / released
 *
 * CLAIMED is set once, by the one join or detach that wins; DETACHED says
 * which; JOINWAIT says a joiner is parked in fiber->joiner (FOREIGN: a plain
 * thread waits in fiber->fwaiter). EXITED is set by the scheduler after the
 * fiber has left its stack for good; whoever sees both EXITED and CLAIMED
 * last releases the struct (fiber_table.c bumps the generation).
 */
#ifndef WT_FIBER_H
#define WT_FIBER_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "context.h"
#include "sanitizer.h"
#include "weft.h"

struct stack;
struct worker;

enum {
    FIBER_FREE = 1u << 0,
    FIBER_CLAIMED = 1u << 1,
    FIBER_DETACHED = 1u << 2,
    FIBER_JOINWAIT = 1u << 3,
    FIBER_FOREIGN = 1u << 4,
    FIBER_EXITED = 1u << 5,
    FIBER_NOSTACK = 1u << 6,   /* it ended without running: no stack could be had */
    FIBER_NAMED = 1u << 7,     /* name[] holds its name */
    FIBER_CANCELLED = 1u << 8, /* weft_cancel() named it: blocking calls fail (wait.c) */
};

#define FIBER_GEN(s)   ((uint32_t)((s) >> 32))
#define FIBER_FLAGS(s) ((uint32_t)(s))

/* A plain thread blocked in weft_join(): lives on that thread's stack. */
struct foreign_waiter {
    _Atomic uint32_t done; /* 0 while waiting; futex word */
    int err;               /* -ECANCELED if shutdown woke it */
};

/* The first cache line holds all that spawn, the first run and join touch,
 * so that a million queued fibers cost one line each on those paths. */
struct fiber {
    alignas(64) struct wt_context ctx; /* switch.S reads it: must stay first */
    struct fiber *next;                /* link in exactly one queue or free list */
    _Atomic uint64_t sync;             /* generation and FIBER_* flags, see above */
    weft_fn fn;
    void *arg;
    union {
        void *result;           /* set when it returns */
        const void *spawn_site; /* until then: where weft_spawn was called from */
    };
    struct stack *stack; /* NULL until first run; released at exit */
    uint32_t stack_size; /* requested usable size; 0: the default (<= WEFT_STACK_MAX) */
    uint32_t index;      /* slot in the fiber table */
    /* Cold: parking, fiber-local storage, sanitizers, debugging. */
    union {
        struct fiber *joiner;           /* JOINWAIT without FOREIGN */
        struct foreign_waiter *fwaiter; /* JOINWAIT with FOREIGN */
    };
    _Atomic uint64_t wait; /* claim word of its current wait (wait.h); never reset */
    /* That wait while it blocks, for dumps and the deadlock report: stored
     * with release once the wait is filled in, loaded with acquire. */
    _Atomic(struct wait *) waiting;
    bool fls_used;            /* the fiber-local slots (wt_fiber_fls) are initialised */
    struct wt_san san;        /* set when a stack is bound */
    char name[WEFT_NAME_MAX]; /* valid if FIBER_NAMED */
};

/* Its fiber-local slots: WEFT_KEYS_MAX pointers at the top of its stack
 * (bind_stack leaves room), valid while it has a stack. */
void **wt_fiber_fls(const struct fiber *f);

/* Store @len bytes of @name (and a NUL) as @f's name. Byte-wise relaxed
 * atomic stores: the stall detector may be copying the name of the fiber
 * that last used this struct (wt_fiber_copy_name), and must not race. */
static inline void wt_fiber_set_name(struct fiber *f, const char *name, size_t len)
{
    for (size_t i = 0; i < len; i++)
        __atomic_store_n(&f->name[i], name[i], __ATOMIC_RELAXED);
    __atomic_store_n(&f->name[len], '\0', __ATOMIC_RELAXED);
}

/* Copy @f's name into @buf (WEFT_NAME_MAX bytes) with relaxed atomic loads,
 * for a reader on another thread whose fiber may end and be reused
 * meanwhile: the copy may then be stale or mixed, never a data race. */
static inline void wt_fiber_copy_name(const struct fiber *f, char *buf)
{
    uint64_t s = atomic_load_explicit(&((struct fiber *)f)->sync, memory_order_relaxed);
    if (!(s & FIBER_NAMED)) {
        memcpy(buf, "unnamed", 8);
        return;
    }
    for (size_t i = 0; i < WEFT_NAME_MAX; i++)
        buf[i] = __atomic_load_n(&f->name[i], __ATOMIC_RELAXED);
    buf[WEFT_NAME_MAX - 1] = '\0';
}

/* Its name, for messages. */
static inline const char *wt_fiber_name(const struct fiber *f)
{
    uint64_t s = atomic_load_explicit(&f->sync, memory_order_relaxed);
    return (s & FIBER_NAMED) ? f->name : "unnamed";
}

static inline weft_fiber wt_fiber_handle(const struct fiber *f, uint64_t sync)
{
    weft_fiber h = {((uint64_t)FIBER_GEN(sync) << 32) | ((uint64_t)f->index + 1)};
    return h;
}

/* Hand a finished fiber's result over: set EXITED, then ready its parked
 * joiner (on @w's runnext) or wake a plain thread in weft_join(). Returns
 * true if @f is detached, so that releasing the struct falls to the caller.
 * Unless it returns true, @f may be released by its joiner at any moment
 * after this call: the caller must not touch it again. */
bool wt_fiber_publish_exit(struct worker *w, struct fiber *f);

/* End a fiber that never got a stack (it could not start). */
void wt_fiber_finish_exit(struct worker *w, struct fiber *f);

/* For a runtime-internal body whose detached fibers report their own end
 * (group.c's members): a detached fiber running @fn that ends without a
 * stack has @lost(its arg) called on the worker, instead of vanishing
 * unseen (its waiters would wait forever). One such body at most. */
void wt_fiber_set_lost_hook(weft_fn fn, void (*lost)(void *arg));

/* Entry point of every fiber (wt_context_init's @entry). */
_Noreturn void wt_fiber_main(void *arg);

/* Wake the plain thread blocked in weft_join() on @f, if one is, making
 * that join return @err; @f then belongs to shutdown. Workers must be idle
 * or stopped. */
void wt_fiber_fail_foreign_join(struct fiber *f, int err);

/* weft_spawn; @root: weft_main's root fiber, not counted as a plain
 * thread's doing by the deadlock check. */
int wt_fiber_spawn(weft_fiber *out, weft_fn fn, void *arg, const weft_fiber_attr *attr, bool root,
                   const void *site);

/* Wake the plain threads blocked in weft_join() with -ECANCELED; the
 * workers must already be stopped. Returns how many fibers were still live. */
size_t wt_fiber_abandon_all(void);

#endif /* WT_FIBER_H */
