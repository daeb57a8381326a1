/*
 * debug.h - defects versus errors: WT_ASSERT stops the process on a broken
 * runtime invariant (never on user input, which gets an error code).
 */
#ifndef WT_DEBUG_H
#define WT_DEBUG_H

#include "wt_config.h"

/* Print "weft: file:line: msg" with the worker and fiber ids, then trap. */
_Noreturn void wt_fatal(const char *file, int line, const char *msg);

#define WT_ASSERT(cond)                      \
    (__builtin_expect(!!(cond), 1) ? (void)0 \
                                   : wt_fatal(__FILE__, __LINE__, "assertion failed: " #cond))

#if WT_DEBUG_CHECKS
#define WT_DEBUG_ASSERT(cond) WT_ASSERT(cond)
#else
#define WT_DEBUG_ASSERT(cond) ((void)0)
#endif

/* Opaque to the optimiser: no inlining and no interprocedural analysis, so
 * that each call computes what it returns afresh (a thread-local's address
 * must not be cached across a fiber switch: PLATFORM.md). */
#if defined(__has_attribute)
#if __has_attribute(noipa)
#define WT_NOIPA __attribute__((noipa))
#endif
#endif
#ifndef WT_NOIPA
#define WT_NOIPA __attribute__((noinline))
#endif

#define WT_LIKELY(x)   __builtin_expect(!!(x), 1)
#define WT_UNLIKELY(x) __builtin_expect(!!(x), 0)

#endif /* WT_DEBUG_H */
