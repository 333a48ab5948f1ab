#!/usr/bin/env bash
# Builds the unit tests for a CPU other than this one's -march=native and runs them:
#   scripts/cross_test.sh aarch64    64-bit ARM: cross-compiled with Debian's g++-aarch64-linux-gnu
#                                    (cmake/toolchain-aarch64.cmake), run under qemu-user, in build-aarch64/
#   scripts/cross_test.sh baseline   any x86-64: -march=x86-64 -mtune=generic (SSE2, no AVX), in build-baseline/
# Both are Release builds with every warning an error (LAYERWISE_WERROR), without the
# examples, and run every test labelled unit (one program per tests/test_*.cpp). aarch64
# also runs those labelled compile_fail: the compile-error snippets, checked with the cross
# compiler (baseline's compiler and flags for them are scripts/test.sh's, which runs them).
# Left out: the study, example and cluster tests (they need the examples); the consumer
# tests (package.*), which configure, build and ldd a project of their own without the
# project's -march, for the build machine; the PyTorch cross-check (crosscheck.*): under
# qemu the build machine's PyTorch cannot run the aarch64 helper, and the unit tests check
# the same arithmetic (gradient checks, optimizer steps, fit). scripts/test.sh runs all three.
# LAYERWISE_CROSS_EXCLUDE=REGEX leaves out tests whose name matches (ctest -E).
# A ctest that selects no test fails (--no-tests=error).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-}
case $target in
  aarch64)
    bash scripts/setup.sh --arm
    dir=build-aarch64
    extra=(-DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake)
    labels='^(unit|compile_fail)$'
    ;;
  baseline)
    bash scripts/setup.sh
    dir=build-baseline
    extra=(-DLAYERWISE_NATIVE=OFF "-DCMAKE_CXX_FLAGS=-march=x86-64 -mtune=generic")
    labels='^unit$'
    ;;
  *) echo "usage: scripts/cross_test.sh aarch64|baseline" >&2; exit 2 ;;
esac
bash scripts/fetch_mnist.sh  # test_mnist reads it (under CI=true it fails without it)

# ccache keys on paths relative to the checkout, so another clone of the same sources (CI's)
# reuses what this one compiled.
export CCACHE_BASEDIR=$PWD
start=$SECONDS
cmake -S . -B "$dir" -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_BUILD_TYPE=Release \
  -DLAYERWISE_BUILD_EXAMPLES=OFF -DLAYERWISE_WERROR=ON "${extra[@]}"
cmake --build "$dir" -j "$(nproc)"
built=$SECONDS

if [ "$target" = baseline ]; then
  # The point of this build: no AVX instruction in any test program.
  source scripts/lib/check_no_avx.sh
  check_no_avx "$dir"
fi

ctest_args=(--test-dir "$dir" -L "$labels" -j "$(nproc)" --output-on-failure --no-tests=error)
if [ -n "${LAYERWISE_CROSS_EXCLUDE:-}" ]; then
  ctest_args+=(-E "$LAYERWISE_CROSS_EXCLUDE")
fi
ctest "${ctest_args[@]}"
echo "cross_test: $target: build $((built - start)) s, tests $((SECONDS - built)) s"
