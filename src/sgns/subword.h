// Subword training (train --subwords): skip-gram over whitespace words where a word's input
// vector is a composition of rows of the input matrix, trained end to end.
//
// Rows. A subword run's matrices have W + P rows: rows [0, W) are the corpus words in
// corpus id order (each word's output row, and its own input row where it has one), rows
// [W, W + P) the BPE tokenizer's pieces by piece id (input rows only; their output rows
// stay zero unless the outputs are per piece: SubwordTargets). A word w's input rows R(w) are
//   - the pieces the tokenizer splits it into (BpeModel::encode_word),
//   - with `ancestors`, every multi-character piece those pieces were merged from (the BPE
//     merge tree: "▁walking" = "▁walk" + "ing" shares rows with "▁walk" and "ing" even
//     when it is one token), each row once,
//   - its own row w when it was seen at least `own_min_count` times (0: no own rows).
//
// Composition and its gradient. With s = 1 (sum) or s = 1/|R(w)| (mean),
//
//     x_w = s Σ_{r ∈ R(w)} v_r          and so          ∂L/∂v_r = s ∂L/∂x_w  for r ∈ R(w).
//
// In general x_w = Σ a_r v_r and ∂L/∂v_r = a_r ∂L/∂x_w. own-plus-mean weighs a word's own
// row o (its first row: own rows are the word ids, below every piece row) a_o = 1 and its n
// other rows a_r = 1/n, so x_w = v_o + (1/n) Σ v_r: a frequent word moves mostly its own
// row, as in words mode, and its pieces still carry its spelling. A word without an own row
// gets the mean (a_r = 1/|R(w)|). own-plus-scaled weighs them a_o = 1 and a_r = 1/√n (a
// word without an own row a_r = 1/√|R(w)|): the pieces' part keeps about one row's length
// however many pieces there are, where the mean shrinks it by √n and the sum grows it by √n.
// With piece damping C (own-plus-* only), a word with an own row seen c times has its other
// rows' weight multiplied by ρ = √(C / (C + c)): frequent words are nearly their own row,
// rare ones nearly their pieces; the weights are then per word (SubwordMap::weights(w)).
// SubwordWeights holds the two weights.
//
// The SGNS step on x_w is the kernel's (sgns.h): it takes x_w's value, computes the step
// Δx_w = -η ∂L/∂x_w, and adds it in place. The trainer composes x_w into a scratch row,
// keeps a copy, runs the dispatched kernel on the scratch rows, and then adds s (x_w' - x_w)
// to every row of R(w): the chain rule, as a sparse row-wise update. The window's words
// share one set of negatives (HogBatch) exactly as in words mode, since only the inputs
// are composed; output rows are per word (or composed as well: SubwordTargets).
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokvec/bpe.h"
#include "tokvec/checkpoint.h"
#include "tokvec/corpus.h"
#include "tokvec/matrix.h"
#include "tokvec/subword.h"
#include "sgns/sgns.h"

