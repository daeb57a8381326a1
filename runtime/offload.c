/*
 * offload.c - weft_offload: a bounded pool of helper threads that run the
 * calls which must block, while the fibers that made them stay parked.
 *
 * The queue. A call is a struct job on the calling fiber's stack, reached
 * through a waiter (wait.h) whose data points at it; the waiters sit in one
 * FIFO wait_queue under pool.lock. A pool thread takes the head and
 * *claims* its wait (WAIT_WOKEN) before running the job, still under the
 * lock, and *finishes* it only after the job returned, having stored the
 * result and the code (token) in between: the claim-to-finish window of
 * wait.h, only longer. So:
 *  - a job is either still queued, or claimed by exactly one pool thread,
 *    or dropped: a canceller or the timer that wins the claim first ends
 *    the wait, the fiber wakes with -ECANCELED/-ETIMEDOUT and removes its
 *    waiter under the lock (or finds that a pool thread dropped it when the
 *    claim failed); the job never runs;
 *  - a job that has been claimed cannot be cancelled or timed out any more
 *    (the claim word is decided), so the fiber stays parked until the job
 *    returns and the struct job on its stack is never freed under the
 *    running function. The alternative, returning -ECANCELED at once and
 *    letting the job finish into a heap copy, was rejected: the job's
 *    argument usually points into the caller's memory too, which the caller
 *    would reuse while the job still writes to it, and the result (an fd, a
 *    buffer) would be lost. Cancellation stays sticky, so the fiber's next
 *    blocking call fails.
 * Lifetimes, then, are wait.h's: a pool thread touches a waiter only under
 * pool.lock while it is queued, or between its claim and its finish.
 *
 * Growth and shrinking. A call that finds more queued jobs than idle or
 * starting threads reserves one more thread (up to pool.max) under the lock
 * and creates it after dropping the lock; a thread that waited IDLE_NS with
 * nothing to do leaves. Leaving threads go on the `gone` list; each leaving
 * thread joins those that left before it, and wt_offload_stop joins the
 * rest, so every thread is joined and none is waited for on a fiber's path.
 * A thread's id is written to its record by its creator under the lock
 * (`known`), after pthread_create returned: a record is joined only once
 * known, and stop waits for every creation in flight (ncreating).
 *
 * Pool threads and the deadlock check. Their wake-ups come from a plain
 * thread, which would turn the check off for good (wait.c calls
 * wt_deadlock_note_foreign); each pool thread marks itself internal
 * instead (deadlock.h argues why that is sound).
 *
 * Shutdown (wt_offload_stop, after the workers stopped, before fibers are
 * abandoned and their stacks unmapped): queued jobs are claimed and
 * finished with -ECANCELED, which readies their fibers into the global
 * queue, where they are abandoned with the rest; running jobs are waited
 * for, and every thread is joined. A job blocked in a weft call of its own
 * (a plain-thread wait that no fiber will end now) is released the way
 * shutdown releases every plain thread, by wt_wait_cancel_plain_all, which
 * the stop repeats every millisecond while it waits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "alloc.h"
#include "deadlock.h"
#include "offload.h"
#include "runtime.h"
#include "stats.h"
#include "sync.h"
#include "worker.h"

enum {
    THREADS_PER_WORKER = 4,   /* the default bound, per worker */
    OFFLOAD_MAX_LIMIT = 4096, /* the largest WEFT_OFFLOAD_MAX */
};

/* How long a pool thread waits for work before it leaves. */
#define IDLE_NS ((int64_t)1000000000)
/* How often a stop waiting for running jobs ends plain-thread waits. */
#define STOP_SLICE_NS ((int64_t)1000000)

/* One call, on the calling fiber's stack. */
struct job {
    weft_fn fn;
    void *arg;
    void *result; /* written by the pool thread between claim and finish */
};

/* A pool thread, remembered so that it can be joined once it has left. */
struct pool_thread {
    pthread_t tid;
    bool known; /* tid is written (by the creator, under pool.lock) */
    struct pool_thread *next;
};

/* Everything below `lock` is guarded by it. */
static struct pool {
    pthread_mutex_t lock;
    pthread_cond_t work;      /* idle threads wait here (CLOCK_MONOTONIC) */
    pthread_cond_t quit;      /* wt_offload_stop waits here for the last thread (ditto) */
    bool conds_ready;         /* work and quit are initialised (first weft_init) */
    struct wait_queue q;      /* queued calls; each waiter's data is its struct job */
    int nqueued;              /* waiters in q */
    int max;                  /* bound on nthreads */
    int nthreads;             /* reserved, started or running, and not yet left */
    int nidle;                /* waiting on `work` */
    int nstarting;            /* reserved and not yet looking at q */
    int ncreating;            /* reserved and the creator not yet done with its record */
    bool stopping;            /* weft_shutdown: refuse new calls */
    struct pool_thread *gone; /* threads that left, not yet joined */
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .q = WT_WAIT_QUEUE_INIT};

