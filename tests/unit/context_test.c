/*
 * context_test.c - the context switch of arch/<cpu>/ on its own, with no
 * runtime: arguments cross each switch, callee-saved registers and the FP
 * control state stay with their context, a fresh stack is entered aligned,
 * and unwinding stops at the trampoline. Runs natively on x86-64 and under
 * qemu-aarch64 for aarch64.
 *
 * Fibers here record what they see in globals and the test case checks it
 * on the main stack: CHECK longjmps, which must not leave a fiber's stack.
 */
#include <execinfo.h>
#include <fenv.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "cpu.h"
#include "tap.h"
#include "testutil.h"

#define STACK_SIZE (64 * 1024)

/* In switch.S; declared here to find the outermost frame of a backtrace. */
void wt_context_trampoline(void);

static struct wt_context main_ctx;

/* A stack with 64 spare bytes above @top, so a test can tell whether
 * wt_context_init() wrote at or above the top it was given. */
static unsigned char *stack_new(void)
{
    return aligned_alloc(WT_CACHE_LINE, STACK_SIZE + 64);
}

static void *stack_top(unsigned char *stack)
{
    return stack + STACK_SIZE;
}

/* A new stack with @ctx laid out at its top to enter @entry (CHECKs the
 * allocation: call it on the main stack); the case frees the stack. */
static unsigned char *stack_for(struct wt_context *ctx, void (*entry)(void *))
{
    unsigned char *s = stack_new();
    CHECK(s);
    wt_context_init(ctx, stack_top(s), entry);
    return s;
}

/* A fiber's last switch: back to main with @arg, never resumed. */
static _Noreturn void leave_for_main(struct wt_context *self, void *arg)
{
    wt_context_switch(self, &main_ctx, arg);
    abort();
}

static void *num(uintptr_t v)
{
    return (void *)v;
}

/*
 * Per-CPU probes, written in assembly so that the compiler cannot move the
 * registers they look at.
 *
 * ctx_test_regs_switch(from, to, arg, in, out) saves the callee-saved
 * registers of its caller, loads in[0..NREGS) into them, calls
 * wt_context_switch(from, to, arg), stores the same registers into out[],
 * restores its caller's and returns what the switch returned.
 *
 * ctx_test_entry_probe(arg) is a fiber entry that passes the stack pointer
 * it was entered with to ctx_test_entry_probe_c(arg, sp).
 *
 * ctl_read()/ctl_write() access the SSE MXCSR or the FPCR; CTL_FTZ is the
 * flush-to-zero bit in it.
 *
 * The assembly keeps one instruction per line, so clang-format is off there.
 */
void *ctx_test_regs_switch(struct wt_context *from, struct wt_context *to, void *arg,
                           const uint64_t *in, uint64_t *out);
void ctx_test_entry_probe(void *arg);
void ctx_test_entry_probe_c(void *arg, uintptr_t sp) __attribute__((used, visibility("hidden")));

#if defined(__x86_64__)

#if defined(__CET__)
#define ASM_ENDBR "endbr64\n"
#else
#define ASM_ENDBR ""
#endif

#define NREGS   6 /* rbx rbp r12 r13 r14 r15 */
#define CTL_FTZ (UINT32_C(1) << 15)

