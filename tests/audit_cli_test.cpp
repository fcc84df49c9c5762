// `tokvec audit` end to end: a real training run, then the report and its files.
#include <nlohmann/json.hpp>

#include "test_util.h"
#include "tokvec/corpus.h"

namespace tokvec {
namespace {

using test::run_cli;
using test::TempDir;

/// A corpus whose vocabulary has one entry ("ghost") that never occurs.
std::string write_corpus_with_ghost(const TempDir& dir) {
  CorpusData c;
  c.tokenizer_kind = tokvec::TokenizerKind::words;
  c.vocab = {"a", "b", "c", "d", "ghost"};
  for (int line = 0; line < 200; ++line) {
    for (int k = 0; k < 10; ++k) c.tokens.push_back(static_cast<uint32_t>((line + k * k) % 4));
    c.line_ends.push_back(c.tokens.size());
  }
  c.recount();
  std::string path = dir.file("ghost.tkc");
  write_corpus(path, c);
  return path;
}

/// Trains a small run (1 thread, no subsampling) on the ghost corpus; returns its folder.
std::string train_ghost_run(const TempDir& dir) {
  std::string corpus = write_corpus_with_ghost(dir);
  std::string run = dir.file("run");
  test::CliResult r = run_cli("train --corpus " + corpus + " --output " + run + " --dim 8 --threads 1 --sample 0 --quiet");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return run;
}

TEST(AuditCli, NeverSeenTokenHasZeroUpdatesAndIsFlagged) {
  TempDir dir;
  const std::string run = train_ghost_run(dir);
  test::CliResult r = run_cli("audit " + run + " --min-updates 100 --json " + dir.file("a.json") + " --csv " +
              dir.file("a.csv") + " --svg " + dir.file("a.svg"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  nlohmann::json j = nlohmann::json::parse(test::read_text(dir.file("a.json")));
  ASSERT_EQ(j["vocab_size"], 5);
  const nlohmann::json& ghost = j["rows"][4];
  EXPECT_EQ(ghost["token"], "ghost");
  EXPECT_EQ(ghost["frequency"], 0);
  EXPECT_EQ(ghost["input_updates"], 0);
  EXPECT_EQ(ghost["output_positive_updates"], 0);
  EXPECT_EQ(ghost["flagged"], true);
  EXPECT_DOUBLE_EQ(ghost["drift"].get<double>(), 0.0);  // its row never moved from its seeded start
  EXPECT_EQ(j["never_produced"], 1);
  for (int id = 0; id < 4; ++id) {
    EXPECT_GT(j["rows"][id]["input_updates"].get<uint64_t>(), 100u);
    EXPECT_GT(j["rows"][id]["drift"].get<double>(), 0.0);
    EXPECT_EQ(j["rows"][id]["flagged"], false);
  }
  EXPECT_EQ(j["flagged_count"], 1);
  EXPECT_NE(test::read_text(dir.file("a.csv")).find("4,ghost,0,0,0,"), std::string::npos);
  EXPECT_NE(test::read_text(dir.file("a.svg")).find("</svg>"), std::string::npos);
  EXPECT_NE(r.output.find("never produced on this corpus: 1"), std::string::npos) << r.output;
  // The only flagged row never occurs: stdout counts it instead of listing it.
  EXPECT_EQ(r.output.find("ghost"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("flagged rows that never occur in the corpus (frequency 0, not listed; see --csv or --json): 1"),
            std::string::npos) << r.output;
  EXPECT_EQ(j["flagged_seen_count"], 0);
}

TEST(AuditCli, ExportSkipFlaggedLeavesFlaggedRowsOut) {
  TempDir dir;
  train_ghost_run(dir);
  test::CliResult all = run_cli("export " + dir.file("run") + " --format word2vec-text --output " + dir.file("all.vec"));
  ASSERT_EQ(all.exit_code, 0) << all.output;
  EXPECT_EQ(test::read_text(dir.file("all.vec")).substr(0, 4), "5 8\n");  // flagged rows kept by default
  test::CliResult kept = run_cli("export " + dir.file("run") + " --format word2vec-text --skip-flagged --output " +
                                 dir.file("kept.vec"));
  ASSERT_EQ(kept.exit_code, 0) << kept.output;
  std::string text = test::read_text(dir.file("kept.vec"));
  EXPECT_EQ(text.substr(0, 4), "4 8\n");
  EXPECT_EQ(text.find("ghost"), std::string::npos);
  EXPECT_NE(kept.output.find("left out 1 entries"), std::string::npos) << kept.output;
  // A threshold above every row's updates leaves nothing: a clear error, no file.
  test::CliResult none = run_cli("export " + dir.file("run") + " --format word2vec-text --skip-flagged --min-updates 1000000000 --output " +
                                 dir.file("none.vec"));
  EXPECT_EQ(none.exit_code, 3) << none.output;
  EXPECT_FALSE(std::filesystem::exists(dir.file("none.vec")));
  EXPECT_EQ(run_cli("export " + dir.file("run") + " --format word2vec-text --min-updates 5 --output " + dir.file("x.vec")).exit_code, 2);
}

TEST(AuditCli, BadInputs) {
  TempDir dir;
  test::CliResult r = run_cli("audit " + dir.file("missing"));
  EXPECT_EQ(r.exit_code, 4) << r.output;
  std::filesystem::create_directory(dir.file("empty"));
  r = run_cli("audit " + dir.file("empty"));
  EXPECT_EQ(r.exit_code, 3) << r.output;  // as export: an input that is no run
  EXPECT_NE(r.output.find("state.tkv"), std::string::npos) << r.output;
  test::write_text(dir.file("junk"), "not a state");
  r = run_cli("audit " + dir.file("junk"));
  EXPECT_EQ(r.exit_code, 5) << r.output;
  train_ghost_run(dir);
  r = run_cli("audit " + dir.file("run") + " --json " + dir.file("no/such/folder/a.json"));
  EXPECT_EQ(r.exit_code, 4) << r.output;
  r = run_cli("audit " + dir.file("run") + " --min-updates -3");
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

}  // namespace
}  // namespace tokvec
