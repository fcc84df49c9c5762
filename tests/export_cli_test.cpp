// tokvec export / neighbors / eval end to end on a hand-built run, and every bad input:
// clear error, non-zero exit, no output file left.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "export_fixtures.h"
#include "test_util.h"
#include "tokvec/bpe.h"
#include "tokvec/checkpoint.h"
#include "tokvec/export.h"

namespace tokvec {
namespace {

namespace fs = std::filesystem;
using test::run_cli;
using test::TempDir;
using test::write_text;

/// A finished --words run in dir/run: ids in frequency order, as the trainer writes them.
TrainingState words_run(const TempDir& dir) {
  TrainingState s = test::make_state({"the", "cat", "dog", "sat", "mat"}, {50, 20, 20, 9, 3},
                                     {{0.5f, 0.5f, 0.0f}, {1.0f, 0.1f, 0.2f}, {0.9f, 0.2f, 0.2f}, {-1.0f, 0.3f, 0.0f}, {0.1f, -1.0f, 0.7f}},
                                     tokvec::TokenizerKind::words, R"({"mode": "words", "min_count": 1, "input": null})");
  fs::create_directory(dir.file("run"));
  save_state(dir.file("run/state.tkv"), s);
  write_text(dir.file("run/config.json"), s.config_json);
  return s;
}

std::vector<std::string> files_in(const fs::path& p) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(p)) out.push_back(entry.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ExportCli, ExportsEveryFormatExactly) {
  TempDir dir;
  TrainingState s = words_run(dir);
  Embeddings expected = token_embeddings(s);
  for (const char* format : {"word2vec-text", "word2vec-binary", "npy"}) {
    std::string out = dir.file(std::string("v.") + format + (std::string(format) == "npy" ? ".npy" : ""));
    test::CliResult r = run_cli("export " + dir.file("run") + " --format " + format + " --output " + out);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("wrote 5 token vectors"), std::string::npos) << r.output;
    Embeddings got = read_vectors(out);
    EXPECT_EQ(got.words, expected.words) << format;
    EXPECT_EQ(got.data, expected.data) << format;
  }
  EXPECT_TRUE(fs::exists(dir.file("v.npy.vocab.txt")));
  // The state file itself is a source too; --matrix output exports the context vectors.
  test::CliResult r = run_cli("export " + dir.file("run/state.tkv") + " --matrix output --output " + dir.file("out.txt"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_vectors(dir.file("out.txt")).data, token_embeddings(s, MatrixChoice::output).data);
}

TEST(ExportCli, WordsFileInAWordsRunSkipsUnknownWords) {
  TempDir dir;
  words_run(dir);
  write_text(dir.file("w.txt"), "dog\nunicorn\nthe\n");
  test::CliResult r = run_cli("export " + dir.file("run") + " --words " + dir.file("w.txt") + " --output " + dir.file("w.vec"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("1 of 3 listed words are not in the vocabulary"), std::string::npos) << r.output;
  Embeddings e = read_vectors(dir.file("w.vec"));
  EXPECT_EQ(e.words, (std::vector<std::string>{"dog", "the"}));
  EXPECT_EQ(e.data, (std::vector<float>{0.9f, 0.2f, 0.2f, 0.5f, 0.5f, 0.0f}));

  r = run_cli("export " + dir.file("run") + " --corpus-words --output " + dir.file("c.vec"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_vectors(dir.file("c.vec")).words, (std::vector<std::string>{"the", "cat", "dog", "sat", "mat"}));
}

TEST(ExportCli, NeighborsByCosine) {
  TempDir dir;
  words_run(dir);
  test::CliResult r = run_cli("neighbors " + dir.file("run") + " cat -k 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // cat (1, .1, .2) is nearest dog (.9, .2, .2): .96 / sqrt(1.05 * .89) = 0.9931, then the
  // (.5, .5, 0): .55 / sqrt(1.05 * .5) = 0.7591; cat itself is excluded.
  EXPECT_NE(r.output.find("cat\n  0.9931  dog\n  0.7591  the\n"), std::string::npos) << r.output;
  r = run_cli("neighbors " + dir.file("run") + " CAT unicorn -k 1");
  EXPECT_NE(r.output.find("CAT (as cat)\n  0.9931  dog"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("unicorn: not in the vocabulary"), std::string::npos) << r.output;
  EXPECT_NE(r.exit_code, 0);
}

TEST(ExportCli, EvalOnARunAndOnItsExport) {
  TempDir dir;
  words_run(dir);
  write_text(dir.file("q.txt"), ": family\ncat dog the sat\nthe cat sat mat\ncat dog the unicorn\n");
  write_text(dir.file("p.tsv"), "cat\tdog\t9\ncat\tthe\t5\nsat\tmat\t1\nthe\tunicorn\t3\n");
  test::CliResult a = run_cli("eval " + dir.file("run") + " --analogies " + dir.file("q.txt") + " --pairs " + dir.file("p.tsv") + " --json");
  ASSERT_EQ(a.exit_code, 0) << a.output;
  ASSERT_EQ(0, run_cli("export " + dir.file("run") + " --format word2vec-binary --output " + dir.file("v.bin")).exit_code);
  test::CliResult b = run_cli("eval " + dir.file("v.bin") + " --analogies " + dir.file("q.txt") + " --pairs " + dir.file("p.tsv") + " --json");
  ASSERT_EQ(b.exit_code, 0) << b.output;
  nlohmann::json ja = nlohmann::json::parse(a.output), jb = nlohmann::json::parse(b.output);
  EXPECT_EQ(ja["analogy_questions"], 3);
  EXPECT_EQ(ja["analogy_answered"], 2);
  EXPECT_EQ(ja["pairs:p.tsv"]["used"], 3);
  for (const char* key : {"analogy_total", "analogy_answered", "analogy_correct", "pairs:p.tsv"}) EXPECT_EQ(ja[key], jb[key]) << key;
  test::CliResult text = run_cli("eval " + dir.file("run") + " --analogies " + dir.file("q.txt"));
  EXPECT_NE(text.output.find("coverage   66.67 % of 3 questions"), std::string::npos) << text.output;
}

// ---- A BPE run: words composed from their pieces ----------------------------------------

/// A BPE run in dir/bpe with a hand-made model (merges "▁c", "▁ca", "▁cat"), input row of
/// id i = (i, i % 7), and its training text dir/text.txt.
BpeModel bpe_run(const TempDir& dir) {
  BpeModel model = BpeModel::from_parts({}, {{kBpeMarkerId, 'c'}, {kBpeFixedAlphabet, 'a'}, {kBpeFixedAlphabet + 1, 't'}});
  std::vector<std::string> vocab;
  std::vector<uint64_t> freq;
  std::vector<std::vector<float>> rows;
  for (uint32_t i = 0; i < model.vocab_size(); ++i) {
    vocab.emplace_back(model.piece(i));
    freq.push_back(i % 5);
    rows.push_back({static_cast<float>(i), static_cast<float>(i % 7)});
  }
  write_text(dir.file("text.txt"), "cat cats cat\ndog cats cat\n");
  nlohmann::json config = {{"mode", "bpe"}, {"min_count", 2}, {"input", dir.file("text.txt")}};
  TrainingState s = test::make_state(vocab, freq, rows, tokvec::TokenizerKind::bpe, config.dump());
  s.tokenizer_checksum = model.checksum();
  fs::create_directory(dir.file("bpe"));
  save_state(dir.file("bpe/state.tkv"), s);
  model.save(dir.file("bpe/tokenizer.bpe"));
  return model;
}

TEST(ExportCli, BpeRunComposesAnyWordAsTheMeanOfItsPieces) {
  TempDir dir;
  BpeModel model = bpe_run(dir);
  ASSERT_EQ(model.encode_word("cats"), (std::vector<uint32_t>{kBpeFixedAlphabet + 2, 's'}));  // "▁cat" "s"
  write_text(dir.file("w.txt"), "cats\nzebra\n");
  test::CliResult r = run_cli("export " + dir.file("bpe") + " --words " + dir.file("w.txt") + " --output " + dir.file("w.vec"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Embeddings e = read_vectors(dir.file("w.vec"));
  ASSERT_EQ(e.words, (std::vector<std::string>{"cats", "zebra"}));
  // cats = mean of rows 259 and 115: ((259 + 115) / 2, (0 + 3) / 2).
  EXPECT_EQ(e.data[0], 187.0f);
  EXPECT_EQ(e.data[1], 1.5f);
  // zebra, never seen, gets the mean of its pieces whatever they are.
  std::vector<uint32_t> ids = model.encode_word("zebra");
  double x = 0, y = 0;
  for (uint32_t id : ids) x += id, y += id % 7;
  EXPECT_FLOAT_EQ(e.data[2], static_cast<float>(x / static_cast<double>(ids.size())));
  EXPECT_FLOAT_EQ(e.data[3], static_cast<float>(y / static_cast<double>(ids.size())));

  // --corpus-words: the words of text.txt seen at least min_count (2) times, by count.
  r = run_cli("export " + dir.file("bpe") + " --corpus-words --format npy --output " + dir.file("c.npy"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_npy(dir.file("c.npy")).words, (std::vector<std::string>{"cat", "cats"}));

  // Token vectors: every piece, "▁" pieces included; in id order by default, in frequency
  // order when asked.
  r = run_cli("export " + dir.file("bpe") + " --order frequency --output " + dir.file("t.vec"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Embeddings t = read_vectors(dir.file("t.vec"));
  EXPECT_EQ(t.size(), model.vocab_size());
  EXPECT_EQ(t.words[0], model.piece(4));  // the first id with frequency 4
  r = run_cli("export " + dir.file("bpe") + " --output " + dir.file("id.vec"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Embeddings by_id = read_vectors(dir.file("id.vec"));
  ASSERT_EQ(by_id.size(), model.vocab_size());
  for (uint32_t i = 0; i < model.vocab_size(); ++i) EXPECT_EQ(by_id.words[i], model.piece(i)) << i;

  // neighbors and eval compose too: an unseen word is found, coverage is full.
  r = run_cli("neighbors " + dir.file("bpe") + " zebra -k 1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("BPE run: vectors composed from pieces"), std::string::npos) << r.output;
  write_text(dir.file("q.txt"), ": s\ncat cats zebra zebras\n");
  r = run_cli("eval " + dir.file("bpe") + " --analogies " + dir.file("q.txt") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  nlohmann::json j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["analogy_coverage_pct"], 100.0) << r.output;
  // As a words run: zebra and zebras are not words of text.txt, so nothing is answered.
  EXPECT_EQ(j["analogy_corpus_words"]["answered"], 0) << r.output;
  EXPECT_EQ(j["analogy_corpus_words"]["restrict"], 2) << r.output;

  // Without the training text, --corpus-words is a clear error; eval still composes the
  // evaluation words and says so.
  fs::remove(dir.file("text.txt"));
  r = run_cli("export " + dir.file("bpe") + " --corpus-words --output " + dir.file("c2.vec"));
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_NE(r.output.find(dir.file("text.txt")), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("c2.vec")));
  r = run_cli("eval " + dir.file("bpe") + " --analogies " + dir.file("q.txt"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("is missing"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("coverage   100.00 %"), std::string::npos) << r.output;
}

// ---- Bad input: clear error, non-zero exit, nothing written ----------------------------------

void expect_refused(const TempDir& dir, const std::string& args, int exit_code, const std::string& message) {
  std::vector<std::string> before = files_in(dir.path());
  test::CliResult r = run_cli(args);
  EXPECT_EQ(r.exit_code, exit_code) << args << "\n" << r.output;
  EXPECT_NE(r.output.find(message), std::string::npos) << args << "\n" << r.output;
  EXPECT_EQ(files_in(dir.path()), before) << args;  // no output (or temp) file left
}

TEST(ExportCli, BadInputsAreRefused) {
  TempDir dir;
  words_run(dir);
  const std::string out = " --output " + dir.file("out.vec");
  expect_refused(dir, "export " + dir.file("missing") + out, 4, dir.file("missing"));
  expect_refused(dir, "export " + dir.file("run") + " --format csv" + out, 2, "--format must be word2vec-text, word2vec-binary or npy");
  expect_refused(dir, "export " + dir.file("run") + " --output " + dir.file("nofolder/out.vec"), 4, "does not exist");
  expect_refused(dir, "export " + dir.file("run"), 2, "--output is required");
  expect_refused(dir, "export " + dir.file("run") + " --words x --corpus-words" + out, 2, "not both");
  expect_refused(dir, "export " + dir.file("run") + " --matrix middle" + out, 2, "--matrix must be input or output");
  write_text(dir.file("empty.txt"), "");
  expect_refused(dir, "export " + dir.file("run") + " --words " + dir.file("empty.txt") + out, 3, "nothing to export");

  // A corrupt state: one flipped byte in the vectors.
  fs::create_directory(dir.file("bad"));
  std::string bytes = test::read_text(dir.file("run/state.tkv"));
  bytes[bytes.size() - 100] ^= 0x55;
  write_text(dir.file("bad/state.tkv"), bytes);
  expect_refused(dir, "export " + dir.file("bad") + out, 5, dir.file("bad/state.tkv"));
  // A folder that is not a run.
  fs::create_directory(dir.file("notarun"));
  expect_refused(dir, "export " + dir.file("notarun") + out, 3, "no state.tkv");
  // A BPE run without its tokenizer.
  fs::create_directory(dir.file("bpe"));
  save_state(dir.file("bpe/state.tkv"), test::make_state({"a"}, {1}, {{1.0f}}, tokvec::TokenizerKind::bpe));
  expect_refused(dir, "export " + dir.file("bpe") + out, 3, "tokenizer.bpe is missing");

  // Truncated and damaged vectors files for eval and neighbors.
  write_text(dir.file("q.txt"), ": s\na b c d\n");
  write_text(dir.file("cut.vec"), "3 2\nthe 1 2\ncat 1 2\n");
  expect_refused(dir, "eval " + dir.file("cut.vec") + " --analogies " + dir.file("q.txt"), 3, "line 4: file ends after 2 vectors");
  write_text(dir.file("nan.vec"), "1 2\nthe 1 x2\n");
  expect_refused(dir, "neighbors " + dir.file("nan.vec") + " the", 3, "line 2: value 2 'x2' is not a number");
  expect_refused(dir, "eval " + dir.file("run"), 2, "give --analogies");
  expect_refused(dir, "eval " + dir.file("run") + " --analogies " + dir.file("none.txt"), 4, dir.file("none.txt"));
}

}  // namespace
}  // namespace tokvec

namespace tokvec {
namespace {

// A header announcing more vectors than the file can hold is refused before anything is
// allocated for them (not an out-of-memory crash).
TEST(ExportCli, LyingWord2VecHeaderIsRefused) {
  test::TempDir dir;
  test::write_text(dir.file("big.vec"), "2000000000 65536\nthe 0.1 0.2\n");
  test::write_text(dir.file("pairs.tsv"), "the\tthe\t10\n");
  test::CliResult r = test::run_cli("eval " + dir.file("big.vec") + " --pairs " + dir.file("pairs.tsv"));
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("more than the file"), std::string::npos) << r.output;
  test::write_text(dir.file("big.bin"), "1000000 100\nthe abcd\n");
  r = test::run_cli("neighbors " + dir.file("big.bin") + " the");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("more than the file"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace tokvec
