#!/usr/bin/env bash
# Builds everything and runs every test: the README's test command, and what CI runs.
#   scripts/test.sh                         Release build with g++ in build/, then ctest
#   LAYERWISE_COMPILER=clang scripts/test.sh   the same with clang++ 14, in build-clang/
#   LAYERWISE_SANITIZE=1 scripts/test.sh       with ASan + UBSan, the unit and compile-error tests
#                                              only, in build[-clang]-sanitize/
#   LAYERWISE_BASELINE=1 scripts/test.sh       for any x86-64 (-march=x86-64: SSE2, no AVX) instead
#                                              of this CPU, checked to hold no AVX instruction,
#                                              in build[-clang]-baseline/
#   LAYERWISE_SEED_DEPTHS=10,15                compiles only these depths into train_mnist and
#                                              gradient_study (the tests use no other; under
#                                              CI=true the default, else every depth)
#   LAYERWISE_CTEST_EXCLUDE=REGEX              leaves out the tests whose name matches (ctest -E);
#                                              CI runs the slow tests that start Slurm, MPI, PyTorch
#                                              or a consumer build once, in the first (g++) run
# Under CI=true a warning (-Wall -Wextra -Wpedantic -Wshadow -Wconversion) fails the build.
set -euo pipefail
cd "$(dirname "$0")/.."
compiler=${LAYERWISE_COMPILER:-gcc}
dir=build
extra=()
case $compiler in
  gcc) bash scripts/setup.sh --cluster ;;  # CMake's default compiler, Debian's g++
  clang)  # (with the sanitizers: their clang runtimes too)
    bash scripts/setup.sh --clang --cluster $([ "${LAYERWISE_SANITIZE:-0}" = 1 ] && echo --sanitize)
    dir=build-clang; extra+=(-DCMAKE_CXX_COMPILER=clang++) ;;
  *) echo "test.sh: LAYERWISE_COMPILER must be gcc or clang, not '$compiler'" >&2; exit 2 ;;
esac
bash scripts/fetch_mnist.sh  # the real-data tests read it (under CI=true they fail without it)

if [ "${LAYERWISE_SANITIZE:-0}" = 1 ]; then
  dir=$dir-sanitize
  # -O0 -g1 (line tables for the reports' stacks): unoptimised code hides no undefined
  # behaviour, and clang compiles it in a third of the time of -O1; the tests run slower.
  extra+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O0 -g1" -DLAYERWISE_SANITIZE=ON
          -DLAYERWISE_BUILD_EXAMPLES=OFF)
fi
if [ "${CI:-}" = true ]; then
  extra+=(-DLAYERWISE_WERROR=ON)  # the builds of both compilers are warning-clean
  # The tests run gradient_study and train_mnist at these depths only; each depth is one more
  # network type, compiled again, in every per-config source of both programs.
  : "${LAYERWISE_SEED_DEPTHS=10,15}"
fi
if [ "${LAYERWISE_BASELINE:-0}" = 1 ]; then
  dir=$dir-baseline
  extra+=(-DLAYERWISE_NATIVE=OFF "-DCMAKE_CXX_FLAGS=-march=x86-64 -mtune=generic")
fi
extra+=("-DLAYERWISE_SEED_DEPTHS=${LAYERWISE_SEED_DEPTHS:-}")  # (empty: every depth)
cmake -S . -B "$dir" -DCMAKE_CXX_COMPILER_LAUNCHER=ccache "${extra[@]}"
cmake --build "$dir" -j "$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
if [ "${LAYERWISE_BASELINE:-0}" = 1 ]; then
  source scripts/lib/check_no_avx.sh
  check_no_avx "$dir"
fi
ctest_args=(--test-dir "$dir" -j "$(nproc)" --output-on-failure)
if [ -n "${LAYERWISE_CTEST_EXCLUDE:-}" ]; then
  ctest_args+=(-E "$LAYERWISE_CTEST_EXCLUDE")
fi
ctest "${ctest_args[@]}"
