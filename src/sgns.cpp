#include "tokvec/sgns.h"

#include <cmath>

#if defined(__x86_64__)
// GCC 12's _mm512_reduce_add_ps starts from _mm512_undefined_ps and trips
// -Wmaybe-uninitialized inside the header: a known false positive.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

#include "tokvec/status.h"

// The row loops below run over the full row stride (a multiple of 16 floats; the padding
// floats are zero in every row and stay zero, since every update is a multiple of other
// rows' padding), so they vectorise with aligned loads and no tail. The kernels are
// compiled several times (function multiversioning) and the best version for the CPU is
// picked at load time, so one binary runs everywhere and uses AVX-512 or AVX2+FMA where
// present.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define TOKVEC_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TOKVEC_CLONES
#endif

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
/// returns the loss Σ -log σ(±S).
inline double scores_to_gradients(float* S, size_t B, size_t T, float lr, const SigmoidTable& table) {
  double loss = 0.0;
  for (size_t b = 0; b < B; ++b) {
    float* row = S + b * T;
    row[0] = score_gradient(row[0], true, lr, table, loss);  // peeled: no label test in the loop
    for (size_t t = 1; t < T; ++t) row[t] = score_gradient(row[t], false, lr, table, loss);
  }
  return loss;
}

TOKVEC_CLONES
double hogbatch_kernel(float* const* xs, size_t B, float* const* us, size_t T, size_t stride, float lr,
                       const SigmoidTable& table, float* __restrict S, float* __restrict delta) {
  // S = X Uᵀ
  for (size_t b = 0; b < B; ++b) {
    const float* x = xs[b];
    for (size_t t = 0; t < T; ++t) S[b * T + t] = dot(x, us[t], stride);
  }
  // G = η (L - σ(S)), in place; loss = Σ -log σ(±S)
  const double loss = scores_to_gradients(S, B, T, lr, table);
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


// ThreadSanitizer does not instrument 64-byte vector accesses, so under TSan the AVX-512
// kernel would hide the Hogwild races from it; tools/tsan.sh must see them (and confine
// them with tools/tsan.supp), so TSan builds run the portable kernel.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TOKVEC_TSAN_BUILD 1
#endif
#endif

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__) && !defined(TOKVEC_TSAN_BUILD)
#define TOKVEC_HAVE_AVX512_KERNEL 1
#define TOKVEC_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma")))

/// The HogBatch step with AVX-512 intrinsics for T = K + 1 targets known at compile time,
/// so the T output-row chunks live in registers. Two passes over the (L1-resident) rows:
///   1. S = X Uᵀ: per input row, T accumulators over the 16-float chunks of the row,
///      then a horizontal sum each;
///   2. G from the sigmoid table, then per 16-float chunk c, with the T chunks of U in
///      registers: x_b[c] += Σ_t G[b,t] u_t[c] (stored at once) and
///      ΔU_t[c] += G[b,t] x_b[c] (accumulated in registers, added to memory at the end).
/// Each row is read twice and written once. A repeated output row (the same negative
/// drawn twice) adds its delta to the current memory value, so both updates count; a
/// repeated input row reads its first update before applying the second, as sequential
/// SGD would.
template <int T>
TOKVEC_AVX512 double hogbatch_avx512(float* const* xs, size_t B, float* const* us, size_t stride, float lr,
                                     const SigmoidTable& table, float* __restrict S) {
  const size_t chunks = stride / 16;
  float* u[T];
  for (int t = 0; t < T; ++t) u[t] = us[t];
  for (size_t b = 0; b < B; ++b) {
    const float* x = xs[b];
    __m512 acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
    for (size_t c = 0; c < chunks; ++c) {
      const __m512 xv = _mm512_load_ps(x + 16 * c);
      for (int t = 0; t < T; ++t) acc[t] = _mm512_fmadd_ps(xv, _mm512_load_ps(u[t] + 16 * c), acc[t]);
    }
    for (int t = 0; t < T; ++t) S[b * T + t] = _mm512_reduce_add_ps(acc[t]);
  }
  const double loss = scores_to_gradients(S, B, T, lr, table);
  for (size_t c = 0; c < chunks; ++c) {
    __m512 uo[T], ua[T];
    for (int t = 0; t < T; ++t) uo[t] = ua[t] = _mm512_load_ps(u[t] + 16 * c);
    for (size_t b = 0; b < B; ++b) {
      float* x = xs[b] + 16 * c;
      const __m512 xv = _mm512_load_ps(x);
      __m512 xa = xv;
      const float* g = S + b * T;
      for (int t = 0; t < T; ++t) {
        const __m512 gv = _mm512_set1_ps(g[t]);
        xa = _mm512_fmadd_ps(gv, uo[t], xa);
        ua[t] = _mm512_fmadd_ps(gv, xv, ua[t]);
      }
      _mm512_store_ps(x, xa);
    }
    for (int t = 0; t < T; ++t) {
      float* p = u[t] + 16 * c;
      _mm512_store_ps(p, _mm512_add_ps(_mm512_load_ps(p), _mm512_sub_ps(ua[t], uo[t])));
    }
  }
  return loss;
}

