// The `tokvec train` command end to end, and every bad input it must refuse without
// touching the run folder.
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "tokvec/checkpoint.h"
#include "tokvec/corpus.h"
#include "sgns/sampler.h"

namespace tokvec {
namespace {

namespace fs = std::filesystem;
using test::run_cli;
using test::TempDir;

/// ~6000 words over 40 types in lines of 12 words.
std::string small_text() {
  Rng rng(11, 0);
  std::string text;
  for (int line = 0; line < 500; ++line) {
    for (int k = 0; k < 12; ++k) {
      text += 'w';
      text += std::to_string(rng.below(40));
      text += ' ';
    }
    text += "\n";
  }
  return text;
}

const char* kFast = " --dim 8 --threads 2 --quiet";

TEST(TrainCli, WordsRunWritesTheRunFolder) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), small_text());
  std::string run = dir.file("run");
  auto r = run_cli("train --words --input " + dir.file("in.txt") + " --output " + run + kFast + " --seed 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* f : {"config.json", "corpus.tkc", "state.tkv", "train.log"}) EXPECT_TRUE(fs::exists(run + "/" + f)) << f;
  EXPECT_FALSE(fs::exists(run + "/tokenizer.bpe"));
  nlohmann::json cfg = nlohmann::json::parse(test::read_text(run + "/config.json"));
  EXPECT_EQ(cfg["mode"], "words");
  EXPECT_EQ(cfg["dim"], 8);
  EXPECT_EQ(cfg["seed"], 3);
  EXPECT_EQ(cfg["tokenizer_kind"], "words");
  EXPECT_EQ(cfg["input"], dir.file("in.txt"));
  TrainingState s = load_state(run + "/state.tkv");
  EXPECT_TRUE(s.finished());
  EXPECT_EQ(s.vocab_size(), 40u);
  EXPECT_EQ(s.dim(), 8u);
  TokenCorpus c = TokenCorpus::open(run + "/corpus.tkc");
  EXPECT_EQ(c.tokenizer_checksum(), s.tokenizer_checksum);
  EXPECT_EQ(c.view().tokens.size(), 6000u);
  EXPECT_NE(test::read_text(run + "/train.log").find("mean loss"), std::string::npos);

  // --corpus trains on the encoded corpus of that run.
  auto again = run_cli("train --corpus " + run + "/corpus.tkc --output " + dir.file("run2") + kFast);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(load_state(dir.file("run2") + "/state.tkv").tokenizer_checksum, s.tokenizer_checksum);
}

TEST(TrainCli, NonEmptyRunFolderIsRefusedWithoutForce) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), small_text());
  std::string run = dir.file("run");
  fs::create_directory(run);
  test::write_text(run + "/state.tkv", "precious");
  auto r = run_cli("train --words --input " + dir.file("in.txt") + " --output " + run + kFast);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("tokvec train: error: --output " + run + " is not empty; pass --force to replace its run, or --resume " + run +
                          " to continue it (nothing was changed)\n"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(test::read_text(run + "/state.tkv"), "precious");
  EXPECT_EQ(std::distance(fs::directory_iterator(run), {}), 1);
  auto forced = run_cli("train --words --force --input " + dir.file("in.txt") + " --output " + run + kFast);
  ASSERT_EQ(forced.exit_code, 0) << forced.output;
  EXPECT_NO_THROW(load_state(run + "/state.tkv"));
}

/// Runs a train command that must fail; checks the exit code, a word of the message, and
/// that the run folder (pre-filled with one file when `existing`) is as it was.
void expect_refused(const std::string& text, const std::string& args, const std::string& words, bool existing = false) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), text);
  std::string run = dir.file("run");
  if (existing) {
    fs::create_directory(run);
    test::write_text(run + "/keep.txt", "keep");
  }
  auto r = run_cli("train --input " + dir.file("in.txt") + " --output " + run + " " + args);
  EXPECT_NE(r.exit_code, 0) << args;
  EXPECT_NE(r.exit_code, 70) << "internal error for " << args << ": " << r.output;
  EXPECT_NE(r.output.find(words), std::string::npos) << args << ": " << r.output;
  if (existing) {
    EXPECT_EQ(test::read_text(run + "/keep.txt"), "keep");
    EXPECT_EQ(std::distance(fs::directory_iterator(run), {}), 1) << args;
  } else {
    EXPECT_FALSE(fs::exists(run)) << args;
  }
}

