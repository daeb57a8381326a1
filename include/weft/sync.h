/*
 * weft/sync.h - fiber-aware synchronisation: mutex, recursive mutex,
 * reader-writer lock, condition variable, semaphore, wait group, once,
 * barrier and event. Included by <weft.h>; do not include it alone.
 *
 * Every object lives in the caller's memory and is ready when zeroed (or
 * set from its WEFT_*_INIT macro); its struct is opaque. A blocking call
 * parks the calling fiber, never its worker thread, and blocks a plain
 * thread (one that is not a fiber) instead, so fibers and plain threads may
 * share an object. Uncontended operations are one atomic instruction and
 * never look at the runtime; the runtime need not be running for plain
 * threads to use these objects among themselves.
 *
 * Blocking calls come in three forms: weft_x() waits without limit,
 * weft_x_until(..., deadline) until an absolute weft_now() deadline
 * (WEFT_FOREVER: none; any other negative value is -EINVAL; a deadline
 * already past never parks and fails with -ETIMEDOUT if the call cannot
 * complete at once), and weft_x_try...() never waits (-EAGAIN). A fiber
 * that is cancelled (weft_cancel()) while it waits, or before it would
 * wait, gets -ECANCELED; a call that completes without waiting still
 * succeeds.
 *
 * An object must not be moved or copied while in use, and must not be
 * destroyed (or its memory reused) while any fiber or thread uses or waits
 * on it: weft_x_destroy() reports the cases it can see with -EBUSY. A
 * fiber still waiting on an object when the runtime shuts down is
 * abandoned with its stack; the object must not be used afterwards.
 */
#ifndef WEFT_SYNC_H
#define WEFT_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#ifndef WEFT_H
#error "include <weft.h>, not <weft/sync.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/**
 * weft_mutex - a mutual-exclusion lock, like Go's sync.Mutex.
 *
 * Zeroed, or WEFT_MUTEX_INIT, it is unlocked. A locker spins briefly, then
 * parks. Waiters are woken in FIFO order but a running locker may still
 * take the lock first (throughput); a waiter that has waited longer than
 * 1 ms switches the mutex to hand-off mode, where unlock passes the lock
 * straight to the oldest waiter, so no waiter starves. The owner is not
 * recorded: any fiber or thread may unlock a locked mutex (as in Go), and a
 * holder that locks again deadlocks.
 */
typedef struct weft_mutex {
    uint64_t opaque_[4];
} weft_mutex;

/** WEFT_MUTEX_INIT - static initializer: an unlocked mutex. */
#define WEFT_MUTEX_INIT \
    {                   \
        {               \
            0           \
        }               \
    }

/**
 * weft_rmutex - a recursive mutex, like Python's threading.RLock.
 *
 * Its owner (the fiber, or the plain thread, that locked it) may lock it
 * again; it is released when unlocked as many times as it was locked. Only
 * the owner may unlock it. The owner is the fiber, not the worker thread,
 * so a fiber may migrate while holding it. Zeroed, or WEFT_RMUTEX_INIT, it
 * is unlocked.
 */
typedef struct weft_rmutex {
    uint64_t opaque_[6];
} weft_rmutex;

/** WEFT_RMUTEX_INIT - static initializer: an unlocked recursive mutex. */
#define WEFT_RMUTEX_INIT \
    {                    \
        {                \
            0            \
        }                \
    }

/**
 * weft_rwlock - a reader-writer lock that does not starve writers.
 *
 * Many readers or one writer hold it. Once a writer waits, new readers
 * wait too (so a stream of readers cannot starve it); when a writer
 * unlocks, the readers that queued meanwhile go first, then the next
 * writer (so writers cannot starve readers either). A reader that takes
 * the read lock again while a writer waits deadlocks, as in Go. Zeroed, or
 * WEFT_RWLOCK_INIT, it is unlocked.
 */
typedef struct weft_rwlock {
    uint64_t opaque_[6];
} weft_rwlock;

/** WEFT_RWLOCK_INIT - static initializer: an unlocked reader-writer lock. */
#define WEFT_RWLOCK_INIT \
    {                    \
        {                \
            0            \
        }                \
    }

