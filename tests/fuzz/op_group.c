/*
 * op_group.c - the API fuzzer's group ops on the group of an input: go
 * (members that return, fail, block until cancelled or sleep), wait,
 * wait_any, cancel, running, destroy, and init with bad flags.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

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

void fz_op_group(struct ex *x, uint8_t sub)
{
    struct fz *z = x->z;
    uint8_t s = u8(z);
    weft_group *g = (s & 0xc0) == 0xc0 ? NULL : &z->g;
    set_op(x, "group", sub, s, z->g_destroyed, g == NULL);
    if (g && z->g_destroyed && sub % 7 != 6)
        return; /* only init may follow destroy */
    switch (sub % 7) {
    case 0: { /* go */
        weft_fiber_attr attr = {.stack_size = fz_stack_sizes[s % 9], .detached = s & 0x20};
        bool bad = attr.stack_size &&
                   (attr.stack_size < WEFT_STACK_MIN || attr.stack_size > WEFT_STACK_MAX);
        bool nullfn = (s & 0x10) && (s & 0x08);
        CHECK(x, !g || bad || nullfn ? M(EINVAL) : M(ZERO) | M(POS) | M(ENOMEM),
              weft_group_go(g, nullfn ? NULL : task, (void *)(uintptr_t)u8(z), &attr));
        break;
    }
    case 1: /* wait_until */ {
        struct call c;
        fz_decode_call(z, &c, K_GROUP_WAIT);
        if (!g) {
            CHECK(x, M(EINVAL), weft_group_wait_until(NULL, 0));
        } else if (c.unbounded && !c.bad_deadline && !x->fiber) {
            CHECK(x, M(ZERO), weft_group_cancel(g)); /* then it ends */
            CHECK(x, M(ZERO) | GROUP_CODES, weft_group_wait(g));
        } else {
            fz_call_here(x, &c);
        }
        break;
    }
    case 2: { /* wait_any */
        bool bad, unb;
        int64_t dl = fz_deadline(z, &bad, &unb);
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
