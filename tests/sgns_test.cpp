#include "tokvec/sgns.h"

#include <gtest/gtest.h>

#include <algorithm>
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

/// The trainer hands the kernel some rows as its own copies (hot rows): a step on rows
/// given by address must do exactly what the step by id does on the matrices, wherever
/// each row lives. T = 6 runs the AVX-512 kernel where the CPU has it, T = 10 the portable.
TEST(Sgns, StepOnCopiedRowsEqualsTheStepById) {
  for (const std::vector<uint32_t>& targets : {std::vector<uint32_t>{4, 5, 6, 5, 7, 8},
                                               std::vector<uint32_t>{3, 4, 5, 6, 7, 8, 9, 10, 11, 4}}) {
    const std::vector<uint32_t> inputs = {0, 1, 0, 2};
    const size_t dim = 37;
    Matrix in(12, dim), out(12, dim);
    fill_random(in, 3, 0.5f);
    fill_random(out, 4, 0.5f);
    // Rows 0 and 5 are "hot": the by-address step uses copies of them, elsewhere.
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
