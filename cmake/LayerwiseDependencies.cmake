# How layerwise finds what each of its components needs. Included by the project itself and
# by layerwiseConfig.cmake in a consumer project, so both find the same things the same way.
# Every function sets only <prefix>_FOUND and <prefix>_MESSAGE in its caller: nothing else
# (not BLA_VENDOR, not BLAS_LIBRARIES) reaches the consumer's scope. The imported targets
# they create (xtensor, BLAS::BLAS, ZLIB::ZLIB, PkgConfig::LIBZIP) are directory-scoped as
# CMake's own find modules make them.

# core: xtensor, the xtensor-blas headers (cxxblas) and a CBLAS library. xtensor-blas's own
# CMake package is not used: it links LAPACK, which layerwise never calls.
function(layerwise_find_core out)
  set(missing "")
  find_package(xtensor QUIET CONFIG)
  if(NOT xtensor_FOUND)
    list(APPEND missing "xtensor (Debian: libxtensor-dev)")
  endif()
  find_path(LAYERWISE_CXXBLAS_INCLUDE_DIR xflens/cxxblas/cxxblas.cxx HINTS ${xtensor_INCLUDE_DIRS})
  mark_as_advanced(LAYERWISE_CXXBLAS_INCLUDE_DIR)
  if(NOT LAYERWISE_CXXBLAS_INCLUDE_DIR)
    list(APPEND missing "the xtensor-blas headers (Debian: libxtensor-blas-dev)")
  endif()
  if(NOT TARGET BLAS::BLAS)
    if(NOT DEFINED BLA_VENDOR)  # a local: the consumer's own BLA_VENDOR, if any, is respected and left as it was
      set(BLA_VENDOR OpenBLAS)
    endif()
    find_package(BLAS QUIET)
  endif()
  if(NOT TARGET BLAS::BLAS)
    list(APPEND missing "a CBLAS library (Debian: libopenblas-dev)")
  endif()
  find_package(Threads QUIET)
  if(NOT TARGET Threads::Threads)
    list(APPEND missing "threads")
  endif()
  if(TARGET BLAS::BLAS AND LAYERWISE_CXXBLAS_INCLUDE_DIR AND NOT TARGET layerwise_cxxblas_headers)
    # cxxblas calls CBLAS: its headers and the BLAS library, as one link item
    add_library(layerwise_cxxblas_headers INTERFACE IMPORTED)
    set_target_properties(layerwise_cxxblas_headers PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${LAYERWISE_CXXBLAS_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES BLAS::BLAS)
  endif()
  _layerwise_report(${out} "${missing}")
endfunction()

# io: .npz checkpoints, with libzip. Through pkg-config: Debian 12's libzip CMake package
# names the tools zipcmp, zipmerge and ziptool, which live in other packages, and fails without them.
function(layerwise_find_io out)
  set(missing "")
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND AND NOT TARGET PkgConfig::LIBZIP)
    pkg_check_modules(LIBZIP QUIET IMPORTED_TARGET libzip)
  endif()
  if(NOT TARGET PkgConfig::LIBZIP)
    list(APPEND missing "libzip, found through pkg-config (Debian: libzip-dev pkg-config)")
  endif()
  _layerwise_report(${out} "${missing}")
endfunction()

# data: IDX and MNIST loaders, with zlib for .gz files.
function(layerwise_find_data out)
  set(missing "")
  find_package(ZLIB QUIET)
  if(NOT TARGET ZLIB::ZLIB)
    list(APPEND missing "zlib (Debian: zlib1g-dev)")
  endif()
  _layerwise_report(${out} "${missing}")
endfunction()

# onnx: ONNX export and import, on ONNX's own generated protobuf classes and checker (Debian:
# libonnx-dev, whose CMake package needs protobuf::libprotobuf from CMake's FindProtobuf:
# libprotobuf-dev). The imported targets are onnx and onnx_proto, which carry
# ONNX_NAMESPACE=onnx and ONNX_ML=1, the macros the installed headers were generated with.
function(layerwise_find_onnx out)
  set(missing "")
  if(NOT TARGET protobuf::libprotobuf)
    find_package(Protobuf QUIET)
  endif()
  if(NOT TARGET protobuf::libprotobuf)
    list(APPEND missing "protobuf (Debian: libprotobuf-dev)")
  elseif(NOT TARGET onnx)
    find_package(ONNX QUIET CONFIG)
  endif()
  if(NOT TARGET onnx)
    list(APPEND missing "ONNX's C++ library (Debian: libonnx-dev)")
  endif()
  _layerwise_report(${out} "${missing}")
endfunction()

# diagnostics: gradient statistics and the TensorBoard writer need nothing beyond the core.
function(layerwise_find_diagnostics out)
  _layerwise_report(${out} "")
endfunction()

macro(_layerwise_report out missing)
  if("${missing}" STREQUAL "")
    set(${out}_FOUND TRUE PARENT_SCOPE)
    set(${out}_MESSAGE "" PARENT_SCOPE)
  else()
    string(REPLACE ";" ", " _list "${missing}")
    set(${out}_FOUND FALSE PARENT_SCOPE)
    set(${out}_MESSAGE "needs ${_list}" PARENT_SCOPE)
  endif()
endmacro()
