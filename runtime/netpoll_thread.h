/*
 * netpoll_thread.h - the dedicated poller thread (WEFT_POLL_THREAD=1), an
 * experiment kept for measuring: netpoll_thread.c says why.
 */
#ifndef WT_NETPOLL_THREAD_H
#define WT_NETPOLL_THREAD_H

/* Start the thread, polling with the poller's slot @slot (one no worker
 * uses); 0, or -EAGAIN if it cannot be created. */
int wt_netpoll_thread_start(int slot);

/* Stop and join it; no-op if it is not running. Call before fibers are
 * abandoned (it finishes waiters that live on their stacks). */
void wt_netpoll_thread_stop(void);

#endif /* WT_NETPOLL_THREAD_H */
