#!/usr/bin/env bash
# The README's test command: installs what is missing, then builds and runs
# every test in five configurations (normal with the spin models, release
# with LTO, ASan+UBSan, TSan, aarch64 under qemu) plus a valgrind pass, the
# fault sweeps (tests/fault, -Dfault_injection=true under ASan+UBSan), a
# minute of libFuzzer and a minute of soak, and ends with the line
# "N passed, N failed" counting test programs over all.
#
#   scripts/test.sh            everything
#   scripts/test.sh normal     only the listed parts: normal lto asan tsan valgrind aarch64 fault
#                              fuzz soak
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build test || exit 1

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(normal lto asan tsan valgrind aarch64 fault fuzz soak)
passed=0
failed=0

# count BUILDDIR [SETUP]: add the results of BUILDDIR's last meson test run.
count() {
    local log="$1/meson-logs/testlog${2:+-$2}.json" p f
    if [ ! -f "$log" ]; then
        failed=$((failed + 1))
        return
    fi
    p=$(grep -c '"result": "\(OK\|SKIP\|EXPECTEDFAIL\)"' "$log")
    f=$(grep -c '"result": "\(FAIL\|ERROR\|TIMEOUT\|UNEXPECTEDPASS\)"' "$log")
    echo "== $1: $p passed, $f failed"
    passed=$((passed + p))
    failed=$((failed + f))
}

# suite BUILDDIR MESON_SETUP_ARGS... -- MESON_TEST_ARGS...
suite() {
    local dir="$1" setup=() test=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do setup+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    test=("$@")
    local name="" i
    for ((i = 0; i < ${#test[@]}; i++)); do
        [ "${test[$i]}" = --setup ] && name="${test[$((i + 1))]}"
    done
    echo "== $dir: meson setup ${setup[*]}"
    rm -f "$dir"/meson-logs/testlog*.json
    if [ -d "$dir" ]; then
        meson setup --reconfigure "$dir" "${setup[@]}" >/dev/null
    else
        meson setup "$dir" "${setup[@]}" >/dev/null
    fi || { failed=$((failed + 1)); return; }
    if ! ninja -C "$dir"; then
        failed=$((failed + 1))
        return
    fi
    meson test -C "$dir" --num-processes 2 --print-errorlogs "${test[@]}"
    count "$dir" "$name"
}

for part in "${parts[@]}"; do
    case "$part" in
    normal)
        suite build -Dwerror=true -- ;;
    lto)
        # -O2/-O3 with -flto is where a compiler may cache a thread-local's
        # address across a fiber switch (PLATFORM.md); asserts stay on.
        suite build-lto --buildtype=release -Db_lto=true -Db_ndebug=false -Dbench=false \
            -- --no-suite model --no-suite lint ;;
    asan)
        suite build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbench=false \
            -- --setup sanitized --no-suite model --no-suite lint ;;
    tsan)
        suite build-tsan -Db_sanitize=thread -Db_lundef=false -Dbench=false \
            -- --setup sanitized --no-suite model --no-suite lint ;;
    valgrind)
        # valgrind runs one thread at a time, so tests that busy-wait for
        # another worker (fiber, foreign, runtime's abandonment cases,
        # million's crowd of spinners) and the timing ones stay out; the
        # rest run under memcheck, million_live for a mass of parked fibers.
        suite build-valgrind -Dbench=false \
            -- --setup valgrind misuse fls park_wake spawn_tree million_live stack timer ;;
    fault)
        # Every allocation, mapping, thread start and resource-bound system
        # call fails in turn (docs/TESTING.md, "Fault sweeps"); ASan's leak
        # check runs at the end of each sweep's process.
        suite build-fault -Dfault_injection=true -Db_sanitize=address,undefined \
            -Db_lundef=false -Dbench=false -- --suite fault --setup sanitized ;;
    fuzz)
        # libFuzzer (clang) over sequences of public calls for a minute,
        # from the seed corpus (docs/TESTING.md, "Fuzzing"); the corpus
        # itself replays as a test in every build above.
        echo "== fuzz: scripts/fuzz.sh 60"
        if scripts/fuzz.sh 60; then passed=$((passed + 1)); else failed=$((failed + 1)); fi ;;
    soak)
        # The mixed workload of tests/soak for a minute (the normal part
        # runs it for 5 s): conservation, fds and RSS over time
        # (docs/TESTING.md, "Soak"). scripts/soak.sh runs it for 10 minutes.
        WEFT_SOAK_SECONDS=60 suite build -Dwerror=true -- --suite soak --num-processes 1 ;;
    aarch64)
        echo "== aarch64 (qemu)"
        if scripts/test-aarch64.sh; then :; else echo "== aarch64: failed"; fi
        count build-aarch64 ;;
    *)
        echo "test.sh: unknown part '$part'" >&2
        failed=$((failed + 1)) ;;
    esac
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
