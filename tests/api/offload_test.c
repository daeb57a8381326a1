/*
 * offload_test.c - weft_offload through weft.h alone: the result comes
 * back; the pool never runs more jobs at once than its bound, yet reaches
 * it; the workers keep running fibers while jobs block; regular-file reads
 * go through it; a queued call is removed on cancel and on its deadline,
 * a running one is waited for; a plain thread runs the call itself; idle
 * threads leave; WEFT_OFFLOAD_MAX is checked; shutdown waits for running
 * jobs and drops queued ones; offloads leave the deadlock detector on.
 *
 * Jobs block for real (nanosleep, a blocking read): that is the point of
 * the pool. Where a case needs several jobs running at once it holds them
 * at a gate until they are, with a 10 s limit that fails the case instead
 * of hanging.
 */
#include "weft.h"

#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MS ((int64_t)1000000)
#define S  ((int64_t)1000000000)

static void start_case(void)
{
    settle();
    unsetenv("WEFT_OFFLOAD_MAX");
    atomic_store(&fiber_failures, 0);
}

static void end_case(void)
{
    unsetenv("WEFT_OFFLOAD_MAX");
    EXPECT_EQ(atomic_load(&fiber_failures), 0);
}

/* Run @fn as the root fiber of a fresh runtime with @cfg. */
static void run_root(const weft_config *cfg, weft_fn fn, void *arg)
{
    void *res = NULL;
    EXPECT_EQ(weft_main(cfg, fn, arg, &res), 0);
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {.tv_sec = ns / S, .tv_nsec = ns % S};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Threads of this process, from /proc/self/task. */
static int count_tasks(void)
{
    return count_entries("/proc/self/task");
}

/* A gate that opens once @want jobs are inside it at the same time (or
 * after 10 s, which counts as a failure); it records the most ever inside. */
struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int want, inside, max_inside, max_tasks;
    bool open, timed_out;
};

static void gate_init(struct gate *g, int want)
{
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->cond, NULL);
    g->want = want;
    g->inside = g->max_inside = g->max_tasks = 0;
    g->open = g->timed_out = false;
}

static void gate_destroy(struct gate *g)
{
    pthread_mutex_destroy(&g->lock);
    pthread_cond_destroy(&g->cond);
}

static void gate_pass(struct gate *g)
{
    int tasks = count_tasks();
    pthread_mutex_lock(&g->lock);
    if (++g->inside > g->max_inside)
        g->max_inside = g->inside;
    if (tasks > g->max_tasks)
        g->max_tasks = tasks;
    if (g->inside >= g->want) {
        g->open = true;
        pthread_cond_broadcast(&g->cond);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    while (!g->open) {
        if (pthread_cond_timedwait(&g->cond, &g->lock, &ts) != 0) {
            g->timed_out = g->open = true;
            pthread_cond_broadcast(&g->cond);
        }
    }
    g->inside--;
    pthread_mutex_unlock(&g->lock);
}

static void *gate_job(void *arg)
{
    gate_pass(arg);
    return (void *)(intptr_t)7;
}

/* --- the result -------------------------------------------------------- */

static void *square_job(void *arg)
{
    intptr_t v = (intptr_t)arg;
    return (void *)(v * v);
}

static void *square_fiber(void *arg)
{
    void *res = NULL;
    FEXPECT_EQ(weft_offload(square_job, arg, &res), 0);
    FEXPECT_EQ((intptr_t)res, (intptr_t)arg * (intptr_t)arg);
    FEXPECT_EQ(weft_offload(square_job, arg, NULL), 0); /* result not wanted */
    return NULL;
}

static void *result_body(void *arg)
{
    (void)arg;
    enum { N = 40 };
    weft_fiber f[N];
    for (intptr_t i = 0; i < N; i++)
        FEXPECT_EQ(weft_spawn(&f[i], square_fiber, (void *)i, NULL), 0);
    for (int i = 0; i < N; i++)
        FEXPECT_EQ(weft_join(f[i], NULL), 0);
    struct weft_stats s;
    FEXPECT_EQ(weft_stats(&s, sizeof s), 0);
    /* Counted per job run on the pool (unless -Dstats=false: no switches). */
    FEXPECT(s.offloads == 2 * N || s.switches == 0);
    return NULL;
}

/* 40 fibers on 2 workers each get their own job's result back. */
TEST(offload_returns_the_result)
{
    start_case();
    run_root(&(weft_config){.workers = 2}, result_body, NULL);
    end_case();
}

/* --- where pool threads run -------------------------------------------- */

static int cpus_allowed(void)
{
    cpu_set_t s;
    return sched_getaffinity(0, sizeof s, &s) == 0 ? CPU_COUNT(&s) : -1;
}

static void *cpus_job(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)cpus_allowed();
}

