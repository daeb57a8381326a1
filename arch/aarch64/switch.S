/*
 * switch.S (aarch64, AAPCS64) - the fiber context switch and the fiber
 * entry trampoline; the contract is in runtime/context.h.
 *
 * Registers (Procedure Call Standard for the Arm 64-bit Architecture,
 * AAPCS64, sections 6.1.1 and 6.1.2):
 *   callee-saved, kept here:  x19-x28, x29 (fp), x30 (lr; the return
 *                             address), d8-d15 (low 64 bits of v8-v15 only),
 *                             FPCR (rounding, flush-to-zero, trap enables)
 *   arguments:                x0 = from, x1 = to, x2 = arg
 *   result:                   x0 = arg of the switch that resumes us
 *   scratch used:             x9, x10 (caller-saved, AAPCS64 6.1.1)
 * FPSR (the sticky exception flags) is status, not control, and is not kept.
 *
 * Saved frame, lowest address first (sp is what from->sp holds; 176 bytes,
 * a multiple of 16 so sp stays aligned as AAPCS64 6.4.5.1 requires):
 *   sp+0   x19  sp+8   x20  sp+16  x21  sp+24  x22  sp+32  x23  sp+40  x24
 *   sp+48  x25  sp+56  x26  sp+64  x27  sp+72  x28  sp+80  x29  sp+88  x30
 *   sp+96  d8   sp+104 d9   sp+112 d10  sp+120 d11  sp+128 d12  sp+136 d13
 *   sp+144 d14  sp+152 d15  sp+160 FPCR sp+168 pad
 * arch/aarch64/context.c builds the same frame for a fresh stack.
 *
 * Every symbol is hidden. Both entry points start with a BTI landing pad
 * (a NOP before Armv8.5). The switch signs nothing: lr is saved and restored
 * raw, so a context may resume on another stack without a PAC mismatch. The
 * GNU property note claims BTI (and PAC) when the compiler builds for them,
 * so that linking this file does not turn branch protection off.
 */

    .text

    .globl  wt_context_switch
    .hidden wt_context_switch
    .type   wt_context_switch, %function
    .p2align 4
wt_context_switch:
    .cfi_startproc
    bti     c
    sub     sp, sp, #176
    .cfi_def_cfa_offset 176
    stp     x19, x20, [sp, #0]
    .cfi_offset x19, -176
    .cfi_offset x20, -168
    stp     x21, x22, [sp, #16]
    .cfi_offset x21, -160
    .cfi_offset x22, -152
    stp     x23, x24, [sp, #32]
    .cfi_offset x23, -144
    .cfi_offset x24, -136
    stp     x25, x26, [sp, #48]
    .cfi_offset x25, -128
    .cfi_offset x26, -120
    stp     x27, x28, [sp, #64]
    .cfi_offset x27, -112
    .cfi_offset x28, -104
    stp     x29, x30, [sp, #80]
    .cfi_offset x29, -96
    .cfi_offset x30, -88
    stp     d8, d9, [sp, #96]
    .cfi_offset d8, -80
    .cfi_offset d9, -72
    stp     d10, d11, [sp, #112]
    .cfi_offset d10, -64
    .cfi_offset d11, -56
    stp     d12, d13, [sp, #128]
    .cfi_offset d12, -48
    .cfi_offset d13, -40
    stp     d14, d15, [sp, #144]
    .cfi_offset d14, -32
    .cfi_offset d15, -24
    mrs     x10, fpcr
    str     x10, [sp, #160]

    mov     x9, sp
    str     x9, [x0]            /* from->sp = sp */
    ldr     x9, [x1]
    mov     sp, x9              /* sp = to->sp: now on the other stack */

    /* Writing FPCR can stall the pipeline on some cores; most switches
     * find the same value (x10 still holds ours), so skip the write then. */
    ldr     x9, [sp, #160]
    cmp     x9, x10
    b.eq    1f
    msr     fpcr, x9
1:
    ldp     d14, d15, [sp, #144]
    .cfi_restore d14
    .cfi_restore d15
    ldp     d12, d13, [sp, #128]
    .cfi_restore d12
    .cfi_restore d13
    ldp     d10, d11, [sp, #112]
    .cfi_restore d10
    .cfi_restore d11
    ldp     d8, d9, [sp, #96]
    .cfi_restore d8
    .cfi_restore d9
    ldp     x29, x30, [sp, #80]
    .cfi_restore x29
    .cfi_restore x30
    ldp     x27, x28, [sp, #64]
    .cfi_restore x27
    .cfi_restore x28
    ldp     x25, x26, [sp, #48]
    .cfi_restore x25
    .cfi_restore x26
    ldp     x23, x24, [sp, #32]
    .cfi_restore x23
    .cfi_restore x24
    ldp     x21, x22, [sp, #16]
    .cfi_restore x21
    .cfi_restore x22
    ldp     x19, x20, [sp, #0]
    .cfi_restore x19
    .cfi_restore x20
    add     sp, sp, #176
    .cfi_def_cfa_offset 0
    mov     x0, x2              /* hand arg to the resumed side */
    ret
    .cfi_endproc
    .size   wt_context_switch, .-wt_context_switch

/*
 * First "return" of a fresh context lands here (ret to the x30 that
 * context.c stored) with sp 16-byte aligned, x19 = entry, x29 = 0 and
 * x0 = the switch's arg. The return address is undefined for the unwinder
 * and x29 = 0 ends the frame-record chain: this is the outermost frame of a
 * fiber. ret is not checked by BTI, but the landing pad keeps this a valid
 * target should anything ever branch here indirectly.
 */
    .globl  wt_context_trampoline
    .hidden wt_context_trampoline
    .type   wt_context_trampoline, %function
    .p2align 4
wt_context_trampoline:
    .cfi_startproc
    .cfi_undefined x30
    bti     c
    mov     x29, xzr            /* 0 from the frame already; end the chain regardless */
    /* x0 already holds arg: the switch moved it there before its ret. */
    blr     x19                 /* entry(arg); never returns */
    brk     #0x3e8              /* entry returned: trap, as __builtin_trap */
    .cfi_endproc
    .size   wt_context_trampoline, .-wt_context_trampoline

    .section .note.GNU-stack, "", %progbits

#if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
#if defined(__ARM_FEATURE_PAC_DEFAULT) && __ARM_FEATURE_PAC_DEFAULT
#define WT_AARCH64_FEATURES 3   /* BTI | PAC */
#else
#define WT_AARCH64_FEATURES 1   /* BTI */
#endif
    /* GNU_PROPERTY_AARCH64_FEATURE_1_AND: the linker keeps a feature only
     * if every input object claims it. */
    .section .note.gnu.property, "a"
    .p2align 3
    .long   4                   /* name size */
    .long   16                  /* descriptor size */
    .long   5                   /* NT_GNU_PROPERTY_TYPE_0 */
    .asciz  "GNU"
    .long   0xc0000000          /* GNU_PROPERTY_AARCH64_FEATURE_1_AND */
    .long   4
    .long   WT_AARCH64_FEATURES /* bit 0 BTI, bit 1 PAC */
    .p2align 3
#endif
