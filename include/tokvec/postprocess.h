// Post-processing of exported vectors and hubness-corrected neighbours.
//
// Trained SGNS vectors share a common direction: on gut100m words vectors the mean cosine
// of random word pairs is about 0.38, a narrow cone. Two known remedies:
//   - all-but-the-top (Mu & Viswanath, ICLR 2018): subtract the mean vector, then remove the
//     projections on the top D principal directions of the centred vectors, which carry
//     mostly frequency, not meaning. They use D ≈ dim/100.
//   - CSLS (Conneau et al., ICLR 2018): rank neighbours y of x by
//     2·cos(x, y) − r(x) − r(y), where r(v) is the mean cosine of v to its k nearest
//     neighbours; a hub (near everything) has a high r and drops in everyone's lists.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "tokvec/eval.h"
#include "tokvec/export.h"

namespace tokvec {

/// export --postprocess.
struct Postprocess {
  enum class Kind { none, center, abtt };
  Kind kind = Kind::none;
  uint32_t components = 0;  ///< abtt: D, the principal directions removed
  /// "center", "abtt" (D = max(1, round(dim / 100))) or "abtt:D" with D in [1, dim - 1];
  /// anything else is a usage error naming --postprocess.
  static Postprocess parse(std::string_view text, uint32_t dim);
  /// abtt's default D for `dim`.
  static uint32_t default_components(uint32_t dim) noexcept;
};

/// What a post-processing removed: the mean and the principal directions (unit vectors,
/// largest variance first).
struct PostprocessResult {
  std::vector<double> mean;
  std::vector<std::vector<double>> directions;
};

/// Applies `p` to every row of `e` in place (rows of zeros included: they are data too).
/// The principal directions come from subspace iteration on the dim x dim covariance
/// matrix, started from a fixed basis, so the result is deterministic.
PostprocessResult postprocess(Embeddings& e, const Postprocess& p);

/// CSLS neighbours of `query` (dim floats) among the rows of `e` (`unit`: unit_rows(e)),
/// skipping `exclude_row` and `exclude_word` as nearest() does; Neighbor::cosine holds the
/// plain cosine, the order is by 2·cos(q, y) − r(y) (r(q) is the same for every candidate).
/// r(y) is the mean cosine of y to its `k_hub` nearest other rows, computed exactly for the
/// candidates: the `pool` rows nearest to the query by cosine (CSLS reorders a
/// neighbourhood; a row outside the pool is not considered).
std::vector<Neighbor> nearest_csls(const Embeddings& e, const std::vector<float>& unit, const float* query, size_t k,
                                   int64_t exclude_row, std::string_view exclude_word = {}, size_t k_hub = 10, size_t pool = 200);

/// r(y) of row `row`: the mean cosine to its `k_hub` nearest other rows.
double csls_penalty(const Embeddings& e, const std::vector<float>& unit, size_t row, size_t k_hub);

}  // namespace tokvec
