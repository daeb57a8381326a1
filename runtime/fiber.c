/*
 * fiber.c - a fiber's life through the API: spawn, join, detach, self, and
 * the scheduler's end of its exit. The protocol on fiber->sync is in fiber.h;
 * queues and switching are scheduler.c's.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "deadlock.h"
#include "debug.h"
#include "detsched.h"
#include "fiber.h"
#include "fiber_table.h"
#include "fls.h"
#include "os.h"
#include "runtime.h"
#include "scheduler.h"
#include "stack.h"
#include "wait.h"
#include "worker.h"

static_assert(offsetof(struct fiber, index) + sizeof(uint32_t) <= 64,
              "spawn, first run and join must touch one cache line of a fiber");

void **wt_fiber_fls(const struct fiber *f)
{
    return (void **)(f->stack->lo + f->stack->size - WEFT_KEYS_MAX * sizeof(void *));
}

static struct fiber_cache *cache_of(struct worker *w)
{
    return w ? &w->fibers : NULL;
}

int weft_spawn(weft_fiber *out, weft_fn fn, void *arg, const weft_fiber_attr *attr)
{
    wt_det_chaos_point(); /* WEFT_SCHED=chaos */
    return wt_fiber_spawn(out, fn, arg, attr, false, __builtin_return_address(0));
}

int wt_fiber_spawn(weft_fiber *out, weft_fn fn, void *arg, const weft_fiber_attr *attr, bool root,
                   const void *site)
{
    size_t stack_size = 0, namelen = 0;
    const char *name = NULL;
    bool detached = false;
    if (attr) {
        stack_size = attr->stack_size;
        name = attr->name;
        detached = attr->detached;
    }
    if (!fn || (!out && !detached))
        return -EINVAL;
    if (stack_size) {
        int r = wt_stack_check_size(stack_size, &stack_size);
        if (r)
            return r;
    }
    if (name) {
        namelen = strnlen(name, WEFT_NAME_MAX);
        if (namelen == WEFT_NAME_MAX)
            return -ENAMETOOLONG;
    }

    struct worker *w = wt_worker_self();
    if (w ? !wt_rt_running() : wt_foreign_enter() != 0)
        return -ECANCELED;
    int r = 0;
    struct fiber *f = wt_fiber_alloc(wt_rt.ft, cache_of(w));
    if (!f) {
        r = -ENOMEM;
        goto out;
    }
    f->fn = fn;
    f->arg = arg;
    f->spawn_site = site;
    f->stack = NULL;
    f->stack_size = stack_size == wt_rt.stacks.default_size ? 0 : (uint32_t)stack_size;
    uint64_t s = atomic_load_explicit(&f->sync, memory_order_relaxed);
    if (namelen) {
        wt_fiber_set_name(f, name, namelen);
        s |= FIBER_NAMED;
    }
    if (detached)
        s |= FIBER_CLAIMED | FIBER_DETACHED;
    /* Relaxed: published with the fiber by the queue push below. */
    atomic_store_explicit(&f->sync, s, memory_order_relaxed);
    if (out)
        *out = wt_fiber_handle(f, s);
    if (w) {
        wt_count(&w->live_delta, 1);
        WT_STAT(w, spawns);
        wt_sched_spawn(w, f); /* work-first may switch: w is stale after this */
    } else {
        atomic_fetch_add_explicit(&wt_rt.foreign_live, 1, memory_order_relaxed);
        wt_stat_inc_shared(&wt_rt.shared_stats.spawns);
        if (!root)
            wt_deadlock_note_foreign();
        wt_sched_inject(&wt_rt, f);
    }
out:
    if (!w)
        wt_foreign_leave();
    return r;
}

/* Take the right to reap @f, named by handle @id, adding @flags (DETACHED
 * for detach). On success *@seen holds sync as it was before the claim. */
static int claim(struct fiber *f, uint64_t id, uint32_t flags, uint64_t *seen)
{
    uint32_t hgen = (uint32_t)(id >> 32);
    /* Acquire pairs with the release in wt_fiber_release()/finish_exit. */
    uint64_t s = atomic_load_explicit(&f->sync, memory_order_acquire);
    for (;;) {
        uint32_t gen = FIBER_GEN(s);
        if (gen != hgen)
            return hgen != 0 && hgen < gen ? -ESRCH : -EBADF;
        if (s & FIBER_FREE)
            return -EBADF;
        if (s & FIBER_CLAIMED)
            return -ESRCH;
        /* acq_rel: acquire the result if EXITED is already set; release our
         * joiner/fwaiter write is done later, by the JOINWAIT CAS. */
        if (atomic_compare_exchange_weak_explicit(&f->sync, &s, s | FIBER_CLAIMED | flags,
                                                  memory_order_acq_rel, memory_order_acquire)) {
            *seen = s;
            return 0;
        }
    }
}