/* clang-format off */
__asm__(".text\n"
        ".globl ctx_test_regs_switch\n"
        ".hidden ctx_test_regs_switch\n"
        ".type ctx_test_regs_switch, @function\n"
        ".p2align 4\n"
        "ctx_test_regs_switch:\n"
        ".cfi_startproc\n"
        ASM_ENDBR
        "pushq %rbp\n"
        ".cfi_adjust_cfa_offset 8\n"
        ".cfi_rel_offset %rbp, 0\n"
        "pushq %rbx\n"
        ".cfi_adjust_cfa_offset 8\n"
        ".cfi_rel_offset %rbx, 0\n"
        "pushq %r12\n"
        ".cfi_adjust_cfa_offset 8\n"
        ".cfi_rel_offset %r12, 0\n"
        "pushq %r13\n"
        ".cfi_adjust_cfa_offset 8\n"
        ".cfi_rel_offset %r13, 0\n"
        "pushq %r14\n"
        ".cfi_adjust_cfa_offset 8\n"
        ".cfi_rel_offset %r14, 0\n"
        "pushq %r15\n"
        ".cfi_adjust_cfa_offset 8\n"
        ".cfi_rel_offset %r15, 0\n"
        "pushq %r8\n" /* out; 7 pushes leave rsp 16-aligned for the call */
        ".cfi_adjust_cfa_offset 8\n"
        "movq 0(%rcx), %rbx\n"
        "movq 8(%rcx), %rbp\n"
        "movq 16(%rcx), %r12\n"
        "movq 24(%rcx), %r13\n"
        "movq 32(%rcx), %r14\n"
        "movq 40(%rcx), %r15\n"
        "call wt_context_switch\n"
        "movq (%rsp), %rcx\n"
        "movq %rbx, 0(%rcx)\n"
        "movq %rbp, 8(%rcx)\n"
        "movq %r12, 16(%rcx)\n"
        "movq %r13, 24(%rcx)\n"
        "movq %r14, 32(%rcx)\n"
        "movq %r15, 40(%rcx)\n"
        "addq $8, %rsp\n"
        ".cfi_adjust_cfa_offset -8\n"
        "popq %r15\n"
        ".cfi_adjust_cfa_offset -8\n"
        ".cfi_restore %r15\n"
        "popq %r14\n"
        ".cfi_adjust_cfa_offset -8\n"
        ".cfi_restore %r14\n"
        "popq %r13\n"
        ".cfi_adjust_cfa_offset -8\n"
        ".cfi_restore %r13\n"
        "popq %r12\n"
        ".cfi_adjust_cfa_offset -8\n"
        ".cfi_restore %r12\n"
        "popq %rbx\n"
        ".cfi_adjust_cfa_offset -8\n"
        ".cfi_restore %rbx\n"
        "popq %rbp\n"
        ".cfi_adjust_cfa_offset -8\n"
        ".cfi_restore %rbp\n"
        "ret\n"
        ".cfi_endproc\n"
        ".size ctx_test_regs_switch, .-ctx_test_regs_switch\n"
        "\n"
        ".globl ctx_test_entry_probe\n"
        ".hidden ctx_test_entry_probe\n"
        ".type ctx_test_entry_probe, @function\n"
        ".p2align 4\n"
        "ctx_test_entry_probe:\n"
        ASM_ENDBR
        "movq %rsp, %rsi\n"
        "jmp ctx_test_entry_probe_c\n"
        ".size ctx_test_entry_probe, .-ctx_test_entry_probe\n");
/* clang-format on */

/* System V AMD64 ABI 3.2.2: rsp + 8 is a multiple of 16 on function entry. */
static bool sp_is_abi_aligned_at_entry(uintptr_t sp)
{
    return (sp + 8) % 16 == 0;
}

static uint32_t ctl_read(void)
{
    uint32_t v;
    __asm__ __volatile__("stmxcsr %0" : "=m"(v));
    return v;
}

static void ctl_write(uint32_t v)
{
    __asm__ __volatile__("ldmxcsr %0" : : "m"(v));
}

/* fesetround() sets both x87 and SSE rounding; fegetround() reads only the
 * x87 control word. Both must have come back together (same encoding). */
static bool sse_rounding_matches_x87(void)
{
    return ((ctl_read() >> 13) & 3) == (((unsigned)fegetround() >> 10) & 3);
}

#elif defined(__aarch64__)

#define NREGS   19 /* x19-x28, x29, d8-d15 */
#define CTL_FTZ (UINT32_C(1) << 24)

