#include "sgns/subword.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <cstring>
#include <fstream>
#include <memory>

#include "test_util.h"
#include "tokvec/checkpoint.h"
#include "tokvec/trainer.h"

#include "sgns/sampler.h"
#include "sgns/sgns_detail.h"
#include "tokvec/simd.h"

namespace tokvec {
namespace {

/// "▁cat" and "s" built up by merges: 257 = ▁c, 258 = ▁ca, 259 = ▁cat, 260 = ts... ids
/// from the fixed alphabet (257 symbols) on.
BpeModel cat_model() {
  return BpeModel::from_parts({}, {{kBpeMarkerId, 'c'},                 // 257 ▁c
                                   {kBpeFixedAlphabet, 'a'},            // 258 ▁ca
                                   {kBpeFixedAlphabet + 1, 't'},        // 259 ▁cat
                                   {kBpeFixedAlphabet + 2, 's'},        // 260 ▁cats
                                   {kBpeMarkerId, 'd'},                 // 261 ▁d
                                   {kBpeFixedAlphabet + 4, 'o'},        // 262 ▁do
                                   {kBpeFixedAlphabet + 5, 'g'}});      // 263 ▁dog
}

TEST(SubwordMap, PiecesAncestorsAndOwnRows) {
  const BpeModel model = cat_model();
  const std::vector<std::string> words = {"cat", "cats", "dogs"};
  const std::vector<uint64_t> counts = {10, 3, 1};
  const uint32_t W = 3;
  SubwordConfig plain;
  plain.ancestors = false;
  plain.own_min_count = 0;
  SubwordMap m = SubwordMap::build(model, words, counts, plain);
  EXPECT_EQ(m.words(), W);
  EXPECT_EQ(m.rows(), W + model.vocab_size());
  EXPECT_EQ(std::vector<uint32_t>(m.rows_of(0).begin(), m.rows_of(0).end()), (std::vector<uint32_t>{W + 259}));
  EXPECT_EQ(std::vector<uint32_t>(m.rows_of(1).begin(), m.rows_of(1).end()), (std::vector<uint32_t>{W + 260}));
  // "dogs": ▁dog + the byte s.
  EXPECT_EQ(std::vector<uint32_t>(m.rows_of(2).begin(), m.rows_of(2).end()), (std::vector<uint32_t>{W + 's', W + 263}));

  SubwordConfig anc;
  anc.ancestors = true;
  anc.own_min_count = 3;
  m = SubwordMap::build(model, words, counts, anc);
  // cat: its own row (count 10 >= 3), ▁cat and the merges it came from, ▁ca and ▁c.
  EXPECT_EQ(std::vector<uint32_t>(m.rows_of(0).begin(), m.rows_of(0).end()),
            (std::vector<uint32_t>{0, W + 257, W + 258, W + 259}));
  EXPECT_EQ(std::vector<uint32_t>(m.rows_of(1).begin(), m.rows_of(1).end()),
            (std::vector<uint32_t>{1, W + 257, W + 258, W + 259, W + 260}));
  // dogs: no own row (count 1 < 3); single bytes are never ancestors.
  EXPECT_EQ(std::vector<uint32_t>(m.rows_of(2).begin(), m.rows_of(2).end()),
            (std::vector<uint32_t>{W + 's', W + 261, W + 262, W + 263}));
  EXPECT_EQ(m.max_rows(), 5u);
  // An unseen word gets the same pieces and ancestors, without an own row.
  EXPECT_EQ(subword_rows(model, "cats", W, anc), (std::vector<uint32_t>{W + 257, W + 258, W + 259, W + 260}));
}


/// Column j of word w's composition of `m`'s rows (in double).
double composed(const Matrix& m, const SubwordMap& map, uint32_t w, size_t j) {
  const auto rows = map.rows_of(w);
  const SubwordWeights a = map.weights(w);
  double x = 0.0;
  for (size_t i = 0; i < rows.size(); ++i) x += (i == 0 ? a.first : a.rest) * m.row(rows[i])[j];
  return x;
}

/// The exact loss (double, no table) of input words composed by `map` against `targets`
/// (their own output rows, or with per-piece outputs composed as the inputs are).
double composed_loss(const Matrix& in, const Matrix& out, const SubwordMap& map, std::span<const uint32_t> inputs,
                     std::span<const uint32_t> targets) {
  const bool pieces = map.config().outputs == SubwordOutputs::pieces;
  double loss = 0.0;
  for (uint32_t w : inputs) {
    for (size_t t = 0; t < targets.size(); ++t) {
      double z = 0.0;
      for (size_t j = 0; j < in.cols(); ++j) {
        z += composed(in, map, w, j) * (pieces ? composed(out, map, targets[t], j) : out.row(targets[t])[j]);
      }
      loss += t == 0 ? std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
    }
  }
  return loss;
}

void check_composed_gradient(SubwordCompose compose, SubwordOutputs outputs = SubwordOutputs::words,
                             uint64_t piece_damping_count = 0) {
  const BpeModel model = cat_model();
  const std::vector<std::string> words = {"cat", "cats", "dogs", "dog"};
  const std::vector<uint64_t> counts = {10, 3, 1, 5};
  SubwordConfig cfg;
  cfg.compose = compose;
  cfg.piece_damping_count = piece_damping_count;
  cfg.ancestors = true;
  cfg.own_min_count = 3;
  cfg.outputs = outputs;
  const SubwordMap map = SubwordMap::build(model, words, counts, cfg);
  const size_t dim = 20;  // stride 32: the padding must stay zero
  Matrix in(map.rows(), dim), out(map.rows(), dim);
  Rng rng(7, 0);
  for (size_t r = 0; r < map.rows(); ++r) {
    for (size_t j = 0; j < dim; ++j) {
      in.row(r)[j] = (rng.uniform() - 0.5f) * 0.6f;
      out.row(r)[j] = (rng.uniform() - 0.5f) * 0.6f;
    }
  }
  // "cats" twice: its rows' updates add up. Targets: word 3 positive, then negatives.
  const std::vector<uint32_t> inputs = {1, 0, 2, 1};
  const std::vector<uint32_t> targets = {3, 0, 2};
  const Matrix in0 = in, out0 = out;
  SigmoidTable table;
  SubwordScratch scratch(inputs.size(), targets.size(), dim);
  const float lr = 1e-3f;
  const double loss = subword_step(in, out, map, inputs, targets, lr, table, scratch,
                                   detail::sgns_kernels(simd::Path::scalar, in.stride()).hogbatch);
  EXPECT_NEAR(loss, composed_loss(in0, out0, map, inputs, targets), 2e-3 * static_cast<double>(inputs.size() * targets.size()));
  Matrix a = in0, b = out0;
  auto numeric = [&](Matrix& m, size_t r, size_t j) {
    const float h = 1e-2f, saved = m.row(r)[j];
    m.row(r)[j] = saved + h;
    const double up = composed_loss(a, b, map, inputs, targets);
    m.row(r)[j] = saved - h;
    const double down = composed_loss(a, b, map, inputs, targets);
    m.row(r)[j] = saved;
    return (up - down) / (2.0 * h);
  };
  size_t touched = 0, touched_out = 0;
  for (size_t r = 0; r < map.rows(); ++r) {
    for (size_t j = 0; j < dim; ++j) {
      const double g_in = numeric(a, r, j), g_out = numeric(b, r, j);
      const double step_in = (in.row(r)[j] - in0.row(r)[j]) / -lr;
      const double step_out = (out.row(r)[j] - out0.row(r)[j]) / -lr;
      EXPECT_NEAR(step_in, g_in, 5e-3 + 5e-3 * std::abs(g_in)) << "input row " << r << " col " << j;
      EXPECT_NEAR(step_out, g_out, 5e-3 + 5e-3 * std::abs(g_out)) << "output row " << r << " col " << j;
      touched += step_in != 0.0;
      touched_out += step_out != 0.0 && r >= map.words();
    }
    for (size_t j = dim; j < in.stride(); ++j) ASSERT_EQ(in.row(r)[j], 0.0f) << "padding of row " << r;
    for (size_t j = dim; j < out.stride(); ++j) ASSERT_EQ(out.row(r)[j], 0.0f) << "padding of output row " << r;
  }
  EXPECT_GT(touched, 5 * dim);  // the step really moved the composed rows
  // Per-piece outputs move the targets' piece rows; per-word outputs never do.
  if (outputs == SubwordOutputs::pieces) {
    EXPECT_GT(touched_out, 3 * dim);
  } else {
    EXPECT_EQ(touched_out, 0u);
  }
}

TEST(SubwordStep, ComposedGradientMatchesFiniteDifferencesSum) { check_composed_gradient(SubwordCompose::sum); }
TEST(SubwordStep, ComposedGradientMatchesFiniteDifferencesMean) { check_composed_gradient(SubwordCompose::mean); }
TEST(SubwordStep, ComposedGradientMatchesFiniteDifferencesOwnPlusMean) {
  check_composed_gradient(SubwordCompose::own_plus_mean);
}
TEST(SubwordStep, ComposedGradientMatchesFiniteDifferencesOwnPlusScaled) {
  check_composed_gradient(SubwordCompose::own_plus_scaled);
}
// Per-piece outputs: the composed targets' gradient reaches every output row of R(w).
TEST(SubwordStep, ComposedTargetGradientMatchesFiniteDifferencesSum) {
  check_composed_gradient(SubwordCompose::sum, SubwordOutputs::pieces);
}
TEST(SubwordStep, ComposedTargetGradientMatchesFiniteDifferencesMean) {
  check_composed_gradient(SubwordCompose::mean, SubwordOutputs::pieces);
}
TEST(SubwordStep, ComposedTargetGradientMatchesFiniteDifferencesOwnPlusScaled) {
  check_composed_gradient(SubwordCompose::own_plus_scaled, SubwordOutputs::pieces);
}
TEST(SubwordStep, ComposedGradientMatchesFiniteDifferencesOwnPlusScaledWithPieceDamping) {
  check_composed_gradient(SubwordCompose::own_plus_scaled, SubwordOutputs::words, 4);  // cat, cats and dog: each its own damping
}
TEST(SubwordStep, ComposedTargetGradientMatchesFiniteDifferencesOwnPlusScaledWithPieceDamping) {
  check_composed_gradient(SubwordCompose::own_plus_scaled, SubwordOutputs::pieces, 4);
}

TEST(SubwordMap, PieceDampingWeighsAFrequentWordsOtherRowsDownByItsCount) {
  const BpeModel model = cat_model();
  SubwordConfig cfg;
  cfg.compose = SubwordCompose::own_plus_scaled;
  cfg.own_min_count = 3;
  cfg.piece_damping_count = 10;
  const SubwordMap map = SubwordMap::build(model, {"cat", "dogs", "q"}, std::vector<uint64_t>{30, 1, 10}, cfg);
  // cat (30 times): 1/√3 · √(10 / 40); q (10 times): 1/√2 · √(10 / 20); dogs (no own row)
  // keeps 1/√4 on every row.
  EXPECT_EQ(map.weights(0).first, 1.0f);
  EXPECT_FLOAT_EQ(map.weights(0).rest, 0.5f / std::sqrt(3.0f));
  EXPECT_FLOAT_EQ(map.weights(2).rest, std::sqrt(0.5f) / std::sqrt(2.0f));
  EXPECT_EQ(map.weights(1).first, 0.5f);
  EXPECT_EQ(map.weights(1).rest, 0.5f);
  // Under the gradient step x moves by Σ a²: 1 + 3 · (1/4)/3 for cat.
  cfg.step = SubwordStep::gradient;
  const SubwordMap grad = SubwordMap::build(model, {"cat", "dogs", "q"}, std::vector<uint64_t>{30, 1, 10}, cfg);
  EXPECT_NEAR(grad.step_moves_x(0), 1.25f, 1e-6f);
  // own-plus-mean takes the same factor; the sum and the mean have no own-row split to damp.
  cfg.compose = SubwordCompose::own_plus_mean;
  EXPECT_FLOAT_EQ(SubwordMap::build(model, {"cat"}, std::vector<uint64_t>{30}, cfg).weights(0).rest, 0.5f / 3.0f);
  cfg.compose = SubwordCompose::sum;
  EXPECT_EQ(SubwordMap::build(model, {"cat"}, std::vector<uint64_t>{30}, cfg).weights(0).rest, 1.0f);
  // An MPI follower rebuilds the same weights from the parts and the counts.
  const SubwordMap parts = SubwordMap::from_parts(map.config(), map.words(), map.rows(), map.offsets(), map.rows_list(),
                                                  std::vector<uint64_t>{30, 1, 10});
  EXPECT_EQ(parts.weights(0).rest, map.weights(0).rest);
  EXPECT_EQ(parts.weights(2).rest, map.weights(2).rest);
}

TEST(SubwordMap, OwnPlusMeanWeighsTheOwnRowOneAndTheOthersTheirMean) {
  const BpeModel model = cat_model();
  SubwordConfig cfg;
  cfg.compose = SubwordCompose::own_plus_mean;
  cfg.own_min_count = 3;
  const SubwordMap map = SubwordMap::build(model, {"cat", "dogs"}, std::vector<uint64_t>{10, 1}, cfg);
  // cat: its own row and ▁c ▁ca ▁cat; dogs (no own row): the mean of its 4 rows.
  ASSERT_EQ(map.rows_of(0).size(), 4u);
  EXPECT_EQ(map.weights(0).first, 1.0f);
  EXPECT_EQ(map.weights(0).rest, 1.0f / 3.0f);
  ASSERT_EQ(map.rows_of(1).size(), 4u);
  EXPECT_EQ(map.weights(1).first, 0.25f);
  EXPECT_EQ(map.weights(1).rest, 0.25f);
}

TEST(SubwordMap, OwnPlusScaledWeighsTheOwnRowOneAndTheOthersOneOverTheRootOfTheirNumber) {
  const BpeModel model = cat_model();
  SubwordConfig cfg;
  cfg.compose = SubwordCompose::own_plus_scaled;
  cfg.own_min_count = 3;
  const SubwordMap map = SubwordMap::build(model, {"cat", "dogs", "q"}, std::vector<uint64_t>{10, 1, 5}, cfg);
  // cat: its own row and ▁c ▁ca ▁cat (1/√3 each); dogs (no own row): its 4 rows at 1/√4.
  ASSERT_EQ(map.rows_of(0).size(), 4u);
  EXPECT_EQ(map.weights(0).first, 1.0f);
  EXPECT_EQ(map.weights(0).rest, 1.0f / std::sqrt(3.0f));
  ASSERT_EQ(map.rows_of(1).size(), 4u);
  EXPECT_EQ(map.weights(1).first, 0.5f);
  EXPECT_EQ(map.weights(1).rest, 0.5f);
  // q: its own row, ▁ and q.
  ASSERT_EQ(map.rows_of(2).size(), 3u);
  EXPECT_EQ(map.weights(2).first, 1.0f);
  EXPECT_EQ(map.weights(2).rest, 1.0f / std::sqrt(2.0f));
  // The gradient step moves x by Σ a² Δ: 1 + 3 (1/√3)² = 2 for cat, 4 / 4 = 1 for dogs.
  cfg.step = SubwordStep::gradient;
  const SubwordMap grad = SubwordMap::build(model, {"cat", "dogs"}, std::vector<uint64_t>{10, 1}, cfg);
  EXPECT_NEAR(grad.step_moves_x(0), 2.0f, 1e-6f);
  EXPECT_NEAR(grad.step_moves_x(1), 1.0f, 1e-6f);
}

TEST(SubwordMap, AncestorsShorterThanTheMinimumAreLeftOut) {
  const BpeModel model = cat_model();
  const uint32_t W = 1;
  SubwordConfig cfg;
  cfg.own_min_count = 0;
  cfg.ancestor_min_chars = 2;  // ▁c (1 character, the marker not counted) goes, ▁ca stays
  EXPECT_EQ(subword_rows(model, "cats", W, cfg), (std::vector<uint32_t>{W + 258, W + 259, W + 260}));
  cfg.ancestor_min_chars = 3;
  EXPECT_EQ(subword_rows(model, "cats", W, cfg), (std::vector<uint32_t>{W + 259, W + 260}));
  // The word's own pieces stay whatever their length.
  cfg.ancestor_min_chars = 9;
  EXPECT_EQ(subword_rows(model, "cats", W, cfg), (std::vector<uint32_t>{W + 260}));
  cfg.ancestor_min_chars = 0;
  EXPECT_EQ(subword_rows(model, "cats", W, cfg), (std::vector<uint32_t>{W + 257, W + 258, W + 259, W + 260}));
}

/// The trainer's window of composed inputs against a compose and a scatter per step
/// (subword_step): with no row shared by two live positions, the same rows up to float order.
void check_window_matches_per_step(SubwordCompose compose) {
  const BpeModel model = cat_model();
  // Disjoint rows: ▁c ▁ca ▁cat / ▁d ▁do ▁dog / ▁ q.
  const std::vector<std::string> words = {"cat", "dog", "q"};
  const std::vector<uint64_t> counts = {1, 1, 1};
  SubwordConfig cfg;
  cfg.compose = compose;
  cfg.ancestors = true;
  cfg.own_min_count = weighs_own_row_apart(compose) ? 1 : 0;  // own rows: the weights differ
  const SubwordMap map = SubwordMap::build(model, words, counts, cfg);
  for (uint32_t a = 0; a < 3; ++a) {
    for (uint32_t b = a + 1; b < 3; ++b) {
      for (uint32_t r : map.rows_of(a)) ASSERT_EQ(std::count(map.rows_of(b).begin(), map.rows_of(b).end(), r), 0);
    }
  }
  const size_t dim = 20;
  Matrix in(map.rows(), dim), out(map.rows(), dim);
  Rng rng(11, 0);
  for (size_t r = 0; r < map.rows(); ++r) {
    for (size_t j = 0; j < dim; ++j) {
      in.row(r)[j] = (rng.uniform() - 0.5f) * 0.6f;
      out.row(r)[j] = (rng.uniform() - 0.5f) * 0.6f;
    }
  }
  // Window 1: the live positions i - 1, i, i + 1 always hold the three words.
  std::vector<uint32_t> seg;
  for (int k = 0; k < 8; ++k) seg.insert(seg.end(), {0, 1, 2});
  const size_t n = seg.size();
  const auto kernel = detail::sgns_kernels(simd::Path::scalar, in.stride()).hogbatch;
  SigmoidTable table;
  const float lr = 0.05f;
  auto targets_of = [&](size_t i) { return std::vector<uint32_t>{seg[i], seg[(i + 1) % n]}; };

  Matrix in_a = in, out_a = out;
  SubwordScratch scratch(2, 2, dim);
  double loss_a = 0.0;
  for (size_t i = 0; i < n; ++i) {
    std::vector<uint32_t> ctx;
    if (i > 0) ctx.push_back(seg[i - 1]);
    if (i + 1 < n) ctx.push_back(seg[i + 1]);
    loss_a += subword_step(in_a, out_a, map, ctx, targets_of(i), lr, table, scratch, kernel);
  }

  Matrix in_b = in, out_b = out;
  SubwordWindow win(3, 2, dim);
  win.begin(map, in_b, seg.data(), n);
  double loss_b = 0.0;
  for (size_t i = 0; i < n; ++i) {
    win.advance(i > 0 ? i - 1 : 0, i + 2);
    std::vector<size_t> pos;
    if (i > 0) pos.push_back(i - 1);
    if (i + 1 < n) pos.push_back(i + 1);
    std::vector<float*> xs;
    for (size_t p : pos) xs.push_back(win.row(p));
    const std::vector<uint32_t> t = targets_of(i);
    std::vector<float*> us = {out_b.row(t[0]), out_b.row(t[1])};
    std::vector<float> scores(hogbatch_scores_floats(2, 2));
    Matrix delta(2, dim);
    win.before(pos.data(), pos.size());
    loss_b += kernel(xs.data(), xs.size(), us.data(), 2, in.stride(), dim, lr, table, scores.data(), delta.row(0));
    win.absorb(pos.size());
  }
  win.finish();

  EXPECT_NEAR(loss_a, loss_b, 1e-4);
  for (size_t r = 0; r < map.rows(); ++r) {
    for (size_t j = 0; j < dim; ++j) {
      EXPECT_NEAR(in_a.row(r)[j], in_b.row(r)[j], 2e-5) << "input row " << r << " col " << j;
      EXPECT_NEAR(out_a.row(r)[j], out_b.row(r)[j], 2e-5) << "output row " << r << " col " << j;
    }
    for (size_t j = dim; j < in.stride(); ++j) ASSERT_EQ(in_b.row(r)[j], 0.0f) << "padding of row " << r;
  }
  // The rows moved: the comparison is not between two untouched matrices.
  double moved = 0.0;
  for (size_t r = 0; r < map.rows(); ++r) {
    for (size_t j = 0; j < dim; ++j) moved += std::abs(in_b.row(r)[j] - in.row(r)[j]);
  }
  EXPECT_GT(moved, 1e-2);
}

TEST(SubwordWindow, MatchesAComposeAndScatterPerStepSum) { check_window_matches_per_step(SubwordCompose::sum); }
TEST(SubwordWindow, MatchesAComposeAndScatterPerStepMean) { check_window_matches_per_step(SubwordCompose::mean); }
TEST(SubwordWindow, MatchesAComposeAndScatterPerStepOwnPlusMean) {
  check_window_matches_per_step(SubwordCompose::own_plus_mean);
}
TEST(SubwordWindow, MatchesAComposeAndScatterPerStepOwnPlusScaled) {
  check_window_matches_per_step(SubwordCompose::own_plus_scaled);
}

/// The unit step: after a window's steps the rows, recomposed, give the x the kernel moved
/// (x moves by the kernel's Δ whatever the word's size), for every composition.
TEST(SubwordWindow, UnitStepMovesTheComposedVectorByTheKernelsStep) {
  for (SubwordCompose compose :
       {SubwordCompose::sum, SubwordCompose::mean, SubwordCompose::own_plus_mean, SubwordCompose::own_plus_scaled}) {
    const BpeModel model = cat_model();
    const std::vector<std::string> words = {"cat", "dog", "q"};
    const std::vector<uint64_t> counts = {1, 1, 1};
    SubwordConfig cfg;
    cfg.compose = compose;
    cfg.own_min_count = weighs_own_row_apart(compose) ? 1 : 0;
    cfg.step = SubwordStep::unit;
    const SubwordMap map = SubwordMap::build(model, words, counts, cfg);
    const size_t dim = 12;
    Matrix in(map.rows(), dim), out(map.rows(), dim);
    Rng rng(5, 0);
    for (size_t r = 0; r < map.rows(); ++r) {
      for (size_t j = 0; j < dim; ++j) {
        in.row(r)[j] = (rng.uniform() - 0.5f) * 0.6f;
        out.row(r)[j] = (rng.uniform() - 0.5f) * 0.6f;
      }
    }
    const std::vector<uint32_t> seg = {0, 1, 2};
    SubwordWindow win(3, 2, dim);
    win.begin(map, in, seg.data(), seg.size());
    win.advance(0, 3);
    // One step, centre "dog": inputs "cat" and "q", targets dog and cat.
    std::vector<size_t> pos = {0, 2};
    std::vector<float*> xs = {win.row(0), win.row(2)}, us = {out.row(1), out.row(0)};
    std::vector<float> scores(hogbatch_scores_floats(2, 2));
    Matrix delta(2, dim);
    win.before(pos.data(), 2);
    SigmoidTable table;
    detail::sgns_kernels(simd::Path::scalar, in.stride()).hogbatch(xs.data(), 2, us.data(), 2, in.stride(), dim, 0.5f, table,
                                                                  scores.data(), delta.row(0));
    win.absorb(2);
    const std::vector<float> x0(win.row(0), win.row(0) + dim), x2(win.row(2), win.row(2) + dim);
    win.finish();
    std::vector<float> again(in.stride());
    compose_rows(in, map.rows_of(0), map.weights(0), again.data());
    for (size_t j = 0; j < dim; ++j) EXPECT_NEAR(again[j], x0[j], 1e-5) << "cat, col " << j;
    compose_rows(in, map.rows_of(2), map.weights(2), again.data());
    for (size_t j = 0; j < dim; ++j) EXPECT_NEAR(again[j], x2[j], 1e-5) << "q, col " << j;
  }
}

// ---- Training ------------------------------------------------------------------------------

/// A words corpus from lines of words (vocabulary in first-seen order; ids need not be in
/// frequency order for the trainer).
CorpusData word_corpus(const std::vector<std::vector<std::string>>& lines) {
  CorpusData c;
  c.tokenizer_kind = tokvec::TokenizerKind::words;
  std::unordered_map<std::string, uint32_t> ids;
  for (const auto& line : lines) {
    for (const std::string& w : line) {
      auto [it, added] = ids.emplace(w, static_cast<uint32_t>(c.vocab.size()));
      if (added) c.vocab.push_back(w);
      c.tokens.push_back(it->second);
    }
    c.line_ends.push_back(c.tokens.size());
  }
  c.recount();
  return c;
}

TrainConfig small_config() {
  TrainConfig c;
  c.dim = 16;
  c.window = 3;
  c.negative = 3;
  c.sample = 0;
  c.epochs = 2;
  c.threads = 1;
  c.lr = 0.05;
  c.quiet = true;
  return c;
}

struct SubwordRun {
  std::shared_ptr<const SubwordMap> map;
  TrainingState state;
};

SubwordRun start(const CorpusData& c, const BpeModel& model, const SubwordConfig& sc, const TrainConfig& cfg) {
  SubwordRun r;
  r.map = std::make_shared<const SubwordMap>(SubwordMap::build(model, c.vocab, c.counts, sc));
  r.state = initial_subword_state(c.view(), c.vocab, model, *r.map, tokvec::TokenizerKind::words, 0, cfg.dim, cfg.seed, cfg.epochs, cfg.threads);
  return r;
}

TEST(SubwordTrainer, UpdateCountsArePerRowAndExact) {
  // Window 1 never shrinks and sample 0 keeps every token: each word is the input (context)
  // of one pair per neighbour inside its line, and each of its rows counts that pair.
  const BpeModel model = cat_model();
  const CorpusData c = word_corpus({{"cat", "cats", "dog", "cat", "dogs"}, {"dog"}, {"cats", "cats"}, {"dogs", "cat"}});
  SubwordConfig sc;
  sc.ancestors = true;
  sc.own_min_count = 3;  // cat (3 times) and cats (3 times) get their own rows
  TrainConfig cfg = small_config();
  cfg.window = 1;
  SubwordRun r = start(c, model, sc, cfg);
  const uint32_t W = r.map->words();
  std::vector<uint64_t> pairs_as_input(W, 0), positive(r.map->rows(), 0);
  uint64_t begin = 0, pairs = 0;
  for (uint64_t end : c.line_ends) {
    for (uint64_t i = begin; i < end; ++i) {
      const uint64_t neighbours = (i > begin) + (i + 1 < end);
      pairs_as_input[c.tokens[i]] += neighbours * cfg.epochs;
      positive[c.tokens[i]] += neighbours * cfg.epochs;
      pairs += neighbours * cfg.epochs;
    }
    begin = end;
  }
  std::vector<uint64_t> input(r.map->rows(), 0);
  for (uint32_t w = 0; w < W; ++w) {
    for (uint32_t row : r.map->rows_of(w)) input[row] += pairs_as_input[w];
  }
  EXPECT_GT(input[0], 0u);                      // cat's own row
  EXPECT_GT(input[W + kBpeFixedAlphabet], 0u);  // ▁c, an ancestor shared by cat and cats
  EXPECT_EQ(input[2], 0u);                      // dog (2 times): no own row
  Trainer(c.view(), cfg, r.state, r.map).run();
  EXPECT_EQ(r.state.input_updates, input);
  EXPECT_EQ(r.state.output_positive_updates, positive);
  uint64_t negatives = 0;
  for (uint32_t row = 0; row < r.map->rows(); ++row) {
    negatives += r.state.output_negative_updates[row];
    if (row >= W) {
      EXPECT_EQ(r.state.output_negative_updates[row], 0u) << "piece row " << row << " is no output";
    }
  }
  EXPECT_EQ(negatives, cfg.negative * pairs);
  EXPECT_EQ(r.state.loss_count, pairs);
  // A piece's frequency: the corpus count of the words it composes.
  EXPECT_EQ(r.state.frequencies[W + kBpeFixedAlphabet], c.counts[0] + c.counts[1]);
}

void expect_same_state(const TrainingState& a, const TrainingState& b) {
  ASSERT_EQ(a.input.storage().size(), b.input.storage().size());
  EXPECT_EQ(std::memcmp(a.input.storage().data(), b.input.storage().data(), a.input.storage().size_bytes()), 0);
  EXPECT_EQ(std::memcmp(a.output.storage().data(), b.output.storage().data(), a.output.storage().size_bytes()), 0);
  EXPECT_EQ(a.input_updates, b.input_updates);
  EXPECT_EQ(a.output_positive_updates, b.output_positive_updates);
  EXPECT_EQ(a.output_negative_updates, b.output_negative_updates);
  EXPECT_EQ(a.tokens_done, b.tokens_done);
  EXPECT_EQ(a.loss_sum, b.loss_sum);
  EXPECT_EQ(a.loss_count, b.loss_count);
}

/// Lines of 8 words from one of two groups of stems, each stem bare or inflected with -s,
/// -ing or -ed, except one held-out inflection per stem, never in the corpus.
struct Morphology {
  std::vector<std::string> stems[2];
  std::vector<std::string> held_out[2];  ///< held_out[g][i]: stems[g][i] + its unseen suffix
  std::vector<std::vector<std::string>> lines;
};

Morphology planted_morphology(int n_lines) {
  Morphology m;
  const char* const suffixes[] = {"", "s", "ing", "ed"};
  const char* const stems[2][6] = {{"walk", "jump", "talk", "climb", "kick", "pull"},
                                   {"paint", "fold", "cook", "wash", "bake", "mend"}};
  for (int g = 0; g < 2; ++g) {
    for (int i = 0; i < 6; ++i) {
      m.stems[g].push_back(stems[g][i]);
      m.held_out[g].push_back(std::string(stems[g][i]) + suffixes[1 + (i % 3)]);
    }
  }
  Rng rng(11, 0);
  for (int l = 0; l < n_lines; ++l) {
    const int g = l % 2;
    std::vector<std::string> line;
    while (line.size() < 8) {
      const size_t i = rng.below(6);
      const std::string w = m.stems[g][i] + suffixes[rng.below(4)];
      if (w != m.held_out[g][i]) line.push_back(w);
    }
    m.lines.push_back(line);
  }
  return m;
}

double cosine(const float* a, const float* b, size_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t j = 0; j < n; ++j) ab += a[j] * b[j], aa += a[j] * a[j], bb += b[j] * b[j];
  return ab / std::sqrt(aa * bb);
}

void check_paused_and_resumed_run_is_bit_identical(SubwordCompose compose, uint32_t ancestor_min_chars,
                                                   SubwordOutputs outputs = SubwordOutputs::words,
                                                   uint64_t piece_damping_count = 0) {
  const Morphology m = planted_morphology(120);
  const CorpusData c = word_corpus(m.lines);
  test::TempDir dir;
  const std::string text = dir.file("text.txt");
  {
    std::ofstream out(text);
    for (const auto& line : m.lines) {
      for (const std::string& w : line) out << w << ' ';
      out << '\n';
    }
  }
  BpeTrainConfig bc;
  bc.inputs = {text};
  bc.vocab_size = 300;
  bc.threads = 1;
  bc.quiet = true;
  const BpeModel model = train_bpe(bc);
  SubwordConfig sc;
  sc.compose = compose;
  sc.ancestor_min_chars = ancestor_min_chars;
  sc.own_min_count = 20;
  sc.outputs = outputs;
  sc.piece_damping_count = piece_damping_count;
  TrainConfig cfg = small_config();
  cfg.sample = 1e-2;
  SubwordRun reference = start(c, model, sc, cfg);
  Trainer(c.view(), cfg, reference.state, reference.map).run();
  const uint64_t n = c.tokens.size();
  for (uint64_t at : {uint64_t{1}, n - 3, n + 100}) {
    SubwordRun r = start(c, model, sc, cfg);
    TrainPause pause;
    pause.at_tokens = at;
    EXPECT_FALSE(Trainer(c.view(), cfg, r.state, r.map).run(pause)) << at;
    save_state(dir.file("paused.tkv"), r.state);  // through the file format, as a checkpoint goes
    TrainingState resumed = load_state(dir.file("paused.tkv"));
    EXPECT_TRUE(Trainer(c.view(), cfg, resumed, r.map).run());
    expect_same_state(resumed, reference.state);
  }
}

TEST(SubwordTrainer, PausedAndResumedOneThreadRunIsBitIdentical) {
  check_paused_and_resumed_run_is_bit_identical(SubwordCompose::sum, 0);
}
TEST(SubwordTrainer, PausedAndResumedOneThreadRunIsBitIdenticalOwnPlusMean) {
  check_paused_and_resumed_run_is_bit_identical(SubwordCompose::own_plus_mean, 3);
}
TEST(SubwordTrainer, PausedAndResumedOneThreadRunIsBitIdenticalOwnPlusScaled) {
  check_paused_and_resumed_run_is_bit_identical(SubwordCompose::own_plus_scaled, 3);
}
TEST(SubwordTrainer, PausedAndResumedOneThreadRunIsBitIdenticalPieceOutputs) {
  check_paused_and_resumed_run_is_bit_identical(SubwordCompose::own_plus_scaled, 3, SubwordOutputs::pieces);
}

/// Per-piece outputs: every row of a target's composition counts its positive and
/// negative updates, as the input rows count theirs.
TEST(SubwordTrainer, PieceOutputCountsArePerRowAndExact) {
  const BpeModel model = cat_model();
  const CorpusData c = word_corpus({{"cat", "cats", "dog", "cat", "dogs"}, {"dog"}, {"cats", "cats"}, {"dogs", "cat"}});
  SubwordConfig sc;
  sc.ancestors = true;
  sc.own_min_count = 3;
  sc.outputs = SubwordOutputs::pieces;
  TrainConfig cfg = small_config();
  cfg.window = 1;
  SubwordRun r = start(c, model, sc, cfg);
  std::vector<uint64_t> positive(r.map->rows(), 0);
  uint64_t begin = 0, pairs = 0;
  for (uint64_t end : c.line_ends) {
    for (uint64_t i = begin; i < end; ++i) {
      const uint64_t neighbours = (i > begin) + (i + 1 < end);
      for (uint32_t row : r.map->rows_of(c.tokens[i])) positive[row] += neighbours * cfg.epochs;
      pairs += neighbours * cfg.epochs;
    }
    begin = end;
  }
  Trainer(c.view(), cfg, r.state, r.map).run();
  EXPECT_EQ(r.state.output_positive_updates, positive);
  EXPECT_GT(r.state.output_positive_updates[r.map->words() + kBpeFixedAlphabet], 0u);  // ▁c: a piece row
  // Each negative counts once per row of its composition: at least one per pair and draw.
  uint64_t negatives = 0;
  for (uint64_t n : r.state.output_negative_updates) negatives += n;
  EXPECT_GE(negatives, cfg.negative * pairs);
  EXPECT_EQ(r.state.loss_count, pairs);
  // The piece rows' output vectors trained (they stay zero with per-word outputs).
  const float* o = r.state.output.row(r.map->words() + kBpeFixedAlphabet);
  EXPECT_TRUE(std::any_of(o, o + cfg.dim, [](float v) { return v != 0.0f; }));
}

TEST(SubwordTrainer, PausedAndResumedOneThreadRunIsBitIdenticalWithPieceDamping) {
  check_paused_and_resumed_run_is_bit_identical(SubwordCompose::own_plus_scaled, 3, SubwordOutputs::words, 50);
}

/// Unseen inflected forms, composed from the trained rows of their pieces, land nearer
/// their own stem than any stem of the other group.
TEST(SubwordTrainer, UnseenInflectionsLandNearTheirStems) {
  const Morphology m = planted_morphology(600);
  const CorpusData c = word_corpus(m.lines);
  test::TempDir dir;
  const std::string text = dir.file("text.txt");
  {
    std::ofstream out(text);
    for (const auto& line : m.lines) {
      for (const std::string& w : line) out << w << ' ';
      out << '\n';
    }
  }
  BpeTrainConfig bc;
  bc.inputs = {text};
  bc.vocab_size = 320;  // the stems and suffixes become pieces (unseen forms never do)
  bc.threads = 1;
  bc.quiet = true;
  const BpeModel model = train_bpe(bc);
  for (SubwordCompose compose : {SubwordCompose::sum, SubwordCompose::mean}) {
    SubwordConfig sc;
    sc.compose = compose;
    sc.ancestors = true;
    sc.own_min_count = 0;
    TrainConfig cfg = small_config();
    cfg.epochs = 5;
    SubwordRun r = start(c, model, sc, cfg);
    Trainer(c.view(), cfg, r.state, r.map).run();
    const uint32_t W = r.map->words();
    auto vec = [&](const std::string& w) {
      std::vector<float> x(r.state.input.stride());
      const std::vector<uint32_t> rows = subword_rows(model, w, W, sc);
      compose_rows(r.state.input, rows, subword_weights(sc, W, rows, 0), x.data());
      return x;
    };
    int near = 0, total = 0;
    for (int g = 0; g < 2; ++g) {
      for (size_t i = 0; i < m.held_out[g].size(); ++i) {
        const std::string& unseen = m.held_out[g][i];
        ASSERT_EQ(std::find(c.vocab.begin(), c.vocab.end(), unseen), c.vocab.end()) << unseen;
        const std::vector<float> x = vec(unseen), own = vec(m.stems[g][i]);
        const double to_own = cosine(x.data(), own.data(), cfg.dim);
        double to_other = -1.0;
        for (const std::string& s : m.stems[1 - g]) {
          const std::vector<float> y = vec(s);
          to_other = std::max(to_other, cosine(x.data(), y.data(), cfg.dim));
        }
        near += to_own > to_other;
        ++total;
      }
    }
    EXPECT_EQ(near, total) << subword_compose_name(compose);
  }
}

}  // namespace
}  // namespace tokvec

