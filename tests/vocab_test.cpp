#include "tokvec/vocab.h"

#include "test_util.h"
#include "base/io.h"
#include "tokvec/status.h"
#include "text/text.h"

namespace tokvec {
namespace {

using test::TempDir;

CorpusData build(const std::string& text, uint64_t min_count, size_t block_bytes = 1 << 20, int threads = 2) {
  TempDir dir;
  std::string path = dir.file("in.txt");
  test::write_text(path, text);
  WordVocabConfig c;
  c.min_count = min_count;
  c.block_bytes = block_bytes;
  c.threads = threads;
  return build_word_corpus(path, c);
}

std::string repeated_text(int lines) {
  std::string text;
  for (int i = 0; i < lines; ++i) text += "the quick brown fox jumps over the lazy dog " + std::to_string(i % 7) + "\n";
  return text;
}

// Before: a block past the new end read the buffer beyond the bytes pread returned and
// inserted an empty word for ever (all memory, then the kernel's OOM killer).
TEST(WordVocab, FileCutShortWhileReadIsAnInputErrorNamingIt) {
  for (size_t block : {size_t{64}, size_t{1} << 20}) {
    for (int cut : {0, 1, 100, 1000}) {
      TempDir dir;
      const std::string path = dir.file("grow.txt");
      const std::string text = repeated_text(60);
      test::write_text(path, text);
      test::ChangeAfterSizeTaken change(text.substr(0, static_cast<size_t>(cut)));
      WordVocabConfig c;
      c.min_count = 1;
      c.block_bytes = block;
      c.threads = 2;
      try {
        (void)build_word_corpus(path, c);
        ADD_FAILURE() << "no error for a file cut to " << cut << " bytes, blocks of " << block;
      } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::input);
        EXPECT_NE(std::string(e.what()).find(path + ": changed size while being read"), std::string::npos) << e.what();
      }
      EXPECT_EQ(test::ChangeAfterSizeTaken::calls, 1);
    }
  }
}

TEST(WordVocab, FileGrownWhileReadIsAnInputError) {
  TempDir dir;
  const std::string path = dir.file("grow.txt");
  const std::string text = repeated_text(20);
  test::write_text(path, text);
  test::ChangeAfterSizeTaken change(text + text);
  WordVocabConfig c;
  c.min_count = 1;
  c.block_bytes = 64;
  try {
    (void)write_word_corpus(path, c, dir.file("out.tkc"), {});
    ADD_FAILURE() << "no error for a file that grew";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::input);
    EXPECT_NE(std::string(e.what()).find(path + ": changed size while being read"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("out.tkc")));
}

TEST(WordVocab, OrdersByCountThenBytes) {
  CorpusData c = build("b a b c a b\nd d d d d y x\n", 1);
  EXPECT_EQ(c.vocab, (std::vector<std::string>{"d", "b", "a", "c", "x", "y"}));
  EXPECT_EQ(c.counts, (std::vector<uint64_t>{5, 3, 2, 1, 1, 1}));
  EXPECT_EQ(c.tokenizer_kind, tokvec::TokenizerKind::words);
  EXPECT_EQ(c.tokens.size(), 13u);
  EXPECT_EQ(c.line_ends, (std::vector<uint64_t>{6, 13}));
}

TEST(WordVocab, MinCountDropsWordsFromTheStreamAndLinesEndAtCrLf) {
  CorpusData c = build("a b z\r\n\n\t c a\rb  q\n", 2);
  // z, c and q occur once: dropped, so "a b" and "a" and "b" remain.
  EXPECT_EQ(c.vocab, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.tokens, (std::vector<uint32_t>{0, 1, 0, 1}));
  EXPECT_EQ(c.line_ends, (std::vector<uint64_t>{2, 3, 4}));
}

TEST(WordVocab, SmallBlocksGiveTheSameCorpus) {
  std::string text;
  for (int i = 0; i < 2000; ++i) {
    text += 'w';
    text += std::to_string(i % 37);
    text += i % 11 == 0 ? "\n" : "  ";
  }
  CorpusData big = build(text, 3);
  CorpusData small = build(text, 3, /*block_bytes=*/64, /*threads=*/2);
  EXPECT_EQ(big.vocab, small.vocab);
  EXPECT_EQ(big.tokens, small.tokens);
  EXPECT_EQ(big.line_ends, small.line_ends);
  EXPECT_EQ(big.counts, small.counts);
  EXPECT_EQ(big.tokenizer_checksum, small.tokenizer_checksum);
  CorpusData copy = big;
  copy.recount();
  EXPECT_EQ(copy.counts, big.counts);
}

