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

#define WT_LIKELY(x)   __builtin_expect(!!(x), 1)
#define WT_UNLIKELY(x) __builtin_expect(!!(x), 0)

#endif /* WT_DEBUG_H */
