// Bad inputs from docs/errors.md's "Bad input: what you get" table that no other test covered:
// files of the wrong kind, outputs that are not regular files, a full stdout, a run folder
// whose pieces do not belong together, and odd bytes that must train, not fail.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "test_util.h"
#include "tokvec/checkpoint.h"

namespace tokvec {
namespace {

namespace fs = std::filesystem;
using test::run_cli;
using test::TempDir;

using test::q;

/// ~3,600 words over 12 types in lines of 12 words.
std::string text(int lines = 300) { return test::cycled_words_text(lines); }

const char* kFast = " --words --min-count 1 --dim 8 --window 2 --threads 1 --quiet";

/// Expects exit `code`, `needle` in the output, and exactly one line of output (the error).
void expect_error(const test::CliResult& r, int code, const std::string& needle, const std::string& what) {
  EXPECT_EQ(r.exit_code, code) << what << "\n" << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << what << "\n" << r.output;
}

class BadInputCli : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_text(dir.file("in.txt"), text());
    ASSERT_EQ(run_cli("bpe-train --input " + q(dir.file("in.txt")) + " --vocab-size 260 --output " + q(dir.file("m.bpe")) + " --quiet").exit_code, 0);
    ASSERT_EQ(run_cli("encode --model " + q(dir.file("m.bpe")) + " --input " + q(dir.file("in.txt")) + " --output " + q(dir.file("c.tkc")) + " --quiet").exit_code, 0);
    ASSERT_EQ(run_cli("train --input " + q(dir.file("in.txt")) + " --output " + q(dir.file("run")) + kFast).exit_code, 0);
  }
  TempDir dir;
};

TEST_F(BadInputCli, FilesOfTheWrongKindAreRefused) {
  const std::string in = q(dir.file("in.txt"));
  // A corpus or plain text given as a tokenizer model.
  expect_error(run_cli("encode --model " + q(dir.file("c.tkc")) + " --input " + in + " --output " + q(dir.file("x.tkc"))), 5,
               "looks like a tokvec token corpus (.tkc), not a tokvec BPE model", "corpus as model");
  expect_error(run_cli("train --input " + in + " --tokenizer " + in + " --output " + q(dir.file("r2")) + " --quiet"), 5,
               "looks like plain text, not a tokvec BPE model", "text as --tokenizer");
  EXPECT_FALSE(fs::exists(dir.file("r2")));
  // A model, a text or a state given as a token corpus.
  expect_error(run_cli("decode --model " + q(dir.file("m.bpe")) + " --input " + q(dir.file("m.bpe"))), 5,
               "looks like a tokvec BPE model, not a tokvec token corpus (.tkc)", "model as corpus");
  expect_error(run_cli("train --corpus " + q(dir.file("run/state.tkv")) + " --output " + q(dir.file("r3")) + " --quiet"), 5,
               "looks like a tokvec training state (state.tkv or a checkpoint), not a tokvec token corpus", "state as corpus");
  // A corpus or a model given as a training state.
  expect_error(run_cli("export " + q(dir.file("c.tkc")) + " --output " + q(dir.file("x.vec"))), 5,
               "looks like a tokvec token corpus (.tkc), not a tokvec run folder or training state", "corpus as state");
  expect_error(run_cli("audit " + q(dir.file("m.bpe"))), 5, "looks like a tokvec BPE model, not a tokvec run folder", "model as state");
  // A text file where a vectors file is expected, and a folder where a file is.
  expect_error(run_cli("neighbors " + in + " w1"), 3, "expected a header \"N D\"", "text as vectors");
  expect_error(run_cli("inspect " + q(dir.path().string())), 4, "is a folder, expected a file", "folder as file");
  expect_error(run_cli("inspect " + in), 5, "looks like plain text, not a tokvec file", "text to inspect");
  // A folder as an output file, a file as a run folder.
  expect_error(run_cli("export " + q(dir.file("run")) + " --output " + q(dir.file("run"))), 2, "is a folder; give a file name", "folder as output");
  expect_error(run_cli("train --input " + in + " --output " + in + kFast), 2, "exists and is not a folder", "file as run folder");
  EXPECT_EQ(test::read_text(dir.file("in.txt")), text());
  EXPECT_FALSE(fs::exists(dir.file("x.vec")));
  EXPECT_FALSE(fs::exists(dir.file("x.tkc")));
}

TEST_F(BadInputCli, OutputThatIsNotARegularFileIsRefusedAndKept) {
  // A FIFO stands for /dev/full, /dev/stdout and other special files: written to a
  // temporary file and renamed, the output would replace the node itself (as root, /dev's).
  const std::string fifo = dir.file("pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  for (const std::string& args : {"export " + q(dir.file("run")) + " --output " + q(fifo),
                                  "bpe-train --input " + q(dir.file("in.txt")) + " --vocab-size 260 --quiet --output " + q(fifo),
                                  "audit " + q(dir.file("run")) + " --top 0 --json " + q(fifo)}) {
    expect_error(run_cli(args), 4, "is a device, pipe or socket, not a regular file", args);
    EXPECT_TRUE(fs::is_fifo(fifo)) << args;
  }
  for (const auto& e : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  }
}

