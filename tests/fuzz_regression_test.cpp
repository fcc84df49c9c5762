// Replays the fuzzing inputs through the fuzz targets' own entry points (tests/fuzz/
// fuzz_entries.h), in the normal suite and with the normal compiler:
//   - every crash input the fuzzer found, under tests/fuzz/regressions/TARGET/, must now
//     give success or a clean tokvec::Error (a user-facing kind naming the file);
//   - every seed under tests/fuzz/TARGET/ likewise, so a seed cannot rot unnoticed.
// An input that crashes fails the whole binary, which is the point: it must never again.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fuzz/fuzz_entries.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace {

const fs::path kFuzzDir = fs::path(TOKVEC_TEST_DATA_DIR).parent_path() / "fuzz";

std::vector<fs::path> files_under(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// Runs every file of `dir` through `target`; returns how many ran.
size_t replay(const tokvec::fuzz::Target& target, const fs::path& dir) {
  size_t n = 0;
  for (const fs::path& p : files_under(dir)) {
    std::string bytes = tokvec::test::read_text(p.string());
    SCOPED_TRACE(p.string());
    try {
      target.run(bytes);
    } catch (const std::exception& e) {
      ADD_FAILURE() << target.name << " on " << p << ": " << e.what();
    }
    ++n;
  }
  return n;
}

}  // namespace

TEST(FuzzRegression, CrashInputsNowGiveCleanErrors) {
  size_t total = 0;
  for (const tokvec::fuzz::Target& t : tokvec::fuzz::kTargets) total += replay(t, kFuzzDir / "regressions" / t.name);
  // Every regression folder must name a target (a typo would silently skip its inputs).
  for (const auto& e : fs::directory_iterator(kFuzzDir / "regressions")) {
    bool known = std::any_of(std::begin(tokvec::fuzz::kTargets), std::end(tokvec::fuzz::kTargets),
                             [&](const tokvec::fuzz::Target& t) { return e.path().filename() == t.name; });
    EXPECT_TRUE(known) << e.path() << " is not the folder of a fuzz target";
  }
  EXPECT_GT(total, 0u);
}

TEST(FuzzRegression, SeedsLoadThroughTheEntryPoints) {
  for (const tokvec::fuzz::Target& t : tokvec::fuzz::kTargets) {
    EXPECT_GT(replay(t, kFuzzDir / t.name), 0u) << "no seeds for fuzz target " << t.name;
  }
}

TEST(FuzzRegression, SeedsAreValidFiles) {
  // The seeds are real files written by tokvec: each loads as given (checksums intact), so
  // the fuzzer starts from inputs that reach the deep paths.
  using namespace tokvec;
  for (const fs::path& p : files_under(kFuzzDir / "bpe_model")) EXPECT_NO_THROW(BpeModel::load(p.string())) << p;
  for (const fs::path& p : files_under(kFuzzDir / "corpus")) EXPECT_NO_THROW(TokenCorpus::open(p.string())) << p;
  for (const fs::path& p : files_under(kFuzzDir / "state")) EXPECT_NO_THROW(load_state(p.string())) << p;
}

TEST(FuzzRegression, ChecksumFixupsReachThePayload) {
  // A damaged corpus seed is refused for its checksum as given and, once the fix-up has
  // recomputed the checksums, by the validator behind them (here: an id >= vocab size).
  using namespace tokvec;
  std::string bytes = test::read_text((kFuzzDir / "corpus" / "words-micro.tkc").string());
  const std::string_view all(bytes);
  // Find the TOKS section through the table and set its first id to 0xFFFFFFFF.
  uint32_t count = static_cast<uint8_t>(bytes[12]);
  size_t toks = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if (all.substr(24 + 32 * i, 4) == "TOKS") toks = static_cast<size_t>(fuzz::get_u64(all, 24 + 32 * i + 8));
  }
  ASSERT_GT(toks, 0u);
  for (size_t k = 0; k < 4; ++k) bytes[toks + k] = '\xFF';
  test::TempDir dir;
  test::write_text(dir.file("a.tkc"), bytes);
  try {
    TokenCorpus::open(dir.file("a.tkc"));
    FAIL() << "a damaged corpus loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
  }
  ASSERT_TRUE(fuzz::fix_section_checksums(bytes));
  test::write_text(dir.file("b.tkc"), bytes);
  try {
    TokenCorpus::open(dir.file("b.tkc"));
    FAIL() << "a corpus with an id outside its vocabulary loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("TOKS"), std::string::npos) << e.what();
  }
}

