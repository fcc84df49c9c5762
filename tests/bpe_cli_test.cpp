// The bpe-train / encode / decode commands end to end, and every bad input they must refuse
// with a one-line error, a non-zero exit and no output file.
#include <filesystem>
#include <string>

#include "test_util.h"

namespace tokvec {
namespace {

using test::run_cli;
using test::TempDir;

using test::q;

class BpeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string text;
    for (int i = 0; i < 200; ++i) text += "the quick brown fox jumps over the lazy dog, café 日本語 " + std::to_string(i) + "\r\n";
    test::write_text(dir.file("in.txt"), text);
    auto r = run_cli("bpe-train --input " + q(dir.file("in.txt")) + " --vocab-size 300 --output " + q(dir.file("m.bpe")) + " --threads 2 --quiet");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  /// Runs a command that must fail: exit code, one line naming `needle`, and `out` absent.
  void expect_refused(const std::string& args, int code, const std::string& needle, const std::string& out = "") {
    auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, code) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(needle), std::string::npos) << args << "\n" << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    if (!out.empty()) {
      EXPECT_FALSE(std::filesystem::exists(out)) << out;
    }
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
      EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
    }
  }
  TempDir dir;
};

TEST_F(BpeCli, TrainEncodeDecodeRoundTrip) {
  auto enc = run_cli("encode --model " + q(dir.file("m.bpe")) + " --input " + q(dir.file("in.txt")) + " --output " + q(dir.file("c.bin")) + " --quiet");
  ASSERT_EQ(enc.exit_code, 0) << enc.output;
  auto dec = run_cli("decode --model " + q(dir.file("m.bpe")) + " --input " + q(dir.file("c.bin")) + " --output " + q(dir.file("back.txt")));
  ASSERT_EQ(dec.exit_code, 0) << dec.output;
  std::string back = test::read_text(dir.file("back.txt"));
  EXPECT_EQ(back.rfind("the quick brown fox jumps over the lazy dog, café 日本語 0\nthe", 0), 0u) << back.substr(0, 80);
  auto stdout_dec = run_cli("decode --model " + q(dir.file("m.bpe")) + " --input " + q(dir.file("c.bin")));
  EXPECT_EQ(stdout_dec.output, back);
  // Quick text modes.
  test::write_text(dir.file("q.txt"), "the  fox\n");
  auto pieces = run_cli("encode --model " + q(dir.file("m.bpe")) + " --print pieces --input " + q(dir.file("q.txt")));
  EXPECT_EQ(pieces.exit_code, 0);
  EXPECT_EQ(pieces.output.substr(0, 3), "▁");
  auto ids = run_cli("encode --model " + q(dir.file("m.bpe")) + " --print ids < " + q(dir.file("q.txt")) + " > " + q(dir.file("ids.txt")));
  EXPECT_EQ(ids.exit_code, 0);
  auto text = run_cli("decode --model " + q(dir.file("m.bpe")) + " --ids --input " + q(dir.file("ids.txt")));
  EXPECT_EQ(text.output, "the fox\n");
}

