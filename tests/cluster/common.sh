# Shared by the cluster tests: a tiny study on synthetic IDX data, and the reference it must equal.
#   source common.sh GRADIENT_STUDY SOURCE_DIR WORK_DIR
study=$1 src=$2 work=$3
py=/usr/bin/python3
[ -x "$py" ] || py=python3
export OPENBLAS_NUM_THREADS=1  # one core per run, as in a shard: the same bits everywhere
fail() { echo "FAILED: $*" >&2; exit 1; }
# The tiny grid: 2 configs x 2 depths x 2 seeds = 8 runs of 2 epochs on 600 images.
grid=(--data "$work/data" --configs bn,plain --depths 10,15 --seeds 1,2 --epochs 2 --probe 64 --batch 64)
# The rows of REPORT.md's accuracy table (header, rule, one row per config).
table() { awk '/^## / {on = /^## Final validation accuracy/} on && /^\|/ {print}' "$1/REPORT.md"; }
prepare() {
  rm -rf "$work" && mkdir -p "$work"
  "$py" "$src/tests/study/make_idx.py" "$work/data" 600 200
  "$study" "${grid[@]}" --jobs 1 --out "$work/whole" > "$work/whole.log"
  "$py" "$src/scripts/study_report.py" "$work/whole" > /dev/null
}
# The sharded study in $1 is complete, owned once, and reports what the unsharded one does.
check_same_as_whole() {
  local out=$1
  [ "$(ls -d "$out"/*-d1[05]-s[12] | wc -l)" = 8 ] || fail "$out should hold the 8 runs: $(ls "$out")"
  [ -z "$(ls -A "$out/.incomplete")" ] || fail "$out/.incomplete is not empty: $(ls -A "$out/.incomplete")"
  [ -s "$out/REPORT.md" ] || "$py" "$src/scripts/study_report.py" "$out" > /dev/null
  diff <(table "$work/whole") <(table "$out") || fail "the sharded study's table differs from the unsharded one"
  for run in "$work"/whole/*-d1[05]-s[12]; do  # epoch, loss, accuracy, val_loss, val_accuracy: bit for bit
    [ "$(cut -d, -f1-5 "$run/history.csv")" = "$(cut -d, -f1-5 "$out/$(basename "$run")/history.csv")" ] ||
      fail "$(basename "$run"): history differs from the unsharded run"
  done
}
