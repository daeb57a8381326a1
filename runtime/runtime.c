/*
 * runtime.c - weft_init, weft_shutdown, weft_main: bringing the runtime up
 * and down, and the bracket that keeps plain threads safe across shutdown.
 *
 * Plain threads and shutdown. A plain thread calling into weft increments
 * nforeign (seq_cst) and then checks that the state is RUNNING (seq_cst);
 * shutdown moves the state to STOPPING (seq_cst) before it waits for
 * nforeign to reach 0. In the total order of those operations either the
 * thread sees STOPPING and backs out, or shutdown sees it counted and waits
 * for it (waking it with -ECANCELED if it waits in weft_join). Only then
 * are the tables freed.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "chan.h"
#include "detsched.h"
#include "fiber.h"
#include "monitor.h"
#include "netpoll.h"
#include "netpoll_thread.h"
#include "offload.h"
#include "os.h"
#include "overflow.h"
#include "runtime.h"
#include "scheduler.h"
#include "stats_print.h"
#include "topology.h"
#include "trace.h"
#include "worker.h"

enum { DEQUE_INITIAL = 256 };

struct runtime wt_rt;

int wt_foreign_enter(void)
{
    atomic_fetch_add_explicit(&wt_rt.nforeign, 1, memory_order_seq_cst);
    if (wt_rt_running())
        return 0;
    atomic_fetch_sub_explicit(&wt_rt.nforeign, 1, memory_order_seq_cst);
    return -ECANCELED;
}

void wt_foreign_leave(void)
{
    atomic_fetch_sub_explicit(&wt_rt.nforeign, 1, memory_order_seq_cst);
}

/* Free what start() built; the workers are not running. */
static void teardown(struct runtime *rt, int nstarted_deques)
{
    wt_trace_shutdown(rt); /* a trace still recording: finish its file */
    /* Closes the poller; the user's fds stay open. No-op if never opened. */
    wt_netpoll_thread_stop();
    wt_netpoll_fini();
    wt_det_fini(rt);
    for (int i = 0; i < nstarted_deques; i++) {
        struct worker *w = &rt->workers[i];
        wt_timer_fini(&w->timers);
        wt_deque_destroy(&w->runq);
    }
    wt_free(rt->workers);
    rt->workers = NULL;
    if (rt->ft) {
        wt_fiber_table_fini(rt->ft);
        wt_free(rt->ft);
        rt->ft = NULL;
    }
    wt_stack_global_fini(&rt->stacks);
    if (rt->topo)
        wt_topology_free(rt->topo);
    rt->topo = NULL;
}

static void stop_workers(struct runtime *rt, int nthreads)
{
    atomic_store_explicit(&rt->state, RT_STOPPING, memory_order_seq_cst);
    wt_sched_wake_all(rt);
    for (int i = 0; i < nthreads; i++)
        wt_worker_join(&rt->workers[i]);
}

static int start(struct runtime *rt, const weft_config *cfg)
{
    int r = wt_topology_load(&rt->topo);
    if (r)
        return r;
    r = wt_config_resolve(cfg, wt_topology_default_workers(rt->topo), &rt->cfg);
    if (r)
        goto out_teardown;
    r = wt_offload_init(rt->cfg.workers); /* WEFT_OFFLOAD_MAX; starts no thread */
    if (r)
        goto out_teardown;
    r = wt_stack_global_init(&rt->stacks, rt->cfg.stack_size, rt->cfg.guard);
    if (r) {
        if (r == -ENOTSUP)
            fprintf(stderr, "weft: stack guard mode madvise (MADV_GUARD_INSTALL) is not "
                            "available on this kernel\n");
        goto out_teardown;
    }
    r = -ENOMEM;
    rt->ft = wt_alloc(sizeof *rt->ft);
    if (!rt->ft)
        goto out_teardown;
    wt_fiber_table_init(rt->ft);
    rt->gq = (struct global_queue){0};
    atomic_init(&rt->idle_seq, 0);
    atomic_init(&rt->nidle, 0);
    atomic_init(&rt->nspinning, 0);
    atomic_init(&rt->waking, false);
    atomic_init(&rt->idle_epoch, 0);
    atomic_init(&rt->foreign_live, 0);
    atomic_init(&rt->foreign_used, false);
    atomic_init(&rt->checking, false);
    atomic_init(&rt->shared_stats.spawns, 0);
    atomic_init(&rt->shared_stats.wakeups, 0);
    atomic_init(&rt->shared_stats.offloads, 0);
    atomic_init(&rt->shared_stats.polls, 0);
    atomic_init(&rt->main_root, 0);
    if (rt->cfg.deadlock == WEFT_DEADLOCK_DEFAULT)
        rt->cfg.deadlock = rt->main_mode ? WEFT_DEADLOCK_ABORT : WEFT_DEADLOCK_OFF;
    rt->nworkers = rt->cfg.workers;
    size_t bytes = (size_t)rt->nworkers * sizeof(struct worker);
    rt->workers =
        wt_aligned_alloc(WT_CACHE_LINE, (bytes + WT_CACHE_LINE - 1) & ~(size_t)(WT_CACHE_LINE - 1));
    if (!rt->workers)
        goto out_teardown;
    memset(rt->workers, 0, bytes);
    int ndeques = 0;
    for (; ndeques < rt->nworkers; ndeques++) {
        struct worker *w = &rt->workers[ndeques];
        w->index = ndeques;
        w->rt = rt;
        w->rng = 0x9E3779B97F4A7C15ull * (uint64_t)(ndeques + 1);
        atomic_init(&w->idle_timer, -1);
        if (wt_deque_init(&w->runq, DEQUE_INITIAL) != 0)
            goto out_deques;
    }
    if (rt->cfg.print_bind) {
        fprintf(stderr, "weft: %d workers, pinning %s, stacks %zu bytes, guard %s\n", rt->nworkers,
                rt->cfg.pin ? "on" : "off", rt->cfg.stack_size,
                wt_stack_mode_name(rt->stacks.mode));
        for (int i = 0; i < rt->nworkers && rt->cfg.pin; i++) {
            char line[128];
            if (wt_topology_describe(rt->topo, i, line, sizeof line) == 0)
                fprintf(stderr, "%s\n", line);
        }
    }
    /* The netpoller: an epoll fd and an eventfd, opened always (two system
     * calls here; none on any scheduling path until a fiber waits on an fd). */
    r = wt_netpoll_init(rt->nworkers + 1); /* a slot for each worker and one for the poll thread */
    if (r)
        goto out_deques;
    if (rt->cfg.poll_thread && (r = wt_netpoll_thread_start(rt->nworkers)) != 0)
        goto out_deques;
    r = wt_det_init(rt);
    if (r)
        goto out_deques;
    r = wt_trace_init(rt); /* WEFT_TRACE: before any fiber runs */
    if (r)
        goto out_deques;
    r = wt_overflow_install();
    if (r)
        goto out_deques;
    for (int i = 0; i < rt->nworkers; i++) {
        r = wt_worker_start(&rt->workers[i]);
        if (r) {
            stop_workers(rt, i);
            wt_overflow_uninstall();
            goto out_deques;
        }
    }
    r = wt_monitor_start(rt);
    if (r) {
        stop_workers(rt, rt->nworkers);
        wt_overflow_uninstall();
        goto out_deques;
    }
    return 0;

out_deques:
    teardown(rt, ndeques);
    return r;
out_teardown:
    teardown(rt, 0);
    return r;
}

