/*
 * testutil.h - helpers shared by the tests, next to tap.h: the seeded RNG,
 * the WEFT_STRESS_SCALE reader, a runtime left over from a failed case
 * stopped, and fiber bodies that several tests run. All static (inline, or
 * marked unused), so that a test uses what it needs and the rest costs
 * nothing.
 *
 * Everything here goes through weft.h alone, so black-box tests (tests/api,
 * tests/stress) may include it; white-box ones may too, for the RNG.
 */
#ifndef WT_TESTUTIL_H
#define WT_TESTUTIL_H

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
