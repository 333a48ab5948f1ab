// layerwise/config.hpp — stops a build whose C++ standard is older than C++20, with one message.
//
// layerwise uses concepts, requires-clauses and consteval throughout. Compiled as C++17, the
// first of them fails with an unrelated-looking syntax error and hundreds more lines follow,
// none saying that C++20 is needed. This check says it before any of that code is read.
//
// Where it is included: first, before any other #include, in every header that includes no
// other layerwise header (the roots of the include graph: tensor.hpp, pack.hpp,
// blas_runtime.hpp, ...). Every other header includes a layerwise header before any code of
// its own and so reaches a root first; whichever header a program includes, the preprocessor
// meets this check before any C++20 code. Roots rather than every header: the same guarantee
// from a few includes instead of one per header, and a new header that includes a layerwise
// header has it without doing anything. The test compile_fail.cxx17_every_header compiles
// each header alone as C++17 and fails unless this message comes first, so a new root that
// forgets the include is caught. (version.hpp, generated, holds only macros and compiles under
// any standard, so it needs no check.)
//
// Why an #include after the #error: GCC and Clang report an #error and go on compiling, which
// would bring those hundreds of lines back after our message. An #include of a file that does not
// exist is a fatal error in both: compilation ends there, so the output is our message and
// one line naming this stop. (MSVC's #error is fatal by itself.) MSVC keeps __cplusplus at
// 199711L unless /Zc:__cplusplus is given; _MSVC_LANG holds the standard it compiles.
#pragma once

#if (defined(_MSVC_LANG) && _MSVC_LANG < 202002L) || (!defined(_MSVC_LANG) && __cplusplus < 202002L)
#error "layerwise needs C++20 (-std=c++20 or later)"
#include "layerwise-stops-here-without-C++20"
#endif
