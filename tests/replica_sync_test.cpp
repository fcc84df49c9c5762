// The replicas' synchronisation maths on fake replicas in one process: each replica packs,
// the test sums the packed buffers (what MPI's allreduce does), each replica applies the
// sum; the results are checked against sums worked out by hand. Also the job's progress
// from the ranks' positions.
#include "distributed/replica_sync.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "distributed/distributed.h"

namespace tokvec {
namespace {

constexpr size_t kRows = 4;
constexpr size_t kCols = 3;

/// P replicas of a model whose rows all start from the same values (the agreed base).
struct Replicas {
  std::vector<Matrix> in, out;
  std::vector<std::unique_ptr<ReplicaSync>> sync;
  Replicas(int p, SyncMode mode, uint64_t rows = 8192) : in(p, Matrix(kRows, kCols)), out(p, Matrix(kRows, kCols)) {
    for (int r = 0; r < p; ++r) {
      for (size_t row = 0; row < kRows; ++row) {
        for (size_t c = 0; c < kCols; ++c) {
          in[r].row(row)[c] = static_cast<float>(row) + 0.5f * static_cast<float>(c);
          out[r].row(row)[c] = -static_cast<float>(row);
        }
      }
    }
    for (int r = 0; r < p; ++r) sync.push_back(std::make_unique<ReplicaSync>(in[r], out[r], mode, rows, p));
  }
  size_t size() const { return sync.size(); }
  /// The live sync of rows [0, r): every replica packs, the sums (in rank order, as a
  /// reduction would) go to every replica, every replica applies.
  void sync_rows(size_t r) {
    std::vector<std::vector<float>> packs;
    for (auto& s : sync) {
      std::span<const float> p = s->pack_rows(r);
      packs.emplace_back(p.begin(), p.end());
    }
    for (auto& s : sync) {
      std::span<float> into = s->receive(r);
      ASSERT_EQ(into.size(), packs[0].size());
      for (size_t k = 0; k < into.size(); ++k) {
        float total = 0.0f;
        for (const auto& p : packs) total += p[k];
        into[k] = total;
      }
    }
    for (auto& s : sync) s->apply_rows(r);
  }
  /// The combination: sums onto replica 0, which finishes; its matrices go to the others.
  void combine_all() {
    for (int m = 0; m < 2; ++m) {
      std::vector<std::vector<float>> packs;
      for (auto& s : sync) {
        std::span<const float> p = s->pack_all(m);
        packs.emplace_back(p.begin(), p.end());
      }
      std::span<float> into = sync[0]->receive_all(m);
      for (size_t k = 0; k < into.size(); ++k) {
        float total = 0.0f;
        for (const auto& p : packs) total += p[k];
        into[k] = total;
      }
      sync[0]->finish_all(m);
      for (size_t r = 1; r < size(); ++r) sync[r]->matrix(m) = Matrix(sync[0]->matrix(m));
      for (auto& s : sync) s->adopt_all(m);
    }
  }
};

float base_in(size_t row, size_t c) { return static_cast<float>(row) + 0.5f * static_cast<float>(c); }

TEST(ReplicaSync, ModeNamesRoundTrip) {
  for (SyncMode m : {SyncMode::adaptive, SyncMode::average, SyncMode::sum, SyncMode::hybrid}) {
    EXPECT_EQ(parse_sync_mode(sync_mode_name(m)), m);
  }
  EXPECT_FALSE(parse_sync_mode("mean"));
  EXPECT_FALSE(parse_sync_mode(""));
  EXPECT_EQ(SyncOptions{}.mode, SyncMode::adaptive);
}

TEST(ReplicaSync, SumAddsEveryReplicasProgress) {
  Replicas f(3, SyncMode::sum);
  // Row 1 of the input matrix: replica r moves column c by (r + 1) · 0.25 (exact in floats).
  for (size_t r = 0; r < 3; ++r) {
    for (size_t c = 0; c < kCols; ++c) f.in[r].row(1)[c] += 0.25f * static_cast<float>(r + 1);
  }
  f.out[2].row(0)[2] += 2.0f;  // only replica 2 moves output row 0
  f.sync_rows(kRows);
  for (size_t r = 0; r < 3; ++r) {
    for (size_t c = 0; c < kCols; ++c) {
      EXPECT_EQ(f.in[r].row(1)[c], base_in(1, c) + 1.5f) << r << "," << c;  // 0.25 + 0.5 + 0.75
      EXPECT_EQ(f.in[r].row(0)[c], base_in(0, c));                          // nobody moved it
    }
    EXPECT_EQ(f.out[r].row(0)[2], 2.0f);
    EXPECT_EQ(f.out[r].row(0)[1], 0.0f);
  }
  EXPECT_EQ(f.sync[0]->syncs, 1u);
  EXPECT_EQ(f.sync[0]->full_syncs, 1u);
  EXPECT_EQ(f.sync[0]->payload_bytes, 2 * kRows * kCols * sizeof(float));
}

TEST(ReplicaSync, SumConservesTheTotalMoveOverSeveralSyncs) {
  // Whatever the replicas do between syncs, after a sync each holds base + Σ moves: the
  // replicas' summed progress is neither lost nor counted twice.
  Replicas f(3, SyncMode::sum);
  float total = 0.0f;
  for (int round = 1; round <= 3; ++round) {
    for (size_t r = 0; r < 3; ++r) {
      const float step = 0.125f * static_cast<float>(round) * static_cast<float>(r + 1);
      f.in[r].row(3)[0] += step;
      total += step;
    }
    f.sync_rows(kRows);
    for (size_t r = 0; r < 3; ++r) EXPECT_EQ(f.in[r].row(3)[0], base_in(3, 0) + total) << round;
  }
}

TEST(ReplicaSync, AverageTakesTheMean) {
  Replicas f(3, SyncMode::average);
  f.in[0].row(2)[1] = 1.0f;
  f.in[1].row(2)[1] = 2.0f;
  f.in[2].row(2)[1] = 6.0f;
  f.sync_rows(kRows);
  for (size_t r = 0; r < 3; ++r) {
    EXPECT_FLOAT_EQ(f.in[r].row(2)[1], 3.0f);
    EXPECT_FLOAT_EQ(f.in[r].row(1)[2], base_in(1, 2));  // equal replicas keep their value
  }
}

TEST(ReplicaSync, ProgressDuringTheCollectiveStaysOnTop) {
  Replicas f(2, SyncMode::sum);
  std::vector<std::vector<float>> packs;
  for (auto& s : f.sync) {
    std::span<const float> p = s->pack_rows(kRows);
    packs.emplace_back(p.begin(), p.end());
  }
  f.in[0].row(0)[0] += 0.5f;  // a worker on replica 0 after the snapshot
  for (auto& s : f.sync) {
    std::span<float> into = s->receive(kRows);
    for (size_t k = 0; k < into.size(); ++k) into[k] = packs[0][k] + packs[1][k];
  }
  for (auto& s : f.sync) s->apply_rows(kRows);
  EXPECT_EQ(f.in[0].row(0)[0], base_in(0, 0) + 0.5f);
  EXPECT_EQ(f.in[1].row(0)[0], base_in(0, 0));
  // The next sync sends that 0.5 as replica 0's delta from the agreed base.
  f.sync_rows(kRows);
  EXPECT_EQ(f.in[1].row(0)[0], base_in(0, 0) + 0.5f);
}

TEST(ReplicaSync, AdaptiveSumsUnrelatedMovesAndAveragesRepeatedOnes) {
  Replicas f(3, SyncMode::adaptive);
  // Row 0: every replica made the same move (1, 0, 0): ρ = |3δ|² / 3|δ|² = 3, the mean.
  for (size_t r = 0; r < 3; ++r) f.in[r].row(0)[0] += 1.0f;
  // Row 1: orthogonal moves, one axis each: ρ = 1, the sum.
  for (size_t r = 0; r < 3; ++r) f.in[r].row(1)[r] += 2.0f;
  // Row 2: one replica alone moved it: ρ = 1, its whole move.
  f.in[1].row(2)[2] += 4.0f;
  f.sync_rows(kRows);
  for (size_t r = 0; r < 3; ++r) {
    EXPECT_FLOAT_EQ(f.in[r].row(0)[0], base_in(0, 0) + 1.0f);
    for (size_t c = 0; c < kCols; ++c) EXPECT_FLOAT_EQ(f.in[r].row(1)[c], base_in(1, c) + 2.0f);
    EXPECT_FLOAT_EQ(f.in[r].row(2)[2], base_in(2, 2) + 4.0f);
    EXPECT_FLOAT_EQ(f.in[r].row(3)[1], base_in(3, 1));
  }
  // Adaptive sends one squared norm per row besides the rows.
  EXPECT_EQ(f.sync[0]->payload_bytes, (2 * kRows * kCols + 2 * kRows) * sizeof(float));
  const float d[3] = {3.0f, 0.0f, 0.0f};
  EXPECT_FLOAT_EQ(adaptive_gain(d, 3, 3.0f), 1.0f / 3.0f);
  EXPECT_EQ(adaptive_gain(d, 3, 0.0f), 1.0f);  // nobody moved: no division by zero
}

TEST(ReplicaSync, HybridAveragesTheFrequentRowsAndSumsTheRest) {
  Replicas f(2, SyncMode::hybrid, /*rows=*/2);
  for (size_t row = 0; row < kRows; ++row) {
    f.in[0].row(row)[0] += 1.0f;
    f.in[1].row(row)[0] += 3.0f;
  }
  f.sync_rows(kRows);
  for (size_t r = 0; r < 2; ++r) {
    EXPECT_EQ(f.in[r].row(0)[0], base_in(0, 0) + 2.0f);  // averaged
    EXPECT_EQ(f.in[r].row(1)[0], base_in(1, 0) + 2.0f);
    EXPECT_EQ(f.in[r].row(2)[0], base_in(2, 0) + 4.0f);  // summed
    EXPECT_EQ(f.in[r].row(3)[0], base_in(3, 0) + 4.0f);
  }
  EXPECT_EQ(sync_rule(SyncMode::hybrid, 1, 2), SyncRule::average);
  EXPECT_EQ(sync_rule(SyncMode::hybrid, 2, 2), SyncRule::sum);
}

TEST(ReplicaSync, APartialSyncLeavesTheOtherRowsAlone) {
  Replicas f(2, SyncMode::sum);
  for (size_t r = 0; r < 2; ++r) {
    f.in[r].row(0)[0] += 1.0f;
    f.in[r].row(3)[0] += 1.0f;
  }
  f.sync_rows(2);
  for (size_t r = 0; r < 2; ++r) {
    EXPECT_EQ(f.in[r].row(0)[0], base_in(0, 0) + 2.0f);
    EXPECT_EQ(f.in[r].row(3)[0], base_in(3, 0) + 1.0f);  // not synced yet: the local value
  }
  EXPECT_EQ(f.sync[0]->full_syncs, 0u);
  f.sync_rows(kRows);  // the full sync catches row 3 up from its old base
  for (size_t r = 0; r < 2; ++r) EXPECT_EQ(f.in[r].row(3)[0], base_in(3, 0) + 2.0f);
  EXPECT_EQ(f.sync[0]->syncs, 2u);
  EXPECT_EQ(f.sync[0]->full_syncs, 1u);
}

TEST(ReplicaSync, CombineAllLeavesEveryReplicaBitIdentical) {
  for (SyncMode mode : {SyncMode::sum, SyncMode::average, SyncMode::adaptive, SyncMode::hybrid}) {
    Replicas f(3, mode, 2);
    for (size_t r = 0; r < 3; ++r) {
      for (size_t row = 0; row < kRows; ++row) f.out[r].row(row)[1] += 0.25f * static_cast<float>(r + row);
    }
    f.in[1].row(2)[0] += 1.0f;
    f.combine_all();
    for (size_t r = 1; r < 3; ++r) {
      for (int m = 0; m < 2; ++m) {
        std::span<const float> a = f.sync[0]->matrix(m).storage(), b = f.sync[r]->matrix(m).storage();
        EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end())) << sync_mode_name(mode) << " replica " << r;
      }
    }
    // Row 2 moved on replica 1 alone: summed (or, averaged, a third of it).
    const float expect = mode == SyncMode::average ? base_in(2, 0) + 1.0f / 3.0f : base_in(2, 0) + 1.0f;
    EXPECT_FLOAT_EQ(f.in[0].row(2)[0], expect) << sync_mode_name(mode);
    // The combined model is the new base: a sync with no moves changes nothing.
    const Matrix before(f.in[2]);
    f.sync_rows(kRows);
    for (size_t row = 0; row < kRows; ++row) {
      for (size_t c = 0; c < kCols; ++c) EXPECT_FLOAT_EQ(f.in[2].row(row)[c], before.row(row)[c]) << sync_mode_name(mode);
    }
  }
}

TEST(ReplicaSync, JobProgressSumsTheRanksExactly) {
  std::vector<RankCursor> ranks(3);
  ranks[0] = {0, 100, 250, 2, "a"};
  ranks[1] = {100, 200, 300, 3, ""};
  ranks[2] = {200, 301, 180, 1, "c"};
  TrainingState s;
  set_job_progress(s, ranks, 301, 3);
  EXPECT_EQ(s.tokens_done, 730u);
  EXPECT_EQ(s.epochs_done, 1u);
  ASSERT_FALSE(s.cursor.empty());
  const auto decoded = decode_job_cursor(s.cursor, "test", 301);
  ASSERT_TRUE(decoded);
  ASSERT_EQ(decoded->size(), 3u);
  EXPECT_EQ((*decoded)[2].trainer_cursor, "c");
  EXPECT_EQ(cursor_ranks(s.cursor), 3);
  for (RankCursor& r : ranks) r.trainer_cursor.clear();  // every rank done
  set_job_progress(s, ranks, 301, 3);
  EXPECT_TRUE(s.cursor.empty());
}

}  // namespace
}  // namespace tokvec
