#include "tokvec/corpus.h"

#include <tbb/blocked_range.h>
#include <tbb/combinable.h>
#include <tbb/parallel_for.h>

#include <algorithm>

#include "tokvec/status.h"

namespace tokvec {

namespace {

template <typename T> std::span<const std::byte> as_bytes_span(const std::vector<T>& v) {
  return std::as_bytes(std::span<const T>(v));
}

/// Checks the invariants the trainer relies on; `fail` builds the error for a message.
template <typename Fail>
void validate_corpus(std::span<const uint32_t> tokens, std::span<const uint64_t> line_ends,
                     std::span<const uint64_t> counts, uint64_t vocab_size, Fail fail) {
  if (counts.size() != vocab_size) fail("CNTS", "has " + std::to_string(counts.size()) + " counts for a vocabulary of " + std::to_string(vocab_size));
  uint64_t previous = 0;
  for (size_t i = 0; i < line_ends.size(); ++i) {
    if (line_ends[i] < previous || line_ends[i] > tokens.size()) {
      fail("LINE", "line " + std::to_string(i + 1) + " ends at token " + std::to_string(line_ends[i]) +
                       ", outside [" + std::to_string(previous) + ", " + std::to_string(tokens.size()) + "]");
    }
    previous = line_ends[i];
  }
  if (previous != tokens.size()) fail("LINE", "the last line ends at token " + std::to_string(previous) + ", not at the token count " + std::to_string(tokens.size()));
  auto bad = std::find_if(tokens.begin(), tokens.end(), [&](uint32_t id) { return id >= vocab_size; });
  if (bad != tokens.end()) {
    fail("TOKS", "token " + std::to_string(bad - tokens.begin()) + " has id " + std::to_string(*bad) +
                     ", not below the vocabulary size " + std::to_string(vocab_size));
  }
  const std::vector<uint64_t> recount = count_ids(tokens, vocab_size);
  for (size_t id = 0; id < vocab_size; ++id) {
    if (recount[id] != counts[id]) fail("CNTS", "count of id " + std::to_string(id) + " is " + std::to_string(counts[id]) + ", the tokens hold " + std::to_string(recount[id]));
  }
}

}  // namespace

std::vector<uint64_t> count_ids(std::span<const uint32_t> tokens, size_t vocab_size) {
  // Below a few million tokens one thread is faster than setting up per-thread arrays.
  constexpr size_t kParallelFrom = size_t{1} << 22;
  auto count_into = [&](std::vector<uint64_t>& counts, size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      const uint32_t id = tokens[i];
      if (id >= vocab_size) throw internal_error("token id " + std::to_string(id) + " outside the vocabulary");
      ++counts[id];
    }
  };
  std::vector<uint64_t> counts(vocab_size, 0);
  if (tokens.size() < kParallelFrom) {
    count_into(counts, 0, tokens.size());
    return counts;
  }
  tbb::combinable<std::vector<uint64_t>> partial([&] { return std::vector<uint64_t>(vocab_size, 0); });
  tbb::parallel_for(tbb::blocked_range<size_t>(0, tokens.size(), size_t{1} << 20),
                    [&](const tbb::blocked_range<size_t>& r) { count_into(partial.local(), r.begin(), r.end()); });
  partial.combine_each([&](const std::vector<uint64_t>& p) {
    for (size_t id = 0; id < vocab_size; ++id) counts[id] += p[id];
  });
  return counts;
}

void CorpusData::recount() { counts = count_ids(tokens, vocab.size()); }

void write_corpus(const std::string& path, const CorpusData& corpus) {
  validate_corpus(corpus.tokens, corpus.line_ends, corpus.counts, corpus.vocab.size(),
                  [&](const std::string& section, const std::string& message) {
                    throw internal_error("refusing to write corpus " + path + ": " + section + " " + message);
                  });
  SectionWriter writer(path, std::string_view(kCorpusMagic, 8), kCorpusVersion);
  ByteWriter meta;
  meta.u32(static_cast<uint32_t>(corpus.vocab.size()));
  meta.u64(corpus.tokens.size());
  meta.u64(corpus.line_ends.size());
  meta.u64(corpus.tokenizer_checksum);
  meta.str(corpus.tokenizer_kind);
  meta.str(corpus.source);
  writer.add("META", std::move(meta.bytes()));
  ByteWriter vocab;
  for (const std::string& s : corpus.vocab) vocab.str(s);
  writer.add("VOCB", std::move(vocab.bytes()));
  writer.add_view("TOKS", as_bytes_span(corpus.tokens));
  writer.add_view("LINE", as_bytes_span(corpus.line_ends));
  writer.add_view("CNTS", as_bytes_span(corpus.counts));
  writer.commit();
}

TokenCorpus TokenCorpus::open(const std::string& path) {
  TokenCorpus c;
  c.reader_ = std::make_unique<SectionReader>(path, std::string_view(kCorpusMagic, 8), 1, kCorpusVersion);
  ByteReader meta = c.reader_->reader("META");
  uint32_t vocab_size = meta.u32();
  uint64_t token_count = meta.u64();
  uint64_t line_count = meta.u64();
  c.tokenizer_checksum_ = meta.u64();
  c.tokenizer_kind_ = meta.str();
  c.source_ = meta.str();
  meta.expect_done();
  if (c.tokenizer_kind_ != "bpe" && c.tokenizer_kind_ != "words") {
    meta.fail("unknown tokenizer kind '" + c.tokenizer_kind_ + "'");
  }
  ByteReader vocab = c.reader_->reader("VOCB");
  // Each string takes at least its 8-byte length, so a damaged count is refused here rather
  // than reserved (found by fuzzing: a count of 2^32 - 1 asked for 128 GB).
  if (vocab_size > vocab.remaining() / 8) vocab.fail("cannot hold the " + std::to_string(vocab_size) + " tokens META announces");
  c.vocab_.reserve(vocab_size);
  for (uint32_t i = 0; i < vocab_size; ++i) c.vocab_.push_back(vocab.str());
  vocab.expect_done();
  c.tokens_ = c.reader_->array<uint32_t>("TOKS");
  c.line_ends_ = c.reader_->array<uint64_t>("LINE");
  c.counts_ = c.reader_->array<uint64_t>("CNTS");
  if (c.tokens_.size() != token_count) throw corrupt_error(path, "section TOKS", "holds " + std::to_string(c.tokens_.size()) + " tokens, META says " + std::to_string(token_count));
  if (c.line_ends_.size() != line_count) throw corrupt_error(path, "section LINE", "holds " + std::to_string(c.line_ends_.size()) + " lines, META says " + std::to_string(line_count));
  validate_corpus(c.tokens_, c.line_ends_, c.counts_, vocab_size, [&](const std::string& section, const std::string& message) {
    throw corrupt_error(path, "section " + section, message);
  });
  return c;
}

std::vector<std::string> TokenCorpus::describe() const {
  std::vector<std::string> lines;
  lines.push_back("token corpus, format version " + std::to_string(reader_->version()));
  lines.push_back("tokenizer: " + tokenizer_kind_ + ", checksum " + hex64(tokenizer_checksum_));
  lines.push_back("source: " + source_);
  lines.push_back("vocabulary: " + std::to_string(vocab_.size()) + " tokens");
  lines.push_back("tokens: " + std::to_string(tokens_.size()) + " in " + std::to_string(line_ends_.size()) + " lines");
  for (std::string& s : reader_->describe()) lines.push_back("section " + s);
  return lines;
}

}  // namespace tokvec
