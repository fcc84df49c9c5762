#include "tokvec/corpus.h"

#include <tbb/blocked_range.h>
#include <tbb/combinable.h>
#include <tbb/parallel_for.h>

#include <algorithm>

#include "run/sections.h"
#include "tokvec/status.h"

namespace tokvec {

namespace {

template <typename T> std::span<const std::byte> as_bytes_span(const std::vector<T>& v) {
  return std::as_bytes(std::span<const T>(v));
}

/// Tokens checked between two releases of a mapped corpus's pages (64 MB of ids).
constexpr size_t kValidateChunkTokens = size_t{16} << 20;

/// Checks the invariants the trainer relies on; `fail` builds the error for a message. A
/// `mapped` corpus is read chunk by chunk and each chunk's pages released after it, so the
/// check of a corpus larger than memory runs in bounded memory.
template <typename Fail>
void validate_corpus(std::span<const uint32_t> tokens, std::span<const uint64_t> line_ends,
                     std::span<const uint64_t> counts, uint64_t vocab_size, bool mapped, Fail fail) {
  if (counts.size() != vocab_size) fail("CNTS", "has " + std::to_string(counts.size()) + " counts for a vocabulary of " + std::to_string(vocab_size));
  uint64_t previous = 0;
  for (size_t i = 0; i < line_ends.size(); ++i) {
    if (line_ends[i] < previous || line_ends[i] > tokens.size()) {
      fail("LINE", "line " + std::to_string(i + 1) + " ends at token " + std::to_string(line_ends[i]) +
                       ", outside [" + std::to_string(previous) + ", " + std::to_string(tokens.size()) + "]");
    }
    previous = line_ends[i];
    if (mapped && (i + 1) % kValidateChunkTokens == 0) release_mapped_pages(line_ends.data() + i + 1 - kValidateChunkTokens, line_ends.data() + i + 1);
  }
  if (mapped) release_mapped_pages(line_ends.data(), line_ends.data() + line_ends.size());
  if (previous != tokens.size()) fail("LINE", "the last line ends at token " + std::to_string(previous) + ", not at the token count " + std::to_string(tokens.size()));
  std::vector<uint64_t> recount(vocab_size, 0);
  for (size_t begin = 0; begin < tokens.size(); begin += kValidateChunkTokens) {
    const std::span<const uint32_t> chunk = tokens.subspan(begin, std::min(kValidateChunkTokens, tokens.size() - begin));
    auto bad = std::find_if(chunk.begin(), chunk.end(), [&](uint32_t id) { return id >= vocab_size; });
    if (bad != chunk.end()) {
      fail("TOKS", "token " + std::to_string(begin + static_cast<size_t>(bad - chunk.begin())) + " has id " + std::to_string(*bad) +
                       ", not below the vocabulary size " + std::to_string(vocab_size));
    }
    const std::vector<uint64_t> part = count_ids(chunk, vocab_size);
    for (size_t id = 0; id < vocab_size; ++id) recount[id] += part[id];
    if (mapped) release_mapped_pages(chunk.data(), chunk.data() + chunk.size());
  }
  for (size_t id = 0; id < vocab_size; ++id) {
    if (recount[id] != counts[id]) fail("CNTS", "count of id " + std::to_string(id) + " is " + std::to_string(counts[id]) + ", the tokens hold " + std::to_string(recount[id]));
  }
}

void add_vocab_section(SectionStreamWriter& out, const std::vector<std::string>& vocab) {
  ByteWriter bytes;
  for (const std::string& s : vocab) bytes.str(s);
  const size_t section = out.begin("VOCB");
  out.write(section, bytes.bytes().data(), bytes.bytes().size());
  out.end(section);
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

uint64_t CorpusView::done_with(uint64_t begin, uint64_t end) const noexcept {
  if (!mapped || end < begin + kReleaseTokens || end > tokens.size()) return begin;
  // Tokens: the whole pages inside [begin, end). The page holding `end` is kept and the
  // next call begins at its start (returned), so consecutive calls leave no page behind.
  const size_t page = page_bytes();
  const auto* base = reinterpret_cast<const char*>(tokens.data());
  const uintptr_t end_page = reinterpret_cast<uintptr_t>(base + end * sizeof(uint32_t)) / page * page;
  const uint64_t next = (end_page - reinterpret_cast<uintptr_t>(base)) / sizeof(uint32_t);
  if (next <= begin) return begin;
  release_mapped_pages(tokens.data() + begin, tokens.data() + next);
  // Line ends of the lines ending in [begin, next): from the start of the page holding the
  // first (its earlier entries are behind every thread that reads this part of the corpus,
  // or are read back if not) up to the page holding the last.
  const uint64_t* first = std::lower_bound(line_ends.data(), line_ends.data() + line_ends.size(), begin);
  const uint64_t* last = std::upper_bound(first, line_ends.data() + line_ends.size(), next);
  const uintptr_t from = std::max(reinterpret_cast<uintptr_t>(first) / page * page, reinterpret_cast<uintptr_t>(line_ends.data()));
  release_mapped_pages(reinterpret_cast<const void*>(from), last);
  return next;
}

CorpusFileWriter::CorpusFileWriter(const std::string& path, TokenizerKind tokenizer_kind, uint64_t tokenizer_checksum,
                                   const std::string& source, const std::vector<std::string>& vocab, std::vector<uint64_t> counts)
    : path_(path), tokenizer_kind_(tokenizer_kind), tokenizer_checksum_(tokenizer_checksum), source_(source),
      counts_(std::move(counts)), recount_(counts_.size(), 0) {
  if (vocab.size() != counts_.size()) throw internal_error("corpus " + path + ": vocabulary and counts differ in size");
  for (uint64_t c : counts_) token_count_ += c;
  // TOKS's length is known, so LINE can begin at once and take line ends while the ids
  // stream into TOKS.
  begin_file(vocab);
  toks_ = out_->begin("TOKS", token_count_ * sizeof(uint32_t));
  line_ = out_->begin("LINE");
}

CorpusFileWriter::CorpusFileWriter(const std::string& path, TokenizerKind tokenizer_kind, uint64_t tokenizer_checksum,
                                   const std::string& source, const std::vector<std::string>& vocab)
    : path_(path), tokenizer_kind_(tokenizer_kind), tokenizer_checksum_(tokenizer_checksum), source_(source),
      counted_(false), counts_(vocab.size(), 0), recount_(vocab.size(), 0) {
  // TOKS's length is open, so LINE follows it (written at commit()).
  begin_file(vocab);
  toks_ = out_->begin("TOKS");
}

CorpusFileWriter::~CorpusFileWriter() = default;

void CorpusFileWriter::begin_file(const std::vector<std::string>& vocab) {
  // Layout as write_corpus: META, VOCB, TOKS, LINE, CNTS. META's token count (when the ids
  // are counted as they come) and line count are patched in at commit(), in as many bytes.
  out_ = std::make_unique<SectionStreamWriter>(path_, std::string_view(kCorpusMagic, 8), kCorpusVersion, 5);
  meta_ = out_->begin("META");
  const std::string meta = meta_bytes(0);
  out_->write(meta_, meta.data(), meta.size());
  out_->end(meta_);
  add_vocab_section(*out_, vocab);
}

std::string CorpusFileWriter::meta_bytes(uint64_t line_count) const {
  ByteWriter meta;
  meta.u32(static_cast<uint32_t>(counts_.size()));
  meta.u64(token_count_);
  meta.u64(line_count);
  meta.u64(tokenizer_checksum_);
  meta.str(tokenizer_kind_name(tokenizer_kind_));
  meta.str(source_);
  return std::move(meta.bytes());
}

void CorpusFileWriter::append(std::span<const uint32_t> ids) {
  if (counted_ && ids.size() > token_count_ - tokens_) {
    throw internal_error("refusing to write corpus " + path_ + ": more tokens than the counts hold (" + std::to_string(token_count_) + ")");
  }
  const size_t v = counts_.size();
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] >= v) {
      throw internal_error("refusing to write corpus " + path_ + ": TOKS token " + std::to_string(tokens_ + i) + " has id " +
                           std::to_string(ids[i]) + ", not below the vocabulary size " + std::to_string(v));
    }
    ++recount_[ids[i]];
  }
  out_->write(toks_, ids.data(), ids.size_bytes());
  tokens_ += ids.size();
}

