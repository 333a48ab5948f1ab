# Cross-compiles for 64-bit ARM Linux (Graviton, Ampere, Raspberry Pi 4/5, Linux on Apple
# silicon) from a Debian x86-64 machine, and runs the programs under qemu-user:
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake
# scripts/setup.sh --arm installs what it needs: g++-aarch64-linux-gnu, qemu-user and the arm64
# libraries through Debian's multiarch (libopenblas-dev:arm64, zlib1g-dev:arm64, libzip-dev:arm64
# in /usr/lib/aarch64-linux-gnu). scripts/cross_test.sh aarch64 builds and runs the tests with it.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# find_library, find_path and find_package look in /usr/lib/aarch64-linux-gnu, not in the
# build machine's /usr/lib/x86_64-linux-gnu.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# ctest runs each test program through qemu. -L makes it load the cross toolchain's dynamic
# loader (/usr/aarch64-linux-gnu/lib), and LD_LIBRARY_PATH the C and C++ runtime that goes
# with it, the one the programs were linked against: otherwise that loader takes libc from
# libc6:arm64 (/lib/aarch64-linux-gnu, which OpenBLAS pulls in), a different Debian build of
# glibc, and the mismatched pair corrupts pthread_create's stack cache (OpenBLAS's first
# thread spins forever). OpenBLAS, zlib and libzip come from the multiarch directories.
find_program(LAYERWISE_QEMU_AARCH64 qemu-aarch64 NO_CMAKE_FIND_ROOT_PATH)
if(LAYERWISE_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${LAYERWISE_QEMU_AARCH64} -L /usr/aarch64-linux-gnu
    -E LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib)
endif()

# pkg-config (libzip) reads the arm64 .pc files only.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
unset(ENV{PKG_CONFIG_PATH})

# xtensor is header-only, but Debian installs its CMake package (libxtensor-dev, Multi-Arch:
# same) under the build machine's triplet, and libxtensor-dev:arm64 cannot be installed (it
# depends on xtl-dev:arm64, and xtl-dev is Architecture: all without Multi-Arch: foreign).
# The build machine's package names the same headers in /usr/include, so use it.
if(NOT DEFINED xtensor_DIR)
  file(GLOB _layerwise_xtensor_dirs /usr/lib/*-linux-gnu*/cmake/xtensor)
  list(FILTER _layerwise_xtensor_dirs EXCLUDE REGEX "/aarch64-linux-gnu/")
  if(_layerwise_xtensor_dirs AND NOT EXISTS /usr/lib/aarch64-linux-gnu/cmake/xtensor)
    list(GET _layerwise_xtensor_dirs 0 _layerwise_xtensor_dir)
    set(xtensor_DIR ${_layerwise_xtensor_dir} CACHE PATH "xtensor's CMake package (header-only: any architecture's)")
  endif()
endif()
