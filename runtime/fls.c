/*
 * fls.c - fiber-local storage keys (weft_key_*) and their destructors.
 */
#include <errno.h>
#include <string.h>

#include "fiber.h"
#include "fls.h"
#include "worker.h"

typedef void (*dtor_fn)(void *);

static _Atomic uint32_t nkeys;
static _Atomic(dtor_fn) dtors[WEFT_KEYS_MAX];

int weft_key_create(weft_key *key, void (*destructor)(void *))
{
    if (!key)
        return -EINVAL;
    uint32_t n = atomic_load_explicit(&nkeys, memory_order_relaxed);
    do {
        if (n >= WEFT_KEYS_MAX)
            return -EAGAIN;
    } while (!atomic_compare_exchange_weak_explicit(&nkeys, &n, n + 1, memory_order_relaxed,
                                                    memory_order_relaxed));
    /* Release pairs with the acquire load in run_destructors(). A key is
     * only usable once its creator hands it on, which orders this too. */
    atomic_store_explicit(&dtors[n], destructor, memory_order_release);
    key->id = n + 1;
    return 0;
}

/* The calling fiber, with its values ready; NULL on a plain thread. */
static struct fiber *fls_fiber(void)
{
    struct worker *w = wt_worker_self();
    struct fiber *f = w ? w->current : NULL;
    if (f && !f->fls_used) {
        memset(wt_fiber_fls(f), 0, WEFT_KEYS_MAX * sizeof(void *));
        f->fls_used = true;
    }
    return f;
}

static bool key_valid(weft_key key)
{
    return key.id >= 1 && key.id <= atomic_load_explicit(&nkeys, memory_order_relaxed);
}

int weft_key_set(weft_key key, void *value)
{
    if (!key_valid(key))
        return -EINVAL;
    struct fiber *f = fls_fiber();
    if (!f)
        return -EPERM;
    wt_fiber_fls(f)[key.id - 1] = value;
    return 0;
}

int weft_key_get(weft_key key, void **value)
{
    if (!key_valid(key) || !value)
        return -EINVAL;
    struct fiber *f = fls_fiber();
    if (!f)
        return -EPERM;
    *value = wt_fiber_fls(f)[key.id - 1];
    return 0;
}

void wt_fls_run_destructors(struct fiber *f)
{
    void **fls = wt_fiber_fls(f);
    for (int round = 0; round < 4; round++) {
        bool again = false;
        uint32_t n = atomic_load_explicit(&nkeys, memory_order_relaxed);
        for (uint32_t i = 0; i < n; i++) {
            void *v = fls[i];
            dtor_fn d = atomic_load_explicit(&dtors[i], memory_order_acquire);
            if (v && d) {
                fls[i] = NULL;
                d(v);
                again = true;
            }
        }
        if (!again)
            break;
    }
}
