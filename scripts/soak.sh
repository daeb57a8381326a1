#!/bin/sh
# soak.sh - issue #7's soak on demand: a release build in build-soak-release,
# then tests/soak/soak for SECONDS (default 600) with its output as it goes:
# one line per few seconds (RSS, fds, counts), the conservation checks as
# TAP, a summary line. Exit status 0 when every check passed.
#
#   scripts/soak.sh [SECONDS]          e.g. scripts/soak.sh 3600
#
# WEFT_TEST_SEED replays a seed's choices; WEFT_WORKERS fixes the worker
# count (else 2..4 from the seed). CI runs the same test for 60 s from the
# normal build (docs/TESTING.md, "Soak").
set -eu

cd "$(dirname "$0")/.."
seconds="${1:-600}"
case "$seconds" in
'' | *[!0-9]*)
    echo "soak.sh: SECONDS must be a whole number, got '$seconds'" >&2
    exit 2
    ;;
esac

scripts/deps.sh build

dir=build-soak-release
opts="--buildtype=release -Dbench=false"
if [ -f "$dir/meson-private/coredata.dat" ]; then
    # shellcheck disable=SC2086 # one word per option
    meson setup --reconfigure "$dir" $opts >/dev/null
else
    # shellcheck disable=SC2086
    meson setup "$dir" $opts >/dev/null
fi
ninja -C "$dir" tests/soak/soak

echo "soak.sh: $seconds s, $dir/tests/soak/soak"
WEFT_SOAK_SECONDS="$seconds" exec "$dir/tests/soak/soak"
