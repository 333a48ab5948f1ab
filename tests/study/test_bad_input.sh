#!/usr/bin/env bash
# Bad command lines and bad places to write, for train_mnist and gradient_study: each is
# refused before any data is read or any folder is created, with a message that names the
# option or file and the reason, a non-zero exit code, and nothing already written is lost.
# usage: test_bad_input.sh TRAIN_MNIST GRADIENT_STUDY SOURCE_DIR WORK_DIR
set -euo pipefail
train=$1 study=$2 src=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
/usr/bin/python3 "$src/tests/study/make_idx.py" "$work/data" 300 100
fail() { echo "FAILED: $*" >&2; exit 1; }

# refused WHAT EXPECTED_TEXT... -- COMMAND...: COMMAND exits non-zero and its stderr holds every text.
refused() {
  local what=$1; shift
  local texts=()
  while [ "$1" != -- ]; do texts+=("$1"); shift; done
  shift
  if "$@" > "$work/out.log" 2> "$work/err.log"; then fail "$what: accepted: $*"; fi
  for t in "${texts[@]}"; do
    grep -qF -- "$t" "$work/err.log" || fail "$what: the message lacks '$t': $(cat "$work/err.log")"
  done
}
opts=(--epochs 1 --batch 32)
quick=(--data "$work/data" "${opts[@]}")

for prog in "$train" "$study"; do
  name=$(basename "$prog")
  depth_opt=--depth; [ "$name" = gradient_study ] && depth_opt=--depths
  # gradient_study's default depths (10:40:5) may not all be compiled in (LAYERWISE_SEED_DEPTHS)
  one=("$depth_opt" 10)
  refused "$name $depth_opt 13" "13 is not compiled in (available: 10, 15" -- "$prog" "${quick[@]}" "$depth_opt" 13 --out "$work/d13"
  [ ! -e "$work/d13" ] || fail "$name $depth_opt 13 created its --out folder"
  refused "$name --batch 0" "--batch" "must be a whole number of at least 2, not '0'" -- "$prog" "${quick[@]}" "${one[@]}" --batch 0 --out "$work/b0"
  refused "$name --epochs -1" "--epochs" "must be a whole number of at least 1, not '-1'" -- "$prog" "${quick[@]}" "${one[@]}" --epochs -1 --out "$work/e1"
  [ ! -e "$work/b0" ] && [ ! -e "$work/e1" ] || fail "$name created an --out folder for a refused option"

  # --out under a regular file
  touch "$work/plainfile"
  refused "$name --out under a file" "--out $work/plainfile/run: cannot be created: $work/plainfile is not a directory" \
    -- "$prog" "${quick[@]}" "${one[@]}" --out "$work/plainfile/run"

  # both training files missing: both are named, whatever the order of evaluation
  mkdir -p "$work/half" && cp "$work/data"/t10k-* "$work/half/"
  refused "$name with two files missing" "missing train-images-idx3-ubyte, train-labels-idx1-ubyte" \
    -- "$prog" "${opts[@]}" "${one[@]}" --data "$work/half" --out "$work/half-out"
done

# train_mnist: an existing directory named model.npz where the model goes, next to an earlier
# history.csv: refused before training, and the earlier file is kept as it was.
mkdir -p "$work/earlier/model.npz"
echo "an earlier run's history" > "$work/earlier/history.csv"
refused "train_mnist into a folder whose model.npz is a directory" \
  "--out $work/earlier: $work/earlier/model.npz exists and is not a regular file" \
  -- "$train" "${quick[@]}" --out "$work/earlier"
[ "$(cat "$work/earlier/history.csv")" = "an earlier run's history" ] || fail "the earlier history.csv was changed"

# train_mnist's training tools: each bad value is refused by option, before any folder is made
refused "train_mnist --lr-schedule" "--lr-schedule" "learning-rate schedule 'step:0.5'" "expected constant, step:EPOCHS:GAMMA" \
  -- "$train" "${quick[@]}" --lr-schedule step:0.5 --out "$work/sched"
refused "train_mnist --momentum 1" "--momentum" "must be a number in [0, 1), not '1'" -- "$train" "${quick[@]}" --optimizer sgd --momentum 1 --out "$work/mom"
refused "train_mnist --momentum with adam" "--momentum and --nesterov apply to --optimizer sgd only, not adam" \
  -- "$train" "${quick[@]}" --optimizer adam --momentum 0.9 --out "$work/mom"
refused "train_mnist --nesterov without momentum" "--nesterov needs --momentum greater than 0" \
  -- "$train" "${quick[@]}" --optimizer sgd --nesterov --out "$work/mom"
refused "train_mnist --clip-norm -1" "--clip-norm" -- "$train" "${quick[@]}" --clip-norm -1 --out "$work/clip"
refused "train_mnist --monitor" "--monitor" "val_los" -- "$train" "${quick[@]}" --monitor val_los --early-stopping 2 --out "$work/mon"
refused "train_mnist --reduce-lr-factor 1" "--reduce-lr-factor" "must be a number in (0, 1), not '1'" \
  -- "$train" "${quick[@]}" --reduce-lr-on-plateau 2 --reduce-lr-factor 1 --out "$work/factor"
for d in sched mom clip mon factor; do [ ! -e "$work/$d" ] || fail "train_mnist created --out $work/$d for a refused option"; done

# gradient_study: a finished study is left alone by a refused rerun, and --out that is a file is refused
quick+=(--depths 10)
"$study" "${quick[@]}" --configs bn --out "$work/study" > /dev/null
stamp=$(stat -c %Y.%N "$work/study/bn-d10-s1/run.json")
refused "gradient_study --jobs 99" "--jobs" "must be a whole number from 1 to" -- "$study" "${quick[@]}" --jobs 99 --out "$work/study"
refused "gradient_study --configs" "unknown config 'bm'" -- "$study" "${quick[@]}" --configs bm --out "$work/study"
# the study's optimizer and initialiser axes: each bad value of a list is refused by option
refused "gradient_study --lr" "--lr: '-3e-4' is not a number in [0, inf)" -- "$study" "${quick[@]}" --lr 1e-3,-3e-4 --out "$work/study"
refused "gradient_study --lr 0" "--lr: 0 would not train" -- "$study" "${quick[@]}" --lr 0 --out "$work/study"
refused "gradient_study --gain 0" "--gain: 0 would make every kernel zero" -- "$study" "${quick[@]}" --gain 1,0 --out "$work/study"
refused "gradient_study --optimizer" "--optimizer: 'adagrad' is none of rmsprop, adam, adamw and sgd" \
  -- "$study" "${quick[@]}" --optimizer rmsprop,adagrad --out "$work/study"
refused "gradient_study --momentum with rmsprop" "--momentum and --nesterov apply to --optimizer sgd only, not rmsprop" \
  -- "$study" "${quick[@]}" --momentum 0.9 --out "$work/study"
refused "gradient_study --clip-norm" "--clip-norm: 'x' is not a number in [0, inf)" -- "$study" "${quick[@]}" --clip-norm x --out "$work/study"
[ "$(stat -c %Y.%N "$work/study/bn-d10-s1/run.json")" = "$stamp" ] || fail "a refused rerun touched the finished study"
refused "gradient_study --out a file" "--out $work/plainfile: exists and is not a directory" \
  -- "$study" "${quick[@]}" --configs bn --out "$work/plainfile"
echo "bad input: every case refused by name and reason, before anything was read or written"
