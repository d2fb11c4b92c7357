#!/usr/bin/env bash
# The sanitizer pass of CI: builds the tree with AddressSanitizer +
# UndefinedBehaviorSanitizer (-DSEMSEG_SANITIZE=ON; LeakSanitizer comes with
# ASan on Linux) in build-asan/, and runs the part of the suite that fits in
# about ten minutes on two cores: the runtime unit tests, the importer, ONNX's
# node tests, the ref plugin's op tests, the CLI, the hostile-input catalogue
# and the fuzz regression inputs. The torchvision / model-level tests run
# networks for minutes each without sanitizers and are left to tools/test.sh.
#
# Plugins are dlopen'ed MODULEs built with the same flags; the executables
# that load them are linked with ASan, so no LD_PRELOAD is needed.
#
#   tools/test-sanitize.sh [extra ctest args]
# SEMSEG_SANITIZE_BUILD_DIR overrides the build folder (default build-asan).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)
build=${SEMSEG_SANITIZE_BUILD_DIR:-build-asan}
areas="unit;importer;onnx_node;ref;cli;bad_inputs;fuzz"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEMSEG_SANITIZE=ON -DSEMSEG_WITH_OPENCL=OFF \
      -DSEMSEG_TEST_AREAS="$areas"
cmake --build "$build" -j"$jobs"
# Any report fails the test: UBSan halts (-fno-sanitize-recover), ASan and
# LSan exit non-zero, with a stack trace in the test's output.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
ctest --test-dir "$build" -j"$jobs" --output-on-failure --timeout 600 \
      -R '^(unit|importer|onnx_node|ref|ref_tensor|cli|bad_inputs|fuzz\.replay)\.' "$@"