/* clang-format off */
__asm__(".text\n"
        ".globl ctx_test_regs_switch\n"
        ".hidden ctx_test_regs_switch\n"
        ".type ctx_test_regs_switch, %function\n"
        ".p2align 4\n"
        "ctx_test_regs_switch:\n"
        ".cfi_startproc\n"
        "bti c\n"
        "stp x29, x30, [sp, #-176]!\n"
        ".cfi_def_cfa_offset 176\n"
        ".cfi_offset x29, -176\n"
        ".cfi_offset x30, -168\n"
        "stp x19, x20, [sp, #16]\n"
        "stp x21, x22, [sp, #32]\n"
        "stp x23, x24, [sp, #48]\n"
        "stp x25, x26, [sp, #64]\n"
        "stp x27, x28, [sp, #80]\n"
        "stp d8, d9, [sp, #96]\n"
        "stp d10, d11, [sp, #112]\n"
        "stp d12, d13, [sp, #128]\n"
        "stp d14, d15, [sp, #144]\n"
        "str x4, [sp, #160]\n" /* out */
        ".cfi_offset x19, -160\n"
        ".cfi_offset x20, -152\n"
        ".cfi_offset x21, -144\n"
        ".cfi_offset x22, -136\n"
        ".cfi_offset x23, -128\n"
        ".cfi_offset x24, -120\n"
        ".cfi_offset x25, -112\n"
        ".cfi_offset x26, -104\n"
        ".cfi_offset x27, -96\n"
        ".cfi_offset x28, -88\n"
        ".cfi_offset d8, -80\n"
        ".cfi_offset d9, -72\n"
        ".cfi_offset d10, -64\n"
        ".cfi_offset d11, -56\n"
        ".cfi_offset d12, -48\n"
        ".cfi_offset d13, -40\n"
        ".cfi_offset d14, -32\n"
        ".cfi_offset d15, -24\n"
        "ldp x19, x20, [x3, #0]\n"
        "ldp x21, x22, [x3, #16]\n"
        "ldp x23, x24, [x3, #32]\n"
        "ldp x25, x26, [x3, #48]\n"
        "ldp x27, x28, [x3, #64]\n"
        "ldr x29, [x3, #80]\n"
        "ldp d8, d9, [x3, #88]\n"
        "ldp d10, d11, [x3, #104]\n"
        "ldp d12, d13, [x3, #120]\n"
        "ldp d14, d15, [x3, #136]\n"
        "bl wt_context_switch\n"
        "ldr x4, [sp, #160]\n"
        "stp x19, x20, [x4, #0]\n"
        "stp x21, x22, [x4, #16]\n"
        "stp x23, x24, [x4, #32]\n"
        "stp x25, x26, [x4, #48]\n"
        "stp x27, x28, [x4, #64]\n"
        "str x29, [x4, #80]\n"
        "stp d8, d9, [x4, #88]\n"
        "stp d10, d11, [x4, #104]\n"
        "stp d12, d13, [x4, #120]\n"
        "stp d14, d15, [x4, #136]\n"
        "ldp d14, d15, [sp, #144]\n"
        "ldp d12, d13, [sp, #128]\n"
        "ldp d10, d11, [sp, #112]\n"
        "ldp d8, d9, [sp, #96]\n"
        "ldp x27, x28, [sp, #80]\n"
        "ldp x25, x26, [sp, #64]\n"
        "ldp x23, x24, [sp, #48]\n"
        "ldp x21, x22, [sp, #32]\n"
        "ldp x19, x20, [sp, #16]\n"
        "ldp x29, x30, [sp], #176\n"
        ".cfi_def_cfa_offset 0\n"
        ".cfi_restore x29\n"
        ".cfi_restore x30\n"
        "ret\n"
        ".cfi_endproc\n"
        ".size ctx_test_regs_switch, .-ctx_test_regs_switch\n"
        "\n"
        ".globl ctx_test_entry_probe\n"
        ".hidden ctx_test_entry_probe\n"
        ".type ctx_test_entry_probe, %function\n"
        ".p2align 4\n"
        "ctx_test_entry_probe:\n"
        "bti c\n"
        "mov x1, sp\n"
        "b ctx_test_entry_probe_c\n"
        ".size ctx_test_entry_probe, .-ctx_test_entry_probe\n");
/* clang-format on */

/* AAPCS64 6.4.5.1: sp is a multiple of 16 at every public interface. */
static bool sp_is_abi_aligned_at_entry(uintptr_t sp)
{
    return sp % 16 == 0;
}

static uint32_t ctl_read(void)
{
    uint64_t v;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(v));
    return (uint32_t)v;
}

static void ctl_write(uint32_t v)
{
    __asm__ __volatile__("msr fpcr, %0" : : "r"((uint64_t)v));
}

