// The one mapping from a simd::Path to Highway: the target bit that says whether a path is
// compiled and runnable (simd.cpp), and the target namespace that holds a path's kernels
// (the dispatch tables of the *_simd.cpp files). A *_simd.cpp includes this inside its
// `#if HWY_ONCE` part, after foreach_target has compiled every target:
//
//   #define TOKVEC_SGNS_KERNELS(ns) SgnsKernels{&ns::HogBatch, &ns::Pair, &ns::Gradients}
//   SgnsKernels sgns_simd_kernels(simd::Path path) noexcept {
//     TOKVEC_SIMD_DISPATCH(path, TOKVEC_SGNS_KERNELS, SgnsKernels{})
//   }
//
// Why not HWY_DYNAMIC_DISPATCH: it always takes the best target the CPU has, and
// TOKVEC_SIMD must be able to force a lesser one, so the tables are indexed by simd::Path.
// It is as safe: simd::active() only returns a path that hwy::SupportedTargets() reports.
#pragma once

#include <cstdint>

#include "base/simd_targets.h"
// After simd_targets.h: HWY_TARGETS then names the targets the kernels are compiled for.
#include <hwy/targets.h>

#include "tokvec/simd.h"

namespace tokvec::simd {

/// Highway's target bit for a path (0 for scalar, which is not a Highway target).
constexpr int64_t hwy_target(Path p) noexcept {
  switch (p) {
    case Path::avx512: return HWY_AVX3;
    case Path::avx2: return HWY_AVX2;
    case Path::neon: return HWY_NEON;
    case Path::scalar: return 0;
  }
  return 0;
}

}  // namespace tokvec::simd

// One `case` per path whose target is compiled: `return MAKE(namespace);`.
#if HWY_TARGETS & HWY_AVX3
#define TOKVEC_SIMD_CASE_AVX512(MAKE) \
  case ::tokvec::simd::Path::avx512: return MAKE(N_AVX3);
#else
#define TOKVEC_SIMD_CASE_AVX512(MAKE)
#endif
#if HWY_TARGETS & HWY_AVX2
#define TOKVEC_SIMD_CASE_AVX2(MAKE) \
  case ::tokvec::simd::Path::avx2: return MAKE(N_AVX2);
#else
#define TOKVEC_SIMD_CASE_AVX2(MAKE)
#endif
#if HWY_TARGETS & HWY_NEON
#define TOKVEC_SIMD_CASE_NEON(MAKE) \
  case ::tokvec::simd::Path::neon: return MAKE(N_NEON);
#else
#define TOKVEC_SIMD_CASE_NEON(MAKE)
#endif

/// Returns MAKE(ns) for the Highway namespace ns (N_AVX3, N_AVX2, N_NEON) of `path`, or
/// NONE for scalar and for a path this build has no kernels for.
#define TOKVEC_SIMD_DISPATCH(path, MAKE, NONE) \
  switch (path) {                              \
    TOKVEC_SIMD_CASE_AVX512(MAKE)              \
    TOKVEC_SIMD_CASE_AVX2(MAKE)                \
    TOKVEC_SIMD_CASE_NEON(MAKE)                \
    default: return NONE;                      \
  }
