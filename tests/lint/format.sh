#!/usr/bin/env bash
# format.sh - every C, C++ and header file follows .clang-format (the style
# the code is written in: Linux braces, 4 spaces, 100 columns). Prints the
# files that do not and exits 1; `clang-format -i FILE` fixes one.
set -uo pipefail
cd "$(dirname "$0")/../.."
command -v clang-format >/dev/null || { echo "format.sh: clang-format not installed" >&2; exit 1; }
bad=0
while IFS= read -r f; do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
        echo "$f: not formatted (clang-format -i $f)"
        bad=1
    fi
done < <(find base parsers rules engine cli tools bench tests \
              \( -name '*.c' -o -name '*.h' -o -name '*.cpp' \) -type f | sort)
exit $bad
