#!/usr/bin/env bash
# train_mnist end to end, on a small synthetic data set:
#   1. a run writes history.csv (the documented columns, one row per epoch) and model.npz;
#   2. a bad data file is refused with a message naming the file;
#   3. a run killed while training leaves no half-written file in --out, and a rerun completes;
#   4. each numerics preset gives the same bits as its parts set by their own switches, and
#      each part alone gives different ones;
#   5. a run killed with SIGKILL in the middle of an epoch and taken up with --resume ends with
#      the history (every column but the wall time) and model.npz of a run never stopped;
#   6. the optimizers, schedules, clipping and callbacks work from the command line.
# usage: test_train_mnist.sh TRAIN_MNIST_BINARY SOURCE_DIR WORK_DIR
set -euo pipefail
train=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
/usr/bin/python3 "$src/tests/study/make_idx.py" "$work/data" 3000 500
fail() { echo "FAILED: $*" >&2; exit 1; }

# 1.
"$train" --data "$work/data" --config skip --depth 10 --epochs 2 --batch 64 --out "$work/run" > "$work/run.log"
grep -q "Total params: 238,474" "$work/run.log" || fail "no Keras-style summary in the output"
[ "$(head -1 "$work/run/history.csv")" = "epoch,loss,accuracy,val_loss,val_accuracy,seconds,status,train_loss_inference,train_accuracy_inference,learning_rate" ] || fail "history.csv header"
awk -F, 'NR > 1 && ($8 == "" || $9 == "" || $10 == "") {bad = 1} END {exit bad}' "$work/run/history.csv" || fail "history.csv lacks the inference-mode columns or the learning rate"
[ "$(grep -c ',ok,' "$work/run/history.csv")" = 2 ] || fail "history.csv should have 2 finished epochs"
[ -s "$work/run/model.npz" ] || fail "model.npz missing"

