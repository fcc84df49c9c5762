// One word counter for the --words tokenizer and for a BPE run's corpus words, with the
// rule that cuts words as a parameter (src/text/words.h).
#include "text/words.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "test_util.h"
#include "tokvec/export.h"
#include "tokvec/vocab.h"

namespace tokvec {
namespace {

using test::TempDir;

std::map<std::string, uint64_t> as_map(const std::vector<WordCount>& counts) {
  std::map<std::string, uint64_t> m;
  for (const WordCount& wc : counts) m[wc.word] = wc.count;
  return m;
}

/// Words of letters or digits, separated by every kind of ASCII whitespace, blank lines,
/// CRLF: where the --words tokenizer and the pre-token rule must agree.
std::string plain_text() {
  std::string text;
  for (int i = 0; i < 300; ++i) {
    text += "the cat sat\ton the mat  " + std::to_string(i % 13) + "\r\n";
    if (i % 7 == 0) text += "\n \v\f\n";
    text += "Don't Sea l'homme caf\xc3\xa9 " + std::string(i % 5 + 1, 'x') + "\n";
  }
  return text;
}

TEST(WordCounter, TheTwoRulesAgreeOnPlainWordsAndSoDoTheirCallers) {
  TempDir dir;
  const std::string path = dir.file("plain.txt");
  const std::string text = plain_text();
  test::write_text(path, text);
  for (size_t block : {size_t{64}, size_t{1000}, size_t{1} << 20}) {
    WordCountConfig c;
    c.min_count = 2;
    c.threads = 2;
    c.block_bytes = block;
    c.rule = WordRule::whitespace;
    const std::vector<WordCount> by_space = count_words(path, c);
    c.rule = WordRule::pretokens;
    const std::vector<WordCount> by_pretoken = count_words(path, c);
    ASSERT_FALSE(by_space.empty());
    EXPECT_EQ(as_map(by_space), as_map(by_pretoken)) << "blocks of " << block;
    // The same order too: count descending, then bytes.
    ASSERT_EQ(by_space.size(), by_pretoken.size());
    for (size_t i = 0; i < by_space.size(); ++i) EXPECT_EQ(by_space[i].word, by_pretoken[i].word) << i;
    EXPECT_EQ(as_map(count_words_in_memory(text, c)), as_map(by_pretoken));

    // The --words tokenizer's vocabulary and counts, and export's corpus words.
    WordVocabConfig v;
    v.min_count = 2;
    v.threads = 2;
    v.block_bytes = block;
    const CorpusData corpus = build_word_corpus(path, v);
    ASSERT_EQ(corpus.vocab.size(), by_space.size());
    for (size_t i = 0; i < by_space.size(); ++i) {
      EXPECT_EQ(corpus.vocab[i], by_space[i].word) << i;
      EXPECT_EQ(corpus.counts[i], by_space[i].count) << i;
    }
  }
  EXPECT_EQ(as_map(count_text_words(path, 2)), as_map(count_words(path, WordCountConfig{WordRule::whitespace, 2})));
  EXPECT_EQ(as_map(count_words_in_text(text, 2)), as_map(count_text_words(path, 2)));
}

TEST(WordCounter, TheRulesDifferOnPunctuationAndUnicodeSpace) {
  // "sea." is a word to --words, "sea" and "." to the tokenizer; U+00A0 separates
  // pre-tokens but not --words words; a run of symbols is no pre-token word.
  const std::string text = "sea. sea\nsea\xc2\xa0" "shore -- abc123\n";
  WordCountConfig c;
  c.rule = WordRule::whitespace;
  EXPECT_EQ(as_map(count_words_in_memory(text, c)),
            (std::map<std::string, uint64_t>{{"sea.", 1}, {"sea", 1}, {"sea\xc2\xa0shore", 1}, {"--", 1}, {"abc123", 1}}));
  c.rule = WordRule::pretokens;
  EXPECT_EQ(as_map(count_words_in_memory(text, c)),
            (std::map<std::string, uint64_t>{{"sea", 3}, {"shore", 1}, {"abc", 1}, {"123", 1}}));
}

TEST(WordCounter, PretokenWordsCrossingBlockEndsAreCountedOnce) {
  // Words longer than a block and words cut by every block boundary: each block owns the
  // words that start in it, under both rules.
  std::string text;
  for (int i = 0; i < 200; ++i) text += std::string(static_cast<size_t>(i % 97 + 1), static_cast<char>('a' + i % 3)) + (i % 2 ? " " : ".\n");
  WordCountConfig one;
  one.rule = WordRule::pretokens;
  one.block_bytes = size_t{1} << 20;
  const auto whole = as_map(count_words_in_memory(text, one));
  for (size_t block : {size_t{64}, size_t{65}, size_t{100}, size_t{333}}) {
    WordCountConfig c = one;
    c.block_bytes = block;
    c.threads = 2;
    EXPECT_EQ(as_map(count_words_in_memory(text, c)), whole) << "blocks of " << block;
  }
}

TEST(WordCounter, LowercaseAndMinCount) {
  WordCountConfig c;
  c.lowercase = true;
  c.min_count = 2;
  EXPECT_EQ(as_map(count_words_in_memory("The the THE cat\nCat dog\n", c)),
            (std::map<std::string, uint64_t>{{"the", 3}, {"cat", 2}}));
  EXPECT_TRUE(count_words_in_memory("", c).empty());
  EXPECT_TRUE(count_words_in_memory(" \n\t\n", c).empty());
}

}  // namespace
}  // namespace tokvec
