// What a user is told after a slip: a misspelt option or command ("did you mean"), a value
// of the wrong type (the option named, and what it expects), a file of the wrong kind (what
// the file looks like); and the words a BPE run lists (no punctuation attached), and
// `train --words --lowercase`.
#include <algorithm>
#include <filesystem>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "tokvec/checkpoint.h"
#include "tokvec/export.h"

namespace tokvec {
namespace {

namespace fs = std::filesystem;
using test::run_cli;
using test::TempDir;

using test::q;

/// Expects exit `code` and `needle` in the output.
void expect_error(const test::CliResult& r, int code, const std::string& needle, const std::string& what) {
  EXPECT_EQ(r.exit_code, code) << what << "\n" << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << what << "\n" << r.output;
}

TEST(GuidanceCli, UnknownOptionsAndCommandsSuggestTheRightName) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), "a b c\n");
  const std::string in = " --input " + q(dir.file("in.txt")) + " --output " + q(dir.file("r"));
  // bpe-train's name in train, and the reverse.
  expect_error(run_cli("train" + in + " --vocab-size 300"), 2, "unknown option --vocab-size; did you mean --bpe-vocab-size?", "vocab-size");
  expect_error(run_cli("bpe-train" + in + " --bpe-vocab-size 300"), 2, "unknown option --bpe-vocab-size; did you mean --vocab-size?",
               "bpe-vocab-size");
  // Slips by edit distance, in every command (the check is in the shared parser).
  expect_error(run_cli("train" + in + " --epoch 2"), 2, "did you mean --epochs?", "epoch");
  expect_error(run_cli("train" + in + " --windw 2"), 2, "did you mean --window?", "windw");
  expect_error(run_cli("train" + in + " --min_count 2"), 2, "did you mean --min-count?", "min_count");
  expect_error(run_cli("export r --ouptut x.vec"), 2, "did you mean --output?", "ouptut");
  expect_error(run_cli("audit r --min-update 5"), 2, "did you mean --min-updates?", "min-update");
  expect_error(run_cli("encode --modle m.bpe"), 2, "did you mean --model?", "modle");
  expect_error(run_cli("eval r --pair p.txt"), 2, "did you mean --pairs?", "pair");
  // Names from word2vec, fastText and gensim.
  expect_error(run_cli("train" + in + " --size 50"), 2, "did you mean --dim?", "size");
  expect_error(run_cli("train" + in + " --iter 3"), 2, "did you mean --epochs?", "iter");
  expect_error(run_cli("train" + in + " --alpha 0.1"), 2, "did you mean --lr?", "alpha");
  expect_error(run_cli("neighbors r w --topn 3"), 2, "did you mean -k?", "topn");
  // Nothing close: no suggestion.
  test::CliResult r = run_cli("train" + in + " --frobnicate 3");
  expect_error(r, 2, "unknown option --frobnicate (see --help)", "nothing close");
  EXPECT_EQ(r.output.find("did you mean"), std::string::npos) << r.output;
  // Commands too.
  expect_error(run_cli("trian --input x"), 2, "unknown command 'trian'; did you mean train?", "trian");
  expect_error(run_cli("neighbours r w"), 2, "did you mean neighbors?", "neighbours");
  EXPECT_FALSE(fs::exists(dir.file("r")));
}

TEST(GuidanceCli, ABadValueNamesItsOptionAndWhatItExpects) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), "a b c\n");
  const std::string in = " --input " + q(dir.file("in.txt")) + " --output " + q(dir.file("r"));
  expect_error(run_cli("train" + in + " --dim 50x"), 2, "--dim expects an integer, got '50x'", "50x");
  expect_error(run_cli("train" + in + " --dim 10abc"), 2, "--dim expects an integer, got '10abc'", "10abc");
  expect_error(run_cli("train" + in + " --dim=1e3"), 2, "--dim expects an integer, got '1e3'", "1e3");
  expect_error(run_cli("train" + in + " --epochs -2"), 2, "--epochs expects an integer from 0 to 4294967295, got '-2'", "negative");
  expect_error(run_cli("train" + in + " --seed 99999999999999999999"), 2, "--seed expects an integer from 0 to 18446744073709551615",
               "overflow");
  // Numbers: cxxopts alone read "0.5x" as 0.5.
  expect_error(run_cli("train" + in + " --lr 0.5x"), 2, "--lr expects a number, got '0.5x'", "0.5x");
  expect_error(run_cli("train" + in + " --sample fast"), 2, "--sample expects a number, got 'fast'", "fast");
  // Other commands, and a short option.
  expect_error(run_cli("neighbors r w -k 3x"), 2, "-k expects an integer, got '3x'", "-k");
  expect_error(run_cli("audit r --top ten"), 2, "--top expects an integer, got 'ten'", "top");
  expect_error(run_cli("eval r --pairs p --threads 2.5"), 2, "--threads expects an integer, got '2.5'", "threads");
  expect_error(run_cli("export r -o x.vec --min-updates 1.5 --skip-flagged"), 2, "--min-updates expects an integer, got '1.5'",
               "min-updates");
  // A missing value names the option.
  expect_error(run_cli("train" + in + " --dim"), 2, "--dim needs a value", "missing");
  EXPECT_FALSE(fs::exists(dir.file("r")));
}

class GuidanceFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t;
    for (int i = 0; i < 200; ++i) t += "the sea. The ship, on the sea; a ship! sea? \"sea\" (ship) w" + std::to_string(i % 7) + "\n";
    test::write_text(dir.file("in.txt"), t);
    ASSERT_EQ(run_cli("train --input " + q(dir.file("in.txt")) + " --output " + q(dir.file("run")) +
                      " --bpe-vocab-size 270 --dim 8 --window 2 --threads 1 --epochs 1 --min-count 2 --quiet").exit_code, 0);
    ASSERT_EQ(run_cli("export " + q(dir.file("run")) + " --output " + q(dir.file("v.vec"))).exit_code, 0);
    ASSERT_EQ(run_cli("export " + q(dir.file("run")) + " --format word2vec-binary --output " + q(dir.file("v.bin"))).exit_code, 0);
    ASSERT_EQ(run_cli("export " + q(dir.file("run")) + " --format npy --output " + q(dir.file("v.npy"))).exit_code, 0);
  }
  TempDir dir;
};

TEST_F(GuidanceFiles, AFileOfTheWrongKindIsNamedForWhatItIs) {
  const std::string run = q(dir.file("run")), in = q(dir.file("in.txt"));
  // Vectors files where a run or state is read.
  expect_error(run_cli("export " + q(dir.file("v.vec")) + " --output " + q(dir.file("x.vec"))), 5,
               "v.vec: looks like a word2vec text file, not a tokvec run folder or training state", "vec to export");
  expect_error(run_cli("audit " + q(dir.file("v.bin"))), 5, "v.bin: looks like a word2vec binary file, not a tokvec run folder", "bin to audit");
  expect_error(run_cli("export " + q(dir.file("v.npy")) + " --output " + q(dir.file("x.vec"))), 5, "looks like a NumPy .npy file", "npy");
  // A model, a corpus, a text where another tokvec file is read.
  expect_error(run_cli("export " + q(dir.file("run/tokenizer.bpe")) + " --output " + q(dir.file("x.vec"))), 5,
               "looks like a tokvec BPE model, not a tokvec run folder or training state", "model to export");
  expect_error(run_cli("decode --model " + q(dir.file("run/tokenizer.bpe")) + " --input " + in), 5,
               "in.txt: looks like plain text, not a tokvec token corpus (.tkc)", "text as corpus");
  expect_error(run_cli("encode --model " + q(dir.file("run/corpus.tkc")) + " --input " + in + " --output " + q(dir.file("x.tkc"))), 5,
               "looks like a tokvec token corpus (.tkc), not a tokvec BPE model", "corpus as model");
  expect_error(run_cli("train --corpus " + q(dir.file("v.vec")) + " --output " + q(dir.file("r2")) + " --quiet"), 5,
               "looks like a word2vec text file, not a tokvec token corpus", "vec as corpus");
  expect_error(run_cli("train --input " + in + " --tokenizer " + q(dir.file("run/state.tkv")) + " --output " + q(dir.file("r3")) + " --quiet"), 5,
               "looks like a tokvec training state (state.tkv or a checkpoint), not a tokvec BPE model", "state as model");
  // A token corpus where vectors are read (it used to print the corpus's raw bytes).
  test::CliResult r = run_cli("neighbors " + q(dir.file("run/corpus.tkc")) + " sea");
  expect_error(r, 3, "corpus.tkc: looks like a tokvec token corpus (.tkc), not vectors", "corpus to neighbors");
  EXPECT_EQ(r.output.find("TKVCORPS"), std::string::npos) << r.output;
  // Compressed text, and a run folder where a file is read.
  test::write_text(dir.file("t.txt.xz"), std::string("\xfd" "7zXZ\0\0\x04\xe6\xd6\xb4\x46", 12));
  expect_error(run_cli("inspect " + q(dir.file("t.txt.xz"))), 5, "looks like an xz-compressed file", "xz");
  expect_error(run_cli("encode --model " + run + " --input " + in + " --output " + q(dir.file("x.tkc"))), 4,
               "run: is a tokvec run folder, expected a file", "run folder as model");
  expect_error(run_cli("inspect " + in), 5, "looks like plain text, not a tokvec file", "text to inspect");
  EXPECT_FALSE(fs::exists(dir.file("x.vec")));
  EXPECT_FALSE(fs::exists(dir.file("x.tkc")));
  EXPECT_FALSE(fs::exists(dir.file("r2")));
  EXPECT_FALSE(fs::exists(dir.file("r3")));
}

bool carries_punctuation(const std::string& w) {
  for (char c : w) {
    if (c == '.' || c == ',' || c == ';' || c == '!' || c == '?' || c == '"' || c == '(' || c == ')') return true;
  }
  return false;
}

