#include "sgns/sampler.h"

#include <gtest/gtest.h>

#include <cmath>

namespace tokvec {
namespace {

TEST(Rng, StreamsAreReproducibleAndDistinct) {
  Rng a(7, 0), b(7, 0), c(7, 1), d(8, 0);
  uint64_t x = a.next();
  EXPECT_EQ(x, b.next());
  EXPECT_NE(x, c.next());
  EXPECT_NE(x, d.next());
  Rng r(1, 2);
  for (int i = 0; i < 10000; ++i) {
    EXPECT_LT(r.below(7), 7u);
    float u = r.uniform();
    EXPECT_GE(u, 0.0f);
    EXPECT_LT(u, 1.0f);
  }
}

TEST(NegativeSampler, ProbabilitiesFollowUnigramToThe075) {
  std::vector<uint64_t> counts = {100000, 20000, 5000, 700, 30, 1, 0};
  NegativeSampler s(counts);
  double z = 0;
  for (uint64_t c : counts) z += std::pow(static_cast<double>(c), 0.75);
  for (uint32_t i = 0; i < counts.size(); ++i) {
    EXPECT_NEAR(s.probability(i), std::pow(static_cast<double>(counts[i]), 0.75) / z, 1e-6) << "id " << i;
  }
  // Draws: each frequency within 5 standard deviations of its probability.
  const int n = 2000000;
  std::vector<int> seen(counts.size(), 0);
  Rng rng(42, 0);
  for (int i = 0; i < n; ++i) ++seen[s.draw(rng)];
  for (uint32_t i = 0; i < counts.size(); ++i) {
    double p = std::pow(static_cast<double>(counts[i]), 0.75) / z;
    double sd = std::sqrt(n * p * (1 - p));
    EXPECT_NEAR(seen[i], n * p, 5 * sd + 1) << "id " << i;
  }
  EXPECT_EQ(seen[6], 0);
}

TEST(Subsampler, KeepRatesMatchWord2vecFormula) {
  // Total 1e6 tokens, t = 1e-3: t·N = 1000.
  std::vector<uint64_t> counts = {500000, 100000, 10000, 1000, 100, 389900};
  const double t = 1e-3;
  Subsampler s(counts, t);
  EXPECT_FALSE(s.keeps_all());
  EXPECT_NEAR(Subsampler::keep_probability(100000, 1000000, t), (std::sqrt(100.0) + 1) / 100.0, 1e-12);
  EXPECT_EQ(Subsampler::keep_probability(100, 1000000, t), 1.0);
  EXPECT_EQ(Subsampler::keep_probability(5, 1000000, 0.0), 1.0);
  Rng rng(3, 0);
  const int n = 400000;
  for (uint32_t id = 0; id < 5; ++id) {
    int kept = 0;
    for (int i = 0; i < n; ++i) kept += s.keep(id, rng);
    double p = Subsampler::keep_probability(counts[id], 1000000, t);
    double sd = std::sqrt(n * p * (1 - p));
    EXPECT_NEAR(kept, n * p, 5 * sd + 1) << "id " << id;
  }
  Subsampler off(counts, 0.0);
  EXPECT_TRUE(off.keeps_all());
  for (uint32_t id = 0; id < counts.size(); ++id) EXPECT_TRUE(off.keep(id, rng));
}

}  // namespace
}  // namespace tokvec
