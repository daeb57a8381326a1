/*
 * harness.h - what a workload file gives weft-bench (struct bench), the clock
 * a workload starts and stops around its timed part, and the sample
 * statistics and output lines shared by every workload. The command line and
 * the runtime's start and stop around each run live in bench/main.c.
 *
 * Every implementation (weft-bench and the Go, Boost and TBB peers under
 * bench/peers/) prints the same line per benchmark and worker count:
 *
 *   bench=fib impl=weft workers=1 n=30 reps=5 median_ns=... min_ns=...
 *   max_ns=... per_op_ns=... ok=1
 *
 * and answers --list with one line per workload: "NAME DEFAULT_N any|W",
 * where a number W marks a workload measured at exactly W workers, whatever
 * the worker list says ("1": on one worker only, as yield; "2": pingpong-x).
 * scripts/bench.py reads both.
 *
 * A workload may add figures other than time after ok=, as more key=value
 * pairs (bench_extra()): uts its node count (nodes=), blocked-mem its
 * memory (bytes_per_fiber=, peak_rss_kb=); bench.py prints them in a table
 * of their own, with ratios. A --list line may end in a fourth token, the
 * default number of timed runs of a one-shot measurement ("blocked-mem
 * 1000000 any 3"), which bench.py uses unless given --reps.
 */
#ifndef WEFT_BENCH_HARNESS_H
#define WEFT_BENCH_HARNESS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "weft.h"

enum { BENCH_EXTRA_MAX = 160 };

/* One timed run of a workload. The harness fills n and workers; the
 * workload calls bench_clock_start() once its setup is done and
 * bench_clock_stop() before it checks its answer. */
struct bench_run {
    long n;
    int workers;
    int64_t t0, t1;
    bool started, stopped;
    /* Figures other than time (bench_extra()): " key=value" pairs that end
     * the output line, e.g. " bytes_per_fiber=2656"; "" if none. */
    char extra[BENCH_EXTRA_MAX];
};

/* How a workload's run went: its own answer check, or a weft call's error. */
enum {
    BENCH_OK = 0,
    BENCH_WRONG = 1, /* the workload printed what was wrong */
};

struct bench {
    const char *name;
    const char *what; /* one line for --help */
    long default_n;
    bool one_worker;   /* meaningful on one worker only: measured at workers=1 */
    int fixed_workers; /* > 0: measured at exactly this many workers only */
    bool no_runtime;   /* runs on the main thread with no weft_init() */
    int default_reps;  /* > 0: fewer timed runs than --reps' default (one-shot figures) */
    /* NULL if @n is a valid size, else why not. */
    const char *(*check_n)(long n);
    /* Operations one run performs, for per_op_ns. */
    double (*ops)(long n);
    /* One run: BENCH_OK, BENCH_WRONG, or a negative weft error code. Runs on
     * a root fiber of a freshly started runtime unless no_runtime. */
    int (*run)(struct bench_run *r);
};

extern const struct bench bench_switch;
extern const struct bench bench_yield;
extern const struct bench bench_spawn;
extern const struct bench bench_fib;
extern const struct bench bench_skynet;
extern const struct bench bench_uts;
extern const struct bench bench_blocked_mem;
extern const struct bench bench_sleep;
extern const struct bench bench_pingpong;
extern const struct bench bench_pingpong_x;
extern const struct bench bench_chan1;
extern const struct bench bench_chan4;
extern const struct bench bench_chan16;
extern const struct bench bench_mutex;
extern const struct bench bench_skynet_chan;

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t bench_now(void);

void bench_clock_start(struct bench_run *r);
void bench_clock_stop(struct bench_run *r);

/* Appends " " and the formatted @fmt, a key=value pair such as
 * "nodes=%llu", to @r's extra fields; cut short if it does not fit. */
void bench_extra(struct bench_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "weft-bench: <bench>: <message>" on stderr; returns BENCH_WRONG. */
int bench_wrong(const char *bench, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ops for a workload whose n is its operation count: n. */
double bench_ops_n(long n);

/* Workloads' fibers. A run's fibers report a weft call's error through one
 * _Atomic int of the workload's: bench_note_err() keeps the first error
 * noted (0 is none, and ignored); the run zeroes it before it spawns and
 * reads it after the last join. */
static inline void bench_note_err(_Atomic int *first, int err)
{
    int none = 0;
    /* Relaxed: zeroed before any fiber of the run exists and read after
     * every one was joined; spawn and join order those. */
    if (err)
        atomic_compare_exchange_strong_explicit(first, &none, err, memory_order_relaxed,
                                                memory_order_relaxed);
}

/* Times one fiber, @fn(@arg), from its spawn to its join between
 * bench_clock_start() and bench_clock_stop() (the root of a fork-join
 * tree), its result in *@res, after zeroing *@first_err. Returns the
 * spawn's or the join's error, else what the fibers noted in *@first_err. */
int bench_time_root(struct bench_run *r, weft_fn fn, void *arg, void **res, _Atomic int *first_err);

/* Joins the @n fibers of @f, adding their results (as integers) to *@sum.
 * Returns 0 or the first join's error (it joins the rest all the same). */
int bench_join_sum(const weft_fiber *f, long n, uint64_t *sum);

/* Adds @n to @wg, then spawns @n fibers of @fn into @f, fiber i with the
 * argument i + 1; each is to check in with weft_waitgroup_done(@wg). If a
 * spawn fails, those never spawned are taken back off @wg, so that a wait
 * on it still returns. *@spawned: how many were. Returns 0 or the error. */
int bench_spawn_checked_in(weft_fiber *f, long n, weft_fn fn, weft_waitgroup *wg, long *spawned);

/* Summary of one benchmark at one worker count. */
struct bench_result {
    const char *bench;
    int workers;
    long n;
    int reps;
    int64_t median_ns, min_ns, max_ns;
    double per_op_ns;
    bool ok;
    char extra[BENCH_EXTRA_MAX]; /* the last run's bench_run.extra */
};

/* Sorts @samples (@count >= 1) and fills the timing fields of @res. */
void bench_summarise(struct bench_result *res, int64_t *samples, int count, double ops);

/* Prints @res as one key=value line on stdout. */
void bench_print_kv(const char *impl, const struct bench_result *res);

/* Prints @count results as a readable table on stdout. */
void bench_print_table(const char *impl, const struct bench_result *res, int count);

#endif /* WEFT_BENCH_HARNESS_H */
