// Text from "-", pipes and FIFOs wherever tokvec reads text; text in the wrong encoding;
// a BPE run's word list once its input text has moved; the shipped evaluation files.
//
// Commands that could hang (a FIFO opened twice, /dev/zero read to its end) run under
// `timeout`, so a regression fails with exit 124 instead of hanging the suite.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "test_util.h"

namespace tokvec {
namespace {

namespace fs = std::filesystem;
using test::run_cli;
using test::run_command;
using test::TempDir;

using test::q;
const std::string kCli = TOKVEC_CLI_PATH;

/// ~16,000 words over 240 made-up words in 1,600 lines: enough pairs for a 300-token BPE.
std::string text() {
  static const char* syllables[] = {"ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "ve", "da", "gu", "xe"};
  std::string t;
  uint32_t x = 12345;
  for (int line = 0; line < 1600; ++line) {
    for (int k = 0; k < 10; ++k) {
      x = x * 1103515245u + 12345u;
      const uint32_t w = (x >> 16) % 240;
      t += std::string(syllables[w % 12]) + syllables[(w / 12) % 12] + (w >= 144 ? syllables[w % 7] : "");
      t += k < 9 ? " " : "\n";
    }
  }
  return t;
}

const char* kWords = " --words --min-count 1 --dim 8 --window 2 --threads 1 --quiet";
const char* kBpe = " --bpe-vocab-size 300 --dim 8 --window 2 --threads 1 --quiet";

void expect_error(const test::CliResult& r, int code, const std::string& needle, const std::string& what) {
  EXPECT_EQ(r.exit_code, code) << what << "\n" << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << what << "\n" << r.output;
}

/// A shell fragment that writes `file` into the FIFO `fifo` in the background, giving up
/// after a minute if no reader ever comes.
std::string writer(const std::string& file, const std::string& fifo) {
  return "timeout 60 sh -c 'cat " + q(file) + " > " + q(fifo) + "' >/dev/null 2>&1 & ";
}

class StreamCli : public ::testing::Test {
 protected:
  void SetUp() override { test::write_text(in, text()); }
  /// The word2vec text export of a run (token vectors), for comparing two runs.
  std::string vectors(const std::string& run) {
    const std::string out = dir.file(fs::path(run).filename().string() + ".vec");
    EXPECT_EQ(run_cli("export " + q(run) + " --output " + q(out)).exit_code, 0);
    return test::read_text(out);
  }
  TempDir dir;
  std::string in = dir.file("in.txt");
};

TEST_F(StreamCli, TrainReadsStandardInputInBothModes) {
  for (const char* mode : {kWords, kBpe}) {
    const std::string tag = mode == kWords ? "w" : "b";
    ASSERT_EQ(run_cli("train --input " + q(in) + " --output " + q(dir.file("file-" + tag)) + mode).exit_code, 0);
    for (const std::string& name : {std::string("-"), std::string("/dev/stdin")}) {
      const std::string run = dir.file((name == "-" ? "dash-" : "devstdin-") + tag);
      test::CliResult r = run_command("cat " + q(in) + " | " + kCli + " train --input " + name + " --output " + q(run) + mode);
      ASSERT_EQ(r.exit_code, 0) << name << mode << "\n" << r.output;
      // The same text gives the same vectors (one thread: bit for bit), and the copy of the
      // stream is gone once the corpus is written.
      EXPECT_EQ(vectors(run), vectors(dir.file("file-" + tag))) << name << mode;
      EXPECT_FALSE(fs::exists(run + "/input.spool")) << name << mode;
      EXPECT_TRUE(fs::exists(run + "/corpus.tkc"));
    }
  }
  // An empty stream is refused, naming it, and leaves no run folder.
  expect_error(run_command(": | " + kCli + " train --input - --output " + q(dir.file("empty")) + kWords), 3,
               "<stdin>: no text to train on: the stream is empty", "empty stdin");
  EXPECT_FALSE(fs::exists(dir.file("empty")));
}

TEST_F(StreamCli, FifoInputsAreReadOnceAndNeverHang) {
  const std::string fifo = dir.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  ASSERT_EQ(run_cli("train --input " + q(in) + " --output " + q(dir.file("ref")) + kBpe).exit_code, 0);
  // BPE train reads the text twice (tokenizer, then encoding): it used to open the FIFO a
  // second time and wait for ever.
  test::CliResult r = run_command(writer(in, fifo) + "timeout 120 " + kCli + " train --input " + q(fifo) + " --output " +
                                  q(dir.file("fb")) + kBpe);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(vectors(dir.file("fb")), vectors(dir.file("ref")));
  // Words mode used to see an empty file (st_size 0): "the text holds no word".
  r = run_command(writer(in, fifo) + "timeout 120 " + kCli + " train --input " + q(fifo) + " --output " + q(dir.file("fw")) + kWords);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // bpe-train and encode read a FIFO as a stream, once.
  r = run_command(writer(in, fifo) + "timeout 120 " + kCli + " bpe-train --input " + q(fifo) + " --vocab-size 300 --quiet --output " +
                  q(dir.file("m.bpe")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(test::read_text(dir.file("m.bpe")), test::read_text(dir.file("ref/tokenizer.bpe")));
  r = run_command(writer(in, fifo) + "timeout 120 " + kCli + " encode --model " + q(dir.file("m.bpe")) + " --input " + q(fifo) +
                  " --quiet --output " + q(dir.file("c.tkc")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_command("cat " + q(in) + " | timeout 120 " + kCli + " encode --model " + q(dir.file("m.bpe")) + " --input - --quiet --output " +
                  q(dir.file("c2.tkc")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string decode = " decode --model " + q(dir.file("m.bpe")) + " --input ";
  EXPECT_EQ(run_cli(decode + q(dir.file("c.tkc"))).output, run_cli(decode + q(dir.file("ref/corpus.tkc"))).output);
  EXPECT_EQ(run_cli(decode + q(dir.file("c2.tkc"))).output, run_cli(decode + q(dir.file("ref/corpus.tkc"))).output);
  for (const auto& e : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  }
}

TEST_F(StreamCli, EvalReadsWordListsFromPipes) {
  ASSERT_EQ(run_cli("train --input " + q(in) + " --output " + q(dir.file("run")) + kWords).exit_code, 0);
  const std::string pairs = dir.file("pairs.tsv"), analogies = dir.file("q.txt");
  test::write_text(pairs, "kalo\tmine\t3.5\nsuta\tripo\t7\nveda\tguxe\t1\nkami\tnelo\t5\n");
  test::write_text(analogies, ": s\nkalo mine suta ripo\nveda guxe kami nelo\n");
  const std::string run = q(dir.file("run"));
  const test::CliResult from_file = run_cli("eval " + run + " --json --pairs " + q(pairs) + " --analogies " + q(analogies));
  ASSERT_EQ(from_file.exit_code, 0) << from_file.output;
  // Each file is used twice (the words to compose, then the scores): read once.
  const test::CliResult piped =
      run_command("cat " + q(pairs) + " | " + kCli + " eval " + run + " --json --pairs /dev/stdin --analogies " + q(analogies));
  ASSERT_EQ(piped.exit_code, 0) << piped.output;
  EXPECT_NE(piped.output.find("\"pairs\":4"), std::string::npos) << piped.output;  // was 0 of 0, Spearman nan
  const test::CliResult dash = run_command("cat " + q(analogies) + " | " + kCli + " eval " + run + " --json --analogies - --pairs " + q(pairs));
  ASSERT_EQ(dash.exit_code, 0) << dash.output;
  EXPECT_NE(dash.output.find("\"analogy_questions\":2"), std::string::npos) << dash.output;
  // A word list for export, from a pipe.
  test::CliResult r = run_command("printf 'kalo\\nmine\\n' | " + kCli + " export " + run + " --words - --output " + q(dir.file("two.vec")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(test::read_text(dir.file("two.vec")).substr(0, 4), "2 8\n");
}

TEST_F(StreamCli, BinaryReadersRefuseDevicesAndFifosWithoutReadingThem) {
  const std::string fifo = dir.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // inspect used to read /dev/zero to its end (over a minute) before failing, and to wait
  // for ever for a FIFO's writer.
  expect_error(run_command("timeout 60 " + kCli + " inspect /dev/zero"), 4,
               "/dev/zero: is a pipe or a device, not a regular file: inspect describes", "inspect /dev/zero");
  expect_error(run_command("timeout 60 " + kCli + " inspect " + q(fifo)), 4, "is a pipe or a device, not a regular file", "inspect fifo");
  // A model read from an endless stream stops at a bound.
  expect_error(run_command("timeout 60 " + kCli + " encode --model /dev/zero --print ids < " + q(in)), 3,
               "/dev/zero: holds more than 256 MiB", "model from /dev/zero");
  // Mapped files (corpus, state, vectors) from a FIFO: refused before open() could block.
  expect_error(run_command("timeout 60 " + kCli + " train --corpus " + q(fifo) + " --output " + q(dir.file("r")) + " --quiet"), 4,
               "is a pipe or a device, not a regular file", "corpus from a fifo");
}

// ---- Text that is not UTF-8 -----------------------------------------------------------------

std::string utf16le(const std::string& ascii, bool bom) {
  std::string out = bom ? std::string("\xFF\xFE", 2) : std::string();
  for (char c : ascii) {
    out.push_back(c);
    out.push_back('\0');
  }
  return out;
}

std::string latin1(const std::string& ascii) {
  // Every 'e' becomes a Latin-1 e-acute (one byte 0xE9, invalid as UTF-8).
  std::string out = ascii;
  for (char& c : out) {
    if (c == 'e') c = '\xE9';
  }
  return out;
}

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  uint32_t x = 7;
  for (char& c : out) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return out;
}

TEST_F(StreamCli, TextThatIsNotUtf8IsRefusedSayingWhatItLooksLike) {
  struct Case {
    std::string name, bytes, needle;
  };
  const std::string t = text();
  const Case cases[] = {
      {"u16.txt", utf16le(t, true), "looks like UTF-16LE text (byte-order mark FF FE), not UTF-8: convert it with iconv -f UTF-16 -t UTF-8"},
      {"u16nobom.txt", utf16le(t, false), "looks like UTF-16LE without a byte-order mark"},
      {"u32.txt", std::string("\xFF\xFE\0\0", 4) + "a\0\0\0", "looks like UTF-32LE text (byte-order mark FF FE 00 00)"},
      {"latin1.txt", latin1(t), "looks like Latin-1 or another 8-bit encoding, not UTF-8"},
      {"random.bin", random_bytes(200000), "looks like binary data, not text"},
  };
  for (const Case& c : cases) {
    const std::string path = dir.file(c.name);
    test::write_text(path, c.bytes);
    for (const std::string& cmd : {"train --input " + q(path) + " --output " + q(dir.file("r")) + kWords,
                                   "train --input " + q(path) + " --output " + q(dir.file("r")) + kBpe,
                                   "bpe-train --input " + q(path) + " --vocab-size 300 --quiet --output " + q(dir.file("m.bpe")),
                                   "cat " + q(path) + " | " + kCli + " train --input - --output " + q(dir.file("r")) + kWords}) {
      const test::CliResult r = cmd.rfind("cat ", 0) == 0 ? run_command(cmd) : run_cli(cmd);
      expect_error(r, 3, c.needle, c.name + ": " + cmd);
      EXPECT_NE(r.output.find("--allow-binary"), std::string::npos) << r.output;
      EXPECT_FALSE(fs::exists(dir.file("r"))) << cmd;
      EXPECT_FALSE(fs::exists(dir.file("m.bpe"))) << cmd;
    }
  }
  // --allow-binary goes on (with a warning); BPE keeps bad bytes as byte pieces.
  test::CliResult r = run_cli("train --input " + q(dir.file("latin1.txt")) + " --output " + q(dir.file("ok")) + kBpe + " --allow-binary");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(test::read_text(dir.file("ok/train.log")).find("warning: "), std::string::npos);
}

TEST_F(StreamCli, AFewBadBytesInUtf8TextGiveAWarningWithTheirCount) {
  // 3 Latin-1 bytes in ~100 KB of UTF-8 text (with some real UTF-8 too): trained, warned.
  std::string t = text();
  t.replace(1000, 4, "caf\xE9");
  t.replace(50000, 4, "\xC3\xA9t\xE9");
  t.replace(90000, 2, "\xE9\xE8");
  const std::string path = dir.file("mostly.txt");
  test::write_text(path, t);
  // Not --quiet: the warning is on screen as well as in the log.
  test::CliResult r = run_cli("train --input " + q(path) + " --output " + q(dir.file("r")) + " --words --min-count 1 --dim 8 --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("warning: " + path + ": 4 of its " + std::to_string(t.size()) + " bytes"), std::string::npos) << r.output;
  ASSERT_EQ(run_cli("bpe-train --input " + q(in) + " --vocab-size 300 --quiet --output " + q(dir.file("m.bpe"))).exit_code, 0);
  r = run_cli("encode --model " + q(dir.file("m.bpe")) + " --input " + q(path) + " --quiet --output " + q(dir.file("c.tkc")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("tokvec encode: warning: " + path + ": 4 of its"), std::string::npos) << r.output;
}

// ---- A BPE run's word list -------------------------------------------------------------------

TEST_F(StreamCli, BpeRunFindsItsWordsInItsCorpusWhenTheTextHasMoved) {
  ASSERT_EQ(run_cli("train --input " + q(in) + " --output " + q(dir.file("run")) + kBpe).exit_code, 0);
  const std::string run = q(dir.file("run"));
  const test::CliResult before = run_cli("neighbors " + run + " kalo -k 3");
  ASSERT_EQ(before.exit_code, 0) << before.output;
  fs::rename(in, dir.file("moved.txt"));
  // It used to print the query alone ("kalo" and no neighbour) with exit 0.
  const test::CliResult after = run_cli("neighbors " + run + " kalo -k 3");
  ASSERT_EQ(after.exit_code, 0) << after.output;
  EXPECT_EQ(after.output.substr(after.output.find("\nkalo\n")), before.output.substr(before.output.find("\nkalo\n")));
  EXPECT_NE(after.output.find("corpus.tkc"), std::string::npos) << after.output;
  ASSERT_EQ(run_cli("export " + run + " --corpus-words --output " + q(dir.file("w.vec"))).exit_code, 0);
  EXPECT_EQ(test::read_text(dir.file("w.vec")).substr(0, 4), "240 ");
  // With neither the text nor the corpus: neighbors is an error naming both, not an empty
  // answer; eval composes the evaluation words alone and says so.
  fs::remove(dir.file("run/corpus.tkc"));
  const test::CliResult none = run_cli("neighbors " + run + " kalo -k 3");
  expect_error(none, 4, "neither its corpus (" + dir.file("run/corpus.tkc"), "no corpus, no text");
  EXPECT_NE(none.output.find("nor its input " + in + " is there"), std::string::npos) << none.output;
  const test::CliResult ev = run_cli("eval " + run + " --pairs " + q(TOKVEC_CORPORA_DIR "/eval/wordsim353.tsv"));
  EXPECT_EQ(ev.exit_code, 0) << ev.output;
  EXPECT_NE(ev.output.find("(no training text: " + in + " is missing, and so is " + dir.file("run/corpus.tkc")), std::string::npos)
      << ev.output;
}

// ---- The README's quick start uses shipped files only ------------------------------------------

TEST(Readme, QuickStartUsesOnlyFilesOfTheRepository) {
  const std::string root = fs::path(TOKVEC_CORPORA_DIR).parent_path().string();
  const std::string readme = test::read_text(root + "/README.md");
  const size_t begin = readme.find("## Quick start");
  ASSERT_NE(begin, std::string::npos);
  const std::string quick = readme.substr(begin, readme.find("\n## ", begin + 1) - begin);
  EXPECT_EQ(quick.find("../shared"), std::string::npos) << quick;
  // Every corpora/ path it names is in the repository.
  size_t found = 0;
  for (size_t at = quick.find("corpora/"); at != std::string::npos; at = quick.find("corpora/", at + 1)) {
    const std::string path = quick.substr(at, quick.find_first_of(" \n`", at) - at);
    EXPECT_TRUE(fs::exists(root + "/" + path)) << path;
    ++found;
  }
  EXPECT_GE(found, 3u);  // the corpus and the two evaluation files
  EXPECT_TRUE(fs::is_regular_file(root + "/corpora/eval/SOURCES.md"));
}

}  // namespace
}  // namespace tokvec
