# cmake -P check_every_header.cmake: every header under HEADERS/layerwise, included alone by a
# translation unit of its own (written to WORK), must fail as check_compile.cmake expects.
file(GLOB_RECURSE headers RELATIVE ${HEADERS} ${HEADERS}/layerwise/*.hpp)
list(LENGTH headers count)
if(count EQUAL 0)
  message(FATAL_ERROR "no headers under ${HEADERS}/layerwise")
endif()
foreach(header IN LISTS headers)
  set(SOURCE ${WORK}/${header}.cpp)
  file(WRITE ${SOURCE} "#include <${header}>\n")
  include(${CMAKE_CURRENT_LIST_DIR}/check_compile.cmake)
endforeach()
message(STATUS "all ${count} headers failed as expected")
