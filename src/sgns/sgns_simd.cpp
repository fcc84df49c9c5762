// The SGNS kernels in SIMD, written once with Highway and compiled for each instruction set
// of simd_targets.h (AVX-512, AVX2+FMA, NEON): hwy/foreach_target.h includes this file
// again once per target, each time in that target's namespace (N_AVX3, N_AVX2, N_NEON) and
// with its compiler flags; simd.cpp picks one at start-up (or TOKVEC_SIMD forces one).
//
// Why Highway rather than intrinsics per instruction set: the maths is written once, so
// the AVX-512, AVX2 and NEON kernels cannot drift apart, the code for a CPU is only ever
// called after hwy::SupportedTargets() said the CPU (and OS) has it, and a new target
// (SVE, RISC-V V) is a line in simd_targets.h rather than a third copy of the kernel.
// Highway's vector ops compile to the instructions a hand-written AVX-512 kernel would use
// (one FMA per multiply-add, aligned loads and stores, no tail loops).
//
// The HogBatch maths (sgns.h): S = X Uᵀ, G = η (L - σ(S)), U += Gᵀ X, X += G U, both
// updates from the values before the step. The row loops run over the full row stride (a
// multiple of 16 floats, 64-byte aligned; the padding floats are zero and stay zero), so
// every load is aligned and no loop has a tail.
//
// The kernel is specialised per number of targets T = K + 1 (a template parameter), so the
// loops over targets unroll and each target's running values live in registers:
//   1. S = X Uᵀ: for a block of one or two input rows, T (or 2T) accumulators over the
//      vector chunks of the rows, then their lane sums four at a time (store_sums: an
//      interleaving transpose, not one horizontal sum each). Two input rows at a time
//      share each target chunk's load (fewer loads than multiply-adds, which matters on
//      CPUs with two load ports), when the 2T accumulators fit in the registers.
//   2. G = η (L - σ(S)) in vectors (gradients(): gathers from the sigmoid tables).
//   3. Per vector chunk c: ΔU_t[c] = Σ_b G[b,t] x_b[c]
//      (T accumulators in registers), then for each input row x_b[c] += Σ_t G[b,t] u_t[c]
//      (stored at once), then u_t[c] += ΔU_t[c]. The T chunks of U stay in registers too
//      when 2T + 2 vectors fit (AVX2 has 16 registers, AVX-512 and NEON 32), otherwise they
//      are read again from L1.
// The loops cover the dimension rounded up to whole vectors (dim 100: 104 floats with AVX2,
// 112 with AVX-512, 100 with NEON), not the whole stride: the padding beyond is zero and
// stays untouched. When the window's input rows are all different (most windows), ΔU and
// the input updates share one pass over the inputs.
// Each row is read twice from memory and written once (chunk by chunk, so a row's chunk is
// in L1 for its second read), and ΔU never goes to memory. Repeated rows give exactly the
// portable kernel's result up to rounding: a repeated target row (a negative drawn twice)
// adds each delta to the current memory value, so both updates count, and a repeated
// input row gets both updates while ΔU sees only its value before the step. Other T run a
// generic kernel with the same maths.
#include "base/simd_targets.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "sgns/sgns_simd.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <type_traits>

#include "sgns_detail.h"

