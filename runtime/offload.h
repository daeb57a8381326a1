/*
 * offload.h - the offload pool (offload.c): its hooks in weft_init and
 * weft_shutdown, and the small platform part that offload_<os>.c provides.
 */
#ifndef WT_OFFLOAD_H
#define WT_OFFLOAD_H

#include <pthread.h>

/* weft_init, before the workers start: read WEFT_OFFLOAD_MAX (default 4 ×
 * @nworkers) and make the pool ready, with no thread. Returns 0, or
 * -EINVAL (with a message) for a bad WEFT_OFFLOAD_MAX. Nothing to undo. */
int wt_offload_init(int nworkers);

/* weft_shutdown, once the workers have stopped and before any fiber is
 * abandoned (the jobs live on fiber stacks): refuse new calls, end the
 * queued ones with -ECANCELED, wait for the running ones, join every pool
 * thread. Must not be called from a pool thread. */
void wt_offload_stop(void);

/* Platform part. Workers pin themselves to one core, and a new thread
 * inherits its creator's CPU affinity: a pool thread started from a fiber
 * would share that worker's core. os_init (weft_init's thread, before the
 * workers exist) notes the CPUs that thread may use; os_attr gives them to
 * a pool thread about to be created. Both may do nothing. */
void wt_offload_os_init(void);
void wt_offload_os_attr(pthread_attr_t *attr);

#endif /* WT_OFFLOAD_H */