static void *cpus_body(void *arg)
{
    int *out = arg;
    out[0] = cpus_allowed(); /* a worker: pinned to one CPU */
    void *n = NULL;
    FEXPECT_EQ(weft_offload(cpus_job, NULL, &n), 0);
    out[1] = (int)(intptr_t)n;
    return NULL;
}

/* Workers are pinned to one core each; a pool thread started by a fiber
 * does not inherit that: it may run on every CPU weft_init's caller may. */
TEST(pool_threads_are_not_pinned_to_a_worker)
{
    start_case();
    int mine = cpus_allowed(), seen[2] = {0, 0};
    run_root(&(weft_config){.workers = 2, .pin = WEFT_PIN_ON}, cpus_body, seen);
    if (mine < 2 || seen[0] != 1)
        SKIP("one CPU, or workers could not be pinned: nothing to tell apart");
    EXPECT_EQ(seen[1], mine);
    end_case();
}

/* --- the bound --------------------------------------------------------- */

struct bound_case {
    struct gate g;
    int tasks_before;
};

static void *gate_fiber(void *arg)
{
    void *res = NULL;
    FEXPECT_EQ(weft_offload(gate_job, arg, &res), 0);
    FEXPECT_EQ((intptr_t)res, 7);
    return NULL;
}

static void *bound_body(void *arg)
{
    struct bound_case *c = arg;
    c->tasks_before = count_tasks();
    enum { N = 32 };
    weft_fiber f[N];
    for (int i = 0; i < N; i++)
        FEXPECT_EQ(weft_spawn(&f[i], gate_fiber, &c->g, NULL), 0);
    for (int i = 0; i < N; i++)
        FEXPECT_EQ(weft_join(f[i], NULL), 0);
    return NULL;
}

/* With WEFT_OFFLOAD_MAX=3, 32 concurrent offloads on 2 workers: never more
 * than 3 jobs run at once, and 3 do (the pool grows to its bound); the
 * process never has more than 3 threads beyond those it had. */
TEST(pool_is_bounded_and_grows_to_its_bound)
{
    start_case();
    setenv("WEFT_OFFLOAD_MAX", "3", 1);
    struct bound_case c;
    gate_init(&c.g, 3);
    run_root(&(weft_config){.workers = 2}, bound_body, &c);
    EXPECT_EQ(c.g.max_inside, 3);
    EXPECT(!c.g.timed_out);
    EXPECT(c.g.max_tasks <= c.tasks_before + 3);
    gate_destroy(&c.g);
    end_case();
}

/* A bad WEFT_OFFLOAD_MAX fails weft_init with -EINVAL; good ones work. */
TEST(offload_max_env_is_checked)
{
    start_case();
    static const char *const bad[] = {"0", "-1", "4097", "abc", "", "3x", " 3", "99999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("WEFT_OFFLOAD_MAX", bad[i], 1);
        int r = weft_init(&(weft_config){.workers = 1});
        if (r != -EINVAL)
            printf("# WEFT_OFFLOAD_MAX=\"%s\": %d\n", bad[i], r);
        EXPECT_EQ(r, -EINVAL);
        if (r == 0)
            weft_shutdown();
    }
    static const char *const good[] = {"1", "4096", "16"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        setenv("WEFT_OFFLOAD_MAX", good[i], 1);
        CHECK_OK(weft_init(&(weft_config){.workers = 1}));
        CHECK_OK(weft_shutdown());
    }
    end_case();
}

