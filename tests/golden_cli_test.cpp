// Golden bytes: a words run and a BPE run with one thread on a fixed slice of the bundled
// corpus, on the scalar kernel (the same float operations on every x86-64 CPU; an AArch64
// build rounds differently, see docs/building.md), and
// every file they write: the tokenizer, the encoded corpus, state.tkv and each export.
// corpus.tkc and state.tkv record the input file's absolute path, which differs from one
// temporary folder to the next, so theirs are pinned from the same text read on stdin
// (recorded as "-"); the exports of both runs must be the same bytes. The
// hashes were recorded from the trainer as it is; any change to what a run computes or how
// its files are laid out shows here, on purpose or not. A deliberate change of format or
// maths updates the table below in the same commit and says why.

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "test_util.h"

namespace tokvec {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

/// FNV-1a, 64 bits: small, stable across compilers and libraries, enough to tell bytes apart.
uint64_t fnv1a(const std::string& bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

/// The first ~120 kB of corpora/gutenberg-3m.txt, cut after a line end.
std::string golden_text() {
  std::string all = test::read_text(std::string(TOKVEC_CORPORA_DIR) + "/gutenberg-3m.txt");
  std::string head = all.substr(0, 120000);
  return head.substr(0, head.rfind('\n') + 1);
}

/// Runs tokvec inside `folder`, with paths relative to it.
test::CliResult run_scalar(const TempDir& folder, const std::string& args) {
  return test::run_command("cd " + folder.path().string() + " && TOKVEC_SIMD=scalar " + std::string(TOKVEC_CLI_PATH) + " " + args);
}

/// The sanitizer build compiles the same float code differently (the instrumentation
/// changes which operations GCC keeps in registers and in what order), so its vectors
/// differ from the Release build's in the last bits. There, only the files without floats
/// (tokenizer, corpus, vocabulary) are compared; the Release build compares every file.
bool holds_floats(const std::string& name) {
  return name.ends_with(".tkv") || name.ends_with(".vec") || name.ends_with(".bin") || name.ends_with(".npy");
}

void expect_hashes(const std::string& folder, const std::map<std::string, std::string>& expected) {
  for (const auto& [name, want] : expected) {
    const std::string path = folder + "/" + name;
    ASSERT_TRUE(fs::exists(path)) << path;
    if (TOKVEC_TEST_SANITIZED && holds_floats(name)) continue;
    EXPECT_EQ(hex(fnv1a(test::read_text(path))), want) << name << " changed";
  }
}

const char* kSettings = " --threads 1 --dim 16 --epochs 2 --seed 7 --min-count 2 --window 4 --negative 3 --quiet";

TEST(GoldenCli, WordsRunAndItsExportsAreByteIdentical) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), golden_text());
  auto r = run_scalar(dir, std::string("train --words --input in.txt --output run") + kSettings);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const auto& [format, name] : std::map<std::string, std::string>{
           {"word2vec-text", "v.vec"}, {"word2vec-binary", "v.bin"}, {"npy", "v.npy"}}) {
    auto e = run_scalar(dir, "export run --format " + format + " --output " + name);
    ASSERT_EQ(e.exit_code, 0) << e.output;
  }
  auto out = run_scalar(dir, "export run --matrix output --output out.vec");
  ASSERT_EQ(out.exit_code, 0) << out.output;
  auto piped = run_scalar(dir, std::string("train --words --input - --output piped") + kSettings + " < in.txt");
  ASSERT_EQ(piped.exit_code, 0) << piped.output;
  ASSERT_EQ(run_scalar(dir, "export piped --output piped.vec").exit_code, 0);
  EXPECT_EQ(test::read_text(dir.file("piped.vec")), test::read_text(dir.file("v.vec")));
  expect_hashes(dir.path().string(), {
                                         {"piped/corpus.tkc", "462006b3f07d2799"},
                                         {"piped/state.tkv", "018a16640e954db0"},
                                         {"v.vec", "207131faafd4703d"},
                                         {"v.bin", "610f4e8c52ba4199"},
                                         {"v.npy", "94fcccf8fc448137"},
                                         {"v.vocab.txt", "b539ae123de6c0ff"},
                                         {"out.vec", "793749dc7ffa08f0"},
                                     });
}

TEST(GoldenCli, BpeRunAndItsExportsAreByteIdentical) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), golden_text());
  test::write_text(dir.file("words.txt"), "the\nunheardofness\nStevenson\n");
  auto r = run_scalar(dir, std::string("train --input in.txt --bpe-vocab-size 400 --output run") + kSettings);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const auto& [args, name] : std::map<std::string, std::string>{
           {"--order id", "id.vec"},
           {"--order frequency", "freq.vec"},
           {"--format npy", "v.npy"},
           {"--words words.txt", "words.vec"},
           {"--corpus-words", "corpus-words.vec"}}) {
    auto e = run_scalar(dir, "export run " + args + " --output " + name);
    ASSERT_EQ(e.exit_code, 0) << args << "\n" << e.output;
  }
  auto piped = run_scalar(dir, std::string("train --input - --bpe-vocab-size 400 --output piped") + kSettings + " < in.txt");
  ASSERT_EQ(piped.exit_code, 0) << piped.output;
  ASSERT_EQ(run_scalar(dir, "export piped --output piped.vec").exit_code, 0);
  EXPECT_EQ(test::read_text(dir.file("piped.vec")), test::read_text(dir.file("id.vec")));
  expect_hashes(dir.path().string(), {
                                         {"run/tokenizer.bpe", "226bb8a5c2500234"},
                                         {"piped/corpus.tkc", "93155da2b78ef887"},
                                         {"piped/state.tkv", "10c925d4566cd8c3"},
                                         {"id.vec", "53cb7ac4880ed2fb"},
                                         {"freq.vec", "facda38c574a7f65"},
                                         {"v.npy", "9bc8eeb303aeec13"},
                                         {"v.vocab.txt", "672ff2ac309a2f0a"},
                                         {"words.vec", "602a0586333937f3"},
                                         {"corpus-words.vec", "a13cc962c1434538"},
                                     });
}

}  // namespace
}  // namespace tokvec
