// Internal to evaluation: the scoring kernel's SIMD versions (eval_simd.cpp), next to the
// portable one in eval.cpp.
#pragma once

#include <cstddef>

#include "tokvec/simd.h"

namespace tokvec::detail {

/// S = Q · Cᵀ for nq queries Q (nq x dim, nq a multiple of 4) against candidates stored
/// transposed, CT (dim x cols, cols a multiple of 32); S is nq x cols.
using ScoreBlockKernel = void (*)(const float* Q, size_t nq, const float* CT, size_t cols, size_t dim, float* S);

/// Candidates are walked in tiles of this many columns (dim x 512 floats = 200 KB at dim
/// 100, in L2), each reused by every query of the block.
inline constexpr size_t kScoreColTile = 512;

/// The Highway scoring kernel compiled for a SIMD path; null for scalar and for a path
/// this build has no kernels for.
ScoreBlockKernel score_simd_kernel(simd::Path path) noexcept;

/// S = Q · Cᵀ on the active SIMD path (the portable loop when it has no kernel); the same
/// shapes as ScoreBlockKernel. Analogies and the audit's nearest neighbours use it.
void score_block(const float* Q, size_t nq, const float* CT, size_t cols, size_t dim, float* S);

}  // namespace tokvec::detail
