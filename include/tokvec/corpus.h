// The token corpus: a text encoded into token ids, in a binary file the trainer maps into
// memory.
//
// File: a sectioned file (docs/formats.md), magic "TKVCORPS", version 1, sections:
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
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tokvec/tokenizer_kind.h"

namespace tokvec {

class SectionReader;        // src/run/sections.h
class SectionStreamWriter;  // src/run/sections.h

inline constexpr char kCorpusMagic[] = "TKVCORPS";
inline constexpr uint32_t kCorpusVersion = 1;

/// What the trainer reads: token ids, line ends and per-id counts (no ownership).
struct CorpusView {
  std::span<const uint32_t> tokens;
  std::span<const uint64_t> line_ends;
  std::span<const uint64_t> counts;  ///< counts.size() == vocabulary size
  /// Whether tokens and line_ends are mapped from a file (TokenCorpus): then pages already
  /// read can be dropped from memory and fault back in from the page cache when read again.
  bool mapped = false;

  /// Tokens handed to done_with() before their pages are released: 4 MB of ids, so a
  /// thread makes one madvise call per million tokens it trains.
  static constexpr uint64_t kReleaseTokens = uint64_t{1} << 20;

  /// The trainer's hook: it will not read tokens [begin, end) again in this pass (nor the
  /// line ends among them). On a mapped corpus, once at least kReleaseTokens have gathered,
  /// releases their whole pages (release_mapped_pages) and returns the token index up to
  /// which it did, where the next call should begin; otherwise does nothing and returns
  /// `begin`. So the resident part of a mapped corpus stays a few MB per thread however
  /// long the corpus is. No effect on what is read: a released page reads back the same.
  uint64_t done_with(uint64_t begin, uint64_t end) const noexcept;
};

/// A corpus built in memory (by the encoder or the word tokenizer), ready to write.
struct CorpusData {
  TokenizerKind tokenizer_kind = TokenizerKind::bpe;
  uint64_t tokenizer_checksum = 0;
  std::string source;
  std::vector<std::string> vocab;
  std::vector<uint32_t> tokens;
  std::vector<uint64_t> line_ends;
  std::vector<uint64_t> counts;

  CorpusView view() const { return {tokens, line_ends, counts, false}; }
  /// Recomputes `counts` from `tokens` (vocab.size() entries).
  void recount();
};

/// Occurrences of each id in `tokens` (vocab_size entries), counted in parallel (oneTBB).
/// Throws an internal error if an id is not below vocab_size; callers that read outside
/// data validate ids first.
std::vector<uint64_t> count_ids(std::span<const uint32_t> tokens, size_t vocab_size);

/// Writes a corpus atomically. Validates it first (ids < vocab size, monotone line ends).
void write_corpus(const std::string& path, const CorpusData& corpus);

/// Writes a corpus file while its tokens are produced, so they are never all in memory at
/// once: words mode knows the vocabulary and the counts (so the token count) from its
/// counting pass, before it encodes the first token. Token ids are written as they come;
/// line ends go to their own section side by side (its offset follows from the token
/// count), so memory stays one write buffer per section whatever the corpus length. The
/// file is byte for byte what write_corpus writes for the same corpus, and it is checked
/// the same way: each id below the vocabulary size, the ids adding up to `counts`.
class CorpusFileWriter {
 public:
  CorpusFileWriter(const std::string& path, TokenizerKind tokenizer_kind, uint64_t tokenizer_checksum,
                   const std::string& source, const std::vector<std::string>& vocab, std::vector<uint64_t> counts);
  /// For an encoder that cannot count ahead (BPE encodes in one pass): the counts and the
  /// token count are what the appended ids add up to. The ids still go straight to the file;
  /// the line ends wait in memory (8 bytes a line) and are written after the ids. Every
  /// end_line() is a line, an empty one included, as encode_file keeps blank lines.
  CorpusFileWriter(const std::string& path, TokenizerKind tokenizer_kind, uint64_t tokenizer_checksum,
                   const std::string& source, const std::vector<std::string>& vocab);
  ~CorpusFileWriter();
  CorpusFileWriter(const CorpusFileWriter&) = delete;
  CorpusFileWriter& operator=(const CorpusFileWriter&) = delete;

