#!/usr/bin/env bash
# Submits the gradient study to Slurm: an array of SHARDS tasks (one shard each, balanced by
# cost), then the report, which starts only when every task succeeded.
#   scripts/slurm/submit_study.sh OUT [study options]
#   SHARDS=16 scripts/slurm/submit_study.sh /shared/study --epochs 20 --seeds 1:10 --depths 10:50:5
# Environment: SHARDS (default 8), GRADIENT_STUDY (default build/examples/gradient_study),
# and sbatch's own SBATCH_* variables (SBATCH_PARTITION, SBATCH_TIMELIMIT, SBATCH_ACCOUNT, ...).
# OUT must be on a file system every node sees. Prints the two job ids.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ $# -lt 1 ] || [[ $1 == -* ]]; then
  echo "usage: submit_study.sh OUT [gradient_study options]" >&2
  exit 2
fi
out=$(realpath -m "$1")
shift
shards=${SHARDS:-8}
bin=$(realpath -m "${GRADIENT_STUDY:-$root/build/examples/gradient_study}")
if [ ! -x "$bin" ]; then
  echo "submit_study: $bin is not an executable: build it (cmake --build build --target gradient_study) or set GRADIENT_STUDY" >&2
  exit 2
fi
if ! [[ $shards =~ ^[1-9][0-9]*$ ]]; then
  echo "submit_study: SHARDS='$shards' is not a whole number of at least 1" >&2
  exit 2
fi
# Checks every option, and shows what each task will run, before anything is queued.
"$bin" --plan --shard "1/$shards" --out "$out" "$@"
mkdir -p "$out/slurm"
array=$(sbatch --parsable --array="1-$shards" --chdir="$out/slurm" "$here/study.sbatch" "$bin" "$out" "$@")
array=${array%%;*}
# Without --kill-on-invalid-dep, a failed array would leave the report pending forever.
report=$(sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes --chdir="$out/slurm" \
  --export="ALL,LAYERWISE_ROOT=$root" "$here/report.sbatch" "$out")
report=${report%%;*}
echo "submit_study: array job $array ($shards shards), report job $report (after the whole array succeeds)"
echo "submit_study: logs in $out/slurm/; watch with: squeue -j $array,$report"
