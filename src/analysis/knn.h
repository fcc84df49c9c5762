// Exact nearest neighbours by cosine among the rows of a matrix, for the audit's geometry
// (hubness) and stability: every chosen row against every other, as blocked matrix
// products on the evaluation's SIMD scoring kernel (vectors/eval_detail.h), in parallel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tokvec/matrix.h"

namespace tokvec::detail {

inline constexpr uint32_t kNoNeighbor = UINT32_MAX;

/// The `k` nearest neighbours of each of `rows` (ids into `m`) among the others of `rows`,
/// by cosine, best first. Row i's list is [i * k, i * k + k) of the result and holds
/// positions into `rows`; a row never is its own neighbour, a zero row is nobody's and has
/// none (its list is kNoNeighbor), lists are cut short (kNoNeighbor) when fewer than k
/// candidates exist. Equal scores keep the lower position first, so the result does not
/// depend on `threads` or `chunk_cols`.
/// `chunk_cols` (a multiple of 64): candidates scored at a time, a knob for tests.
/// k <= 1000.
std::vector<uint32_t> exact_knn(const Matrix& m, std::span<const uint32_t> rows, size_t k, int threads,
                                size_t chunk_cols = 1024);

}  // namespace tokvec::detail
