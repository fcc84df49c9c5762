#include "tokvec/trainer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "test_util.h"
#include "base/io.h"
#include "sgns/sampler.h"
#include "tokvec/simd.h"
#include "tokvec/status.h"

namespace tokvec {
namespace {

/// A corpus from lines of ids (vocabulary "t0", "t1", ...).
CorpusData make_corpus(const std::vector<std::vector<uint32_t>>& lines, uint32_t vocab_size) {
  CorpusData c;
  c.tokenizer_kind = tokvec::TokenizerKind::words;
  for (uint32_t i = 0; i < vocab_size; ++i) {
    std::string name = "t";
    name += std::to_string(i);
    c.vocab.push_back(name);
  }
  for (const auto& line : lines) {
    c.tokens.insert(c.tokens.end(), line.begin(), line.end());
    c.line_ends.push_back(c.tokens.size());
  }
  c.recount();
  return c;
}

/// Two groups of 10 tokens; each line draws 8 tokens from one group only.
CorpusData planted_corpus(int lines) {
  Rng rng(5, 0);
  std::vector<std::vector<uint32_t>> ls;
  for (int i = 0; i < lines; ++i) {
    uint32_t group = static_cast<uint32_t>(i % 2);
    std::vector<uint32_t> line;
    for (int k = 0; k < 8; ++k) line.push_back(group * 10 + static_cast<uint32_t>(rng.below(10)));
    ls.push_back(line);
  }
  return make_corpus(ls, 20);
}

TrainConfig small_config() {
  TrainConfig c;
  c.dim = 16;
  c.window = 3;
  c.negative = 3;
  c.sample = 0;
  c.epochs = 3;
  c.threads = 1;
  c.lr = 0.05;
  c.quiet = true;
  return c;
}

TrainingState run(const CorpusData& corpus, const TrainConfig& cfg) {
  TrainingState s = initial_state(corpus.view(), corpus.vocab, tokvec::TokenizerKind::words, 0, cfg);
  train(corpus.view(), cfg, s);
  return s;
}

double cosine(const Matrix& m, size_t a, size_t b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t j = 0; j < m.cols(); ++j) {
    ab += m.row(a)[j] * m.row(b)[j];
    aa += m.row(a)[j] * m.row(a)[j];
    bb += m.row(b)[j] * m.row(b)[j];
  }
  return ab / std::sqrt(aa * bb);
}

void expect_groups_learnt(const TrainingState& s) {
  double within = 0, across = 0;
  int nw = 0, na = 0;
  for (size_t a = 0; a < 20; ++a) {
    for (size_t b = a + 1; b < 20; ++b) {
      if ((a < 10) == (b < 10)) {
        within += cosine(s.input, a, b);
        ++nw;
      } else {
        across += cosine(s.input, a, b);
        ++na;
      }
    }
  }
  within /= nw;
  across /= na;
  EXPECT_GT(within, across + 0.3) << "within " << within << " across " << across;
}

TEST(Trainer, LearnsPlantedGroups) {
  CorpusData c = planted_corpus(2000);
  TrainingState s = run(c, small_config());
  EXPECT_TRUE(s.finished());
  EXPECT_TRUE(s.cursor.empty());
  EXPECT_EQ(s.tokens_done, 3 * c.tokens.size());
  EXPECT_GT(s.loss_count, 0u);
  expect_groups_learnt(s);
}

TEST(Trainer, LearnsPlantedGroupsWithTwoThreadsAndThePairKernel) {
  CorpusData c = planted_corpus(2000);
  TrainConfig cfg = small_config();
  cfg.threads = 2;
  expect_groups_learnt(run(c, cfg));
  cfg.threads = 1;
  cfg.kernel = Kernel::pair;
  expect_groups_learnt(run(c, cfg));
}

TEST(Trainer, OneThreadIsBitIdentical) {
  CorpusData c = planted_corpus(500);
  TrainConfig cfg = small_config();
  cfg.sample = 1e-2;  // exercise the subsampling draws too
  TrainingState a = run(c, cfg), b = run(c, cfg);
  ASSERT_EQ(a.input.storage().size(), b.input.storage().size());
  EXPECT_EQ(std::memcmp(a.input.storage().data(), b.input.storage().data(), a.input.storage().size_bytes()), 0);
  EXPECT_EQ(std::memcmp(a.output.storage().data(), b.output.storage().data(), a.output.storage().size_bytes()), 0);
  EXPECT_EQ(a.input_updates, b.input_updates);
  EXPECT_EQ(a.output_negative_updates, b.output_negative_updates);
  EXPECT_EQ(a.loss_sum, b.loss_sum);
  cfg.seed = 2;
  TrainingState d = run(c, cfg);
  EXPECT_NE(std::memcmp(a.input.storage().data(), d.input.storage().data(), a.input.storage().size_bytes()), 0);
}

TEST(Trainer, UpdateCountsMatchAnIndependentCount) {
  // Window 1 never shrinks and sample 0 keeps every token, so the pairs are known: each
  // token is the input (context) of one pair per neighbour inside its line.
  CorpusData c = make_corpus({{0, 1, 2, 3, 1}, {4}, {2, 2}, {0, 4, 1}}, 5);
  TrainConfig cfg = small_config();
  cfg.window = 1;
  cfg.epochs = 2;
  std::vector<uint64_t> input(5, 0), positive(5, 0);
  uint64_t begin = 0, pairs = 0;
  for (uint64_t end : c.line_ends) {
    for (uint64_t i = begin; i < end; ++i) {
      uint64_t neighbours = (i > begin) + (i + 1 < end);
      input[c.tokens[i]] += neighbours;     // as a context of each neighbour
      positive[c.tokens[i]] += neighbours;  // as the centre (target) of each neighbour
      pairs += neighbours;
    }
    begin = end;
  }
  for (uint64_t& v : input) v *= cfg.epochs;
  for (uint64_t& v : positive) v *= cfg.epochs;
  TrainingState s = run(c, cfg);
  EXPECT_EQ(s.input_updates, input);
  EXPECT_EQ(s.output_positive_updates, positive);
  uint64_t negatives = 0;
  for (uint64_t v : s.output_negative_updates) negatives += v;
  EXPECT_EQ(negatives, cfg.negative * pairs * cfg.epochs);
  EXPECT_EQ(s.loss_count, pairs * cfg.epochs);
}

TEST(Trainer, NoWindowCrossesALine) {
  // Two-token lines: whatever the window, each token has exactly one partner per line.
  // A window crossing a line end would add pairs with the next line's tokens.
  std::vector<std::vector<uint32_t>> lines;
  for (int i = 0; i < 300; ++i) lines.push_back(i % 2 ? std::vector<uint32_t>{0, 1} : std::vector<uint32_t>{2, 3});
  lines.push_back({4});  // a one-token line trains nothing
  CorpusData c = make_corpus(lines, 5);
  for (int threads : {1, 2}) {
    for (std::string kernel : {"hogbatch", "pair"}) {
      TrainConfig cfg = small_config();
      cfg.window = 5;
      cfg.epochs = 1;
      cfg.threads = threads;
      cfg.kernel = kernel_from_name(kernel);
      TrainingState s = run(c, cfg);
      EXPECT_EQ(s.input_updates, (std::vector<uint64_t>{150, 150, 150, 150, 0})) << threads << " " << kernel;
      EXPECT_EQ(s.output_positive_updates, (std::vector<uint64_t>{150, 150, 150, 150, 0}));
    }
  }
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
  EXPECT_EQ(a.epochs_done, b.epochs_done);
}

TEST(Trainer, PausedAndResumedOneThreadRunIsBitIdentical) {
  CorpusData c = planted_corpus(500);
  TrainConfig cfg = small_config();
  cfg.sample = 1e-2;
  const TrainingState reference = run(c, cfg);
  const uint64_t n = c.tokens.size();
  test::TempDir dir;
  for (uint64_t at : {uint64_t{1}, uint64_t{777}, n, 2 * n + 5, 3 * n - 9}) {
    TrainingState s = initial_state(c.view(), c.vocab, tokvec::TokenizerKind::words, 0, cfg);
    TrainPause pause;
    pause.at_tokens = at;
    EXPECT_FALSE(train(c.view(), cfg, s, pause)) << at;
    EXPECT_FALSE(s.cursor.empty());
    EXPECT_GE(s.tokens_done, at);
    EXPECT_LT(s.tokens_done, at + 8);  // stops at the next segment (line) start
    // Through the file format, as a checkpoint would go.
    save_state(dir.file("paused.tkv"), s);
    TrainingState resumed = load_state(dir.file("paused.tkv"));
    EXPECT_TRUE(train(c.view(), cfg, resumed, TrainPause{}));
    EXPECT_TRUE(resumed.cursor.empty());
    expect_same_state(resumed, reference);
  }
}

/// Largest |a - b| over the input and output weights.
double largest_difference(const TrainingState& a, const TrainingState& b) {
  double worst = 0.0;
  for (auto [x, y] : {std::pair{&a.input, &b.input}, std::pair{&a.output, &b.output}}) {
    std::span<const float> p = x->storage(), q = y->storage();
    for (size_t i = 0; i < p.size(); ++i) worst = std::max(worst, static_cast<double>(std::fabs(p[i] - q[i])));
  }
  return worst;
}

/// Each SIMD path this CPU runs, against the scalar reference on a short training (3
/// epochs of the planted corpus, both kernels): the same updates counted, the loss within
/// 1e-3 relative and every weight within 5e-4 (on AVX2 the largest difference is 7e-6: the
/// one-step differences of Sgns.EverySimdPathMatchesTheScalarKernel do not build up), and
/// the groups learnt. Within one path, one thread is bit-identical run to run and through a
/// pause and resume.
TEST(Trainer, EverySimdPathTrainsLikeTheScalarPathAndRepeatsItself) {
  CorpusData c = planted_corpus(500);
  for (std::string kernel : {"hogbatch", "pair"}) {
    TrainConfig cfg = small_config();
    cfg.sample = 1e-2;
    cfg.kernel = kernel_from_name(kernel);
    const TrainingState reference = [&] {
      simd::ScopedPath scalar(simd::Path::scalar);
      return run(c, cfg);
    }();
    for (simd::Path p : simd::runnable_paths()) {
      SCOPED_TRACE(std::string("SIMD path ") + simd::name(p) + ", kernel " + kernel);
      simd::ScopedPath path(p);
      const TrainingState a = run(c, cfg);
      expect_same_state(run(c, cfg), a);
      TrainingState paused = initial_state(c.view(), c.vocab, tokvec::TokenizerKind::words, 0, cfg);
      TrainPause pause;
      pause.at_tokens = c.tokens.size() + 777;
      EXPECT_FALSE(train(c.view(), cfg, paused, pause));
      EXPECT_TRUE(train(c.view(), cfg, paused, TrainPause{}));
      expect_same_state(paused, a);
      EXPECT_EQ(a.input_updates, reference.input_updates);
      EXPECT_EQ(a.output_negative_updates, reference.output_negative_updates);
      EXPECT_NEAR(a.loss_sum, reference.loss_sum, 1e-3 * reference.loss_sum);
      const double worst = largest_difference(a, reference);
      EXPECT_LE(worst, 5e-4);
      std::printf("%s, %s: largest weight difference from scalar %.3g\n", simd::name(p), kernel.c_str(), worst);
      expect_groups_learnt(a);
    }
  }
}

TEST(Trainer, InterruptPausesAndTwoThreadRunsResume) {
  CorpusData c = planted_corpus(2000);
  TrainConfig cfg = small_config();
  cfg.threads = 2;
  TrainingState s = initial_state(c.view(), c.vocab, tokvec::TokenizerKind::words, 0, cfg);
  std::atomic<bool> stop{true};
  TrainPause pause;
  pause.interrupt = &stop;
  EXPECT_FALSE(train(c.view(), cfg, s, pause));
  EXPECT_EQ(s.tokens_done, 0u);
  pause = TrainPause{};
  pause.at_tokens = c.tokens.size();
  EXPECT_FALSE(train(c.view(), cfg, s, pause));
  cfg.threads = 1;  // ignored: the cursor holds two threads
  EXPECT_TRUE(train(c.view(), cfg, s, TrainPause{}));
  EXPECT_EQ(s.tokens_done, s.tokens_total);
  EXPECT_EQ(s.epochs_done, cfg.epochs);
  expect_groups_learnt(s);
}

/// A two-thread cursor (format version 2): thread 0 has nothing left of its shard [0, n/2),
/// thread 1 all of [n/2, n), as after a run where thread 0 was much faster.
std::string lopsided_cursor(uint64_t n) {
  ByteWriter w;
  w.u32(2);
  w.u32(2);
  for (uint64_t k : {uint64_t{0}, uint64_t{1}}) {
    w.u64(k * n / 2);        // begin
    w.u64((k + 1) * n / 2);  // end
    w.u64(n / 2);            // pos
    w.u64((k + 1) * n / 2);  // range_end
    w.u32(0);                // epoch
    w.u64(0x1234 + k);       // rng
  }
  return std::move(w.bytes());
}

struct CursorRange {
  uint64_t pos, range_end;
};
std::vector<CursorRange> cursor_ranges(const std::string& cursor) {
  ByteReader r(cursor, "test", "CURS");
  EXPECT_EQ(r.u32(), 2u);
  std::vector<CursorRange> out(r.u32());
  for (CursorRange& c : out) {
    (void)r.u64();
    (void)r.u64();
    c.pos = r.u64();
    c.range_end = r.u64();
    (void)r.u32();
    (void)r.u64();
  }
  return out;
}

TEST(Trainer, IdleThreadTakesOverHalfOfTheOthersRangeAndEveryTokenIsTrainedOnce) {
  // One line of 2^18 tokens over 1,024 ids; no subsampling, window 1, so every token trained
  // adds exactly 2 positive updates but the last of a segment, which adds 1 (and the first,
  // which adds 1 as well): the sum tells how many tokens were trained, +- the segments.
  const uint64_t n = uint64_t{1} << 18;
  std::vector<uint32_t> line(n);
  for (uint64_t i = 0; i < n; ++i) line[i] = static_cast<uint32_t>(i % 1024);
  CorpusData c = make_corpus({line}, 1024);
  TrainConfig cfg = small_config();
  cfg.window = 1;
  cfg.epochs = 1;
  cfg.threads = 2;
  cfg.dim = 8;
  TrainingState s = initial_state(c.view(), c.vocab, tokvec::TokenizerKind::words, 0, cfg);
  s.cursor = lopsided_cursor(n);
  s.tokens_done = n / 2;  // thread 0's shard
  // Pause once thread 1 alone would be 3/4 through its range. Thread 0 (OpenMP's calling
  // thread, running from the start) takes the second half of it at once, and then either
  // thread may take from the other; whichever way, thread 0's range now lies in thread 1's
  // shard and the two ranges left do not overlap.
  TrainPause pause;
  pause.at_tokens = n / 2 + 3 * n / 8;
  ASSERT_FALSE(train(c.view(), cfg, s, pause));
  const std::vector<CursorRange> ranges = cursor_ranges(s.cursor);
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_GT(ranges[0].range_end, n / 2) << "thread 0 took no part of thread 1's range";
  EXPECT_GE(ranges[0].pos, n / 2);
  EXPECT_GE(ranges[1].pos, n / 2);
  EXPECT_TRUE(ranges[0].range_end <= ranges[1].pos || ranges[1].range_end <= ranges[0].pos)
      << "[" << ranges[0].pos << ", " << ranges[0].range_end << ") and [" << ranges[1].pos << ", " << ranges[1].range_end
      << ") overlap";
  // Through the file format, as a checkpoint would go, then to the end.
  test::TempDir dir;
  save_state(dir.file("paused.tkv"), s);
  TrainingState resumed = load_state(dir.file("paused.tkv"));
  ASSERT_TRUE(train(c.view(), cfg, resumed, TrainPause{}));
  EXPECT_EQ(resumed.tokens_done, n);
  uint64_t positives = 0;
  for (uint64_t p : resumed.output_positive_updates) positives += p;
  // n/2 tokens trained: 2 per token, minus 2 per segment (at most one per 4,096 tokens, plus
  // the range cuts and pause points). Training a 4,096-token segment twice would add 8,190,
  // skipping one would remove as much.
  const uint64_t trained = n / 2;
  EXPECT_LE(positives, 2 * trained);
  EXPECT_GE(positives, 2 * trained - 2 * (trained / kSegmentTokens + 16));
  EXPECT_EQ(positives, resumed.loss_count);
}

TEST(Trainer, VersionOneCursorsStillResume) {
  // Checkpoints written before work sharing: no range_end, the range is the shard's rest.
  CorpusData c = planted_corpus(500);
  TrainConfig cfg = small_config();
  cfg.threads = 2;
  TrainingState s = initial_state(c.view(), c.vocab, tokvec::TokenizerKind::words, 0, cfg);
  const uint64_t n = c.tokens.size();
  ByteWriter w;
  w.u32(1);
  w.u32(2);
  for (uint64_t k : {uint64_t{0}, uint64_t{1}}) {
    w.u64(k * n / 2);
    w.u64((k + 1) * n / 2);
    w.u64(k * n / 2);
    w.u32(0);
    w.u64(0x99 + k);
  }
  s.cursor = w.bytes();
  ASSERT_TRUE(train(c.view(), cfg, s, TrainPause{}));
  EXPECT_EQ(s.tokens_done, s.tokens_total);
  expect_groups_learnt(s);
}

TEST(Trainer, InitialRowsAreReproducibleFromSeedAndRow) {
  CorpusData c = planted_corpus(10);
  TrainConfig cfg = small_config();
  cfg.seed = 99;
  TrainingState s = initial_state(c.view(), c.vocab, tokvec::TokenizerKind::words, 0, cfg);
  std::vector<float> row(cfg.dim);
  for (uint32_t r = 0; r < 20; ++r) {
    initial_input_row(99, r, row);
    for (uint32_t j = 0; j < cfg.dim; ++j) {
      EXPECT_EQ(row[j], s.input.row(r)[j]);
      EXPECT_LE(std::fabs(row[j]), 0.5f / static_cast<float>(cfg.dim));
      EXPECT_EQ(s.output.row(r)[j], 0.0f);
    }
  }
  initial_input_row(100, 0, row);
  EXPECT_NE(row[0], s.input.row(0)[0]);
}

TEST(Trainer, RunReturnsAtEachPauseAndContinuesToTheBytesOfAnUninterruptedRun) {
  CorpusData c = planted_corpus(500);
  for (std::string kernel : {"hogbatch", "pair"}) {
    SCOPED_TRACE(kernel);
    TrainConfig cfg = small_config();
    cfg.sample = 1e-2;
    cfg.kernel = kernel_from_name(kernel);
    const TrainingState reference = run(c, cfg);
    const uint64_t n = c.tokens.size();
    test::TempDir dir;
    TrainingState s = initial_state(c.view(), c.vocab, tokvec::TokenizerKind::words, 0, cfg);
    Trainer trainer(c.view(), cfg, s);  // the view is a temporary: the trainer keeps its own copy
    EXPECT_EQ(trainer.threads(), 1);
    int pauses = 0;
    for (uint64_t at : {uint64_t{1}, uint64_t{777}, n, n, 2 * n + 5, 3 * n - 9}) {
      TrainPause pause;
      pause.at_tokens = at;
      ASSERT_FALSE(trainer.run(pause)) << at;
      ++pauses;
      EXPECT_FALSE(trainer.finished());
      EXPECT_FALSE(s.cursor.empty());
      EXPECT_GE(s.tokens_done, at);
      EXPECT_LT(s.tokens_done, at + 8);  // stops at the next segment (line) start
      // At a pause the state holds every count so far: one input and one positive update
      // per pair, K negative ones.
      uint64_t inputs = 0, positives = 0, negatives = 0;
      for (size_t i = 0; i < c.vocab.size(); ++i) {
        inputs += s.input_updates[i];
        positives += s.output_positive_updates[i];
        negatives += s.output_negative_updates[i];
      }
      EXPECT_EQ(inputs, s.loss_count);
      EXPECT_EQ(positives, s.loss_count);
      EXPECT_EQ(negatives, cfg.negative * s.loss_count);
      if (at == 777) {
        // A checkpoint written at a pause resumes to the same bytes too.
        save_state(dir.file("paused.tkv"), s);
        TrainingState resumed = load_state(dir.file("paused.tkv"));
        EXPECT_TRUE(train(c.view(), cfg, resumed, TrainPause{}));
        expect_same_state(resumed, reference);
      }
    }
    EXPECT_EQ(pauses, 6);
    EXPECT_TRUE(trainer.run());
    EXPECT_TRUE(trainer.finished());
    EXPECT_TRUE(s.cursor.empty());
    expect_same_state(s, reference);
    EXPECT_TRUE(trainer.run());  // nothing left to do
    expect_same_state(s, reference);
  }
}

TEST(Trainer, CountsAreExactWithSeveralThreadsAndRowsBeyondTheThreadLocalOnes) {
  // 70,000 ids, so rows above the first 65,536 (counted with atomics, not in each thread's
  // own arrays) are trained too: every line mixes frequent low ids with rare high ones.
  const uint32_t vocab = 70000;
  Rng rng(9, 0);
  std::vector<std::vector<uint32_t>> lines;
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint32_t> line;
    for (int k = 0; k < 12; ++k) {
      line.push_back(k % 2 ? static_cast<uint32_t>(rng.below(50)) : 65536 - 40 + static_cast<uint32_t>(rng.below(vocab - 65536 + 40)));
    }
    lines.push_back(line);
  }
  CorpusData c = make_corpus(lines, vocab);
  for (int threads : {2, 4}) {
    for (std::string kernel : {"hogbatch", "pair"}) {
      SCOPED_TRACE(std::to_string(threads) + " threads, kernel " + kernel);
      TrainConfig cfg = small_config();
      cfg.dim = 8;
      cfg.window = 1;  // never shrinks: the pairs are symmetric, so each row is as often input as positive target
      cfg.sample = 0;
      cfg.epochs = 2;
      cfg.threads = threads;
      cfg.kernel = kernel_from_name(kernel);
      TrainingState s = initial_state(c.view(), c.vocab, tokvec::TokenizerKind::words, 0, cfg);
      Trainer trainer(c.view(), cfg, s);
      ASSERT_EQ(trainer.threads(), threads);
      uint64_t at = 0;
      bool done = false;
      while (!done) {
        TrainPause pause;
        pause.at_tokens = at += c.tokens.size() / 3;
        done = trainer.run(pause);
        uint64_t inputs = 0, positives = 0, negatives = 0, high = 0;
        for (uint32_t i = 0; i < vocab; ++i) {
          inputs += s.input_updates[i];
          positives += s.output_positive_updates[i];
          negatives += s.output_negative_updates[i];
          if (i >= 65536) high += s.input_updates[i];
        }
        EXPECT_EQ(inputs, s.loss_count);
        EXPECT_EQ(positives, s.loss_count);
        EXPECT_EQ(negatives, cfg.negative * s.loss_count);
        EXPECT_EQ(s.input_updates, s.output_positive_updates);
        if (s.tokens_done > 0) {
          EXPECT_GT(high, 0u);
        }
      }
      EXPECT_EQ(s.tokens_done, s.tokens_total);
      // Segments end at line ends and shares cut a line at most once per take-over, so
      // nearly every neighbour pair of the 2 x 2,000 lines of 12 tokens (22 pairs each,
      // counted in both directions) is trained.
      EXPECT_LE(s.loss_count, uint64_t{2} * 2000 * 22);
      EXPECT_GE(s.loss_count, uint64_t{2} * 2000 * 22 - 200);
    }
  }
}

