#!/bin/sh
# TAP test: the shared library exports weft_* only, and every global symbol
# of the static library is weft_* or wt_* (nothing leaks into the user's
# namespace; ASan's __odr_asan.* markers aside). Usage: check-symbols.sh LIBWEFT.so LIBWEFT.a
set -u
so="$1"
a="$2"
echo "1..2"
bad=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^weft_')
exported=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -c '^weft_')
if [ -z "$bad" ] && [ "$exported" -gt 0 ]; then
    echo "ok 1 - $exported exported symbols, all weft_*"
else
    echo "not ok 1 - exports outside weft_* (or none): $bad"
fi
bad=$(nm --defined-only -g "$a" 2>/dev/null | awk 'NF==3 {print $3}' | grep -v '^weft_\|^wt_\|^__odr_asan\.')
if [ -z "$bad" ]; then
    echo "ok 2 - static library globals are weft_* or wt_*"
else
    echo "not ok 2 - stray globals: $bad"
fi