/**
 * weft_cond - a condition variable, used with a weft_mutex.
 *
 * Waiters are woken in FIFO order and never spuriously by weft itself,
 * but, as with every condition variable, the condition must be re-checked
 * in a loop: another locker may change it between the wake-up and the
 * re-locking. Zeroed, or WEFT_COND_INIT, it has no waiters.
 */
typedef struct weft_cond {
    uint64_t opaque_[4];
} weft_cond;

/** WEFT_COND_INIT - static initializer: a condition variable. */
#define WEFT_COND_INIT \
    {                  \
        {              \
            0          \
        }              \
    }

/**
 * weft_sem - a counting semaphore (Python's Semaphore), optionally bounded
 * (BoundedSemaphore: a release that would raise the count above the bound
 * fails).
 *
 * Zeroed it has count 0 and no bound. A release with waiters hands its unit
 * to the oldest waiter. Counts are at most WEFT_SEM_MAX.
 */
typedef struct weft_sem {
    uint64_t opaque_[6];
} weft_sem;

/** WEFT_SEM_MAX - the largest count of a semaphore. */
#define WEFT_SEM_MAX 0x7fffffff

/** WEFT_SEM_INIT - static initializer: count @n (0..WEFT_SEM_MAX), no bound. */
#define WEFT_SEM_INIT(n)     \
    {                        \
        {                    \
            (uint64_t)(n), 0 \
        }                    \
    }

/** WEFT_SEM_INIT_BOUNDED - static initializer: count @n, bound @max (0 <= @n <= @max,
 * 1 <= @max <= WEFT_SEM_MAX). Python's BoundedSemaphore(n) is WEFT_SEM_INIT_BOUNDED(n, n). */
#define WEFT_SEM_INIT_BOUNDED(n, max)      \
    {                                      \
        {                                  \
            (uint64_t)(n), (uint64_t)(max) \
        }                                  \
    }

/**
 * weft_waitgroup - waits for a collection of tasks, like Go's sync.WaitGroup.
 *
 * weft_waitgroup_add() raises the counter before starting tasks,
 * weft_waitgroup_done() lowers it as each ends, weft_waitgroup_wait()
 * returns once it is zero. Zeroed, or WEFT_WAITGROUP_INIT, the counter is 0.
 */
typedef struct weft_waitgroup {
    uint64_t opaque_[4];
} weft_waitgroup;

/** WEFT_WAITGROUP_INIT - static initializer: a wait group at 0. */
#define WEFT_WAITGROUP_INIT \
    {                       \
        {                   \
            0               \
        }                   \
    }

/**
 * weft_once - runs a function exactly once, like pthread_once or Go's
 * sync.Once. Zeroed, or WEFT_ONCE_INIT, it has not run.
 */
typedef struct weft_once {
    uint64_t opaque_[4];
} weft_once;

/** WEFT_ONCE_INIT - static initializer: a once that has not run. */
#define WEFT_ONCE_INIT \
    {                  \
        {              \
            0          \
        }              \
    }

/**
 * weft_barrier - a reusable barrier for a fixed number of parties, like
 * pthread_barrier_t or Python's threading.Barrier.
 *
 * A zeroed barrier has no party count and must be set up with
 * weft_barrier_init() (or WEFT_BARRIER_INIT(n)) before use.
 */
typedef struct weft_barrier {
    uint64_t opaque_[4];
} weft_barrier;

/** WEFT_BARRIER_INIT - static initializer: a barrier for @n parties (1..UINT32_MAX). */
#define WEFT_BARRIER_INIT(n) \
    {                        \
        {                    \
            (uint64_t)(n)    \
        }                    \
    }

/**
 * weft_event - a flag that fibers can wait for, like Python's
 * threading.Event: set wakes every waiter, and the flag stays set (later
 * waits return at once) until cleared. A one-shot event is one that is
 * never cleared. Zeroed, or WEFT_EVENT_INIT, it is clear.
 */
typedef struct weft_event {
    uint64_t opaque_[4];
} weft_event;

/** WEFT_EVENT_INIT - static initializer: a clear event. */
#define WEFT_EVENT_INIT \
    {                   \
        {               \
            0           \
        }               \
    }