TEST(TrainConfig, RangesAreChecked) {
  CorpusData c = planted_corpus(10);
  auto refuses = [&](auto change, ErrorKind kind, const std::string& words) {
    TrainConfig cfg = small_config();
    change(cfg);
    try {
      cfg.validate(c.view(), "corp.tkc");
      ADD_FAILURE() << "accepted: " << words;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), kind) << e.what();
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  refuses([](TrainConfig& x) { x.dim = 0; }, ErrorKind::usage, "dim must be");
  refuses([](TrainConfig& x) { x.dim = 100000; }, ErrorKind::usage, "dim must be");
  refuses([](TrainConfig& x) { x.window = 0; }, ErrorKind::usage, "window must be");
  refuses([](TrainConfig& x) { x.negative = 0; }, ErrorKind::usage, "negative must be");
  refuses([](TrainConfig& x) { x.lr = 0; }, ErrorKind::usage, "lr must be");
  refuses([](TrainConfig& x) { x.sample = -1; }, ErrorKind::usage, "sample must be");
  refuses([](TrainConfig& x) { x.threads = 81; }, ErrorKind::usage, "threads 81 is more");
  refuses([](TrainConfig& x) { x.window = 80; }, ErrorKind::input, "window");
  CorpusData empty = make_corpus({}, 1);
  EXPECT_THROW(small_config().validate(empty.view(), "e"), Error);
  EXPECT_NO_THROW(small_config().validate(c.view(), "corp.tkc"));
}

