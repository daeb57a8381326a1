/*
 * api_fuzz.c - a libFuzzer harness over sequences of weft's public calls:
 * every call must return one of the codes its header documents, and after
 * every input the runtime must be quiet again (no fiber live, no fd open
 * that was not open before, every channel freed, weft_shutdown() clean).
 *
 * The input is a program for a small interpreter. Its state is a table of a
 * few slots: fibers (handles, joinable, detached, joined), channels (live,
 * closed, freed; nil while unmade), fds (a pipe, a socketpair, a regular
 * file, /dev/null, and the numbers -1, INT_MAX, 1<<20 and a number checked
 * to be closed), one mutex, rmutex, semaphore and event, two callback timers
 * and a group. Each op is one byte (the op, modulo their number) followed
 * by the bytes of its arguments; a byte past the end of the input reads as
 * 0, and a program stops after MAX_OPS ops. Arguments are drawn from lists
 * of the interesting values: stack sizes 0, MIN-1, MIN, MIN+1, DEFAULT,
 * MAX, MAX+1, SIZE_MAX or a fuzzed one; element sizes 0..65535, 65536,
 * SIZE_MAX; capacities 0..WEFT_CHAN_CAP_MAX, 2^31, SIZE_MAX; fd numbers as
 * above; garbage handles (any 64 bits, a live one excepted).
 *
 * Deadlines are drawn from: 0, a past time, now + up to 1 ms, WEFT_FOREVER,
 * INT64_MAX (a valid deadline that never comes: weft_deadline_after()
 * saturates there), another negative, INT64_MIN. A call that could then
 * block without end is never made straight from the interpreter: it runs
 * in a "probe", a child fiber that the interpreter cancels a moment later
 * and joins, so every input ends in bounded time. Children spawned by the
 * program (they make one call each: a channel send or receive, a lock, a
 * wait, a read, a sleep...) may block for ever too: cleanup cancels them.
 * Nothing else blocks without a deadline: joins only of fibers that end on
 * their own or were cancelled, timer waits only of timers that fire soon,
 * group waits after a group cancel.
 *
 * The interpreter runs in two places in turn: in a root fiber, spawned and
 * joined by the calling (plain) thread, and on that plain thread itself;
 * the SWITCH op ends one stretch and starts the other, so every call is
 * made both from a fiber and from a plain thread.
 *
 * The oracle. Each call's result is classified (0, positive, or which
 * -Exxx) and must be in a mask built from its header's Return: line and
 * from what the interpreter knows: -EINVAL exactly when an argument is
 * out of range (with -EBADF also allowed when the handle is stale too),
 * -EBADF exactly for a freed channel or a closed or invalid fd, -ESRCH for
 * a joined or detached fiber, -ECANCELED only in a fiber that may be
 * cancelled, -ETIMEDOUT only with a finite deadline, -EPIPE for a send on a
 * closed channel, 0 at once for a wait on a set event, -ENOTSUP for a
 * regular file. Anything else prints the op, its arguments and the code
 * and abort()s, which libFuzzer records as a crash.
 *
 * After each input, cleanup (on the plain thread) cancels every fiber the
 * input spawned and the group, joins the joinable fibers, stops the
 * timers, waits (bounded: 2 s, else a failure) until weft_stats'
 * fibers_live is back to 0 - every fiber spawned in the input joined or
 * ended - then waits for and destroys the group, frees every channel (0,
 * or -EBADF for one already freed), closes the fds, and checks that the
 * number of entries in /proc/self/fd is what it was before the input.
 * With WEFT_FUZZ_RESTART set (replay_main.c sets it) each input also
 * starts its own runtime and weft_shutdown() must then return 0: nothing
 * abandoned, no channel left unfreed. Without it (the libFuzzer build)
 * one runtime of 2 workers lives across inputs: a restart costs about
 * 10 ms (worker threads, hwloc), which would cut the fuzzer's rate about
 * eightfold. ASan's LeakSanitizer looks for leaks (libFuzzer after inputs
 * that allocated more than they freed, the replay at exit).
 *
 * Rules the harness keeps so that only weft can fail: a sync object or the
 * group (caller memory) is re-made or destroyed only when no child can be
 * using it (channels are handles: freeing one under a child is fair game); children never join (a
 * join is not a cancellation point); a garbage handle has a generation no live handle has; an fd
 * the table has closed is replaced by a number checked to be closed (CLOSED_FD), never reused;
 * SIGPIPE is ignored, so a write to a pipe without reader gives -EPIPE.
 *
 * Kept out: allocations too big for a sanitizer's allocator (a channel
 * buffer is at most 4 MiB: bigger valid requests are shrunk, invalid ones
 * go through), fiber-local keys (never freed, WEFT_KEYS_MAX per process),
 * weft_init/weft_main arguments, signals and offload.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "weft.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
    MAX_OPS = 96,
    NFIB = 6,       /* fiber slots */
    NALL = 128,     /* fibers spawned by one input, at most */
    NCH = 4,        /* channel slots */
    NCHALL = 128,   /* channels made by one input, at most (> MAX_OPS + NCH) */
    NTIMER = 2,     /* timers */
    NJOB = 128,     /* children's job records */
    BUF = 65536,    /* I/O and element buffers */
    CLOSED_FD = 900 /* checked closed at start */
};

/* Result classes: what a call returned, as a bit of a mask. */
enum rc {
    R_ZERO,
    R_POS,
    R_EINVAL,
    R_EBADF,
    R_ESRCH,
    R_EDEADLK,
    R_EBUSY,
    R_ECANCELED,
    R_ENOMEM,
    R_ENAMETOOLONG,
    R_EAGAIN,
    R_EPERM,
    R_ETIMEDOUT,
    R_EPIPE,
    R_EALREADY,
    R_ENOTSUP,
    R_EOVERFLOW,
    R_ECHILD,
    R_ECONNRESET,
    R_EIO,
    R_OTHER
};
#define M(c) (1u << R_##c)

static const char *const rc_names[] = {
    "0",          "positive", "-EINVAL",       "-EBADF",  "-ESRCH",      "-EDEADLK",   "-EBUSY",
    "-ECANCELED", "-ENOMEM",  "-ENAMETOOLONG", "-EAGAIN", "-EPERM",      "-ETIMEDOUT", "-EPIPE",
    "-EALREADY",  "-ENOTSUP", "-EOVERFLOW",    "-ECHILD", "-ECONNRESET", "-EIO",       "other"};

static enum rc classify(long long r)
{
    if (r == 0)
        return R_ZERO;
    if (r > 0)
        return R_POS;
    switch (-r) {
    case EINVAL:
        return R_EINVAL;
    case EBADF:
        return R_EBADF;
    case ESRCH:
        return R_ESRCH;
    case EDEADLK:
        return R_EDEADLK;
    case EBUSY:
        return R_EBUSY;
    case ECANCELED:
        return R_ECANCELED;
    case ENOMEM:
        return R_ENOMEM;
    case ENAMETOOLONG:
        return R_ENAMETOOLONG;
    case EAGAIN:
        return R_EAGAIN;
    case EPERM:
        return R_EPERM;
    case ETIMEDOUT:
        return R_ETIMEDOUT;
    case EPIPE:
        return R_EPIPE;
    case EALREADY:
        return R_EALREADY;
    case ENOTSUP:
        return R_ENOTSUP;
    case EOVERFLOW:
        return R_EOVERFLOW;
    case ECHILD:
        return R_ECHILD;
    case ECONNRESET:
        return R_ECONNRESET;
    case EIO:
        return R_EIO;
    default:
        return R_OTHER;
    }
}