namespace tokvec {

/// The weights a_r of a word's rows in x_w = Σ a_r v_r: its first row gets `first`, every
/// other row `rest` (equal but for own-plus-mean and own-plus-scaled with an own row).
struct SubwordWeights {
  float first, rest;
  bool uniform() const noexcept { return first == rest; }
  /// Σ a_r² over `n` rows: a step of every row by a_r Δ (the gradient) moves x_w by this Δ.
  float sum_squares(size_t n) const noexcept {
    return n == 0 ? 0.0f : first * first + static_cast<float>(n - 1) * rest * rest;
  }
};

/// The weights of `rows` (a word's R(w), sorted) in a run of `words` corpus words, for a
/// word seen `count` times in the corpus (0 for a word outside it; only a word with an own
/// row is damped, and only a corpus word has one).
inline SubwordWeights subword_weights(const SubwordConfig& config, uint32_t words, std::span<const uint32_t> rows,
                                      uint64_t count) noexcept {
  const size_t n = rows.size();
  if (config.compose == SubwordCompose::sum || n == 0) return {1.0f, 1.0f};
  const bool scaled = config.compose == SubwordCompose::own_plus_scaled;
  if (weighs_own_row_apart(config.compose) && n > 1 && rows[0] < words) {
    const auto others = static_cast<float>(n - 1);
    float rest = 1.0f / (scaled ? std::sqrt(others) : others);
    if (config.piece_damping_count > 0) {
      const double damp = static_cast<double>(config.piece_damping_count);
      rest *= static_cast<float>(std::sqrt(damp / (damp + static_cast<double>(count))));
    }
    return {1.0f, rest};
  }
  const float s = 1.0f / (scaled ? std::sqrt(static_cast<float>(n)) : static_cast<float>(n));
  return {s, s};
}

/// The input rows of every corpus word (a CSR table), immutable and shared by the threads.
class SubwordMap {
 public:
  SubwordMap() = default;
  /// The map of `words` (the corpus vocabulary, `counts` their corpus counts) under `model`.
  static SubwordMap build(const BpeModel& model, const std::vector<std::string>& words, std::span<const uint64_t> counts,
                          const SubwordConfig& config);

  uint32_t words() const noexcept { return words_; }
  /// W + P: the rows of both matrices.
  uint32_t rows() const noexcept { return rows_; }
  uint32_t pieces() const noexcept { return rows_ - words_; }
  const SubwordConfig& config() const noexcept { return config_; }
  /// R(w), sorted ascending (each row once).
  std::span<const uint32_t> rows_of(uint32_t word) const noexcept {
    return {rows_list_.data() + offsets_[word], rows_list_.data() + offsets_[word + 1]};
  }
  /// The weights of corpus word w's rows rows_of(w) (worked out once, when the map is made:
  /// the window asks for them at every position).
  SubwordWeights weights(uint32_t word) const noexcept { return weights_[word]; }
  /// How far x_w moves for a kernel step Δ on it, in units of Δ, for corpus word w:
  /// Σ a_r² (gradient: each row moves by a_r Δ; s² n for sum and mean) or 1 (unit).
  float step_moves_x(uint32_t word) const noexcept {
    if (config_.step == SubwordStep::unit) return 1.0f;
    const SubwordWeights a = weights(word);
    const size_t n = rows_of(word).size();
    if (!a.uniform()) return a.sum_squares(n);
    return a.first * a.first * static_cast<float>(n);
  }
  /// Longest R(w) over the corpus words.
  size_t max_rows() const noexcept { return max_rows_; }

  /// The table as plain parts (a distributed job sends it to the other ranks, which have no
  /// tokenizer) and back; from_parts checks that the parts form a table of `rows` rows.
  /// `counts`: the words' corpus counts (the state's first `words` frequencies).
  const std::vector<uint64_t>& offsets() const noexcept { return offsets_; }
  const std::vector<uint32_t>& rows_list() const noexcept { return rows_list_; }
  static SubwordMap from_parts(const SubwordConfig& config, uint32_t words, uint32_t rows, std::vector<uint64_t> offsets,
                               std::vector<uint32_t> rows_list, std::span<const uint64_t> counts);

 private:
  SubwordConfig config_;
  uint32_t words_ = 0;
  uint32_t rows_ = 0;
  size_t max_rows_ = 0;
  std::vector<uint64_t> offsets_;    ///< words_ + 1
  std::vector<uint32_t> rows_list_;  ///< all R(w), concatenated
  std::vector<SubwordWeights> weights_;  ///< words_: each word's, from its rows and its corpus count

