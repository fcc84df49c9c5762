// The skip-gram negative-sampling (SGNS) kernel: the maths of one training step, on rows
// of the two embedding matrices, with nothing allocated and no lock taken.
//
// Notation: v_x is row x of the input matrix (the embeddings users keep), u_y row y of the
// output matrix, σ(z) = 1 / (1 + e^-z). For one (input x, target y) pair with negatives
// n_1..n_K drawn from the unigram^0.75 distribution, the loss is
//
//     L = -log σ(u_y·v_x) - Σ_k log σ(-u_{n_k}·v_x)
//
// With labels ℓ = 1 for the positive target and 0 for a negative, and for each target t
// the error e_t = ℓ_t - σ(u_t·v_x), the gradients are
//
//     ∂L/∂v_x = -Σ_t e_t u_t          ∂L/∂u_t = -e_t v_x
//
// and a step of size η (the learning rate) adds g_t = η e_t:  v_x += Σ_t g_t u_t,
// u_t += g_t v_x (both from the values before the step).
//
// HogBatch (Ji et al. 2016, as in pWord2Vec): word2vec's skip-gram trains, for a centre
// position, every context token c_1..c_B of its window as the input of a pair whose target
// is the centre token w. HogBatch lets all B pairs of the window share one set of K
// negatives, so the window becomes one small dense problem:
//
//     inputs  X = [v_{c_1}; ...; v_{c_B}]            (B x d)
//     targets U = [u_w; u_{n_1}; ...; u_{n_K}]       (T x d, T = K + 1, labels 1,0,...,0)
//     S = X Uᵀ (B x T),   G = η (L - σ(S))           (L: the label of each column)
//     ΔU = Gᵀ X,  ΔX = G U,   then U += ΔU, X += ΔX   (each row written once)
//
// which is the sum of the B per-pair steps above, all taken from the same starting values.
// Rows are read straight from the matrices (they are already cache-aligned); only ΔU goes
// through a thread-local buffer, because the input rows can then be updated in place
// (ΔX needs U before its update, ΔU needs X before its update).
//
// Measured against the classic per-pair kernel (pair_step, word2vec.c's loop) on gut100m,
// words, 2 threads, lr 0.05: same quality (analogy 18.57 % / WS-353 0.517 against
// 18.6 % / 0.502), and on a 20 MB slice with 1 thread 1.08 s against 4.25 s of training.
//
// Hogwild (Recht et al. 2011): several threads run these steps on the same matrices
// without any lock. Two threads may read and write the same row at the same time; the race
// is intentional: each update touches few rows, collisions are rare and their effect is a
// slightly stale gradient, which SGD tolerates. Only the weights race; every other piece of
// state (counts, loss, RNG) is per thread.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "tokvec/matrix.h"

namespace tokvec {

/// The floats of score scratch a HogBatch step on up to B inputs and T targets needs: B x T
/// rounded up to whole 16-float vectors, as the SIMD kernels convert the scores to
/// gradients a whole vector at a time (the lanes past B x T are computed and ignored).
constexpr size_t hogbatch_scores_floats(size_t max_inputs, size_t max_targets) noexcept {
  return (max_inputs * max_targets + 15) / 16 * 16;
}

/// σ(z) and -log σ(z) from tables over [-kMaxZ, kMaxZ] (beyond it σ saturates at 0 or 1,
/// so the step is the full error, as in word2vec). Immutable; shared by all threads.
class SigmoidTable {
 public:
  static constexpr float kMaxZ = 8.0f;
  static constexpr int kSize = 8192;  ///< step 2·8/8192 ≈ 0.002: |σ error| < 2.5e-4
  SigmoidTable();
  float sigmoid(float z) const noexcept { return sigmoid_[index(z)]; }
  /// -log σ(z); for z below the table, -log σ(z) ≈ -z. A NaN score gives a NaN loss (and
  /// -inf gives +inf), so a diverged run shows in the loss the trainer watches.
  float neg_log_sigmoid(float z) const noexcept { return z >= -kMaxZ ? neg_log_sigmoid_[index(z)] : -z; }
  /// The kSize + 1 slots of each table, for the SIMD kernels' gathers (which compute the
  /// slot of index() below with the same operations, so they read the same values).
  const float* sigmoid_slots() const noexcept { return sigmoid_.data(); }
  const float* neg_log_sigmoid_slots() const noexcept { return neg_log_sigmoid_.data(); }

