/*
 * op_fiber.c - the API fuzzer's fiber ops: spawn (stack sizes, names,
 * detached, NULL body or out) of a child making one call into a fiber
 * slot; join, detach, cancel of a slot; garbage handles; the caller's own
 * handle; and the odds and ends (workers, worker index, deadline_after,
 * strerror, sleep, yield).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"

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

void fz_op_spawn(struct ex *x)
{
    struct fz *z = x->z;
    uint8_t slot = u8(z) % NFIB, a = u8(z), b = u8(z);
    struct call c;
    fz_decode_call(z, &c, b);
    weft_fiber_attr attr = {0};
    size_t ss = a % 10 < 9 ? fz_stack_sizes[a % 10] : (size_t)u32(z);
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
            CHECK(x, mm, weft_spawn(NULL, fz_child_main, NULL, &attr));
        return;
    }
    if (null_out && !fz_ends(&c))
        c.kind = K_YIELD; /* nothing could cancel it */
    struct fslot *f = &z->fib[slot];
    weft_fiber h = {0};
    if (fz_spawn_child(x, &c, null_out ? NULL : &h, &attr, m) != 0)
        return;
    if (null_out) {
        /* A detached fiber without a handle: only fibers_live sees it end. */
        return;
    }
    fz_track(z, h, !attr.detached);
    /* The slot's previous fiber stays in z->all for cleanup. */
    f->h = h;
    f->st = attr.detached ? F_DETACHED : F_JOINABLE;
    f->ends = fz_ends(&c);
}

void fz_op_fiber(struct ex *x, uint8_t sub)
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
            fz_forget(z, f->h);
        }
        break;
    }
    case 1: /* detach */ {
        unsigned m = f->st == F_EMPTY ? M(EBADF) : f->st == F_JOINABLE ? M(ZERO) : M(ESRCH);
        if (CHECK(x, m, weft_detach(f->h)) == 0) {
            f->st = F_DETACHED;
            fz_forget(z, f->h);
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
