/*
 * op_chan.c - the API fuzzer's channel ops on the channel slots: make
 * (element sizes and capacities in and out of range), free, close, try
 * and _until send and receive, len and cap, and select over up to 4 cases
 * (misuse included).
 */
#include <errno.h>
#include <stdint.h>

#include "fuzz.h"

/* Where a freed channel's handle goes when its slot is reused. */
void fz_chan_remember(struct fz *z, weft_chan h)
{
    INVARIANT(z->nallch < NCHALL, "too many channels");
    z->allch[z->nallch++] = h;
}

static const size_t elem_sizes[] = {
    0, 1, 4, 8, 64, WEFT_CHAN_ELEM_MAX, WEFT_CHAN_ELEM_MAX + 1, SIZE_MAX};
static const size_t caps[] = {0, 1, 2, 16, WEFT_CHAN_CAP_MAX, WEFT_CHAN_CAP_MAX + 1, SIZE_MAX, 3};

void fz_op_chan(struct ex *x, uint8_t sub)
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
            fz_chan_remember(z, cs->h);
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
        CHECK(x, m, weft_chan_try_send(cs->h, null_elem ? NULL : fz_src));
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
        fz_decode_call(z, &c, sub % 9 == 6 ? K_SEND : K_RECV);
        c.ch = cs->h;
        c.ch_live = live;
        c.ch_closed = cs->st == C_CLOSED;
        c.elem_size = cs->elem_size;
        fz_call_here(x, &c);
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
            cases[i].elem = cases[i].op == WEFT_SELECT_SEND ? (void *)fz_src : z->rbuf;
            if ((b & 0x80) && ci->elem_size) {
                cases[i].elem = NULL;
                bad |= ci->st == C_LIVE || ci->st == C_CLOSED;
            }
            cases[i].result = 7;
            bad |= cases[i].op == 3;
            stale |= ci->st == C_FREED;
        }
        bool bd, unb;
        int64_t dl = fz_deadline(z, &bd, &unb);
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
            fz_decode_call(z, &c, K_SELECT);
            c.deadline = dl;
            c.unbounded = true;
            c.bad_deadline = false;
            fz_probe(x, &c);
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
