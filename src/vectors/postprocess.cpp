#include "tokvec/postprocess.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>
#include <random>
#include <string>

#include "tokvec/status.h"

namespace tokvec {

uint32_t Postprocess::default_components(uint32_t dim) noexcept {
  // Mu & Viswanath remove D ≈ dim/100 directions (D = 3 for their 300-dimensional vectors).
  return std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(dim / 100.0)));
}

Postprocess Postprocess::parse(std::string_view text, uint32_t dim) {
  auto bad = [&](const std::string& why) {
    return FieldError(ErrorKind::usage, "postprocess", "'" + std::string(text) + "': " + why);
  };
  Postprocess p;
  if (text == "center") {
    p.kind = Kind::center;
    return p;
  }
  if (text.substr(0, 4) != "abtt" || (text.size() > 4 && text[4] != ':')) throw bad("expected center, abtt or abtt:D");
  p.kind = Kind::abtt;
  if (dim < 2) throw bad("all-but-the-top needs vectors of at least 2 dimensions");
  if (text.size() == 4) {
    p.components = std::min(default_components(dim), dim - 1);
    return p;
  }
  const std::string_view number = text.substr(5);
  uint32_t d = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), d);
  if (number.empty() || ec != std::errc() || end != number.data() + number.size()) throw bad("D must be a whole number");
  if (d < 1 || d >= dim) throw bad("D must be in [1, " + std::to_string(dim - 1) + "] for vectors of dimension " + std::to_string(dim));
  p.components = d;
  return p;
}

