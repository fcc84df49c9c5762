// The run layer in process: config.json's schema, run folders (--force safety), the
// RUN_DIR|STATE resolver, resume selection and the checkpoint policy.
#include <filesystem>

#include <gtest/gtest.h>

#include "test_util.h"
#include "tokvec/checkpoint.h"
#include "tokvec/run.h"
#include "tokvec/status.h"

namespace tokvec {
namespace {

namespace fs = std::filesystem;
using test::TempDir;
using test::tiny_state;

/// Runs `f` and returns the tokvec::Error it throws (a failure when it throws none).
template <class F>
Error error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error";
  return Error(ErrorKind::internal, "");
}

TEST(RunConfig, RoundTripsThroughConfigJson) {
  TempDir dir;
  RunConfig c;
  c.mode = RunMode::words;
  c.input = "/data/text \xff.txt";  // not UTF-8: kept through the "_hex" twin
  c.lowercase = true;
  c.train.dim = 32;
  c.train.kernel = Kernel::pair;
  c.train.seed = 9;
  c.tokenizer_kind = TokenizerKind::words;
  c.tokenizer_checksum = 0x0123456789abcdefull;
  c.threads_used = 3;
  c.processes = 1;
  const std::string file = (dir.path() / "config.json").string();
  c.write(file);
  const RunConfig back = RunConfig::read(file);
  EXPECT_EQ(back, c);
  EXPECT_EQ(back.input, c.input);
  EXPECT_EQ(back.mode, RunMode::words);
  EXPECT_EQ(back.train.dim, 32u);
  EXPECT_EQ(back.tokenizer_checksum, c.tokenizer_checksum);
  EXPECT_EQ(test::read_text(file), back.to_json().dump(2) + "\n");
  const nlohmann::json j = nlohmann::json::parse(test::read_text(file));
  EXPECT_EQ(j.at("mode"), "words");
  EXPECT_EQ(j.at("tokenizer_checksum"), "0123456789abcdef");
  EXPECT_TRUE(j.at("bpe_vocab_size").is_null());  // words runs have no BPE size
  c.train.quiet = true;  // a display option of the session: never persisted
  EXPECT_FALSE(c.to_json().contains("quiet"));
  EXPECT_FALSE(c.train.to_json().contains("quiet"));
}

TEST(RunConfig, TokenizerKindIsTypedAndKeepsItsNameInTheFile) {
  EXPECT_EQ(tokenizer_kind_name(TokenizerKind::bpe), "bpe");
  EXPECT_EQ(tokenizer_kind_name(TokenizerKind::words), "words");
  EXPECT_EQ(parse_tokenizer_kind("bpe"), TokenizerKind::bpe);
  EXPECT_EQ(parse_tokenizer_kind("words"), TokenizerKind::words);
  EXPECT_FALSE(parse_tokenizer_kind("Words").has_value());
  EXPECT_FALSE(parse_tokenizer_kind("").has_value());
  TempDir dir;
  const std::string file = (dir.path() / "config.json").string();
  // A kind this version does not know is not modelled: kept as it was (resume compares it
  // with the corpus and names the key).
  test::write_text(file, R"({"dim": 20, "mode": "bpe", "tokenizer_kind": "sentencepiece"})");
  RunConfig c = RunConfig::read(file);
  EXPECT_FALSE(c.tokenizer_kind.has_value());
  EXPECT_EQ(c.to_json().at("tokenizer_kind"), "sentencepiece");
  test::write_text(file, R"({"dim": 20, "mode": "words", "tokenizer_kind": "words"})");
  c = RunConfig::read(file);
  EXPECT_EQ(c.tokenizer_kind, TokenizerKind::words);
  EXPECT_EQ(c.to_json().at("tokenizer_kind"), "words");
}

TEST(RunConfig, AnOldConfigWithQuietAndUnknownKeysLoadsAndKeepsThem) {
  TempDir dir;
  const std::string file = (dir.path() / "config.json").string();
  // As an earlier tokvec wrote it: "quiet" persisted, a corpus run, no "lowercase", no
  // record of the corpus yet, and a key this version does not know.
  test::write_text(file, R"({"dim": 20, "window": 3, "negative": 2, "sample": 0.001, "min_count": 1, "epochs": 2,
    "threads": 2, "lr": 0.025, "seed": 4, "quiet": true, "kernel": "hogbatch", "mode": "corpus", "input": null,
    "corpus": "/x/c.tkc", "tokenizer": null, "bpe_vocab_size": null, "version": "0.0.9", "note": {"by": "hand"}})");
  const RunConfig c = RunConfig::read(file);
  EXPECT_EQ(c.mode, RunMode::corpus);
  EXPECT_EQ(c.corpus_path, "/x/c.tkc");
  EXPECT_FALSE(c.train.quiet);  // a display option: not read from the file, not written
  EXPECT_EQ(c.train.dim, 20u);
  EXPECT_FALSE(c.lowercase);
  EXPECT_FALSE(c.tokenizer_kind.has_value());
  const nlohmann::json out = c.to_json();
  EXPECT_EQ(out.at("version"), "0.0.9");
  EXPECT_EQ(out.at("note").at("by"), "hand");
  EXPECT_FALSE(out.contains("tokenizer_kind"));
  EXPECT_FALSE(out.contains("quiet"));
  EXPECT_EQ(RunConfig::from_json(out, file), c);
}