static bool sse_rounding_matches_x87(void)
{
    return true; /* one FP unit, one control register */
}

#else
#error "context_test: no register probes for this CPU"
#endif

/* Ping-pong: main enters A, then A and B switch to each other N times, each
 * switch carrying a number that the other side checks. */
enum { PING_PONG_ROUNDS = 100000 };
static struct wt_context ping_ctx, pong_ctx;
static long ping_mismatches, pong_mismatches, pong_first_arg;

static void ping(void *arg)
{
    (void)arg;
    for (uintptr_t i = 0; i < PING_PONG_ROUNDS; i++) {
        void *r = wt_context_switch(&ping_ctx, &pong_ctx, num(2 * i));
        ping_mismatches += r != num(2 * i + 1);
    }
    leave_for_main(&ping_ctx, num(0xd0e));
}

static void pong(void *arg)
{
    pong_first_arg = (long)(uintptr_t)arg;
    void *v = arg;
    for (uintptr_t i = 0; i < PING_PONG_ROUNDS; i++) {
        pong_mismatches += v != num(2 * i);
        v = wt_context_switch(&pong_ctx, &ping_ctx, num(2 * i + 1));
    }
    abort(); /* ping leaves for main instead of resuming us */
}

/* Each switch returns, to the side it resumes, the arg its switcher passed:
 * 100000 round trips between two fibers, each value checked on arrival. */
TEST(ping_pong_passes_each_arg_to_the_resumed_side)
{
    unsigned char *sa = stack_for(&ping_ctx, ping), *sb = stack_for(&pong_ctx, pong);
    ping_mismatches = pong_mismatches = 0;
    pong_first_arg = -1;
    void *r = wt_context_switch(&main_ctx, &ping_ctx, NULL);
    EXPECT_EQ((uintptr_t)r, 0xd0e);
    EXPECT_EQ(pong_first_arg, 0);
    EXPECT_EQ(ping_mismatches, 0);
    EXPECT_EQ(pong_mismatches, 0);
    free(sa);
    free(sb);
}

/* A fresh context's entry gets the arg of the first switch into it. */
static struct wt_context fresh_ctx;
static void *fresh_got;

static void fresh_entry(void *arg)
{
    fresh_got = arg;
    leave_for_main(&fresh_ctx, num((uintptr_t)arg ^ 0x5eed));
}

TEST(fresh_context_entry_receives_first_switch_arg)
{
    unsigned char *s = stack_new();
    CHECK(s);
    int markers[3];
    for (int i = 0; i < 3; i++) { /* re-init the same stack each time */
        fresh_got = NULL;
        wt_context_init(&fresh_ctx, stack_top(s), fresh_entry);
        void *r = wt_context_switch(&main_ctx, &fresh_ctx, &markers[i]);
        EXPECT(fresh_got == &markers[i]);
        EXPECT_EQ((uintptr_t)r, (uintptr_t)&markers[i] ^ 0x5eed);
    }
    free(s);
}

/* Known values in every callee-saved register (and, on aarch64, x29 and
 * d8-d15) on both sides of a switch; each side must get its own back. Main
 * and fiber use different patterns, drawn from the run's seed, so a restore
 * from the wrong frame or a register left out shows. */
enum { REG_ROUNDS = 4 };
static struct wt_context regs_ctx;
static long regs_fiber_mismatches;

static void fill_pattern(uint64_t *r, uint64_t base)
{
    uint64_t x = base ^ tap_seed();
    for (int i = 0; i < NREGS; i++)
        r[i] = splitmix(&x);
}

static long count_mismatches(const uint64_t *in, const uint64_t *out)
{
    long n = 0;
    for (int i = 0; i < NREGS; i++)
        n += in[i] != out[i];
    return n;
}

static void regs_fiber(void *arg)
{
    (void)arg;
    uint64_t in[NREGS], out[NREGS];
    for (int round = 0; round < REG_ROUNDS; round++) {
        fill_pattern(in, UINT64_C(0xf1b0f1b000000000) + (uint64_t)round);
        memset(out, 0, sizeof out);
        ctx_test_regs_switch(&regs_ctx, &main_ctx, NULL, in, out);
        regs_fiber_mismatches += count_mismatches(in, out);
    }
    leave_for_main(&regs_ctx, NULL);
}

