#!/usr/bin/env bash
# train_mnist end to end, on a small synthetic data set:
#   1. a run writes history.csv (the documented columns, one row per epoch) and model.npz;
#   2. a bad data file is refused with a message naming the file;
#   3. a run killed while training leaves no half-written file in --out, and a rerun completes.
# usage: test_train_mnist.sh TRAIN_MNIST_BINARY SOURCE_DIR WORK_DIR
set -euo pipefail
train=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
/usr/bin/python3 "$src/tests/study/make_idx.py" "$work/data" 3000 500
fail() { echo "FAILED: $*" >&2; exit 1; }

# 1.
"$train" --data "$work/data" --config skip --depth 10 --epochs 2 --batch 64 --out "$work/run" > "$work/run.log"
grep -q "Total params: 238,474" "$work/run.log" || fail "no Keras-style summary in the output"
[ "$(head -1 "$work/run/history.csv")" = "epoch,loss,accuracy,val_loss,val_accuracy,seconds,status" ] || fail "history.csv header"
[ "$(grep -c ',ok$' "$work/run/history.csv")" = 2 ] || fail "history.csv should have 2 finished epochs"
[ -s "$work/run/model.npz" ] || fail "model.npz missing"

# 2.
mkdir -p "$work/bad" && cp "$work/data"/* "$work/bad/"
head -c 1000 "$work/data/train-images-idx3-ubyte" > "$work/bad/train-images-idx3-ubyte"
if "$train" --data "$work/bad" --out "$work/badrun" 2> "$work/bad.err"; then fail "a truncated file was accepted"; fi
grep -q "train-images-idx3-ubyte: truncated" "$work/bad.err" || fail "unexpected message: $(cat "$work/bad.err")"
[ ! -e "$work/badrun/history.csv" ] || fail "a refused run wrote a history"

# 3.
"$train" --data "$work/data" --config bn --depth 40 --epochs 50 --batch 32 --quiet --out "$work/killed" &
pid=$!
for _ in $(seq 1 600); do [ -f "$work/killed/history.csv" ] && break; sleep 0.05; done
[ -f "$work/killed/history.csv" ] || fail "no epoch finished in 30 s"
sleep 0.3
kill -9 "$pid" 2>/dev/null || fail "the run finished before it could be killed"
wait "$pid" 2>/dev/null || true
leftovers=$(ls -A "$work/killed" | grep -v -x -e history.csv -e model.npz || true)
[ -z "$leftovers" ] || fail "the killed run left: $leftovers"
rows=$(tail -n +2 "$work/killed/history.csv" | wc -l)
[ "$(grep -c ',ok$' "$work/killed/history.csv")" = "$rows" ] || fail "history.csv of the killed run has a partial row"
"$train" --data "$work/data" --config bn --depth 40 --epochs 2 --batch 32 --quiet --out "$work/killed"
[ "$(grep -c ',ok$' "$work/killed/history.csv")" = 2 ] || fail "the rerun did not write a complete history"
[ -s "$work/killed/model.npz" ] || fail "the rerun did not write model.npz"
echo "train_mnist: outputs complete, bad data refused by name, a killed run leaves only complete files"