static int env_max(int *out)
{
    const char *v = getenv("WEFT_OFFLOAD_MAX");
    if (!v)
        return 0;
    char *end = (char *)v;
    int saved = errno;
    errno = 0;
    long n = v[0] >= '0' && v[0] <= '9' ? strtol(v, &end, 10) : 0;
    bool ok = n >= 1 && n <= OFFLOAD_MAX_LIMIT && errno == 0 && *end == '\0';
    errno = saved;
    if (!ok) {
        fprintf(stderr, "weft: WEFT_OFFLOAD_MAX=%s: expected an integer in 1..%d\n", v,
                OFFLOAD_MAX_LIMIT);
        return -EINVAL;
    }
    *out = (int)n;
    return 0;
}

static int init_conds(void)
{
    pthread_condattr_t a;
    int r = pthread_condattr_init(&a);
    if (r)
        return -r;
    r = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    if (!r)
        r = pthread_cond_init(&pool.work, &a);
    if (!r) {
        r = pthread_cond_init(&pool.quit, &a);
        if (r)
            pthread_cond_destroy(&pool.work);
    }
    pthread_condattr_destroy(&a);
    return -r;
}

int wt_offload_init(int nworkers)
{
    int max = nworkers * THREADS_PER_WORKER;
    int r = env_max(&max);
    if (r)
        return r;
    /* No pool thread and no fiber exists: the last stop joined them all. */
    pthread_mutex_lock(&pool.lock);
    WT_ASSERT(pool.nthreads == 0 && pool.nqueued == 0 && !pool.gone);
    if (!pool.conds_ready) {
        int saved = errno;
        r = init_conds();
        errno = saved;
        pool.conds_ready = r == 0;
    }
    pool.max = max;
    pool.stopping = false;
    pthread_mutex_unlock(&pool.lock);
    if (!r)
        wt_offload_os_init();
    return r;
}

/* Take the first queued call whose wait we can claim; drop those whose
 * wait ended otherwise (their fibers remove nothing and return their
 * code). Caller holds pool.lock. */
static struct waiter *take(void)
{
    struct waiter *n;
    while ((n = pool.q.head)) {
        wt_wq_remove(&pool.q, n);
        pool.nqueued--;
        if (wt_waiter_claim(n))
            return n;
    }
    return NULL;
}

/* Move the joinable records of `gone`, except @keep, to a list of their
 * own. Caller holds pool.lock. */
static struct pool_thread *take_gone(const struct pool_thread *keep)
{
    struct pool_thread *out = NULL, **pp = &pool.gone;
    while (*pp) {
        struct pool_thread *t = *pp;
        if (t != keep && t->known) {
            *pp = t->next;
            t->next = out;
            out = t;
        } else {
            pp = &t->next;
        }
    }
    return out;
}

static void join_all(struct pool_thread *t)
{
    while (t) {
        struct pool_thread *next = t->next;
        pthread_join(t->tid, NULL);
        wt_free(t);
        t = next;
    }
}

/* Caller holds pool.lock. */
static void signal_quit_if_empty(void)
{
    if (pool.nthreads == 0 && pool.ncreating == 0)
        pthread_cond_broadcast(&pool.quit);
}

/* Wait up to IDLE_NS for a call or the stop. False if neither came: the
 * thread should leave. Caller holds pool.lock. */
static bool idle_wait(void)
{
    int64_t until = wt_os_now() + IDLE_NS;
    struct timespec ts = {.tv_sec = until / 1000000000, .tv_nsec = until % 1000000000};
    int r = 0;
    pool.nidle++;
    while (!pool.nqueued && !pool.stopping && r != ETIMEDOUT)
        r = pthread_cond_timedwait(&pool.work, &pool.lock, &ts);
    pool.nidle--;
    return pool.nqueued || pool.stopping;
}

static void *pool_main(void *arg)
{
    struct pool_thread *self = arg;
    wt_deadlock_mark_internal();
    pthread_mutex_lock(&pool.lock);
    pool.nstarting--;
    for (;;) {
        struct waiter *n = take();
        if (n) {
            struct job *j = n->data;
            pthread_mutex_unlock(&pool.lock);
            /* Claimed: the fiber stays parked, *j stays valid, until the
             * finish below (which releases what we write here). */
            j->result = j->fn(j->arg);
            n->token = 0;
            wt_stat_inc_shared(&wt_rt.shared_stats.offloads);
            wt_waiter_finish(n);
            pthread_mutex_lock(&pool.lock);
            continue;
        }
        if (pool.stopping || !idle_wait())
            break;
    }
    pool.nthreads--;
    self->next = pool.gone;
    pool.gone = self;
    struct pool_thread *reap = take_gone(self);
    signal_quit_if_empty();
    pthread_mutex_unlock(&pool.lock);
    join_all(reap);
    return NULL;
}

/* End every queued call with @code. Used when no thread is left to run
 * them. Caller holds pool.lock; finish @wl after dropping it. */