TEST(callee_saved_registers_survive_switches)
{
    unsigned char *s = stack_for(&regs_ctx, regs_fiber);
    regs_fiber_mismatches = 0;
    uint64_t in[NREGS], out[NREGS];
    for (int round = 0; round < REG_ROUNDS; round++) {
        fill_pattern(in, UINT64_C(0x3a1d3a1d00000000) + (uint64_t)round);
        memset(out, 0, sizeof out);
        ctx_test_regs_switch(&main_ctx, &regs_ctx, NULL, in, out);
        EXPECT_EQ(count_mismatches(in, out), 0);
    }
    wt_context_switch(&main_ctx, &regs_ctx, NULL); /* let the fiber check its last round */
    EXPECT_EQ(regs_fiber_mismatches, 0);
    free(s);
}

/* The same from compiled code: twelve values computed before a switch are
 * live after it, in whatever callee-saved registers or slots -O2 picks. */
static struct wt_context live_ctx;
static uint64_t live_fiber_result;

static __attribute__((noinline)) uint64_t mix_around(uint64_t seed, struct wt_context *from,
                                                     struct wt_context *to)
{
    volatile uint64_t s = seed; /* keep the values from being constant-folded */
    uint64_t v0 = s * 3, v1 = s ^ 0x55, v2 = s + 7, v3 = s * s, v4 = s >> 3, v5 = s << 5;
    uint64_t v6 = ~s, v7 = s * 11, v8 = s ^ (s >> 7), v9 = s + 99, v10 = s * 13, v11 = s - 1;
    if (from)
        wt_context_switch(from, to, NULL);
    return v0 + 3 * v1 + 5 * v2 + 7 * v3 + 11 * v4 + 13 * v5 + 17 * v6 + 19 * v7 + 23 * v8 +
           29 * v9 + 31 * v10 + 37 * v11;
}

static void live_fiber(void *arg)
{
    (void)arg;
    live_fiber_result = mix_around(0xabcdef, &live_ctx, &main_ctx);
    leave_for_main(&live_ctx, NULL);
}

TEST(live_values_survive_switches)
{
    unsigned char *s = stack_for(&live_ctx, live_fiber);
    /* main switches to the fiber inside mix_around, and the fiber switches
     * back from inside its own: both frames are suspended at once. */
    uint64_t got = mix_around(0x123457, &main_ctx, &live_ctx);
    EXPECT(got == mix_around(0x123457, NULL, NULL));
    wt_context_switch(&main_ctx, &live_ctx, NULL);
    EXPECT(live_fiber_result == mix_around(0xabcdef, NULL, NULL));
    free(s);
}

/* FP control state is per context: a rounding mode or flush-to-zero set in
 * one does not leak into the other, each finds its own after switching
 * back, and a fresh context starts from the ABI default whatever its
 * creator had. */
static struct wt_context fp_ctx;
static int fp_fresh_round, fp_later_round;
static uint32_t fp_fresh_ctl, fp_later_ctl;
static bool fp_fresh_sse_ok, fp_later_sse_ok;

static void fp_fiber(void *arg)
{
    (void)arg;
    fp_fresh_round = fegetround();
    fp_fresh_ctl = ctl_read();
    fp_fresh_sse_ok = sse_rounding_matches_x87();
    fesetround(FE_UPWARD);
    ctl_write(ctl_read() | CTL_FTZ);
    wt_context_switch(&fp_ctx, &main_ctx, NULL);
    fp_later_round = fegetround();
    fp_later_ctl = ctl_read();
    fp_later_sse_ok = sse_rounding_matches_x87();
    leave_for_main(&fp_ctx, NULL);
}