TEST(TrainCli, BadInputsAreRefusedAndNothingIsWritten) {
  const std::string ok = small_text();
  for (bool existing : {false, true}) {
    const std::string force = existing ? " --force" : "";
    expect_refused("", "--words" + force, "no word", existing);
    expect_refused(" \n\t \r\n", "--words" + force, "no word", existing);
    expect_refused(ok, "--words --min-count 100000" + force, "--min-count", existing);
    expect_refused(ok, "--words --dim 0" + force, "--dim", existing);
    expect_refused(ok, "--words --dim 1000000" + force, "--dim", existing);
    expect_refused(ok, "--words --window 0" + force, "--window", existing);
    expect_refused(ok, "--words --negative 0" + force, "--negative", existing);
    expect_refused("a b c a b c\n", "--words --min-count 1 --threads 7" + force, "--threads", existing);
    expect_refused("a b c\n", "--words --min-count 1 --window 5" + force, "window", existing);
    expect_refused(ok, "--words --lr -1" + force, "--lr", existing);
    // The MPI sync options are checked in every build, before anything is written.
    expect_refused(ok, "--words --sync-tokens 10" + force, "--sync-tokens", existing);
    expect_refused(ok, "--words --sync-every 0" + force, "--sync-every", existing);
    expect_refused(ok, "--words --sync-mode median" + force, "--sync-mode", existing);
    expect_refused(ok, "--words --tokenizer x.bpe" + force, "--words", existing);
    expect_refused(ok, "--words" + force + " --dim", "dim", existing);
  }
  // A missing input file.
  TempDir dir;
  auto r = run_cli("train --words --input " + dir.file("missing.txt") + " --output " + dir.file("run"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("missing.txt"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("run")));
}

TEST(TrainCli, CorpusFromAnotherTokenizerIsRefused) {
  TempDir dir;
  CorpusData c;
  c.tokenizer_kind = tokvec::TokenizerKind::words;
  c.tokenizer_checksum = 42;
  c.vocab = {"a", "b"};
  c.tokens = {0, 1, 0, 1, 0, 1, 0, 1};
  c.line_ends = {8};
  c.recount();
  write_corpus(dir.file("c.tkc"), c);
  test::write_text(dir.file("model.bpe"), "not a model");
  // Whatever the model file holds, a words corpus can never match a BPE tokenizer.
  auto r = run_cli("train --corpus " + dir.file("c.tkc") + " --tokenizer " + dir.file("model.bpe") + " --output " +
                   dir.file("run") + " --window 2 --threads 1 --quiet");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("run")));
}

}  // namespace
}  // namespace tokvec

namespace tokvec {
namespace {

TEST(TrainCli, BpeRunTrainsTheTokenizerAndCorporaMustMatchIt) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), small_text());
  std::string run = dir.file("run");
  auto r = run_cli("train --input " + dir.file("in.txt") + " --output " + run + " --bpe-vocab-size 280" + kFast);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(fs::exists(run + "/tokenizer.bpe"));
  nlohmann::json cfg = nlohmann::json::parse(test::read_text(run + "/config.json"));
  EXPECT_EQ(cfg["mode"], "bpe");
  EXPECT_EQ(cfg["tokenizer_kind"], "bpe");
  EXPECT_EQ(cfg["bpe_vocab_size"], 280);
  TrainingState s = load_state(run + "/state.tkv");
  EXPECT_EQ(s.tokenizer_kind, tokvec::TokenizerKind::bpe);
  EXPECT_EQ(s.vocab_size(), 280u);
  TokenCorpus c = TokenCorpus::open(run + "/corpus.tkc");
  EXPECT_EQ(c.tokenizer_checksum(), s.tokenizer_checksum);

  // The same tokenizer given with --tokenizer encodes to the same corpus.
  auto again = run_cli("train --input " + dir.file("in.txt") + " --tokenizer " + run + "/tokenizer.bpe --output " +
                       dir.file("run2") + kFast);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(load_state(dir.file("run2") + "/state.tkv").tokenizer_checksum, s.tokenizer_checksum);
  // --corpus with its own tokenizer: accepted; with another one: refused.
  auto same = run_cli("train --corpus " + run + "/corpus.tkc --tokenizer " + run + "/tokenizer.bpe --output " +
                      dir.file("run3") + kFast);
  EXPECT_EQ(same.exit_code, 0) << same.output;
  auto other = run_cli("train --input " + dir.file("in.txt") + " --output " + dir.file("run4") + " --bpe-vocab-size 270" + kFast);
  ASSERT_EQ(other.exit_code, 0) << other.output;
  auto refused = run_cli("train --corpus " + run + "/corpus.tkc --tokenizer " + dir.file("run4") + "/tokenizer.bpe --output " +
                         dir.file("run5") + kFast);
  EXPECT_EQ(refused.exit_code, 3) << refused.output;
  EXPECT_NE(refused.output.find("another tokenizer"), std::string::npos) << refused.output;
  EXPECT_FALSE(fs::exists(dir.file("run5")));
}

// More threads than cores is the user's choice: every stage runs with it, and oneTBB's
// "number of workers is currently limited" warning must not leak onto the terminal.
TEST(TrainCli, MoreThreadsThanCoresRunQuietly) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), small_text());
  const std::string threads = std::to_string(std::thread::hardware_concurrency() + 3);
  for (const char* mode : {" --words", " --bpe-vocab-size 280"}) {
    auto r = run_cli("train --input " + dir.file("in.txt") + " --output " + dir.file(mode[3] == 'w' ? "w" : "b") + mode +
                     " --dim 8 --quiet --threads " + threads);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.output.find("TBB Warning"), std::string::npos) << r.output;
    EXPECT_EQ(r.output, "") << mode;
  }
}

// Text too small for the tokenizer asked for: the hint names train's own option, not
// bpe-train's --vocab-size/--min-frequency, and no run folder is left behind.
TEST(TrainCli, BpeVocabTooLargeForTheTextNamesTrainsOption) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), small_text());
  auto r = run_cli("train --input " + dir.file("in.txt") + " --output " + dir.file("run") + " --bpe-vocab-size 900000" + kFast);
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("in.txt"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("lower --bpe-vocab-size or give more text"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("--min-frequency"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("run")));
}

}  // namespace
}  // namespace tokvec