/* Mutex. */

/**
 * weft_mutex_init - make @m an unlocked mutex (the same as zeroing it).
 *
 * Return: 0; -EINVAL if @m is NULL.
 * Context: any thread.
 */
WEFT_API int weft_mutex_init(weft_mutex *m);

/**
 * weft_mutex_destroy - check that @m is unused, so that its memory may go.
 *
 * Nothing is freed: a mutex owns no memory. A destroyed mutex is unlocked
 * and may be used again.
 *
 * Return: 0; -EBUSY if @m is locked or has waiters (it is left as it was);
 * -EINVAL if @m is NULL.
 * Context: any thread.
 */
WEFT_API int weft_mutex_destroy(weft_mutex *m);

/**
 * weft_mutex_lock - lock @m, waiting as long as it takes.
 *
 * Return: 0; -ECANCELED if the calling fiber was cancelled before it got
 * the lock; -EINVAL if @m is NULL.
 * Context: any thread. May park.
 */
WEFT_API int weft_mutex_lock(weft_mutex *m);

/**
 * weft_mutex_lock_until - lock @m, waiting no later than @deadline.
 * @deadline: absolute weft_now() time, or WEFT_FOREVER.
 *
 * Return: 0; -ETIMEDOUT if @deadline passed first; -ECANCELED if the
 * calling fiber was cancelled first; -EINVAL if @m is NULL or @deadline is
 * negative but not WEFT_FOREVER; -ENOMEM if no timer could be set.
 * Context: any thread. May park.
 */
WEFT_API int weft_mutex_lock_until(weft_mutex *m, int64_t deadline);

/**
 * weft_mutex_trylock - lock @m if that needs no waiting.
 *
 * Fails while the mutex is in hand-off mode even if it is momentarily
 * unlocked: the lock belongs to the oldest waiter then.
 *
 * Return: 0; -EAGAIN if @m is locked; -EINVAL if @m is NULL.
 * Context: any thread.
 */
WEFT_API int weft_mutex_trylock(weft_mutex *m);

/**
 * weft_mutex_unlock - unlock @m, handing it to a waiter if there is one.
 *
 * Only the lock state is checked, not who holds it.
 *
 * Return: 0; -EPERM if @m is not locked; -EINVAL if @m is NULL.
 * Context: any thread.
 */
WEFT_API int weft_mutex_unlock(weft_mutex *m);

/* Recursive mutex. */

/**
 * weft_rmutex_init - make @m an unlocked recursive mutex (the same as zeroing it).
 *
 * Return: 0; -EINVAL if @m is NULL.
 * Context: any thread.
 */
WEFT_API int weft_rmutex_init(weft_rmutex *m);

/**
 * weft_rmutex_destroy - check that @m is unused, so that its memory may go.
 *
 * Return: 0; -EBUSY if @m is locked or has waiters; -EINVAL if @m is NULL.
 * Context: any thread.
 */
WEFT_API int weft_rmutex_destroy(weft_rmutex *m);

/**
 * weft_rmutex_lock - lock @m, or lock it once more if the caller owns it.
 *
 * Return: 0; -ECANCELED if the calling fiber was cancelled before it got
 * the lock; -EOVERFLOW if the owner already holds it INT32_MAX times;
 * -EINVAL if @m is NULL.
 * Context: any thread. May park.
 */
WEFT_API int weft_rmutex_lock(weft_rmutex *m);

/**
 * weft_rmutex_lock_until - weft_rmutex_lock(), waiting no later than @deadline.
 *
 * Return: as weft_rmutex_lock(); -ETIMEDOUT if @deadline passed first;
 * -EINVAL if @deadline is negative but not WEFT_FOREVER; -ENOMEM if no
 * timer could be set.
 * Context: any thread. May park.
 */
WEFT_API int weft_rmutex_lock_until(weft_rmutex *m, int64_t deadline);

/**
 * weft_rmutex_trylock - weft_rmutex_lock() if that needs no waiting.
 *
 * Return: 0; -EAGAIN if another fiber or thread holds @m; -EOVERFLOW;
 * -EINVAL if @m is NULL.
 * Context: any thread.
 */
