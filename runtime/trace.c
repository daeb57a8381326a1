/*
 * trace.c - the timeline trace: recording into per-worker event rings
 * (trace.h has their ordering argument), and the session that weft_trace_start,
 * weft_trace_stop, WEFT_TRACE and shutdown drive. trace_json.c writes the
 * file: the monitor thread calls it every 10 ms (wt_trace_flush), stop and
 * shutdown for the rest.
 *
 * Design. Recording must cost a worker a few stores and no lock, so each
 * worker appends fixed-size binary events to a bounded ring of its own and
 * never waits: when the ring is full the events are dropped and counted.
 * Everything else happens off the workers, under one lock (`tr.lock`).
 * Rejected: formatting JSON on the workers (a hundred bytes and a formatter
 * per switch, and a shared file), and one shared ring (every worker would
 * write the same cache lines).
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "fiber.h"
#include "monitor.h"
#include "os.h"
#include "runtime.h"
#include "trace.h"
#include "trace_json.h"
#include "wait.h"
#include "worker.h"

static_assert(sizeof(struct trace_ev) == 32, "an event is half a cache line");
static_assert(WEFT_NAME_MAX <= sizeof(((struct trace_ev *)0)->name), "a name fits one slot");

enum {
    RING_CAP = 1u << 16, /* events per worker: 2 MiB */
    FLUSH_MS = 10,       /* the monitor's flush interval while tracing */
};

_Atomic bool wt_trace_on;

/* The rings, indexed by worker. Stored with release once initialised, so a
 * worker's acquire load (wt_trace_emit) sees them ready; NULL outside a
 * runtime's first trace and its shutdown. */
static _Atomic(struct trace_ring *) rings_pub;

/* ---- The ring (trace.h) ---------------------------------------------- */

int wt_trace_ring_init(struct trace_ring *r, uint32_t cap)
{
    memset(r, 0, sizeof *r);
    r->ev = wt_calloc(cap, sizeof *r->ev);
    if (!r->ev)
        return -ENOMEM;
    r->mask = cap - 1;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->drops, 0);
    return 0;
}

void wt_trace_ring_fini(struct trace_ring *r)
{
    wt_free(r->ev);
    r->ev = NULL;
}

bool wt_trace_ring_put(struct trace_ring *r, const struct trace_ev *ev, unsigned n)
{
    uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed); /* only we write it */
    uint64_t need = n + (r->lost ? 1 : 0), cap = (uint64_t)r->mask + 1;
    if (h + need - r->tail_seen > cap) {
        /* Acquire pairs with the release store in wt_trace_ring_consume(). */
        r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (h + need - r->tail_seen > cap) {
            /* Relaxed: one writer; the flusher only reports it. */
            atomic_store_explicit(&r->drops,
                                  atomic_load_explicit(&r->drops, memory_order_relaxed) + n,
                                  memory_order_relaxed);
            r->lost = true;
            return false;
        }
    }
    if (r->lost) {
        r->ev[h++ & r->mask] = (struct trace_ev){.ts = ev[0].ts, .kind = TRACE_LOST};
        r->lost = false;
    }
    for (unsigned i = 0; i < n; i++)
        r->ev[(h + i) & r->mask] = ev[i];
    /* Release pairs with the acquire load in wt_trace_ring_avail(). */
    atomic_store_explicit(&r->head, h + n, memory_order_release);
    return true;
}

uint64_t wt_trace_ring_avail(struct trace_ring *r, uint64_t *tail)
{
    *tail = atomic_load_explicit(&r->tail, memory_order_relaxed); /* only we write it */
    /* Acquire pairs with the release store in wt_trace_ring_put(). */
    return atomic_load_explicit(&r->head, memory_order_acquire);
}

void wt_trace_ring_consume(struct trace_ring *r, uint64_t upto)
{
    /* Release pairs with the acquire load in wt_trace_ring_put(): our reads
     * of the slots below upto happen before the producer rewrites them. */
    atomic_store_explicit(&r->tail, upto, memory_order_release);
}

