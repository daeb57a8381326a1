/*
 * stack.c - fiber stacks (stack.h): regions, guards, pools, canaries.
 *
 * A region is one mmap(MAP_NORESERVE) of n slots; a slot is a guard area
 * (GUARD_PAGES pages, none in canary mode) followed by the usable stack.
 * Pooled regions hold REGION_SLOTS default-size stacks; any other size gets
 * a region of one slot that is unmapped when the stack is released. The
 * bookkeeping (struct region with its struct stack array) is malloc'd, so
 * returning a stack's pages to the kernel loses nothing.
 *
 * Pools: a worker keeps up to POOL_MAX warm stacks (LIFO, owner only, no
 * system call). Past that it hands POOL_BATCH to the global pool; workers
 * refill from the global pool in batches, and map a new region only when it
 * is empty. When a worker goes idle it keeps POOL_IDLE_KEEP warm stacks and
 * returns the pages of the rest, and of the global pool, to the kernel with
 * MADV_FREE (wt_stack_trim), so a burst of fibers leaves no resident
 * memory behind once it is over.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "alloc.h"
#include "os.h"
#include "sanitizer.h"
#include "stack.h"

#if WT_HAVE_VALGRIND
#include <valgrind/valgrind.h>
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

enum {
    GUARD_PAGES = 4,    /* 16 KiB: a frame bigger than that could jump the guard */
    REGION_SLOTS = 256, /* at most, and at most REGION_BYTES per region */
    POOL_MAX = 1024,    /* warm stacks a busy worker keeps */
    POOL_BATCH = 256,
    POOL_IDLE_KEEP = 16, /* warm stacks an idle worker keeps */
    CANARY_WORDS = 8,
};

#define CANARY       0x57454654434e5259ull /* "WEFTCNRY" */
#define REGION_BYTES ((size_t)32 << 20)
#define SAN_SPAN     ((size_t)8 << 20)

struct region {
    struct region *prev, *next; /* on g->regions */
    char *base;
    size_t len;
    uint32_t nslots;
    bool pooled;
    struct stack stacks[];
};

static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;

const char *wt_stack_mode_name(enum weft_guard mode)
{
    switch (mode) {
    case WEFT_GUARD_MADVISE:
        return "madvise";
    case WEFT_GUARD_MPROTECT:
        return "mprotect";
    case WEFT_GUARD_CANARY:
        return "canary";
    default:
        return "default";
    }
}

int wt_stack_check_size(size_t size, size_t *rounded)
{
    if (size < WEFT_STACK_MIN || size > WEFT_STACK_MAX)
        return -EINVAL;
    size_t page = wt_os_page_size();
    *rounded = (size + page - 1) & ~(page - 1);
    return 0;
}

/* Does MADV_GUARD_INSTALL exist and really fault? qemu-user accepts the
 * call without enforcing it, so check: the kernel must refuse to read the
 * guard page on our behalf (write() from it fails with EFAULT). 1 if it
 * does, 0 if not, -ENOMEM if the probe page could not be mapped. */
static int guard_install_works(void)
{
    size_t page = wt_os_page_size();
    int ok = 0;
    char *p = wt_map(NULL, 2 * page, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -ENOMEM;
    if (madvise(p, page, MADV_GUARD_INSTALL) == 0) {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) == 0) {
            ok = write(fds[1], p, 1) < 0 && errno == EFAULT;
            close(fds[0]);
            close(fds[1]);
        }
    }
    wt_unmap(p, 2 * page);
    return ok;
}

static size_t read_mprotect_budget(void)
{
    long max_maps = 65530;
    FILE *fp = fopen("/proc/sys/vm/max_map_count", "re");
    if (fp) {
        if (fscanf(fp, "%ld", &max_maps) != 1)
            max_maps = 65530;
        fclose(fp);
    }
    /* Each guard splits a mapping in two; leave 8192 for the program. */
    return max_maps > 8192 ? (size_t)(max_maps - 8192) / 2 : 0;
}

int wt_stack_global_init(struct stack_global *g, size_t default_size, enum weft_guard want)
{
    int saved = errno;
    memset(g, 0, sizeof *g);
    g->default_size = default_size;
    g->mprotect_budget = read_mprotect_budget();
    int madvise_ok =
        want == WEFT_GUARD_DEFAULT || want == WEFT_GUARD_MADVISE ? guard_install_works() : 0;
    errno = saved;
    if (madvise_ok < 0)
        return madvise_ok; /* out of memory, not a kernel without the call */
    switch (want) {
    case WEFT_GUARD_DEFAULT:
        g->mode = madvise_ok ? WEFT_GUARD_MADVISE : WEFT_GUARD_MPROTECT;
        return 0;
    case WEFT_GUARD_MADVISE:
        if (!madvise_ok)
            return -ENOTSUP;
        g->mode = WEFT_GUARD_MADVISE;
        return 0;
    case WEFT_GUARD_MPROTECT:
    case WEFT_GUARD_CANARY:
        g->mode = want;
        return 0;
    }
    return -EINVAL;
}

