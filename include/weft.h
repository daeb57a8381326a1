/*
 * weft.h - the whole public API of weft, a Go-style M:N fiber runtime for C.
 *
 * Fibers are user-level threads multiplexed onto one pinned worker thread per
 * core, with per-worker work-stealing deques. This header is the contract:
 * what is not declared here is not API.
 *
 * Conventions, true of every call below:
 *  - A call returns 0 (or a count) on success and a negative errno code on
 *    failure. weft never reads or writes errno: a fiber may resume on another
 *    thread, and a compiler may keep the old thread's errno address.
 *  - Bad input is an error, never a crash: a zeroed, stale or foreign handle
 *    gives -EBADF or -ESRCH; out-of-range values are refused, never clamped.
 *    After an error the outputs are untouched.
 *  - Deadlines are absolute CLOCK_MONOTONIC nanoseconds (see weft_now()).
 *
 * Error codes used throughout:
 *   -EINVAL     bad argument (NULL where an object is needed, out of range)
 *   -EBADF      not a live handle (zeroed, never issued, or garbage)
 *   -ESRCH      the fiber's handle was already joined or detached
 *   -EDEADLK    the call would wait for itself (join of self, shutdown from a fiber)
 *   -EBUSY      already running (weft_init), or fibers were abandoned (shutdown)
 *   -ECANCELED  the runtime is not running (never started or shut down)
 *   -ENOMEM     out of memory or address space
 *   -ENAMETOOLONG  a fiber name of WEFT_NAME_MAX bytes or more
 *   -EAGAIN     no fiber-local key left (WEFT_KEYS_MAX in use)
 *   -EPERM      the call needs a fiber and was made from a plain thread
 */
#ifndef WEFT_H
#define WEFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WEFT_VERSION_MAJOR 0
#define WEFT_VERSION_MINOR 1
#define WEFT_VERSION_PATCH 0
#define WEFT_VERSION_NUMBER \
    (WEFT_VERSION_MAJOR * 10000 + WEFT_VERSION_MINOR * 100 + WEFT_VERSION_PATCH)

#if defined(WEFT_STATIC)
#define WEFT_API
#elif defined(__GNUC__)
#define WEFT_API __attribute__((visibility("default")))
#else
#define WEFT_API
#endif

/** WEFT_FOREVER - a deadline that never passes. */
#define WEFT_FOREVER ((int64_t)-1)

/** WEFT_NAME_MAX - size of a fiber's name buffer, terminating NUL included. */
#define WEFT_NAME_MAX 32

/** WEFT_KEYS_MAX - how many fiber-local keys a process may create. */
#define WEFT_KEYS_MAX 64

/** Limits on a fiber's stack size, in bytes (before rounding up to pages). */
#define WEFT_STACK_MIN     ((size_t)16 * 1024)
#define WEFT_STACK_MAX     ((size_t)1024 * 1024 * 1024)
#define WEFT_STACK_DEFAULT ((size_t)64 * 1024)

/** WEFT_WORKERS_MAX - the largest worker count weft accepts. */
#define WEFT_WORKERS_MAX 1024

/**
 * weft_fiber - a handle to a fiber: slot index and generation.
 *
 * Zero is never a live fiber. A handle stays valid until the fiber is joined
 * or detached; after that every call on it returns -ESRCH.
 */
typedef struct weft_fiber {
    uint64_t id;
} weft_fiber;

/** weft_fn - a fiber's body; its return value is handed to weft_join(). */
typedef void *(*weft_fn)(void *arg);

/** Stack guard modes: how an overflow of a fiber's stack is caught. */
enum weft_guard {
    WEFT_GUARD_DEFAULT = 0, /* best the kernel offers: madvise, then mprotect, then canary */
    WEFT_GUARD_MADVISE,     /* MADV_GUARD_INSTALL pages (Linux 6.13+); -ENOTSUP if absent */
    WEFT_GUARD_MPROTECT,    /* a PROT_NONE page per stack, up to a mapping budget */
    WEFT_GUARD_CANARY,      /* no guard page: a canary checked at every switch */
};

/** What to do when every fiber is blocked and nothing can wake one. */
enum weft_deadlock {
    WEFT_DEADLOCK_DEFAULT = 0, /* WEFT_DEADLOCK, else abort under weft_main, off otherwise */
    WEFT_DEADLOCK_OFF,         /* do not look */
    WEFT_DEADLOCK_ABORT,       /* print the report and abort(), as Go does */
    WEFT_DEADLOCK_ERROR,       /* print the report; weft_main returns -EDEADLK */
};

