/*
 * op_sync.c - the API fuzzer's sync ops on the one mutex, rmutex,
 * semaphore and event of an input, and their NULL-object forms.
 */
#include "fuzz.h"

void fz_op_sync(struct ex *x, uint8_t sub)
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
        fz_decode_call(z, &c, K_MUTEX);
        fz_call_here(x, &c);
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
        fz_decode_call(z, &c, K_RMUTEX);
        fz_call_here(x, &c);
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
        fz_decode_call(z, &c, K_SEM);
        fz_call_here(x, &c);
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
        fz_decode_call(z, &c, K_EVENT);
        fz_call_here(x, &c);
        break;
    default:
        CHECK(x, nul ? M(EINVAL) : M(ZERO) | M(EBUSY), weft_event_destroy(nul ? NULL : &z->ev));
        break;
    }
}
