/*
 * call.c - the calls that may block (enum kind), made from the interpreter,
 * by a child the program spawns, or in a probe: a child cancelled a moment
 * later and joined, for a call that could otherwise block without end
 * (api_fuzz.c's head comment). Also the record of every fiber an input
 * spawned, for cleanup.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

const unsigned char fz_src[BUF]; /* what is sent and written: zeros */

static const char *const kind_names[] = {
    "return",           "yield",      "sleep_until",      "nil_recv",          "chan_send_until",
    "chan_recv_until",  "select",     "mutex_lock_until", "rmutex_lock_until", "sem_acquire_until",
    "event_wait_until", "read_until", "write_until",      "wait_fd",           "group_wait_until"};

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
            CHECK(x, m, weft_chan_send_until(c->ch, fz_src, c->deadline));
        else
            CHECK(x, m, weft_chan_recv_until(c->ch, buf, c->deadline));
        break;
    }
    case K_SELECT: {
        weft_select_case cs[2] = {
            {.ch = c->ch, .op = WEFT_SELECT_SEND, .elem = (void *)fz_src, .result = 7},
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
            CHECK(x, m, weft_write_until(c->fd, fz_src, c->count, c->deadline));
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

void *fz_child_main(void *arg)
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
void fz_track(struct fz *z, weft_fiber h, bool joinable)
{
    INVARIANT(z->nall < NALL, "too many fibers");
    z->all[z->nall] = h;
    z->all_joinable[z->nall++] = joinable;
}

void fz_forget(struct fz *z, weft_fiber h)
{
    for (int i = 0; i < z->nall; i++)
        if (z->all[i].id == h.id)
            z->all_joinable[i] = false;
}

/* Does a child making @c end without a cancel? */
bool fz_ends(const struct call *c)
{
    return c->kind == K_RETURN || c->kind == K_YIELD || c->bad_deadline || !c->unbounded;
}

/* Spawn a child making @c; 0 or the spawn's code. */
int fz_spawn_child(struct ex *x, const struct call *c, weft_fiber *out, const weft_fiber_attr *attr,
                   unsigned mask)
{
    struct fz *z = x->z;
    if (z->njob == NJOB)
        return -EAGAIN;
    struct job *j = &z->jobs[z->njob];
    j->z = z;
    j->c = *c;
    atomic_fetch_add_explicit(&z->kind_live[c->kind], 1, memory_order_relaxed);
    int r = (int)CHECK(x, mask, weft_spawn(out, fz_child_main, j, attr));
    if (r != 0) {
        atomic_fetch_sub_explicit(&z->kind_live[c->kind], 1, memory_order_relaxed);
        return r;
    }
    z->njob++;
    return 0;
}

/* Make @c in a child fiber that is cancelled a moment later, then joined. */
void fz_probe(struct ex *x, const struct call *c)
{
    struct fz *z = x->z;
    weft_fiber h;
    if (fz_spawn_child(x, c, &h, NULL, M(ZERO) | M(ENOMEM)) != 0)
        return;
    fz_track(z, h, true);
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
    fz_forget(z, h);
}

/* Make @c here, or in a probe if it could block without end. */
void fz_call_here(struct ex *x, const struct call *c)
{
    if (c->unbounded && !c->bad_deadline && c->kind != K_RETURN && c->kind != K_YIELD)
        fz_probe(x, c);
    else
        perform(x, c);
}