static void fail_queued(struct wake_list *wl, int code)
{
    struct waiter *n;
    while ((n = take())) {
        n->token = code;
        wt_wake_list_add(wl, n);
    }
}

/* Create the pool thread the caller reserved (nthreads, nstarting and
 * ncreating counted under the lock). If that fails and no thread is left,
 * the queued calls fail with -EAGAIN: nobody would run them. */
static void start_thread(void)
{
    int saved = errno;
    pthread_t tid;
    struct pool_thread *t = wt_calloc(1, sizeof *t);
    int r = t ? 0 : EAGAIN;
    if (t) {
        pthread_attr_t attr;
        r = pthread_attr_init(&attr);
        if (!r) {
            wt_offload_os_attr(&attr);
            r = wt_thread_create(&tid, &attr, pool_main, t);
            pthread_attr_destroy(&attr);
        }
    }
    struct wake_list wl = {0};
    pthread_mutex_lock(&pool.lock);
    pool.ncreating--;
    if (r) {
        pool.nthreads--;
        pool.nstarting--;
        if (pool.nthreads == 0)
            fail_queued(&wl, -EAGAIN);
    } else {
        t->tid = tid;
        t->known = true;
    }
    signal_quit_if_empty();
    pthread_mutex_unlock(&pool.lock);
    if (r)
        wt_free(t);
    wt_wake_list_finish(&wl);
    errno = saved;
}

/* A plain thread runs @fn itself. */
static int run_here(weft_fn fn, void *arg, void **result, int64_t deadline)
{
    if (wt_deadline_passed(deadline))
        return -ETIMEDOUT;
    void *res = fn(arg);
    if (result)
        *result = res;
    return 0;
}

int weft_offload_until(weft_fn fn, void *arg, void **result, int64_t deadline)
{
    if (!fn || !wt_deadline_ok(deadline))
        return -EINVAL;
    struct worker *w = wt_worker_self();
    if (!w || !w->current)
        return run_here(fn, arg, result, deadline);
    if (wt_deadline_passed(deadline))
        return -ETIMEDOUT;
    struct job j = {.fn = fn, .arg = arg};
    struct wait wt;
    int r = wt_wait_begin(&wt, w, WAITK_OFFLOAD, arg);
    if (r)
        return r;
    struct waiter n;
    wt_waiter_init(&n, &wt, &j, -ECANCELED);
    pthread_mutex_lock(&pool.lock);
    if (pool.stopping) {
        pthread_mutex_unlock(&pool.lock);
        wt_wait_lapse(&wt, &w);
        return -ECANCELED;
    }
    wt_wq_push(&pool.q, &n);
    pool.nqueued++;
    if (pool.nidle > 0)
        pthread_cond_signal(&pool.work);
    bool grow = pool.nqueued > pool.nidle + pool.nstarting && pool.nthreads < pool.max;
    if (grow) {
        pool.nthreads++;
        pool.nstarting++;
        pool.ncreating++;
    }
    pthread_mutex_unlock(&pool.lock);
    if (grow)
        start_thread(); /* no park in between: w is still ours */

    r = wt_wait_block(&wt, &w, deadline);
    if (r == 0) {
        /* Claimed by a pool thread (token 0: the job ran) or by a stop or
         * a failed start (token: the code). */
        if (n.token == 0 && result)
            *result = j.result;
        return n.token;
    }
    pthread_mutex_lock(&pool.lock);
    if (n.queued) {
        wt_wq_remove(&pool.q, &n);
        pool.nqueued--;
    }
    pthread_mutex_unlock(&pool.lock);
    return r;
}

int weft_offload(weft_fn fn, void *arg, void **result)
{
    return weft_offload_until(fn, arg, result, WEFT_FOREVER);
}

void wt_offload_stop(void)
{
    struct wake_list wl = {0};
    pthread_mutex_lock(&pool.lock);
    if (!pool.conds_ready) { /* never started */
        pthread_mutex_unlock(&pool.lock);
        return;
    }
    pool.stopping = true;
    fail_queued(&wl, -ECANCELED);
    pthread_cond_broadcast(&pool.work);
    pthread_mutex_unlock(&pool.lock);
    wt_wake_list_finish(&wl);

    pthread_mutex_lock(&pool.lock);
    while (pool.nthreads > 0 || pool.ncreating > 0) {
        int64_t until = wt_os_now() + STOP_SLICE_NS;
        struct timespec ts = {.tv_sec = until / 1000000000, .tv_nsec = until % 1000000000};
        if (pthread_cond_timedwait(&pool.quit, &pool.lock, &ts) == ETIMEDOUT) {
            pthread_mutex_unlock(&pool.lock);
            wt_wait_cancel_plain_all(); /* a job waiting on weft: it gets -ECANCELED */
            pthread_mutex_lock(&pool.lock);
        }
    }
    struct pool_thread *gone = take_gone(NULL);
    WT_ASSERT(!pool.gone && pool.nqueued == 0);
    pthread_mutex_unlock(&pool.lock);
    join_all(gone);
}