/* The joiner's side once @f has exited: result out, struct back. */
static int collect(struct worker *w, struct fiber *f, void **result)
{
    /* Relaxed: the exit that set NOSTACK is already acquired by our caller. */
    int err = atomic_load_explicit(&f->sync, memory_order_relaxed) & FIBER_NOSTACK ? -ENOMEM : 0;
    if (!err && result)
        *result = f->result;
    wt_fiber_release(wt_rt.ft, cache_of(w), f);
    return err;
}

/* Park commit of a joining fiber: publish JOINWAIT unless @f exited first. */
static bool join_commit(struct fiber *self, void *arg)
{
    (void)self;
    struct fiber *f = arg;
    uint64_t s = atomic_load_explicit(&f->sync, memory_order_acquire);
    while (!(s & FIBER_EXITED)) {
        /* Release publishes f->joiner; pairs with the acq_rel fetch_or in
         * wt_fiber_finish_exit(). Acquire on failure: the result. */
        if (atomic_compare_exchange_weak_explicit(&f->sync, &s, s | FIBER_JOINWAIT,
                                                  memory_order_acq_rel, memory_order_acquire))
            return true;
    }
    return false;
}

static int join_foreign(struct fiber *f, uint64_t id, void **result)
{
    bool root =
        wt_rt.main_mode && id == atomic_load_explicit(&wt_rt.main_root, memory_order_relaxed);
    if (!root)
        wt_deadlock_note_foreign();
    uint64_t s;
    int r = claim(f, id, 0, &s);
    if (r)
        return r;
    if (!(s & FIBER_EXITED)) {
        struct foreign_waiter fw = {.done = 0, .err = 0};
        f->fwaiter = &fw;
        s |= FIBER_CLAIMED;
        bool parked = false;
        while (!(s & FIBER_EXITED)) {
            if (atomic_compare_exchange_weak_explicit(&f->sync, &s,
                                                      s | FIBER_JOINWAIT | FIBER_FOREIGN,
                                                      memory_order_acq_rel, memory_order_acquire)) {
                parked = true;
                break;
            }
        }
        if (parked) {
            /* weft_main's thread now waits: if every fiber is already
             * blocked, the workers went idle before this made the deadlock
             * complete. Have them look again (deadlock.c). */
            if (root)
                wt_sched_wake_all(&wt_rt);
            /* Acquire pairs with the release store of done by the exiting
             * side (or by shutdown, which also sets err). */
            while (atomic_load_explicit(&fw.done, memory_order_acquire) == 0)
                wt_os_wait(&fw.done, 0, -1);
            if (fw.err)
                return fw.err; /* shutdown: f belongs to the runtime's teardown */
        }
    }
    return collect(NULL, f, result);
}

int weft_join(weft_fiber h, void **result)
{
    struct worker *w = wt_worker_self();
    if (!w) {
        if (wt_foreign_enter() != 0)
            return -ECANCELED;
        struct fiber *f = wt_fiber_lookup(wt_rt.ft, h.id);
        int r = f ? join_foreign(f, h.id, result) : -EBADF;
        wt_foreign_leave();
        return r;
    }
    struct fiber *f = wt_fiber_lookup(wt_rt.ft, h.id);
    if (!f)
        return -EBADF;
    if (f == w->current &&
        wt_fiber_handle(f, atomic_load_explicit(&f->sync, memory_order_relaxed)).id == h.id)
        return -EDEADLK;
    uint64_t s;
    int r = claim(f, h.id, 0, &s);
    if (r)
        return r;
    if (!(s & FIBER_EXITED)) {
        struct fiber *self = w->current;
        /* Not a wait of wait.h: only described, for reports and dumps. */
        struct wait desc = {.f = self, .kind = WAITK_JOIN, .obj = f, .deadline = WEFT_FOREVER};
        f->joiner = self;
        atomic_store_explicit(&self->waiting, &desc, memory_order_release);
        wt_count(&w->blocked_delta, 1);
        w = wt_sched_park(w, join_commit, f);
        wt_count(&w->blocked_delta, -1);
        atomic_store_explicit(&self->waiting, NULL, memory_order_relaxed);
    }
    return collect(w, f, result);
}

