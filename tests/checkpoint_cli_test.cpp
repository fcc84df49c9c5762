// Checkpoints and --resume end to end, on real `tokvec train` processes: bit-identical
// resume (1 thread) from several points, SIGINT/SIGTERM, SIGKILL at random moments, a
// failing disk, and a damaged newest checkpoint.
#include <cstring>
#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "tokvec/checkpoint.h"

namespace tokvec {
namespace {

namespace fs = std::filesystem;
using test::run_cli;
using test::TempDir;
using test::copy_stopped_at;

/// About 30,000 tokens of a 300-word vocabulary in lines of 20, deterministic.
std::string synthetic_text() {
  std::mt19937 rng(7);
  std::string text;
  for (int line = 0; line < 1500; ++line) {
    for (int k = 0; k < 20; ++k) {
      int group = static_cast<int>(rng() % 30);
      text += "w" + std::to_string(group * 10 + static_cast<int>(rng() % 10)) + (k < 19 ? " " : "\n");
    }
  }
  return text;
}

const char* kSettings = " --words --min-count 1 --dim 16 --window 3 --negative 3 --sample 0 --seed 5 --quiet";

/// Runs a shell snippet (in single quotes: it must hold none); returns its status and output.
test::CliResult run_shell(const std::string& script) { return test::run_command("/bin/sh -c '" + script + "'"); }
using test::run_command;

void expect_same_model(const std::string& a_path, const std::string& b_path) {
  TrainingState a = load_state(a_path), b = load_state(b_path);
  ASSERT_TRUE(a.finished());
  ASSERT_TRUE(b.finished());
  EXPECT_EQ(a.tokens_done, b.tokens_done);
  EXPECT_EQ(a.loss_sum, b.loss_sum);
  EXPECT_EQ(a.input_updates, b.input_updates);
  EXPECT_EQ(a.output_positive_updates, b.output_positive_updates);
  EXPECT_EQ(a.output_negative_updates, b.output_negative_updates);
  ASSERT_EQ(a.input.storage().size(), b.input.storage().size());
  EXPECT_EQ(std::memcmp(a.input.storage().data(), b.input.storage().data(), a.input.storage().size_bytes()), 0)
      << "input vectors differ";
  EXPECT_EQ(std::memcmp(a.output.storage().data(), b.output.storage().data(), a.output.storage().size_bytes()), 0)
      << "output vectors differ";
}

void expect_no_temp_files(const std::string& folder) {
  for (const auto& entry : fs::directory_iterator(folder)) {
    EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << "left behind: " << entry.path();
  }
}

TEST(CheckpointCli, ResumeFromAnyCheckpointIsBitIdenticalWithOneThread) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), synthetic_text());
  const std::string full = dir.file("full");
  auto r = run_cli("train --input " + dir.file("in.txt") + " --output " + full + kSettings +
                   " --epochs 3 --threads 1 --checkpoint-every 10000 --keep 100");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto checkpoints = list_checkpoints(full);
  ASSERT_GE(checkpoints.size(), 6u);
  // A checkpoint is a full state: the audit reads it as it is.
  EXPECT_EQ(run_cli("audit " + checkpoints[1].second + " --top 0").exit_code, 0);
  // Kill points: after the first checkpoint, one in the middle, the last one.
  for (size_t k : {size_t{0}, checkpoints.size() / 2, checkpoints.size() - 1}) {
    SCOPED_TRACE("resumed from " + checkpoints[k].second);
    const std::string part = dir.file("part" + std::to_string(k));
    copy_stopped_at(full, checkpoints[k].second, part);
    auto resumed = run_cli("train --resume " + part + " --quiet");
    ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
    expect_same_model(full + "/state.tkv", part + "/state.tkv");
  }
  // Killed before its first checkpoint: the run starts over from config.json.
  const std::string early = dir.file("early");
  fs::create_directory(early);
  fs::copy_file(fs::path(full) / "config.json", fs::path(early) / "config.json");
  auto restarted = run_cli("train --resume " + early);
  ASSERT_EQ(restarted.exit_code, 0) << restarted.output;
  EXPECT_NE(restarted.output.find("starting over"), std::string::npos) << restarted.output;
  expect_same_model(full + "/state.tkv", early + "/state.tkv");
  // A finished run has nothing to resume.
  auto again = run_cli("train --resume " + full);
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.output.find("already finished"), std::string::npos) << again.output;
}