WEFT_API int weft_rmutex_trylock(weft_rmutex *m);

/**
 * weft_rmutex_unlock - undo one lock of @m by its owner; the last one
 * releases it.
 *
 * Return: 0; -EPERM if the caller does not own @m (unlocked, or held by
 * another fiber or thread); -EINVAL if @m is NULL.
 * Context: any thread.
 */
WEFT_API int weft_rmutex_unlock(weft_rmutex *m);

/* Reader-writer lock. */

/**
 * weft_rwlock_init - make @rw an unlocked reader-writer lock (the same as zeroing it).
 *
 * Return: 0; -EINVAL if @rw is NULL.
 * Context: any thread.
 */
WEFT_API int weft_rwlock_init(weft_rwlock *rw);

/**
 * weft_rwlock_destroy - check that @rw is unused, so that its memory may go.
 *
 * Return: 0; -EBUSY if @rw is held or has waiters; -EINVAL if @rw is NULL.
 * Context: any thread.
 */
WEFT_API int weft_rwlock_destroy(weft_rwlock *rw);

/**
 * weft_rwlock_rdlock - take a read lock on @rw, waiting as long as it takes.
 *
 * Waits while a writer holds @rw or waits for it.
 *
 * Return: 0; -ECANCELED if the calling fiber was cancelled first;
 * -EINVAL if @rw is NULL.
 * Context: any thread. May park.
 */
WEFT_API int weft_rwlock_rdlock(weft_rwlock *rw);

/**
 * weft_rwlock_rdlock_until - weft_rwlock_rdlock(), waiting no later than @deadline.
 *
 * Return: as weft_rwlock_rdlock(); -ETIMEDOUT if @deadline passed first;
 * -EINVAL if @deadline is negative but not WEFT_FOREVER; -ENOMEM if no
 * timer could be set.
 * Context: any thread. May park.
 */
WEFT_API int weft_rwlock_rdlock_until(weft_rwlock *rw, int64_t deadline);

/**
 * weft_rwlock_tryrdlock - take a read lock on @rw if that needs no waiting.
 *
 * Return: 0; -EAGAIN if a writer holds or waits for @rw; -EINVAL if @rw
 * is NULL.
 * Context: any thread.
 */
WEFT_API int weft_rwlock_tryrdlock(weft_rwlock *rw);

/**
 * weft_rwlock_wrlock - take the write lock on @rw, waiting as long as it takes.
 *
 * Return: 0; -ECANCELED if the calling fiber was cancelled first;
 * -EINVAL if @rw is NULL.
 * Context: any thread. May park.
 */
WEFT_API int weft_rwlock_wrlock(weft_rwlock *rw);

/**
 * weft_rwlock_wrlock_until - weft_rwlock_wrlock(), waiting no later than @deadline.
 *
 * Return: as weft_rwlock_wrlock(); -ETIMEDOUT if @deadline passed first;
 * -EINVAL if @deadline is negative but not WEFT_FOREVER; -ENOMEM if no
 * timer could be set.
 * Context: any thread. May park.
 */
WEFT_API int weft_rwlock_wrlock_until(weft_rwlock *rw, int64_t deadline);

/**
 * weft_rwlock_trywrlock - take the write lock on @rw if that needs no waiting.
 *
 * Return: 0; -EAGAIN if @rw is held or has waiters; -EINVAL if @rw is NULL.
 * Context: any thread.
 */
WEFT_API int weft_rwlock_trywrlock(weft_rwlock *rw);

/**
 * weft_rwlock_unlock - release the write lock, or one read lock, of @rw.
 *
 * Which one is told by the lock's state: a writer holds it, or readers do.
 * Owners are not recorded.
 *
 * Return: 0; -EPERM if @rw is not held; -EINVAL if @rw is NULL.
 * Context: any thread.
 */
WEFT_API int weft_rwlock_unlock(weft_rwlock *rw);

/* Condition variable. */

/**
 * weft_cond_init - make @c a condition variable with no waiters (the same as zeroing it).
 *
 * Return: 0; -EINVAL if @c is NULL.
 * Context: any thread.
 */