  /// weights_ from the table and the words' corpus counts.
  void set_weights(std::span<const uint64_t> counts);
};

/// The input rows of any word under `model` and `config`, for a run of `words` corpus
/// words: its pieces (with ancestors as configured), plus its own row `own_row` when it
/// has one (a corpus word counted at least own_min_count times; UINT32_MAX: none). Sorted,
/// each row once. Empty only for an empty word.
std::vector<uint32_t> subword_rows(const BpeModel& model, std::string_view word, uint32_t words, const SubwordConfig& config,
                                   uint32_t own_row = UINT32_MAX);

/// x = s Σ_{r ∈ rows} input[r], into `out` (input.stride() floats; the padding stays zero).
void compose_rows(const Matrix& input, std::span<const uint32_t> rows, float s, float* out) noexcept;
/// x = Σ a_r input[r] (uniform weights: the same floats as the overload above).
void compose_rows(const Matrix& input, std::span<const uint32_t> rows, SubwordWeights a, float* out) noexcept;

/// The chain rule after a step on a composed vector: input[r] += s (after - before) for
/// every r in `rows` (cols floats each).
void scatter_rows(Matrix& input, std::span<const uint32_t> rows, float s, const float* after, const float* before,
                  size_t cols) noexcept;
/// input[r] += k a_r (after - before) for every r in `rows`.
void scatter_rows(Matrix& input, std::span<const uint32_t> rows, SubwordWeights a, float k, const float* after,
                  const float* before, size_t cols) noexcept;

/// Per-piece outputs (SubwordOutputs::pieces): one step's targets, each composed of its rows
/// in the output matrix, u_w = Σ a_r o_r with its input composition's rows and weights.
/// The targets change at every step (a centre and fresh negatives), so they are composed
/// before each kernel step and the step's change Δu goes back to their rows right after:
/// row r gets a_r Δu (gradient: the chain rule) or (a_r / Σ a²) Δu (unit: u moves by the
/// kernel's Δu), the input side's rules.
class SubwordTargets {
 public:
  SubwordTargets() = default;
  SubwordTargets(size_t max_targets, size_t dim) : u_(max_targets, dim), u0_(max_targets, dim) {}
  /// Composes targets[0, T) into scratch rows and points rows[t] at them (the kernel's
  /// target rows).
  void compose(const SubwordMap& map, const Matrix& output, const uint32_t* targets, size_t T, float** rows) noexcept;
  /// Adds each composed target's change since compose() to its rows.
  void scatter(const SubwordMap& map, Matrix& output, const uint32_t* targets, size_t T) noexcept;

 private:
  Matrix u_, u0_;  ///< per target: u after and before the kernel's step
};

/// One thread's scratch space for subword_step, sized once for the largest window.
struct SubwordScratch {
  SubwordScratch(size_t max_inputs, size_t max_targets, size_t dim)
      : composed(max_inputs, dim), before(max_inputs, dim), input_rows(max_inputs), target_rows(max_targets),
        scores(hogbatch_scores_floats(max_inputs, max_targets)), delta(max_targets, dim), targets(max_targets, dim) {}
  Matrix composed, before;  ///< x_w of each input word, after and before the kernel's step
  std::vector<float*> input_rows, target_rows;
  std::vector<float> scores;
  Matrix delta;
  SubwordTargets targets;  ///< per-piece outputs
};

/// The kernel run by subword_step: a HogBatch kernel of sgns_detail.h (the dispatched SIMD
/// one in training, the portable one in tests).
using SubwordKernel = double (*)(float* const* xs, size_t B, float* const* us, size_t T, size_t stride, size_t cols,
                                 float lr, const SigmoidTable& table, float* S, float* delta);

/// One HogBatch step of a subword run: `inputs` are the B context words (corpus word ids),
/// `targets` the T output rows (targets[0] the centre word, then the shared negatives).
/// Composes each x_w, runs `kernel` on them and the target rows, and scatters each Δx_w to
/// R(w) (the chain rule above); with per-piece outputs the targets are composed and scattered
/// the same way (SubwordTargets). Returns the kernel's loss.
double subword_step(Matrix& input, Matrix& output, const SubwordMap& map, std::span<const uint32_t> inputs,
                    std::span<const uint32_t> targets, float lr, const SigmoidTable& table, SubwordScratch& scratch,
                    SubwordKernel kernel);

/// One thread's composed inputs over a segment (the trainer's HogBatch loop): each position
/// of the segment is composed once when it enters the window of the centres it serves as
/// context for, and its rows R(w) receive its steps once it leaves, instead of a compose and
/// a scatter per pair batch.
///
/// The same maths as subword_step for a position whose rows no other live position shares:
/// recomposing after a scatter of a_r Δ to each row r moves x by c Δ with c = Σ a_r²
/// (s² |R|: |R| for sum, 1/|R| for mean; 1 + 1/n for own-plus-mean and 2 for
/// own-plus-scaled with an own row), so
/// after each step the kept x moves by c Δ (absorb), and on leaving row r gets
/// a_r Σ Δ = (a_r / c) (x - x₀). The unit step moves row r by (a_r / Σ a²) Δ, so that x
/// moves by Δ (c = 1): on leaving row r gets (a_r / Σ a²) (x - x₀) as well. What differs: a row
/// shared by two live positions (the same word twice within a window, or a common piece)
/// sees the other position's steps only once that one leaves, as a Hogwild thread sees
/// another's.
class SubwordWindow {
 public:
  /// Room for `span` live positions (2 window + 1) of `dim` columns and `max_inputs` inputs
  /// per step.
  SubwordWindow(size_t span, size_t max_inputs, size_t dim)
      : x_(span, dim), x0_(span, dim), before_(max_inputs, dim), words_(span), uses_(span), slots_(max_inputs), span_(span) {
    left_.reserve(span + 1);
  }

