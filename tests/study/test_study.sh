#!/usr/bin/env bash
# The gradient study's promises, on a small synthetic data set:
#   1. every run folder holds history.csv (with the inference-mode columns), keras_history.csv,
#      gradients.csv, probe.csv, run.json and an event file, and BatchNorm runs bn_stats.csv;
#   2. --shard 1/2 + --shard 2/2, merged by study_report.py, give the same accuracy table as one run;
#   3. a study killed in the middle of a run, then rerun, keeps the finished runs and ends complete;
#   4. a run killed with SIGKILL in the middle of an epoch goes on from its last completed epoch
#      and ends with the files of a run never stopped: history (but the wall times), gradients,
#      probe and BatchNorm rows byte for byte, the event file's events (but their wall times);
#   5. scripts/study_trim.py shrinks finished runs to what the report reads: the same report.
# usage: test_study.sh GRADIENT_STUDY_BINARY SOURCE_DIR WORK_DIR
set -euo pipefail
study=$1 src=$2 work=$3
py=/usr/bin/python3
rm -rf "$work" && mkdir -p "$work"
$py "$src/tests/study/make_idx.py" "$work/data" 600 200
base=(--data "$work/data" --configs bn,plain --depths 10 --probe 64 --batch 64)
common=("${base[@]}" --seeds 1,2)

fail() { echo "FAILED: $*" >&2; exit 1; }
# The rows of REPORT.md's accuracy table (header, rule, one row per config).
table() { awk '/^## / {on = /^## Final validation accuracy/} on && /^\|/ {print}' "$1/REPORT.md"; }

# 1. one unsharded study
"$study" "${common[@]}" --epochs 2 --out "$work/whole" > "$work/whole.log"
for run in bn-d10-s1 bn-d10-s2 plain-d10-s1 plain-d10-s2; do
  for f in history.csv keras_history.csv gradients.csv run.json; do
    [ -s "$work/whole/$run/$f" ] || fail "$run/$f missing or empty"
  done
  ls "$work/whole/$run"/events.out.tfevents.* > /dev/null || fail "$run has no event file"
  head -1 "$work/whole/$run/keras_history.csv" | grep -qx ',acc,loss,val_acc,val_loss' || fail "keras_history.csv header"
  awk -F, 'NR > 1 && ($8 == "" || $9 == "") {bad = 1} END {exit bad}' "$work/whole/$run/history.csv" || fail "$run/history.csv lacks train_*_inference"
  [ "$(wc -l < "$work/whole/$run/probe.csv")" = 4 ] || fail "$run/probe.csv should have a header and epochs 0..2"
done
# one row per BatchNorm layer (9 in bn-d10) and epoch (0..2)
[ "$(tail -n +2 "$work/whole/bn-d10-s1/bn_stats.csv" | wc -l)" = 27 ] || fail "bn_stats.csv should have 9 layers x 3 epochs"
[ ! -e "$work/whole/plain-d10-s1/bn_stats.csv" ] || fail "a net without BatchNorm wrote bn_stats.csv"
$py "$src/scripts/study_report.py" "$work/whole" > /dev/null
[ -s "$work/whole/summary.csv" ] && [ "$(wc -l < "$work/whole/summary.csv")" = 5 ] || fail "summary.csv should have a header and 4 runs"
for fig in accuracy_vs_depth curves_grid gradient_norms gradient_histograms gap_bn gap_plain; do
  [ -s "$work/whole/$fig.png" ] || fail "REPORT figure $fig.png missing"
done
# two seeds: every cell shows a std, its min-max and its collapse count
grep -q '^| bn | [0-9.]* ± [0-9.]*<br>[0-9.]*–[0-9.]* · [0-2]/2 |$' "$work/whole/REPORT.md" || fail "no spread in the bn cell: $(table "$work/whole")"

# study_trim.py keeps what the report reads: the trimmed study gives the same report, summary and
# figures, and gradient_study counts its runs as finished
cp -r "$work/whole" "$work/trimmed"
$py "$src/scripts/study_trim.py" "$work/trimmed" | grep -q '4 finished runs' || fail "study_trim.py should find 4 runs"
[ ! -e "$work/trimmed/bn-d10-s2/gradients.csv" ] && [ -s "$work/trimmed/bn-d10-s1/gradients.csv" ] ||
  fail "study_trim.py keeps gradients.csv for seed 1 only"
ls "$work/trimmed/bn-d10-s1"/events.out.tfevents.* > /dev/null 2>&1 && fail "study_trim.py left an event file"
$py "$src/scripts/study_report.py" "$work/trimmed" --out "$work/trimmed_report" > /dev/null
for f in REPORT.md summary.csv accuracy_vs_depth.png gradient_norms.png gradient_histograms.png gap_bn.png; do
  cmp -s "$work/whole/$f" "$work/trimmed_report/$f" || fail "the trimmed study's $f differs from the whole study's"
