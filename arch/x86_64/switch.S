/*
 * switch.S (x86-64, System V AMD64 ABI) - the fiber context switch and the
 * fiber entry trampoline; the contract is in runtime/context.h.
 *
 * Registers (System V AMD64 ABI, section 3.2.1):
 *   callee-saved, kept here:  rbx rbp r12 r13 r14 r15, MXCSR control bits,
 *                             x87 control word
 *   arguments:                rdi = from, rsi = to, rdx = arg
 *   result:                   rax = arg of the switch that resumes us
 *   scratch:                  rax rcx (caller-saved)
 *
 * Saved frame, lowest address first (sp is what from->sp holds):
 *   sp+0  MXCSR (4 bytes)  sp+4  x87 CW (2 bytes, 2 bytes pad)
 *   sp+8  r12  sp+16 r13  sp+24 r14  sp+32 r15  sp+40 rbx  sp+48 rbp
 *   sp+56 return address (pushed by the caller's call)
 * arch/x86_64/context.c builds the same frame for a fresh stack.
 *
 * Every symbol is hidden. Each indirect-branch target starts with endbr64;
 * the IBT property note is emitted when the compiler builds for CET. SHSTK
 * is deliberately not claimed: this switch does not move shadow stacks.
 */
#if defined(__CET__)
#define ENDBR endbr64
#else
#define ENDBR
#endif

    .text

    .globl  wt_context_switch
    .hidden wt_context_switch
    .type   wt_context_switch, @function
    .p2align 4
wt_context_switch:
    .cfi_startproc
    ENDBR
    /* The switch ends with ret, not with a jump through a register as
     * Boost.Context does: the runtime switches from one call site
     * (switch_to() in scheduler.c) to a context suspended at that same
     * site, so the return stack buffer predicts the ret, and stays in step
     * for the returns after it. A jump left it one entry off and doubled
     * the cost of weft_yield (16 -> 33 ns); it only wins an asymmetric
     * ping-pong between two call sites (main <-> one fiber), which
     * bench/switch.c measured before it switched two fibers running the
     * same loop (7.1 vs 10.9 ns there). */
    leaq    -0x38(%rsp), %rsp
    .cfi_adjust_cfa_offset 0x38
    stmxcsr (%rsp)
    fnstcw  4(%rsp)
    movq    %r12, 8(%rsp)
    .cfi_rel_offset %r12, 8
    movq    %r13, 16(%rsp)
    .cfi_rel_offset %r13, 16
    movq    %r14, 24(%rsp)
    .cfi_rel_offset %r14, 24
    movq    %r15, 32(%rsp)
    .cfi_rel_offset %r15, 32
    movq    %rbx, 40(%rsp)
    .cfi_rel_offset %rbx, 40
    movq    %rbp, 48(%rsp)
    .cfi_rel_offset %rbp, 48

    movq    %rsp, (%rdi)        /* from->sp = rsp */
    movq    (%rsi), %rsp        /* rsp = to->sp: now on the other stack */

    /* Restored unconditionally, as Boost.Context does. Skipping ldmxcsr and
     * fldcw when the incoming state equals the outgoing one was measured
     * slower on the 2-core machine's AMD EPYC (6.8 vs 5.8 ns per switch in
     * bench/switch.c): the compare reloads what stmxcsr has just stored,
     * and loading an unchanged MXCSR is cheap on current cores. */
    ldmxcsr (%rsp)
    fldcw   4(%rsp)
    movq    8(%rsp), %r12
    .cfi_restore %r12
    movq    16(%rsp), %r13
    .cfi_restore %r13
    movq    24(%rsp), %r14
    .cfi_restore %r14
    movq    32(%rsp), %r15
    .cfi_restore %r15
    movq    40(%rsp), %rbx
    .cfi_restore %rbx
    movq    48(%rsp), %rbp
    .cfi_restore %rbp
    leaq    0x38(%rsp), %rsp
    .cfi_adjust_cfa_offset -0x38
    movq    %rdx, %rax          /* hand arg to the resumed side */
    ret
    .cfi_endproc
    .size   wt_context_switch, .-wt_context_switch

/*
 * First switch to a fresh context returns here with rsp 16-byte aligned,
 * r12 = entry and rax = the switch's arg. The return address is undefined
 * for the unwinder: this is the outermost frame of a fiber.
 */
    .globl  wt_context_trampoline
    .hidden wt_context_trampoline
    .type   wt_context_trampoline, @function
    .p2align 4
wt_context_trampoline:
    .cfi_startproc
    .cfi_undefined %rip
    ENDBR
    movq    %rax, %rdi
    callq   *%r12               /* entry(arg); never returns */
    ud2
    .cfi_endproc
    .size   wt_context_trampoline, .-wt_context_trampoline

    .section .note.GNU-stack, "", @progbits

#if defined(__CET__) && (__CET__ & 1)
    /* GNU_PROPERTY_X86_FEATURE_1_AND = IBT only (not SHSTK). */
    .section .note.gnu.property, "a"
    .p2align 3
    .long   4                   /* name size */
    .long   16                  /* descriptor size */
    .long   5                   /* NT_GNU_PROPERTY_TYPE_0 */
    .asciz  "GNU"
    .long   0xc0000002          /* GNU_PROPERTY_X86_FEATURE_1_AND */
    .long   4
    .long   1                   /* GNU_PROPERTY_X86_FEATURE_1_IBT */
    .p2align 3
#endif
