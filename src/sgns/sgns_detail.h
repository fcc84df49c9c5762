// Internal to the SGNS kernels: what the portable kernels (sgns.cpp) and the Highway ones
// (sgns_simd.cpp, compiled once per instruction set) share.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sgns/sgns.h"
#include "tokvec/simd.h"

namespace tokvec::detail {

/// One score's share of the SGNS step: for the positive target (label 1) the loss is
/// -log σ(z) and the scaled gradient η(1 - σ(z)); for a negative (label 0) they are
/// -log σ(-z) and -η σ(z). Adds the loss to `loss` and returns the gradient.
inline float score_gradient(float z, bool positive, float lr, const SigmoidTable& table, double& loss) {
  if (positive) {
    loss += table.neg_log_sigmoid(z);
    return lr * (1.0f - table.sigmoid(z));
  }
  loss += table.neg_log_sigmoid(-z);
  return -lr * table.sigmoid(z);
}

/// Turns the B x T scores S (column 0 the positive target) into G = η (L - σ(S)) in place;
/// returns the loss Σ -log σ(±S). The portable kernels' conversion; the SIMD paths have a
/// vector one (sgns_simd.cpp) that gives the same G bit for bit.
inline double scores_to_gradients(float* S, size_t B, size_t T, float lr, const SigmoidTable& table) {
  double loss = 0.0;
  for (size_t b = 0; b < B; ++b) {
    float* row = S + b * T;
    row[0] = score_gradient(row[0], true, lr, table, loss);  // peeled: no label test in the loop
    for (size_t t = 1; t < T; ++t) row[t] = score_gradient(row[t], false, lr, table, loss);
  }
  return loss;
}

/// The HogBatch step on B input rows xs and T target rows us (targets[0] positive), each
/// `stride` floats, 64-byte aligned, holding `cols` values and zero padding. S: scratch of
/// hogbatch_scores_floats(B, T) floats (B x T, rounded up); delta: T rows of `stride` floats of scratch (kernels that keep ΔU in
/// registers do not touch it).
using HogBatchKernel = double (*)(float* const* xs, size_t B, float* const* us, size_t T, size_t stride, size_t cols,
                                  float lr, const SigmoidTable& table, float* S, float* delta);
/// word2vec.c's per-pair step on rows of `stride` floats holding `cols` values; neu1e:
/// `stride` floats of scratch.
using PairKernel = double (*)(float* in_base, float* out_base, size_t stride, size_t cols, uint32_t input_row,
                              const uint32_t* targets, size_t T, float lr, const SigmoidTable& table, float* neu1e);

/// scores_to_gradients's contract: S (B x T scores, column 0 the positive target) becomes
/// G in place; returns the loss. S has room for hogbatch_scores_floats(B, T) floats.
using GradientKernel = double (*)(float* S, size_t B, size_t T, float lr, const SigmoidTable& table);

struct SgnsKernels {
  HogBatchKernel hogbatch = nullptr;
  PairKernel pair = nullptr;
  GradientKernel gradients = nullptr;  ///< the conversion the hogbatch kernel uses
};

/// The Highway kernels compiled for a SIMD path; null members for scalar and for a path
/// this build has no kernels for.
SgnsKernels sgns_simd_kernels(simd::Path path) noexcept;

/// The kernels to run on `path` for rows of `stride` floats: the Highway ones where this
/// build has them (and the stride is whole 16-float chunks), else the portable ones; never
/// null. Resolving costs a dispatch lookup, so a loop resolves once, outside its steps.
SgnsKernels sgns_kernels(simd::Path path, size_t stride) noexcept;

}  // namespace tokvec::detail
