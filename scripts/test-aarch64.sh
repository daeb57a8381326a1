#!/usr/bin/env bash
# test-aarch64.sh - build the whole test suite for aarch64 and run it under
# qemu-user, then run the freestanding BTI check. For CI and by hand:
#
#   scripts/test-aarch64.sh
#
# 1. Installs what is missing (asks dpkg first; apt-get update only when
#    something is missing): the cross compiler, qemu-user, and from Debian
#    multiarch the arm64 libhwloc-dev (which pulls libc6:arm64) and
#    pkgconf:arm64, which provides /usr/bin/aarch64-linux-gnu-pkg-config
#    (the amd64 pkgconf binary with the arm64 personality, which searches
#    /usr/lib/aarch64-linux-gnu/pkgconfig, not the amd64 directory).
# 2. Configures build-aarch64 (its own directory; the native ones are not
#    touched) afresh with scripts/cross-aarch64.txt, removing it first if it
#    exists, and builds it.
# 3. meson test under the cross file's exe_wrapper (qemu-aarch64 -cpu max), the spin models left out
#    (they run on the host in the normal suite),
#    with more time and smaller stress tests (WEFT_STRESS_SCALE).
# 4. scripts/test-aarch64-bti.sh.
#
# Exits non-zero if any step fails; every step still runs where it can, so
# one failure does not hide another. Environment: WEFT_AARCH64_BUILDDIR
# (default build-aarch64), WEFT_STRESS_SCALE (default 0.2),
# WEFT_AARCH64_TIMEOUT_MULTIPLIER (default 2).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

dir=${WEFT_AARCH64_BUILDDIR:-build-aarch64}
export WEFT_STRESS_SCALE=${WEFT_STRESS_SCALE:-0.2}
# The tests' own timeouts (300 s) are far above what they take under qemu
# (40 s at most at WEFT_STRESS_SCALE=0.2); doubling them covers a slower CI
# machine without letting a hang eat the CI budget.
mult=${WEFT_AARCH64_TIMEOUT_MULTIPLIER:-2}
start=$SECONDS
# The wrapper relies on qemu mapping no paths (see the cross file).
unset QEMU_LD_PREFIX
status=0

# run CMD...: print the command, then run it.
run() {
    echo "+ $*"
    "$@"
}

step() {
    echo "== test-aarch64: $*"
}

fail() {
    echo "== test-aarch64: FAILED: $*"
    status=1
}

# --- 1. packages -----------------------------------------------------------
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi

# Multiarch: the arm64 packages need the foreign architecture, and the
# package lists for it, before dpkg -s can tell anything.
need_update=0
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    step "adding the arm64 architecture"
    run $sudo dpkg --add-architecture arm64 || exit 1
    need_update=1
fi

pkgs=(meson ninja-build pkg-config gcc
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu qemu-user
      libhwloc-dev:arm64 pkgconf:arm64)
missing=()
for p in "${pkgs[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    step "installing ${missing[*]}"
    need_update=1
fi
if [ "$need_update" -eq 1 ]; then
    run $sudo apt-get update -qq || exit 1
fi
if [ ${#missing[@]} -gt 0 ]; then
    # Installing an arm64 library can upgrade its amd64 twin: Multi-Arch:
    # same packages must have the same version on both architectures.
    run $sudo env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" || exit 1
fi

# --- 2. configure and build --------------------------------------------------
# Benchmarks stay out: the peers need cross Go/Boost/TBB, and none of them
# is a test.
setup=(--cross-file scripts/cross-aarch64.txt -Dwerror=true -Dbench=false)
# A fresh directory each time: --wipe would keep the options of an earlier
# setup (a sanitizer, say); rm -rf leaves nothing of an earlier run.
case "$dir" in
'' | / | . | .. | build | build-asan | build-tsan | build-valgrind)
    echo "test-aarch64: refusing to use '$dir' as the aarch64 build directory" >&2
    exit 2 ;;
esac
if [ -e "$dir/meson.build" ]; then
    echo "test-aarch64: '$dir' looks like a source directory" >&2
    exit 2
fi
step "configure $dir"
if [ -e "$dir" ]; then
    run rm -rf "$dir"
fi
run meson setup "$dir" "${setup[@]}" || { fail "meson setup $dir"; dir=; }

if [ -n "$dir" ]; then
    step "build $dir"
    rm -f "$dir/meson-logs/testlog.json"
    if run ninja -C "$dir"; then
        # --- 3. the meson suite under qemu ---------------------------------
        step "meson test under qemu (WEFT_STRESS_SCALE=$WEFT_STRESS_SCALE)"
        run meson test -C "$dir" --num-processes 2 --print-errorlogs --no-suite model --no-suite lint \
            --timeout-multiplier "$mult" || fail "meson test -C $dir"
    else
        fail "ninja -C $dir"
    fi
fi

# --- 4. BTI ------------------------------------------------------------------
step "BTI check"
run scripts/test-aarch64-bti.sh || fail "scripts/test-aarch64-bti.sh"

if [ "$status" -eq 0 ]; then
    step "all passed in $((SECONDS - start))s"
else
    step "failed after $((SECONDS - start))s"
fi
exit "$status"