/* The calls that may run in a child or a probe: one blocking call each. */
enum kind {
    K_RETURN,     /* returns at once */
    K_YIELD,      /* yields a few times */
    K_SLEEP,      /* weft_sleep_until(deadline) */
    K_NIL_RECV,   /* weft_chan_recv_until on the nil channel */
    K_SEND,       /* weft_chan_send_until */
    K_RECV,       /* weft_chan_recv_until */
    K_SELECT,     /* weft_select over a send and a receive on one channel */
    K_MUTEX,      /* weft_mutex_lock_until, yield, unlock */
    K_RMUTEX,     /* weft_rmutex_lock_until, yield, unlock */
    K_SEM,        /* weft_sem_acquire_until */
    K_EVENT,      /* weft_event_wait_until */
    K_READ,       /* weft_read_until */
    K_WRITE,      /* weft_write_until */
    K_WAIT_FD,    /* weft_wait_fd */
    K_GROUP_WAIT, /* weft_group_wait_until */
    NKIND
};

static const char *const kind_names[] = {
    "return",           "yield",      "sleep_until",      "nil_recv",          "chan_send_until",
    "chan_recv_until",  "select",     "mutex_lock_until", "rmutex_lock_until", "sem_acquire_until",
    "event_wait_until", "read_until", "write_until",      "wait_fd",           "group_wait_until"};

/* fd kinds, for the oracle. */
enum fdk { FD_PIPE_R, FD_PIPE_W, FD_SOCK, FD_REG, FD_NULLDEV, FD_BAD };

/* One call with its arguments, made inline or by a child. */
struct call {
    enum kind kind;
    int64_t deadline;
    bool bad_deadline; /* negative, not WEFT_FOREVER */
    bool unbounded;    /* WEFT_FOREVER or INT64_MAX */
    weft_chan ch;      /* K_SEND, K_RECV, K_SELECT */
    size_t elem_size;  /* of ch, when it was live */
    bool ch_live;      /* ch was live when the call was decoded */
    bool ch_closed;    /* ... and closed */
    int fd;            /* K_READ, K_WRITE, K_WAIT_FD */
    enum fdk fdk;
    size_t count;    /* K_READ, K_WRITE */
    unsigned events; /* K_WAIT_FD */
    int n;           /* K_YIELD */
};

/* A fiber slot's state. */
enum fst { F_EMPTY, F_JOINABLE, F_DETACHED, F_DONE };

struct fslot {
    weft_fiber h;
    enum fst st;
    bool ends; /* ends without a cancel */
};

enum cst { C_NIL, C_LIVE, C_CLOSED, C_FREED };

struct cslot {
    weft_chan h;
    enum cst st;
    size_t elem_size;
};

enum tst { T_IDLE, T_STARTED };

struct fz;

struct job {
    struct fz *z;
    struct call c;
};

/* The interpreter's state for one input. */
struct fz {
    const uint8_t *p;
    size_t n, pos;
    int ops;
    weft_fiber root; /* the running root fiber, or zero */
    bool root_cancelled;
    struct fslot fib[NFIB];
    weft_fiber all[NALL]; /* every fiber spawned, for cleanup */
    bool all_joinable[NALL];
    int nall;
    struct cslot ch[NCH];
    weft_chan allch[NCHALL];
    int nallch;
    int fd[5]; /* pipe r, pipe w, sock a, sock b, regular */
    int nulldev;
    weft_mutex mu;
    weft_rmutex rm;
    weft_sem sem;
    weft_event ev;
    bool ev_set;
    weft_timer tm[NTIMER];
    enum tst tst[NTIMER];
    bool tm_soon[NTIMER];
    weft_group g;
    bool g_destroyed;
    struct job jobs[NJOB];
    int njob;
    atomic_int kind_live[NKIND]; /* children of each kind not yet ended */
    atomic_int timer_fired;
    unsigned char rbuf[BUF]; /* the interpreter's receive buffer */
};

/* Who makes a call: the interpreter (root fiber or plain thread) or a child. */
struct ex {
    struct fz *z;
    bool fiber;
    bool child;
    unsigned char *rbuf;
    const char *op;
    long long a[4];
};

static const unsigned char src[BUF]; /* what is sent and written: zeros */
static bool restart;                 /* WEFT_FUZZ_RESTART: a fresh runtime per input */
static bool started;

static void fail(struct ex *x, const char *what, long long r, unsigned mask, int line)
{
    fprintf(stderr, "api_fuzz: line %d: %s (op %s, args %lld %lld %lld %lld, %s) returned %lld",
            line, what, x->op ? x->op : "?", x->a[0], x->a[1], x->a[2], x->a[3],
            x->child   ? "child fiber"
            : x->fiber ? "root fiber"
                       : "plain thread",
            r);
    fprintf(stderr, " (%s); allowed:", rc_names[classify(r)]);
    for (int i = 0; i <= R_OTHER; i++)
        if (mask & (1u << i))
            fprintf(stderr, " %s", rc_names[i]);
    fprintf(stderr, "\n");
    abort();
}

/* The check: @expr's result must be in @mask, else report and abort(). */
static long long check_rc(struct ex *x, long long r, unsigned mask, const char *what, int line)
{
    if (!(mask & (1u << classify(r))))
        fail(x, what, r, mask, line);
    return r;
}
#define CHECK(x, mask, expr) check_rc((x), (long long)(expr), (mask), #expr, __LINE__)

/* An invariant of the harness's own: abort with @msg if @cond is false. */
#define INVARIANT(cond, ...)                                      \
    do {                                                          \
        if (!(cond)) {                                            \
            fprintf(stderr, "api_fuzz: invariant: " __VA_ARGS__); \
            fprintf(stderr, "\n");                                \
            abort();                                              \
        }                                                         \
    } while (0)

/* Input decoding: past the end, everything reads as 0. */
static uint8_t u8(struct fz *z)
{
    return z->pos < z->n ? z->p[z->pos++] : 0;
}

static uint16_t u16(struct fz *z)
{
    return (uint16_t)(u8(z) | u8(z) << 8);
}

static uint32_t u32(struct fz *z)
{
    return (uint32_t)u16(z) | (uint32_t)u16(z) << 16;
}

static uint64_t u64(struct fz *z)
{
    return (uint64_t)u32(z) | (uint64_t)u32(z) << 32;
}

static void set_op(struct ex *x, const char *op, long long a0, long long a1, long long a2,
                   long long a3)
{
    x->op = op;
    x->a[0] = a0;
    x->a[1] = a1;
    x->a[2] = a2;
    x->a[3] = a3;
}

/* A deadline, and what kind of one it is. */
static int64_t deadline(struct fz *z, bool *bad, bool *unbounded)
{
    uint8_t b = u8(z), v = u8(z);
    int64_t now = weft_now();
    *bad = false;
    *unbounded = false;
    switch (b % 8) {
    case 0:
        return 0;
    case 1:
        return now > (int64_t)v * 1000 ? now - (int64_t)v * 1000 : 1;
    case 2:
        return now + (int64_t)v * 4000; /* up to about 1 ms */
    case 3:
        *unbounded = true;
        return WEFT_FOREVER;
    case 4:
        *unbounded = true;
        return INT64_MAX;
    case 5:
        *bad = true;
        return -2 - (int64_t)v;
    case 6:
        *bad = true;
        return INT64_MIN;
    default:
        return now + (int64_t)v * 1000;
    }
}

static bool is_live_fiber_id(struct fz *z, uint64_t id)
{
    if (id == 0)
        return false;
    if (id == z->root.id)
        return true;
    for (int i = 0; i < z->nall; i++)
        if (z->all[i].id == id)
            return true;
    return false;
}

