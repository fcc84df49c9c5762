// The token corpus: a text encoded into token ids, in a binary file the trainer maps into
// memory.
//
// File: a sectioned file (see sections.h), magic "TKVCORPS", version 1, sections:
//   META  u32 vocab_size, u64 token_count, u64 line_count, u64 tokenizer_checksum,
//         str tokenizer_kind ("bpe" or "words"), str source (the input path)
//   VOCB  vocab_size strings (u64 length + bytes): each token's display form
//   TOKS  token_count u32 token ids
//   LINE  line_count u64: the end (exclusive index into TOKS) of each line; a context
//         window never crosses a line end
//   CNTS  vocab_size u64: how often each id occurs in TOKS
// The tokenizer checksum ties the corpus to the tokenizer that produced it, so a corpus
// encoded with another tokenizer is refused rather than trained into wrong rows.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tokvec/sections.h"

namespace tokvec {

inline constexpr char kCorpusMagic[] = "TKVCORPS";
inline constexpr uint32_t kCorpusVersion = 1;

/// What the trainer reads: token ids, line ends and per-id counts (no ownership).
struct CorpusView {
  std::span<const uint32_t> tokens;
  std::span<const uint64_t> line_ends;
  std::span<const uint64_t> counts;  ///< counts.size() == vocabulary size
};

/// A corpus built in memory (by the encoder or the word tokenizer), ready to write.
struct CorpusData {
  std::string tokenizer_kind;  ///< "bpe" or "words"
  uint64_t tokenizer_checksum = 0;
  std::string source;
  std::vector<std::string> vocab;
  std::vector<uint32_t> tokens;
  std::vector<uint64_t> line_ends;
  std::vector<uint64_t> counts;

  CorpusView view() const { return {tokens, line_ends, counts}; }
  /// Recomputes `counts` from `tokens` (vocab.size() entries).
  void recount();
};

/// Occurrences of each id in `tokens` (vocab_size entries), counted in parallel (oneTBB).
/// Throws an internal error if an id is not below vocab_size; callers that read outside
/// data validate ids first.
std::vector<uint64_t> count_ids(std::span<const uint32_t> tokens, size_t vocab_size);

/// Writes a corpus atomically. Validates it first (ids < vocab size, monotone line ends).
void write_corpus(const std::string& path, const CorpusData& corpus);

/// A corpus file mapped into memory and fully validated on open: checksums, every id below
/// the vocabulary size, line ends increasing and ending at the token count, counts matching.
class TokenCorpus {
 public:
  static TokenCorpus open(const std::string& path);

  CorpusView view() const noexcept { return {tokens_, line_ends_, counts_}; }
  const std::vector<std::string>& vocab() const noexcept { return vocab_; }
  uint64_t tokenizer_checksum() const noexcept { return tokenizer_checksum_; }
  const std::string& tokenizer_kind() const noexcept { return tokenizer_kind_; }
  const std::string& source() const noexcept { return source_; }
  const std::string& path() const noexcept { return reader_->path(); }
  /// Lines for `tokvec inspect`.
  std::vector<std::string> describe() const;

 private:
  std::unique_ptr<SectionReader> reader_;
  std::vector<std::string> vocab_;
  uint64_t tokenizer_checksum_ = 0;
  std::string tokenizer_kind_;
  std::string source_;
  std::span<const uint32_t> tokens_;
  std::span<const uint64_t> line_ends_;
  std::span<const uint64_t> counts_;
};

}  // namespace tokvec