TEST(RunConfig, BadValuesAreCorruptErrorsNamingTheFileAndKey) {
  TempDir dir;
  const std::string file = (dir.path() / "config.json").string();
  test::write_text(file, "{\"mode\": \"sentences\"}");
  Error e = error_of([&] { RunConfig::read(file); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_NE(std::string(e.what()).find("key \"mode\""), std::string::npos) << e.what();
  test::write_text(file, "{not json");
  e = error_of([&] { RunConfig::read(file); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
  EXPECT_EQ(parse_run_mode("bpe"), RunMode::bpe);
  EXPECT_FALSE(parse_run_mode("BPE").has_value());
}

TEST(RunDir, CreatesAMissingFolderAndRefusesANonEmptyOneWithoutForce) {
  TempDir dir;
  const std::string run = (dir.path() / "a" / "run").string();
  {
    const RunDir d = RunDir::create(run, false);
    EXPECT_TRUE(d.created());
    EXPECT_TRUE(d.was_empty());
    EXPECT_TRUE(fs::is_directory(run));
  }
  test::write_text(run + "/notes.txt", "mine");
  try {
    RunDir::create(run, false);
    FAIL() << "a non-empty folder was accepted";
  } catch (const FieldError& e) {
    EXPECT_EQ(e.field(), "output");
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_EQ(std::string(e.with_field_name("--output").what()).rfind("--output " + run + " is not empty", 0), 0u);
    // The library's text names no flag of a front end; the CLI adds --force and --resume.
    EXPECT_EQ(std::string(e.what()), "output " + run + " is not empty (nothing was changed)");
    ASSERT_NE(dynamic_cast<const RunFolderNotEmpty*>(&e), nullptr);
    EXPECT_EQ(dynamic_cast<const RunFolderNotEmpty&>(e).dir(), run);
  }
  EXPECT_EQ(test::read_text(run + "/notes.txt"), "mine");  // nothing changed
  const RunDir forced = RunDir::create(run, true);
  EXPECT_FALSE(forced.was_empty());
  EXPECT_FALSE(forced.created());
  // A file where the folder should be.
  test::write_text((dir.path() / "f").string(), "x");
  try {
    RunDir::create((dir.path() / "f").string(), true);
    FAIL();
  } catch (const FieldError& e) {
    EXPECT_EQ(e.field(), "output");
  }
}

TEST(RunDir, ForceClearsTheOldRunButKeepsTheInputsAndAFolderWithoutARunKeepsItsFiles) {
  TempDir dir;
  const std::string run = (dir.path() / "run").string();
  fs::create_directories(run + "/plots");
  for (const char* f : {"config.json", "corpus.tkc", "train.log", "export.vec", "input.txt", "plots/a.svg"}) {
    test::write_text(run + "/" + f, "old");
  }
  save_state(checkpoint_path(run, 3), tiny_state(30));
  const RunDir d = RunDir::create(run, true);
  EXPECT_EQ(d.run_files().size(), 4u);  // config.json, corpus.tkc, train.log, the checkpoint
  d.clear_old_run({run + "/input.txt"});
  EXPECT_TRUE(fs::exists(run + "/input.txt"));  // what the new run reads
  for (const char* f : {"config.json", "corpus.tkc", "train.log", "export.vec", "plots", "checkpoint-000003.tkv"}) {
    EXPECT_FALSE(fs::exists(run + "/" + f)) << f;
  }
  // A folder of other files that held no run: only run files would go, so everything stays.
  const std::string other = (dir.path() / "other").string();
  fs::create_directories(other);
  test::write_text(other + "/mine.txt", "keep");
  const RunDir o = RunDir::create(other, true);
  o.clear_old_run({});
  EXPECT_TRUE(fs::exists(other + "/mine.txt"));
}

TEST(RunDir, OpeningAMissingRunIsAnIoError) {
  TempDir dir;
  const Error e = error_of([&] { RunDir::open((dir.path() / "nope").string()); });
  EXPECT_EQ(exit_code(e.kind()), 4);
  EXPECT_NE(std::string(e.what()).find("no such run folder to resume"), std::string::npos) << e.what();
}

TEST(RunDir, ResumeSelectionFallsBackFromADamagedNewestCheckpointWithAWarning) {
  TempDir dir;
  const std::string run = dir.path().string();
  save_state(checkpoint_path(run, 1), tiny_state(10));
  save_state(checkpoint_path(run, 2), tiny_state(20));
  std::string bytes = test::read_text(checkpoint_path(run, 2));
  bytes[bytes.size() / 2] ^= 0x55;
  test::write_text(checkpoint_path(run, 2), bytes);
  const RunDir d = RunDir::open(run);
  std::vector<std::string> warnings;
  const std::optional<LoadedCheckpoint> picked = d.newest_checkpoint([&](const std::string& w) { warnings.push_back(w); });
  ASSERT_TRUE(picked.has_value());
  EXPECT_EQ(picked->sequence, 1u);
  EXPECT_EQ(picked->state.tokens_done, 10u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("checkpoint-000002.tkv"), std::string::npos) << warnings[0];
}

TEST(RunTarget, OneResolverForRunFoldersAndStateFilesWithOneExitCode) {
  TempDir dir;
  const std::string run = (dir.path() / "run").string();
  fs::create_directories(run);
  RunTarget t = resolve_run_target(run);
  EXPECT_EQ(t.kind, RunTarget::Kind::folder);
  EXPECT_EQ(t.dir, run);
  save_state(run + "/state.tkv", tiny_state(100));
  t = resolve_run_target(run + "/state.tkv");
  EXPECT_EQ(t.kind, RunTarget::Kind::state_file);
  EXPECT_EQ(t.dir, run);
  EXPECT_EQ(load_run_state(t).state.tokens_done, 100u);
  EXPECT_EQ(load_run_state(run).path, run + "/state.tkv");
  // Nothing there: an io error (exit 4) naming the path, whatever the command.
  const std::string nope = (dir.path() / "nope").string();
  const Error e = error_of([&] { resolve_run_target(nope); });
  EXPECT_EQ(exit_code(e.kind()), 4);
  EXPECT_EQ(std::string(e.what()).rfind(nope + ": no such run folder or state file", 0), 0u) << e.what();
  EXPECT_EQ(exit_code(error_of([&] { load_run_state(nope); }).kind()), 4);
  // Commands that also read vectors files: only runs and state files are runs.
  test::write_text((dir.path() / "v.vec").string(), "1 2\nx 0 1\n");
  EXPECT_FALSE(find_run_target((dir.path() / "v.vec").string()).has_value());
  EXPECT_FALSE(find_run_target(nope).has_value());
  EXPECT_TRUE(find_run_target(run + "/state.tkv").has_value());
  EXPECT_TRUE(find_run_target(run).has_value());
}

TEST(RunTarget, AnUnfinishedRunIsReadFromItsNewestCheckpointWithANote) {
  TempDir dir;
  const std::string run = dir.path().string();
  test::write_text(run + "/config.json", "{}");
  EXPECT_EQ(error_of([&] { load_run_state(run); }).kind(), ErrorKind::input);
  save_state(checkpoint_path(run, 4), tiny_state(40));
  const RunState s = load_run_state(run);
  EXPECT_EQ(s.path, checkpoint_path(run, 4));
  EXPECT_NE(s.note.find("TrainingSession::resume(\"" + run), std::string::npos) << s.note;
}

TEST(CheckpointPolicy, TokenAndTimeIntervalsFallDueAndReArm) {
  using Clock = CheckpointSchedule::Clock;
  const Clock::time_point t0{};
  CheckpointSchedule tokens(CheckpointEvery::parse("1000"), 500, t0);
  EXPECT_EQ(tokens.next_tokens(), 1500u);
  EXPECT_EQ(tokens.seconds_left(t0), 0.0);  // not by time
  EXPECT_FALSE(tokens.due(1499, t0 + std::chrono::hours(5)).any());
  CheckpointSchedule::Due d = tokens.due(1600, t0);
  EXPECT_TRUE(d.tokens);
  EXPECT_FALSE(d.time);
  tokens.written(d, 1600, t0);
  EXPECT_EQ(tokens.next_tokens(), 2600u);  // from where it was written

  CheckpointSchedule time(CheckpointEvery::parse("30s"), 0, t0);
  EXPECT_EQ(time.next_tokens(), UINT64_MAX);
  EXPECT_DOUBLE_EQ(time.seconds_left(t0 + std::chrono::seconds(10)), 20.0);
  EXPECT_DOUBLE_EQ(time.seconds_left(t0 + std::chrono::seconds(40)), 0.001);  // overdue: pause at once
  EXPECT_FALSE(time.due(UINT64_MAX - 1, t0 + std::chrono::seconds(29)).any());
  d = time.due(0, t0 + std::chrono::seconds(31));
  EXPECT_TRUE(d.time);
  time.written(d, 0, t0 + std::chrono::seconds(31));
  EXPECT_FALSE(time.due(0, t0 + std::chrono::seconds(60)).any());
  EXPECT_TRUE(time.due(0, t0 + std::chrono::seconds(61)).time);

  CheckpointSchedule off(CheckpointEvery::parse("off"), 0, t0);
  EXPECT_FALSE(off.due(UINT64_MAX - 1, t0 + std::chrono::hours(100)).any());
}

TEST(CheckpointPolicy, KeepIsCheckedByFieldAndPruningKeepsTheNewest) {
  CheckpointPolicy p;
  p.keep = 0;
  try {
    p.validate();
    FAIL();
  } catch (const FieldError& e) {
    EXPECT_EQ(e.field(), "keep");
    EXPECT_STREQ(e.with_field_name("--keep").what(), "--keep must be in [1, 1000], got 0");
  }
  p.keep = 1000;
  p.validate();
  TempDir dir;
  const std::string run = dir.path().string();
  for (uint64_t i = 1; i <= 4; ++i) save_state(checkpoint_path(run, i), tiny_state(i * 10));
  prune_checkpoints(run, 2);
  const auto left = list_checkpoints(run);
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].first, 3u);
  EXPECT_EQ(left[1].first, 4u);
}

}  // namespace
}  // namespace tokvec

namespace tokvec {
namespace {

TEST(RunConfig, SettingsErrorsNameTheFieldNotAFlag) {
  TrainConfig c;
  c.dim = 0;
  try {
    c.validate();
    FAIL();
  } catch (const FieldError& e) {
    EXPECT_EQ(e.field(), "dim");
    EXPECT_STREQ(e.what(), "dim must be in [1, 4096], got 0");
    EXPECT_EQ(e.kind(), ErrorKind::usage);
  }
  c = TrainConfig{};
  c.min_count = 0;
  try {
    c.validate();
    FAIL();
  } catch (const FieldError& e) {
    EXPECT_EQ(e.field(), "min_count");  // the config.json key
  }
}

}  // namespace
}  // namespace tokvec