/* A fd, by selector; its kind for the oracle. */
static int pick_fd(struct fz *z, uint8_t s, enum fdk *k)
{
    static const enum fdk kinds[] = {FD_PIPE_R, FD_PIPE_W, FD_SOCK, FD_SOCK, FD_REG};
    s %= 9;
    if (s < 5) {
        *k = z->fd[s] >= 0 ? kinds[s] : FD_BAD;
        return z->fd[s] >= 0 ? z->fd[s] : CLOSED_FD;
    }
    *k = FD_BAD;
    switch (s) {
    case 5:
        return -1;
    case 6:
        return INT_MAX;
    case 7:
        return 1 << 20;
    default:
        if (z->nulldev >= 0)
            *k = FD_NULLDEV;
        return z->nulldev >= 0 ? z->nulldev : CLOSED_FD;
    }
}

/* The mask for a blocking call's common codes, given who calls. */
static unsigned blocking_mask(const struct ex *x, const struct call *c)
{
    unsigned m = 0;
    if (x->child || (x->fiber && x->z->root_cancelled))
        m |= M(ECANCELED);
    if (!c->unbounded)
        m |= M(ETIMEDOUT);
    return m;
}

/* What a group member may return (task() below), as weft_group_wait reports it. */
#define GROUP_CODES (M(EIO) | M(ECANCELED) | M(ENOMEM))

/* Make call @c from @x and check its result. */
static void perform(struct ex *x, const struct call *c)
{
    struct fz *z = x->z;
    unsigned bm = blocking_mask(x, c);
    bool dead = c->bad_deadline;
    set_op(x, kind_names[c->kind], (long long)c->deadline, (long long)c->ch.id, c->fd,
           (long long)c->count);
    switch (c->kind) {
    case K_RETURN:
        break;
    case K_YIELD:
        for (int i = 0; i < c->n; i++)
            CHECK(x, M(ZERO), weft_yield());
        break;
    case K_SLEEP:
        CHECK(x, c->deadline < 0 ? M(EINVAL) : M(ZERO) | (bm & M(ECANCELED)),
              weft_sleep_until(c->deadline));
        break;
    case K_NIL_RECV:
        CHECK(x, dead ? M(EINVAL) : (bm | (c->deadline == 0 ? M(ETIMEDOUT) : 0)),
              weft_chan_recv_until((weft_chan){0}, NULL, c->deadline));
        break;
    case K_SEND:
    case K_RECV: {
        unsigned m;
        if (x->child) /* the interpreter may close or free it meanwhile */
            m = M(ZERO) | M(EPIPE) | M(EBADF) | bm;
        else if (c->ch.id == 0) /* nil: waits for the deadline */
            m = bm & ~M(ZERO);
        else if (!c->ch_live)
            m = M(EBADF);
        else if (c->ch_closed)
            m = c->kind == K_SEND ? M(EPIPE) : M(ZERO) | M(EPIPE);
        else
            m = M(ZERO) | bm;
        if (dead)
            m = M(EINVAL) | (c->ch_live || c->ch.id == 0 ? 0 : M(EBADF)) |
                (x->child ? M(EBADF) : 0);
        unsigned char *buf = x->rbuf;
        if (c->kind == K_SEND)
            CHECK(x, m, weft_chan_send_until(c->ch, src, c->deadline));
        else
            CHECK(x, m, weft_chan_recv_until(c->ch, buf, c->deadline));
        break;
    }
    case K_SELECT: {
        weft_select_case cs[2] = {
            {.ch = c->ch, .op = WEFT_SELECT_SEND, .elem = (void *)src, .result = 7},
            {.ch = c->ch, .op = WEFT_SELECT_RECV, .elem = x->rbuf, .result = 7},
        };
        unsigned m = dead ? M(EINVAL) | M(EBADF)
                          : M(ZERO) | M(POS) | M(EBADF) | bm |
                                (c->deadline == 0 ? M(EAGAIN) | M(ETIMEDOUT) : 0);
        long long r = CHECK(x, m, weft_select(cs, 2, c->deadline));
        if (r >= 0) {
            INVARIANT(cs[r].result == 0 || cs[r].result == -EPIPE, "select case %lld result %d", r,
                      cs[r].result);
            INVARIANT(cs[1 - r].result == 7, "select: the other case's result was touched");
        }
        break;
    }
    case K_MUTEX:
        if (CHECK(x, dead ? M(EINVAL) : M(ZERO) | bm, weft_mutex_lock_until(&z->mu, c->deadline)) ==
            0) {
            weft_yield();
            /* Unowned: the interpreter may have unlocked it meanwhile. */
            CHECK(x, M(ZERO) | M(EPERM), weft_mutex_unlock(&z->mu));
        }
        break;
    case K_RMUTEX:
        if (CHECK(x, dead ? M(EINVAL) : M(ZERO) | M(EOVERFLOW) | bm,
                  weft_rmutex_lock_until(&z->rm, c->deadline)) == 0) {
            weft_yield();
            CHECK(x, M(ZERO), weft_rmutex_unlock(&z->rm)); /* we own it */
        }
        break;
    case K_SEM:
        CHECK(x, dead ? M(EINVAL) : M(ZERO) | bm, weft_sem_acquire_until(&z->sem, c->deadline));
        break;
    case K_EVENT: {
        unsigned m = dead ? M(EINVAL) : M(ZERO) | bm;
        if (!x->child && z->ev_set && !dead) /* set: returns at once */
            m = M(ZERO);
        CHECK(x, m, weft_event_wait_until(&z->ev, c->deadline));
        break;
    }
    case K_READ:
    case K_WRITE:
    case K_WAIT_FD: {
        unsigned m;
        enum fdk k = c->fdk;
        bool ev_bad = c->kind == K_WAIT_FD && (c->events == 0 || (c->events & ~3u));
        if (x->child) /* the fd may be closed and its number reused meanwhile */
            m = M(ZERO) | M(POS) | M(EBADF) | M(ENOTSUP) | M(EPIPE) | M(ECONNRESET) | bm;
        else if (k == FD_BAD)
            m = M(EBADF);
        else if (k == FD_REG)
            m = M(ENOTSUP);
        else if (k == FD_NULLDEV)
            m = M(ENOTSUP) | (x->fiber ? 0 : M(ZERO) | M(POS));
        else if (c->kind == K_WAIT_FD)
            m = M(POS) | bm;
        else if (c->kind == K_READ)
            m = k == FD_PIPE_W ? M(EBADF) | M(ZERO) /* count 0 */
                               : M(ZERO) | M(POS) | bm | (k == FD_SOCK ? M(ECONNRESET) : 0);
        else
            m = k == FD_PIPE_R
                    ? M(EBADF) | M(ZERO)
                    : M(ZERO) | M(POS) | M(EPIPE) | bm | (k == FD_SOCK ? M(ECONNRESET) : 0);
        if (c->kind != K_WAIT_FD && c->count > 0)
            m &= ~M(ZERO) | (c->kind == K_READ ? M(ZERO) : 0); /* a write of > 0 writes > 0 */
        if (dead || ev_bad)
            m = M(EINVAL) | M(EBADF) | M(ENOTSUP);
        if (c->kind == K_READ)
            CHECK(x, m, weft_read_until(c->fd, x->rbuf, c->count, c->deadline));
        else if (c->kind == K_WRITE)
            CHECK(x, m, weft_write_until(c->fd, src, c->count, c->deadline));
        else {
            long long r = CHECK(x, m, weft_wait_fd(c->fd, c->events, c->deadline));
            INVARIANT(r <= 0 || (r & ~(long long)c->events) == 0,
                      "wait_fd returned %lld for events %u", r, c->events);
        }
        break;
    }
    case K_GROUP_WAIT:
        /* A member's own code may come back too: tasks return 0 or -EIO. */
        CHECK(x, dead ? M(EINVAL) : M(ZERO) | GROUP_CODES | bm,
              weft_group_wait_until(&z->g, c->deadline));
        break;
    default:
        abort();
    }
}