TEST_F(BpeCli, HelpShowsDefaultsFromConfig) {
  auto r = run_cli("bpe-train --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("32000"), std::string::npos);
  EXPECT_NE(r.output.find("min-frequency"), std::string::npos);
}

TEST_F(BpeCli, BadTrainingInputIsRefused) {
  const std::string out = dir.file("out.bpe");
  const std::string train = "bpe-train --output " + q(out) + " --quiet --input ";
  test::write_text(dir.file("empty.txt"), "");
  test::write_text(dir.file("blank.txt"), "  \n\t\r\n \xE3\x80\x80 \n");
  expect_refused(train + q(dir.file("empty.txt")) + " --vocab-size 300", 3, "empty.txt", out);
  expect_refused(train + q(dir.file("blank.txt")) + " --vocab-size 300", 3, "blank.txt", out);
  const std::string in = q(dir.file("in.txt"));
  expect_refused(train + in + " --vocab-size 0", 2, "--vocab-size", out);
  expect_refused(train + in + " --vocab-size -5", 2, "--vocab-size", out);
  expect_refused(train + in + " --vocab-size abc", 2, "--vocab-size", out);
  expect_refused(train + in + " --vocab-size 12x", 2, "--vocab-size", out);
  expect_refused(train + in + " --vocab-size 100", 2, "257", out);
  expect_refused(train + in + " --vocab-size 99999999999", 2, "--vocab-size", out);
  expect_refused(train + in + " --vocab-size 900000", 3, "with --min-frequency 2 (asked for 900000): lower --vocab-size or --min-frequency", out);
  expect_refused(train + q(dir.file("missing.txt")) + " --vocab-size 300", 4, "missing.txt", out);
  expect_refused(train + q(dir.path().string()) + " --vocab-size 300", 4, dir.path().filename().string(), out);
  expect_refused("bpe-train --input " + in + " --vocab-size 300 --output " + q(dir.file("no/such/m.bpe")), 4, "no/such", "");
  expect_refused(train + in + " --vocab-size 300 --bogus", 2, "bogus", out);
  expect_refused(train + in + " --vocab-size 300 --min-frequency 0", 2, "--min-frequency", out);
  expect_refused(train + in + " --vocab-size 300 --threads -1", 2, "--threads", out);
}

TEST_F(BpeCli, UnreadableInputIsRefused) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
  test::write_text(dir.file("secret.txt"), "text\n");
  std::filesystem::permissions(dir.file("secret.txt"), std::filesystem::perms::none);
  expect_refused("bpe-train --input " + q(dir.file("secret.txt")) + " --vocab-size 300 --output " + q(dir.file("o.bpe")), 4, "secret.txt", dir.file("o.bpe"));
}

TEST_F(BpeCli, BadModelOrCorpusIsRefused) {
  const std::string model = dir.file("m.bpe");
  const std::string good = test::read_text(model);
  const std::string in = q(dir.file("in.txt"));
  const std::string out = dir.file("c.bin");
  test::write_text(dir.file("trunc.bpe"), good.substr(0, good.size() / 2));
  expect_refused("encode --model " + q(dir.file("trunc.bpe")) + " --input " + in + " --output " + q(out), 5, "trunc.bpe", out);
  std::string altered = good;
  altered[altered.find("merge ") + 6] ^= 1;
  test::write_text(dir.file("alt.bpe"), altered);
  expect_refused("encode --model " + q(dir.file("alt.bpe")) + " --input " + in + " --output " + q(out), 5, "line", out);
  expect_refused("encode --model " + q(dir.file("none.bpe")) + " --input " + in + " --output " + q(out), 4, "none.bpe", out);
  expect_refused("encode --model " + q(model) + " --input " + in + " --output " + q(dir.file("no/dir/c.bin")), 4, "no/dir", "");
  test::write_text(dir.file("empty.txt"), "\n \n");
  expect_refused("encode --model " + q(model) + " --input " + q(dir.file("empty.txt")) + " --output " + q(out), 3, "empty.txt", out);
  expect_refused("encode --model " + q(model) + " --input " + in + " --output " + q(out) + " --frobnicate", 2, "frobnicate", out);

  // A corpus: truncated, altered, or from another model.
  ASSERT_EQ(run_cli("encode --model " + q(model) + " --input " + in + " --output " + q(out) + " --quiet").exit_code, 0);
  std::string corpus = test::read_text(out);
  test::write_text(dir.file("trunc.bin"), corpus.substr(0, corpus.size() - 7));
  expect_refused("decode --model " + q(model) + " --input " + q(dir.file("trunc.bin")), 5, "trunc.bin");
  std::string flipped = corpus;
  flipped[flipped.size() / 2] ^= 0x40;
  test::write_text(dir.file("flip.bin"), flipped);
  expect_refused("decode --model " + q(model) + " --input " + q(dir.file("flip.bin")), 5, "flip.bin");
  test::write_text(dir.file("other.txt"), "completely different text for another model\n");
  ASSERT_EQ(run_cli("bpe-train --input " + q(dir.file("other.txt")) + " --vocab-size 258 --output " + q(dir.file("other.bpe")) + " --quiet").exit_code, 0);
  expect_refused("decode --model " + q(dir.file("other.bpe")) + " --input " + q(out), 3, "not with");
  expect_refused("decode --model " + q(model) + " --input " + q(out) + " --output " + q(dir.file("x/y.txt")), 4, "x/y.txt");
  test::write_text(dir.file("ids.txt"), "1 2 999999\n");
  expect_refused("decode --model " + q(model) + " --ids --input " + q(dir.file("ids.txt")), 3, "line 1");
}

}  // namespace
}  // namespace tokvec