TEST(CheckpointCli, ARunWhoseSettingsRecordQuietResumesAndNewRunsRecordNoDisplayOption) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), synthetic_text());
  const std::string full = dir.file("full");
  auto r = run_cli("train --input " + dir.file("in.txt") + " --output " + full + kSettings +
                   " --epochs 2 --threads 1 --checkpoint-every 10000 --keep 100");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // --quiet is how the run was shown, not what it trains: neither file records it.
  const nlohmann::json config = nlohmann::json::parse(test::read_text(full + "/config.json"));
  EXPECT_FALSE(config.contains("quiet")) << config.dump();
  EXPECT_EQ(config.at("kernel"), "hogbatch");
  EXPECT_FALSE(nlohmann::json::parse(load_state(full + "/state.tkv").config_json).contains("quiet"));
  // A run stopped by an earlier version, which wrote "quiet" into config.json and into the
  // checkpoint's record of the settings (the rest of the files is the same bytes).
  auto checkpoints = list_checkpoints(full);
  ASSERT_GE(checkpoints.size(), 2u);
  const std::string old = dir.file("old");
  copy_stopped_at(full, checkpoints[1].second, old);
  nlohmann::json old_config = config;
  old_config["quiet"] = true;
  test::write_text(old + "/config.json", old_config.dump(2) + "\n");
  const std::string checkpoint = old + "/" + fs::path(checkpoints[1].second).filename().string();
  TrainingState state = load_state(checkpoint);
  nlohmann::json recorded = nlohmann::json::parse(state.config_json);
  recorded["quiet"] = true;
  state.config_json = recorded.dump();
  ASSERT_NE(state.config_json.find("\"quiet\":true"), std::string::npos);
  save_state(checkpoint, state);
  auto resumed = run_cli("train --resume " + old);  // not quiet this time: allowed
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  expect_same_model(full + "/state.tkv", old + "/state.tkv");
}

/// Starts a long 1-thread training, sends `signal` once training runs, and returns the
/// shell's report ("exit=N") and the command's output.
// Long enough (several seconds) that the signal, sent 0.3 s into training, lands mid-run;
// the sanitizer build runs about 15x slower, so it needs far fewer epochs for that.
constexpr const char* kLongRunEpochs = TOKVEC_TEST_SANITIZED ? " --epochs 40" : " --epochs 400";

test::CliResult interrupt_run(const std::string& input, const std::string& run, const char* signal) {
  const std::string cmd = std::string(TOKVEC_CLI_PATH) + " train --input " + input + " --output " + run + kSettings + kLongRunEpochs +
                          " --threads 1 --checkpoint-every off";
  return run_shell(cmd + " & pid=$!; while [ ! -f " + run + "/corpus.tkc ]; do sleep 0.02; done; sleep 0.3; kill -" +
                   signal + " $pid; wait $pid; echo exit=$?");
}

TEST(CheckpointCli, SignalStopsWithACheckpointAndResumesExactly) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), synthetic_text());
  for (const char* signal : {"INT", "TERM"}) {
    SCOPED_TRACE(signal);
    const std::string run = dir.file(std::string("run-") + signal);
    test::CliResult r = interrupt_run(dir.file("in.txt"), run, signal);
    const std::string code = std::string("exit=") + (std::strcmp(signal, "INT") == 0 ? "130" : "143");
    ASSERT_NE(r.output.find(code), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("Resume with: tokvec train --resume " + run), std::string::npos) << r.output;
    ASSERT_EQ(list_checkpoints(run).size(), 1u);
    EXPECT_FALSE(fs::exists(run + "/state.tkv"));
    EXPECT_FALSE(load_state(list_checkpoints(run)[0].second).finished());
    auto resumed = run_cli("train --resume " + run + " --quiet");
    ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
    EXPECT_TRUE(load_state(run + "/state.tkv").finished());
  }
  // The interrupted-and-resumed run equals an uninterrupted one, bit for bit.
  auto whole = run_cli("train --input " + dir.file("in.txt") + " --output " + dir.file("whole") + kSettings + kLongRunEpochs +
                       " --threads 1 --checkpoint-every off");
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  expect_same_model(dir.file("whole") + "/state.tkv", dir.file("run-INT") + "/state.tkv");
}