WEFT_API int weft_cond_init(weft_cond *c);

/**
 * weft_cond_destroy - check that nobody waits on @c, so that its memory may go.
 *
 * Return: 0; -EBUSY if @c has waiters; -EINVAL if @c is NULL.
 * Context: any thread.
 */
WEFT_API int weft_cond_destroy(weft_cond *c);

/**
 * weft_cond_wait - unlock @m, wait for a signal on @c, lock @m again.
 * @c: the condition variable.
 * @m: a mutex the caller holds.
 *
 * Unlocking and starting to wait are one step for anyone who signals with
 * @m held: no signal is lost. In every case, errors included (except
 * -EINVAL and -EPERM), @m is held again when the call returns. A cancelled
 * fiber re-locks @m without parking (it yields until @m is free).
 *
 * Return: 0 once signalled; -ECANCELED if the calling fiber was cancelled
 * before or while it waited; -EPERM if @m was not locked (nothing waited);
 * -EINVAL if @c or @m is NULL.
 * Context: any thread. May park.
 */
WEFT_API int weft_cond_wait(weft_cond *c, weft_mutex *m);

/**
 * weft_cond_wait_until - weft_cond_wait(), waiting no later than @deadline.
 *
 * @m is held again on return, after a timeout too (as pthread_cond_timedwait).
 *
 * Return: as weft_cond_wait(); -ETIMEDOUT if @deadline passed before a
 * signal; -EINVAL if @deadline is negative but not WEFT_FOREVER (nothing
 * waited, @m still held); -ENOMEM if no timer could be set.
 * Context: any thread. May park.
 */
WEFT_API int weft_cond_wait_until(weft_cond *c, weft_mutex *m, int64_t deadline);

/**
 * weft_cond_signal - wake the oldest waiter of @c, if any.
 *
 * Return: 0; -EINVAL if @c is NULL.
 * Context: any thread.
 */
WEFT_API int weft_cond_signal(weft_cond *c);

/**
 * weft_cond_broadcast - wake every waiter of @c.
 *
 * Return: 0; -EINVAL if @c is NULL.
 * Context: any thread.
 */
WEFT_API int weft_cond_broadcast(weft_cond *c);

/* Semaphore. */

/**
 * weft_sem_init - give @s the count @count and no bound.
 *
 * Return: 0; -EINVAL if @s is NULL or @count is not 0..WEFT_SEM_MAX.
 * Context: any thread.
 */
WEFT_API int weft_sem_init(weft_sem *s, int count);

/**
 * weft_sem_init_bounded - give @s the count @count and the bound @max.
 *
 * weft_sem_release() fails rather than raise the count above @max.
 *
 * Return: 0; -EINVAL if @s is NULL, @max is not 1..WEFT_SEM_MAX or @count
 * is not 0..@max.
 * Context: any thread.
 */
WEFT_API int weft_sem_init_bounded(weft_sem *s, int count, int max);

/**
 * weft_sem_destroy - check that nobody waits on @s, so that its memory may go.
 *
 * Return: 0; -EBUSY if @s has waiters; -EINVAL if @s is NULL.
 * Context: any thread.
 */
WEFT_API int weft_sem_destroy(weft_sem *s);

/**
 * weft_sem_acquire - take one unit from @s, waiting as long as it takes.
 *
 * Return: 0; -ECANCELED if the calling fiber was cancelled first;
 * -EINVAL if @s is NULL.
 * Context: any thread. May park.
 */
WEFT_API int weft_sem_acquire(weft_sem *s);

/**
 * weft_sem_acquire_until - take one unit from @s, waiting no later than @deadline.
 *
 * Return: 0; -ETIMEDOUT if @deadline passed first; -ECANCELED if the
 * calling fiber was cancelled first; -EINVAL if @s is NULL or @deadline is
 * negative but not WEFT_FOREVER; -ENOMEM if no timer could be set.
 * Context: any thread. May park.
 */
WEFT_API int weft_sem_acquire_until(weft_sem *s, int64_t deadline);

