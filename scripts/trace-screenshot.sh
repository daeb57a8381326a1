#!/usr/bin/env bash
# Render a real timeline trace in speedscope in headless Chromium, for the
# README's screenshot (docs/trace-fib.png):
#
#   scripts/trace-screenshot.sh [BUILDDIR [OUT.png [N]]]
#
# Runs BUILDDIR/examples/fib N (default 18) with WEFT_TRACE, checks the file
# with scripts/check-trace.py, serves it next to speedscope (the npm package,
# fetched once into BUILDDIR/speedscope with `npm pack`) on a local port, and
# screenshots speedscope's view of it. Needs chromium (scripts/deps.sh
# screenshot) and npm; no network once speedscope is fetched.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out=${2:-docs/trace-fib.png}
n=${3:-18}
speedscope_version=1.25.0

scripts/deps.sh build screenshot
command -v npm >/dev/null || { echo "trace-screenshot.sh: npm is needed to fetch speedscope" >&2; exit 1; }
[ -x "$build/examples/fib" ] || ninja -C "$build" examples/fib

site="$build/speedscope/package/dist/release"
if [ ! -f "$site/index.html" ]; then
    mkdir -p "$build/speedscope"
    (cd "$build/speedscope" && npm pack --silent "speedscope@$speedscope_version" >/dev/null &&
        tar xzf "speedscope-$speedscope_version.tgz")
fi

WEFT_TRACE="$site/trace.json" "$build/examples/fib" "$n"
scripts/check-trace.py "$site/trace.json" --spawn --name main

port=$((20000 + RANDOM % 20000))
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$site" >/dev/null 2>&1 &
server=$!
trap 'kill "$server"' EXIT
for _ in $(seq 50); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
    sleep 0.1
done
url="http://127.0.0.1:$port/index.html#profileURL=http://127.0.0.1:$port/trace.json&title=fib%20$n"
chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,500 \
    --virtual-time-budget=10000 --screenshot="$PWD/$out" "$url" 2>/dev/null
echo "trace-screenshot.sh: wrote $out"