static void *child_main(void *arg)
{
    struct job *j = arg;
    struct ex x = {.z = j->z, .fiber = true, .child = true};
    bool recv = j->c.kind == K_RECV || j->c.kind == K_SELECT || j->c.kind == K_READ;
    if (recv && !(x.rbuf = malloc(BUF))) /* a stack may be smaller than BUF */
        return NULL;
    perform(&x, &j->c);
    free(x.rbuf);
    atomic_fetch_sub_explicit(&j->z->kind_live[j->c.kind], 1, memory_order_release);
    return arg;
}

/* Remember @h for cleanup. */
static void track(struct fz *z, weft_fiber h, bool joinable)
{
    INVARIANT(z->nall < NALL, "too many fibers");
    z->all[z->nall] = h;
    z->all_joinable[z->nall++] = joinable;
}

static void forget(struct fz *z, weft_fiber h)
{
    for (int i = 0; i < z->nall; i++)
        if (z->all[i].id == h.id)
            z->all_joinable[i] = false;
}

/* Decode a child's call (the kind from @b). */
static void decode_call(struct fz *z, struct call *c, uint8_t b)
{
    memset(c, 0, sizeof *c);
    c->kind = (enum kind)(b % NKIND);
    c->deadline = deadline(z, &c->bad_deadline, &c->unbounded);
    uint8_t s = u8(z);
    struct cslot *cs = &z->ch[s % NCH];
    c->ch = cs->h;
    c->ch_live = cs->st == C_LIVE || cs->st == C_CLOSED;
    c->ch_closed = cs->st == C_CLOSED;
    c->elem_size = cs->elem_size;
    c->fd = pick_fd(z, s >> 4, &c->fdk);
    static const size_t counts[] = {0, 1, 16, 4096, BUF};
    c->count = counts[u8(z) % 5];
    c->events = (unsigned)(s >> 2) % 6;
    c->n = s % 5;
    if (c->kind == K_GROUP_WAIT && z->g_destroyed)
        c->kind = K_YIELD; /* a destroyed group must not be waited on */
    if (c->kind == K_SLEEP && c->deadline == WEFT_FOREVER)
        c->bad_deadline = true; /* sleep_until refuses every negative */
}

/* Does a child making @c end without a cancel? */
static bool ends(const struct call *c)
{
    return c->kind == K_RETURN || c->kind == K_YIELD || c->bad_deadline || !c->unbounded;
}

/* Spawn a child making @c; 0 or the spawn's code. */
static int spawn_child(struct ex *x, const struct call *c, weft_fiber *out,
                       const weft_fiber_attr *attr, unsigned mask)
{
    struct fz *z = x->z;
    if (z->njob == NJOB)
        return -EAGAIN;
    struct job *j = &z->jobs[z->njob];
    j->z = z;
    j->c = *c;
    atomic_fetch_add_explicit(&z->kind_live[c->kind], 1, memory_order_relaxed);
    int r = (int)CHECK(x, mask, weft_spawn(out, child_main, j, attr));
    if (r != 0) {
        atomic_fetch_sub_explicit(&z->kind_live[c->kind], 1, memory_order_relaxed);
        return r;
    }
    z->njob++;
    return 0;
}

/* Make @c in a child fiber that is cancelled a moment later, then joined. */
static void probe(struct ex *x, const struct call *c)
{
    struct fz *z = x->z;
    weft_fiber h;
    if (spawn_child(x, c, &h, NULL, M(ZERO) | M(ENOMEM)) != 0)
        return;
    track(z, h, true);
    uint8_t w = u8(z);
    set_op(x, "probe", c->kind, (long long)h.id, w, 0);
    if (w & 1)
        CHECK(x, M(ZERO) | (z->root_cancelled && x->fiber ? M(ECANCELED) : 0),
              weft_sleep_until(weft_now() + (w >> 1) * 2000));
    else
        for (int i = 0; i < (w >> 1) % 4; i++)
            weft_yield();
    CHECK(x, M(ZERO), weft_cancel(h));
    void *res = NULL;
    CHECK(x, M(ZERO) | M(ENOMEM), weft_join(h, &res));
    forget(z, h);
}

/* Make @c here, or in a probe if it could block without end. */
static void call_here(struct ex *x, const struct call *c)
{
    if (c->unbounded && !c->bad_deadline && c->kind != K_RETURN && c->kind != K_YIELD)
        probe(x, c);
    else
        perform(x, c);
}

static void *root_main(void *arg);

static const size_t stack_sizes[] = {
    0,
    WEFT_STACK_MIN - 1,
    WEFT_STACK_MIN,
    WEFT_STACK_MIN + 1,
    WEFT_STACK_DEFAULT,
    WEFT_STACK_MAX,
    WEFT_STACK_MAX + 1,
    SIZE_MAX,
    1,
};

static void op_spawn(struct ex *x)
{
    struct fz *z = x->z;
    uint8_t slot = u8(z) % NFIB, a = u8(z), b = u8(z);
    struct call c;
    decode_call(z, &c, b);
    weft_fiber_attr attr = {0};
    size_t ss = a % 10 < 9 ? stack_sizes[a % 10] : (size_t)u32(z);
    attr.stack_size = ss;
    attr.detached = (a >> 4) & 1;
    char name[48];
    unsigned nl = 0;
    switch ((a >> 5) % 4) {
    case 0:
        attr.name = NULL;
        break;
    case 1:
        nl = WEFT_NAME_MAX - 1;
        break;
    case 2:
        nl = WEFT_NAME_MAX;
        break;
    default:
        nl = u8(z) % 40;
        break;
    }
    if ((a >> 5) % 4) {
        for (unsigned i = 0; i < nl; i++)
            name[i] = (char)('a' + i % 26);
        name[nl] = 0;
        attr.name = name;
    }
    bool null_out = attr.detached && (b & 0x80);
    bool bad = (ss != 0 && (ss < WEFT_STACK_MIN || ss > WEFT_STACK_MAX));
    bool longname = attr.name && strlen(attr.name) >= WEFT_NAME_MAX;
    unsigned m = bad        ? M(EINVAL) | (longname ? M(ENAMETOOLONG) : 0)
                 : longname ? M(ENAMETOOLONG)
                            : M(ZERO) | M(ENOMEM);
    set_op(x, "spawn", (long long)ss, attr.detached, nl, c.kind);
    if (b & 0x40 && !null_out) { /* misuse: NULL fn, or NULL out for a joinable */
        weft_fiber h = {0};
        unsigned mm = M(EINVAL) | (longname ? M(ENAMETOOLONG) : 0);
        CHECK(x, mm, weft_spawn(&h, NULL, NULL, &attr));
        INVARIANT(h.id == 0, "spawn: out touched after an error");
        if (!attr.detached)
            CHECK(x, mm, weft_spawn(NULL, child_main, NULL, &attr));
        return;
    }
    if (null_out && !ends(&c))
        c.kind = K_YIELD; /* nothing could cancel it */
    struct fslot *f = &z->fib[slot];
    weft_fiber h = {0};
    if (spawn_child(x, &c, null_out ? NULL : &h, &attr, m) != 0)
        return;
    if (null_out) {
        /* A detached fiber without a handle: only fibers_live sees it end. */
        return;
    }
    track(z, h, !attr.detached);
    /* The slot's previous fiber stays in z->all for cleanup. */
    f->h = h;
    f->st = attr.detached ? F_DETACHED : F_JOINABLE;
    f->ends = ends(&c);
}

