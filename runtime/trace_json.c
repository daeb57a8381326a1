/*
 * trace_json.c - the timeline trace's file: the events of the workers'
 * rings (trace.h) turned into Chrome Trace Event JSON. trace.c records the
 * events and runs the session; it holds its lock around every call here,
 * and the monitor thread's flushes come through it too.
 *
 * Ordering across rings. A flush reads each ring's published head, then
 * handles the events older than one millisecond before the flush began (all
 * of them at the end), oldest first over all rings. A worker publishes an
 * event nanoseconds after it reads the clock, so a spawn is handled before
 * the child's first run even when they are on different rings - unless the
 * spawner was preempted for over a millisecond between the two; then the
 * arrow is left out (never a half pair), and so is one whose end was
 * dropped.
 *
 * The JSON: a worker's TRACE_RUN events bound the slices ("ph":"X") of its
 * track; a TRACE_SPAWN waits in a table until the child's first TRACE_RUN
 * and becomes a flow pair ("s"/"f", category spawn); a TRACE_STEAL followed
 * by the run of that fiber becomes one from the victim's track (category
 * steal); park, wake and poll are thread-scoped instants. Times are printed
 * as integers, microseconds to the nanosecond: never with %f, which a
 * program's locale could give a decimal comma.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "deadlock.h"
#include "os.h"
#include "trace.h"
#include "trace_json.h"
#include "wait.h"
#include "weft.h"

enum {
    SPAWN_CAP = 1u << 16,   /* spawns awaiting their child's first run */
    WATERMARK_NS = 1000000, /* see "Ordering across rings" */
    OUT_BUFFER = 1u << 16,  /* stdio buffer of the file */
    TID_BASE = 1,           /* worker i is tid i + 1 */
};

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

/* The file being written; trace.c's lock guards it all. */
static struct {
    FILE *out;
    bool failed; /* a write to the file failed */
    long pid;
    int64_t t0;
    int n; /* rings and tracks */
    struct trace_ring *rings;
    struct track *tracks;
    struct spawn_entry *spawns; /* open addressing, linear probing */
    uint32_t nspawns;
    uint64_t flows, slices, events, lost_flows;
} jw;

static uint32_t spawn_home(uint64_t id)
{
    return (uint32_t)((id * 0x9E3779B97F4A7C15ull) >> 32) & (SPAWN_CAP - 1);
}

static void spawn_put(uint64_t id, int64_t ts, int tid)
{
    if (jw.nspawns >= SPAWN_CAP / 4 * 3) {
        jw.lost_flows++; /* a child that never runs keeps its entry until stop */
        return;
    }
    uint32_t i = spawn_home(id);
    while (jw.spawns[i].id && jw.spawns[i].id != id)
        i = (i + 1) & (SPAWN_CAP - 1);
    if (!jw.spawns[i].id)
        jw.nspawns++;
    jw.spawns[i] = (struct spawn_entry){id, ts, tid};
}

/* Remove @id's entry into *@out; false if there is none. */
static bool spawn_take(uint64_t id, struct spawn_entry *out)
{
    uint32_t i = spawn_home(id), mask = SPAWN_CAP - 1;
    while (jw.spawns[i].id != id) {
        if (!jw.spawns[i].id)
            return false;
        i = (i + 1) & mask;
    }
    *out = jw.spawns[i];
    /* Backward-shift deletion: move up each later entry of the run that
     * may sit at i, so that no probe sequence is cut by the hole. */
    for (uint32_t j = i;;) {
        j = (j + 1) & mask;
        if (!jw.spawns[j].id)
            break;
        uint32_t k = spawn_home(jw.spawns[j].id);
        if (((j - k) & mask) >= ((j - i) & mask)) {
            jw.spawns[i] = jw.spawns[j];
            i = j;
        }
    }
    jw.spawns[i].id = 0;
    jw.nspawns--;
    return true;
}

/* A timestamp in microseconds since the trace began, to the nanosecond,
 * without floating point (and so without the locale's decimal comma). */
