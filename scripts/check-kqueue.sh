#!/bin/sh
# TAP test: runtime/netpoll_kqueue.c, the FreeBSD/macOS backend that no
# Linux build compiles, at least compiles - syntax and types, with the
# project's warnings as errors - against tests/kqueue/sys/event.h, FreeBSD's
# kqueue API as its manual declares it. Not a FreeBSD build: nothing links
# or runs; it catches typos, wrong types and names FreeBSD does not have.
#   check-kqueue.sh SOURCE_ROOT BUILD_DIR CPU_FAMILY CC [CC ARGS...]
set -u
src="$1"
build="$2"
cpu="$3"
shift 3
echo "1..1"
if out=$("$@" -std=c11 -fsyntax-only -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
    -Wmissing-prototypes -Wvla -Wundef -I"$src/tests/kqueue" -I"$src/runtime" \
    -I"$src/include" -I"$build" -I"$src/arch/$cpu" "$src/runtime/netpoll_kqueue.c" 2>&1); then
    echo "ok 1 - netpoll_kqueue.c compiles against FreeBSD's declared kqueue API"
else
    echo "not ok 1 - netpoll_kqueue.c does not compile against tests/kqueue/sys/event.h"
    printf '%s\n' "$out" | sed 's/^/# /'
fi
