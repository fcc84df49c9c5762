// The training session's loop in process, over a fake backend that "trains" by counting
// tokens (no threads, no corpus): when checkpoints are written and pruned, a stop on a
// signal, the summary and state.tkv, and resuming from the checkpoint a stop left.
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "run/backend.h"
#include "run/session_detail.h"
#include "test_util.h"
#include "tokvec/checkpoint.h"
#include "tokvec/run.h"
#include "tokvec/status.h"

namespace tokvec {
namespace {

using test::TempDir;

/// Advances tokens_done by `step` a call until the run's 100 tokens are done, pausing where
/// the session's goal says (a checkpoint due on its schedule, a report), and reports
/// SIGINT once when tokens_done reaches `signal_at`. Each pair's loss is 1.
class CountingBackend : public detail::TrainingBackend {
 public:
  CountingBackend(TrainingState& state, uint64_t step, uint64_t signal_at = UINT64_MAX)
      : state_(state), step_(step), signal_at_(signal_at) {}

  detail::StretchEnd run(const detail::StretchGoal& goal) override {
    detail::StretchEnd end;
    for (;;) {
      if (state_.tokens_done >= signal_at_) {
        signal_at_ = UINT64_MAX;
        end.signal = SIGINT;
        return end;
      }
      const uint64_t next = std::min(state_.tokens_total, state_.tokens_done + step_);
      state_.loss_sum += static_cast<double>(next - state_.tokens_done);
      state_.loss_count += next - state_.tokens_done;
      state_.tokens_done = next;
      if (state_.finished()) {
        state_.cursor.clear();
        end.finished = true;
        return end;
      }
      if (goal.checkpoints) {
        end.due = goal.schedule->due(state_.tokens_done, CheckpointSchedule::Clock::now());
        if (end.due.any()) {
          end.checkpoint = true;
          return end;
        }
      }
      if (state_.tokens_done >= goal.report_at) return end;
    }
  }
  uint64_t tokens_done() const override { return state_.tokens_done; }
  uint64_t tokens_total() const override { return state_.tokens_total; }
  void with_state(const std::function<void(const TrainingState&)>& use) override { use(state_); }