/**
 * weft_sem_try_acquire - take one unit from @s if one is there.
 *
 * Return: 0; -EAGAIN if the count is 0; -EINVAL if @s is NULL.
 * Context: any thread.
 */
WEFT_API int weft_sem_try_acquire(weft_sem *s);

/**
 * weft_sem_release - give one unit back to @s: to its oldest waiter, or to
 * the count.
 *
 * Return: 0; -EOVERFLOW if the count would exceed the bound (or
 * WEFT_SEM_MAX), with nothing changed; -EINVAL if @s is NULL.
 * Context: any thread.
 */
WEFT_API int weft_sem_release(weft_sem *s);

/**
 * weft_sem_value - the count of @s now (0 while fibers wait); stale as soon
 * as it returns.
 *
 * Return: the count, 0..WEFT_SEM_MAX; -EINVAL if @s is NULL.
 * Context: any thread.
 */
WEFT_API int weft_sem_value(weft_sem *s);

/* Wait group. */

/**
 * weft_waitgroup_init - set @wg's counter to 0 (the same as zeroing it).
 *
 * Return: 0; -EINVAL if @wg is NULL.
 * Context: any thread.
 */
WEFT_API int weft_waitgroup_init(weft_waitgroup *wg);

/**
 * weft_waitgroup_destroy - check that @wg is unused, so that its memory may go.
 *
 * Return: 0; -EBUSY if the counter is not 0 or someone waits;
 * -EINVAL if @wg is NULL.
 * Context: any thread.
 */
WEFT_API int weft_waitgroup_destroy(weft_waitgroup *wg);

/**
 * weft_waitgroup_add - add @delta (which may be negative) to @wg's counter.
 *
 * When the counter reaches 0 every waiter is woken.
 *
 * Return: 0; -EINVAL if the counter would go below 0 (it is left as it
 * was) or @wg is NULL; -EOVERFLOW if it would exceed INT32_MAX.
 * Context: any thread.
 */
WEFT_API int weft_waitgroup_add(weft_waitgroup *wg, int delta);

/**
 * weft_waitgroup_done - weft_waitgroup_add(@wg, -1).
 *
 * Return: as weft_waitgroup_add().
 * Context: any thread.
 */
WEFT_API int weft_waitgroup_done(weft_waitgroup *wg);

/**
 * weft_waitgroup_wait - wait until @wg's counter is 0.
 *
 * Return: 0; -ECANCELED if the calling fiber was cancelled first;
 * -EINVAL if @wg is NULL.
 * Context: any thread. May park.
 */
WEFT_API int weft_waitgroup_wait(weft_waitgroup *wg);

/**
 * weft_waitgroup_wait_until - weft_waitgroup_wait(), no later than @deadline.
 *
 * Return: 0; -ETIMEDOUT if @deadline passed first; -ECANCELED if the
 * calling fiber was cancelled first; -EINVAL if @wg is NULL or @deadline
 * is negative but not WEFT_FOREVER; -ENOMEM if no timer could be set.
 * Context: any thread. May park.
 */
WEFT_API int weft_waitgroup_wait_until(weft_waitgroup *wg, int64_t deadline);

/* Once. */

/**
 * weft_once_call - run @fn(@arg) if no call on @o has run one yet.
 *
 * Exactly one caller runs its @fn; the others wait until it has returned,
 * so that whatever @fn set up is visible to every caller that returns 0.
 * @fn must not call weft_once_call() on @o itself.
 *
 * Return: 0 once @fn (this caller's or another's) has returned;
 * -EDEADLK if called from within @fn on the same @o; -ECANCELED if the
 * calling fiber was cancelled while it had to wait; -EINVAL if @o or @fn
 * is NULL.
 * Context: any thread. May park.
 */
WEFT_API int weft_once_call(weft_once *o, void (*fn)(void *arg), void *arg);

/**
 * weft_once_call_until - weft_once_call(), waiting for another caller's @fn
 * no later than @deadline.
 *
 * A caller that runs @fn itself runs it to the end whatever the deadline.
 *
 * Return: as weft_once_call(); -ETIMEDOUT if @deadline passed while
 * another caller's @fn ran; -EINVAL if @deadline is negative but not
 * WEFT_FOREVER; -ENOMEM if no timer could be set.
 * Context: any thread. May park.
 */
