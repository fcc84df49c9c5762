// Checkpoint files of a run: interval parsing, naming, rotation and fallback to an older
// checkpoint when the newest is damaged.
#include <csignal>
#include <filesystem>

#include "test_util.h"
#include "tokvec/checkpoint.h"
#include "base/interrupt.h"
#include "tokvec/status.h"

namespace tokvec {
namespace {

using test::TempDir;
using test::tiny_state;

TEST(CheckpointEvery, ParsesTimeTokensAndOff) {
  EXPECT_DOUBLE_EQ(CheckpointEvery::parse("30s").seconds, 30.0);
  EXPECT_DOUBLE_EQ(CheckpointEvery::parse("10m").seconds, 600.0);
  EXPECT_DOUBLE_EQ(CheckpointEvery::parse("1.5h").seconds, 5400.0);
  EXPECT_EQ(CheckpointEvery::parse("5000000").tokens, 5000000u);
  EXPECT_FALSE(CheckpointEvery::parse("off").enabled());
  EXPECT_FALSE(CheckpointEvery::parse("0").enabled());
  for (const char* bad : {"", "s", "10x", "-5m", "0.5s", "999", "1e6", "1.5", "1..2m", "99999999999999999999", "800h"}) {
    try {
      CheckpointEvery::parse(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::usage);
      EXPECT_NE(std::string(e.what()).find("checkpoint_every"), std::string::npos);
    }
  }
}

TEST(Checkpoints, ListPruneAndFallBackToAnOlderOne) {
  TempDir dir;
  for (uint64_t seq : {1, 2, 3}) save_state(checkpoint_path(dir.path().string(), seq), tiny_state(seq * 10));
  test::write_text(dir.file("checkpoint-000004.tkv.tmp.123"), "half-written");  // ignored
  test::write_text(dir.file("notes.txt"), "ignored");
  auto all = list_checkpoints(dir.path().string());
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all.back().first, 3u);

  // Damage the newest: the loader warns, names it, and falls back to number 2.
  std::string newest = test::read_text(all.back().second);
  newest[newest.size() / 2] ^= 0x55;
  test::write_text(all.back().second, newest);
  std::vector<std::string> warnings;
  auto loaded = load_newest_checkpoint(dir.path().string(), [&](const std::string& w) { warnings.push_back(w); });
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->sequence, 2u);
  EXPECT_EQ(loaded->state.tokens_done, 20u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("checkpoint-000003.tkv"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("section"), std::string::npos) << warnings[0];

  // Truncate number 2 as well: number 1 is used.
  std::string second = test::read_text(all[1].second);
  test::write_text(all[1].second, second.substr(0, second.size() - 7));
  warnings.clear();
  loaded = load_newest_checkpoint(dir.path().string(), [&](const std::string& w) { warnings.push_back(w); });
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->sequence, 1u);
  EXPECT_EQ(warnings.size(), 2u);

  prune_checkpoints(dir.path().string(), 1);
  all = list_checkpoints(dir.path().string());
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].first, 3u);
}

TEST(Checkpoints, NoneUsable) {
  TempDir dir;
  EXPECT_FALSE(load_newest_checkpoint(dir.path().string(), [](const std::string&) {}).has_value());
}

TEST(Checkpoints, FailedWriteKeepsThePreviousCheckpoint) {
  TempDir dir;
  std::string path = checkpoint_path(dir.path().string(), 1);
  save_state(path, tiny_state(10));
  std::string before = test::read_text(path);
  EXPECT_THROW(save_state(path, tiny_state(20), /*fail_after_bytes=*/200), Error);
  EXPECT_EQ(test::read_text(path), before);
  EXPECT_EQ(list_checkpoints(dir.path().string()).size(), 1u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}

TEST(InterruptGuard, FlagsASignalAndRestoresTheHandler) {
  {
    InterruptGuard guard;
    EXPECT_FALSE(InterruptGuard::requested());
    std::raise(SIGTERM);
    EXPECT_TRUE(InterruptGuard::requested());
    EXPECT_EQ(InterruptGuard::signal_number(), SIGTERM);
  }
  struct sigaction current {};
  sigaction(SIGTERM, nullptr, &current);
  EXPECT_EQ(current.sa_handler, SIG_DFL);
}

}  // namespace
}  // namespace tokvec