static void put_ts(int64_t ts)
{
    int64_t rel = ts > jw.t0 ? ts - jw.t0 : 0;
    fprintf(jw.out, "%lld.%03d", (long long)(rel / 1000), (int)(rel % 1000));
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
            fprintf(jw.out, "\\%c", c);
        } else if (c < 0x20) {
            fprintf(jw.out, "\\u%04x", c);
        } else if (c >= 0x80) {
            size_t len = utf8_seq(p + i, n - i);
            if (len) {
                fwrite(p + i, 1, len, jw.out);
                i += len;
                continue;
            }
            fputc('?', jw.out);
        } else {
            fputc(c, jw.out);
        }
        i++;
    }
}

/* The head shared by every event: phase, category, name, pid, tid, ts. */
static void put_head(char ph, const char *cat, const char *name, int tid, int64_t ts)
{
    fprintf(jw.out,
            ",\n{\"ph\":\"%c\",\"cat\":\"%s\",\"name\":\"%s\",\"pid\":%ld,\"tid\":%d,\"ts\":", ph,
            cat, name, jw.pid, tid);
    put_ts(ts);
}

static void put_flow(const char *cat, int64_t s_ts, int s_tid, int64_t f_ts, int f_tid)
{
    uint64_t id = ++jw.flows;
    put_head('s', cat, cat, s_tid, s_ts);
    fprintf(jw.out, ",\"id\":%llu}", (unsigned long long)id);
    put_head('f', cat, cat, f_tid, f_ts);
    fprintf(jw.out, ",\"bp\":\"e\",\"id\":%llu}", (unsigned long long)id);
}

/* Close worker @i's open slice at @end, with the flows that end in it. */
static void end_slice(int i, int64_t end, bool truncated)
{
    struct track *t = &jw.tracks[i];
    if (!t->running)
        return;
    if (end < t->start)
        end = t->start;
    unsigned number = (uint32_t)t->id;
    fprintf(jw.out, ",\n{\"ph\":\"X\",\"cat\":\"fiber\",\"name\":\"");
    put_str(t->name[0] ? t->name : "fiber", sizeof t->name);
    fprintf(jw.out, " #%u\",\"pid\":%ld,\"tid\":%d,\"ts\":", number, jw.pid, i + TID_BASE);
    put_ts(t->start);
    fprintf(jw.out, ",\"dur\":");
    int64_t dur = end - t->start;
    fprintf(jw.out, "%lld.%03d", (long long)(dur / 1000), (int)(dur % 1000));
    /* No args: speedscope appends them to the name. */
    fputs(truncated ? ",\"args\":{\"truncated\":true}}" : "}", jw.out);
    jw.slices++;
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
    struct track *t = &jw.tracks[i];
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
    fputs(",\"s\":\"t\",\"args\":{", jw.out);
    if (ev->kind == TRACE_POLL)
        fprintf(jw.out, "\"blocking\":%s", ev->aux ? "true" : "false");
    else
        fprintf(jw.out, "\"fiber\":%u", (uint32_t)ev->id);
    if (ev->kind == TRACE_PARK)
        fprintf(jw.out, ",\"on\":\"%s\"", wt_wait_kind_name((enum wait_kind)ev->aux));
    fputs("}}", jw.out);
}

/* Handle the event at worker @i's cursor; advance past it. */
static void handle(int i)
{
    struct track *t = &jw.tracks[i];
    const struct trace_ev *ev = wt_trace_ring_at(&jw.rings[i], t->cursor++);
    const char *name = NULL;
    if (ev->kind == TRACE_RUN && (ev->flags & TRACE_NAMED))
        name = wt_trace_ring_at(&jw.rings[i], t->cursor++)->name;
    if (ev->ts < jw.t0)
        return; /* recorded as the previous trace stopped */
    jw.events++;
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
    for (int i = 0; i < jw.n; i++)
        jw.tracks[i].bound = wt_trace_ring_avail(&jw.rings[i], &jw.tracks[i].cursor);
    for (;;) {
        int best = -1;
        int64_t best_ts = limit;
        for (int i = 0; i < jw.n; i++) {
            struct track *t = &jw.tracks[i];
            if (t->cursor == t->bound)
                continue;
            int64_t ts = wt_trace_ring_at(&jw.rings[i], t->cursor)->ts;
            if (ts <= best_ts && (best < 0 || ts < best_ts)) {
                best = i;
                best_ts = ts;
            }
        }
        if (best < 0)
            break;
        handle(best);
    }
    for (int i = 0; i < jw.n; i++)
        wt_trace_ring_consume(&jw.rings[i], jw.tracks[i].cursor);
    if (fflush(jw.out) != 0 || ferror(jw.out))
        jw.failed = true;
}

