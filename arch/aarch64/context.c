/*
 * context.c (aarch64) - lays out a fresh fiber stack in the frame that
 * switch.S pops, so that the first switch enters wt_context_trampoline.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "context.h"

void wt_context_trampoline(void);

enum {
    FRAME_X19 = 0,  /* trampoline calls *x19 */
    FRAME_X29 = 80, /* 0: ends the frame-record chain */
    FRAME_X30 = 88, /* switch.S returns here: the trampoline */
    FRAME_FPCR = 160,
    FRAME_SIZE = 176,
};

static_assert(FRAME_SIZE % 16 == 0, "sp must stay 16-byte aligned (AAPCS64 6.4.5.1)");

void wt_context_init(struct wt_context *ctx, void *stack_top, void (*entry)(void *arg))
{
    uintptr_t top = (uintptr_t)stack_top & ~(uintptr_t)15;
    /* 16 zero bytes above the frame: an all-zero frame record where the
     * outermost caller's would be, so sp is 16-aligned when the trampoline
     * runs and a walker that overshoots still reads fp = lr = 0. */
    unsigned char *sp = (unsigned char *)(top - 16 - FRAME_SIZE);
    memset(sp, 0, FRAME_SIZE + 16);
    /* FPCR 0 is the AAPCS64 default: round to nearest, no flush-to-zero,
     * no default NaN, all traps off; d8-d15 start as 0. */
    uint64_t fpcr = 0;
    memcpy(sp + FRAME_FPCR, &fpcr, sizeof fpcr);
    void (*tramp)(void) = wt_context_trampoline;
    memcpy(sp + FRAME_X19, &entry, sizeof entry);
    memcpy(sp + FRAME_X30, &tramp, sizeof tramp);
    ctx->sp = sp;
}
