/*
 * fuzz.h - what the API fuzzer's files share (api_fuzz.c's head comment has
 * the design: the input's encoding, the oracle, the cleanup): the
 * interpreter's state for one input (struct fz), who makes a call (struct
 * ex), one decoded call that may block (struct call), the result classes
 * with the CHECK and INVARIANT macros, the input reader, and the functions
 * the files offer each other. Every name with external linkage is fz_.
 */
#ifndef WT_FUZZ_H
#define WT_FUZZ_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "weft.h"

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

/* What is sent and written: zeros (call.c). */
extern const unsigned char fz_src[BUF];

/* oracle.c: CHECK's function. */
long long fz_check_rc(struct ex *x, long long r, unsigned mask, const char *what, const char *file,
                      int line);

/* The check: @expr's result must be in @mask, else report where and abort(). */
#define CHECK(x, mask, expr) fz_check_rc((x), (long long)(expr), (mask), #expr, __FILE__, __LINE__)

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
static inline uint8_t u8(struct fz *z)
{
    return z->pos < z->n ? z->p[z->pos++] : 0;
}

static inline uint16_t u16(struct fz *z)
{
    return (uint16_t)(u8(z) | u8(z) << 8);
}

static inline uint32_t u32(struct fz *z)
{
    return (uint32_t)u16(z) | (uint32_t)u16(z) << 16;
}

static inline uint64_t u64(struct fz *z)
{
    return (uint64_t)u32(z) | (uint64_t)u32(z) << 32;
}

static inline void set_op(struct ex *x, const char *op, long long a0, long long a1, long long a2,
                          long long a3)
{
    x->op = op;
    x->a[0] = a0;
    x->a[1] = a1;
    x->a[2] = a2;
    x->a[3] = a3;
}

/* What a group member may return (op_group.c's task()), as weft_group_wait reports it. */
#define GROUP_CODES (M(EIO) | M(ECANCELED) | M(ENOMEM))

/* args.c: the arguments shared by the families. */
int64_t fz_deadline(struct fz *z, bool *bad, bool *unbounded);
int fz_pick_fd(struct fz *z, uint8_t s, enum fdk *k);
void fz_decode_call(struct fz *z, struct call *c, uint8_t b);
extern const size_t fz_stack_sizes[9];

/* call.c: making one call that may block, inline, in a child or in a probe. */
void *fz_child_main(void *arg);
void fz_track(struct fz *z, weft_fiber h, bool joinable);
void fz_forget(struct fz *z, weft_fiber h);
bool fz_ends(const struct call *c);
int fz_spawn_child(struct ex *x, const struct call *c, weft_fiber *out, const weft_fiber_attr *attr,
                   unsigned mask);
void fz_probe(struct ex *x, const struct call *c);
void fz_call_here(struct ex *x, const struct call *c);

/* The families of ops (op_<family>.c), one byte @sub after the op. */
void fz_op_spawn(struct ex *x);
void fz_op_fiber(struct ex *x, uint8_t sub);
void fz_op_chan(struct ex *x, uint8_t sub);
void fz_chan_remember(struct fz *z, weft_chan h);
void fz_op_sync(struct ex *x, uint8_t sub);
void fz_op_io(struct ex *x, uint8_t sub);
int fz_open_pipes(struct fz *z, int slot);
void fz_op_timer(struct ex *x, uint8_t sub);
void fz_op_group(struct ex *x, uint8_t sub);

#endif
