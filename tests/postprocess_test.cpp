// export --postprocess (center, all-but-the-top) and CSLS neighbours, on planted data.
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "tokvec/postprocess.h"
#include "tokvec/status.h"

namespace tokvec {
namespace {

/// 400 rows of dim 8: a common offset (the cone), a strong direction u, a weaker v, noise.
Embeddings planted(std::vector<double>& u, std::vector<double>& v) {
  const uint32_t dim = 8;
  u = {0.5, 0.5, 0.5, 0.5, 0, 0, 0, 0};
  v = {0, 0, 0, 0, 0.5, -0.5, 0.5, -0.5};
  Embeddings e;
  e.dim = dim;
  std::mt19937 rng(3);
  std::normal_distribution<double> g(0.0, 1.0);
  for (int r = 0; r < 400; ++r) {
    e.words.push_back("w" + std::to_string(r));
    const double a = 5 * g(rng), b = 2 * g(rng);
    for (uint32_t i = 0; i < dim; ++i) e.data.push_back(static_cast<float>(3.0 + a * u[i] + b * v[i] + 0.1 * g(rng)));
  }
  return e;
}

std::vector<double> column_means(const Embeddings& e) {
  std::vector<double> m(e.dim, 0.0);
  for (size_t r = 0; r < e.size(); ++r)
    for (uint32_t i = 0; i < e.dim; ++i) m[i] += e.row(r)[i];
  for (double& x : m) x /= static_cast<double>(e.size());
  return m;
}

TEST(Postprocess, ParsesItsSettings) {
  EXPECT_EQ(Postprocess::parse("center", 100).kind, Postprocess::Kind::center);
  EXPECT_EQ(Postprocess::parse("abtt", 100).components, 1u);
  EXPECT_EQ(Postprocess::parse("abtt", 300).components, 3u);
  EXPECT_EQ(Postprocess::parse("abtt:7", 100).components, 7u);
  for (const char* bad : {"", "abt", "abtt:", "abtt:0", "abtt:100", "abtt:x", "abttt", "centre"}) {
    try {
      Postprocess::parse(bad, 100);
      ADD_FAILURE() << bad;
    } catch (const Error& err) {
      EXPECT_EQ(err.kind(), ErrorKind::usage);
      EXPECT_NE(std::string(err.what()).find("postprocess"), std::string::npos) << err.what();
    }
  }
}

TEST(Postprocess, CenterRemovesTheMean) {
  std::vector<double> u, v;
  Embeddings e = planted(u, v);
  const PostprocessResult r = postprocess(e, Postprocess::parse("center", e.dim));
  ASSERT_EQ(r.mean.size(), e.dim);
  EXPECT_NEAR(r.mean[0], 3.0, 0.5);
  for (float x : e.data) ASSERT_TRUE(std::isfinite(x));
  for (double m : column_means(e)) EXPECT_NEAR(m, 0.0, 1e-5);
}

TEST(Postprocess, AllButTheTopRemovesTheMeanAndTheTopDirections) {
  std::vector<double> u, v;
  Embeddings e = planted(u, v);
  const PostprocessResult r = postprocess(e, Postprocess::parse("abtt:2", e.dim));
  ASSERT_EQ(r.directions.size(), 2u);
  // The planted directions, strongest first (up to sign).
  auto dot = [](const std::vector<double>& a, const std::vector<double>& b) {
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
  };
  EXPECT_NEAR(std::abs(dot(r.directions[0], u)), 1.0, 1e-3);
  EXPECT_NEAR(std::abs(dot(r.directions[1], v)), 1.0, 1e-3);
  EXPECT_NEAR(dot(r.directions[0], r.directions[1]), 0.0, 1e-9);
  for (float x : e.data) ASSERT_TRUE(std::isfinite(x));
  for (double m : column_means(e)) EXPECT_NEAR(m, 0.0, 1e-5);
  // Every output is orthogonal to the removed directions.
  for (size_t row = 0; row < e.size(); ++row) {
    const std::vector<double> x(e.row(row), e.row(row) + e.dim);
    for (const auto& d : r.directions) ASSERT_NEAR(dot(x, d), 0.0, 1e-5) << "row " << row;
  }
  // What is left is the noise: about 0.1 per coordinate.
  double sq = 0;
  for (float x : e.data) sq += static_cast<double>(x) * x;
  EXPECT_LT(std::sqrt(sq / static_cast<double>(e.data.size())), 0.15);
}

TEST(Csls, APlantedHubDropsBelowARowThatIsNearOnlyToTheQuery) {
  // dim 2, angles in degrees: the query at 0; "hub" at 10 sits next to a crowd of rows at
  // 12-17 (its mean cosine to its 3 nearest is 0.998); "loner" at -14 is further from the
  // query by cosine but alone on its side (0.93), so CSLS puts it first.
  Embeddings e;
  e.dim = 2;
  auto add = [&](const std::string& w, double deg) {
    e.words.push_back(w);
    e.data.push_back(static_cast<float>(std::cos(deg * M_PI / 180)));
    e.data.push_back(static_cast<float>(std::sin(deg * M_PI / 180)));
  };
  add("query", 0);
  add("hub", 10);
  add("loner", -14);
  for (int i = 0; i < 6; ++i) add("crowd" + std::to_string(i), 12 + i);
  add("far", -90);
  const std::vector<float> unit = unit_rows(e);
  const std::vector<Neighbor> plain = nearest(e, unit, e.row(0), 2, 0);
  ASSERT_EQ(plain.size(), 2u);
  EXPECT_EQ(plain[0].word, "hub");
  const std::vector<Neighbor> csls = nearest_csls(e, unit, e.row(0), 2, 0, {}, /*k_hub=*/3);
  ASSERT_EQ(csls.size(), 2u);
  // The formula: 2 cos(q, y) - r(y), r the mean cosine to the 3 nearest other rows.
  const double r_hub = csls_penalty(e, unit, 1, 3), r_loner = csls_penalty(e, unit, 2, 3);
  const double s_hub = 2 * std::cos(10 * M_PI / 180) - r_hub, s_loner = 2 * std::cos(14 * M_PI / 180) - r_loner;
  ASSERT_GT(s_loner, s_hub);
  EXPECT_EQ(csls[0].word, "loner");
  EXPECT_NEAR(csls[0].cosine, std::cos(14 * M_PI / 180), 1e-6);  // the plain cosine is reported
  EXPECT_EQ(csls[1].word, "hub");
  // r of the hub: its three nearest (crowd at 12, 13, 14 degrees).
  EXPECT_NEAR(r_hub, (std::cos(2 * M_PI / 180) + std::cos(3 * M_PI / 180) + std::cos(4 * M_PI / 180)) / 3, 1e-6);
}

}  // namespace
}  // namespace tokvec