void CorpusFileWriter::end_line() {
  if (!counted_) {
    pending_line_ends_.push_back(tokens_);
    last_line_end_ = tokens_;
    ++lines_;
    return;
  }
  if (tokens_ == last_line_end_) return;
  out_->write(line_, &tokens_, sizeof tokens_);
  last_line_end_ = tokens_;
  ++lines_;
}

void CorpusFileWriter::commit() {
  if (!counted_) {
    if (lines_ == 0 || last_line_end_ != tokens_) {
      throw internal_error("refusing to write corpus " + path_ + ": the last line ends at token " + std::to_string(last_line_end_) +
                           ", not at the token count " + std::to_string(tokens_));
    }
    counts_ = recount_;
    token_count_ = tokens_;
    out_->end(toks_);
    line_ = out_->begin("LINE", pending_line_ends_.size() * sizeof(uint64_t));
    out_->write(line_, pending_line_ends_.data(), pending_line_ends_.size() * sizeof(uint64_t));
    pending_line_ends_ = {};
  }
  if (tokens_ != token_count_) {
    throw internal_error("refusing to write corpus " + path_ + ": " + std::to_string(tokens_) + " tokens written, the counts hold " +
                         std::to_string(token_count_));
  }
  for (size_t id = 0; id < counts_.size(); ++id) {
    if (recount_[id] != counts_[id]) {
      throw internal_error("refusing to write corpus " + path_ + ": CNTS count of id " + std::to_string(id) + " is " +
                           std::to_string(counts_[id]) + ", the tokens hold " + std::to_string(recount_[id]));
    }
  }
  if (lines_ == 0 || last_line_end_ != tokens_) {
    out_->write(line_, &tokens_, sizeof tokens_);  // the last line, even an empty corpus's
    last_line_end_ = tokens_;
    ++lines_;
  }
  out_->end(toks_);
  out_->end(line_);
  const size_t cnts = out_->begin("CNTS");
  out_->write(cnts, counts_.data(), counts_.size() * sizeof(uint64_t));
  out_->end(cnts);
  out_->rewrite(meta_, meta_bytes(lines_));
  out_->commit();
}

