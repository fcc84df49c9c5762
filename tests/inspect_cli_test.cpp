// `tokvec inspect` and the CLI's handling of unknown commands and options.
#include "test_util.h"
#include "tokvec/checkpoint.h"
#include "tokvec/corpus.h"

namespace tokvec {
namespace {

using test::run_cli;
using test::TempDir;

/// Writes a three-token corpus to `path`.
void write_tiny_corpus(const std::string& path) {
  CorpusData c;
  c.tokenizer_kind = tokvec::TokenizerKind::words;
  c.vocab = {"a", "b"};
  c.tokens = {0, 1, 0};
  c.line_ends = {3};
  c.recount();
  write_corpus(path, c);
}

TEST(InspectCli, DescribesACorpus) {
  TempDir dir;
  write_tiny_corpus(dir.file("c.tkc"));
  test::CliResult r = run_cli("inspect " + dir.file("c.tkc"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("tokens: 3 in 1 lines"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("section TOKS"), std::string::npos) << r.output;
}

TEST(InspectCli, DescribesAState) {
  TempDir dir;
  TrainingState s;
  s.tokenizer_kind = tokvec::TokenizerKind::words;
  s.vocab = {"a"};
  s.frequencies = {1};
  s.input = Matrix(1, 4);
  s.output = Matrix(1, 4);
  s.input_updates = s.output_positive_updates = s.output_negative_updates = {0};
  s.tokens_total = 10;
  s.tokens_done = 4;
  save_state(dir.file("s.tkv"), s);
  test::CliResult r = run_cli("inspect " + dir.file("s.tkv"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("progress: 4 / 10 tokens"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("(in progress)"), std::string::npos) << r.output;
}

TEST(InspectCli, CorruptFileNamesTheSection) {
  TempDir dir;
  write_tiny_corpus(dir.file("c.tkc"));
  std::string bytes = test::read_text(dir.file("c.tkc"));
  bytes[bytes.size() - 3] ^= 1;  // inside CNTS, the last section
  test::write_text(dir.file("c.tkc"), bytes);
  test::CliResult r = run_cli("inspect " + dir.file("c.tkc"));
  EXPECT_EQ(r.exit_code, 5) << r.output;
  EXPECT_NE(r.output.find("section CNTS"), std::string::npos) << r.output;
}

TEST(Cli, MissingFileUnknownCommandAndOption) {
  TempDir dir;
  test::CliResult r = run_cli("inspect " + dir.file("nope"));
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_NE(r.output.find("nope"), std::string::npos);
  r = run_cli("frobnicate");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("unknown command 'frobnicate'"), std::string::npos) << r.output;
  r = run_cli("inspect --no-such-option x");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("no-such-option"), std::string::npos) << r.output;
  r = run_cli("");
  EXPECT_EQ(r.exit_code, 2);
  r = run_cli("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("bpe-train"), std::string::npos);
}

}  // namespace
}  // namespace tokvec