/* --- workers keep running ---------------------------------------------- */

enum { BLOCKERS = 8 };

struct progress {
    struct gate g;
    _Atomic long ticks;
    _Atomic int done;
    long seen_start[BLOCKERS], seen_end[BLOCKERS];
};

struct blocker {
    struct progress *p;
    int i;
};

static void *sleep_job(void *arg)
{
    struct blocker *b = arg;
    b->p->seen_start[b->i] = atomic_load(&b->p->ticks);
    gate_pass(&b->p->g); /* all 8 block at once */
    sleep_ns(50 * MS);
    b->p->seen_end[b->i] = atomic_load(&b->p->ticks);
    return NULL;
}

static void *blocker_fiber(void *arg)
{
    struct blocker *b = arg;
    FEXPECT_EQ(weft_offload(sleep_job, b, NULL), 0);
    atomic_fetch_add(&b->p->done, 1);
    return NULL;
}

static void *ticker_fiber(void *arg)
{
    struct progress *p = arg;
    while (atomic_load(&p->done) < BLOCKERS) {
        atomic_fetch_add(&p->ticks, 1);
        weft_sleep(MS); /* parks: the worker is free for the others */
    }
    return NULL;
}

static void *progress_body(void *arg)
{
    struct progress *p = arg;
    struct blocker b[BLOCKERS];
    weft_fiber f[BLOCKERS], t;
    FEXPECT_EQ(weft_spawn(&t, ticker_fiber, p, NULL), 0);
    for (int i = 0; i < BLOCKERS; i++) {
        b[i] = (struct blocker){p, i};
        FEXPECT_EQ(weft_spawn(&f[i], blocker_fiber, &b[i], NULL), 0);
    }
    for (int i = 0; i < BLOCKERS; i++)
        FEXPECT_EQ(weft_join(f[i], NULL), 0);
    FEXPECT_EQ(weft_join(t, NULL), 0);
    return NULL;
}

/* One worker, 8 offloads that each block 50 ms, all at once: a ticker fiber
 * on that worker advances during every one of them (the worker was never
 * blocked), and all 8 blocked together (the pool ran them in parallel). */
TEST(workers_run_fibers_while_offloads_block)
{
    start_case();
    setenv("WEFT_OFFLOAD_MAX", "8", 1);
    struct progress p = {.ticks = 0, .done = 0};
    gate_init(&p.g, BLOCKERS);
    run_root(&(weft_config){.workers = 1}, progress_body, &p);
    EXPECT_EQ(p.g.max_inside, BLOCKERS);
    EXPECT(!p.g.timed_out);
    for (int i = 0; i < BLOCKERS; i++) {
        if (p.seen_end[i] <= p.seen_start[i])
            printf("# job %d: ticks %ld -> %ld\n", i, p.seen_start[i], p.seen_end[i]);
        EXPECT(p.seen_end[i] > p.seen_start[i]);
    }
    gate_destroy(&p.g);
    end_case();
}

/* --- regular files ----------------------------------------------------- */

enum { FILE_BYTES = 1 << 16, CHUNK = 4096 };

struct pread_args {
    int fd;
    void *buf;
    size_t len;
    off_t off;
};

static void *pread_job(void *arg)
{
    struct pread_args *a = arg;
    ssize_t n = pread(a->fd, a->buf, a->len, a->off);
    return (void *)(intptr_t)(n < 0 ? -errno : n);
}

struct file_case {
    int fd;
    unsigned char expect[FILE_BYTES];
};

struct chunk_reader {
    struct file_case *c;
    int chunk;
};

static void *chunk_fiber(void *arg)
{
    struct chunk_reader *r = arg;
    unsigned char buf[CHUNK];
    struct pread_args a = {r->c->fd, buf, CHUNK, (off_t)r->chunk * CHUNK};
    void *n = NULL;
    FEXPECT_EQ(weft_offload(pread_job, &a, &n), 0); /* a and buf: on this stack */
    FEXPECT_EQ((intptr_t)n, CHUNK);
    FEXPECT(memcmp(buf, r->c->expect + (size_t)r->chunk * CHUNK, CHUNK) == 0);
    return NULL;
}

