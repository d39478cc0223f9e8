#!/usr/bin/env bash
# Builds exphone with AddressSanitizer + UndefinedBehaviorSanitizer (clang) and runs the whole
# test suite: unit tests, fuzz targets (FUZZ_SECONDS each, default 60), interop tests.
# Usage: scripts/test.sh [extra ctest args, e.g. -L unit]
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
# npm packages of the WebRTC console (jssip, playwright-core, esbuild), cached per user
EXPHONE_WEBRTC_NODE_DIR=$(tests/interop/webrtc/setup.sh)
export EXPHONE_WEBRTC_NODE_DIR

BUILD=${BUILD_DIR:-build-asan}
cmake -S . -B "$BUILD" -G Ninja \
  -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DEXPHONE_SANITIZE=ON -DEXPHONE_FUZZ=ON
ninja -C "$BUILD" -j"$(nproc)"

# An unsanitized build too: the demo binary, and the one interop check that needs libfaketime
# (which deadlocks under AddressSanitizer).
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DEXPHONE_TESTS=OFF >/dev/null
ninja -C build -j"$(nproc)" exphone
export EXPHONE_PLAIN="$PWD/build/exphone"
# the packaging test (label packaging) installs and packages this Release tree
export EXPHONE_RELEASE_TREE="$PWD/build"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$BUILD" --output-on-failure --no-tests=error "$@"
