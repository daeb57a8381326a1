/*
 * rss.h - the process's memory as the kernel counts it, for the workloads
 * that report memory per fiber (blocked-mem, sleep): the resident set now,
 * its peak since the last reset, and that reset. They read
 * /proc/self/status (Linux): -1 or false where there is none. The Go peer
 * reads the same lines (peers/go/rss.go): change them together.
 */
#ifndef WEFT_BENCH_RSS_H
#define WEFT_BENCH_RSS_H

#include <stdbool.h>

/* The resident set (VmRSS) in KiB, or -1. */
long bench_rss_kb(void);

/* The peak resident set (VmHWM) in KiB since the process started or
 * bench_reset_peak_rss() last ran, or -1. */
long bench_peak_rss_kb(void);

/* Resets the peak (VmHWM) to the current resident set, by writing 5 to
 * /proc/self/clear_refs; false if that failed. */
bool bench_reset_peak_rss(void);

#endif /* WEFT_BENCH_RSS_H */