static void op_fiber(struct ex *x, uint8_t sub)
{
    struct fz *z = x->z;
    uint8_t s = u8(z);
    struct fslot *f = &z->fib[s % NFIB];
    set_op(x, "fiber", sub, (long long)f->h.id, f->st, 0);
    switch (sub % 6) {
    case 0: /* join */ {
        unsigned m = f->st == F_EMPTY      ? M(EBADF)
                     : f->st == F_JOINABLE ? M(ZERO) | M(ENOMEM)
                                           : M(ESRCH);
        if (f->st == F_JOINABLE && !f->ends)
            CHECK(x, M(ZERO), weft_cancel(f->h));
        void *res = (void *)1;
        long long r = CHECK(x, m, weft_join(f->h, &res));
        if (r == 0) {
            INVARIANT(res != NULL, "join: the child's result was lost");
            f->st = F_DONE;
            forget(z, f->h);
        }
        break;
    }
    case 1: /* detach */ {
        unsigned m = f->st == F_EMPTY ? M(EBADF) : f->st == F_JOINABLE ? M(ZERO) : M(ESRCH);
        if (CHECK(x, m, weft_detach(f->h)) == 0) {
            f->st = F_DETACHED;
            forget(z, f->h);
        }
        break;
    }
    case 2: /* cancel: a detached one may have ended and been reaped */ {
        unsigned m = f->st == F_EMPTY      ? M(EBADF)
                     : f->st == F_JOINABLE ? M(ZERO)
                                           : M(ZERO) | M(ESRCH);
        if (CHECK(x, m, weft_cancel(f->h)) == 0)
            f->ends = true;
        break;
    }
    case 3: /* garbage handles */ {
        /* A generation no handle has yet (or 0): a garbage handle must
         * never name a live fiber, the runtime's own (timers, groups) included. */
        uint64_t id = u64(z);
        id = (s & 2) ? id & 0xffffffffu : id | (uint64_t)0xc0000000u << 32;
        INVARIANT(!is_live_fiber_id(z, id), "garbage %llx is live", (unsigned long long)id);
        weft_fiber g = {id};
        set_op(x, "garbage fiber", (long long)id, 0, 0, 0);
        CHECK(x, M(EBADF) | M(ESRCH), weft_join(g, NULL));
        CHECK(x, M(EBADF) | M(ESRCH), weft_detach(g));
        CHECK(x, M(EBADF) | M(ESRCH) | M(ZERO), weft_cancel(g));
        break;
    }
    case 4: /* self */ {
        weft_fiber me = weft_self();
        INVARIANT(x->fiber ? me.id == z->root.id : me.id == 0, "weft_self");
        CHECK(x, x->fiber ? M(EDEADLK) : M(EBADF), weft_join(me, NULL));
        if (s & 1) {
            CHECK(x, x->fiber ? M(ZERO) : M(EBADF), weft_cancel(me));
            if (x->fiber)
                z->root_cancelled = true;
        }
        INVARIANT(weft_cancelled() == (x->fiber && z->root_cancelled), "weft_cancelled");
        break;
    }
    default: /* odds and ends */ {
        int64_t ns = (int64_t)u64(z);
        int err = (int)u32(z);
        set_op(x, "misc", ns, err, 0, 0);
        int nw = weft_workers();
        INVARIANT(nw == 2, "weft_workers %d", nw);
        int wi = weft_worker_index();
        INVARIANT(x->fiber ? wi >= 0 && wi < 2 : wi == -EPERM, "weft_worker_index %d", wi);
        int64_t d = weft_deadline_after(ns);
        INVARIANT(ns < 0 ? d == WEFT_FOREVER : d >= ns, "deadline_after(%lld) = %lld",
                  (long long)ns, (long long)d);
        INVARIANT(weft_strerror(err) != NULL, "strerror");
        CHECK(x, ns < 0 ? M(EINVAL) : M(ZERO) | (x->fiber && z->root_cancelled ? M(ECANCELED) : 0),
              weft_sleep(ns < 0 ? ns : ns % 2000));
        CHECK(x, M(ZERO), weft_yield());
        break;
    }
    }
}

/* Where a freed channel's handle goes when its slot is reused. */
static void chan_remember(struct fz *z, weft_chan h)
{
    INVARIANT(z->nallch < NCHALL, "too many channels");
    z->allch[z->nallch++] = h;
}

static const size_t elem_sizes[] = {
    0, 1, 4, 8, 64, WEFT_CHAN_ELEM_MAX, WEFT_CHAN_ELEM_MAX + 1, SIZE_MAX};
static const size_t caps[] = {0, 1, 2, 16, WEFT_CHAN_CAP_MAX, WEFT_CHAN_CAP_MAX + 1, SIZE_MAX, 3};