  /// Appends token ids; throws an internal error for an id outside the vocabulary or past
  /// the token count the counts promise.
  void append(std::span<const uint32_t> ids);
  /// Ends the current line; with known counts, a line holding no token is no line (words
  /// mode has no blank lines), without them every call is a line.
  void end_line();
  uint64_t tokens_written() const noexcept { return tokens_; }
  uint64_t lines_written() const noexcept { return lines_; }
  /// Ends the last line, checks the ids against the counts, writes the rest and renames the
  /// file into place. Without commit() (an exception) no file appears.
  void commit();

 private:
  std::string path_;
  TokenizerKind tokenizer_kind_;
  uint64_t tokenizer_checksum_;
  std::string source_;
  bool counted_ = true;              // counts given up front (else taken from the ids at commit)
  std::vector<uint64_t> pending_line_ends_;  // without counts: LINE is written after TOKS
  std::vector<uint64_t> counts_;     // what the ids must add up to
  std::vector<uint64_t> recount_;    // what they add up to so far
  uint64_t token_count_ = 0;         // sum of counts_
  uint64_t tokens_ = 0;
  uint64_t lines_ = 0;
  uint64_t last_line_end_ = 0;
  size_t meta_ = 0, toks_ = 0, line_ = 0;
  std::unique_ptr<SectionStreamWriter> out_;
  std::string meta_bytes(uint64_t line_count) const;
  /// Creates the file and writes META (counts as known so far) and VOCB.
  void begin_file(const std::vector<std::string>& vocab);
};

/// Appends a block's ids to `sink` (a CorpusFileWriter, or anything with the same append
/// and end_line), ending a line at each of `line_ends`: positions within `ids`, in order.
template <typename Sink>
void append_block_lines(Sink& sink, std::span<const uint32_t> ids, std::span<const uint64_t> line_ends) {
  uint64_t from = 0;
  for (uint64_t e : line_ends) {
    sink.append(ids.subspan(from, e - from));
    sink.end_line();
    from = e;
  }
  sink.append(ids.subspan(from));
}

/// A corpus file mapped into memory and fully validated on open: checksums, every id below
/// the vocabulary size, line ends increasing and ending at the token count, counts matching.
/// The checks read the file chunk by chunk and release each chunk's pages after it, and the
/// view it gives is `mapped` (the trainer releases what it has read), so a corpus larger
/// than memory opens and trains in bounded memory.
class TokenCorpus {
 public:
  static TokenCorpus open(const std::string& path);
  TokenCorpus();
  ~TokenCorpus();
  TokenCorpus(TokenCorpus&&) noexcept;
  TokenCorpus& operator=(TokenCorpus&&) noexcept;

  CorpusView view() const noexcept { return {tokens_, line_ends_, counts_, true}; }
  const std::vector<std::string>& vocab() const noexcept { return vocab_; }
  uint64_t tokenizer_checksum() const noexcept { return tokenizer_checksum_; }
  TokenizerKind tokenizer_kind() const noexcept { return tokenizer_kind_; }
  const std::string& source() const noexcept { return source_; }
  const std::string& path() const noexcept;
  /// Lines for `tokvec inspect`.
  std::vector<std::string> describe() const;

 private:
  std::unique_ptr<SectionReader> reader_;
  std::vector<std::string> vocab_;
  uint64_t tokenizer_checksum_ = 0;
  TokenizerKind tokenizer_kind_ = TokenizerKind::bpe;
  std::string source_;
  std::span<const uint32_t> tokens_;
  std::span<const uint64_t> line_ends_;
  std::span<const uint64_t> counts_;
};

}  // namespace tokvec