static void *file_body(void *arg)
{
    struct file_case *c = arg;
    enum { NCHUNK = FILE_BYTES / CHUNK };
    /* weft_read refuses a regular file: offload is the way. */
    char b;
    FEXPECT_EQ(weft_read(c->fd, &b, 1), -ENOTSUP);
    struct chunk_reader r[NCHUNK];
    weft_fiber f[NCHUNK];
    for (int i = 0; i < NCHUNK; i++) {
        r[i] = (struct chunk_reader){c, i};
        FEXPECT_EQ(weft_spawn(&f[i], chunk_fiber, &r[i], NULL), 0);
    }
    for (int i = 0; i < NCHUNK; i++)
        FEXPECT_EQ(weft_join(f[i], NULL), 0);
    return NULL;
}

/* A 64 KiB regular file read in 16 chunks by 16 fibers, each through
 * weft_offload(pread): every byte is right. */
TEST(regular_file_read_via_offload)
{
    start_case();
    static struct file_case c;
    char path[] = "/tmp/weft-offload-XXXXXX";
    c.fd = mkstemp(path);
    CHECK(c.fd >= 0);
    unlink(path);
    uint64_t x = tap_seed();
    for (size_t i = 0; i < FILE_BYTES; i++)
        c.expect[i] = (unsigned char)splitmix(&x);
    CHECK_EQ(write(c.fd, c.expect, FILE_BYTES), FILE_BYTES);
    run_root(&(weft_config){.workers = 2}, file_body, &c);
    close(c.fd);
    end_case();
}

/* --- cancellation and deadlines ------------------------------------------ */

/* The one pool thread is held by a job that blocks on a pipe until the
 * test writes to it. */
struct hold {
    int started[2]; /* the job writes a byte here once it runs */
    int release[2]; /* the job reads a byte from here (blocking) */
    _Atomic int ran;
};

static void *hold_job(void *arg)
{
    struct hold *h = arg;
    atomic_fetch_add(&h->ran, 1);
    FEXPECT_EQ(write(h->started[1], "s", 1), 1);
    char c;
    FEXPECT_EQ(read(h->release[0], &c, 1), 1);
    return (void *)(intptr_t)99;
}

static void *hold_fiber(void *arg)
{
    void *res = NULL;
    int r = weft_offload(hold_job, arg, &res);
    FEXPECT_EQ(r, 0);
    FEXPECT_EQ((intptr_t)res, 99);
    return (void *)(intptr_t)(weft_cancelled() ? 1 : 0);
}

static _Atomic int never_ran;

static void *never_job(void *arg)
{
    (void)arg;
    atomic_fetch_add(&never_ran, 1);
    return NULL;
}

struct queued {
    _Atomic int in; /* set just before the offload */
    int r;
    int64_t deadline;
};

static void *queued_fiber(void *arg)
{
    struct queued *q = arg;
    atomic_store(&q->in, 1);
    q->r = weft_offload_until(never_job, NULL, NULL, q->deadline);
    return NULL;
}

/* Wait (parking) until the held job has started. */
static void wait_started(struct hold *h)
{
    char c;
    FEXPECT_EQ(weft_read(h->started[0], &c, 1), 1);
}

static void release(struct hold *h)
{
    FEXPECT_EQ(weft_write(h->release[1], "r", 1), 1);
}

