/*
 * main.c - weft-bench: the command line, and the runtime's start and stop
 * around each run of a workload. The workloads are one per file (switch.c,
 * yield.c, spawn.c, fib.c, skynet.c, pingpong.c, chan.c, mutex.c,
 * skynet_chan.c, uts.c, blocked_mem.c); timing and output are in
 * lib/harness.c.
 *
 *   weft-bench [--workers LIST] [--reps N] [--n N] [--list] [BENCH...]
 *   weft-bench --serve --workers W [--n N] BENCH
 *
 * Each benchmark at each worker count gets one untimed warm-up run, then
 * --reps timed runs. A run starts the runtime with that many workers, runs
 * the workload on a root fiber, checks its answer and shuts the runtime
 * down; only the work between the workload's bench_clock_start() and
 * bench_clock_stop() is timed. A workload with a fixed worker count (yield:
 * 1, pingpong-x: 2) runs once, at that count, whatever the list says. With --serve, for
 * scripts/bench.py: one warm-up, a line "ready", then one timed run per line "run" read from stdin,
 * each printed as a key=value line with reps=1, until end of input.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#endif
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "weft.h"

static const struct bench *const benches[] = {
    &bench_switch,   &bench_yield,       &bench_spawn, &bench_fib,         &bench_skynet,
    &bench_pingpong, &bench_pingpong_x,  &bench_chan1, &bench_chan4,       &bench_chan16,
    &bench_mutex,    &bench_skynet_chan, &bench_uts,   &bench_blocked_mem, &bench_sleep,
};
enum { NBENCH = sizeof benches / sizeof benches[0] };

struct options {
    int workers[16];
    int nworkers;
    int reps;
    long n; /* 0: each workload's default */
    const struct bench *selected[NBENCH];
    int nselected;
    bool serve;
};

static void usage(FILE *out)
{
    fprintf(out, "usage: weft-bench [--workers LIST] [--reps N] [--n N] [--list] [BENCH...]\n"
                 "       weft-bench --serve --workers W [--n N] BENCH\n"
                 "  --workers LIST  worker counts, e.g. 1,2 (default: 1 and the core count)\n"
                 "  --reps N        timed runs per benchmark and worker count (default 5,\n"
                 "                  or a one-shot workload's own, the 4th word of --list)\n"
                 "  --n N           size of each selected benchmark (default: its own)\n"
                 "  --list          print 'NAME DEFAULT_N any|W' per benchmark and exit\n"
                 "                  (W: measured at W workers only, whatever --workers says)\n"
                 "  --serve         warm up, print 'ready', then one timed run per stdin line\n"
                 "benchmarks (default: all):\n");
    for (int i = 0; i < NBENCH; i++)
        fprintf(out, "  %-11s %s\n", benches[i]->name, benches[i]->what);
}

/* The one worker count @b is measured at, or 0 if any. */
static int only_workers(const struct bench *b)
{
    return b->one_worker ? 1 : b->fixed_workers;
}

static int core_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool parse_workers(const char *list, struct options *o)
{
    char buf[256];
    if (strlen(list) >= sizeof buf)
        return false;
    strcpy(buf, list);
    o->nworkers = 0;
    for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        long w;
        if (o->nworkers == (int)(sizeof o->workers / sizeof o->workers[0]) ||
            !parse_long(tok, 1, WEFT_WORKERS_MAX, &w))
            return false;
        o->workers[o->nworkers++] = (int)w;
    }
    return o->nworkers > 0;
}

static const struct bench *find_bench(const char *name)
{
    for (int i = 0; i < NBENCH; i++)
        if (strcmp(benches[i]->name, name) == 0)
            return benches[i];
    return NULL;
}

