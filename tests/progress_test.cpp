// The progress line: human units, and a rate and closing time that cover work done in
// stretches (training pauses for checkpoints and resumes in a new reporter).
#include "base/progress.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace tokvec {
namespace {

TEST(Progress, HumanUnits) {
  EXPECT_EQ(human_count(999), "999");
  EXPECT_EQ(human_count(1234), "1.23 k");
  EXPECT_EQ(human_count(4.56e6), "4.56 M");
  // A unit symbol joins its prefix; a unit word follows the count.
  EXPECT_EQ(human_amount(3.0e6, "B"), "3.00 MB");
  EXPECT_EQ(human_amount(512, "B"), "512 B");
  EXPECT_EQ(human_amount(4.56e6, "tokens"), "4.56 M tokens");
  EXPECT_EQ(human_duration(12.34), "12.3s");
  EXPECT_EQ(human_duration(83), "1m23s");
  EXPECT_EQ(human_duration(2 * 3600 + 5 * 60), "2h05m");
  EXPECT_EQ(human_duration(-1), "?");
}

TEST(Progress, ByteCountsPrintAsMegabytes) {
  testing::internal::CaptureStderr();
  {
    ProgressReporter bytes("encode", 0, "B", /*quiet=*/false);
    bytes.finish(3000000);
  }
  const std::string line = testing::internal::GetCapturedStderr();
  EXPECT_NE(line.find("encode: 3.00 MB  "), std::string::npos) << line;
  EXPECT_EQ(line.find("M B"), std::string::npos) << line;
}

/// The closing line of a reporter made for the last stretch of a run: with count_from it
/// reports the whole run's tokens over the whole run's time, not the stretch's.
TEST(Progress, ClosingLineCoversTheWholeRunWhenToldWhereItBegan) {
  // The run began 100 s ago with 1,000 tokens already done (a resumed run); the last
  // stretch's reporter starts now at 9,000 tokens, and the run finishes at 11,000.
  const auto began = std::chrono::steady_clock::now() - std::chrono::seconds(100);
  testing::internal::CaptureStderr();
  {
    ProgressReporter whole("train", 11000, "tokens", /*quiet=*/false, 15.0, 9000);
    whole.count_from(began, 1000);
    whole.finish(11000, "mean loss 1.0");
  }
  const std::string line = testing::internal::GetCapturedStderr();
  // 10,000 tokens in 100 s (plus the few microseconds of this test): 100 tokens/s.
  EXPECT_NE(line.find("train: 11.00 k tokens  100 tokens/s  in 1m40s  mean loss 1.0"), std::string::npos) << line;

  // Without it, the same reporter measures only itself: 2,000 tokens in no time.
  testing::internal::CaptureStderr();
  {
    ProgressReporter stretch("train", 11000, "tokens", /*quiet=*/false, 15.0, 9000);
    stretch.finish(11000);
  }
  const std::string short_line = testing::internal::GetCapturedStderr();
  EXPECT_EQ(short_line.find("in 1m40s"), std::string::npos) << short_line;
  EXPECT_NE(short_line.find("in 0.0s"), std::string::npos) << short_line;
}

}  // namespace
}  // namespace tokvec
