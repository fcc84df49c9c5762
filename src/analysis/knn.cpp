#include "analysis/knn.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <utility>

#include "base/config.h"
#include "tokvec/status.h"
#include "vectors/eval_detail.h"

namespace tokvec::detail {

namespace {

using Scored = std::pair<float, uint32_t>;  // (cosine, position)

/// The order of neighbour lists: higher score first, equal scores by lower position, so a
/// list does not depend on the order candidates arrive in (threads, chunks).
inline bool better(float va, uint32_t ia, float vb, uint32_t ib) { return va > vb || (va == vb && ia < ib); }

/// Offers candidate (v, id) to a list of at most k held in list[0, count), best first.
/// Returns the new floor (the k-th score once full, else -infinity).
inline float offer(Scored* list, uint32_t& count, size_t k, float v, uint32_t id) {
  if (count == k && !better(v, id, list[k - 1].first, list[k - 1].second)) return list[k - 1].first;
  size_t pos = count < k ? count++ : k - 1;
  while (pos > 0 && better(v, id, list[pos - 1].first, list[pos - 1].second)) {
    list[pos] = list[pos - 1];
    --pos;
  }
  list[pos] = {v, id};
  return count == k ? list[k - 1].first : -std::numeric_limits<float>::infinity();
}

}  // namespace

std::vector<uint32_t> exact_knn(const Matrix& m, std::span<const uint32_t> rows, size_t k, int threads, size_t chunk_cols) {
  const size_t n = rows.size(), dim = m.cols();
  std::vector<uint32_t> out(n * k, kNoNeighbor);
  if (n == 0 || k == 0) return out;
  constexpr size_t kQueryBlock = 64;  // each candidate tile is reused by 64 queries
  if (chunk_cols == 0 || chunk_cols % kQueryBlock != 0 || k > 1000) {
    throw internal_error("exact_knn: chunk_cols must be a multiple of 64 and k at most 1000");
  }
  // Queries: the unit rows, padded to whole blocks (zero rows score 0 and are dropped);
  // candidates: the same rows transposed, chunk by chunk (each padded to chunk_cols).
  const size_t chunks = (n + chunk_cols - 1) / chunk_cols;
  const size_t n_pad = chunks * chunk_cols;
  std::vector<float> Q(n_pad * dim, 0.0f), CT(chunks * dim * chunk_cols, 0.0f);
  std::vector<uint8_t> dead(n_pad, 1);
  for (size_t i = 0; i < n; ++i) {
    const float* v = m.row(rows[i]);
    double n2 = 0;
    for (size_t d = 0; d < dim; ++d) n2 += static_cast<double>(v[d]) * v[d];
    dead[i] = !(n2 > 0) || !std::isfinite(n2);
    const float inv = dead[i] ? 0.0f : static_cast<float>(1.0 / std::sqrt(n2));
    float* chunk = &CT[(i / chunk_cols) * dim * chunk_cols];
    for (size_t d = 0; d < dim; ++d) {
      Q[i * dim + d] = v[d] * inv;
      chunk[d * chunk_cols + i % chunk_cols] = v[d] * inv;
    }
  }
  // Cosine is symmetric, so each pair is scored once: block b (rows [q0, q0 + 64)) is
  // scored against its own chunk and the chunks after it. A score S[i][j] is offered to
  // row i's list (kept by the thread that owns block b) and, when j lies in a later chunk,
  // to row j's list (kept per thread, merged at the end): every ordered pair is offered
  // exactly once, with about half the products of the full square.
  const int nthreads = resolve_threads(threads);
  const size_t blocks = n_pad / kQueryBlock;
  std::vector<Scored> row_lists(n_pad * k);
  std::vector<uint32_t> row_counts(n_pad, 0);
  std::vector<std::vector<Scored>> col_lists(static_cast<size_t>(nthreads));
  std::vector<std::vector<uint32_t>> col_counts(static_cast<size_t>(nthreads));
  std::exception_ptr failure;
#pragma omp parallel num_threads(nthreads)
  {
    const size_t t = static_cast<size_t>(omp_get_thread_num());
    std::vector<float> S, floors, col_floor;
    try {
      S.resize(kQueryBlock * chunk_cols);
      col_lists[t].resize(n_pad * k);
      col_counts[t].assign(n_pad, 0);
      col_floor.assign(n_pad, -std::numeric_limits<float>::infinity());
    } catch (...) {
#pragma omp critical(tokvec_knn_failure)
      if (!failure) failure = std::current_exception();
    }
    Scored* const cl = col_lists[t].data();
    uint32_t* const cc = col_counts[t].data();
#pragma omp for schedule(dynamic, 1)
    for (size_t b = 0; b < blocks; ++b) {
      if (S.empty()) continue;  // this thread's allocation failed: reported above
      const size_t q0 = b * kQueryBlock;
      float floor[kQueryBlock];
      for (float& f : floor) f = -std::numeric_limits<float>::infinity();
      for (size_t c = q0 / chunk_cols; c < chunks; ++c) {
        const size_t offset = c * chunk_cols;
        score_block(&Q[q0 * dim], kQueryBlock, &CT[c * dim * chunk_cols], chunk_cols, dim, S.data());
        const bool later = offset >= q0 + kQueryBlock;
        for (size_t i = 0; i < kQueryBlock; ++i) {
          const size_t qi = q0 + i;
          if (dead[qi]) continue;
          const float* s = &S[i * chunk_cols];
          Scored* list = &row_lists[qi * k];
          // Row qi's list: stretches whose every score is below its floor are skipped
          // with one vectorisable pass (nearly all once the list is full).
          constexpr size_t kStretch = 64;
          for (size_t c0 = 0; c0 < chunk_cols; c0 += kStretch) {
            bool any = false;
            for (size_t x = c0; x < c0 + kStretch; ++x) any |= s[x] >= floor[i];
            if (!any) continue;
            for (size_t x = c0; x < c0 + kStretch; ++x) {
              const size_t j = offset + x;
              if (s[x] < floor[i] || j == qi || dead[j] || std::isnan(s[x])) continue;
              floor[i] = offer(list, row_counts[qi], k, s[x], static_cast<uint32_t>(j));
            }
          }
          if (!later) continue;
          // Rows of the later chunk: the same scores, offered to their lists.
          for (size_t c0 = 0; c0 < chunk_cols; c0 += kStretch) {
            bool any = false;
            for (size_t x = c0; x < c0 + kStretch; ++x) any |= s[x] >= col_floor[offset + x];
            if (!any) continue;
            for (size_t x = c0; x < c0 + kStretch; ++x) {
              const size_t j = offset + x;
              if (s[x] < col_floor[j] || dead[j] || std::isnan(s[x])) continue;
              col_floor[j] = offer(&cl[j * k], cc[j], k, s[x], static_cast<uint32_t>(qi));
            }
          }
        }
      }
    }
  }
  if (failure) std::rethrow_exception(failure);
  // Each row's list: its own, merged with what every thread offered it.
#pragma omp parallel for num_threads(nthreads) schedule(static)
  for (size_t i = 0; i < n; ++i) {
    Scored merged[2 * 1024];  // k <= 1000 (AuditConfig::validate)
    Scored* list = &row_lists[i * k];
    uint32_t count = row_counts[i];
    for (size_t t = 0; t < col_lists.size(); ++t) {
      const Scored* other = &col_lists[t][i * k];
      const uint32_t other_count = col_counts[t][i];
      if (other_count == 0) continue;
      size_t a = 0, o = 0, w = 0;
      while (w < k && (a < count || o < other_count)) {
        if (o == other_count || (a < count && better(list[a].first, list[a].second, other[o].first, other[o].second))) {
          merged[w++] = list[a++];
        } else {
          merged[w++] = other[o++];
        }
      }
      std::copy(merged, merged + w, list);
      count = static_cast<uint32_t>(w);
    }
    for (size_t j = 0; j < count; ++j) out[i * k + j] = list[j].second;
  }
  return out;
}

}  // namespace tokvec::detail
