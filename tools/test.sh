#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds everything and runs the whole test
# suite. This is the README's test command and exactly what .ci/run runs.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash tools/setup.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$jobs"
ctest --test-dir build -j"$jobs" --output-on-failure
# the same core of the suite again under ASan + UBSan + LeakSanitizer
bash tools/test-sanitize.sh
