/*
 * stats_print.h - printing the counters of a runtime that is stopping
 * (WEFT_DEBUG=stats at weft_shutdown), where weft_stats_print's bracket no
 * longer admits callers.
 */
#ifndef WT_STATS_PRINT_H
#define WT_STATS_PRINT_H

#include <stdio.h>

struct runtime;

/* Print @rt's counters on @out as weft_stats_print does; 0 or -EIO. */
int wt_stats_print_rt(FILE *out, struct runtime *rt);

#endif /* WT_STATS_PRINT_H */
