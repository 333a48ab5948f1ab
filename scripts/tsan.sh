#!/usr/bin/env bash
# Builds the tests that run layerwise's thread pool with ThreadSanitizer and runs them:
#   scripts/tsan.sh        clang++ -fsanitize=thread (LAYERWISE_TSAN=ON), in build-tsan/
# test_parallel, test_gemm, test_optim and test_fit call set_threads(2) (grep -l set_threads
# tests/*.cpp); test_parallel also trains two networks at once from two threads, each with a
# pool of two. test_tensor, test_sequential and test_batch_norm (the layers' forward and
# backward) come along so that they are checked as soon as they use two threads too.
# OpenBLAS stays on one thread (OPENBLAS_NUM_THREADS=1): its own threads are not
# instrumented, and layerwise calls it from its pool's threads, one band each.
# Left out: test_allocation (which also runs two threads). It replaces the global operator
# new and delete to count allocations, and clang's static TSan runtime defines them itself
# (libclang_rt.tsan_cxx), so the link fails with "multiple definition of operator delete".
# The training steps it runs on two threads are also run here, by test_fit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --tsan

dir=build-tsan
tests=(test_parallel test_gemm test_tensor test_optim test_fit test_sequential test_batch_norm)
# -O1 -g1: line tables for the reports' stacks, and a fifth less compile time than -O2 -g.
cmake -S . -B "$dir" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" -DLAYERWISE_TSAN=ON \
  -DLAYERWISE_BUILD_EXAMPLES=OFF
cmake --build "$dir" -j 2 --target "${tests[@]}"

# A data race or a lock-order inversion fails the test at once, with both threads' stacks.
export OPENBLAS_NUM_THREADS=1 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
regex="^($(IFS='|'; echo "${tests[*]}"))\$"
ctest --test-dir "$dir" -R "$regex" --output-on-failure
