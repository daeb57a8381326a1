/*
 * monitor.c - the monitor thread: it wakes every few milliseconds (poll on
 * a pipe, which also carries SIGQUIT and the stop request) and
 *  - prints a schedtrace line every WEFT_DEBUG=schedtrace=MS, like Go's
 *    GODEBUG=schedtrace;
 *  - reports a fiber that has run for WEFT_DEBUG=stall=MS (default 10)
 *    without switching, as Seastar's blocked-reactor notice does: a worker
 *    whose switch counter has not moved while it runs a fiber, once per
 *    stall;
 *  - on SIGQUIT (WEFT_DEBUG=sigquit), prints weft_dump to stderr and goes on.
 *  - while a timeline trace records (trace.c), writes out the workers'
 *    event rings every 10 ms; it is started for that if it was not running.
 * It reads only counters and w->running (relaxed atomics): it never stops
 * or touches a worker. When every worker is idle it backs off to 100 ms.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "dump.h"
#include "fiber.h"
#include "monitor.h"
#include "os.h"
#include "runtime.h"
#include "trace.h"
#include "worker.h"

enum { IDLE_INTERVAL_MS = 100 };

struct monitor {
    pthread_t thread;
    int pipe[2];
    struct sigaction old_quit;
    bool have_quit;
    /* Per worker, the stall detector's last sample. */
    uint64_t *last_switches;
    int64_t *since;
    bool *reported;
};

static struct monitor mon;
static volatile int quit_fd = -1; /* the pipe's write end, for the handler */

static void on_sigquit(int sig)
{
    (void)sig;
    int saved = errno;
    if (quit_fd >= 0)
        (void)!write(quit_fd, "q", 1);
    errno = saved;
}

static void schedtrace(struct runtime *rt, int64_t start, int64_t now)
{
    flockfile(stderr);
    fprintf(stderr, "weft: %lldms: workers=%d idle=%d spinning=%d global=%zu runq=[",
            (long long)((now - start) / 1000000), rt->nworkers,
            atomic_load_explicit(&rt->nidle, memory_order_relaxed),
            atomic_load_explicit(&rt->nspinning, memory_order_relaxed),
            (size_t)atomic_load_explicit(&rt->gq.size, memory_order_relaxed));
    uint64_t switches = 0, steals = 0, parks = 0;
    int64_t live = atomic_load_explicit(&rt->foreign_live, memory_order_relaxed);
    for (int i = 0; i < rt->nworkers; i++) {
        struct worker *w = &rt->workers[i];
        fprintf(stderr, "%s%zu", i ? " " : "", wt_deque_size(&w->runq));
        switches += atomic_load_explicit(&w->stats.switches, memory_order_relaxed);
        steals += atomic_load_explicit(&w->stats.steals, memory_order_relaxed);
        parks += atomic_load_explicit(&w->stats.parks, memory_order_relaxed);
        live += atomic_load_explicit(&w->live_delta, memory_order_relaxed);
    }
    fprintf(stderr, "] live=%lld switches=%llu steals=%llu parks=%llu\n", (long long)live,
            (unsigned long long)switches, (unsigned long long)steals, (unsigned long long)parks);
    funlockfile(stderr);
}

/* Sample every worker; report each stall once. Returns true if any worker
 * runs a fiber. */
static bool check_stalls(struct runtime *rt, int64_t now)
{
    bool busy = false;
    int64_t limit = (int64_t)rt->cfg.stall_ms * 1000000;
    for (int i = 0; i < rt->nworkers; i++) {
        struct worker *w = &rt->workers[i];
        uint64_t sw = atomic_load_explicit(&w->stats.switches, memory_order_relaxed);
        /* Acquire pairs with the release store in set_current(). */
        struct fiber *f = atomic_load_explicit(&w->running, memory_order_acquire);
        busy |= f != NULL;
        if (!f || sw != mon.last_switches[i]) {
            mon.last_switches[i] = sw;
            mon.since[i] = now;
            mon.reported[i] = false;
            continue;
        }
        if (!mon.reported[i] && now - mon.since[i] >= limit) {
            /* The fiber may end and its struct be reused while we read: copy
             * the name atomically, and report only if it still runs after. */
            char name[WEFT_NAME_MAX];
            wt_fiber_copy_name(f, name);
            if (atomic_load_explicit(&w->stats.switches, memory_order_relaxed) != sw)
                continue;
            mon.reported[i] = true;
            fprintf(stderr,
                    "weft: stall: fiber %u \"%s\" has run for %lld ms on worker %d without "
                    "yielding (WEFT_DEBUG=stall=%d)\n",
                    f->index + 1, name, (long long)((now - mon.since[i]) / 1000000), i,
                    rt->cfg.stall_ms);
        }
    }
    return busy;
}