int weft_detach(weft_fiber h)
{
    struct worker *w = wt_worker_self();
    if (!w && wt_foreign_enter() != 0)
        return -ECANCELED;
    struct fiber *f = wt_fiber_lookup(wt_rt.ft, h.id);
    uint64_t s;
    int r = f ? claim(f, h.id, FIBER_DETACHED, &s) : -EBADF;
    if (r == 0 && (s & FIBER_EXITED))
        wt_fiber_release(wt_rt.ft, cache_of(w), f); /* it ended first: we reap */
    if (!w)
        wt_foreign_leave();
    return r;
}

weft_fiber weft_self(void)
{
    struct worker *w = wt_worker_self();
    weft_fiber none = {0};
    if (!w || !w->current)
        return none;
    struct fiber *f = w->current;
    return wt_fiber_handle(f, atomic_load_explicit(&f->sync, memory_order_relaxed));
}

bool wt_fiber_publish_exit(struct worker *w, struct fiber *f)
{
    /* acq_rel: release the result to the reaper; acquire the joiner
     * pointer published with JOINWAIT. */
    wt_count(&w->live_delta, -1);
    uint64_t old = atomic_fetch_or_explicit(&f->sync, FIBER_EXITED, memory_order_acq_rel);
    if (old & FIBER_DETACHED)
        return true;
    if (old & FIBER_JOINWAIT) {
        if (old & FIBER_FOREIGN) {
            struct foreign_waiter *fw = f->fwaiter;
            /* Release pairs with the acquire load in join_foreign(). */
            atomic_store_explicit(&fw->done, 1, memory_order_release);
            wt_os_wake(&fw->done, 1);
        } else {
            wt_sched_ready(w, f->joiner);
        }
    }
    return false;
}

/* Relaxed, both: set before the spawn of any fiber they apply to, whose
 * queue push (release) and pick (acquire) order them before our loads. */
static _Atomic(weft_fn) lost_fn;
static _Atomic(void (*)(void *)) lost_cb;

void wt_fiber_set_lost_hook(weft_fn fn, void (*lost)(void *arg))
{
    atomic_store_explicit(&lost_cb, lost, memory_order_relaxed);
    atomic_store_explicit(&lost_fn, fn, memory_order_relaxed);
}

void wt_fiber_finish_exit(struct worker *w, struct fiber *f)
{
    WT_ASSERT(f->stack == NULL);
    weft_fn fn = f->fn; /* before the release below */
    void *arg = f->arg;
    if (wt_fiber_publish_exit(w, f)) {
        wt_fiber_release(w->rt->ft, &w->fibers, f);
        if (fn == atomic_load_explicit(&lost_fn, memory_order_relaxed))
            atomic_load_explicit(&lost_cb, memory_order_relaxed)(arg);
    }
}

_Noreturn void wt_fiber_main(void *arg)
{
    struct worker *w = arg;
    struct fiber *f = w->current;
    wt_san_landed(&f->san);
    wt_sched_landed(w);
    f->result = f->fn(f->arg);
    /* fn may have parked and resumed elsewhere: ask again. */
    if (f->fls_used)
        wt_fls_run_destructors(f);
    w = wt_worker_self();
    WT_ASSERT(w->current == f);
    wt_sched_exit(w);
}

void wt_fiber_fail_foreign_join(struct fiber *f, int err)
{
    uint64_t s = atomic_load_explicit(&f->sync, memory_order_acquire);
    if (!(s & FIBER_JOINWAIT) || !(s & FIBER_FOREIGN) || (s & FIBER_EXITED))
        return;
    /* Clear the bits first so that a later scan never touches the waiter
     * again once it has returned. */
    atomic_fetch_and_explicit(&f->sync, ~(uint64_t)(FIBER_JOINWAIT | FIBER_FOREIGN),
                              memory_order_acq_rel);
    struct foreign_waiter *fw = f->fwaiter;
    fw->err = err;
    /* Release pairs with the acquire load in join_foreign(). */
    atomic_store_explicit(&fw->done, 1, memory_order_release);
    wt_os_wake(&fw->done, 1);
}

static void abandon_one(struct fiber *f, void *arg)
{
    size_t *live = arg;
    uint64_t s = atomic_load_explicit(&f->sync, memory_order_acquire);
    if (s & FIBER_FREE)
        return;
    wt_fiber_fail_foreign_join(f, -ECANCELED);
    if (f->stack) {
        wt_san_fiber_fini(&f->san);
        f->stack = NULL; /* its region is unmapped by wt_stack_global_fini() */
    }
    (*live)++;
}

size_t wt_fiber_abandon_all(void)
{
    size_t live = 0;
    wt_fiber_table_each(wt_rt.ft, abandon_one, &live);
    return live;
}