static void op_chan(struct ex *x, uint8_t sub)
{
    struct fz *z = x->z;
    uint8_t s = u8(z);
    struct cslot *cs = &z->ch[s % NCH];
    bool live = cs->st == C_LIVE || cs->st == C_CLOSED;
    set_op(x, "chan", sub, (long long)cs->h.id, cs->st, s);
    switch (sub % 9) {
    case 0: /* make */ {
        uint8_t a = u8(z);
        size_t es = elem_sizes[a % 8], cap = caps[(a >> 3) % 8];
        bool bad = es > WEFT_CHAN_ELEM_MAX || cap > WEFT_CHAN_CAP_MAX;
        /* Keep the buffer within what a sanitizer's allocator will give. */
        if (!bad && es && cap > (4u << 20) / es)
            cap = (4u << 20) / es;
        set_op(x, "chan_make", (long long)es, (long long)cap, 0, 0);
        if (a & 0x40) {
            CHECK(x, M(EINVAL), weft_chan_make(NULL, es, cap));
            return;
        }
        weft_chan h = {0};
        if (CHECK(x, bad ? M(EINVAL) : M(ZERO) | M(ENOMEM), weft_chan_make(&h, es, cap)) != 0) {
            INVARIANT(h.id == 0, "chan_make: out touched after an error");
            return;
        }
        INVARIANT(h.id != 0, "chan_make: zero handle");
        if (cs->st != C_NIL)
            chan_remember(z, cs->h);
        cs->h = h;
        cs->st = C_LIVE;
        cs->elem_size = es;
        CHECK(x, M(ZERO), weft_chan_len(h));
        INVARIANT(weft_chan_cap(h) == (int)cap, "chan_cap");
        break;
    }
    case 1: /* free */ {
        unsigned m = live ? M(ZERO) | M(EBUSY) : M(EBADF);
        if (CHECK(x, m, weft_chan_free(cs->h)) == 0)
            cs->st = C_FREED;
        break;
    }
    case 2: /* close */ {
        unsigned m = cs->st == C_LIVE ? M(ZERO) : cs->st == C_CLOSED ? M(EALREADY) : M(EBADF);
        if (CHECK(x, m, weft_chan_close(cs->h)) == 0)
            cs->st = C_CLOSED;
        break;
    }
    case 3: /* try_send */ {
        unsigned m = !live                ? (cs->st == C_NIL ? M(EAGAIN) : M(EBADF))
                     : cs->st == C_CLOSED ? M(EPIPE)
                                          : M(ZERO) | M(EAGAIN);
        bool null_elem = (s & 0x80) && live && cs->elem_size;
        if (null_elem)
            m = M(EINVAL) | (cs->st == C_CLOSED ? M(EPIPE) : 0);
        CHECK(x, m, weft_chan_try_send(cs->h, null_elem ? NULL : src));
        break;
    }
    case 4: /* try_recv */ {
        unsigned m = !live                ? (cs->st == C_NIL ? M(EAGAIN) : M(EBADF))
                     : cs->st == C_CLOSED ? M(ZERO) | M(EPIPE)
                                          : M(ZERO) | M(EAGAIN);
        bool null_elem = (s & 0x80) && live && cs->elem_size;
        if (null_elem)
            m = M(EINVAL) | (cs->st == C_CLOSED ? M(EPIPE) : 0);
        CHECK(x, m, weft_chan_try_recv(cs->h, null_elem ? NULL : z->rbuf));
        break;
    }
    case 5: /* len, cap */ {
        long long l = CHECK(x, live ? M(ZERO) | M(POS) : M(EBADF), weft_chan_len(cs->h));
        long long c = CHECK(x, live ? M(ZERO) | M(POS) : M(EBADF), weft_chan_cap(cs->h));
        INVARIANT(!live || l <= c || c == 0, "chan_len %lld > cap %lld", l, c);
        break;
    }
    case 6:   /* send_until */
    case 7: { /* recv_until */
        struct call c;
        decode_call(z, &c, sub % 9 == 6 ? K_SEND : K_RECV);
        c.ch = cs->h;
        c.ch_live = live;
        c.ch_closed = cs->st == C_CLOSED;
        c.elem_size = cs->elem_size;
        call_here(x, &c);
        break;
    }
    default: /* select over up to 4 cases */ {
        uint8_t a = u8(z);
        weft_select_case cases[4];
        size_t n = a % 5;
        bool bad = false, stale = false;
        for (size_t i = 0; i < n; i++) {
            uint8_t b = u8(z);
            struct cslot *ci = &z->ch[b % NCH];
            cases[i].ch = ci->h;
            cases[i].op = (b >> 2) % 5 == 4 ? 3
                          : (b >> 2) % 2    ? WEFT_SELECT_RECV
                                            : WEFT_SELECT_SEND;
            cases[i].elem = cases[i].op == WEFT_SELECT_SEND ? (void *)src : z->rbuf;
            if ((b & 0x80) && ci->elem_size) {
                cases[i].elem = NULL;
                bad |= ci->st == C_LIVE || ci->st == C_CLOSED;
            }
            cases[i].result = 7;
            bad |= cases[i].op == 3;
            stale |= ci->st == C_FREED;
        }
        bool bd, unb;
        int64_t dl = deadline(z, &bd, &unb);
        size_t nn = n;
        weft_select_case *cp = cases;
        if (a & 0x80) { /* misuse: NULL cases, or too many */
            if (a & 0x40) {
                cp = NULL;
                nn = n ? n : 1;
            } else {
                nn = (a & 0x20) ? SIZE_MAX : WEFT_SELECT_MAX + 1;
            }
            bad = true;
        }
        set_op(x, "select", (long long)nn, dl, bad, stale);
        if (unb && !bd && !bad && !stale) {
            /* Could wait for ever: a probe's receive stands in (see perform). */
            struct call c;
            decode_call(z, &c, K_SELECT);
            c.deadline = dl;
            c.unbounded = true;
            c.bad_deadline = false;
            probe(x, &c);
            break;
        }
        unsigned m;
        if (bad || bd)
            m = M(EINVAL) | (stale ? M(EBADF) : 0);
        else if (stale)
            m = M(EBADF);
        else
            m = M(ZERO) | M(POS) | (dl == 0 ? M(EAGAIN) : M(ETIMEDOUT)) |
                (x->fiber && z->root_cancelled ? M(ECANCELED) : 0);
        long long r = CHECK(x, m, weft_select(cp, nn, dl));
        if (r >= 0) {
            INVARIANT((size_t)r < n, "select returned %lld of %zu", r, n);
            INVARIANT(cases[r].result == 0 || cases[r].result == -EPIPE, "select result %d",
                      cases[r].result);
            for (size_t i = 0; i < n; i++)
                INVARIANT(i == (size_t)r || cases[i].result == 7, "select touched case %zu", i);
        }
        break;
    }
    }
}

static void op_sync(struct ex *x, uint8_t sub)
{
    struct fz *z = x->z;
    uint8_t s = u8(z);
    bool nul = (s & 0xc0) == 0xc0; /* the NULL-object forms */
    set_op(x, "sync", sub, s, 0, 0);
    struct call c;
    switch (sub % 16) {
    case 0:
        CHECK(x, nul ? M(EINVAL) : M(ZERO) | M(EAGAIN), weft_mutex_trylock(nul ? NULL : &z->mu));
        break;
    case 1:
        CHECK(x, nul ? M(EINVAL) : M(ZERO) | M(EPERM), weft_mutex_unlock(nul ? NULL : &z->mu));
        break;
    case 2:
        decode_call(z, &c, K_MUTEX);
        call_here(x, &c);
        break;
    case 3:
        CHECK(x, nul ? M(EINVAL) : M(ZERO) | M(EBUSY), weft_mutex_destroy(nul ? NULL : &z->mu));
        if (!nul && atomic_load(&z->kind_live[K_MUTEX]) == 0 && (s & 1))
            CHECK(x, M(ZERO), weft_mutex_init(&z->mu)); /* nobody uses it */
        break;
    case 4:
        CHECK(x, nul ? M(EINVAL) : M(ZERO) | M(EAGAIN) | M(EOVERFLOW),
              weft_rmutex_trylock(nul ? NULL : &z->rm));
        break;
    case 5:
        CHECK(x, nul ? M(EINVAL) : M(ZERO) | M(EPERM), weft_rmutex_unlock(nul ? NULL : &z->rm));
        break;
    case 6:
        decode_call(z, &c, K_RMUTEX);
        call_here(x, &c);
        break;
    case 7:
        CHECK(x, nul ? M(EINVAL) : M(ZERO) | M(EBUSY), weft_rmutex_destroy(nul ? NULL : &z->rm));
        break;
    case 8: { /* sem init: valid only while no child uses it */
        int cnt = (int)u32(z), max = (int)u32(z);
        bool bounded = s & 1;
        bool bad = nul || cnt < 0 || (bounded ? (max < 1 || cnt > max) : false);
        set_op(x, "sem_init", cnt, max, bounded, 0);
        if (!bad && atomic_load(&z->kind_live[K_SEM]) != 0)
            break;
        if (bounded)
            CHECK(x, bad ? M(EINVAL) : M(ZERO),
                  weft_sem_init_bounded(nul ? NULL : &z->sem, cnt, max));
        else
            CHECK(x, bad ? M(EINVAL) : M(ZERO), weft_sem_init(nul ? NULL : &z->sem, cnt));
        break;
    }
    case 9:
        CHECK(x, nul ? M(EINVAL) : M(ZERO) | M(EAGAIN), weft_sem_try_acquire(nul ? NULL : &z->sem));
        break;
    case 10:
        decode_call(z, &c, K_SEM);
        call_here(x, &c);
        break;
    case 11:
        CHECK(x, nul ? M(EINVAL) : M(ZERO) | M(EOVERFLOW), weft_sem_release(nul ? NULL : &z->sem));
        CHECK(x, M(ZERO) | M(POS), weft_sem_value(&z->sem));
        CHECK(x, M(ZERO) | M(EBUSY), weft_sem_destroy(&z->sem));
        break;
    case 12:
        CHECK(x, nul ? M(EINVAL) : M(ZERO), weft_event_set(nul ? NULL : &z->ev));
        z->ev_set |= !nul;
        INVARIANT(nul || weft_event_is_set(&z->ev), "event_is_set after set");
        break;
    case 13:
        CHECK(x, nul ? M(EINVAL) : M(ZERO), weft_event_clear(nul ? NULL : &z->ev));
        z->ev_set &= nul;
        INVARIANT(!weft_event_is_set(NULL), "event_is_set(NULL)");
        break;
    case 14:
        decode_call(z, &c, K_EVENT);
        call_here(x, &c);
        break;
    default:
        CHECK(x, nul ? M(EINVAL) : M(ZERO) | M(EBUSY), weft_event_destroy(nul ? NULL : &z->ev));
        break;
    }
}