TEST(WordVocab, WordsLongerThanABlockAreReadWhole) {
  std::string longword(300, 'x');
  std::string text = "a ";
  text += longword;
  text += " b\r\n";
  text += longword;
  text += "\n\na b";
  for (size_t block : {64, 7, 1 << 20}) {
    CorpusData c = build(text, 1, block, 2);
    EXPECT_EQ(c.vocab, (std::vector<std::string>{"a", "b", longword})) << block;
    EXPECT_EQ(c.tokens, (std::vector<uint32_t>{0, 2, 1, 2, 0, 1})) << block;
    EXPECT_EQ(c.line_ends, (std::vector<uint64_t>{3, 4, 6})) << block;
  }
}

TEST(WordVocab, LowercaseFoldsCaseInEveryBlock) {
  // Words of every case, Unicode ones whose lowercase has another byte length (U+023A
  // "Ⱥ", 2 bytes, lowercases to U+2C65, 3 bytes), and 64-byte blocks so
  // that words cross block ends.
  std::string text;
  for (int i = 0; i < 40; ++i) {
    text += "The THE the Sea SEA \xC8\xBA \xE2\xB1\xA5 \xC3\x89T\xC3\x89 \xC3\xA9t\xC3\xA9 ZZ longWORDacrossBLOCKS" + std::to_string(i % 3) + "\n";
  }
  TempDir dir;
  const std::string path = dir.file("in.txt");
  test::write_text(path, text);
  WordVocabConfig c;
  c.min_count = 1;
  c.block_bytes = 64;
  c.threads = 2;
  c.lowercase = true;
  CorpusData lower = build_word_corpus(path, c);
  EXPECT_EQ(lower.vocab, (std::vector<std::string>{"the", "sea", "\xC3\xA9t\xC3\xA9", "\xE2\xB1\xA5", "zz", "longwordacrossblocks0",
                                                   "longwordacrossblocks1", "longwordacrossblocks2"}));
  EXPECT_EQ(lower.counts, (std::vector<uint64_t>{120, 80, 80, 80, 40, 14, 13, 13}));
  EXPECT_EQ(lower.tokens.size(), 440u);
  // The same text lowercased beforehand gives the same corpus; without the option, the
  // cases stay apart.
  c.block_bytes = 1 << 20;
  c.lowercase = false;
  test::write_text(path, lowercase_utf8(text));
  CorpusData reference = build_word_corpus(path, c);
  EXPECT_EQ(lower.vocab, reference.vocab);
  EXPECT_EQ(lower.tokens, reference.tokens);
  EXPECT_EQ(lower.line_ends, reference.line_ends);
  test::write_text(path, text);
  EXPECT_EQ(build_word_corpus(path, c).vocab.size(), 13u);
}

TEST(WordVocab, ChecksumIdentifiesTheVocabulary) {
  EXPECT_EQ(word_vocab_checksum({"a", "b"}), word_vocab_checksum({"a", "b"}));
  EXPECT_NE(word_vocab_checksum({"a", "b"}), word_vocab_checksum({"b", "a"}));
  EXPECT_NE(word_vocab_checksum({"ab"}), word_vocab_checksum({"a", "b"}));
}

TEST(WordVocab, EmptyOrBlankInputIsAnInputErrorNamingTheFile) {
  for (std::string text : {"", "  \n\t\r\n "}) {
    try {
      build(text, 1);
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::input);
      EXPECT_NE(std::string(e.what()).find("in.txt"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("no word"), std::string::npos) << e.what();
    }
  }
}

TEST(WordVocab, MinCountRemovingEverythingIsAnInputError) {
  try {
    build("a b c a\n", 3);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::input);
    EXPECT_NE(std::string(e.what()).find("min_count 3"), std::string::npos) << e.what();
  }
}

TEST(WordVocab, MissingFileIsAnIoError) {
  EXPECT_THROW(build_word_corpus("/nonexistent/tokvec/in.txt", {}), Error);
}

}  // namespace
}  // namespace tokvec