/* ---- Recording (the workers) ----------------------------------------- */

void wt_trace_emit(struct worker *w, enum trace_kind kind, const struct fiber *f, unsigned aux)
{
    /* Acquire pairs with the release store in begin(): the rings are ready. */
    struct trace_ring *rings = atomic_load_explicit(&rings_pub, memory_order_acquire);
    if (!rings)
        return;
    struct trace_ev ev[2];
    unsigned n = 1;
    ev[0] = (struct trace_ev){.ts = wt_os_now(), .kind = (uint16_t)kind, .aux = (uint16_t)aux};
    if (f) {
        uint64_t s = atomic_load_explicit(&f->sync, memory_order_relaxed);
        ev[0].id = wt_fiber_handle(f, s).id;
        if (kind == TRACE_RUN && (s & FIBER_NAMED)) {
            /* Written by the spawner before f was queued; we dequeued it. */
            ev[0].flags = TRACE_NAMED;
            memcpy(ev[1].name, f->name, WEFT_NAME_MAX);
            n = 2;
        } else if (kind == TRACE_PARK) {
            /* Relaxed: f is the calling fiber, which stored it. */
            const struct wait *wt =
                atomic_load_explicit(&((struct fiber *)f)->waiting, memory_order_relaxed);
            ev[0].aux = (uint16_t)(wt ? wt->kind : WAITK_NONE);
        }
    }
    wt_trace_ring_put(&rings[w->index], ev, n);
}

/* ---- The session ------------------------------------------------------ */

static struct {
    pthread_mutex_t lock; /* guards all below, and trace_json.c's state */
    bool active;          /* a file is being written */
    int n;                /* rings */
    struct trace_ring *rings;
} tr = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Allocate the rings of @rt (once per runtime) and publish them. */
static int make_rings(struct runtime *rt)
{
    struct trace_ring *rings = wt_calloc((size_t)rt->nworkers, sizeof *rings);
    if (!rings)
        return -ENOMEM;
    for (int i = 0; i < rt->nworkers; i++) {
        if (wt_trace_ring_init(&rings[i], RING_CAP) != 0) {
            while (i-- > 0)
                wt_trace_ring_fini(&rings[i]);
            wt_free(rings);
            return -ENOMEM;
        }
    }
    tr.rings = rings;
    tr.n = rt->nworkers;
    /* Release pairs with the acquire load in wt_trace_emit(). */
    atomic_store_explicit(&rings_pub, rings, memory_order_release);
    return 0;
}

/* Start a session writing @path; @self is the calling fiber or NULL.
 * Caller holds tr.lock. */
static int begin_locked(struct runtime *rt, const char *path, const struct fiber *self)
{
    if (tr.active)
        return -EBUSY;
    if (!tr.rings) {
        int r = make_rings(rt);
        if (r)
            return r;
    } else {
        /* Forget what was recorded since the last session stopped. */
        for (int i = 0; i < tr.n; i++) {
            uint64_t tail;
            wt_trace_ring_consume(&tr.rings[i], wt_trace_ring_avail(&tr.rings[i], &tail));
        }
    }
    int r = wt_trace_json_open(path, tr.rings, tr.n);
    if (r)
        return r;
    tr.active = true;
    atomic_store_explicit(&wt_trace_on, true, memory_order_relaxed);
    /* The fibers running now get a slice from here to their next switch.
     * Acquire pairs with the release store in set_current() (scheduler.c):
     * the number was written before the fiber was queued. The name only for
     * the caller: another worker's fiber may end and its struct be reused,
     * name and all, while we read. A worker that switches before it sees
     * wt_trace_on leaves its slice a little long. */
    for (int i = 0; i < tr.n && rt->workers; i++) {
        struct fiber *f = atomic_load_explicit(&rt->workers[i].running, memory_order_acquire);
        if (f) {
            uint64_t s = atomic_load_explicit(&f->sync, memory_order_relaxed);
            bool named = f == self && (s & FIBER_NAMED);
            wt_trace_json_running(i, wt_fiber_handle(f, s).id, named ? f->name : NULL);
        }
    }
    return 0;
}