 private:
  TrainingState& state_;
  uint64_t step_;
  uint64_t signal_at_;
};

SessionOptions every_tokens(uint64_t tokens, size_t keep) {
  SessionOptions o;
  o.checkpoints.every = CheckpointEvery{};
  o.checkpoints.every.tokens = tokens;
  o.checkpoints.keep = keep;
  o.quiet = true;
  return o;
}

std::vector<uint64_t> sequences(const std::string& dir) {
  std::vector<uint64_t> out;
  for (const auto& [seq, path] : list_checkpoints(dir)) out.push_back(seq);
  return out;
}

/// Drives a CountingBackend on `state` from checkpoint number `sequence`.
SessionResult drive(const RunDir& dir, TrainingState& state, uint64_t sequence, const SessionOptions& options, detail::RunLog& log,
                    uint64_t step, uint64_t signal_at = UINT64_MAX) {
  return detail::train_to_end(dir, sequence, options, log,
                              [&] { return std::make_unique<CountingBackend>(state, step, signal_at); });
}

TEST(SessionLoop, WritesCheckpointsWhenDueKeepsTheNewestAndEndsWithTheState) {
  TempDir tmp;
  const RunDir dir = RunDir::create(tmp.path().string(), false);
  TrainingState state = test::tiny_state(0);
  detail::RunLog log(true);
  const SessionResult r = drive(dir, state, 0, every_tokens(30, 2), log, 10);
  EXPECT_EQ(r.outcome, SessionResult::Outcome::finished);
  // Due at 30, 60 and 90 tokens: three written, the two newest kept.
  EXPECT_EQ(sequences(dir.path()), (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(load_state(checkpoint_path(dir.path(), 2)).tokens_done, 60u);
  EXPECT_EQ(load_state(checkpoint_path(dir.path(), 3)).tokens_done, 90u);
  const TrainingState end = load_state(dir.file("state.tkv"));
  EXPECT_TRUE(end.finished());
  EXPECT_EQ(end.loss_count, 100u);
  const std::string text = test::read_text(dir.file("train.log"));
  EXPECT_EQ(text, log.text());
  EXPECT_NE(text.find("checkpoint checkpoint-000003.tkv at 90 of 100 tokens"), std::string::npos) << text;
  EXPECT_NE(text.find("trained 100 tokens in "), std::string::npos) << text;
  EXPECT_NE(text.find("mean loss 1.0000 over 100 pairs"), std::string::npos) << text;
  EXPECT_NE(text.find("at the end: "), std::string::npos) << text;
  EXPECT_EQ(text.find("since the resume"), std::string::npos) << text;
}

TEST(SessionLoop, KeepsAsManyCheckpointsAsThePolicySays) {
  TempDir tmp;
  const RunDir dir = RunDir::create(tmp.path().string(), false);
  TrainingState state = test::tiny_state(0);
  detail::RunLog log(true);
  drive(dir, state, 0, every_tokens(20, 3), log, 10);
  // Due at 20, 40, 60 and 80 tokens.
  EXPECT_EQ(sequences(dir.path()), (std::vector<uint64_t>{2, 3, 4}));
}

TEST(SessionLoop, WithCheckpointsOffWritesOnlyTheState) {
  TempDir tmp;
  const RunDir dir = RunDir::create(tmp.path().string(), false);
  TrainingState state = test::tiny_state(0);
  detail::RunLog log(true);
  SessionOptions options = every_tokens(0, 2);
  ASSERT_FALSE(options.checkpoints.every.enabled());
  EXPECT_EQ(drive(dir, state, 0, options, log, 10).outcome, SessionResult::Outcome::finished);
  EXPECT_TRUE(list_checkpoints(dir.path()).empty());
  EXPECT_TRUE(load_state(dir.file("state.tkv")).finished());
}

TEST(SessionLoop, ASignalWritesACheckpointAndStopsThenResumeContinuesFromIt) {
  TempDir tmp;
  const std::string path = tmp.path().string();
  {
    const RunDir dir = RunDir::create(path, false);
    TrainingState state = test::tiny_state(0);
    detail::RunLog log(true);
    const SessionResult r = drive(dir, state, 0, every_tokens(30, 2), log, 10, /*signal_at=*/50);
    EXPECT_EQ(r.outcome, SessionResult::Outcome::stopped);
    EXPECT_EQ(r.signal, SIGINT);
    EXPECT_EQ(r.checkpoint, checkpoint_path(path, 2));
    EXPECT_EQ(sequences(path), (std::vector<uint64_t>{1, 2}));
    EXPECT_FALSE(dir.has("state.tkv"));
  }
  // Resume selection: the newest valid checkpoint, the one the stop named.
  const RunDir dir = RunDir::open(path);
  std::vector<std::string> warnings;
  std::optional<LoadedCheckpoint> loaded = dir.newest_checkpoint([&](const std::string& w) { warnings.push_back(w); });
  ASSERT_TRUE(loaded.has_value());
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(loaded->sequence, 2u);
  EXPECT_EQ(loaded->state.tokens_done, 50u);
  detail::RunLog log(true);
  const SessionResult r = drive(dir, loaded->state, loaded->sequence, every_tokens(30, 2), log, 10);
  EXPECT_EQ(r.outcome, SessionResult::Outcome::finished);
  // The schedule restarts at the resumed tokens: due at 80; numbering goes on from 2.
  EXPECT_EQ(sequences(path), (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(load_state(checkpoint_path(path, 3)).tokens_done, 80u);
  EXPECT_NE(log.text().find("trained 100 tokens (50 of them since the resume)"), std::string::npos) << log.text();
  EXPECT_TRUE(load_state(dir.file("state.tkv")).finished());
}

TEST(SessionLoop, ResumeSkipsADamagedNewestCheckpoint) {
  TempDir tmp;
  const std::string path = tmp.path().string();
  {
    const RunDir dir = RunDir::create(path, false);
    TrainingState state = test::tiny_state(0);
    detail::RunLog log(true);
    drive(dir, state, 0, every_tokens(30, 2), log, 10, /*signal_at=*/50);
  }
  std::filesystem::resize_file(checkpoint_path(path, 2), 40);
  const RunDir dir = RunDir::open(path);
  std::vector<std::string> warnings;
  std::optional<LoadedCheckpoint> loaded = dir.newest_checkpoint([&](const std::string& w) { warnings.push_back(w); });
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->sequence, 1u);
  EXPECT_EQ(loaded->state.tokens_done, 30u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("checkpoint-000002.tkv"), std::string::npos) << warnings[0];
}

TEST(SessionLoop, AFailedCheckpointStopsTrainingAndKeepsThePreviousOne) {
  TempDir tmp;
  const RunDir dir = RunDir::create(tmp.path().string(), false);
  TrainingState state = test::tiny_state(0);
  detail::RunLog log(true);
  // A stop at 30 tokens writes the first checkpoint; then every write fails.
  const SessionResult first = drive(dir, state, 0, every_tokens(1000, 2), log, 10, /*signal_at=*/30);
  ASSERT_EQ(first.outcome, SessionResult::Outcome::stopped);
  ASSERT_EQ(sequences(dir.path()), (std::vector<uint64_t>{1}));
  SessionOptions options = every_tokens(30, 2);
  options.checkpoints.fail_after_bytes = 16;
  try {
    drive(dir, state, 1, options, log, 10);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io) << e.what();
  }
  EXPECT_EQ(sequences(dir.path()), (std::vector<uint64_t>{1}));
  EXPECT_FALSE(dir.has("state.tkv"));
  EXPECT_NE(test::read_text(dir.file("train.log")).find("checkpoint failed: "), std::string::npos);
}

}  // namespace
}  // namespace tokvec