  /// A new segment of `n` positions holding `words` (corpus word ids); nothing live.
  void begin(const SubwordMap& map, Matrix& input, const uint32_t* words, size_t n) noexcept;
  /// Positions [lo, hi) live: those below lo leave (their rows get their steps), those up
  /// to hi are composed. lo and hi never decrease within a segment; hi - lo <= span.
  void advance(size_t lo, size_t hi) noexcept;
  /// Position j's composed x (live).
  float* row(size_t j) noexcept { return x_.row(j % span_); }
  /// Around a kernel step on the live positions `positions` (their rows, in this order, are
  /// the kernel's inputs): before() keeps their x, absorb() rescales the kernel's step by c.
  void before(const size_t* positions, size_t B) noexcept;
  void absorb(size_t B) noexcept;
  /// The end of the segment: every live position leaves.
  void finish() noexcept;
  /// The positions that left since the last clear: their word and how many steps used them
  /// (each step updates every row of the word's composition once: the update counts).
  struct Left {
    uint32_t word;
    uint32_t uses;
  };
  const std::vector<Left>& left() const noexcept { return left_; }
  void clear_left() noexcept { left_.clear(); }

 private:
  void leave(size_t j) noexcept;

  Matrix x_, x0_;      ///< per live position (slot j % span): x and x as composed
  Matrix before_;      ///< per input of the current step: x before the kernel
  std::vector<uint32_t> words_, uses_;  ///< per live position
  std::vector<size_t> slots_;  ///< the current step's inputs' slots
  std::vector<Left> left_;
  size_t span_;
  const SubwordMap* map_ = nullptr;
  Matrix* input_ = nullptr;
  const uint32_t* seg_ = nullptr;
  size_t n_ = 0, lo_ = 0, hi_ = 0;
};

/// A fresh state for a subword run: the vocabulary is the W corpus words then the P pieces'
/// display forms; the words' frequencies are their counts, a piece's the sum of the counts
/// of the words whose rows hold it; input rows from initial_input_row, output rows zero.
TrainingState initial_subword_state(const CorpusView& corpus, const std::vector<std::string>& words, const BpeModel& model,
                                    const SubwordMap& map, TokenizerKind tokenizer_kind, uint64_t tokenizer_checksum,
                                    uint32_t dim, uint64_t seed, uint32_t epochs, int threads);

}  // namespace tokvec
