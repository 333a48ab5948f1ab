#!/usr/bin/env bash
# Open MPI's mpirun starts 3 copies of gradient_study at once, into one output folder: each
# takes its shard from OMPI_COMM_WORLD_RANK / _SIZE, and together they must produce exactly the
# unsharded study (same runs, same histories, same report table).
# usage: test_mpirun.sh GRADIENT_STUDY SOURCE_DIR WORK_DIR
set -euo pipefail
source "$(dirname "$0")/common.sh"
command -v mpirun > /dev/null || fail "mpirun not found (scripts/setup.sh --cluster installs openmpi-bin)"
prepare
# The README's command, plus --allow-run-as-root (Open MPI refuses root without it) and
# --oversubscribe (3 ranks on 2 cores).
mpirun --allow-run-as-root --oversubscribe -np 3 -x OPENBLAS_NUM_THREADS=1 \
  "$study" "${grid[@]}" --out "$work/mpi" > "$work/mpi.log" 2>&1 || { cat "$work/mpi.log"; fail "mpirun failed"; }
for r in 0 1 2; do
  grep -q "shard from mpirun (Open MPI) (OMPI_COMM_WORLD_RANK=$r, OMPI_COMM_WORLD_SIZE=3)" "$work/mpi.log" ||
    fail "rank $r did not take its shard from Open MPI: $(grep 'shard from' "$work/mpi.log")"
done
check_same_as_whole "$work/mpi"
echo "mpirun: 3 ranks sharded the study by themselves, into one folder, and match the unsharded run"