using AvxKernel = double (*)(float* const*, size_t, float* const*, size_t, float, const SigmoidTable&, float*);

/// The AVX-512 kernel for T targets, or nullptr when the CPU lacks AVX-512 or T is not
/// one of the compiled sizes (then the portable kernel runs).
AvxKernel avx512_kernel(size_t T) {
  // The CPU does not change while we run: probe once.
  static const bool cpu_ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                             __builtin_cpu_supports("avx512vl");
  if (!cpu_ok) return nullptr;
  switch (T) {
    case 2: return hogbatch_avx512<2>;
    case 3: return hogbatch_avx512<3>;
    case 4: return hogbatch_avx512<4>;
    case 5: return hogbatch_avx512<5>;
    case 6: return hogbatch_avx512<6>;
    case 7: return hogbatch_avx512<7>;
    case 8: return hogbatch_avx512<8>;
    case 9: return hogbatch_avx512<9>;
    case 11: return hogbatch_avx512<11>;
    case 16: return hogbatch_avx512<16>;
    default: return nullptr;
  }
}
#else
#define TOKVEC_HAVE_AVX512_KERNEL 0
#endif

TOKVEC_CLONES
double pair_kernel(float* __restrict in_base, float* __restrict out_base, size_t stride, uint32_t input_row,
                   const uint32_t* targets, size_t T, float lr, const SigmoidTable& table, float* __restrict neu1e) {
  float* x = in_base + input_row * stride;
  for (size_t j = 0; j < stride; ++j) neu1e[j] = 0.0f;
  double loss = 0.0;
  for (size_t t = 0; t < T; ++t) {
    float* u = out_base + targets[t] * stride;
    const float g = score_gradient(dot(x, u, stride), t == 0, lr, table, loss);
    axpy(g, u, neu1e, stride);  // Σ_t g_t u_t, from u before its update
    axpy(g, x, u, stride);      // u_t += g_t v_x
  }
  axpy(1.0f, neu1e, x, stride);
  return loss;
}

}  // namespace

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
      scores_(max_inputs * max_targets),
      delta_(max_targets, dim),
      input_rows_(max_inputs),
      target_rows_(max_targets) {}

double hogbatch_step_rows(std::span<float* const> inputs, std::span<float* const> targets, size_t stride, float lr,
                          const SigmoidTable& table, SgnsScratch& scratch) {
  if (inputs.empty()) return 0.0;
  if (inputs.size() > scratch.max_inputs_ || targets.size() > scratch.max_targets_ || stride != scratch.delta_.stride()) {
    throw internal_error("hogbatch step larger than its scratch space");
  }
#if TOKVEC_HAVE_AVX512_KERNEL
  if (stride % 16 == 0) {
    if (AvxKernel k = avx512_kernel(targets.size())) {
      return k(inputs.data(), inputs.size(), targets.data(), stride, lr, table, scratch.scores_.data());
    }
  }
#endif
  return hogbatch_kernel(inputs.data(), inputs.size(), targets.data(), targets.size(), stride, lr, table,
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
  return pair_kernel(input.row(0), output.row(0), input.stride(), input_row, targets.data(), targets.size(), lr, table,
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
