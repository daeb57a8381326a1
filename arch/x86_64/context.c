/*
 * context.c (x86-64) - lays out a fresh fiber stack in the frame that
 * switch.S pops, so that the first switch enters wt_context_trampoline.
 */
#include <stdint.h>
#include <string.h>

#include "context.h"

void wt_context_trampoline(void);

enum {
    FRAME_FPU = 0, /* MXCSR at +0, x87 CW at +4 */
    FRAME_R12 = 8, /* trampoline calls *r12 */
    FRAME_RBP = 48,
    FRAME_RET = 56,
    FRAME_SIZE = 64,
};

void wt_context_init(struct wt_context *ctx, void *stack_top, void (*entry)(void *arg))
{
    uintptr_t top = (uintptr_t)stack_top & ~(uintptr_t)15;
    /* 16 zero bytes above the frame: the outermost frame's fake return
     * address and padding, so rsp is 16-aligned when the trampoline runs. */
    unsigned char *sp = (unsigned char *)(top - 16 - FRAME_SIZE);
    memset(sp, 0, FRAME_SIZE + 16);
    uint32_t mxcsr = 0x1F80; /* all exceptions masked, round to nearest */
    uint16_t fpcw = 0x037F;  /* x87 default: extended precision, all masked */
    memcpy(sp + FRAME_FPU, &mxcsr, sizeof mxcsr);
    memcpy(sp + FRAME_FPU + 4, &fpcw, sizeof fpcw);
    void (*tramp)(void) = wt_context_trampoline;
    memcpy(sp + FRAME_R12, &entry, sizeof entry);
    memcpy(sp + FRAME_RET, &tramp, sizeof tramp);
    ctx->sp = sp;
}
