/*
 * context.h - the C side of the context switch: the contract that each
 * arch/<cpu>/switch.S implements. Nothing here knows the CPU.
 *
 * A context is a stack pointer. wt_context_switch() pushes the callee-saved
 * registers and the floating-point control state (x86-64: rbx rbp r12-r15,
 * MXCSR and the x87 control word; aarch64: x19-x28, fp, lr, d8-d15, FPCR)
 * onto the current stack, stores the stack pointer in @from->sp, loads
 * @to->sp, pops the same set and returns @arg to the code resuming in @to.
 * The stack stays aligned as the ABI demands (16 bytes on both CPUs).
 *
 * wt_context_init() lays out a fresh stack so that the first switch to it
 * "returns" into wt_context_trampoline, which calls @entry(arg) with the
 * @arg of that switch and an outermost frame whose return address is zero
 * (CFI marks it undefined), so that debuggers stop unwinding there. @entry
 * must never return: a fiber leaves by switching away for good.
 */
#ifndef WT_CONTEXT_H
#define WT_CONTEXT_H

#include <stddef.h>

struct wt_context {
    void *sp; /* read and written by switch.S: must stay first */
};

/* Switch from the running context to @to, saving it in @from; returns the
 * @arg of whichever switch resumes @from later. */
void *wt_context_switch(struct wt_context *from, struct wt_context *to, void *arg);

/* Prepare @ctx to enter @entry on the stack whose highest address is
 * @stack_top (exclusive). Writes below @stack_top only. */
void wt_context_init(struct wt_context *ctx, void *stack_top, void (*entry)(void *arg));

#endif /* WT_CONTEXT_H */
