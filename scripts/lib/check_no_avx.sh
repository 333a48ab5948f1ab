# check_no_avx DIR: fails, naming them, if any test program in DIR/tests uses an AVX register
# (%ymm or %zmm): what a build for any x86-64 (-march=x86-64, SSE2) must never contain.
check_no_avx() {
  local dir=$1 exe n avx=()
  for exe in "$dir"/tests/test_*; do
    [ -x "$exe" ] || continue
    n=$(objdump -d --no-show-raw-insn "$exe" | grep -c '%[yz]mm' || true)  # -c reads it all: no SIGPIPE
    if [ "$n" != 0 ]; then avx+=("$exe"); fi
  done
  if ((${#avx[@]})); then
    echo "check_no_avx: programs built for any x86-64 use AVX registers: ${avx[*]}" >&2
    return 1
  fi
  echo "check_no_avx: no AVX register in $dir/tests/test_*"
}