static int open_pipes(struct fz *z, int slot)
{
    int p[2];
    if (slot < 2 && z->fd[0] < 0 && z->fd[1] < 0) {
        if (pipe2(p, O_CLOEXEC) != 0)
            return -1;
        z->fd[0] = p[0];
        z->fd[1] = p[1];
    } else if (slot >= 2 && slot < 4 && z->fd[2] < 0 && z->fd[3] < 0) {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) != 0)
            return -1;
        z->fd[2] = p[0];
        z->fd[3] = p[1];
    } else if (slot == 4 && z->fd[4] < 0) {
        z->fd[4] = memfd_create("weft-fuzz", MFD_CLOEXEC);
    }
    return 0;
}

static void op_io(struct ex *x, uint8_t sub)
{
    struct fz *z = x->z;
    struct call c;
    switch (sub % 5) {
    case 0:
        decode_call(z, &c, K_READ);
        call_here(x, &c);
        break;
    case 1:
        decode_call(z, &c, K_WRITE);
        call_here(x, &c);
        break;
    case 2:
        decode_call(z, &c, K_WAIT_FD);
        call_here(x, &c);
        break;
    case 3: { /* close: table fds are closed once, then the closed number */
        uint8_t s = u8(z);
        enum fdk k;
        int fd = pick_fd(z, s, &k);
        set_op(x, "close", fd, k, 0, 0);
        if (fd == CLOSED_FD || fd < 0 || fd == INT_MAX || fd == (1 << 20) || k == FD_BAD) {
            CHECK(x, M(EBADF), weft_close(fd));
            break;
        }
        CHECK(x, M(ZERO), weft_close(fd));
        for (int i = 0; i < 5; i++)
            if (z->fd[i] == fd)
                z->fd[i] = -1;
        if (z->nulldev == fd)
            z->nulldev = -1;
        break;
    }
    default: /* reopen what was closed */
        INVARIANT(open_pipes(z, u8(z) % 5) == 0, "pipe");
        break;
    }
}

static void timer_cb(void *arg)
{
    struct fz *z = arg;
    atomic_fetch_add_explicit(&z->timer_fired, 1, memory_order_relaxed);
}

static void op_timer(struct ex *x, uint8_t sub)
{
    struct fz *z = x->z;
    uint8_t s = u8(z);
    int i = s % NTIMER;
    weft_timer *t = (s & 0x80) ? NULL : &z->tm[i];
    set_op(x, "timer", sub, i, z->tst[i], t == NULL);
    switch (sub % 4) {
    case 0:   /* start */
    case 1: { /* after */
        bool bad, unb;
        int64_t dl = deadline(z, &bad, &unb);
        if (dl == WEFT_FOREVER)
            bad = true; /* every negative is refused here */
        bool nullfn = s & 0x40;
        unsigned m = !t || nullfn || bad      ? M(EINVAL)
                     : z->tst[i] == T_STARTED ? M(EBUSY)
                                              : M(ZERO) | M(ENOMEM);
        long long r;
        if (sub % 4 == 0) {
            set_op(x, "timer_start", i, dl, nullfn, t == NULL);
            r = CHECK(x, m, weft_timer_start(t, dl, nullfn ? NULL : timer_cb, z));
        } else {
            int64_t ns = bad ? dl : unb ? INT64_MAX : (int64_t)(s >> 2) * 10000;
            set_op(x, "timer_after", i, ns, nullfn, t == NULL);
            r = CHECK(x, m, weft_timer_after(t, ns, nullfn ? NULL : timer_cb, z));
        }
        if (r == 0) {
            z->tst[i] = T_STARTED;
            z->tm_soon[i] = !unb;
        }
        break;
    }
    case 2: /* stop */
        CHECK(x,
              !t                       ? M(EINVAL)
              : z->tst[i] == T_STARTED ? M(ZERO) | M(EALREADY)
                                       : M(ESRCH),
              weft_timer_stop(t));
        if (t)
            z->tst[i] = T_IDLE;
        break;
    default: /* wait: only for a timer that fires soon */
        if (t && z->tst[i] == T_STARTED && !z->tm_soon[i])
            break;
        CHECK(x, !t ? M(EINVAL) : z->tst[i] == T_STARTED ? M(ZERO) : M(ESRCH), weft_timer_wait(t));
        if (t)
            z->tst[i] = T_IDLE;
        break;
    }
}

/* Group members: kinds by arg. */
static int task(void *arg)
{
    uintptr_t k = (uintptr_t)arg;
    switch (k % 4) {
    case 0:
        return 0;
    case 1:
        return -EIO;
    case 2: /* until cancelled */ {
        int r = weft_chan_recv_until((weft_chan){0}, NULL, WEFT_FOREVER);
        if (r != -ECANCELED) {
            fprintf(stderr, "api_fuzz: group member's nil receive returned %d\n", r);
            abort();
        }
        return r;
    }
    default: {
        int r = weft_sleep_until(weft_now() + (int64_t)(k >> 2) * 1000);
        if (r != 0 && r != -ECANCELED) {
            fprintf(stderr, "api_fuzz: group member's sleep returned %d\n", r);
            abort();
        }
        return r;
    }
    }
}

static void op_group(struct ex *x, uint8_t sub)
{
    struct fz *z = x->z;
    uint8_t s = u8(z);
    weft_group *g = (s & 0xc0) == 0xc0 ? NULL : &z->g;
    set_op(x, "group", sub, s, z->g_destroyed, g == NULL);
    if (g && z->g_destroyed && sub % 7 != 6)
        return; /* only init may follow destroy */
    switch (sub % 7) {
    case 0: { /* go */
        weft_fiber_attr attr = {.stack_size = stack_sizes[s % 9], .detached = s & 0x20};
        bool bad = attr.stack_size &&
                   (attr.stack_size < WEFT_STACK_MIN || attr.stack_size > WEFT_STACK_MAX);
        bool nullfn = (s & 0x10) && (s & 0x08);
        CHECK(x, !g || bad || nullfn ? M(EINVAL) : M(ZERO) | M(POS) | M(ENOMEM),
              weft_group_go(g, nullfn ? NULL : task, (void *)(uintptr_t)u8(z), &attr));
        break;
    }
    case 1: /* wait_until */ {
        struct call c;
        decode_call(z, &c, K_GROUP_WAIT);
        if (!g) {
            CHECK(x, M(EINVAL), weft_group_wait_until(NULL, 0));
        } else if (c.unbounded && !c.bad_deadline && !x->fiber) {
            CHECK(x, M(ZERO), weft_group_cancel(g)); /* then it ends */
            CHECK(x, M(ZERO) | GROUP_CODES, weft_group_wait(g));
        } else {
            call_here(x, &c);
        }
        break;
    }
    case 2: { /* wait_any */
        bool bad, unb;
        int64_t dl = deadline(z, &bad, &unb);
        if (unb)
            dl = weft_now() + 100000;
        int idx = -1, err = 1;
        long long r = CHECK(x,
                            !g || bad ? M(EINVAL)
                                      : M(ZERO) | M(ECHILD) | M(ETIMEDOUT) |
                                            (x->fiber && z->root_cancelled ? M(ECANCELED) : 0),
                            weft_group_wait_any(g, &idx, &err, dl));
        INVARIANT(r != 0 || (idx >= 0 && err <= 0), "wait_any: index %d err %d", idx, err);
        break;
    }
    case 3:
        CHECK(x, g ? M(ZERO) : M(EINVAL), weft_group_cancel(g));
        break;
    case 4:
        CHECK(x, g ? M(ZERO) | M(POS) : M(EINVAL), weft_group_running(g));
        break;
    case 5:
        if (g && atomic_load_explicit(&z->kind_live[K_GROUP_WAIT], memory_order_acquire))
            break; /* a child may be about to wait on it */
        if (CHECK(x, g ? M(ZERO) | M(EBUSY) : M(EINVAL), weft_group_destroy(g)) == 0)
            z->g_destroyed = true;
        break;
    default: { /* init: bad flags leave it untouched */
        unsigned fl = (s & 0x20) ? 1u << (s % 32) : (s & 1);
        bool bad = !g || (fl & ~WEFT_GROUP_CANCEL_ON_ERROR);
        if (!bad && !z->g_destroyed)
            break; /* a live group must not be re-made */
        if (CHECK(x, bad ? M(EINVAL) : M(ZERO), weft_group_init(g, fl)) == 0)
            z->g_destroyed = false;
        break;
    }
    }
}

