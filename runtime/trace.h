/*
 * trace.h - the timeline trace (weft_trace_start, WEFT_TRACE): the hooks the
 * scheduler calls, the per-worker event ring they record into, and the
 * session control that runtime.c and monitor.c call. trace.c writes the
 * events out as Chrome Trace Event JSON.
 *
 * Cost when off: every hook is one relaxed load of wt_trace_on and a
 * not-taken branch. Define WT_TRACE_HOOKS to 0 (c_args) to compile the hooks
 * out altogether, for measuring that cost (bench/RESULTS.md); weft_trace_start
 * then returns -ENOTSUP.
 */
#ifndef WT_TRACE_H
#define WT_TRACE_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu.h"
#include "debug.h"

#ifndef WT_TRACE_HOOKS
#define WT_TRACE_HOOKS 1
#endif

struct fiber;
struct runtime;
struct worker;

/* What a recorded event says. */
enum trace_kind {
    TRACE_RUN = 1, /* the worker now runs fiber id (0: its scheduler loop) */
    TRACE_FIRST,   /* fiber id got its stack: its next run is its first */
    TRACE_SPAWN,   /* the running fiber spawned fiber id */
    TRACE_STEAL,   /* the worker stole fiber id from worker aux */
    TRACE_PARK,    /* fiber id parks (aux: enum wait_kind) */
    TRACE_WAKE,    /* the worker readied fiber id */
    TRACE_POLL,    /* a netpoller poll readied fibers (aux: 1 if it blocked) */
    TRACE_LOST,    /* events before this one were dropped: the ring was full */
};

enum {
    TRACE_NAMED = 1u << 0, /* a TRACE_RUN whose next slot holds the fiber's name */
};

/* One fixed-size event; a named TRACE_RUN takes a second slot for the name. */
struct trace_ev {
    union {
        struct {
            int64_t ts;     /* wt_os_now() */
            uint16_t kind;  /* enum trace_kind */
            uint16_t aux;   /* per kind, see above */
            uint32_t flags; /* TRACE_NAMED */
            uint64_t id;    /* the fiber's handle id (generation, number) */
            uint64_t arg;   /* reserved */
        };
        char name[32]; /* the continuation slot of a TRACE_NAMED run */
    };
};

/*
 * A single-producer single-consumer ring of events. The producer is the
 * worker that owns it; the consumer is whoever holds the trace lock (the
 * monitor thread, or weft_trace_stop/weft_shutdown).
 *
 * Ordering: the producer fills slots [head, head + n) and then stores
 * head + n with release; the consumer loads head with acquire, so it reads
 * the slots filled. The consumer reads slots [tail, head) and then stores
 * the new tail with release; the producer loads tail with acquire before it
 * reuses a slot, so the consumer's reads of a slot happen before the
 * producer's next write of it. Each index has one writer. Nothing else is
 * shared: the drop counter is owner-written and read only for reporting.
 */
struct trace_ring {
    /* Producer side (the owner worker). */
    _Atomic uint64_t head;  /* slots published; release, see above */
    uint64_t tail_seen;     /* the owner's last acquire load of tail */
    bool lost;              /* a put failed since the last one that succeeded */
    _Atomic uint64_t drops; /* events dropped for want of room; owner-written, relaxed */
    struct trace_ev *ev;    /* cap slots; set before the ring is published */
    uint32_t mask;          /* cap - 1 */
    /* Consumer side (under the trace lock). */
    alignas(WT_CACHE_LINE) _Atomic uint64_t tail; /* slots consumed; release, see above */
    uint64_t drops_base;                          /* drops when the session began */
};

/* Allocate @r with @cap slots (a power of two). Returns 0 or -ENOMEM. */
int wt_trace_ring_init(struct trace_ring *r, uint32_t cap);
void wt_trace_ring_fini(struct trace_ring *r);

/* Owner: append @n events (1 or 2, kept together), or drop them all and
 * count them. A put after a drop first appends a TRACE_LOST marker (if
 * there is room for it too). Returns true if appended. */
bool wt_trace_ring_put(struct trace_ring *r, const struct trace_ev *ev, unsigned n);

/* Consumer: the slots published and not yet consumed: [*@tail, return). */
uint64_t wt_trace_ring_avail(struct trace_ring *r, uint64_t *tail);

/* Consumer: the event in slot @i (between *tail and the avail bound). */
static inline const struct trace_ev *wt_trace_ring_at(const struct trace_ring *r, uint64_t i)
{
    return &r->ev[i & r->mask];
}

/* Consumer: give slots below @upto back to the producer. */
void wt_trace_ring_consume(struct trace_ring *r, uint64_t upto);

/* Is a trace being recorded? Relaxed: the hooks' only cost when it is
 * not; the rings a hook writes are published separately (trace.c). */
extern _Atomic bool wt_trace_on;

static inline bool wt_trace_active(void)
{
    return WT_TRACE_HOOKS && atomic_load_explicit(&wt_trace_on, memory_order_relaxed);
}

/* Record an event of @kind about @f (may be NULL for TRACE_RUN) on @w's
 * ring. Owner worker only. */
void wt_trace_emit(struct worker *w, enum trace_kind kind, const struct fiber *f, unsigned aux);

/* The hook: one relaxed load and a branch unless tracing. */
static inline void wt_trace(struct worker *w, enum trace_kind kind, const struct fiber *f,
                            unsigned aux)
{
    if (WT_UNLIKELY(wt_trace_active()))
        wt_trace_emit(w, kind, f, aux);
}

/* Hook for a netpoller poll that returned @found: an instant if it readied
 * fibers. Returns @found, so that it can wrap the poll call. */
static inline bool wt_trace_poll(struct worker *w, bool found, bool blocking)
{
    if (WT_UNLIKELY(wt_trace_active()) && found)
        wt_trace_emit(w, TRACE_POLL, NULL, blocking);
    return found;
}

/* weft_init: begin the trace WEFT_TRACE names (rt->cfg.trace), if any.
 * Before the workers start. Returns 0, or -EINVAL with a message. */
int wt_trace_init(struct runtime *rt);

/* Write out what the rings hold (the monitor thread, every few ms). */
void wt_trace_flush(void);

/* The monitor's poll timeout in ms, shortened while a trace records. */
int wt_trace_flush_timeout(int timeout_ms);

/* Runtime teardown, workers stopped: finish a trace still recording and
 * free the rings. */
void wt_trace_shutdown(struct runtime *rt);

#endif /* WT_TRACE_H */
