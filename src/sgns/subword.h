// Subword training (train --subwords): skip-gram over whitespace words where a word's input
// vector is a composition of rows of the input matrix, trained end to end.
//
// Rows. A subword run's matrices have W + P rows: rows [0, W) are the corpus words in
// corpus id order (each word's output row, and its own input row where it has one), rows
// [W, W + P) the BPE tokenizer's pieces by piece id (input rows only; their output rows
// stay zero). A word w's input rows R(w) are
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
// The SGNS step on x_w is the kernel's (sgns.h): it takes x_w's value, computes the step
// Δx_w = -η ∂L/∂x_w, and adds it in place. The trainer composes x_w into a scratch row,
// keeps a copy, runs the dispatched kernel on the scratch rows, and then adds s (x_w' - x_w)
// to every row of R(w): the chain rule, as a sparse row-wise update. The window's words
// share one set of negatives (HogBatch) exactly as in words mode, since only the inputs
// are composed; output rows are per word.
#pragma once

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
  /// s for a word of `n` rows: 1 (sum) or 1/n (mean).
  float scale(size_t n) const noexcept {
    return config_.compose == SubwordCompose::mean && n > 0 ? 1.0f / static_cast<float>(n) : 1.0f;
  }
  /// Longest R(w) over the corpus words.
  size_t max_rows() const noexcept { return max_rows_; }

 private:
  SubwordConfig config_;
  uint32_t words_ = 0;
  uint32_t rows_ = 0;
  size_t max_rows_ = 0;
  std::vector<uint64_t> offsets_;    ///< words_ + 1
  std::vector<uint32_t> rows_list_;  ///< all R(w), concatenated
};

/// The input rows of any word under `model` and `config`, for a run of `words` corpus
/// words: its pieces (with ancestors as configured), plus its own row `own_row` when it
/// has one (a corpus word counted at least own_min_count times; UINT32_MAX: none). Sorted,
/// each row once. Empty only for an empty word.
std::vector<uint32_t> subword_rows(const BpeModel& model, std::string_view word, uint32_t words, const SubwordConfig& config,
                                   uint32_t own_row = UINT32_MAX);

/// x = s Σ_{r ∈ rows} input[r], into `out` (input.stride() floats; the padding stays zero).
void compose_rows(const Matrix& input, std::span<const uint32_t> rows, float s, float* out) noexcept;

/// The chain rule after a step on a composed vector: input[r] += s (after - before) for
/// every r in `rows` (cols floats each).
void scatter_rows(Matrix& input, std::span<const uint32_t> rows, float s, const float* after, const float* before,
                  size_t cols) noexcept;

/// One thread's scratch space for subword_step, sized once for the largest window.
struct SubwordScratch {
  SubwordScratch(size_t max_inputs, size_t max_targets, size_t dim)
      : composed(max_inputs, dim), before(max_inputs, dim), input_rows(max_inputs), target_rows(max_targets),
        scores(max_inputs * max_targets), delta(max_targets, dim) {}
  Matrix composed, before;  ///< x_w of each input word, after and before the kernel's step
  std::vector<float*> input_rows, target_rows;
  std::vector<float> scores;
  Matrix delta;
};

/// The kernel run by subword_step: a HogBatch kernel of sgns_detail.h (the dispatched SIMD
/// one in training, the portable one in tests).
using SubwordKernel = double (*)(float* const* xs, size_t B, float* const* us, size_t T, size_t stride, size_t cols,
                                 float lr, const SigmoidTable& table, float* S, float* delta);

/// One HogBatch step of a subword run: `inputs` are the B context words (corpus word ids),
/// `targets` the T output rows (targets[0] the centre word, then the shared negatives).
/// Composes each x_w, runs `kernel` on them and the target rows, and scatters each Δx_w to
/// R(w) (the chain rule above). Returns the kernel's loss.
double subword_step(Matrix& input, Matrix& output, const SubwordMap& map, std::span<const uint32_t> inputs,
                    std::span<const uint32_t> targets, float lr, const SigmoidTable& table, SubwordScratch& scratch,
                    SubwordKernel kernel);

/// A fresh state for a subword run: the vocabulary is the W corpus words then the P pieces'
/// display forms; the words' frequencies are their counts, a piece's the sum of the counts
/// of the words whose rows hold it; input rows from initial_input_row, output rows zero.
TrainingState initial_subword_state(const CorpusView& corpus, const std::vector<std::string>& words, const BpeModel& model,
                                    const SubwordMap& map, const std::string& tokenizer_kind, uint64_t tokenizer_checksum,
                                    uint32_t dim, uint64_t seed, uint32_t epochs, int threads);

}  // namespace tokvec
