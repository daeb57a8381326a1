/*
 * fork_join.h - the arithmetic of the two fork-join workloads, fib and
 * skynet: the sizes each accepts, the operations one run performs and the
 * answer it must give. Header-only C that also compiles as C++, so that
 * weft-bench (fib.c, skynet.c) and the C++ peers (bench/peers/peer.hpp)
 * check the same thing; the Go peer has its own copy (go/fib.go,
 * go/skynet.go): change them together.
 */
#ifndef WEFT_BENCH_FORK_JOIN_H
#define WEFT_BENCH_FORK_JOIN_H

#include <stddef.h>
#include <stdint.h>

/* F(n), F(0) = 0, F(1) = 1, computed plainly: fib(n)'s answer. */
static inline long bench_fib_plain(long n)
{
    long a = 0, b = 1;
    for (long i = 0; i < n; i++) {
        long t = a + b;
        a = b;
        b = t;
    }
    return a;
}

/* NULL if fib can run at size @n, else why not. */
static inline const char *bench_fib_check_n(long n)
{
    return n >= 2 && n <= 45 ? NULL : "2..45";
}

/* Calls with k >= 2 each spawn one fiber (or task): F(n+1) - 1 of them. */
static inline double bench_fib_ops(long n)
{
    return (double)(bench_fib_plain(n + 1) - 1);
}

/* NULL if skynet can run with @n leaves, else why not. */
static inline const char *bench_skynet_check_n(long n)
{
    long p = 1;
    while (p < n && p <= 100000000)
        p *= 10;
    return p == n ? NULL : "a power of 10, at most 10^9";
}

/* 10 children per node, n leaves: (10n-1)/9 fibers, the root included. */
static inline double bench_skynet_ops(long n)
{
    return (double)((10 * n - 1) / 9);
}

/* The leaves return their ordinals 0..n-1, so the root's sum is n(n-1)/2. */
static inline uint64_t bench_skynet_sum(uint64_t n)
{
    return n * (n - 1) / 2;
}

#endif /* WEFT_BENCH_FORK_JOIN_H */
