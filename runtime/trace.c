/*
 * trace.c - the timeline trace: per-worker event rings (trace.h has their
 * ordering argument), and their conversion into Chrome Trace Event JSON,
 * which the monitor thread writes out every few milliseconds
 * (wt_trace_flush) and weft_trace_stop or weft_shutdown finish.
 *
 * Design. Recording must cost a worker a few stores and no lock, so each
 * worker appends fixed-size binary events to a bounded ring of its own and
 * never waits: when the ring is full the events are dropped and counted.
 * Everything else happens off the workers, under one lock (`tr.lock`): the
 * flusher merges the rings' events in timestamp order and turns them into
 * JSON - a worker's TRACE_RUN events delimit the slices of its track, a
 * TRACE_SPAWN on one track and the child's first TRACE_RUN on another make a
 * flow arrow, a TRACE_STEAL makes one from the victim's track to the thief's
 * run. Rejected: formatting JSON on the workers (a hundred bytes and a
 * formatter per switch, and a shared file), and one shared ring (every
 * worker would write one cache line).
 *
 * Ordering across rings. The flusher reads each ring's published head, then
 * handles events older than one millisecond before the flush began (all of
 * them at the end), oldest first over all rings. A worker publishes an event
 * nanoseconds after it reads the clock, so a spawn is handled before the
 * child's first run even when they are on different rings - unless the
 * spawner was preempted for over a millisecond between the two; then the
 * arrow is left out (never a half pair), and so is one whose end was dropped.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deadlock.h"
#include "fiber.h"
#include "monitor.h"
#include "os.h"
#include "runtime.h"
#include "trace.h"
#include "wait.h"
#include "worker.h"

static_assert(sizeof(struct trace_ev) == 32, "an event is half a cache line");
static_assert(WEFT_NAME_MAX <= sizeof(((struct trace_ev *)0)->name), "a name fits one slot");

enum {
    RING_CAP = 1u << 16,    /* events per worker: 2 MiB */
    SPAWN_CAP = 1u << 16,   /* spawns awaiting their child's first run */
    FLUSH_MS = 10,          /* the monitor's flush interval while tracing */
    WATERMARK_NS = 1000000, /* see "Ordering across rings" */
    OUT_BUFFER = 1u << 16,  /* stdio buffer of the file */
    TID_BASE = 1,           /* worker i is tid i + 1 */
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
    r->ev = calloc(cap, sizeof *r->ev);
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
    free(r->ev);
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

/* ---- The session (under tr.lock) ------------------------------------- */

/* A worker's track as the conversion goes. */
struct track {
    uint64_t cursor, bound; /* slots to handle in this flush */
    int64_t last_ts;        /* of the last event handled */
    bool running;           /* a slice is open: */
    uint64_t id;            /*   its fiber */
    int64_t start;          /*   when it began */
    char name[WEFT_NAME_MAX];
    uint64_t first_id;           /* a TRACE_FIRST whose run has not come */
    uint64_t steal_id;           /* a TRACE_STEAL whose run has not come: */
    int64_t steal_ts;            /*   when */
    int steal_from;              /*   from which worker */
    bool spawn_flow, steal_flow; /* flows ending in the open slice: */
    int64_t spawn_ts, sflow_ts;  /*   their starts */
    int spawn_tid, sflow_tid;
};

struct spawn_entry {
    uint64_t id; /* 0: empty */
    int64_t ts;
    int tid;
};

static struct {
    pthread_mutex_t lock; /* guards all below */
    bool active;
    bool failed; /* a write to the file failed */
    FILE *out;
    long pid;
    int64_t t0;
    int n; /* rings and tracks */
    struct trace_ring *rings;
    struct track *tracks;
    struct spawn_entry *spawns; /* open addressing, linear probing */
    uint32_t nspawns;
    uint64_t flows, slices, events, lost_flows;
} tr = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint32_t spawn_home(uint64_t id)
{
    return (uint32_t)((id * 0x9E3779B97F4A7C15ull) >> 32) & (SPAWN_CAP - 1);
}

static void spawn_put(uint64_t id, int64_t ts, int tid)
{
    if (tr.nspawns >= SPAWN_CAP / 4 * 3) {
        tr.lost_flows++; /* a child that never runs keeps its entry until stop */
        return;
    }
    uint32_t i = spawn_home(id);
    while (tr.spawns[i].id && tr.spawns[i].id != id)
        i = (i + 1) & (SPAWN_CAP - 1);
    if (!tr.spawns[i].id)
        tr.nspawns++;
    tr.spawns[i] = (struct spawn_entry){id, ts, tid};
}

