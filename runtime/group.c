/*
 * group.c - weft_group (structured concurrency) and weft_map on top of it.
 *
 * A group is a spinlock, two lists of member records and a wait queue.
 * Each member is a detached fiber running member_main() on a malloc'd
 * record: the record sits on the `running` list from weft_group_go() until
 * the task returns, then moves to the `done` FIFO, where weft_group_wait_any
 * reports it or weft_group_wait/destroy free it (a member that never gets a
 * stack ends there too, with -ENOMEM: member_lost). Waiters of any kind queue
 * on one wait queue and are all woken at each member's end; each re-checks
 * its own condition (members end once each, so that costs one pass per end).
 *
 * Cancellation: a member learns its handle only when it starts (the parent
 * may not get it back before a work-first child has already finished), so
 * weft_group_cancel cancels the started members by handle, and sets a flag
 * that members read under the same lock when they start.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "alloc.h"
#include "fiber.h"
#include "spinlock.h"
#include "wait.h"
#include "weft.h"
#include "worker.h"

struct member {
    struct member *prev, *next; /* running list (both), done FIFO (next) */
    struct group *g;
    weft_task_fn fn;
    void *arg;
    weft_fiber h; /* valid once started */
    int index;
    int err;
    bool started;
};

struct group {
    struct spinlock lock;
    bool cancelled;
    unsigned flags;
    int nrunning; /* spawned and not yet ended */
    int nspawned; /* indexes handed out */
    struct member *running;
    struct member *done_head, *done_tail;
    struct wait_queue waiters;
};

static_assert(sizeof(struct group) <= sizeof(weft_group), "grow weft_group.opaque_");
static_assert(alignof(struct group) <= alignof(weft_group), "weft_group is under-aligned");

static struct group *group_of(weft_group *g)
{
    return (struct group *)(void *)g;
}

int weft_group_init(weft_group *g, unsigned flags)
{
    if (!g || (flags & ~WEFT_GROUP_CANCEL_ON_ERROR))
        return -EINVAL;
    *g = (weft_group)WEFT_GROUP_INIT;
    group_of(g)->flags = flags;
    return 0;
}

static void unlink_running(struct group *g, struct member *m)
{
    if (m->prev)
        m->prev->next = m->next;
    else
        g->running = m->next;
    if (m->next)
        m->next->prev = m->prev;
}

/* Cancel every started member; later ones see the flag. Caller holds the
 * lock (weft_cancel never parks). */
static void cancel_locked(struct group *g)
{
    g->cancelled = true;
    for (struct member *m = g->running; m; m = m->next)
        if (m->started)
            (void)weft_cancel(m->h); /* -ESRCH: it is ending; fine */
}

/* Claim every waiter; the caller finishes them once it has unlocked. */
static struct waiter *claim_all_locked(struct group *g)
{
    struct waiter *claimed = NULL, *n;
    while ((n = wt_wq_claim_first(&g->waiters))) {
        n->next = claimed;
        claimed = n;
    }
    return claimed;
}

static void finish_all(struct waiter *n)
{
    while (n) {
        struct waiter *next = n->next; /* read before: finish frees it */
        wt_waiter_finish(n);
        n = next;
    }
}

/* @m ended with @err: move it to the done FIFO and wake the waiters. */
static void member_end(struct member *m, int err)
{
    struct group *g = m->g;
    wt_spin_lock(&g->lock);
    unlink_running(g, m);
    m->err = err;
    m->next = NULL;
    if (g->done_tail)
        g->done_tail->next = m;
    else
        g->done_head = m;
    g->done_tail = m;
    g->nrunning--;
    if (err && (g->flags & WEFT_GROUP_CANCEL_ON_ERROR) && !g->cancelled)
        cancel_locked(g);
    struct waiter *wake = claim_all_locked(g);
    wt_spin_unlock(&g->lock);
    /* The group may be destroyed from here on: touch only the waiters,
     * which stay valid until finished. */
    finish_all(wake);
}

