# cpack -G DEB (in the build tree) builds layerwise-dev_<version>_all.deb: the headers, the
# CMake package, the pkg-config files and the licence, installed under /usr. Its Depends
# name the Debian packages that the core and each component need.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME layerwise-dev)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "header-only C++20 neural-network layers whose structure is a type")
set(CPACK_PACKAGE_CONTACT "layerwise developers <layerwise@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME "layerwise-dev_${PROJECT_VERSION}_all.deb")
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE all)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
  # core: xtensor (with xtl), the xtensor-blas headers, a CBLAS
  "libxtensor-dev, libxtensor-blas-dev, libopenblas-dev, "
  # io: libzip through pkg-config; data: zlib
  "libzip-dev, pkg-config | pkgconf, zlib1g-dev")
string(REPLACE ";" "" CPACK_DEBIAN_PACKAGE_DEPENDS "${CPACK_DEBIAN_PACKAGE_DEPENDS}")
# onnx: ONNX and protobuf, suggested only: the core and the other components do without them
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "cmake, g++ (>= 12) | clang (>= 14), libonnx-dev, libprotobuf-dev")
include(CPack)