/* Remove @id's entry into *@out; false if there is none. */
static bool spawn_take(uint64_t id, struct spawn_entry *out)
{
    uint32_t i = spawn_home(id), mask = SPAWN_CAP - 1;
    while (tr.spawns[i].id != id) {
        if (!tr.spawns[i].id)
            return false;
        i = (i + 1) & mask;
    }
    *out = tr.spawns[i];
    /* Backward-shift deletion: move up each later entry of the run that
     * may sit at i, so that no probe sequence is cut by the hole. */
    for (uint32_t j = i;;) {
        j = (j + 1) & mask;
        if (!tr.spawns[j].id)
            break;
        uint32_t k = spawn_home(tr.spawns[j].id);
        if (((j - k) & mask) >= ((j - i) & mask)) {
            tr.spawns[i] = tr.spawns[j];
            i = j;
        }
    }
    tr.spawns[i].id = 0;
    tr.nspawns--;
    return true;
}

/* A timestamp in microseconds since the trace began, to the nanosecond,
 * without floating point (and so without the locale's decimal comma). */
static void put_ts(int64_t ts)
{
    int64_t rel = ts > tr.t0 ? ts - tr.t0 : 0;
    fprintf(tr.out, "%lld.%03d", (long long)(rel / 1000), (int)(rel % 1000));
}

/* Length of the UTF-8 sequence at @s (of @n bytes), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        len = 2;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        len = 3, lo = s[0] == 0xE0 ? 0xA0 : 0x80, hi = s[0] == 0xED ? 0x9F : 0xBF;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        len = 4, lo = s[0] == 0xF0 ? 0x90 : 0x80, hi = s[0] == 0xF4 ? 0x8F : 0xBF;
    else
        return 0;
    if (len > n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* @s (at most @max bytes) as the inside of a JSON string: escaped, and with
 * '?' for bytes that are not UTF-8 (a fiber's name is any bytes). */
static void put_str(const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strnlen(s, max);
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            fprintf(tr.out, "\\%c", c);
        } else if (c < 0x20) {
            fprintf(tr.out, "\\u%04x", c);
        } else if (c >= 0x80) {
            size_t len = utf8_seq(p + i, n - i);
            if (len) {
                fwrite(p + i, 1, len, tr.out);
                i += len;
                continue;
            }
            fputc('?', tr.out);
        } else {
            fputc(c, tr.out);
        }
        i++;
    }
}

/* The head shared by every event: phase, category, name, pid, tid, ts. */
static void put_head(char ph, const char *cat, const char *name, int tid, int64_t ts)
{
    fprintf(tr.out,
            ",\n{\"ph\":\"%c\",\"cat\":\"%s\",\"name\":\"%s\",\"pid\":%ld,\"tid\":%d,\"ts\":", ph,
            cat, name, tr.pid, tid);
    put_ts(ts);
}

static void put_flow(const char *cat, int64_t s_ts, int s_tid, int64_t f_ts, int f_tid)
{
    uint64_t id = ++tr.flows;
    put_head('s', cat, cat, s_tid, s_ts);
    fprintf(tr.out, ",\"id\":%llu}", (unsigned long long)id);
    put_head('f', cat, cat, f_tid, f_ts);
    fprintf(tr.out, ",\"bp\":\"e\",\"id\":%llu}", (unsigned long long)id);
}

/* Close worker @i's open slice at @end, with the flows that end in it. */
static void end_slice(int i, int64_t end, bool truncated)
{
    struct track *t = &tr.tracks[i];
    if (!t->running)
        return;
    if (end < t->start)
        end = t->start;
    unsigned number = (uint32_t)t->id;
    fprintf(tr.out, ",\n{\"ph\":\"X\",\"cat\":\"fiber\",\"name\":\"");
    put_str(t->name[0] ? t->name : "fiber", sizeof t->name);
    fprintf(tr.out, " #%u\",\"pid\":%ld,\"tid\":%d,\"ts\":", number, tr.pid, i + TID_BASE);
    put_ts(t->start);
    fprintf(tr.out, ",\"dur\":");
    int64_t dur = end - t->start;
    fprintf(tr.out, "%lld.%03d", (long long)(dur / 1000), (int)(dur % 1000));
    /* No args: speedscope appends them to the name. */
    fputs(truncated ? ",\"args\":{\"truncated\":true}}" : "}", tr.out);
    tr.slices++;
    /* Flow ends mid-slice, where "enclosing slice" cannot mean a neighbour. */
    int64_t mid = t->start + (end - t->start) / 2;
    if (t->spawn_flow)
        put_flow("spawn", t->spawn_ts, t->spawn_tid, mid, i + TID_BASE);
    if (t->steal_flow)
        put_flow("steal", t->sflow_ts, t->sflow_tid, mid, i + TID_BASE);
    t->running = t->spawn_flow = t->steal_flow = false;
}