TEST_F(GuidanceFiles, ABpeRunsWordListHasNoPunctuationAttached) {
  // The library's word list: the tokenizer's pre-tokens, letters or digits only.
  std::vector<std::string> words;
  for (const WordCount& wc : count_text_words(dir.file("in.txt"), 1)) words.push_back(wc.word);
  for (const std::string& w : words) EXPECT_FALSE(carries_punctuation(w)) << w;
  EXPECT_NE(std::find(words.begin(), words.end(), "sea"), words.end());
  EXPECT_NE(std::find(words.begin(), words.end(), "The"), words.end());
  // export --corpus-words and the neighbours' candidates.
  ASSERT_EQ(run_cli("export " + q(dir.file("run")) + " --corpus-words --output " + q(dir.file("cw.vec"))).exit_code, 0);
  Embeddings cw = read_word2vec_text(dir.file("cw.vec"));
  ASSERT_GT(cw.size(), 3u);
  for (const std::string& w : cw.words) EXPECT_FALSE(carries_punctuation(w)) << w;
  test::CliResult r = run_cli("neighbors " + q(dir.file("run")) + " sea ship -k 20");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("sea."), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("sea;"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("ship,"), std::string::npos) << r.output;
}

TEST(GuidanceCli, LowercaseWordsRunsLowercaseTextAndQueries) {
  TempDir dir;
  std::string t;
  // Upper, title and lower case of the same words, Unicode included (É/é, Σ/σ).
  for (int i = 0; i < 100; ++i) t += "The SEA the Sea sea ÉTÉ été Été ΣΟΦΙΑ σοφια w" + std::to_string(i % 5) + " W" + std::to_string(i % 5) + "\n";
  test::write_text(dir.file("in.txt"), t);
  const std::string fast = " --dim 8 --window 2 --threads 1 --epochs 1 --min-count 1 --quiet";
  ASSERT_EQ(run_cli("train --words --lowercase --input " + q(dir.file("in.txt")) + " --output " + q(dir.file("run")) + fast).exit_code, 0);
  nlohmann::json config = nlohmann::json::parse(test::read_text(dir.file("run/config.json")));
  EXPECT_EQ(config["lowercase"], true);
  ASSERT_EQ(run_cli("export " + q(dir.file("run")) + " --output " + q(dir.file("all.vec"))).exit_code, 0);
  Embeddings all = read_word2vec_text(dir.file("all.vec"));
  std::set<std::string> vocab(all.words.begin(), all.words.end());
  EXPECT_EQ(vocab, (std::set<std::string>{"the", "sea", "été", "σοφια", "w0", "w1", "w2", "w3", "w4"}));
  // Queries are lowercased as the text was: export --words and neighbors.
  test::write_text(dir.file("list.txt"), "SEA\nSea\nÉTÉ\nnope\n");
  test::CliResult r = run_cli("export " + q(dir.file("run")) + " --words " + q(dir.file("list.txt")) + " --output " + q(dir.file("l.vec")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Embeddings listed = read_word2vec_text(dir.file("l.vec"));
  EXPECT_EQ(listed.words, (std::vector<std::string>{"sea", "été"}));
  r = run_cli("neighbors " + q(dir.file("run")) + " ÉTÉ -k 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ÉTÉ (as été)"), std::string::npos) << r.output;
  // A resume that has to rebuild the corpus lowercases as config.json says (else the
  // checkpoint would not match the rebuilt vocabulary).
  ASSERT_EQ(run_cli("train --words --lowercase --input " + q(dir.file("in.txt")) + " --output " + q(dir.file("ck")) +
                    " --dim 8 --window 2 --threads 1 --epochs 2 --min-count 1 --quiet --checkpoint-every 1000").exit_code, 0);
  ASSERT_FALSE(list_checkpoints(dir.file("ck")).empty());
  fs::remove(dir.file("ck/state.tkv"));
  fs::remove(dir.file("ck/corpus.tkc"));
  r = run_cli("train --resume " + q(dir.file("ck")) + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(run_cli("export " + q(dir.file("ck")) + " --output " + q(dir.file("ck.vec"))).exit_code, 0);
  EXPECT_EQ(read_word2vec_text(dir.file("ck.vec")).size(), 9u);
  // Without --lowercase the cases stay apart; --lowercase is for words runs, and a resume
  // keeps the run's own setting.
  ASSERT_EQ(run_cli("train --words --input " + q(dir.file("in.txt")) + " --output " + q(dir.file("cased")) + fast).exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(test::read_text(dir.file("cased/config.json")))["lowercase"], false);
  expect_error(run_cli("train --lowercase --input " + q(dir.file("in.txt")) + " --output " + q(dir.file("bpe")) + fast), 2,
               "--lowercase applies to --words runs", "bpe");
  expect_error(run_cli("train --resume " + q(dir.file("cased")) + " --lowercase"), 2, "--lowercase cannot be changed", "resume");
  EXPECT_FALSE(fs::exists(dir.file("bpe")));
}

}  // namespace
}  // namespace tokvec
