// Counting the words of a text: one counter for the --words tokenizer (its vocabulary)
// and for `export --corpus-words` of a BPE run (the words of the text it trained on).
//
// The two cut words by different rules, on purpose, so the rule is a parameter:
//   whitespace  a word is a maximal run of bytes that are not ASCII whitespace (space,
//               \t, \n, \v, \f, \r): the units word2vec, fastText and gensim train on, so
//               "sea." is a word of its own.
//   pretokens   a word is one of the BPE tokenizer's pre-tokens (text.h) that is a run of
//               letters or of digits: punctuation is split off as the tokenizer splits it
//               ("sea." counts as "sea"), and runs of punctuation or symbols are not words.
// On text whose words are letters or digits separated by ASCII whitespace, both rules give
// the same words and counts (tests/vocab_test.cpp checks it).
//
// The counter reads the text in blocks of `block_bytes`, counted in parallel (oneTBB) and
// merged in file order; a word crossing a block's end belongs to the block it starts in.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokvec/vocab.h"  // WordCount

namespace tokvec {

enum class WordRule { whitespace, pretokens };

/// ASCII whitespace: what separates words under WordRule::whitespace (and always ends a
/// word under WordRule::pretokens).
constexpr bool is_word_space(unsigned char c) noexcept { return c == ' ' || (c >= '\t' && c <= '\r'); }

struct WordCountConfig {
  WordRule rule = WordRule::whitespace;
  uint64_t min_count = 1;             ///< rarer words are left out of the result
  bool lowercase = false;             ///< count each word lowercased (lowercase_utf8)
  int threads = 0;                    ///< 0 = all cores
  size_t block_bytes = size_t{1} << 20;
};

/// Every distinct word of the file at `path` ("-" or a pipe: read once, spooled) seen at
/// least min_count times, count descending, then bytes ascending.
std::vector<WordCount> count_words(const std::string& path, const WordCountConfig& config);
/// The same for a text in memory.
std::vector<WordCount> count_words_in_memory(std::string_view text, const WordCountConfig& config);

}  // namespace tokvec