TEST_F(BadInputCli, FullStdoutIsAnError) {
  if (!fs::exists("/dev/full") || !fs::is_character_file("/dev/full")) GTEST_SKIP() << "no /dev/full";
  // Small outputs stay in stdio's buffer until exit: the error must still reach the status.
  for (const std::string& args : {"inspect " + q(dir.file("m.bpe")), "neighbors " + q(dir.file("run")) + " w1 -k 2",
                                  "decode --model " + q(dir.file("m.bpe")) + " --input " + q(dir.file("c.tkc"))}) {
    // run_command adds 2>&1 after the group: the error still reaches the test.
    test::CliResult r = test::run_command("{ " + std::string(TOKVEC_CLI_PATH) + " " + args + " >/dev/full; }");
    expect_error(r, 4, "<stdout>: write failed: No space left on device", args);
  }
}

TEST_F(BadInputCli, RunFolderPiecesThatDoNotBelongTogether) {
  // A second run on other text, with checkpoints.
  std::string other = text(100);
  std::replace(other.begin(), other.end(), 'w', 'v');  // other words: another vocabulary
  test::write_text(dir.file("other.txt"), other + other);
  ASSERT_EQ(run_cli("train --input " + q(dir.file("other.txt")) + " --output " + q(dir.file("other")) + kFast +
                    " --epochs 2 --checkpoint-every 1000").exit_code, 0);
  const std::string foreign = list_checkpoints(dir.file("other")).back().second;
  // run's config and corpus with the other run's checkpoint.
  fs::remove(dir.file("run/state.tkv"));
  fs::copy_file(foreign, dir.file("run/checkpoint-000001.tkv"));
  expect_error(run_cli("train --resume " + q(dir.file("run"))), 5, "belongs to another tokenizer or corpus", "foreign checkpoint");
  // The other run's config edited to another dimension.
  fs::remove(dir.file("other/state.tkv"));
  std::string config = test::read_text(dir.file("other/config.json"));
  config.replace(config.find("\"dim\": 8"), 8, "\"dim\": 9");
  test::write_text(dir.file("other/config.json"), config);
  expect_error(run_cli("train --resume " + q(dir.file("other"))), 5, "config.json, key \"dim\": is 9, but", "edited config");
  // A damaged corpus.tkc is rebuilt from the recorded input, with a warning.
  fs::remove(dir.file("run/checkpoint-000001.tkv"));
  std::string corpus = test::read_text(dir.file("run/corpus.tkc"));
  test::write_text(dir.file("run/corpus.tkc"), corpus.substr(0, corpus.size() / 2));
  test::CliResult r = run_cli("train --resume " + q(dir.file("run")));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("rebuilding the corpus"), std::string::npos) << r.output;
  EXPECT_TRUE(load_state(dir.file("run/state.tkv")).finished());
}

TEST_F(BadInputCli, InvalidUtf8NulAndOneLongLineTrain) {
  // Invalid UTF-8, a NUL inside a word and no final newline, all on one line of 21,000 words.
  std::string line;
  for (int i = 0; i < 3000; ++i) {
    line += "ab\xFF\xFE cd \xC3 ";
    line += std::string("z\0y", 3);
    line += " w" + std::to_string(i % 7) + " \xE2\x82 q ";
  }
  test::write_text(dir.file("odd.txt"), line);
  const std::string odd = q(dir.file("odd.txt"));
  // More than 1 % of these bytes are not UTF-8: refused unless --allow-binary.
  expect_error(run_cli("train --input " + odd + " --output " + q(dir.file("oddw")) + kFast), 3, "looks like binary data", "odd text");
  test::CliResult r = run_cli("train --input " + odd + " --output " + q(dir.file("oddw")) + kFast + " --allow-binary");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // A words token holding a control byte cannot be a word2vec token; npy can hold it.
  expect_error(run_cli("export " + q(dir.file("oddw")) + " --output " + q(dir.file("odd.vec"))), 3, "use --format npy", "NUL token");
  EXPECT_EQ(run_cli("export " + q(dir.file("oddw")) + " --format npy --output " + q(dir.file("odd.npy"))).exit_code, 0);
  // BPE: byte fallback, no unknown token; every piece is printable.
  r = run_cli("train --input " + odd + " --output " + q(dir.file("oddb")) + " --bpe-vocab-size 262 --dim 8 --window 2 --threads 2 --quiet --allow-binary");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(run_cli("export " + q(dir.file("oddb")) + " --output " + q(dir.file("oddb.vec"))).exit_code, 0);
  EXPECT_NE(test::read_text(dir.file("oddb.vec")).find("<0x00>"), std::string::npos);
}

}  // namespace
}  // namespace tokvec
