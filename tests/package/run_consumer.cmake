# cmake -P run_consumer.cmake: builds and runs the consumer project (consumer/) in MODE:
#   find_package       install layerwise to a prefix; find_package it with every component
#   add_subdirectory   add this source tree with add_subdirectory, every component
#   core_only          find_package the core with zlib, pkg-config (so libzip), protobuf and
#                      ONNX made unfindable; the program must carry none of them (ldd)
#   missing_component  as core_only, but asking for the io component must fail with a
#                      message naming the Debian package
#   pkg_config         a plain Makefile (pkg-config/Makefile) against the installed .pc files
file(REMOVE_RECURSE ${WORK})
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGV}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()
function(expect_summary output)
  if(NOT output MATCHES "Total params: 238,474")
    message(FATAL_ERROR "the consumer ran but printed an unexpected summary:\n${output}")
  endif()
endfunction()

set(configure ${CMAKE_COMMAND} -S ${CONSUMER} -B ${WORK}/build -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release)
# Nothing the core needs may come from these: CMake refuses a disabled package even when it is installed.
set(no_zip_no_zlib -DCMAKE_DISABLE_FIND_PACKAGE_ZLIB=ON -DCMAKE_DISABLE_FIND_PACKAGE_PkgConfig=ON
  -DCMAKE_DISABLE_FIND_PACKAGE_Protobuf=ON -DCMAKE_DISABLE_FIND_PACKAGE_ONNX=ON)
if(NOT MODE STREQUAL "add_subdirectory")
  run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK}/prefix)
  foreach(f include/layerwise/layerwise.hpp include/layerwise/version.hpp share/doc/layerwise/LICENSE
            share/pkgconfig/layerwise.pc share/cmake/layerwise/layerwiseConfig.cmake)
    if(NOT EXISTS ${WORK}/prefix/${f})
      message(FATAL_ERROR "the install did not put ${f} under ${WORK}/prefix")
    endif()
  endforeach()
endif()

if(MODE STREQUAL "find_package")
  run(${configure} -DCMAKE_PREFIX_PATH=${WORK}/prefix -DLAYERWISE_CONSUMER_MODE=find_package -DWITH_COMPONENTS=ON)
elseif(MODE STREQUAL "add_subdirectory")
  run(${configure} -DLAYERWISE_SOURCE_DIR=${SOURCE_DIR} -DLAYERWISE_CONSUMER_MODE=add_subdirectory -DWITH_COMPONENTS=ON)
elseif(MODE STREQUAL "core_only")
  run(${configure} -DCMAKE_PREFIX_PATH=${WORK}/prefix -DLAYERWISE_CONSUMER_MODE=find_package ${no_zip_no_zlib})
elseif(MODE STREQUAL "missing_component")
  execute_process(COMMAND ${configure} -DCMAKE_PREFIX_PATH=${WORK}/prefix -DLAYERWISE_CONSUMER_MODE=find_package
    -DWITH_COMPONENTS=ON ${no_zip_no_zlib} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0 OR NOT err MATCHES "layerwise component .io. needs libzip.*Debian:[ \n]*libzip-dev")
    message(FATAL_ERROR "asking for io without libzip should fail naming libzip-dev; got (${rc}):\n${out}\n${err}")
  endif()
  message(STATUS "find_package(layerwise COMPONENTS io) without libzip failed as it should:\n${err}")
  return()
elseif(MODE STREQUAL "pkg_config")
  file(COPY ${CONSUMER}/main.cpp ${CONSUMER}/components.cpp ${CONSUMER}/../pkg-config/Makefile DESTINATION ${WORK}/make)
  run(${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${WORK}/prefix/share/pkgconfig make -C ${WORK}/make CXX=${CXX})
  run(${WORK}/make/consumer)
  expect_summary("${last_output}")
  run(${CMAKE_COMMAND} -E chdir ${WORK}/make ${WORK}/make/consumer_components)
  message(STATUS "pkg-config consumers built with make and ran:\n${last_output}")
  return()
else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()

run(${CMAKE_COMMAND} --build ${WORK}/build)
run(${WORK}/build/consumer)
expect_summary("${last_output}")
if(MODE STREQUAL "core_only")
  run(ldd ${WORK}/build/consumer)
  if(last_output MATCHES "libzip|libz\\.|libonnx|libprotobuf")
    message(FATAL_ERROR "the core-only consumer links libzip, zlib, ONNX or protobuf:\n${last_output}")
  endif()
else()
  run(${CMAKE_COMMAND} -E chdir ${WORK}/build ${WORK}/build/consumer_components)
endif()
message(STATUS "consumer (${MODE}) built and ran")
