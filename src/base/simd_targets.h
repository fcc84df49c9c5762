// Included before any Highway header in tokvec's sources, so that every translation unit
// compiles the same set of targets (the dispatch in simd.cpp relies on it).
//
// Only the targets TOKVEC_SIMD can name are built: SSSE3/SSE4 (pre-2013 x86 without
// AVX2) add compile time for CPUs that the portable path serves well enough, and the SVE
// targets are left out because the kernels keep small arrays of vectors in registers,
// which Highway's sizeless SVE vectors cannot be stored in. Highway still compiles its
// baseline target (HWY_SCALAR on x86-64, NEON on AArch64), because foreach_target needs it.
#pragma once

#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS \
  (HWY_SSSE3 | HWY_SSE4 | HWY_AVX3_DL | HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128)
#endif
