#!/usr/bin/env bash
# Run the API fuzzer (tests/fuzz/, driver api_fuzz.c; docs/TESTING.md, "Fuzzing")
# for SECONDS (default 60): installs clang-14 and libFuzzer (scripts/deps.sh
# fuzz), builds build-fuzzer (clang, -Dfuzzer=true, ASan+UBSan), copies the
# seed corpus into a scratch corpus, fuzzes with 2 jobs' worth of patience
# on one process, and prints the executions, exec/s and coverage. Exits
# non-zero on a crash (or leak, timeout, OOM) and prints the crash file's
# path; replay one with build-fuzzer/tests/fuzz/api_fuzz FILE (or any
# build's fuzz_replay FILE).
#
#   scripts/fuzz.sh [SECONDS]
#   WEFT_FUZZ_CORPUS=DIR scripts/fuzz.sh   keep the grown corpus in DIR
set -uo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
scripts/deps.sh build fuzz || exit 1

dir=build-fuzzer
setup=(-Dfuzzer=true -Db_sanitize=address,undefined -Db_lundef=false -Dbench=false)
if [ -d "$dir" ]; then
    CC=clang-14 meson setup --reconfigure "$dir" "${setup[@]}" >/dev/null
else
    CC=clang-14 meson setup "$dir" "${setup[@]}" >/dev/null
fi || { echo "fuzz.sh: meson setup failed"; exit 1; }
ninja -C "$dir" tests/fuzz/api_fuzz || { echo "fuzz.sh: build failed"; exit 1; }

corpus="${WEFT_FUZZ_CORPUS:-}"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/weft-fuzz.XXXXXX")
[ -n "$corpus" ] || corpus="$scratch/corpus"
mkdir -p "$corpus" "$scratch/artifacts"
cp tests/fuzz/corpus/* "$corpus"/
log="$scratch/fuzz.log"
echo "== fuzzing for ${secs}s: corpus $corpus, log $log"
# -timeout: an input runs in well under a second; a hang is a finding.
# -rss_limit_mb: the runtime maps up to 1 GiB stacks (MAP_NORESERVE) but
# touches little of them. UBSan stops at its first report (a crash).
start=$SECONDS
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
    "$dir"/tests/fuzz/api_fuzz -max_total_time="$secs" -max_len=512 -len_control=0 -timeout=20 \
    -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$scratch/artifacts/" \
    "$corpus" >"$log" 2>&1
rc=$?
took=$((SECONDS - start))
grep -E '^#[0-9]+.*(INITED|DONE)|stat::' "$log"
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*/\1 edges, \2 features/p')
size=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -n 's/.*corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p')
echo "== fuzz: ${execs:-?} executions in ${took}s, ${rate:-?} exec/s, coverage ${cov:-?}, corpus ${size:-?} (inputs/bytes)"
crash=$(ls "$scratch"/artifacts/* 2>/dev/null | head -1)
if [ "$rc" -ne 0 ] || [ -n "$crash" ]; then
    grep -E 'api_fuzz:|ERROR:|SUMMARY:' "$log" | head -20
    echo "== fuzz: FAILED (exit $rc); crash file: ${crash:-none}; log: $log"
    exit 1
fi
echo "== fuzz: no crash"
[ -n "${WEFT_FUZZ_CORPUS:-}" ] || rm -rf "$scratch"