static void *cancel_body(void *arg)
{
    struct hold *h = arg;
    weft_fiber a, b, c, d;
    /* A holds the pool's one thread. */
    FEXPECT_EQ(weft_spawn(&a, hold_fiber, h, NULL), 0);
    wait_started(h);

    /* B queues behind it and is cancelled: one worker, and B does not
     * yield between its flag and its park, so B is parked when we run. */
    struct queued qb = {.in = 0, .deadline = WEFT_FOREVER};
    FEXPECT_EQ(spawn_until_started(&b, queued_fiber, &qb, &qb.in), 0);
    FEXPECT_EQ(weft_cancel(b), 0);
    FEXPECT_EQ(weft_join(b, NULL), 0);
    FEXPECT_EQ(qb.r, -ECANCELED);

    /* C queues with a deadline 20 ms away: -ETIMEDOUT, not before it. */
    int64_t t0 = weft_now();
    struct queued qc = {.in = 0, .deadline = t0 + 20 * MS};
    FEXPECT_EQ(weft_spawn(&c, queued_fiber, &qc, NULL), 0);
    FEXPECT_EQ(weft_join(c, NULL), 0);
    FEXPECT_EQ(qc.r, -ETIMEDOUT);
    FEXPECT(weft_now() >= qc.deadline);

    /* A deadline already past, and a cancelled fiber: never queued. */
    FEXPECT_EQ(weft_offload_until(never_job, NULL, NULL, 0), -ETIMEDOUT);
    FEXPECT_EQ(weft_offload_until(never_job, NULL, NULL, weft_now() - 1), -ETIMEDOUT);
    FEXPECT_EQ(weft_offload_until(never_job, NULL, NULL, -2), -EINVAL);
    FEXPECT_EQ(weft_offload(NULL, NULL, NULL), -EINVAL);

    /* Release A: its result comes back; B's and C's jobs never ran. */
    release(h);
    void *cancelled = (void *)(intptr_t)-1;
    FEXPECT_EQ(weft_join(a, &cancelled), 0);
    FEXPECT_EQ((intptr_t)cancelled, 0);
    FEXPECT_EQ(atomic_load(&never_ran), 0);

    /* D's job is running when D is cancelled: D keeps waiting, then gets
     * the job's result (0, 99), and stays cancelled. */
    FEXPECT_EQ(weft_spawn(&d, hold_fiber, h, NULL), 0);
    wait_started(h);
    FEXPECT_EQ(weft_cancel(d), 0);
    release(h);
    cancelled = NULL;
    FEXPECT_EQ(weft_join(d, &cancelled), 0);
    FEXPECT_EQ((intptr_t)cancelled, 1);
    FEXPECT_EQ(atomic_load(&h->ran), 2);

    /* The pool still works. */
    void *res = NULL;
    FEXPECT_EQ(weft_offload(square_job, (void *)(intptr_t)5, &res), 0);
    FEXPECT_EQ((intptr_t)res, 25);
    return NULL;
}

/* One worker, one pool thread held by a blocking job: a call queued behind
 * it is removed by weft_cancel (-ECANCELED) or by its deadline
 * (-ETIMEDOUT) and its job never runs; a running job is waited for even
 * when its caller is cancelled, and its result is returned. */
TEST(cancel_and_deadline_while_queued)
{
    start_case();
    setenv("WEFT_OFFLOAD_MAX", "1", 1);
    atomic_store(&never_ran, 0);
    static struct hold h;
    CHECK_OK(pipe(h.started));
    CHECK_OK(pipe(h.release));
    atomic_store(&h.ran, 0);
    run_root(&(weft_config){.workers = 1}, cancel_body, &h);
    for (int i = 0; i < 2; i++) { /* weft_close: weft used them */
        weft_close(h.started[i]);
        weft_close(h.release[i]);
    }
    end_case();
}

/* --- plain threads ------------------------------------------------------ */

static void *whoami_job(void *arg)
{
    *(pthread_t *)arg = pthread_self();
    return arg;
}

static void check_plain_caller(void)
{
    pthread_t who;
    void *res = NULL;
    EXPECT_EQ(weft_offload(whoami_job, &who, &res), 0);
    EXPECT(res == &who && pthread_equal(who, pthread_self()));
    res = NULL;
    EXPECT_EQ(weft_offload_until(whoami_job, &who, &res, weft_deadline_after(S)), 0);
    EXPECT(res == &who && pthread_equal(who, pthread_self()));
    atomic_store(&never_ran, 0);
    EXPECT_EQ(weft_offload_until(never_job, NULL, NULL, 0), -ETIMEDOUT);
    EXPECT_EQ(atomic_load(&never_ran), 0);
    EXPECT_EQ(weft_offload_until(never_job, NULL, NULL, -5), -EINVAL);
    EXPECT_EQ(weft_offload(NULL, NULL, NULL), -EINVAL);
}