namespace {

/// Eigenvectors of a small symmetric matrix (cyclic Jacobi), as the columns of `v`, with
/// their eigenvalues in `values` (not sorted).
void jacobi_eigen(std::vector<double> a, size_t n, std::vector<double>& v, std::vector<double>& values) {
  v.assign(n * n, 0.0);
  for (size_t i = 0; i < n; ++i) v[i * n + i] = 1.0;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (size_t i = 0; i < n; ++i)
      for (size_t j = i + 1; j < n; ++j) off += a[i * n + j] * a[i * n + j];
    if (off < 1e-30) break;
    for (size_t p = 0; p < n; ++p) {
      for (size_t q = p + 1; q < n; ++q) {
        const double apq = a[p * n + q];
        if (std::abs(apq) < 1e-300) continue;
        const double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (size_t k = 0; k < n; ++k) {  // columns p, q
          const double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (size_t k = 0; k < n; ++k) {  // rows p, q
          const double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (size_t k = 0; k < n; ++k) {
          const double vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  values.resize(n);
  for (size_t i = 0; i < n; ++i) values[i] = a[i * n + i];
}

/// Orthonormalises the columns of `q` (dim x m, column-major) in place (modified
/// Gram-Schmidt, twice for accuracy).
void orthonormalise(std::vector<double>& q, size_t dim, size_t m) {
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t c = 0; c < m; ++c) {
      double* col = q.data() + c * dim;
      for (size_t p = 0; p < c; ++p) {
        const double* prev = q.data() + p * dim;
        const double dot = std::inner_product(col, col + dim, prev, 0.0);
        for (size_t i = 0; i < dim; ++i) col[i] -= dot * prev[i];
      }
      const double norm = std::sqrt(std::inner_product(col, col + dim, col, 0.0));
      if (norm > 0) {
        for (size_t i = 0; i < dim; ++i) col[i] /= norm;
      }
    }
  }
}

/// The top `m` eigenvectors of the symmetric positive semi-definite `cov` (dim x dim),
/// largest eigenvalue first: subspace iteration, then Rayleigh-Ritz to order them.
std::vector<std::vector<double>> top_directions(const std::vector<double>& cov, size_t dim, size_t m) {
  // A fixed start: the raw 64-bit outputs of mt19937_64 (specified exactly by the standard).
  std::mt19937_64 rng(20180101);
  std::vector<double> q(dim * m);
  for (double& x : q) x = static_cast<double>(rng() >> 11) * 0x1.0p-53 - 0.5;
  orthonormalise(q, dim, m);
  std::vector<double> z(dim * m);
  for (int iter = 0; iter < 1000; ++iter) {
    for (size_t c = 0; c < m; ++c) {
      for (size_t i = 0; i < dim; ++i) {
        z[c * dim + i] = std::inner_product(cov.begin() + static_cast<std::ptrdiff_t>(i * dim),
                                            cov.begin() + static_cast<std::ptrdiff_t>((i + 1) * dim), q.begin() + static_cast<std::ptrdiff_t>(c * dim), 0.0);
      }
    }
    orthonormalise(z, dim, m);
    double change = 0;
    for (size_t i = 0; i < dim * m; ++i) change = std::max(change, std::abs(z[i] - q[i]));
    q.swap(z);
    if (change < 1e-12) break;
  }
  // Rayleigh-Ritz: B = Qᵀ C Q, its eigenvectors rotate Q into ordered directions.
  std::vector<double> cq(dim * m), b(m * m);
  for (size_t c = 0; c < m; ++c) {
    for (size_t i = 0; i < dim; ++i) {
      cq[c * dim + i] = std::inner_product(cov.begin() + static_cast<std::ptrdiff_t>(i * dim),
                                           cov.begin() + static_cast<std::ptrdiff_t>((i + 1) * dim), q.begin() + static_cast<std::ptrdiff_t>(c * dim), 0.0);
    }
  }
  for (size_t r = 0; r < m; ++r)
    for (size_t c = 0; c < m; ++c) b[r * m + c] = std::inner_product(q.begin() + static_cast<std::ptrdiff_t>(r * dim), q.begin() + static_cast<std::ptrdiff_t>((r + 1) * dim), cq.begin() + static_cast<std::ptrdiff_t>(c * dim), 0.0);
  std::vector<double> v, values;
  jacobi_eigen(b, m, v, values);
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return values[x] > values[y]; });
  std::vector<std::vector<double>> out;
  for (size_t k : order) {
    std::vector<double> u(dim, 0.0);
    for (size_t c = 0; c < m; ++c)
      for (size_t i = 0; i < dim; ++i) u[i] += v[c * m + k] * q[c * dim + i];
    // A sign fixed by the data's convention: the largest component positive.
    size_t big = 0;
    for (size_t i = 1; i < dim; ++i)
      if (std::abs(u[i]) > std::abs(u[big])) big = i;
    const double sign = u[big] < 0 ? -1.0 : 1.0;
    const double norm = std::sqrt(std::inner_product(u.begin(), u.end(), u.begin(), 0.0));
    for (double& x : u) x *= sign / norm;
    out.push_back(std::move(u));
  }
  return out;
}

}  // namespace

PostprocessResult postprocess(Embeddings& e, const Postprocess& p) {
  PostprocessResult result;
  if (p.kind == Postprocess::Kind::none || e.size() == 0) return result;
  const size_t n = e.size(), dim = e.dim;
  result.mean.assign(dim, 0.0);
  for (size_t r = 0; r < n; ++r) {
    const float* x = e.row(r);
    for (size_t i = 0; i < dim; ++i) result.mean[i] += x[i];
  }
  for (double& m : result.mean) m /= static_cast<double>(n);
  for (size_t r = 0; r < n; ++r) {
    float* x = e.row(r);
    for (size_t i = 0; i < dim; ++i) x[i] = static_cast<float>(x[i] - result.mean[i]);
  }
  if (p.kind == Postprocess::Kind::center) return result;
  if (p.components == 0 || p.components >= dim) throw internal_error("postprocess: bad number of components");
  // Covariance (unnormalised: the directions do not depend on the scale), upper triangle.
  std::vector<double> cov(dim * dim, 0.0);
#pragma omp parallel
  {
    std::vector<double> local(dim * dim, 0.0);
#pragma omp for schedule(static) nowait
    for (size_t r = 0; r < n; ++r) {
      const float* x = e.row(r);
      for (size_t i = 0; i < dim; ++i) {
        const double xi = x[i];
        for (size_t j = i; j < dim; ++j) local[i * dim + j] += xi * x[j];
      }
    }
#pragma omp critical
    for (size_t k = 0; k < dim * dim; ++k) cov[k] += local[k];
  }
  for (size_t i = 0; i < dim; ++i)
    for (size_t j = 0; j < i; ++j) cov[i * dim + j] = cov[j * dim + i];
  result.directions = top_directions(cov, dim, p.components);
  for (size_t r = 0; r < n; ++r) {
    float* x = e.row(r);
    std::vector<double> row(x, x + dim);
    for (const std::vector<double>& u : result.directions) {
      const double dot = std::inner_product(row.begin(), row.end(), u.begin(), 0.0);
      for (size_t i = 0; i < dim; ++i) row[i] -= dot * u[i];
    }
    for (size_t i = 0; i < dim; ++i) x[i] = static_cast<float>(row[i]);
  }
  return result;
}

namespace {

double cosine_to(const Embeddings& e, const std::vector<float>& unit, size_t row, const float* unit_query) {
  double dot = 0;
  const float* u = unit.data() + row * e.dim;
  for (uint32_t d = 0; d < e.dim; ++d) dot += static_cast<double>(unit_query[d]) * u[d];
  return dot;
}

}  // namespace

double csls_penalty(const Embeddings& e, const std::vector<float>& unit, size_t row, size_t k_hub) {
  std::vector<double> best;  // the k_hub largest cosines, descending
  const float* q = unit.data() + row * e.dim;
  for (size_t i = 0; i < e.size(); ++i) {
    if (i == row) continue;
    const double c = cosine_to(e, unit, i, q);
    if (best.size() == k_hub && !(c > best.back())) continue;
    best.insert(std::upper_bound(best.begin(), best.end(), c, std::greater<>()), c);
    if (best.size() > k_hub) best.pop_back();
  }
  if (best.empty()) return 0.0;
  return std::accumulate(best.begin(), best.end(), 0.0) / static_cast<double>(best.size());
}

std::vector<Neighbor> nearest_csls(const Embeddings& e, const std::vector<float>& unit, const float* query, size_t k,
                                   int64_t exclude_row, std::string_view exclude_word, size_t k_hub, size_t pool) {
  std::vector<Neighbor> out;
  double n2 = 0;
  for (uint32_t d = 0; d < e.dim; ++d) n2 += static_cast<double>(query[d]) * query[d];
  if (n2 <= 0 || k == 0) return out;
  std::vector<float> uq(e.dim);
  for (uint32_t d = 0; d < e.dim; ++d) uq[d] = static_cast<float>(query[d] / std::sqrt(n2));
  // The pool: the rows nearest by cosine.
  struct Candidate {
    double cosine;
    double score;
    size_t row;
  };
  std::vector<Candidate> cands;
  for (size_t i = 0; i < e.size(); ++i) {
    if (static_cast<int64_t>(i) == exclude_row || (!exclude_word.empty() && e.words[i] == exclude_word)) continue;
    cands.push_back({cosine_to(e, unit, i, uq.data()), 0.0, i});
  }
  auto by_cosine = [](const Candidate& a, const Candidate& b) { return a.cosine != b.cosine ? a.cosine > b.cosine : a.row < b.row; };
  const size_t keep = std::min(cands.size(), std::max(pool, k));
  std::partial_sort(cands.begin(), cands.begin() + static_cast<std::ptrdiff_t>(keep), cands.end(), by_cosine);
  cands.resize(keep);
  for (Candidate& c : cands) c.score = 2 * c.cosine - csls_penalty(e, unit, c.row, k_hub);
  std::stable_sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) {
    return a.score != b.score ? a.score > b.score : a.row < b.row;
  });
  for (size_t i = 0; i < std::min(k, cands.size()); ++i) out.push_back({e.words[cands[i].row], static_cast<float>(cands[i].cosine)});
  return out;
}

}  // namespace tokvec