namespace tokvec {
namespace {

/// A config.json with a damaged subword key is refused as corrupt, naming the file and the
/// key; a file without the newer keys (an older run) reads with their defaults.
TEST(SubwordConfigJson, DamagedKeysAreCorruptAndMissingOnesTakeTheirDefaults) {
  const auto refused = [](const char* text) {
    try {
      SubwordConfig::from_json(nlohmann::json::parse(text), "run/config.json");
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::corrupt) << e.what();
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_NE(refused(R"({"subword_compose": "max"})").find("run/config.json"), std::string::npos);
  EXPECT_NE(refused(R"({"subword_compose": "max"})").find("own-plus-scaled"), std::string::npos);
  EXPECT_NE(refused(R"({"subword_step": 3})").find("subword_step"), std::string::npos);
  EXPECT_NE(refused(R"({"subword_ancestor_min_chars": -1})").find("subword_ancestor_min_chars"), std::string::npos);
  EXPECT_NE(refused(R"({"subword_ancestor_min_chars": "3"})").find("subword_ancestor_min_chars"), std::string::npos);
  EXPECT_NE(refused(R"({"subword_ancestor_min_chars": 5000000000})").find("subword_ancestor_min_chars"), std::string::npos);

  const SubwordConfig old = SubwordConfig::from_json(nlohmann::json::parse(R"({"subword_compose": "mean"})"), "c.json");
  EXPECT_EQ(old.compose, SubwordCompose::mean);
  EXPECT_EQ(old.ancestor_min_chars, SubwordConfig{}.ancestor_min_chars);
  nlohmann::json written;
  SubwordConfig with_filter;
  with_filter.compose = SubwordCompose::own_plus_mean;
  with_filter.ancestor_min_chars = 3;
  with_filter.to_json(written);
  const SubwordConfig back = SubwordConfig::from_json(written, "c.json");
  EXPECT_EQ(back.compose, SubwordCompose::own_plus_mean);
  EXPECT_EQ(back.ancestor_min_chars, 3u);
  nlohmann::json scaled_json;
  SubwordConfig scaled;
  scaled.compose = SubwordCompose::own_plus_scaled;
  scaled.to_json(scaled_json);
  EXPECT_EQ(scaled_json["subword_compose"], "own-plus-scaled");
  EXPECT_EQ(SubwordConfig::from_json(scaled_json, "c.json").compose, SubwordCompose::own_plus_scaled);
  EXPECT_FALSE(scaled_json.contains("subword_piece_damping_count"));  // none: not written, and read as none
  EXPECT_EQ(SubwordConfig::from_json(scaled_json, "c.json").piece_damping_count, 0u);
  scaled.piece_damping_count = 100;
  scaled.to_json(scaled_json);
  EXPECT_EQ(scaled_json["subword_piece_damping_count"], 100);
  EXPECT_EQ(SubwordConfig::from_json(scaled_json, "c.json"), scaled);
  EXPECT_NE(refused(R"({"subword_piece_damping_count": -5})").find("subword_piece_damping_count"), std::string::npos);
  EXPECT_NE(refused(R"({"subword_piece_damping_count": 1.5})").find("subword_piece_damping_count"), std::string::npos);
}

TEST(SubwordConfigJson, OutputsRoundTripAndOldConfigsArePerWord) {
  EXPECT_EQ(SubwordConfig::from_json(nlohmann::json::parse(R"({"subword_compose": "sum"})"), "c.json").outputs,
            SubwordOutputs::words);
  nlohmann::json words_json;
  SubwordConfig{}.to_json(words_json);
  EXPECT_FALSE(words_json.contains("subword_outputs"));  // per word: the configs written before the key
  SubwordConfig pieces;
  pieces.outputs = SubwordOutputs::pieces;
  nlohmann::json pieces_json;
  pieces.to_json(pieces_json);
  EXPECT_EQ(pieces_json["subword_outputs"], "pieces");
  EXPECT_EQ(SubwordConfig::from_json(pieces_json, "c.json"), pieces);
  try {
    SubwordConfig::from_json(nlohmann::json::parse(R"({"subword_outputs": "rows"})"), "run/config.json");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_NE(std::string(e.what()).find("run/config.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("subword_outputs"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tokvec