/* From a plain thread, with and without a runtime, the call runs on the
 * calling thread; a past deadline and bad arguments are refused. */
TEST(plain_thread_runs_the_call_itself)
{
    start_case();
    check_plain_caller();
    CHECK_OK(weft_init(&(weft_config){.workers = 1}));
    check_plain_caller();
    struct weft_stats s;
    CHECK_OK(weft_stats(&s, sizeof s));
    EXPECT_EQ(s.offloads, 0); /* nothing ran on the pool */
    CHECK_OK(weft_shutdown());
    end_case();
}

/* --- shrinking ---------------------------------------------------------- */

struct shrink_case {
    struct gate g;
    int before, peak, after;
    int64_t idle_for;
};

static void *shrink_body(void *arg)
{
    struct shrink_case *c = arg;
    c->before = count_tasks();
    enum { N = 4 };
    weft_fiber f[N];
    for (int i = 0; i < N; i++)
        FEXPECT_EQ(weft_spawn(&f[i], gate_fiber, &c->g, NULL), 0);
    for (int i = 0; i < N; i++)
        FEXPECT_EQ(weft_join(f[i], NULL), 0);
    c->peak = c->g.max_tasks;
    int64_t t0 = weft_now();
    while ((c->after = count_tasks()) > c->before && weft_now() - t0 < 10 * S)
        weft_sleep(20 * MS);
    c->idle_for = weft_now() - t0;
    /* It grows again on demand. */
    void *res = NULL;
    FEXPECT_EQ(weft_offload(square_job, (void *)(intptr_t)9, &res), 0);
    FEXPECT_EQ((intptr_t)res, 81);
    return NULL;
}

/* Four jobs at once start four pool threads; about a second after they
 * went idle the process is back to the threads it had before. */
TEST(pool_shrinks_when_idle)
{
    start_case();
    struct shrink_case c;
    gate_init(&c.g, 4);
    run_root(&(weft_config){.workers = 2}, shrink_body, &c);
    EXPECT(!c.g.timed_out);
    EXPECT_EQ(c.peak, c.before + 4);
    EXPECT_EQ(c.after, c.before);
    EXPECT(c.idle_for >= 900 * MS); /* idle threads stay about a second */
    gate_destroy(&c.g);
    end_case();
}

/* --- shutdown ----------------------------------------------------------- */

struct stop_case {
    int started[2];
    _Atomic int slow_done;
    _Atomic int queued_in;
};

static void *slow_job(void *arg)
{
    struct stop_case *c = arg;
    FEXPECT_EQ(write(c->started[1], "s", 1), 1);
    sleep_ns(100 * MS);
    atomic_store(&c->slow_done, 1);
    return NULL;
}

static void *slow_fiber(void *arg)
{
    weft_offload(slow_job, arg, NULL);
    return NULL;
}

static void *late_fiber(void *arg)
{
    struct stop_case *c = arg;
    atomic_store(&c->queued_in, 1);
    weft_offload(never_job, NULL, NULL);
    return NULL;
}

/* How many fibers weft_dump shows parked on an offload. */
static int parked_on_offload(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m)
        return -1;
    weft_dump(m);
    fclose(m);
    int n = 0;
    for (const char *p = text; (p = strstr(p, "[offload ")); p++)
        n++;
    free(text);
    return n;
}

/* weft_shutdown with one job running (100 ms) and one queued behind it
 * (WEFT_OFFLOAD_MAX=1): it returns only after the running job finished,
 * the queued job never runs, and the two fibers are reported abandoned. */
