// The `--words` tokenizer: whitespace-separated words as tokens, the units word2vec,
// fastText and gensim train on, so tokvec can be compared with them on the same footing.
//
// A word is a maximal run of bytes that are not ASCII whitespace (space, \t, \n, \v, \f,
// \r); '\n' and '\r' also end a line (a context window never crosses a line end; empty
// lines vanish). Words seen fewer than `min_count` times are dropped from the token stream,
// as word2vec does, so their neighbours become adjacent.
//
// Vocabulary order: count descending, ties broken by the bytes of the word (ascending), so
// the ids depend on the text only, never on thread timing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tokvec/corpus.h"

namespace tokvec {

struct WordVocabConfig {
  uint64_t min_count = 5;  ///< words seen fewer times are dropped
  int threads = 0;         ///< oneTBB workers for counting and encoding; 0 = all cores
  /// Bytes per parallel block; the file is mapped and read block by block.
  size_t block_bytes = size_t{1} << 20;
};

/// Checksum identifying a word vocabulary (XXH3-64 over each word's length and bytes, in id
/// order). Stored as the corpus's tokenizer_checksum.
uint64_t word_vocab_checksum(const std::vector<std::string>& vocab);

/// Reads `path`, counts words in parallel, keeps those with count >= min_count and encodes
/// the file into a CorpusData (tokenizer_kind "words", source = path).
/// Throws an input error naming the file when the text holds no word or when min_count
/// removes every word; an io error when it cannot be read.
CorpusData build_word_corpus(const std::string& path, const WordVocabConfig& config);

}  // namespace tokvec
