/*
 * harness.c - the clock, sample statistics and output of weft-bench. The
 * line format is shared with the peers (bench/peers/): change them together.
 */
#include "harness.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void bench_clock_start(struct bench_run *r)
{
    r->started = true;
    r->t0 = bench_now();
}

void bench_clock_stop(struct bench_run *r)
{
    r->t1 = bench_now();
    r->stopped = true;
}

void bench_extra(struct bench_run *r, const char *fmt, ...)
{
    size_t len = strlen(r->extra);
    if (len + 2 >= sizeof r->extra)
        return;
    r->extra[len++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->extra + len, sizeof r->extra - len, fmt, ap);
    va_end(ap);
}

int bench_wrong(const char *bench, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "weft-bench: %s: ", bench);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return BENCH_WRONG;
}

double bench_ops_n(long n)
{
    return (double)n;
}

int bench_time_root(struct bench_run *r, weft_fn fn, void *arg, void **res, _Atomic int *first_err)
{
    weft_fiber f;
    atomic_store_explicit(first_err, 0, memory_order_relaxed); /* no fiber runs yet */
    bench_clock_start(r);
    int err = weft_spawn(&f, fn, arg, NULL);
    if (err == 0)
        err = weft_join(f, res);
    bench_clock_stop(r);
    if (err == 0)
        err = atomic_load_explicit(first_err, memory_order_relaxed); /* all joined */
    return err;
}

int bench_join_sum(const weft_fiber *f, long n, uint64_t *sum)
{
    int first = 0;
    for (long i = 0; i < n; i++) {
        void *v = NULL;
        int err = weft_join(f[i], &v);
        if (err && !first)
            first = err;
        *sum += (uintptr_t)v;
    }
    return first;
}

int bench_spawn_checked_in(weft_fiber *f, long n, weft_fn fn, weft_waitgroup *wg, long *spawned)
{
    long i = 0;
    int err = weft_waitgroup_add(wg, (int)n);
    for (; err == 0 && i < n; i++) {
        err = weft_spawn(&f[i], fn, (void *)(uintptr_t)(i + 1), NULL);
        if (err) {
            weft_waitgroup_add(wg, -(int)(n - i)); /* those never spawned */
            break;
        }
    }
    *spawned = i;
    return err;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

void bench_summarise(struct bench_result *res, int64_t *samples, int count, double ops)
{
    qsort(samples, (size_t)count, sizeof *samples, cmp_i64);
    /* The mean of the two middle samples when count is even. */
    res->median_ns = (samples[(count - 1) / 2] + samples[count / 2]) / 2;
    res->min_ns = samples[0];
    res->max_ns = samples[count - 1];
    res->per_op_ns = ops > 0 ? (double)res->median_ns / ops : 0.0;
}

void bench_print_kv(const char *impl, const struct bench_result *res)
{
    printf("bench=%s impl=%s workers=%d n=%ld reps=%d median_ns=%" PRId64 " min_ns=%" PRId64
           " max_ns=%" PRId64 " per_op_ns=%.2f ok=%d%s\n",
           res->bench, impl, res->workers, res->n, res->reps, res->median_ns, res->min_ns,
           res->max_ns, res->per_op_ns, res->ok ? 1 : 0, res->extra);
    fflush(stdout);
}

void bench_print_table(const char *impl, const struct bench_result *res, int count)
{
    printf("\n%-11s %-6s %7s %10s %5s %11s %11s %11s %10s %3s\n", "bench", "impl", "workers", "n",
           "reps", "median_ms", "min_ms", "max_ms", "ns/op", "ok");
    for (int i = 0; i < count; i++) {
        const struct bench_result *r = &res[i];
        printf("%-11s %-6s %7d %10ld %5d %11.3f %11.3f %11.3f %10.2f %3s%s\n", r->bench, impl,
               r->workers, r->n, r->reps, (double)r->median_ns / 1e6, (double)r->min_ns / 1e6,
               (double)r->max_ns / 1e6, r->per_op_ns, r->ok ? "yes" : "NO", r->extra);
    }
    fflush(stdout);
}
