// The audit's measurements on the vectors themselves: geometry and stability.
#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <random>

#include "analysis/knn.h"
#include "tokvec/audit.h"
#include "tokvec/status.h"

namespace tokvec {

namespace {

/// The rows the measurements use: trained (frequency > 0) with a nonzero, finite vector.
/// Rows never seen keep their random initialisation, which is noise, not geometry.
std::vector<uint32_t> trained_rows(const TrainingState& s) {
  std::vector<uint32_t> rows;
  const size_t dim = s.dim();
  for (uint32_t id = 0; id < s.vocab_size(); ++id) {
    if (s.frequencies[id] == 0) continue;
    const float* v = s.input.row(id);
    double n2 = 0;
    for (size_t d = 0; d < dim; ++d) n2 += static_cast<double>(v[d]) * v[d];
    if (n2 > 0 && std::isfinite(n2)) rows.push_back(id);
  }
  return rows;
}

double cosine(const float* a, const float* b, size_t dim) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t d = 0; d < dim; ++d) {
    ab += static_cast<double>(a[d]) * b[d];
    aa += static_cast<double>(a[d]) * a[d];
    bb += static_cast<double>(b[d]) * b[d];
  }
  return ab / std::sqrt(aa * bb);
}

double median_of(std::vector<double>& v) {
  if (v.empty()) return 0.0;
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  double hi = v[mid];
  if (v.size() % 2 == 1) return hi;
  double lo = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
  return (lo + hi) / 2;
}

// Fixed seeds: an audit measures the same pairs and sample every time it runs.
constexpr uint64_t kPairSeed = 0x616e69736f74726fULL;
constexpr uint64_t kSampleSeed = 0x6875626e65737321ULL;

}  // namespace

Geometry measure_geometry(const TrainingState& state, uint32_t k, int threads) {
  Geometry g;
  g.k = k;
  const std::vector<uint32_t> rows = trained_rows(state);
  g.rows = rows.size();
  const size_t dim = state.dim();
  if (rows.size() >= 2) {
    std::mt19937_64 rng(kPairSeed);
    double sum = 0;
    for (uint64_t p = 0; p < kGeometryPairs; ++p) {
      uint64_t i = rng() % rows.size(), j = rng() % (rows.size() - 1);
      if (j >= i) ++j;
      sum += cosine(state.input.row(rows[i]), state.input.row(rows[j]), dim);
    }
    g.pairs = kGeometryPairs;
    g.anisotropy = sum / static_cast<double>(kGeometryPairs);
  }
  // Hubness on a sample: a partial Fisher-Yates shuffle picks it, then back in id order.
  std::vector<uint32_t> sample = rows;
  if (sample.size() > kHubnessRows) {
    std::mt19937_64 rng(kSampleSeed);
    for (size_t i = 0; i < kHubnessRows; ++i) std::swap(sample[i], sample[i + rng() % (sample.size() - i)]);
    sample.resize(kHubnessRows);
    std::sort(sample.begin(), sample.end());
  }
  g.hubness_rows = sample.size();
  if (sample.size() > k) {
    const std::vector<uint32_t> nn = detail::exact_knn(state.input, sample, k, threads);
    std::vector<uint64_t> occurrence(sample.size(), 0);
    for (uint32_t p : nn) {
      if (p != detail::kNoNeighbor) ++occurrence[p];
    }
    double mean = 0;
    for (uint64_t c : occurrence) mean += static_cast<double>(c);
    mean /= static_cast<double>(occurrence.size());
    double m2 = 0, m3 = 0;
    for (uint64_t c : occurrence) {
      double d = static_cast<double>(c) - mean;
      m2 += d * d;
      m3 += d * d * d;
    }
    m2 /= static_cast<double>(occurrence.size());
    m3 /= static_cast<double>(occurrence.size());
    g.hubness = m2 > 0 ? m3 / std::pow(m2, 1.5) : 0.0;
    size_t top = static_cast<size_t>(std::max_element(occurrence.begin(), occurrence.end()) - occurrence.begin());
    g.max_occurrence = occurrence[top];
    g.top_hub = printable_token(state.vocab[sample[top]]);
  }
  return g;
}

Stability measure_stability(const TrainingState& state, const TrainingState& other, const std::string& other_name,
                            uint32_t k, double level, int threads) {
  if (other.vocab_size() != state.vocab_size()) {
    throw input_error(other_name, "",
                      "has " + std::to_string(other.vocab_size()) + " rows, the audited run " + std::to_string(state.vocab_size()) +
                          ": stability compares two runs of the same vocabulary (the same settings, another seed)");
  }
  for (uint32_t id = 0; id < state.vocab_size(); ++id) {
    if (other.vocab[id] != state.vocab[id]) {
      throw input_error(other_name, "row " + std::to_string(id),
                        "holds '" + printable_token(other.vocab[id]) + "', the audited run '" + printable_token(state.vocab[id]) +
                            "': stability compares two runs of the same vocabulary (the same settings, another seed)");
    }
  }
  Stability st;
  st.other = other_name;
  st.k = k;
  st.level = level;
  st.per_row.assign(state.vocab_size(), std::numeric_limits<double>::quiet_NaN());
  // Rows trained and nonzero in both runs.
  std::vector<uint32_t> rows;
  {
    const std::vector<uint32_t> a = trained_rows(state), b = trained_rows(other);
    std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(rows));
  }
  if (rows.size() < 2) return st;
  const std::vector<uint32_t> na = detail::exact_knn(state.input, rows, k, threads);
  const std::vector<uint32_t> nb = detail::exact_knn(other.input, rows, k, threads);
  std::vector<std::vector<double>> by_bin;
  for (size_t i = 0; i < rows.size(); ++i) {
    const uint32_t* la = &na[i * k];
    const uint32_t* lb = &nb[i * k];
    size_t have = 0, shared = 0;
    for (size_t j = 0; j < k; ++j) {
      if (la[j] == detail::kNoNeighbor) continue;
      ++have;
      for (size_t m = 0; m < k; ++m) shared += lb[m] == la[j];
    }
    if (have == 0) continue;
    const double overlap = static_cast<double>(shared) / static_cast<double>(have);
    st.per_row[rows[i]] = overlap;
    ++st.rows_compared;
    const uint64_t u = state.input_updates[rows[i]];
    const size_t bin = u == 0 ? 0 : static_cast<size_t>(std::bit_width(u));
    if (by_bin.size() <= bin) by_bin.resize(bin + 1);
    by_bin[bin].push_back(overlap);
  }
  for (size_t b = 0; b < by_bin.size(); ++b) {
    if (by_bin[b].empty()) continue;
    StabilityBin sb;
    sb.lo = b == 0 ? 0 : uint64_t{1} << (b - 1);
    sb.hi = b == 0 ? 0 : (b >= 64 ? UINT64_MAX : (uint64_t{1} << b) - 1);
    sb.rows = by_bin[b].size();
    double sum = 0;
    for (double v : by_bin[b]) sum += v;
    sb.mean = sum / static_cast<double>(sb.rows);
    sb.median = median_of(by_bin[b]);
    if (sb.rows >= kStabilityMinBinRows) st.plateau = std::max(st.plateau, sb.median);
    st.bins.push_back(sb);
  }
  st.needed = level * st.plateau;
  if (st.plateau > 0) {
    for (const StabilityBin& sb : st.bins) {
      if (sb.rows >= kStabilityMinBinRows && sb.median >= st.needed) {
        st.threshold = sb.lo;
        break;
      }
    }
  }
  return st;
}

}  // namespace tokvec