WEFT_API int weft_once_call_until(weft_once *o, void (*fn)(void *arg), void *arg, int64_t deadline);

/* Barrier. */

/**
 * weft_barrier_init - make @b a barrier for @n parties.
 *
 * Return: 0; -EINVAL if @b is NULL or @n is 0.
 * Context: any thread.
 */
WEFT_API int weft_barrier_init(weft_barrier *b, unsigned n);

/**
 * weft_barrier_destroy - check that nobody waits at @b, so that its memory may go.
 *
 * Return: 0; -EBUSY if parties are waiting at @b; -EINVAL if @b is NULL.
 * Context: any thread.
 */
WEFT_API int weft_barrier_destroy(weft_barrier *b);

/**
 * weft_barrier_wait - wait until @n parties (weft_barrier_init()) have
 * called this, then let them all go; the barrier is then ready for the
 * next cycle.
 *
 * Return: 1 to exactly one party of each cycle (the last to arrive, like
 * PTHREAD_BARRIER_SERIAL_THREAD) and 0 to the others; -ECANCELED if the
 * calling fiber was cancelled while it waited (it then does not count as
 * arrived); -EINVAL if @b is NULL or was never given a party count.
 * Context: any thread. May park.
 */
WEFT_API int weft_barrier_wait(weft_barrier *b);

/**
 * weft_barrier_wait_until - weft_barrier_wait(), no later than @deadline.
 *
 * A party whose deadline passes leaves the barrier (it does not count as
 * arrived, and the cycle goes on waiting for @n parties).
 *
 * Return: as weft_barrier_wait(); -ETIMEDOUT if @deadline passed first;
 * -EINVAL if @deadline is negative but not WEFT_FOREVER; -ENOMEM if no
 * timer could be set.
 * Context: any thread. May park.
 */
WEFT_API int weft_barrier_wait_until(weft_barrier *b, int64_t deadline);

/* Event. */

/**
 * weft_event_init - make @e a clear event (the same as zeroing it).
 *
 * Return: 0; -EINVAL if @e is NULL.
 * Context: any thread.
 */
WEFT_API int weft_event_init(weft_event *e);

/**
 * weft_event_destroy - check that nobody waits on @e, so that its memory may go.
 *
 * Return: 0; -EBUSY if @e has waiters; -EINVAL if @e is NULL.
 * Context: any thread.
 */
WEFT_API int weft_event_destroy(weft_event *e);

/**
 * weft_event_set - set @e and wake every fiber and thread waiting on it.
 *
 * Return: 0; -EINVAL if @e is NULL.
 * Context: any thread.
 */
WEFT_API int weft_event_set(weft_event *e);

/**
 * weft_event_clear - clear @e: later waits wait for the next weft_event_set().
 *
 * Return: 0; -EINVAL if @e is NULL.
 * Context: any thread.
 */
WEFT_API int weft_event_clear(weft_event *e);

/**
 * weft_event_is_set - is @e set? Stale as soon as it returns.
 *
 * Return: true if set; false if clear or @e is NULL.
 * Context: any thread.
 */
WEFT_API bool weft_event_is_set(weft_event *e);

/**
 * weft_event_wait - wait until @e is set; return at once if it is.
 *
 * A waiter woken by weft_event_set() returns 0 even if the event was
 * cleared again before it ran.
 *
 * Return: 0; -ECANCELED if the calling fiber was cancelled first;
 * -EINVAL if @e is NULL.
 * Context: any thread. May park.
 */
WEFT_API int weft_event_wait(weft_event *e);

/**
 * weft_event_wait_until - weft_event_wait(), no later than @deadline.
 *
 * Return: 0; -ETIMEDOUT if @deadline passed first; -ECANCELED if the
 * calling fiber was cancelled first; -EINVAL if @e is NULL or @deadline is
 * negative but not WEFT_FOREVER; -ENOMEM if no timer could be set.
 * Context: any thread. May park.
 */
WEFT_API int weft_event_wait_until(weft_event *e, int64_t deadline);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_SYNC_H */