static void *member_main(void *arg)
{
    struct member *m = arg;
    struct group *g = m->g;
    wt_spin_lock(&g->lock);
    m->h = weft_self();
    m->started = true;
    bool cancelled = g->cancelled;
    wt_spin_unlock(&g->lock);
    if (cancelled)
        (void)weft_cancel(weft_self());
    member_end(m, m->fn(m->arg));
    return NULL;
}

/* A member whose fiber could not start, for want of a stack (fiber.h's
 * lost hook, called on the worker): it ends with -ENOMEM, or the group
 * would wait for it forever. */
static void member_lost(void *arg)
{
    member_end(arg, -ENOMEM);
}

int weft_group_go(weft_group *pub, weft_task_fn fn, void *arg, const weft_fiber_attr *attr)
{
    if (!pub || !fn)
        return -EINVAL;
    struct group *g = group_of(pub);
    struct member *m = wt_alloc(sizeof *m);
    if (!m)
        return -ENOMEM;
    *m = (struct member){.g = g, .fn = fn, .arg = arg};
    wt_spin_lock(&g->lock);
    if (g->nspawned == INT32_MAX) {
        wt_spin_unlock(&g->lock);
        wt_free(m);
        return -EOVERFLOW;
    }
    m->index = g->nspawned++;
    g->nrunning++;
    m->next = g->running;
    if (g->running)
        g->running->prev = m;
    g->running = m;
    wt_spin_unlock(&g->lock);

    weft_fiber_attr a = attr ? *attr : (weft_fiber_attr){0};
    a.detached = true;
    int index = m->index;
    wt_fiber_set_lost_hook(member_main, member_lost);
    int r = wt_fiber_spawn(NULL, member_main, m, &a, false, __builtin_return_address(0));
    if (r == 0)
        return index; /* m may be gone already */
    wt_spin_lock(&g->lock);
    unlink_running(g, m);
    g->nrunning--;
    struct waiter *wake = claim_all_locked(g); /* a wait for all may be done now */
    wt_spin_unlock(&g->lock);
    finish_all(wake);
    wt_free(m);
    return r;
}

/* Block until @done(g) holds; returns 0 with the lock held, or an error
 * code without it. */
static int block_until(struct group *g, bool (*done)(const struct group *g), int64_t deadline)
{
    wt_spin_lock(&g->lock);
    while (!done(g)) {
        struct worker *w = wt_worker_self();
        struct wait wt;
        int r = wt_wait_begin(&wt, w, WAITK_GROUP, g);
        if (r) {
            wt_spin_unlock(&g->lock);
            return r;
        }
        struct waiter n;
        wt_waiter_init(&n, &wt, NULL, 0);
        wt_wq_push(&g->waiters, &n);
        wt_spin_unlock(&g->lock);
        r = wt_wait_block(&wt, w ? &w : NULL, deadline);
        wt_spin_lock(&g->lock);
        wt_wq_remove(&g->waiters, &n);
        if (r && !done(g)) {
            wt_spin_unlock(&g->lock);
            return r;
        }
    }
    return 0;
}

static bool all_ended(const struct group *g)
{
    return g->nrunning == 0;
}

static bool some_done(const struct group *g)
{
    return g->done_head != NULL || g->nrunning == 0;
}

/* Free the done FIFO; returns the first nonzero code in it. Caller holds
 * the lock. */
static int drain_done_locked(struct group *g, struct member **out)
{
    int first = 0;
    struct member *m = g->done_head;
    for (struct member *p = m; p; p = p->next)
        if (p->err && !first)
            first = p->err;
    g->done_head = g->done_tail = NULL;
    *out = m;
    return first;
}

static void free_members(struct member *m)
{
    while (m) {
        struct member *next = m->next;
        wt_free(m);
        m = next;
    }
}

static bool bad_deadline(int64_t deadline)
{
    return deadline < 0 && deadline != WEFT_FOREVER;
}

int weft_group_wait_until(weft_group *pub, int64_t deadline)
{
    if (!pub || bad_deadline(deadline))
        return -EINVAL;
    struct group *g = group_of(pub);
    int r = block_until(g, all_ended, deadline);
    if (r)
        return r;
    struct member *list;
    r = drain_done_locked(g, &list);
    wt_spin_unlock(&g->lock);
    free_members(list);
    return r;
}