static void *monitor_main(void *arg)
{
    struct runtime *rt = arg;
    int64_t start = wt_os_now(), next_trace = start + (int64_t)rt->cfg.schedtrace_ms * 1000000;
    int busy_ms = rt->cfg.stall_ms ? (rt->cfg.stall_ms + 1) / 2 : IDLE_INTERVAL_MS;
    if (rt->cfg.schedtrace_ms && rt->cfg.schedtrace_ms < busy_ms)
        busy_ms = rt->cfg.schedtrace_ms;
    int timeout = busy_ms;
    for (;;) {
        struct pollfd p = {.fd = mon.pipe[0], .events = POLLIN};
        int n = WT_FAULT_SYS(WT_FAULT_EINTR, poll(&p, 1, timeout));
        if (n > 0) {
            char buf[16];
            ssize_t got = read(mon.pipe[0], buf, sizeof buf);
            for (ssize_t i = 0; i < got; i++) {
                if (buf[i] == 'x')
                    return NULL;
                if (buf[i] == 'q')
                    wt_dump_all(stderr, rt);
            }
        }
        wt_trace_flush(); /* the timeline trace's rings, while one records */
        int64_t now = wt_os_now();
        if (rt->cfg.schedtrace_ms && now >= next_trace) {
            schedtrace(rt, start, now);
            next_trace = now + (int64_t)rt->cfg.schedtrace_ms * 1000000;
        }
        bool busy = rt->cfg.stall_ms ? check_stalls(rt, now) : true;
        timeout = busy ? busy_ms : IDLE_INTERVAL_MS;
        if (rt->cfg.schedtrace_ms) {
            int64_t due = (next_trace - now) / 1000000;
            if (due < timeout)
                timeout = due > 0 ? (int)due : 0;
        }
        timeout = wt_trace_flush_timeout(timeout);
    }
}

static void free_samples(void)
{
    wt_free(mon.last_switches);
    wt_free(mon.since);
    wt_free(mon.reported);
    mon.last_switches = NULL;
    mon.since = NULL;
    mon.reported = NULL;
}

int wt_monitor_start(struct runtime *rt)
{
    rt->monitor_on = false;
    if (!WT_STATS)
        rt->cfg.stall_ms = 0; /* it watches the switch counters */
    if (!rt->cfg.schedtrace_ms && !rt->cfg.stall_ms && !rt->cfg.sigquit && !wt_trace_active())
        return 0;
    size_t n = (size_t)rt->nworkers;
    mon.last_switches = wt_calloc(n, sizeof *mon.last_switches);
    mon.since = wt_calloc(n, sizeof *mon.since);
    mon.reported = wt_calloc(n, sizeof *mon.reported);
    if (!mon.last_switches || !mon.since || !mon.reported) {
        free_samples();
        return -ENOMEM;
    }
    if (WT_FAULT_SYS(WT_FAULT_SYSCALL, pipe2(mon.pipe, O_CLOEXEC | O_NONBLOCK)) != 0) {
        int r = -errno;
        free_samples();
        return r;
    }
    int r = wt_thread_create(&mon.thread, NULL, monitor_main, rt);
    if (r) {
        close(mon.pipe[0]);
        close(mon.pipe[1]);
        free_samples();
        return -r;
    }
    mon.have_quit = false;
    if (rt->cfg.sigquit) {
        quit_fd = mon.pipe[1];
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_sigquit;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        mon.have_quit = sigaction(SIGQUIT, &sa, &mon.old_quit) == 0;
    }
    rt->monitor_on = true;
    return 0;
}

static void stop_thread(struct runtime *rt)
{
    if (!rt->monitor_on)
        return;
    if (mon.have_quit) {
        sigaction(SIGQUIT, &mon.old_quit, NULL);
        quit_fd = -1;
    }
    while (write(mon.pipe[1], "x", 1) < 0 && errno == EINTR)
        ;
    pthread_join(mon.thread, NULL);
    close(mon.pipe[0]);
    close(mon.pipe[1]);
    free_samples();
    rt->monitor_on = false;
}

/* Serialises wt_monitor_ensure with wt_monitor_stop: an ensure either runs
 * before the stop (which then stops what it started) or sees the runtime
 * no longer RUNNING (shutdown moves the state before it stops us). */
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;

void wt_monitor_stop(struct runtime *rt)
{
    pthread_mutex_lock(&start_lock);
    stop_thread(rt);
    pthread_mutex_unlock(&start_lock);
}

int wt_monitor_ensure(struct runtime *rt)
{
    pthread_mutex_lock(&start_lock);
    int r = rt->monitor_on || !wt_rt_running() ? 0 : wt_monitor_start(rt);
    pthread_mutex_unlock(&start_lock);
    return r;
}