HWY_BEFORE_NAMESPACE();
namespace tokvec {
namespace HWY_NAMESPACE {
namespace {

namespace hn = hwy::HWY_NAMESPACE;
using D = hn::ScalableTag<float>;
using V = hn::Vec<D>;

/// Vector registers of the target (x86-64 AVX2: 16; AVX-512 and AArch64: 32).
constexpr int kRegisters = HWY_TARGET == HWY_AVX2 ? 16 : 32;

#if HWY_TARGET != HWY_SCALAR  // the fixed-T kernel and its helpers: never dispatched to on scalar
/// Adds the 128-bit blocks of v into one block (AVX2: two blocks, AVX-512: four, NEON: one).
template <class DV, class VV>
HWY_INLINE auto fold_blocks(DV dv, VV v) {
  if constexpr (hn::MaxLanes(dv) * sizeof(float) > 16) {
    const hn::Half<DV> dh;
    return fold_blocks(dh, hn::Add(hn::LowerHalf(dh, v), hn::UpperHalf(dh, v)));
  } else {
    return v;
  }
}

/// The sums of the lanes of four vectors, stored to p[0..3]: interleaving a with b and c
/// with e and adding gives, per 128-bit block, [a0+a2, b0+b2, a1+a3, b1+b3] and the same for
/// c, e; interleaving those two as 64-bit halves and adding gives [Σa, Σb, Σc, Σe] per
/// block, and the blocks are added. 11 instructions on AVX2 where four horizontal sums
/// take 28 (the sums of a pair's six scores were 7 % of the AVX2 kernel).
HWY_INLINE void store_sums_of_four(V a, V b, V c, V e, float* HWY_RESTRICT p) {
  const D d;
  const hn::Repartition<double, D> d64;
  const V ab = hn::Add(hn::InterleaveLower(d, a, b), hn::InterleaveUpper(d, a, b));
  const V ce = hn::Add(hn::InterleaveLower(d, c, e), hn::InterleaveUpper(d, c, e));
  const auto ab64 = hn::BitCast(d64, ab), ce64 = hn::BitCast(d64, ce);
  const V sums = hn::Add(hn::BitCast(d, hn::InterleaveLower(d64, ab64, ce64)),
                         hn::BitCast(d, hn::InterleaveUpper(d64, ab64, ce64)));
  const auto block = fold_blocks(d, sums);
  hn::StoreU(block, hn::DFromV<decltype(block)>(), p);
}

/// The sums of the lanes of two vectors, stored to p[0] and p[1] (as store_sums_of_four,
/// with the 64-bit halves of the one block added by a swap).
HWY_INLINE void store_sums_of_two(V a, V b, float* HWY_RESTRICT p) {
  const D d;
  const auto block = fold_blocks(d, hn::Add(hn::InterleaveLower(d, a, b), hn::InterleaveUpper(d, a, b)));
  const auto sums = hn::Add(block, hn::Shuffle1032(block));  // [Σa, Σb, Σa, Σb]
  p[0] = hn::GetLane(sums);
  p[1] = hn::ExtractLane(sums, 1);
}

/// The lane sums of acc[0..T-1] into p[0..T-1].
template <int T>
HWY_INLINE void store_sums(const V* acc, float* HWY_RESTRICT p) {
  int t = 0;
  for (; t + 4 <= T; t += 4) store_sums_of_four(acc[t], acc[t + 1], acc[t + 2], acc[t + 3], p + t);
  if constexpr (T % 4 >= 2) {
    store_sums_of_two(acc[t], acc[t + 1], p + t);
    t += 2;
  }
  if constexpr (T % 2 == 1) p[t] = hn::GetLane(hn::SumOfLanes(D(), acc[t]));
}

/// Whether the B input rows are B different rows (then ΔU and the input updates can share
/// one pass: no input's update can reach ΔU through a repeated row).
inline bool distinct_rows(float* const* xs, size_t B) {
  for (size_t a = 1; a < B; ++a) {
    for (size_t b = 0; b < a; ++b) {
      if (xs[a] == xs[b]) return false;
    }
  }
  return true;
}

#endif  // HWY_TARGET != HWY_SCALAR

/// G = η (L - σ(S)) in place for the B x T scores S (column 0 the positive target), and the
/// loss Σ -log σ(±S): detail::scores_to_gradients a vector of scores at a time. Per score z
/// with label l (1 at column 0, else 0):
///   slot(z) = ⌊(clamp(z, -8, 8) + 8)·512 + 0.5⌋   (NaN clamps to -8: both tests are false)
///   g       = l ? η (1 - σ[slot(z)]) : (-η) σ[slot(z)]
///   loss   += s ≥ -8 ? nls[slot(s)] : -s,  s = l ? z : -z
/// with the same float operations in the same order as the scalar code (no fused
/// multiply-add), so G is bit-identical to it; the loss is summed per lane in double, a
/// different order, so it can differ in the last bits. In the AVX2 kernel the scalar
/// conversion, a branchy clamp and two lookups per score, ran 198 of the 848 instructions
/// of a pair (docs/benchmarks.md, "Where the instructions go").
/// The lane of a score holds column (i mod T); the label mask is that column == 0, kept
/// as an integer vector that advances by N mod T per vector.
#if HWY_TARGET == HWY_SCALAR  // compiled but never dispatched to (no half vectors here)
template <class Targets>
double gradients(float* S, size_t B, Targets T, float lr, const SigmoidTable& table) {
  return detail::scores_to_gradients(S, B, T, lr, table);
}
#else
/// T is a size_t, or a std::integral_constant when the kernel is specialised for it (then
/// N mod T and 1/T are constants). S has room for whole vectors (hogbatch_scores_floats):
/// the last vector's lanes past B x T are converted too, and left out of the loss.
template <class Targets>
double gradients(float* HWY_RESTRICT S, size_t B, Targets targets, float lr, const SigmoidTable& table) {
  static_assert(hn::MaxLanes(D()) <= 16, "hogbatch_scores_floats rounds the scratch up to 16 floats");
  const size_t T = targets;
  const D d;
  const hn::RebindToSigned<D> di;
  using VI = hn::Vec<decltype(di)>;
  const hn::Half<D> dh;                      // half a vector of floats,
  const hn::Repartition<double, D> dd;       // promoted: a vector of doubles
  const size_t N = hn::Lanes(d);
  const size_t n = B * T;
  const float* sig = table.sigmoid_slots();
  const float* nls = table.neg_log_sigmoid_slots();
  const V lo = hn::Set(d, -SigmoidTable::kMaxZ);
  const V hi = hn::Set(d, SigmoidTable::kMaxZ);
  const V scale = hn::Set(d, SigmoidTable::kSize / (2 * SigmoidTable::kMaxZ));
  const V half = hn::Set(d, 0.5f);
  const V one = hn::Set(d, 1.0f);
  const V pos_lr = hn::Set(d, lr);
  const V neg_lr = hn::Set(d, -lr);
  const auto slot = [&](V z) {
    V c = hn::IfThenElse(hn::Gt(z, lo), z, lo);
    c = hn::IfThenElse(hn::Lt(c, hi), c, hi);
    return hn::ConvertTo(di, hn::Add(hn::Mul(hn::Add(c, hi), scale), half));
  };
  // Column of each lane of the first vector: i - T·⌊(i + 0.5)/T⌋ (exact in float for these
  // small integers); then + (N mod T), wrapped once, per vector.
  const V lane = hn::Iota(d, 0.0f);
  const V cols = hn::Set(d, static_cast<float>(T));
  VI column = hn::ConvertTo(di, hn::NegMulAdd(hn::Floor(hn::Mul(hn::Add(lane, half), hn::Set(d, 1.0f / T))), cols, lane));
  const VI wrap = hn::Set(di, static_cast<int32_t>(T));
  const VI last = hn::Set(di, static_cast<int32_t>(T - 1));
  const VI advance = hn::Set(di, static_cast<int32_t>(N % T));
  auto loss_lo = hn::Zero(dd), loss_hi = hn::Zero(dd);
  for (size_t i = 0; i < n; i += N) {
    const V z = hn::LoadU(d, S + i);
    const auto positive = hn::RebindMask(d, hn::Eq(column, hn::Zero(di)));
    const V sigma = hn::GatherIndex(d, sig, slot(z));
    hn::StoreU(hn::IfThenElse(positive, hn::Mul(pos_lr, hn::Sub(one, sigma)), hn::Mul(neg_lr, sigma)), d, S + i);
    const V s = hn::IfThenElse(positive, z, hn::Neg(z));
    V l = hn::IfThenElse(hn::Ge(s, lo), hn::GatherIndex(d, nls, slot(s)), hn::Neg(s));
    if (i + N > n) l = hn::IfThenElseZero(hn::FirstN(d, n - i), l);
    loss_lo = hn::Add(loss_lo, hn::PromoteTo(dd, hn::LowerHalf(dh, l)));
    loss_hi = hn::Add(loss_hi, hn::PromoteTo(dd, hn::UpperHalf(dh, l)));
    column = hn::Add(column, advance);
    column = hn::IfThenElse(hn::Gt(column, last), hn::Sub(column, wrap), column);
  }
  return hn::GetLane(hn::SumOfLanes(dd, hn::Add(loss_lo, loss_hi)));
}
#endif

#if HWY_TARGET != HWY_SCALAR

template <int T>
double hogbatch_fixed(float* const* HWY_RESTRICT xs, size_t B, float* const* HWY_RESTRICT us, size_t n, float lr,
                      const SigmoidTable& table, float* HWY_RESTRICT S) {
  const D d;
  const size_t N = hn::Lanes(d);
  const size_t stride = n;  // the floats the loops cover: the dimension rounded up to N
  float* u[T];
  for (int t = 0; t < T; ++t) u[t] = us[t];

  // 1. S = X Uᵀ
  size_t b = 0;
  if constexpr (2 * T + 2 <= kRegisters) {
    for (; b + 2 <= B; b += 2) {
      const float* x0 = xs[b];
      const float* x1 = xs[b + 1];
      V a0[T], a1[T];
      for (int t = 0; t < T; ++t) a0[t] = a1[t] = hn::Zero(d);
      for (size_t j = 0; j < stride; j += N) {
        const V v0 = hn::Load(d, x0 + j);
        const V v1 = hn::Load(d, x1 + j);
        for (int t = 0; t < T; ++t) {
          const V uv = hn::Load(d, u[t] + j);
          a0[t] = hn::MulAdd(v0, uv, a0[t]);
          a1[t] = hn::MulAdd(v1, uv, a1[t]);
        }
      }
      store_sums<T>(a0, S + b * T);
      store_sums<T>(a1, S + (b + 1) * T);
    }
  }
  for (; b < B; ++b) {
    const float* x = xs[b];
    V acc[T];
    for (int t = 0; t < T; ++t) acc[t] = hn::Zero(d);
    for (size_t j = 0; j < stride; j += N) {
      const V xv = hn::Load(d, x + j);
      for (int t = 0; t < T; ++t) acc[t] = hn::MulAdd(xv, hn::Load(d, u[t] + j), acc[t]);
    }
    store_sums<T>(acc, S + b * T);
  }

  // G = η (L - σ(S)) in place
  const double loss = gradients(S, B, std::integral_constant<size_t, T>{}, lr, table);

  // 3. U += Gᵀ X and X += G U, chunk by chunk
  if (distinct_rows(xs, B)) {
    // One pass over the inputs: ΔU from each input chunk as loaded, then its update.
    constexpr bool kHoldU = 2 * T + 3 <= kRegisters;
    for (size_t j = 0; j < stride; j += N) {
      V du[T];
      V uo[kHoldU ? T : 1];
      if constexpr (kHoldU) {
        for (int t = 0; t < T; ++t) uo[t] = hn::Load(d, u[t] + j);
      }
      // The first input starts ΔU (a multiply, not a multiply-add on zeros: T register
      // moves fewer per chunk).
      const auto input_step = [&](size_t bb, auto first) {
        float* x = xs[bb] + j;
        const V xv = hn::Load(d, x);
        V xa = xv;
        const float* g = S + bb * T;
        for (int t = 0; t < T; ++t) {
          const V gv = hn::Set(d, g[t]);
          // U is not written until the end of the chunk: these are its values before the step.
          const V ut = kHoldU ? uo[t] : hn::Load(d, u[t] + j);
          xa = hn::MulAdd(gv, ut, xa);
          if constexpr (decltype(first)::value) {
            du[t] = hn::Mul(gv, xv);
          } else {
            du[t] = hn::MulAdd(gv, xv, du[t]);
          }
        }
        hn::Store(xa, d, x);
      };
      input_step(0, std::true_type{});
#pragma GCC unroll 2
      for (size_t bb = 1; bb < B; ++bb) input_step(bb, std::false_type{});
      for (int t = 0; t < T; ++t) {
        float* p = u[t] + j;
        hn::Store(hn::Add(hn::Load(d, p), du[t]), d, p);
      }
    }
    return loss;
  }
  constexpr bool kHoldU = 2 * T + 2 <= kRegisters;
  for (size_t j = 0; j < stride; j += N) {
    // ΔU first, from every input chunk before any is updated (an input row repeated in the
    // window must not give its updated value to ΔU).
    V du[T];
    for (int t = 0; t < T; ++t) du[t] = hn::Zero(d);
    for (size_t bb = 0; bb < B; ++bb) {
      const V xv = hn::Load(d, xs[bb] + j);
      const float* g = S + bb * T;
      for (int t = 0; t < T; ++t) du[t] = hn::MulAdd(hn::Set(d, g[t]), xv, du[t]);
    }
    V uo[kHoldU ? T : 1];
    if constexpr (kHoldU) {
      for (int t = 0; t < T; ++t) uo[t] = hn::Load(d, u[t] + j);
    }
    for (size_t bb = 0; bb < B; ++bb) {
      float* x = xs[bb] + j;
      V xa = hn::Load(d, x);
      const float* g = S + bb * T;
      for (int t = 0; t < T; ++t) {
        const V ut = kHoldU ? uo[t] : hn::Load(d, u[t] + j);
        xa = hn::MulAdd(hn::Set(d, g[t]), ut, xa);
      }
      hn::Store(xa, d, x);
    }
    for (int t = 0; t < T; ++t) {
      float* p = u[t] + j;
      hn::Store(hn::Add(hn::Load(d, p), du[t]), d, p);
    }
  }
  return loss;
}

#endif  // HWY_TARGET != HWY_SCALAR

float dot(const float* HWY_RESTRICT a, const float* HWY_RESTRICT b, size_t stride) {
  const D d;
  const size_t N = hn::Lanes(d);
  // Two accumulators for two independent multiply-add chains; stride is a multiple of 16
  // floats, so of N on every target.
  V s0 = hn::Zero(d), s1 = hn::Zero(d);
  size_t j = 0;
  for (; j + 2 * N <= stride; j += 2 * N) {
    s0 = hn::MulAdd(hn::Load(d, a + j), hn::Load(d, b + j), s0);
    s1 = hn::MulAdd(hn::Load(d, a + j + N), hn::Load(d, b + j + N), s1);
  }
  for (; j < stride; j += N) s0 = hn::MulAdd(hn::Load(d, a + j), hn::Load(d, b + j), s0);
  return hn::GetLane(hn::SumOfLanes(d, hn::Add(s0, s1)));
}

/// Any T: the same maths with ΔU through the scratch rows `delta`.
double hogbatch_any(float* const* xs, size_t B, float* const* us, size_t T, size_t row_step, size_t stride,
                    float lr, const SigmoidTable& table, float* HWY_RESTRICT S, float* HWY_RESTRICT delta) {
  const D d;
  const size_t N = hn::Lanes(d);
  for (size_t b = 0; b < B; ++b) {
    for (size_t t = 0; t < T; ++t) S[b * T + t] = dot(xs[b], us[t], stride);
  }
  const double loss = gradients(S, B, T, lr, table);
  // ΔU = Gᵀ X (before X changes)
  for (size_t t = 0; t < T; ++t) {
    float* dt = delta + t * row_step;
    for (size_t j = 0; j < stride; j += N) {
      V acc = hn::Zero(d);
      for (size_t b = 0; b < B; ++b) acc = hn::MulAdd(hn::Set(d, S[b * T + t]), hn::Load(d, xs[b] + j), acc);
      hn::Store(acc, d, dt + j);
    }
  }
  // X += G U (U not yet changed)
  for (size_t b = 0; b < B; ++b) {
    float* x = xs[b];
    for (size_t j = 0; j < stride; j += N) {
      V acc = hn::Load(d, x + j);
      for (size_t t = 0; t < T; ++t) acc = hn::MulAdd(hn::Set(d, S[b * T + t]), hn::Load(d, us[t] + j), acc);
      hn::Store(acc, d, x + j);
    }
  }
  // U += ΔU, one target at a time (a repeated target row gets both deltas)
  for (size_t t = 0; t < T; ++t) {
    float* p = us[t];
    const float* dt = delta + t * row_step;
    for (size_t j = 0; j < stride; j += N) hn::Store(hn::Add(hn::Load(d, p + j), hn::Load(d, dt + j)), d, p + j);
  }
  return loss;
}

/// The floats of a row the loops cover: the dimension rounded up to whole vectors (at most
/// the stride, a multiple of 16; the rest of the padding is zero and stays untouched).
inline size_t covered(size_t cols, size_t stride) {
  const size_t N = hn::Lanes(D());
  const size_t n = (cols + N - 1) / N * N;
  return n < stride ? n : stride;
}

double hogbatch(float* const* xs, size_t B, float* const* us, size_t T, size_t stride, size_t cols, float lr,
                const SigmoidTable& table, float* S, float* delta) {
  if (B == 0) return 0.0;  // the fixed-T kernels start ΔU from the first input
  const size_t n = covered(cols, stride);
#if HWY_TARGET != HWY_SCALAR  // Highway's scalar target is compiled but never dispatched to
  switch (T) {
    case 2: return hogbatch_fixed<2>(xs, B, us, n, lr, table, S);
    case 3: return hogbatch_fixed<3>(xs, B, us, n, lr, table, S);
    case 4: return hogbatch_fixed<4>(xs, B, us, n, lr, table, S);
    case 5: return hogbatch_fixed<5>(xs, B, us, n, lr, table, S);
    case 6: return hogbatch_fixed<6>(xs, B, us, n, lr, table, S);
    case 7: return hogbatch_fixed<7>(xs, B, us, n, lr, table, S);
    case 8: return hogbatch_fixed<8>(xs, B, us, n, lr, table, S);
    case 9: return hogbatch_fixed<9>(xs, B, us, n, lr, table, S);
    case 11: return hogbatch_fixed<11>(xs, B, us, n, lr, table, S);
    case 16: return hogbatch_fixed<16>(xs, B, us, n, lr, table, S);
    default: break;
  }
#endif
  // ΔU rows keep the stride's spacing in the scratch; only n floats of each are used.
  return hogbatch_any(xs, B, us, T, stride, n, lr, table, S, delta);
}

/// word2vec.c's step: each target row is updated as soon as its error is known; the input
/// row gets Σ_t g_t u_t (from each u_t before its update) at the end.
double pair(float* in_base, float* out_base, size_t row_step, size_t cols, uint32_t input_row,
            const uint32_t* targets, size_t T, float lr, const SigmoidTable& table, float* HWY_RESTRICT neu1e) {
  const D d;
  const size_t N = hn::Lanes(d);
  const size_t stride = covered(cols, row_step);
  float* x = in_base + input_row * row_step;
  for (size_t j = 0; j < stride; j += N) hn::Store(hn::Zero(d), d, neu1e + j);
  double loss = 0.0;
  for (size_t t = 0; t < T; ++t) {
    float* u = out_base + targets[t] * row_step;
    const V g = hn::Set(d, detail::score_gradient(dot(x, u, stride), t == 0, lr, table, loss));
    for (size_t j = 0; j < stride; j += N) {
      const V uv = hn::Load(d, u + j);
      hn::Store(hn::MulAdd(g, uv, hn::Load(d, neu1e + j)), d, neu1e + j);
      hn::Store(hn::MulAdd(g, hn::Load(d, x + j), uv), d, u + j);
    }
  }
  for (size_t j = 0; j < stride; j += N) hn::Store(hn::Add(hn::Load(d, x + j), hn::Load(d, neu1e + j)), d, x + j);
  return loss;
}

}  // namespace

// Named outside the anonymous namespace so that the dispatch table below can take their
// addresses per target.
double HogBatch(float* const* xs, size_t B, float* const* us, size_t T, size_t stride, size_t cols, float lr,
                const SigmoidTable& table, float* S, float* delta) {
  return hogbatch(xs, B, us, T, stride, cols, lr, table, S, delta);
}
double Gradients(float* S, size_t B, size_t T, float lr, const SigmoidTable& table) {
  return gradients(S, B, T, lr, table);
}
double Pair(float* in_base, float* out_base, size_t stride, size_t cols, uint32_t input_row, const uint32_t* targets,
            size_t T, float lr, const SigmoidTable& table, float* neu1e) {
  return pair(in_base, out_base, stride, cols, input_row, targets, T, lr, table, neu1e);
}

}  // namespace HWY_NAMESPACE
}  // namespace tokvec
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "base/simd_dispatch.h"

namespace tokvec::detail {

#define TOKVEC_SGNS_KERNELS(ns) SgnsKernels{&ns::HogBatch, &ns::Pair, &ns::Gradients}
SgnsKernels sgns_simd_kernels(simd::Path path) noexcept { TOKVEC_SIMD_DISPATCH(path, TOKVEC_SGNS_KERNELS, SgnsKernels{}) }
#undef TOKVEC_SGNS_KERNELS

}  // namespace tokvec::detail
#endif