static void write_canary(struct stack *s)
{
    uint64_t *w = (uint64_t *)(void *)s->lo - CANARY_WORDS;
    for (int i = 0; i < CANARY_WORDS; i++)
        w[i] = CANARY;
}

bool wt_stack_canary_ok(const struct stack *s)
{
    const uint64_t *w = (const uint64_t *)(const void *)s->lo - CANARY_WORDS;
    for (int i = 0; i < CANARY_WORDS; i++)
        if (w[i] != CANARY)
            return false;
    return true;
}

bool wt_stack_in_guard(const struct stack *s, const void *addr)
{
    if (s->guard == WEFT_GUARD_CANARY)
        return false;
    const char *a = addr;
    return a < s->lo && a >= s->lo - GUARD_PAGES * wt_os_page_size();
}

/* Map a region of @nslots stacks of @size usable bytes, guards installed.
 * Caller holds global_lock. NULL when out of memory or address space. */
static struct region *map_region(struct stack_global *g, size_t size, uint32_t nslots, bool pooled)
{
    size_t page = wt_os_page_size();
    enum weft_guard mode = g->mode;
    if (mode == WEFT_GUARD_MPROTECT && g->mprotect_guards + nslots > g->mprotect_budget)
        mode = WEFT_GUARD_CANARY; /* budget spent: the rest are canaries */
    /* Canary stacks keep one page below for the canary words, so that a
     * slight overflow lands on them rather than on the neighbour. */
    size_t guard = mode == WEFT_GUARD_CANARY ? page : GUARD_PAGES * page;
    size_t slot = guard + size;
    struct region *r = wt_alloc(sizeof *r + nslots * sizeof(struct stack));
    if (!r)
        return NULL;
    char *base = wt_map(NULL, slot * nslots, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (base == MAP_FAILED) {
        wt_free(r);
        return NULL;
    }
    r->base = base;
    r->len = slot * nslots;
    r->nslots = nslots;
    r->pooled = pooled;
    for (uint32_t i = 0; i < nslots; i++) {
        char *lo = base + i * slot;
        int rc = 0;
        if (mode == WEFT_GUARD_MADVISE)
            rc = WT_FAULT_SYS(WT_FAULT_MAP, madvise(lo, guard, MADV_GUARD_INSTALL));
        else if (mode == WEFT_GUARD_MPROTECT)
            rc = WT_FAULT_SYS(WT_FAULT_MAP, mprotect(lo, guard, PROT_NONE));
        if (rc != 0) {
            wt_unmap(base, r->len);
            wt_free(r);
            return NULL;
        }
        struct stack *s = &r->stacks[i];
        s->lo = lo + guard;
        s->size = size;
        s->region = r;
        s->guard = (uint8_t)mode;
        s->warm = true;
#if WT_HAVE_VALGRIND
        s->vg_id = VALGRIND_STACK_REGISTER(s->lo, s->lo + size);
#else
        s->vg_id = 0;
#endif
        s->next = i + 1 < nslots ? &r->stacks[i + 1] : NULL;
    }
    if (mode == WEFT_GUARD_MPROTECT)
        g->mprotect_guards += nslots;
    r->prev = NULL;
    r->next = g->regions;
    if (g->regions)
        g->regions->prev = r;
    g->regions = r;
    return r;
}

/* Clear ASan's poison left by dead frames, for the top SAN_SPAN bytes:
 * unpoisoning a whole 1 GiB stack would write 128 MiB of shadow. */
static void unpoison_stack(const struct stack *s)
{
    size_t n = s->size < SAN_SPAN ? s->size : SAN_SPAN;
    wt_san_unpoison(s->lo + s->size - n, n);
}

static void unmap_region(struct stack_global *g, struct region *r)
{
#if WT_HAVE_VALGRIND
    for (uint32_t i = 0; i < r->nslots; i++)
        VALGRIND_STACK_DEREGISTER(r->stacks[i].vg_id);
#endif
    if (r->stacks[0].guard == WEFT_GUARD_MPROTECT)
        g->mprotect_guards -= r->nslots;
    for (uint32_t i = 0; i < r->nslots; i++)
        unpoison_stack(&r->stacks[i]);
    wt_unmap(r->base, r->len);
    if (r->prev)
        r->prev->next = r->next;
    else
        g->regions = r->next;
    if (r->next)
        r->next->prev = r->prev;
    wt_free(r);
}

/* Refill @p from the global pool, mapping a region if that is empty too. */
static bool refill(struct stack_global *g, struct stack_pool *p)
{
    int saved = errno;
    pthread_mutex_lock(&global_lock);
    if (!g->free) {
        size_t slot = g->default_size + GUARD_PAGES * wt_os_page_size();
        size_t n = REGION_BYTES / slot;
        struct region *r = map_region(g, g->default_size,
                                      n < 1              ? 1
                                      : n > REGION_SLOTS ? REGION_SLOTS
                                                         : (uint32_t)n,
                                      true);
        if (r) {
            r->stacks[r->nslots - 1].next = g->free;
            g->free = &r->stacks[0];
            g->nfree += r->nslots;
        }
    }
    for (int i = 0; i < POOL_BATCH && g->free; i++) {
        struct stack *s = g->free;
        g->free = s->next;
        g->nfree--;
        s->next = p->head;
        p->head = s;
        p->n++;
    }
    pthread_mutex_unlock(&global_lock);
    errno = saved;
    return p->head != NULL;
}

struct stack *wt_stack_get(struct stack_global *g, struct stack_pool *p, size_t size)
{
    struct stack *s;
    if (size == 0 || size == g->default_size) {
        if (!p->head && !refill(g, p))
            return NULL;
        s = p->head;
        p->head = s->next;
        p->n--;
    } else {
        int saved = errno;
        pthread_mutex_lock(&global_lock);
        struct region *r = map_region(g, size, 1, false);
        pthread_mutex_unlock(&global_lock);
        errno = saved;
        if (!r)
            return NULL;
        s = &r->stacks[0];
    }
    s->next = NULL;
    if (s->guard == WEFT_GUARD_CANARY)
        write_canary(s); /* pages may have been returned to the kernel */
    return s;
}

void wt_stack_put(struct stack_global *g, struct stack_pool *p, struct stack *s)
{
    unpoison_stack(s);
    if (!s->region->pooled) {
        pthread_mutex_lock(&global_lock);
        unmap_region(g, s->region);
        pthread_mutex_unlock(&global_lock);
        return;
    }
    s->next = p->head;
    p->head = s;
    if (++p->n <= POOL_MAX)
        return;
    /* Too many here: hand a batch to the global pool, still warm. */
    pthread_mutex_lock(&global_lock);
    for (int i = 0; i < POOL_BATCH; i++) {
        struct stack *t = p->head;
        p->head = t->next;
        p->n--;
        t->next = g->free;
        g->free = t;
        g->nfree++;
    }
    atomic_store_explicit(&g->warm_hint, true, memory_order_relaxed);
    pthread_mutex_unlock(&global_lock);
}

static void make_cold(struct stack *s)
{
    if (madvise(s->lo, s->size, MADV_FREE) != 0)
        madvise(s->lo, s->size, MADV_DONTNEED);
    s->warm = false;
}

void wt_stack_trim(struct stack_global *g, struct stack_pool *p)
{
    /* Relaxed: a hint; a stale false only delays trimming to the next idle. */
    if (p->n <= POOL_IDLE_KEEP && !atomic_load_explicit(&g->warm_hint, memory_order_relaxed))
        return;
    int saved = errno;
    struct stack *keep = NULL, *rest = NULL;
    uint32_t nkeep = 0;
    while (p->head) {
        struct stack *s = p->head;
        p->head = s->next;
        if (nkeep < POOL_IDLE_KEEP) {
            s->next = keep;
            keep = s;
            nkeep++;
        } else {
            if (s->warm)
                make_cold(s);
            s->next = rest;
            rest = s;
        }
    }
    p->head = keep;
    p->n = nkeep;
    pthread_mutex_lock(&global_lock);
    for (struct stack *s = g->free; s; s = s->next)
        if (s->warm)
            make_cold(s);
    atomic_store_explicit(&g->warm_hint, false, memory_order_relaxed);
    while (rest) {
        struct stack *s = rest;
        rest = s->next;
        s->next = g->free;
        g->free = s;
        g->nfree++;
    }
    pthread_mutex_unlock(&global_lock);
    errno = saved;
}

void wt_stack_pool_drain(struct stack_global *g, struct stack_pool *p)
{
    pthread_mutex_lock(&global_lock);
    while (p->head) {
        struct stack *s = p->head;
        p->head = s->next;
        s->next = g->free;
        g->free = s;
        g->nfree++;
    }
    p->n = 0;
    pthread_mutex_unlock(&global_lock);
}

void wt_stack_global_fini(struct stack_global *g)
{
    int saved = errno;
    pthread_mutex_lock(&global_lock);
    while (g->regions)
        unmap_region(g, g->regions);
    g->free = NULL;
    g->nfree = 0;
    pthread_mutex_unlock(&global_lock);
    errno = saved;
}
