#!/usr/bin/env bash
# The README's first command: installs what is missing, fetches MNIST, builds the study
# program, runs a reduced gradient study (3 configs x depths 10..40, 3 epochs, seed 1, under
# both TF2 and Keras 2.1.5 numerics) and writes its figures and report. A rerun skips the
# runs that are already finished.
#   NUMERICS=tf2 bash scripts/quickstart.sh               the seed's framework only (half the time)
#   bash scripts/full_study.sh                            the full study behind docs/study/ (hours)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/fetch_mnist.sh
cmake -S . -B build -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DLAYERWISE_SEED_DEPTHS=  # every depth (CI's test.sh builds only the tests' three)
cmake --build build -j "$(nproc)" --target gradient_study
out=${OUT:-study}
./build/examples/gradient_study --configs bn,plain,skip --depths 10:40:5 --epochs "${EPOCHS:-3}" \
  --seeds "${SEEDS:-1}" --numerics "${NUMERICS:-tf2,keras2.1}" --jobs "$(nproc)" --out "$out"
/usr/bin/python3 scripts/study_report.py "$out"
echo
echo "Done. Report: $out/REPORT.md, figures: $out/*.png, runs: $out/<config>-d<depth>-s<seed>/"
echo "The full study behind docs/study/ (20 epochs, 762 runs: the remedies, 15 seeds at the collapse edges, three"
echo "learning rates, both presets and one switch at a time; about 18 hours on 2 cores, resumable, and"
echo "--plan prints the cost first; it writes docs/study/): bash scripts/full_study.sh"