void CorpusData::recount() { counts = count_ids(tokens, vocab.size()); }

void write_corpus(const std::string& path, const CorpusData& corpus) {
  validate_corpus(corpus.tokens, corpus.line_ends, corpus.counts, corpus.vocab.size(), false,
                  [&](const std::string& section, const std::string& message) {
                    throw internal_error("refusing to write corpus " + path + ": " + section + " " + message);
                  });
  SectionWriter writer(path, std::string_view(kCorpusMagic, 8), kCorpusVersion);
  ByteWriter meta;
  meta.u32(static_cast<uint32_t>(corpus.vocab.size()));
  meta.u64(corpus.tokens.size());
  meta.u64(corpus.line_ends.size());
  meta.u64(corpus.tokenizer_checksum);
  meta.str(tokenizer_kind_name(corpus.tokenizer_kind));
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

TokenCorpus::TokenCorpus() = default;
TokenCorpus::~TokenCorpus() = default;
TokenCorpus::TokenCorpus(TokenCorpus&&) noexcept = default;
TokenCorpus& TokenCorpus::operator=(TokenCorpus&&) noexcept = default;
const std::string& TokenCorpus::path() const noexcept { return reader_->path(); }

TokenCorpus TokenCorpus::open(const std::string& path) {
  TokenCorpus c;
  c.reader_ = std::make_unique<SectionReader>(path, std::string_view(kCorpusMagic, 8), 1, kCorpusVersion);
  ByteReader meta = c.reader_->reader("META");
  uint32_t vocab_size = meta.u32();
  uint64_t token_count = meta.u64();
  uint64_t line_count = meta.u64();
  c.tokenizer_checksum_ = meta.u64();
  const std::string kind = meta.str();
  c.source_ = meta.str();
  meta.expect_done();
  const std::optional<TokenizerKind> parsed = parse_tokenizer_kind(kind);
  if (!parsed || *parsed == TokenizerKind::subwords) meta.fail("unknown tokenizer kind '" + kind + "'");
  c.tokenizer_kind_ = *parsed;
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
  validate_corpus(c.tokens_, c.line_ends_, c.counts_, vocab_size, true, [&](const std::string& section, const std::string& message) {
    throw corrupt_error(path, "section " + section, message);
  });
  // The trainer reads each thread's shard front to back.
  advise_sequential(c.tokens_.data(), c.tokens_.data() + c.tokens_.size());
  advise_sequential(c.line_ends_.data(), c.line_ends_.data() + c.line_ends_.size());
  return c;
}

std::vector<std::string> TokenCorpus::describe() const {
  std::vector<std::string> lines;
  lines.push_back("token corpus, format version " + std::to_string(reader_->version()));
  lines.push_back("tokenizer: " + std::string(tokenizer_kind_name(tokenizer_kind_)) + ", checksum " + hex64(tokenizer_checksum_));
  lines.push_back("source: " + source_);
  lines.push_back("vocabulary: " + std::to_string(vocab_.size()) + " tokens");
  lines.push_back("tokens: " + std::to_string(tokens_.size()) + " in " + std::to_string(line_ends_.size()) + " lines");
  for (std::string& s : reader_->describe()) lines.push_back("section " + s);
  return lines;
}

}  // namespace tokvec
