#!/usr/bin/env bash
# Builds the API reference from the headers' doc comments with Debian's doxygen
# (docs/Doxyfile), into build-docs/html/ (open build-docs/html/index.html), and checks it:
#   scripts/docs.sh     exits 1, listing them, when a public member of the core has no doc comment
#
# The core is what <layerwise/core.hpp> brings to a program: the headers it includes, and the
# headers those include, in include/layerwise/ (layers, compose, loss, optim, init, visit,
# summary, predict, train/fit, gradient_check, tensor, gemm, concepts, matrix_view,
# deploy/freeze and what they are built on). The list is worked out here from the #include
# lines, so a header the core starts to include is checked from then on. The other headers
# (io, data, diagnostics, study, models, keras_presets) are in the reference too; their
# warnings are counted and listed in build-docs/warnings.log, but do not fail the check.
# Other doxygen warnings on core headers (a broken reference in a comment, say) are printed
# and do not fail it either.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --docs

out=build-docs
log=$out/warnings.log  # WARN_LOGFILE in docs/Doxyfile
rm -rf "$out/html" "$log"
mkdir -p "$out"
version=$(sed -n 's/^project(layerwise VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
echo "docs: $(doxygen --version | head -n 1), layerwise $version"
LAYERWISE_VERSION=$version doxygen docs/Doxyfile
touch "$log"

# The core: core.hpp and every header of include/layerwise it reaches through #include
# "relative/path" or #include <layerwise/path> (version.hpp, which CMake generates, is not here).
declare -A core=()
todo=(include/layerwise/core.hpp)
while ((${#todo[@]})); do
  header=${todo[-1]}
  unset 'todo[-1]'
  [ -n "${core[$header]:-}" ] && continue
  core[$header]=1
  while read -r included; do
    case $included in
      \"*) path=$(realpath -m --relative-to=. "$(dirname "$header")/${included//\"/}") ;;
      \<layerwise/*) path=include/${included:1:-1} ;;
      *) continue ;;
    esac
    [ -f "$path" ] && todo+=("$path")
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*\([<"][^>"]*[>"]\).*/\1/p' "$header")
done

# Each warning's first line is "<file>:<line>: warning: ..." (doxygen gives the file's
# absolute path) or, for one about no file (the Doxyfile's, say), "warning: ..."; a few
# continue on lines of their own, which are left in the log.
core_undocumented=() core_other=() others=()
root=$(pwd)/
while IFS= read -r line; do
  [[ $line == *"warning: "* ]] || continue
  line=${line#"$root"}
  file=${line%%:*}
  if [ -n "${core[$file]:-}" ]; then
    if [[ $line == *" is not documented"* ]]; then core_undocumented+=("$line"); else core_other+=("$line"); fi
  else
    others+=("$line")
  fi
done <"$log"

# Doxygen checks a namespace's functions, variables and enums only when the namespace itself
# is documented (core.hpp documents layerwise): without that they would leave the reference,
# and the check, without a word.
if [ ! -f "$out/html/namespacelayerwise.html" ]; then
  echo "docs: FAILED: namespace layerwise has no doc comment (core.hpp), so its members are neither in the reference nor checked" >&2
  exit 1
fi

echo "docs: the reference is in $out/html/index.html; doxygen's warnings are in $log"
echo "docs: the core is ${#core[@]} headers: ${#core_undocumented[@]} undocumented public members, ${#core_other[@]} other warnings"
echo "docs: the other headers: ${#others[@]} warnings (not checked)"
if ((${#others[@]})); then
  printf '%s\n' "${others[@]}" | cut -d: -f1 | sort | uniq -c | sed 's/^/docs:   /'
fi
if ((${#core_other[@]})); then
  echo "docs: other warnings on the core (not checked):"
  printf '  %s\n' "${core_other[@]}"
fi
if ((${#core_undocumented[@]})); then
  echo "docs: FAILED: ${#core_undocumented[@]} public members of the core have no doc comment (/// or ///<):" >&2
  printf '  %s\n' "${core_undocumented[@]}" >&2
  exit 1
fi
echo "docs: every public member of the core is documented"