/* Finish the session: convert everything, close the file. Caller holds
 * tr.lock. */
static int end_locked(void)
{
    if (!tr.active)
        return -ESRCH;
    atomic_store_explicit(&wt_trace_on, false, memory_order_relaxed);
    tr.active = false;
    return wt_trace_json_close();
}

/* ---- Entry points ---------------------------------------------------- */

int wt_trace_init(struct runtime *rt)
{
    const char *path = rt->cfg.trace;
    if (!path)
        return 0;
    int r = -ENOTSUP;
    if (WT_TRACE_HOOKS) {
        pthread_mutex_lock(&tr.lock);
        r = begin_locked(rt, path, NULL);
        pthread_mutex_unlock(&tr.lock);
    }
    if (r == 0)
        return 0;
    fprintf(stderr, "weft: WEFT_TRACE=%s: cannot write a trace there: %s\n", path,
            r == -ENOTSUP ? "tracing is compiled out (WT_TRACE_HOOKS=0)" : strerror(-r));
    return -EINVAL;
}

void wt_trace_flush(void)
{
    if (!wt_trace_active())
        return;
    pthread_mutex_lock(&tr.lock);
    if (tr.active)
        wt_trace_json_flush();
    pthread_mutex_unlock(&tr.lock);
}

int wt_trace_flush_timeout(int timeout_ms)
{
    return wt_trace_active() && timeout_ms > FLUSH_MS ? FLUSH_MS : timeout_ms;
}

void wt_trace_shutdown(struct runtime *rt)
{
    (void)rt;
    pthread_mutex_lock(&tr.lock);
    if (tr.active)
        (void)end_locked(); /* weft_shutdown has no way to report it */
    if (tr.rings) {
        atomic_store_explicit(&rings_pub, NULL, memory_order_relaxed); /* workers are gone */
        for (int i = 0; i < tr.n; i++)
            wt_trace_ring_fini(&tr.rings[i]);
        wt_free(tr.rings);
        tr.rings = NULL;
        tr.n = 0;
    }
    pthread_mutex_unlock(&tr.lock);
}

int weft_trace_start(const char *path)
{
    if (!WT_TRACE_HOOKS)
        return -ENOTSUP;
    if (!path || !*path)
        return -EINVAL;
    struct worker *w = wt_worker_self();
    if (w ? !wt_rt_running() : wt_foreign_enter() != 0)
        return -ECANCELED;
    int saved = errno;
    pthread_mutex_lock(&tr.lock);
    int r = begin_locked(&wt_rt, path, w ? w->current : NULL);
    pthread_mutex_unlock(&tr.lock);
    /* The monitor writes the rings out; after the unlock, since stopping
     * the monitor waits for a flush that may wait for tr.lock. */
    if (r == 0 && (r = wt_monitor_ensure(&wt_rt)) != 0) {
        pthread_mutex_lock(&tr.lock);
        (void)end_locked();
        pthread_mutex_unlock(&tr.lock);
    }
    errno = saved;
    if (!w)
        wt_foreign_leave();
    return r;
}

int weft_trace_stop(void)
{
    if (!WT_TRACE_HOOKS)
        return -ENOTSUP;
    struct worker *w = wt_worker_self();
    if (w ? !wt_rt_running() : wt_foreign_enter() != 0)
        return -ECANCELED;
    int saved = errno;
    pthread_mutex_lock(&tr.lock);
    int r = end_locked();
    pthread_mutex_unlock(&tr.lock);
    errno = saved;
    if (!w)
        wt_foreign_leave();
    return r;
}
