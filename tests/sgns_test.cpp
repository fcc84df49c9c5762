#include "sgns/sgns.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "sgns/sampler.h"
#include "sgns/sgns_detail.h"
#include "tokvec/simd.h"

namespace tokvec {
namespace {

void fill_random(Matrix& m, uint64_t seed, float scale) {
  Rng rng(seed, 0);
  for (size_t r = 0; r < m.rows(); ++r) {
    for (size_t j = 0; j < m.cols(); ++j) m.row(r)[j] = (rng.uniform() - 0.5f) * 2 * scale;
  }
}

/// Central finite difference of sgns_loss with respect to one weight.
double numeric_grad(Matrix& m, size_t r, size_t j, const Matrix& in, const Matrix& out, std::span<const uint32_t> inputs,
                    std::span<const uint32_t> targets) {
  const float h = 1e-2f;
  float saved = m.row(r)[j];
  m.row(r)[j] = saved + h;
  double up = sgns_loss(in, out, inputs, targets);
  m.row(r)[j] = saved - h;
  double down = sgns_loss(in, out, inputs, targets);
  m.row(r)[j] = saved;
  return (up - down) / (2.0 * h);
}

/// One step of size lr moves every weight by -lr ∂L/∂w (up to the sigmoid table's error and,
/// for repeated rows, O(lr²)). Checked for every weight of every row the step touches.
void check_gradient(const std::vector<uint32_t>& inputs, const std::vector<uint32_t>& targets, bool hogbatch, size_t dim) {
  const size_t rows = 12;
  Matrix in(rows, dim), out(rows, dim);
  fill_random(in, 1, 0.5f);
  fill_random(out, 2, 0.5f);
  const Matrix in0 = in, out0 = out;
  SigmoidTable table;
  SgnsScratch scratch(inputs.size(), targets.size(), dim);
  const float lr = 1e-3f;
  double loss;
  if (hogbatch) {
    loss = hogbatch_step(in, out, inputs, targets, lr, table, scratch);
  } else {
    ASSERT_EQ(inputs.size(), 1u);
    loss = pair_step(in, out, inputs[0], targets, lr, table, scratch);
  }
  EXPECT_NEAR(loss, sgns_loss(in0, out0, inputs, targets), 2e-3 * static_cast<double>(inputs.size() * targets.size()));
  Matrix a = in0, b = out0;
  for (size_t r = 0; r < rows; ++r) {
    for (size_t j = 0; j < dim; ++j) {
      double g_in = numeric_grad(a, r, j, a, b, inputs, targets);
      double g_out = numeric_grad(b, r, j, a, b, inputs, targets);
      double step_in = (in.row(r)[j] - in0.row(r)[j]) / -lr;
      double step_out = (out.row(r)[j] - out0.row(r)[j]) / -lr;
      EXPECT_NEAR(step_in, g_in, 2e-3 + 1e-2 * std::fabs(g_in)) << "input row " << r << " col " << j;
      EXPECT_NEAR(step_out, g_out, 2e-3 + 1e-2 * std::fabs(g_out)) << "output row " << r << " col " << j;
    }
    for (size_t j = dim; j < in.stride(); ++j) {
      EXPECT_EQ(in.row(r)[j], 0.0f);
      EXPECT_EQ(out.row(r)[j], 0.0f);
    }
  }
}

/// Runs `check` once on every SIMD path this CPU can run (scalar included).
template <class F>
void on_every_path(F check) {
  for (simd::Path p : simd::runnable_paths()) {
    SCOPED_TRACE(std::string("SIMD path ") + simd::name(p));
    simd::ScopedPath path(p);
    check();
  }
}

TEST(Sgns, HogBatchStepFollowsTheLossGradient) {
  on_every_path([] { check_gradient({0, 1, 2, 3}, {4, 5, 6}, true, 20); });
}

TEST(Sgns, HogBatchStepWithRepeatedRowsAddsTheirUpdates) {
  on_every_path([] { check_gradient({0, 1, 0, 2}, {3, 5, 5, 7, 3 + 4}, true, 37); });
}

TEST(Sgns, GenericKernelFollowsTheLossGradient) {
  // T = 10 has no kernel specialised for its size: this runs the generic one.
  on_every_path([] { check_gradient({0, 1, 2}, {3, 4, 5, 6, 7, 8, 9, 10, 11, 4}, true, 20); });
}

TEST(Sgns, SpecialisedKernelsFollowTheLossGradient) {
  // Two input rows at a time in the score pass, and an odd one left; 16 targets hold more
  // vectors than AVX2 has registers.
  on_every_path([] {
    check_gradient({0, 1, 2}, {3, 4, 5, 6, 7, 8, 9, 10, 11}, true, 20);
    check_gradient({0, 1, 2, 3, 4}, {5, 6, 7, 8, 9, 10, 11, 5, 6, 7, 8, 9, 10, 11, 6, 7}, true, 20);
  });
}

/// The trainer calls the kernel with row addresses (hogbatch_step_rows): a step on rows
/// given by address must do exactly what the step by id does on the matrices, wherever
/// each row lives (here two of them are copies held outside the matrices). T = 6 runs a
/// kernel specialised for its size, T = 10 the generic one.
TEST(Sgns, StepOnCopiedRowsEqualsTheStepById) {
  on_every_path([] {
  for (const std::vector<uint32_t>& targets : {std::vector<uint32_t>{4, 5, 6, 5, 7, 8},
                                               std::vector<uint32_t>{3, 4, 5, 6, 7, 8, 9, 10, 11, 4}}) {
    const std::vector<uint32_t> inputs = {0, 1, 0, 2};
    const size_t dim = 37;
    Matrix in(12, dim), out(12, dim);
    fill_random(in, 3, 0.5f);
    fill_random(out, 4, 0.5f);
    // Rows 0 and 5: the by-address step uses copies of them, elsewhere.
    Matrix in_copy = in, out_copy = out;
    Matrix hot_in(1, dim), hot_out(1, dim);
    std::copy_n(in.row(0), in.stride(), hot_in.row(0));
    std::copy_n(out.row(5), out.stride(), hot_out.row(0));
    std::vector<float*> xs, us;
    for (uint32_t id : inputs) xs.push_back(id == 0 ? hot_in.row(0) : in_copy.row(id));
    for (uint32_t id : targets) us.push_back(id == 5 ? hot_out.row(0) : out_copy.row(id));
    SigmoidTable table;
    SgnsScratch scratch(inputs.size(), targets.size(), dim);
    const double by_id = hogbatch_step(in, out, inputs, targets, 0.05f, table, scratch);
    const double by_address = hogbatch_step_rows(xs, us, in.stride(), 0.05f, table, scratch);
    EXPECT_EQ(by_id, by_address);
    std::copy_n(hot_in.row(0), in.stride(), in_copy.row(0));
    std::copy_n(hot_out.row(0), out.stride(), out_copy.row(5));
    for (size_t r = 0; r < 12; ++r) {
      for (size_t j = 0; j < in.stride(); ++j) {
        ASSERT_EQ(in.row(r)[j], in_copy.row(r)[j]) << "input row " << r << " col " << j << ", T " << targets.size();
        ASSERT_EQ(out.row(r)[j], out_copy.row(r)[j]) << "output row " << r << " col " << j << ", T " << targets.size();
      }
    }
  }
  });
}

TEST(Sgns, PairStepFollowsTheLossGradient) {
  on_every_path([] { check_gradient({0}, {1, 2, 3, 4, 5, 6}, false, 20); });
}

/// The SIMD paths against the scalar reference, one step at a time, over window sizes
/// B = 1..10, every T = 2..17 (specialised and generic kernels), dimensions with and
/// without padding, repeated rows, and large scores (the sigmoid table's saturation).
///
/// Tolerance: 1e-4 per weight and 1e-4 relative on the loss, for steps of about 1e-2. The
/// paths sum the dot products in a different order and fuse multiply-adds, so a score
/// differs by a few float roundings (~1e-6 here); where that moves it across a boundary of
/// the sigmoid table (step 16/8192), σ changes by up to 0.25 · 16/8192 ≈ 5e-4 and the step by
/// lr · 5e-4 · |row| ≈ 1.2e-5. Anything beyond 1e-4 is a kernel bug, not rounding.
TEST(Sgns, EverySimdPathMatchesTheScalarKernel) {
  const std::vector<simd::Path> paths = simd::runnable_paths();
  if (paths.size() < 2) GTEST_SKIP() << "this CPU runs only the scalar path";
  Rng pick(11, 0);
  double worst = 0.0;
  for (size_t dim : {size_t{16}, size_t{37}, size_t{100}, size_t{300}}) {
    for (size_t T = 2; T <= 17; ++T) {
      for (size_t B = 1; B <= 10; ++B) {
        const size_t rows = 24;
        Matrix in(rows, dim), out(rows, dim);
        // Large rows at dim 300 push scores past ±8, into the table's saturated ends.
        fill_random(in, 100 + dim * 31 + T * 7 + B, dim == 300 ? 1.0f : 0.5f);
        fill_random(out, 200 + dim * 31 + T * 7 + B, 0.5f);
        std::vector<uint32_t> inputs(B), targets(T);
        for (uint32_t& x : inputs) x = static_cast<uint32_t>(pick.below(rows));  // repeats happen
        for (uint32_t& t : targets) t = static_cast<uint32_t>(pick.below(rows));
        SigmoidTable table;
        SgnsScratch scratch(B, T, dim);
        const float lr = 0.05f;
        Matrix ref_in = in, ref_out = out;
        double ref_loss, ref_pair_loss;
        Matrix ref_pair_in = in, ref_pair_out = out;
        {
          simd::ScopedPath scalar(simd::Path::scalar);
          ref_loss = hogbatch_step(ref_in, ref_out, inputs, targets, lr, table, scratch);
          ref_pair_loss = pair_step(ref_pair_in, ref_pair_out, inputs[0], targets, lr, table, scratch);
        }
        for (simd::Path p : paths) {
          if (p == simd::Path::scalar) continue;
          simd::ScopedPath path(p);
          Matrix a_in = in, a_out = out, p_in = in, p_out = out;
          const double loss = hogbatch_step(a_in, a_out, inputs, targets, lr, table, scratch);
          const double pair_loss = pair_step(p_in, p_out, inputs[0], targets, lr, table, scratch);
          const std::string where = std::string(simd::name(p)) + " dim " + std::to_string(dim) + " T " +
                                    std::to_string(T) + " B " + std::to_string(B);
          ASSERT_NEAR(loss, ref_loss, 1e-4 * std::fabs(ref_loss)) << where;
          ASSERT_NEAR(pair_loss, ref_pair_loss, 1e-4 * std::fabs(ref_pair_loss)) << where;
          for (size_t r = 0; r < rows; ++r) {
            for (size_t j = 0; j < in.stride(); ++j) {
              for (auto [got, want] : {std::pair{a_in.row(r)[j], ref_in.row(r)[j]}, {a_out.row(r)[j], ref_out.row(r)[j]},
                                       {p_in.row(r)[j], ref_pair_in.row(r)[j]}, {p_out.row(r)[j], ref_pair_out.row(r)[j]}}) {
                if (j >= dim) {
                  ASSERT_EQ(got, 0.0f) << where << ": padding";
                }
                worst = std::max(worst, static_cast<double>(std::fabs(got - want)));
                ASSERT_NEAR(got, want, 1e-4) << where << " row " << r << " col " << j;
              }
            }
          }
        }
      }
    }
  }
  std::printf("largest difference from the scalar kernel: %.3g\n", worst);
}

/// The SIMD paths' score-to-gradient conversion (vector gathers from the sigmoid tables)
/// against the scalar one: G bit for bit, for every B x T shape (full vectors, a partial
/// last one, T above and below the vector width, so the positive column falls on every
/// lane), on scores at the table's slot boundaries, its clamps, NaN and ±inf. Only the
/// loss's sum runs in another order: equal within 1e-12, or the same NaN / inf.
TEST(Sgns, EverySimdPathConvertsScoresLikeTheScalarCode) {
  const std::vector<simd::Path> paths = simd::runnable_paths();
  if (paths.size() < 2) GTEST_SKIP() << "this CPU runs only the scalar path";
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> pool = {0.0f, -0.0f, 8.0f, -8.0f, std::nextafter(8.0f, 0.0f), std::nextafter(-8.0f, 0.0f),
                             std::nextafter(8.0f, 9.0f), std::nextafter(-8.0f, -9.0f), 1e30f, -1e30f, 3e38f, -3e38f};
  // Scores where (z + 8)·512 + 0.5 lands on a whole number, and one float either side.
  for (int k = -4; k <= 4; ++k) {
    const float edge = (static_cast<float>(4096 + 37 * k) - 0.5f) / 512.0f - 8.0f;
    pool.insert(pool.end(), {edge, std::nextafter(edge, -9.0f), std::nextafter(edge, 9.0f)});
  }
  Rng rng(5, 0);
  for (int k = 0; k < 64; ++k) pool.push_back((rng.uniform() - 0.5f) * 24.0f);
  const SigmoidTable table;
  const float lr = 0.025f;
  for (bool special : {false, true}) {
    for (size_t T = 2; T <= 17; ++T) {
      for (size_t B = 1; B <= 12; ++B) {
        // The scratch past B x T (whole vectors) holds NaN: converted, but never in the loss.
        std::vector<float> scores(hogbatch_scores_floats(B, T), nan);
        for (size_t i = 0; i < B * T; ++i) scores[i] = pool[(i * 7 + B * 3 + T) % pool.size()];
        if (special) scores[(B * T) / 2] = (B % 2) ? nan : ((B % 4) ? inf : -inf);
        std::vector<float> want = scores;
        const double want_loss = detail::scores_to_gradients(want.data(), B, T, lr, table);
        for (simd::Path p : paths) {
          if (p == simd::Path::scalar) continue;
          const detail::GradientKernel kernel = detail::sgns_kernels(p, 16).gradients;
          std::vector<float> got = scores;
          const double loss = kernel(got.data(), B, T, lr, table);
          const std::string where = std::string(simd::name(p)) + " T " + std::to_string(T) + " B " + std::to_string(B);
          for (size_t i = 0; i < B * T; ++i) {
            ASSERT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>(want[i]))
                << where << " score " << scores[i] << " at " << i << ": " << got[i] << " against " << want[i];
          }
          if (std::isnan(want_loss)) {
            ASSERT_TRUE(std::isnan(loss)) << where;
          } else if (std::isinf(want_loss)) {
            ASSERT_EQ(loss, want_loss) << where;
          } else {
            ASSERT_NEAR(loss, want_loss, 1e-12 * std::fabs(want_loss)) << where;
          }
        }
      }
    }
  }
}

TEST(Sgns, SigmoidTableIsCloseToTheFunction) {
  SigmoidTable t;
  for (float z = -10.0f; z <= 10.0f; z += 0.0137f) {
    double exact = 1.0 / (1.0 + std::exp(-static_cast<double>(z)));
    EXPECT_NEAR(t.sigmoid(z), exact, 3e-4) << z;
    EXPECT_NEAR(t.neg_log_sigmoid(z), std::log1p(std::exp(-static_cast<double>(z))), z < 8 ? 1e-3 : 1e-2) << z;
  }
}

TEST(Sgns, SigmoidTableTakesAnyFloat) {
  SigmoidTable t;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  // Before the table clamped NaN, its index was a NaN converted to int (undefined: under
  // UBSan a report, in Release a read far outside the table).
  EXPECT_TRUE(std::isfinite(t.sigmoid(nan)));
  EXPECT_TRUE(std::isnan(t.neg_log_sigmoid(nan)));  // the trainer sees the divergence in the loss
  EXPECT_FLOAT_EQ(t.sigmoid(inf), t.sigmoid(8.0f));
  EXPECT_FLOAT_EQ(t.sigmoid(-inf), t.sigmoid(-8.0f));
  EXPECT_EQ(t.neg_log_sigmoid(-inf), inf);
  EXPECT_FLOAT_EQ(t.neg_log_sigmoid(inf), t.neg_log_sigmoid(8.0f));
  EXPECT_FLOAT_EQ(t.sigmoid(1e30f), t.sigmoid(8.0f));
  EXPECT_FLOAT_EQ(t.neg_log_sigmoid(-1e30f), 1e30f);
}

/// Both kernels (and the AVX-512 one where the CPU has it) on rows holding NaN and
/// huge values: no crash, no out-of-bounds read (ASan/UBSan), and a non-finite loss from
/// non-finite weights.
TEST(Sgns, KernelsSurviveNonFiniteWeights) {
  const size_t dim = 16;
  for (bool hogbatch : {true, false}) {
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(), 3e38f}) {
      Matrix in(8, dim), out(8, dim);
      fill_random(in, 1, 0.5f);
      fill_random(out, 2, 0.5f);
      for (size_t j = 0; j < dim; ++j) in.row(1)[j] = bad;
      out.row(2)[0] = bad;
      const std::vector<uint32_t> inputs = hogbatch ? std::vector<uint32_t>{0, 1, 3} : std::vector<uint32_t>{1};
      const std::vector<uint32_t> targets = {2, 4, 5, 6, 7, 2};
      SigmoidTable table;
      SgnsScratch scratch(inputs.size(), targets.size(), dim);
      double loss = hogbatch ? hogbatch_step(in, out, inputs, targets, 1.0f, table, scratch)
                             : pair_step(in, out, inputs[0], targets, 1.0f, table, scratch);
      if (!std::isfinite(bad)) {
        EXPECT_FALSE(std::isfinite(loss)) << (hogbatch ? "hogbatch " : "pair ") << bad;
      }
    }
  }
}

}  // namespace
}  // namespace tokvec