 private:
  /// The table slot of z, in [0, kSize] for every float, NaN and ±inf included (converting
  /// a NaN or out-of-range float to int is undefined behaviour and read far outside the
  /// table). Each comparison is false for NaN, so the two steps send NaN to -kMaxZ, slot
  /// 0, and clamp ±inf like any large value: then (c + kMaxZ)·kSize/(2 kMaxZ) + 0.5 lies
  /// in [0.5, kSize + 0.5] and truncates to [0, kSize].
  static int index(float z) noexcept {
    float c = z > -kMaxZ ? z : -kMaxZ;
    c = c < kMaxZ ? c : kMaxZ;
    return static_cast<int>((c + kMaxZ) * (kSize / (2 * kMaxZ)) + 0.5f);
  }
  std::vector<float> sigmoid_;
  std::vector<float> neg_log_sigmoid_;
};

/// A thread's scratch space for the kernel, sized once for the largest window.
class SgnsScratch {
 public:
  SgnsScratch(size_t max_inputs, size_t max_targets, size_t dim);
  size_t max_inputs() const noexcept { return max_inputs_; }
  size_t max_targets() const noexcept { return max_targets_; }

 private:
  friend double hogbatch_step(Matrix&, Matrix&, std::span<const uint32_t>, std::span<const uint32_t>, float,
                              const SigmoidTable&, SgnsScratch&);
  friend double hogbatch_step_rows(std::span<float* const>, std::span<float* const>, size_t, float, const SigmoidTable&,
                                   SgnsScratch&);
  friend double pair_step(Matrix&, Matrix&, uint32_t, std::span<const uint32_t>, float, const SigmoidTable&,
                          SgnsScratch&);
  size_t max_inputs_;
  size_t max_targets_;
  std::vector<float> scores_;  ///< B x T, rounded up (hogbatch_scores_floats)
  Matrix delta_;               ///< T rows: ΔU (or the input's Δ in pair_step)
  std::vector<float*> input_rows_, target_rows_;  ///< hogbatch_step's row addresses
};

/// One HogBatch step: `inputs` are the B input rows (context tokens), `targets[0]` the
/// positive target (the centre token) and targets[1..] the shared negatives. Returns the
/// summed loss of the B·T pairs (from the sigmoid tables). B <= max_inputs,
/// T <= max_targets. Repeated ids are fine: their updates add up.
double hogbatch_step(Matrix& input, Matrix& output, std::span<const uint32_t> inputs,
                     std::span<const uint32_t> targets, float lr, const SigmoidTable& table,
                     SgnsScratch& scratch);

/// The same step on rows given by address: the SIMD kernels work on row addresses, and
/// hogbatch_step is this function after an id-to-address lookup. The trainer calls it
/// directly with the addresses its own loop resolves (beside its prefetches of rows ahead
/// of the window). inputs[b] and targets[t] each point to `stride` floats, 64-byte
/// aligned, with zero padding after the dimension (as Matrix rows are), and an input row
/// never shares memory with a target row. The same address twice means the same row twice
/// (the updates add up, as above).
double hogbatch_step_rows(std::span<float* const> inputs, std::span<float* const> targets, size_t stride, float lr,
                          const SigmoidTable& table, SgnsScratch& scratch);

/// The classic per-pair step of word2vec.c: one input row, targets[0] positive and the rest
/// negatives; each output row is updated as soon as its error is known, the input row once
/// at the end. Returns the pair's loss.
double pair_step(Matrix& input, Matrix& output, uint32_t input_row, std::span<const uint32_t> targets, float lr,
                 const SigmoidTable& table, SgnsScratch& scratch);

/// The exact loss (double precision, no table) of B inputs against T targets, summed over
/// all B·T pairs (targets[0] positive): the function whose gradient hogbatch_step follows.
double sgns_loss(const Matrix& input, const Matrix& output, std::span<const uint32_t> inputs,
                 std::span<const uint32_t> targets);

}  // namespace tokvec
