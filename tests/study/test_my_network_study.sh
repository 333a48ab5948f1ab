#!/usr/bin/env bash
# my_network_study: the study's recorder on a user-defined network writes the same files as
# gradient_study, naming the user's own layers.
# usage: test_my_network_study.sh MY_NETWORK_STUDY SOURCE_DIR WORK_DIR
set -euo pipefail
prog=$1 src=$2 work=$3
fail() { echo "FAILED: $*" >&2; exit 1; }
rm -rf "$work" && mkdir -p "$work"
/usr/bin/python3 "$src/tests/study/make_idx.py" "$work/data" 600 200
"$prog" --data "$work/data" --epochs 2 --probe 64 --live-every 5 --out "$work/out" > "$work/log"
for f in gradients.csv bn_stats.csv probe.csv history.csv; do [ -s "$work/out/$f" ] || fail "$f missing"; done
ls "$work/out"/events.out.tfevents.* > /dev/null || fail "no event file"
# epochs 0 (initialisation), 1, 2 of the probe, and live rows
for e in 0 1 2; do grep -q "^$e,0,probe,dense/kernel," "$work/out/gradients.csv" || fail "no probe row for epoch $e"; done
grep -q ',live,' "$work/out/gradients.csv" || fail "no live rows with --live-every"
# the residual blocks' own layers are recorded by their Keras names
[ "$(awk -F, '$1 == 2 && $3 == "probe" && $6 == "kernel"' "$work/out/gradients.csv" | wc -l)" = 8 ] ||
  fail "expected 8 kernels (1 + 3 blocks x 2 + 1) at epoch 2: $(awk -F, '$1 == 2 && $6 == "kernel" {print $4}' "$work/out/gradients.csv")"
# 1 + 3 x 2 BatchNorms, epochs 0..2
[ "$(tail -n +2 "$work/out/bn_stats.csv" | wc -l)" = 21 ] || fail "bn_stats.csv should have 7 layers x 3 epochs"
[ "$(wc -l < "$work/out/probe.csv")" = 4 ] || fail "probe.csv should have a header and epochs 0..2"
echo "my_network_study: a user's network is recorded like the seed's"