/** Pinning of workers to cores. */
enum weft_pin {
    WEFT_PIN_DEFAULT = 0, /* on, unless WEFT_PIN=0 */
    WEFT_PIN_ON,
    WEFT_PIN_OFF,
};

/**
 * weft_config - how to start the runtime; a zero field means "default".
 *
 * Each default can be set from the environment; a non-zero field wins over
 * the environment. See docs/ENVIRONMENT.md.
 * @workers:    worker threads (1..WEFT_WORKERS_MAX). Default: WEFT_WORKERS,
 *              else one per usable core (process CPU binding and cgroup CPU
 *              quota respected).
 * @pin:        pin each worker to one core. Default: WEFT_PIN (0 or 1), else on.
 * @stack_size: default fiber stack size in bytes, WEFT_STACK_MIN..WEFT_STACK_MAX,
 *              rounded up to whole pages. Default: WEFT_STACK_SIZE, else
 *              WEFT_STACK_DEFAULT.
 * @guard:      stack guard mode. Default: WEFT_STACK_GUARD (madvise, mprotect,
 *              canary), else the best available.
 * @deadlock:   deadlock detection (see docs/ARCHITECTURE.md, "Deadlock
 *              detection"). Default: WEFT_DEADLOCK (off, abort, error), else
 *              abort for a runtime started by weft_main() and off for one
 *              started by weft_init(), whose plain threads weft cannot see.
 * @sched_seed: non-zero: a deterministic schedule replayed by this seed -
 *              one worker (whatever @workers says), every scheduling choice
 *              and select's case order from one seeded generator, a virtual
 *              clock that jumps to the next timer when nothing can run. For
 *              testing. Default: WEFT_SCHED (seed:N or chaos:N), else off.
 * @sched_chaos: with @sched_seed, also yield at random at the points where
 *              fibers race (before parking, at channel operations, spawns).
 */
typedef struct weft_config {
    int workers;
    enum weft_pin pin;
    size_t stack_size;
    enum weft_guard guard;
    enum weft_deadlock deadlock;
    uint64_t sched_seed;
    bool sched_chaos;
} weft_config;

/**
 * weft_fiber_attr - options for weft_spawn(); zeroed means defaults.
 * @stack_size: 0 for the runtime's default, else WEFT_STACK_MIN..WEFT_STACK_MAX.
 * @name:       NULL, or a name shorter than WEFT_NAME_MAX bytes, copied.
 * @detached:   the fiber is reaped when it ends and cannot be joined.
 */
typedef struct weft_fiber_attr {
    size_t stack_size;
    const char *name;
    bool detached;
} weft_fiber_attr;

/** weft_key - a fiber-local storage key; see weft_key_create(). */
typedef struct weft_key {
    uint32_t id;
} weft_key;

/**
 * weft_version_number - the WEFT_VERSION_NUMBER the library was built with.
 *
 * Return: the library's version number, to compare with the header's.
 * Context: any thread.
 */
WEFT_API int weft_version_number(void);

/**
 * weft_strerror - a static, human-readable description of a weft error code.
 * @err: a value returned by a weft call (negative errno code, or 0).
 *
 * Return: a string that lives forever; "unknown error" for codes weft does
 * not use.
 * Context: any thread.
 */
WEFT_API const char *weft_strerror(int err);

/**
 * weft_init - start the runtime: worker threads, stacks, queues.
 * @cfg: configuration, or NULL for all defaults.
 *
 * The calling thread does not become a worker; it may go on with its own work
 * and use weft_spawn()/weft_join() as a plain thread.
 *
 * Return: 0; -EINVAL if a field (or the environment variable standing in for
 * it) is out of range, with a message on stderr naming it; -ENOTSUP if the
 * requested guard mode is unavailable; -EBUSY if the runtime is already
 * running; -ENOMEM; -EAGAIN if a worker thread could not be created;
 * -EMFILE or -ENFILE if the netpoller's or the monitor's descriptors could
 * not be opened.
 * Context: a plain thread (not a fiber).
 */
WEFT_API int weft_init(const weft_config *cfg);

