// The settings of a subword run (train --subwords): how a word's input vector is composed
// from rows of the input matrix. The maths and the row layout: src/sgns/subword.h and
// docs/design.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tokvec {

/// x_w = Σ v_r (sum) or (1/|R(w)|) Σ v_r (mean) over the word's rows R(w); own_plus_mean:
/// a word with an own row o gets v_o + (1/n) Σ its n other rows (its pieces, averaged, added
/// to its own row), a word without one the mean of its rows; own_plus_scaled: the same with
/// 1/√n for 1/n (the pieces' sum scaled to the length of one row: n rows of unrelated
/// directions sum to about √n rows' length), a word without an own row (1/√|R(w)|) Σ v_r.
/// The values are stored (MPI job messages): new ones go last.
enum class SubwordCompose { sum, mean, own_plus_mean, own_plus_scaled };

/// own-plus-mean and own-plus-scaled: a word's own row weighs apart from its other rows
/// (the compositions the piece damping applies to).
constexpr bool weighs_own_row_apart(SubwordCompose c) noexcept {
  return c == SubwordCompose::own_plus_mean || c == SubwordCompose::own_plus_scaled;
}

/// How far a step moves a word's rows. gradient: the chain rule, each row by s Δ (so x_w
/// moves by s² |R(w)| Δ: a word of many rows learns slowly under the mean, fast under the
/// sum); unit: each row by Δ / (s |R(w)|), so that x_w moves by the kernel's Δ whatever the
/// word's size (the gradient, scaled per word).
enum class SubwordStep { gradient, unit };

/// A word's output vector. words: its own output row (rows [0, W); the pieces' output rows
/// stay zero); pieces: the composition of its rows R(w) in the output matrix, with the
/// weights of its input composition (u_w = Σ a_r o_r), so that rare words share their
/// pieces' outputs too.
enum class SubwordOutputs { words, pieces };

/// The composition settings of a subword run (config.json keys "subword_compose",
/// "subword_ancestors", "subword_own_min_count", "subword_step",
/// "subword_ancestor_min_chars", "subword_outputs", "subword_piece_damping_count").
/// These defaults are what a config.json without the keys means (a run made before they
/// existed); new runs take their step, composition and ancestor filter from kSubwordDefault*
/// below, the variant that met the most of the measured targets (docs/benchmarks.md).
struct SubwordConfig {
  SubwordCompose compose = SubwordCompose::sum;
  /// Also the multi-character pieces each piece was merged from (the BPE merge tree).
  bool ancestors = true;
  /// A word seen at least this many times has a row of its own in its composition; 0: none.
  uint64_t own_min_count = 1;
  /// Runs whose config.json has no "subword_step" (written before it existed) are gradient.
  SubwordStep step = SubwordStep::gradient;
  /// With ancestors: only those of at least this many characters, the word-start marker not
  /// counted (2 drops the word-initial single letters such as "▁t", which tie together every
  /// word that starts with the letter); 0 or 1: every multi-character ancestor.
  uint32_t ancestor_min_chars = 0;
  /// Runs whose config.json has no "subword_outputs" have per-word outputs.
  SubwordOutputs outputs = SubwordOutputs::words;
  /// own-plus-mean and own-plus-scaled: a word with an own row, seen c times, weighs its
  /// other rows by a further √(C / (C + c)), C this count: a frequent word's vector is
  /// mostly its own row (as in words mode), a rare word's mostly its pieces; 0: no damping.
  uint64_t piece_damping_count = 0;

  /// Writes the keys into `j`.
  void to_json(nlohmann::json& j) const;
  /// Reads the keys to_json writes; missing keys keep their defaults; a bad value is a
  /// corrupt error naming `file` and the key.
  static SubwordConfig from_json(const nlohmann::json& j, const std::string& file);
  bool operator==(const SubwordConfig&) const = default;
};

/// The step, the composition, the ancestor filter and the piece damping of new runs (train
/// --subwords, Python subwords=True): own-plus-scaled with the ancestors of at least 3
/// characters, damped by √(1 / (1 + c)), the unit step.
inline constexpr SubwordStep kSubwordDefaultStep = SubwordStep::unit;
inline constexpr SubwordCompose kSubwordDefaultCompose = SubwordCompose::own_plus_scaled;
inline constexpr uint32_t kSubwordDefaultAncestorMinChars = 3;
/// And the piece damping of new runs whose composition has own rows to damp (own-plus-*):
/// frequent words nearly their own row, so their meaning is words mode's.
inline constexpr uint64_t kSubwordDefaultPieceDamping = 1;

/// "gradient" or "unit"; nullopt otherwise.
std::optional<SubwordStep> parse_subword_step(std::string_view name) noexcept;
std::string_view subword_step_name(SubwordStep s) noexcept;

/// "words" or "pieces"; nullopt otherwise.
std::optional<SubwordOutputs> parse_subword_outputs(std::string_view name) noexcept;
std::string_view subword_outputs_name(SubwordOutputs o) noexcept;

/// "sum", "mean", "own-plus-mean" or "own-plus-scaled"; nullopt otherwise.
std::optional<SubwordCompose> parse_subword_compose(std::string_view name) noexcept;
std::string_view subword_compose_name(SubwordCompose c) noexcept;

}  // namespace tokvec