TEST(FuzzRegression, DamagedVocabularyCountIsRefusedBeforeAllocating) {
  // Found by fuzz_corpus: META announced 2^32 - 1 tokens and TokenCorpus::open reserved
  // room for all of them (~128 GB) before reading VOCB. The same shape in a state file.
  using namespace tokvec;
  test::TempDir dir;
  for (const char* name : {"corpus/words-micro.tkc", "state/words-micro.tkv"}) {
    std::string bytes = test::read_text((kFuzzDir / name).string());
    size_t meta = 0;
    for (uint32_t i = 0; i < static_cast<uint8_t>(bytes[12]); ++i) {
      if (std::string_view(bytes).substr(24 + 32 * i, 4) == "META") meta = static_cast<size_t>(fuzz::get_u64(bytes, 24 + 32 * i + 8));
    }
    ASSERT_GT(meta, 0u);
    bool corpus = std::string_view(name).starts_with("corpus");
    if (corpus) {
      for (size_t k = 0; k < 4; ++k) bytes[meta + k] = '\xFF';  // u32 vocab_size, first in META
    } else {
      // META: str config, str kind, u64 checksum, then u32 vocab_size (capped at 2^31 there).
      size_t at = meta;
      for (int s = 0; s < 2; ++s) at += 8 + static_cast<size_t>(fuzz::get_u64(bytes, at));
      at += 8;
      bytes[at] = 0; bytes[at + 1] = 0; bytes[at + 2] = 0; bytes[at + 3] = 0x40;  // 2^30
    }
    ASSERT_TRUE(fuzz::fix_section_checksums(bytes));
    std::string path = dir.file(corpus ? "c.tkc" : "s.tkv");
    test::write_text(path, bytes);
    try {
      if (corpus) TokenCorpus::open(path); else load_state(path);
      FAIL() << name << ": loaded";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::corrupt) << e.what();
      EXPECT_NE(std::string(e.what()).find("section VOCB"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("cannot hold"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
}

TEST(FuzzRegression, CheckpointEveryRefusesNonNumbersAsUsageErrors) {
  // Found by fuzz_config: ".h" reached std::stod, whose std::invalid_argument escaped.
  using namespace tokvec;
  for (const char* text : {".h", ".s", "..m", "1..5s",
                           "9999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
                           "9999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
                           "9999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
                           "99999999999999999999s"}) {
    try {
      CheckpointEvery::parse(text);
      ADD_FAILURE() << text << " parsed";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::usage) << e.what();
      EXPECT_NE(std::string(e.what()).find("checkpoint_every"), std::string::npos) << e.what();
    }
  }
  EXPECT_DOUBLE_EQ(CheckpointEvery::parse(".5m").seconds, 30.0);
  EXPECT_DOUBLE_EQ(CheckpointEvery::parse("1.5h").seconds, 5400.0);
}

TEST(FuzzRegression, TrainConfigTakesOnlyWholeNumbersInRange) {
  // Found with fuzz_config: {"dim": 1e300} converted a double to uint32_t out of range
  // (undefined behaviour), and 4294967396 silently became dim 100.
  using namespace tokvec;
  for (const char* text : {R"({"dim": 1e300})", R"({"dim": 4294967396})", R"({"dim": 2.5})", R"({"seed": -1})",
                           R"({"threads": 3000000000})", R"({"min_count": -5})", R"({"epochs": "3"})"}) {
    try {
      TrainConfig::from_json(nlohmann::json::parse(text));
      ADD_FAILURE() << text << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::usage) << e.what();
      EXPECT_NE(std::string(e.what()).find("training configuration"), std::string::npos) << e.what();
    }
  }
  TrainConfig c = TrainConfig::from_json(nlohmann::json::parse(R"({"dim": 64, "threads": 2, "seed": 18446744073709551615, "lr": 1})"));
  EXPECT_EQ(c.dim, 64u);
  EXPECT_EQ(c.seed, UINT64_MAX);
  EXPECT_DOUBLE_EQ(c.lr, 1.0);
  EXPECT_EQ(TrainConfig::from_json(c.to_json()).to_json(), c.to_json());
}

TEST(FuzzRegression, ResumeNamesTheCheckpointWhoseCursorDoesNotFit) {
  // Found by fuzz_state: a checkpoint whose cursor (CURS) puts a thread outside the corpus
  // was refused by `train --resume` as "training state, section CURS, ...", naming no file.
  using namespace tokvec;
  test::TempDir dir;
  std::string text;
  for (int line = 0; line < 300; ++line) {
    for (int k = 0; k < 12; ++k) text += "w" + std::to_string((line * 7 + k * 13) % 40) + (k < 11 ? " " : "\n");
  }
  test::write_text(dir.file("in.txt"), text);
  const std::string run = dir.file("run");
  auto r = test::run_cli("train --input " + dir.file("in.txt") + " --output " + run +
                         " --words --min-count 1 --dim 4 --window 2 --threads 2 --checkpoint-every 1000 --keep 100 --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto checkpoints = list_checkpoints(run);
  ASSERT_GE(checkpoints.size(), 1u);
  const std::string copy = dir.file("copy");
  fs::create_directory(copy);
  for (const char* name : {"config.json", "corpus.tkc"}) fs::copy_file(fs::path(run) / name, fs::path(copy) / name);
  const std::string ckpt = (fs::path(copy) / fs::path(checkpoints[0].second).filename()).string();
  std::string bytes = test::read_text(checkpoints[0].second);
  size_t curs = 0;
  for (uint32_t i = 0; i < static_cast<uint8_t>(bytes[12]); ++i) {
    if (std::string_view(bytes).substr(24 + 32 * i, 4) == "CURS") curs = static_cast<size_t>(fuzz::get_u64(bytes, 24 + 32 * i + 8));
  }
  ASSERT_GT(curs, 0u);
  fuzz::put_u64(bytes, curs + 8 + 16, 1000000000);  // thread 0's pos: version, count, begin, end, pos
  ASSERT_TRUE(fuzz::fix_section_checksums(bytes));
  test::write_text(ckpt, bytes);
  r = test::run_cli("train --resume " + copy + " --quiet");
  EXPECT_EQ(r.exit_code, 5) << r.output;
  EXPECT_NE(r.output.find(ckpt), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("section CURS"), std::string::npos) << r.output;
}
