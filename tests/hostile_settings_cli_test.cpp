// Hostile settings and edited run folders, end to end: a learning rate that diverges, a
// config.json edited between pause and resume, a BPE run that lost its tokenizer, bytes
// that are not UTF-8 in paths and names, files of the wrong layout, an allocation too big.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "tokvec/checkpoint.h"

namespace tokvec {
namespace {

namespace fs = std::filesystem;
using test::run_cli;
using test::TempDir;

using test::q;

/// ~2,400 words over 40 types in lines of 12 words, deterministic.
std::string text(int lines = 200) { return test::cycled_words_text(lines, 40, true); }

const char* kSmall = " --min-count 1 --dim 8 --window 2 --threads 1 --quiet";

/// A finished words run of text() (in dir/in.txt) in dir/run; its path.
std::string words_run(const TempDir& dir) {
  test::write_text(dir.file("in.txt"), text());
  const std::string run = dir.file("run");
  const test::CliResult r = run_cli("train --input " + q(dir.file("in.txt")) + " --output " + q(run) + " --words" + kSmall);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return run;
}

void expect_error(const test::CliResult& r, int code, const std::string& needle, const std::string& what) {
  EXPECT_EQ(r.exit_code, code) << what << "\n" << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << what << ": no '" << needle << "' in\n" << r.output;
}

bool all_finite(const Matrix& m) {
  for (size_t r = 0; r < m.rows(); ++r) {
    for (size_t j = 0; j < m.cols(); ++j) {
      if (!std::isfinite(m.row(r)[j])) return false;
    }
  }
  return true;
}

// ---- Divergence ------------------------------------------------------------------------------

// Before: --lr 1 read far outside the sigmoid table (a NaN converted to int: SEGV, or UBSan's
// report), or trained on to exit 0 with vectors of 1e9 and a mean loss of 2e21.
TEST(HostileSettingsCli, DivergingLearningRateStopsWithAnErrorAndKeepsTheLastGoodCheckpoint) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), text(400));
  const std::string train = "train --input " + q(dir.file("in.txt")) + " --words" + kSmall + " --epochs 20 --sample 0 --keep 100";
  for (const char* kernel : {"hogbatch", "pair"}) {
    const std::string run = dir.file(std::string("run-") + kernel);
    test::CliResult r = run_cli(train + " --output " + q(run) + " --lr 1 --kernel " + kernel);
    expect_error(r, 3, "training diverged at ", kernel);
    EXPECT_NE(r.output.find("the learning rate 1 is probably too high for window 2"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("lower --lr"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("no checkpoint was written"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(run + "/state.tkv")) << kernel;
    EXPECT_NE(test::read_text(run + "/train.log").find("training diverged"), std::string::npos);
  }
  // Diverging after a checkpoint: that one is kept (finite weights), nothing later is written.
  const std::string run = dir.file("run-late");
  test::CliResult r = run_cli(train + " --output " + q(run) + " --lr 0.5 --checkpoint-every 1000");
  expect_error(r, 3, "training diverged at ", "lr 0.5");
  EXPECT_NE(r.output.find("checkpoint-000001.tkv (the last checkpoint) is kept"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(run + "/state.tkv"));
  const auto checkpoints = list_checkpoints(run);
  ASSERT_EQ(checkpoints.size(), 1u);
  TrainingState s = load_state(checkpoints[0].second);
  EXPECT_TRUE(all_finite(s.input) && all_finite(s.output));
  EXPECT_FALSE(s.finished());
}

// ---- Edited config.json on resume ------------------------------------------------------------

class ResumeEdited : public ::testing::Test {
 protected:
  /// A paused words run: killed (simulated) after its first checkpoint.
  void SetUp() override {
    test::write_text(dir.file("in.txt"), text());
    ASSERT_EQ(run_cli("train --input " + q(dir.file("in.txt")) + " --output " + q(dir.file("full")) + " --words" + kSmall +
                      " --epochs 4 --checkpoint-every 2000 --keep 100")
                  .exit_code,
              0);
    run = dir.file("run");
    fs::create_directory(run);
    for (const char* name : {"config.json", "corpus.tkc"}) fs::copy_file(dir.file("full/") + name, run + "/" + name);
    fs::copy_file(list_checkpoints(dir.file("full")).front().second, run + "/checkpoint-000001.tkv");
    config = nlohmann::json::parse(test::read_text(run + "/config.json"));
  }
  void write_config(const nlohmann::json& j) { test::write_text(run + "/config.json", j.dump(2)); }
  test::CliResult resume() { return run_cli("train --resume " + q(run) + " --quiet"); }
  TempDir dir;
  std::string run;
  nlohmann::json config;
};

// Before: the edited window was used for the rest of the run (loss 4e17, exit 0).
TEST_F(ResumeEdited, AKeyThatDiffersFromTheCheckpointIsRefusedNamingIt) {
  for (const auto& [key, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"window", 100}, {"lr", 0.5}, {"dim", 9}, {"mode", "bpe"}, {"tokenizer_checksum", "0000000000000000"}, {"seed", 2}}) {
    nlohmann::json j = config;
    j[key] = value;
    write_config(j);
    test::CliResult r = resume();
    expect_error(r, 5, run + "/config.json, key \"" + key + "\"", key);
    EXPECT_NE(r.output.find("checkpoint-000001.tkv recorded"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(run + "/state.tkv"));
  }
  // A missing key too; a "quiet" key, which earlier versions wrote, is read past.
  nlohmann::json j = config;
  j.erase("window");
  write_config(j);
  expect_error(resume(), 5, "key \"window\": is missing", "missing key");
  j = config;
  j["quiet"] = true;
  write_config(j);
  test::CliResult r = resume();
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(load_state(run + "/state.tkv").finished());
}

// Before: with no checkpoint yet, an edited mode or tokenizer checksum was accepted.
TEST_F(ResumeEdited, WithoutACheckpointTheCorpusRecordIsChecked) {
  fs::remove(run + "/checkpoint-000001.tkv");
  for (const auto& [key, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"mode", "bpe"}, {"tokenizer_checksum", "0123456789abcdef"}, {"tokenizer_kind", "bpe"}}) {
    nlohmann::json j = config;
    j[key] = value;
    write_config(j);
    test::CliResult r = resume();
    expect_error(r, 5, run + "/config.json, key \"" + key + "\"", key);
    EXPECT_NE(r.output.find("corpus.tkc (the run's corpus) was made with"), std::string::npos) << r.output;
  }
}

// Before: json's own "[json.exception.type_error.302] type must be number, but is string",
// with neither the key nor the file; "dim": -1 named the key but not the file.
TEST_F(ResumeEdited, ValuesOfTheWrongTypeNameTheKeyAndTheFile) {
  for (const auto& [key, value, needle] : std::vector<std::tuple<std::string, nlohmann::json, std::string>>{
           {"lr", "fast", "\"lr\" must be a number, got \"fast\""},
           {"dim", -1, "\"dim\" must be a whole number"},
           {"window", 0, "\"window\" must be in [1, 100], got 0"}}) {
    nlohmann::json j = config;
    j[key] = value;
    write_config(j);
    test::CliResult r = resume();
    expect_error(r, 5, run + "/config.json: ", key);
    EXPECT_NE(r.output.find(needle), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("json.exception"), std::string::npos) << r.output;
  }
}

// Before: a BPE run whose tokenizer.bpe was deleted or cut trained to the end, leaving a run
// no command could use.
TEST(HostileSettingsCli, ResumedBpeRunChecksItsTokenizerFirst) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), text());
  const std::string full = dir.file("full");
  ASSERT_EQ(run_cli("train --input " + q(dir.file("in.txt")) + " --output " + q(full) + " --bpe-vocab-size 270" + kSmall +
                    " --epochs 3 --checkpoint-every 2000 --keep 100")
                .exit_code,
            0);
  auto paused = [&](const std::string& name) {
    const std::string run = dir.file(name);
    fs::create_directory(run);
    for (const char* f : {"config.json", "corpus.tkc", "tokenizer.bpe"}) fs::copy_file(full + "/" + f, run + "/" + f);
    fs::copy_file(list_checkpoints(full).front().second, run + "/checkpoint-000001.tkv");
    return run;
  };
  std::string run = paused("deleted");
  fs::remove(run + "/tokenizer.bpe");
  test::CliResult r = run_cli("train --resume " + q(run) + " --quiet");
  expect_error(r, 3, run + "/tokenizer.bpe: is missing", "deleted tokenizer");
  EXPECT_FALSE(fs::exists(run + "/state.tkv"));

  run = paused("cut");
  const std::string model = test::read_text(run + "/tokenizer.bpe");
  test::write_text(run + "/tokenizer.bpe", model.substr(0, model.size() / 2));
  r = run_cli("train --resume " + q(run) + " --quiet");
  expect_error(r, 5, run + "/tokenizer.bpe", "cut tokenizer");
  EXPECT_FALSE(fs::exists(run + "/state.tkv"));

  run = paused("other");
  fs::remove(run + "/tokenizer.bpe");
  // bpe-train refuses to write a run folder's own file, so the other model is copied in.
  ASSERT_EQ(run_cli("bpe-train --input " + q(dir.file("in.txt")) + " --vocab-size 265 --output " + q(dir.file("other.bpe")) + " --quiet")
                .exit_code,
            0);
  fs::copy_file(dir.file("other.bpe"), run + "/tokenizer.bpe");
  r = run_cli("train --resume " + q(run) + " --quiet");
  expect_error(r, 3, run + "/tokenizer.bpe: is not the tokenizer", "another tokenizer");
  EXPECT_FALSE(fs::exists(run + "/state.tkv"));

  run = paused("intact");
  r = run_cli("train --resume " + q(run) + " --quiet");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