static int init(const weft_config *cfg, bool main_mode)
{
    if (wt_worker_self())
        return -EBUSY;
    int expected = RT_STOPPED;
    if (!atomic_compare_exchange_strong_explicit(&wt_rt.state, &expected, RT_STARTING,
                                                 memory_order_seq_cst, memory_order_seq_cst))
        return -EBUSY;
    int saved = errno;
    wt_rt.main_mode = main_mode;
    int r = start(&wt_rt, cfg);
    errno = saved;
    atomic_store_explicit(&wt_rt.state, r ? RT_STOPPED : RT_RUNNING, memory_order_seq_cst);
    return r;
}

int weft_init(const weft_config *cfg)
{
    return init(cfg, false);
}

int weft_shutdown(void)
{
    if (wt_worker_self())
        return -EDEADLK;
    struct runtime *rt = &wt_rt;
    int expected = RT_RUNNING;
    if (!atomic_compare_exchange_strong_explicit(&rt->state, &expected, RT_STOPPING,
                                                 memory_order_seq_cst, memory_order_seq_cst))
        return -ECANCELED;
    int saved = errno;
    wt_monitor_stop(rt); /* it reads the workers: first */
    stop_workers(rt, rt->nworkers);
    wt_netpoll_thread_stop();  /* if on: it finishes waiters, so before fibers are abandoned */
    wt_offload_stop();         /* waits for running offloads: before fibers are abandoned */
    if (rt->cfg.print_stats) { /* WEFT_DEBUG=stats: the counters, now final */
        fputs("weft: counters at shutdown:\n", stderr);
        (void)wt_stats_print_rt(stderr, rt);
    }
    /* Workers are gone: wake plain threads in weft_join, wait them out. */
    size_t live;
    for (;;) {
        live = wt_fiber_abandon_all();
        wt_wait_cancel_plain_all(); /* plain threads blocked in other calls */
        if (atomic_load_explicit(&rt->nforeign, memory_order_seq_cst) == 0)
            break;
        wt_os_sleep_until(wt_os_now() + 1000000);
    }
    /* No fiber runs and no plain thread is inside: channels still made are
     * leaks of this runtime; retire them (chan.c). */
    size_t leaked = wt_chan_reclaim_all();
    wt_overflow_uninstall();
    teardown(rt, rt->nworkers);
    errno = saved;
    atomic_store_explicit(&rt->state, RT_STOPPED, memory_order_seq_cst);
    return live || leaked ? -EBUSY : 0;
}

int weft_main(const weft_config *cfg, weft_fn fn, void *arg, void **result)
{
    if (!fn)
        return -EINVAL;
    int r = init(cfg, true);
    if (r)
        return r;
    weft_fiber root;
    weft_fiber_attr attr = {.name = "main"};
    void *res = NULL;
    r = wt_fiber_spawn(&root, fn, arg, &attr, true, __builtin_return_address(0));
    if (r == 0) {
        /* Before the join: the deadlock check needs the root's handle, and
         * stays quiet until it finds the root joined by us. */
        atomic_store_explicit(&wt_rt.main_root, root.id, memory_order_release);
        r = weft_join(root, &res);
    }
    int s = weft_shutdown();
    if (r)
        return r;
    if (result)
        *result = res;
    return s;
}

int weft_workers(void)
{
    return wt_rt_running() ? wt_rt.nworkers : -ECANCELED;
}

int weft_worker_index(void)
{
    struct worker *w = wt_worker_self();
    return w ? w->index : -EPERM;
}

int weft_yield(void)
{
    struct worker *w = wt_worker_self();
    if (!w || !w->current) {
        sched_yield();
        return 0;
    }
    wt_sched_yield(w);
    return 0;
}