int weft_group_wait(weft_group *g)
{
    return weft_group_wait_until(g, WEFT_FOREVER);
}

int weft_group_wait_any(weft_group *pub, int *index, int *err, int64_t deadline)
{
    if (!pub || bad_deadline(deadline))
        return -EINVAL;
    struct group *g = group_of(pub);
    int r = block_until(g, some_done, deadline);
    if (r)
        return r;
    struct member *m = g->done_head;
    if (m) {
        g->done_head = m->next;
        if (!g->done_head)
            g->done_tail = NULL;
    }
    wt_spin_unlock(&g->lock);
    if (!m)
        return -ECHILD;
    if (index)
        *index = m->index;
    if (err)
        *err = m->err;
    wt_free(m);
    return 0;
}

int weft_group_cancel(weft_group *pub)
{
    if (!pub)
        return -EINVAL;
    struct group *g = group_of(pub);
    wt_spin_lock(&g->lock);
    cancel_locked(g);
    wt_spin_unlock(&g->lock);
    return 0;
}

int weft_group_running(weft_group *pub)
{
    if (!pub)
        return -EINVAL;
    struct group *g = group_of(pub);
    wt_spin_lock(&g->lock);
    int n = g->nrunning;
    wt_spin_unlock(&g->lock);
    return n;
}

int weft_group_destroy(weft_group *pub)
{
    if (!pub)
        return -EINVAL;
    struct group *g = group_of(pub);
    wt_spin_lock(&g->lock);
    if (g->nrunning || !wt_wq_empty(&g->waiters)) {
        wt_spin_unlock(&g->lock);
        return -EBUSY;
    }
    struct member *list;
    (void)drain_done_locked(g, &list);
    unsigned flags = g->flags;
    wt_spin_unlock(&g->lock);
    free_members(list);
    *pub = (weft_group)WEFT_GROUP_INIT;
    group_of(pub)->flags = flags;
    return 0;
}

/* weft_map: chunks of the array as members of one group. */

struct map_chunk {
    char *base;
    size_t n, size;
    int (*fn)(void *elem, void *arg);
    void *arg;
};

static int map_chunk_run(void *arg)
{
    struct map_chunk *c = arg;
    for (size_t i = 0; i < c->n; i++) {
        if (weft_cancelled())
            return -ECANCELED;
        int r = c->fn(c->base + i * c->size, c->arg);
        if (r)
            return r;
    }
    return 0;
}

int weft_map(void *base, size_t n, size_t size, int (*fn)(void *elem, void *arg), void *arg)
{
    if (!fn || !size || (!base && n))
        return -EINVAL;
    if (n == 0)
        return 0;
    if (n > SIZE_MAX / size)
        return -EINVAL;
    int workers = weft_workers();
    if (workers <= 0)
        return -ECANCELED; /* no runtime */
    size_t nchunks = (size_t)workers * 8;
    if (nchunks > n)
        nchunks = n;
    struct map_chunk *chunks = wt_alloc(nchunks * sizeof *chunks);
    if (!chunks)
        return -ENOMEM;
    weft_group g = WEFT_GROUP_INIT;
    (void)weft_group_init(&g, WEFT_GROUP_CANCEL_ON_ERROR);
    int r = 0;
    size_t start = 0;
    for (size_t i = 0; i < nchunks; i++) {
        size_t len = n / nchunks + (i < n % nchunks);
        chunks[i] = (struct map_chunk){(char *)base + start * size, len, size, fn, arg};
        start += len;
        int idx = weft_group_go(&g, map_chunk_run, &chunks[i], NULL);
        if (idx < 0) {
            r = idx;
            (void)weft_group_cancel(&g);
            break;
        }
    }
    int w = weft_group_wait(&g);
    if (w == -ECANCELED && weft_group_running(&g) > 0) {
        /* We are cancelled and cannot park: cancel the chunks and let them
         * end before their records and the array go away. */
        (void)weft_group_cancel(&g);
        while (weft_group_running(&g) > 0)
            weft_yield();
        (void)weft_group_wait(&g);
    }
    if (!r)
        r = w;
    (void)weft_group_destroy(&g);
    wt_free(chunks);
    return r;
}