// ---- Messages --------------------------------------------------------------------------------

// Before: "[json.exception.type_error.316] invalid UTF-8 byte", exit 70, writing config.json.
TEST(HostileSettingsCli, PathsThatAreNotUtf8TrainAndResume) {
  TempDir dir;
  const std::string input = dir.file("in\xff.txt");
  test::write_text(input, text());
  const std::string run = dir.file("run\xfe");
  test::CliResult r = run_cli("train --input " + q(input) + " --output " + q(run) + " --words" + kSmall + " --epochs 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  nlohmann::json j = nlohmann::json::parse(test::read_text(run + "/config.json"));
  EXPECT_EQ(j["input"], fs::absolute(dir.file("in\\xff.txt")).lexically_normal().string());
  // The exact bytes are kept beside it: a resume that has to rebuild the corpus reads them.
  fs::remove(run + "/state.tkv");
  fs::remove(run + "/corpus.tkc");
  r = run_cli("train --resume " + q(run) + " --quiet");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(load_state(run + "/state.tkv").finished());
  // eval --json names the vectors file and sections that are not UTF-8.
  test::write_text(dir.file("q.txt"), ": caf\xe9\nw1 w2 w3 w4\n");
  r = run_cli("eval " + q(run) + " --analogies " + q(dir.file("q.txt")) + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"section\":\"caf\\\\xe9\""), std::string::npos) << r.output;
  // audit --json with a word that is not UTF-8.
  test::write_text(dir.file("odd.txt"), text() + "caf\xe9 caf\xe9 caf\xe9\n");
  ASSERT_EQ(run_cli("train --input " + q(dir.file("odd.txt")) + " --output " + q(dir.file("odd")) + " --words" + kSmall).exit_code, 0);
  r = run_cli("audit " + q(dir.file("odd")) + " --json " + q(dir.file("a.json")) + " --min-updates 1000000000");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(test::read_text(dir.file("a.json")).find("caf\\\\xE9"), std::string::npos);
}