/* Run ops until a SWITCH or the end; true if a SWITCH ended it. */
static bool interpret(struct ex *x)
{
    struct fz *z = x->z;
    while (z->pos < z->n && z->ops < MAX_OPS) {
        z->ops++;
        uint8_t op = u8(z), sub = u8(z);
        switch (op % 12) {
        case 0:
            op_spawn(x);
            break;
        case 1:
        case 2:
            op_fiber(x, sub);
            break;
        case 3:
        case 4:
            op_chan(x, sub);
            break;
        case 5:
            op_sync(x, sub);
            break;
        case 6:
            op_io(x, sub);
            break;
        case 7:
            op_timer(x, sub);
            break;
        case 8:
            op_group(x, sub);
            break;
        case 9: { /* a bare call, inline or probed */
            struct call c;
            decode_call(z, &c, sub);
            call_here(x, &c);
            break;
        }
        case 10: { /* sleep_until with any deadline */
            struct call c;
            decode_call(z, &c, K_SLEEP);
            call_here(x, &c);
            break;
        }
        default:
            return true;
        }
    }
    return false;
}

static void *root_main(void *arg)
{
    struct fz *z = arg;
    struct ex x = {.z = z, .fiber = true, .rbuf = z->rbuf};
    z->root = weft_self();
    bool sw = interpret(&x);
    z->root = (weft_fiber){0};
    return sw ? arg : NULL;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    INVARIANT(d, "opendir /proc/self/fd");
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static void start(void)
{
    int r = weft_init(&(weft_config){.workers = 2, .pin = WEFT_PIN_OFF});
    INVARIANT(r == 0, "weft_init: %d", r);
}

/* Everything the input left: cancel, join, stop, free, close; then check. */
static void cleanup(struct fz *z)
{
    struct ex x = {.z = z, .rbuf = z->rbuf, .op = "cleanup"};
    for (int i = 0; i < z->nall; i++)
        CHECK(&x, M(ZERO) | M(ESRCH), weft_cancel(z->all[i]));
    if (!z->g_destroyed)
        CHECK(&x, M(ZERO), weft_group_cancel(&z->g));
    for (int i = 0; i < z->nall; i++)
        if (z->all_joinable[i])
            CHECK(&x, M(ZERO) | M(ENOMEM), weft_join(z->all[i], NULL));
    for (int i = 0; i < NTIMER; i++)
        CHECK(&x, M(ZERO) | M(EALREADY) | M(ESRCH), weft_timer_stop(&z->tm[i]));
    /* Every fiber spawned in this input has been joined or ends now
     * (detached ones and group members were cancelled): the runtime's
     * count says when. Only then may the group go: a child may be about
     * to wait on it. */
    for (int spin = 0;; spin++) {
        struct weft_stats st;
        CHECK(&x, M(ZERO), weft_stats(&st, sizeof st));
        if (st.fibers_live == 0)
            break;
        INVARIANT(spin < 20000, "%lld fibers live after cleanup", (long long)st.fibers_live);
        weft_sleep(100000);
    }
    /* fibers_live is read relaxed: what orders each child's last touch of
     * *z before the next input's memset is its release decrement of
     * kind_live (the last thing child_main does), read here with acquire.
     * A child that never ran (no stack) never decrements; it touched nothing. */
    for (int k = 0; k < NKIND; k++)
        (void)atomic_load_explicit(&z->kind_live[k], memory_order_acquire);
    if (!z->g_destroyed) {
        CHECK(&x, M(ZERO) | GROUP_CODES, weft_group_wait(&z->g));
        CHECK(&x, M(ZERO), weft_group_destroy(&z->g));
    }
    for (int i = 0; i < NCH; i++)
        if (z->ch[i].st != C_NIL)
            chan_remember(z, z->ch[i].h);
    for (int i = 0; i < z->nallch; i++) {
        /* A select woken elsewhere leaves a moment later: -EBUSY, retry. */
        long long r;
        for (int spin = 0;
             (r = CHECK(&x, M(ZERO) | M(EBADF) | M(EBUSY), weft_chan_free(z->allch[i]))) == -EBUSY;
             spin++) {
            INVARIANT(spin < 20000, "channel %d still busy", i);
            weft_sleep(100000);
        }
    }
    for (int i = 0; i < 5; i++)
        if (z->fd[i] >= 0)
            CHECK(&x, M(ZERO), weft_close(z->fd[i]));
    if (z->nulldev >= 0)
        CHECK(&x, M(ZERO), weft_close(z->nulldev));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN); /* writes to a pipe with no reader: -EPIPE */
    INVARIANT(fcntl(CLOSED_FD, F_GETFD) == -1, "fd %d is open", CLOSED_FD);
    const char *e = getenv("WEFT_FUZZ_RESTART");
    restart = e && *e && *e != '0';
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fz zz;
    struct fz *z = &zz;
    if (!started) {
        start();
        started = true;
    }
    int fds_before = count_fds();
    memset(z, 0, sizeof *z);
    z->p = data;
    z->n = size;
    for (int i = 0; i < 5; i++)
        z->fd[i] = -1;
    INVARIANT(open_pipes(z, 0) == 0 && open_pipes(z, 2) == 0 && open_pipes(z, 4) == 0 &&
                  z->fd[4] >= 0,
              "pipes");
    z->nulldev = open("/dev/null", O_RDWR | O_CLOEXEC);
    INVARIANT(z->nulldev >= 0, "/dev/null");
    struct ex x = {.z = z, .rbuf = z->rbuf};
    bool in_fiber = size > 0 && (data[0] & 1);
    while (z->pos < z->n && z->ops < MAX_OPS) {
        if (in_fiber) {
            weft_fiber h;
            set_op(&x, "root", 0, 0, 0, 0);
            CHECK(&x, M(ZERO), weft_spawn(&h, root_main, z, NULL));
            void *res;
            CHECK(&x, M(ZERO), weft_join(h, &res));
            z->root_cancelled = false;
        } else {
            interpret(&x);
        }
        in_fiber = !in_fiber;
    }
    cleanup(z);
    int fds_after = count_fds();
    INVARIANT(fds_after == fds_before, "fds: %d before the input, %d after", fds_before, fds_after);
    if (restart) {
        int r = weft_shutdown();
        INVARIANT(r == 0, "weft_shutdown after the input: %d", r);
        started = false;
    }
    return 0;
}