/* Returns 0 to go on, or the exit status. */
static int parse_args(int argc, char **argv, struct options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        long v;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return -1;
        } else if (strcmp(a, "--list") == 0) {
            for (int b = 0; b < NBENCH; b++) {
                if (only_workers(benches[b]))
                    printf("%s %ld %d", benches[b]->name, benches[b]->default_n,
                           only_workers(benches[b]));
                else
                    printf("%s %ld any", benches[b]->name, benches[b]->default_n);
                if (benches[b]->default_reps) /* a one-shot figure: its own default */
                    printf(" %d", benches[b]->default_reps);
                printf("\n");
            }
            return -1;
        } else if (strcmp(a, "--serve") == 0) {
            o->serve = true;
        } else if (strcmp(a, "--workers") == 0 && val) {
            if (!parse_workers(val, o)) {
                fprintf(stderr, "weft-bench: bad --workers '%s' (1..%d, comma-separated)\n", val,
                        WEFT_WORKERS_MAX);
                return 2;
            }
            i++;
        } else if (strcmp(a, "--reps") == 0 && val) {
            if (!parse_long(val, 1, 100000, &v)) {
                fprintf(stderr, "weft-bench: bad --reps '%s'\n", val);
                return 2;
            }
            o->reps = (int)v;
            i++;
        } else if (strcmp(a, "--n") == 0 && val) {
            if (!parse_long(val, 1, LONG_MAX, &v)) {
                fprintf(stderr, "weft-bench: bad --n '%s'\n", val);
                return 2;
            }
            o->n = v;
            i++;
        } else if (a[0] != '-' && find_bench(a)) {
            if (o->nselected < NBENCH)
                o->selected[o->nselected++] = find_bench(a);
        } else {
            fprintf(stderr, "weft-bench: unknown or incomplete argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    return 0;
}

struct root_arg {
    const struct bench *b;
    struct bench_run *r;
    int rc;
};

static void *root(void *p)
{
    struct root_arg *a = p;
    a->rc = a->b->run(a->r);
    return NULL;
}

/* The runtime stays up for the warm-up and every rep of one benchmark and
 * worker count, as it does in a program (and as Go's and oneTBB's do in
 * their peers): reps then find warm fiber structs, stacks and deques. */
static int runtime_up(const struct bench *b, int workers)
{
    if (b->no_runtime)
        return 0;
    int err = weft_init(&(weft_config){.workers = workers});
    if (err)
        fprintf(stderr, "weft-bench: %s: weft_init(workers=%d): %s\n", b->name, workers,
                weft_strerror(err));
    return err;
}

/* Shut the runtime down; -EBUSY would mean the workload leaked a fiber. */
static bool runtime_down(const struct bench *b)
{
    if (b->no_runtime)
        return true;
    int err = weft_shutdown();
    if (err)
        fprintf(stderr, "weft-bench: %s: weft_shutdown: %s (all fibers should be joined)\n",
                b->name, weft_strerror(err));
    return err == 0;
}

/* One run of @b (in a root fiber, unless no_runtime); its time in *@ns and,
 * if @extra is not NULL, its extra fields there (BENCH_EXTRA_MAX bytes).
 * Returns BENCH_OK, BENCH_WRONG or a negative weft error, having said what
 * went wrong. */
static int run_once(const struct bench *b, int workers, long n, int64_t *ns, char *extra)
{
    struct bench_run r = {.n = n, .workers = workers};
    int rc;
    if (b->no_runtime) {
        rc = b->run(&r);
    } else {
        struct root_arg a = {.b = b, .r = &r};
        weft_fiber f;
        int err = weft_spawn(&f, root, &a, NULL);
        if (err == 0)
            err = weft_join(f, NULL);
        if (err) {
            fprintf(stderr, "weft-bench: %s: root fiber: %s\n", b->name, weft_strerror(err));
            return err;
        }
        rc = a.rc;
    }
    if (rc < 0)
        fprintf(stderr, "weft-bench: %s: %s\n", b->name, weft_strerror(rc));
    if (rc == BENCH_OK && !(r.started && r.stopped))
        rc = bench_wrong(b->name, "the workload did not start and stop the clock");
    *ns = r.t1 - r.t0;
    if (extra)
        snprintf(extra, BENCH_EXTRA_MAX, "%s", r.extra);
    return rc;
}

/* Warm-up, then @reps timed runs of @b; the summary in *@res. */
static void measure(const struct bench *b, int workers, long n, int reps, struct bench_result *res)
{
    int64_t *samples = calloc((size_t)reps, sizeof *samples);
    int64_t warm_ns;
    if (!samples) {
        perror("weft-bench");
        exit(1);
    }
    *res = (struct bench_result){.bench = b->name, .workers = workers, .n = n, .reps = reps};
    res->ok = runtime_up(b, workers) == 0;
    if (res->ok) {
        res->ok = run_once(b, workers, n, &warm_ns, NULL) == BENCH_OK;
        for (int i = 0; i < reps; i++)
            res->ok &= run_once(b, workers, n, &samples[i], res->extra) == BENCH_OK;
        res->ok &= runtime_down(b);
    }
    bench_summarise(res, samples, reps, b->ops(n));
    free(samples);
}

/* --serve: warm up, then time one run per line of stdin (scripts/bench.py
 * interleaves the implementations this way at rep granularity). */
static int serve(const struct bench *b, int workers, long n)
{
    char line[64];
    int64_t ns;
    bool all_ok = runtime_up(b, workers) == 0 && run_once(b, workers, n, &ns, NULL) == BENCH_OK;
    printf("ready ok=%d\n", all_ok ? 1 : 0);
    fflush(stdout);
    while (all_ok && fgets(line, sizeof line, stdin) && strncmp(line, "run", 3) == 0) {
        int64_t sample;
        struct bench_result res = {.bench = b->name, .workers = workers, .n = n, .reps = 1};
        res.ok = run_once(b, workers, n, &sample, res.extra) == BENCH_OK;
        bench_summarise(&res, &sample, 1, b->ops(n));
        bench_print_kv("weft", &res);
        all_ok &= res.ok;
    }
    all_ok &= runtime_down(b);
    return all_ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct options o = {.reps = 0}; /* 0: not given */
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (o.nworkers == 0) {
        o.workers[o.nworkers++] = 1;
        if (core_count() > 1)
            o.workers[o.nworkers++] = core_count();
    }
    if (o.nselected == 0) {
        for (int i = 0; i < NBENCH; i++)
            o.selected[i] = benches[i];
        o.nselected = NBENCH;
    }
    for (int i = 0; i < o.nselected; i++) {
        const struct bench *b = o.selected[i];
        const char *why = b->check_n(o.n ? o.n : b->default_n);
        if (why) {
            fprintf(stderr, "weft-bench: %s: bad --n %ld: %s\n", b->name, o.n, why);
            return 2;
        }
    }

    if (o.serve) {
        if (o.nselected != 1 || o.nworkers != 1) {
            fprintf(stderr, "weft-bench: --serve takes one benchmark and one worker count\n");
            return 2;
        }
        const struct bench *b = o.selected[0];
        return serve(b, only_workers(b) ? only_workers(b) : o.workers[0], o.n ? o.n : b->default_n);
    }

    struct bench_result *results = calloc((size_t)(o.nselected * o.nworkers), sizeof *results);
    int nresults = 0;
    bool all_ok = true;
    if (!results) {
        perror("weft-bench");
        return 1;
    }
    for (int i = 0; i < o.nselected; i++) {
        const struct bench *b = o.selected[i];
        long n = o.n ? o.n : b->default_n;
        for (int w = 0; w < o.nworkers; w++) {
            /* A fixed-count workload runs once, at its count, whatever the list. */
            if (only_workers(b) && w > 0)
                break;
            struct bench_result *res = &results[nresults++];
            /* --reps, else the workload's own (one-shot figures), else 5. */
            int reps = o.reps ? o.reps : b->default_reps ? b->default_reps : 5;
            measure(b, only_workers(b) ? only_workers(b) : o.workers[w], n, reps, res);
            bench_print_kv("weft", res);
            all_ok &= res->ok;
        }
    }
    bench_print_table("weft", results, nresults);
    free(results);
    if (!all_ok)
        fprintf(stderr, "weft-bench: some runs gave a wrong answer or failed (ok=0)\n");
    return all_ok ? 0 : 1;
}
