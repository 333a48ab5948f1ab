#!/usr/bin/env bash
# Runs clang++'s front end (-fsyntax-only: parsing, template instantiation and every warning,
# no code generation) on each program of the project the unit tests do not cover: the
# examples, the guide's programs, the benchmarks, the fuzzers' and the cross-checks' helpers.
#   scripts/clang_syntax.sh        for any x86-64 (-march=x86-64), every warning an error, in build-clang-syntax/
# CI builds and runs the unit tests with clang++ (under ASan and UBSan); this checks the rest
# of the sources with the same compiler and warnings in a sixth of a Release build's time
# (code generation and optimisation are most of it). Left out: the two programs that include a
# header generated at build time from a trained model (tests/embedded, the guide's embedded
# example), whose code is the core the unit tests compile.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --clang
dir=build-clang-syntax
mkdir -p "$dir"
cmake -S . -B "$dir" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release -DLAYERWISE_NATIVE=OFF \
  "-DCMAKE_CXX_FLAGS=-march=x86-64 -mtune=generic" -DLAYERWISE_WERROR=ON -DLAYERWISE_BUILD_BENCHMARKS=ON \
  -DLAYERWISE_SEED_DEPTHS=10,15 -DCMAKE_EXPORT_COMPILE_COMMANDS=ON > "$dir/configure.log" ||
  { cat "$dir/configure.log" >&2; exit 1; }
/usr/bin/python3 - "$dir/compile_commands.json" "$(nproc)" <<'EOF'
import concurrent.futures, json, os, re, shlex, subprocess, sys
commands, jobs = sys.argv[1], int(sys.argv[2])
skip = re.compile(r"/tests/test_[a-z0-9_]+\.cpp$|/tests/test_main\.cpp$|embedded_inference\.cpp$|/12_embedded\.cpp$")
entries = [e for e in json.load(open(commands)) if not skip.search(e["file"])]

def check(entry):
    args = shlex.split(entry["command"])
    out = args.index("-o")
    del args[out:out + 2]              # -fsyntax-only writes nothing (and an unused -o is a warning)
    args.remove("-c")
    args.append("-fsyntax-only")
    run = subprocess.run(args, cwd=entry["directory"], capture_output=True, text=True)
    return entry["file"], run.returncode, run.stdout + run.stderr

failed = 0
with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
    for n, (source, code, output) in enumerate(pool.map(check, entries), 1):
        print(f"clang_syntax: [{n}/{len(entries)}] {os.path.relpath(source)}: {'ok' if code == 0 else 'FAILED'}", flush=True)
        if code != 0:
            failed += 1
            print(output, file=sys.stderr)
if failed:
    sys.exit(f"clang_syntax: {failed} of {len(entries)} sources fail clang++'s front end")
print(f"clang_syntax: {len(entries)} sources pass clang++'s front end with every warning an error")
EOF
