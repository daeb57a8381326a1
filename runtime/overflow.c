/*
 * overflow.c - the stack-overflow report of overflow.h. A fault outside the
 * running fiber's guard page is passed on to whatever handler was there
 * before (or to the default action), so weft does not hide other crashes.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "fiber.h"
#include "overflow.h"
#include "stack.h"
#include "worker.h"

static struct sigaction old_segv, old_bus;

_Noreturn void wt_overflow_report(struct fiber *f, const char *how)
{
    char buf[256];
    /* snprintf is not async-signal-safe by the letter; the process is about
     * to abort, and this is what every crash reporter does. */
    int n =
        snprintf(buf, sizeof buf, "weft: fiber '%s' (index %u) overflowed its %zu-byte stack: %s\n",
                 wt_fiber_name(f), f->index, f->stack ? f->stack->size : 0, how);
    if (n > 0) {
        ssize_t r = write(2, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
        (void)r;
    }
    signal(SIGABRT, SIG_DFL);
    abort();
}

static void on_fault(int sig, siginfo_t *si, void *uctx)
{
    struct worker *w = wt_worker_self();
    struct fiber *f = w ? w->current : NULL;
    if (f && f->stack && wt_stack_in_guard(f->stack, si->si_addr))
        wt_overflow_report(f, "it touched the guard page below it");
    struct sigaction *old = sig == SIGSEGV ? &old_segv : &old_bus;
    if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
        old->sa_sigaction(sig, si, uctx);
    } else if (old->sa_handler != SIG_IGN && old->sa_handler != SIG_DFL && old->sa_handler) {
        old->sa_handler(sig);
    } else {
        /* Default action: put it back and return; the fault repeats. */
        sigaction(sig, old, NULL);
    }
}

int wt_overflow_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &old_segv) != 0)
        return -EINVAL; /* sigaction fails only on bad arguments */
    if (sigaction(SIGBUS, &sa, &old_bus) != 0) {
        sigaction(SIGSEGV, &old_segv, NULL);
        return -EINVAL; /* sigaction fails only on bad arguments */
    }
    return 0;
}

void wt_overflow_uninstall(void)
{
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
}

enum { ALTSTACK_SIZE = 64 * 1024 };

void *wt_overflow_altstack_enable(void)
{
    size_t size = ALTSTACK_SIZE > SIGSTKSZ ? ALTSTACK_SIZE : (size_t)SIGSTKSZ;
    void *mem = wt_alloc(size);
    if (!mem)
        return NULL;
    stack_t ss = {.ss_sp = mem, .ss_size = size, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) {
        wt_free(mem);
        return NULL;
    }
    return mem;
}

void wt_overflow_altstack_disable(void *altstack)
{
    if (!altstack)
        return;
    stack_t ss = {.ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
    wt_free(altstack);
}
