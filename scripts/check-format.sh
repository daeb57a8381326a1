#!/bin/sh
# TAP test: every C source and header in the tree is formatted with the
# repo's .clang-format (clang-format 14, as STYLE.md asks).
# Usage: check-format.sh SOURCE_ROOT
cd "$1" || exit 1
if ! command -v clang-format >/dev/null 2>&1; then
    echo "1..0 # SKIP clang-format is not installed"
    exit 0
fi
files=$(find include runtime arch tests bench examples -name '*.[ch]' -o -name '*.cpp' -o -name '*.hpp' 2>/dev/null | sort)
echo "1..1"
bad=""
for f in $files; do
    clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
done
if [ -z "$bad" ]; then
    echo "ok 1 - $(echo "$files" | wc -l) files formatted"
else
    echo "not ok 1 - not formatted (run clang-format -i):$bad"
fi
