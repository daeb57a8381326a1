/*
 * sanitizer.h - tells ASan and TSan about fiber switches (and nothing
 * otherwise). Each context that can be switched to (a fiber, a worker's
 * scheduler loop) owns a struct wt_san.
 *
 * ASan: __sanitizer_start_switch_fiber() before the switch names the stack
 * we go to; __sanitizer_finish_switch_fiber() after it, on the new stack. A
 * context that will never be resumed passes NULL for its fake-stack slot so
 * ASan frees it. TSan: each fiber has a TSan fiber; switching to it first
 * makes the switch a synchronisation point, as it is.
 */
#ifndef WT_SANITIZER_H
#define WT_SANITIZER_H

#include <stdbool.h>
#include <stddef.h>

#include "wt_config.h"

struct wt_san {
#if WT_ASAN
    const void *stack_lo; /* lowest address of the context's stack */
    size_t stack_size;
    void *fake_stack; /* ASan's per-context fake stack, saved across switches */
#endif
#if WT_TSAN
    void *tsan_fiber;
#endif
#if !WT_ASAN && !WT_TSAN
    char unused_;
#endif
};

#if WT_ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom, size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old,
                                     size_t *size_old);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#endif
#if WT_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
#endif

/* A new fiber's context on the stack [lo, lo + size). */
static inline void wt_san_fiber_init(struct wt_san *s, void *lo, size_t size)
{
    (void)s, (void)lo, (void)size;
#if WT_ASAN
    s->stack_lo = lo;
    s->stack_size = size;
    s->fake_stack = NULL;
#endif
#if WT_TSAN
    s->tsan_fiber = __tsan_create_fiber(0);
#endif
}

/* The calling thread's own context (a worker's scheduler loop). */
static inline void wt_san_thread_init(struct wt_san *s, void *lo, size_t size)
{
    (void)s, (void)lo, (void)size;
#if WT_ASAN
    s->stack_lo = lo;
    s->stack_size = size;
    s->fake_stack = NULL;
#endif
#if WT_TSAN
    s->tsan_fiber = __tsan_get_current_fiber();
#endif
}

/* Forget a fiber's context; called from another context once it is dead. */
static inline void wt_san_fiber_fini(struct wt_san *s)
{
    (void)s;
#if WT_TSAN
    if (s->tsan_fiber)
        __tsan_destroy_fiber(s->tsan_fiber);
    s->tsan_fiber = NULL;
#endif
}

/* Just before switching from @from to @to; @dying: @from is never resumed. */
static inline void wt_san_switch(struct wt_san *from, struct wt_san *to, bool dying)
{
    (void)from, (void)to, (void)dying;
#if WT_ASAN
    __sanitizer_start_switch_fiber(dying ? NULL : &from->fake_stack, to->stack_lo, to->stack_size);
#endif
#if WT_TSAN
    __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
}

/* Just after a switch landed in the context @self. */
static inline void wt_san_landed(struct wt_san *self)
{
    (void)self;
#if WT_ASAN
    __sanitizer_finish_switch_fiber(self->fake_stack, NULL, NULL);
#endif
}

/* Clear ASan's stale poison on a stack about to be reused or unmapped. */
static inline void wt_san_unpoison(void *lo, size_t size)
{
    (void)lo, (void)size;
#if WT_ASAN
    __asan_unpoison_memory_region(lo, size);
#endif
}

#endif /* WT_SANITIZER_H */