done
"$study" "${common[@]}" --epochs 2 --out "$work/trimmed" | grep -q '4 already done, 0 to run' ||
  fail "gradient_study should count the trimmed runs as finished"

# the settings axes: a preset and its parts name the same run; BatchNorm switches do not apply to plain nets
"$study" "${base[@]}" --seeds 1 --epochs 1 --numerics keras2.1 --out "$work/axes" > /dev/null
"$study" "${base[@]}" --seeds 1 --epochs 1 --rmsprop-epsilon outside --bn-debias on --bn-momentum 0.99 --out "$work/axes" > "$work/axes.log"
grep -q "2 runs in the grid, 2 in shard 1/1, 2 already done" "$work/axes.log" || fail "the parts of keras2.1 were not recognised: $(head -1 "$work/axes.log")"
"$study" "${base[@]}" --seeds 1 --epochs 1 --bn-momentum 0.9 --init he_normal --out "$work/axes" > /dev/null
[ -f "$work/axes/bn-d10-s1-bnmom0.9+he_normal/run.json" ] || fail "no run folder for --bn-momentum 0.9 --init he_normal"
[ -f "$work/axes/plain-d10-s1-he_normal/run.json" ] || fail "plain's run should ignore --bn-momentum: $(ls "$work/axes")"
$py -c 'import json, sys; m = json.load(open(sys.argv[1])); sys.exit(not (m["bn_momentum"] == 0.9 and m["init"] == "he_normal"))' \
  "$work/axes/bn-d10-s1-bnmom0.9+he_normal/run.json" || fail "run.json lacks the settings"
# the remedy and step-size axes: each in the run's name, run.json and summary.csv, and trained
# with (history.csv's learning_rate); lr 1e-3 under RMSprop is the default run, not another one
small=(--data "$work/data" --depths 10 --probe 64 --batch 64 --seeds 1 --epochs 1)
"$study" "${small[@]}" --configs plain --init orthogonal --gain 1.41421 --optimizer adamw --lr 3e-3 --clip-norm 1 \
  --out "$work/axes" > /dev/null
remedy=$work/axes/plain-d10-s1-orthogonal+gain1.41421+adamw+lr0.003+clip1
[ -f "$remedy/run.json" ] || fail "no run folder for --init orthogonal --gain --optimizer --lr --clip-norm: $(ls "$work/axes")"
$py -c 'import json, sys
m = json.load(open(sys.argv[1]))
want = {"init": "orthogonal", "gain": 1.41421, "optimizer": "adamw", "learning_rate": 0.003, "clip_norm": 1}
sys.exit(any(m.get(k) != v for k, v in want.items()))' "$remedy/run.json" || fail "run.json lacks the remedy axes: $(cat "$remedy/run.json")"
awk -F, 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == "learning_rate") c = i}
         NR > 1 && ($c - 0.003) ^ 2 > 1e-16 {bad = 1} END {exit bad || !c}' "$remedy/history.csv" || fail "the run did not train at lr 0.003"
"$study" "${small[@]}" --configs plain --lr 1e-3,3e-4 --out "$work/axes" > /dev/null
"$study" "${small[@]}" --configs plain --optimizer sgd --momentum 0.9 --out "$work/axes" > /dev/null
for run in plain-d10-s1 plain-d10-s1-lr0.0003 plain-d10-s1-sgd_m0.9; do
  [ -f "$work/axes/$run/run.json" ] || fail "no run folder $run: $(ls "$work/axes")"
done
[ "$(ls "$work/axes" | grep -c lr0.001)" = 0 ] || fail "lr 1e-3 under RMSprop named a run of its own"
cmp -s <(cut -d, -f2-5 "$work/axes/plain-d10-s1/history.csv") <(cut -d, -f2-5 "$work/axes/plain-d10-s1-sgd_m0.9/history.csv") &&
  fail "SGD trained the same numbers as RMSprop"

# one seed: no cell shows a std; summary.csv has every axis as a column
$py "$src/scripts/study_report.py" "$work/axes" > /dev/null
$py -c 'import csv, sys
rows = {r["setting"]: r for r in csv.DictReader(open(sys.argv[1]))}
r = rows["orthogonal+gain1.41421+adamw+lr0.003+clip1"]
ok = (r["config"], r["init"], float(r["gain"]), r["optimizer"], float(r["learning_rate"]), float(r["clip_norm"])) == \
     ("plain", "orthogonal", 1.41421, "adamw", 0.003, 1.0)