// Before: --quiet hid it (warnings are not progress).
TEST(HostileSettingsCli, QuietStillPrintsWarnings) {
  TempDir dir;
  const std::string run = words_run(dir);
  ASSERT_FALSE(HasFailure());
  fs::remove(run + "/state.tkv");
  const std::string corpus = test::read_text(run + "/corpus.tkc");
  test::write_text(run + "/corpus.tkc", corpus.substr(0, corpus.size() / 2));
  test::CliResult r = run_cli("train --resume " + q(run) + " --quiet");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("warning: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rebuilding the corpus"), std::string::npos) << r.output;
}

// Before: "Spearman nan over 0 of 0 pairs" / "0 / 0", exit 0.
TEST(HostileSettingsCli, EvaluationFilesOfTheWrongLayoutAreInputErrors) {
  TempDir dir;
  const std::string run = words_run(dir);
  ASSERT_FALSE(HasFailure());
  test::write_text(dir.file("spaces.txt"), "# comment\nw1 w2 5.0\nw3 w4 2.5\n");
  expect_error(run_cli("eval " + q(run) + " --pairs " + q(dir.file("spaces.txt"))), 3,
               dir.file("spaces.txt") + ", line 2: not a word pair", "pairs separated by spaces");
  test::write_text(dir.file("analogies.txt"), ": section\nw1 w2 w3\nw1 w2\n");
  expect_error(run_cli("eval " + q(run) + " --analogies " + q(dir.file("analogies.txt"))), 3,
               dir.file("analogies.txt") + ", line 2: not an analogy question", "analogies of 3 words");
  test::write_text(dir.file("empty.txt"), "");
  expect_error(run_cli("eval " + q(run) + " --pairs " + q(dir.file("empty.txt"))), 3, dir.file("empty.txt") + ": holds no word pair",
               "empty pairs");
  expect_error(run_cli("eval " + q(run) + " --analogies " + q(dir.file("empty.txt"))), 3,
               dir.file("empty.txt") + ": holds no analogy question", "empty analogies");
  // A pairs file with a header line and good pairs still works (the header is skipped, as gensim does).
  test::write_text(dir.file("ok.tsv"), "Word 1\tWord 2\tHuman (mean)\nw1\tw2\t5.0\nw3\tw4\t2.5\nw5\tw6\t1\n");
  test::CliResult r = run_cli("eval " + q(run) + " --pairs " + q(dir.file("ok.tsv")));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("over 3 of 3 pairs"), std::string::npos) << r.output;
}

