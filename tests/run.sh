#!/usr/bin/env bash
# Build corral and run every test: the normal build with warnings as errors,
# then the tests again in an address+undefined sanitizer build, then the
# threaded ones (pipeline, Kafka, reload, event time, resume, the API) against a
# (the web page is tested in Debian's headless chromium: ui_browser)
# ThreadSanitizer build of the corral binary: any race report fails the run.
# Usage: bash tests/run.sh        (from the project root; installs missing packages)
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-deps --tests
# playwright-core for the browser test (tests/browser/package-lock.json)
npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error >/dev/null
jobs=$(nproc)

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCORRAL_WERROR=ON >/dev/null
cmake --build build -j "$jobs"
(cd build && ctest --output-on-failure -j "$jobs")

# The sanitizer pass runs the same tests against an ASan+UBSan build.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCORRAL_WERROR=ON -DCORRAL_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$PWD/../tests/lsan.supp" \
    ctest --output-on-failure -j "$jobs")

# The thread sanitizer pass: clang (gcc 12's TSan cannot follow librdkafka's
# C11 threads), the corral binary instrumented, the tests as they are
# (Criterion cannot start under TSan). Every report lands in a log file;
# one file is a failure.
CC=clang CXX=clang++ cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCORRAL_WERROR=ON \
    -DCORRAL_TSAN=ON >/dev/null
cmake --build build-tsan -j "$jobs"
tsan_logs=$(mktemp -d /tmp/corral-tsan-XXXXXX)
(cd build-tsan && TSAN_OPTIONS="log_path=$tsan_logs/corral suppressions=$PWD/../tests/tsan.supp" \
    ctest --output-on-failure -j "$jobs" \
    -R '^test_(pipeline|kafka|reload|event_time|resume|ingest|serve_run|api)$')
if [ -n "$(ls -A "$tsan_logs")" ]; then
    echo "ThreadSanitizer reported races:" >&2
    cat "$tsan_logs"/* >&2
    exit 1
fi
rm -rf "$tsan_logs"

# The fuzz smoke test: every libFuzzer target (tests/fuzz) for a fixed
# number of inputs over seeds built from the tests, configs and
# ../shared/data; a crash, leak or broken invariant fails the run.
CC=clang CXX=clang++ JOBS=$jobs bash tests/fuzz/run.sh build-fuzz 2000