static void begin_slice(int i, uint64_t id, int64_t ts, const char *name)
{
    struct track *t = &tr.tracks[i];
    t->running = true;
    t->id = id;
    t->start = ts;
    memset(t->name, 0, sizeof t->name);
    if (name)
        memcpy(t->name, name, sizeof t->name - 1);
}

static void instant(int i, const struct trace_ev *ev, const char *name)
{
    put_head('i', "sched", name, i + TID_BASE, ev->ts);
    fputs(",\"s\":\"t\",\"args\":{", tr.out);
    if (ev->kind == TRACE_POLL)
        fprintf(tr.out, "\"blocking\":%s", ev->aux ? "true" : "false");
    else
        fprintf(tr.out, "\"fiber\":%u", (uint32_t)ev->id);
    if (ev->kind == TRACE_PARK)
        fprintf(tr.out, ",\"on\":\"%s\"", wt_wait_kind_name((enum wait_kind)ev->aux));
    fputs("}}", tr.out);
}

/* Handle the event at worker @i's cursor; advance past it. */
static void handle(int i)
{
    struct track *t = &tr.tracks[i];
    const struct trace_ev *ev = wt_trace_ring_at(&tr.rings[i], t->cursor++);
    const char *name = NULL;
    if (ev->kind == TRACE_RUN && (ev->flags & TRACE_NAMED))
        name = wt_trace_ring_at(&tr.rings[i], t->cursor++)->name;
    if (ev->ts < tr.t0)
        return; /* recorded as the previous trace stopped */
    tr.events++;
    switch ((enum trace_kind)ev->kind) {
    case TRACE_RUN:
        /* A nanosecond apart when the next run follows at once: viewers
         * that turn slices into begin/end pairs must not see the next begin
         * before this end. */
        end_slice(i, ev->id ? ev->ts - 1 : ev->ts, false);
        if (ev->id) {
            begin_slice(i, ev->id, ev->ts, name);
            struct spawn_entry e;
            if (t->first_id == ev->id && spawn_take(ev->id, &e)) {
                t->spawn_flow = true;
                t->spawn_ts = e.ts;
                t->spawn_tid = e.tid;
            }
            if (t->steal_id == ev->id) {
                t->steal_flow = true;
                t->sflow_ts = t->steal_ts;
                t->sflow_tid = t->steal_from + TID_BASE;
            }
        }
        t->first_id = t->steal_id = 0; /* one that did not run now never starts here */
        break;
    case TRACE_FIRST:
        t->first_id = ev->id;
        break;
    case TRACE_SPAWN:
        if (t->running) /* not after a gap: the arrow would start nowhere */
            spawn_put(ev->id, ev->ts, i + TID_BASE);
        break;
    case TRACE_STEAL:
        t->steal_id = ev->id;
        t->steal_ts = ev->ts;
        t->steal_from = ev->aux;
        break;
    case TRACE_PARK:
        instant(i, ev, "park");
        break;
    case TRACE_WAKE:
        instant(i, ev, "wake");
        break;
    case TRACE_POLL:
        instant(i, ev, "poll");
        break;
    case TRACE_LOST:
        /* The gap began after the last event we have: end there, and
         * forget what the dropped events would have completed. */
        end_slice(i, t->last_ts, true);
        t->first_id = t->steal_id = 0;
        break;
    }
    t->last_ts = ev->ts;
}

/* Convert what the rings hold: events older than the watermark, or all. */
static void drain(bool all)
{
    int64_t limit = all ? INT64_MAX : wt_os_now() - WATERMARK_NS;
    for (int i = 0; i < tr.n; i++)
        tr.tracks[i].bound = wt_trace_ring_avail(&tr.rings[i], &tr.tracks[i].cursor);
    for (;;) {
        int best = -1;
        int64_t best_ts = limit;
        for (int i = 0; i < tr.n; i++) {
            struct track *t = &tr.tracks[i];
            if (t->cursor == t->bound)
                continue;
            int64_t ts = wt_trace_ring_at(&tr.rings[i], t->cursor)->ts;
            if (ts <= best_ts && (best < 0 || ts < best_ts)) {
                best = i;
                best_ts = ts;
            }
        }
        if (best < 0)
            break;
        handle(best);
    }
    for (int i = 0; i < tr.n; i++)
        wt_trace_ring_consume(&tr.rings[i], tr.tracks[i].cursor);
    if (fflush(tr.out) != 0 || ferror(tr.out))
        tr.failed = true;
}

