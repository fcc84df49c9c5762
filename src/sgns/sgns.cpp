#include "sgns/sgns.h"

#include <cmath>

#include "sgns_detail.h"
#include "tokvec/status.h"

// The portable kernels: the "scalar" SIMD path (simd.h), the reference the Highway kernels
// of sgns_simd.cpp are tested against, and what runs on CPUs without a compiled SIMD path.
// The row loops run over the full row stride (a multiple of 16 floats; the padding floats
// are zero in every row and stay zero, since every update is a multiple of other rows'
// padding), so the compiler vectorises them for the build's baseline with aligned loads
// and no tail.

namespace tokvec {

namespace {

inline float dot(const float* __restrict a, const float* __restrict b, size_t n) {
  a = static_cast<const float*>(__builtin_assume_aligned(a, 64));
  b = static_cast<const float*>(__builtin_assume_aligned(b, 64));
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (size_t j = 0; j < n; ++j) s += a[j] * b[j];
  return s;
}

/// y += g x
inline void axpy(float g, const float* __restrict x, float* __restrict y, size_t n) {
  x = static_cast<const float*>(__builtin_assume_aligned(x, 64));
  y = static_cast<float*>(__builtin_assume_aligned(y, 64));
#pragma omp simd
  for (size_t j = 0; j < n; ++j) y[j] += g * x[j];
}

double hogbatch_kernel(float* const* xs, size_t B, float* const* us, size_t T, size_t stride, size_t /*cols*/, float lr,
                       const SigmoidTable& table, float* __restrict S, float* __restrict delta) {
  // S = X Uᵀ
  for (size_t b = 0; b < B; ++b) {
    const float* x = xs[b];
    for (size_t t = 0; t < T; ++t) S[b * T + t] = dot(x, us[t], stride);
  }
  // G = η (L - σ(S)), in place; loss = Σ -log σ(±S)
  const double loss = detail::scores_to_gradients(S, B, T, lr, table);
  // ΔU = Gᵀ X (before X changes)
  for (size_t t = 0; t < T; ++t) {
    float* d = delta + t * stride;
    const float g0 = S[t];
    const float* x0 = static_cast<const float*>(__builtin_assume_aligned(xs[0], 64));
#pragma omp simd
    for (size_t j = 0; j < stride; ++j) d[j] = g0 * x0[j];
    for (size_t b = 1; b < B; ++b) axpy(S[b * T + t], xs[b], d, stride);
  }
  // X += G U (U not yet changed), in place
  for (size_t b = 0; b < B; ++b) {
    for (size_t t = 0; t < T; ++t) axpy(S[b * T + t], us[t], xs[b], stride);
  }
  // U += ΔU
  for (size_t t = 0; t < T; ++t) axpy(1.0f, delta + t * stride, us[t], stride);
  return loss;
}


double pair_kernel(float* __restrict in_base, float* __restrict out_base, size_t stride, size_t /*cols*/, uint32_t input_row,
                   const uint32_t* targets, size_t T, float lr, const SigmoidTable& table, float* __restrict neu1e) {
  float* x = in_base + input_row * stride;
  for (size_t j = 0; j < stride; ++j) neu1e[j] = 0.0f;
  double loss = 0.0;
  for (size_t t = 0; t < T; ++t) {
    float* u = out_base + targets[t] * stride;
    const float g = detail::score_gradient(dot(x, u, stride), t == 0, lr, table, loss);
    axpy(g, u, neu1e, stride);  // Σ_t g_t u_t, from u before its update
    axpy(g, x, u, stride);      // u_t += g_t v_x
  }
  axpy(1.0f, neu1e, x, stride);
  return loss;
}

}  // namespace

detail::SgnsKernels detail::sgns_kernels(simd::Path path, size_t stride) noexcept {
  SgnsKernels k;
  // The SIMD kernels need whole 16-float chunks (Matrix rows always are).
  if (stride % 16 == 0) k = sgns_simd_kernels(path);
  if (k.hogbatch == nullptr) k.hogbatch = hogbatch_kernel;
  if (k.pair == nullptr) k.pair = pair_kernel;
  if (k.gradients == nullptr) k.gradients = detail::scores_to_gradients;
  return k;
}

SigmoidTable::SigmoidTable() : sigmoid_(kSize + 1), neg_log_sigmoid_(kSize + 1) {
  for (int i = 0; i <= kSize; ++i) {
    double z = (static_cast<double>(i) / kSize * 2.0 - 1.0) * kMaxZ;
    sigmoid_[i] = static_cast<float>(1.0 / (1.0 + std::exp(-z)));
    neg_log_sigmoid_[i] = static_cast<float>(std::log1p(std::exp(-z)));
  }
}

SgnsScratch::SgnsScratch(size_t max_inputs, size_t max_targets, size_t dim)
    : max_inputs_(max_inputs),
      max_targets_(max_targets),
      scores_(hogbatch_scores_floats(max_inputs, max_targets)),
      delta_(max_targets, dim),
      input_rows_(max_inputs),
      target_rows_(max_targets) {}

double hogbatch_step_rows(std::span<float* const> inputs, std::span<float* const> targets, size_t stride, float lr,
                          const SigmoidTable& table, SgnsScratch& scratch) {
  if (inputs.empty()) return 0.0;
  if (inputs.size() > scratch.max_inputs_ || targets.size() > scratch.max_targets_ || stride != scratch.delta_.stride()) {
    throw internal_error("hogbatch step larger than its scratch space");
  }
  return detail::sgns_kernels(simd::active(), stride)
      .hogbatch(inputs.data(), inputs.size(), targets.data(), targets.size(), stride, scratch.delta_.cols(), lr, table,
                scratch.scores_.data(), scratch.delta_.row(0));
}

double hogbatch_step(Matrix& input, Matrix& output, std::span<const uint32_t> inputs, std::span<const uint32_t> targets,
                     float lr, const SigmoidTable& table, SgnsScratch& scratch) {
  if (inputs.size() > scratch.max_inputs_ || targets.size() > scratch.max_targets_) {
    throw internal_error("hogbatch step larger than its scratch space");
  }
  for (size_t b = 0; b < inputs.size(); ++b) scratch.input_rows_[b] = input.row(inputs[b]);
  for (size_t t = 0; t < targets.size(); ++t) scratch.target_rows_[t] = output.row(targets[t]);
  return hogbatch_step_rows({scratch.input_rows_.data(), inputs.size()}, {scratch.target_rows_.data(), targets.size()},
                            input.stride(), lr, table, scratch);
}

double pair_step(Matrix& input, Matrix& output, uint32_t input_row, std::span<const uint32_t> targets, float lr,
                 const SigmoidTable& table, SgnsScratch& scratch) {
  return detail::sgns_kernels(simd::active(), input.stride())
      .pair(input.row(0), output.row(0), input.stride(), input.cols(), input_row, targets.data(), targets.size(), lr, table,
            scratch.delta_.row(0));
}

double sgns_loss(const Matrix& input, const Matrix& output, std::span<const uint32_t> inputs,
                 std::span<const uint32_t> targets) {
  double loss = 0.0;
  for (uint32_t c : inputs) {
    for (size_t t = 0; t < targets.size(); ++t) {
      double z = 0.0;
      for (size_t j = 0; j < input.cols(); ++j) z += static_cast<double>(input.row(c)[j]) * output.row(targets[t])[j];
      double sign = t == 0 ? 1.0 : -1.0;
      loss += std::log1p(std::exp(-sign * z));  // -log σ(±z)
    }
  }
  return loss;
}

}  // namespace tokvec
