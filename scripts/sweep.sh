#!/bin/sh
# sweep.sh - the scaling sweep for a many-core machine (issue #5): a release
# build with LTO, then the fiber workloads at 1, 2, 4, 8 and 16 workers
# against every installed peer, interleaved, with a CSV of every sample, a
# PNG of the scaling curves (when gnuplot is there) and the machine's
# description, all in one folder.
#
#   scripts/sweep.sh [OUTDIR] [bench.py options...]
#
#   OUTDIR   default: bench/results/sweep-<host>-<date>
#   e.g.     scripts/sweep.sh "$OUT" --reps 11
#            WEFT_SWEEP_WORKERS=1,2 WEFT_SWEEP_BENCHES="fib35 skynet" \
#                scripts/sweep.sh /tmp/s --reps 3
#
# Installs nothing (the 16-core machine has no network): a peer whose
# toolchain is missing is skipped by bench.py with a note, and so is the
# plot without gnuplot. WEFT_SWEEP_WORKERS overrides the default worker
# list (1,2,4,8,16, cut to the usable cores). The default workloads are the
# fork-join and scheduler ones whose scaling the core issue asks about
# (fib at n=35, skynet, spawn, uts) plus the channel and mutex ones;
# WEFT_SWEEP_BENCHES names others ("fib35" is fib at n=35).
set -eu

cd "$(dirname "$0")/.."

out=${1:-bench/results/sweep-$(hostname)-$(date +%Y%m%d-%H%M)}
[ $# -gt 0 ] && shift
mkdir -p "$out"

cores=$(nproc)
workers=${WEFT_SWEEP_WORKERS:-}
if [ -z "$workers" ]; then
    workers=1
    for w in 2 4 8 16; do
        [ "$w" -le "$cores" ] && workers="$workers,$w"
    done
fi

opts="--buildtype=release -Db_lto=true -Dtests=false -Dbench=true"
if [ -f build-sweep/meson-private/coredata.dat ]; then
    # shellcheck disable=SC2086 # one word per option
    meson setup --reconfigure build-sweep $opts >/dev/null
else
    # shellcheck disable=SC2086
    meson setup build-sweep $opts >/dev/null
fi
ninja -C build-sweep >/dev/null

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "host: $(hostname), $(nproc) usable cores"
    grep -m1 'model name' /proc/cpuinfo 2>/dev/null || true
    if command -v lscpu >/dev/null; then
        lscpu | grep -E '^(Socket|Core|Thread|NUMA node\(s\))' || true
    fi
    if command -v lstopo-no-graphics >/dev/null; then
        lstopo-no-graphics --no-io --of console 2>/dev/null | head -40 || true
    fi
    echo "kernel: $(uname -sr)"
    echo "cc: $(cc --version | head -1)"
    command -v go >/dev/null && echo "go: $(go version)" || echo "go: not installed"
    cat build-sweep/bench/peers/peers.txt 2>/dev/null || true
    echo "workers: $workers"
} >"$out/machine.txt"
cat "$out/machine.txt"

# bench.py options pass through; the workloads are WEFT_SWEEP_BENCHES, by
# default fib at n=35 (the core issue's scaling figure; a run of its own,
# since --n applies to every workload) and then the others at their
# default sizes.
benches=${WEFT_SWEEP_BENCHES:-fib35 skynet spawn uts chan4 mutex pingpong-x}
rest=
for b in $benches; do
    if [ "$b" = fib35 ]; then
        # Boost.Fiber takes minutes per run of fib(35) (about 3 us per
        # fiber): the scaling comparison is against oneTBB and Go.
        python3 scripts/bench.py --build build-sweep --workers "$workers" \
            --csv "$out/fib35.csv" --plot "$out/fib35.png" --peers "${WEFT_SWEEP_FIB_PEERS:-tbb,go}" \
            "$@" --n 35 fib |
            tee "$out/fib35.txt"
    else
        rest="$rest $b"
    fi
done
if [ -n "$rest" ]; then
    # shellcheck disable=SC2086 # one word per workload
    python3 scripts/bench.py --build build-sweep --workers "$workers" \
        --csv "$out/sweep.csv" --plot "$out/sweep.png" "$@" $rest | tee "$out/table.txt"
fi
echo "sweep.sh: results in $out"