/**
 * weft_shutdown - stop the runtime and release everything it holds.
 *
 * Shutdown does not wait for fibers to finish. It stops new spawns (they get
 * -ECANCELED), lets each worker finish the fiber it is running up to that
 * fiber's next switch (yield, park or exit), then stops the workers and
 * abandons every fiber that has not ended or has ended but not been joined:
 * such fibers never run again and their stacks are unmapped (memory they
 * allocated themselves is theirs to leak). Plain threads blocked in any weft
 * call (weft_join, a channel, a lock...) return -ECANCELED. Channels not
 * freed are retired: their handles become stale (-EBADF). A fiber that
 * never yields keeps shutdown waiting for it.
 *
 * Return: 0 if nothing was abandoned; -EBUSY if fibers were abandoned or
 * channels left unfreed (the runtime is shut down either way, so this is
 * also a leak check); -ECANCELED if the runtime was not running; -EDEADLK
 * if called from a fiber.
 * Context: a plain thread.
 */
WEFT_API int weft_shutdown(void);

/**
 * weft_main - run @fn as the root fiber of a fresh runtime, then shut it down.
 * @cfg:    as for weft_init().
 * @fn:     the root fiber's body.
 * @arg:    passed to @fn.
 * @result: if not NULL, receives @fn's return value.
 *
 * Like a Go program's main: when @fn returns, fibers still running are
 * abandoned as weft_shutdown() describes. Deadlock detection is on by
 * default here (@cfg->deadlock): if every fiber blocks on weft primitives
 * or joins with nothing left to wake one, weft prints "all fibers are
 * asleep - deadlock!" with each fiber and what it waits on, then aborts
 * (WEFT_DEADLOCK_ABORT) or returns -EDEADLK (WEFT_DEADLOCK_ERROR).
 *
 * Return: 0; -EBUSY if @fn returned while other fibers were still live (they
 * were abandoned; *@result is still set); -EDEADLK after a deadlock report
 * in WEFT_DEADLOCK_ERROR mode (the blocked fibers were abandoned); any
 * error of weft_init(); -EINVAL if @fn is NULL.
 * Context: a plain thread.
 */
WEFT_API int weft_main(const weft_config *cfg, weft_fn fn, void *arg, void **result);

/**
 * weft_workers - the number of worker threads of the running runtime.
 *
 * Return: the worker count; -ECANCELED if the runtime is not running.
 * Context: any thread.
 */
WEFT_API int weft_workers(void);

/**
 * weft_worker_index - which worker the calling fiber runs on right now.
 *
 * The answer may be stale as soon as it is returned: fibers migrate.
 *
 * Return: 0..weft_workers()-1; -EPERM from a plain thread.
 * Context: any thread.
 */
WEFT_API int weft_worker_index(void);

/**
 * weft_spawn - create a fiber that runs @fn(@arg).
 * @out:  receives the new fiber's handle; may be NULL only if @attr->detached.
 * @fn:   the fiber's body.
 * @arg:  passed to @fn.
 * @attr: options, or NULL for defaults.
 *
 * The fiber is queued, not run at once (help-first): from a fiber it is the
 * next thing the calling worker runs when the caller parks or yields, unless
 * another worker steals it first. From a plain thread it goes to the global
 * queue and an idle worker is woken. A stack is bound to the fiber when it
 * first runs; if no stack can be mapped then, the fiber ends without running
 * and weft_join() reports -ENOMEM.
 *
 * Every fiber must be joined or detached exactly once, or it is counted as a
 * leak by weft_shutdown().
 *
 * Return: 0; -EINVAL if @fn is NULL, @out is NULL for a joinable fiber, or
 * the stack size is out of range; -ENAMETOOLONG if the name does not fit
 * WEFT_NAME_MAX; -ECANCELED if the runtime is not running; -ENOMEM.
 * Context: any thread.
 */
WEFT_API int weft_spawn(weft_fiber *out, weft_fn fn, void *arg, const weft_fiber_attr *attr);

/**
 * weft_join - wait for fiber @f to end and collect its return value.
 * @f:      a joinable fiber.
 * @result: if not NULL, receives the fiber's return value.
 *
 * Parks the calling fiber (never its worker), or blocks a plain thread. After
 * a successful join the handle is dead.
 *
 * Return: 0; -EBADF if @f is not a fiber handle; -ESRCH if @f was already
 * joined or detached; -EDEADLK if @f is the calling fiber; -ENOMEM if @f
 * could never start for want of a stack; -ECANCELED if the runtime shut down
 * while a plain thread waited, or is not running.
 * Context: any thread. May park.
 */
WEFT_API int weft_join(weft_fiber f, void **result);

/**
 * weft_detach - let fiber @f be reaped when it ends, without a join.
 *
 * Return: 0; -EBADF if @f is not a fiber handle; -ESRCH if @f was already
 * joined or detached; -ECANCELED if the runtime is not running.
 * Context: any thread.
 */
WEFT_API int weft_detach(weft_fiber f);

