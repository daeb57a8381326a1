#!/usr/bin/env bash
# Install, with apt-get, whatever the given jobs need and this machine lacks.
# Jobs: build (always), test, bench, fuzz (clang and libFuzzer, for
# scripts/fuzz.sh), screenshot (chromium, for scripts/trace-screenshot.sh).
# Idempotent: asks dpkg first and runs apt-get update only when something
# is missing.
set -euo pipefail

pkgs=(meson ninja-build pkg-config libhwloc-dev gcc python3)
for job in "$@"; do
    case "$job" in
    build) ;;
    test) pkgs+=(spin valgrind hwloc clang-format gdb) ;;
    bench)
        pkgs+=(g++)
        [ "${WEFT_NO_PEERS:-0}" = 1 ] ||
            pkgs+=(golang-go libboost-fiber-dev libboost-context-dev libtbb-dev gnuplot-nox) ;;
    screenshot) pkgs+=(chromium) ;;
    fuzz) pkgs+=(clang-14 libclang-rt-14-dev) ;;
    *) echo "deps.sh: unknown job '$job' (build, test, bench, fuzz, screenshot)" >&2; exit 2 ;;
    esac
done

missing=()
for p in "${pkgs[@]}"; do
    # dpkg-query, not dpkg -s: the latter fails on a name installed for two
    # architectures (libhwloc-dev for amd64 and arm64, see test-aarch64.sh).
    n=$(dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -c "install ok installed" || true)
    [ "$n" -gt 0 ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps.sh: installing ${missing[*]}"
    if [ "$(id -u)" -eq 0 ]; then
        sudo=
    elif command -v sudo >/dev/null 2>&1; then
        sudo=sudo
    else
        echo "deps.sh: need root (or sudo) to install ${missing[*]}" >&2
        exit 1
    fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
