#!/usr/bin/env bash
# test-aarch64-bti.sh - run the aarch64 context switch with BTI enforced.
#
# qemu-aarch64 -cpu max enforces BTI only in a binary whose every object
# carries the BTI property note, and Debian's crt1.o and libc do not, so the
# ordinary tests run with BTI off. This builds a freestanding static binary
# (own _start, raw exit syscall, no libc) from arch/aarch64/switch.S,
# arch/aarch64/context.c and a small driver, all with
# -mbranch-protection=standard, checks with readelf that it claims BTI, and
# runs it: the driver calls wt_context_switch through a pointer (blr, so its
# landing pad is checked) into a fiber that the trampoline enters with blr.
#
# A negative control proves the check is real: the same binary with a fiber
# entry that has no landing pad must die of SIGILL. If it does not, qemu is
# not enforcing BTI and a pass would mean nothing, so that fails too.
#
# Usage: scripts/test-aarch64-bti.sh   (CC, READELF, QEMU override the tools)
# Exit: 0 on success, 1 on failure, 77 (skip) if the tools are missing.
set -u

CC=${CC:-aarch64-linux-gnu-gcc}
READELF=${READELF:-aarch64-linux-gnu-readelf}
QEMU=${QEMU:-qemu-aarch64}
root=$(cd "$(dirname "$0")/.." && pwd)

for tool in "$CC" "$READELF" "$QEMU"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIP: aarch64 BTI test: $tool not found"
        exit 77
    fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/driver.c" <<'EOF'
/* Freestanding driver: switch into a fiber and back, passing args both
 * ways; exit 0 if every value arrived, else the number of the check. */
#include <stddef.h>
#include <stdint.h>

#include "context.h"

#define ROUNDS 1000

/* _start: the kernel enters with sp 16-aligned and BTYPE clear; bti c
 * is there so the object needs no exemption. */
__asm__(".text\n"
        ".globl _start\n"
        ".type _start, %function\n"
        "_start:\n"
        "bti c\n"
        "mov x29, xzr\n"
        "mov x30, xzr\n"
        "bl driver_main\n"
        "mov x8, #93\n" /* exit */
        "svc #0\n"
        ".size _start, .-_start\n");

int driver_main(void);

/* context.c calls these; no libc here. */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;
    while (n--)
        *p++ = (unsigned char)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

static _Alignas(16) unsigned char stack[16384];
static struct wt_context main_ctx, fib_ctx;
static uintptr_t first_arg, bad_args;

/* Called through a pointer so that the call is a blr: wt_context_switch
 * must start with a landing pad. */
static void *(*volatile switch_fn)(struct wt_context *, struct wt_context *, void *) =
    wt_context_switch;

#ifdef NO_LANDING_PAD
/* Negative control: a fiber entry without bti c. The trampoline reaches
 * it with blr, so BTI must raise SIGILL on its first instruction. */
void fiber(void *arg);
__asm__(".text\n"
        ".globl fiber\n"
        ".type fiber, %function\n"
        "fiber:\n"
        "mov x0, #42\n"
        "mov x8, #93\n"
        "svc #0\n"
        ".size fiber, .-fiber\n");
#else
static void fiber(void *arg)
{
    first_arg = (uintptr_t)arg;
    for (uintptr_t i = 0;; i++) {
        void *r = switch_fn(&fib_ctx, &main_ctx, (void *)(2 * i + 1));
        bad_args += r != (void *)(2 * i + 2);
    }
}
#endif

int driver_main(void)
{
    wt_context_init(&fib_ctx, stack + sizeof stack, fiber);
    for (uintptr_t i = 0; i < ROUNDS; i++) {
        void *r = switch_fn(&main_ctx, &fib_ctx, (void *)(2 * i));
        bad_args += r != (void *)(2 * i + 1);
    }
    if (first_arg != 0)
        return 2;
    if (bad_args != 0)
        return 3;
    return 0;
}
EOF

flags="-std=c11 -O2 -Wall -Wextra -Werror -ffreestanding -fno-builtin
       -fno-tree-loop-distribute-patterns -fno-stack-protector -fno-pie -no-pie
       -mbranch-protection=standard -nostdlib -static
       -I $root/runtime -I $root/arch/aarch64"
srcs="$tmp/driver.c $root/arch/aarch64/switch.S $root/arch/aarch64/context.c"

# shellcheck disable=SC2086 # flags and srcs are word lists
if ! "$CC" $flags $srcs -o "$tmp/bti" ||
    ! "$CC" $flags -DNO_LANDING_PAD $srcs -o "$tmp/bti-neg"; then
    echo "FAIL: aarch64 BTI test: build failed"
    exit 1
fi

if ! "$READELF" -n "$tmp/bti" | grep -q 'AArch64 feature: .*BTI'; then
    echo "FAIL: aarch64 BTI test: binary lacks the BTI property note:"
    "$READELF" -n "$tmp/bti"
    exit 1
fi

# No core file from the expected crash (qemu-user writes one to the cwd).
(
    ulimit -c 0
    cd "$tmp" && "$QEMU" -cpu max ./bti-neg
) 2>/dev/null
rc=$?
if [ "$rc" -ne 132 ]; then # 128 + SIGILL
    echo "FAIL: aarch64 BTI test: negative control exited $rc, not SIGILL:" \
        "qemu is not enforcing BTI, so the real run would prove nothing"
    exit 1
fi

"$QEMU" -cpu max "$tmp/bti"
rc=$?
if [ "$rc" -ne 0 ]; then
    echo "FAIL: aarch64 BTI test: switch under enforced BTI exited $rc" \
        "(132: SIGILL, a missing landing pad; 139: SIGSEGV, e.g. PAC)"
    exit 1
fi
echo "PASS: aarch64 BTI test: switch and trampoline run under enforced BTI" \
    "(negative control got SIGILL)"
exit 0
