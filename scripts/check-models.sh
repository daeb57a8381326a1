#!/bin/sh
# check-models.sh - model-check every tests/model/*.pml with spin (safety:
# assertions and invalid end states), each in its own temporary directory,
# and report one TAP line per model. Exits non-zero if any model fails.
# meson runs it with protocol 'tap'; by hand:
#
#   scripts/check-models.sh [MODEL_DIR]     (default: tests/model)
#
# A failing model's directory, with pan's output and trail, is kept and named;
# replay the trail there with `spin -t -p MODEL.pml`. Without spin or a C
# compiler the whole plan is skipped (TAP "1..0 # SKIP").
set -u

here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$here/../tests/model}
cc=${CC:-cc}

if ! command -v spin >/dev/null 2>&1; then
    echo "1..0 # SKIP spin is not installed"
    exit 0
fi
if ! command -v "$cc" >/dev/null 2>&1; then
    echo "1..0 # SKIP no C compiler ($cc) to build pan"
    exit 0
fi

n=0
for model in "$dir"/*.pml; do
    [ -e "$model" ] && n=$((n + 1))
done
echo "1..$n"
[ "$n" -gt 0 ] || exit 0

i=0
failed=0
for model in "$dir"/*.pml; do
    i=$((i + 1))
    name=$(basename "$model")
    work=$(mktemp -d "${TMPDIR:-/tmp}/weft-model.XXXXXX") || exit 1
    cp "$model" "$work/" || exit 1
    start=$(date +%s)
    (
        cd "$work" &&
            spin -a "$name" >spin.log 2>&1 &&
            "$cc" -O2 -DSAFETY -DCOLLAPSE -o pan pan.c >cc.log 2>&1 &&
            ./pan -m100000 >pan.log 2>&1
    )
    rc=$?
    secs=$(($(date +%s) - start))
    log=$work/pan.log
    ok=1
    if [ "$rc" -ne 0 ] || [ ! -f "$log" ]; then
        ok=0
    elif ! grep -q "errors: 0" "$log"; then
        ok=0
    elif grep -q "max search depth too small\|search not completed" "$log"; then
        ok=0
    fi
    states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$log" 2>/dev/null)
    echo "# $name: ${states:-?} states stored, ${secs}s"
    if [ "$ok" -eq 1 ]; then
        echo "ok $i - $name"
        rm -rf "$work"
    else
        failed=$((failed + 1))
        for f in spin.log cc.log; do
            [ -f "$work/$f" ] && grep -v '^$' "$work/$f" | tail -n 15 | sed 's/^/# /'
        done
        [ -f "$log" ] && grep -i 'pan:.*\(violated\|error\)\|errors:\|depth too small' "$log" |
            head -n 10 | sed 's/^/# /'
        echo "# kept $work"
        echo "not ok $i - $name"
    fi
done
[ "$failed" -eq 0 ]
