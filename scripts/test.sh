#!/usr/bin/env bash
# Builds everything and runs every test: the README's test command, and what CI runs.
#   scripts/test.sh                 Release build in build/, then ctest
#   LAYERWISE_SANITIZE=1 scripts/test.sh   the same with ASan + UBSan, in build-sanitize/
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/fetch_mnist.sh  # the real-data tests read it (under CI=true they fail without it)

dir=build
extra=()
if [ "${LAYERWISE_SANITIZE:-0}" = 1 ]; then
  dir=build-sanitize
  extra=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DLAYERWISE_SANITIZE=ON -DLAYERWISE_BUILD_EXAMPLES=OFF)
fi
cmake -S . -B "$dir" -DCMAKE_CXX_COMPILER_LAUNCHER=ccache "${extra[@]}"
cmake --build "$dir" -j "$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$dir" -j "$(nproc)" --output-on-failure
