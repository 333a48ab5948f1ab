#!/usr/bin/env bash
# The .deb on a machine that has never seen the project. Run by hand (it installs a Debian
# root's worth of packages, too slow for CI):
#   bash scripts/check_deb.sh [path/to/fresh-debian.sh]    (default: ../shared/tools/fresh-debian.sh)
# Builds layerwise-dev_<version>_all.deb with cpack, then, in a pristine Debian 12 root,
# installs it with apt-get (which must pull in every package its Depends name), builds the
# consumer project of tests/package with find_package and every component, runs it, and
# builds the same programs with the pkg-config Makefile. Then, in a second pristine root, the
# core alone: only the core's packages are installed (no libzip-dev, no zlib1g-dev, no
# pkg-config), the .deb's files are unpacked over them with dpkg --force-depends, and the
# core-only consumer configures, builds and runs; ldd shows no libzip and no libz.
set -euo pipefail
cd "$(dirname "$0")/.."
fresh=$(realpath "${1:-../shared/tools/fresh-debian.sh}")
[ -x "$fresh" ] || [ -f "$fresh" ] || { echo "check_deb: no fresh-debian script at $fresh" >&2; exit 2; }
# The package holds headers and CMake/pkg-config files only; cpack builds `all` first, so the
# tree it packs from builds no tests or examples.
cmake -S . -B build-deb -DLAYERWISE_BUILD_TESTS=OFF -DLAYERWISE_BUILD_EXAMPLES=OFF > /dev/null
(cd build-deb && cpack -G DEB > /dev/null)
deb=$(ls build-deb/layerwise-dev_*_all.deb)
echo "check_deb: $deb"

# fresh-debian.sh runs a command in a clone of a git repository: make one holding the .deb
# and the consumers.
stage=$(mktemp -d /tmp/layerwise-deb-check.XXXXXX)
trap 'rm -rf "$stage"' EXIT
cp "$deb" tests/package/consumer/main.cpp tests/package/consumer/components.cpp \
   tests/package/consumer/CMakeLists.txt tests/package/pkg-config/Makefile "$stage/"
cat > "$stage/run.sh" <<'EOS'
set -euxo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -q > /dev/null
apt-get install -y -q ./layerwise-dev_*_all.deb cmake g++ make > apt.log
apt-get install -y -q libonnx-dev libprotobuf-dev > apt-onnx.log  # the onnx component's, suggested by the .deb
dpkg -s layerwise-dev | grep -E '^(Status|Version|Depends)'
cmake -S . -B build -DLAYERWISE_CONSUMER_MODE=find_package -DWITH_COMPONENTS=ON > /dev/null
cmake --build build > /dev/null
./build/consumer | grep 'Total params: 238,474'
./build/consumer_components
mkdir make && cp main.cpp components.cpp Makefile make/ && make -C make > /dev/null
./make/consumer | grep 'Total params: 238,474'
(cd make && ./consumer_components)
echo "check_deb: the .deb installed, and both consumers built and ran"
EOS
cat > "$stage/core_only.sh" <<'EOS'
set -euxo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -q > /dev/null
apt-get install -y -q libxtensor-dev libxtensor-blas-dev libopenblas-dev cmake g++ make > apt.log
! dpkg -s libzip-dev zlib1g-dev pkg-config pkgconf 2>/dev/null | grep -q 'Status: install ok'
dpkg --force-depends -i layerwise-dev_*_all.deb > dpkg.log 2>&1
cmake -S . -B build -DLAYERWISE_CONSUMER_MODE=find_package > /dev/null
cmake --build build --target consumer > /dev/null
./build/consumer | grep 'Total params: 238,474'
! ldd build/consumer | grep -E 'libzip|libz\.|libonnx|libprotobuf'
echo "check_deb: the core-only consumer built and ran without libzip, zlib or pkg-config"
EOS
(cd "$stage" && git init -q && git add . && git -c user.name=check -c user.email=check@localhost commit -qm deb)
bash "$fresh" /tmp/fresh "$stage" 'bash run.sh'
bash "$fresh" /tmp/fresh "$stage" 'bash core_only.sh'
