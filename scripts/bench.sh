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

need="meson ninja-build pkg-config libhwloc-dev gcc g++ python3"
if [ "${WEFT_NO_PEERS:-0}" != 1 ]; then
    need="$need golang-go libboost-fiber-dev libboost-context-dev libtbb-dev gnuplot-nox"
fi

# Installed, not merely known to dpkg (removed packages keep a status). A
# package installed for two architectures needs the native one named.
installed() {
    dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed' ||
        dpkg -s "$1:$(dpkg --print-architecture)" 2>/dev/null |
        grep -q '^Status: install ok installed'
}

missing=""
for pkg in $need; do
    if ! installed "$pkg"; then
        missing="$missing $pkg"
    fi
done

if [ -n "$missing" ]; then
    echo "bench.sh: installing:$missing"
    if [ "$(id -u)" = 0 ]; then
        sudo=""
    elif command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        echo "bench.sh: need root (or sudo) to install:$missing" >&2
        exit 1
    fi
    $sudo apt-get update
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends $missing
fi

if [ -f build-release/meson-private/coredata.dat ]; then
    meson setup --reconfigure build-release --buildtype=release -Dtests=false -Dbench=true
else
    meson setup build-release --buildtype=release -Dtests=false -Dbench=true
fi
ninja -C build-release

exec python3 scripts/bench.py --build build-release "$@"