static void put_header(void)
{
    fprintf(jw.out,
            "{\"traceEvents\":[\n{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%ld,"
            "\"tid\":0,\"args\":{\"name\":\"weft\"}}",
            jw.pid);
    for (int i = 0; i < jw.n; i++) {
        fprintf(jw.out,
                ",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%ld,\"tid\":%d,"
                "\"args\":{\"name\":\"worker %d\"}}",
                jw.pid, i + TID_BASE, i);
        fprintf(jw.out,
                ",\n{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":%ld,\"tid\":%d,"
                "\"args\":{\"sort_index\":%d}}",
                jw.pid, i + TID_BASE, i);
    }
}

static void put_footer(void)
{
    uint64_t dropped = 0;
    for (int i = 0; i < jw.n; i++)
        dropped +=
            atomic_load_explicit(&jw.rings[i].drops, memory_order_relaxed) - jw.rings[i].drops_base;
    fprintf(jw.out,
            "\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{\"producer\":\"weft %d.%d.%d\","
            "\"workers\":%d,\"events\":%llu,\"slices\":%llu,\"flows\":%llu,"
            "\"dropped_events\":%llu,\"lost_flows\":%llu,\"dropped_per_worker\":[",
            WEFT_VERSION_MAJOR, WEFT_VERSION_MINOR, WEFT_VERSION_PATCH, jw.n,
            (unsigned long long)jw.events, (unsigned long long)jw.slices,
            (unsigned long long)jw.flows, (unsigned long long)dropped,
            (unsigned long long)jw.lost_flows);
    for (int i = 0; i < jw.n; i++)
        fprintf(
            jw.out, "%s%llu", i ? "," : "",
            (unsigned long long)(atomic_load_explicit(&jw.rings[i].drops, memory_order_relaxed) -
                                 jw.rings[i].drops_base));
    fputs("]}}\n", jw.out);
}

int wt_trace_json_open(const char *path, struct trace_ring *rings, int n)
{
    jw.tracks = wt_calloc((size_t)n, sizeof *jw.tracks);
    jw.spawns = wt_calloc(SPAWN_CAP, sizeof *jw.spawns);
    if (!jw.tracks || !jw.spawns) {
        wt_free(jw.tracks);
        wt_free(jw.spawns);
        return -ENOMEM;
    }
    jw.out = fopen(path, "we"); /* close-on-exec */
    if (!jw.out) {
        int r = -errno;
        wt_free(jw.tracks);
        wt_free(jw.spawns);
        return r;
    }
    setvbuf(jw.out, NULL, _IOFBF, OUT_BUFFER);
    jw.failed = false;
    jw.rings = rings;
    jw.n = n;
    jw.nspawns = 0;
    jw.flows = jw.slices = jw.events = jw.lost_flows = 0;
    jw.pid = (long)getpid();
    jw.t0 = wt_os_now();
    for (int i = 0; i < n; i++)
        rings[i].drops_base = atomic_load_explicit(&rings[i].drops, memory_order_relaxed);
    put_header();
    return 0;
}

void wt_trace_json_running(int worker, uint64_t id, const char *name)
{
    begin_slice(worker, id, jw.t0, name);
}

void wt_trace_json_flush(void)
{
    drain(false);
}

int wt_trace_json_close(void)
{
    drain(true);
    int64_t now = wt_os_now();
    for (int i = 0; i < jw.n; i++)
        end_slice(i, now > jw.tracks[i].last_ts ? now : jw.tracks[i].last_ts, false);
    put_footer();
    if (ferror(jw.out))
        jw.failed = true;
    if (fclose(jw.out) != 0)
        jw.failed = true;
    jw.out = NULL;
    wt_free(jw.tracks);
    wt_free(jw.spawns);
    jw.tracks = NULL;
    jw.spawns = NULL;
    return jw.failed ? -EIO : 0;
}