ok = ok and rows["sgd_m0.9"]["optimizer"] == "sgd" and float(rows["sgd_m0.9"]["momentum"]) == 0.9
ok = ok and float(rows["lr0.0003"]["learning_rate"]) == 0.0003 and rows["tf2"]["optimizer"] == "rmsprop"
sys.exit(not ok)' "$work/axes/summary.csv" || fail "summary.csv lacks an axis: $(cat "$work/axes/summary.csv")"
! table "$work/axes" | grep -q '±' || fail "a one-seed study shows a std"
grep -q '^| bn | [0-9.]*<br>[0-9.]*–[0-9.]* · [01]/1 |$' "$work/axes/REPORT.md" || fail "one-seed cell format: $(table "$work/axes")"

# 2. two shards, merged
"$study" "${common[@]}" --epochs 2 --shard 1/2 --out "$work/shard1" > /dev/null
"$study" "${common[@]}" --epochs 2 --shard 2/2 --out "$work/shard2" > /dev/null
[ "$(ls "$work/shard1" | grep -c -- -d10-)" = 2 ] || fail "shard 1/2 should hold 2 of the 4 runs"
$py "$src/scripts/study_report.py" "$work/shard1" "$work/shard2" --out "$work/merged" > /dev/null
[ "$(table "$work/whole" | wc -l)" = 4 ] || fail "REPORT.md's accuracy table should have 4 lines: $(table "$work/whole")"
diff <(table "$work/whole") <(table "$work/merged") || fail "sharded + merged table differs from the unsharded one"

# 3. kill in the middle of the second run, then rerun
"$study" "${common[@]}" --epochs 6 --jobs 1 --out "$work/killed" > "$work/killed.log" &  # one run at a time
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
# 4. Epochs of 45000 samples at depth 15 take long enough (over a second) to be killed inside one.
$py "$src/tests/study/make_idx.py" "$work/data45k" 45000 500
long=(--data "$work/data45k" --configs bn --depths 15 --seeds 1 --epochs 3 --probe 64 --batch 32 --train-inference 2000 --jobs 1)
"$study" "${long[@]}" --out "$work/straight" > /dev/null
"$study" "${long[@]}" --out "$work/resumed" > "$work/resumed1.log" &
pid=$!
for _ in $(seq 1 1200); do
  ls "$work"/resumed/.incomplete/bn-d15-s1.*/state.npz > /dev/null 2>&1 && break
  sleep 0.05
done
ls "$work"/resumed/.incomplete/bn-d15-s1.*/state.npz > /dev/null 2>&1 || fail "no epoch finished in 60 s"
sleep 0.4  # into epoch 2
kill -9 "$pid" 2>/dev/null || fail "the study finished before it could be killed"
wait "$pid" 2>/dev/null || true
[ ! -e "$work/resumed/bn-d15-s1" ] || fail "the run was finished before it was killed"
"$study" "${long[@]}" --out "$work/resumed" > "$work/resumed2.log"
grep -q "bn-d15-s1 *resuming after epoch [12]/3" "$work/resumed2.log" || fail "the run did not resume: $(cat "$work/resumed2.log")"
a=$work/straight/bn-d15-s1 b=$work/resumed/bn-d15-s1
no_seconds() { cut -d, -f1-5,7- "$1"; }
diff <(no_seconds "$a/history.csv") <(no_seconds "$b/history.csv") || fail "history.csv differs after resuming"
for f in keras_history.csv gradients.csv probe.csv bn_stats.csv; do
  cmp "$a/$f" "$b/$f" || fail "$f differs after resuming"
done
[ ! -e "$b/state.npz" ] || fail "the finished run kept its state.npz"
[ "$(ls "$b"/events.out.tfevents.* | wc -l)" = 1 ] || fail "the resumed run has more than one event file"
events() {  # every event's step, tags and values, without wall times
  $py "$src/tests/decode_tfevents.py" "$1"/events.out.tfevents.* |
    $py -c 'import json, sys
doc = json.load(sys.stdin)
assert doc["ok"], doc
for e in doc["events"]:
    e.pop("wall_time", None)
    print(json.dumps(e, sort_keys=True))'
}
diff <(events "$a") <(events "$b") > /dev/null || fail "the event file's events differ after resuming"
[ -z "$(ls -A "$work/resumed/.incomplete")" ] || fail ".incomplete not empty after the resumed run"

# the report's statistics (Wilson intervals, collapse probabilities, empirical p-values, the
# step-size and remedy sections) on synthetic runs with known answers
$py "$src/tests/study/test_study_report.py" "$src" "$work/report" || fail "study_report.py's statistics"

echo "study: runs complete, shards merge to the unsharded table, a killed study resumes, a run killed inside an epoch ends with the bits of one never stopped"
