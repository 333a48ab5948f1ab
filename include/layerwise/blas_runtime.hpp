// layerwise/blas_runtime.hpp — what the BLAS underneath is doing, and making it do the
// right thing on this machine.
//
// Debian's OpenBLAS 0.3.21 does not recognise some newer CPUs and then runs its generic
// SSE3 kernel ('Prescott'), about 4x slower than the AVX-512 one for our GEMMs. It reads
// OPENBLAS_CORETYPE when the library loads, before main, so the only cure from inside a
// program is to set the variable and re-execute itself: use_fast_blas_kernel(argv) does
// that, once, when OpenBLAS chose a generic core on a CPU with AVX2 or AVX-512 and the
// user did not set OPENBLAS_CORETYPE (an explicit setting always wins).
//
// Both halves exist only where they mean something: the CPU check on x86 (the only place
// these OpenBLAS core names and GCC's and Clang's __builtin_cpu_* apply), the re-exec on
// Linux (the only system with /proc/self/exe). Elsewhere, on ARM say, or macOS,
// better_blas_core() returns "" and use_fast_blas_kernel() does nothing.
//
// The OpenBLAS functions are declared weak: with another BLAS they are absent, and these
// helpers report "not OpenBLAS" instead of failing to link.
#pragma once

#include "config.hpp"  // first: a build older than C++20 stops there, with one message

#include <cstdlib>
#include <string>
#include <string_view>
#if defined(__linux__)
#include <unistd.h>  // execv
#endif

extern "C" {
__attribute__((weak)) void openblas_set_num_threads(int);
__attribute__((weak)) int openblas_get_num_threads(void);
__attribute__((weak)) char* openblas_get_corename(void);
}

namespace layerwise {

/// The kernel OpenBLAS runs ("Cooperlake", "SkylakeX", "Haswell", "Prescott", ...).
inline std::string blas_core() {
    if (openblas_get_corename == nullptr) return "unknown (not OpenBLAS)";
    return openblas_get_corename();
}

/// BLAS threads (OpenBLAS only; 1 otherwise).
inline int blas_threads() { return openblas_get_num_threads ? openblas_get_num_threads() : 1; }
/// Sets BLAS's own threads (OpenBLAS only; nothing otherwise).
inline void set_blas_threads(int n) {
    if (openblas_set_num_threads) openblas_set_num_threads(n);
}

/// The OPENBLAS_CORETYPE that fits this CPU, or "" when OpenBLAS's own choice is fine.
/// Always "" off x86.
inline std::string better_blas_core() {
#if defined(__x86_64__) || defined(__i386__)
    const std::string core = blas_core();
    const bool generic = core == "Prescott" || core == "Core2" || core == "Penryn" || core == "Nehalem" ||
                         core == "Sandybridge" || core == "Atom" || core == "Dunnington";
    if (!generic) return "";
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "SkylakeX";
    if (__builtin_cpu_supports("avx2")) return "Haswell";
#endif
    return "";
}

/// Re-executes the program with OPENBLAS_CORETYPE set when OpenBLAS picked a generic
/// kernel on a CPU that has a fast one (see the top of this file). Call first in main.
/// Does nothing off Linux.
inline void use_fast_blas_kernel([[maybe_unused]] char** argv) {
#if defined(__linux__)
    if (std::getenv("OPENBLAS_CORETYPE") != nullptr || std::getenv("LAYERWISE_BLAS_REEXEC") != nullptr) return;
    const std::string core = better_blas_core();
    if (core.empty()) return;
    ::setenv("OPENBLAS_CORETYPE", core.c_str(), 1);
    ::setenv("LAYERWISE_BLAS_REEXEC", "1", 1);  // never loop
    ::execv("/proc/self/exe", argv);             // returns only on failure: then go on as we are
#endif
}

}  // namespace layerwise