static void put_header(void)
{
    fprintf(tr.out,
            "{\"traceEvents\":[\n{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%ld,"
            "\"tid\":0,\"args\":{\"name\":\"weft\"}}",
            tr.pid);
    for (int i = 0; i < tr.n; i++) {
        fprintf(tr.out,
                ",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%ld,\"tid\":%d,"
                "\"args\":{\"name\":\"worker %d\"}}",
                tr.pid, i + TID_BASE, i);
        fprintf(tr.out,
                ",\n{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":%ld,\"tid\":%d,"
                "\"args\":{\"sort_index\":%d}}",
                tr.pid, i + TID_BASE, i);
    }
}

static void put_footer(void)
{
    uint64_t dropped = 0;
    for (int i = 0; i < tr.n; i++)
        dropped +=
            atomic_load_explicit(&tr.rings[i].drops, memory_order_relaxed) - tr.rings[i].drops_base;
    fprintf(tr.out,
            "\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{\"producer\":\"weft %d.%d.%d\","
            "\"workers\":%d,\"events\":%llu,\"slices\":%llu,\"flows\":%llu,"
            "\"dropped_events\":%llu,\"lost_flows\":%llu,\"dropped_per_worker\":[",
            WEFT_VERSION_MAJOR, WEFT_VERSION_MINOR, WEFT_VERSION_PATCH, tr.n,
            (unsigned long long)tr.events, (unsigned long long)tr.slices,
            (unsigned long long)tr.flows, (unsigned long long)dropped,
            (unsigned long long)tr.lost_flows);
    for (int i = 0; i < tr.n; i++)
        fprintf(
            tr.out, "%s%llu", i ? "," : "",
            (unsigned long long)(atomic_load_explicit(&tr.rings[i].drops, memory_order_relaxed) -
                                 tr.rings[i].drops_base));
    fputs("]}}\n", tr.out);
}

/* Allocate the rings of @rt (once per runtime) and publish them. */
static int make_rings(struct runtime *rt)
{
    struct trace_ring *rings = calloc((size_t)rt->nworkers, sizeof *rings);
    if (!rings)
        return -ENOMEM;
    for (int i = 0; i < rt->nworkers; i++) {
        if (wt_trace_ring_init(&rings[i], RING_CAP) != 0) {
            while (i-- > 0)
                wt_trace_ring_fini(&rings[i]);
            free(rings);
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
    tr.tracks = calloc((size_t)tr.n, sizeof *tr.tracks);
    tr.spawns = calloc(SPAWN_CAP, sizeof *tr.spawns);
    if (!tr.tracks || !tr.spawns) {
        free(tr.tracks);
        free(tr.spawns);
        return -ENOMEM;
    }
    tr.out = fopen(path, "w");
    if (!tr.out) {
        int r = -errno;
        free(tr.tracks);
        free(tr.spawns);
        return r;
    }
    setvbuf(tr.out, NULL, _IOFBF, OUT_BUFFER);
    tr.failed = false;
    tr.nspawns = 0;
    tr.flows = tr.slices = tr.events = tr.lost_flows = 0;
    tr.pid = (long)getpid();
    tr.t0 = wt_os_now();
    for (int i = 0; i < tr.n; i++)
        tr.rings[i].drops_base = atomic_load_explicit(&tr.rings[i].drops, memory_order_relaxed);
    put_header();
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
            begin_slice(i, wt_fiber_handle(f, s).id, tr.t0, named ? f->name : NULL);
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
    drain(true);
    int64_t now = wt_os_now();
    for (int i = 0; i < tr.n; i++)
        end_slice(i, now > tr.tracks[i].last_ts ? now : tr.tracks[i].last_ts, false);
    put_footer();
    if (ferror(tr.out))
        tr.failed = true;
    if (fclose(tr.out) != 0)
        tr.failed = true;
    tr.out = NULL;
    free(tr.tracks);
    free(tr.spawns);
    tr.tracks = NULL;
    tr.spawns = NULL;
    tr.active = false;
    return tr.failed ? -EIO : 0;
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
        drain(false);
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
        free(tr.rings);
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
