/*
 * op_timer.c - the API fuzzer's callback timer ops on the two timers of an
 * input: start, after, stop, and wait (only for a timer that fires soon).
 */
#include "fuzz.h"

static void timer_cb(void *arg)
{
    struct fz *z = arg;
    atomic_fetch_add_explicit(&z->timer_fired, 1, memory_order_relaxed);
}

void fz_op_timer(struct ex *x, uint8_t sub)
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
        int64_t dl = fz_deadline(z, &bad, &unb);
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