# 2.
mkdir -p "$work/bad" && cp "$work/data"/* "$work/bad/"
head -c 1000 "$work/data/train-images-idx3-ubyte" > "$work/bad/train-images-idx3-ubyte"
if "$train" --data "$work/bad" --out "$work/badrun" 2> "$work/bad.err"; then fail "a truncated file was accepted"; fi
grep -q "train-images-idx3-ubyte: truncated" "$work/bad.err" || fail "unexpected message: $(cat "$work/bad.err")"
[ ! -e "$work/badrun/history.csv" ] || fail "a refused run wrote a history"

# 3.
"$train" --data "$work/data" --config bn --depth 15 --epochs 50 --batch 32 --quiet --out "$work/killed" &
pid=$!
for _ in $(seq 1 600); do [ -f "$work/killed/history.csv" ] && break; sleep 0.05; done
[ -f "$work/killed/history.csv" ] || fail "no epoch finished in 30 s"
sleep 0.3
kill -9 "$pid" 2>/dev/null || fail "the run finished before it could be killed"
wait "$pid" 2>/dev/null || true
# A kill inside a write may leave that write's temporary ("<file>.tmp-<pid>", io/atomic_file.hpp),
# never a half-written file under a result's name.
leftovers=$(ls -A "$work/killed" | grep -v -x -e history.csv -e model.npz -e state.npz \
  -e "history\.csv\.tmp-$pid" -e "model\.npz\.tmp-$pid" -e "state\.npz\.tmp-$pid" || true)
[ -z "$leftovers" ] || fail "the killed run left: $leftovers"
rows=$(tail -n +2 "$work/killed/history.csv" | wc -l)
[ "$(grep -c ',ok,' "$work/killed/history.csv")" = "$rows" ] || fail "history.csv of the killed run has a partial row"
"$train" --data "$work/data" --config bn --depth 15 --epochs 2 --batch 32 --quiet --out "$work/killed"
[ "$(grep -c ',ok,' "$work/killed/history.csv")" = 2 ] || fail "the rerun did not write a complete history"
[ -s "$work/killed/model.npz" ] || fail "the rerun did not write model.npz"

# 4.
quick=(--data "$work/data" --config bn --depth 10 --epochs 2 --batch 64 --quiet)
"$train" "${quick[@]}" --numerics keras2.1 --out "$work/preset"
"$train" "${quick[@]}" --rmsprop-epsilon outside --bn-debias on --out "$work/parts"
"$train" "${quick[@]}" --numerics tf2 --out "$work/tf2"
"$train" "${quick[@]}" --numerics keras2.1 --rmsprop-epsilon inside --bn-debias off --out "$work/tf2-parts"
"$train" "${quick[@]}" --rmsprop-epsilon outside --out "$work/eps"
"$train" "${quick[@]}" --bn-debias on --out "$work/debias"
cmp -s "$work/preset/model.npz" "$work/parts/model.npz" || fail "keras2.1 differs from --rmsprop-epsilon outside --bn-debias on"
cmp -s "$work/tf2/model.npz" "$work/tf2-parts/model.npz" || fail "tf2 differs from its parts"
no_seconds() { cut -d, -f1-5,7- "$1"; }
diff <(no_seconds "$work/preset/history.csv") <(no_seconds "$work/parts/history.csv") > /dev/null || fail "keras2.1 history differs from its parts'"
for part in eps debias; do
  ! cmp -s "$work/$part/model.npz" "$work/tf2/model.npz" || fail "--$part alone changed nothing"
  ! cmp -s "$work/$part/model.npz" "$work/preset/model.npz" || fail "--$part alone equals keras2.1"
done
if "$train" "${quick[@]}" --optimizer adam --rmsprop-epsilon outside --out "$work/adam" 2> "$work/adam.err"; then
  fail "--rmsprop-epsilon with --optimizer adam was accepted"
fi
grep -q -- "--rmsprop-epsilon applies to --optimizer rmsprop only" "$work/adam.err" || fail "unexpected message: $(cat "$work/adam.err")"
# 5. Epochs of 45000 samples at depth 15 take long enough (over a second) to be killed inside one.
/usr/bin/python3 "$src/tests/study/make_idx.py" "$work/data45k" 45000 500
long=(--data "$work/data45k" --config bn --depth 15 --epochs 3 --batch 32 --train-inference 2000 --quiet)
"$train" "${long[@]}" --out "$work/straight"
"$train" "${long[@]}" --out "$work/resumed" &
pid=$!
for _ in $(seq 1 1200); do [ -f "$work/resumed/state.npz" ] && break; sleep 0.05; done
[ -f "$work/resumed/state.npz" ] || fail "no epoch finished in 60 s"
sleep 0.4  # into epoch 2
kill -9 "$pid" 2>/dev/null || fail "the run finished before it could be killed"
wait "$pid" 2>/dev/null || true
[ ! -e "$work/resumed/model.npz" ] || fail "the run finished before it was killed"
done_before=$(grep -c ',ok,' "$work/resumed/history.csv")
[ "$done_before" -lt 3 ] || fail "the run had finished every epoch when it was killed"
"$train" "${long[@]}" --out "$work/resumed" --resume > "$work/resume.log"
grep -q "resuming from $work/resumed/state.npz after epoch $done_before" "$work/resume.log" ||
  fail "no resume message: $(cat "$work/resume.log")"
diff <(no_seconds "$work/straight/history.csv") <(no_seconds "$work/resumed/history.csv") ||
  fail "the resumed run's history differs from the uninterrupted run's"
cmp "$work/straight/model.npz" "$work/resumed/model.npz" || fail "the resumed run's model.npz differs"

# 6. The training tools from the command line. AdamW with clipping and warm-up then cosine:
# the learning-rate column follows the schedule; keep-best writes best.npz. An SGD with Nesterov's momentum at a step too small
# to change any accuracy stops early after --early-stopping epochs without improvement.
tools=(--data "$work/data" --config rezero --depth 10 --batch 300 --quiet)
"$train" "${tools[@]}" --epochs 3 --optimizer adamw --weight-decay 0.05 --clip-norm 1 --lr-schedule warmup:30+cosine \
  --keep-best --monitor val_accuracy --out "$work/tools"
[ -s "$work/tools/best.npz" ] || fail "--keep-best wrote no best.npz"
/usr/bin/python3 - "$work/tools/history.csv" <<'PY' || fail "the learning-rate column does not follow warmup:30+cosine"
import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1])))
lr = [float(r["learning_rate"]) for r in rows]
# 10 steps per epoch, 30 in all: the last step of epoch e is s = 10 e + 9, at the rate
# 1e-3 min(1, (s + 1) / 30) (1 + cos(pi s / 30)) / 2 (AdamW's default 1e-3, in float)
want = [1e-3 * min(1, (s + 1) / 30) * (1 + math.cos(math.pi * s / 30)) / 2 for s in (9, 19, 29)]
assert len(lr) == 3 and all(abs(a - b) <= 1e-6 * b for a, b in zip(lr, want)), (lr, want)
PY
"$train" "${tools[@]}" --epochs 6 --optimizer sgd --momentum 0.9 --nesterov --lr 1e-30 --early-stopping 2 \
  --monitor val_accuracy --out "$work/stopped"
[ "$(grep -c ',ok,' "$work/stopped/history.csv")" = 3 ] || fail "--early-stopping 2 did not stop after epoch 3"

echo "train_mnist: outputs complete, bad data refused by name, a killed run leaves only complete files, presets equal their parts, a killed run resumes to the same bits, the training tools work"
