#include "sgns/sampler.h"

#include <cmath>

#include "tokvec/status.h"

namespace tokvec {

NegativeSampler::NegativeSampler(std::span<const uint64_t> counts, double power) : size_(counts.size()) {
  if (counts.empty() || counts.size() > UINT32_MAX) throw internal_error("negative sampler: bad vocabulary size");
  // Vose's construction of the alias table: scaled probabilities n p_i; columns below 1
  // ("small") are topped up by one column above 1 ("large").
  const size_t n = counts.size();
  std::vector<double> scaled(n);
  double total = 0;
  for (size_t i = 0; i < n; ++i) total += scaled[i] = std::pow(static_cast<double>(counts[i]), power);
  if (!(total > 0)) throw internal_error("negative sampler: all counts are zero");
  for (double& s : scaled) s = s * static_cast<double>(n) / total;
  table_.assign(n, Entry{UINT32_MAX, 0});
  std::vector<uint32_t> small, large;
  for (size_t i = 0; i < n; ++i) (scaled[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
  while (!small.empty() && !large.empty()) {
    uint32_t s = small.back();
    small.pop_back();
    uint32_t l = large.back();
    table_[s].threshold = static_cast<uint32_t>(std::min(4294967295.0, std::floor(scaled[s] * 4294967296.0)));
    table_[s].alias = l;
    scaled[l] -= 1.0 - scaled[s];
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  // Leftovers are 1 up to rounding: always keep their own id.
  for (uint32_t i : small) table_[i] = {UINT32_MAX, i};
  for (uint32_t i : large) table_[i] = {UINT32_MAX, i};
}

double NegativeSampler::probability(uint32_t id) const {
  // Column j returns its own id with probability threshold/2^32, else its alias; an entry
  // of UINT32_MAX means "always its own id" (the draw compares with <, so count it as 1).
  double p = 0;
  for (size_t j = 0; j < size_; ++j) {
    double own = table_[j].threshold == UINT32_MAX ? 1.0 : table_[j].threshold / 4294967296.0;
    if (j == id) p += own;
    if (table_[j].alias == id && table_[j].threshold != UINT32_MAX) p += 1.0 - own;
  }
  return p / static_cast<double>(size_);
}

double Subsampler::keep_probability(uint64_t count, uint64_t total, double sample) {
  if (sample <= 0 || count == 0) return 1.0;
  double tn = sample * static_cast<double>(total);
  double f = static_cast<double>(count);
  return std::min(1.0, (std::sqrt(f / tn) + 1.0) * tn / f);
}

Subsampler::Subsampler(std::span<const uint64_t> counts, double sample) : threshold_(counts.size(), UINT32_MAX) {
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  for (size_t i = 0; i < counts.size(); ++i) {
    double p = keep_probability(counts[i], total, sample);
    if (p < 1.0) {
      threshold_[i] = static_cast<uint32_t>(std::floor(p * 4294967296.0));
      keeps_all_ = false;
    }
  }
}

}  // namespace tokvec