TEST(CheckpointCli, SurvivesSigkillAtRandomMomentsWithTwoThreads) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), synthetic_text());
  const std::string run = dir.file("run");
  // Until config.json exists there is nothing to resume: the user runs the same command
  // again (--force: a killed first attempt may have left a temporary file in the folder).
  const std::string start = std::string(TOKVEC_CLI_PATH) + " train --input " + dir.file("in.txt") + " --output " + run +
                            kSettings + " --epochs 150 --threads 2 --checkpoint-every 20000 --keep 2 --force";
  const std::string resume = std::string(TOKVEC_CLI_PATH) + " train --resume " + run + " --quiet --checkpoint-every 20000";
  auto next_command = [&] { return fs::exists(run + "/config.json") ? resume : start; };
  std::mt19937 rng(11);
  for (int attempt = 0; attempt < 5; ++attempt) {
    double delay = 0.05 + 0.75 * static_cast<double>(rng() % 1000) / 1000.0;
    run_shell(next_command() + " & pid=$!; sleep " + std::to_string(delay) + "; kill -KILL $pid; wait $pid");
    if (fs::exists(run + "/state.tkv")) break;  // finished before the kill
  }
  auto finished = run_command(next_command());
  ASSERT_EQ(finished.exit_code, 0) << finished.output;
  TrainingState s = load_state(run + "/state.tkv");
  EXPECT_TRUE(s.finished());
  EXPECT_LE(list_checkpoints(run).size(), 2u);
  expect_no_temp_files(run);
  EXPECT_EQ(run_cli("export " + run + " --format word2vec-text --output " + dir.file("v.vec")).exit_code, 0);
}

TEST(CheckpointCli, FailedCheckpointWriteStopsCleanly) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), synthetic_text());
  const std::string run = dir.file("run");
  auto r = run_cli("train --input " + dir.file("in.txt") + " --output " + run + kSettings +
                   " --epochs 3 --threads 1 --checkpoint-every 10000 --keep 100");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string first = list_checkpoints(run).front().second;
  // A run folder stopped at its first checkpoint, resumed on a disk that fills up after
  // 4 KiB of each write.
  const std::string part = dir.file("part");
  copy_stopped_at(run, first, part);
  const std::string kept = test::read_text(first);
  auto failed = run_shell("TOKVEC_TEST_FAIL_CHECKPOINT_AFTER_BYTES=4096 " + std::string(TOKVEC_CLI_PATH) +
                          " train --resume " + part + " --checkpoint-every 10000; echo exit=$?");
  EXPECT_NE(failed.output.find("exit=4"), std::string::npos) << failed.output;
  EXPECT_NE(failed.output.find("No space left on device"), std::string::npos) << failed.output;
  auto left = list_checkpoints(part);
  ASSERT_EQ(left.size(), 1u);  // the previous checkpoint, intact
  EXPECT_EQ(test::read_text(left[0].second), kept);
  EXPECT_FALSE(fs::exists(part + "/state.tkv"));
  expect_no_temp_files(part);
  EXPECT_NE(test::read_text(part + "/train.log").find("checkpoint failed"), std::string::npos);
  // With a working disk the same folder resumes and finishes, as if nothing had happened.
  ASSERT_EQ(run_cli("train --resume " + part + " --quiet").exit_code, 0);
  expect_same_model(run + "/state.tkv", part + "/state.tkv");
}

