#!/usr/bin/env bash
# The gradient study's promises, on a small synthetic data set:
#   1. every run folder holds history.csv, keras_history.csv, gradients.csv, run.json and an event file;
#   2. --shard 1/2 + --shard 2/2, merged by study_report.py, give the same accuracy table as one run;
#   3. a study killed in the middle of a run, then rerun, keeps the finished runs, redoes the killed
#      one from scratch and ends complete.
# usage: test_study.sh GRADIENT_STUDY_BINARY SOURCE_DIR WORK_DIR
set -euo pipefail
study=$1 src=$2 work=$3
py=/usr/bin/python3
rm -rf "$work" && mkdir -p "$work"
$py "$src/tests/study/make_idx.py" "$work/data" 600 200
common=(--data "$work/data" --configs bn,plain --depths 10 --seeds 1,2 --probe 64 --batch 64)

fail() { echo "FAILED: $*" >&2; exit 1; }
# The rows of REPORT.md's accuracy table (header, rule, one row per config).
table() { awk '/^## Final validation accuracy/ {on = 1} on && /^\|/ {print} /^Seed/ {exit}' "$1/REPORT.md"; }

# 1. one unsharded study
"$study" "${common[@]}" --epochs 2 --out "$work/whole" > "$work/whole.log"
for run in bn-d10-s1 bn-d10-s2 plain-d10-s1 plain-d10-s2; do
  for f in history.csv keras_history.csv gradients.csv run.json; do
    [ -s "$work/whole/$run/$f" ] || fail "$run/$f missing or empty"
  done
  ls "$work/whole/$run"/events.out.tfevents.* > /dev/null || fail "$run has no event file"
  head -1 "$work/whole/$run/keras_history.csv" | grep -qx ',acc,loss,val_acc,val_loss' || fail "keras_history.csv header"
done
$py "$src/scripts/study_report.py" "$work/whole" > /dev/null

# 2. two shards, merged
"$study" "${common[@]}" --epochs 2 --shard 1/2 --out "$work/shard1" > /dev/null
"$study" "${common[@]}" --epochs 2 --shard 2/2 --out "$work/shard2" > /dev/null
[ "$(ls "$work/shard1" | grep -c -- -d10-)" = 2 ] || fail "shard 1/2 should hold 2 of the 4 runs"
$py "$src/scripts/study_report.py" "$work/shard1" "$work/shard2" --out "$work/merged" > /dev/null
[ "$(table "$work/whole" | wc -l)" = 4 ] || fail "REPORT.md's accuracy table should have 4 lines: $(table "$work/whole")"
diff <(table "$work/whole") <(table "$work/merged") || fail "sharded + merged table differs from the unsharded one"

# 3. kill in the middle of the second run, then rerun
"$study" "${common[@]}" --epochs 6 --out "$work/killed" > "$work/killed.log" &
pid=$!
for _ in $(seq 1 600); do
  [ -d "$work/killed/bn-d10-s1" ] && [ -n "$(ls -A "$work/killed/.incomplete" 2>/dev/null)" ] && break
  sleep 0.05
done
kill -9 "$pid" 2>/dev/null || fail "the study finished before it could be killed"
wait "$pid" 2>/dev/null || true
[ -f "$work/killed/bn-d10-s1/run.json" ] || fail "the first run was not finished before the kill"
[ ! -e "$work/killed/bn-d10-s2" ] || fail "the killed run left a folder outside .incomplete"
stamp=$(stat -c %Y.%N "$work/killed/bn-d10-s1/run.json")
"$study" "${common[@]}" --epochs 6 --out "$work/killed" > "$work/rerun.log"
grep -q "1 already done, 3 to run" "$work/rerun.log" || fail "the rerun did not skip the finished run: $(head -1 "$work/rerun.log")"
[ "$(stat -c %Y.%N "$work/killed/bn-d10-s1/run.json")" = "$stamp" ] || fail "the finished run was rewritten"
for run in bn-d10-s1 bn-d10-s2 plain-d10-s1 plain-d10-s2; do
  [ -f "$work/killed/$run/run.json" ] || fail "$run missing after the rerun"
done
[ -z "$(ls -A "$work/killed/.incomplete")" ] || fail ".incomplete not empty after the rerun"
echo "study: runs complete, shards merge to the unsharded table, a killed study resumes"
