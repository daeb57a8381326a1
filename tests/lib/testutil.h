/*
 * testutil.h - helpers shared by the tests, next to tap.h: the seeded RNG,
 * the WEFT_STRESS_SCALE reader, a runtime left over from a failed case
 * stopped, running a case's body as a root fiber (and on a plain thread),
 * spawning a fiber and waiting until it is parked, counting a /proc
 * directory, and fiber bodies that several tests run. All static (inline,
 * or marked unused), so that a test uses what it needs and the rest costs
 * nothing. The macros that CHECK (RUN_ROOT, RUN_IN_FIBER_AND_THREAD) need
 * tap.h, included before this.
 *
 * Everything here goes through weft.h alone, so black-box tests (tests/api,
 * tests/stress) may include it; white-box ones may too, for the RNG.
 */
#ifndef WT_TESTUTIL_H
#define WT_TESTUTIL_H

#include <dirent.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "weft.h"

/* splitmix64: the next number from the state @x (seed it from tap_seed()). */
static inline uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* WEFT_STRESS_SCALE: what the stress tests multiply their counts by
 * (default 1; an unset, empty, zero or malformed value is 1). */
static inline double stress_scale(void)
{
    const char *s = getenv("WEFT_STRESS_SCALE");
    double v = s && *s ? strtod(s, NULL) : 1.0;
    return v > 0 ? v : 1.0;
}

/* @n scaled by WEFT_STRESS_SCALE, at least 1. */
static inline long stress_scaled(long n)
{
    long v = (long)((double)n * stress_scale());
    return v > 0 ? v : 1;
}

/* Start a case from a stopped runtime, so that a case that bailed out
 * early (CHECK) leaving one running does not fail the ones after it. */
static inline void settle(void)
{
    if (weft_workers() > 0)
        (void)weft_shutdown();
}

/* Run @fn(@arg) as the root fiber of a fresh runtime of @nw workers; every
 * fiber it spawns must be joined (weft_main is -EBUSY otherwise). */
#define RUN_ROOT(fn, arg, nw)                                                    \
    do {                                                                         \
        settle();                                                                \
        CHECK_OK(weft_main(&(weft_config){.workers = (nw)}, (fn), (arg), NULL)); \
    } while (0)

/* void (*)(void) carried through a fiber's void * argument. */
struct void_call {
    void (*fn)(void);
};

static inline void *call_void(void *arg)
{
    ((const struct void_call *)arg)->fn();
    return NULL;
}

/* The same checks from both kinds of caller: @checks() in the root fiber
 * of a fresh runtime of @nw workers, then on this plain thread while a
 * runtime of one worker runs. */
#define RUN_IN_FIBER_AND_THREAD(checks, nw)                       \
    do {                                                          \
        RUN_ROOT(call_void, &(struct void_call){(checks)}, (nw)); \
        CHECK_OK(weft_init(&(weft_config){.workers = 1}));        \
        (checks)();                                               \
        CHECK_OK(weft_shutdown());                                \
    } while (0)

/* Spawn @fn(@arg) into *@f and yield until the fiber has set *@started
 * (cleared here first), which it does just before a blocking call. On ONE
 * worker fibers are cooperative, so the fiber cannot be switched out
 * between that store and its park: once this returns, it is parked inside
 * the call. Returns weft_spawn's answer (*@f untouched if it failed). */
static inline int spawn_until_started(weft_fiber *f, weft_fn fn, void *arg, _Atomic int *started)
{
    atomic_store(started, 0);
    int r = weft_spawn(f, fn, arg, NULL);
    if (r != 0)
        return r;
    while (!atomic_load(started))
        weft_yield();
    return 0;
}

/* Entries of the directory @path but . and .. (a /proc/self/fd or
 * /proc/self/task count, the directory stream's own fd included), or -1. */
static inline int count_entries(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Fiber bodies. */

static inline void *identity(void *arg)
{
    return arg;
}

static inline void *add_one(void *arg)
{
    return (void *)((uintptr_t)arg + 1);
}

/* Spinners: each counts itself in at @started, then yields (runnable all
 * along, never parked) until @stop is set. */
struct spin_gate {
    atomic_uintptr_t started;
    atomic_int stop;
};

static inline void *spin_until_stopped(void *arg)
{
    struct spin_gate *g = arg;
    atomic_fetch_add(&g->started, 1);
    while (!atomic_load(&g->stop))
        weft_yield();
    return NULL;
}

/* Frames of 4 KiB, each written and read back every 256 bytes: a checksum
 * the compiler cannot fold, and stack use that an undersized stack would
 * not survive. deep_fiber(depth) returns use_stack(depth), which must equal
 * use_stack_expected(depth): depth + 1 frames. */
#define FRAME_BYTES 4096
#define FRAME_STEP  256

__attribute__((noinline, unused)) static uint64_t use_stack(unsigned depth)
{
    volatile unsigned char buf[FRAME_BYTES];
    for (size_t i = 0; i < sizeof buf; i += FRAME_STEP)
        buf[i] = (unsigned char)(depth + i);
    uint64_t sum = depth ? use_stack(depth - 1) : 0;
    for (size_t i = 0; i < sizeof buf; i += FRAME_STEP)
        sum += buf[i];
    return sum;
}

static inline uint64_t use_stack_expected(unsigned depth)
{
    uint64_t sum = 0;
    for (unsigned d = 0; d <= depth; d++)
        for (size_t i = 0; i < FRAME_BYTES; i += FRAME_STEP)
            sum += (unsigned char)(d + i);
    return sum;
}

static inline void *deep_fiber(void *arg)
{
    return (void *)(uintptr_t)use_stack((unsigned)(uintptr_t)arg);
}

/* EXPECT for fiber bodies and other threads: print and count, never
 * longjmp (tap.h's EXPECT/CHECK belong to the thread running the case).
 * A case zeroes fiber_failures first and EXPECTs it is 0 at the end. */
static _Atomic long fiber_failures __attribute__((unused));

#define FEXPECT_EQ(a, b)                                                                          \
    do {                                                                                          \
        long long fa_ = (long long)(a), fb_ = (long long)(b);                                     \
        if (fa_ != fb_) {                                                                         \
            printf("# %s:%d: expected %s == %s, got %lld and %lld\n", __FILE__, __LINE__, #a, #b, \
                   fa_, fb_);                                                                     \
            atomic_fetch_add(&fiber_failures, 1);                                                 \
        }                                                                                         \
    } while (0)
#define FEXPECT(c) FEXPECT_EQ(!!(c), 1)

#endif /* WT_TESTUTIL_H */