// Before: the binary corpus's bytes went to the terminal.
TEST(HostileSettingsCli, NeighborsOnACorpusSaysWhatItIs) {
  TempDir dir;
  const std::string run = words_run(dir);
  ASSERT_FALSE(HasFailure());
  for (const char* file : {"corpus.tkc", "tokenizer.bpe"}) {
    if (!fs::exists(run + "/" + file)) continue;
    test::CliResult r = run_cli("neighbors " + q(run + "/" + file) + " w1");
    EXPECT_EQ(r.exit_code, 3) << r.output;
    EXPECT_NE(r.output.find("looks like a tokvec"), std::string::npos) << r.output;
    for (char c : r.output) EXPECT_TRUE(c == '\n' || static_cast<unsigned char>(c) >= 0x20) << "control byte in:\n" << r.output;
  }
}

// Before: "out of memory" and nothing on what was asked for.
TEST(HostileSettingsCli, OutOfMemorySaysHowMuchAndForWhat) {
  if (TOKVEC_TEST_SANITIZED) GTEST_SKIP() << "address-space limits do not mix with AddressSanitizer's shadow memory";
  TempDir dir;
  std::string t;
  for (int i = 0; i < 30000; ++i) t += "word" + std::to_string(i) + (i % 20 == 19 ? "\n" : " ");
  test::write_text(dir.file("in.txt"), t);
  test::CliResult r = test::run_command("ulimit -v 700000; " + std::string(TOKVEC_CLI_PATH) + " train --input " + q(dir.file("in.txt")) +
                                        " --output " + q(dir.file("run")) + " --words --min-count 1 --dim 4096 --threads 1 --quiet");
  expect_error(r, 4, "out of memory: a 30000 x 4096 matrix of floats needs 49", "dim 4096");
  EXPECT_NE(r.output.find("for the vectors (30000 tokens x dim 4096"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("lower --dim"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace tokvec
