/*
 * args.c - the API fuzzer's argument decoders that several families share:
 * a deadline and what kind of one it is, an fd by selector and its kind,
 * the stack sizes, and a whole call that may block (struct call).
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"

/* A deadline, and what kind of one it is. */
int64_t fz_deadline(struct fz *z, bool *bad, bool *unbounded)
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

/* A fd, by selector; its kind for the oracle. */
int fz_pick_fd(struct fz *z, uint8_t s, enum fdk *k)
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

const size_t fz_stack_sizes[] = {
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

/* Decode a child's call (the kind from @b). */
void fz_decode_call(struct fz *z, struct call *c, uint8_t b)
{
    memset(c, 0, sizeof *c);
    c->kind = (enum kind)(b % NKIND);
    c->deadline = fz_deadline(z, &c->bad_deadline, &c->unbounded);
    uint8_t s = u8(z);
    struct cslot *cs = &z->ch[s % NCH];
    c->ch = cs->h;
    c->ch_live = cs->st == C_LIVE || cs->st == C_CLOSED;
    c->ch_closed = cs->st == C_CLOSED;
    c->elem_size = cs->elem_size;
    c->fd = fz_pick_fd(z, s >> 4, &c->fdk);
    static const size_t counts[] = {0, 1, 16, 4096, BUF};
    c->count = counts[u8(z) % 5];
    c->events = (unsigned)(s >> 2) % 6;
    c->n = s % 5;
    if (c->kind == K_GROUP_WAIT && z->g_destroyed)
        c->kind = K_YIELD; /* a destroyed group must not be waited on */
    if (c->kind == K_SLEEP && c->deadline == WEFT_FOREVER)
        c->bad_deadline = true; /* sleep_until refuses every negative */
}
