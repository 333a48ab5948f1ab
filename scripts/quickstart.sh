#!/usr/bin/env bash
# The README's first command: installs what is missing, builds the examples, runs the main one.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
cmake --build build -j "$(nproc)" --target quick_tour
./build/examples/quick_tour
