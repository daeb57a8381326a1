/*
 * alloc.c - the fault-injection half of alloc.h, compiled only with
 * -Dfault_injection=true: the wrappers that count and may fail a call,
 * and the test-only API that arms them. A normal build has none of this;
 * its wrappers are the inline libc calls of alloc.h.
 *
 * Counters are relaxed atomics: they are bumped by every worker, the
 * monitor and plain threads at once, and read by a test only once the
 * calls it counts are over (ordered by whatever ended them: a join, a
 * weft_shutdown). Arming stores the error and the period before @nth with
 * release; a check loads @nth with acquire, so that it fails a call with
 * the error it was armed with. A test arms while no counted call runs,
 * or accepts that a call racing the arm is counted either side of it.
 */
#include <stdatomic.h>

#include "alloc.h"

struct fault_kind {
    _Atomic unsigned long calls; /* counted since the last arm or reset */
    _Atomic unsigned long hits;  /* calls failed since then */
    _Atomic unsigned long nth;   /* the first call to fail; 0: disarmed */
    _Atomic unsigned long every; /* then every every-th call; 0: none */
    _Atomic int err;             /* errno value of a failed call */
};

static struct fault_kind kinds[WT_FAULT_NKINDS];
static _Atomic long live_blocks, live_maps;

static const int default_err[WT_FAULT_NKINDS] = {
    [WT_FAULT_ALLOC] = ENOMEM,   [WT_FAULT_MAP] = ENOMEM,  [WT_FAULT_THREAD] = EAGAIN,
    [WT_FAULT_SYSCALL] = ENOMEM, [WT_FAULT_EINTR] = EINTR,
};

int wt_fault_check(enum wt_fault_kind k)
{
    struct fault_kind *fk = &kinds[k];
    unsigned long c = atomic_fetch_add_explicit(&fk->calls, 1, memory_order_relaxed) + 1;
    /* Acquire pairs with the release store of nth in wt_fault_arm(). */
    unsigned long nth = atomic_load_explicit(&fk->nth, memory_order_acquire);
    if (!nth || c < nth)
        return 0;
    unsigned long every = atomic_load_explicit(&fk->every, memory_order_relaxed);
    if (c != nth && (every == 0 || (c - nth) % every != 0))
        return 0;
    atomic_fetch_add_explicit(&fk->hits, 1, memory_order_relaxed);
    return atomic_load_explicit(&fk->err, memory_order_relaxed);
}

void wt_fault_arm(enum wt_fault_kind k, unsigned long nth, unsigned long every, int err)
{
    struct fault_kind *fk = &kinds[k];
    atomic_store_explicit(&fk->nth, 0, memory_order_relaxed);
    atomic_store_explicit(&fk->err, err ? err : default_err[k], memory_order_relaxed);
    atomic_store_explicit(&fk->every, every, memory_order_relaxed);
    atomic_store_explicit(&fk->calls, 0, memory_order_relaxed);
    atomic_store_explicit(&fk->hits, 0, memory_order_relaxed);
    /* Release pairs with the acquire in wt_fault_check(): err and every. */
    atomic_store_explicit(&fk->nth, nth, memory_order_release);
}

void wt_fault_reset(void)
{
    for (int k = 0; k < WT_FAULT_NKINDS; k++)
        wt_fault_arm((enum wt_fault_kind)k, 0, 0, 0);
}

unsigned long wt_fault_calls(enum wt_fault_kind k)
{
    return atomic_load_explicit(&kinds[k].calls, memory_order_relaxed);
}

unsigned long wt_fault_hits(enum wt_fault_kind k)
{
    return atomic_load_explicit(&kinds[k].hits, memory_order_relaxed);
}

long wt_fault_live_blocks(void)
{
    return atomic_load_explicit(&live_blocks, memory_order_relaxed);
}

long wt_fault_live_maps(void)
{
    return atomic_load_explicit(&live_maps, memory_order_relaxed);
}

static void *counted(void *p)
{
    if (p)
        atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
    return p;
}

/* A failed allocation: NULL with errno ENOMEM (or what the test armed). */
static void *refuse(int e)
{
    errno = e;
    return NULL;
}

void *wt_alloc(size_t size)
{
    int e = wt_fault_check(WT_FAULT_ALLOC);
    return e ? refuse(e) : counted(malloc(size));
}

void *wt_calloc(size_t n, size_t size)
{
    int e = wt_fault_check(WT_FAULT_ALLOC);
    return e ? refuse(e) : counted(calloc(n, size));
}

void *wt_aligned_alloc(size_t align, size_t size)
{
    int e = wt_fault_check(WT_FAULT_ALLOC);
    return e ? refuse(e) : counted(aligned_alloc(align, size));
}

void *wt_realloc(void *p, size_t size)
{
    int e = wt_fault_check(WT_FAULT_ALLOC);
    if (e)
        return refuse(e); /* as realloc: @p is left as it was */
    void *q = realloc(p, size);
    if (!p && q)
        atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
    else if (p && !q && size == 0) /* glibc freed it */
        atomic_fetch_sub_explicit(&live_blocks, 1, memory_order_relaxed);
    return q;
}

void wt_free(void *p)
{
    if (p)
        atomic_fetch_sub_explicit(&live_blocks, 1, memory_order_relaxed);
    free(p);
}

void *wt_map(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    int e = wt_fault_check(WT_FAULT_MAP);
    if (e) {
        errno = e;
        return MAP_FAILED;
    }
    void *p = mmap(addr, len, prot, flags, fd, off);
    if (p != MAP_FAILED)
        atomic_fetch_add_explicit(&live_maps, 1, memory_order_relaxed);
    return p;
}

int wt_unmap(void *addr, size_t len)
{
    int r = munmap(addr, len);
    if (r == 0)
        atomic_fetch_sub_explicit(&live_maps, 1, memory_order_relaxed);
    return r;
}

int wt_thread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    int e = wt_fault_check(WT_FAULT_THREAD);
    return e ? e : pthread_create(t, attr, fn, arg);
}
