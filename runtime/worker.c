/*
 * worker.c - a worker's OS thread: thread-local identity, pinning, the
 * alternate signal stack, then the scheduler loop (scheduler.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "alloc.h"
#include "debug.h"
#include "overflow.h"
#include "runtime.h"
#include "scheduler.h"
#include "topology.h"
#include "worker.h"

static _Thread_local struct worker *tls_worker;

/* Opaque to the optimiser on purpose (see worker.h and PLATFORM.md): each
 * call computes the thread-local's address afresh. */
WT_NOIPA struct worker *wt_worker_self(void)
{
    struct worker *w = tls_worker;
    __asm__ volatile("" : "+r"(w));
    return w;
}

static void thread_stack_bounds(void **lo, size_t *size)
{
    pthread_attr_t attr;
    *lo = NULL;
    *size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        pthread_attr_getstack(&attr, lo, size);
        pthread_attr_destroy(&attr);
    }
}

static void *worker_thread(void *arg)
{
    struct worker *w = arg;
    struct runtime *rt = w->rt;
    tls_worker = w;
    if (rt->cfg.pin) {
        int r = wt_topology_bind_thread(rt->topo, w->index);
        if (r != 0 && w->index == 0)
            fprintf(stderr, "weft: could not pin workers (%s); running unpinned\n",
                    weft_strerror(r));
    }
    w->altstack = wt_overflow_altstack_enable();
    void *lo;
    size_t size;
    thread_stack_bounds(&lo, &size);
    wt_san_thread_init(&w->sched_san, lo, size);
    wt_sched_loop(w);
    wt_overflow_altstack_disable(w->altstack);
    w->altstack = NULL;
    tls_worker = NULL;
    return NULL;
}

int wt_worker_start(struct worker *w)
{
    int r = wt_thread_create(&w->thread, NULL, worker_thread, w);
    return r ? -r : 0;
}

void wt_worker_join(struct worker *w)
{
    pthread_join(w->thread, NULL);
}
