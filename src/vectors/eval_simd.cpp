// The evaluation's scoring kernel (S = Q · Cᵀ, every analogy query against every candidate)
// in SIMD, compiled per instruction set like sgns_simd.cpp (see there for why Highway).
//
// A tile of kQ queries x 32 candidates of S stays in registers while d runs over the
// dimension: per d, kQ broadcasts of a query value and 32/N vector loads of the transposed
// candidates, each reused by the kQ queries. kQ is chosen so that the accumulators, the
// loaded candidate vectors and a broadcast fit the target's registers: AVX2 (16 registers,
// 4 vectors per 32 columns) 2 queries; AVX-512 (32 registers, 2 vectors) 4; NEON (32
// registers, 8 vectors) 2. The vectorised loop runs over candidates, so no floating-point
// reduction needs reassociating and every path gives the same sums as the portable loop,
// up to fused multiply-add rounding.
#include "base/simd_targets.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "vectors/eval_simd.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "eval_detail.h"

HWY_BEFORE_NAMESPACE();
namespace tokvec {
namespace HWY_NAMESPACE {

namespace hn = hwy::HWY_NAMESPACE;

void ScoreBlock(const float* Q, size_t nq, const float* CT, size_t cols, size_t dim, float* S) {
  using D = hn::ScalableTag<float>;
  using V = hn::Vec<D>;
  const D d;
  constexpr size_t N = hn::MaxLanes(D());
  constexpr size_t kV = N >= 32 ? 1 : 32 / N;  // vectors per 32 columns
  constexpr size_t kQ = HWY_TARGET == HWY_AVX3 ? 4 : 2;
  for (size_t c0 = 0; c0 < cols; c0 += detail::kScoreColTile) {
    const size_t c1 = cols < c0 + detail::kScoreColTile ? cols : c0 + detail::kScoreColTile;
    for (size_t q = 0; q < nq; q += kQ) {
      const float* q0 = Q + q * dim;
      for (size_t c = c0; c < c1; c += kV * N) {
        V acc[kQ][kV];
        for (size_t i = 0; i < kQ; ++i) {
          for (size_t v = 0; v < kV; ++v) acc[i][v] = hn::Zero(d);
        }
        for (size_t k = 0; k < dim; ++k) {
          const float* ct = CT + k * cols + c;
          V cv[kV];
          for (size_t v = 0; v < kV; ++v) cv[v] = hn::LoadU(d, ct + v * N);
          for (size_t i = 0; i < kQ; ++i) {
            const V a = hn::Set(d, q0[i * dim + k]);
            for (size_t v = 0; v < kV; ++v) acc[i][v] = hn::MulAdd(a, cv[v], acc[i][v]);
          }
        }
        for (size_t i = 0; i < kQ; ++i) {
          for (size_t v = 0; v < kV; ++v) hn::StoreU(acc[i][v], d, S + (q + i) * cols + c + v * N);
        }
      }
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace tokvec
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "base/simd_dispatch.h"

namespace tokvec::detail {

#define TOKVEC_SCORE_KERNEL(ns) &ns::ScoreBlock
ScoreBlockKernel score_simd_kernel(simd::Path path) noexcept { TOKVEC_SIMD_DISPATCH(path, TOKVEC_SCORE_KERNEL, nullptr) }
#undef TOKVEC_SCORE_KERNEL

}  // namespace tokvec::detail
#endif
