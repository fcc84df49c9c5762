// Export: frequency order, mean composition, writers and readers (exact round trips),
// gensim loading, and clear errors for damaged vector files.
#include "tokvec/export.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "export_fixtures.h"
#include "test_util.h"
#include "tokvec/status.h"

namespace tokvec {
namespace {

using test::make_embeddings;
using test::make_state;
using test::read_text;
using test::TempDir;
using test::write_text;

/// Awkward floats: signs, tiny and huge magnitudes, values that need 9 digits.
Embeddings awkward() {
  return make_embeddings({"the", "▁cat", "<0xE2>", "naïve"},
                         {{0.1f, -0.0f, 1e-38f, 3.4028235e38f},
                          {1.0f / 3.0f, -2.5f, 123456.789f, 1e-45f},
                          {0.0f, 7.0f, -1.17549435e-38f, 0.30000001f},
                          {-0.123456789f, 2.0f / 7.0f, 65504.0f, 1.5f}});
}

void expect_same(const Embeddings& a, const Embeddings& b) {
  ASSERT_EQ(a.words, b.words);
  ASSERT_EQ(a.dim, b.dim);
  ASSERT_EQ(a.data.size(), b.data.size());
  // Bit-exact, so -0.0 and denormals count too.
  EXPECT_EQ(0, std::memcmp(a.data.data(), b.data.data(), a.data.size() * sizeof(float)));
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Export, TokenVectorsInFrequencyOrderTiesById) {
  TrainingState s = make_state({"a", "b", "c", "d"}, {5, 9, 5, 1}, {{1}, {2}, {3}, {4}}, tokvec::TokenizerKind::bpe);
  Embeddings e = token_embeddings(s);
  EXPECT_EQ(e.words, (std::vector<std::string>{"b", "a", "c", "d"}));
  EXPECT_EQ(e.data, (std::vector<float>{2, 1, 3, 4}));
  Embeddings out = token_embeddings(s, MatrixChoice::output);
  EXPECT_EQ(out.data, (std::vector<float>{-2, -1, -3, -4}));
}

TEST(Export, ComposedVectorIsTheMeanOfThePieces) {
  TrainingState s = make_state({"▁un", "seen", "▁cat", "s"}, {4, 3, 2, 1}, {{1, 2}, {3, 6}, {10, -10}, {0.5f, 0.25f}}, tokvec::TokenizerKind::bpe);
  // A stand-in for BpeModel::encode_word.
  PieceEncoder enc = [](std::string_view w) -> std::vector<uint32_t> {
    if (w == "unseen") return {0, 1};
    if (w == "cats") return {2, 3};
    if (w == "cat") return {2};
    if (w == "unseenunseen") return {0, 1, 0, 1};
    return {};
  };
  Embeddings e = compose_word_vectors(s, {"unseen", "cats", "cat", "unseenunseen"}, enc);
  EXPECT_EQ(e.words, (std::vector<std::string>{"unseen", "cats", "cat", "unseenunseen"}));
  EXPECT_EQ(e.data, (std::vector<float>{2, 4, 5.25f, -4.875f, 10, -10, 2, 4}));
  // A word no piece covers is an error naming the word.
  EXPECT_NE(error_of([&] { compose_word_vectors(s, {"dog"}, enc); }).find("'dog'"), std::string::npos);
}

TEST(Export, TextRoundTripIsExact) {
  TempDir dir;
  Embeddings e = awkward();
  write_word2vec_text(dir.file("v.txt"), e);
  expect_same(e, read_word2vec_text(dir.file("v.txt")));
  expect_same(e, read_vectors(dir.file("v.txt")));
  EXPECT_EQ(read_text(dir.file("v.txt")).substr(0, 4), "4 4\n");
}

TEST(Export, BinaryRoundTripIsExact) {
  TempDir dir;
  Embeddings e = awkward();
  write_word2vec_binary(dir.file("v.bin"), e);
  expect_same(e, read_word2vec_binary(dir.file("v.bin")));
  expect_same(e, read_vectors(dir.file("v.bin")));  // detected as binary by content
  std::string bytes = read_text(dir.file("v.bin"));
  EXPECT_EQ(bytes.size(), 4u + 4 * (16 + 2) + 3 + 6 + 6 + 6);  // header, 4 x (floats, ' ', '\n'), token bytes
}

TEST(Export, NpyRoundTripWithEscapedVocabulary) {
  TempDir dir;
  Embeddings e = awkward();
  e.words[1] = "line\nbreak";
  e.words[2] = "back\\slash\r";
  write_npy(dir.file("v.npy"), e);
  EXPECT_EQ(npy_vocab_path(dir.file("v.npy")), dir.file("v.vocab.txt"));
  EXPECT_EQ(read_text(dir.file("v.vocab.txt")), "the\nline\\nbreak\nback\\\\slash\\r\nnaïve\n");
  std::string bytes = read_text(dir.file("v.npy"));
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_NE(bytes.find("'descr': '<f4', 'fortran_order': False, 'shape': (4, 4), }"), std::string::npos);
  size_t header = 10 + (static_cast<uint8_t>(bytes[8]) | static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
  EXPECT_EQ(header % 64, 0u);  // data aligned to 64 bytes
  EXPECT_EQ(bytes[header - 1], '\n');
  EXPECT_EQ(bytes.size(), header + 16 * 4);
  expect_same(e, read_npy(dir.file("v.npy")));
  expect_same(e, read_vectors(dir.file("v.npy")));
}

TEST(Export, Word2vecFormatsRefuseTokensWithSpaces) {
  TempDir dir;
  Embeddings e = make_embeddings({"ok", "two words"}, {{1}, {2}});
  std::string msg = error_of([&] { write_word2vec_text(dir.file("v.txt"), e); });
  EXPECT_NE(msg.find("row 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("format npy"), std::string::npos) << msg;
  EXPECT_THROW(write_word2vec_binary(dir.file("v.bin"), e), Error);
  EXPECT_FALSE(std::filesystem::exists(dir.file("v.txt")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("v.bin")));
  write_npy(dir.file("v.npy"), e);  // npy can hold it
  EXPECT_EQ(read_npy(dir.file("v.npy")).words[1], "two words");
}

TEST(Export, FailedWriteLeavesNoFile) {
  TempDir dir;
  Embeddings e = awkward();
  EXPECT_THROW(write_word2vec_text(dir.file("v.txt"), e, 20), Error);
  EXPECT_THROW(write_npy(dir.file("v.npy"), e, 20), Error);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(Export, CountsTextWordsAboveMinCount) {
  TempDir dir;
  write_text(dir.file("t.txt"), "b a  c\ta\nb a\r\nd\n");
  std::vector<WordCount> all = count_text_words(dir.file("t.txt"), 1);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].word, "a");
  EXPECT_EQ(all[0].count, 3u);
  EXPECT_EQ(all[1].word, "b");
  EXPECT_EQ(all[2].word, "c");  // ties by bytes
  EXPECT_EQ(all[3].word, "d");
  EXPECT_EQ(count_text_words(dir.file("t.txt"), 2).size(), 2u);
}

TEST(Export, ReadsWordLists) {
  TempDir dir;
  write_text(dir.file("w.txt"), "cat\r\n  dog \n\ncat\nbird");
  EXPECT_EQ(read_word_list(dir.file("w.txt")), (std::vector<std::string>{"cat", "dog", "bird"}));
  write_text(dir.file("bad.txt"), "cat\nhot dog\n");
  std::string msg = error_of([&] { read_word_list(dir.file("bad.txt")); });
  EXPECT_NE(msg.find("line 2"), std::string::npos) << msg;
}

struct BadFile {
  const char* name;
  std::string bytes;
  const char* expected;  // part of the message
};

TEST(Export, DamagedTextFilesAreReportedWithTheLine) {
  TempDir dir;
  const BadFile cases[] = {
      {"empty", "", "empty file"},
      {"header", "2 x\na 1\n", "line 1"},
      {"no header newline", "2 2", "line 1"},
      {"zero dim", "1 0\na\n", "dimension 0"},
      {"non-numeric", "2 2\na 1 2\nb 1 zz\n", "line 3: value 2 'zz' is not a number"},
      {"too few values", "2 2\na 1 2\nb 1\n", "line 3: expected a token and 2 values, got 1"},
      {"truncated", "3 2\na 1 2\nb 1 2\n", "line 4: file ends after 2 vectors"},
      {"truncated mid-line", "2 2\na 1 2\nb 1", "truncated"},
      {"too many", "1 2\na 1 2\nb 1 2\n", "more vectors"},
  };
  for (const BadFile& c : cases) {
    std::string path = dir.file("bad.txt");
    write_text(path, c.bytes);
    std::string msg = error_of([&] { read_word2vec_text(path); });
    EXPECT_NE(msg.find(c.expected), std::string::npos) << c.name << ": " << msg;
    EXPECT_NE(msg.find(path), std::string::npos) << c.name << ": " << msg;
  }
}

TEST(Export, DamagedBinaryAndNpyFilesAreReportedWithTheOffset) {
  TempDir dir;
  Embeddings e = awkward();
  write_word2vec_binary(dir.file("v.bin"), e);
  std::string bytes = read_text(dir.file("v.bin"));
  write_text(dir.file("cut.bin"), bytes.substr(0, bytes.size() - 10));
  std::string msg = error_of([&] { read_word2vec_binary(dir.file("cut.bin")); });
  EXPECT_NE(msg.find("record 4 of 4"), std::string::npos) << msg;
  EXPECT_NE(msg.find("byte "), std::string::npos) << msg;
  write_text(dir.file("long.bin"), bytes + "extra ");
  EXPECT_NE(error_of([&] { read_word2vec_binary(dir.file("long.bin")); }).find("more data"), std::string::npos);

  write_npy(dir.file("v.npy"), e);
  std::string npy = read_text(dir.file("v.npy"));
  write_text(dir.file("cut.npy"), npy.substr(0, npy.size() - 4));
  std::filesystem::copy_file(dir.file("v.vocab.txt"), dir.file("cut.vocab.txt"));
  EXPECT_NE(error_of([&] { read_npy(dir.file("cut.npy")); }).find("truncated"), std::string::npos);
  write_text(dir.file("v.vocab.txt"), "the\n");
  EXPECT_NE(error_of([&] { read_npy(dir.file("v.npy")); }).find("holds 1 tokens"), std::string::npos);
  write_text(dir.file("magic.npy"), "NUMPY nope");
  EXPECT_NE(error_of([&] { read_npy(dir.file("magic.npy")); }).find("bad magic"), std::string::npos);
}

TEST(Export, GensimLoadsTextAndBinary) {
  std::string py = test::python_with_gensim();
  if (py.empty()) GTEST_SKIP() << "python3-gensim is not installed";
  TempDir dir;
  Embeddings e = awkward();
  write_word2vec_text(dir.file("v.txt"), e);
  write_word2vec_binary(dir.file("v.bin"), e);
  // One interpreter for both files: importing gensim takes seconds.
  std::string script =
      "from gensim.models import KeyedVectors\n"
      "for name, binary in (('" + dir.file("v.txt") + "', False), ('" + dir.file("v.bin") + "', True)):\n"
      "    kv = KeyedVectors.load_word2vec_format(name, binary=binary)\n"
      "    print(' '.join(kv.index_to_key))\n"
      "    print(kv.vector_size)\n"
      "    print(' '.join(repr(float(x)) for x in kv['\u2581cat']))\n";
  write_text(dir.file("check.py"), script);
  int status = -1;
  std::string out = test::shell_output(py + " " + dir.file("check.py"), &status);
  ASSERT_EQ(status, 0) << out;
  std::vector<std::string> lines;
  for (size_t pos = 0, nl; (nl = out.find('\n', pos)) != std::string::npos; pos = nl + 1) lines.push_back(out.substr(pos, nl - pos));
  ASSERT_EQ(lines.size(), 6u) << out;
  for (size_t f = 0; f < 2; ++f) {
    EXPECT_EQ(lines[3 * f], "the \u2581cat <0xE2> na\u00efve") << f;
    EXPECT_EQ(lines[3 * f + 1], "4") << f;
    // float32 values printed as Python doubles: they convert back to the same floats.
    char* p = lines[3 * f + 2].data();
    for (uint32_t d = 0; d < e.dim; ++d) EXPECT_EQ(static_cast<float>(std::strtod(p, &p)), e.row(1)[d]) << "file " << f << " dim " << d;
  }
}

TEST(Export, NumpyLoadsTheNpy) {
  std::string py;
  for (const char* candidate : {"/usr/bin/python3", "python3"}) {
    if (std::system((std::string(candidate) + " -c 'import numpy' >/dev/null 2>&1").c_str()) == 0) {
      py = candidate;
      break;
    }
  }
  if (py.empty()) GTEST_SKIP() << "numpy is not installed";
  TempDir dir;
  Embeddings e = awkward();
  e.words[2] = "back\\slash\nnl";
  write_npy(dir.file("v.npy"), e);
  write_text(dir.file("check.py"),
             "import numpy as np\n"
             "v = np.load('" + dir.file("v.npy") + "')\n"
             "print(v.dtype, v.shape, v.flags['C_CONTIGUOUS'])\n"
             "print(' '.join(repr(float(x)) for x in v[1]))\n");
  int status = -1;
  std::string out = test::shell_output(py + " " + dir.file("check.py"), &status);
  ASSERT_EQ(status, 0) << out;
  size_t nl = out.find('\n');
  EXPECT_EQ(out.substr(0, nl), "float32 (4, 4) True");
  char* p = out.data() + nl + 1;
  for (uint32_t d = 0; d < e.dim; ++d) EXPECT_EQ(static_cast<float>(std::strtod(p, &p)), e.row(1)[d]) << d;
}

}  // namespace
}  // namespace tokvec
