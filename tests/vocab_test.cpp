#include "tokvec/vocab.h"

#include "test_util.h"
#include "tokvec/status.h"

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

TEST(WordVocab, OrdersByCountThenBytes) {
  CorpusData c = build("b a b c a b\nd d d d d y x\n", 1);
  EXPECT_EQ(c.vocab, (std::vector<std::string>{"d", "b", "a", "c", "x", "y"}));
  EXPECT_EQ(c.counts, (std::vector<uint64_t>{5, 3, 2, 1, 1, 1}));
  EXPECT_EQ(c.tokenizer_kind, "words");
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
    EXPECT_NE(std::string(e.what()).find("--min-count 3"), std::string::npos) << e.what();
  }
}

TEST(WordVocab, MissingFileIsAnIoError) {
  EXPECT_THROW(build_word_corpus("/nonexistent/tokvec/in.txt", {}), Error);
}

}  // namespace
}  // namespace tokvec
