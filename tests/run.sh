#!/usr/bin/env bash
# Build corral and run every test: the normal build with warnings as errors,
# then the tests again in an address+undefined sanitizer build.
# Usage: bash tests/run.sh        (from the project root; installs missing packages)
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-deps
jobs=$(nproc)

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCORRAL_WERROR=ON >/dev/null
cmake --build build -j "$jobs"
(cd build && ctest --output-on-failure -j "$jobs")

# The sanitizer pass runs the same tests against an ASan+UBSan build.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCORRAL_WERROR=ON -DCORRAL_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$PWD/../tests/lsan.supp" \
    ctest --output-on-failure -j "$jobs")
