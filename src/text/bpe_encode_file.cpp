// Encoding a file with a BPE model: blocks read in order, encoded in parallel by
// per-thread encoders, gathered in order into a corpus (in memory or written as it goes).
#include "tokvec/bpe.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <functional>
#include <filesystem>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_pipeline.h>
#include <tbb/task_arena.h>

#include "bpe_detail.h"
#include "base/pipeline_slots.h"
#include "base/config.h"
#include "base/io.h"
#include "base/progress.h"
#include "base/sniff.h"
#include "tokvec/status.h"
#include "base/thread_arena.h"
#include "text/text.h"

namespace tokvec {

using bpe_detail::PairMap;
using bpe_detail::StringTable;

namespace {

struct EncodedBlock {
  bpe_detail::TextBlock block;
  std::vector<uint32_t> tokens;
  std::vector<uint64_t> line_ends;  ///< within `tokens`
  bool had_line_end = false;
  bool open_after = false;  ///< bytes follow the block's last line end
};

/// Splits a block into lines ('\n', "\r\n", '\r'; a block never ends between '\r' and
/// '\n') and encodes each.
void encode_block(BpeEncoder& encoder, EncodedBlock& b) {
  std::string_view text = b.block.text;
  const char* base = text.data();
  const size_t n = text.size();
  size_t next_cr = SIZE_MAX;  // cached position of the next '\r' (SIZE_MAX-1: none left)
  bool word_start = b.block.at_word_start;
  size_t i = 0;
  while (i < n) {
    const void* pn = std::memchr(base + i, '\n', n - i);
    size_t nl = pn ? static_cast<size_t>(static_cast<const char*>(pn) - base) : n;
    if (next_cr == SIZE_MAX || (next_cr != SIZE_MAX - 1 && next_cr < i)) {
      const void* pc = std::memchr(base + i, '\r', n - i);
      next_cr = pc ? static_cast<size_t>(static_cast<const char*>(pc) - base) : SIZE_MAX - 1;
    }
    size_t end = nl;
    size_t skip = 1;
    if (next_cr != SIZE_MAX - 1 && next_cr < nl) {
      end = next_cr;
      skip = (next_cr + 1 < n && base[next_cr + 1] == '\n') ? 2 : 1;
    }
    encoder.encode_line(text.substr(i, end - i), b.tokens, word_start);
    word_start = true;
    if (end == n) {
      b.open_after = end > i;
      break;
    }
    b.line_ends.push_back(b.tokens.size());
    b.had_line_end = true;
    b.open_after = false;
    i = end + skip;
  }
}

}  // namespace

CorpusData encode_file(const BpeModel& model, const std::string& input_path, int threads, bool quiet) {
  EncodeOptions options;
  options.threads = threads;
  options.quiet = quiet;
  return encode_file(model, input_path, options);
}

namespace {

/// The encoding pipeline shared by both encode_file forms: blocks of the file are read in
/// order, encoded in parallel, and handed to `consume(EncodedBlock&)` in file order. Returns
/// whether the text ends inside a line (bytes after the last line end), which the caller
/// closes as a last line.
template <typename Consume>
bool encode_blocks(const BpeModel& model, const std::string& input_path, const EncodeOptions& options, Consume consume) {
  if (model.vocab_size() == 0) throw internal_error("encode_file with an empty BpeModel");
  const int threads = resolve_threads(options.threads);
  if (options.block_bytes < 4096) throw usage_error("block size must be >= 4096 bytes");
  TextCheck check(input_name(input_path), options.allow_binary);
  bpe_detail::BlockReader reader(input_path, options.block_bytes, options.check_text ? &check : nullptr);
  ProgressReporter progress("encode " + input_name(input_path), reader.file_size(), "B", options.quiet);
  bool open_line = false;
  uint64_t tokens = 0;
  tbb::enumerable_thread_specific<BpeEncoder> encoders([&] { return BpeEncoder(model); });
  // Blocks go back to the slots after the ordered stage and keep their token buffers: a
  // fresh multi-megabyte vector per block would cost a page fault per 4 KiB every time.
  PipelineSlots<EncodedBlock> slots;
  ThreadArena arena_threads(threads);  // exactly that many threads, with no oneTBB warning above the core count
  tbb::task_arena& arena = arena_threads.arena();
  arena.execute([&] {
    tbb::parallel_pipeline(
        static_cast<size_t>(2 * threads),
        tbb::make_filter<void, EncodedBlock*>(
            tbb::filter_mode::serial_in_order,
            [&](tbb::flow_control& fc) -> EncodedBlock* {
              EncodedBlock* b = slots.take();
              b->tokens.clear();
              b->line_ends.clear();
              b->had_line_end = false;
              b->open_after = false;
              if (!reader.next(b->block)) {
                slots.give_back(b);
                fc.stop();
                return nullptr;
              }
              progress.update(reader.bytes_read());
              return b;
            }) &
            tbb::make_filter<EncodedBlock*, EncodedBlock*>(tbb::filter_mode::parallel,
                                                           [&](EncodedBlock* b) {
                                                             b->tokens.reserve(b->block.text.size() / 3);
                                                             encode_block(encoders.local(), *b);
                                                             reader.recycle(std::move(b->block.text));  // before the ordered stage
                                                             return b;
                                                           }) &
            tbb::make_filter<EncodedBlock*, void>(tbb::filter_mode::serial_in_order, [&](EncodedBlock* b) {
              consume(*b);
              tokens += b->tokens.size();
              open_line = b->had_line_end ? b->open_after : (open_line || b->open_after);
              slots.give_back(b);
            }));
  });
  if (options.check_text) {
    const std::string warning = check.finish();
    if (!warning.empty() && options.on_warning) options.on_warning(input_name(input_path) + ": " + warning);
  }
  if (tokens == 0) throw input_error(input_name(input_path), "", "no text to encode: the file is empty or holds only whitespace");
  progress.finish(reader.bytes_read(), human_count(static_cast<double>(tokens)) + " tokens");
  return open_line;
}

}  // namespace

std::vector<std::string> corpus_vocab(const BpeModel& model) {
  std::vector<std::string> vocab;
  vocab.reserve(model.vocab_size());
  for (uint32_t id = 0; id < model.vocab_size(); ++id) vocab.emplace_back(model.piece(id));
  return vocab;
}

CorpusData encode_file(const BpeModel& model, const std::string& input_path, const EncodeOptions& options) {
  CorpusData corpus;
  corpus.tokenizer_kind = TokenizerKind::bpe;
  corpus.tokenizer_checksum = model.checksum();
  corpus.source = input_path;
  // About 1 token per 4.5 bytes of English; a guess that saves most regrowth.
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(input_path, ec);
  if (!ec) corpus.tokens.reserve(static_cast<size_t>(bytes / 4));
  const bool open_line = encode_blocks(model, input_path, options, [&](const EncodedBlock& b) {
    const uint64_t base = corpus.tokens.size();
    corpus.tokens.insert(corpus.tokens.end(), b.tokens.begin(), b.tokens.end());
    for (uint64_t e : b.line_ends) corpus.line_ends.push_back(base + e);
  });
  if (open_line) corpus.line_ends.push_back(corpus.tokens.size());
  corpus.vocab = corpus_vocab(model);
  corpus.recount();
  return corpus;
}

uint64_t encode_file(const BpeModel& model, const std::string& input_path, const EncodeOptions& options, CorpusFileWriter& writer) {
  const bool open_line = encode_blocks(model, input_path, options,
                                       [&](const EncodedBlock& b) { append_block_lines(writer, b.tokens, b.line_ends); });
  if (open_line) writer.end_line();
  return writer.tokens_written();
}

}  // namespace tokvec
