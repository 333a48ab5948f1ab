# The libraries layerwise builds on, found the same way by the project itself and by
# layerwiseConfig.cmake in a consumer project. xtensor-blas looks for BLAS and LAPACK;
# we ask for OpenBLAS unless the user chose another vendor.
include(CMakeFindDependencyMacro)
if(NOT DEFINED BLA_VENDOR)
  set(BLA_VENDOR OpenBLAS)
endif()
find_dependency(xtl)
find_dependency(xtensor)
find_dependency(xtensor-blas)
find_dependency(ZLIB)      # .gz IDX files (Fashion-MNIST as Debian ships it)
# .npz checkpoints. Through pkg-config: Debian 12's libzip CMake package names the tools
# zipcmp, zipmerge and ziptool, which live in other packages, and fails without them.
find_dependency(PkgConfig)
pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip)
