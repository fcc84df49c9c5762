#include "tokvec/sgns.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tokvec/sampler.h"

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

TEST(Sgns, HogBatchStepFollowsTheLossGradient) {
  check_gradient({0, 1, 2, 3}, {4, 5, 6}, true, 20);
}

TEST(Sgns, HogBatchStepWithRepeatedRowsAddsTheirUpdates) {
  check_gradient({0, 1, 0, 2}, {3, 5, 5, 7, 3 + 4}, true, 37);
}

TEST(Sgns, PortableKernelFollowsTheLossGradient) {
  // T = 10 has no specialised AVX-512 kernel: this runs the portable one.
  check_gradient({0, 1, 2}, {3, 4, 5, 6, 7, 8, 9, 10, 11, 4}, true, 20);
}

TEST(Sgns, PairStepFollowsTheLossGradient) {
  check_gradient({0}, {1, 2, 3, 4, 5, 6}, false, 20);
}

TEST(Sgns, SigmoidTableIsCloseToTheFunction) {
  SigmoidTable t;
  for (float z = -10.0f; z <= 10.0f; z += 0.0137f) {
    double exact = 1.0 / (1.0 + std::exp(-static_cast<double>(z)));
    EXPECT_NEAR(t.sigmoid(z), exact, 3e-4) << z;
    EXPECT_NEAR(t.neg_log_sigmoid(z), std::log1p(std::exp(-static_cast<double>(z))), z < 8 ? 1e-3 : 1e-2) << z;
  }
}

}  // namespace
}  // namespace tokvec
