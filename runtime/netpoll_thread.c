/*
 * netpoll_thread.c - the dedicated poller thread, an experiment kept for
 * measuring (WEFT_POLL_THREAD=1; docs/ARCHITECTURE.md has the figures).
 *
 * weft's netpoller normally has no thread of its own: a busy worker polls
 * without blocking on its fairness tick, and one idle worker at a time
 * blocks in the poller with its earliest timer (scheduler.c, (4)-(5)). The
 * issue that asked for the netpoller allows a dedicated thread only if
 * measurements show that it wins; this file is the other design, so that
 * the two can be measured in one build.
 *
 * With it on, one more thread blocks in the poller for the runtime's life
 * and finishes every waiter the kernel reports, as a plain thread would:
 * the fibers go through the global queue and an idle worker is woken. The
 * thread holds the blocking-poll slot for good (wt_np.blocked =
 * NP_BLOCKED_THREAD), so the workers never poll: wt_netpoll_poll() sees the
 * slot taken, wt_netpoll_claim()'s CAS from 0 fails, and
 * wt_netpoll_blocked() (is a *worker* in the poller?) says no, so a wake-up
 * goes to the idle workers' futex, not to the poller's eventfd.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "alloc.h"
#include "netpoll.h"
#include "netpoll_thread.h"
#include "weft.h"

static struct {
    pthread_t thread;
    bool running;
    _Atomic bool stop;
    int slot;
} pt;

static void *poll_thread_main(void *arg)
{
    (void)arg;
    /* Acquire: pairs with the release store in wt_netpoll_thread_stop(),
     * whose wake makes the wait below return. */
    while (!atomic_load_explicit(&pt.stop, memory_order_acquire)) {
        struct waiter *ready = NULL;
        wt_poller_wait(&wt_np.p, pt.slot, WEFT_FOREVER, &ready);
        wt_netpoll_finish(ready); /* as a plain thread: through the global queue */
    }
    return NULL;
}

int wt_netpoll_thread_start(int slot)
{
    pt.slot = slot;
    atomic_store_explicit(&pt.stop, false, memory_order_relaxed);
    /* Relaxed: the workers that read it start after this (pthread_create
     * orders it). */
    atomic_store_explicit(&wt_np.blocked, NP_BLOCKED_THREAD, memory_order_relaxed);
    int r = wt_thread_create(&pt.thread, NULL, poll_thread_main, NULL);
    if (r) {
        atomic_store_explicit(&wt_np.blocked, 0, memory_order_relaxed);
        return -r;
    }
    pt.running = true;
    return 0;
}

void wt_netpoll_thread_stop(void)
{
    if (!pt.running)
        return;
    atomic_store_explicit(&pt.stop, true, memory_order_release);
    wt_netpoll_interrupt();
    pthread_join(pt.thread, NULL);
    pt.running = false;
    atomic_store_explicit(&wt_np.blocked, 0, memory_order_relaxed);
}