/**
 * weft_self - the calling fiber's handle.
 *
 * Return: the handle; a zero handle (id 0) from a plain thread.
 * Context: any thread.
 */
WEFT_API weft_fiber weft_self(void);

/**
 * weft_cancel - cancel fiber @f: end its current blocking call, and every
 * later one, with -ECANCELED.
 *
 * Cancellation is sticky and cooperative: @f keeps running until it next
 * blocks in a weft call (a sync primitive, a channel, select, sleep, I/O),
 * which then returns -ECANCELED at once; weft_cancelled() lets it poll.
 * Calls that do not block (an uncontended lock, a ready channel) still
 * succeed. weft_join() is not a cancellation point.
 *
 * Return: 0; -EBADF if @f was never a fiber; -ESRCH if it has ended and
 * been reaped (its handle is stale).
 * Context: any thread.
 */
WEFT_API int weft_cancel(weft_fiber f);

/**
 * weft_cancelled - has the calling fiber been cancelled?
 *
 * Return: true once weft_cancel() named the caller (or its group was
 * cancelled); false on a plain thread.
 * Context: any thread.
 */
WEFT_API bool weft_cancelled(void);

/**
 * weft_yield - let other runnable fibers on this worker run first.
 *
 * The caller goes behind the fibers already runnable on its worker. From a
 * plain thread it yields the thread (sched_yield).
 *
 * Return: 0.
 * Context: any thread.
 */
WEFT_API int weft_yield(void);

/**
 * weft_now - the monotonic clock that deadlines are measured on.
 *
 * Return: CLOCK_MONOTONIC in nanoseconds.
 * Context: any thread.
 */
WEFT_API int64_t weft_now(void);

/**
 * weft_deadline_after - the deadline @ns nanoseconds from now.
 * @ns: a delay >= 0.
 *
 * Return: weft_now() + @ns, saturating at INT64_MAX; WEFT_FOREVER if @ns < 0.
 * Context: any thread.
 */
WEFT_API int64_t weft_deadline_after(int64_t ns);

/**
 * weft_sleep_until - park the calling fiber until @deadline has passed.
 * @deadline: absolute monotonic time in ns, >= 0; 0 or a past time returns at once.
 *
 * From a plain thread, sleeps the thread.
 *
 * Return: 0; -EINVAL if @deadline is negative (WEFT_FOREVER included: a
 * fiber that must sleep forever should wait on something that can wake it);
 * -ECANCELED if the calling fiber is cancelled (weft_cancel()), at once or
 * while it sleeps; -ENOMEM if the timer could not be queued.
 * Context: any thread. May park.
 */
WEFT_API int weft_sleep_until(int64_t deadline);

/**
 * weft_sleep - park the calling fiber for at least @ns nanoseconds.
 * @ns: the delay, >= 0.
 *
 * Return: as weft_sleep_until(); -EINVAL if @ns < 0.
 * Context: any thread. May park.
 */
WEFT_API int weft_sleep(int64_t ns);

/**
 * weft_key_create - make a new fiber-local storage key.
 * @key:        receives the key.
 * @destructor: NULL, or called with the value when a fiber that set a
 *              non-NULL value for this key ends.
 *
 * Every fiber starts with NULL for every key. Keys are never deleted; there
 * are WEFT_KEYS_MAX of them per process.
 *
 * Return: 0; -EINVAL if @key is NULL; -EAGAIN if all keys are taken.
 * Context: any thread.
 */
WEFT_API int weft_key_create(weft_key *key, void (*destructor)(void *));

/**
 * weft_key_set - set the calling fiber's value for @key.
 *
 * Return: 0; -EINVAL if @key was not created; -EPERM from a plain thread.
 * Context: fiber only.
 */
WEFT_API int weft_key_set(weft_key key, void *value);

/**
 * weft_key_get - read the calling fiber's value for @key into @value.
 *
 * Return: 0 (*@value is NULL if never set); -EINVAL if @key was not created
 * or @value is NULL; -EPERM from a plain thread.
 * Context: fiber only.
 */
WEFT_API int weft_key_get(weft_key key, void **value);

#ifdef __cplusplus
}
#endif

/* The rest of the API, one header per area, each included here: include
 * <weft.h> only. Each needs the declarations above. */
/* WEFT_SUBHEADERS (one line each, kept sorted) */
#include "weft/chan.h"
#include "weft/debug.h"
#include "weft/group.h"
#include "weft/io.h"
#include "weft/offload.h"
#include "weft/signal.h"
#include "weft/sync.h"
#include "weft/timer.h"

#endif /* WEFT_H */