TEST(fp_control_state_is_per_context)
{
    unsigned char *s = stack_for(&fp_ctx, fp_fiber);
    int round0 = fegetround();
    uint32_t ctl0 = ctl_read();

    fesetround(FE_DOWNWARD);
    wt_context_switch(&main_ctx, &fp_ctx, NULL);
    EXPECT_EQ(fp_fresh_round, FE_TONEAREST);
    EXPECT_EQ(fp_fresh_ctl & CTL_FTZ, 0);
    EXPECT(fp_fresh_sse_ok);
    EXPECT_EQ(fegetround(), FE_DOWNWARD); /* the fiber's FE_UPWARD stayed there */
    EXPECT_EQ(ctl_read() & CTL_FTZ, 0);
    EXPECT(sse_rounding_matches_x87());

    fesetround(FE_TOWARDZERO);
    wt_context_switch(&main_ctx, &fp_ctx, NULL);
    EXPECT_EQ(fp_later_round, FE_UPWARD);
    EXPECT_EQ(fp_later_ctl & CTL_FTZ, CTL_FTZ);
    EXPECT(fp_later_sse_ok);
    EXPECT_EQ(fegetround(), FE_TOWARDZERO);
    EXPECT_EQ(ctl_read() & CTL_FTZ, 0);
    EXPECT(sse_rounding_matches_x87());

    fesetround(round0);
    ctl_write(ctl0);
    free(s);
}

/* The entry is called with the stack aligned as the ABI requires, for any
 * alignment of the top it was given, and nothing at or above that top is
 * written. */
static struct wt_context probe_ctx;
static uintptr_t probe_sp;
static void *probe_arg;

void ctx_test_entry_probe_c(void *arg, uintptr_t sp)
{
    probe_arg = arg;
    probe_sp = sp;
    leave_for_main(&probe_ctx, NULL);
}

TEST(entry_stack_is_abi_aligned_and_below_top)
{
    unsigned char *s = stack_new();
    CHECK(s);
    for (uintptr_t skew = 0; skew < 16; skew++) {
        unsigned char *top = (unsigned char *)stack_top(s) - skew;
        memset(top, 0xa5, 32);
        probe_sp = 0;
        wt_context_init(&probe_ctx, top, ctx_test_entry_probe);
        wt_context_switch(&main_ctx, &probe_ctx, num(skew + 1));
        EXPECT_EQ((uintptr_t)probe_arg, skew + 1);
        EXPECT(sp_is_abi_aligned_at_entry(probe_sp));
        EXPECT(probe_sp < (uintptr_t)top && probe_sp > (uintptr_t)top - 256);
        int clobbered = 0;
        for (int i = 0; i < 32; i++)
            clobbered += top[i] != 0xa5;
        EXPECT_EQ(clobbered, 0);
    }
    free(s);
}

/* glibc's backtrace() inside a fiber ends at the trampoline: the CFI marks
 * its return address undefined, so the unwinder stops there instead of
 * reading whatever lies above the fiber's stack. */
enum { BT_MAX = 64 };
static struct wt_context bt_ctx;
static void *bt_frames[BT_MAX];
static int bt_count;

static __attribute__((noinline)) void bt_leaf(void)
{
    bt_count = backtrace(bt_frames, BT_MAX);
    __asm__ __volatile__("" ::: "memory"); /* not a tail call */
}

static __attribute__((noinline)) void bt_middle(void)
{
    bt_leaf();
    __asm__ __volatile__("" ::: "memory");
}

static void bt_fiber(void *arg)
{
    (void)arg;
    bt_middle();
    leave_for_main(&bt_ctx, NULL);
}

TEST(backtrace_in_fiber_stops_at_trampoline)
{
    unsigned char *s = stack_for(&bt_ctx, bt_fiber);
    /* The first backtrace() loads libgcc_s; do that on the main stack,
     * which is far larger than a fiber's. */
    void *warm[4];
    EXPECT(backtrace(warm, 4) > 0);
    bt_count = -1;
    wt_context_switch(&main_ctx, &bt_ctx, NULL);
    /* bt_leaf, bt_middle, bt_fiber, the trampoline; at most a frame or two
     * more for backtrace() itself. */
    printf("# backtrace in fiber: %d frames\n", bt_count);
    CHECK(bt_count >= 4 && bt_count <= 8);
    uintptr_t last = (uintptr_t)bt_frames[bt_count - 1];
    uintptr_t tramp = (uintptr_t)wt_context_trampoline;
    EXPECT(last > tramp && last - tramp < 32);
    free(s);
}

TAP_MAIN()
