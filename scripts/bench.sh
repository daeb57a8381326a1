#!/bin/sh
# bench.sh - the README's benchmark command: on a fresh Debian 12 machine,
# install what is missing, make a release build in build-release, and run
# scripts/bench.py (weft against Go, Boost.Fiber and oneTBB, interleaved).
#
#   scripts/bench.sh [bench.py arguments...]     e.g. --reps 11, --plot bench.png, fib
#
# WEFT_NO_PEERS=1 installs no peer toolchains (peers already installed are
# still built and run; bench.py says which it skipped and why). Installing
# needs root (or sudo); nothing is installed when nothing is missing. The
# default run takes a few minutes on two cores.
set -eu

cd "$(dirname "$0")/.."

scripts/deps.sh build bench

if [ -f build-release/meson-private/coredata.dat ]; then
    meson setup --reconfigure build-release --buildtype=release -Dtests=false -Dbench=true
else
    meson setup build-release --buildtype=release -Dtests=false -Dbench=true
fi
ninja -C build-release

exec python3 scripts/bench.py --build build-release "$@"
