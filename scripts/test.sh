#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test.sh - the whole test suite: installs what it needs, builds the normal binaries and
# an ASan+UBSan build, and runs every unit and end-to-end test against both.
# Environment: JOBS (ctest parallelism, default: number of CPUs), SKIP_SANITIZE=1.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=${JOBS:-$(nproc)}
scripts/build.sh build
(cd build && ctest -j"$jobs" --output-on-failure)
if [ "${SKIP_SANITIZE:-0}" != 1 ]; then
    scripts/build.sh build-asan -DSW_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
    (cd build-asan && ctest -j"$jobs" --output-on-failure)
fi
echo "test.sh: all tests passed"
