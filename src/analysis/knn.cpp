#include "analysis/knn.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <utility>

#include "base/config.h"
#include "vectors/eval_detail.h"

namespace tokvec::detail {

namespace {

/// Inserts the scores of one query's row of S into `best` (descending, at most k): a chunk
/// whose every score is at most the current k-th is skipped with one vectorisable pass,
/// which is nearly every chunk once the list has filled.
void top_k(const float* s, size_t n, size_t self, const std::vector<uint8_t>& dead, size_t k,
           std::vector<std::pair<float, uint32_t>>& best) {
  best.clear();
  float floor = -std::numeric_limits<float>::infinity();
  constexpr size_t kChunk = 64;
  for (size_t c0 = 0; c0 < n; c0 += kChunk) {
    const size_t c1 = std::min(n, c0 + kChunk);
    if (best.size() == k) {
      bool any = false;
      for (size_t c = c0; c < c1; ++c) any |= s[c] > floor;
      if (!any) continue;
    }
    for (size_t c = c0; c < c1; ++c) {
      const float v = s[c];
      if (best.size() == k && !(v > floor)) continue;
      if (c == self || dead[c] || std::isnan(v)) continue;
      auto pos = std::upper_bound(best.begin(), best.end(), v,
                                  [](float x, const std::pair<float, uint32_t>& e) { return x > e.first; });
      best.insert(pos, {v, static_cast<uint32_t>(c)});
      if (best.size() > k) best.pop_back();
      if (best.size() == k) floor = best.back().first;
    }
  }
}

}  // namespace

std::vector<uint32_t> exact_knn(const Matrix& m, std::span<const uint32_t> rows, size_t k, int threads) {
  const size_t n = rows.size(), dim = m.cols();
  std::vector<uint32_t> out(n * k, kNoNeighbor);
  if (n == 0 || k == 0) return out;
  // Queries: the unit rows, padded to a multiple of 4 (zero rows score 0 and are dropped);
  // candidates: the same rows transposed, padded to a multiple of 32 columns.
  const size_t n_pad = (n + 3) / 4 * 4;
  const size_t cols = (n + 31) / 32 * 32;
  std::vector<float> Q(n_pad * dim, 0.0f), CT(dim * cols, 0.0f);
  std::vector<uint8_t> dead(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const float* v = m.row(rows[i]);
    double n2 = 0;
    for (size_t d = 0; d < dim; ++d) n2 += static_cast<double>(v[d]) * v[d];
    dead[i] = !(n2 > 0) || !std::isfinite(n2);
    const float inv = dead[i] ? 0.0f : static_cast<float>(1.0 / std::sqrt(n2));
    for (size_t d = 0; d < dim; ++d) {
      Q[i * dim + d] = v[d] * inv;
      CT[d * cols + i] = v[d] * inv;
    }
  }
  const int nthreads = resolve_threads(threads);
  // 64 queries a block (each candidate tile reused 64 times), fewer when a block's scores
  // would pass 32 MiB per thread.
  const size_t query_block = std::clamp<size_t>((size_t{8} << 20) / cols / 4 * 4, 4, 64);
  const size_t blocks = (n_pad + query_block - 1) / query_block;
  std::vector<std::vector<float>> scratch(static_cast<size_t>(nthreads), std::vector<float>(query_block * cols));
  std::exception_ptr failure;
#pragma omp parallel num_threads(nthreads)
  {
    std::vector<float>& S = scratch[static_cast<size_t>(omp_get_thread_num())];
    std::vector<std::pair<float, uint32_t>> best;
#pragma omp for schedule(dynamic, 1)
    for (size_t b = 0; b < blocks; ++b) {
      try {
        best.reserve(k + 1);
        const size_t q0 = b * query_block;
        const size_t qn = std::min(query_block, n_pad - q0);
        score_block(&Q[q0 * dim], qn, CT.data(), cols, dim, S.data());
        for (size_t i = 0; i < qn && q0 + i < n; ++i) {
          if (dead[q0 + i]) continue;
          top_k(&S[i * cols], n, q0 + i, dead, k, best);
          for (size_t j = 0; j < best.size(); ++j) out[(q0 + i) * k + j] = best[j].second;
        }
      } catch (...) {
#pragma omp critical(tokvec_knn_failure)
        if (!failure) failure = std::current_exception();
      }
    }
  }
  if (failure) std::rethrow_exception(failure);
  return out;
}

}  // namespace tokvec::detail
