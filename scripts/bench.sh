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

# Release with link-time optimisation: weft's hot paths cross files (fiber,
# scheduler, stack pools), and LTO lets them inline (yield ~16 -> ~11 ns,
# fib(30) ~90 -> ~76 ns/spawn on the 2-core machine). The suite is also run
# at -O2 -flto on x86-64 and aarch64 (PLATFORM.md: TLS caching).
opts="--buildtype=release -Db_lto=true -Dtests=false -Dbench=true"
if [ -f build-release/meson-private/coredata.dat ]; then
    # shellcheck disable=SC2086 # one word per option
    meson setup --reconfigure build-release $opts
else
    # shellcheck disable=SC2086
    meson setup build-release $opts
fi
ninja -C build-release

exec python3 scripts/bench.py --build build-release "$@"
