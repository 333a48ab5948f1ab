#!/usr/bin/env bash
# The full study behind docs/study/: the seed's grid at 20 epochs over three seeds under both
# numerics presets, plus one axis per suspected cause of the seed's early collapse at depths
# 25-40 (the report's "Why does the seed collapse earlier?"). 3 to 4 hours on 2 cores.
# Finished runs are skipped, so an interrupted study resumes where it stopped.
#   bash scripts/full_study.sh [OUT]        runs into OUT (default: study-full), then writes docs/study/
#   GRADIENT_STUDY=path/to/binary ...       use an already built gradient_study
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-study-full}
bin=${GRADIENT_STUDY:-}
if [ -z "$bin" ]; then
  bash scripts/setup.sh
  bash scripts/fetch_mnist.sh
  cmake -S . -B build -DCMAKE_CXX_COMPILER_LAUNCHER=ccache > /dev/null
  cmake --build build -j "$(nproc)" --target gradient_study
  bin=./build/examples/gradient_study
fi
study() { "$bin" --epochs 20 --seeds 1,2,3 --jobs "$(nproc)" --out "$out" "$@"; }
# The deep half first: every axis below is compared there.
study --configs bn,plain,skip --depths 25:40:5 --numerics tf2,keras2.1
study --configs bn,plain,skip --depths 25:40:5 --rmsprop-epsilon outside --bn-debias off  # keras2.1's RMSprop part alone
study --configs bn,skip --depths 25:40:5 --rmsprop-epsilon inside --bn-debias on          # keras2.1's BatchNorm part alone
study --configs bn,plain,skip --depths 10:20:5 --numerics tf2,keras2.1                    # the rest of the seed's grid
study --configs bn,skip --depths 25:40:5 --bn-momentum 0.9                                # faster-tracking moving averages
study --configs plain --depths 25:40:5 --init he_uniform                                  # the textbook remedy for plain ReLU nets
/usr/bin/python3 scripts/study_report.py "$out" --out docs/study