TEST(shutdown_waits_for_running_jobs)
{
    start_case();
    setenv("WEFT_OFFLOAD_MAX", "1", 1);
    atomic_store(&never_ran, 0);
    static struct stop_case c;
    CHECK_OK(pipe(c.started));
    atomic_store(&c.slow_done, 0);
    atomic_store(&c.queued_in, 0);
    CHECK_OK(weft_init(&(weft_config){.workers = 1}));
    weft_fiber a, b;
    weft_fiber_attr detached = {.detached = true};
    CHECK_OK(weft_spawn(&a, slow_fiber, &c, &detached));
    char ch;
    CHECK_EQ(read(c.started[0], &ch, 1), 1);
    CHECK_OK(weft_spawn(&b, late_fiber, &c, &detached));
    /* Both parked on the offload: B is queued (bounded wait). */
    int64_t t0 = weft_now();
    while (parked_on_offload() < 2 && weft_now() - t0 < 10 * S)
        weft_sleep(MS);
    EXPECT_EQ(parked_on_offload(), 2);
    int r = weft_shutdown();
    EXPECT_EQ(atomic_load(&c.slow_done), 1);
    EXPECT_EQ(atomic_load(&never_ran), 0);
    EXPECT_EQ(r, -EBUSY); /* A and B never ran again: abandoned */
    close(c.started[0]);
    close(c.started[1]);
    end_case();
}

static void *event_job(void *arg)
{
    struct stop_case *c = arg;
    weft_event ev = WEFT_EVENT_INIT;
    FEXPECT_EQ(write(c->started[1], "s", 1), 1);
    /* Nobody sets it: shutdown must end the wait. */
    return (void *)(intptr_t)weft_event_wait(&ev);
}

static _Atomic intptr_t event_job_result;

static void *event_fiber(void *arg)
{
    void *res = NULL;
    weft_offload(event_job, arg, &res);
    atomic_store(&event_job_result, (intptr_t)res);
    return NULL;
}

/* A job blocked in a weft call of its own (a plain-thread wait that no
 * fiber will end) does not hang shutdown: the wait ends with -ECANCELED. */
TEST(shutdown_releases_a_job_blocked_in_weft)
{
    start_case();
    static struct stop_case c;
    CHECK_OK(pipe(c.started));
    atomic_store(&event_job_result, 1);
    CHECK_OK(weft_init(&(weft_config){.workers = 1}));
    weft_fiber a;
    CHECK_OK(weft_spawn(&a, event_fiber, &c, &(weft_fiber_attr){.detached = true}));
    char ch;
    CHECK_EQ(read(c.started[0], &ch, 1), 1);
    EXPECT_EQ(weft_shutdown(), -EBUSY);
    /* The job returned (the fiber was abandoned before it could store the
     * result, so only the return is observable): shutdown came back. */
    close(c.started[0]);
    close(c.started[1]);
    end_case();
}

/* --- the deadlock detector ---------------------------------------------- */

static void *slow_square(void *arg)
{
    sleep_ns(30 * MS);
    return square_job(arg);
}

static void *deadlock_body(void *arg)
{
    (void)arg;
    /* Every worker idles while the job runs: not a deadlock. */
    void *res = NULL;
    FEXPECT_EQ(weft_offload(slow_square, (void *)(intptr_t)3, &res), 0);
    FEXPECT_EQ((intptr_t)res, 9);
    for (intptr_t i = 0; i < 20; i++)
        FEXPECT_EQ(weft_offload(square_job, (void *)i, NULL), 0);
    /* Now a real one: it must still be seen (pool wake-ups did not turn
     * the detector off). */
    weft_chan ch;
    FEXPECT_EQ(weft_chan_make(&ch, sizeof(int), 0), 0);
    int v;
    weft_chan_recv(ch, &v);
    return NULL;
}

/* Under weft_main with WEFT_DEADLOCK=error: a fiber waiting on an offload
 * while every worker idles is not reported, and a real deadlock after many
 * offloads is (weft_main returns -EDEADLK; a regression hangs until the
 * watchdog). */
TEST(offloads_keep_the_deadlock_detector_on)
{
    start_case();
    fprintf(stderr, "# offload_test: a deadlock report follows, on purpose\n");
    void *res = NULL;
    int r = weft_main(&(weft_config){.workers = 1, .deadlock = WEFT_DEADLOCK_ERROR}, deadlock_body,
                      NULL, &res);
    EXPECT_EQ(r, -EDEADLK);
    end_case();
}

int main(void)
{
    return tap_run();
}
