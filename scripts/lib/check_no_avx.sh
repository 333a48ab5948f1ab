# check_no_avx DIR: fails, naming them, if any test program in DIR/tests uses an AVX register
# (%ymm or %zmm): what a build for any x86-64 (-march=x86-64, SSE2) must never contain.
# Outside the kernels chosen at run time: a function whose name holds "_avx512" is compiled for
# AVX-512 on purpose (a target attribute) and runs only where the CPU has it (deploy/bf16_dot.hpp
# asks __builtin_cpu_supports first), so its instructions are not counted; the functions that
# call it must still be free of AVX.
check_no_avx() {
  local dir=$1 exe n avx=()
  for exe in "$dir"/tests/test_*; do
    [ -x "$exe" ] || continue
    # objdump -d starts each function with "<address> <name>:"; -C gives the names unmangled.
    n=$(objdump -d -C --no-show-raw-insn "$exe" |
      awk '/^[0-9a-f]+ <.*>:$/ { dispatched = index($0, "_avx512") > 0; next }
           !dispatched && /%[yz]mm/ { n++ }
           END { print n + 0 }')
    if [ "$n" != 0 ]; then avx+=("$exe"); fi
  done
  if ((${#avx[@]})); then
    echo "check_no_avx: programs built for any x86-64 use AVX registers: ${avx[*]}" >&2
    return 1
  fi
  echo "check_no_avx: no AVX register in $dir/tests/test_*, outside the kernels chosen at run time (_avx512)"
}
