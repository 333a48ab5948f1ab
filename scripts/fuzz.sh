#!/usr/bin/env bash
# Fuzzes the readers of untrusted files with libFuzzer (clang, ASan + UBSan):
#   scripts/fuzz.sh [SECONDS]      each harness for SECONDS (default 60), one per core at a time
# Harnesses (tests/fuzz/): fuzz_idx (data::load_dataset, plain and gzip IDX), fuzz_npy
# (io::decode_npy), fuzz_npz (io::load_npz), fuzz_onnx (io::load_onnx_bytes). Each starts
# from a copy of its checked-in seed corpus (tests/fuzz/corpus/<harness>, never written to)
# in build-fuzz/corpus-work/;
# crashes, leaks, timeouts and out-of-memory inputs go to build-fuzz/findings/<harness>/,
# and libFuzzer's log to build-fuzz/logs/<harness>.log. Prints executions, coverage and
# findings per harness; exits non-zero if any harness found anything.
# Replay one finding: build-fuzz/tests/fuzz/fuzz_<harness> build-fuzz/findings/<harness>/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2; }
bash scripts/setup.sh --fuzz

dir=build-fuzz
harnesses=(idx npy npz onnx)
cmake -S . -B "$dir" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLAYERWISE_FUZZ=ON -DLAYERWISE_BUILD_TESTS=OFF -DLAYERWISE_BUILD_EXAMPLES=OFF
cmake --build "$dir" -j 2 --target "${harnesses[@]/#/fuzz_}"

# Sanitizer reports abort (libFuzzer then saves the input); leaks are findings too.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p "$dir/logs"
# fuzz_one HARNESS: runs it for $seconds; its exit status goes to $dir/logs/HARNESS.status.
fuzz_one() {
  local h=$1 work=$dir/corpus-work/$1 findings=$dir/findings/$1 log=$dir/logs/$1.log status=0
  rm -rf "$work" "$findings"
  mkdir -p "$work" "$findings"
  cp tests/fuzz/corpus/"$h"/* "$work"/
  # -timeout: one input running longer than 25 s is a finding (a hang).
  "$dir/tests/fuzz/fuzz_$h" -max_total_time="$seconds" -timeout=25 -print_final_stats=1 \
    -dict=tests/fuzz/"$h".dict -artifact_prefix="$findings/" "$work" >"$log" 2>&1 || status=$?
  echo "$status" >"$dir/logs/$h.status"
}
# Each harness is one process on one core: run as many at once as there are cores.
jobs=$(nproc)
running=0
for h in "${harnesses[@]}"; do
  rm -f "$dir/logs/$h.status"
  echo "fuzz: $h for ${seconds}s (log: $dir/logs/$h.log)"
  fuzz_one "$h" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi  # (statuses: below)
done
wait

failed=0
summary=()
for h in "${harnesses[@]}"; do
  findings=$dir/findings/$h log=$dir/logs/$h.log
  status=$(cat "$dir/logs/$h.status" 2>/dev/null || echo "no status")
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || true)
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)
  found=$(find "$findings" -type f | sort)
  if [ "$status" != 0 ] || [ -n "$found" ]; then
    failed=$((failed + 1))
    echo "fuzz: $h FOUND SOMETHING (exit $status):"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|terminate called|.*deadly signal)' "$log" | head -5 || true
    echo "${found:-  (no input saved; see $log)}"
    tail -40 "$log" 2>/dev/null || true
  fi
  summary+=("$(printf '%-4s executions: %-10s %-22s findings: %s' "$h" "${execs:-?}" "${cov:-cov: ?}" \
    "$(echo "$found" | grep -c . || true)")")
done

echo "fuzz: summary (${seconds}s per harness)"
printf '  %s\n' "${summary[@]}"
echo "fuzz: $((${#harnesses[@]} - failed)) passed, $failed failed"
if [ "$failed" != 0 ]; then
  echo "fuzz: FAILED: findings in $dir/findings/" >&2
  exit 1
fi
