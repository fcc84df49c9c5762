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
#include <functional>
#include <string>
#include <vector>

#include "tokvec/corpus.h"

namespace tokvec {

struct WordVocabConfig {
  uint64_t min_count = 5;  ///< words seen fewer times are dropped
  int threads = 0;         ///< oneTBB workers for counting and encoding; 0 = all cores
  /// Each word lowercased (lowercase_utf8, Unicode-aware) before it is counted and encoded.
  bool lowercase = false;
  /// Bytes per parallel block; the file is mapped and read block by block.
  size_t block_bytes = size_t{1} << 20;
  /// The UTF-8 check of the text (text_check.h), as in BpeTrainConfig.
  bool check_text = true;
  bool allow_binary = false;
  std::function<void(const std::string&)> on_warning;
  /// Words that keep the first ids, in this order, whatever their count in the text (0 when
  /// absent): a run adapted from another keeps its source's rows. The text's other words
  /// follow as usual (count >= min_count, count descending). Must hold distinct words.
  std::vector<std::string> base_vocab;
  /// The counting pass keeps each block's token ids (4 bytes a token) while they fit in
  /// this many bytes, so that a text of up to about a quarter as many tokens is read and
  /// split into words once; a longer text drops them and is read a second time to encode
  /// it. 0: always read twice.
  uint64_t keep_ids_bytes = uint64_t{256} << 20;
};

/// A distinct word of a text and how often it occurs.
struct WordCount {
  std::string word;
  uint64_t count = 0;
};

/// Checksum identifying a word vocabulary (XXH3-64 over each word's length and bytes, in id
/// order). Stored as the corpus's tokenizer_checksum.
uint64_t word_vocab_checksum(const std::vector<std::string>& vocab);

/// Reads `path` ("-" and pipes too: copied to a temporary file first, since it may be
/// read twice), counts words in parallel, keeps those with count >= min_count and encodes
/// the file into a CorpusData (tokenizer_kind "words", source = path).
/// Throws an input error naming the file when the text holds no word or when min_count
/// removes every word; an io error when it cannot be read.
/// Memory: the token ids, 4 bytes a token (tests and small inputs; training streams with
/// write_word_corpus).
CorpusData build_word_corpus(const std::string& path, const WordVocabConfig& config);

/// What the counting pass of words mode found.
struct WordCorpusInfo {
  uint64_t vocab_size = 0;      ///< words kept (count >= min_count)
  uint64_t distinct_words = 0;  ///< distinct words in the text
  uint64_t token_count = 0;     ///< tokens kept
  uint64_t tokenizer_checksum = 0;
  uint64_t line_count = 0;      ///< set once the corpus is written
  int passes = 0;               ///< times the text was read: 1 when its ids fit keep_ids_bytes, else 2
};

/// The same corpus as build_word_corpus, streamed into the corpus file `out_path`
/// (CorpusFileWriter) instead of memory: a counting pass (the vocabulary), then
/// `before_write(info)` (which may throw, before any file is created), then the ids go to
/// the file block by block: those the counting pass kept (WordVocabConfig::keep_ids_bytes),
/// else from a second, encoding pass. Memory: the distinct words of the text, a few 1 MB
/// blocks per thread and at most keep_ids_bytes of ids, so it does not grow with the
/// length of the text beyond that. Errors as build_word_corpus, plus an input error if the
/// text changes between the passes; an io error if `out_path` cannot be written (no file is
/// left).
WordCorpusInfo write_word_corpus(const std::string& path, const WordVocabConfig& config, const std::string& out_path,
                                 const std::function<void(const WordCorpusInfo&)>& before_write);

}  // namespace tokvec