TEST(TrainConfig, JsonRoundTrip) {
  TrainConfig a = small_config();
  a.seed = 12345678901234ull;
  a.kernel = Kernel::pair;
  a.sample = 3e-5;
  TrainConfig b = TrainConfig::from_json(nlohmann::json::parse(a.to_json().dump()));
  EXPECT_EQ(b.to_json(), a.to_json());
  EXPECT_THROW(TrainConfig::from_json(nlohmann::json{{"dim", "big"}}), Error);
  EXPECT_EQ(TrainConfig::from_json(nlohmann::json{{"mode", "words"}}).to_json(), TrainConfig{}.to_json());
  EXPECT_EQ(a.to_json().at("kernel"), "pair");
}

TEST(TrainConfig, TheKernelIsParsedAndPrintedByName) {
  EXPECT_EQ(parse_kernel("hogbatch"), Kernel::hogbatch);
  EXPECT_EQ(parse_kernel("pair"), Kernel::pair);
  EXPECT_FALSE(parse_kernel("Pair").has_value());
  EXPECT_EQ(kernel_name(Kernel::pair), "pair");
  try {
    kernel_from_name("fast");
    ADD_FAILURE() << "accepted fast";
  } catch (const FieldError& e) {
    EXPECT_EQ(e.field(), "kernel");
    EXPECT_STREQ(e.what(), "kernel must be hogbatch or pair, got 'fast'");
  }
  // config.json's value: a bad name is an error naming the key.
  try {
    TrainConfig::from_json(nlohmann::json{{"kernel", "fast"}}, "config.json");
    ADD_FAILURE() << "accepted fast";
  } catch (const FieldError& e) {
    EXPECT_EQ(e.field(), "kernel");
  }
}

}  // namespace
}  // namespace tokvec