TEST(CheckpointCli, DamagedNewestCheckpointFallsBackWithAWarning) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), synthetic_text());
  const std::string run = dir.file("run");
  ASSERT_EQ(run_cli("train --input " + dir.file("in.txt") + " --output " + run + kSettings +
                    " --epochs 3 --threads 1 --checkpoint-every 10000 --keep 3").exit_code, 0);
  fs::remove(run + "/state.tkv");
  auto all = list_checkpoints(run);
  ASSERT_EQ(all.size(), 3u);
  std::string bytes = test::read_text(all.back().second);
  test::write_text(all.back().second, bytes.substr(0, bytes.size() / 2));  // cut in half
  auto r = run_cli("train --resume " + run);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("warning"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(fs::path(all.back().second).filename().string()), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("resuming from " + fs::path(all[1].second).filename().string()), std::string::npos) << r.output;
  EXPECT_TRUE(load_state(run + "/state.tkv").finished());
}

/// Damages each section of a real checkpoint in turn: the error names that section, resume
/// falls back to the previous checkpoint, and export and audit work from an intact one.
TEST(CheckpointCli, EverySectionOfACheckpointIsChecked) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), synthetic_text());
  const std::string run = dir.file("run");
  ASSERT_EQ(run_cli("train --input " + dir.file("in.txt") + " --output " + run + kSettings +
                    " --epochs 2 --threads 1 --checkpoint-every 10000 --keep 10").exit_code, 0);
  auto all = list_checkpoints(run);
  ASSERT_GE(all.size(), 2u);
  EXPECT_EQ(run_cli("export " + all[0].second + " --format word2vec-text --output " + dir.file("early.vec")).exit_code, 0);
  EXPECT_EQ(run_cli("audit " + all[0].second + " --top 0").exit_code, 0);
  const std::string newest = all.back().second;
  const std::string intact = test::read_text(newest);
  // Section table entries start at byte 24, 32 bytes each: tag, reserved, offset, length.
  const uint32_t count = static_cast<uint8_t>(intact[12]);
  ASSERT_EQ(count, 9u);  // META VOCB FREQ WIN_ WOUT UPIN UPOS UNEG CURS
  for (uint32_t k = 0; k < count; ++k) {
    const size_t entry = 24 + 32 * k;
    const std::string tag = intact.substr(entry, 4);
    uint64_t offset = 0, length = 0;
    std::memcpy(&offset, intact.data() + entry + 8, 8);
    std::memcpy(&length, intact.data() + entry + 16, 8);
    if (length == 0) continue;  // an empty section (the cursor of a finished state) has no byte to flip
    SCOPED_TRACE(tag);
    std::string flipped = intact;
    flipped[offset + length / 2] ^= 0x01;
    test::write_text(newest, flipped);
    auto r = run_cli("inspect " + newest);
    EXPECT_EQ(r.exit_code, 5) << r.output;
    EXPECT_NE(r.output.find("section " + tag), std::string::npos) << r.output;
    test::write_text(newest, intact.substr(0, offset + length / 2));  // cut inside the section
    r = run_cli("inspect " + newest);
    EXPECT_EQ(r.exit_code, 5) << r.output;
    EXPECT_NE(r.output.find("section " + tag), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("truncated"), std::string::npos) << r.output;
  }
  // With the newest cut, resume warns and goes on from the one before.
  fs::remove(run + "/state.tkv");
  auto resumed = run_cli("train --resume " + run);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("warning"), std::string::npos) << resumed.output;
  EXPECT_TRUE(load_state(run + "/state.tkv").finished());
}

TEST(CheckpointCli, BadResumeRequests) {
  TempDir dir;
  auto r = run_cli("train --resume " + dir.file("nope"));
  EXPECT_EQ(r.exit_code, 4) << r.output;
  fs::create_directory(dir.file("empty"));
  r = run_cli("train --resume " + dir.file("empty"));
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("config.json"), std::string::npos) << r.output;
  test::write_text(dir.file("empty/config.json"), "{not json");
  r = run_cli("train --resume " + dir.file("empty"));
  EXPECT_EQ(r.exit_code, 5) << r.output;
  r = run_cli("train --resume " + dir.file("empty") + " --dim 50");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--dim"), std::string::npos) << r.output;
  r = run_cli("train --input x --output " + dir.file("o") + " --checkpoint-every 5x");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = run_cli("train --input x --output " + dir.file("o") + " --keep 0");
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

}  // namespace
}  // namespace tokvec
